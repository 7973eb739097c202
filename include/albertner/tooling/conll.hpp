// CoNLL-2003 evaluation: reading CoNLL column files, entity-level scoring exactly as seqeval's
// default mode chunks tags (IOB1 and IOB2 alike; conlleval's rules too on B/I/O tags, not on
// IOBES), and word-level predictions from a Tagger (each word's tag is the argmax of its first
// sub-token). Rules in docs/evaluation.md.
#pragma once

#include "../io/mapped_file.hpp"
#include "../io/utf8.hpp"
#include "../ner/numpy_f32.hpp"
#include "../ner/tagger.hpp"
#include "../ner/token_aggregation.hpp"
#include "../status.hpp"
#include "../text/tokenizer.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace albertner {

/// Which columns of a CoNLL file hold tags. Columns are separated by spaces or tabs; the first is
/// always the word.
enum class ConllFormat {
  gold,   ///< `WORD ... GOLD`: the last column is the gold tag (CoNLL-2003: WORD POS CHUNK NER)
  scored, ///< `WORD ... GOLD PRED`: the last two columns are gold and predicted tag (conlleval's input)
};

/// One sentence of a CoNLL file.
struct ConllSentence {
  std::vector<std::string> words;
  std::vector<std::string> gold;
  /// Predicted tags: read from a ConllFormat::scored file, or filled by predict_conll; else empty.
  std::vector<std::string> predicted;
  /// 1-based line of each word in the file it was read from (0 when built in memory).
  std::vector<std::size_t> lines;
};

/// A tag the reader accepts: `O`, or one of the prefixes B, I, E, S, then `-` and a non-empty type
/// (`B-PER`, `I-MISC`). seqeval rejects other tags (e.g. `LABEL_3`) too.
inline bool is_conll_tag(const std::string& tag) {
  if (tag == "O") return true;
  return tag.size() >= 3 && (tag[0] == 'B' || tag[0] == 'I' || tag[0] == 'E' || tag[0] == 'S') && tag[1] == '-';
}

/// Parses CoNLL column text. Blank lines (only spaces, tabs, a final \r) end sentences; lines whose
/// first column is `-DOCSTART-` are document separators and are skipped (they end a sentence too).
/// Errors (errc::format, "NAME:LINE: ...") for a line with too few columns (2 for gold, 3 for
/// scored), a column count different from the file's first token line (conlleval's rule), a tag
/// that is not is_conll_tag, or invalid UTF-8 in a word.
inline Result<std::vector<ConllSentence>> parse_conll(const char* data, std::size_t size, const std::string& name,
                                                      ConllFormat format = ConllFormat::gold) {
  const std::size_t min_columns = format == ConllFormat::gold ? 2 : 3;
  std::vector<ConllSentence> sentences;
  ConllSentence current;
  std::size_t columns = 0, columns_line = 0;               // column count of the first token line, and its line
  std::vector<std::pair<std::size_t, std::size_t>> fields; // [begin, end) within the line
  const auto finish = [&] {
    if (!current.words.empty()) sentences.push_back(std::move(current));
    current = ConllSentence();
  };
  std::size_t pos = 0, line_number = 0;
  while (pos < size) {
    ++line_number;
    std::size_t end = pos;
    while (end < size && data[end] != '\n') ++end;
    const std::size_t next = end < size ? end + 1 : end;
    if (end > pos && data[end - 1] == '\r') --end;
    const std::string where = name + ":" + std::to_string(line_number);
    fields.clear();
    for (std::size_t i = pos; i < end;) {
      if (data[i] == ' ' || data[i] == '\t') {
        ++i;
        continue;
      }
      std::size_t j = i;
      while (j < end && data[j] != ' ' && data[j] != '\t') ++j;
      fields.emplace_back(i, j);
      i = j;
    }
    pos = next;
    if (fields.empty()) {
      finish();
      continue;
    }
    const auto field = [&](std::size_t k) {
      return std::string(data + fields[k].first, fields[k].second - fields[k].first);
    };
    std::string word = field(0);
    if (word == "-DOCSTART-") {
      finish();
      continue;
    }
    if (fields.size() < min_columns)
      return Error(errc::format, where + ": " + std::to_string(fields.size()) + " column" +
                                     (fields.size() == 1 ? "" : "s") + ", need at least " +
                                     std::to_string(min_columns) +
                                     (format == ConllFormat::gold ? " (WORD ... TAG)" : " (WORD ... GOLD PREDICTED)"));
    if (columns == 0) {
      columns = fields.size();
      columns_line = line_number;
    } else if (fields.size() != columns) {
      return Error(errc::format, where + ": " + std::to_string(fields.size()) + " columns, but line " +
                                     std::to_string(columns_line) + " has " + std::to_string(columns));
    }
    if (!detail::utf8_decode(word).ok()) return Error(errc::format, where + ": the word is not valid UTF-8");
    const std::size_t gold_column = format == ConllFormat::gold ? fields.size() - 1 : fields.size() - 2;
    std::string gold = field(gold_column);
    if (!is_conll_tag(gold))
      return Error(errc::format, where + ": gold tag '" + gold + "' is not O or B-/I-/E-/S- followed by a type");
    if (format == ConllFormat::scored) {
      std::string predicted = field(fields.size() - 1);
      if (!is_conll_tag(predicted))
        return Error(errc::format,
                     where + ": predicted tag '" + predicted + "' is not O or B-/I-/E-/S- followed by a type");
      current.predicted.push_back(std::move(predicted));
    }
    current.words.push_back(std::move(word));
    current.gold.push_back(std::move(gold));
    current.lines.push_back(line_number);
  }
  finish();
  return sentences;
}

inline Result<std::vector<ConllSentence>> parse_conll(const std::string& text, const std::string& name,
                                                      ConllFormat format = ConllFormat::gold) {
  return parse_conll(text.data(), text.size(), name, format);
}

/// Reads a CoNLL file (errc::io when it cannot be read); errors name `path:line`.
inline Result<std::vector<ConllSentence>> read_conll(const std::string& path, ConllFormat format = ConllFormat::gold) {
  ALBERTNER_TRY(detail::MappedFile file, detail::MappedFile::open(path));
  return parse_conll(reinterpret_cast<const char*>(file.data()), file.size(), path, format);
}

/// `word gold predicted` lines, a blank line after each sentence: conlleval's input, and what
/// read_conll(..., ConllFormat::scored) reads back. Sentences without predictions get `O`.
inline std::string format_conll_scored(const std::vector<ConllSentence>& sentences) {
  std::string out;
  for (const ConllSentence& s : sentences) {
    for (std::size_t i = 0; i < s.words.size(); ++i) {
      out += s.words[i];
      out += ' ';
      out += i < s.gold.size() ? s.gold[i] : std::string("O");
      out += ' ';
      out += i < s.predicted.size() ? s.predicted[i] : std::string("O");
      out += '\n';
    }
    out += '\n';
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Chunks and scores.

/// One entity: `type` over the words [begin, end) of its sentence.
struct ConllChunk {
  std::string type;
  std::size_t begin = 0, end = 0;
  friend bool operator==(const ConllChunk& a, const ConllChunk& b) {
    return a.begin == b.begin && a.end == b.end && a.type == b.type;
  }
  friend bool operator!=(const ConllChunk& a, const ConllChunk& b) { return !(a == b); }
};

namespace detail {

/// A tag's prefix and type as seqeval's default mode splits it: the prefix is the first character
/// ('O' for an empty tag), the type the rest after its first '-' (the whole rest when it has no
/// '-'), "_" when that is empty. So `B-PER` is (B, PER), `O` is (O, _), `B-I-X` is (B, I-X).
inline void split_conll_tag(const std::string& tag, char& prefix, std::string& type) {
  prefix = tag.empty() ? 'O' : tag[0];
  const std::size_t dash = tag.size() > 1 ? tag.find('-', 1) : std::string::npos;
  if (tag.size() <= 1) type.clear();
  else if (dash == std::string::npos) type.assign(tag, 1, std::string::npos);
  else type.assign(tag, dash + 1, std::string::npos);
  if (type.empty()) type = "_";
}

/// seqeval's end_of_chunk (conlleval's endOfChunk on B/I/O tags): does a chunk end just before `tag`?
inline bool conll_chunk_ends(char prev, const std::string& prev_type, char tag, const std::string& type) {
  if (prev == 'E' || prev == 'S') return true;
  if ((prev == 'B' || prev == 'I') && (tag == 'B' || tag == 'S' || tag == 'O')) return true;
  return prev != 'O' && prev != '.' && prev_type != type;
}

/// seqeval's start_of_chunk (conlleval's startOfChunk on B/I/O tags): does a chunk start at `tag`?
inline bool conll_chunk_starts(char prev, const std::string& prev_type, char tag, const std::string& type) {
  if (tag == 'B' || tag == 'S') return true;
  if ((prev == 'E' || prev == 'S' || prev == 'O') && (tag == 'E' || tag == 'I')) return true;
  return tag != 'O' && tag != '.' && prev_type != type;
}

} // namespace detail

/// The chunks of one sentence, in order, by seqeval's default-mode rules (conlleval's on B/I/O tags): a chunk
/// starts at B or S, at an I or E after O, E or S, and at any non-O tag whose type differs from
/// the previous tag's; it ends before B, S or O after B or I, after E or S, and before a change of
/// type. So IOB1 (`I-PER I-PER`) and IOB2 (`B-PER I-PER`) give the same chunks, and a stray
/// `I-ORG` after `B-PER` starts an ORG chunk. The sentence's end ends any open chunk.
inline std::vector<ConllChunk> conll_chunks(const std::vector<std::string>& tags) {
  std::vector<ConllChunk> chunks;
  char prev = 'O', prefix = 'O';
  std::string prev_type, type; // seqeval starts with prev_type "" (no tag's type is empty)
  std::size_t begin = 0;
  for (std::size_t i = 0; i <= tags.size(); ++i) {
    if (i < tags.size()) detail::split_conll_tag(tags[i], prefix, type);
    else {
      prefix = 'O'; // the sentence boundary
      type = "_";
    }
    if (detail::conll_chunk_ends(prev, prev_type, prefix, type)) chunks.push_back(ConllChunk{prev_type, begin, i});
    if (detail::conll_chunk_starts(prev, prev_type, prefix, type)) begin = i;
    prev = prefix;
    prev_type.swap(type);
  }
  return chunks;
}

/// Chunk counts of one entity type (or of all): precision, recall and F1 as fractions; 0 where a
/// denominator is 0 (seqeval's zero_division result).
struct ChunkCounts {
  std::size_t gold = 0;      ///< chunks in the gold tags (seqeval's "number", the support)
  std::size_t predicted = 0; ///< chunks in the predicted tags
  std::size_t correct = 0;   ///< predicted chunks with the same type, start and end as a gold one

  double precision() const { return predicted ? static_cast<double>(correct) / static_cast<double>(predicted) : 0.0; }
  double recall() const { return gold ? static_cast<double>(correct) / static_cast<double>(gold) : 0.0; }
  /// 2PR / (P + R), computed from P and R as seqeval does.
  double f1() const {
    const double p = precision(), r = recall();
    return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
  }
};

struct ConllScores {
  ChunkCounts overall;                         ///< micro average: all types together
  std::map<std::string, ChunkCounts> per_type; ///< every type seen in gold or predicted chunks, sorted
  std::size_t tokens = 0;                      ///< words scored
  std::size_t correct_tokens = 0;              ///< words whose predicted tag equals the gold tag (B-PER ≠ I-PER)
  std::size_t sentences = 0;
  /// Token accuracy: correct_tokens / tokens (0 for no tokens), seqeval's accuracy_score.
  double accuracy() const { return tokens ? static_cast<double>(correct_tokens) / static_cast<double>(tokens) : 0.0; }
};

/// Accumulates sentences; scores() at any point gives the totals so far.
class ConllScorer {
public:
  /// errc::invalid_input when the two tag lists differ in length.
  Status add(const std::vector<std::string>& gold, const std::vector<std::string>& predicted) {
    if (gold.size() != predicted.size())
      return Error(errc::invalid_input, "sentence " + std::to_string(scores_.sentences) + ": " +
                                            std::to_string(gold.size()) + " gold tags but " +
                                            std::to_string(predicted.size()) + " predicted tags");
    ++scores_.sentences;
    scores_.tokens += gold.size();
    for (std::size_t i = 0; i < gold.size(); ++i) scores_.correct_tokens += gold[i] == predicted[i] ? 1 : 0;
    const std::vector<ConllChunk> g = conll_chunks(gold), p = conll_chunks(predicted);
    for (const ConllChunk& c : g) {
      ++scores_.overall.gold;
      ++scores_.per_type[c.type].gold;
    }
    for (const ConllChunk& c : p) {
      ++scores_.overall.predicted;
      ++scores_.per_type[c.type].predicted;
    }
    // Both lists are sorted by begin and do not overlap: one merge pass finds the exact matches.
    std::size_t i = 0, j = 0;
    while (i < g.size() && j < p.size()) {
      if (g[i].begin < p[j].begin) ++i;
      else if (p[j].begin < g[i].begin) ++j;
      else {
        if (g[i] == p[j]) {
          ++scores_.overall.correct;
          ++scores_.per_type[g[i].type].correct;
        }
        ++i;
        ++j;
      }
    }
    return ok_status();
  }

  const ConllScores& scores() const noexcept { return scores_; }

private:
  ConllScores scores_;
};

/// Scores the `predicted` tags of every sentence against its `gold` tags (errc::invalid_input,
/// naming the file line when known, where a sentence's two lists differ in length).
inline Result<ConllScores> score_conll(const std::vector<ConllSentence>& sentences) {
  ConllScorer scorer;
  for (std::size_t i = 0; i < sentences.size(); ++i) {
    auto st = scorer.add(sentences[i].gold, sentences[i].predicted);
    if (!st.ok())
      return st.error().with_context(sentences[i].lines.empty() || sentences[i].lines[0] == 0
                                         ? "sentence " + std::to_string(i)
                                         : "line " + std::to_string(sentences[i].lines[0]));
  }
  return scorer.scores();
}

// ---------------------------------------------------------------------------------------------
// Word-level predictions.

struct PredictOptions {
  /// Sentences handed to Tagger::document_logits at once (each such call is batched by the
  /// Tagger's batch_size and spread over its threads); progress is reported after each.
  std::size_t sentences_per_call = 256;
  /// Called after each call with (user, sentences done, sentences in all); may be null.
  void (*progress)(void* user, std::size_t done, std::size_t total) = nullptr;
  void* user = nullptr;
  /// Tags each sentence's words with the most probable valid IOB2 sequence over their first
  /// sub-tokens' label probabilities (Viterbi) instead of each word's argmax.
  bool constrained = false;
};

struct WordTags {
  /// One tag per word of each sentence: id2label of the argmax of the word's first sub-token's
  /// logits (the first maximum on ties), or with PredictOptions::constrained the word's label on
  /// the valid IOB2 path; `O` for a word that gives no token.
  std::vector<std::vector<std::string>> tags;
  /// Words that normalize to nothing (no token at all) and were tagged `O`.
  std::size_t words_without_tokens = 0;
  /// Model tokens of all sentences, [CLS]/[SEP] excluded.
  std::size_t tokens = 0;
};

namespace detail {

/// predict_word_tags with `where(s)` naming sentence s in error messages.
template <class Decoder, class Where>
Result<WordTags> predict_word_tags_named(const Tagger<Decoder>& tagger,
                                         const std::vector<std::vector<std::string>>& sentences,
                                         const PredictOptions& options, Where where) {
  const std::vector<std::string>& labels = tagger.labels();
  const std::size_t L = labels.size();
  if (L == 0) return Error(errc::config, "the model has no labels");
  const std::size_t step = options.sentences_per_call ? options.sentences_per_call : 1;
  WordTags out;
  out.tags.resize(sentences.size());
  std::vector<Encoding> encodings;
  for (std::size_t first = 0; first < sentences.size(); first += step) {
    const std::size_t last = first + step < sentences.size() ? first + step : sentences.size();
    encodings.clear();
    for (std::size_t s = first; s < last; ++s) {
      auto e = tagger.tokenizer().encode_words(sentences[s]);
      if (!e.ok()) return e.error().with_context(where(s));
      encodings.push_back(std::move(e).value());
    }
    ALBERTNER_TRY(std::vector<std::vector<float>> logits, tagger.document_logits(encodings));
    for (std::size_t s = first; s < last; ++s) {
      const Encoding& e = encodings[s - first];
      const std::vector<float>& rows = logits[s - first];
      if (rows.size() != e.size() * L || e.word_ids.size() != e.size())
        return Error(errc::internal, where(s) + ": " + std::to_string(rows.size()) + " logits for " +
                                         std::to_string(e.size()) + " tokens of " + std::to_string(L) + " labels");
      std::vector<std::string>& tags = out.tags[s];
      tags.assign(sentences[s].size(), std::string());
      std::vector<bool> seen(sentences[s].size(), false);
      std::int32_t previous = -1;
      std::vector<std::size_t> first_tokens; // the first sub-token of each word with tokens, in order
      for (std::size_t k = 0; k < e.size(); ++k) {
        const std::int32_t w = e.word_ids[k];
        if (w < 0) continue; // [CLS], [SEP]
        ++out.tokens;
        if (w == previous) continue; // a later sub-token of the same word
        previous = w;
        const float* row = rows.data() + k * L;
        for (std::size_t j = 0; j < L; ++j)
          if (!std::isfinite(row[j]))
            return Error(errc::invalid_input,
                         where(s) + ", word " + std::to_string(w) + ": logit " + std::to_string(j) + " is not finite");
        first_tokens.push_back(k);
      }
      // Each word's first-token row: its logits (argmax), or its softmax (the constrained path).
      std::vector<const float*> word_rows;
      std::vector<float> probs(options.constrained ? first_tokens.size() * L : 0);
      for (std::size_t i = 0; i < first_tokens.size(); ++i) {
        const float* row = rows.data() + first_tokens[i] * L;
        if (options.constrained) {
          softmax_f32(row, L, probs.data() + i * L);
          row = probs.data() + i * L;
        }
        word_rows.push_back(row);
      }
      const std::vector<std::size_t> chosen = choose_labels(word_rows, L, labels, options.constrained);
      for (std::size_t i = 0; i < first_tokens.size(); ++i) {
        const std::size_t w = static_cast<std::size_t>(e.word_ids[first_tokens[i]]);
        tags[w] = labels[chosen[i]];
        seen[w] = true;
      }
      for (std::size_t w = 0; w < tags.size(); ++w)
        if (!seen[w]) {
          tags[w] = "O";
          ++out.words_without_tokens;
        }
    }
    if (options.progress) options.progress(options.user, last, sentences.size());
  }
  return out;
}

} // namespace detail

/// Tags each sentence, given as its words: Tokenizer::encode_words (is_split_into_words), logits
/// from Tagger::document_logits (a sentence longer than the model's positions is windowed, not
/// truncated; batches and threads as the Tagger's options say), then one tag per word from its
/// first sub-token (Hugging Face's run_ner.py alignment with label_all_tokens=False). Errors name
/// the sentence ("sentence 12: word 3: ..."): invalid UTF-8, non-finite logits, or the encoder's own.
template <class Decoder>
Result<WordTags> predict_word_tags(const Tagger<Decoder>& tagger,
                                   const std::vector<std::vector<std::string>>& sentences,
                                   const PredictOptions& options = {}) {
  return detail::predict_word_tags_named(tagger, sentences, options,
                                         [](std::size_t s) { return "sentence " + std::to_string(s); });
}

/// predict_word_tags over `sentences`' words, storing each sentence's tags in its `predicted`.
/// Errors name the sentence by the file line of its first word when it has one ("line 120").
template <class Decoder>
Result<WordTags> predict_conll(const Tagger<Decoder>& tagger, std::vector<ConllSentence>& sentences,
                               const PredictOptions& options = {}) {
  std::vector<std::vector<std::string>> words;
  words.reserve(sentences.size());
  for (const ConllSentence& s : sentences) words.push_back(s.words);
  auto tagged = detail::predict_word_tags_named(tagger, words, options, [&sentences](std::size_t s) {
    const std::vector<std::size_t>& lines = sentences[s].lines;
    return lines.empty() || lines.front() == 0 ? "sentence " + std::to_string(s)
                                               : "line " + std::to_string(lines.front());
  });
  if (!tagged.ok()) return tagged;
  for (std::size_t s = 0; s < sentences.size(); ++s) sentences[s].predicted = tagged->tags[s];
  return tagged;
}

} // namespace albertner

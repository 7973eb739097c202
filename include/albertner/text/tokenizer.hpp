// albert's fast tokenizer, as Hugging Face tokenizers runs it from tokenizer.json: same ids, token
// strings and offsets. Vocabulary and scores come from spiece.model through the sentencepiece
// library; normalization, pre-tokenization and the Unigram search follow tokenizers.
#pragma once

#include "../io/json.hpp"
#include "../io/mapped_file.hpp"
#include "../io/utf8.hpp"
#include "../model/config.hpp"
#include "../status.hpp"
#include "charsmap.hpp"
#include "metaspace.hpp"
#include "normalizer.hpp"
#include "spiece_proto.hpp"
#include "unigram.hpp"

#include <sentencepiece_processor.h>
#include <utf8proc.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace albertner {

/// One encoded sequence, [CLS] … [SEP].
struct Encoding {
  std::vector<std::int32_t> ids;
  /// Token strings as tokenizers reports them: the normalized text of the token (the vocabulary
  /// piece, except that a fused unknown run reads as its text and an added token written in the
  /// text as the text it covers, e.g. " [MASK]").
  std::vector<std::string> tokens;
  /// Code points of the input, [start, end); (0, 0) for the added [CLS]/[SEP]. For word lists,
  /// relative to the token's own word (as tokenizers does with is_split_into_words).
  std::vector<std::pair<std::size_t, std::size_t>> offsets;
  /// The same spans in UTF-8 bytes.
  std::vector<std::pair<std::size_t, std::size_t>> byte_offsets;
  /// 1 only for the [CLS]/[SEP] the post-processor adds (0 for special tokens written in the text).
  std::vector<std::uint8_t> special_tokens_mask;
  /// Word-list input: the word index of each token, -1 for [CLS]/[SEP]. Empty for text input.
  std::vector<std::int32_t> word_ids;

  std::size_t size() const noexcept { return ids.size(); }
};

namespace detail {

/// Python's `str.isdigit` for one character: Numeric_Type Decimal (= category Nd) or Digit. The
/// Digit characters (superscripts, circled digits, …) are listed because utf8proc lacks
/// Numeric_Type (Unicode 14 list).
inline bool python_isdigit(char32_t c) {
  if (utf8proc_category(static_cast<utf8proc_int32_t>(c)) == UTF8PROC_CATEGORY_ND) return true;
  static const char32_t digit_ranges[][2] = {
      {0xB2, 0xB3},     {0xB9, 0xB9},       {0x1369, 0x1371},   {0x19DA, 0x19DA},   {0x2070, 0x2070},
      {0x2074, 0x2079}, {0x2080, 0x2089},   {0x2460, 0x2468},   {0x2474, 0x247C},   {0x2488, 0x2490},
      {0x24EA, 0x24EA}, {0x24F5, 0x24FD},   {0x24FF, 0x24FF},   {0x2776, 0x277E},   {0x2780, 0x2788},
      {0x278A, 0x2792}, {0x10A40, 0x10A43}, {0x10E60, 0x10E68}, {0x11052, 0x1105A}, {0x1F100, 0x1F10A}};
  for (const auto& r : digit_ranges)
    if (c >= r[0] && c <= r[1]) return true;
  return false;
}

/// The converter's `check_number_comma`: pieces ending in a digit and ',' lose 100, standing in
/// for the slow tokenizer's re-split of such pieces.
inline double albert_piece_score(const std::string& piece, float spm_score) {
  const double score = static_cast<double>(spm_score);
  auto chars = utf8_decode(piece);
  if (!chars.ok()) return score;
  const std::u32string& c = chars.value();
  if (c.size() >= 2 && c.back() == U',' && python_isdigit(c[c.size() - 2])) return score - 100.0;
  return score;
}

} // namespace detail

class Tokenizer {
public:
  /// Loads a serialized spiece.model (ModelProto bytes). errc::format when sentencepiece rejects
  /// it, its charsmap is malformed, a piece holds a NUL byte, or it lacks one of <unk>, <pad>,
  /// [CLS], [SEP].
  static Result<Tokenizer> from_spiece_bytes(const void* data, std::size_t size, TokenizerOptions options) {
    ALBERTNER_TRY(std::string blob, detail::spiece_precompiled_charsmap(data, size));
    ALBERTNER_TRY(detail::Charsmap charsmap, detail::Charsmap::parse(blob));
    ALBERTNER_TRY(const std::string checked, detail::spiece_for_sentencepiece(data, size));
    sentencepiece::SentencePieceProcessor sp;
    const auto status = sp.LoadFromSerializedProto(absl::string_view(checked));
    if (!status.ok()) return Error(errc::format, std::string("spiece model: ") + status.ToString());

    Tokenizer t;
    t.options_ = options;
    t.charsmap_ = std::move(charsmap);
    const int n = sp.GetPieceSize();
    std::vector<double> scores;
    t.pieces_.reserve(static_cast<std::size_t>(n));
    scores.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      t.pieces_.push_back(sp.IdToPiece(i));
      scores.push_back(detail::albert_piece_score(t.pieces_.back(), sp.GetScore(i)));
    }
    const auto id_of = [&](const char* piece) -> std::int32_t {
      const int id = sp.PieceToId(piece);
      return id >= 0 && id < n && t.pieces_[static_cast<std::size_t>(id)] == piece ? id : -1;
    };
    t.unk_id_ = sp.unk_id();
    t.pad_id_ = id_of("<pad>");
    t.cls_id_ = id_of("[CLS]");
    t.sep_id_ = id_of("[SEP]");
    for (const auto& [name, id] : {std::pair<const char*, std::int32_t>{"<unk>", t.unk_id_},
                                   {"<pad>", t.pad_id_},
                                   {"[CLS]", t.cls_id_},
                                   {"[SEP]", t.sep_id_}})
      if (id < 0 || id >= n) return Error(errc::format, std::string("spiece model has no piece ") + name);
    // AlbertTokenizerFast's special tokens, matched in the raw text before normalization.
    for (const auto& [content, lstrip] : {std::pair<const char*, bool>{"<pad>", false},
                                          {"<unk>", false},
                                          {"[CLS]", false},
                                          {"[SEP]", false},
                                          {"[MASK]", true}}) {
      const std::int32_t id = id_of(content);
      if (id < 0) continue; // [MASK]: a model without it simply has no such added token
      t.added_.push_back({detail::utf8_decode(content).value(), id, lstrip});
    }
    t.model_ = detail::Unigram(t.pieces_, scores, t.unk_id_);
    return t;
  }

  static Result<Tokenizer> from_spiece_file(const std::string& path, TokenizerOptions options) {
    ALBERTNER_TRY(detail::MappedFile file, detail::MappedFile::open(path));
    auto t = from_spiece_bytes(file.data(), file.size(), options);
    if (!t.ok()) return t.error().with_context(path);
    return t;
  }

  /// [CLS] text [SEP], no truncation. errc::invalid_input for invalid UTF-8.
  Result<Encoding> encode(const std::string& text) const {
    ALBERTNER_TRY(std::u32string chars, detail::utf8_decode(text));
    Encoding e;
    push_special(e, cls_id_);
    encode_sequence(chars, e);
    push_special(e, sep_id_);
    return e;
  }

  /// is_split_into_words=True: each word is encoded on its own (so each gets its own leading ▁),
  /// offsets are relative to the word, word_ids say which word each token came from. A word that
  /// normalizes to nothing gives no token.
  Result<Encoding> encode_words(const std::vector<std::string>& words) const {
    Encoding e;
    push_special(e, cls_id_);
    e.word_ids.push_back(-1);
    for (std::size_t w = 0; w < words.size(); ++w) {
      auto chars = detail::utf8_decode(words[w]);
      if (!chars.ok()) return chars.error().with_context("word " + std::to_string(w));
      encode_sequence(chars.value(), e);
      e.word_ids.resize(e.size(), static_cast<std::int32_t>(w));
    }
    push_special(e, sep_id_);
    e.word_ids.push_back(-1);
    return e;
  }

  std::int32_t vocab_size() const noexcept { return static_cast<std::int32_t>(pieces_.size()); }
  /// The vocabulary string of `id` ("▁hello"); an empty string for an id out of range.
  const std::string& id_to_piece(std::int32_t id) const {
    static const std::string none;
    return id >= 0 && id < vocab_size() ? pieces_[static_cast<std::size_t>(id)] : none;
  }
  /// The Metaspace decoder: ▁ → space, except a ▁ that is the first character, which is dropped.
  std::string decode_tokens(const std::vector<std::string>& tokens) const { return detail::metaspace_decode(tokens); }

  std::int32_t cls_id() const noexcept { return cls_id_; }
  std::int32_t sep_id() const noexcept { return sep_id_; }
  std::int32_t unk_id() const noexcept { return unk_id_; }
  std::int32_t pad_id() const noexcept { return pad_id_; }
  const TokenizerOptions& options() const noexcept { return options_; }

private:
  struct AddedToken {
    std::u32string content;
    std::int32_t id;
    bool lstrip; ///< swallow the whitespace before it into its span
  };

  Tokenizer() = default;

  void push_special(Encoding& e, std::int32_t id) const {
    e.ids.push_back(id);
    e.tokens.push_back(pieces_[static_cast<std::size_t>(id)]);
    e.offsets.emplace_back(0, 0);
    e.byte_offsets.emplace_back(0, 0);
    e.special_tokens_mask.push_back(1);
  }

  /// Appends the tokens of `chars` (no [CLS]/[SEP]): added tokens are cut out of the raw text
  /// (leftmost, longest), the rest is normalized, pre-tokenized and segmented piece by piece.
  void encode_sequence(const std::u32string& chars, Encoding& e) const {
    std::vector<std::size_t> byte_at(chars.size() + 1, 0); // UTF-8 byte position of each code point
    for (std::size_t i = 0; i < chars.size(); ++i) byte_at[i + 1] = byte_at[i] + detail::utf8_length(chars[i]);
    std::size_t rest = 0; // start of the text not yet encoded
    for (std::size_t i = 0; i < chars.size();) {
      const AddedToken* match = nullptr;
      for (const AddedToken& a : added_)
        if (chars.compare(i, a.content.size(), a.content) == 0 && (!match || a.content.size() > match->content.size()))
          match = &a;
      if (!match) {
        ++i;
        continue;
      }
      std::size_t start = i;
      if (match->lstrip)
        while (start > rest && detail::is_whitespace(chars[start - 1])) --start;
      encode_plain(chars, byte_at, rest, start, e);
      const std::size_t stop = i + match->content.size();
      e.ids.push_back(match->id);
      std::string token;
      for (std::size_t k = start; k < stop; ++k) detail::utf8_append(token, chars[k]);
      e.tokens.push_back(std::move(token));
      e.offsets.emplace_back(start, stop);
      e.byte_offsets.emplace_back(byte_at[start], byte_at[stop]);
      e.special_tokens_mask.push_back(0);
      rest = i = stop;
    }
    encode_plain(chars, byte_at, rest, chars.size(), e);
  }

  /// Normalizes chars[begin, end), pre-tokenizes it and runs the model on each pre-token.
  void encode_plain(const std::u32string& chars, const std::vector<std::size_t>& byte_at, std::size_t begin,
                    std::size_t end, Encoding& e) const {
    if (begin == end) return;
    detail::NormalizedString s = detail::NormalizedString::original(chars, begin, end);
    normalize(s);
    std::vector<detail::NormalizedString> pretokens;
    if (options_.whitespace_split) {
      std::vector<detail::NormalizedString> words;
      detail::whitespace_split(s, words);
      for (detail::NormalizedString& w : words) detail::metaspace(std::move(w), pretokens);
    } else {
      detail::metaspace(std::move(s), pretokens);
    }
    std::string bytes;
    std::vector<std::size_t> char_at; // code point index of each byte position that starts one
    std::vector<detail::Unigram::Piece> pieces;
    for (const detail::NormalizedString& p : pretokens) {
      bytes.clear();
      char_at.clear();
      for (std::size_t k = 0; k < p.size(); ++k) {
        char_at.resize(bytes.size() + 1, 0);
        char_at[bytes.size()] = k;
        detail::utf8_append(bytes, p.chars[k]);
      }
      char_at.resize(bytes.size() + 1, 0);
      char_at[bytes.size()] = p.size();
      pieces.clear();
      model_.encode(bytes, pieces);
      for (const detail::Unigram::Piece& piece : pieces) {
        const std::size_t first = char_at[piece.begin], last = char_at[piece.end] - 1;
        // tokenizers' span: first character's start to last character's end. The alignments stay
        // in order here (reordering only moves marks, which StripAccents removes), so the max is a
        // guard that keeps a span from ever being reversed.
        const std::size_t start = p.align[first].start, stop = std::max(start, p.align[last].end);
        e.ids.push_back(piece.id);
        e.tokens.push_back(bytes.substr(piece.begin, piece.end - piece.begin));
        e.offsets.emplace_back(start, stop);
        e.byte_offsets.emplace_back(byte_at[start], byte_at[stop]);
        e.special_tokens_mask.push_back(0);
      }
    }
  }

  /// The normalizer sequence of albert's tokenizer.json.
  void normalize(detail::NormalizedString& s) const {
    detail::replace_literal(s, U"``", U"\"");
    detail::replace_literal(s, U"''", U"\"");
    if (!options_.keep_accents) {
      detail::nfkd(s);
      detail::strip_accents(s);
    }
    if (options_.lowercase) detail::lowercase(s);
    detail::precompiled(s, charsmap_);
    if (!options_.whitespace_split) detail::collapse_spaces(s);
  }

  TokenizerOptions options_;
  std::vector<std::string> pieces_;
  detail::Unigram model_;
  detail::Charsmap charsmap_;
  std::vector<AddedToken> added_;
  std::int32_t unk_id_ = 1, pad_id_ = 0, cls_id_ = 2, sep_id_ = 3;
};

/// Tokenizer options from a Hugging Face model folder. `tokenizer_json` (tokenizer.json, may be
/// null) decides the pre-tokenizer: Sequence[WhitespaceSplit, Metaspace] → whitespace_split=true
/// (the Hub albert-base-v2 file), Metaspace alone → false (re-converted files, which must also
/// carry the Replace(" {2,}", " ") normalizer step); no tokenizer.json → true. Its normalizer, which
/// is what tokenizers runs, decides lowercase (Lowercase step) and keep_accents (no NFKD +
/// StripAccents); without one, do_lower_case / keep_accents of `tokenizer_config` (may be null) do,
/// default true / false. model_max_length comes from tokenizer_config (default 512).
/// errc::unsupported names any other pre-tokenizer, normalizer step or model; errc::config a
/// field of the wrong type.
inline Result<TokenizerOptions> tokenizer_options_from_hf(const Json* tokenizer_json, const Json* tokenizer_config) {
  TokenizerOptions o;
  const auto type_of = [](const Json& j) -> std::string {
    const Json* t = j.is_object() ? j.find("type") : nullptr;
    return t && t->is_string() ? t->as_string() : j.dump();
  };
  const auto string_field = [](const Json& j, const char* key) -> std::string {
    const Json* v = j.find(key);
    return v && v->is_string() ? v->as_string() : std::string();
  };

  if (tokenizer_config) {
    if (!tokenizer_config->is_object()) return Error(errc::config, "tokenizer_config.json is not a JSON object");
    for (const auto& [key, field] :
         {std::pair<const char*, bool*>{"do_lower_case", &o.lowercase}, {"keep_accents", &o.keep_accents}})
      if (const Json* v = tokenizer_config->find(key)) {
        if (!v->is_bool())
          return Error(errc::config,
                       std::string("tokenizer_config.json: ") + key + " is " + v->dump() + ", not a boolean");
        *field = v->as_bool();
      }
    if (const Json* v = tokenizer_config->find("model_max_length")) {
      if (!v->is_number() || !(v->as_double() >= 1))
        return Error(errc::config,
                     "tokenizer_config.json: model_max_length is " + v->dump() + ", not a positive number");
      // transformers writes 1e30 (VERY_LARGE_INTEGER) for "no limit"; the model's 512 positions still apply.
      if (v->is_integer() && v->as_int() < (std::int64_t{1} << 31)) o.model_max_length = v->as_int();
    }
  }
  if (!tokenizer_json) return o;

  const Json& tj = *tokenizer_json;
  if (!tj.is_object()) return Error(errc::config, "tokenizer.json is not a JSON object");
  if (const Json* model = tj.find("model"))
    if (type_of(*model) != "Unigram")
      return Error(errc::unsupported, "tokenizer.json: model " + type_of(*model) + " is not supported (only Unigram)");

  const auto check_metaspace = [&](const Json& m) -> Status {
    const Json* prefix = m.find("add_prefix_space");
    const std::string scheme = string_field(m, "prepend_scheme");
    if (string_field(m, "replacement") != "\xE2\x96\x81" || (prefix && !(prefix->is_bool() && prefix->as_bool())) ||
        (!scheme.empty() && scheme != "always"))
      return Error(errc::unsupported, "tokenizer.json: Metaspace " + m.dump() +
                                          " is not supported (only \"▁\" with a prefix always added)");
    return ok_status();
  };
  const Json* pre = tj.find("pre_tokenizer");
  const std::string pre_type = pre ? type_of(*pre) : "null";
  const Json* seq = pre_type == "Sequence" ? pre->find("pretokenizers") : nullptr;
  if (seq && seq->is_array() && seq->size() == 2 && type_of(seq->items()[0]) == "WhitespaceSplit" &&
      type_of(seq->items()[1]) == "Metaspace") {
    ALBERTNER_CHECK(check_metaspace(seq->items()[1]));
    o.whitespace_split = true;
  } else if (pre_type == "Metaspace") {
    ALBERTNER_CHECK(check_metaspace(*pre));
    o.whitespace_split = false;
  } else {
    return Error(errc::unsupported, "tokenizer.json: pre_tokenizer " + (pre ? pre->dump() : std::string("null")) +
                                        " is not supported (only Sequence[WhitespaceSplit, Metaspace] or Metaspace)");
  }

  const Json* norm = tj.find("normalizer");
  if (!norm || norm->is_null()) {
    if (!o.whitespace_split)
      return Error(errc::unsupported, "tokenizer.json: Metaspace without a normalizer is not supported");
    return o;
  }
  std::vector<const Json*> steps;
  if (type_of(*norm) == "Sequence") {
    const Json* list = norm->find("normalizers");
    if (!list || !list->is_array())
      return Error(errc::config, "tokenizer.json: normalizer Sequence without a normalizers list");
    for (const Json& step : list->items()) steps.push_back(&step);
  } else {
    steps.push_back(norm);
  }
  bool nfkd = false, strip = false, lower = false, collapse = false;
  for (const Json* step : steps) {
    const std::string type = type_of(*step);
    if (type == "NFKD") nfkd = true;
    else if (type == "StripAccents") strip = true;
    else if (type == "Lowercase") lower = true;
    else if (type == "Precompiled") continue; // the spiece model's own charsmap is used
    else if (type == "Replace") {
      const Json* pattern = step->find("pattern");
      const std::string content = string_field(*step, "content");
      const std::string literal = pattern && pattern->is_object() ? string_field(*pattern, "String") : std::string();
      const std::string regex = pattern && pattern->is_object() ? string_field(*pattern, "Regex") : std::string();
      if (regex == " {2,}" && content == " ") collapse = true;
      else if ((literal == "``" || literal == "''") && content == "\"") continue;
      else return Error(errc::unsupported, "tokenizer.json: normalizer step " + step->dump() + " is not supported");
    } else {
      return Error(errc::unsupported, "tokenizer.json: normalizer step " + type + " is not supported");
    }
  }
  if (nfkd != strip)
    return Error(errc::unsupported, "tokenizer.json: NFKD without StripAccents (or the reverse) is not supported");
  if (!o.whitespace_split && !collapse)
    return Error(errc::unsupported,
                 "tokenizer.json: Metaspace without the Replace(\" {2,}\", \" \") normalizer step is not supported");
  o.lowercase = lower;
  o.keep_accents = !strip;
  return o;
}

} // namespace albertner

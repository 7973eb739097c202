// transformers 4.21 `TokenClassificationPipeline.aggregate` / `group_entities`, step for step,
// over already validated pre-entities. Kept separate from the public API so that the checks on
// caller input live in one place (span_decoder.hpp).
#pragma once

#include "../text/metaspace.hpp"
#include "iob2_viterbi.hpp"
#include "numpy_f32.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace albertner {
namespace detail {

/// A text span in code points and in UTF-8 bytes.
struct Span {
  std::size_t start = 0, end = 0, byte_start = 0, byte_end = 0;
};

/// One non-special token as `gather_pre_entities` sees it.
struct PreEntity {
  std::string word;    ///< vocabulary piece, or the original text for <unk>
  const float* scores; ///< its softmax row (num_labels floats)
  std::int64_t index;  ///< position in the token sequence
  Span span;
  bool is_subword;
};

/// A labelled token, word or group before filtering (HF's entity dicts).
struct Tagged {
  std::string label;
  float score = 0.0f;
  std::int64_t index = -1;
  std::string word;
  Span span;
};

/// The label index of each row: its argmax, or with `constrained` the valid IOB2 path (iob2_viterbi).
inline std::vector<std::size_t> choose_labels(const std::vector<const float*>& rows, std::size_t num_labels,
                                              const std::vector<std::string>& labels, bool constrained) {
  if (constrained) return iob2_viterbi(rows, labels);
  std::vector<std::size_t> out;
  out.reserve(rows.size());
  for (const float* r : rows) out.push_back(argmax_f32(r, num_labels));
  return out;
}

/// NONE / SIMPLE: every token with its argmax label (or its label on the constrained path).
inline std::vector<Tagged> token_entities(const std::vector<PreEntity>& pre, std::size_t num_labels,
                                          const std::vector<std::string>& labels, bool constrained = false) {
  std::vector<const float*> rows;
  rows.reserve(pre.size());
  for (const PreEntity& p : pre) rows.push_back(p.scores);
  const std::vector<std::size_t> chosen = choose_labels(rows, num_labels, labels, constrained);
  std::vector<Tagged> out;
  out.reserve(pre.size());
  for (std::size_t i = 0; i < pre.size(); ++i) {
    const PreEntity& p = pre[i];
    const std::size_t k = chosen[i];
    out.push_back(Tagged{labels[k], p.scores[k], p.index, p.word, p.span});
  }
  return out;
}

enum class WordRule { first, average, max };

/// The label scores the word of tokens [begin, end) is labelled from (transformers'
/// `aggregate_word`): the first
/// token's row (first), the row of the token with the highest top score (max: Python's
/// max(key=...) keeps the first of equal keys), or the mean of the rows (average: nanmean over
/// axis 0 walks the rows in order per label, no pairwise split across rows).
inline std::vector<float> word_scores(const std::vector<PreEntity>& pre, std::size_t begin, std::size_t end,
                                      std::size_t num_labels, WordRule rule) {
  switch (rule) {
  case WordRule::first: break;
  case WordRule::max: {
    std::size_t best = begin;
    float best_max = pre[begin].scores[argmax_f32(pre[begin].scores, num_labels)];
    for (std::size_t i = begin + 1; i < end; ++i) {
      const float m = pre[i].scores[argmax_f32(pre[i].scores, num_labels)];
      if (m > best_max) {
        best = i;
        best_max = m;
      }
    }
    return std::vector<float>(pre[best].scores, pre[best].scores + num_labels);
  }
  case WordRule::average: {
    std::vector<float> mean(num_labels, 0.0f);
    for (std::size_t i = begin; i < end; ++i)
      for (std::size_t j = 0; j < num_labels; ++j) mean[j] += pre[i].scores[j];
    for (float& m : mean) m = static_cast<float>(static_cast<double>(m) / static_cast<double>(end - begin));
    return mean;
  }
  }
  return std::vector<float>(pre[begin].scores, pre[begin].scores + num_labels);
}

/// `aggregate_words`: a word is a token that is not a subword plus the subwords after it; each
/// word is labelled from its word_scores by argmax (`aggregate_word`) or, with `constrained`, by
/// the valid IOB2 path over the words.
inline std::vector<Tagged> word_entities(const std::vector<PreEntity>& pre, std::size_t num_labels,
                                         const std::vector<std::string>& labels, WordRule rule,
                                         bool constrained = false) {
  std::vector<std::size_t> starts; // word w is the tokens [starts[w], starts[w + 1])
  for (std::size_t i = 0; i < pre.size(); ++i)
    if (i == 0 || !pre[i].is_subword) starts.push_back(i);
  starts.push_back(pre.size());
  const std::size_t words = starts.size() - 1;
  std::vector<std::vector<float>> scores;
  std::vector<const float*> rows;
  scores.reserve(words);
  for (std::size_t w = 0; w < words; ++w) {
    scores.push_back(word_scores(pre, starts[w], starts[w + 1], num_labels, rule));
    rows.push_back(scores.back().data());
  }
  const std::vector<std::size_t> chosen = choose_labels(rows, num_labels, labels, constrained);
  std::vector<Tagged> out;
  out.reserve(words);
  for (std::size_t w = 0; w < words; ++w) {
    const std::size_t begin = starts[w], end = starts[w + 1], k = chosen[w];
    std::vector<std::string> pieces;
    for (std::size_t i = begin; i < end; ++i) pieces.push_back(pre[i].word);
    Tagged word;
    word.word = metaspace_decode(pieces);
    word.span =
        Span{pre[begin].span.start, pre[end - 1].span.end, pre[begin].span.byte_start, pre[end - 1].span.byte_end};
    word.label = labels[k];
    word.score = scores[w][k];
    out.push_back(std::move(word));
  }
  return out;
}

/// `get_tag`: "B-X" → (B, X), "I-X" → (I, X), anything else → (I, whole label).
inline bool is_begin_tag(const std::string& label) { return label.compare(0, 2, "B-") == 0; }
inline std::string tag_of(const std::string& label) {
  if (label.compare(0, 2, "B-") == 0 || label.compare(0, 2, "I-") == 0) return label.substr(2);
  return label;
}

/// `group_sub_entities`: the group is named by its first member's label after the last '-'.
inline Tagged group_sub_entities(const std::vector<Tagged>& members) {
  const std::string& first = members.front().label;
  const std::size_t dash = first.rfind('-');
  Tagged group;
  group.label = dash == std::string::npos ? first : first.substr(dash + 1);
  std::vector<float> scores;
  std::vector<std::string> words;
  for (const Tagged& m : members) {
    scores.push_back(m.score);
    words.push_back(m.word);
  }
  group.score = mean_f32(scores.data(), scores.size());
  group.word = metaspace_decode(words);
  group.span = Span{members.front().span.start, members.back().span.end, members.front().span.byte_start,
                    members.back().span.byte_end};
  return group;
}

/// `group_entities`: an entity joins the current group iff its tag equals the last member's tag
/// and it is not a B- entity.
inline std::vector<Tagged> group_entities(const std::vector<Tagged>& entities) {
  std::vector<Tagged> groups;
  std::vector<Tagged> current;
  for (const Tagged& e : entities) {
    if (!current.empty() && (is_begin_tag(e.label) || tag_of(e.label) != tag_of(current.back().label))) {
      groups.push_back(group_sub_entities(current));
      current.clear();
    }
    current.push_back(e);
  }
  if (!current.empty()) groups.push_back(group_sub_entities(current));
  return groups;
}

} // namespace detail
} // namespace albertner

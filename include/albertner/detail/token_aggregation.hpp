// transformers 4.21 `TokenClassificationPipeline.aggregate` / `group_entities`, step for step,
// over already validated pre-entities. Kept separate from the public API so that the checks on
// caller input live in one place (span_decoder.hpp).
#pragma once

#include "metaspace.hpp"
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

/// NONE / SIMPLE: every token with its argmax label.
inline std::vector<Tagged> token_entities(const std::vector<PreEntity>& pre, std::size_t num_labels,
                                          const std::vector<std::string>& labels) {
  std::vector<Tagged> out;
  out.reserve(pre.size());
  for (const PreEntity& p : pre) {
    const std::size_t k = argmax_f32(p.scores, num_labels);
    out.push_back(Tagged{labels[k], p.scores[k], p.index, p.word, p.span});
  }
  return out;
}

enum class WordRule { first, average, max };

/// `aggregate_word`: one label and score for the tokens [begin, end) of one word.
inline Tagged aggregate_word(const std::vector<PreEntity>& pre, std::size_t begin, std::size_t end,
                             std::size_t num_labels, const std::vector<std::string>& labels, WordRule rule) {
  std::vector<std::string> pieces;
  for (std::size_t i = begin; i < end; ++i) pieces.push_back(pre[i].word);
  Tagged word;
  word.word = metaspace_decode(pieces);
  word.span =
      Span{pre[begin].span.start, pre[end - 1].span.end, pre[begin].span.byte_start, pre[end - 1].span.byte_end};
  std::size_t k = 0;
  switch (rule) {
  case WordRule::first:
    k = argmax_f32(pre[begin].scores, num_labels);
    word.score = pre[begin].scores[k];
    break;
  case WordRule::max: {
    // Python's max(key=...) keeps the first of equal keys.
    std::size_t best = begin;
    float best_max = pre[begin].scores[argmax_f32(pre[begin].scores, num_labels)];
    for (std::size_t i = begin + 1; i < end; ++i) {
      const float m = pre[i].scores[argmax_f32(pre[i].scores, num_labels)];
      if (m > best_max) {
        best = i;
        best_max = m;
      }
    }
    k = argmax_f32(pre[best].scores, num_labels);
    word.score = pre[best].scores[k];
    break;
  }
  case WordRule::average: {
    // nanmean over axis 0 walks the rows in order per label (no pairwise split across rows).
    std::vector<float> mean(num_labels, 0.0f);
    for (std::size_t i = begin; i < end; ++i)
      for (std::size_t j = 0; j < num_labels; ++j) mean[j] += pre[i].scores[j];
    for (float& m : mean) m = static_cast<float>(static_cast<double>(m) / static_cast<double>(end - begin));
    k = argmax_f32(mean.data(), num_labels);
    word.score = mean[k];
    break;
  }
  }
  word.label = labels[k];
  return word;
}

/// `aggregate_words`: a word is a token that is not a subword plus the subwords after it.
inline std::vector<Tagged> word_entities(const std::vector<PreEntity>& pre, std::size_t num_labels,
                                         const std::vector<std::string>& labels, WordRule rule) {
  std::vector<Tagged> out;
  std::size_t begin = 0;
  for (std::size_t i = 1; i <= pre.size(); ++i) {
    if (i < pre.size() && pre[i].is_subword) continue;
    if (begin < i) out.push_back(aggregate_word(pre, begin, i, num_labels, labels, rule));
    begin = i;
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

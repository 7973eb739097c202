// Constrained decoding: the most probable label sequence that is valid IOB2, by Viterbi over
// per-unit label probabilities (a unit is a token or a word, whatever is being labelled). Not part
// of Hugging Face's pipeline: callers use it only when asked (`constrained` options), so the
// default output stays the pipeline's.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

namespace albertner {
namespace detail {

/// For each label j, the label index that must come right before it, any-of: `I-X` may follow
/// only `B-X` or `I-X`. A label gets no constraint (empty list) when it is not `I-X` or when the
/// label set has no `B-X` (then nothing could ever start the entity).
inline std::vector<std::vector<std::size_t>> iob2_predecessors(const std::vector<std::string>& labels) {
  std::vector<std::vector<std::size_t>> allowed(labels.size());
  for (std::size_t j = 0; j < labels.size(); ++j) {
    if (labels[j].compare(0, 2, "I-") != 0) continue;
    const std::string type = labels[j].substr(2);
    bool has_begin = false;
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == "B-" + type) has_begin = true;
    if (!has_begin) continue;
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == "B-" + type || labels[i] == "I-" + type) allowed[j].push_back(i);
  }
  return allowed;
}

/// The label index of each unit on the valid IOB2 path with the largest sum of log probabilities.
/// `rows[u]` points at unit u's `labels.size()` probabilities (softmax output, finite, >= 0). A
/// constrained label never starts the sequence. Where the argmax path is valid it is the result
/// (up to exact ties in the sums, which keep the lower label index).
inline std::vector<std::size_t> iob2_viterbi(const std::vector<const float*>& rows,
                                             const std::vector<std::string>& labels) {
  const std::size_t n = rows.size(), L = labels.size();
  std::vector<std::size_t> path(n, 0);
  if (n == 0 || L == 0) return path;
  const std::vector<std::vector<std::size_t>> pred = iob2_predecessors(labels);
  const double impossible = -std::numeric_limits<double>::infinity();
  // log(0) is -inf, which would make a label that is the only valid continuation unreachable in
  // the same way as a forbidden one; the floor keeps every allowed path finite and ranks it.
  const auto logp = [](float p) { return std::log(p > 1e-30f ? static_cast<double>(p) : 1e-30); };
  std::vector<double> score(L), next(L);
  std::vector<std::size_t> back(n * L, 0);
  for (std::size_t j = 0; j < L; ++j) score[j] = pred[j].empty() ? logp(rows[0][j]) : impossible;
  for (std::size_t u = 1; u < n; ++u) {
    for (std::size_t j = 0; j < L; ++j) {
      double best = impossible;
      std::size_t arg = 0;
      if (pred[j].empty()) {
        for (std::size_t i = 0; i < L; ++i)
          if (score[i] > best) best = score[i], arg = i;
      } else {
        for (std::size_t i : pred[j])
          if (score[i] > best) best = score[i], arg = i;
      }
      next[j] = best == impossible ? impossible : best + logp(rows[u][j]);
      back[u * L + j] = arg;
    }
    score.swap(next);
  }
  std::size_t last = 0;
  for (std::size_t j = 1; j < L; ++j)
    if (score[j] > score[last]) last = j;
  path[n - 1] = last;
  for (std::size_t u = n - 1; u > 0; --u) path[u - 1] = back[u * L + path[u]];
  return path;
}

} // namespace detail
} // namespace albertner

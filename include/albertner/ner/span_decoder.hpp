// From per-token logits to entity spans, exactly as transformers 4.21's
// TokenClassificationPipeline post-processes them (all five aggregation strategies), plus the
// window plan that lets a long document run through a 512-position model in overlapping pieces.
// It takes plain data (token ids, pieces, offsets), so it depends on no tokenizer or encoder.
// SpanDecoder wraps decode_entities as the Tagger's default decoder.
#pragma once

#include "../io/utf8_index.hpp"
#include "../status.hpp"
#include "entity.hpp"
#include "token_aggregation.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace albertner {

struct DecodeOptions {
  Aggregation aggregation = Aggregation::simple;
  /// Entities whose label (none) or group label (others) is listed are dropped.
  std::vector<std::string> ignore_labels = {"O"};
  /// The tokenizer's <unk> id: such a token's word is the original text and always starts a word.
  std::int32_t unk_id = 1;
  /// Labels the tokens (none, simple) or words (first, average, max) with the most probable
  /// sequence that is valid IOB2 (`I-X` only after `B-X` or `I-X`; Viterbi) instead of each one's
  /// argmax. Not in Hugging Face's pipeline, so off by default.
  bool constrained = false;
};

/// Decodes entities from `logits`, row-major [tokens.size()][num_labels] floats, the model's
/// output for `tokens` (rows of special tokens are ignored). `labels` is id2label. Scores are
/// float32 computed in numpy's order, bit-identical to the pipeline's on the golden cases.
/// Errors (never a crash) on inconsistent input:
/// invalid UTF-8, offsets outside the text or disagreeing in code points and bytes, starts that
/// go backwards, non-finite logits, a label count that does not match.
/// Where 4.21 raises (first/average/max on a text with no tokens) the result is empty.
inline Result<std::vector<Entity>> decode_entities(const std::string& text, const std::vector<TokenInfo>& tokens,
                                                   const float* logits, std::size_t num_labels,
                                                   const std::vector<std::string>& labels,
                                                   const DecodeOptions& options) {
  if (num_labels == 0 || labels.size() != num_labels)
    return Error(errc::shape, "decode_entities: " + std::to_string(labels.size()) + " labels for " +
                                  std::to_string(num_labels) + " logits per token (need the same, at least 1)");
  if (!tokens.empty() && logits == nullptr) return Error(errc::shape, "decode_entities: logits is null");
  if (tokens.size() > std::numeric_limits<std::size_t>::max() / num_labels)
    return Error(errc::shape, "decode_entities: too many tokens");
  ALBERTNER_TRY(const std::vector<std::size_t> cp_bytes, detail::code_point_byte_offsets(text));
  const std::size_t num_cps = cp_bytes.size() - 1;

  std::vector<std::size_t> rows; // non-special token positions
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const TokenInfo& t = tokens[i];
    if (t.special) continue;
    const auto where = [i] { return "decode_entities: token " + std::to_string(i); };
    if (t.start > t.end || t.end > num_cps)
      return Error(errc::invalid_input, where() + ": offsets [" + std::to_string(t.start) + ", " +
                                            std::to_string(t.end) + ") outside the text of " + std::to_string(num_cps) +
                                            " code points");
    if (t.byte_start != cp_bytes[t.start] || t.byte_end != cp_bytes[t.end])
      return Error(errc::invalid_input, where() + ": byte offsets do not match its code point offsets");
    if (!rows.empty() && t.start < tokens[rows.back()].start)
      return Error(errc::invalid_input, where() + ": starts before the token preceding it");
    for (std::size_t j = 0; j < num_labels; ++j)
      if (!std::isfinite(logits[i * num_labels + j]))
        return Error(errc::invalid_input, where() + ": logit " + std::to_string(j) + " is not finite");
    rows.push_back(i);
  }

  std::vector<float> probs(rows.size() * num_labels);
  std::vector<detail::PreEntity> pre;
  pre.reserve(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const TokenInfo& t = tokens[rows[r]];
    float* scores = probs.data() + r * num_labels;
    detail::softmax_f32(logits + rows[r] * num_labels, num_labels, scores);
    detail::PreEntity p{t.piece, scores, static_cast<std::int64_t>(rows[r]),
                        detail::Span{t.start, t.end, t.byte_start, t.byte_end}, false};
    if (t.id == options.unk_id) {
      p.word = text.substr(t.byte_start, t.byte_end - t.byte_start);
    } else {
      // 4.21's heuristic, `start > 0 and text[start-1] != " "`: only an ASCII space before the
      // token makes it start a word.
      p.is_subword =
          t.start > 0 && !(cp_bytes[t.start] - cp_bytes[t.start - 1] == 1 && text[cp_bytes[t.start - 1]] == ' ');
    }
    pre.push_back(std::move(p));
  }

  // The pipeline's `aggregate`: token or word entities, grouped unless the strategy is none.
  std::vector<detail::Tagged> tagged;
  switch (options.aggregation) {
  case Aggregation::none:
  case Aggregation::simple: tagged = detail::token_entities(pre, num_labels, labels, options.constrained); break;
  case Aggregation::first:
    tagged = detail::word_entities(pre, num_labels, labels, detail::WordRule::first, options.constrained);
    break;
  case Aggregation::average:
    tagged = detail::word_entities(pre, num_labels, labels, detail::WordRule::average, options.constrained);
    break;
  case Aggregation::max:
    tagged = detail::word_entities(pre, num_labels, labels, detail::WordRule::max, options.constrained);
    break;
  }
  if (options.aggregation != Aggregation::none) tagged = detail::group_entities(tagged);

  std::vector<Entity> out;
  for (detail::Tagged& e : tagged) {
    bool ignored = false;
    for (const std::string& l : options.ignore_labels) ignored = ignored || l == e.label;
    if (ignored) continue;
    Entity ent;
    ent.label = std::move(e.label);
    ent.score = e.score;
    ent.index = e.index;
    ent.word = std::move(e.word);
    ent.start = e.span.start;
    ent.end = e.span.end;
    ent.byte_start = e.span.byte_start;
    ent.byte_end = e.span.byte_end;
    ent.text = text.substr(ent.byte_start, ent.byte_end - ent.byte_start);
    out.push_back(std::move(ent));
  }
  return out;
}

/// The Tagger's default decoder (Tagger<> is Tagger<SpanDecoder>): decode_entities, as the
/// pipeline post-processes. A decoder of one's own has the same member (see Tagger) and may call
/// this one.
struct SpanDecoder {
  static Result<std::vector<Entity>> decode(const std::string& text, const std::vector<TokenInfo>& tokens,
                                            const float* logits, std::size_t num_labels,
                                            const std::vector<std::string>& labels, const DecodeOptions& options) {
    return decode_entities(text, tokens, logits, num_labels, labels, options);
  }
};

/// Windows over a long document, in tokens including the [CLS]/[SEP] each window gets.
struct WindowOptions {
  std::size_t window = 512;  ///< model positions per window (at most max_position_embeddings)
  std::size_t overlap = 128; ///< content tokens shared by consecutive windows
};

/// Content tokens [begin, end) of the document's token sequence without [CLS]/[SEP].
struct Window {
  std::size_t begin = 0, end = 0;
};

/// Splits `num_content_tokens` into windows of window - 2 content tokens whose starts step by
/// window - 2 - overlap; the last window is moved back to end at the document's end so that it
/// has full context. A document that fits (also an empty one) gets the single window [0, n).
inline Result<std::vector<Window>> plan_windows(std::size_t num_content_tokens, const WindowOptions& options) {
  if (options.window < 3)
    return Error(errc::invalid_input, "plan_windows: window " + std::to_string(options.window) +
                                          " leaves no room for a token between [CLS] and [SEP]");
  const std::size_t content = options.window - 2;
  if (options.overlap >= content)
    return Error(errc::invalid_input, "plan_windows: overlap " + std::to_string(options.overlap) +
                                          " must be less than window - 2 = " + std::to_string(content));
  const std::size_t step = content - options.overlap;
  std::vector<Window> windows;
  std::size_t begin = 0;
  while (begin + content < num_content_tokens) {
    windows.push_back(Window{begin, begin + content});
    begin += step;
  }
  const std::size_t last = num_content_tokens > content ? num_content_tokens - content : 0;
  windows.push_back(Window{last, num_content_tokens});
  return windows;
}

/// For each content token, the window in which it lies most centrally (the largest distance to
/// that window's nearer edge; the earlier window on ties), so that stitched logits always come
/// from the window that gave the token the most context. A token no window covers gets
/// windows.size().
inline std::vector<std::size_t> assign_tokens_to_windows(const std::vector<Window>& windows,
                                                         std::size_t num_content_tokens) {
  std::vector<std::size_t> owner(num_content_tokens, windows.size());
  std::vector<std::size_t> best(num_content_tokens, 0);
  for (std::size_t w = 0; w < windows.size(); ++w) {
    const std::size_t end = windows[w].end < num_content_tokens ? windows[w].end : num_content_tokens;
    for (std::size_t t = windows[w].begin; t < end; ++t) {
      const std::size_t left = t - windows[w].begin, right = windows[w].end - 1 - t;
      const std::size_t centrality = left < right ? left : right;
      if (owner[t] == windows.size() || centrality > best[t]) {
        owner[t] = w;
        best[t] = centrality;
      }
    }
  }
  return owner;
}

} // namespace albertner

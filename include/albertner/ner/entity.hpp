// What the tagger returns: the aggregation strategies and one Entity, as Hugging Face's
// token-classification pipeline names them. Light on purpose: the declarations-only mode
// (ALBERTNER_DECLARATIONS_ONLY, see tagger.hpp) includes it without the engine.
#pragma once

#include "../status.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace albertner {

/// Hugging Face's `aggregation_strategy`.
enum class Aggregation { none, simple, first, average, max };

inline const char* aggregation_name(Aggregation a) noexcept {
  switch (a) {
  case Aggregation::none: return "none";
  case Aggregation::simple: return "simple";
  case Aggregation::first: return "first";
  case Aggregation::average: return "average";
  case Aggregation::max: return "max";
  }
  return "?";
}

/// Accepts the names in any ASCII case, as the pipeline does (`AggregationStrategy[name.upper()]`).
inline Result<Aggregation> parse_aggregation(const std::string& name) {
  std::string lower = name;
  for (char& c : lower)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  for (Aggregation a :
       {Aggregation::none, Aggregation::simple, Aggregation::first, Aggregation::average, Aggregation::max})
    if (lower == aggregation_name(a)) return a;
  return Error(errc::invalid_input,
               "aggregation strategy '" + name + "' is not one of none, simple, first, average, max");
}

/// One entity as the pipeline returns it, plus byte offsets and the original text.
struct Entity {
  std::string label; ///< `entity` (none) or `entity_group` (the other strategies)
  float score = 0.0f;
  std::int64_t index = -1;                  ///< token position in the sequence given to decode_entities (none only)
  std::string word;                         ///< HF's `word`: normalized pieces (lower-cased), Metaspace-decoded
  std::size_t start = 0, end = 0;           ///< code points into the text (HF's start/end)
  std::size_t byte_start = 0, byte_end = 0; ///< the same span in UTF-8 bytes
  std::string text;                         ///< the caller's text[byte_start, byte_end)
};

/// One position of the model input.
struct TokenInfo {
  std::int32_t id = 0;
  /// `convert_ids_to_tokens(id)`: the vocabulary string (`▁london`). For an added token that is
  /// its content (`[MASK]`), not `Encoding.tokens`, which includes whitespace an lstrip swallowed.
  std::string piece;
  std::size_t start = 0, end = 0;           ///< offsets in code points, end exclusive
  std::size_t byte_start = 0, byte_end = 0; ///< the same offsets in UTF-8 bytes
  bool special = false;                     ///< special_tokens_mask: [CLS], [SEP] and pads are skipped
};

} // namespace albertner

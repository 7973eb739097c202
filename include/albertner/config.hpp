// The architecture of an ALBERT token classifier and the options of its tokenizer.
#pragma once

#include "detail/json.hpp"
#include "status.hpp"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace albertner {

/// The feed-forward activation (`hidden_act` in config.json).
enum class activation { gelu, gelu_new, gelu_fast, relu };

inline const char* activation_name(activation a) noexcept {
  switch (a) {
  case activation::gelu: return "gelu";
  case activation::gelu_new: return "gelu_new";
  case activation::gelu_fast: return "gelu_fast";
  case activation::relu: return "relu";
  }
  return "?";
}

inline Result<activation> parse_activation(const std::string& name) {
  for (activation a : {activation::gelu, activation::gelu_new, activation::gelu_fast, activation::relu})
    if (name == activation_name(a)) return a;
  return Error(errc::unsupported, "hidden_act '" + name +
                                      "' is not supported (supported: gelu, gelu_new, gelu_fast, relu)");
}

/// ALBERT hyper-parameters with Hugging Face's names; defaults are albert-base-v2's.
struct ModelConfig {
  std::int64_t vocab_size = 30000;
  std::int64_t embedding_size = 128;
  std::int64_t hidden_size = 768;
  std::int64_t num_attention_heads = 12;
  std::int64_t intermediate_size = 3072;
  std::int64_t num_hidden_layers = 12;
  std::int64_t num_hidden_groups = 1;
  std::int64_t inner_group_num = 1;
  std::int64_t max_position_embeddings = 512;
  std::int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  activation hidden_act = activation::gelu_new;
  /// id2label in id order; the classifier has labels.size() outputs.
  std::vector<std::string> labels;

  std::int64_t num_labels() const noexcept { return static_cast<std::int64_t>(labels.size()); }
  std::int64_t head_dim() const noexcept { return hidden_size / num_attention_heads; }

  /// Checks every size for range and consistency, naming the first offending field.
  Status validate() const {
    struct Field { const char* name; std::int64_t value; std::int64_t min, max; };
    const Field fields[] = {
        {"vocab_size", vocab_size, 1, 1 << 24},
        {"embedding_size", embedding_size, 1, 1 << 16},
        {"hidden_size", hidden_size, 1, 1 << 16},
        {"num_attention_heads", num_attention_heads, 1, 1 << 10},
        {"intermediate_size", intermediate_size, 1, 1 << 18},
        {"num_hidden_layers", num_hidden_layers, 1, 1 << 10},
        {"num_hidden_groups", num_hidden_groups, 1, 1 << 10},
        {"inner_group_num", inner_group_num, 1, 1 << 10},
        {"max_position_embeddings", max_position_embeddings, 1, 1 << 16},
        {"type_vocab_size", type_vocab_size, 1, 1 << 10},
        {"num_labels", num_labels(), 1, 1 << 16},
    };
    for (const Field& f : fields)
      if (f.value < f.min || f.value > f.max)
        return Error(errc::config, std::string(f.name) + " = " + std::to_string(f.value) + " is out of range [" +
                                       std::to_string(f.min) + ", " + std::to_string(f.max) + "]");
    if (hidden_size % num_attention_heads != 0)
      return Error(errc::config, "num_attention_heads = " + std::to_string(num_attention_heads) +
                                     " does not divide hidden_size = " + std::to_string(hidden_size));
    if (num_hidden_groups > num_hidden_layers)
      return Error(errc::config, "num_hidden_groups = " + std::to_string(num_hidden_groups) +
                                     " exceeds num_hidden_layers = " + std::to_string(num_hidden_layers));
    if (!(layer_norm_eps > 0) || !std::isfinite(layer_norm_eps) || layer_norm_eps > 1)
      return Error(errc::config, "layer_norm_eps = " + std::to_string(layer_norm_eps) + " is not in (0, 1]");
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i].empty()) return Error(errc::config, "label " + std::to_string(i) + " is empty");
    return ok_status();
  }

  /// The group whose layers run at loop iteration `i` (Hugging Face's float division, truncated).
  std::int64_t group_of_iteration(std::int64_t i) const noexcept {
    return static_cast<std::int64_t>(static_cast<double>(i) /
                                     (static_cast<double>(num_hidden_layers) / static_cast<double>(num_hidden_groups)));
  }
};

/// How text is normalized and split before the Unigram model (what tokenizer.json/tokenizer_config.json say).
struct TokenizerOptions {
  bool lowercase = true;       ///< do_lower_case
  bool keep_accents = false;   ///< false: NFKD, then drop combining marks
  /// true: the Hub albert-base-v2 tokenizer.json (WhitespaceSplit before Metaspace; words' offsets exclude
  /// the space before them). false: re-converted files (Metaspace only; offsets include that space).
  bool whitespace_split = true;
  std::int64_t model_max_length = 512;
};

} // namespace albertner

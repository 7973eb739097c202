// The architecture of an ALBERT token classifier and the options of its tokenizer.
#pragma once

#include "../io/json.hpp"
#include "../status.hpp"

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
  return Error(errc::unsupported,
               "hidden_act '" + name + "' is not supported (supported: gelu, gelu_new, gelu_fast, relu)");
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
    struct Field {
      const char* name;
      std::int64_t value;
      std::int64_t min, max;
    };
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

/// Reads a Hugging Face config.json (AlbertConfig). Absent fields take AlbertConfig's defaults as
/// transformers does, and those are albert-xxlarge's (hidden 4096, 64 heads, intermediate 16384),
/// not ModelConfig's. Labels come from id2label, whose keys are decimal strings "0".."n-1";
/// without id2label there are `num_labels` (default 2) labels "LABEL_i", as in PretrainedConfig.
/// Errors: errc::config (wrong types, bad id2label, values validate() rejects),
/// errc::unsupported (unknown hidden_act, model_type other than albert, non-absolute positions).
inline Result<ModelConfig> model_config_from_hf_json(const Json& j) {
  if (!j.is_object()) return Error(errc::config, "config is not a JSON object");
  if (const Json* type = j.find("model_type"))
    if (!type->is_string() || type->as_string() != "albert")
      return Error(errc::unsupported, "model_type " + type->dump() + " is not \"albert\"");
  if (const Json* pos = j.find("position_embedding_type"))
    if (!pos->is_null() && (!pos->is_string() || pos->as_string() != "absolute"))
      return Error(errc::unsupported,
                   "position_embedding_type " + pos->dump() + " is not supported (only \"absolute\")");

  ModelConfig c;
  c.hidden_size = 4096;
  c.num_attention_heads = 64;
  c.intermediate_size = 16384;
  struct IntField {
    const char* key;
    std::int64_t* value;
  };
  const IntField ints[] = {
      {"vocab_size", &c.vocab_size},
      {"embedding_size", &c.embedding_size},
      {"hidden_size", &c.hidden_size},
      {"num_attention_heads", &c.num_attention_heads},
      {"intermediate_size", &c.intermediate_size},
      {"num_hidden_layers", &c.num_hidden_layers},
      {"num_hidden_groups", &c.num_hidden_groups},
      {"inner_group_num", &c.inner_group_num},
      {"max_position_embeddings", &c.max_position_embeddings},
      {"type_vocab_size", &c.type_vocab_size},
  };
  for (const IntField& f : ints)
    if (const Json* v = j.find(f.key)) {
      if (!v->is_integer()) return Error(errc::config, std::string(f.key) + " is " + v->dump() + ", not an integer");
      *f.value = v->as_int();
    }
  if (const Json* v = j.find("layer_norm_eps")) {
    if (!v->is_number()) return Error(errc::config, "layer_norm_eps is " + v->dump() + ", not a number");
    c.layer_norm_eps = v->as_double();
  }
  if (const Json* v = j.find("hidden_act")) {
    if (!v->is_string()) return Error(errc::unsupported, "hidden_act " + v->dump() + " is not an activation name");
    ALBERTNER_TRY(c.hidden_act, parse_activation(v->as_string()));
  }

  if (const Json* id2label = j.find("id2label")) {
    if (!id2label->is_object()) return Error(errc::config, "id2label is not an object");
    const std::size_t n = id2label->size();
    c.labels.assign(n, std::string());
    std::vector<bool> seen(n, false);
    for (const Json::Member& m : id2label->members()) {
      const std::string& key = m.first;
      std::size_t id = 0;
      bool digits = !key.empty() && key.size() <= 9;
      for (char ch : key) {
        digits = digits && ch >= '0' && ch <= '9';
        id = id * 10 + static_cast<std::size_t>(ch - '0');
      }
      if (!digits || id >= n || seen[id])
        return Error(errc::config,
                     "id2label key \"" + key + "\" is not a distinct id in [0, " + std::to_string(n) + ")");
      if (!m.second.is_string()) return Error(errc::config, "id2label[\"" + key + "\"] is not a string");
      seen[id] = true;
      c.labels[id] = m.second.as_string();
    }
  } else {
    std::int64_t n = 2;
    if (const Json* v = j.find("num_labels")) {
      if (!v->is_integer() || v->as_int() < 1 || v->as_int() > (1 << 16))
        return Error(errc::config, "num_labels is " + v->dump() + ", not an integer in [1, 65536]");
      n = v->as_int();
    }
    for (std::int64_t i = 0; i < n; ++i) c.labels.push_back("LABEL_" + std::to_string(i));
  }
  ALBERTNER_CHECK(c.validate());
  return c;
}

/// How text is normalized and split before the Unigram model (what tokenizer.json/tokenizer_config.json say).
struct TokenizerOptions {
  bool lowercase = true;     ///< do_lower_case
  bool keep_accents = false; ///< false: NFKD, then drop combining marks
  /// true: the Hub albert-base-v2 tokenizer.json (WhitespaceSplit before Metaspace; words' offsets exclude
  /// the space before them). false: re-converted files (Metaspace only; offsets include that space).
  bool whitespace_split = true;
  std::int64_t model_max_length = 512;
};

} // namespace albertner

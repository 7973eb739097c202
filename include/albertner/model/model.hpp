// The albertner model file: one safetensors file holding weights, config, labels and tokenizer.
// Layout in docs/format.md.
#pragma once

#include "../encoder/encoder.hpp"
#include "../io/json.hpp"
#include "../io/safetensors.hpp"
#include "../io/tensor.hpp"
#include "../ner/entity.hpp"
#include "../status.hpp"
#include "../text/tokenizer.hpp"
#include "config.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace albertner {

/// The file format version this library writes and reads.
constexpr int kModelFormatVersion = 1;

/// Metadata keys and tensor names of the model file.
namespace model_keys {
constexpr const char* format = "format";                           // "albertner"
constexpr const char* format_version = "albertner.format_version"; // "1"
constexpr const char* config = "albertner.config";                 // Hugging Face config.json subset (JSON)
constexpr const char* tokenizer = "albertner.tokenizer";           // tokenizer options (JSON)
constexpr const char* aggregation = "albertner.aggregation";       // optional: none|simple|first|average|max
constexpr const char* spiece_model = "tokenizer.spiece_model";     // U8 tensor: the spiece.model bytes
} // namespace model_keys

/// Serializes the architecture in Hugging Face's config.json names, so one parser reads both.
inline Json model_config_to_json(const ModelConfig& c) {
  Json j = Json::make_object();
  auto integer = [](std::int64_t v) { return Json::make_number(static_cast<double>(v), true, v); };
  j.set("model_type", Json::make_string("albert"));
  j.set("vocab_size", integer(c.vocab_size));
  j.set("embedding_size", integer(c.embedding_size));
  j.set("hidden_size", integer(c.hidden_size));
  j.set("num_attention_heads", integer(c.num_attention_heads));
  j.set("intermediate_size", integer(c.intermediate_size));
  j.set("num_hidden_layers", integer(c.num_hidden_layers));
  j.set("num_hidden_groups", integer(c.num_hidden_groups));
  j.set("inner_group_num", integer(c.inner_group_num));
  j.set("max_position_embeddings", integer(c.max_position_embeddings));
  j.set("type_vocab_size", integer(c.type_vocab_size));
  j.set("layer_norm_eps", Json::make_number(c.layer_norm_eps, false, 0));
  j.set("hidden_act", Json::make_string(activation_name(c.hidden_act)));
  j.set("position_embedding_type", Json::make_string("absolute"));
  Json id2label = Json::make_object();
  for (std::size_t i = 0; i < c.labels.size(); ++i) id2label.add(std::to_string(i), Json::make_string(c.labels[i]));
  j.set("id2label", std::move(id2label));
  return j;
}

inline Json tokenizer_options_to_json(const TokenizerOptions& o) {
  Json j = Json::make_object();
  j.set("do_lower_case", Json::make_bool(o.lowercase));
  j.set("keep_accents", Json::make_bool(o.keep_accents));
  j.set("pre_tokenizer", Json::make_string(o.whitespace_split ? "whitespace_split+metaspace" : "metaspace"));
  j.set("model_max_length", Json::make_number(static_cast<double>(o.model_max_length), true, o.model_max_length));
  return j;
}

inline Result<TokenizerOptions> tokenizer_options_from_json(const Json& j) {
  if (!j.is_object()) return Error(errc::format, "tokenizer options are not a JSON object");
  TokenizerOptions o;
  const Json* v;
  if ((v = j.find("do_lower_case"))) {
    if (!v->is_bool()) return Error(errc::format, "tokenizer option do_lower_case is not a boolean");
    o.lowercase = v->as_bool();
  }
  if ((v = j.find("keep_accents"))) {
    if (!v->is_bool()) return Error(errc::format, "tokenizer option keep_accents is not a boolean");
    o.keep_accents = v->as_bool();
  }
  if ((v = j.find("pre_tokenizer"))) {
    if (!v->is_string()) return Error(errc::format, "tokenizer option pre_tokenizer is not a string");
    if (v->as_string() == "whitespace_split+metaspace") o.whitespace_split = true;
    else if (v->as_string() == "metaspace") o.whitespace_split = false;
    else return Error(errc::unsupported, "tokenizer pre_tokenizer '" + v->as_string() + "' is not supported");
  }
  if ((v = j.find("model_max_length"))) {
    if (!v->is_integer() || v->as_int() < 3)
      return Error(errc::format, "tokenizer option model_max_length is not an integer >= 3");
    o.model_max_length = v->as_int();
  }
  return o;
}

/// A loaded model file: the mapped tensors plus the config, labels and tokenizer options read
/// from its metadata. Weights stay in the mapping (or the caller's buffer); move-only.
class Model {
public:
  /// Maps the file at `path`.
  static Result<Model> open(const std::string& path) {
    ALBERTNER_TRY(SafeTensors st, SafeTensors::open(path));
    auto m = from_tensors(std::move(st));
    if (!m.ok()) return m.error().with_context(path);
    return m;
  }
  /// Reads a model from bytes the caller keeps alive for the Model's lifetime (no filesystem needed).
  static Result<Model> from_buffer(const void* data, std::size_t size) {
    ALBERTNER_TRY(SafeTensors st, SafeTensors::from_buffer(data, size));
    return from_tensors(std::move(st));
  }

  const ModelConfig& config() const noexcept { return config_; }
  const TokenizerOptions& tokenizer_options() const noexcept { return tokenizer_; }
  const SafeTensors& tensors() const noexcept { return tensors_; }
  /// The spiece.model bytes stored in the file.
  const TensorView& spiece_model() const noexcept { return *spiece_; }
  int format_version() const noexcept { return version_; }
  /// How the file stores its weight matrices: dtype::f32; dtype::bf16 when any is BF16
  /// (`albertner convert --dtype bf16`); dtype::i8 when any is I8 (`--dtype int8`).
  dtype weight_dtype() const noexcept { return weight_dtype_; }
  /// The aggregation the model was trained for (metadata `albertner.aggregation`, written by
  /// `albertner convert --aggregation`); empty when the file recommends none.
  std::optional<Aggregation> recommended_aggregation() const noexcept { return aggregation_; }

private:
  static Result<Model> from_tensors(SafeTensors st) {
    const std::string* format = st.metadata_value(model_keys::format);
    if (!format || *format != "albertner")
      return Error(errc::format,
                   "not an albertner model file (metadata 'format' is " +
                       (format ? "'" + *format + "'" : std::string("absent")) +
                       "); convert a Hugging Face folder with: albertner convert HF_DIR -o OUT.safetensors");
    const std::string* version = st.metadata_value(model_keys::format_version);
    if (!version) return Error(errc::format, std::string("metadata '") + model_keys::format_version + "' is absent");
    if (*version != std::to_string(kModelFormatVersion))
      return Error(errc::unsupported, "model format version '" + *version +
                                          "' is not supported (this library reads version " +
                                          std::to_string(kModelFormatVersion) + "); re-convert the model");
    Model m;
    m.version_ = kModelFormatVersion;

    const std::string* config = st.metadata_value(model_keys::config);
    if (!config) return Error(errc::missing, std::string("metadata '") + model_keys::config + "' is absent");
    auto config_json = parse_json(*config);
    if (!config_json.ok())
      return config_json.error().with_context(std::string("metadata '") + model_keys::config + "'");
    auto parsed = model_config_from_hf_json(*config_json);
    if (!parsed.ok()) return parsed.error().with_context(std::string("metadata '") + model_keys::config + "'");
    m.config_ = std::move(parsed).value();

    const std::string* tokenizer = st.metadata_value(model_keys::tokenizer);
    if (!tokenizer) return Error(errc::missing, std::string("metadata '") + model_keys::tokenizer + "' is absent");
    auto tokenizer_json = parse_json(*tokenizer);
    if (!tokenizer_json.ok())
      return tokenizer_json.error().with_context(std::string("metadata '") + model_keys::tokenizer + "'");
    ALBERTNER_TRY(m.tokenizer_, tokenizer_options_from_json(*tokenizer_json));

    if (const std::string* aggregation = st.metadata_value(model_keys::aggregation)) {
      auto parsed_aggregation = parse_aggregation(*aggregation);
      if (!parsed_aggregation.ok())
        return parsed_aggregation.error().with_context(std::string("metadata '") + model_keys::aggregation + "'");
      m.aggregation_ = *parsed_aggregation;
    }

    m.tensors_ = std::move(st);
    m.spiece_ = m.tensors_.find(model_keys::spiece_model);
    if (!m.spiece_) return Error(errc::missing, std::string("tensor '") + model_keys::spiece_model + "' is absent");
    if (m.spiece_->type != dtype::u8 || m.spiece_->shape.size() != 1)
      return Error(errc::shape, std::string("tensor '") + model_keys::spiece_model +
                                    "' must be U8 with one dimension, not " + dtype_name(m.spiece_->type) + " " +
                                    m.spiece_->shape_string());
    for (const TensorView& t : m.tensors_.tensors())
      if (t.type == dtype::i8) m.weight_dtype_ = dtype::i8;
      else if (t.type == dtype::bf16 && m.weight_dtype_ == dtype::f32) m.weight_dtype_ = dtype::bf16;
    return m;
  }

  SafeTensors tensors_;
  ModelConfig config_;
  TokenizerOptions tokenizer_;
  const TensorView* spiece_ = nullptr;
  int version_ = 0;
  dtype weight_dtype_ = dtype::f32;
  std::optional<Aggregation> aggregation_;
};

/// The tokenizer stored in `model` (its spiece.model bytes and options).
inline Result<Tokenizer> make_tokenizer(const Model& model) {
  const TensorView& spiece = model.spiece_model();
  ALBERTNER_TRY(Tokenizer tokenizer,
                Tokenizer::from_spiece_bytes(spiece.data, spiece.nbytes, model.tokenizer_options()));
  if (tokenizer.vocab_size() > model.config().vocab_size)
    return Error(errc::config, "the tokenizer has " + std::to_string(tokenizer.vocab_size()) +
                                   " pieces but the model's vocab_size is " +
                                   std::to_string(model.config().vocab_size));
  return tokenizer;
}

/// The encoder over `model`'s weights (their precision is the file's); `model` must outlive it.
inline Result<Encoder> make_encoder(const Model& model) {
  const SafeTensors& store = model.tensors();
  // Each weight's file pages go as soon as its packed copy exists, so that the two are never
  // resident together (a caller's buffer is left alone: evict is a no-op there).
  return Encoder::create(
      model.config(), [&store](const std::string& name) { return store.find(name); },
      [&store](const void* data, std::size_t bytes) { store.evict(data, bytes); });
}

} // namespace albertner

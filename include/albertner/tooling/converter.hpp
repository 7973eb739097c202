// Hugging Face ALBERT token-classification folder → one albertner model file.
#pragma once

#include "../io/json.hpp"
#include "../io/mapped_file.hpp"
#include "../io/safetensors.hpp"
#include "../model/config.hpp"
#include "../model/model.hpp"
#include "../model/weight_binding.hpp"
#include "../status.hpp"
#include "../text/tokenizer.hpp"
#include "files.hpp"
#include "safetensors_writer.hpp"
#include "torch_bin.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace albertner {

/// The CoNLL-2003 label order of Hugging Face's `conll2003` dataset (`ner_tags` ClassLabel).
inline const std::vector<std::string>& conll2003_labels() {
  static const std::vector<std::string> labels = {"O",     "B-PER", "I-PER",  "B-ORG", "I-ORG",
                                                  "B-LOC", "I-LOC", "B-MISC", "I-MISC"};
  return labels;
}

struct ConvertOptions {
  /// Weights file inside the folder; empty: model.safetensors, else pytorch_model.bin.
  std::string weights;
  /// Replaces id2label (must have num_labels names); empty keeps the checkpoint's names.
  std::vector<std::string> labels;
  /// How the matrices (embedding tables, Linear weights) are stored: dtype::f32; dtype::bf16
  /// (half the bytes, each value rounded to nearest even); or dtype::i8 (a quarter: symmetric
  /// int8 per row, i.e. per output channel of a Linear, with an F32 scale per row in
  /// `<name>_scale`). Biases and LayerNorms stay F32.
  dtype matrices = dtype::f32;
  /// The aggregation recorded as the model's recommendation (metadata `albertner.aggregation`),
  /// used by a Tagger whose options choose none. Empty: none recorded (re-writing a model file
  /// keeps the input's).
  std::optional<Aggregation> aggregation = std::nullopt;
};

/// What a conversion read and wrote, for the converter's summary.
struct ConvertReport {
  ModelConfig config;
  TokenizerOptions tokenizer;
  /// The recommended aggregation written into the file, if any.
  std::optional<Aggregation> aggregation = std::nullopt;
  std::string weights_path;
  std::size_t tensors_written = 0;
  std::size_t parameters = 0;
  std::size_t file_bytes = 0;
  /// Things the user should know: ignored keys, kept generic labels, dtype conversions.
  std::vector<std::string> notes;
};

namespace detail {

inline Result<Json> read_json_file(const std::string& path) {
  ALBERTNER_TRY(MappedFile f, MappedFile::open(path));
  auto j = parse_json(reinterpret_cast<const char*>(f.data()), f.size());
  if (!j.ok()) return j.error().with_context(path);
  return j;
}

inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const int exponent = (h >> 10) & 0x1f;
  const std::uint32_t mantissa = h & 0x3ffu;
  float magnitude;
  if (exponent == 0) magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  else if (exponent == 31) magnitude = mantissa ? std::nanf("") : INFINITY;
  else magnitude = std::ldexp(static_cast<float>(mantissa | 0x400u), exponent - 25);
  std::uint32_t bits;
  std::memcpy(&bits, &magnitude, 4);
  bits |= sign;
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

/// Widens F16/BF16/F64 tensors to F32 (the precision the encoder computes in).
inline Result<std::vector<std::uint8_t>> widen_to_f32(const TensorView& t) {
  const std::size_t n = static_cast<std::size_t>(t.numel());
  std::vector<std::uint8_t> out(n * 4);
  for (std::size_t i = 0; i < n; ++i) {
    float v;
    if (t.type == dtype::f16 || t.type == dtype::bf16) {
      std::uint16_t h;
      std::memcpy(&h, t.data + 2 * i, 2);
      v = t.type == dtype::f16 ? half_to_float(h) : f32_from_bf16(h);
    } else if (t.type == dtype::f64) {
      double d;
      std::memcpy(&d, t.data + 8 * i, 8);
      v = static_cast<float>(d);
    } else {
      return Error(errc::unsupported, "tensor '" + t.name + "' has dtype " + dtype_name(t.type) +
                                          "; weights must be F32, F16, BF16 or F64");
    }
    std::memcpy(out.data() + 4 * i, &v, 4);
  }
  return out;
}

/// errc::format naming `name` and the first NaN or infinity in the F32 tensor `t`, with its flat
/// and multi-dimensional index: such weights would make every logit NaN, which the span decoder
/// then reports as bad input for every text, far from the cause.
inline Status check_finite_f32(const TensorView& t, const std::string& name) {
  const std::size_t n = t.nbytes / sizeof(float);
  for (std::size_t i = 0; i < n; ++i) {
    float v;
    std::memcpy(&v, t.data + i * sizeof(float), sizeof v);
    if (std::isfinite(v)) continue;
    std::string index;
    std::size_t rest = i;
    for (std::size_t k = t.shape.size(); k-- > 0;) {
      const auto d = static_cast<std::size_t>(t.shape[k]);
      index = std::to_string(d ? rest % d : 0) + (index.empty() ? "" : ", " + index);
      rest = d ? rest / d : 0;
    }
    return Error(errc::format, "tensor '" + name + "' holds " +
                                   (std::isnan(v) ? "NaN"
                                    : v > 0       ? "+Inf"
                                                  : "-Inf") +
                                   " at index " + std::to_string(i) + " ([" + index +
                                   "]); the checkpoint is corrupt (non-finite weights give NaN logits)");
  }
  return ok_status();
}

/// Spellings a checkpoint may use for a canonical key: with or without the `albert.` prefix,
/// and legacy LayerNorm gamma/beta.
inline std::vector<std::string> alternative_names(const std::string& name) {
  std::vector<std::string> names = {name};
  const std::string prefix = "albert.";
  if (name.compare(0, prefix.size(), prefix) == 0) names.push_back(name.substr(prefix.size()));
  const std::size_t n = names.size();
  for (std::size_t i = 0; i < n; ++i) {
    const std::string s = names[i]; // a copy: push_back below may reallocate
    auto ends_with = [&](const char* suffix) {
      const std::size_t k = std::strlen(suffix);
      return s.size() > k && s.compare(s.size() - k, k, suffix) == 0;
    };
    if (s.find("LayerNorm") != std::string::npos || s.find("layer_norm") != std::string::npos) {
      if (ends_with(".weight")) names.push_back(s.substr(0, s.size() - 7) + ".gamma");
      if (ends_with(".bias")) names.push_back(s.substr(0, s.size() - 5) + ".beta");
    }
  }
  return names;
}

/// Row r of w [rows, cols] as int8 q and scale s with q * s ~ w: s = max |w[r, :]| / 127, q
/// rounded to nearest (all 0 for a zero row).
inline void quantize_row_i8(const float* w, std::int64_t cols, std::int8_t* q, float& scale) {
  float top = 0.0f;
  for (std::int64_t c = 0; c < cols; ++c) top = std::max(top, std::fabs(w[c]));
  scale = top / 127.0f;
  for (std::int64_t c = 0; c < cols; ++c)
    q[c] =
        static_cast<std::int8_t>(top > 0.0f ? std::max(-127.0f, std::min(127.0f, std::nearbyint(w[c] / scale))) : 0.0f);
}

/// Element i of an F32 or BF16 tensor, as a float.
inline float tensor_value(const TensorView& t, std::size_t i) {
  if (t.type == dtype::f32) {
    float v;
    std::memcpy(&v, t.data + 4 * i, 4);
    return v;
  }
  std::uint16_t h;
  std::memcpy(&h, t.data + 2 * i, 2);
  return f32_from_bf16(h);
}

/// The model file: `weights` (canonical name, F32 or BF16 tensor) with their matrices stored as
/// options.matrices, the tokenizer bytes, and report's config and tokenizer options as metadata,
/// written atomically to out_path. Fills report's counts and file size.
inline Status write_model_file(const std::string& out_path,
                               const std::vector<std::pair<std::string, TensorView>>& weights, const TensorView& spiece,
                               const ConvertOptions& options, ConvertReport& report) {
  if (options.matrices != dtype::f32 && options.matrices != dtype::bf16 && options.matrices != dtype::i8)
    return Error(errc::unsupported, std::string("matrices stored as ") + dtype_name(options.matrices) +
                                        " are not supported (F32, BF16 or I8)");
  SafeTensorsWriter writer;
  std::vector<std::uint8_t> bytes;
  std::size_t written = 0;
  for (const auto& entry : weights) {
    const TensorView& t = entry.second;
    if (t.type != dtype::f32 && t.type != dtype::bf16)
      return Error(errc::unsupported, "tensor '" + entry.first + "' is " + dtype_name(t.type) +
                                          ": only F32 and BF16 weights convert (re-convert int8 models from F32)");
    const dtype type = t.shape.size() == 2 ? options.matrices : dtype::f32;
    report.parameters += static_cast<std::size_t>(t.numel());
    ++written;
    if (type == dtype::i8) {
      const std::int64_t rows = t.shape[0], cols = t.shape[1];
      std::vector<float> row(static_cast<std::size_t>(cols));
      std::vector<float> scales(static_cast<std::size_t>(rows));
      bytes.resize(static_cast<std::size_t>(rows * cols));
      for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t c = 0; c < cols; ++c)
          row[static_cast<std::size_t>(c)] = tensor_value(t, static_cast<std::size_t>(r * cols + c));
        quantize_row_i8(row.data(), cols, reinterpret_cast<std::int8_t*>(bytes.data() + r * cols),
                        scales[static_cast<std::size_t>(r)]);
      }
      ALBERTNER_CHECK(writer.add(entry.first, dtype::i8, t.shape, bytes.data(), bytes.size()));
      ALBERTNER_CHECK(writer.add(scale_name(entry.first), dtype::f32, {rows}, scales.data(), scales.size() * 4));
      ++written;
      continue;
    }
    const void* data = t.data;
    std::size_t nbytes = t.nbytes;
    if (type != t.type) {
      const std::size_t n = static_cast<std::size_t>(t.numel());
      bytes.resize(n * dtype_size(type));
      for (std::size_t i = 0; i < n; ++i) {
        const float v = tensor_value(t, i);
        if (type == dtype::bf16) {
          const std::uint16_t h = bf16_from_f32(v);
          std::memcpy(bytes.data() + 2 * i, &h, 2);
        } else std::memcpy(bytes.data() + 4 * i, &v, 4);
      }
      data = bytes.data();
      nbytes = bytes.size();
    }
    ALBERTNER_CHECK(writer.add(entry.first, type, t.shape, data, nbytes)); // copies the bytes
  }
  ALBERTNER_CHECK(writer.add(model_keys::spiece_model, dtype::u8, {static_cast<std::int64_t>(spiece.nbytes)},
                             spiece.data, spiece.nbytes));
  report.tensors_written = written + 1;
  writer.set_metadata(model_keys::format, "albertner");
  writer.set_metadata(model_keys::format_version, std::to_string(kModelFormatVersion));
  writer.set_metadata(model_keys::config, model_config_to_json(report.config).dump());
  writer.set_metadata(model_keys::tokenizer, tokenizer_options_to_json(report.tokenizer).dump());
  if (options.aggregation) report.aggregation = options.aggregation;
  if (report.aggregation) writer.set_metadata(model_keys::aggregation, aggregation_name(*report.aggregation));
  ALBERTNER_CHECK(writer.write(out_path));
  ALBERTNER_TRY(MappedFile written_file, MappedFile::open(out_path));
  report.file_bytes = written_file.size();
  return ok_status();
}

/// options.labels checked against the config and put in place of its names.
inline Status replace_labels(const ConvertOptions& options, ModelConfig& config) {
  if (options.labels.empty()) return ok_status();
  if (static_cast<std::int64_t>(options.labels.size()) != config.num_labels())
    return Error(errc::config, "--labels names " + std::to_string(options.labels.size()) +
                                   " labels but the model has " + std::to_string(config.num_labels()));
  config.labels = options.labels;
  return ok_status();
}
} // namespace detail

/// Re-writes the albertner model file `in_path` as `out_path` with its matrices stored as
/// options.matrices (BF16 -> F32 is exact, F32 -> BF16 rounds) and its labels replaced when
/// options.labels names them; tokenizer and metadata kept. The input is loaded as the Tagger
/// would load it first, so a file that would not run is refused.
inline Result<ConvertReport> convert_model_file(const std::string& in_path, const std::string& out_path,
                                                const ConvertOptions& options = {}) {
  ALBERTNER_TRY(Model model, Model::open(in_path));
  ALBERTNER_CHECK(make_encoder(model));
  ConvertReport report;
  report.config = model.config();
  report.tokenizer = model.tokenizer_options();
  report.weights_path = in_path;
  report.aggregation = model.recommended_aggregation();
  ALBERTNER_CHECK(detail::replace_labels(options, report.config));
  std::vector<std::pair<std::string, TensorView>> weights;
  for (const TensorView& t : model.tensors().tensors())
    if (t.name != model_keys::spiece_model) weights.emplace_back(t.name, t);
  ALBERTNER_CHECK(detail::write_model_file(out_path, weights, model.spiece_model(), options, report));
  return report;
}

/// Converts the Hugging Face folder `hf_dir` (config.json, model.safetensors or
/// pytorch_model.bin, spiece.model, optional tokenizer.json / tokenizer_config.json) into the
/// model file `out_path`, written atomically. Weights holding NaN or infinity are refused
/// (errc::format naming the tensor and the first bad index); nothing is written then.
inline Result<ConvertReport> convert_hf_checkpoint(const std::string& hf_dir, const std::string& out_path,
                                                   const ConvertOptions& options = {}) {
  ConvertReport report;
  const std::string dir = hf_dir.empty() || hf_dir.back() == '/' ? hf_dir : hf_dir + "/";

  // Architecture and labels.
  ALBERTNER_TRY(Json config_json, detail::read_json_file(dir + "config.json"));
  auto config = model_config_from_hf_json(config_json);
  if (!config.ok()) return config.error().with_context(dir + "config.json");
  report.config = std::move(config).value();
  if (!options.labels.empty()) {
    ALBERTNER_CHECK(detail::replace_labels(options, report.config));
  } else {
    for (const std::string& label : report.config.labels)
      if (label.compare(0, 6, "LABEL_") == 0) {
        report.notes.push_back("warning: generic label names (" + label +
                               ", ...) kept; pass --labels conll2003 (or your names) so that B-/I- grouping and "
                               "ignore_labels=O work");
        break;
      }
  }
  ALBERTNER_CHECK(report.config.validate());

  // Tokenizer: options from the HF files, the spiece.model bytes checked by loading them.
  Result<Json> tokenizer_json = Json();
  Result<Json> tokenizer_config = Json();
  if (file_exists(dir + "tokenizer.json")) tokenizer_json = detail::read_json_file(dir + "tokenizer.json");
  if (!tokenizer_json.ok()) return tokenizer_json.error();
  if (file_exists(dir + "tokenizer_config.json"))
    tokenizer_config = detail::read_json_file(dir + "tokenizer_config.json");
  if (!tokenizer_config.ok()) return tokenizer_config.error();
  auto tokenizer_options = tokenizer_options_from_hf(tokenizer_json->is_null() ? nullptr : &*tokenizer_json,
                                                     tokenizer_config->is_null() ? nullptr : &*tokenizer_config);
  if (!tokenizer_options.ok()) return tokenizer_options.error().with_context(dir + "tokenizer.json");
  report.tokenizer = *tokenizer_options;
  if (tokenizer_json->is_null())
    report.notes.push_back(
        "no tokenizer.json: using the Hub albert-base-v2 pre-tokenizer (whitespace split + metaspace)");
  ALBERTNER_TRY(detail::MappedFile spiece, detail::MappedFile::open(dir + "spiece.model"));
  auto tokenizer = Tokenizer::from_spiece_bytes(spiece.data(), spiece.size(), report.tokenizer);
  if (!tokenizer.ok()) return tokenizer.error().with_context(dir + "spiece.model");
  if (tokenizer->vocab_size() > report.config.vocab_size)
    return Error(errc::config, dir + "spiece.model has " + std::to_string(tokenizer->vocab_size()) +
                                   " pieces but config.json vocab_size is " + std::to_string(report.config.vocab_size));

  // Weights: one lookup over whichever file holds them.
  std::string weights = options.weights;
  if (weights.empty()) weights = file_exists(dir + "model.safetensors") ? "model.safetensors" : "pytorch_model.bin";
  report.weights_path = dir + weights;
  Result<SafeTensors> from_safetensors = Error(errc::missing, "unused");
  Result<detail::TorchCheckpoint> from_torch = Error(errc::missing, "unused");
  const bool is_safetensors = weights.size() >= 12 && weights.compare(weights.size() - 12, 12, ".safetensors") == 0;
  if (is_safetensors) from_safetensors = SafeTensors::open(report.weights_path);
  else from_torch = detail::read_torch_bin(report.weights_path);
  if (is_safetensors && !from_safetensors.ok()) return from_safetensors.error();
  if (!is_safetensors && !from_torch.ok()) return from_torch.error();
  const std::vector<TensorView>& source = is_safetensors ? from_safetensors->tensors() : from_torch->tensors;

  // Canonical key → source tensor; F16/BF16/F64 are widened on first use (the encoder computes in F32).
  std::map<std::string, TensorView> views; // node addresses stay valid while `used` points at them
  for (const TensorView& t : source) views[t.name] = t;
  std::vector<std::vector<std::uint8_t>> widened; // owns widened bytes; inner buffers never move
  std::vector<std::pair<std::string, const TensorView*>> used;
  std::set<std::string> used_sources;
  std::vector<Error> lookup_errors;
  auto lookup = [&](const std::string& name) -> const TensorView* {
    for (const std::string& alternative : detail::alternative_names(name)) {
      auto it = views.find(alternative);
      if (it == views.end()) continue;
      TensorView& t = it->second;
      if (t.type == dtype::f16 || t.type == dtype::bf16 || t.type == dtype::f64) {
        auto bytes = detail::widen_to_f32(t);
        if (!bytes.ok()) {
          lookup_errors.push_back(bytes.error());
          return nullptr;
        }
        widened.push_back(std::move(bytes).value());
        report.notes.push_back("widened '" + alternative + "' from " + dtype_name(t.type) + " to F32");
        t.type = dtype::f32;
        t.data = widened.back().data();
        t.nbytes = widened.back().size();
      }
      used_sources.insert(alternative);
      used.emplace_back(name, &t);
      return &t;
    }
    return nullptr;
  };
  // The tensors the schema lists, checked as the encoder will bind them.
  const Status bound = detail::check_weights(lookup, detail::weight_schema(report.config));
  if (!lookup_errors.empty()) return lookup_errors.front();
  if (!bound.ok()) return bound.error().with_context(report.weights_path);

  std::size_t ignored = 0;
  std::string ignored_names;
  for (const TensorView& t : source)
    if (!used_sources.count(t.name)) {
      if (ignored++ < 6) ignored_names += (ignored_names.empty() ? "" : ", ") + t.name;
    }
  if (ignored)
    report.notes.push_back("ignored " + std::to_string(ignored) + " tensor(s) the token classifier does not use: " +
                           ignored_names + (ignored > 6 ? ", ..." : ""));

  std::vector<std::pair<std::string, TensorView>> tensors;
  std::set<std::string> written;
  for (const auto& entry : used) {
    if (!written.insert(entry.first).second) continue;
    ALBERTNER_CHECK(detail::check_finite_f32(*entry.second, entry.first));
    tensors.emplace_back(entry.first, *entry.second);
  }
  const TensorView spiece_bytes{
      model_keys::spiece_model, dtype::u8, {static_cast<std::int64_t>(spiece.size())}, spiece.data(), spiece.size()};
  ALBERTNER_CHECK(detail::write_model_file(out_path, tensors, spiece_bytes, options, report));
  return report;
}

} // namespace albertner

// Small synthetic models built in memory: every weight an ALBERT token classifier of a given
// ModelConfig needs (Hugging Face state_dict names, deterministic values), as a Hugging Face
// model.safetensors or as an albertner model file, plus a hand-made spiece.model of a few pieces.
// Used by tests/test_bad_inputs.cpp, the fuzz seed generator and the embedded example's converter.
// Needs no doctest and no exceptions.
#pragma once

#include <albertner/io/safetensors.hpp>
#include <albertner/model/config.hpp>
#include <albertner/model/model.hpp>
#include <albertner/model/weight_schema.hpp>
#include <albertner/tooling/safetensors_writer.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace albertner_test {

struct SyntheticTensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

/// Every tensor Encoder::create binds for `c` (the weight schema), in binding order.
/// Weights are uniform in [-0.5, 0.5] / sqrt(fan-in) from a fixed LCG seeded with `seed`;
/// LayerNorm gamma 1, beta 0.
inline std::vector<SyntheticTensor> synthetic_weights(const albertner::ModelConfig& c, std::uint32_t seed = 1) {
  using albertner::detail::WeightRole;
  using albertner::detail::WeightSpec;
  std::uint32_t state = seed * 2654435761u + 1u;
  auto next = [&state]() {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / static_cast<float>(1u << 24) - 0.5f;
  };
  std::vector<SyntheticTensor> out;
  auto random = [&](const WeightSpec& w, float scale) {
    std::int64_t n = 1;
    for (std::int64_t d : w.shape) n *= d;
    SyntheticTensor t{w.name, w.shape, std::vector<float>(static_cast<std::size_t>(n))};
    for (float& v : t.values) v = next() * scale;
    out.push_back(std::move(t));
  };
  auto constant = [&](const WeightSpec& w, float value) {
    out.push_back(SyntheticTensor{w.name, w.shape, std::vector<float>(static_cast<std::size_t>(w.shape[0]), value)});
  };
  const albertner::detail::WeightSchema schema = albertner::detail::weight_schema(c);
  schema.for_each([&](const WeightSpec& w) {
    switch (w.role) {
    case WeightRole::embedding: random(w, w.name == schema.word_embeddings.name ? 1.0f : 0.5f); break;
    case WeightRole::linear_weight: {
      const std::int64_t cols = w.shape[1];
      random(w, 2.0f / static_cast<float>(cols > 0 ? cols : 1));
      break;
    }
    case WeightRole::linear_bias: random(w, 0.04f); break;
    case WeightRole::norm_gamma: constant(w, 1.0f); break;
    case WeightRole::norm_beta: constant(w, 0.0f); break;
    case WeightRole::row_scales: break; // not in the schema: F32 models have none
    }
  });
  return out;
}

/// A writer holding `tensors` as F32.
inline albertner::Result<albertner::SafeTensorsWriter> synthetic_writer(const std::vector<SyntheticTensor>& tensors) {
  albertner::SafeTensorsWriter w;
  for (const SyntheticTensor& t : tensors)
    ALBERTNER_CHECK(w.add(t.name, albertner::dtype::f32, t.shape, t.values.data(), t.values.size() * sizeof(float)));
  return w;
}

/// An albertner model file image (what `albertner convert` writes) for `c`, holding `spiece` as
/// its tokenizer.
inline albertner::Result<std::vector<std::uint8_t>> synthetic_model_file(
    const albertner::ModelConfig& c, const std::string& spiece, const albertner::TokenizerOptions& tokenizer = {},
    std::uint32_t seed = 1) {
  ALBERTNER_TRY(albertner::SafeTensorsWriter w, synthetic_writer(synthetic_weights(c, seed)));
  ALBERTNER_CHECK(w.add(albertner::model_keys::spiece_model, albertner::dtype::u8,
                        {static_cast<std::int64_t>(spiece.size())}, spiece.data(), spiece.size()));
  w.set_metadata(albertner::model_keys::format, "albertner");
  w.set_metadata(albertner::model_keys::format_version, std::to_string(albertner::kModelFormatVersion));
  w.set_metadata(albertner::model_keys::config, albertner::model_config_to_json(c).dump());
  w.set_metadata(albertner::model_keys::tokenizer, albertner::tokenizer_options_to_json(tokenizer).dump());
  return w.to_bytes();
}

/// A small valid config: 2 layers of hidden 8, CoNLL's 9 labels, `vocab` word embeddings.
inline albertner::ModelConfig small_config(std::int64_t vocab = 32) {
  albertner::ModelConfig c;
  c.vocab_size = vocab;
  c.embedding_size = 4;
  c.hidden_size = 8;
  c.num_attention_heads = 2;
  c.intermediate_size = 6;
  c.num_hidden_layers = 2;
  c.max_position_embeddings = 16;
  c.labels = {"O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"};
  return c;
}

namespace spiece_detail {
inline void varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
inline void bytes_field(std::string& out, int field, const std::string& payload) {
  varint(out, static_cast<std::uint64_t>(field) << 3 | 2);
  varint(out, payload.size());
  out += payload;
}
} // namespace spiece_detail

/// A serialized sentencepiece ModelProto (Unigram, no normalizer rules) with the pieces albertner's
/// tokenizer requires (<pad>, <unk>, [CLS], [SEP], [MASK]) and a few letters and words.
/// 22 pieces: ids 0..21.
inline std::string handmade_spiece() {
  using namespace spiece_detail;
  struct P {
    const char* piece;
    int type; // NORMAL 1, UNKNOWN 2, CONTROL 3, USER_DEFINED 4
  };
  static const P pieces[] = {{"<pad>", 3}, {"<unk>", 2}, {"[CLS]", 3}, {"[SEP]", 3}, {"[MASK]", 3},
                             {"\xE2\x96\x81", 1}, {"\xE2\x96\x81the", 1}, {"\xE2\x96\x81paris", 1},
                             {"\xE2\x96\x81john", 1}, {"a", 1}, {"b", 1}, {"c", 1}, {"e", 1}, {"h", 1},
                             {"i", 1}, {"n", 1}, {"o", 1}, {"r", 1}, {"s", 1}, {"t", 1}, {"1", 1}, {",", 1}};
  std::string model;
  float score = -1.0f;
  for (const P& p : pieces) {
    std::string m;
    bytes_field(m, 1, p.piece);
    m.push_back(0x15); // field 2, fixed32: score
    char s[4];
    std::memcpy(s, &score, 4);
    m.append(s, 4);
    m.push_back(0x18); // field 3, varint: type
    varint(m, static_cast<std::uint64_t>(p.type));
    bytes_field(model, 1, m);
    score -= 0.5f;
  }
  std::string trainer;
  trainer.push_back(0x18); // TrainerSpec.model_type = UNIGRAM
  trainer.push_back(0x01);
  bytes_field(model, 2, trainer);
  return model;
}

} // namespace albertner_test

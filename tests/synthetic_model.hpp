// Small synthetic models built in memory: every weight an ALBERT token classifier of a given
// ModelConfig needs (Hugging Face state_dict names, deterministic values), as a Hugging Face
// model.safetensors or as an albertner model file, plus a hand-made spiece.model of a few pieces.
// Used by tests/test_bad_inputs.cpp, the fuzz seed generator and the embedded example's converter.
// Needs no doctest and no exceptions.
#pragma once

#include <albertner/model/config.hpp>
#include <albertner/model/model.hpp>
#include <albertner/io/safetensors.hpp>
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

/// Every tensor Encoder<float>::create binds for `c`, in binding order. Weights are uniform in
/// [-0.5, 0.5] / sqrt(fan-in) from a fixed LCG seeded with `seed`; LayerNorm gamma 1, beta 0.
inline std::vector<SyntheticTensor> synthetic_weights(const albertner::ModelConfig& c, std::uint32_t seed = 1) {
  std::uint32_t state = seed * 2654435761u + 1u;
  auto next = [&state]() {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / static_cast<float>(1u << 24) - 0.5f;
  };
  std::vector<SyntheticTensor> out;
  auto random = [&](const std::string& name, std::vector<std::int64_t> shape, float scale) {
    std::int64_t n = 1;
    for (std::int64_t d : shape) n *= d;
    SyntheticTensor t{name, std::move(shape), std::vector<float>(static_cast<std::size_t>(n))};
    for (float& v : t.values) v = next() * scale;
    out.push_back(std::move(t));
  };
  auto constant = [&](const std::string& name, std::int64_t n, float value) {
    out.push_back(SyntheticTensor{name, {n}, std::vector<float>(static_cast<std::size_t>(n), value)});
  };
  auto dense = [&](const std::string& prefix, std::int64_t rows, std::int64_t cols) {
    random(prefix + ".weight", {rows, cols}, 2.0f / static_cast<float>(cols > 0 ? cols : 1));
    random(prefix + ".bias", {rows}, 0.04f);
  };
  auto norm = [&](const std::string& prefix, std::int64_t n) {
    constant(prefix + ".weight", n, 1.0f);
    constant(prefix + ".bias", n, 0.0f);
  };
  const std::int64_t E = c.embedding_size, H = c.hidden_size, I = c.intermediate_size;
  random("albert.embeddings.word_embeddings.weight", {c.vocab_size, E}, 1.0f);
  random("albert.embeddings.position_embeddings.weight", {c.max_position_embeddings, E}, 0.5f);
  random("albert.embeddings.token_type_embeddings.weight", {c.type_vocab_size, E}, 0.5f);
  norm("albert.embeddings.LayerNorm", E);
  dense("albert.encoder.embedding_hidden_mapping_in", H, E);
  for (std::int64_t g = 0; g < c.num_hidden_groups; ++g)
    for (std::int64_t i = 0; i < c.inner_group_num; ++i) {
      const std::string p =
          "albert.encoder.albert_layer_groups." + std::to_string(g) + ".albert_layers." + std::to_string(i) + ".";
      for (const char* n : {"attention.query", "attention.key", "attention.value", "attention.dense"}) dense(p + n, H, H);
      norm(p + "attention.LayerNorm", H);
      dense(p + "ffn", I, H);
      dense(p + "ffn_output", H, I);
      norm(p + "full_layer_layer_norm", H);
    }
  dense("classifier", c.num_labels(), H);
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

// The weights of an ALBERT token classifier (Hugging Face's AlbertForTokenClassification) for a
// ModelConfig: every tensor's state_dict name, its shape and its role. The one place those names
// are spelled: the encoder binds through it, the converter keeps what it lists, the tests build
// their synthetic models from it.
#pragma once

#include "../io/tensor.hpp"
#include "config.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace albertner {
namespace detail {

/// What a tensor is to the encoder; it decides the dtypes the tensor may have in a model file.
enum class WeightRole {
  embedding,     ///< a lookup table [rows, embedding_size]: a matrix
  linear_weight, ///< a Linear layer's weight [out, in]: a matrix
  linear_bias,   ///< a Linear layer's bias [out]: F32
  norm_gamma,    ///< a LayerNorm's scale [dim]: F32
  norm_beta,     ///< a LayerNorm's shift [dim]: F32
  row_scales,    ///< the F32 scale of each row [rows] of an I8 matrix (row r = int8 values * scale[r])
};

/// Whether tensors of `role` are matrices: stored F32, BF16, or I8 with their row scales beside
/// them (row_scales_of). Every other tensor is F32.
constexpr bool is_matrix(WeightRole role) noexcept {
  return role == WeightRole::embedding || role == WeightRole::linear_weight;
}

/// Whether a tensor of `role` may be stored as `type`.
constexpr bool dtype_allowed(WeightRole role, dtype type) noexcept {
  return type == dtype::f32 || (is_matrix(role) && (type == dtype::bf16 || type == dtype::i8));
}

/// The dtypes a tensor of `role` may have, as error messages name them.
constexpr const char* allowed_dtypes(WeightRole role) noexcept { return is_matrix(role) ? "F32, BF16 or I8" : "F32"; }

/// One tensor of the model.
struct WeightSpec {
  std::string name;                ///< the Hugging Face state_dict key, as the model file stores it
  std::vector<std::int64_t> shape; ///< exactly what the config implies
  WeightRole role = WeightRole::linear_bias;
};

/// Name of the per-row scales of the I8 matrix `matrix`.
inline std::string scale_name(const std::string& matrix) { return matrix + "_scale"; }

/// The row scales [rows] (F32) that the I8 matrix `matrix` needs, and needs only when it is I8.
inline WeightSpec row_scales_of(const WeightSpec& matrix) {
  return WeightSpec{scale_name(matrix.name), {matrix.shape.empty() ? 0 : matrix.shape[0]}, WeightRole::row_scales};
}

struct LinearSpec {
  WeightSpec weight, bias; ///< [out, in] and [out]
};
struct NormSpec {
  WeightSpec gamma, beta; ///< `<prefix>.weight` and `<prefix>.bias`, both [dim]
};
/// One inner layer of a layer group.
struct LayerSpec {
  LinearSpec query, key, value, dense;
  NormSpec attention_norm;
  LinearSpec ffn, ffn_output;
  NormSpec output_norm;
};

/// Every tensor an ALBERT token classifier of one config has, all of them required: the model
/// has no optional weight. The only tensors a file may hold beyond these are the row scales of
/// its I8 matrices (row_scales_of), required exactly when their matrix is I8. What a Hugging Face
/// checkpoint holds besides (`albert.embeddings.position_ids`, a pooler) the token classifier does
/// not use.
struct WeightSchema {
  WeightSpec word_embeddings;                 ///< [vocab_size, E]
  WeightSpec position_embeddings;             ///< [max_position_embeddings, E]
  WeightSpec token_type_embeddings;           ///< [type_vocab_size, E]
  NormSpec embedding_norm;                    ///< [E]
  LinearSpec projection;                      ///< embedding_hidden_mapping_in: E -> H
  std::vector<std::vector<LayerSpec>> groups; ///< [num_hidden_groups][inner_group_num]
  LinearSpec classifier;                      ///< H -> num_labels

  /// Calls `f(const WeightSpec&)` on every tensor, in the order the encoder binds them: the
  /// embeddings, their LayerNorm, the projection, each group's inner layers, the classifier
  /// (a Linear's weight before its bias, a LayerNorm's gamma before its beta).
  template <class F>
  void for_each(F&& f) const {
    auto linear = [&](const LinearSpec& l) {
      f(l.weight);
      f(l.bias);
    };
    auto norm = [&](const NormSpec& n) {
      f(n.gamma);
      f(n.beta);
    };
    f(word_embeddings);
    f(position_embeddings);
    f(token_type_embeddings);
    norm(embedding_norm);
    linear(projection);
    for (const std::vector<LayerSpec>& group : groups)
      for (const LayerSpec& l : group) {
        for (const LinearSpec* d : {&l.query, &l.key, &l.value, &l.dense}) linear(*d);
        norm(l.attention_norm);
        linear(l.ffn);
        linear(l.ffn_output);
        norm(l.output_norm);
      }
    linear(classifier);
  }

  /// Every tensor, in for_each's order.
  std::vector<WeightSpec> tensors() const {
    std::vector<WeightSpec> all;
    for_each([&](const WeightSpec& w) { all.push_back(w); });
    return all;
  }
};

/// The schema of `c`, whose sizes are taken as they are: validate the config first (a negative
/// size gives a negative dimension, a negative count no group).
inline WeightSchema weight_schema(const ModelConfig& c) {
  const std::int64_t E = c.embedding_size, H = c.hidden_size, I = c.intermediate_size;
  auto linear = [](const std::string& prefix, std::int64_t out, std::int64_t in) {
    return LinearSpec{{prefix + ".weight", {out, in}, WeightRole::linear_weight},
                      {prefix + ".bias", {out}, WeightRole::linear_bias}};
  };
  auto norm = [](const std::string& prefix, std::int64_t dim) {
    return NormSpec{{prefix + ".weight", {dim}, WeightRole::norm_gamma},
                    {prefix + ".bias", {dim}, WeightRole::norm_beta}};
  };
  const std::string embeddings = "albert.embeddings.";
  WeightSchema s;
  s.word_embeddings = {embeddings + "word_embeddings.weight", {c.vocab_size, E}, WeightRole::embedding};
  s.position_embeddings = {
      embeddings + "position_embeddings.weight", {c.max_position_embeddings, E}, WeightRole::embedding};
  s.token_type_embeddings = {
      embeddings + "token_type_embeddings.weight", {c.type_vocab_size, E}, WeightRole::embedding};
  s.embedding_norm = norm(embeddings + "LayerNorm", E);
  s.projection = linear("albert.encoder.embedding_hidden_mapping_in", H, E);
  for (std::int64_t g = 0; g < c.num_hidden_groups; ++g) {
    std::vector<LayerSpec> group;
    for (std::int64_t i = 0; i < c.inner_group_num; ++i) {
      const std::string p =
          "albert.encoder.albert_layer_groups." + std::to_string(g) + ".albert_layers." + std::to_string(i) + ".";
      LayerSpec l;
      l.query = linear(p + "attention.query", H, H);
      l.key = linear(p + "attention.key", H, H);
      l.value = linear(p + "attention.value", H, H);
      l.dense = linear(p + "attention.dense", H, H);
      l.attention_norm = norm(p + "attention.LayerNorm", H);
      l.ffn = linear(p + "ffn", I, H);
      l.ffn_output = linear(p + "ffn_output", H, I);
      l.output_norm = norm(p + "full_layer_layer_norm", H);
      group.push_back(std::move(l));
    }
    s.groups.push_back(std::move(group));
  }
  s.classifier = linear("classifier", c.num_labels(), H);
  return s;
}

} // namespace detail
} // namespace albertner

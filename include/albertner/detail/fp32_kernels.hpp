// fp32 building blocks of the encoder: Linear layers and multi-head self-attention over
// row-major [tokens, features] activations, with Eigen doing the matrix products.
#pragma once

#include <Eigen/Core>

#include <cmath>
#include <cstdint>

namespace albertner {
namespace detail {

using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
// Weights come from file mappings that only guarantee float alignment: every map is unaligned.
using MatrixMapF = Eigen::Map<RowMatrixF, Eigen::Unaligned>;
using ConstMatrixMapF = Eigen::Map<const RowMatrixF, Eigen::Unaligned>;
using ConstRowVectorMapF = Eigen::Map<const Eigen::RowVectorXf, Eigen::Unaligned>;
using StridedMatrixMapF = Eigen::Map<RowMatrixF, Eigen::Unaligned, Eigen::OuterStride<>>;
using ConstStridedMatrixMapF = Eigen::Map<const RowMatrixF, Eigen::Unaligned, Eigen::OuterStride<>>;

/// A torch.nn.Linear: weight [out, in] row-major, bias [out]; not owned.
struct DenseF32 {
  const float* weight = nullptr;
  const float* bias = nullptr;
  std::int64_t out = 0;
  std::int64_t in = 0;
};

/// A torch.nn.LayerNorm's gamma and beta [dim]; not owned.
struct NormF32 {
  const float* gamma = nullptr;
  const float* beta = nullptr;
};

/// y[rows, out] = x[rows, in] * W^T + b.
inline void linear(const DenseF32& d, const float* x, std::int64_t rows, float* y) {
  MatrixMapF out(y, rows, d.out);
  out.noalias() = ConstMatrixMapF(x, rows, d.in) * ConstMatrixMapF(d.weight, d.out, d.in).transpose();
  out.rowwise() += ConstRowVectorMapF(d.bias, d.out);
}

/// Scaled dot-product attention of every head of every sequence. q, k, v and ctx are
/// [batch * seq_len, heads * head_dim] with the head as the major part of a row (Hugging
/// Face's view/permute). key_bias [batch * seq_len] is added to the scores of each key
/// (0 or -FLT_MAX, HF's additive mask); scores is scratch of seq_len * seq_len floats.
inline void self_attention(const float* q, const float* k, const float* v, const float* key_bias, std::int64_t batch,
                           std::int64_t seq_len, std::int64_t heads, std::int64_t head_dim, float* ctx, float* scores) {
  const std::int64_t width = heads * head_dim;
  // HF divides by math.sqrt(head_dim), a double that torch rounds to float.
  const float divisor = static_cast<float>(std::sqrt(static_cast<double>(head_dim)));
  const Eigen::OuterStride<> stride(width);
  MatrixMapF s(scores, seq_len, seq_len);
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t row0 = b * seq_len * width;
    const ConstRowVectorMapF bias(key_bias + b * seq_len, seq_len);
    for (std::int64_t h = 0; h < heads; ++h) {
      const std::int64_t offset = row0 + h * head_dim;
      ConstStridedMatrixMapF qh(q + offset, seq_len, head_dim, stride);
      ConstStridedMatrixMapF kh(k + offset, seq_len, head_dim, stride);
      ConstStridedMatrixMapF vh(v + offset, seq_len, head_dim, stride);
      s.noalias() = qh * kh.transpose();
      s /= divisor;
      s.rowwise() += bias;
      for (std::int64_t r = 0; r < seq_len; ++r) {
        auto row = s.row(r).array();
        row = (row - row.maxCoeff()).exp();
        row /= row.sum();
      }
      StridedMatrixMapF(ctx + offset, seq_len, head_dim, stride).noalias() = s * vh;
    }
  }
}

} // namespace detail
} // namespace albertner

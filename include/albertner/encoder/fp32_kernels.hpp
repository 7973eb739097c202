// fp32 building blocks of the encoder: the matrix product with its epilogue, softmax rows and
// multi-head self-attention over row-major [tokens, features] activations. Each entry point runs
// the vectorized kernel of the instruction set the CPU has (isa.hpp; AVX-512, AVX2 or
// NEON, all from the one source kernels/ops.hpp), else the portable Eigen code; int8 products run
// on the int8 kernel the CPU has (AVX-512 VNNI, AVX-VNNI, AVX2, NEON with or without SDOT, or a loop).
#pragma once

#include "activations.hpp"
#include "isa.hpp"
#include "kernels/simd.hpp"
#include "matmul_f32.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace albertner {
namespace detail {

using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
// Weights come from file mappings that only guarantee float alignment: every map is unaligned.
using ConstRowVectorMapF = Eigen::Map<const Eigen::RowVectorXf, Eigen::Unaligned>;
using StridedMatrixMapF = Eigen::Map<RowMatrixF, Eigen::Unaligned, Eigen::OuterStride<>>;
using ConstStridedMatrixMapF = Eigen::Map<const RowMatrixF, Eigen::Unaligned, Eigen::OuterStride<>>;
using ConstGeneralMatrixMapF =
    Eigen::Map<const RowMatrixF, Eigen::Unaligned, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;

/// A torch.nn.Linear: weight [out, in] row-major, bias [out]; not owned. The file holds the weight
/// as `weight` (F32), `weight_bf16` (BF16) or `weight_i8` with `weight_scale` [out] (int8). Made
/// once at load: `packed`, the weight in pack_panels' layout where the AVX-512 kernel runs;
/// `packed_bf16` instead for a BF16 weight where BF16 dot products run; `weight` widened from
/// `weight_bf16` for the portable kernel; `packed_i8` and `colsum` for an int8 weight where a vectorized int8 kernel
/// runs.
struct DenseF32 {
  const float* weight = nullptr;
  const std::uint16_t* weight_bf16 = nullptr;
  const std::int8_t* weight_i8 = nullptr;
  const float* weight_scale = nullptr;
  const std::int8_t* packed_i8 = nullptr;
  const std::int32_t* colsum = nullptr;
  const float* bias = nullptr;
  const float* packed = nullptr;
  const std::uint16_t* packed_bf16 = nullptr;
  std::int64_t out = 0;
  std::int64_t in = 0;
};

/// A torch.nn.LayerNorm's gamma and beta [dim]; not owned.
struct NormF32 {
  const float* gamma = nullptr;
  const float* beta = nullptr;
};

/// Columns [n_begin, n_end) of m: the epilogue on c, which holds the products.
inline void portable_epilogue(const MatmulF32& m, std::int64_t n_begin, std::int64_t n_end) {
  const std::int64_t n = n_end - n_begin;
  StridedMatrixMapF c(m.c + n_begin, m.rows, n, Eigen::OuterStride<>(m.ldc));
  if (m.divisor != 1.0f) c /= m.divisor;
  if (m.bias) c.rowwise() += ConstRowVectorMapF(m.bias + n_begin, n);
  if (m.fused_act)
    for (std::int64_t r = 0; r < m.rows; ++r) apply_activation(m.act, &c(r, 0), static_cast<std::size_t>(n));
  if (m.residual) c += ConstStridedMatrixMapF(m.residual + n_begin, m.rows, n, Eigen::OuterStride<>(m.ldr));
}

/// Columns [n_begin, n_end) of m with Eigen.
inline void matmul_portable(const MatmulF32& m, std::int64_t n_begin, std::int64_t n_end) {
  const std::int64_t n = n_end - n_begin;
  StridedMatrixMapF c(m.c + n_begin, m.rows, n, Eigen::OuterStride<>(m.ldc));
  c.noalias() = ConstStridedMatrixMapF(m.a, m.rows, m.depth, Eigen::OuterStride<>(m.lda)) *
                ConstGeneralMatrixMapF(m.w + n_begin * m.ldw, n, m.depth,
                                       Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(m.ldw, m.wk))
                    .transpose();
  portable_epilogue(m, n_begin, n_end);
}

/// Columns [n_begin, n_end) of an int8 product (m.w_i8, m.a_u8) with plain loops: the same int32
/// sums and the same float steps as the vectorized int8 kernels.
inline void matmul_portable_int8(const MatmulF32& m, std::int64_t n_begin, std::int64_t n_end) {
  for (std::int64_t r = 0; r < m.rows; ++r) {
    const std::uint8_t* a = m.a_u8 + r * m.lda_u8;
    for (std::int64_t n = n_begin; n < n_end; ++n) {
      const std::int8_t* w = m.w_i8 + n * m.ldw;
      std::int32_t sum = 0;
      for (std::int64_t k = 0; k < m.depth; ++k) sum += (std::int32_t(a[k]) - 128) * std::int32_t(w[k]);
      m.c[r * m.ldc + n] = static_cast<float>(sum) * (m.w_scale[n] * m.a_scale[r]);
    }
  }
  portable_epilogue(m, n_begin, n_end);
}

/// Columns [n_begin, n_end) of m (see MatmulF32); several calls may split one product between
/// threads at multiples of kPanelWidth.
inline void matmul(const MatmulF32& m, std::int64_t n_begin, std::int64_t n_end) {
  [[maybe_unused]] const std::int64_t p_begin = n_begin / kPanelWidth, p_end = (n_end + kPanelWidth - 1) / kPanelWidth;
  if (m.packed_i8) {
    switch (active_int8_kernel()) {
#if ALBERTNER_X86_KERNELS
    case Int8Kernel::avx512_vnni: return avx512::matmul_int8(m, p_begin, p_end);
    case Int8Kernel::avx_vnni: return avx_vnni::matmul_int8(m, p_begin, p_end);
    case Int8Kernel::avx2: return avx2::matmul_int8(m, p_begin, p_end);
#endif
#if ALBERTNER_NEON_KERNELS
    case Int8Kernel::neon_dotprod: return neon_dot::matmul_int8(m, p_begin, p_end);
    case Int8Kernel::neon: return neon::matmul_int8(m, p_begin, p_end);
#endif
    default: break; // packed only where a kernel above runs
    }
  }
#if ALBERTNER_X86_KERNELS
  if (m.packed_bf16) return avx512::matmul_bf16(m, p_begin, p_end);
#endif
  if (m.packed) {
    switch (active_kernel_isa()) {
#if ALBERTNER_X86_KERNELS
    case KernelIsa::avx512_bf16:
    case KernelIsa::avx512: return avx512::matmul_f32(m, p_begin, p_end);
    case KernelIsa::avx2: return avx2::matmul_f32(m, p_begin, p_end);
#endif
#if ALBERTNER_NEON_KERNELS
    case KernelIsa::neon: return neon::matmul_f32(m, p_begin, p_end);
#endif
    default: break;
    }
  }
  if (m.w_i8) return matmul_portable_int8(m, n_begin, n_end);
  matmul_portable(m, n_begin, n_end);
}

inline void matmul(const MatmulF32& m) { matmul(m, 0, m.cols); }

/// The left-hand side of a product with packed_bf16 weights: `rows` rows of a ([rows, cols],
/// leading dimension lda) rounded to bf16 into out ([rows, ld], ld = cols rounded up to even,
/// zero-padded). Such weights exist only where the BF16 kernel runs.
inline void round_rows_bf16(const float* a, std::int64_t rows, std::int64_t cols, std::int64_t lda, std::uint16_t* out,
                            std::int64_t ld) {
#if ALBERTNER_X86_KERNELS
  VecAvx512::round_rows_bf16(a, rows, cols, lda, out, ld);
#else
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < ld; ++c) out[r * ld + c] = c < cols ? bf16_from_f32(a[r * lda + c]) : 0;
#endif
}

/// The left-hand side of an int8 product: each of `rows` rows of a ([rows, cols], leading
/// dimension lda) scaled so that its largest magnitude is 127 (scales[r] = that magnitude / 127,
/// 0 for a zero row), rounded to nearest, plus 128, into out ([rows, ld], ld >= cols, the rest
/// 128, i.e. 0). Non-finite values count as 0, and so does 0 times an infinite inverse (a row of
/// magnitudes below about 4e-37), as in the vector kernels.
inline void quantize_rows_u8_portable(const float* a, std::int64_t rows, std::int64_t cols, std::int64_t lda,
                                      std::uint8_t* out, std::int64_t ld, float* scales) {
  for (std::int64_t r = 0; r < rows; ++r, a += lda, out += ld) {
    float top = 0.0f;
    for (std::int64_t c = 0; c < cols; ++c)
      if (std::isfinite(a[c])) top = std::max(top, std::fabs(a[c]));
    scales[r] = top / 127.0f;
    const float inverse = top > 0.0f ? 127.0f / top : 0.0f;
    for (std::int64_t c = 0; c < ld; ++c) {
      float v = c < cols && std::isfinite(a[c]) ? std::nearbyint(a[c] * inverse) : 0.0f;
      if (std::isnan(v)) v = 0.0f;
      v = std::min(127.0f, std::max(-127.0f, v));
      out[c] = static_cast<std::uint8_t>(static_cast<int>(v) + 128);
    }
  }
}

/// quantize_rows_u8_portable, vectorized where a vectorized kernel runs (the same bytes).
inline void quantize_rows_u8(const float* a, std::int64_t rows, std::int64_t cols, std::int64_t lda, std::uint8_t* out,
                             std::int64_t ld, float* scales) {
  switch (active_kernel_isa()) {
#if ALBERTNER_X86_KERNELS
  case KernelIsa::avx512_bf16:
  case KernelIsa::avx512: return avx512::quantize_rows_u8(a, rows, cols, lda, out, ld, scales);
  case KernelIsa::avx2: return avx2::quantize_rows_u8(a, rows, cols, lda, out, ld, scales);
#endif
#if ALBERTNER_NEON_KERNELS
  case KernelIsa::neon: return neon::quantize_rows_u8(a, rows, cols, lda, out, ld, scales);
#endif
  default: break;
  }
  quantize_rows_u8_portable(a, rows, cols, lda, out, ld, scales);
}

/// Packs m's w into `scratch` (packed_size(cols, depth) floats) when the packed kernel runs:
/// for right-hand sides that change with every call, such as one head's keys.
inline void pack_operand(MatmulF32& m, float* scratch) {
  if (!packed_kernels()) return;
  pack_panels(m.w, m.ldw, m.wk, m.cols, m.depth, scratch);
  m.packed = scratch;
}

/// The product y[rows, out] = x[rows, in] * W^T + b, then `act` when given, then + residual
/// [rows, out].
inline MatmulF32 linear_product(const DenseF32& d, const float* x, std::int64_t rows, float* y,
                                const activation* act = nullptr, const float* residual = nullptr) {
  MatmulF32 m;
  m.a = x;
  m.lda = d.in;
  m.w = d.weight;
  m.ldw = d.in;
  m.packed = d.packed;
  m.packed_bf16 = d.packed_bf16;
  m.w_i8 = d.weight_i8;
  m.packed_i8 = d.packed_i8;
  m.w_colsum = d.colsum;
  m.w_scale = d.weight_scale;
  m.c = y;
  m.ldc = d.out;
  m.rows = rows;
  m.cols = d.out;
  m.depth = d.in;
  m.bias = d.bias;
  if (act) {
    m.fused_act = true;
    m.act = *act;
  }
  m.residual = residual;
  m.ldr = d.out;
  return m;
}

/// Columns [first, second) of `cols` for part `part` of `parts`: whole pairs of panels, the unit
/// the AVX-512 kernel works in, shared out as evenly as they go.
inline std::pair<std::int64_t, std::int64_t> column_share(std::int64_t cols, std::size_t part, std::size_t parts) {
  const std::int64_t unit = 2 * kPanelWidth, units = (cols + unit - 1) / unit;
  const std::int64_t p = static_cast<std::int64_t>(part), n = static_cast<std::int64_t>(parts);
  const std::int64_t first = units * p / n * unit, second = units * (p + 1) / n * unit;
  return {first < cols ? first : cols, second < cols ? second : cols};
}

/// Each row of x ([rows, cols], leading dimension ld) becomes exp(v - max) / sum, as torch's softmax.
inline void softmax_rows(float* x, std::int64_t rows, std::int64_t cols, std::int64_t ld) {
  switch (active_kernel_isa()) {
#if ALBERTNER_X86_KERNELS
  case KernelIsa::avx512_bf16:
  case KernelIsa::avx512: return avx512::softmax_rows(x, rows, cols, ld);
  case KernelIsa::avx2: return avx2::softmax_rows(x, rows, cols, ld);
#endif
#if ALBERTNER_NEON_KERNELS
  case KernelIsa::neon: return neon::softmax_rows(x, rows, cols, ld);
#endif
  default: break;
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    Eigen::Map<Eigen::ArrayXf> row(x + r * ld, cols);
    row = (row - row.maxCoeff()).exp();
    row /= row.sum();
  }
}

/// Queries whose scores self_attention computes at a time: few enough that the scores, one
/// head's packed keys and values stay in L2 together (48 x 512 floats is 96 KiB), and a multiple
/// of the kernels' tile heights (6 and 8 rows).
constexpr std::int64_t kQueryBlock = 48;

/// Floats of scratch that self_attention needs for the scores of one block of queries.
inline std::int64_t attention_scores_size(std::int64_t seq_len) {
  return (seq_len < kQueryBlock ? seq_len : kQueryBlock) * seq_len;
}

/// Floats of scratch that self_attention needs for one head's packed keys and values.
inline std::int64_t attention_scratch_size(std::int64_t seq_len, std::int64_t head_dim) {
  return packed_size(seq_len, head_dim) + packed_size(head_dim, seq_len);
}

/// Scaled dot-product attention of every head of every sequence. q, k, v and ctx are
/// [batch * seq_len, heads * head_dim] with the head as the major part of a row (Hugging
/// Face's view/permute). key_bias [batch * seq_len] is added to the scores of each key
/// (0 or -FLT_MAX, HF's additive mask). Scratch: scores attention_scores_size floats, operands
/// attention_scratch_size floats. `lengths` (nullable): only the first lengths[b] positions of
/// sequence b are computed, as queries and as keys. Runs the (sequence, head) pairs first,
/// first + step, ... so that threads can share the work, each with its own scratch. Each head's
/// queries go in blocks of kQueryBlock through scores, softmax and context, so that the scores
/// never leave L2; every row is computed as without blocks, to the bit.
inline void self_attention(const float* q, const float* k, const float* v, const float* key_bias, std::int64_t batch,
                           std::int64_t seq_len, std::int64_t heads, std::int64_t head_dim, float* ctx, float* scores,
                           float* operands, const std::int64_t* lengths = nullptr, std::int64_t first = 0,
                           std::int64_t step = 1) {
  const std::int64_t width = heads * head_dim;
  MatmulF32 qk; // scores[query, key] = q . k over one head's features
  qk.lda = qk.ldw = width;
  qk.c = scores;
  qk.depth = head_dim;
  // HF divides by math.sqrt(head_dim), a double that torch rounds to float.
  qk.divisor = static_cast<float>(std::sqrt(static_cast<double>(head_dim)));
  MatmulF32 pv; // ctx[query, feature] = sum over keys of scores[query, key] * v[key, feature]
  pv.a = scores;
  pv.ldw = 1;
  pv.wk = width;
  pv.ldc = width;
  pv.cols = head_dim;
  float* const keys = operands;
  float* const values = operands + packed_size(seq_len, head_dim);
  for (std::int64_t pair = first; pair < batch * heads; pair += step) {
    const std::int64_t b = pair / heads, h = pair % heads;
    const std::int64_t offset = b * seq_len * width + h * head_dim;
    const std::int64_t n = lengths ? lengths[b] : seq_len;
    if (n == 0) continue;
    qk.ldc = qk.cols = n;
    pv.lda = pv.depth = n;
    qk.bias = key_bias + b * seq_len;
    qk.w = k + offset;
    pack_operand(qk, keys);
    pv.w = v + offset;
    pack_operand(pv, values);
    for (std::int64_t r0 = 0; r0 < n; r0 += kQueryBlock) {
      const std::int64_t rows = n - r0 < kQueryBlock ? n - r0 : kQueryBlock;
      qk.a = q + offset + r0 * width;
      qk.rows = rows;
      matmul(qk);
      softmax_rows(scores, rows, n, n);
      pv.rows = rows;
      pv.c = ctx + offset + r0 * width;
      matmul(pv);
    }
  }
}

} // namespace detail
} // namespace albertner

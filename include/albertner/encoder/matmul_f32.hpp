// One description of a matrix product with its fused epilogue, shared by the portable and the
// AVX-512 kernels so that both compute the same thing in the same order.
#pragma once

#include "../io/bf16.hpp"
#include "../model/config.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace albertner {
namespace detail {

/// Columns per panel of a packed right-hand side (one AVX-512 register of floats).
constexpr std::int64_t kPanelWidth = 16;

/// Floats that pack_panels writes for `cols` columns of `depth`.
inline std::int64_t packed_size(std::int64_t cols, std::int64_t depth) {
  return (cols + kPanelWidth - 1) / kPanelWidth * kPanelWidth * depth;
}

/// bf16 values that pack_panels_bf16 writes for `cols` columns of `depth` (depth rounded up to even).
inline std::int64_t packed_size_bf16(std::int64_t cols, std::int64_t depth) {
  return packed_size(cols, (depth + 1) / 2 * 2);
}

/// out[p][k][j] = w[(16 p + j) * n_stride + k * k_stride] (0 past `cols`): each panel holds 16
/// columns, contiguous for every k, the order in which the AVX-512 kernel reads them. w is float
/// or bf16 (widened).
template <class Source>
void pack_panels(const Source* w, std::int64_t n_stride, std::int64_t k_stride, std::int64_t cols, std::int64_t depth,
                 float* out) {
  for (std::int64_t p = 0; p * kPanelWidth < cols; ++p, out += kPanelWidth * depth) {
    const std::int64_t width = std::min(kPanelWidth, cols - p * kPanelWidth);
    if (width < kPanelWidth) std::fill(out, out + kPanelWidth * depth, 0.0f);
    const Source* first = w + p * kPanelWidth * n_stride;
    // Read w along its contiguous direction: k for weights and keys, n for values.
    if (k_stride == 1)
      for (std::int64_t j = 0; j < width; ++j)
        for (std::int64_t k = 0; k < depth; ++k) out[k * kPanelWidth + j] = to_f32(first[j * n_stride + k]);
    else
      for (std::int64_t k = 0; k < depth; ++k)
        for (std::int64_t j = 0; j < width; ++j) out[k * kPanelWidth + j] = to_f32(first[j * n_stride + k * k_stride]);
  }
}

/// The bf16 weight w[n, k] (row-major, leading dimension `ld`) for the BF16 dot-product kernel:
/// out[p][k / 2][j][k % 2] = w[16 p + j, k], so that one 32-bit lane holds the pair of weights
/// that meets one pair of activations (0 past `cols` and past an odd `depth`).
inline void pack_panels_bf16(const std::uint16_t* w, std::int64_t ld, std::int64_t cols, std::int64_t depth,
                             std::uint16_t* out) {
  const std::int64_t pairs = (depth + 1) / 2;
  std::fill(out, out + packed_size_bf16(cols, depth), std::uint16_t(0));
  for (std::int64_t n = 0; n < cols; ++n) {
    std::uint16_t* lane = out + (n / kPanelWidth) * pairs * 2 * kPanelWidth + (n % kPanelWidth) * 2;
    for (std::int64_t k = 0; k < depth; ++k) lane[(k / 2) * 2 * kPanelWidth + k % 2] = w[n * ld + k];
  }
}

/// int8 bytes that pack_panels_i8 writes for `cols` columns of `depth` (depth rounded up to 4).
inline std::int64_t packed_size_i8(std::int64_t cols, std::int64_t depth) {
  return packed_size(cols, (depth + 3) / 4 * 4);
}

/// The int8 weight w[n, k] (row-major, leading dimension `ld`) for the int8 kernels:
/// out[p][k / 4][j][k % 4] = w[16 p + j, k] (one 32-bit lane holds the four weights that meet four
/// activations; 0 past `cols` and past `depth`), and colsum[n] = sum over k of w[n, k] (0 past
/// `cols`; packed_size(cols, 1) entries), which undoes the +128 of the unsigned activations.
inline void pack_panels_i8(const std::int8_t* w, std::int64_t ld, std::int64_t cols, std::int64_t depth,
                           std::int8_t* out, std::int32_t* colsum) {
  const std::int64_t quads = (depth + 3) / 4;
  std::fill(out, out + packed_size_i8(cols, depth), std::int8_t(0));
  std::fill(colsum, colsum + packed_size(cols, 1), 0);
  for (std::int64_t n = 0; n < cols; ++n) {
    std::int8_t* lane = out + (n / kPanelWidth) * quads * 4 * kPanelWidth + (n % kPanelWidth) * 4;
    for (std::int64_t k = 0; k < depth; ++k) {
      lane[(k / 4) * 4 * kPanelWidth + k % 4] = w[n * ld + k];
      colsum[n] += w[n * ld + k];
    }
  }
}

/// 1 / d when d is a power of two whose reciprocal is a normal float, else 0. Then x * (1 / d)
/// and x / d are the same real number, so both round to the same float, and the kernels
/// multiply instead of dividing (head_dim 64 gives d = 8). Built from the bits, without a
/// division: the kernels call it for every vector of the epilogue.
inline float exact_reciprocal(float d) {
  std::uint32_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  const std::uint32_t exponent = bits >> 23; // a positive power of two: sign 0, mantissa 0
  if ((bits & 0x7FFFFFu) != 0 || exponent < 1 || exponent > 253) return 0.0f;
  const std::uint32_t inverse = (254u - exponent) << 23; // 2^-(e - 127) = 2^((254 - e) - 127)
  float r;
  std::memcpy(&r, &inverse, sizeof r);
  return r;
}

/// c[r, n] = ((a[r, :] . w[n, :]) / divisor + bias[n]) -> act -> + residual[r, n]
/// for r < rows, n < cols, dot products over `depth`. a, c and residual are row-major with
/// their own leading dimension; w[n, k] is at w + n * ldw + k * wk, so the same call serves a
/// Linear layer (w = torch's [out, in] weight as stored in the file), Q.K^T of one head and the
/// attention-weighted sum of values. `packed` is w in pack_panels' layout; when set (only where
/// the AVX-512 kernel runs) the kernel reads it instead of w. `packed_bf16` (a bf16 model on a
/// CPU with BF16 dot products) is w in pack_panels_bf16's layout; the kernel then reads a as
/// `a_bf16` [rows, lda_bf16], a rounded to bf16 and padded to an even depth, which the caller
/// fills first. Each epilogue step is skipped when absent: divisor 1, bias null, `fused_act`
/// false, residual null. int8 weights (an int8 model file) come as `w_i8` [cols, depth] (ldw),
/// the file's bytes, or, where a vectorized int8 kernel runs, as `packed_i8` in pack_panels_i8's layout with
/// `w_colsum`; `w_scale` [cols] turns them back into values. Their left-hand side is `a_u8`
/// [rows, lda_u8]: a quantized per row (quantize_rows_u8) plus 128, with `a_scale` [rows]. Then
/// a . w = (sum over k of (a_u8 - 128) * w_i8) * a_scale[r] * w_scale[n], the sum exact in int32.
struct MatmulF32 {
  const float* a = nullptr;
  std::int64_t lda = 0;
  const float* w = nullptr;
  std::int64_t ldw = 0;
  std::int64_t wk = 1;
  const float* packed = nullptr;
  const std::uint16_t* packed_bf16 = nullptr;
  const std::uint16_t* a_bf16 = nullptr;
  std::int64_t lda_bf16 = 0;
  const std::int8_t* w_i8 = nullptr;
  const std::int8_t* packed_i8 = nullptr;
  const std::int32_t* w_colsum = nullptr;
  const float* w_scale = nullptr;
  const std::uint8_t* a_u8 = nullptr;
  std::int64_t lda_u8 = 0;
  const float* a_scale = nullptr;
  float* c = nullptr;
  std::int64_t ldc = 0;
  std::int64_t rows = 0, cols = 0, depth = 0;
  float divisor = 1.0f;
  const float* bias = nullptr;
  bool fused_act = false;
  activation act = activation::gelu_new;
  const float* residual = nullptr;
  std::int64_t ldr = 0;
};

} // namespace detail
} // namespace albertner

// LayerNorm over the last dimension, as torch.nn.LayerNorm computes it at inference.
#pragma once

#include "isa.hpp"
#include "kernels/simd.hpp"

#include <cmath>
#include <cstdint>

namespace albertner {
namespace detail {

/// Normalizes each of `rows` rows of `x` ([rows, cols], row-major) in place:
/// y = (x - mean) / sqrt(var + eps) * gamma + beta with the biased variance. The moments are
/// accumulated in double so that long rows lose nothing to summation order; the affine part
/// runs in float like PyTorch's kernel (x * rstd - mean * rstd, then gamma and beta).
inline void layer_norm_rows_portable(float* x, std::int64_t rows, std::int64_t cols, const float* gamma,
                                     const float* beta, double eps) noexcept {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * cols;
    double sum = 0;
    for (std::int64_t c = 0; c < cols; ++c) sum += row[c];
    const double mean = sum / static_cast<double>(cols);
    double squares = 0;
    for (std::int64_t c = 0; c < cols; ++c) {
      const double d = row[c] - mean;
      squares += d * d;
    }
    const double rstd = 1.0 / std::sqrt(squares / static_cast<double>(cols) + eps);
    const float scale = static_cast<float>(rstd);
    const float shift = static_cast<float>(-mean * rstd);
    for (std::int64_t c = 0; c < cols; ++c) row[c] = (row[c] * scale + shift) * gamma[c] + beta[c];
  }
}

/// Dispatches to the vectorized kernel where one runs (same math, moments in double as many lanes
/// at a time as the instruction set's vector holds: 8 for AVX-512, 4 for AVX2, 2 for NEON).
inline void layer_norm_rows(float* x, std::int64_t rows, std::int64_t cols, const float* gamma, const float* beta,
                            double eps) noexcept {
  switch (active_kernel_isa()) {
#if ALBERTNER_X86_KERNELS
  case KernelIsa::avx512_bf16:
  case KernelIsa::avx512: return avx512::layer_norm_rows(x, rows, cols, gamma, beta, eps);
  case KernelIsa::avx2: return avx2::layer_norm_rows(x, rows, cols, gamma, beta, eps);
#endif
#if ALBERTNER_NEON_KERNELS
  case KernelIsa::neon: return neon::layer_norm_rows(x, rows, cols, gamma, beta, eps);
#endif
  default: break;
  }
  layer_norm_rows_portable(x, rows, cols, gamma, beta, eps);
}

} // namespace detail
} // namespace albertner

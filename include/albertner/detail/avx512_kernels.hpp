// AVX-512 fp32 kernels: the matrix product with its fused epilogue, softmax rows and LayerNorm.
// Each function carries its own target attribute, so this header compiles with any flags and
// the functions run only where detail::active_kernel_isa() found AVX-512.
#pragma once

#include "isa.hpp"

#if ALBERTNER_X86_KERNELS

#include "matmul_f32.hpp"
#include "polynomials.hpp"

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

// GCC 12 flags the intrinsics' own `__m512 __Y = __Y;` (an intentionally undefined register) when
// they are inlined here; the warning is about the compiler's header, not this code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#define ALBERTNER_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))
// The matrix product also holds the BF16 and VNNI dot-product variants, so it is compiled for the
// superset; its fp32 instantiation uses neither and runs on every AVX-512 CPU.
#define ALBERTNER_AVX512_MATMUL __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma,avx512bf16,avx512vnni")))

namespace albertner {
namespace detail {
namespace avx512 {

/// The first n of 16 lanes (none for n <= 0).
inline __mmask16 lanes(std::int64_t n) {
  return static_cast<__mmask16>(n <= 0 ? 0 : n >= 16 ? 0xFFFF : (1u << n) - 1u);
}

/// e^x within ~1 ulp: x = n ln2 + r with |r| <= ln2/2, a degree-7 Taylor polynomial for e^r and
/// an exact scaling by 2^n (vscalefps), which also gives denormals, 0 and inf where expf does.
/// NaN stays NaN (the clamps keep their NaN operand second).
ALBERTNER_AVX512 inline __m512 exp(__m512 x) {
  const __m512 clamped = _mm512_min_ps(_mm512_set1_ps(kExpHighest), _mm512_max_ps(_mm512_set1_ps(kExpLowest), x));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(clamped, _mm512_set1_ps(kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2High), clamped); // an exact product
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Low), r);
  __m512 p = _mm512_set1_ps(kExpTaylor[0]);
  for (std::size_t i = 1; i < sizeof kExpTaylor / sizeof(float); ++i)
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpTaylor[i]));
  return _mm512_scalef_ps(p, n);
}

/// x * sigmoid(2u) = 0.5 x (1 + tanh(u)), the identity behind the tanh GELUs; it keeps full relative
/// precision where 1 + tanh(u) cancels.
ALBERTNER_AVX512 inline __m512 x_sigmoid_2u(__m512 x, __m512 u) {
  const __m512 e = exp(_mm512_mul_ps(u, _mm512_set1_ps(-2.0f)));
  return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

/// The activations of detail::apply_activation, 16 lanes at a time.
ALBERTNER_AVX512 inline __m512 activate(activation act, __m512 x) {
  switch (act) {
  case activation::gelu_new: {
    const __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
    const __m512 inner = _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), x3, x);
    return x_sigmoid_2u(x, _mm512_mul_ps(_mm512_set1_ps(0.7978845608028654f), inner));
  }
  case activation::gelu_fast: {
    const __m512 poly = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(0.044715f), x), x, _mm512_set1_ps(1.0f));
    return x_sigmoid_2u(x, _mm512_mul_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.7978845608f)), poly));
  }
  case activation::gelu: {
    // x * (1 - erfc(x / sqrt 2) / 2) with kErfcChebyshev, so small GELU outputs keep their
    // relative precision.
    const __m512 z = _mm512_abs_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752440f)));
    const __m512 t =
        _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(_mm512_set1_ps(0.5f), z, _mm512_set1_ps(1.0f)));
    __m512 p = _mm512_set1_ps(kErfcChebyshev[0]);
    for (std::size_t i = 1; i < sizeof kErfcChebyshev / sizeof(float); ++i)
      p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(kErfcChebyshev[i]));
    const __m512 half_erfc_abs = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), t), exp(_mm512_fnmadd_ps(z, z, p)));
    // x >= 0: erfc(z) = ans; x < 0: erfc = 2 - ans, so the factor is ans / 2.
    const __mmask16 negative = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    const __m512 factor =
        _mm512_mask_blend_ps(negative, _mm512_sub_ps(_mm512_set1_ps(1.0f), half_erfc_abs), half_erfc_abs);
    return _mm512_mul_ps(x, factor);
  }
  case activation::relu: return _mm512_max_ps(_mm512_setzero_ps(), x); // NaN passes, as in torch.relu
  }
  return x;
}

/// Epilogue of one 16-column vector of row r at column n0 (cols: how many of its lanes are real).
ALBERTNER_AVX512 inline void finish(const MatmulF32& m, __m512 y, std::int64_t r, std::int64_t n0, __mmask16 cols) {
  if (m.divisor != 1.0f) {
    const float reciprocal = exact_reciprocal(m.divisor);
    y = reciprocal != 0.0f ? _mm512_mul_ps(y, _mm512_set1_ps(reciprocal)) : _mm512_div_ps(y, _mm512_set1_ps(m.divisor));
  }
  if (m.bias) y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(cols, m.bias + n0));
  if (m.fused_act) y = activate(m.act, y);
  if (m.residual) y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(cols, m.residual + r * m.ldr + n0));
  float* dst = m.c + r * m.ldc + n0;
  if (cols == 0xFFFF) _mm512_storeu_ps(dst, y); // masked stores are slow on some CPUs (Zen 4)
  else _mm512_mask_storeu_ps(dst, cols, y);
}

/// What one step of the product multiplies: floats (m.packed), bf16 pairs (m.packed_bf16,
/// m.a_bf16) or int8 quads (m.packed_i8, m.a_u8).
enum class Dot { f32, bf16, int8 };

/// The steps of the bf16 and int8 products: each broadcasts one 32-bit group of a row's elements
/// (a pair of bf16, a quad of int8) and dots it with one panel row per panel. Panels are `steps`
/// groups deep; `lda` is the rows' stride in bytes.
template <int R, int P, class Acc, class DotStep>
ALBERTNER_AVX512_MATMUL inline void grouped_steps(const unsigned char* panel, const unsigned char* a, std::int64_t lda,
                                                  std::int64_t steps, Acc (&acc)[R][P], DotStep dot) {
  for (std::int64_t k = 0; k < steps; ++k, panel += 4 * kPanelWidth) {
    __m512i w[P];
#pragma GCC unroll 2
    for (int p = 0; p < P; ++p) w[p] = _mm512_loadu_si512(panel + p * steps * 4 * kPanelWidth);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, a + i * lda + 4 * k, sizeof bits);
      const __m512i x = _mm512_set1_epi32(static_cast<int>(bits));
#pragma GCC unroll 2
      for (int p = 0; p < P; ++p) acc[i][p] = dot(acc[i][p], x, w[p]);
    }
  }
}

// The dot-product steps, as function objects: a lambda would not carry the target attribute.
struct Bf16Dot {
  ALBERTNER_AVX512_MATMUL __m512 operator()(__m512 acc, __m512i x, __m512i w) const {
    return _mm512_dpbf16_ps(acc, (__m512bh)x, (__m512bh)w);
  }
};
struct Int8Dot {
  ALBERTNER_AVX512_MATMUL __m512i operator()(__m512i acc, __m512i x, __m512i w) const {
    return _mm512_dpbusd_epi32(acc, x, w);
  }
};

/// Rows [r0, r0 + R) x panels [p0, p0 + P) of m, int8: R * P int32 accumulators, each step one
/// VNNI dot product of four unsigned activations with four signed weights per lane (exact: at
/// most 4 * 255 * 127 per step), then back to floats with the column sums and both scales.
template <int R, int P>
ALBERTNER_AVX512_MATMUL inline void matmul_tile_int8(const MatmulF32& m, std::int64_t r0, std::int64_t p0) {
  __m512i acc[R][P];
  for (auto& row : acc)
    for (auto& x : row) x = _mm512_setzero_si512();
  grouped_steps<R, P>(reinterpret_cast<const unsigned char*>(m.packed_i8) + p0 * ((m.depth + 3) / 4) * 4 * kPanelWidth,
                      m.a_u8 + r0 * m.lda_u8, m.lda_u8, (m.depth + 3) / 4, acc, Int8Dot{});
  for (int p = 0; p < P; ++p) {
    const std::int64_t n0 = (p0 + p) * kPanelWidth;
    const __mmask16 cols = lanes(m.cols - n0);
    // sum (q + 128) w = sum q w + 128 colsum
    const __m512i offset = _mm512_slli_epi32(_mm512_maskz_loadu_epi32(cols, m.w_colsum + n0), 7);
    const __m512 w_scale = _mm512_maskz_loadu_ps(cols, m.w_scale + n0);
    for (int i = 0; i < R; ++i) {
      const __m512 sum = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[i][p], offset));
      finish(m, _mm512_mul_ps(sum, _mm512_mul_ps(w_scale, _mm512_set1_ps(m.a_scale[r0 + i]))), r0 + i, n0, cols);
    }
  }
}

/// Rows [r0, r0 + R) x panels [p0, p0 + P) of m: R * P accumulators, each step one panel row
/// per panel and one broadcast per row, so the loads stay well below the FMAs. bf16: a step is a
/// pair of k, one BF16 dot product (two multiply-adds per lane, float accumulation).
template <int R, int P, Dot D>
ALBERTNER_AVX512_MATMUL inline void matmul_tile(const MatmulF32& m, std::int64_t r0, std::int64_t p0) {
  if constexpr (D == Dot::int8) return matmul_tile_int8<R, P>(m, r0, p0);
  __m512 acc[R][P];
  for (auto& row : acc)
    for (auto& x : row) x = _mm512_setzero_ps();
  if constexpr (D == Dot::bf16) {
    grouped_steps<R, P>(
        reinterpret_cast<const unsigned char*>(m.packed_bf16) + p0 * ((m.depth + 1) / 2) * 4 * kPanelWidth,
        reinterpret_cast<const unsigned char*>(m.a_bf16 + r0 * m.lda_bf16), 2 * m.lda_bf16, (m.depth + 1) / 2, acc,
        Bf16Dot{});
  } else {
    const std::int64_t K = m.depth;
    const float* panel = m.packed + p0 * K * kPanelWidth;
    const float* a = m.a + r0 * m.lda;
    for (std::int64_t k = 0; k < K; ++k, panel += kPanelWidth) {
      __m512 w[P];
#pragma GCC unroll 2
      for (int p = 0; p < P; ++p) w[p] = _mm512_loadu_ps(panel + p * K * kPanelWidth);
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) {
        const __m512 x = _mm512_set1_ps(a[i * m.lda + k]);
#pragma GCC unroll 2
        for (int p = 0; p < P; ++p) acc[i][p] = _mm512_fmadd_ps(x, w[p], acc[i][p]);
      }
    }
  }
  for (int p = 0; p < P; ++p) {
    const std::int64_t n0 = (p0 + p) * kPanelWidth;
    const __mmask16 cols = lanes(m.cols - n0);
    for (int i = 0; i < R; ++i) finish(m, acc[i][p], r0 + i, n0, cols);
  }
}

template <int P, Dot D>
ALBERTNER_AVX512_MATMUL inline void matmul_rows(const MatmulF32& m, std::int64_t r_begin, std::int64_t r_end,
                                                std::int64_t p0) {
  std::int64_t r0 = r_begin;
  for (; r0 + 8 <= r_end; r0 += 8) matmul_tile<8, P, D>(m, r0, p0);
  switch (r_end - r0) {
  case 1: return matmul_tile<1, P, D>(m, r0, p0);
  case 2: return matmul_tile<2, P, D>(m, r0, p0);
  case 3: return matmul_tile<3, P, D>(m, r0, p0);
  case 4: return matmul_tile<4, P, D>(m, r0, p0);
  case 5: return matmul_tile<5, P, D>(m, r0, p0);
  case 6: return matmul_tile<6, P, D>(m, r0, p0);
  case 7: return matmul_tile<7, P, D>(m, r0, p0);
  default: return;
  }
}

/// Panels [p_begin, p_end) of m (m.packed set; or what D reads, see Dot). Two panels of w
/// (2 * 16 * depth floats) stay in L2 while a block of rows streams past them; row blocks of 192
/// keep a (and c) in L2 as well.
template <Dot D>
ALBERTNER_AVX512_MATMUL inline void matmul(const MatmulF32& m, std::int64_t p_begin, std::int64_t p_end) {
  constexpr std::int64_t kRowBlock = 192;
  for (std::int64_t rb = 0; rb < m.rows; rb += kRowBlock) {
    const std::int64_t re = rb + kRowBlock < m.rows ? rb + kRowBlock : m.rows;
    std::int64_t p0 = p_begin;
    for (; p0 + 2 <= p_end; p0 += 2) matmul_rows<2, D>(m, rb, re, p0);
    if (p0 < p_end) matmul_rows<1, D>(m, rb, re, p0);
  }
}

/// a_bf16[r, c] = a[r, c] rounded to bf16 (to nearest even) for c < cols, 0 up to `ld` (cols
/// rounded up to even): the left-hand side of a Dot::bf16 product.
ALBERTNER_AVX512_MATMUL inline void round_rows_bf16(const float* a, std::int64_t rows, std::int64_t cols,
                                                    std::int64_t lda, std::uint16_t* out, std::int64_t ld) {
  for (std::int64_t r = 0; r < rows; ++r, a += lda, out += ld)
    for (std::int64_t c = 0; c < ld; c += 32) {
      const __m512 lo = _mm512_maskz_loadu_ps(lanes(cols - c), a + c);
      const __m512 hi = _mm512_maskz_loadu_ps(lanes(cols - c - 16), a + c + 16);
      const __m512i pairs = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
      const std::int64_t n = ld - c;
      _mm512_mask_storeu_epi16(out + c, n >= 32 ? ~__mmask32(0) : (__mmask32(1) << n) - 1u, pairs);
    }
}

/// detail::quantize_rows_u8_portable with the same arithmetic, 16 values at a time.
ALBERTNER_AVX512 inline void quantize_rows_u8(const float* a, std::int64_t rows, std::int64_t cols, std::int64_t lda,
                                              std::uint8_t* out, std::int64_t ld, float* scales) {
  constexpr int non_finite = 0x01 | 0x08 | 0x10 | 0x80; // quiet NaN, +inf, -inf, signalling NaN
  for (std::int64_t r = 0; r < rows; ++r, a += lda, out += ld) {
    __m512 top = _mm512_setzero_ps();
    for (std::int64_t c = 0; c < cols; c += 16) {
      const __mmask16 k = lanes(cols - c);
      const __m512 v = _mm512_maskz_loadu_ps(k, a + c);
      top = _mm512_max_ps(top, _mm512_abs_ps(_mm512_maskz_mov_ps(k & ~_mm512_fpclass_ps_mask(v, non_finite), v)));
    }
    const float largest = _mm512_reduce_max_ps(top);
    scales[r] = largest / 127.0f;
    const __m512 inverse = _mm512_set1_ps(largest > 0.0f ? 127.0f / largest : 0.0f);
    for (std::int64_t c = 0; c < ld; c += 16) {
      const __mmask16 k = lanes(cols - c);
      __m512 v = _mm512_maskz_loadu_ps(k, a + c);
      v = _mm512_maskz_mov_ps(k & ~_mm512_fpclass_ps_mask(v, non_finite), v);
      v = _mm512_roundscale_ps(_mm512_mul_ps(v, inverse), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      v = _mm512_min_ps(_mm512_set1_ps(127.0f), _mm512_max_ps(_mm512_set1_ps(-127.0f), v));
      const __m128i bytes = _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(128)));
      _mm_mask_storeu_epi8(out + c, lanes(ld - c), bytes);
    }
  }
}

/// Each of `rows` rows of x ([rows, cols], leading dimension ld) becomes its softmax:
/// exp(v - max) / sum, as torch computes it.
ALBERTNER_AVX512 inline void softmax_rows(float* x, std::int64_t rows, std::int64_t cols, std::int64_t ld) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * ld;
    __m512 mx = _mm512_set1_ps(-__builtin_inff());
    for (std::int64_t c = 0; c < cols; c += 16)
      mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(_mm512_set1_ps(-__builtin_inff()), lanes(cols - c), row + c));
    const __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
    __m512 sum = _mm512_setzero_ps();
    for (std::int64_t c = 0; c < cols; c += 16) {
      const __mmask16 k = lanes(cols - c);
      const __m512 e = exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, row + c), max));
      _mm512_mask_storeu_ps(row + c, k, e);
      sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(k, e));
    }
    const __m512 total = _mm512_set1_ps(_mm512_reduce_add_ps(sum));
    for (std::int64_t c = 0; c < cols; c += 16) {
      const __mmask16 k = lanes(cols - c);
      _mm512_mask_storeu_ps(row + c, k, _mm512_div_ps(_mm512_maskz_loadu_ps(k, row + c), total));
    }
  }
}

/// detail::layer_norm_rows, with the moments accumulated in double 8 lanes at a time.
ALBERTNER_AVX512 inline void layer_norm_rows(float* x, std::int64_t rows, std::int64_t cols, const float* gamma,
                                             const float* beta, double eps) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * cols;
    __m512d sum = _mm512_setzero_pd();
    for (std::int64_t c = 0; c < cols; c += 16) {
      const __m512 v = _mm512_maskz_loadu_ps(lanes(cols - c), row + c);
      sum = _mm512_add_pd(sum, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
      sum = _mm512_add_pd(sum, _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
    }
    const double mean = _mm512_reduce_add_pd(sum) / static_cast<double>(cols);
    const __m512d m = _mm512_set1_pd(mean);
    __m512d squares = _mm512_setzero_pd();
    for (std::int64_t c = 0; c < cols; c += 16) {
      const __mmask16 k = lanes(cols - c);
      const __m512 v = _mm512_maskz_loadu_ps(k, row + c);
      const __m512d lo = _mm512_maskz_sub_pd(static_cast<__mmask8>(k), _mm512_cvtps_pd(_mm512_castps512_ps256(v)), m);
      const __m512d hi =
          _mm512_maskz_sub_pd(static_cast<__mmask8>(k >> 8), _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)), m);
      squares = _mm512_fmadd_pd(lo, lo, squares);
      squares = _mm512_fmadd_pd(hi, hi, squares);
    }
    const double rstd = 1.0 / __builtin_sqrt(_mm512_reduce_add_pd(squares) / static_cast<double>(cols) + eps);
    const __m512 scale = _mm512_set1_ps(static_cast<float>(rstd));
    const __m512 shift = _mm512_set1_ps(static_cast<float>(-mean * rstd));
    for (std::int64_t c = 0; c < cols; c += 16) {
      const __mmask16 k = lanes(cols - c);
      const __m512 v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, row + c), scale, shift);
      _mm512_mask_storeu_ps(
          row + c, k, _mm512_fmadd_ps(v, _mm512_maskz_loadu_ps(k, gamma + c), _mm512_maskz_loadu_ps(k, beta + c)));
    }
  }
}

} // namespace avx512
} // namespace detail
} // namespace albertner

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif

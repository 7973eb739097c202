// The 256-bit kernels, for CPUs with AVX2 and FMA but not AVX-512 (most laptops and desktops, AMD
// before Zen 4, many cloud instances): the fp32 matrix product with its fused epilogue, the int8
// one with AVX-VNNI dot products where the CPU has them (Intel since Alder Lake, AMD since Zen 5),
// else exact products from AVX2's 16-bit multiply-adds, and softmax rows, LayerNorm and the int8
// quantization of activations. They read the weights packed as for the AVX-512 kernels
// (pack_panels, pack_panels_i8), a 16-column panel as two registers, and compute what those do:
// the products' sums in the same order, the same exp, GELU and epilogue; softmax and LayerNorm
// sum their rows over 8 (4) lanes where AVX-512 uses 16 (8), so those may differ in the last bit.
#pragma once

#include "isa.hpp"

#if ALBERTNER_X86_KERNELS

#include "matmul_f32.hpp"
#include "polynomials.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

// Only VEX-encoded instructions: nothing here may need AVX-512 registers or encodings.
#define ALBERTNER_AVX2 __attribute__((target("avx2,fma")))
#define ALBERTNER_AVX2_INT8 __attribute__((target("avx2,fma,avxvnni")))

namespace albertner {
namespace detail {
namespace avx2 {

/// The first n of 8 lanes as a load/store mask.
ALBERTNER_AVX2 inline __m256i lanes(std::int64_t n) {
  const int k = n <= 0 ? 0 : n >= 8 ? 8 : static_cast<int>(n);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// Stores the lanes of `mask`; a full store when all 8 are (masked stores are slow on AMD CPUs).
ALBERTNER_AVX2 inline void store(float* dst, __m256i mask, bool full, __m256 v) {
  if (full) _mm256_storeu_ps(dst, v);
  else _mm256_maskstore_ps(dst, mask, v);
}

ALBERTNER_AVX2 inline float reduce_add(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  return _mm_cvtss_f32(_mm_add_ss(x, _mm_movehdup_ps(x)));
}

ALBERTNER_AVX2 inline float reduce_max(__m256 v) {
  __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_max_ps(x, _mm_movehl_ps(x, x));
  return _mm_cvtss_f32(_mm_max_ss(x, _mm_movehdup_ps(x)));
}

ALBERTNER_AVX2 inline double reduce_add(__m256d v) {
  const __m128d x = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(x, _mm_unpackhi_pd(x, x)));
}

/// 2^e for integer e in [-126, 127].
ALBERTNER_AVX2 inline __m256 power_of_two(__m256i e) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23));
}

/// avx512::exp: the same reduction and polynomial; p * 2^n as two exact powers of two (n is in
/// [-150, 128], each half normal), so the one rounding is where vscalefps rounds.
ALBERTNER_AVX2 inline __m256 exp(__m256 x) {
  const __m256 clamped = _mm256_min_ps(_mm256_set1_ps(kExpHighest), _mm256_max_ps(_mm256_set1_ps(kExpLowest), x));
  const __m256 n =
      _mm256_round_ps(_mm256_mul_ps(clamped, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2High), clamped);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Low), r);
  __m256 p = _mm256_set1_ps(kExpTaylor[0]);
  for (std::size_t i = 1; i < sizeof kExpTaylor / sizeof(float); ++i)
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpTaylor[i]));
  const __m256i whole = _mm256_cvtps_epi32(n), half = _mm256_srai_epi32(whole, 1);
  return _mm256_mul_ps(_mm256_mul_ps(p, power_of_two(half)), power_of_two(_mm256_sub_epi32(whole, half)));
}

/// x * sigmoid(2u) = 0.5 x (1 + tanh(u)), as avx512::x_sigmoid_2u.
ALBERTNER_AVX2 inline __m256 x_sigmoid_2u(__m256 x, __m256 u) {
  const __m256 e = exp(_mm256_mul_ps(u, _mm256_set1_ps(-2.0f)));
  return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

/// The activations of avx512::activate, 8 lanes at a time.
ALBERTNER_AVX2 inline __m256 activate(activation act, __m256 x) {
  switch (act) {
  case activation::gelu_new: {
    const __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    const __m256 inner = _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x);
    return x_sigmoid_2u(x, _mm256_mul_ps(_mm256_set1_ps(0.7978845608028654f), inner));
  }
  case activation::gelu_fast: {
    const __m256 poly = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(0.044715f), x), x, _mm256_set1_ps(1.0f));
    return x_sigmoid_2u(x, _mm256_mul_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.7978845608f)), poly));
  }
  case activation::gelu: {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 z = _mm256_and_ps(abs_mask, _mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752440f)));
    const __m256 t =
        _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(_mm256_set1_ps(0.5f), z, _mm256_set1_ps(1.0f)));
    __m256 p = _mm256_set1_ps(kErfcChebyshev[0]);
    for (std::size_t i = 1; i < sizeof kErfcChebyshev / sizeof(float); ++i)
      p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(kErfcChebyshev[i]));
    const __m256 half_erfc_abs = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), t), exp(_mm256_fnmadd_ps(z, z, p)));
    const __m256 negative = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    const __m256 factor = _mm256_blendv_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), half_erfc_abs), half_erfc_abs, negative);
    return _mm256_mul_ps(x, factor);
  }
  case activation::relu: return _mm256_max_ps(_mm256_setzero_ps(), x); // NaN passes, as in torch.relu
  }
  return x;
}

/// Epilogue of one 8-column vector of row r at column n0 (mask: its real lanes), as avx512::finish.
ALBERTNER_AVX2 inline void finish(const MatmulF32& m, __m256 y, std::int64_t r, std::int64_t n0, __m256i mask,
                                  bool full) {
  if (m.divisor != 1.0f) {
    const float reciprocal = exact_reciprocal(m.divisor);
    y = reciprocal != 0.0f ? _mm256_mul_ps(y, _mm256_set1_ps(reciprocal)) : _mm256_div_ps(y, _mm256_set1_ps(m.divisor));
  }
  if (m.bias) y = _mm256_add_ps(y, _mm256_maskload_ps(m.bias + n0, mask));
  if (m.fused_act) y = activate(m.act, y);
  if (m.residual) y = _mm256_add_ps(y, _mm256_maskload_ps(m.residual + r * m.ldr + n0, mask));
  store(m.c + r * m.ldc + n0, mask, full, y);
}

/// Rows [r0, r0 + R) of panel p of the fp32 product m (m.packed), epilogue included. 2 R
/// accumulators, each step two panel loads and one broadcast per row. The first `ahead` steps
/// also prefetch one cache line each from `next` on.
template <int R>
ALBERTNER_AVX2 inline void tile_f32(const MatmulF32& m, std::int64_t r0, std::int64_t p, const float* next,
                                    std::int64_t ahead) {
  const std::int64_t K = m.depth;
  const float* panel = m.packed + p * K * kPanelWidth;
  const float* a = m.a + r0 * m.lda;
  // The epilogue's floats of each row, in c and in the residual, are lines last touched a whole
  // product ago: fetched now, they arrive while the sums run (the first and the last float, as a
  // row's 64 bytes may straddle two lines).
  const std::int64_t n0 = p * kPanelWidth, last = std::min(kPanelWidth, m.cols - n0) - 1;
  for (int i = 0; i < R; ++i) {
    const float* dst = m.c + (r0 + i) * m.ldc + n0;
    _mm_prefetch(reinterpret_cast<const char*>(dst), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(dst + last), _MM_HINT_T0);
    if (!m.residual) continue;
    const float* res = m.residual + (r0 + i) * m.ldr + n0;
    _mm_prefetch(reinterpret_cast<const char*>(res), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(res + last), _MM_HINT_T0);
  }
  __m256 acc[R][2];
  for (auto& row : acc) row[0] = row[1] = _mm256_setzero_ps();
  for (std::int64_t k = 0; k < K; ++k, panel += kPanelWidth) {
    if (k < ahead) _mm_prefetch(reinterpret_cast<const char*>(next + k * kPanelWidth), _MM_HINT_T0);
    const __m256 w0 = _mm256_loadu_ps(panel), w1 = _mm256_loadu_ps(panel + 8);
#pragma GCC unroll 6
    for (int i = 0; i < R; ++i) {
      // Not _mm256_broadcast_ss: GCC keeps acc in memory around its pointer argument.
      const __m256 x = _mm256_set1_ps(a[i * m.lda + k]);
      acc[i][0] = _mm256_fmadd_ps(x, w0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(x, w1, acc[i][1]);
    }
  }
  for (int h = 0; h < 2; ++h) {
    const std::int64_t col = n0 + 8 * h;
    if (col >= m.cols) break;
    const __m256i mask = lanes(m.cols - col);
    for (int i = 0; i < R; ++i) finish(m, acc[i][h], r0 + i, col, mask, m.cols - col >= 8);
  }
}

/// Panels [p_begin, p_end) of the fp32 product m (m.packed set). As in the AVX-512 kernel, a
/// block of rows streams past each panel while it stays in L2. The tiles of one panel share out
/// the prefetching of the next: with few rows the weights come from memory, and the hardware
/// prefetcher alone leaves the first tile of each panel waiting for them. (Blocking the depth
/// as well, 128 to 512 steps, measured slower on Zen 3.)
ALBERTNER_AVX2 inline void matmul_f32(const MatmulF32& m, std::int64_t p_begin, std::int64_t p_end) {
  constexpr std::int64_t kRowBlock = 192;
  const std::int64_t K = m.depth;
  for (std::int64_t rb = 0; rb < m.rows; rb += kRowBlock) {
    const std::int64_t re = rb + kRowBlock < m.rows ? rb + kRowBlock : m.rows;
    const std::int64_t tiles = (re - rb + 5) / 6;
    for (std::int64_t p = p_begin; p < p_end; ++p) {
      const float* next = m.packed + (p + 1) * K * kPanelWidth;
      const std::int64_t lines = p + 1 < p_end ? K : 0; // one 64-byte line per step of depth
      for (std::int64_t t = 0, r = rb; r < re; ++t, r += 6) {
        const float* from = next + lines * t / tiles * kPanelWidth;
        const std::int64_t ahead = lines * (t + 1) / tiles - lines * t / tiles;
        switch (re - r) {
        case 1: tile_f32<1>(m, r, p, from, ahead); break;
        case 2: tile_f32<2>(m, r, p, from, ahead); break;
        case 3: tile_f32<3>(m, r, p, from, ahead); break;
        case 4: tile_f32<4>(m, r, p, from, ahead); break;
        case 5: tile_f32<5>(m, r, p, from, ahead); break;
        default: tile_f32<6>(m, r, p, from, ahead); break;
        }
      }
    }
  }
}

/// The epilogue of rows [r0, r0 + R) of panel p (16 columns as two halves of 8) of the int8
/// product m: acc holds their int32 sums (with VNNI, of the unsigned activations q + 128, so
/// 128 * colsum too much), scaled by both scales, then avx2::finish.
template <int R, bool Vnni>
ALBERTNER_AVX2 inline void finish_int8(const MatmulF32& m, const __m256i (&acc)[R][2], std::int64_t r0,
                                       std::int64_t p) {
  for (int h = 0; h < 2; ++h) {
    const std::int64_t n0 = p * kPanelWidth + 8 * h;
    if (n0 >= m.cols) break;
    const __m256i mask = lanes(m.cols - n0);
    const __m256 w_scale = _mm256_maskload_ps(m.w_scale + n0, mask);
    __m256i offset = _mm256_setzero_si256();
    if constexpr (Vnni) offset = _mm256_slli_epi32(_mm256_maskload_epi32(m.w_colsum + n0, mask), 7);
    for (int i = 0; i < R; ++i) {
      const __m256 sum = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc[i][h], offset));
      const __m256 y = _mm256_mul_ps(sum, _mm256_mul_ps(w_scale, _mm256_set1_ps(m.a_scale[r0 + i])));
      finish(m, y, r0 + i, n0, mask, m.cols - n0 >= 8);
    }
  }
}

/// Where panel p of an int8 product's packed weights starts.
inline const unsigned char* int8_panel(const MatmulF32& m, std::int64_t p) {
  return reinterpret_cast<const unsigned char*>(m.packed_i8) + p * ((m.depth + 3) / 4) * 4 * kPanelWidth;
}

/// Rows [r0, r0 + R) of panel p of the int8 product m on AVX2 alone, epilogue included: q * w as
/// |w| * (q * sign(w)) with vpmaddubsw, whose 16-bit pair sums cannot saturate here (|q| <= 127,
/// |w| <= 128: at most 2 * 128 * 127 = 32512), then vpmaddwd into int32. Compiled for AVX2 and FMA
/// only, apart from tile_int8_vnni: under `avxvnni`, Clang turns vpmaddwd + vpaddd into the AVX-VNNI
/// vpdpwssd, which CPUs without it cannot run.
template <int R>
ALBERTNER_AVX2 inline void tile_int8(const MatmulF32& m, std::int64_t r0, std::int64_t p) {
  const std::int64_t steps = (m.depth + 3) / 4;
  const unsigned char* panel = int8_panel(m, p);
  const unsigned char* a = m.a_u8 + r0 * m.lda_u8;
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80)), ones = _mm256_set1_epi16(1);
  __m256i acc[R][2];
  for (auto& row : acc) row[0] = row[1] = _mm256_setzero_si256();
  for (std::int64_t k = 0; k < steps; ++k, panel += 4 * kPanelWidth) {
    const __m256i w[2] = {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel)),
                          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + 32))};
    const __m256i magnitude[2] = {_mm256_abs_epi8(w[0]), _mm256_abs_epi8(w[1])};
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, a + i * m.lda_u8 + 4 * k, sizeof bits);
      const __m256i q = _mm256_xor_si256(_mm256_set1_epi32(static_cast<int>(bits)), flip); // q + 128 -> q
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        const __m256i pairs = _mm256_maddubs_epi16(magnitude[h], _mm256_sign_epi8(q, w[h]));
        acc[i][h] = _mm256_add_epi32(acc[i][h], _mm256_madd_epi16(pairs, ones));
      }
    }
  }
  finish_int8<R, false>(m, acc, r0, p);
}

/// tile_int8 with AVX-VNNI: each step one vpdpbusd of the unsigned activations (q + 128) per
/// half panel, the same int32 sums once 128 * colsum is taken off.
template <int R>
ALBERTNER_AVX2_INT8 inline void tile_int8_vnni(const MatmulF32& m, std::int64_t r0, std::int64_t p) {
  const std::int64_t steps = (m.depth + 3) / 4;
  const unsigned char* panel = int8_panel(m, p);
  const unsigned char* a = m.a_u8 + r0 * m.lda_u8;
  __m256i acc[R][2];
  for (auto& row : acc) row[0] = row[1] = _mm256_setzero_si256();
  for (std::int64_t k = 0; k < steps; ++k, panel += 4 * kPanelWidth) {
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel)),
                  w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + 32));
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, a + i * m.lda_u8 + 4 * k, sizeof bits);
      const __m256i x = _mm256_set1_epi32(static_cast<int>(bits));
      acc[i][0] = _mm256_dpbusd_avx_epi32(acc[i][0], x, w0);
      acc[i][1] = _mm256_dpbusd_avx_epi32(acc[i][1], x, w1);
    }
  }
  finish_int8<R, true>(m, acc, r0, p);
}

/// One int8 tile of R rows: tile_int8_vnni or tile_int8.
template <int R, bool Vnni>
ALBERTNER_AVX2 inline void int8_tile(const MatmulF32& m, std::int64_t r0, std::int64_t p) {
  if constexpr (Vnni) tile_int8_vnni<R>(m, r0, p);
  else tile_int8<R>(m, r0, p);
}

/// Panels [p_begin, p_end) of the int8 product m (m.packed_i8, m.w_colsum set). Without VNNI
/// three rows per tile: four would not leave the sixteen registers enough.
template <bool Vnni>
ALBERTNER_AVX2 inline void matmul_int8(const MatmulF32& m, std::int64_t p_begin, std::int64_t p_end) {
  constexpr int kRows = Vnni ? 4 : 3;
  for (std::int64_t p = p_begin; p < p_end; ++p) {
    std::int64_t r = 0;
    for (; r + kRows <= m.rows; r += kRows) int8_tile<kRows, Vnni>(m, r, p);
    switch (m.rows - r) {
    case 1: int8_tile<1, Vnni>(m, r, p); break;
    case 2: int8_tile<2, Vnni>(m, r, p); break;
    case 3: int8_tile<3, Vnni>(m, r, p); break;
    default: break;
    }
  }
}

/// The n (up to 8) values at a, with non-finite ones and the lanes past n as 0.
ALBERTNER_AVX2 inline __m256 finite_values(const float* a, std::int64_t n) {
  const __m256i mask = lanes(n), exponent = _mm256_set1_epi32(0x7F800000);
  const __m256 v = _mm256_maskload_ps(a, mask);
  const __m256i non_finite = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(v), exponent), exponent);
  return _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_andnot_si256(non_finite, mask)));
}

/// detail::quantize_rows_u8_portable with the same arithmetic, 8 values at a time.
ALBERTNER_AVX2 inline void quantize_rows_u8(const float* a, std::int64_t rows, std::int64_t cols, std::int64_t lda,
                                            std::uint8_t* out, std::int64_t ld, float* scales) {
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  // The low byte of each int32, lanes 0-3 and 4-7 gathered into the first 8 bytes.
  const __m256i low_bytes = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12,
                                             -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  for (std::int64_t r = 0; r < rows; ++r, a += lda, out += ld) {
    __m256 top = _mm256_setzero_ps();
    for (std::int64_t c = 0; c < cols; c += 8)
      top = _mm256_max_ps(top, _mm256_and_ps(magnitude, finite_values(a + c, cols - c)));
    const float largest = reduce_max(top);
    scales[r] = largest / 127.0f;
    const __m256 inverse = _mm256_set1_ps(largest > 0.0f ? 127.0f / largest : 0.0f);
    for (std::int64_t c = 0; c < ld; c += 8) {
      __m256 v = _mm256_round_ps(_mm256_mul_ps(finite_values(a + c, cols - c), inverse),
                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      v = _mm256_min_ps(_mm256_set1_ps(127.0f), _mm256_max_ps(_mm256_set1_ps(-127.0f), v));
      const __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(128));
      const __m256i packed = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(biased, low_bytes),
                                                         _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1));
      const std::int64_t n = ld - c < 8 ? ld - c : 8;
      std::uint8_t bytes[8];
      _mm_storel_epi64(reinterpret_cast<__m128i*>(bytes), _mm256_castsi256_si128(packed));
      std::memcpy(out + c, bytes, static_cast<std::size_t>(n));
    }
  }
}

/// Each of `rows` rows of x ([rows, cols], leading dimension ld) becomes its softmax:
/// exp(v - max) / sum, as avx512::softmax_rows.
ALBERTNER_AVX2 inline void softmax_rows(float* x, std::int64_t rows, std::int64_t cols, std::int64_t ld) {
  const __m256 minus_inf = _mm256_set1_ps(-__builtin_inff());
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * ld;
    __m256 mx = minus_inf;
    for (std::int64_t c = 0; c < cols; c += 8) {
      const __m256i mask = lanes(cols - c);
      mx = _mm256_max_ps(mx, _mm256_blendv_ps(minus_inf, _mm256_maskload_ps(row + c, mask), _mm256_castsi256_ps(mask)));
    }
    const __m256 max = _mm256_set1_ps(reduce_max(mx));
    __m256 sum = _mm256_setzero_ps();
    for (std::int64_t c = 0; c < cols; c += 8) {
      const __m256i mask = lanes(cols - c);
      const __m256 e = exp(_mm256_sub_ps(_mm256_maskload_ps(row + c, mask), max));
      store(row + c, mask, cols - c >= 8, e);
      sum = _mm256_add_ps(sum, _mm256_and_ps(e, _mm256_castsi256_ps(mask)));
    }
    const __m256 total = _mm256_set1_ps(reduce_add(sum));
    for (std::int64_t c = 0; c < cols; c += 8) {
      const __m256i mask = lanes(cols - c);
      store(row + c, mask, cols - c >= 8, _mm256_div_ps(_mm256_maskload_ps(row + c, mask), total));
    }
  }
}

/// detail::layer_norm_rows, with the moments accumulated in double 4 lanes at a time.
ALBERTNER_AVX2 inline void layer_norm_rows(float* x, std::int64_t rows, std::int64_t cols, const float* gamma,
                                           const float* beta, double eps) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * cols;
    __m256d sum = _mm256_setzero_pd();
    for (std::int64_t c = 0; c < cols; c += 8) {
      const __m256 v = _mm256_maskload_ps(row + c, lanes(cols - c));
      sum = _mm256_add_pd(sum, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
      sum = _mm256_add_pd(sum, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
    const double mean = reduce_add(sum) / static_cast<double>(cols);
    const __m256d m = _mm256_set1_pd(mean);
    __m256d squares = _mm256_setzero_pd();
    for (std::int64_t c = 0; c < cols; c += 8) {
      const __m256i mask = lanes(cols - c);
      const __m256 v = _mm256_maskload_ps(row + c, mask);
      // Past the row, v - mean is not 0: the mask, widened to doubles, clears those lanes.
      const __m256d lo = _mm256_and_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), m),
                                       _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(mask))));
      const __m256d hi = _mm256_and_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), m),
                                       _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(mask, 1))));
      squares = _mm256_fmadd_pd(lo, lo, squares);
      squares = _mm256_fmadd_pd(hi, hi, squares);
    }
    const double rstd = 1.0 / __builtin_sqrt(reduce_add(squares) / static_cast<double>(cols) + eps);
    const __m256 scale = _mm256_set1_ps(static_cast<float>(rstd));
    const __m256 shift = _mm256_set1_ps(static_cast<float>(-mean * rstd));
    for (std::int64_t c = 0; c < cols; c += 8) {
      const __m256i mask = lanes(cols - c);
      const __m256 v = _mm256_fmadd_ps(_mm256_maskload_ps(row + c, mask), scale, shift);
      store(row + c, mask, cols - c >= 8,
            _mm256_fmadd_ps(v, _mm256_maskload_ps(gamma + c, mask), _mm256_maskload_ps(beta + c, mask)));
    }
  }
}

} // namespace avx2
} // namespace detail
} // namespace albertner

#endif

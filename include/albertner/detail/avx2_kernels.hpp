// The 256-bit kernels, for CPUs with AVX2 and FMA but not AVX-512 (most laptops and desktops, AMD
// before Zen 4, many cloud instances): the fp32 matrix product, and the int8 one with AVX-VNNI
// dot products where the CPU has them (Intel since Alder Lake, AMD since Zen 5), else exact
// products from AVX2's 16-bit multiply-adds. They read the weights packed as for the AVX-512
// kernels (pack_panels, pack_panels_i8), a 16-column panel as two registers, and leave the
// epilogue (bias, activation, residual) to the portable code, so that they compute what it does.
#pragma once

#include "isa.hpp"

#if ALBERTNER_X86_KERNELS

#include "matmul_f32.hpp"

#include <immintrin.h>

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

/// Rows [r0, r0 + R) of panel p of the fp32 product m (m.packed): c = the dot products, before
/// any epilogue. 2 R accumulators, each step two panel loads and one broadcast per row.
template <int R>
ALBERTNER_AVX2 inline void tile_f32(const MatmulF32& m, std::int64_t r0, std::int64_t p) {
  const std::int64_t K = m.depth;
  const float* panel = m.packed + p * K * kPanelWidth;
  const float* a = m.a + r0 * m.lda;
  __m256 acc[R][2];
  for (auto& row : acc) row[0] = row[1] = _mm256_setzero_ps();
  for (std::int64_t k = 0; k < K; ++k, panel += kPanelWidth) {
    const __m256 w0 = _mm256_loadu_ps(panel), w1 = _mm256_loadu_ps(panel + 8);
#pragma GCC unroll 6
    for (int i = 0; i < R; ++i) {
      const __m256 x = _mm256_broadcast_ss(a + i * m.lda + k);
      acc[i][0] = _mm256_fmadd_ps(x, w0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(x, w1, acc[i][1]);
    }
  }
  for (int h = 0; h < 2; ++h) {
    const std::int64_t n0 = p * kPanelWidth + 8 * h;
    if (n0 >= m.cols) break;
    const __m256i cols = lanes(m.cols - n0);
    for (int i = 0; i < R; ++i) {
      float* dst = m.c + (r0 + i) * m.ldc + n0;
      if (m.cols - n0 >= 8) _mm256_storeu_ps(dst, acc[i][h]);
      else _mm256_maskstore_ps(dst, cols, acc[i][h]);
    }
  }
}

/// Panels [p_begin, p_end) of the fp32 product m (m.packed set), dot products only: the caller
/// applies the epilogue. As in the AVX-512 kernel, a block of rows streams past each panel while
/// it stays in L2.
ALBERTNER_AVX2 inline void matmul_f32_sums(const MatmulF32& m, std::int64_t p_begin, std::int64_t p_end) {
  constexpr std::int64_t kRowBlock = 192;
  for (std::int64_t rb = 0; rb < m.rows; rb += kRowBlock) {
    const std::int64_t re = rb + kRowBlock < m.rows ? rb + kRowBlock : m.rows;
    for (std::int64_t p = p_begin; p < p_end; ++p) {
      std::int64_t r = rb;
      for (; r + 6 <= re; r += 6) tile_f32<6>(m, r, p);
      switch (re - r) {
      case 1: tile_f32<1>(m, r, p); break;
      case 2: tile_f32<2>(m, r, p); break;
      case 3: tile_f32<3>(m, r, p); break;
      case 4: tile_f32<4>(m, r, p); break;
      case 5: tile_f32<5>(m, r, p); break;
      default: break;
      }
    }
  }
}

/// Rows [r0, r0 + R) of panel p (16 columns as two halves of 8): c = the int32 sums scaled by
/// both scales, before any epilogue. Each step dots a quad of activations with a quad of weights
/// per lane. VNNI: one vpdpbusd of the unsigned activations (q + 128), then 128 * colsum off.
/// Without: q * w as |w| * (q * sign(w)) with vpmaddubsw, whose 16-bit pair sums cannot
/// saturate here (|q| <= 127, |w| <= 128: at most 2 * 128 * 127 = 32512), then vpmaddwd
/// into int32.
template <int R, bool Vnni>
ALBERTNER_AVX2_INT8 inline void tile_int8(const MatmulF32& m, std::int64_t r0, std::int64_t p) {
  const std::int64_t steps = (m.depth + 3) / 4;
  const auto* panel = reinterpret_cast<const unsigned char*>(m.packed_i8) + p * steps * 4 * kPanelWidth;
  const unsigned char* a = m.a_u8 + r0 * m.lda_u8;
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80)), ones = _mm256_set1_epi16(1);
  __m256i acc[R][2];
  for (auto& row : acc) row[0] = row[1] = _mm256_setzero_si256();
  for (std::int64_t k = 0; k < steps; ++k, panel += 4 * kPanelWidth) {
    const __m256i w[2] = {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel)),
                          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + 32))};
    __m256i magnitude[2];
    if constexpr (!Vnni) magnitude[0] = _mm256_abs_epi8(w[0]), magnitude[1] = _mm256_abs_epi8(w[1]);
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, a + i * m.lda_u8 + 4 * k, sizeof bits);
      const __m256i x = _mm256_set1_epi32(static_cast<int>(bits));
      if constexpr (Vnni) {
        acc[i][0] = _mm256_dpbusd_avx_epi32(acc[i][0], x, w[0]);
        acc[i][1] = _mm256_dpbusd_avx_epi32(acc[i][1], x, w[1]);
      } else {
        const __m256i q = _mm256_xor_si256(x, flip); // q + 128 -> q as signed bytes
        for (int h = 0; h < 2; ++h) {
          const __m256i pairs = _mm256_maddubs_epi16(magnitude[h], _mm256_sign_epi8(q, w[h]));
          acc[i][h] = _mm256_add_epi32(acc[i][h], _mm256_madd_epi16(pairs, ones));
        }
      }
    }
  }
  for (int h = 0; h < 2; ++h) {
    const std::int64_t n0 = p * kPanelWidth + 8 * h;
    if (n0 >= m.cols) break;
    const __m256i cols = lanes(m.cols - n0);
    const __m256 w_scale = _mm256_maskload_ps(m.w_scale + n0, cols);
    __m256i offset = _mm256_setzero_si256();
    if constexpr (Vnni) offset = _mm256_slli_epi32(_mm256_maskload_epi32(m.w_colsum + n0, cols), 7);
    for (int i = 0; i < R; ++i) {
      const __m256 sum = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc[i][h], offset));
      const __m256 y = _mm256_mul_ps(sum, _mm256_mul_ps(w_scale, _mm256_set1_ps(m.a_scale[r0 + i])));
      _mm256_maskstore_ps(m.c + (r0 + i) * m.ldc + n0, cols, y);
    }
  }
}

/// Panels [p_begin, p_end) of the int8 product m (m.packed_i8, m.w_colsum set), scaled sums only:
/// the caller applies the epilogue.
template <bool Vnni>
ALBERTNER_AVX2_INT8 inline void matmul_int8_sums(const MatmulF32& m, std::int64_t p_begin, std::int64_t p_end) {
  for (std::int64_t p = p_begin; p < p_end; ++p) {
    std::int64_t r = 0;
    for (; r + 4 <= m.rows; r += 4) tile_int8<4, Vnni>(m, r, p);
    switch (m.rows - r) {
    case 1: tile_int8<1, Vnni>(m, r, p); break;
    case 2: tile_int8<2, Vnni>(m, r, p); break;
    case 3: tile_int8<3, Vnni>(m, r, p); break;
    default: break;
    }
  }
}

} // namespace avx2
} // namespace detail
} // namespace albertner

#endif

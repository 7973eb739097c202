// The AVX2 vector of the one-source kernels (kernels/ops.hpp), for CPUs with AVX2 and FMA but not
// AVX-512 (most laptops and desktops, AMD before Zen 4, many cloud instances): 8 float lanes, a
// 16-column panel as two registers, tails through vmaskmov. The int8 product multiplies with
// AVX2's 16-bit multiply-adds (VecAvx2), or with the AVX-VNNI dot products of CPUs that have them
// (VecAvxVnni: Intel since Alder Lake, AMD since Zen 5). Every function carries its own target
// attribute, so this header compiles with any flags.
#pragma once

#include "../isa.hpp"

#if ALBERTNER_X86_KERNELS

#include <immintrin.h>

#include <cstdint>
#include <cstring>

// Only VEX-encoded instructions: nothing here may need AVX-512 registers or encodings.
#define ALBERTNER_AVX2 __attribute__((target("avx2,fma")))
#define ALBERTNER_AVX_VNNI __attribute__((target("avx2,fma,avxvnni")))

namespace albertner {
namespace detail {

struct VecAvx2 {
  using F = __m256;
  using I = __m256i;
  using D = __m256d;
  static constexpr int kWidth = 8;
  // The fp32 product: 6 rows x 1 panel (12 accumulators of 16 registers). The tiles of a panel
  // also prefetch the next panel: with few rows the weights come from memory, and the hardware
  // prefetcher alone leaves the first tile of each panel waiting for them.
  static constexpr int kF32Rows = 6, kF32Panels = 1;
  static constexpr bool kPrefetch = true;
  // The int8 product: three rows per tile (four would not leave the sixteen registers enough),
  // one panel, every row past each panel.
  static constexpr int kInt8Rows = 3, kInt8Panels = 1;
  static constexpr std::int64_t kInt8RowBlock = INT64_MAX;
  /// The activations are signed (q), so the sums need no correction.
  static constexpr bool kInt8Unsigned = false;
  static constexpr bool kBf16Dots = false;

  /// The first n lanes as a load/store mask; `full` when all 8 are.
  struct Tail {
    __m256i mask;
    bool full;
  };
  ALBERTNER_AVX2 static Tail tail(std::int64_t n) {
    const int k = n <= 0 ? 0 : n >= 8 ? 8 : static_cast<int>(n);
    return {_mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)), n >= 8};
  }

  ALBERTNER_AVX2 static F zero() { return _mm256_setzero_ps(); }
  // Not _mm256_broadcast_ss: GCC keeps the accumulators in memory around its pointer argument.
  ALBERTNER_AVX2 static F set1(float x) { return _mm256_set1_ps(x); }
  ALBERTNER_AVX2 static F load(const float* p) { return _mm256_loadu_ps(p); }
  ALBERTNER_AVX2 static F load(const float* p, Tail t) { return _mm256_maskload_ps(p, t.mask); }
  ALBERTNER_AVX2 static F load_or(const float* p, Tail t, float fill) {
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, t.mask), _mm256_castsi256_ps(t.mask));
  }
  ALBERTNER_AVX2 static F load_finite(const float* p, Tail t) {
    const __m256i exponent = _mm256_set1_epi32(0x7F800000);
    const __m256 v = _mm256_maskload_ps(p, t.mask);
    const __m256i non_finite = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(v), exponent), exponent);
    return _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_andnot_si256(non_finite, t.mask)));
  }
  ALBERTNER_AVX2 static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  // A full store where all 8 lanes are real (masked stores are slow on AMD CPUs).
  ALBERTNER_AVX2 static void store(float* p, F v, Tail t) {
    if (t.full) _mm256_storeu_ps(p, v);
    else _mm256_maskstore_ps(p, t.mask, v);
  }
  ALBERTNER_AVX2 static F zero_past(F v, Tail t) { return _mm256_and_ps(v, _mm256_castsi256_ps(t.mask)); }

  ALBERTNER_AVX2 static F add(F a, F b) { return _mm256_add_ps(a, b); }
  ALBERTNER_AVX2 static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  ALBERTNER_AVX2 static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  ALBERTNER_AVX2 static F div(F a, F b) { return _mm256_div_ps(a, b); }
  ALBERTNER_AVX2 static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  ALBERTNER_AVX2 static F fnma(F a, F b, F c) { return _mm256_fnmadd_ps(a, b, c); }
  ALBERTNER_AVX2 static F min(F a, F b) { return _mm256_min_ps(a, b); }
  ALBERTNER_AVX2 static F max(F a, F b) { return _mm256_max_ps(a, b); }
  ALBERTNER_AVX2 static F abs(F a) { return _mm256_and_ps(_mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF)), a); }
  ALBERTNER_AVX2 static F round(F a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  /// 2^e for integer e in [-126, 127].
  ALBERTNER_AVX2 static F power_of_two(__m256i e) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23));
  }
  /// p * 2^n as two exact powers of two (n in [-150, 128], each half normal), so the one rounding
  /// is where vscalefps rounds.
  ALBERTNER_AVX2 static F scale_pow2(F p, F n) {
    const __m256i whole = _mm256_cvtps_epi32(n), half = _mm256_srai_epi32(whole, 1);
    return _mm256_mul_ps(_mm256_mul_ps(p, power_of_two(half)), power_of_two(_mm256_sub_epi32(whole, half)));
  }
  ALBERTNER_AVX2 static F select_negative(F x, F if_negative, F otherwise) {
    return _mm256_blendv_ps(otherwise, if_negative, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
  }
  ALBERTNER_AVX2 static float reduce_add(F v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    return _mm_cvtss_f32(_mm_add_ss(x, _mm_movehdup_ps(x)));
  }
  ALBERTNER_AVX2 static float reduce_max(F v) {
    __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_max_ps(x, _mm_movehl_ps(x, x));
    return _mm_cvtss_f32(_mm_max_ss(x, _mm_movehdup_ps(x)));
  }

  ALBERTNER_AVX2 static void store_biased_u8(std::uint8_t* out, F v, std::int64_t n) {
    // The low byte of each int32, lanes 0-3 and 4-7 gathered into the first 8 bytes.
    const __m256i low_bytes = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12,
                                               -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(128));
    const __m256i packed =
        _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(biased, low_bytes), _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1));
    std::uint8_t bytes[8];
    _mm_storel_epi64(reinterpret_cast<__m128i*>(bytes), _mm256_castsi256_si128(packed));
    std::memcpy(out, bytes, static_cast<std::size_t>(n < 8 ? n : 8));
  }

  ALBERTNER_AVX2 static D dzero() { return _mm256_setzero_pd(); }
  ALBERTNER_AVX2 static D dset1(double x) { return _mm256_set1_pd(x); }
  ALBERTNER_AVX2 static double dreduce_add(D v) {
    const __m128d x = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(x, _mm_unpackhi_pd(x, x)));
  }
  ALBERTNER_AVX2 static D add_widened(D acc, F v) {
    acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    return _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  }
  ALBERTNER_AVX2 static D add_squares_widened(D acc, F v, D mean, Tail t) {
    // Past the row, v - mean is not 0: the mask, widened to doubles, clears those lanes.
    const D lo = _mm256_and_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), mean),
                               _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(t.mask))));
    const D hi = _mm256_and_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), mean),
                               _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(t.mask, 1))));
    acc = _mm256_fmadd_pd(lo, lo, acc);
    return _mm256_fmadd_pd(hi, hi, acc);
  }

  // The int8 product on AVX2 alone: q * w as |w| * (q * sign(w)) with vpmaddubsw, whose 16-bit pair
  // sums cannot saturate here (|q| <= 127, |w| <= 128: at most 2 * 128 * 127 = 32512), then
  // vpmaddwd into int32. Compiled for AVX2 and FMA only: under `avxvnni`, Clang turns vpmaddwd +
  // vpaddd into the AVX-VNNI vpdpwssd, which CPUs without it cannot run.
  struct Int8Weights {
    __m256i w, magnitude;
  };
  using Int8Activations = I;
  ALBERTNER_AVX2 static I izero() { return _mm256_setzero_si256(); }
  ALBERTNER_AVX2 static Int8Weights int8_weights(const unsigned char* p) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return {w, _mm256_abs_epi8(w)};
  }
  /// The four signed activations q of `bits` (q + 128 each) in every lane.
  ALBERTNER_AVX2 static Int8Activations int8_activations(std::uint32_t bits) {
    return _mm256_xor_si256(_mm256_set1_epi32(static_cast<int>(bits)), _mm256_set1_epi8(static_cast<char>(0x80)));
  }
  ALBERTNER_AVX2 static I int8_dot(I acc, Int8Activations q, const Int8Weights& w) {
    const __m256i pairs = _mm256_maddubs_epi16(w.magnitude, _mm256_sign_epi8(q, w.w));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
  }
  ALBERTNER_AVX2 static I int8_offset(const std::int32_t* colsum, Tail t) {
    return _mm256_slli_epi32(_mm256_maskload_epi32(colsum, t.mask), 7);
  }
  ALBERTNER_AVX2 static F int8_to_float(I sum, I offset) { return _mm256_cvtepi32_ps(_mm256_sub_epi32(sum, offset)); }
};

/// VecAvx2 with the AVX-VNNI dot product: each step one vpdpbusd of the unsigned activations
/// (q + 128), the same int32 sums once 128 * colsum is taken off; four rows per tile.
struct VecAvxVnni : VecAvx2 {
  static constexpr int kInt8Rows = 4;
  static constexpr bool kInt8Unsigned = true;
  using Int8Weights = __m256i;
  ALBERTNER_AVX2 static Int8Weights int8_weights(const unsigned char* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  ALBERTNER_AVX2 static Int8Activations int8_activations(std::uint32_t bits) {
    return _mm256_set1_epi32(static_cast<int>(bits));
  }
  ALBERTNER_AVX_VNNI static I int8_dot(I acc, Int8Activations x, Int8Weights w) {
    return _mm256_dpbusd_avx_epi32(acc, x, w);
  }
};

} // namespace detail
} // namespace albertner

#endif

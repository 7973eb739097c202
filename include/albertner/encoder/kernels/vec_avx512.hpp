// The AVX-512 vector of the one-source kernels (kernels/ops.hpp): 16 float lanes, masked loads and
// stores for row tails, and the BF16 and VNNI dot products. Every function carries its own target
// attribute, so this header compiles with any flags; the kernels run only where
// detail::active_kernel_isa() found AVX-512.
#pragma once

#include "../isa.hpp"

#if ALBERTNER_X86_KERNELS

#include <immintrin.h>

#include <cstdint>

// GCC 12 flags the intrinsics' own `__m512 __Y = __Y;` (an intentionally undefined register) when
// they are inlined here; the warning is about the compiler's header, not this code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#define ALBERTNER_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))
// The products also hold the BF16 and VNNI dot-product variants, so they are compiled for the
// superset; the fp32 product uses neither and runs on every AVX-512 CPU.
#define ALBERTNER_AVX512_DOTS __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma,avx512bf16,avx512vnni")))

namespace albertner {
namespace detail {

struct VecAvx512 {
  using F = __m512;
  using I = __m512i;
  using D = __m512d;
  static constexpr int kWidth = 16;
  // The fp32 product: 8 rows x 2 panels (16 accumulators of 32 registers), no software prefetch.
  static constexpr int kF32Rows = 8, kF32Panels = 2;
  static constexpr bool kPrefetch = false;
  // The int8 and bf16 products: the same tiles, a dot product of 32-bit groups per step.
  static constexpr int kInt8Rows = 8, kInt8Panels = 2;
  static constexpr std::int64_t kInt8RowBlock = 192;
  /// vpdpbusd multiplies the unsigned activations (q + 128): the sums hold 128 * colsum too much.
  static constexpr bool kInt8Unsigned = true;

  /// The first n lanes (none for n <= 0); `full` when all are.
  struct Tail {
    __mmask16 mask;
    bool full;
  };
  ALBERTNER_AVX512 static Tail tail(std::int64_t n) {
    return {static_cast<__mmask16>(n <= 0 ? 0 : n >= 16 ? 0xFFFF : (1u << n) - 1u), n >= 16};
  }

  ALBERTNER_AVX512 static F zero() { return _mm512_setzero_ps(); }
  ALBERTNER_AVX512 static F set1(float x) { return _mm512_set1_ps(x); }
  ALBERTNER_AVX512 static F load(const float* p) { return _mm512_loadu_ps(p); }
  ALBERTNER_AVX512 static F load(const float* p, Tail t) { return _mm512_maskz_loadu_ps(t.mask, p); }
  /// The tail's lanes from p, `fill` in the others.
  ALBERTNER_AVX512 static F load_or(const float* p, Tail t, float fill) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), t.mask, p);
  }
  /// The tail's lanes from p with non-finite values as 0, and 0 past the tail.
  ALBERTNER_AVX512 static F load_finite(const float* p, Tail t) {
    constexpr int non_finite = 0x01 | 0x08 | 0x10 | 0x80; // quiet NaN, +inf, -inf, signalling NaN
    const F v = _mm512_maskz_loadu_ps(t.mask, p);
    return _mm512_maskz_mov_ps(t.mask & ~_mm512_fpclass_ps_mask(v, non_finite), v);
  }
  ALBERTNER_AVX512 static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  // A full store where all lanes are real: masked stores are slow on some CPUs (Zen 4).
  ALBERTNER_AVX512 static void store(float* p, F v, Tail t) {
    if (t.full) _mm512_storeu_ps(p, v);
    else _mm512_mask_storeu_ps(p, t.mask, v);
  }
  /// v with the lanes past the tail set to 0.
  ALBERTNER_AVX512 static F zero_past(F v, Tail t) { return _mm512_maskz_mov_ps(t.mask, v); }

  ALBERTNER_AVX512 static F add(F a, F b) { return _mm512_add_ps(a, b); }
  ALBERTNER_AVX512 static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  ALBERTNER_AVX512 static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  ALBERTNER_AVX512 static F div(F a, F b) { return _mm512_div_ps(a, b); }
  /// a * b + c, rounded once.
  ALBERTNER_AVX512 static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  /// c - a * b, rounded once.
  ALBERTNER_AVX512 static F fnma(F a, F b, F c) { return _mm512_fnmadd_ps(a, b, c); }
  /// min and max return b where either is NaN.
  ALBERTNER_AVX512 static F min(F a, F b) { return _mm512_min_ps(a, b); }
  ALBERTNER_AVX512 static F max(F a, F b) { return _mm512_max_ps(a, b); }
  ALBERTNER_AVX512 static F abs(F a) { return _mm512_abs_ps(a); }
  /// To the nearest integer, ties to even.
  ALBERTNER_AVX512 static F round(F a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  /// p * 2^n for integral n in [-150, 128], rounded once (vscalefps).
  ALBERTNER_AVX512 static F scale_pow2(F p, F n) { return _mm512_scalef_ps(p, n); }
  /// if_negative where x < 0, else otherwise.
  ALBERTNER_AVX512 static F select_negative(F x, F if_negative, F otherwise) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ), otherwise, if_negative);
  }
  ALBERTNER_AVX512 static float reduce_add(F v) { return _mm512_reduce_add_ps(v); }
  ALBERTNER_AVX512 static float reduce_max(F v) { return _mm512_reduce_max_ps(v); }

  /// Stores n (up to 16) lanes of v, integers in [-127, 127], as the bytes v + 128.
  ALBERTNER_AVX512 static void store_biased_u8(std::uint8_t* out, F v, std::int64_t n) {
    const __m128i bytes = _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(128)));
    _mm_mask_storeu_epi8(out, tail(n).mask, bytes);
  }

  // LayerNorm's moments, in double: both halves of a float vector widened.
  ALBERTNER_AVX512 static D dzero() { return _mm512_setzero_pd(); }
  ALBERTNER_AVX512 static D dset1(double x) { return _mm512_set1_pd(x); }
  ALBERTNER_AVX512 static double dreduce_add(D v) { return _mm512_reduce_add_pd(v); }
  /// acc + the low half of v + its high half.
  ALBERTNER_AVX512 static D add_widened(D acc, F v) {
    acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    return _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
  }
  /// acc + (v - mean)^2 of the low half, then of the high half, lanes past the tail 0.
  ALBERTNER_AVX512 static D add_squares_widened(D acc, F v, D mean, Tail t) {
    const D lo = _mm512_maskz_sub_pd(static_cast<__mmask8>(t.mask), _mm512_cvtps_pd(_mm512_castps512_ps256(v)), mean);
    const D hi =
        _mm512_maskz_sub_pd(static_cast<__mmask8>(t.mask >> 8), _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)), mean);
    acc = _mm512_fmadd_pd(lo, lo, acc);
    return _mm512_fmadd_pd(hi, hi, acc);
  }

  // The int8 product: each step one 32-bit group of four activations broadcast, dotted with four
  // weights per lane.
  using Int8Weights = I;
  using Int8Activations = I;
  ALBERTNER_AVX512 static I izero() { return _mm512_setzero_si512(); }
  ALBERTNER_AVX512 static Int8Weights int8_weights(const unsigned char* p) { return _mm512_loadu_si512(p); }
  /// The four unsigned activations q + 128 of `bits` in every lane.
  ALBERTNER_AVX512 static Int8Activations int8_activations(std::uint32_t bits) {
    return _mm512_set1_epi32(static_cast<int>(bits));
  }
  /// Exact: at most 4 * 255 * 128 per step.
  ALBERTNER_AVX512_DOTS static I int8_dot(I acc, Int8Activations x, Int8Weights w) {
    return _mm512_dpbusd_epi32(acc, x, w);
  }
  /// The tail's lanes of the int32 column sums times 128: what the unsigned activations added.
  ALBERTNER_AVX512 static I int8_offset(const std::int32_t* colsum, Tail t) {
    return _mm512_slli_epi32(_mm512_maskz_loadu_epi32(t.mask, colsum), 7);
  }
  ALBERTNER_AVX512 static F int8_to_float(I sum, I offset) { return _mm512_cvtepi32_ps(_mm512_sub_epi32(sum, offset)); }

  // The bf16 product: a pair of bf16 activations broadcast, dotted with a pair of weights per lane
  // (two multiply-adds, float accumulation).
  static constexpr bool kBf16Dots = true;
  ALBERTNER_AVX512 static I load_bits(const unsigned char* p) { return _mm512_loadu_si512(p); }
  ALBERTNER_AVX512 static I broadcast_bits(std::uint32_t bits) { return _mm512_set1_epi32(static_cast<int>(bits)); }
  ALBERTNER_AVX512_DOTS static F bf16_dot(F acc, I x, I w) { return _mm512_dpbf16_ps(acc, (__m512bh)x, (__m512bh)w); }
  /// a_bf16[r, c] = a[r, c] rounded to bf16 (to nearest even) for c < cols, 0 up to `ld` (cols
  /// rounded up to even): the left-hand side of a bf16 product.
  ALBERTNER_AVX512_DOTS static void round_rows_bf16(const float* a, std::int64_t rows, std::int64_t cols,
                                                    std::int64_t lda, std::uint16_t* out, std::int64_t ld) {
    for (std::int64_t r = 0; r < rows; ++r, a += lda, out += ld)
      for (std::int64_t c = 0; c < ld; c += 32) {
        const __m512 lo = _mm512_maskz_loadu_ps(tail(cols - c).mask, a + c);
        const __m512 hi = _mm512_maskz_loadu_ps(tail(cols - c - 16).mask, a + c + 16);
        const __m512i pairs = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
        const std::int64_t n = ld - c;
        _mm512_mask_storeu_epi16(out + c, n >= 32 ? ~__mmask32(0) : (__mmask32(1) << n) - 1u, pairs);
      }
  }
};

} // namespace detail
} // namespace albertner

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif

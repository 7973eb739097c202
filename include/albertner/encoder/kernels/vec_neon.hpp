// The NEON vector of the one-source kernels (kernels/ops.hpp), for 64-bit ARM (aarch64, where
// Advanced SIMD is always present): 4 float lanes, a 16-column panel as four registers, row tails
// through a small stack copy (NEON has no masked loads). The int8 product sums exactly in int32:
// with SDOT where the CPU has the dot-product instructions (VecNeonDot, Armv8.2's optional
// FEAT_DotProd), else widening multiplies and pairwise adds (VecNeon).
#pragma once

#include "../isa.hpp"

#if ALBERTNER_NEON_KERNELS

#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#define ALBERTNER_NEON
#define ALBERTNER_NEON_DOT __attribute__((target("arch=armv8.2-a+dotprod")))

namespace albertner {
namespace detail {

struct VecNeon {
  using F = float32x4_t;
  using I = int32x4_t;
  using D = float64x2_t;
  static constexpr int kWidth = 4;
  // The fp32 product: 6 rows x 1 panel of 4 registers (24 accumulators of 32 registers).
  static constexpr int kF32Rows = 6, kF32Panels = 1;
  static constexpr bool kPrefetch = false;
  static constexpr int kInt8Rows = 4, kInt8Panels = 1;
  static constexpr std::int64_t kInt8RowBlock = INT64_MAX;
  /// The activations are signed (q), so the sums need no correction.
  static constexpr bool kInt8Unsigned = false;
  static constexpr bool kBf16Dots = false;

  struct Tail {
    int n;
    bool full;
  };
  static Tail tail(std::int64_t n) { return {n <= 0 ? 0 : n >= 4 ? 4 : static_cast<int>(n), n >= 4}; }

  static F zero() { return vdupq_n_f32(0.0f); }
  static F set1(float x) { return vdupq_n_f32(x); }
  static F load(const float* p) { return vld1q_f32(p); }
  static F load_or(const float* p, Tail t, float fill) {
    if (t.full) return vld1q_f32(p);
    float lanes[4] = {fill, fill, fill, fill};
    std::memcpy(lanes, p, sizeof(float) * static_cast<std::size_t>(t.n));
    return vld1q_f32(lanes);
  }
  static F load(const float* p, Tail t) { return load_or(p, t, 0.0f); }
  static F load_finite(const float* p, Tail t) {
    const uint32x4_t bits = vreinterpretq_u32_f32(load(p, t)), exponent = vdupq_n_u32(0x7F800000u);
    const uint32x4_t finite = vmvnq_u32(vceqq_u32(vandq_u32(bits, exponent), exponent));
    return vreinterpretq_f32_u32(vandq_u32(bits, finite));
  }
  static void store(float* p, F v) { vst1q_f32(p, v); }
  static void store(float* p, F v, Tail t) {
    if (t.full) return vst1q_f32(p, v);
    float lanes[4];
    vst1q_f32(lanes, v);
    std::memcpy(p, lanes, sizeof(float) * static_cast<std::size_t>(t.n));
  }
  static uint32x4_t mask(Tail t) {
    const uint32_t index[4] = {0, 1, 2, 3};
    return vcltq_u32(vld1q_u32(index), vdupq_n_u32(static_cast<uint32_t>(t.n)));
  }
  static F zero_past(F v, Tail t) { return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), mask(t))); }

  static F add(F a, F b) { return vaddq_f32(a, b); }
  static F sub(F a, F b) { return vsubq_f32(a, b); }
  static F mul(F a, F b) { return vmulq_f32(a, b); }
  static F div(F a, F b) { return vdivq_f32(a, b); }
  static F fma(F a, F b, F c) { return vfmaq_f32(c, a, b); }
  static F fnma(F a, F b, F c) { return vfmsq_f32(c, a, b); }
  static F min(F a, F b) { return vminq_f32(a, b); }
  static F max(F a, F b) { return vmaxq_f32(a, b); }
  static F abs(F a) { return vabsq_f32(a); }
  static F round(F a) { return vrndnq_f32(a); }
  static F power_of_two(int32x4_t e) { return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(e, vdupq_n_s32(127)), 23)); }
  /// As VecAvx2::scale_pow2: two exact powers of two, one rounding.
  static F scale_pow2(F p, F n) {
    const int32x4_t whole = vcvtq_s32_f32(n), half = vshrq_n_s32(whole, 1);
    return vmulq_f32(vmulq_f32(p, power_of_two(half)), power_of_two(vsubq_s32(whole, half)));
  }
  static F select_negative(F x, F if_negative, F otherwise) { return vbslq_f32(vcltzq_f32(x), if_negative, otherwise); }
  static float reduce_add(F v) { return vaddvq_f32(v); }
  static float reduce_max(F v) { return vmaxvq_f32(v); }

  static void store_biased_u8(std::uint8_t* out, F v, std::int64_t n) {
    const int16x4_t halves = vmovn_s32(vaddq_s32(vcvtq_s32_f32(v), vdupq_n_s32(128)));
    const uint8x8_t bytes = vreinterpret_u8_s8(vmovn_s16(vcombine_s16(halves, halves)));
    std::uint8_t lanes[8];
    vst1_u8(lanes, bytes);
    std::memcpy(out, lanes, static_cast<std::size_t>(n < 4 ? n : 4));
  }

  static D dzero() { return vdupq_n_f64(0.0); }
  static D dset1(double x) { return vdupq_n_f64(x); }
  static double dreduce_add(D v) { return vaddvq_f64(v); }
  static D add_widened(D acc, F v) {
    acc = vaddq_f64(acc, vcvt_f64_f32(vget_low_f32(v)));
    return vaddq_f64(acc, vcvt_high_f64_f32(v));
  }
  static D add_squares_widened(D acc, F v, D mean, Tail t) {
    D lo = vsubq_f64(vcvt_f64_f32(vget_low_f32(v)), mean), hi = vsubq_f64(vcvt_high_f64_f32(v), mean);
    if (!t.full) { // past the row, v - mean is not 0
      const uint64_t index[2] = {0, 1};
      const uint64x2_t first = vld1q_u64(index), n = vdupq_n_u64(static_cast<uint64_t>(t.n));
      lo = vreinterpretq_f64_u64(vandq_u64(vreinterpretq_u64_f64(lo), vcltq_u64(first, n)));
      hi = vreinterpretq_f64_u64(vandq_u64(vreinterpretq_u64_f64(hi), vcltq_u64(vaddq_u64(first, vdupq_n_u64(2)), n)));
    }
    acc = vfmaq_f64(acc, lo, lo);
    return vfmaq_f64(acc, hi, hi);
  }

  // The int8 product: the four signed activations q of a 32-bit group in every lane, times four
  // weights per lane, products widened to 16 bits, pair sums (at most 2 * 127 * 128 = 32512, no
  // overflow) and pairs of pairs added into int32.
  using Int8Weights = int8x16_t;
  using Int8Activations = int8x16_t;
  static I izero() { return vdupq_n_s32(0); }
  static Int8Weights int8_weights(const unsigned char* p) { return vld1q_s8(reinterpret_cast<const int8_t*>(p)); }
  static Int8Activations int8_activations(std::uint32_t bits) {
    return veorq_s8(vreinterpretq_s8_u32(vdupq_n_u32(bits)), vdupq_n_s8(static_cast<int8_t>(-128)));
  }
  static I int8_dot(I acc, Int8Activations q, Int8Weights w) {
    const int16x8_t pairs = vpaddq_s16(vmull_s8(vget_low_s8(q), vget_low_s8(w)), vmull_high_s8(q, w));
    return vpadalq_s16(acc, pairs);
  }
  static I int8_offset(const std::int32_t*, Tail) { return vdupq_n_s32(0); }
  static F int8_to_float(I sum, I offset) { return vcvtq_f32_s32(vsubq_s32(sum, offset)); }
};

/// VecNeon with SDOT: four signed products summed into each int32 lane in one instruction.
struct VecNeonDot : VecNeon {
  ALBERTNER_NEON_DOT static I int8_dot(I acc, Int8Activations q, Int8Weights w) { return vdotq_s32(acc, q, w); }
};

} // namespace detail
} // namespace albertner

#endif

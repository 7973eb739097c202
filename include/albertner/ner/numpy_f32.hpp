// The float32 arithmetic of the Hugging Face pipeline's numpy post-processing, reproduced in the
// same operation order so that scores match the reference to the last bit or two.
#pragma once

#include <cmath>
#include <cstddef>

namespace albertner {
namespace detail {

/// numpy's float32 `add.reduce` over a contiguous run (pairwise_sum in loops_utils.h): plain
/// accumulation below 8 items, 8 interleaved accumulators up to 128, halves (multiple of 8)
/// above. The reduction starts from the identity 0, and 0 + x == x, so that step is omitted.
inline float pairwise_sum_f32(const float* a, std::size_t n) {
  if (n < 8) {
    float res = 0.0f;
    for (std::size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    float r[8];
    for (std::size_t k = 0; k < 8; ++k) r[k] = a[k];
    std::size_t i = 8;
    for (; i < n - n % 8; i += 8)
      for (std::size_t k = 0; k < 8; ++k) r[k] += a[i + k];
    float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  std::size_t half = n / 2;
  half -= half % 8;
  return pairwise_sum_f32(a, half) + pairwise_sum_f32(a + half, n - half);
}

/// `np.mean` of a float32 vector: the pairwise sum divided by the count, rounded once to float32
/// (numpy divides in float64 and casts back, which rounds to the same float32).
inline float mean_f32(const float* a, std::size_t n) {
  return static_cast<float>(static_cast<double>(pairwise_sum_f32(a, n)) / static_cast<double>(n));
}

/// `np.exp` of a finite float32 as numpy computes it on x86-64 with AVX2+FMA3 or AVX512F (its
/// SIMD kernel, up to 2.5 ulp off the true value): Cody-Waite reduction by k*ln2, a 5/2 rational
/// minimax approximation, scaling by 2^k. libm's expf differs in the last bit for about 1 in 8
/// of the pipeline's probabilities; this reproduces the reference scores bit for bit.
inline float numpy_exp_f32(float x) {
  if (x >= 88.72283935546875f) return HUGE_VALF;
  if (x <= -103.97208404541015625f) return 0.0f;
  // nearbyint (ties to even, as numpy's add-and-subtract 1.5*2^23) keeps the product rounded
  // on its own: a compiler may not fuse it into an FMA across a call.
  const float k = std::nearbyint(x * 1.44269504088896341f);
  float r = std::fma(k, -6.93145752e-1f, x);
  r = std::fma(k, -1.42860677e-6f, r);
  float num = std::fma(5.082762527590693718096e-04f, r, 6.757896990527504603057e-03f);
  num = std::fma(num, r, 5.114512081637298353406e-02f);
  num = std::fma(num, r, 2.473615434895520810817e-01f);
  num = std::fma(num, r, 7.257664613233124478488e-01f);
  num = std::fma(num, r, 9.999999999980870924916e-01f);
  float den = std::fma(2.159509375685829852307e-02f, r, -2.742335390411667452936e-01f);
  den = std::fma(den, r, 1.0f);
  return std::ldexp(num / den, static_cast<int>(k));
}

/// The pipeline's softmax of one row: `e = exp(x - max(x)); e / e.sum()`, all in float32.
/// The caller guarantees finite logits and n >= 1.
inline void softmax_f32(const float* logits, std::size_t n, float* out) {
  float m = logits[0];
  for (std::size_t j = 1; j < n; ++j)
    if (logits[j] > m) m = logits[j];
  for (std::size_t j = 0; j < n; ++j) out[j] = numpy_exp_f32(logits[j] - m);
  const float sum = pairwise_sum_f32(out, n);
  for (std::size_t j = 0; j < n; ++j) out[j] = out[j] / sum;
}

/// `np.argmax`: the first index of the largest value.
inline std::size_t argmax_f32(const float* a, std::size_t n) {
  std::size_t best = 0;
  for (std::size_t j = 1; j < n; ++j)
    if (a[j] > a[best]) best = j;
  return best;
}

} // namespace detail
} // namespace albertner

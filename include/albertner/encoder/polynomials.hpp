// The constants of the vectorized exp and erfc that the AVX-512 and AVX2 kernels share, so that
// both compute the same function.
#pragma once

namespace albertner {
namespace detail {

/// e^x is computed for x clamped to [kExpLowest, kExpHighest]: below, expf is 0 (or a denormal
/// that scaling by 2^n still gives); above, inf.
constexpr float kExpLowest = -104.0f, kExpHighest = 88.7228394f;
constexpr float kLog2e = 1.44269504088896341f;
/// ln 2 = kLn2High + kLn2Low, the high part short enough that n * kLn2High is exact.
constexpr float kLn2High = 0.693145751953125f, kLn2Low = 1.428606765330187e-06f;
/// e^r for |r| <= ln2 / 2: the degree-7 Taylor polynomial, highest coefficient first (Horner).
constexpr float kExpTaylor[] = {1.0f / 5040.0f, 1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f,
                                1.0f / 6.0f,    0.5f,          1.0f,          1.0f};
/// erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z / 2): the Chebyshev fit of Numerical Recipes
/// (erfcc, fractional error < 1.2e-7 everywhere), P's highest coefficient first.
constexpr float kErfcChebyshev[] = {0.17087277f,  -0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f,
                                    -0.18628806f, 0.09678418f,  0.37409196f, 1.00002368f,  -1.26551223f};

} // namespace detail
} // namespace albertner

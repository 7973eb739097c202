// The feed-forward activations, written with Hugging Face's constants and operation order
// (activations.py) so that fp32 results round like PyTorch's.
#pragma once

#include "../model/config.hpp"

#include <Eigen/Core>

#include <cmath>
#include <cstddef>

namespace albertner {
namespace detail {

/// Applies `act` in place to `n` contiguous floats. The switch sits outside the loops so
/// that each loop is a plain, vectorizable kernel. The tanh forms use Eigen's vectorized tanh
/// (a rational approximation within 7 float ulps of the true value; torch uses Sleef, within 1),
/// about 5x faster than std::tanh and far inside the parity tolerances.
inline void apply_activation(activation act, float* x, std::size_t n) noexcept {
  Eigen::Map<Eigen::ArrayXf> a(x, static_cast<Eigen::Index>(n));
  switch (act) {
  case activation::gelu:
    // torch's exact GELU: x * 0.5 * (1 + erf(x * M_SQRT1_2)).
    for (std::size_t i = 0; i < n; ++i) x[i] = x[i] * 0.5f * (1.0f + std::erf(x[i] * 0.70710678118654752440f));
    return;
  case activation::gelu_new:
    // NewGELUActivation: 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))), pow(x, 3) = x*x*x.
    a = 0.5f * a * (1.0f + (0.7978845608028654f * (a + 0.044715f * (a * a * a))).tanh());
    return;
  case activation::gelu_fast:
    // FastGELUActivation: 0.5 * x * (1 + tanh(x * 0.7978845608 * (1 + 0.044715 * x * x))).
    a = 0.5f * a * (1.0f + (a * 0.7978845608f * (1.0f + 0.044715f * a * a)).tanh());
    return;
  case activation::relu:
    // Written so that NaN passes through, as torch.relu lets it.
    for (std::size_t i = 0; i < n; ++i) x[i] = x[i] < 0.0f ? 0.0f : x[i];
    return;
  }
}

} // namespace detail
} // namespace albertner

// bfloat16: the upper half of an IEEE float. Model files may store their matrices in it (half
// the bytes); the encoder still computes in float.
#pragma once

#include <cstdint>
#include <cstring>

namespace albertner {
namespace detail {

/// Exact: every bf16 is a float.
inline float f32_from_bf16(std::uint16_t h) noexcept {
  const std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

/// Rounded to nearest, ties to even (as torch's .to(torch.bfloat16) and the AVX-512 BF16
/// conversions); NaN stays a (quiet) NaN with its sign, infinities stay infinite.
inline std::uint16_t bf16_from_f32(float v) noexcept {
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>(bits >> 16);
}

inline float to_f32(float v) noexcept { return v; }
inline float to_f32(std::uint16_t h) noexcept { return f32_from_bf16(h); }

} // namespace detail
} // namespace albertner

// Code point ↔ byte positions of a UTF-8 string: Hugging Face offsets count code points, while
// slicing the caller's std::string needs bytes.
#pragma once

#include "../status.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace albertner {
namespace detail {

/// Length in bytes of the well-formed UTF-8 sequence at s[i] of the `size` bytes at `s` (RFC 3629:
/// no overlongs, no surrogates, nothing above U+10FFFF), or 0 when it is not well formed.
inline std::size_t utf8_sequence_length(const char* s, std::size_t size, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const std::size_t left = size - i;
  const unsigned char b0 = byte(i);
  const auto cont = [&](std::size_t k, unsigned char lo, unsigned char hi) {
    return byte(i + k) >= lo && byte(i + k) <= hi;
  };
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return left >= 2 && cont(1, 0x80, 0xBF) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const unsigned char lo = b0 == 0xE0 ? 0xA0 : 0x80, hi = b0 == 0xED ? 0x9F : 0xBF;
    return left >= 3 && cont(1, lo, hi) && cont(2, 0x80, 0xBF) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const unsigned char lo = b0 == 0xF0 ? 0x90 : 0x80, hi = b0 == 0xF4 ? 0x8F : 0xBF;
    return left >= 4 && cont(1, lo, hi) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}
inline std::size_t utf8_sequence_length(const std::string& s, std::size_t i) {
  return utf8_sequence_length(s.data(), s.size(), i);
}

/// For a well-formed UTF-8 `text` of n code points, the n + 1 byte positions where code points
/// 0..n start (the last one is text.size()).
inline Result<std::vector<std::size_t>> code_point_byte_offsets(const std::string& text) {
  std::vector<std::size_t> starts;
  starts.reserve(text.size() + 1);
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0) return Error(errc::invalid_input, "text is not valid UTF-8 at byte " + std::to_string(i));
    starts.push_back(i);
    i += len;
  }
  starts.push_back(text.size());
  return starts;
}

} // namespace detail
} // namespace albertner

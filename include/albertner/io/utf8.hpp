// UTF-8 ↔ code points for the tokenizer, which works on code points (Hugging Face offsets count them).
#pragma once

#include "../status.hpp"
#include "utf8_index.hpp"

#include <cstddef>
#include <string>

namespace albertner {
namespace detail {

/// Appends the UTF-8 encoding of `c` (a Unicode scalar value) to `out`.
inline void utf8_append(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

/// Number of UTF-8 bytes of `c`.
inline std::size_t utf8_length(char32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

/// The code points of `text`, or errc::invalid_input naming the byte offset of the first
/// malformed sequence.
inline Result<std::u32string> utf8_decode(const std::string& text) {
  std::u32string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0) return Error(errc::invalid_input, "text is not valid UTF-8 at byte " + std::to_string(i));
    const auto byte = [&](std::size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(text[i + k])); };
    char32_t c = len == 1 ? byte(0) : len == 2 ? (byte(0) & 0x1F) : len == 3 ? (byte(0) & 0x0F) : (byte(0) & 0x07);
    for (std::size_t k = 1; k < len; ++k) c = (c << 6) | (byte(k) & 0x3F);
    out += c;
    i += len;
  }
  return out;
}

} // namespace detail
} // namespace albertner

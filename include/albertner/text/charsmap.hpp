// sentencepiece's precompiled_charsmap (the nmt_nfkc rules) and the lookup Hugging Face's
// `Precompiled` normalizer does on it.
#pragma once

#include "../io/utf8.hpp"
#include "../status.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace albertner {
namespace detail {

/// Blob layout: uint32 LE trie size in bytes | Darts-clone double-array units (uint32 LE) |
/// NUL-terminated replacement strings; a trie value is the byte offset of its replacement.
class Charsmap {
public:
  Charsmap() = default;

  /// Parses the blob; an empty blob gives a map without rules.
  static Result<Charsmap> parse(const std::string& blob) {
    Charsmap m;
    if (blob.empty()) return m;
    const auto bad = [](const std::string& what) { return Error(errc::format, "precompiled_charsmap: " + what); };
    if (blob.size() < 4) return bad("shorter than its header");
    const std::uint32_t trie_bytes = read_u32(blob.data());
    if (trie_bytes % 4 != 0 || trie_bytes == 0 || trie_bytes > blob.size() - 4)
      return bad("trie size " + std::to_string(trie_bytes) + " does not fit the blob");
    m.units_.resize(trie_bytes / 4);
    for (std::size_t i = 0; i < m.units_.size(); ++i) m.units_[i] = read_u32(blob.data() + 4 + 4 * i);
    m.pool_ = blob.substr(4 + trie_bytes);
    return m;
  }

  bool empty() const noexcept { return units_.empty(); }

  /// tokenizers' `Precompiled::transform`: the replacement of the *shortest* key that is a prefix
  /// of `key` (the first common-prefix-search hit, not the longest). False when no key matches or
  /// the replacement is not valid UTF-8.
  bool transform(const char* key, std::size_t size, std::u32string& replacement) const {
    if (units_.empty()) return false;
    std::size_t node = offset(units_[0]);
    for (std::size_t i = 0; i < size; ++i) {
      const auto c = static_cast<unsigned char>(key[i]);
      if (c == 0) return false; // Darts keys are NUL-terminated: no key contains NUL
      node ^= c;
      if (node >= units_.size()) return false;
      const std::uint32_t unit = units_[node];
      if (label(unit) != c) return false;
      node ^= offset(unit);
      if (has_leaf(unit)) {
        if (node >= units_.size()) return false;
        return replacement_at(value(units_[node]), replacement);
      }
    }
    return false;
  }

private:
  static std::uint32_t read_u32(const char* p) {
    unsigned char b[4];
    std::memcpy(b, p, 4);
    return static_cast<std::uint32_t>(b[0]) | static_cast<std::uint32_t>(b[1]) << 8 |
           static_cast<std::uint32_t>(b[2]) << 16 | static_cast<std::uint32_t>(b[3]) << 24;
  }
  // Darts-clone unit fields.
  static bool has_leaf(std::uint32_t u) { return (u >> 8) & 1; }
  static std::uint32_t value(std::uint32_t u) { return u & 0x7FFFFFFFu; }
  static std::uint32_t label(std::uint32_t u) { return u & (0x80000000u | 0xFFu); }
  static std::size_t offset(std::uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

  bool replacement_at(std::uint32_t at, std::u32string& out) const {
    if (at >= pool_.size()) return false;
    const std::size_t end = pool_.find('\0', at);
    auto decoded = utf8_decode(pool_.substr(at, end == std::string::npos ? std::string::npos : end - at));
    if (!decoded.ok()) return false;
    out = std::move(decoded).value();
    return true;
  }

  std::vector<std::uint32_t> units_;
  std::string pool_;
};

} // namespace detail
} // namespace albertner

// Reads the one field of a serialized sentencepiece ModelProto that the sentencepiece library does
// not expose through its installed headers (normalizer_spec.precompiled_charsmap), and checks a
// ModelProto before the library sees it.
#pragma once

#include "../status.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace albertner {
namespace detail {

/// A bounds-checked cursor over protobuf wire format (varints, fixed32/64, length-delimited).
class ProtoReader {
public:
  ProtoReader(const unsigned char* data, std::size_t size) : p_(data), end_(data + size) {}

  bool done() const noexcept { return p_ == end_; }
  /// Bytes not read yet.
  std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - p_); }

  /// Next field key; false on malformed input.
  bool read_key(std::uint32_t& field, std::uint32_t& wire_type) {
    std::uint64_t key;
    if (!read_varint(key) || (key >> 3) == 0 || (key >> 3) > 0x1FFFFFFF) return false;
    field = static_cast<std::uint32_t>(key >> 3);
    wire_type = static_cast<std::uint32_t>(key & 7);
    return true;
  }

  /// A length-delimited payload (wire type 2).
  bool read_bytes(const unsigned char*& data, std::size_t& size) {
    std::uint64_t len;
    if (!read_varint(len) || len > static_cast<std::uint64_t>(end_ - p_)) return false;
    data = p_;
    size = static_cast<std::size_t>(len);
    p_ += size;
    return true;
  }

  /// Skips a field's payload of the given wire type (groups, types 3/4, are rejected).
  bool skip(std::uint32_t wire_type) {
    std::uint64_t v;
    const unsigned char* d;
    std::size_t n;
    switch (wire_type) {
    case 0: return read_varint(v);
    case 1: return advance(8);
    case 2: return read_bytes(d, n);
    case 5: return advance(4);
    default: return false;
    }
  }

private:
  bool read_varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return false;
      const unsigned char b = *p_++;
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool advance(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) return false;
    p_ += n;
    return true;
  }

  const unsigned char* p_;
  const unsigned char* end_;
};

/// normalizer_spec.precompiled_charsmap of a serialized ModelProto (empty when absent).
/// ModelProto field 3 is normalizer_spec; NormalizerSpec field 2 is precompiled_charsmap. As in
/// protobuf, the last occurrence of a field wins.
inline Result<std::string> spiece_precompiled_charsmap(const void* data, std::size_t size) {
  const auto bad = [] { return Error(errc::format, "spiece model: malformed protobuf"); };
  std::string charsmap;
  ProtoReader model(static_cast<const unsigned char*>(data), size);
  while (!model.done()) {
    std::uint32_t field, wire;
    if (!model.read_key(field, wire)) return bad();
    if (field != 3 || wire != 2) {
      if (!model.skip(wire)) return bad();
      continue;
    }
    const unsigned char* spec;
    std::size_t spec_size;
    if (!model.read_bytes(spec, spec_size)) return bad();
    ProtoReader normalizer(spec, spec_size);
    while (!normalizer.done()) {
      if (!normalizer.read_key(field, wire)) return bad();
      if (field == 2 && wire == 2) {
        const unsigned char* blob;
        std::size_t blob_size;
        if (!normalizer.read_bytes(blob, blob_size)) return bad();
        charsmap.assign(reinterpret_cast<const char*>(blob), blob_size);
      } else if (!normalizer.skip(wire)) {
        return bad();
      }
    }
  }
  return charsmap;
}

/// The ModelProto to hand to the sentencepiece library, which trusts its input in two places:
/// its trie builder throws (an uncaught exception: an abort under -fno-exceptions) on a piece
/// holding a NUL byte, and loading runs self_test_data through its normalizer, whose trie walk
/// reads a corrupt charsmap unchecked. So pieces with NUL bytes are refused (as newer
/// sentencepiece releases do) and self_test_data (field 4), which only checks sentencepiece's own
/// encoder that the tokenizer does not use, is left out. Every other field is copied as it is.
inline Result<std::string> spiece_for_sentencepiece(const void* data, std::size_t size) {
  const auto bad = [] { return Error(errc::format, "spiece model: malformed protobuf"); };
  std::string out;
  out.reserve(size);
  const auto* begin = static_cast<const unsigned char*>(data);
  ProtoReader model(begin, size);
  const unsigned char* field_start = begin;
  std::size_t index = 0;
  while (!model.done()) {
    std::uint32_t field, wire;
    if (!model.read_key(field, wire)) return bad();
    if (field == 1 && wire == 2) { // SentencePiece; its field 1 is the piece
      const unsigned char* record;
      std::size_t record_size;
      if (!model.read_bytes(record, record_size)) return bad();
      ProtoReader piece(record, record_size);
      while (!piece.done()) {
        std::uint32_t f, w;
        if (!piece.read_key(f, w)) return bad();
        if (f == 1 && w == 2) {
          const unsigned char* text;
          std::size_t text_size;
          if (!piece.read_bytes(text, text_size)) return bad();
          if (std::memchr(text, 0, text_size))
            return Error(errc::format, "spiece model: piece " + std::to_string(index) + " holds a NUL byte");
        } else if (!piece.skip(w)) {
          return bad();
        }
      }
      ++index;
    } else if (!model.skip(wire)) {
      return bad();
    }
    const unsigned char* field_end = begin + (size - model.remaining());
    if (field != 4)
      out.append(reinterpret_cast<const char*>(field_start), static_cast<std::size_t>(field_end - field_start));
    field_start = field_end;
  }
  return out;
}

} // namespace detail
} // namespace albertner

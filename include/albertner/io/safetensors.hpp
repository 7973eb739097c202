// Reading safetensors files: an 8-byte little-endian header length N, N bytes of JSON header,
// then the tensors' bytes packed back to back (spec §7). Writing them is tooling:
// SafeTensorsWriter in safetensors_writer.hpp.
//
// The reader enforces every rule of the reference parser (huggingface/safetensors
// `read_metadata` + `Metadata::validate`) and, where that parser is lax, is stricter:
// - duplicate tensor names, a duplicate "__metadata__" or duplicate keys inside it are errors
//   (serde would keep the last one silently);
// - "__metadata__" must be an object of string to string (null is rejected too).
// Unknown keys inside a tensor entry are ignored, as the reference parser does, so files from
// newer writers still load. dtypes that safetensors defines but `albertner::dtype` cannot hold
// (U16, U32, U64, F8_*, ...) are errc::unsupported; names safetensors does not define are
// errc::format. Every other violation is errc::format.
#pragma once

#include "../status.hpp"
#include "json.hpp"
#include "mapped_file.hpp"
#include "tensor.hpp"
#include "utf8_index.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace albertner {

/// True when the tensor's first byte sits on a multiple of `alignment` (false for 0).
/// safetensors only guarantees that the data section starts 8-aligned within the file; a tensor
/// is aligned for its dtype only if every tensor before it keeps that alignment (the reference
/// writer orders by alignment for this reason, older files sorted by name may not be).
inline bool is_aligned(const TensorView& t, std::size_t alignment) noexcept {
  return alignment != 0 && reinterpret_cast<std::uintptr_t>(t.data) % alignment == 0;
}

namespace detail {

/// The reference parser refuses larger headers.
inline constexpr std::uint64_t kSafeTensorsMaxHeader = 100000000;

/// Element count × element size of a tensor, or false when a dimension is negative or the
/// product overflows. The running element count is kept within int64 so that
/// TensorView::numel() cannot overflow on any tensor accepted here.
inline bool safetensors_byte_size(dtype type, const std::vector<std::int64_t>& shape, std::uint64_t& bytes) {
  std::uint64_t count = 1;
  for (std::int64_t d : shape) {
    if (d < 0) return false;
    const auto ud = static_cast<std::uint64_t>(d);
    if (ud != 0 && count > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / ud) return false;
    count *= ud;
  }
  const std::uint64_t size = dtype_size(type);
  if (count > std::numeric_limits<std::uint64_t>::max() / size) return false;
  bytes = count * size;
  return true;
}

/// Position in the reference `Dtype` enum, which is ordered by alignment; its writer sorts by it.
inline int safetensors_dtype_rank(dtype t) noexcept {
  switch (t) {
  case dtype::boolean: return 0;
  case dtype::u8: return 1;
  case dtype::i8: return 2;
  case dtype::i16: return 5;
  case dtype::f16: return 7;
  case dtype::bf16: return 8;
  case dtype::i32: return 9;
  case dtype::f32: return 11;
  case dtype::f64: return 12;
  case dtype::i64: return 13;
  }
  return -1;
}

/// dtype names that safetensors defines (some only in newer releases) but `dtype` cannot hold.
inline bool safetensors_dtype_unsupported(const std::string& name) {
  static const char* const names[] = {"U16",     "U32", "U64",     "F8_E5M2", "F8_E4M3",
                                      "F8_E8M0", "F4",  "F6_E2M3", "F6_E3M2", "C64"};
  for (const char* n : names)
    if (name == n) return true;
  return false;
}

inline bool safetensors_valid_utf8(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = utf8_sequence_length(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

/// A short description of a JSON value for error messages (never the whole value).
inline std::string safetensors_describe(const Json& v) {
  switch (v.type()) {
  case Json::kind::null: return "null";
  case Json::kind::boolean: return v.as_bool() ? "true" : "false";
  case Json::kind::number: return v.is_integer() ? v.dump() : "the non-integer " + v.dump();
  case Json::kind::string: return "a string";
  case Json::kind::array: return "an array";
  case Json::kind::object: return "an object";
  }
  return "?";
}

inline std::string safetensors_offsets_string(std::uint64_t begin, std::uint64_t end) {
  return "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

} // namespace detail

/// A validated safetensors file or buffer. Tensor views point into the mapping (or the caller's
/// buffer): nothing is copied, and the views stay valid when the object is moved. Move-only.
class SafeTensors {
public:
  /// An empty set of tensors, to move a real one into.
  SafeTensors() = default;
  SafeTensors(const SafeTensors&) = delete;
  SafeTensors& operator=(const SafeTensors&) = delete;
  SafeTensors(SafeTensors&&) = default;
  SafeTensors& operator=(SafeTensors&&) = default;
  ~SafeTensors() = default;

  /// Maps the file read-only; errors name the path.
  static Result<SafeTensors> open(const std::string& path) {
    ALBERTNER_TRY(detail::MappedFile file, detail::MappedFile::open(path));
    SafeTensors st;
    Status parsed = st.parse(file.data(), file.size());
    if (!parsed.ok()) return parsed.error().with_context(path);
    st.file_ = std::move(file);
    return st;
  }

  /// Reads `size` bytes that the caller keeps alive (and unchanged) for this object's lifetime.
  static Result<SafeTensors> from_buffer(const void* data, std::size_t size) {
    if (data == nullptr && size != 0)
      return Error(errc::invalid_input, "safetensors buffer: null pointer with size " + std::to_string(size));
    SafeTensors st;
    Status parsed = st.parse(static_cast<const std::uint8_t*>(data), size);
    if (!parsed.ok()) return parsed.error().with_context("safetensors buffer");
    return st;
  }

  /// The tensor called `name`, or nullptr.
  const TensorView* find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
  }
  /// All tensors in the order the header lists them.
  const std::vector<TensorView>& tensors() const noexcept { return tensors_; }
  /// The "__metadata__" pairs in header order (empty when absent).
  const std::vector<std::pair<std::string, std::string>>& metadata() const noexcept { return metadata_; }
  /// The metadata value for `key`, or nullptr.
  const std::string* metadata_value(const std::string& key) const {
    for (const auto& kv : metadata_)
      if (kv.first == key) return &kv.second;
    return nullptr;
  }
  /// Size of the whole file or buffer in bytes.
  std::size_t file_size() const noexcept { return size_; }
  /// For an opened file: drops the resident pages of [p, p + n), bytes the caller has copied
  /// (the encoder's packed weights), from memory. A no-op for a caller's buffer.
  void evict(const void* p, std::size_t n) const noexcept { file_.evict(p, n); }

private:
  struct Span {
    std::size_t index; // into tensors_
    std::uint64_t begin;
    std::uint64_t end;
  };

  Status parse(const std::uint8_t* data, std::size_t size) {
    if (size < 8)
      return Error(errc::format, "file is " + std::to_string(size) + " bytes, too short for the 8-byte header length");
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
    if (n > detail::kSafeTensorsMaxHeader)
      return Error(errc::format, "header length " + std::to_string(n) + " exceeds the limit of " +
                                     std::to_string(detail::kSafeTensorsMaxHeader) + " bytes");
    if (n > size - 8)
      return Error(errc::format, "header length " + std::to_string(n) + " runs past the end of the file (8 + " +
                                     std::to_string(n) + " > " + std::to_string(size) + " bytes)");
    const auto header_size = static_cast<std::size_t>(n);
    const std::string header(reinterpret_cast<const char*>(data + 8), header_size);
    for (std::size_t i = 0; i < header.size();) {
      const std::size_t len = detail::utf8_sequence_length(header, i);
      if (len == 0)
        return Error(errc::format, "header is not valid UTF-8 (byte " + std::to_string(i) + " of the header)");
      i += len;
    }
    auto root = parse_json(header);
    if (!root.ok()) return root.error().with_context("header");
    if (!root->is_object())
      return Error(errc::format, "header is " + detail::safetensors_describe(*root) + ", not a JSON object");

    std::vector<Span> spans;
    bool have_metadata = false;
    for (const Json::Member& m : root->members()) {
      if (m.first == "__metadata__") {
        if (have_metadata) return Error(errc::format, "header has \"__metadata__\" twice");
        have_metadata = true;
        ALBERTNER_CHECK(read_metadata(m.second));
        continue;
      }
      if (!index_.emplace(m.first, tensors_.size()).second)
        return Error(errc::format, "duplicate tensor '" + m.first + "' in the header");
      TensorView t;
      t.name = m.first;
      Span span{tensors_.size(), 0, 0};
      ALBERTNER_CHECK(read_entry(m.second, t, span));
      tensors_.push_back(std::move(t));
      spans.push_back(span);
    }

    // As the reference parser: walk in offset order; each tensor starts where the previous ends.
    std::stable_sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    std::uint64_t pos = 0;
    const Span* prev = nullptr;
    for (const Span& s : spans) {
      const TensorView& t = tensors_[s.index];
      const std::string where = "tensor '" + t.name + "': " + detail::safetensors_offsets_string(s.begin, s.end);
      if (s.end < s.begin) return Error(errc::format, where + " end before begin");
      if (s.begin > pos)
        return Error(errc::format, where + " leave a hole: bytes [" + std::to_string(pos) + ", " +
                                       std::to_string(s.begin) + ") of the data section belong to no tensor");
      if (s.begin < pos)
        return Error(errc::format, where + " overlap tensor '" + tensors_[prev->index].name + "' (" +
                                       detail::safetensors_offsets_string(prev->begin, prev->end) + ")");
      std::uint64_t need = 0;
      if (!detail::safetensors_byte_size(t.type, t.shape, need))
        return Error(errc::format, "tensor '" + t.name + "': " + dtype_name(t.type) + " " + t.shape_string() +
                                       " has a byte size that overflows");
      if (s.end - s.begin != need)
        return Error(errc::format, where + " hold " + std::to_string(s.end - s.begin) + " bytes but " +
                                       dtype_name(t.type) + " " + t.shape_string() + " needs " + std::to_string(need));
      pos = s.end;
      prev = &s;
    }
    const std::uint64_t data_size = size - 8 - header_size;
    if (pos < data_size)
      return Error(errc::format, "the tensors end at byte " + std::to_string(pos) +
                                     " of the data section but it holds " + std::to_string(data_size) + " bytes (" +
                                     std::to_string(data_size - pos) + " trailing bytes)");
    if (pos > data_size)
      return Error(errc::format, "the tensors end at byte " + std::to_string(pos) +
                                     " of the data section but it holds only " + std::to_string(data_size) +
                                     " bytes (file truncated?)");

    // Only now are all offsets known to lie inside the buffer.
    const std::uint8_t* section = data + 8 + header_size;
    for (const Span& s : spans) {
      tensors_[s.index].data = section + s.begin;
      tensors_[s.index].nbytes = static_cast<std::size_t>(s.end - s.begin);
    }
    size_ = size;
    return ok_status();
  }

  Status read_metadata(const Json& v) {
    if (!v.is_object())
      return Error(errc::format,
                   "\"__metadata__\" is " + detail::safetensors_describe(v) + ", not an object of strings");
    std::unordered_set<std::string> seen;
    for (const Json::Member& m : v.members()) {
      if (!m.second.is_string())
        return Error(errc::format, "\"__metadata__\" key '" + m.first + "' is " +
                                       detail::safetensors_describe(m.second) + ", not a string");
      if (!seen.insert(m.first).second) return Error(errc::format, "\"__metadata__\" has key '" + m.first + "' twice");
      metadata_.emplace_back(m.first, m.second.as_string());
    }
    return ok_status();
  }

  static Status read_entry(const Json& v, TensorView& t, Span& span) {
    const std::string where = "tensor '" + t.name + "': ";
    if (!v.is_object())
      return Error(errc::format, where + "entry is " + detail::safetensors_describe(v) + ", not an object");
    const Json* type = nullptr;
    const Json* shape = nullptr;
    const Json* offsets = nullptr;
    for (const Json::Member& m : v.members()) {
      const Json** slot = m.first == "dtype"          ? &type
                          : m.first == "shape"        ? &shape
                          : m.first == "data_offsets" ? &offsets
                                                      : nullptr;
      if (!slot) continue; // unknown keys are ignored, as the reference parser does
      if (*slot) return Error(errc::format, where + "field \"" + m.first + "\" appears twice");
      *slot = &m.second;
    }
    if (!type) return Error(errc::format, where + "field \"dtype\" is missing");
    if (!shape) return Error(errc::format, where + "field \"shape\" is missing");
    if (!offsets) return Error(errc::format, where + "field \"data_offsets\" is missing");

    if (!type->is_string())
      return Error(errc::format, where + "\"dtype\" is " + detail::safetensors_describe(*type) + ", not a string");
    if (!parse_dtype(type->as_string(), t.type)) {
      if (detail::safetensors_dtype_unsupported(type->as_string()))
        return Error(errc::unsupported, where + "dtype " + type->as_string() + " is not supported");
      return Error(errc::format, where + "unknown dtype \"" + type->as_string() + "\"");
    }

    if (!shape->is_array())
      return Error(errc::format, where + "\"shape\" is " + detail::safetensors_describe(*shape) + ", not an array");
    for (std::size_t i = 0; i < shape->items().size(); ++i) {
      const Json& d = shape->items()[i];
      if (!d.is_integer() || d.as_int() < 0)
        return Error(errc::format, where + "\"shape\" item " + std::to_string(i) + " is " +
                                       detail::safetensors_describe(d) + ", not a non-negative integer");
      t.shape.push_back(d.as_int());
    }

    const bool pair = offsets->is_array() && offsets->items().size() == 2;
    for (std::size_t i = 0; pair && i < 2; ++i) {
      const Json& o = offsets->items()[i];
      if (!o.is_integer() || o.as_int() < 0)
        return Error(errc::format, where + "\"data_offsets\" item " + std::to_string(i) + " is " +
                                       detail::safetensors_describe(o) + ", not a non-negative integer");
    }
    if (!pair)
      return Error(errc::format,
                   where + "\"data_offsets\" is " + detail::safetensors_describe(*offsets) +
                       (offsets->is_array() ? " of " + std::to_string(offsets->items().size()) + " items" : "") +
                       ", not a pair of non-negative integers");
    span.begin = static_cast<std::uint64_t>(offsets->items()[0].as_int());
    span.end = static_cast<std::uint64_t>(offsets->items()[1].as_int());
    return ok_status();
  }

  detail::MappedFile file_; // empty for from_buffer
  std::size_t size_ = 0;
  std::vector<TensorView> tensors_;
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<std::pair<std::string, std::string>> metadata_;
};

} // namespace albertner

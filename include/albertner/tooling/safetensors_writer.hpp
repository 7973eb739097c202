// Writing safetensors files (tooling: the converter and the tests write them, a product that runs
// a model only reads them with SafeTensors, in safetensors.hpp).
#pragma once

#include "../io/json.hpp"
#include "../io/safetensors.hpp"
#include "../io/tensor.hpp"
#include "../status.hpp"
#include "files.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace albertner {

/// Builds a safetensors file the reference parser reads: tensors ordered as the reference writer
/// orders them (by dtype alignment descending, then by name), "__metadata__" first, the header
/// padded with spaces to a multiple of 8 so the data section starts 8-aligned.
class SafeTensorsWriter {
public:
  /// Adds a tensor. The bytes are copied: the caller's buffer may go away after this returns.
  /// Errors (errc::invalid_input / errc::shape) on a reserved, non-UTF-8 or duplicate name, a
  /// negative dimension, or `nbytes` differing from what `type` and `shape` need.
  Status add(const std::string& name, dtype type, std::vector<std::int64_t> shape, const void* data,
             std::size_t nbytes) {
    if (name == "__metadata__")
      return Error(errc::invalid_input, "tensor name \"__metadata__\" is reserved for the metadata");
    if (!detail::safetensors_valid_utf8(name)) return Error(errc::invalid_input, "tensor name is not valid UTF-8");
    TensorView probe;
    probe.type = type;
    probe.shape = std::move(shape);
    const std::string where = "tensor '" + name + "': " + dtype_name(type) + " " + probe.shape_string();
    for (std::int64_t d : probe.shape)
      if (d < 0) return Error(errc::shape, where + " has a negative dimension");
    std::uint64_t need = 0;
    if (!detail::safetensors_byte_size(type, probe.shape, need))
      return Error(errc::shape, where + " has a byte size that overflows");
    if (need != nbytes)
      return Error(errc::shape,
                   where + " needs " + std::to_string(need) + " bytes but " + std::to_string(nbytes) + " were given");
    if (data == nullptr && nbytes != 0) return Error(errc::invalid_input, where + ": data is null");
    if (!names_.insert(name).second) return Error(errc::invalid_input, "tensor '" + name + "' is added twice");
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    entries_.push_back(Entry{name, type, std::move(probe.shape), std::vector<std::uint8_t>(bytes, bytes + nbytes)});
    return ok_status();
  }

  /// Sets (or replaces) a "__metadata__" entry; entries keep the order they were first set in.
  void set_metadata(const std::string& key, const std::string& value) {
    for (auto& kv : metadata_)
      if (kv.first == key) {
        kv.second = value;
        return;
      }
    metadata_.emplace_back(key, value);
  }

  /// The complete file image.
  Result<std::vector<std::uint8_t>> to_bytes() const {
    std::vector<std::size_t> order;
    ALBERTNER_TRY(const std::string header, build_header(order));
    std::size_t total = 8 + header.size();
    for (std::size_t i : order) total += entries_[i].bytes.size();
    std::vector<std::uint8_t> out;
    out.reserve(total);
    append_length(out, header.size());
    out.insert(out.end(), header.begin(), header.end());
    for (std::size_t i : order) out.insert(out.end(), entries_[i].bytes.begin(), entries_[i].bytes.end());
    return out;
  }

  /// Writes the file atomically: a temporary file in the same folder, fsync, rename over `path`.
  /// On failure `path` is untouched and the temporary file is removed.
  Status write(const std::string& path) const {
    std::vector<std::size_t> order;
    ALBERTNER_TRY(const std::string header, build_header(order));
    ALBERTNER_TRY(AtomicFile file, AtomicFile::create(path));
    std::vector<std::uint8_t> length;
    append_length(length, header.size());
    ALBERTNER_CHECK(file.write(length.data(), length.size()));
    ALBERTNER_CHECK(file.write(header.data(), header.size()));
    for (std::size_t i : order) ALBERTNER_CHECK(file.write(entries_[i].bytes.data(), entries_[i].bytes.size()));
    return file.commit();
  }

private:
  struct Entry {
    std::string name;
    dtype type;
    std::vector<std::int64_t> shape;
    std::vector<std::uint8_t> bytes;
  };

  static void append_length(std::vector<std::uint8_t>& out, std::uint64_t n) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
  }

  // The padded header JSON; `order` receives the entry indices in data-section order.
  Result<std::string> build_header(std::vector<std::size_t>& order) const {
    for (const auto& kv : metadata_)
      if (!detail::safetensors_valid_utf8(kv.first) || !detail::safetensors_valid_utf8(kv.second))
        return Error(errc::invalid_input, "metadata entry '" + kv.first + "' is not valid UTF-8");
    order.resize(entries_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [this](std::size_t a, std::size_t b) {
      const int ra = detail::safetensors_dtype_rank(entries_[a].type);
      const int rb = detail::safetensors_dtype_rank(entries_[b].type);
      return ra != rb ? ra > rb : entries_[a].name < entries_[b].name;
    });

    std::string h = "{";
    if (!metadata_.empty()) {
      h += "\"__metadata__\":{";
      for (std::size_t i = 0; i < metadata_.size(); ++i) {
        if (i) h += ',';
        json_escape_to(h, metadata_[i].first);
        h += ':';
        json_escape_to(h, metadata_[i].second);
      }
      h += '}';
    }
    std::uint64_t offset = 0;
    for (std::size_t k = 0; k < order.size(); ++k) {
      const Entry& e = entries_[order[k]];
      if (k || !metadata_.empty()) h += ',';
      json_escape_to(h, e.name);
      h += ":{\"dtype\":\"";
      h += dtype_name(e.type);
      h += "\",\"shape\":[";
      for (std::size_t i = 0; i < e.shape.size(); ++i) h += (i ? "," : "") + std::to_string(e.shape[i]);
      h += "],\"data_offsets\":[" + std::to_string(offset) + ",";
      offset += e.bytes.size();
      h += std::to_string(offset) + "]}";
    }
    h += '}';
    h.append((8 - h.size() % 8) % 8, ' ');
    if (h.size() > detail::kSafeTensorsMaxHeader)
      return Error(errc::invalid_input, "header would be " + std::to_string(h.size()) + " bytes, over the limit of " +
                                            std::to_string(detail::kSafeTensorsMaxHeader) + " that readers accept");
    return h;
  }

  std::vector<Entry> entries_;
  std::unordered_set<std::string> names_;
  std::vector<std::pair<std::string, std::string>> metadata_;
};

} // namespace albertner

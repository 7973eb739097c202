// Reads a torch.save state_dict (pytorch_model.bin, zip format) without Python or torch: the
// zip's data.pkl goes through the restricted unpickler, and each `_rebuild_tensor_v2` call
// becomes a TensorView into the archive's `data/<key>` records (copied only when strided).
#pragma once

#include "../io/mapped_file.hpp"
#include "../io/tensor.hpp"
#include "../status.hpp"
#include "pickle.hpp"
#include "zip.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace albertner {
namespace detail {

class TorchCheckpointBuilder;

/// The tensors of a torch state_dict. Move-only; owns the file mapping (when read from a path)
/// and the contiguous copies of strided tensors that the views point into. Views read from a
/// caller's buffer point into that buffer, which must outlive the checkpoint.
struct TorchCheckpoint {
  std::vector<TensorView> tensors; ///< state_dict order; contiguous, row-major, little-endian

  /// The tensor called `name`, or nullptr.
  const TensorView* find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors[it->second];
  }

private:
  friend class TorchCheckpointBuilder;
  MappedFile mapping_;
  std::vector<std::vector<std::uint8_t>> copies_;
  std::map<std::string, std::size_t> index_;
};

/// Turns a checkpoint's bytes into a TorchCheckpoint; used by read_torch_bin*.
class TorchCheckpointBuilder {
public:
  TorchCheckpointBuilder(const std::uint8_t* data, std::size_t size, const std::string& name)
      : data_(data), size_(size), name_(name) {}

  Result<TorchCheckpoint> build() {
    if (size_ < 4 || std::memcmp(data_, "PK\x03\x04", 4) != 0) {
      // Legacy files are a bare pickle stream starting with PROTO 2 and the LONG1 magic number.
      if (size_ >= 2 && data_[0] == 0x80 && data_[1] == 0x02)
        return Error(errc::unsupported,
                     name_ +
                         ": legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with: "
                         "python -c \"import torch; torch.save(torch.load('pytorch_model.bin'), "
                         "'pytorch_model.bin')\" or model.save_pretrained(dir, safe_serialization=True)");
      return Error(errc::format, name_ + ": not a PyTorch checkpoint (no zip signature PK\\x03\\x04)");
    }
    ALBERTNER_TRY(ZipReader zip, ZipReader::open(data_, size_, name_));
    if (zip.entries().empty()) return fail(errc::format, "zip archive has no entries");
    const std::string& first = zip.entries()[0].name;
    std::size_t slash = first.find('/');
    if (slash == std::string::npos || slash == 0)
      return fail(errc::format, "first zip entry '" + first + "' is not inside an archive folder");
    prefix_ = first.substr(0, slash + 1);

    if (const ZipEntry* bo = zip.find(prefix_ + "byteorder")) {
      ALBERTNER_TRY(ByteSpan b, zip.read(*bo));
      std::string order(reinterpret_cast<const char*>(b.data), b.size);
      if (order == "big") return fail(errc::unsupported, "big-endian checkpoint (byteorder \"big\")");
      if (order != "little") return fail(errc::format, "unknown byteorder \"" + order + "\"");
    }

    const ZipEntry* pkl = zip.find(prefix_ + "data.pkl");
    if (!pkl) return fail(errc::missing, "no record '" + prefix_ + "data.pkl'");
    ALBERTNER_TRY(ByteSpan pkl_bytes, zip.read(*pkl));
    ALBERTNER_TRY(PickleGraph graph, unpickle(pkl_bytes.data, pkl_bytes.size, name_ + ": " + pkl->name));
    zip_ = &zip;
    graph_ = &graph;

    const PickleNode& root = graph[graph.root];
    if (root.type != PickleNode::kind::dict)
      return fail(errc::unsupported,
                  std::string("data.pkl holds a ") + pickle_kind_name(root.type) + ", not a state_dict");
    for (std::size_t i = 0; i + 1 < root.items.size(); i += 2) {
      const PickleNode& key = graph[root.items[i]];
      if (key.type != PickleNode::kind::string)
        return fail(errc::format, std::string("state_dict key is a ") + pickle_kind_name(key.type) + ", not a str");
      if (out_.index_.count(key.text)) return fail(errc::format, "duplicate tensor '" + key.text + "'");
      ALBERTNER_TRY(TensorView view, tensor(key.text, root.items[i + 1]));
      out_.index_.emplace(key.text, out_.tensors.size());
      out_.tensors.push_back(std::move(view));
    }
    return std::move(out_);
  }

  /// Hands the mapping to the checkpoint so that its views stay valid.
  static void adopt(TorchCheckpoint& c, MappedFile file) { c.mapping_ = std::move(file); }

private:
  struct Storage {
    dtype type;
    std::uint64_t numel;
    const std::uint8_t* data;
  };

  Error fail(errc code, const std::string& message) const { return Error(code, name_ + ": " + message); }

  static bool as_int(const PickleNode& n, std::int64_t& out) {
    if (n.type != PickleNode::kind::integer) return false;
    out = n.integer;
    return true;
  }

  bool as_ints(PickleId id, std::vector<std::int64_t>& out) const {
    const PickleNode& n = (*graph_)[id];
    if (n.type != PickleNode::kind::tuple) return false;
    out.clear();
    for (PickleId item : n.items) {
      std::int64_t v;
      if (!as_int((*graph_)[item], v) || v < 0) return false;
      out.push_back(v);
    }
    return true;
  }

  static bool storage_dtype(PickleGlobal g, dtype& out) {
    switch (g) {
    case PickleGlobal::float_storage: out = dtype::f32; return true;
    case PickleGlobal::double_storage: out = dtype::f64; return true;
    case PickleGlobal::half_storage: out = dtype::f16; return true;
    case PickleGlobal::bfloat16_storage: out = dtype::bf16; return true;
    case PickleGlobal::long_storage: out = dtype::i64; return true;
    case PickleGlobal::int_storage: out = dtype::i32; return true;
    case PickleGlobal::short_storage: out = dtype::i16; return true;
    case PickleGlobal::char_storage: out = dtype::i8; return true;
    case PickleGlobal::byte_storage: out = dtype::u8; return true;
    case PickleGlobal::bool_storage: out = dtype::boolean; return true;
    default: return false;
    }
  }

  // persistent id: ('storage', <torch.XStorage>, key, location, numel)
  Result<Storage> storage(const std::string& tensor_name, PickleId id) {
    const std::string where = "tensor '" + tensor_name + "': ";
    const PickleNode& p = (*graph_)[id];
    if (p.type != PickleNode::kind::persid) return fail(errc::format, where + "first argument is not a storage");
    const PickleNode& t = (*graph_)[p.items[0]];
    if (t.type != PickleNode::kind::tuple || t.items.size() != 5)
      return fail(errc::format, where + "persistent id is not a 5-tuple ('storage', type, key, location, numel)");
    const PickleNode& tag = (*graph_)[t.items[0]];
    const PickleNode& cls = (*graph_)[t.items[1]];
    const PickleNode& key = (*graph_)[t.items[2]];
    std::int64_t numel;
    Storage s{dtype::f32, 0, nullptr};
    if (tag.type != PickleNode::kind::string || tag.text != "storage")
      return fail(errc::format, where + "persistent id does not start with 'storage'");
    if (cls.type != PickleNode::kind::global || !storage_dtype(cls.global, s.type))
      return fail(errc::format, where + "persistent id does not name a storage class");
    if (key.type != PickleNode::kind::string) return fail(errc::format, where + "storage key is not a str");
    if (!as_int((*graph_)[t.items[4]], numel) || numel < 0)
      return fail(errc::format, where + "storage size is not a non-negative int");
    s.numel = static_cast<std::uint64_t>(numel);

    auto known = storages_.find(key.text);
    if (known != storages_.end()) {
      if (known->second.type != s.type || known->second.numel != s.numel)
        return fail(errc::format, where + "storage '" + key.text + "' is declared twice with different types or sizes");
      return known->second;
    }
    const std::string record = prefix_ + "data/" + key.text;
    const ZipEntry* entry = zip_->find(record);
    if (!entry) return fail(errc::missing, where + "storage record '" + record + "' is missing");
    ALBERTNER_TRY(ByteSpan bytes, zip_->read(*entry));
    std::uint64_t need;
    if (__builtin_mul_overflow(s.numel, std::uint64_t(dtype_size(s.type)), &need) || need > bytes.size)
      return fail(errc::format, where + "storage '" + key.text + "' declares " + std::to_string(s.numel) + " " +
                                    dtype_name(s.type) + " elements but its record has " + std::to_string(bytes.size) +
                                    " bytes");
    s.data = bytes.data;
    storages_.emplace(key.text, s);
    return s;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  // or _rebuild_parameter(tensor, requires_grad, backward_hooks).
  Result<TensorView> tensor(const std::string& name, PickleId id) {
    const std::string where = "tensor '" + name + "': ";
    const PickleNode* call = &(*graph_)[id];
    if (call->type == PickleNode::kind::call && call->global == PickleGlobal::rebuild_parameter) {
      const PickleNode& args = (*graph_)[call->items[0]];
      if (args.items.size() != 3) return fail(errc::format, where + "_rebuild_parameter expects 3 arguments");
      call = &(*graph_)[args.items[0]];
    }
    if (call->type != PickleNode::kind::call || call->global != PickleGlobal::rebuild_tensor_v2)
      return fail(errc::unsupported, where + "value is a " + pickle_kind_name(call->type) + ", not a tensor");
    const PickleNode& args = (*graph_)[call->items[0]];
    if (args.items.size() != 6 && args.items.size() != 7)
      return fail(errc::format,
                  where + "_rebuild_tensor_v2 expects 6 or 7 arguments, got " + std::to_string(args.items.size()));
    ALBERTNER_TRY(Storage s, storage(name, args.items[0]));
    std::int64_t offset;
    std::vector<std::int64_t> size, stride;
    if (!as_int((*graph_)[args.items[1]], offset) || offset < 0)
      return fail(errc::format, where + "storage offset is not a non-negative int");
    if (!as_ints(args.items[2], size) || !as_ints(args.items[3], stride) || size.size() != stride.size())
      return fail(errc::format, where + "size and stride are not tuples of non-negative ints of equal length");

    const std::uint64_t es = dtype_size(s.type);
    std::uint64_t numel = 1, last = static_cast<std::uint64_t>(offset), step = 0;
    bool contiguous = true;
    std::uint64_t expected = 1;
    for (std::size_t k = size.size(); k-- > 0;) {
      std::uint64_t n = static_cast<std::uint64_t>(size[k]), st = static_cast<std::uint64_t>(stride[k]);
      if (__builtin_mul_overflow(numel, n, &numel)) return fail(errc::format, where + "element count overflows");
      if (n > 1 && st != expected) contiguous = false;
      if (n > 0 && (__builtin_mul_overflow(n - 1, st, &step) || __builtin_add_overflow(last, step, &last)))
        return fail(errc::format, where + "strided extent overflows");
      if (__builtin_mul_overflow(expected, n, &expected)) expected = ~std::uint64_t(0);
    }
    std::uint64_t nbytes;
    if (__builtin_mul_overflow(numel, es, &nbytes)) return fail(errc::format, where + "byte size overflows");
    if (numel == 0 ? static_cast<std::uint64_t>(offset) > s.numel : last >= s.numel)
      return fail(errc::format, where + "view (offset " + std::to_string(offset) + ", size " + tuple_string(size) +
                                    ", stride " + tuple_string(stride) + ") reaches element " + std::to_string(last) +
                                    " of a storage of " + std::to_string(s.numel));

    TensorView v;
    v.name = name;
    v.type = s.type;
    v.shape = size;
    v.nbytes = static_cast<std::size_t>(nbytes);
    if (contiguous || numel == 0) {
      v.data = s.data + static_cast<std::size_t>(offset) * es;
      return v;
    }
    // Strided views (e.g. transposed or expanded) get a contiguous copy; the cap keeps a
    // stride-0 view of a tiny storage from claiming unbounded memory.
    const std::uint64_t cap = std::max<std::uint64_t>(std::uint64_t(4) * size_, std::uint64_t(64) << 20);
    if (nbytes > cap - copied_)
      return fail(errc::unsupported,
                  where + "materializing strided tensors would take more than " + std::to_string(cap) + " bytes");
    copied_ += nbytes;
    std::vector<std::uint8_t> copy(static_cast<std::size_t>(nbytes));
    std::vector<std::int64_t> index(size.size(), 0);
    for (std::uint64_t i = 0; i < numel; ++i) {
      std::uint64_t src = static_cast<std::uint64_t>(offset);
      for (std::size_t k = 0; k < size.size(); ++k) src += static_cast<std::uint64_t>(index[k] * stride[k]);
      std::memcpy(copy.data() + i * es, s.data + src * es, static_cast<std::size_t>(es));
      for (std::size_t k = size.size(); k-- > 0;) {
        if (++index[k] < size[k]) break;
        index[k] = 0;
      }
    }
    v.data = copy.data();
    out_.copies_.push_back(std::move(copy));
    return v;
  }

  static std::string tuple_string(const std::vector<std::int64_t>& t) {
    std::string s = "(";
    for (std::size_t i = 0; i < t.size(); ++i) s += (i ? ", " : "") + std::to_string(t[i]);
    return s + (t.size() == 1 ? ",)" : ")");
  }

  const std::uint8_t* data_;
  std::size_t size_;
  std::string name_;
  std::string prefix_;
  const ZipReader* zip_ = nullptr;
  const PickleGraph* graph_ = nullptr;
  std::map<std::string, Storage> storages_;
  std::uint64_t copied_ = 0;
  TorchCheckpoint out_;
};

/// Reads a checkpoint held in memory; contiguous tensors point into `data`, which must outlive
/// the result. `display_name` prefixes error messages.
inline Result<TorchCheckpoint> read_torch_bin_buffer(const std::uint8_t* data, std::size_t size,
                                                     const std::string& display_name) {
  return TorchCheckpointBuilder(data, size, display_name).build();
}

/// Memory-maps `path` and reads it; the result owns the mapping.
inline Result<TorchCheckpoint> read_torch_bin(const std::string& path) {
  ALBERTNER_TRY(MappedFile file, MappedFile::open(path));
  ALBERTNER_TRY(TorchCheckpoint c, read_torch_bin_buffer(file.data(), file.size(), path));
  TorchCheckpointBuilder::adopt(c, std::move(file));
  return c;
}

} // namespace detail
} // namespace albertner

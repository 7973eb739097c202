// Builders for hand-made torch.save checkpoints in memory: pickle opcodes one call at a time,
// STORED zip archives (with optional lying sizes), and the archive/data.pkl + archive/data/<key>
// layout. Shared by tests/test_torch_bin.cpp, tests/test_bad_inputs.cpp and the fuzz seed generator.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace albertner_test {

inline void put_le(std::string& s, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

/// Writes pickle opcodes one call at a time.
struct Pickle {
  std::string b;
  Pickle& op(std::uint8_t c) {
    b.push_back(static_cast<char>(c));
    return *this;
  }
  Pickle& proto(int v) { return op(0x80).op(static_cast<std::uint8_t>(v)); }
  Pickle& global(const std::string& module, const std::string& name) {
    op('c');
    b += module + "\n" + name + "\n";
    return *this;
  }
  Pickle& str(const std::string& s) {
    op('X');
    put_le(b, s.size(), 4);
    b += s;
    return *this;
  }
  Pickle& short_str(const std::string& s) {
    op(0x8c).op(static_cast<std::uint8_t>(s.size()));
    b += s;
    return *this;
  }
  Pickle& integer(std::int64_t v) {
    if (v >= 0 && v < 256) return op('K').op(static_cast<std::uint8_t>(v));
    if (v >= 0 && v < 65536) {
      op('M');
      put_le(b, static_cast<std::uint64_t>(v), 2);
      return *this;
    }
    if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      put_le(b, static_cast<std::uint32_t>(v), 4);
      return *this;
    }
    op(0x8a).op(8);
    put_le(b, static_cast<std::uint64_t>(v), 8);
    return *this;
  }
  Pickle& mark() { return op('('); }
  Pickle& tuple() { return op('t'); }
  Pickle& ints(const std::vector<std::int64_t>& v) {
    mark();
    for (std::int64_t x : v) integer(x);
    return tuple();
  }
  Pickle& empty_tuple() { return op(')'); }
  Pickle& empty_dict() { return op('}'); }
  Pickle& reduce() { return op('R'); }
  Pickle& setitems() { return op('u'); }
  Pickle& put(int i) { return op('q').op(static_cast<std::uint8_t>(i)); }
  Pickle& get(int i) { return op('h').op(static_cast<std::uint8_t>(i)); }
  Pickle& stop() { return op('.'); }
};

struct TensorSpec {
  std::string name;
  std::string storage_class = "FloatStorage";
  std::string key;
  std::int64_t storage_numel = 0;
  std::int64_t offset = 0;
  std::vector<std::int64_t> size, stride;
};

inline void emit_tensor(Pickle& p, const TensorSpec& t) {
  p.global("torch._utils", "_rebuild_tensor_v2").mark();
  p.mark()
      .str("storage")
      .global("torch", t.storage_class)
      .str(t.key)
      .str("cpu")
      .integer(t.storage_numel)
      .tuple()
      .op('Q');
  p.integer(t.offset).ints(t.size).ints(t.stride).op(0x89);
  p.global("collections", "OrderedDict").empty_tuple().reduce();
  p.tuple().reduce();
}

/// A protocol-2 pickle of a plain dict of tensors, as HF save_pretrained writes it.
inline std::string state_dict(const std::vector<TensorSpec>& tensors) {
  Pickle p;
  p.proto(2).empty_dict().put(0).mark();
  for (const TensorSpec& t : tensors) {
    p.str(t.name);
    emit_tensor(p, t);
  }
  return p.setitems().stop().b;
}

struct ZipFile {
  std::string name;
  std::string data;
  std::uint16_t method = 0;
  std::int64_t declared_size = -1; ///< overrides both sizes in the central directory
};

inline std::string make_zip(const std::vector<ZipFile>& files) {
  std::string out, cd;
  for (const ZipFile& f : files) {
    std::uint32_t offset = static_cast<std::uint32_t>(out.size());
    std::uint32_t size =
        f.declared_size >= 0 ? static_cast<std::uint32_t>(f.declared_size) : static_cast<std::uint32_t>(f.data.size());
    put_le(out, 0x04034b50, 4);
    put_le(out, 20, 2);
    put_le(out, 0, 2);
    put_le(out, f.method, 2);
    put_le(out, 0, 4); // time, date
    put_le(out, 0, 4); // crc (not checked)
    put_le(out, f.data.size(), 4);
    put_le(out, f.data.size(), 4);
    put_le(out, f.name.size(), 2);
    put_le(out, 0, 2);
    out += f.name + f.data;

    put_le(cd, 0x02014b50, 4);
    put_le(cd, 20, 2);
    put_le(cd, 20, 2);
    put_le(cd, 0, 2);
    put_le(cd, f.method, 2);
    put_le(cd, 0, 4);
    put_le(cd, 0, 4);
    put_le(cd, size, 4);
    put_le(cd, size, 4);
    put_le(cd, f.name.size(), 2);
    put_le(cd, 0, 2); // extra
    put_le(cd, 0, 2); // comment
    put_le(cd, 0, 2); // disk
    put_le(cd, 0, 2);
    put_le(cd, 0, 4);
    put_le(cd, offset, 4);
    cd += f.name;
  }
  std::uint32_t cd_offset = static_cast<std::uint32_t>(out.size());
  out += cd;
  put_le(out, 0x06054b50, 4);
  put_le(out, 0, 4);
  put_le(out, files.size(), 2);
  put_le(out, files.size(), 2);
  put_le(out, cd.size(), 4);
  put_le(out, cd_offset, 4);
  put_le(out, 0, 2);
  return out;
}

/// archive/data.pkl + archive/data/<key> for each storage + archive/version.
inline std::string checkpoint(const std::string& pkl, const std::map<std::string, std::string>& storages,
                       std::vector<ZipFile> extra = {}) {
  std::vector<ZipFile> files{{"archive/data.pkl", pkl}};
  for (const auto& s : storages) files.push_back({"archive/data/" + s.first, s.second});
  files.push_back({"archive/version", "3\n"});
  for (ZipFile& f : extra) files.push_back(std::move(f));
  return make_zip(files);
}

inline std::string floats(const std::vector<float>& v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(&s[0], v.data(), s.size());
  return s;
}

} // namespace albertner_test

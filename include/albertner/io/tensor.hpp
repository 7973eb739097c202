// Element types and a non-owning view of one tensor's bytes, shared by every file reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace albertner {

/// The element types the library reads and writes (names as in safetensors).
enum class dtype { f32, f16, bf16, f64, i8, u8, i16, i32, i64, boolean };

inline const char* dtype_name(dtype t) noexcept {
  switch (t) {
  case dtype::f32: return "F32";
  case dtype::f16: return "F16";
  case dtype::bf16: return "BF16";
  case dtype::f64: return "F64";
  case dtype::i8: return "I8";
  case dtype::u8: return "U8";
  case dtype::i16: return "I16";
  case dtype::i32: return "I32";
  case dtype::i64: return "I64";
  case dtype::boolean: return "BOOL";
  }
  return "?";
}

inline std::size_t dtype_size(dtype t) noexcept {
  switch (t) {
  case dtype::f64:
  case dtype::i64: return 8;
  case dtype::f32:
  case dtype::i32: return 4;
  case dtype::f16:
  case dtype::bf16:
  case dtype::i16: return 2;
  case dtype::i8:
  case dtype::u8:
  case dtype::boolean: return 1;
  }
  return 0;
}

/// Parses a safetensors dtype name ("F32"); false when unknown.
inline bool parse_dtype(const std::string& name, dtype& out) noexcept {
  static const dtype all[] = {dtype::f32, dtype::f16, dtype::bf16, dtype::f64, dtype::i8,
                              dtype::u8,  dtype::i16, dtype::i32,  dtype::i64, dtype::boolean};
  for (dtype t : all)
    if (name == dtype_name(t)) {
      out = t;
      return true;
    }
  return false;
}

/// A tensor's name, type, shape and little-endian, row-major bytes. Does not own the bytes:
/// they live in the file mapping, caller buffer or archive that produced the view.
struct TensorView {
  std::string name;
  dtype type = dtype::f32;
  std::vector<std::int64_t> shape;
  const std::uint8_t* data = nullptr;
  std::size_t nbytes = 0;

  std::int64_t numel() const noexcept {
    std::int64_t n = 1;
    for (std::int64_t d : shape) n *= d;
    return n;
  }
  /// "[768, 128]"
  std::string shape_string() const {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
  }
};

} // namespace albertner

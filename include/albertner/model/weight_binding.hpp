// Looking up one weight tensor by its Hugging Face name and checking it before the encoder
// keeps a pointer into its bytes.
#pragma once

#include "../status.hpp"
#include "../io/tensor.hpp"
#include "../io/bf16.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace albertner {
namespace detail {

inline std::string shape_string(const std::vector<std::int64_t>& shape) {
  TensorView v;
  v.shape = shape;
  return v.shape_string();
}

/// Tensor `name`, found through `lookup` (`const TensorView* (const std::string&)`, nullptr when
/// absent), after checking dtype (F32, or BF16 and I8 too for a `matrix`), exact shape, byte
/// count and alignment to the element size.
template <class Lookup>
Result<const TensorView*> bind_tensor(Lookup& lookup, const std::string& name, const std::vector<std::int64_t>& shape,
                                      bool matrix) {
  const char* expected = matrix ? "F32, BF16 or I8" : "F32";
  const TensorView* t = lookup(name);
  if (!t)
    return Error(errc::missing,
                 "tensor '" + name + "' is missing (expected " + expected + " " + shape_string(shape) + ")");
  if (t->type != dtype::f32 && !(matrix && (t->type == dtype::bf16 || t->type == dtype::i8)))
    return Error(errc::shape, "tensor '" + name + "' has dtype " + dtype_name(t->type) + ", expected " + expected);
  if (t->shape != shape)
    return Error(errc::shape,
                 "tensor '" + name + "' has shape " + t->shape_string() + ", expected " + shape_string(shape));
  const std::size_t element = dtype_size(t->type), want = static_cast<std::size_t>(t->numel()) * element;
  if (!t->data || t->nbytes != want)
    return Error(errc::format, "tensor '" + name + "' holds " + std::to_string(t->nbytes) + " bytes, expected " +
                                   std::to_string(want));
  // Reading through a misaligned pointer is undefined behaviour, even where the CPU copes.
  if (reinterpret_cast<std::uintptr_t>(t->data) % element != 0)
    return Error(errc::unsupported,
                 "tensor '" + name + "' data is not aligned to " + std::to_string(element) + " bytes");
  return t;
}

/// The F32 data of tensor `name` (see bind_tensor).
template <class Lookup>
Result<const float*> bind_f32(Lookup& lookup, const std::string& name, const std::vector<std::int64_t>& shape) {
  ALBERTNER_TRY(const TensorView* t, bind_tensor(lookup, name, shape, false));
  return reinterpret_cast<const float*>(t->data);
}

/// Name of the per-row scales [rows] (F32) of an I8 matrix: row r holds i8 values * scale[r].
inline std::string scale_name(const std::string& matrix) { return matrix + "_scale"; }

/// A weight matrix [rows, cols] as the file stores it: F32, BF16, or I8 with its row scales;
/// exactly one of f32, bf16, i8 set.
struct WeightMatrix {
  const float* f32 = nullptr;
  const std::uint16_t* bf16 = nullptr;
  const std::int8_t* i8 = nullptr;
  const float* scale = nullptr;
  std::int64_t cols = 0;
  float operator[](std::int64_t i) const noexcept {
    return f32 ? f32[i] : bf16 ? f32_from_bf16(bf16[i]) : static_cast<float>(i8[i]) * scale[i / cols];
  }
};

/// The F32, BF16 or I8 data of matrix `name` (see bind_tensor); an I8 one needs its scales.
template <class Lookup>
Result<WeightMatrix> bind_matrix(Lookup& lookup, const std::string& name, const std::vector<std::int64_t>& shape) {
  ALBERTNER_TRY(const TensorView* t, bind_tensor(lookup, name, shape, true));
  WeightMatrix m;
  m.cols = shape[1];
  if (t->type == dtype::bf16) m.bf16 = reinterpret_cast<const std::uint16_t*>(t->data);
  else if (t->type == dtype::i8) {
    m.i8 = reinterpret_cast<const std::int8_t*>(t->data);
    ALBERTNER_TRY(m.scale, bind_f32(lookup, scale_name(name), {shape[0]}));
  } else m.f32 = reinterpret_cast<const float*>(t->data);
  return m;
}

} // namespace detail
} // namespace albertner

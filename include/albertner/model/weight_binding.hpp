// Looking up one weight tensor of the schema (weight_schema.hpp) by its Hugging Face name and
// checking it before the encoder keeps a pointer into its bytes.
#pragma once

#include "../io/bf16.hpp"
#include "../io/tensor.hpp"
#include "../status.hpp"
#include "weight_schema.hpp"

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

/// Tensor `spec`, found by its name through `lookup` (`const TensorView* (const std::string&)`,
/// nullptr when absent), after checking its dtype against its role (allowed_dtypes), its exact
/// shape, byte count and alignment to the element size.
template <class Lookup>
Result<const TensorView*> bind_tensor(Lookup& lookup, const WeightSpec& spec) {
  const std::string& name = spec.name;
  const char* expected = allowed_dtypes(spec.role);
  const TensorView* t = lookup(name);
  if (!t)
    return Error(errc::missing,
                 "tensor '" + name + "' is missing (expected " + expected + " " + shape_string(spec.shape) + ")");
  if (!dtype_allowed(spec.role, t->type))
    return Error(errc::shape, "tensor '" + name + "' has dtype " + dtype_name(t->type) + ", expected " + expected);
  if (t->shape != spec.shape)
    return Error(errc::shape,
                 "tensor '" + name + "' has shape " + t->shape_string() + ", expected " + shape_string(spec.shape));
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

/// The F32 data of the vector `spec` (see bind_tensor).
template <class Lookup>
Result<const float*> bind_f32(Lookup& lookup, const WeightSpec& spec) {
  ALBERTNER_TRY(const TensorView* t, bind_tensor(lookup, spec));
  return reinterpret_cast<const float*>(t->data);
}

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

/// The F32, BF16 or I8 data of the matrix `spec` (see bind_tensor); an I8 one needs its scales.
template <class Lookup>
Result<WeightMatrix> bind_matrix(Lookup& lookup, const WeightSpec& spec) {
  ALBERTNER_TRY(const TensorView* t, bind_tensor(lookup, spec));
  WeightMatrix m;
  m.cols = spec.shape[1];
  if (t->type == dtype::bf16) m.bf16 = reinterpret_cast<const std::uint16_t*>(t->data);
  else if (t->type == dtype::i8) {
    m.i8 = reinterpret_cast<const std::int8_t*>(t->data);
    ALBERTNER_TRY(m.scale, bind_f32(lookup, row_scales_of(spec)));
  } else m.f32 = reinterpret_cast<const float*>(t->data);
  return m;
}

/// Checks every tensor of `schema` through `lookup` as the encoder binds it (bind_matrix for the
/// matrices, bind_f32 for the rest), in binding order; the first error.
template <class Lookup>
Status check_weights(Lookup& lookup, const WeightSchema& schema) {
  Status status = ok_status();
  schema.for_each([&](const WeightSpec& w) {
    if (!status.ok()) return;
    if (is_matrix(w.role)) {
      auto m = bind_matrix(lookup, w);
      if (!m.ok()) status = m.error();
    } else {
      auto v = bind_f32(lookup, w);
      if (!v.ok()) status = v.error();
    }
  });
  return status;
}

} // namespace detail
} // namespace albertner

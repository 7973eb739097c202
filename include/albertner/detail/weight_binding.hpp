// Looking up one weight tensor by its Hugging Face name and checking it before the encoder
// keeps a pointer into its bytes.
#pragma once

#include "../status.hpp"
#include "../tensor.hpp"

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

/// The F32 data of tensor `name`, found through `lookup` (`const TensorView* (const std::string&)`,
/// nullptr when absent), after checking dtype, exact shape, byte count and float alignment.
template <class Lookup>
Result<const float*> bind_f32(Lookup& lookup, const std::string& name, const std::vector<std::int64_t>& shape) {
  const TensorView* t = lookup(name);
  if (!t) return Error(errc::missing, "tensor '" + name + "' is missing (expected F32 " + shape_string(shape) + ")");
  if (t->type != dtype::f32)
    return Error(errc::shape, "tensor '" + name + "' has dtype " + dtype_name(t->type) + ", expected F32");
  if (t->shape != shape)
    return Error(errc::shape,
                 "tensor '" + name + "' has shape " + t->shape_string() + ", expected " + shape_string(shape));
  const std::size_t want = static_cast<std::size_t>(t->numel()) * sizeof(float);
  if (!t->data || t->nbytes != want)
    return Error(errc::format, "tensor '" + name + "' holds " + std::to_string(t->nbytes) + " bytes, expected " +
                                   std::to_string(want));
  // Reading floats through a misaligned pointer is undefined behaviour, even where the CPU copes.
  if (reinterpret_cast<std::uintptr_t>(t->data) % alignof(float) != 0)
    return Error(errc::unsupported,
                 "tensor '" + name + "' data is not aligned to " + std::to_string(alignof(float)) + " bytes");
  return reinterpret_cast<const float*>(t->data);
}

} // namespace detail
} // namespace albertner

#pragma once
// A tensor as a model file stores it, and the weight breakdown of a list of
// them: the exact bytes and parameters a GGUF or safetensors file holds, per
// tensor class, comparable with qmath::weight_bytes(architecture, recipe).
// This header does not include xsimd.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "qmath/detail/checked.hpp"
#include "qmath/estimate/weights.hpp"
#include "qmath/formats/format_info.hpp"
#include "qmath/models/architecture.hpp"

namespace qmath::io {

struct stored_tensor {
  std::string name;                  // as the file names it
  std::vector<std::uint64_t> shape;  // as the file lists it (GGUF: ne[0] first; safetensors: outermost first)
  std::string dtype;                 // the stored type: a safetensors dtype ("BF16", "I32"), a GGUF type ("q4_k")
  std::optional<format_info> format; // qmath's format for it; empty for types qmath has none for (I32, BOOL, ...)
  std::uint64_t elements = 0;
  std::uint64_t bytes = 0;           // exact bytes in the file
  models::tensor_class cls = models::tensor_class::other;
  models::tensor_role role = models::tensor_role::norm;
  std::int32_t layer = -1;           // block index, -1 outside the blocks
};

// Bytes and parameters of stored tensors per class (checked sums).
inline weight_breakdown stored_weight_bytes(const std::vector<stored_tensor>& tensors) {
  constexpr const char* api = "qmath::io::stored_weight_bytes";
  weight_breakdown out;
  for (const auto& t : tensors) {
    const auto c = static_cast<std::size_t>(t.cls);
    out.bytes[c] = ::qmath::detail::checked_add(out.bytes[c], t.bytes, api, "weight bytes");
    out.parameters[c] = ::qmath::detail::checked_add(out.parameters[c], t.elements, api, "parameter count");
  }
  // The totals are summed once more so that total() cannot wrap either.
  std::uint64_t bytes = 0, params = 0;
  for (std::size_t c = 0; c < models::tensor_class_count; ++c) {
    bytes = ::qmath::detail::checked_add(bytes, out.bytes[c], api, "weight bytes");
    params = ::qmath::detail::checked_add(params, out.parameters[c], api, "parameter count");
  }
  return out;
}

}  // namespace qmath::io

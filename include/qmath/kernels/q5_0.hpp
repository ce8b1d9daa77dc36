#pragma once
// Q5_0 array kernels: qmath::quantize<formats::q5_0, Arch> / dequantize.
// Every architecture runs the constexpr scalar reference (formats/q5_0.hpp)
// for now; an architecture-specific path must write the same bytes.

#include <cstddef>
#include <span>

#include "qmath/formats/q5_0.hpp"
#include "qmath/formats/reference.hpp"
#include "qmath/kernels/quantize.hpp"

namespace qmath::kernels {

template <>
struct block_kernel<formats::q5_0> {
  template <class Arch>
  static void quantize(std::span<const float> in, std::span<std::byte> out) {
    detail::reference_quantize_blocks<formats::q5_0>(in, out, 0, in.size() / 32);
  }

  template <class Arch>
  static void dequantize(std::span<const std::byte> in, std::span<float> out) {
    detail::reference_dequantize_blocks<formats::q5_0>(in, out, 0, out.size() / 32);
  }
};

}  // namespace qmath::kernels

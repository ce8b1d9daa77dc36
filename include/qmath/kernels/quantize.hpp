#pragma once
// The public array API of the block formats:
//
//   qmath::quantize<F>(std::span<const float> in, std::span<std::byte> out)
//   qmath::dequantize<F>(std::span<const std::byte> in, std::span<float> out)
//
// `in` (or `out`) holds a whole number of F's blocks and the byte span is
// exactly storage_bytes<F>(n) long; anything else throws qmath::error before a
// byte is written. The optional second template argument picks the kernel's
// instruction set (qmath::scalar_arch runs the constexpr reference); every
// architecture writes the same bytes.
//
// Each format's kernel header specialises qmath::kernels::block_kernel<F>
// with two static member templates:
//   template <class Arch> static void quantize(std::span<const float>, std::span<std::byte>);
//   template <class Arch> static void dequantize(std::span<const std::byte>, std::span<float>);
// They are called with sizes already checked.

#include <cstddef>
#include <span>

#include "qmath/error.hpp"
#include "qmath/formats/format_info.hpp"
#include "qmath/kernels/arch.hpp"

namespace qmath {

namespace kernels {
template <class F>
struct block_kernel;  // specialised by each format's kernel header
}  // namespace kernels

template <format_descriptor F, class Arch = default_arch>
void quantize(std::span<const float> in, std::span<std::byte> out) {
  detail::check_storage_size<F>("qmath::quantize", in.size(), out.size());
  kernels::block_kernel<F>::template quantize<Arch>(in, out);
}

template <format_descriptor F, class Arch = default_arch>
void dequantize(std::span<const std::byte> in, std::span<float> out) {
  detail::check_storage_size<F>("qmath::dequantize", out.size(), in.size());
  kernels::block_kernel<F>::template dequantize<Arch>(in, out);
}

}  // namespace qmath

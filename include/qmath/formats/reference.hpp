#pragma once
// The scalar reference of every block format, on whole arrays, usable in
// constant expressions:
//
//   qmath::reference::quantize<F>(std::span<const float> in, std::span<std::byte> out)
//   qmath::reference::dequantize<F>(std::span<const std::byte> in, std::span<float> out)
//
// F is a format descriptor with a block struct and constexpr
// quantize_block / dequantize_block (formats/q8_0.hpp, ...). Sizes are checked
// as by qmath::quantize (a whole number of blocks, the byte span exactly
// storage_bytes<F>(n) long); a block holding NaN or Inf throws qmath::error
// naming the block, before anything of that block is written. These are what
// the kernels run for qmath::scalar_arch, and what every SIMD path must equal.
// No xsimd here.

#include <cstddef>
#include <span>

#include "qmath/error.hpp"
#include "qmath/formats/detail/block_io.hpp"
#include "qmath/formats/detail/gguf_common.hpp"
#include "qmath/formats/format_info.hpp"

namespace qmath {

// A format with a per-block scalar reference.
template <class F>
concept block_format = format_descriptor<F> && detail::byte_block<typename F::block> &&
                       requires(std::span<const float, F::info.block_elems> x, const typename F::block& b,
                                std::span<float, F::info.block_elems> y) {
                         { F::quantize_block(x) } -> std::same_as<typename F::block>;
                         F::dequantize_block(b, y);
                       };

namespace detail {
// The block loops without the size checks (the kernels call these).
template <class F>
constexpr void reference_quantize_blocks(std::span<const float> in, std::span<std::byte> out, std::size_t first_block,
                                         std::size_t end_block) {
  constexpr std::size_t elems = F::info.block_elems;
  for (std::size_t b = first_block; b < end_block; ++b) {
    const auto x = in.subspan(b * elems).template first<elems>();
    gguf::require_finite_block<F>(x, b);
    store_block(F::quantize_block(x), out, b);
  }
}

template <class F>
constexpr void reference_dequantize_blocks(std::span<const std::byte> in, std::span<float> out,
                                           std::size_t first_block, std::size_t end_block) {
  constexpr std::size_t elems = F::info.block_elems;
  for (std::size_t b = first_block; b < end_block; ++b)
    F::dequantize_block(load_block<typename F::block>(in, b), out.subspan(b * elems).template first<elems>());
}
}  // namespace detail

namespace reference {

template <block_format F>
constexpr void quantize(std::span<const float> in, std::span<std::byte> out) {
  detail::check_storage_size<F>("qmath::quantize", in.size(), out.size());
  detail::reference_quantize_blocks<F>(in, out, 0, in.size() / F::info.block_elems);
}

template <block_format F>
constexpr void dequantize(std::span<const std::byte> in, std::span<float> out) {
  detail::check_storage_size<F>("qmath::dequantize", out.size(), in.size());
  detail::reference_dequantize_blocks<F>(in, out, 0, out.size() / F::info.block_elems);
}

}  // namespace reference
}  // namespace qmath

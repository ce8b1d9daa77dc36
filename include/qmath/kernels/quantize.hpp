#pragma once
// The public array API of the block formats:
//
//   qmath::quantize<F>(std::span<const float> in, std::span<std::byte> out)
//   qmath::dequantize<F>(std::span<const std::byte> in, std::span<float> out)
//
// `in` (or `out`) holds a whole number of F's blocks and the byte span is
// exactly storage_bytes<F>(n) long; anything else throws qmath::error before a
// byte is written. The optional second template argument picks the kernel's
// instruction set (qmath::scalar_arch runs the constexpr reference); the
// default, qmath::auto_arch, is the unit's best (default_arch), or in a unit
// built for the baseline with runtime dispatch the CPU's best
// (kernels/dispatch.hpp). Every architecture writes the same bytes.
//
// Each format's kernel header specialises qmath::kernels::block_kernel<F>
// with two static member templates:
//   template <class Arch> static void quantize(std::span<const float>, std::span<std::byte>);
//   template <class Arch> static void dequantize(std::span<const std::byte>, std::span<float>);
// They are called with sizes already checked.
//
// With a third argument, an executor (qmath::threads{n}, or the caller's: see
// kernels/parallel.hpp), the blocks are split over its threads; the bytes do
// not depend on the number of threads. Formats whose storage is not an array
// of F::block (bitsandbytes, GPTQ/AWQ: codes and scales in separate planes)
// run on the calling thread.

#include <cstddef>
#include <span>

#include "qmath/error.hpp"
#include "qmath/formats/format_info.hpp"
#include "qmath/kernels/arch.hpp"
#include "qmath/kernels/dispatch.hpp"
#include "qmath/kernels/parallel.hpp"

namespace qmath {

namespace kernels {
template <class F>
struct block_kernel;  // specialised by each format's kernel header
}  // namespace kernels

namespace kernels {
// Whether F's storage is an array of F::block, so that a range of blocks is a
// range of bytes.
template <class F>
inline constexpr bool stored_as_blocks = [] {
  if constexpr (requires { sizeof(typename F::block); })
    return sizeof(typename F::block) * 8 == F::info.block_bits && F::info.group_blocks == 0 &&
           F::info.tensor_bytes == 0;
  else
    return false;
}();

// Blocks per chunk are a multiple of this: the AVX-512 kernels take 16 blocks
// at a time.
inline constexpr std::size_t chunk_align_blocks = 16;

// The kernel an array call runs: the dispatched tier's (kernels/dispatch.hpp)
// for qmath::runtime_arch and a listed format, otherwise Arch's (runtime_arch
// meaning this unit's default_arch).
template <class F, class Arch>
void run_quantize(std::span<const float> in, std::span<std::byte> out) {
#if QMATH_DISPATCH
  if constexpr (dispatch::routes<F, Arch>) {
    dispatch::active().quantize[dispatch::index_in<F, dispatch::dispatched_formats>::value](in, out);
    return;
  }
#endif
  using A = std::conditional_t<std::is_same_v<Arch, runtime_arch>, default_arch, Arch>;
  block_kernel<F>::template quantize<A>(in, out);
}

template <class F, class Arch>
void run_dequantize(std::span<const std::byte> in, std::span<float> out) {
#if QMATH_DISPATCH
  if constexpr (dispatch::routes<F, Arch>) {
    dispatch::active().dequantize[dispatch::index_in<F, dispatch::dispatched_formats>::value](in, out);
    return;
  }
#endif
  using A = std::conditional_t<std::is_same_v<Arch, runtime_arch>, default_arch, Arch>;
  block_kernel<F>::template dequantize<A>(in, out);
}
}  // namespace kernels

template <format_descriptor F, class Arch = auto_arch>
void quantize(std::span<const float> in, std::span<std::byte> out) {
  detail::check_storage_size<F>("qmath::quantize", in.size(), out.size());
  kernels::run_quantize<F, Arch>(in, out);
}

template <format_descriptor F, class Arch = auto_arch>
void dequantize(std::span<const std::byte> in, std::span<float> out) {
  detail::check_storage_size<F>("qmath::dequantize", out.size(), in.size());
  kernels::run_dequantize<F, Arch>(in, out);
}

template <format_descriptor F, class Arch = auto_arch, class E>
  requires executor<std::remove_cvref_t<E>>
void quantize(std::span<const float> in, std::span<std::byte> out, E&& ex) {
  detail::check_storage_size<F>("qmath::quantize", in.size(), out.size());
  if constexpr (kernels::stored_as_blocks<F>) {
    constexpr std::size_t elems = F::info.block_elems, bytes = sizeof(typename F::block);
    const bool ok = detail::for_each_chunk(
        ex, in.size() / elems, std::max<std::size_t>(1, detail::min_elements_per_task / elems), kernels::chunk_align_blocks, in.size(),
        [&](std::size_t first, std::size_t end) {
          kernels::run_quantize<F, Arch>(in.subspan(first * elems, (end - first) * elems),
                                                            out.subspan(first * bytes, (end - first) * bytes));
        });
    if (ok) return;
  }
  kernels::run_quantize<F, Arch>(in, out);  // (again, on error: it throws the one-thread error)
}

template <format_descriptor F, class Arch = auto_arch, class E>
  requires executor<std::remove_cvref_t<E>>
void dequantize(std::span<const std::byte> in, std::span<float> out, E&& ex) {
  detail::check_storage_size<F>("qmath::dequantize", out.size(), in.size());
  if constexpr (kernels::stored_as_blocks<F>) {
    constexpr std::size_t elems = F::info.block_elems, bytes = sizeof(typename F::block);
    const bool ok = detail::for_each_chunk(
        ex, out.size() / elems, std::max<std::size_t>(1, detail::min_elements_per_task / elems), kernels::chunk_align_blocks, out.size(),
        [&](std::size_t first, std::size_t end) {
          kernels::run_dequantize<F, Arch>(in.subspan(first * bytes, (end - first) * bytes),
                                                              out.subspan(first * elems, (end - first) * elems));
        });
    if (ok) return;
  }
  kernels::run_dequantize<F, Arch>(in, out);
}

}  // namespace qmath

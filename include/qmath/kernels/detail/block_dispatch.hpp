#pragma once
// The architecture dispatch every block kernel shares. A kernel derives from
// simd_or_reference<Self, F> and defines, for SIMD builds,
//   template <class Arch> static void quantize_simd(std::span<const float>, std::span<std::byte>);
//   template <class Arch> static void dequantize_simd(std::span<const std::byte>, std::span<float>);
// (either may be missing, or constrained to the architectures it has code
// for). qmath::scalar_arch, a build with QMATH_DISABLE_SIMD
// and a missing or unsatisfied function run F's constexpr reference over the
// blocks instead.
// Private to qmath's kernels.

#include <cstddef>
#include <span>

#include "qmath/formats/reference.hpp"
#include "qmath/kernels/arch.hpp"

namespace qmath::kernels {

template <class Kernel, class F>
struct simd_or_reference {
  template <class Arch>
  static void quantize(std::span<const float> in, std::span<std::byte> out) {
#if !QMATH_DISABLE_SIMD
    if constexpr (!is_scalar_arch<Arch>) {
      if constexpr (requires { Kernel::template quantize_simd<Arch>(in, out); }) {
        Kernel::template quantize_simd<Arch>(in, out);
        return;
      }
    }
#endif
    qmath::detail::reference_quantize_blocks<F>(in, out, 0, in.size() / F::info.block_elems);
  }

  template <class Arch>
  static void dequantize(std::span<const std::byte> in, std::span<float> out) {
#if !QMATH_DISABLE_SIMD
    if constexpr (!is_scalar_arch<Arch>) {
      if constexpr (requires { Kernel::template dequantize_simd<Arch>(in, out); }) {
        Kernel::template dequantize_simd<Arch>(in, out);
        return;
      }
    }
#endif
    qmath::detail::reference_dequantize_blocks<F>(in, out, 0, out.size() / F::info.block_elems);
  }
};

}  // namespace qmath::kernels

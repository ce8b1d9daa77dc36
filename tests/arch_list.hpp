#pragma once
// The kernel tests' architectures: the scalar reference, the default
// (compile-time best) architecture, and AVX2 and SSE4.2 where the build has
// them, so one test runs every path this machine compiles.
#include <qmath/kernels/arch.hpp>

#include <type_traits>

namespace qmath_test {

// Calls f.template operator()<Arch>() for each architecture.
template <class Fn>
void for_each_arch(Fn&& f) {
  f.template operator()<qmath::scalar_arch>();
  f.template operator()<qmath::default_arch>();
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
  if constexpr (!std::is_same_v<qmath::default_arch, xsimd::avx2>) f.template operator()<xsimd::avx2>();
#endif
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_SSE4_2
  f.template operator()<xsimd::sse4_2>();
#endif
}

}  // namespace qmath_test

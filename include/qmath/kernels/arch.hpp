#pragma once
// Instruction-set tags for qmath's kernels.
//
// Every kernel is a template on an architecture tag, so that translation units
// compiled with different -m flags never share a symbol (see STYLE.md: an
// untagged inline function using xsimd::batch is an ODR trap). The default is
// the best architecture the consumer compiles for; qmath::scalar_arch selects
// the scalar reference, and is the default when QMATH_DISABLE_SIMD is set or
// the target has no SIMD that xsimd supports.

#include <type_traits>

#include "qmath/config.hpp"

#if !QMATH_DISABLE_SIMD
#include "qmath/kernels/xsimd_compat.hpp"
#endif

namespace qmath {

// Runs the constexpr scalar reference of a format.
struct scalar_arch {
  static constexpr const char* name() noexcept { return "scalar"; }
};

#if QMATH_DISABLE_SIMD
using default_arch = scalar_arch;
#else
using default_arch = std::conditional_t<xsimd::default_arch::supported(), xsimd::default_arch, scalar_arch>;
#endif

template <class Arch>
inline constexpr bool is_scalar_arch = std::is_same_v<Arch, scalar_arch>;

// The name of the architecture qmath's kernels use in this translation unit.
constexpr const char* default_arch_name() noexcept { return default_arch::name(); }

}  // namespace qmath

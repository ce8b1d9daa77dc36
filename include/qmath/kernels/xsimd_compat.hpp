#pragma once
// The one place where qmath papers over differences between xsimd 8.1
// (Debian) and xsimd 13/14 (Conan, vcpkg). Kernels call these wrappers, never
// the version-specific names. Private to qmath's kernels.

#include <cstddef>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#ifndef XSIMD_VERSION_MAJOR
#error "qmath: cannot read xsimd's version"
#endif
#if XSIMD_VERSION_MAJOR < 8 || (XSIMD_VERSION_MAJOR == 8 && XSIMD_VERSION_MINOR < 1)
#error "qmath needs xsimd >= 8.1"
#endif

namespace qmath::simd {

// Horizontal sum: `hadd` in 8.x, `reduce_add` from 9.0.
template <class T, class A>
inline T reduce_add(const xsimd::batch<T, A>& x) noexcept {
#if XSIMD_VERSION_MAJOR >= 9
  return xsimd::reduce_add(x);
#else
  return xsimd::hadd(x);
#endif
}

// Horizontal max: not in 8.x; a store and a scalar loop is fine for the once
// per block that kernels need it.
template <class T, class A>
inline T reduce_max(const xsimd::batch<T, A>& x) noexcept {
#if XSIMD_VERSION_MAJOR >= 9
  return xsimd::reduce_max(x);
#else
  alignas(A::alignment()) T lanes[xsimd::batch<T, A>::size];
  x.store_aligned(lanes);
  T best = lanes[0];
  for (std::size_t i = 1; i < xsimd::batch<T, A>::size; ++i) best = lanes[i] > best ? lanes[i] : best;
  return best;
#endif
}

// Reinterpret the bits of a batch: `bitwise_cast<batch<U, A>>(x)` before
// 11.0, `bitwise_cast<U>(x)` from 11.0.
template <class U, class T, class A>
inline xsimd::batch<U, A> bitcast(const xsimd::batch<T, A>& x) noexcept {
#if XSIMD_VERSION_MAJOR >= 11
  return xsimd::bitwise_cast<U>(x);
#else
  return xsimd::bitwise_cast<xsimd::batch<U, A>>(x);
#endif
}

// A compile-time constant batch of the given values:
// batch_constant<batch<T, A>, V...> before 13.0, batch_constant<T, A, V...> from 13.0.
#if XSIMD_VERSION_MAJOR >= 13
template <class T, class A, T... Values>
using batch_constant = xsimd::batch_constant<T, A, Values...>;
#else
template <class T, class A, T... Values>
using batch_constant = xsimd::batch_constant<xsimd::batch<T, A>, Values...>;
#endif

// Correctly rounded float division, as the scalar references divide. xsimd
// (8.1 through 14.3) divides float batches on NEON by a reciprocal estimate
// refined by two Newton-Raphson steps and a multiply (arch/xsimd_neon.hpp,
// div; neon64 inherits it), which is often an ulp off: enough to change the
// choice of a search-based quantizer (Q2_K's make_qkx2_quants compares the
// errors of 16 candidate scales) and the bytes it writes. AArch64 has an
// IEEE vector divide (FDIV, vdivq_f32); 32-bit NEON has none, so its lanes
// are divided one by one. Every other architecture's `/` is IEEE division.
template <class A>
inline xsimd::batch<float, A> div(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b) noexcept {
#if XSIMD_WITH_NEON64
  if constexpr (std::is_base_of_v<xsimd::neon64, A>) {
    return xsimd::batch<float, A>(vdivq_f32(a, b));
  } else
#endif
#if XSIMD_WITH_NEON
  if constexpr (std::is_base_of_v<xsimd::neon, A>) {
    alignas(A::alignment()) float x[xsimd::batch<float, A>::size], y[xsimd::batch<float, A>::size];
    a.store_aligned(x);
    b.store_aligned(y);
    for (std::size_t i = 0; i < xsimd::batch<float, A>::size; ++i) x[i] /= y[i];
    return xsimd::batch<float, A>::load_aligned(x);
  } else
#endif
  {
    return a / b;
  }
}

// Vector form of detail::no_contract: an empty asm that the optimiser cannot
// see through, so the multiply before it is rounded on its own. (GCC 12's
// __builtin_assoc_barrier on vector types drops the operand; do not use it.)
template <class T, class A>
inline xsimd::batch<T, A> no_contract(xsimd::batch<T, A> x) noexcept {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  auto reg = static_cast<typename xsimd::batch<T, A>::register_type>(x);
  __asm__("" : "+v"(reg));
  return xsimd::batch<T, A>(reg);
#elif defined(__GNUC__) && defined(__aarch64__)
  auto reg = static_cast<typename xsimd::batch<T, A>::register_type>(x);
  __asm__("" : "+w"(reg));
  return xsimd::batch<T, A>(reg);
#else
  return x;
#endif
}

}  // namespace qmath::simd

#pragma once
// Runtime CPU dispatch: a program compiled for the baseline instruction set
// (x86-64 with the compiler's default flags) runs, from the first array call
// on, the kernels of the best instruction set the CPU has.
//
// How (docs/dispatch.md has the details and the costs): CMake's qmath target
// links a small static library, qmath_dispatch, built from
// src/qmath_dispatch.cpp compiled once per tier (tiers below) with that
// tier's -march flags; each compilation instantiates every dispatched kernel
// for its tier and exports one table of function pointers. A translation unit
// compiled for the baseline with QMATH_DISPATCH=1 (set by the CMake target)
// routes qmath::quantize<F>, dequantize<F> and convert through the table the
// CPU selects; a unit compiled with -march=x86-64-v3, -march=native or any
// flags above the baseline calls its own kernels directly, with no dispatch
// at all. Without the library (plain headers, QMATH_DISPATCH unset) nothing
// changes: the kernels are those the unit is compiled for.
//
// Pinning a tier (tests, reproducing a result):
//   QMATH_ARCH=scalar|sse2|sse4.2|avx2|avx512|avx512-bf16   environment, read once
//   qmath::pin_isa(qmath::isa::avx2)                          API, any time
// A tier the CPU lacks is refused (the API throws qmath::error; the
// environment variable is reported on stderr and ignored).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>
#include <type_traits>

#include "qmath/config.hpp"
#include "qmath/error.hpp"
#include "qmath/fp/convert.hpp"
#include "qmath/kernels/arch.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define QMATH_DETAIL_X86_CPUID 1
#else
#define QMATH_DETAIL_X86_CPUID 0
#endif

namespace qmath {

// Dispatch tiers, in increasing order; each includes the ones before it.
//   scalar       the constexpr references
//   sse2         x86-64 baseline
//   sse4.2       x86-64-v2
//   avx2         x86-64-v3 (AVX2, FMA, F16C, BMI2)
//   avx512       x86-64-v4 (AVX-512 F, BW, CD, DQ, VL)
//   avx512-bf16  x86-64-v4 + VBMI, VNNI, BF16 (Sapphire Rapids, Zen 4)
enum class isa : std::uint8_t { scalar, sse2, sse42, avx2, avx512, avx512_bf16 };
inline constexpr std::size_t isa_count = 6;

constexpr std::string_view isa_name(isa i) noexcept {
  constexpr std::string_view names[isa_count] = {"scalar", "sse2", "sse4.2", "avx2", "avx512", "avx512-bf16"};
  return names[static_cast<std::size_t>(i)];
}

// The tier named `name` (as isa_name spells it), or false.
constexpr bool parse_isa(std::string_view name, isa& out) noexcept {
  for (std::size_t i = 0; i < isa_count; ++i)
    if (isa_name(static_cast<isa>(i)) == name) {
      out = static_cast<isa>(i);
      return true;
    }
  return false;
}

namespace detail {
#if QMATH_DETAIL_X86_CPUID
struct cpuid_regs {
  unsigned a = 0, b = 0, c = 0, d = 0;
};
inline cpuid_regs cpuid(unsigned leaf, unsigned sub) noexcept {
  cpuid_regs r;
  if (!__get_cpuid_count(leaf, sub, &r.a, &r.b, &r.c, &r.d)) return {};
  return r;
}
// XCR0: which register states the operating system saves on a context switch.
inline std::uint64_t xcr0() noexcept {
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (std::uint64_t{hi} << 32) | lo;
}
#endif

// The best tier this CPU (and its operating system) supports. Read from
// CPUID and XCR0 directly: every feature a tier's -march flags enable, and
// the OS's saving of the YMM / ZMM and mask registers.
inline isa detect_isa() noexcept {
#if QMATH_DETAIL_X86_CPUID
  const cpuid_regs l1 = cpuid(1, 0), l7 = cpuid(7, 0), l7s1 = cpuid(7, 1), ext = cpuid(0x80000001u, 0);
  const auto bit = [](unsigned reg, int b) { return ((reg >> b) & 1u) != 0; };
  const bool v2 = bit(l1.c, 0) && bit(l1.c, 9) && bit(l1.c, 13) && bit(l1.c, 19) && bit(l1.c, 20) &&
                  bit(l1.c, 23) && bit(ext.c, 0);  // SSE3 SSSE3 CX16 SSE4.1 SSE4.2 POPCNT LAHF
  if (!v2) return isa::sse2;
  const bool osxsave = bit(l1.c, 27);
  const std::uint64_t xcr = osxsave ? xcr0() : 0;
  const bool ymm_state = (xcr & 0x6) == 0x6;
  const bool zmm_state = (xcr & 0xe6) == 0xe6;
  const bool v3 = ymm_state && bit(l1.c, 28) && bit(l1.c, 29) && bit(l1.c, 12) && bit(l1.c, 22) &&  // AVX F16C FMA MOVBE
                  bit(l7.b, 5) && bit(l7.b, 3) && bit(l7.b, 8) && bit(ext.c, 5);                   // AVX2 BMI1 BMI2 LZCNT
  if (!v3) return isa::sse42;
  const bool v4 = zmm_state && bit(l7.b, 16) && bit(l7.b, 17) && bit(l7.b, 28) && bit(l7.b, 30) &&
                  bit(l7.b, 31);  // AVX-512 F DQ CD BW VL
  if (!v4) return isa::avx2;
  const bool bf16 = bit(l7.c, 1) && bit(l7.c, 11) && bit(l7s1.a, 5);  // VBMI VNNI BF16
  return bf16 ? isa::avx512_bf16 : isa::avx512;
#elif !QMATH_DISABLE_SIMD && (defined(__SSE2__) || defined(_M_X64))
  return isa::sse2;
#else
  return isa::scalar;
#endif
}
}  // namespace detail

// The best tier this CPU supports (detected once).
inline isa cpu_isa() noexcept {
  static const isa detected = detail::detect_isa();
  return detected;
}

// The tier a translation unit compiled with these flags runs without dispatch.
constexpr isa compiled_isa() noexcept {
#if QMATH_DISABLE_SIMD
  return isa::scalar;
#elif defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
#if defined(__AVX512BF16__) && defined(__AVX512VBMI__) && defined(__AVX512VNNI__)
  return isa::avx512_bf16;
#else
  return isa::avx512;
#endif
#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
  return isa::avx2;
#elif defined(__SSE4_2__)
  return isa::sse42;
#elif defined(__SSE2__) && defined(__x86_64__)
  return isa::sse2;
#else
  return isa::scalar;
#endif
}

namespace kernels::dispatch {

// One tier's kernels, as plain function pointers.
using quantize_fn = void (*)(std::span<const float>, std::span<std::byte>);
using dequantize_fn = void (*)(std::span<const std::byte>, std::span<float>);
using from_float_fn = void (*)(const float*, void*, std::size_t, fp8_overflow);
using to_float_fn = void (*)(const void*, float*, std::size_t);

template <class... F>
struct type_list {
  static constexpr std::size_t size = sizeof...(F);
};

// Index of F in L, or L::size when absent.
template <class F, class L>
struct index_in;
template <class F, class... Fs>
struct index_in<F, type_list<Fs...>> {
  static constexpr std::size_t value = [] {
    constexpr bool same[] = {std::is_same_v<F, Fs>..., false};
    std::size_t i = 0;
    while (i < sizeof...(Fs) && !same[i]) ++i;
    return i;
  }();
};

using fp_types = type_list<fp16, bf16, fp8_e4m3, fp8_e5m2>;

}  // namespace kernels::dispatch
}  // namespace qmath

// The block formats that the dispatch tables hold: every format with a fixed
// descriptor (templates with free sizes, such as bitsandbytes at other block
// sizes or GPTQ/AWQ shapes, run the kernels their unit is compiled for).
#include "qmath/kernels/detail/dispatch_formats.hpp"

namespace qmath::kernels::dispatch {

struct table {
  isa tier;
  quantize_fn quantize[dispatched_formats::size];
  dequantize_fn dequantize[dispatched_formats::size];
  from_float_fn from_float[fp_types::size];
  to_float_fn to_float[fp_types::size];
};

#if QMATH_DISPATCH
// Defined by the qmath_dispatch library, one per tier; null for a tier that
// was not built (other targets than x86-64).
const table* tier_table(isa tier) noexcept;

inline std::atomic<const table*>& active_slot() noexcept {
  static std::atomic<const table*> slot{nullptr};
  return slot;
}

// The table of the best tier that is built and that the CPU has, or the one
// QMATH_ARCH names.
inline const table* select_table() noexcept {
  isa best = cpu_isa();
  if (const char* pinned = std::getenv("QMATH_ARCH"); pinned != nullptr && *pinned != '\0') {
    isa wanted;
    if (!parse_isa(pinned, wanted))
      std::fprintf(stderr, "qmath: QMATH_ARCH=%s is not one of scalar, sse2, sse4.2, avx2, avx512, avx512-bf16; ignored\n",
                   pinned);
    else if (wanted > best)
      std::fprintf(stderr, "qmath: QMATH_ARCH=%s: this CPU's best is %s; ignored\n", pinned, isa_name(best).data());
    else
      best = wanted;
  }
  for (int t = static_cast<int>(best); t >= 0; --t)
    if (const table* found = tier_table(static_cast<isa>(t))) return found;
  return nullptr;
}

inline const table& active() noexcept {
  const table* t = active_slot().load(std::memory_order_acquire);
  if (t == nullptr) [[unlikely]] {
    t = select_table();
    active_slot().store(t, std::memory_order_release);  // a race stores the same pointer
  }
  return *t;
}
#endif

}  // namespace qmath::kernels::dispatch

namespace qmath {

// Whether this translation unit routes array calls through the dispatch
// tables: the library is linked (QMATH_DISPATCH) and the unit is compiled for
// the baseline, so the CPU may have better.
#if QMATH_DISPATCH && !QMATH_DISABLE_SIMD
inline constexpr bool dispatches = compiled_isa() <= isa::sse2;
#else
inline constexpr bool dispatches = false;
#endif

// The tier qmath's array calls run in this translation unit.
inline isa active_isa() noexcept {
#if QMATH_DISPATCH && !QMATH_DISABLE_SIMD
  if constexpr (dispatches) return kernels::dispatch::active().tier;
#endif
  return compiled_isa();
}

// Pins the dispatch tier (thread-safe; takes effect for the calls that start
// after it). A tier the CPU lacks, or that was not built, is an error. In a
// unit that does not dispatch, only its own tier is accepted.
inline void pin_isa(isa tier) {
#if QMATH_DISPATCH && !QMATH_DISABLE_SIMD
  if constexpr (dispatches) {
    QMATH_REQUIRE(tier <= cpu_isa(), "qmath::pin_isa", "this CPU has no ", isa_name(tier),
                  "; its best tier is ", isa_name(cpu_isa()));
    const kernels::dispatch::table* t = kernels::dispatch::tier_table(tier);
    QMATH_REQUIRE(t != nullptr, "qmath::pin_isa", "the dispatch library has no ", isa_name(tier), " kernels");
    kernels::dispatch::active_slot().store(t, std::memory_order_release);
    return;
  }
#endif
  QMATH_REQUIRE(tier == compiled_isa(), "qmath::pin_isa", "this translation unit is compiled for ",
                isa_name(compiled_isa()), " without runtime dispatch; it cannot run ", isa_name(tier));
}

// The default architecture of the array API: the dispatched tier in a unit
// that dispatches, otherwise the unit's own best (default_arch).
struct runtime_arch {
  static const char* name() noexcept { return isa_name(active_isa()).data(); }
};
using auto_arch = std::conditional_t<dispatches, runtime_arch, default_arch>;

namespace kernels::dispatch {
template <class F, class Arch>
inline constexpr bool routes =
    std::is_same_v<Arch, runtime_arch> && index_in<F, dispatched_formats>::value < dispatched_formats::size;
template <class T, class Arch>
inline constexpr bool routes_fp = std::is_same_v<Arch, runtime_arch>;
}  // namespace kernels::dispatch

}  // namespace qmath

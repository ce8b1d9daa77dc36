#pragma once
// Array conversions between float and the storage formats fp16, bf16,
// fp8_e4m3 and fp8_e5m2:
//
//   qmath::convert(std::span<const float> in, std::span<To> out [, fp8_overflow])
//   qmath::convert(std::span<const From> in, std::span<float> out)
//
// Every element is converted exactly as the constexpr scalar reference
// qmath::convert<To>(float) does (fp/fp16.hpp, bf16.hpp, fp8.hpp: RNE,
// subnormals kept, the documented NaN bits), on every instruction set, bit for
// bit. `out` must have exactly in.size() elements, otherwise qmath::error is
// thrown before anything is written. The spans must not overlap.
//
// The last template argument picks the instruction set: qmath::auto_arch (the
// default: the best the translation unit is compiled for, or with runtime
// dispatch the CPU's best, see kernels/dispatch.hpp), qmath::default_arch
// (the best the translation unit is compiled for), qmath::scalar_arch (the
// reference), or kernels::fp_generic_arch<A> (the portable xsimd kernels on A,
// without the x86 conversion instructions; used by the tests).
//
// Kernels, by instruction set:
//   AVX-512BW  64 elements per step; a masked head up to the destination's
//              64-byte boundary and a masked tail, so the middle runs with
//              aligned full-width stores, streaming ones (as memcpy does)
//              when in + out is 8 MiB or more. fp16: vcvtps2ph / vcvtph2ps.
//              bf16: vcvtne2ps2bf16 when AVX512-BF16 is enabled, with any
//              block holding a float subnormal (which the instruction
//              flushes to zero) redone by integer RNE; integer RNE otherwise.
//              fp8 -> float: through fp16, which holds every E4M3 and E5M2
//              value exactly. float -> fp8: vcvtps2ph rounded to odd (E4M3:
//              of x * 2^-8), then integer RNE of the fp16 bits on 32 lanes
//              (see fp8_from_float_avx512).
//   AVX2+F16C  8 lanes: fp16 by F16C, bf16 by integer RNE,
//              fp8 -> float through fp16, float -> fp8 by the portable kernel.
//   any xsimd  portable integer kernels (lanes narrowed or widened by a
//              store and a scalar copy).
// The kernels that use F16C are tested with MXCSR's DAZ clear (the default);
// with DAZ set, subnormal inputs may be read as zero.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include "qmath/error.hpp"
#include "qmath/fp/convert.hpp"
#include "qmath/kernels/arch.hpp"
#include "qmath/kernels/dispatch.hpp"
#include "qmath/kernels/detail/call_size.hpp"
#include "qmath/kernels/parallel.hpp"

#if !QMATH_DISABLE_SIMD && (defined(__x86_64__) || defined(__i386__) || defined(_M_X64))
#include <immintrin.h>
#endif

#include "qmath/kernels/detail/diagnostics_begin.hpp"

namespace qmath {
namespace kernels {

// Selects the portable xsimd kernels of the xsimd architecture A, skipping
// the instruction-specific ones.
template <class A>
struct fp_generic_arch {
  using inner = A;
  static constexpr const char* name() noexcept { return "generic"; }
};

namespace fp_detail {

template <class T>
struct is_generic_arch : std::false_type {};
template <class A>
struct is_generic_arch<fp_generic_arch<A>> : std::true_type {};

template <class Format>
using raw_t = std::conditional_t<sizeof(Format) == 2, std::uint16_t, std::uint8_t>;

// ---------------------------------------------------------------- scalar

template <fp_format To>
inline void from_float_scalar(const float* in, To* out, std::size_t n, fp8_overflow mode) {
  for (std::size_t i = 0; i < n; ++i) out[i] = detail::from_float<To>(in[i], mode);
}

template <fp_format From>
inline void to_float_scalar(const From* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = detail::to_float(in[i]);
}

// Runs `block(in, out)` on whole blocks of W elements; the last partial block
// goes through zero-padded stack buffers, so the kernels never see a tail.
template <std::size_t W, class In, class Out, class Block>
inline void for_blocks(const In* in, Out* out, std::size_t n, Block&& block) {
  std::size_t i = 0;
  for (; i + W <= n; i += W) block(in + i, out + i);
  if (i < n) {
    In in_tail[W] = {};
    alignas(64) Out out_tail[W];  // aligned: kernels may use streaming stores
    std::memcpy(in_tail, in + i, (n - i) * sizeof(In));
    block(static_cast<const In*>(in_tail), static_cast<Out*>(out_tail));
    std::memcpy(out + i, out_tail, (n - i) * sizeof(Out));
  }
}

// Elements before `p` reaches a 64-byte boundary (none if p is not even
// element-aligned). Kernels run the head on its own so that their full-width
// loads or stores do not straddle cache lines.
template <class T>
inline std::size_t head_to_cache_line(const T* p, std::size_t n) noexcept {
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  if (address % sizeof(T) != 0) return 0;
  return std::min(n, (64 - address % 64) % 64 / sizeof(T));
}

#if !QMATH_DISABLE_SIMD

// ---------------------------------------------------------------- portable xsimd

template <class A>
using ivec = xsimd::batch<std::int32_t, A>;

// Right shift by a per-lane amount in [1, 31], rounded to nearest even.
// v + (half - 1) + (lsb of the result) carries exactly when the discarded
// bits are above half, or equal to half with an odd result.
template <class A>
inline ivec<A> shift_right_round_even(ivec<A> v, ivec<A> shift) noexcept {
  const ivec<A> one(1);
  return (v + ((one << (shift - one)) - one) + ((v >> shift) & one)) >> shift;
}

// fp16 bits (in the low 16 bits of each lane) of float lanes given as bits.
// Same case analysis as detail::fp16_bits_from_float.
template <class A>
inline ivec<A> fp16_codes(ivec<A> x) noexcept {
  const ivec<A> magnitude = x & ivec<A>(0x7fffffff);
  const ivec<A> sign = (x >> 16) & ivec<A>(0x8000);
  const ivec<A> normal = ((magnitude - ivec<A>(0x38000000)) + ivec<A>(0xfff) + ((magnitude >> 13) & ivec<A>(1))) >> 13;
  const ivec<A> exponent = magnitude >> 23;
  const ivec<A> significand = (magnitude & ivec<A>(0x7fffff)) | ivec<A>(0x800000);
  const ivec<A> shift = xsimd::max(xsimd::min(ivec<A>(126) - exponent, ivec<A>(31)), ivec<A>(1));
  ivec<A> r = xsimd::select(magnitude < ivec<A>(0x38800000), shift_right_round_even(significand, shift), normal);
  r = xsimd::select(magnitude >= ivec<A>(0x477ff000), ivec<A>(0x7c00), r);
  r = xsimd::select(magnitude > ivec<A>(0x7f800000), ivec<A>(0x7e00) | ((magnitude >> 13) & ivec<A>(0x3ff)), r);
  return r | sign;
}

// bf16 bits of float lanes: ggml's RNE add, NaN made quiet. The add may wrap
// (sign bit carried into), which the logical shift then ignores as intended.
template <class A>
inline ivec<A> bf16_codes(ivec<A> x) noexcept {
  using uvec = xsimd::batch<std::uint32_t, A>;
  const uvec u = simd::bitcast<std::uint32_t>(x);
  const uvec rounded = (u + uvec(0x7fffu) + ((u >> 16) & uvec(1u))) >> 16;
  const ivec<A> quiet_nan = ((x >> 16) & ivec<A>(0xffff)) | ivec<A>(0x40);
  return xsimd::select((x & ivec<A>(0x7fffffff)) > ivec<A>(0x7f800000), quiet_nan,
                       simd::bitcast<std::int32_t>(rounded));
}

// fp8 bits of float lanes. Same case analysis as detail::fp8_bits_from_float.
template <class Fp8, class A>
inline ivec<A> fp8_codes(ivec<A> x, fp8_overflow mode) noexcept {
  using traits = detail::fp8_traits<Fp8>;
  using derived = detail::fp8_derived<Fp8>;
  constexpr int drop = static_cast<int>(derived::drop);
  const ivec<A> magnitude = x & ivec<A>(0x7fffffff);
  const ivec<A> sign = (x >> 24) & ivec<A>(0x80);
  const ivec<A> odd = (magnitude >> drop) & ivec<A>(1);
  const ivec<A> normal = ((magnitude - ivec<A>(static_cast<std::int32_t>(derived::rebias))) +
                          ivec<A>((1 << (drop - 1)) - 1) + odd) >> drop;
  const ivec<A> exponent = magnitude >> 23;
  const ivec<A> significand = (magnitude & ivec<A>(0x7fffff)) | ivec<A>(0x800000);
  const ivec<A> shift = xsimd::max(
      xsimd::min(ivec<A>(static_cast<std::int32_t>(derived::subnormal_shift)) - exponent, ivec<A>(31)), ivec<A>(1));
  ivec<A> r = xsimd::select(magnitude < ivec<A>(static_cast<std::int32_t>(derived::min_normal)),
                            shift_right_round_even(significand, shift), normal);
  const std::int32_t overflow =
      mode == fp8_overflow::saturate ? traits::max_code : traits::overflow_code;
  r = xsimd::select(magnitude > ivec<A>(static_cast<std::int32_t>(traits::last_in_range)), ivec<A>(overflow), r);
  ivec<A> nan(0x7f);
  if constexpr (traits::overflow_code != 0x7f) nan = ivec<A>(0x7e) | ((magnitude >> 21) & ivec<A>(1));
  r = xsimd::select(magnitude > ivec<A>(0x7f800000), nan, r);
  return r | sign;
}

// Float bits of fp16 lanes (values in [0, 0xffff]); as detail::fp16_bits_to_float.
template <class A>
inline ivec<A> fp16_to_float_bits(ivec<A> h) noexcept {
  const ivec<A> sign = (h & ivec<A>(0x8000)) << 16;
  const ivec<A> magnitude = h & ivec<A>(0x7fff);
  const ivec<A> exponent = magnitude >> 10;
  const ivec<A> mantissa = magnitude & ivec<A>(0x3ff);
  const ivec<A> normal = (magnitude << 13) + ivec<A>(0x38000000);
  // A subnormal is mantissa * 2^-24: exact in float (a power-of-two scaling).
  const ivec<A> subnormal =
      simd::bitcast<std::int32_t>(xsimd::batch_cast<float>(mantissa) * xsimd::batch<float, A>(0x1p-24f));
  const ivec<A> special = ivec<A>(0x7f800000) | (mantissa << 13) |
                          xsimd::select(mantissa != ivec<A>(0), ivec<A>(0x400000), ivec<A>(0));
  ivec<A> r = xsimd::select(exponent == ivec<A>(0), subnormal, normal);
  r = xsimd::select(exponent == ivec<A>(31), special, r);
  return r | sign;
}

// Float bits of E4M3 lanes (values in [0, 0xff]); as detail::fp8_e4m3_bits_to_float.
template <class A>
inline ivec<A> e4m3_to_float_bits(ivec<A> b) noexcept {
  const ivec<A> sign = (b & ivec<A>(0x80)) << 24;
  const ivec<A> magnitude = b & ivec<A>(0x7f);
  const ivec<A> mantissa = magnitude & ivec<A>(0x7);
  const ivec<A> normal = (magnitude << 20) + ivec<A>(120 << 23);
  const ivec<A> subnormal =
      simd::bitcast<std::int32_t>(xsimd::batch_cast<float>(mantissa) * xsimd::batch<float, A>(0x1p-9f));
  ivec<A> r = xsimd::select(magnitude < ivec<A>(0x8), subnormal, normal);
  r = xsimd::select(magnitude == ivec<A>(0x7f), ivec<A>(0x7ff00000), r);
  return r | sign;
}

template <fp_format To, class A>
inline ivec<A> codes_of(ivec<A> x, fp8_overflow mode) noexcept {
  if constexpr (std::is_same_v<To, fp16>) return fp16_codes<A>(x);
  else if constexpr (std::is_same_v<To, bf16>) return bf16_codes<A>(x);
  else return fp8_codes<To, A>(x, mode);
}

template <fp_format From, class A>
inline ivec<A> float_bits_of(ivec<A> raw) noexcept {
  if constexpr (std::is_same_v<From, fp16>) return fp16_to_float_bits<A>(raw);
  else if constexpr (std::is_same_v<From, bf16>) return raw << 16;
  else if constexpr (std::is_same_v<From, fp8_e4m3>) return e4m3_to_float_bits<A>(raw);
  else return fp16_to_float_bits<A>(raw << 8);
}

template <fp_format To, class A>
inline void from_float_generic(const float* in, To* out, std::size_t n, fp8_overflow mode) {
  constexpr std::size_t W = ivec<A>::size;
  for_blocks<W>(in, out, n, [mode](const float* src, To* dst) {
    alignas(A::alignment()) std::int32_t lanes[ivec<A>::size];
    codes_of<To, A>(simd::bitcast<std::int32_t>(xsimd::batch<float, A>::load_unaligned(src)), mode)
        .store_aligned(lanes);
    for (std::size_t j = 0; j < W; ++j) dst[j] = To::from_bits(static_cast<raw_t<To>>(lanes[j]));
  });
}

template <fp_format From, class A>
inline void to_float_generic(const From* in, float* out, std::size_t n) {
  constexpr std::size_t W = ivec<A>::size;
  for_blocks<W>(in, out, n, [](const From* src, float* dst) {
    // ivec<A>::size, not W: clang will not use an uncaptured local constant as an array bound.
    alignas(A::alignment()) std::int32_t lanes[ivec<A>::size];
    for (std::size_t j = 0; j < W; ++j) lanes[j] = src[j].bits;
    simd::bitcast<float>(float_bits_of<From, A>(ivec<A>::load_aligned(lanes))).store_unaligned(dst);
  });
}

// ---------------------------------------------------------------- x86

#if XSIMD_WITH_AVX512BW
template <class A>
inline constexpr bool is_avx512bw = std::is_base_of_v<xsimd::avx512bw, A>;
#else
template <class A>
inline constexpr bool is_avx512bw = false;
#endif
#if XSIMD_WITH_AVX2 && defined(__F16C__)
template <class A>
inline constexpr bool is_avx2_f16c = std::is_base_of_v<xsimd::avx2, A>;
#else
template <class A>
inline constexpr bool is_avx2_f16c = false;
#endif

#if XSIMD_WITH_AVX512BW
// vcvtps2ph with the rounding in the immediate, not MXCSR's.
constexpr int f16c_rne = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
constexpr int f16c_toward_zero = _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC;
constexpr int f16c_up = _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC;

// How a 64-element block is stored: full-width, full-width bypassing the
// caches (64-byte aligned destination), or masked to its first `count`
// elements (loads are masked too, so nothing past the arrays is touched).
enum class block_store { plain, stream, masked };

// Lanes [first, first + 16) of a block of `count` elements.
template <class A>
inline __mmask16 lanes16(std::size_t count, std::size_t first) noexcept {
  if (count <= first) return 0;
  return count - first >= 16 ? static_cast<__mmask16>(0xffffu) : static_cast<__mmask16>((1u << (count - first)) - 1u);
}
template <class A>
inline __mmask32 lanes32(std::size_t count, std::size_t first) noexcept {
  if (count <= first) return 0;
  return count - first >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((std::uint32_t{1} << (count - first)) - 1u);
}
template <class A>
inline __mmask64 lanes64(std::size_t count) noexcept {
  return count >= 64 ? ~__mmask64{0} : static_cast<__mmask64>((std::uint64_t{1} << count) - 1u);
}

template <class A, block_store S>
inline __m512 load_floats(const float* block, std::size_t count, std::size_t first) noexcept {
  if constexpr (S == block_store::masked) return _mm512_maskz_loadu_ps(lanes16<A>(count, first), block + first);
  else return _mm512_loadu_ps(block + first);
}
template <class A, block_store S>
inline void store_floats(float* block, std::size_t count, std::size_t first, __m512 v) noexcept {
  if constexpr (S == block_store::masked) _mm512_mask_storeu_ps(block + first, lanes16<A>(count, first), v);
  else if constexpr (S == block_store::stream) _mm512_stream_ps(block + first, v);
  else _mm512_storeu_ps(block + first, v);
}
template <class A, block_store S>
inline __m256i load_halves16(const std::uint16_t* block, std::size_t count, std::size_t first) noexcept {
  if constexpr (S == block_store::masked) return _mm256_maskz_loadu_epi16(lanes16<A>(count, first), block + first);
  else return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + first));
}
template <class A, block_store S>
inline void store_halves16(std::uint16_t* block, std::size_t count, std::size_t first, __m256i v) noexcept {
  if constexpr (S == block_store::masked) _mm256_mask_storeu_epi16(block + first, lanes16<A>(count, first), v);
  else if constexpr (S == block_store::stream) _mm256_stream_si256(reinterpret_cast<__m256i*>(block + first), v);
  else _mm256_storeu_si256(reinterpret_cast<__m256i*>(block + first), v);
}
template <class A, block_store S>
inline void store_halves32(std::uint16_t* block, std::size_t count, std::size_t first, __m512i v) noexcept {
  if constexpr (S == block_store::masked) _mm512_mask_storeu_epi16(block + first, lanes32<A>(count, first), v);
  else if constexpr (S == block_store::stream) _mm512_stream_si512(reinterpret_cast<__m512i*>(block + first), v);
  else _mm512_storeu_si512(block + first, v);
}

// Sizes (bytes read + written) from which the middle of an array is written
// with streaming stores, as memcpy does for large copies: the destination is
// then not read into the caches first.
inline constexpr std::size_t stream_store_bytes = std::size_t{8} << 20;

// Runs Kernel::block<S>(in, out, count) over the array in blocks of 64
// elements: a masked head up to the destination's next 64-byte boundary, so
// that the full-width stores of the middle are aligned (required by streaming
// stores, and cheaper for the others), then the middle without any per-block
// size test, then a masked tail.
template <class A, class Kernel, class In, class Out>
inline void run_blocks_avx512(const In* in, Out* out, std::size_t n) {
  const std::size_t head = head_to_cache_line(out, n);  // < 64 elements
  if (head != 0) Kernel::template block<block_store::masked>(in, out, head);
  in += head;
  out += head;
  n -= head;
  const std::size_t middle = n / 64 * 64;
  if (detail::call_elements(n) * (sizeof(In) + sizeof(Out)) >= stream_store_bytes &&
      reinterpret_cast<std::uintptr_t>(out) % 64 == 0) {
    for (std::size_t i = 0; i < middle; i += 64) Kernel::template block<block_store::stream>(in + i, out + i, 64);
    _mm_sfence();
  } else {
    for (std::size_t i = 0; i < middle; i += 64) Kernel::template block<block_store::plain>(in + i, out + i, 64);
  }
  if (middle != n) Kernel::template block<block_store::masked>(in + middle, out + middle, n - middle);
}

template <class A>
struct fp16_from_float_avx512 {
  template <block_store S>
  static void block(const float* s, std::uint16_t* d, std::size_t count) noexcept {
    for (std::size_t k = 0; k < 64; k += 16) {
      // A named operand: _mm512_cvtps_ph is a macro in clang's headers and in GCC's without
      // __OPTIMIZE__, and the comma of a template argument list would split its arguments.
      const __m512 x = load_floats<A, S>(s, count, k);
      store_halves16<A, S>(d, count, k, _mm512_cvtps_ph(x, f16c_rne));
    }
  }
};

template <class A>
inline __m512i bf16_codes_avx512(__m512 v) noexcept {
  const __m512i x = _mm512_castps_si512(v);
  const __m512i rounded = _mm512_srli_epi32(
      _mm512_add_epi32(_mm512_add_epi32(x, _mm512_set1_epi32(0x7fff)), _mm512_and_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(1))), 16);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(x, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  return _mm512_mask_or_epi32(rounded, nan, _mm512_srli_epi32(x, 16), _mm512_set1_epi32(0x40));
}

// Lanes holding a float subnormal (zero exponent, nonzero mantissa).
template <class A>
inline __mmask16 float_subnormals(__m512 v) noexcept {
#if defined(__AVX512DQ__)
  return _mm512_fpclass_ps_mask(v, 0x20);
#else
  const __m512i x = _mm512_castps_si512(v);
  return _mm512_mask_test_epi32_mask(_mm512_testn_epi32_mask(x, _mm512_set1_epi32(0x7f800000)), x, _mm512_set1_epi32(0x7fffff));
#endif
}

template <class A>
struct bf16_from_float_avx512 {
  template <block_store S>
  static void block(const float* s, std::uint16_t* d, std::size_t count) noexcept {
    __m512 v[4];
    for (std::size_t k = 0; k < 4; ++k) v[k] = load_floats<A, S>(s, count, 16 * k);
#if defined(__AVX512BF16__)
    // vcvtne2ps2bf16 is the reference except that it flushes float
    // subnormals to zero; such blocks are rare and take the integer route.
    if (_kortestz_mask16_u8(static_cast<__mmask16>(float_subnormals<A>(v[0]) | float_subnormals<A>(v[1])),
                            static_cast<__mmask16>(float_subnormals<A>(v[2]) | float_subnormals<A>(v[3])))) {
      store_halves32<A, S>(d, count, 0, std::bit_cast<__m512i>(_mm512_cvtne2ps_pbh(v[1], v[0])));
      store_halves32<A, S>(d, count, 32, std::bit_cast<__m512i>(_mm512_cvtne2ps_pbh(v[3], v[2])));
      return;
    }
#endif
    for (std::size_t k = 0; k < 4; ++k)
      store_halves16<A, S>(d, count, 16 * k, _mm512_cvtepi32_epi16(bf16_codes_avx512<A>(v[k])));
  }
};

// float -> fp8 in two roundings that together are exact:
//  1. vcvtps2ph to fp16 rounded to odd: the truncated result with its lowest
//     bit set when the conversion was inexact (toward zero and upward on the
//     magnitude differ). Rounding to odd onto a format with at least 2 more
//     significand bits makes the second rounding equal the direct one
//     (Boldo & Melquiond, "Emulation of FMA and correctly rounded sums:
//     proved algorithms using rounding to odd", IEEE TC 2008); fp16 has 7 more
//     than E4M3 and 8 more than E5M2, in their subnormal ranges too.
//  2. integer RNE of the fp16 bits to their top byte.
// E5M2 has fp16's exponent range: its code is the top byte of the fp16
// (subnormals included). E4M3's code is the top byte of the fp16 of x * 2^-8
// shifted left by one: the scaling maps E4M3's exponent bias 7 onto fp16's 15
// and its subnormal range onto fp16's (exact for every |x| >= 2^-118; smaller
// ones give zero either way).
template <class A, class Fp8, fp8_overflow Mode>
struct fp8_from_float_avx512 {
  static constexpr bool e4m3 = std::is_same_v<Fp8, fp8_e4m3>;

  // 32 fp16 words rounded to odd, from 32 floats.
  static __m512i fp16_round_to_odd(__m512 lo, __m512 hi) noexcept {
    if constexpr (e4m3) {
      lo = _mm512_mul_ps(lo, _mm512_set1_ps(0x1p-8f));
      hi = _mm512_mul_ps(hi, _mm512_set1_ps(0x1p-8f));
    }
    const __m512i toward_zero = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtps_ph(lo, f16c_toward_zero)),
                                                   _mm512_cvtps_ph(hi, f16c_toward_zero), 1);
    const __m512i up = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtps_ph(_mm512_abs_ps(lo), f16c_up)),
                                          _mm512_cvtps_ph(_mm512_abs_ps(hi), f16c_up), 1);
    // toward_zero | (up & 1): the magnitudes differ by at most one unit, so
    // this sets the lowest bit exactly when they differ.
    return _mm512_ternarylogic_epi32(toward_zero, up, _mm512_set1_epi16(1), 0xf8);
  }

  // The fp8 code (sign included) in the top byte of each word.
  static __m512i code_words(__m512i h) noexcept {
    const __m512i twice = _mm512_add_epi16(h, h);  // magnitude << 1
    const __m512i ones = _mm512_set1_epi16(1), round = _mm512_set1_epi16(0x7f);
    if constexpr (e4m3) {
      // Clamp: past 464 (and Inf, NaN) give NaN 0x7f, or when saturating 448
      // (NaN still 0x7f). 464 itself is a tie that rounds to the even 448.
      __m512i c;
      if constexpr (Mode == fp8_overflow::no_saturate) {
        c = _mm512_min_epu16(twice, _mm512_set1_epi16(0x7f00));
      } else {
        c = _mm512_min_epu16(twice, _mm512_set1_epi16(0x7e00));
        c = _mm512_mask_mov_epi16(c, _mm512_cmpgt_epu16_mask(twice, _mm512_set1_epi16(static_cast<short>(0xf800))),
                                  _mm512_set1_epi16(0x7f00));
      }
      // c + 0x7f + (bit 8 of c): RNE to the top byte
      __m512i t = _mm512_add_epi16(c, round);
      t = _mm512_mask_add_epi16(t, _mm512_test_epi16_mask(c, _mm512_set1_epi16(0x100)), t, ones);
      return _mm512_ternarylogic_epi32(t, h, _mm512_set1_epi16(static_cast<short>(0x8000)), 0xf8);  // | sign
    } else {
      // RNE of the top byte on the signed word (no carry reaches the sign);
      // NaN keeps its top byte: the quiet NaN 0x7e | float bit 21.
      const __mmask32 not_nan = _mm512_cmple_epu16_mask(twice, _mm512_set1_epi16(static_cast<short>(0xf800)));
      const __mmask32 odd = _mm512_mask_test_epi16_mask(not_nan, h, _mm512_set1_epi16(0x100));
      const __m512i t = _mm512_mask_add_epi16(h, not_nan, h, round);
      return _mm512_mask_add_epi16(t, odd, t, ones);
    }
  }

  template <block_store S>
  static void block(const float* s, std::uint8_t* d, std::size_t count) noexcept {
    if constexpr (S != block_store::masked) {
      // The arithmetic is long enough that the hardware prefetcher alone
      // falls behind on large arrays; ask for the input 2 KiB ahead. (An
      // address, not a pointer: it may lie past the array, which a prefetch
      // tolerates.)
      const std::uintptr_t ahead = reinterpret_cast<std::uintptr_t>(s) + 2048;
      for (std::uintptr_t k = 0; k < 4; ++k) _mm_prefetch(reinterpret_cast<const char*>(ahead + 64 * k), _MM_HINT_T0);
    }
    __m512i words[2];
    for (std::size_t k = 0; k < 2; ++k)
      words[k] = code_words(fp16_round_to_odd(load_floats<A, S>(s, count, 32 * k), load_floats<A, S>(s, count, 32 * k + 16)));
#if defined(__AVX512VBMI__)
    // the odd bytes (top byte of each word) of words[0] then words[1]
    const __m512i odd_bytes = _mm512_set_epi8(127, 125, 123, 121, 119, 117, 115, 113, 111, 109, 107, 105, 103, 101, 99, 97, 95, 93, 91, 89,
                                              87, 85, 83, 81, 79, 77, 75, 73, 71, 69, 67, 65, 63, 61, 59, 57, 55, 53, 51, 49, 47, 45, 43,
                                              41, 39, 37, 35, 33, 31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    __m512i bytes = _mm512_permutex2var_epi8(words[0], odd_bytes, words[1]);
#else
    // packus interleaves the 128-bit lanes of its operands; the permute restores the order
    __m512i bytes = _mm512_permutexvar_epi64(
        _mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7),
        _mm512_packus_epi16(_mm512_srli_epi16(words[0], 8), _mm512_srli_epi16(words[1], 8)));
#endif
    if constexpr (!e4m3 && Mode == fp8_overflow::saturate) {  // Inf code 0x7c -> max 0x7b
      const __mmask64 inf = _mm512_cmpeq_epi8_mask(_mm512_and_si512(bytes, _mm512_set1_epi8(0x7f)), _mm512_set1_epi8(0x7c));
      bytes = _mm512_mask_sub_epi8(bytes, inf, bytes, _mm512_set1_epi8(1));
    }
    if constexpr (S == block_store::masked) _mm512_mask_storeu_epi8(d, lanes64<A>(count), bytes);
    else if constexpr (S == block_store::stream) _mm512_stream_si512(reinterpret_cast<__m512i*>(d), bytes);
    else _mm512_storeu_si512(d, bytes);
  }
};

template <class A>
struct fp16_to_float_avx512 {
  template <block_store S>
  static void block(const std::uint16_t* s, float* d, std::size_t count) noexcept {
    for (std::size_t k = 0; k < 64; k += 16)
      store_floats<A, S>(d, count, k, _mm512_cvtph_ps(load_halves16<A, S>(s, count, k)));
  }
};

template <class A>
struct bf16_to_float_avx512 {
  template <block_store S>
  static void block(const std::uint16_t* s, float* d, std::size_t count) noexcept {
    for (std::size_t k = 0; k < 64; k += 16)
      store_floats<A, S>(d, count, k, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(load_halves16<A, S>(s, count, k)), 16)));
  }
};

template <class A, class Fp8>
struct fp8_to_float_avx512 {
  template <block_store S>
  static void block(const std::uint8_t* s, float* d, std::size_t count) noexcept {
    for (std::size_t k = 0; k < 64; k += 32) {
      __m256i raw;
      if constexpr (S == block_store::masked) raw = _mm256_maskz_loadu_epi8(lanes32<A>(count, k), s + k);
      else raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + k));
      const __m512i bytes = _mm512_cvtepu8_epi16(raw);
      __m512i half;
      if constexpr (std::is_same_v<Fp8, fp8_e5m2>) {
        half = _mm512_slli_epi16(bytes, 8);  // E5M2 is the top byte of an fp16
      } else {
        // E4M3 magnitude << 7 is an fp16 with the value scaled by 2^-8 (exact,
        // subnormals included); NaN becomes the fp16 NaN with mantissa 111.
        const __m512i magnitude = _mm512_and_si512(bytes, _mm512_set1_epi16(0x7f));
        half = _mm512_slli_epi16(magnitude, 7);
        half = _mm512_mask_mov_epi16(half, _mm512_cmpeq_epi16_mask(magnitude, _mm512_set1_epi16(0x7f)), _mm512_set1_epi16(0x7f80));
        half = _mm512_or_si512(half, _mm512_slli_epi16(_mm512_and_si512(bytes, _mm512_set1_epi16(0x80)), 8));
      }
      __m512 f0 = _mm512_cvtph_ps(_mm512_castsi512_si256(half));
      __m512 f1 = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(half, 1));
      if constexpr (std::is_same_v<Fp8, fp8_e4m3>) {  // x86 keeps a NaN operand's payload
        f0 = _mm512_mul_ps(f0, _mm512_set1_ps(256.0f));
        f1 = _mm512_mul_ps(f1, _mm512_set1_ps(256.0f));
      }
      store_floats<A, S>(d, count, k, f0);
      store_floats<A, S>(d, count, k + 16, f1);
    }
  }
};

template <fp_format To, class A>
inline void from_float_avx512(const float* in, To* out, std::size_t n, fp8_overflow mode) {
  auto* dst = reinterpret_cast<raw_t<To>*>(out);
  if constexpr (std::is_same_v<To, fp16>) {
    run_blocks_avx512<A, fp16_from_float_avx512<A>>(in, dst, n);
  } else if constexpr (std::is_same_v<To, bf16>) {
    run_blocks_avx512<A, bf16_from_float_avx512<A>>(in, dst, n);
  } else if (mode == fp8_overflow::saturate) {
    run_blocks_avx512<A, fp8_from_float_avx512<A, To, fp8_overflow::saturate>>(in, dst, n);
  } else {
    run_blocks_avx512<A, fp8_from_float_avx512<A, To, fp8_overflow::no_saturate>>(in, dst, n);
  }
}

template <fp_format From, class A>
inline void to_float_avx512(const From* in, float* out, std::size_t n) {
  const auto* src = reinterpret_cast<const raw_t<From>*>(in);
  if constexpr (std::is_same_v<From, fp16>) run_blocks_avx512<A, fp16_to_float_avx512<A>>(src, out, n);
  else if constexpr (std::is_same_v<From, bf16>) run_blocks_avx512<A, bf16_to_float_avx512<A>>(src, out, n);
  else run_blocks_avx512<A, fp8_to_float_avx512<A, From>>(src, out, n);
}
#endif  // XSIMD_WITH_AVX512BW

#if XSIMD_WITH_AVX2 && defined(__F16C__)
template <class A>
inline __m256i bf16_codes_avx2(__m256 v) noexcept {
  const __m256i x = _mm256_castps_si256(v);
  const __m256i rounded = _mm256_srli_epi32(
      _mm256_add_epi32(_mm256_add_epi32(x, _mm256_set1_epi32(0x7fff)), _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1))), 16);
  const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
  return _mm256_blendv_epi8(rounded, _mm256_or_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(0x40)), nan);
}

template <fp_format To, class A>
inline void from_float_avx2(const float* in, To* out, std::size_t n, fp8_overflow mode) {
  auto* dst = reinterpret_cast<raw_t<To>*>(out);
  if constexpr (std::is_same_v<To, fp16>) {
    for_blocks<32>(in, dst, n, [](const float* s, std::uint16_t* d) {
      for (int k = 0; k < 4; ++k)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 8 * k), _mm256_cvtps_ph(_mm256_loadu_ps(s + 8 * k), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    });
  } else if constexpr (std::is_same_v<To, bf16>) {
    for_blocks<32>(in, dst, n, [](const float* s, std::uint16_t* d) {
      for (int k = 0; k < 2; ++k) {
        // packus interleaves the two 128-bit halves; 0xd8 puts them back in order.
        const __m256i packed = _mm256_packus_epi32(bf16_codes_avx2<A>(_mm256_loadu_ps(s + 16 * k)),
                                                   bf16_codes_avx2<A>(_mm256_loadu_ps(s + 16 * k + 8)));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + 16 * k), _mm256_permute4x64_epi64(packed, 0xd8));
      }
    });
  } else {
    for_blocks<32>(in, dst, n, [mode](const float* s, std::uint8_t* d) {
      __m256i c[4];
      for (int k = 0; k < 4; ++k)
        c[k] = fp8_codes<To, A>(simd::bitcast<std::int32_t>(xsimd::batch<float, A>::load_unaligned(s + 8 * k)), mode);
      // Two packs leave dwords ordered a0 b0 c0 d0 a1 b1 c1 d1 (per 128-bit lane).
      const __m256i bytes = _mm256_packus_epi16(_mm256_packus_epi32(c[0], c[1]), _mm256_packus_epi32(c[2], c[3]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(d),
                          _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    });
  }
}

template <fp_format From, class A>
inline void to_float_avx2(const From* in, float* out, std::size_t n) {
  const auto* src = reinterpret_cast<const raw_t<From>*>(in);
  if constexpr (std::is_same_v<From, fp16>) {
    for_blocks<32>(src, out, n, [](const std::uint16_t* s, float* d) {
      for (int k = 0; k < 4; ++k)
        _mm256_storeu_ps(d + 8 * k, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 8 * k))));
    });
  } else if constexpr (std::is_same_v<From, bf16>) {
    for_blocks<32>(src, out, n, [](const std::uint16_t* s, float* d) {
      for (int k = 0; k < 4; ++k)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + 8 * k),
                            _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 8 * k))), 16));
    });
  } else {
    for_blocks<32>(src, out, n, [](const std::uint8_t* s, float* d) {
      for (int k = 0; k < 4; ++k) {
        const __m128i bytes = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(s + 8 * k)));
        __m128i half;
        if constexpr (std::is_same_v<From, fp8_e5m2>) {
          half = _mm_slli_epi16(bytes, 8);
        } else {  // see to_float_avx512
          const __m128i magnitude = _mm_and_si128(bytes, _mm_set1_epi16(0x7f));
          half = _mm_blendv_epi8(_mm_slli_epi16(magnitude, 7), _mm_set1_epi16(0x7f80),
                                 _mm_cmpeq_epi16(magnitude, _mm_set1_epi16(0x7f)));
          half = _mm_or_si128(half, _mm_slli_epi16(_mm_and_si128(bytes, _mm_set1_epi16(0x80)), 8));
        }
        __m256 f = _mm256_cvtph_ps(half);
        if constexpr (std::is_same_v<From, fp8_e4m3>) f = _mm256_mul_ps(f, _mm256_set1_ps(256.0f));
        _mm256_storeu_ps(d + 8 * k, f);
      }
    });
  }
}
#endif  // XSIMD_WITH_AVX2 && __F16C__

#endif  // !QMATH_DISABLE_SIMD

template <fp_format To, class Arch>
inline void from_float(const float* in, To* out, std::size_t n, fp8_overflow mode) {
  if constexpr (std::is_same_v<Arch, runtime_arch>) {
#if QMATH_DISPATCH
    dispatch::active().from_float[dispatch::index_in<To, dispatch::fp_types>::value](in, out, n, mode);
#else
    from_float<To, default_arch>(in, out, n, mode);
#endif
  } else if constexpr (is_scalar_arch<Arch>) {
    from_float_scalar(in, out, n, mode);
  }
#if !QMATH_DISABLE_SIMD
  else if constexpr (is_generic_arch<Arch>::value) {
    from_float_generic<To, typename Arch::inner>(in, out, n, mode);
  }
#if XSIMD_WITH_AVX512BW
  else if constexpr (is_avx512bw<Arch>) {
    from_float_avx512<To, Arch>(in, out, n, mode);
  }
#endif
#if XSIMD_WITH_AVX2 && defined(__F16C__)
  else if constexpr (is_avx2_f16c<Arch>) {
    const std::size_t head = head_to_cache_line(in, n);
    from_float_avx2<To, Arch>(in, out, head, mode);
    from_float_avx2<To, Arch>(in + head, out + head, n - head, mode);
  }
#endif
  else {
    from_float_generic<To, Arch>(in, out, n, mode);
  }
#else
  else {
    static_assert(is_scalar_arch<Arch>, "qmath::convert: QMATH_DISABLE_SIMD builds have only qmath::scalar_arch");
  }
#endif
}

template <fp_format From, class Arch>
inline void to_float(const From* in, float* out, std::size_t n) {
  if constexpr (std::is_same_v<Arch, runtime_arch>) {
#if QMATH_DISPATCH
    dispatch::active().to_float[dispatch::index_in<From, dispatch::fp_types>::value](in, out, n);
#else
    to_float<From, default_arch>(in, out, n);
#endif
  } else if constexpr (is_scalar_arch<Arch>) {
    to_float_scalar(in, out, n);
  }
#if !QMATH_DISABLE_SIMD
  else if constexpr (is_generic_arch<Arch>::value) {
    to_float_generic<From, typename Arch::inner>(in, out, n);
  }
#if XSIMD_WITH_AVX512BW
  else if constexpr (is_avx512bw<Arch>) {
    to_float_avx512<From, Arch>(in, out, n);
  }
#endif
#if XSIMD_WITH_AVX2 && defined(__F16C__)
  else if constexpr (is_avx2_f16c<Arch>) {
    const std::size_t head = head_to_cache_line(out, n);  // aligned 32-byte stores
    to_float_avx2<From, Arch>(in, out, head);
    to_float_avx2<From, Arch>(in + head, out + head, n - head);
  }
#endif
  else {
    to_float_generic<From, Arch>(in, out, n);
  }
#else
  else {
    static_assert(is_scalar_arch<Arch>, "qmath::convert: QMATH_DISABLE_SIMD builds have only qmath::scalar_arch");
  }
#endif
}

}  // namespace fp_detail
}  // namespace kernels

// float -> format, with fp8's overflow mode given explicitly.
template <fp8_format To, class Arch = auto_arch>
void convert(std::span<const float> in, std::span<To> out, fp8_overflow mode) {
  QMATH_REQUIRE(out.size() == in.size(), "qmath::convert", "the destination has ", out.size(),
                " elements, the source ", in.size());
  kernels::fp_detail::from_float<To, Arch>(in.data(), out.data(), in.size(), mode);
}

// float -> format (fp8 with its default overflow mode, see fp/fp8.hpp).
template <fp_format To, class Arch = auto_arch>
void convert(std::span<const float> in, std::span<To> out) {
  QMATH_REQUIRE(out.size() == in.size(), "qmath::convert", "the destination has ", out.size(),
                " elements, the source ", in.size());
  kernels::fp_detail::from_float<To, Arch>(in.data(), out.data(), in.size(),
                                           detail::overflow_default_for<To>);
}

// format -> float (exact).
template <fp_format From, class Arch = auto_arch>
void convert(std::span<const From> in, std::span<float> out) {
  QMATH_REQUIRE(out.size() == in.size(), "qmath::convert", "the destination has ", out.size(),
                " elements, the source ", in.size());
  kernels::fp_detail::to_float<From, Arch>(in.data(), out.data(), in.size());
}

// The same for a span of non-const elements, so that `convert(std::span(v), out)` deduces From.
template <fp_format From, class Arch = auto_arch>
void convert(std::span<From> in, std::span<float> out) {
  convert<From, Arch>(std::span<const From>(in), out);
}

namespace kernels::fp_detail {
// Runs convert_range(first, count) over [0, n) on the executor's threads, in
// chunks of whole 64-element runs (the AVX-512 kernels' step). Conversions
// cannot fail, so every chunk is converted exactly once.
template <class E, class Range>
inline void convert_in_chunks(E& ex, std::size_t n, Range&& convert_range) {
  constexpr std::size_t run = 64;
  detail::for_each_chunk(ex, (n + run - 1) / run, detail::min_elements_per_task / run, 1, n,
                         [&](std::size_t first, std::size_t end) {
                           const std::size_t begin = first * run;
                           convert_range(begin, std::min(n, end * run) - begin);
                         });
}
}  // namespace kernels::fp_detail

// The same conversions split over an executor's threads (qmath::threads{n},
// see kernels/parallel.hpp); the elements written do not depend on the
// number of threads.
template <fp8_format To, class Arch = auto_arch, class E>
  requires executor<std::remove_cvref_t<E>>
void convert(std::span<const float> in, std::span<To> out, fp8_overflow mode, E&& ex) {
  QMATH_REQUIRE(out.size() == in.size(), "qmath::convert", "the destination has ", out.size(),
                " elements, the source ", in.size());
  kernels::fp_detail::convert_in_chunks(ex, in.size(), [&](std::size_t first, std::size_t count) {
    kernels::fp_detail::from_float<To, Arch>(in.data() + first, out.data() + first, count, mode);
  });
}

template <fp_format To, class Arch = auto_arch, class E>
  requires executor<std::remove_cvref_t<E>>
void convert(std::span<const float> in, std::span<To> out, E&& ex) {
  QMATH_REQUIRE(out.size() == in.size(), "qmath::convert", "the destination has ", out.size(),
                " elements, the source ", in.size());
  kernels::fp_detail::convert_in_chunks(ex, in.size(), [&](std::size_t first, std::size_t count) {
    kernels::fp_detail::from_float<To, Arch>(in.data() + first, out.data() + first, count,
                                             detail::overflow_default_for<To>);
  });
}

template <fp_format From, class Arch = auto_arch, class E>
  requires executor<std::remove_cvref_t<E>>
void convert(std::span<const From> in, std::span<float> out, E&& ex) {
  QMATH_REQUIRE(out.size() == in.size(), "qmath::convert", "the destination has ", out.size(),
                " elements, the source ", in.size());
  kernels::fp_detail::convert_in_chunks(ex, in.size(), [&](std::size_t first, std::size_t count) {
    kernels::fp_detail::to_float<From, Arch>(in.data() + first, out.data() + first, count);
  });
}

template <fp_format From, class Arch = auto_arch, class E>
  requires executor<std::remove_cvref_t<E>>
void convert(std::span<From> in, std::span<float> out, E&& ex) {
  convert<From, Arch>(std::span<const From>(in), out, ex);
}

}  // namespace qmath

#include "qmath/kernels/detail/diagnostics_end.hpp"

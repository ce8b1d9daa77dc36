#pragma once
// The two OCP 8-bit floating-point formats (OCP OFP8 v1.0, as implemented by
// PyTorch c10/util/Float8_e4m3fn.h and Float8_e5m2.h) and their constexpr
// scalar conversions.
//
//   fp8_e4m3 (E4M3FN)  1.4.3, bias 7,  no Inf, NaN = S.1111.111, max ±448,
//                      min normal 2^-6,  min subnormal 2^-9
//   fp8_e5m2           1.5.2, bias 15, IEEE-like: Inf = S.11111.00,
//                      NaN = S.11111.{01,10,11}, max ±57344, min normal 2^-14,
//                      min subnormal 2^-16
//
// float -> fp8 rounds to nearest, ties to even, keeps subnormals and the sign
// (also of zero and NaN). What happens past the largest finite value is
// chosen with qmath::fp8_overflow:
//   saturate     |x| that rounds past max, and ±Inf, give ±max (448 / 57344);
//                NVIDIA's __NV_SATFINITE. The default for fp8_e4m3.
//   no_saturate  they give the format's special value: NaN (S.1111.111) for
//                E4M3, ±Inf for E5M2. PyTorch's fp8e4m3fn_from_fp32_value /
//                fp8e5m2_from_fp32_value bit for bit (E4M3: |x| > 464 -> NaN;
//                E5M2: |x| >= 61440 -> Inf). The default for fp8_e5m2, as
//                for fp16 and bf16.
// NaN stays NaN in both modes: E4M3 gives S.1111.111 (its only NaN); E5M2
// gives the quiet NaN S.11111.1p where p is float bit 21, the payload bit
// after the quiet bit (the top byte of what fp16 produces for the same NaN).
//
// fp8 -> float is exact. A NaN becomes a quiet float NaN whose top mantissa
// bits are the fp8 mantissa (E4M3 S.1111.111 -> sign | 0x7FF00000, as PyTorch
// does; E5M2 S.11111.mm -> the float of the fp16 S.11111.mm00000000).

#include <cstdint>

#include "qmath/detail/bits.hpp"
#include "qmath/fp/fp16.hpp"

namespace qmath {

struct fp8_e4m3 {
  std::uint8_t bits = 0;

  static constexpr fp8_e4m3 from_bits(std::uint8_t b) noexcept { return fp8_e4m3{b}; }
  friend constexpr bool operator==(fp8_e4m3, fp8_e4m3) noexcept = default;  // bitwise
};
static_assert(sizeof(fp8_e4m3) == 1 && alignof(fp8_e4m3) == 1);

struct fp8_e5m2 {
  std::uint8_t bits = 0;

  static constexpr fp8_e5m2 from_bits(std::uint8_t b) noexcept { return fp8_e5m2{b}; }
  friend constexpr bool operator==(fp8_e5m2, fp8_e5m2) noexcept = default;  // bitwise
};
static_assert(sizeof(fp8_e5m2) == 1 && alignof(fp8_e5m2) == 1);

// What a float -> fp8 conversion does with values beyond the largest finite one.
enum class fp8_overflow : unsigned char {
  saturate,     // clamp to ±max finite (Inf too); NaN stays NaN
  no_saturate,  // E4M3: NaN; E5M2: ±Inf
};

template <class Fp8>
inline constexpr fp8_overflow default_fp8_overflow = fp8_overflow::no_saturate;
template <>
inline constexpr fp8_overflow default_fp8_overflow<fp8_e4m3> = fp8_overflow::saturate;

namespace detail {

// The numbers that define each format, shared by the scalar reference and the
// SIMD kernels. Thresholds are float bit patterns of the magnitude.
template <class Fp8>
struct fp8_traits;

template <>
struct fp8_traits<fp8_e4m3> {
  static constexpr unsigned mantissa_bits = 3;
  static constexpr unsigned bias = 7;
  static constexpr std::uint8_t max_code = 0x7e;       // 448
  static constexpr std::uint8_t overflow_code = 0x7f;  // no Inf: NaN
  // 464 = 448 + half an ulp: a tie that rounds to even (448); anything above overflows.
  static constexpr std::uint32_t last_in_range = 0x43e80000u;
};

template <>
struct fp8_traits<fp8_e5m2> {
  static constexpr unsigned mantissa_bits = 2;
  static constexpr unsigned bias = 15;
  static constexpr std::uint8_t max_code = 0x7b;       // 57344
  static constexpr std::uint8_t overflow_code = 0x7c;  // Inf
  // 61440 = 57344 + half an ulp is a tie that rounds to even, i.e. to Inf (0x7c).
  static constexpr std::uint32_t last_in_range = 0x476fffffu;
};

template <class Fp8>
struct fp8_derived {
  using traits = fp8_traits<Fp8>;
  // float exponent field minus the fp8 one, for normal numbers
  static constexpr std::uint32_t rebias = (127u - traits::bias) << 23;
  static constexpr unsigned drop = 23u - traits::mantissa_bits;  // float mantissa bits that go
  // Smallest normal fp8 magnitude, as float bits.
  static constexpr std::uint32_t min_normal = (128u - traits::bias) << 23;
  // Right shift that turns a float significand (hidden bit included) with
  // exponent field e into a count of fp8 subnormal steps is subnormal_shift - e.
  // (PyTorch's "denorm_mask" exponent: (127 - bias) + (23 - mantissa bits) + 1.)
  static constexpr unsigned subnormal_shift = (127u - traits::bias) + drop + 1u;
};

template <class Fp8>
constexpr std::uint8_t fp8_bits_from_float(float value, fp8_overflow mode) noexcept {
  using derived = fp8_derived<Fp8>;
  using traits = fp8_traits<Fp8>;
  const std::uint32_t x = float_bits(value);
  const auto sign = static_cast<std::uint8_t>((x >> 24) & 0x80u);
  const std::uint32_t magnitude = x & 0x7fffffffu;
  if (magnitude > 0x7f800000u) {  // NaN
    if constexpr (traits::overflow_code == 0x7f) return static_cast<std::uint8_t>(sign | 0x7fu);
    else return static_cast<std::uint8_t>(sign | 0x7eu | ((magnitude >> 21) & 1u));
  }
  if (magnitude > traits::last_in_range)  // rounds past max, or Inf
    return static_cast<std::uint8_t>(sign | (mode == fp8_overflow::saturate ? traits::max_code : traits::overflow_code));
  if (magnitude >= derived::min_normal)
    return static_cast<std::uint8_t>(sign | shift_right_round_even(magnitude - derived::rebias, derived::drop));
  // Subnormal in fp8 (float subnormals included: they round to zero). A carry
  // out of the mantissa gives the smallest normal, which is the right code.
  const std::uint32_t exponent = magnitude >> 23;
  const std::uint32_t significand = (magnitude & 0x7fffffu) | (exponent != 0 ? 0x800000u : 0u);
  return static_cast<std::uint8_t>(sign | shift_right_round_even(significand, derived::subnormal_shift - exponent));
}

constexpr float fp8_e4m3_bits_to_float(std::uint8_t b) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(b & 0x80u) << 24;
  std::uint32_t exponent = (b >> 3) & 0xfu;
  std::uint32_t mantissa = b & 0x7u;
  if (exponent == 0xf && mantissa == 0x7) return float_from_bits(sign | 0x7ff00000u);  // NaN, quiet
  if (exponent == 0) {
    if (mantissa == 0) return float_from_bits(sign);
    exponent = 1;  // subnormal: normalise
    while ((mantissa & 0x8u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    mantissa &= 0x7u;
  }
  return float_from_bits(sign | ((exponent + 120u) << 23) | (mantissa << 20));
}

// E5M2 is the top byte of an fp16 with the same exponent: widening is exact.
constexpr float fp8_e5m2_bits_to_float(std::uint8_t b) noexcept {
  return fp16_bits_to_float(static_cast<std::uint16_t>(b << 8));
}

}  // namespace detail
}  // namespace qmath

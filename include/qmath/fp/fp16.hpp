#pragma once
// IEEE 754 binary16 storage type and its constexpr scalar conversions.
//
// float -> fp16 rounds to nearest, ties to even, keeps subnormals, overflows
// to Inf (|x| >= 65520), and turns NaN into a quiet NaN that keeps the top
// payload bits: bit for bit what x86 F16C `vcvtps2ph` (imm 0) produces, the
// converter ggml uses for its fp16 scales (ggml-impl.h, Maratyszcza FP16).
// fp16 -> float is exact; a NaN comes back quiet with its payload.

#include <cstdint>

#include "qmath/detail/bits.hpp"

namespace qmath {

struct fp16 {
  std::uint16_t bits = 0;

  static constexpr fp16 from_bits(std::uint16_t b) noexcept { return fp16{b}; }
  friend constexpr bool operator==(fp16, fp16) noexcept = default;  // bitwise
};
static_assert(sizeof(fp16) == 2 && alignof(fp16) == 2);

namespace detail {

constexpr std::uint16_t fp16_bits_from_float(float value) noexcept {
  const std::uint32_t x = float_bits(value);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t magnitude = x & 0x7fffffffu;
  if (magnitude > 0x7f800000u)  // NaN: quiet it, keep the top payload bits
    return static_cast<std::uint16_t>(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
  if (magnitude >= 0x477ff000u)  // >= 65520 rounds past 65504: Inf
    return static_cast<std::uint16_t>(sign | 0x7c00u);
  if (magnitude >= 0x38800000u) {  // normal in fp16: rebias exponent 127 -> 15
    return static_cast<std::uint16_t>(sign | shift_right_round_even(magnitude - 0x38000000u, 13));
  }
  if (magnitude < 0x33000000u)  // below 2^-25: rounds to zero (2^-25 itself is a tie to 0)
    return sign;
  // Subnormal in fp16: value * 2^24 rounded; a carry into 0x400 is the smallest normal.
  const std::uint32_t exponent = magnitude >> 23;
  const std::uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
  return static_cast<std::uint16_t>(sign | shift_right_round_even(mantissa, 126u - exponent));
}

constexpr float fp16_bits_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f)  // Inf, or NaN made quiet (as vcvtph2ps does)
    return float_from_bits(sign | 0x7f800000u | (mantissa << 13) | (mantissa ? 0x400000u : 0u));
  if (exponent == 0) {
    if (mantissa == 0) return float_from_bits(sign);
    exponent = 1;  // subnormal: normalise
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    mantissa &= 0x3ffu;
  }
  return float_from_bits(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

}  // namespace detail
}  // namespace qmath

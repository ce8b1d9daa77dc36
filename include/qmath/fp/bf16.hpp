#pragma once
// bfloat16 storage type (the top half of an IEEE binary32) and its constexpr
// scalar conversions.
//
// float -> bf16 rounds to nearest, ties to even, keeps float subnormals (the
// AVX512-BF16 instruction flushes them; qmath's kernels do not), overflows to
// Inf by rounding, and makes NaN quiet: ggml_compute_fp32_to_bf16
// (ggml-impl.h) bit for bit. bf16 -> float is exact (a 16-bit shift).

#include <cstdint>

#include "qmath/detail/bits.hpp"

namespace qmath {

struct bf16 {
  std::uint16_t bits = 0;

  static constexpr bf16 from_bits(std::uint16_t b) noexcept { return bf16{b}; }
  friend constexpr bool operator==(bf16, bf16) noexcept = default;  // bitwise
};
static_assert(sizeof(bf16) == 2 && alignof(bf16) == 2);

namespace detail {

constexpr std::uint16_t bf16_bits_from_float(float value) noexcept {
  const std::uint32_t x = float_bits(value);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40u);
  return static_cast<std::uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

constexpr float bf16_bits_to_float(std::uint16_t b) noexcept {
  return float_from_bits(static_cast<std::uint32_t>(b) << 16);
}

}  // namespace detail
}  // namespace qmath

#pragma once
// Private helpers of the 2-bit and ternary formats (TQ1_0, TQ2_0, Q2_K,
// int2_group, BitNet absmean): the rounding rules of the published reference
// quantizers as constexpr functions. The block loops are those of
// formats/reference.hpp. Include the format headers instead. No xsimd here.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "qmath/detail/bits.hpp"
#include "qmath/error.hpp"
#include "qmath/fp/fp16.hpp"

namespace qmath::detail::lowbit {

// Blocks are the ggml structs, read and written with bit_cast / memcpy; GGUF
// files are little-endian by default (ggml docs/gguf.md).
static_assert(std::endian::native == std::endian::little, "qmath's block formats assume a little-endian host");

constexpr bool is_finite(float value) noexcept { return (float_bits(value) & 0x7f800000u) != 0x7f800000u; }

constexpr float abs_value(float value) noexcept { return float_from_bits(float_bits(value) & 0x7fffffffu); }

// ggml's nearest_int (ggml-quants.c): adds 1.5 * 2^23 and reads the low 22
// mantissa bits. Round half to even for |value| <= 4194303; outside that range
// the same bits as ggml, so a port of its quantizer keeps its bytes.
constexpr int ggml_nearest_int(float value) noexcept {
  const float shifted = value + 12582912.f;
  const auto bits = static_cast<std::int32_t>(float_bits(shifted));
  return (bits & 0x007fffff) - 0x00400000;
}

// Round to nearest, ties to even, for |value| < 2^22 (nearbyint in the default mode).
constexpr int round_half_even(float value) noexcept { return ggml_nearest_int(value); }

// TQ1_0 / TQ2_0 code of x * (1/amax): lroundf(v) + 1 in ggml (round half away
// from zero). |v| <= 1 + 2^-23 there, so the code is 2 for v >= 0.5, 0 for
// v <= -0.5 and 1 otherwise; a non-finite v (only when 1/amax overflows, that is
// amax below 2^-128, where the fp16 scale is 0 anyway) gives the zero code 1, as
// lroundf's x86 result does in ggml.
constexpr std::uint8_t ternary_code(float v) noexcept {
  return static_cast<std::uint8_t>(v >= 0.5f ? 2 : (v <= -0.5f ? 0 : 1));
}

// 1/amax as the ternary reference computes it, or 0 when it would not be finite.
constexpr float ternary_inverse_scale(float amax) noexcept {
  if (amax == 0.f) return 0.f;
  const float inverse = 1.0f / amax;
  return is_finite(inverse) ? inverse : 0.f;
}

constexpr float fp16_round_trip(float value) noexcept { return fp16_bits_to_float(fp16_bits_from_float(value)); }

// Index of the first NaN or Inf in `values`, or values.size().
constexpr std::size_t first_non_finite(std::span<const float> values) noexcept {
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!is_finite(values[i])) return i;
  return values.size();
}

}  // namespace qmath::detail::lowbit

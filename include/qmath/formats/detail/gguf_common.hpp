#pragma once
// Private helpers of the GGUF 32-element block formats (Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0, IQ4_NL): the float operations of ggml's reference quantizers
// (src/ggml-quants.c, quantize_row_*_ref) as constexpr functions, so that the
// scalar references write exactly ggml's bytes. Include the format headers
// instead. No xsimd here.

#include <cstddef>
#include <cstdint>
#include <span>

#include "qmath/detail/bits.hpp"
#include "qmath/error.hpp"
#include "qmath/formats/detail/block_io.hpp"
#include "qmath/fp/fp16.hpp"

namespace qmath::detail::gguf {

// QK4_0 = QK4_1 = QK5_0 = QK5_1 = QK8_0 = QK4_NL = 32 (ggml src/ggml-common.h).
inline constexpr std::size_t block_elems = 32;
inline constexpr std::size_t half_block = block_elems / 2;

constexpr bool is_finite(float value) noexcept { return (float_bits(value) & 0x7f800000u) != 0x7f800000u; }

// fabsf
constexpr float abs_value(float value) noexcept { return float_from_bits(float_bits(value) & 0x7fffffffu); }

// ggml's (int8_t)(float) and its float -> int8_t assignments, as x86-64 GCC
// compiles them: cvttss2si to int32 (truncation toward zero; NaN and values
// outside the int32 range give the "integer indefinite" INT32_MIN), then the
// low byte. In range this is the C cast; out of range C leaves it undefined,
// which ggml reaches only in blocks whose 1/d overflows (inputs below about
// 2^-128, whose fp16 scale is 0 anyway). qmath keeps x86 ggml's bytes there.
constexpr std::int8_t to_int8_like_x86(float value) noexcept {
  const std::int32_t wide = (value >= -2147483648.0f && value < 2147483648.0f) ? static_cast<std::int32_t>(value)
                                                                               : std::int32_t{-2147483647 - 1};
  return static_cast<std::int8_t>(static_cast<std::uint8_t>(static_cast<std::uint32_t>(wide) & 0xffu));
}

// roundf: to nearest, ties away from zero (C11 7.12.9.6), as the Q8_0
// reference uses it. Exact: for |x| < 2^23 both x - trunc(x) and trunc(x) + 1
// are representable.
constexpr float round_half_away(float x) noexcept {
  const float magnitude = abs_value(x);
  if (!(magnitude < 8388608.0f)) return x;  // already an integer, or NaN / Inf
  const auto whole = static_cast<float>(static_cast<std::int32_t>(magnitude));
  const float rounded = magnitude - whole >= 0.5f ? whole + 1.0f : whole;
  return float_from_bits(float_bits(rounded) | (float_bits(x) & 0x80000000u));
}

// 1/d, or 0 for d == 0: `id = d ? 1.0f/d : 0.0f` in every 32-block reference.
constexpr float inverse_or_zero(float d) noexcept { return d != 0.0f ? 1.0f / d : 0.0f; }

// Index of the first NaN or Inf in `values`, or values.size().
constexpr std::size_t first_non_finite(std::span<const float> values) noexcept {
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!is_finite(values[i])) return i;
  return values.size();
}

// NaN or Inf makes every GGUF scale meaningless (ggml would store a NaN or Inf
// scale, or its casts would be undefined): qmath rejects the block and names it.
template <class F>
constexpr void require_finite_block(std::span<const float> block, std::size_t block_index) {
  const std::size_t bad = first_non_finite(block);
  if (bad != block.size())
    precondition_failed("qmath::quantize", F::info.name, " block ", block_index, " holds a non-finite value (",
                        block[bad], ") at element ", block_index * block.size() + bad);
}

// The signed value of largest magnitude, the first one on a tie, and 0 when all
// are zero: the `if (amax < fabsf(v)) { amax = fabsf(v); max = v; }` scan of
// quantize_row_q4_0_ref / q5_0_ref (and `ax > amax` in quantize_row_iq4_nl_impl).
constexpr float signed_absmax(std::span<const float, block_elems> x) noexcept {
  float amax = 0.0f;
  float max = 0.0f;
  for (const float v : x)
    if (amax < abs_value(v)) {
      amax = abs_value(v);
      max = v;
    }
  return max;
}

// Minimum and maximum as quantize_row_q4_1_ref scans them (strict compares
// from FLT_MAX / -FLT_MAX, so of +0 and -0 the first one seen is kept).
struct min_max {
  float min;
  float max;
};
constexpr min_max scan_min_max(std::span<const float, block_elems> x) noexcept {
  min_max r{3.40282347e+38f, -3.40282347e+38f};
  for (const float v : x) {
    if (v < r.min) r.min = v;
    if (v > r.max) r.max = v;
  }
  return r;
}

}  // namespace qmath::detail::gguf

#pragma once
// Private helpers of the E2M1 (FP4) block formats MXFP4 and NVFP4, as ggml
// defines them: the doubled code table kvalues_fp4 (ggml src/ggml-common.h),
// the nearest-code search best_index_mxfp4 (src/ggml-quants.c), the E8M0
// half scale ggml_e8m0_to_fp32_half and ggml's UE4M3 scale conversions
// ggml_fp32_to_ue4m3 / ggml_ue4m3_to_fp32 (src/ggml-impl.h). Include the
// format headers instead. No xsimd here.

#include <array>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "qmath/detail/bits.hpp"
#include "qmath/formats/detail/lowbit_common.hpp"

namespace qmath::detail::fp4 {

// E2M1 values doubled (0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives, times 2),
// so the scales below are half the OCP scale.
inline constexpr std::array<std::int8_t, 16> values{0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

constexpr float value(unsigned code) noexcept { return static_cast<float>(values[code & 0xF]); }

// The 16 candidates value * e of one scale, each product as ggml rounds it.
constexpr std::array<float, 16> scaled_values(float e) noexcept {
  std::array<float, 16> t{};
  for (unsigned i = 0; i < 16; ++i) t[i] = no_contract(value(i) * e);
  return t;
}

// best_index_mxfp4(x, e): the first code of least |value * e - x|, with the
// candidates of scaled_values(e) (the same products, formed once per scale).
constexpr std::uint8_t best_index(float x, const std::array<float, 16>& candidates) noexcept {
  unsigned best = 0;
  float best_err = lowbit::abs_value(candidates[0] - x);
  for (unsigned i = 1; i < 16; ++i) {
    const float err = lowbit::abs_value(candidates[i] - x);
    if (err < best_err) {
      best = i;
      best_err = err;
    }
  }
  return static_cast<std::uint8_t>(best);
}

// 2^e as a float for e in [-149, 127], exact.
constexpr float pow2f(int e) noexcept {
  if (e >= -126) return float_from_bits(static_cast<std::uint32_t>(e + 127) << 23);
  return float_from_bits(std::uint32_t{1} << (e + 149));
}

// ggml_e8m0_to_fp32_half: 2^(e - 128), the scale of the doubled table.
constexpr float e8m0_half(std::uint8_t e) noexcept {
  return e < 2 ? float_from_bits(std::uint32_t{0x00200000u} << e) : float_from_bits(static_cast<std::uint32_t>(e - 1) << 23);
}

// floorf(log2f(x)) for finite x > 0 (floor_log2; floor_log2_exact is the
// constant-expression path, callable at run time for tests). At run time the C library's log2f, the
// function ggml calls, so the bytes are ggml's on the same C library; in a
// constant expression the exponent, plus one where log2(x) rounded to float
// reaches the next integer (x within a few ulps below a power of two),
// decided with a double-precision logarithm.
constexpr float floor_log2_exact(float x) noexcept {
  std::uint32_t bits = float_bits(x);
  int e = static_cast<int>(bits >> 23) - 127;
  std::uint32_t mantissa = bits & 0x7fffffu;
  if ((bits >> 23) == 0) {  // subnormal: normalise
    e = -126;
    while ((mantissa & 0x800000u) == 0) {
      mantissa <<= 1;
      --e;
    }
    mantissa &= 0x7fffffu;
  }
  // log2(m), m in [1, 2): 2 atanh(t) / ln 2 with t = (m - 1) / (m + 1) <= 1/3.
  const double m = 1.0 + static_cast<double>(mantissa) / 8388608.0;
  const double t = (m - 1.0) / (m + 1.0), t2 = t * t;
  double term = t, sum = 0;
  for (int k = 1; k < 80; k += 2) {
    sum += term / k;
    term *= t2;
  }
  const float log2_x = static_cast<float>(static_cast<double>(e) + 2.0 * sum / 0.69314718055994530942);
  return log2_x >= static_cast<float>(e + 1) ? static_cast<float>(e + 1) : static_cast<float>(e);
}

constexpr float floor_log2(float x) noexcept {
  if (!std::is_constant_evaluated()) return std::floor(std::log2(x));
  return floor_log2_exact(x);
}

// A float converted to uint8_t as x86-64 GCC compiles ggml's (uint8_t) cast:
// truncation to int32 (cvttss2si), then the low byte. In range it is the C
// conversion; ggml reaches the out-of-range case for MXFP4 blocks whose
// largest |x| is below 2^-125, where the exponent byte wraps.
constexpr std::uint8_t to_uint8_like_x86(float v) noexcept {
  const std::int32_t wide =
      (v >= -2147483648.0f && v < 2147483648.0f) ? static_cast<std::int32_t>(v) : std::int32_t{-2147483647 - 1};
  return static_cast<std::uint8_t>(static_cast<std::uint32_t>(wide) & 0xffu);
}

// ggml_fp32_to_ue4m3: unsigned E4M3 (bias 7, 3 mantissa bits) of x, rounded
// half up on the first dropped bit, clamped to 448 (0x7E); x <= 0 or NaN
// gives 0; below 2^-6 the subnormal code (int)(x * 512 + 0.5), at most 7.
constexpr std::uint8_t ue4m3_from_float(float x) noexcept {
  if (!(x > 0.0f)) return 0;
  if (x > 448.0f) x = 448.0f;
  const std::uint32_t bits = float_bits(x);
  const int exponent = static_cast<int>((bits >> 23) & 0xFF) - 127 + 7;
  const int mantissa = static_cast<int>((bits >> 20) & 0x7);
  if (exponent <= 0) {
    const int man = static_cast<int>(no_contract(x * 512.0f) + 0.5f);
    return static_cast<std::uint8_t>(man > 7 ? 7 : (man < 1 ? 0 : man));
  }
  if (exponent >= 15) return 0x7E;
  int e = exponent, m = mantissa + static_cast<int>((bits >> 19) & 1);
  if (m > 7) {
    m = 0;
    if (++e >= 15) return 0x7E;
  }
  return static_cast<std::uint8_t>((e << 3) | m);
}

// ggml_ue4m3_to_fp32: half the UE4M3 value (the scale of the doubled table).
// 0 and 0x7F give 0; bit 7 is ignored, as in ggml.
constexpr float ue4m3_half_to_float(std::uint8_t x) noexcept {
  if (x == 0 || x == 0x7F) return 0.0f;
  const int exponent = (x >> 3) & 0xF, mantissa = x & 0x7;
  const float raw = exponent == 0 ? static_cast<float>(mantissa) * pow2f(-9)
                                  : (1.0f + static_cast<float>(mantissa) / 8.0f) * pow2f(exponent - 7);
  return raw * 0.5f;
}

}  // namespace qmath::detail::fp4

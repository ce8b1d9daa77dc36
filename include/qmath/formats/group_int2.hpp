#pragma once
// qmath's group-wise asymmetric INT2: qmath::formats::int2_group<G>.
//
// Per group of G elements (G a multiple of 16 in [16, 256], default 64; see
// group_int2_info in formats/table.hpp): an fp16 scale d, an fp16 minimum m,
// then G/4 bytes of 2-bit codes, G/4 + 4 bytes in all:
//   struct { half d; half m; u8 qs[G/4]; }   (little-endian)
// Element i of the group is in byte i % (G/4), bits [2s, 2s+1] with
// s = i / (G/4). That is the "bit plane" order of ggml's TQ2_0 and Q2_K: a run
// of G/4 consecutive outputs comes from one shift of G/4 consecutive bytes, so
// a SIMD kernel widens the bytes once and makes four contiguous vectors from
// them with one shift each, with no shuffles.
// Quantize: lo = min(x), hi = max(x), m = fp16(lo), d = fp16((hi - lo) / 3);
// the codes are taken against the stored (fp16-rounded) values,
//   q = round_half_even(clamp((x - m) / d, 0, 3))   (q = 0 when d == 0),
// so |x - y| <= d/2 plus the fp16 rounding of d and m at the ends of the range.
// Dequantize: y = q * d + m (the product is exact, so fused or not it is one rounding).

#include <array>
#include <cstdint>
#include <span>

#include "qmath/formats/detail/lowbit_common.hpp"
#include "qmath/formats/table.hpp"

namespace qmath::formats {

template <std::uint32_t G = 64>
struct int2_group {
  static constexpr format_info info = group_int2_info(G);
  static constexpr std::size_t plane = G / 4;  // bytes of codes, and elements per bit plane
  struct block {
    std::uint16_t d;  // fp16 bits
    std::uint16_t m;  // fp16 bits
    std::uint8_t qs[plane];
  };
  static_assert(sizeof(block) * 8 == info.block_bits);

  // The fp16 scale and minimum of a group whose range is [lo, hi]. Zeros count
  // as +0 (lo + 0.f), so the header does not depend on the order the extremes
  // were met in.
  static constexpr block make_header(float lo, float hi) {
    lo += 0.f;
    hi += 0.f;
    block out{};
    out.m = detail::fp16_bits_from_float(lo);
    out.d = detail::fp16_bits_from_float((hi - lo) / 3.f);
    QMATH_REQUIRE(detail::lowbit::is_finite(detail::fp16_bits_to_float(out.m)) &&
                      detail::lowbit::is_finite(detail::fp16_bits_to_float(out.d)),
                  "qmath::formats::int2_group::quantize_block", "the group's range [", lo, ", ", hi,
                  "] does not fit the fp16 scale and minimum");
    return out;
  }

  // Code of x against the stored d (non-zero) and m. Clamping before rounding
  // equals clamping after, and keeps a far outlier (tiny d) inside the range
  // where the rounding is exact.
  static constexpr int code(float x, float d, float m) noexcept {
    float v = (x - m) / d;
    v = v > 0.f ? (v < 3.f ? v : 3.f) : 0.f;
    return detail::lowbit::round_half_even(v);
  }

  static constexpr block quantize_block(std::span<const float, G> x) {
    QMATH_REQUIRE(detail::lowbit::first_non_finite(x) == x.size(), "qmath::formats::int2_group::quantize_block",
                  "the group holds NaN or Inf");
    float lo = x[0], hi = x[0];
    for (const float v : x) {
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    block out = make_header(lo, hi);
    const float m = detail::fp16_bits_to_float(out.m);
    const float d = detail::fp16_bits_to_float(out.d);
    for (std::size_t i = 0; i < G; ++i) {
      const int q = d != 0.f ? code(x[i], d, m) : 0;
      out.qs[i % plane] = static_cast<std::uint8_t>(out.qs[i % plane] | (q << (2 * (i / plane))));
    }
    return out;
  }

  static constexpr void dequantize_block(const block& b, std::span<float, G> y) {
    const float d = detail::fp16_bits_to_float(b.d);
    const float m = detail::fp16_bits_to_float(b.m);
    for (std::size_t i = 0; i < G; ++i) {
      const int q = (b.qs[i % plane] >> (2 * (i / plane))) & 3;
      y[i] = static_cast<float>(q) * d + m;
    }
  }
};

}  // namespace qmath::formats

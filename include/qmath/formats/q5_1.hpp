#pragma once
// GGUF Q5_1: 32 5-bit codes, an fp16 scale and an fp16 minimum (6 bits per weight).
//
// Layout (ggml src/ggml-common.h, block_q5_1): half d; half m; u8 qh[4];
// u8 qs[16] (24 bytes), bits placed as in Q5_0.
// Quantize (ggml src/ggml-quants.c, quantize_row_q5_1_ref): min and max of the
// block, d = (max - min) / 31, id = d ? 1/d : 0 from the float d,
// q = (uint8_t)((x - min)*id + 0.5f) (no clamp: the value is at most 31.5),
// the product rounded before the add; d and m = min stored as fp16.
// Dequantize (dequantize_row_q5_1): y = q * fp16(d) + fp16(m), the product
// rounded before the add.
// NaN or Inf throws qmath::error.

#include <cstdint>
#include <span>

#include "qmath/formats/detail/gguf_common.hpp"
#include "qmath/formats/table.hpp"

namespace qmath::formats {

struct q5_1 {
  static constexpr const format_info& info = qmath::info(format_id::q5_1);
  struct block {
    std::uint16_t d;  // fp16 bits
    std::uint16_t m;  // fp16 bits
    std::uint8_t qh[4];
    std::uint8_t qs[16];
  };
  static_assert(sizeof(block) * 8 == info.block_bits && info.block_elems == detail::gguf::block_elems);

  static constexpr std::uint8_t code(float x, float min, float id) noexcept {
    return static_cast<std::uint8_t>(
        detail::gguf::to_int8_like_x86(detail::no_contract((x - min) * id) + 0.5f));
  }

  static constexpr block quantize_block(std::span<const float, 32> x) {
    QMATH_REQUIRE(detail::gguf::first_non_finite(x) == x.size(), "qmath::formats::q5_1::quantize_block",
                  "the block holds NaN or Inf");
    const auto [min, max] = detail::gguf::scan_min_max(x);
    const float d = (max - min) / 31;
    const float id = detail::gguf::inverse_or_zero(d);
    block out{};
    out.d = detail::fp16_bits_from_float(d);
    out.m = detail::fp16_bits_from_float(min);
    std::uint32_t qh = 0;
    for (std::size_t j = 0; j < 16; ++j) {
      const std::uint8_t lo = code(x[j], min, id), hi = code(x[j + 16], min, id);
      out.qs[j] = static_cast<std::uint8_t>((lo & 0x0f) | (hi & 0x0f) << 4);
      qh |= std::uint32_t{(lo & 0x10u) >> 4} << j;
      qh |= std::uint32_t{(hi & 0x10u) >> 4} << (j + 16);
    }
    for (std::size_t i = 0; i < 4; ++i) out.qh[i] = static_cast<std::uint8_t>(qh >> (8 * i));
    return out;
  }

  static constexpr void dequantize_block(const block& b, std::span<float, 32> y) noexcept {
    const float d = detail::fp16_bits_to_float(b.d);
    const float m = detail::fp16_bits_to_float(b.m);
    const std::uint32_t qh = b.qh[0] | std::uint32_t{b.qh[1]} << 8 | std::uint32_t{b.qh[2]} << 16 |
                             std::uint32_t{b.qh[3]} << 24;
    for (std::size_t j = 0; j < 16; ++j) {
      const auto lo = static_cast<float>((b.qs[j] & 0x0fu) | (((qh >> j) << 4) & 0x10u));
      const auto hi = static_cast<float>((b.qs[j] >> 4) | ((qh >> (j + 12)) & 0x10u));
      y[j] = detail::no_contract(lo * d) + m;
      y[j + 16] = detail::no_contract(hi * d) + m;
    }
  }
};

}  // namespace qmath::formats

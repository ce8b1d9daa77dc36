#pragma once
// GGUF Q4_1: 32 4-bit codes, an fp16 scale and an fp16 minimum (5 bits per weight).
//
// Layout (ggml src/ggml-common.h, block_q4_1): half d; half m; u8 qs[16]
// (20 bytes), nibbles ordered as in Q4_0 (byte j: element j low, j + 16 high).
// Quantize (ggml src/ggml-quants.c, quantize_row_q4_1_ref): min and max of the
// block, d = (max - min) / 15, id = d ? 1/d : 0 from the float d,
// q = MIN(15, (int8_t)((x - min)*id + 0.5f)) with the product rounded before
// the add; d and m = min stored as fp16 (the codes use the float min).
// Dequantize (dequantize_row_q4_1): y = q * fp16(d) + fp16(m), the product
// rounded before the add.
// NaN or Inf throws qmath::error.

#include <cstdint>
#include <span>

#include "qmath/formats/detail/gguf_common.hpp"
#include "qmath/formats/table.hpp"

namespace qmath::formats {

struct q4_1 {
  static constexpr const format_info& info = qmath::info(format_id::q4_1);
  struct block {
    std::uint16_t d;  // fp16 bits
    std::uint16_t m;  // fp16 bits
    std::uint8_t qs[16];
  };
  static_assert(sizeof(block) * 8 == info.block_bits && info.block_elems == detail::gguf::block_elems);

  static constexpr std::uint8_t code(float x, float min, float id) noexcept {
    const int q = detail::gguf::to_int8_like_x86(detail::no_contract((x - min) * id) + 0.5f);
    return static_cast<std::uint8_t>(q < 15 ? q : 15);
  }

  static constexpr block quantize_block(std::span<const float, 32> x) {
    QMATH_REQUIRE(detail::gguf::first_non_finite(x) == x.size(), "qmath::formats::q4_1::quantize_block",
                  "the block holds NaN or Inf");
    const auto [min, max] = detail::gguf::scan_min_max(x);
    const float d = (max - min) / 15;
    const float id = detail::gguf::inverse_or_zero(d);
    block out{};
    out.d = detail::fp16_bits_from_float(d);
    out.m = detail::fp16_bits_from_float(min);
    for (std::size_t j = 0; j < 16; ++j)
      out.qs[j] = static_cast<std::uint8_t>(code(x[j], min, id) | code(x[j + 16], min, id) << 4);
    return out;
  }

  static constexpr void dequantize_block(const block& b, std::span<float, 32> y) noexcept {
    const float d = detail::fp16_bits_to_float(b.d);
    const float m = detail::fp16_bits_to_float(b.m);
    for (std::size_t j = 0; j < 16; ++j) {
      y[j] = detail::no_contract(static_cast<float>(b.qs[j] & 0x0f) * d) + m;
      y[j + 16] = detail::no_contract(static_cast<float>(b.qs[j] >> 4) * d) + m;
    }
  }
};

}  // namespace qmath::formats

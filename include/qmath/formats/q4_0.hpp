#pragma once
// GGUF Q4_0: 32 4-bit codes and one fp16 scale (4.5 bits per weight).
//
// Layout (ggml src/ggml-common.h, block_q4_0): half d; u8 qs[16] (18 bytes).
// Byte j holds element j in its low nibble and element j + 16 in its high one.
// Quantize (ggml src/ggml-quants.c, quantize_row_q4_0_ref): max = the signed
// value of largest |x| (the first on a tie, 0 for an all-zero block),
// d = max / -8, id = d ? 1/d : 0 from the float d, q = MIN(15, (int8_t)(x*id + 8.5f))
// with x*id rounded before the add; d stored as fp16. So the extreme element is
// code 0 (-8 d) and the other end is clamped at 15.
// Dequantize (dequantize_row_q4_0): y = (q - 8) * fp16(d).
// NaN or Inf throws qmath::error.

#include <cstdint>
#include <span>

#include "qmath/formats/detail/gguf_common.hpp"
#include "qmath/formats/table.hpp"

namespace qmath::formats {

struct q4_0 {
  static constexpr const format_info& info = qmath::info(format_id::q4_0);
  struct block {
    std::uint16_t d;  // fp16 bits
    std::uint8_t qs[16];
  };
  static_assert(sizeof(block) * 8 == info.block_bits && info.block_elems == detail::gguf::block_elems);

  // The 4-bit code of x as the reference computes it.
  static constexpr std::uint8_t code(float x, float id) noexcept {
    const int q = detail::gguf::to_int8_like_x86(detail::no_contract(x * id) + 8.5f);
    return static_cast<std::uint8_t>(q < 15 ? q : 15);
  }

  static constexpr block quantize_block(std::span<const float, 32> x) {
    QMATH_REQUIRE(detail::gguf::first_non_finite(x) == x.size(), "qmath::formats::q4_0::quantize_block",
                  "the block holds NaN or Inf");
    const float d = detail::gguf::signed_absmax(x) / -8;
    const float id = detail::gguf::inverse_or_zero(d);
    block out{};
    out.d = detail::fp16_bits_from_float(d);
    for (std::size_t j = 0; j < 16; ++j)
      out.qs[j] = static_cast<std::uint8_t>(code(x[j], id) | code(x[j + 16], id) << 4);
    return out;
  }

  static constexpr void dequantize_block(const block& b, std::span<float, 32> y) noexcept {
    const float d = detail::fp16_bits_to_float(b.d);
    for (std::size_t j = 0; j < 16; ++j) {
      y[j] = static_cast<float>((b.qs[j] & 0x0f) - 8) * d;
      y[j + 16] = static_cast<float>((b.qs[j] >> 4) - 8) * d;
    }
  }
};

}  // namespace qmath::formats

#pragma once
// GGUF Q5_0: 32 5-bit codes and one fp16 scale (5.5 bits per weight).
//
// Layout (ggml src/ggml-common.h, block_q5_0): half d; u8 qh[4]; u8 qs[16]
// (22 bytes). The low 4 bits are nibbles ordered as in Q4_0 (byte j: element j
// low, j + 16 high); bit 4 of element i is bit i of the little-endian uint32 qh.
// Quantize (ggml src/ggml-quants.c, quantize_row_q5_0_ref): max = the signed
// value of largest |x| (the first on a tie, 0 for an all-zero block),
// d = max / -16, id = d ? 1/d : 0 from the float d,
// q = MIN(31, (int8_t)(x*id + 16.5f)) with x*id rounded before the add; d as fp16.
// Dequantize (dequantize_row_q5_0): y = (q - 16) * fp16(d).
// NaN or Inf throws qmath::error.

#include <cstdint>
#include <span>

#include "qmath/formats/detail/gguf_common.hpp"
#include "qmath/formats/table.hpp"

namespace qmath::formats {

struct q5_0 {
  static constexpr const format_info& info = qmath::info(format_id::q5_0);
  struct block {
    std::uint16_t d;  // fp16 bits
    std::uint8_t qh[4];
    std::uint8_t qs[16];
  };
  static_assert(sizeof(block) * 8 == info.block_bits && info.block_elems == detail::gguf::block_elems);

  static constexpr std::uint8_t code(float x, float id) noexcept {
    const int q = detail::gguf::to_int8_like_x86(detail::no_contract(x * id) + 16.5f);
    return static_cast<std::uint8_t>(q < 31 ? q : 31);
  }

  static constexpr block quantize_block(std::span<const float, 32> x) {
    QMATH_REQUIRE(detail::gguf::first_non_finite(x) == x.size(), "qmath::formats::q5_0::quantize_block",
                  "the block holds NaN or Inf");
    const float d = detail::gguf::signed_absmax(x) / -16;
    const float id = detail::gguf::inverse_or_zero(d);
    block out{};
    out.d = detail::fp16_bits_from_float(d);
    std::uint32_t qh = 0;
    for (std::size_t j = 0; j < 16; ++j) {
      const std::uint8_t lo = code(x[j], id), hi = code(x[j + 16], id);
      out.qs[j] = static_cast<std::uint8_t>((lo & 0x0f) | (hi & 0x0f) << 4);
      qh |= std::uint32_t{(lo & 0x10u) >> 4} << j;
      qh |= std::uint32_t{(hi & 0x10u) >> 4} << (j + 16);
    }
    for (std::size_t i = 0; i < 4; ++i) out.qh[i] = static_cast<std::uint8_t>(qh >> (8 * i));
    return out;
  }

  static constexpr void dequantize_block(const block& b, std::span<float, 32> y) noexcept {
    const float d = detail::fp16_bits_to_float(b.d);
    const std::uint32_t qh = b.qh[0] | std::uint32_t{b.qh[1]} << 8 | std::uint32_t{b.qh[2]} << 16 |
                             std::uint32_t{b.qh[3]} << 24;
    for (std::size_t j = 0; j < 16; ++j) {
      const int lo = static_cast<int>((b.qs[j] & 0x0fu) | (((qh >> j) << 4) & 0x10u)) - 16;
      const int hi = static_cast<int>((b.qs[j] >> 4) | ((qh >> (j + 12)) & 0x10u)) - 16;
      y[j] = static_cast<float>(lo) * d;
      y[j + 16] = static_cast<float>(hi) * d;
    }
  }
};

}  // namespace qmath::formats

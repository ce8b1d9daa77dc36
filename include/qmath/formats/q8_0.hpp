#pragma once
// GGUF Q8_0: 32 int8 codes and one fp16 scale (8.5 bits per weight).
//
// Layout (ggml src/ggml-common.h, block_q8_0): half d; int8 qs[32] (34 bytes).
// Quantize (ggml src/ggml-quants.c, quantize_row_q8_0_ref): amax = max|x|,
// d = amax / 127 in float, id = d ? 1/d : 0 from that float d (not from the
// fp16-rounded one), qs = roundf(x * id) (ties away from zero), d stored as
// fp16. Dequantize (dequantize_row_q8_0): y = qs * fp16(d).
// Every finite input gives ggml's bytes; amax above 127 * 65504 stores an
// infinite scale, as ggml does. NaN or Inf throws qmath::error.

#include <cstdint>
#include <span>

#include "qmath/formats/detail/gguf_common.hpp"
#include "qmath/formats/table.hpp"

namespace qmath::formats {

struct q8_0 {
  static constexpr const format_info& info = qmath::info(format_id::q8_0);
  struct block {
    std::uint16_t d;  // fp16 bits
    std::int8_t qs[32];
  };
  static_assert(sizeof(block) * 8 == info.block_bits && info.block_elems == detail::gguf::block_elems);

  static constexpr block quantize_block(std::span<const float, 32> x) {
    QMATH_REQUIRE(detail::gguf::first_non_finite(x) == x.size(), "qmath::formats::q8_0::quantize_block",
                  "the block holds NaN or Inf");
    float amax = 0.0f;
    for (const float v : x) amax = amax > detail::gguf::abs_value(v) ? amax : detail::gguf::abs_value(v);
    const float d = amax / 127;
    const float id = detail::gguf::inverse_or_zero(d);
    block out{};
    out.d = detail::fp16_bits_from_float(d);
    for (std::size_t j = 0; j < 32; ++j) out.qs[j] = detail::gguf::to_int8_like_x86(detail::gguf::round_half_away(x[j] * id));
    return out;
  }

  static constexpr void dequantize_block(const block& b, std::span<float, 32> y) noexcept {
    const float d = detail::fp16_bits_to_float(b.d);
    for (std::size_t j = 0; j < 32; ++j) y[j] = static_cast<float>(b.qs[j]) * d;
  }
};

}  // namespace qmath::formats

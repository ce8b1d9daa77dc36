#pragma once
// GGUF MXFP4 (OCP Microscaling FP4, as gpt-oss ships it): 32 E2M1 values and
// one E8M0 power-of-two scale (4.25 bits per weight).
//
// Layout (ggml src/ggml-common.h, block_mxfp4): u8 e; u8 qs[16] (17 bytes),
// nibbles as in Q4_0 (byte j: element j low, j + 16 high). Code c means
// kvalues_fp4[c] * 2^(e - 128) (the table holds twice the E2M1 values).
// Quantize (ggml src/ggml-quants.c, quantize_row_mxfp4_ref): amax = max |x|,
// e = amax > 0 ? (uint8_t)(floorf(log2f(amax)) - 2 + 127) : 0, each code the
// first of least |value * scale - x| (detail::fp4::best_index). ggml's bytes
// for every finite input, with the C library's log2f (see detail::fp4::floor_log2).
// Dequantize (dequantize_row_mxfp4): y = kvalues_fp4[c] * 2^(e - 128).
// NaN or Inf throws qmath::error.

#include <cstdint>
#include <span>

#include "qmath/formats/detail/fp4_common.hpp"
#include "qmath/formats/detail/gguf_common.hpp"
#include "qmath/formats/table.hpp"

namespace qmath::formats {

struct mxfp4 {
  static constexpr const format_info& info = qmath::info(format_id::mxfp4);
  struct block {
    std::uint8_t e;  // E8M0
    std::uint8_t qs[16];
  };
  static_assert(sizeof(block) * 8 == info.block_bits);

  // The exponent byte of a block whose largest |x| is amax.
  static constexpr std::uint8_t exponent_of(float amax) noexcept {
    return amax > 0.0f ? detail::fp4::to_uint8_like_x86(detail::fp4::floor_log2(amax) - 2 + 127) : 0;
  }

  static constexpr block quantize_block(std::span<const float, 32> x) {
    QMATH_REQUIRE(detail::gguf::first_non_finite(x) == x.size(), "qmath::formats::mxfp4::quantize_block",
                  "the block holds NaN or Inf");
    float amax = 0;
    for (const float v : x)
      if (amax < detail::gguf::abs_value(v)) amax = detail::gguf::abs_value(v);
    block out{};
    out.e = exponent_of(amax);
    const auto candidates = detail::fp4::scaled_values(detail::fp4::e8m0_half(out.e));
    for (std::size_t j = 0; j < 16; ++j)
      out.qs[j] = static_cast<std::uint8_t>(detail::fp4::best_index(x[j], candidates) | (detail::fp4::best_index(x[j + 16], candidates) << 4));
    return out;
  }

  static constexpr void dequantize_block(const block& b, std::span<float, 32> y) noexcept {
    const float d = detail::fp4::e8m0_half(b.e);
    for (std::size_t j = 0; j < 16; ++j) {
      y[j] = detail::fp4::value(b.qs[j] & 0xF) * d;
      y[j + 16] = detail::fp4::value(b.qs[j] >> 4) * d;
    }
  }
};

}  // namespace qmath::formats

#pragma once
// GGUF TQ2_0: ternary weights, 2 bits each, one fp16 scale per 256.
//
// Layout (ggml src/ggml-common.h, block_tq2_0): u8 qs[64]; half d (66 bytes).
// Per 128 elements 32 bytes; byte m holds the code of element m + 32n in bits
// [2n, 2n+1], least significant first. Codes 0, 1, 2 mean -1, 0, +1.
// Quantize (ggml src/ggml-quants.c, quantize_row_tq2_0_ref): d = max|x| over
// the block, stored as fp16; code = lroundf(x * (1/d)) + 1 with 1/d computed
// from the float d. Dequantize (dequantize_row_tq2_0): y = (code - 1) * fp16(d).
// The rule only reproduces weights that are already ternary (+-amax, 0).

#include <array>
#include <cstdint>
#include <span>

#include "qmath/formats/detail/lowbit_common.hpp"
#include "qmath/formats/table.hpp"

namespace qmath::formats {

struct tq2_0 {
  static constexpr const format_info& info = qmath::info(format_id::tq2_0);
  struct block {
    std::uint8_t qs[64];
    std::uint16_t d;  // fp16 bits
  };
  static_assert(sizeof(block) * 8 == info.block_bits);

  static constexpr block quantize_block(std::span<const float, 256> x) {
    QMATH_REQUIRE(detail::lowbit::first_non_finite(x) == x.size(), "qmath::formats::tq2_0::quantize_block",
                  "the block holds NaN or Inf");
    float amax = 0.f;
    for (const float v : x) amax = amax > detail::lowbit::abs_value(v) ? amax : detail::lowbit::abs_value(v);
    const float inverse = detail::lowbit::ternary_inverse_scale(amax);
    block out{};
    out.d = detail::fp16_bits_from_float(amax);
    for (std::size_t half = 0; half < 2; ++half)
      for (std::size_t m = 0; m < 32; ++m) {
        unsigned byte = 0;
        for (unsigned n = 0; n < 4; ++n) byte |= unsigned{detail::lowbit::ternary_code(x[128 * half + m + 32 * n] * inverse)} << (2 * n);
        out.qs[32 * half + m] = static_cast<std::uint8_t>(byte);
      }
    return out;
  }

  static constexpr void dequantize_block(const block& b, std::span<float, 256> y) {
    const float d = detail::fp16_bits_to_float(b.d);
    for (std::size_t half = 0; half < 2; ++half)
      for (unsigned n = 0; n < 4; ++n)
        for (std::size_t m = 0; m < 32; ++m) {
          const int code = (b.qs[32 * half + m] >> (2 * n)) & 3;
          y[128 * half + 32 * n + m] = static_cast<float>(code - 1) * d;
        }
  }
};

}  // namespace qmath::formats

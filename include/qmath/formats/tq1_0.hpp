#pragma once
// GGUF TQ1_0: ternary weights packed five to a byte (1.6875 bits each).
//
// Layout (ggml src/ggml-common.h, block_tq1_0): u8 qs[48]; u8 qh[4]; half d (54 bytes).
// Quantize (ggml src/ggml-quants.c, quantize_row_tq1_0_ref): d = max|x| (fp16),
// trit = lroundf(x * (1/d)) + 1 in {0, 1, 2}. Trits are gathered base 3, the
// first one most significant, and a byte stores the fixed-point fraction
// ceil(q * 256 / 243):
//   qs[m],      m < 32: elements m + 32n       of elements [0, 160),   n = 0..4
//   qs[32 + m], m < 16: elements 160 + m + 16n of elements [160, 240), n = 0..4
//   qh[j],      j < 4:  elements 240 + j + 4n  of elements [240, 256), n = 0..3,
//                       times 3 once more so the first trit is again the top one.
// Dequantize (dequantize_row_tq1_0): digit n of a byte b is
// ((uint8_t)(b * 3^n) * 3) >> 8, y = (digit - 1) * fp16(d). (Design: llama.cpp PR #8151.)

#include <array>
#include <cstdint>
#include <span>

#include "qmath/formats/detail/lowbit_common.hpp"
#include "qmath/formats/table.hpp"

namespace qmath::formats {

struct tq1_0 {
  static constexpr const format_info& info = qmath::info(format_id::tq1_0);
  struct block {
    std::uint8_t qs[48];
    std::uint8_t qh[4];
    std::uint16_t d;  // fp16 bits
  };
  static_assert(sizeof(block) * 8 == info.block_bits);

  // Base-3 digits of n trits, first most significant, as ceil(q * 256 / 243).
  static constexpr std::uint8_t pack_trits(const std::uint8_t* trits, unsigned count) noexcept {
    unsigned q = 0;
    for (unsigned n = 0; n < count; ++n) q = q * 3 + trits[n];
    for (unsigned n = count; n < 5; ++n) q *= 3;
    return static_cast<std::uint8_t>((q * 256 + 242) / 243);
  }

  // Digit n (0 = most significant) of a packed byte, as ggml reads it.
  static constexpr int digit(std::uint8_t byte, unsigned n) noexcept {
    constexpr std::uint8_t pow3[5] = {1, 3, 9, 27, 81};
    const auto q = static_cast<std::uint8_t>(byte * pow3[n]);
    return (q * 3) >> 8;
  }

  static constexpr block quantize_block(std::span<const float, 256> x) {
    QMATH_REQUIRE(detail::lowbit::first_non_finite(x) == x.size(), "qmath::formats::tq1_0::quantize_block",
                  "the block holds NaN or Inf");
    float amax = 0.f;
    for (const float v : x) amax = amax > detail::lowbit::abs_value(v) ? amax : detail::lowbit::abs_value(v);
    const float inverse = detail::lowbit::ternary_inverse_scale(amax);
    std::uint8_t t[256]{};
    for (std::size_t i = 0; i < 256; ++i) t[i] = detail::lowbit::ternary_code(x[i] * inverse);
    block out{};
    out.d = detail::fp16_bits_from_float(amax);
    for (unsigned m = 0; m < 32; ++m) {
      const std::uint8_t trits[5] = {t[m], t[m + 32], t[m + 64], t[m + 96], t[m + 128]};
      out.qs[m] = pack_trits(trits, 5);
    }
    for (unsigned m = 0; m < 16; ++m) {
      const std::uint8_t trits[5] = {t[160 + m], t[176 + m], t[192 + m], t[208 + m], t[224 + m]};
      out.qs[32 + m] = pack_trits(trits, 5);
    }
    for (unsigned j = 0; j < 4; ++j) {
      const std::uint8_t trits[4] = {t[240 + j], t[244 + j], t[248 + j], t[252 + j]};
      out.qh[j] = pack_trits(trits, 4);
    }
    return out;
  }

  static constexpr void dequantize_block(const block& b, std::span<float, 256> y) {
    const float d = detail::fp16_bits_to_float(b.d);
    for (unsigned n = 0; n < 5; ++n)
      for (unsigned m = 0; m < 32; ++m) y[32 * n + m] = static_cast<float>(digit(b.qs[m], n) - 1) * d;
    for (unsigned n = 0; n < 5; ++n)
      for (unsigned m = 0; m < 16; ++m) y[160 + 16 * n + m] = static_cast<float>(digit(b.qs[32 + m], n) - 1) * d;
    for (unsigned n = 0; n < 4; ++n)
      for (unsigned j = 0; j < 4; ++j) y[240 + 4 * n + j] = static_cast<float>(digit(b.qh[j], n) - 1) * d;
  }
};

}  // namespace qmath::formats

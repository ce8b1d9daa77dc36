#pragma once
// GGUF Q8_K: 256 int8 codes, one fp32 scale and the sums of each 16 codes
// (ggml's intermediate format for K-quant dot products; GGUF files rarely
// store it).
//
// Layout (ggml src/ggml-common.h, block_q8_K): float d; i8 qs[256];
// i16 bsums[16] (292 bytes).
// Quantize (ggml src/ggml-quants.c, quantize_row_q8_K_ref): max = the signed
// value of largest |x| (first on a tie); iscale = -127 / max,
// qs = min(127, nearest_int(iscale * x)), bsums[j] = sum of qs[16j .. 16j+15],
// d = 1 / iscale. An all-zero block stores d = 0 and zero codes; ggml leaves
// its bsums unwritten there, qmath writes 0 (the sum of its codes).
// Dequantize (dequantize_row_q8_K): y = d * qs. NaN or Inf throws qmath::error.

#include <cstdint>
#include <span>

#include "qmath/formats/detail/kquant_common.hpp"
#include "qmath/formats/table.hpp"

namespace qmath::formats {

struct q8_k {
  static constexpr const format_info& info = qmath::info(format_id::q8_k);
  struct block {
    std::uint32_t d;  // fp32 bits (a float member would not have unique object representations)
    std::int8_t qs[256];
    std::int16_t bsums[16];
  };
  static_assert(sizeof(block) * 8 == info.block_bits);

  static constexpr block quantize_block(std::span<const float, 256> x) {
    QMATH_REQUIRE(detail::lowbit::first_non_finite(x) == x.size(), "qmath::formats::q8_k::quantize_block",
                  "the block holds NaN or Inf");
    block out{};
    const float max = detail::kquant::signed_absmax(x.data(), 256);
    if (max == 0) return out;
    const float iscale = -127.f / max;
    for (std::size_t j = 0; j < 256; ++j) {
      const int v = detail::kquant::ggml_nearest_int(detail::no_contract(iscale * x[j]));
      out.qs[j] = static_cast<std::int8_t>(v < 127 ? v : 127);
    }
    for (std::size_t j = 0; j < 16; ++j) {
      int sum = 0;
      for (std::size_t i = 0; i < 16; ++i) sum += out.qs[16 * j + i];
      out.bsums[j] = static_cast<std::int16_t>(sum);
    }
    out.d = detail::float_bits(1 / iscale);
    return out;
  }

  static constexpr void dequantize_block(const block& b, std::span<float, 256> y) noexcept {
    for (std::size_t j = 0; j < 256; ++j) y[j] = detail::float_from_bits(b.d) * static_cast<float>(b.qs[j]);
  }
};

}  // namespace qmath::formats

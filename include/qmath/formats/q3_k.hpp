#pragma once
// GGUF Q3_K: 3-bit codes with a 6-bit signed scale per 16 elements and one
// fp16 super-scale per 256 (3.4375 bits per weight); the bulk of a Q3_K_M file.
//
// Layout (ggml src/ggml-common.h, block_q3_K): u8 hmask[32]; u8 qs[64];
// u8 scales[12]; half d (110 bytes). Element e: low 2 bits in qs[32 (e / 128)
// + e % 32] at bit 2 ((e % 128) / 32) (as Q2_K), high bit in hmask[e % 32] at
// bit e / 32; code = low + 4 high, value code - 4. Scale j (6 bits, stored + 32):
// low 4 bits in the low (j < 8) or high (j >= 8) nibble of scales[j % 8], top
// 2 bits in scales[8 + j % 4] at bit 2 (j / 4).
// Dequantize (ggml src/ggml-quants.c, dequantize_row_q3_K):
//   y = (fp16(d) * (sc - 32)) * (code - 4)
// Quantize (quantize_row_q3_K_ref): per 16 elements make_q3_quants(16, 4, x,
// do_rmse) (detail::kquant::make_q3); iscale = -32 / max_scale (the signed
// scale of largest magnitude), sc = clamp(nearest_int(iscale * scale), -32, 31)
// (through an int8_t, as ggml), d = fp16(1 / iscale); then the codes are redone
// against the stored scales: clamp(nearest_int(x / (d * sc)), -4, 3) + 4, a
// sub-block whose stored scale is 0 keeping the search's codes. ggml's bytes
// for every finite input. NaN or Inf throws qmath::error.

#include <array>
#include <cstdint>
#include <span>

#include "qmath/formats/detail/kquant_common.hpp"
#include "qmath/formats/table.hpp"

namespace qmath::formats {

struct q3_k {
  static constexpr const format_info& info = qmath::info(format_id::q3_k);
  struct block {
    std::uint8_t hmask[32];
    std::uint8_t qs[64];
    std::uint8_t scales[12];
    std::uint16_t d;  // fp16 bits
  };
  static_assert(sizeof(block) * 8 == info.block_bits);

  // Stored scale j, 0..63 (the value is this - 32).
  static constexpr int stored_scale(const std::uint8_t* scales, std::size_t j) noexcept {
    const int low = j < 8 ? (scales[j] & 0xF) : (scales[j - 8] >> 4);
    return low | (((scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4);
  }

  static constexpr block quantize_block(std::span<const float, 256> x) {
    using detail::kquant::clamp;
    using detail::kquant::ggml_nearest_int;
    QMATH_REQUIRE(detail::lowbit::first_non_finite(x) == x.size(), "qmath::formats::q3_k::quantize_block",
                  "the block holds NaN or Inf");
    std::array<detail::kquant::symmetric_fit<16>, 16> fits{};
    float max_scale = 0, amax = 0;
    for (std::size_t j = 0; j < 16; ++j) {
      fits[j] = detail::kquant::make_q3<16>(x.data() + 16 * j, 4);
      const float a = detail::kquant::abs_value(fits[j].scale);
      if (a > amax) {
        amax = a;
        max_scale = fits[j].scale;
      }
    }
    block out{};
    if (max_scale != 0) {
      const float iscale = -32.f / max_scale;
      for (std::size_t j = 0; j < 16; ++j) {
        const auto narrow = static_cast<std::int8_t>(ggml_nearest_int(detail::no_contract(iscale * fits[j].scale)));
        const int l = clamp(narrow, -32, 31) + 32;
        if (j < 8) out.scales[j] = static_cast<std::uint8_t>(l & 0xF);
        else out.scales[j - 8] = static_cast<std::uint8_t>(out.scales[j - 8] | ((l & 0xF) << 4));
        out.scales[j % 4 + 8] = static_cast<std::uint8_t>(out.scales[j % 4 + 8] | ((l >> 4) << (2 * (j / 4))));
      }
      out.d = detail::fp16_bits_from_float(1 / iscale);
    }
    std::array<std::uint8_t, 256> codes{};
    const float d_all = detail::fp16_bits_to_float(out.d);
    for (std::size_t j = 0; j < 16; ++j) {
      for (std::size_t i = 0; i < 16; ++i) codes[16 * j + i] = static_cast<std::uint8_t>(fits[j].codes[i]);
      const float d = d_all * static_cast<float>(stored_scale(out.scales, j) - 32);
      if (d == 0) continue;
      for (std::size_t i = 0; i < 16; ++i)
        codes[16 * j + i] = static_cast<std::uint8_t>(clamp(ggml_nearest_int(x[16 * j + i] / d), -4, 3) + 4);
    }
    pack_codes(codes, out);
    return out;
  }

  // hmask and qs from 256 codes in 0..7.
  static constexpr void pack_codes(const std::array<std::uint8_t, 256>& c, block& out) noexcept {
    for (std::size_t e = 0; e < 256; ++e)
      if (c[e] > 3) out.hmask[e % 32] = static_cast<std::uint8_t>(out.hmask[e % 32] | (1u << (e / 32)));
    for (std::size_t h = 0; h < 2; ++h)
      for (std::size_t l = 0; l < 32; ++l) {
        const std::uint8_t* q = c.data() + 128 * h + l;
        out.qs[32 * h + l] =
            static_cast<std::uint8_t>((q[0] & 3) | ((q[32] & 3) << 2) | ((q[64] & 3) << 4) | ((q[96] & 3) << 6));
      }
  }

  static constexpr void dequantize_block(const block& b, std::span<float, 256> y) noexcept {
    const float d_all = detail::fp16_bits_to_float(b.d);
    for (std::size_t j = 0; j < 16; ++j) {
      const float dl = d_all * static_cast<float>(stored_scale(b.scales, j) - 32);
      for (std::size_t i = 0; i < 16; ++i) {
        const std::size_t e = 16 * j + i;
        const int low = (b.qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
        const int high = (b.hmask[e % 32] >> (e / 32)) & 1;
        y[e] = dl * static_cast<float>(low - (high ? 0 : 4));
      }
    }
  }
};

}  // namespace qmath::formats

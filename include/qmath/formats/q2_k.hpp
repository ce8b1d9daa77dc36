#pragma once
// GGUF Q2_K: 2-bit codes with a 4-bit scale and a 4-bit min per 16 elements,
// and two fp16 super-scales per 256.
//
// Layout (ggml src/ggml-common.h, block_q2_K): u8 scales[16]; u8 qs[64];
// half d; half dmin (84 bytes). scales[j] = scale (low nibble) | min << 4 of
// sub-block j (elements 16j..16j+15). Per 128 elements 32 bytes of qs: byte l
// holds element l + 32k in bits [2k, 2k+1].
// Dequantize (ggml src/ggml-quants.c, dequantize_row_q2_K):
//   y = fp16(d) * (sc & 0xF) * q - fp16(dmin) * (sc >> 4)
// Both products are exact in float (11 + 4 + 2 significant bits), so the one
// rounding is the subtraction, fused or not.
// Quantize (quantize_row_q2_K_ref): per sub-block make_qkx2_quants(16, 3, x,
// weights = |x|, rmin = -0.5, rdelta = 0.1, nstep = 15, use_mad = true), a
// search over 16 candidate scales with a weighted least-squares fit of scale
// and min; then 4-bit scales = nearest_int(15 / max_scale * scale),
// d = fp16(max_scale / 15), likewise for the mins, and the codes are redone
// against the stored scales: q = clamp(nearest_int((x + dmin*m)/(d*sc)), 0, 3).
// This is that rule evaluated as written in C, each operation rounded to float
// (no fused multiply-add), sums in element order.

#include <array>
#include <cstdint>
#include <span>

#include "qmath/formats/detail/kquant_common.hpp"
#include "qmath/formats/detail/lowbit_common.hpp"
#include "qmath/formats/table.hpp"

namespace qmath::formats {

struct q2_k {
  static constexpr const format_info& info = qmath::info(format_id::q2_k);
  struct block {
    std::uint8_t scales[16];
    std::uint8_t qs[64];
    std::uint16_t d;     // fp16 bits
    std::uint16_t dmin;  // fp16 bits
  };
  static_assert(sizeof(block) * 8 == info.block_bits);

  // The outcome of the search for one sub-block of 16.
  using sub_block_fit = detail::kquant::min_fit<16>;

  // make_qkx2_quants(16, 3, x, |x|, L, &the_min, Laux, -0.5f, 0.1f, 15, true)
  // (ggml src/ggml-quants.c), shared with Q4_K and Q5_K.
  static constexpr sub_block_fit fit_sub_block(const float* x) noexcept {
    float w[16]{};
    for (int i = 0; i < 16; ++i) w[i] = detail::lowbit::abs_value(x[i]);
    return detail::kquant::make_qkx2<16>(x, w, 3, -0.5f, 0.1f, 15, true);
  }

  // quantize_row_q2_K_ref once the 16 fits are known, first part: the 4-bit
  // scales and mins and the fp16 super-scales (qs left zero).
  static constexpr block make_header(const std::array<sub_block_fit, 16>& fits) noexcept {
    using detail::lowbit::ggml_nearest_int;
    constexpr float q4scale = 15.f;
    float max_scale = 0, max_min = 0;
    for (const auto& f : fits) {
      if (f.scale > max_scale) max_scale = f.scale;
      if (f.min > max_min) max_min = f.min;
    }
    block out{};
    if (max_scale > 0) {
      const float iscale = q4scale / max_scale;
      for (std::size_t j = 0; j < 16; ++j)
        out.scales[j] = static_cast<std::uint8_t>(ggml_nearest_int(detail::no_contract(iscale * fits[j].scale)));
      out.d = detail::fp16_bits_from_float(max_scale / q4scale);
    }
    if (max_min > 0) {
      const float iscale = q4scale / max_min;
      for (std::size_t j = 0; j < 16; ++j) {
        const int l = ggml_nearest_int(detail::no_contract(iscale * fits[j].min));
        out.scales[j] = static_cast<std::uint8_t>(out.scales[j] | (static_cast<unsigned>(l) << 4));
      }
      out.dmin = detail::fp16_bits_from_float(max_min / q4scale);
    }
    return out;
  }

  // Second part: the codes redone against the stored scales (a sub-block whose
  // scale is 0 keeps the search's codes), then packed.
  static constexpr block finish_block(std::span<const float, 256> x, const std::array<sub_block_fit, 16>& fits) noexcept {
    using detail::lowbit::ggml_nearest_int;
    block out = make_header(fits);
    std::uint8_t codes[256]{};
    for (std::size_t j = 0; j < 16; ++j) {
      for (std::size_t i = 0; i < 16; ++i) codes[16 * j + i] = fits[j].codes[i];
      const float d = detail::fp16_bits_to_float(out.d) * static_cast<float>(out.scales[j] & 0xF);
      if (d == 0) continue;
      const float dm = detail::fp16_bits_to_float(out.dmin) * static_cast<float>(out.scales[j] >> 4);
      for (std::size_t i = 0; i < 16; ++i) {
        const int l = ggml_nearest_int((x[16 * j + i] + dm) / d);
        codes[16 * j + i] = static_cast<std::uint8_t>(l < 0 ? 0 : (l > 3 ? 3 : l));
      }
    }
    for (std::size_t half = 0; half < 2; ++half)
      for (std::size_t l = 0; l < 32; ++l) {
        const std::uint8_t* c = codes + 128 * half + l;
        out.qs[32 * half + l] = static_cast<std::uint8_t>(c[0] | (c[32] << 2) | (c[64] << 4) | (c[96] << 6));
      }
    return out;
  }

  static constexpr block quantize_block(std::span<const float, 256> x) {
    QMATH_REQUIRE(detail::lowbit::first_non_finite(x) == x.size(), "qmath::formats::q2_k::quantize_block",
                  "the block holds NaN or Inf");
    std::array<sub_block_fit, 16> fits{};
    for (std::size_t j = 0; j < 16; ++j) fits[j] = fit_sub_block(x.data() + 16 * j);
    return finish_block(x, fits);
  }

  static constexpr void dequantize_block(const block& b, std::span<float, 256> y) {
    const float d = detail::fp16_bits_to_float(b.d);
    const float dmin = detail::fp16_bits_to_float(b.dmin);
    for (std::size_t half = 0; half < 2; ++half)
      for (unsigned k = 0; k < 4; ++k)
        for (std::size_t part = 0; part < 2; ++part) {
          const std::uint8_t sc = b.scales[8 * half + 2 * k + part];
          const float dl = d * static_cast<float>(sc & 0xF);
          const float ml = dmin * static_cast<float>(sc >> 4);
          for (std::size_t l = 0; l < 16; ++l) {
            const int q = (b.qs[32 * half + 16 * part + l] >> (2 * k)) & 3;
            y[128 * half + 32 * k + 16 * part + l] = dl * static_cast<float>(q) - ml;
          }
        }
  }
};

}  // namespace qmath::formats

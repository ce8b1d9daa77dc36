#pragma once
// GGUF IQ4_XS: IQ4_NL's non-linear 4-bit table with a 6-bit signed scale per
// 32 elements and one fp16 super-scale per 256 (4.25 bits per weight).
//
// Layout (ggml src/ggml-common.h, block_iq4_xs): half d; u16 scales_h;
// u8 scales_l[4]; u8 qs[128] (136 bytes). Scale of sub-block ib (stored + 32):
// low 4 bits in scales_l[ib / 2] (low nibble for even ib), top 2 bits in
// scales_h at bit 2 ib. Per 32 elements 16 bytes of qs, nibbles as in IQ4_NL
// (byte j: element j low, j + 16 high).
// Dequantize (ggml src/ggml-quants.c, dequantize_row_iq4_xs):
//   y = (fp16(d) * (ls - 32)) * kvalues_iq4nl[q]
// Quantize (quantize_row_iq4_xs_ref = quantize_row_iq4_nl_impl(256, 32, ...,
// no importance weights, ntry 7)): per 32 elements, weights x^2, d = max / 127
// (max the signed value of largest |x|), codes best_index_int8(id * x), the
// least-squares scale, then 15 more grids id = (itry - 127) / max (itry =
// -7..7) keeping the best sumqx^2 / sumq2; a sub-block with largest |x| below
// 1e-15 has scale 0. Then d = -max_scale / 32 (the signed scale of largest
// magnitude, fp16), each sub-block's scale l = clamp(nearest_int(scale / d),
// -32, 31), and the codes are redone against d * l (not its fp16 rounding):
// best_index_int8(x / (d * l)), or of 0 where d * l is 0. ggml's bytes for
// every finite input. NaN or Inf throws qmath::error.

#include <array>
#include <cstdint>
#include <span>

#include "qmath/formats/detail/kquant_common.hpp"
#include "qmath/formats/iq4_nl.hpp"
#include "qmath/formats/table.hpp"

namespace qmath::formats {

struct iq4_xs {
  static constexpr const format_info& info = qmath::info(format_id::iq4_xs);
  struct block {
    std::uint16_t d;  // fp16 bits
    std::uint16_t scales_h;
    std::uint8_t scales_l[4];
    std::uint8_t qs[128];
  };
  static_assert(sizeof(block) * 8 == info.block_bits);

  static constexpr int ntry = 7;

  // The scale search of one sub-block of 32 (quantize_row_iq4_nl_impl's loop body).
  static constexpr float sub_block_scale(const float* xb) noexcept {
    using detail::no_contract;
    using detail::iq4nl::best_index;
    using detail::iq4nl::value;
    const float max = detail::kquant::signed_absmax(xb, 32);
    if (detail::kquant::abs_value(max) < detail::kquant::group_max_eps) return 0;
    const auto sums = [&](float id, float& sumqx, float& sumq2) {
      sumqx = 0;
      sumq2 = 0;
      for (std::size_t j = 0; j < 32; ++j) {
        const float q = value(best_index(no_contract(id * xb[j])));
        const float wq = no_contract(no_contract(xb[j] * xb[j]) * q);
        sumqx += no_contract(wq * xb[j]);
        sumq2 += no_contract(wq * q);
      }
    };
    float d = -max / value(0);
    float sumqx = 0, sumq2 = 0;
    sums(1 / d, sumqx, sumq2);
    d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
    float best = no_contract(d * sumqx);
    for (int itry = -ntry; itry <= ntry; ++itry) {
      sums(static_cast<float>(itry + detail::iq4nl::values[0]) / max, sumqx, sumq2);
      if (sumq2 > 0 && no_contract(sumqx * sumqx) > no_contract(best * sumq2)) {
        d = sumqx / sumq2;
        best = no_contract(d * sumqx);
      }
    }
    return d;
  }

  // The super-block once the eight sub-block scales are known.
  static constexpr block finish_block(std::span<const float, 256> x, const std::array<float, 8>& scales) noexcept {
    using detail::iq4nl::best_index;
    float max_scale = 0, amax_scale = 0;
    for (const float s : scales)
      if (detail::kquant::abs_value(s) > amax_scale) {
        amax_scale = detail::kquant::abs_value(s);
        max_scale = s;
      }
    block out{};
    const float d = -max_scale / 32;
    out.d = detail::fp16_bits_from_float(d);
    const float id = d != 0 ? 1 / d : 0.f;
    for (std::size_t ib = 0; ib < 8; ++ib) {
      const int l = detail::kquant::clamp(detail::kquant::ggml_nearest_int(detail::no_contract(id * scales[ib])), -32, 31);
      const float dl = d * static_cast<float>(l);
      const float idl = dl != 0 ? 1 / dl : 0.f;
      for (std::size_t j = 0; j < 16; ++j) {
        const int lo = best_index(detail::no_contract(idl * x[32 * ib + j]));
        const int hi = best_index(detail::no_contract(idl * x[32 * ib + 16 + j]));
        out.qs[16 * ib + j] = static_cast<std::uint8_t>(lo | (hi << 4));
      }
      const auto stored = static_cast<unsigned>(l + 32);
      out.scales_l[ib / 2] = static_cast<std::uint8_t>(out.scales_l[ib / 2] | ((stored & 0xF) << (4 * (ib % 2))));
      out.scales_h = static_cast<std::uint16_t>(out.scales_h | ((stored >> 4) << (2 * ib)));
    }
    return out;
  }

  static constexpr block quantize_block(std::span<const float, 256> x) {
    QMATH_REQUIRE(detail::lowbit::first_non_finite(x) == x.size(), "qmath::formats::iq4_xs::quantize_block",
                  "the block holds NaN or Inf");
    std::array<float, 8> scales{};
    for (std::size_t ib = 0; ib < 8; ++ib) scales[ib] = sub_block_scale(x.data() + 32 * ib);
    return finish_block(x, scales);
  }

  static constexpr void dequantize_block(const block& b, std::span<float, 256> y) noexcept {
    const float d = detail::fp16_bits_to_float(b.d);
    for (std::size_t ib = 0; ib < 8; ++ib) {
      const int ls = ((b.scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((b.scales_h >> (2 * ib)) & 3) << 4);
      const float dl = d * static_cast<float>(ls - 32);
      for (std::size_t j = 0; j < 16; ++j) {
        y[32 * ib + j] = dl * detail::iq4nl::value(b.qs[16 * ib + j] & 0xF);
        y[32 * ib + 16 + j] = dl * detail::iq4nl::value(b.qs[16 * ib + j] >> 4);
      }
    }
  }
};

}  // namespace qmath::formats

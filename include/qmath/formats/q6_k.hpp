#pragma once
// GGUF Q6_K: 6-bit codes with an int8 scale per 16 elements and one fp16
// super-scale per 256 (6.5625 bits per weight); the output and some FFN
// tensors of a Q4_K_M file.
//
// Layout (ggml src/ggml-common.h, block_q6_K): u8 ql[128]; u8 qh[64];
// i8 scales[16]; half d (210 bytes). Per 128 elements 64 bytes of ql and 32
// of qh: for l < 32, ql[l] holds the low 4 bits of elements l (low nibble)
// and l + 64 (high nibble), ql[l + 32] those of l + 32 and l + 96, and qh[l]
// the top 2 bits of l, l + 32, l + 64, l + 96 in bits 0-1, 2-3, 4-5, 6-7.
// Dequantize (ggml src/ggml-quants.c, dequantize_row_q6_K):
//   y = (fp16(d) * sc) * (q - 32)
// Quantize (quantize_row_q6_K_ref): per 16 elements make_qx_quants(16, 32, x,
// rmse_type 1) (detail::kquant::make_qx); a super-block whose largest |scale|
// is below 1e-15 is all zero bytes; else iscale = -128 / max_scale (the
// signed scale of largest magnitude), d = fp16(1 / iscale), sc =
// min(127, nearest_int(iscale * scale)), and the codes are redone against the
// stored scales: clamp(nearest_int(x / (d * sc)), -32, 31) + 32. ggml's bytes
// for every finite input. NaN or Inf throws qmath::error.

#include <array>
#include <cstdint>
#include <span>

#include "qmath/formats/detail/kquant_common.hpp"
#include "qmath/formats/table.hpp"

namespace qmath::formats {

struct q6_k {
  static constexpr const format_info& info = qmath::info(format_id::q6_k);
  struct block {
    std::uint8_t ql[128];
    std::uint8_t qh[64];
    std::int8_t scales[16];
    std::uint16_t d;  // fp16 bits
  };
  static_assert(sizeof(block) * 8 == info.block_bits);

  static constexpr block quantize_block(std::span<const float, 256> x) {
    using detail::kquant::ggml_nearest_int;
    QMATH_REQUIRE(detail::lowbit::first_non_finite(x) == x.size(), "qmath::formats::q6_k::quantize_block",
                  "the block holds NaN or Inf");
    std::array<detail::kquant::symmetric_fit<16>, 16> fits{};
    float max_scale = 0, max_abs_scale = 0;
    for (std::size_t j = 0; j < 16; ++j) {
      fits[j] = detail::kquant::make_qx<16>(x.data() + 16 * j, 32);
      const float a = detail::kquant::abs_value(fits[j].scale);
      if (a > max_abs_scale) {
        max_abs_scale = a;
        max_scale = fits[j].scale;
      }
    }
    block out{};
    if (max_abs_scale < detail::kquant::group_max_eps) return out;  // d = fp16(0) = 0 bits
    const float iscale = -128.f / max_scale;
    out.d = detail::fp16_bits_from_float(1 / iscale);
    const float d_all = detail::fp16_bits_to_float(out.d);
    std::array<std::uint8_t, 256> codes{};
    for (std::size_t j = 0; j < 16; ++j) {
      const int s = ggml_nearest_int(detail::no_contract(iscale * fits[j].scale));
      out.scales[j] = static_cast<std::int8_t>(s < 127 ? s : 127);
      for (std::size_t i = 0; i < 16; ++i) codes[16 * j + i] = static_cast<std::uint8_t>(fits[j].codes[i]);
      const float d = d_all * static_cast<float>(out.scales[j]);
      if (d == 0) continue;
      for (std::size_t i = 0; i < 16; ++i)
        codes[16 * j + i] =
            static_cast<std::uint8_t>(detail::kquant::clamp(ggml_nearest_int(x[16 * j + i] / d), -32, 31) + 32);
    }
    pack_codes(codes, out);
    return out;
  }

  // ql and qh from 256 codes in 0..63 (the SIMD kernels share it).
  static constexpr void pack_codes(const std::array<std::uint8_t, 256>& c, block& out) noexcept {
    for (std::size_t h = 0; h < 2; ++h)
      for (std::size_t l = 0; l < 32; ++l) {
        const std::uint8_t* q = c.data() + 128 * h + l;
        out.ql[64 * h + l] = static_cast<std::uint8_t>((q[0] & 0xF) | ((q[64] & 0xF) << 4));
        out.ql[64 * h + l + 32] = static_cast<std::uint8_t>((q[32] & 0xF) | ((q[96] & 0xF) << 4));
        out.qh[32 * h + l] =
            static_cast<std::uint8_t>((q[0] >> 4) | ((q[32] >> 4) << 2) | ((q[64] >> 4) << 4) | ((q[96] >> 4) << 6));
      }
  }

  static constexpr void dequantize_block(const block& b, std::span<float, 256> y) noexcept {
    const float d = detail::fp16_bits_to_float(b.d);
    for (std::size_t h = 0; h < 2; ++h)
      for (std::size_t l = 0; l < 32; ++l) {
        const std::uint8_t lo0 = b.ql[64 * h + l], lo1 = b.ql[64 * h + l + 32], hi = b.qh[32 * h + l];
        const int q[4] = {(lo0 & 0xF) | ((hi & 3) << 4), (lo1 & 0xF) | (((hi >> 2) & 3) << 4),
                          (lo0 >> 4) | (((hi >> 4) & 3) << 4), (lo1 >> 4) | (((hi >> 6) & 3) << 4)};
        for (std::size_t k = 0; k < 4; ++k) {
          const float dl = d * static_cast<float>(b.scales[8 * h + l / 16 + 2 * k]);
          y[128 * h + 32 * k + l] = dl * static_cast<float>(q[k] - 32);
        }
      }
  }
};

}  // namespace qmath::formats

#pragma once
// GGUF Q5_K: 5-bit codes with a 6-bit scale and a 6-bit min per 32 elements
// and two fp16 super-scales per 256 (5.5 bits per weight); the bulk of a
// Q5_K_M file.
//
// Layout (ggml src/ggml-common.h, block_q5_K): half d; half dmin;
// u8 scales[12] (as Q4_K); u8 qh[32]; u8 qs[128] (176 bytes). Per 64
// elements 32 bytes of qs as in Q4_K (low 4 bits), and for chunk c = 0..3 the
// fifth bits of elements 64c + l and 64c + l + 32 in bits 2c and 2c + 1 of qh[l].
// Dequantize (ggml src/ggml-quants.c, dequantize_row_q5_K):
//   y = (fp16(d) * sc) * q - fp16(dmin) * m   (both products exact in float)
// Quantize (quantize_row_q5_K_ref): detail::kquant::quantize_asymmetric with
// nmax 31 and make_qkx2_quants(32, 31, x, av_x + |x|, rmin -0.5, rdelta 0.1,
// nstep 15, use_mad false): ggml's bytes for every finite input. NaN or Inf
// throws qmath::error.

#include <cstdint>
#include <span>

#include "qmath/formats/detail/kquant_common.hpp"
#include "qmath/formats/table.hpp"

namespace qmath::formats {

struct q5_k {
  static constexpr const format_info& info = qmath::info(format_id::q5_k);
  struct block {
    std::uint16_t d;     // fp16 bits
    std::uint16_t dmin;  // fp16 bits
    std::uint8_t scales[12];
    std::uint8_t qh[32];
    std::uint8_t qs[128];
  };
  static_assert(sizeof(block) * 8 == info.block_bits);

  static constexpr block quantize_block(std::span<const float, 256> x) {
    QMATH_REQUIRE(detail::lowbit::first_non_finite(x) == x.size(), "qmath::formats::q5_k::quantize_block",
                  "the block holds NaN or Inf");
    return pack(detail::kquant::quantize_asymmetric(x, 31, -0.5f, 15));
  }

  static constexpr block pack(const detail::kquant::asymmetric_super_block& s) noexcept {
    block out{};
    out.d = s.d;
    out.dmin = s.dmin;
    for (std::size_t i = 0; i < 12; ++i) out.scales[i] = s.scales[i];
    for (std::size_t c = 0; c < 4; ++c)
      for (std::size_t l = 0; l < 32; ++l) {
        const unsigned lo = s.codes[64 * c + l], hi = s.codes[64 * c + l + 32];
        out.qs[32 * c + l] = static_cast<std::uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
        out.qh[l] = static_cast<std::uint8_t>(out.qh[l] | ((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
      }
    return out;
  }

  static constexpr void dequantize_block(const block& b, std::span<float, 256> y) noexcept {
    const float d = detail::fp16_bits_to_float(b.d);
    const float dmin = detail::fp16_bits_to_float(b.dmin);
    for (std::size_t c = 0; c < 4; ++c)
      for (std::size_t half = 0; half < 2; ++half) {
        const auto sm = detail::kquant::scale_min_k4(2 * c + half, b.scales);
        const float dl = d * static_cast<float>(sm.scale);
        const float ml = dmin * static_cast<float>(sm.min);
        for (std::size_t l = 0; l < 32; ++l) {
          const int low = half == 0 ? (b.qs[32 * c + l] & 0xF) : (b.qs[32 * c + l] >> 4);
          const int high = (b.qh[l] >> (2 * c + half)) & 1;
          y[64 * c + 32 * half + l] = dl * static_cast<float>(low + 16 * high) - ml;
        }
      }
  }
};

}  // namespace qmath::formats

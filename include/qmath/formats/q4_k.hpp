#pragma once
// GGUF Q4_K: 4-bit codes with a 6-bit scale and a 6-bit min per 32 elements
// and two fp16 super-scales per 256 (4.5 bits per weight); with Q6_K the bulk
// of a Q4_K_M file.
//
// Layout (ggml src/ggml-common.h, block_q4_K): half d; half dmin;
// u8 scales[12] (detail::kquant::pack_scale_min_k4); u8 qs[128] (144 bytes).
// Per 64 elements 32 bytes of qs: byte l holds element l (low nibble) and
// element l + 32 (high nibble).
// Dequantize (ggml src/ggml-quants.c, dequantize_row_q4_K):
//   y = (fp16(d) * sc) * q - fp16(dmin) * m
// Both products are exact in float (11 + 6 + 4 significant bits), so the one
// rounding is the subtraction, fused or not.
// Quantize (quantize_row_q4_K_ref): detail::kquant::quantize_asymmetric with
// nmax 15 and the search make_qkx2_quants(32, 15, x, av_x + |x|, rmin -1,
// rdelta 0.1, nstep 20, use_mad false): ggml's bytes for every finite input.
// NaN or Inf throws qmath::error.

#include <cstdint>
#include <span>

#include "qmath/formats/detail/kquant_common.hpp"
#include "qmath/formats/table.hpp"

namespace qmath::formats {

struct q4_k {
  static constexpr const format_info& info = qmath::info(format_id::q4_k);
  struct block {
    std::uint16_t d;     // fp16 bits
    std::uint16_t dmin;  // fp16 bits
    std::uint8_t scales[12];
    std::uint8_t qs[128];
  };
  static_assert(sizeof(block) * 8 == info.block_bits);

  static constexpr block quantize_block(std::span<const float, 256> x) {
    QMATH_REQUIRE(detail::lowbit::first_non_finite(x) == x.size(), "qmath::formats::q4_k::quantize_block",
                  "the block holds NaN or Inf");
    return pack(detail::kquant::quantize_asymmetric(x, 15, -1.f, 20));
  }

  // The bit packing of a quantized super-block (the SIMD kernels share it).
  static constexpr block pack(const detail::kquant::asymmetric_super_block& s) noexcept {
    block out{};
    out.d = s.d;
    out.dmin = s.dmin;
    for (std::size_t i = 0; i < 12; ++i) out.scales[i] = s.scales[i];
    for (std::size_t j = 0; j < 4; ++j)
      for (std::size_t l = 0; l < 32; ++l)
        out.qs[32 * j + l] = static_cast<std::uint8_t>(s.codes[64 * j + l] | (s.codes[64 * j + l + 32] << 4));
    return out;
  }

  static constexpr void dequantize_block(const block& b, std::span<float, 256> y) noexcept {
    const float d = detail::fp16_bits_to_float(b.d);
    const float dmin = detail::fp16_bits_to_float(b.dmin);
    for (std::size_t j = 0; j < 4; ++j)
      for (std::size_t half = 0; half < 2; ++half) {
        const auto sm = detail::kquant::scale_min_k4(2 * j + half, b.scales);
        const float dl = d * static_cast<float>(sm.scale);
        const float ml = dmin * static_cast<float>(sm.min);
        for (std::size_t l = 0; l < 32; ++l) {
          const int q = half == 0 ? (b.qs[32 * j + l] & 0xF) : (b.qs[32 * j + l] >> 4);
          y[64 * j + 32 * half + l] = dl * static_cast<float>(q) - ml;
        }
      }
  }
};

}  // namespace qmath::formats

#pragma once
// GGUF NVFP4 (ggml type 40): E2M1 values with an unsigned E4M3 scale per 16,
// four sub-blocks to a 64-element block (4.5 bits per weight).
//
// Layout (ggml src/ggml-common.h, block_nvfp4, QK_NVFP4 = 64,
// QK_NVFP4_SUB = 16): u8 d[4] (UE4M3 scales); u8 qs[32] (36 bytes). Sub-block
// s owns qs[8s .. 8s + 7]: byte j holds element 16s + j (low nibble) and
// 16s + 8 + j (high nibble). ggml keeps no per-tensor fp32 scale (NVIDIA's
// NVFP4 has one; a GGUF tensor of this type does not).
// Quantize (ggml src/ggml-quants.c, quantize_row_nvfp4_ref): per sub-block
// amax = max |x|, scale byte ggml_fp32_to_ue4m3(amax / 6) (ggml's rounding:
// half up, clamped to 448, see detail::fp4::ue4m3_from_float), each code the
// first of least |value * scale - x| against the stored scale.
// Dequantize (dequantize_row_nvfp4): y = kvalues_fp4[c] * ue4m3_to_fp32(d[s])
// (which is half the E4M3 value; bytes 0 and 0x7F give 0). ggml's bytes and
// floats for every input. NaN or Inf throws qmath::error.

#include <cstdint>
#include <span>

#include "qmath/formats/detail/fp4_common.hpp"
#include "qmath/formats/detail/gguf_common.hpp"
#include "qmath/formats/table.hpp"

namespace qmath::formats {

struct nvfp4 {
  static constexpr const format_info& info = qmath::info(format_id::nvfp4);
  struct block {
    std::uint8_t d[4];  // UE4M3
    std::uint8_t qs[32];
  };
  static_assert(sizeof(block) * 8 == info.block_bits);

  static constexpr block quantize_block(std::span<const float, 64> x) {
    QMATH_REQUIRE(detail::gguf::first_non_finite(x) == x.size(), "qmath::formats::nvfp4::quantize_block",
                  "the block holds NaN or Inf");
    block out{};
    for (std::size_t s = 0; s < 4; ++s) {
      const float* xb = x.data() + 16 * s;
      float amax = 0;
      for (std::size_t j = 0; j < 16; ++j)
        if (amax < detail::gguf::abs_value(xb[j])) amax = detail::gguf::abs_value(xb[j]);
      out.d[s] = detail::fp4::ue4m3_from_float(amax / 6.0f);
      const auto candidates = detail::fp4::scaled_values(detail::fp4::ue4m3_half_to_float(out.d[s]));
      for (std::size_t j = 0; j < 8; ++j)
        out.qs[8 * s + j] =
            static_cast<std::uint8_t>(detail::fp4::best_index(xb[j], candidates) | (detail::fp4::best_index(xb[j + 8], candidates) << 4));
    }
    return out;
  }

  static constexpr void dequantize_block(const block& b, std::span<float, 64> y) noexcept {
    for (std::size_t s = 0; s < 4; ++s) {
      const float d = detail::fp4::ue4m3_half_to_float(b.d[s]);
      for (std::size_t j = 0; j < 8; ++j) {
        y[16 * s + j] = detail::fp4::value(b.qs[8 * s + j] & 0xF) * d;
        y[16 * s + 8 + j] = detail::fp4::value(b.qs[8 * s + j] >> 4) * d;
      }
    }
  }
};

}  // namespace qmath::formats

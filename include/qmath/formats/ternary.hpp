#pragma once
// BitNet b1.58 absmean ternary weights, one scale per tensor, and their
// packing into GGUF TQ2_0 / TQ1_0 blocks so a BitNet model can be written as GGUF.
//
// Rule (microsoft/BitNet, utils/convert-hf-to-gguf-bitnet.py weight_quant and
// gpu/convert_checkpoint.py; the same in the BitNet paper's reference code):
//   s  = 1 / clamp(mean(|W|), min = 1e-5)
//   Wq = clamp(round(W * s), -1, 1)      torch.round: half to even
//   W ~ Wq / s                           the scale kept per tensor is 1/s
// All float32, as torch computes after weight.float(). The mean is summed in
// double and rounded once, so it is the exact mean rounded to float; torch's
// own float32 reduction can differ from it in the last bit on large tensors.
//
// Packing: TQ2_0 and TQ1_0 (formats/tq2_0.hpp, tq1_0.hpp) carry a per-block
// fp16 d and decode code c as (c - 1) * d; packing writes d = fp16(1/s) in
// every block and the trits as codes, so llama.cpp decodes Wq * fp16(1/s).
// (bitnet.cpp's own I2_S layout, format_id::bitnet_ternary, is not implemented.)

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include "qmath/formats/detail/lowbit_common.hpp"
#include "qmath/formats/tq1_0.hpp"
#include "qmath/formats/tq2_0.hpp"

namespace qmath::formats {

struct ternary_absmean {
  static constexpr const format_info& info = qmath::info(format_id::bitnet_ternary);

  // mean(|w|), summed exactly enough (double) and rounded to float.
  static constexpr float absmean(std::span<const float> w) {
    QMATH_REQUIRE(!w.empty(), "qmath::formats::ternary_absmean::absmean", "the tensor is empty");
    const std::size_t bad = detail::lowbit::first_non_finite(w);
    if (bad != w.size())
      detail::precondition_failed("qmath::formats::ternary_absmean", "weight ", bad, " is not finite (", w[bad], ")");
    double sum = 0;
    for (const float v : w) sum += static_cast<double>(detail::lowbit::abs_value(v));
    return static_cast<float>(sum / static_cast<double>(w.size()));
  }

  // Writes Wq to `trits` and returns the per-tensor scale 1/s.
  static constexpr float quantize(std::span<const float> w, std::span<std::int8_t> trits) {
    QMATH_REQUIRE(trits.size() == w.size(), "qmath::formats::ternary_absmean::quantize", "trits has ", trits.size(),
                  " elements for ", w.size(), " weights");
    const float mean = absmean(w);
    const float s = 1.0f / (mean > 1e-5f ? mean : 1e-5f);
    for (std::size_t i = 0; i < w.size(); ++i) {
      const float v = w[i] * s;
      // clamp before rounding (equal to after) keeps the rounding in its exact range
      trits[i] = static_cast<std::int8_t>(detail::lowbit::round_half_even(v > -1.f ? (v < 1.f ? v : 1.f) : -1.f));
    }
    return 1.0f / s;
  }

  static constexpr void dequantize(std::span<const std::int8_t> trits, float scale, std::span<float> w) {
    QMATH_REQUIRE(trits.size() == w.size(), "qmath::formats::ternary_absmean::dequantize", "sizes differ: ",
                  trits.size(), " trits, ", w.size(), " outputs");
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(trits[i]) * scale;
  }

  // The TQ2_0 block of 256 trits with d = fp16(scale).
  static constexpr tq2_0::block tq2_0_block(std::span<const std::int8_t, 256> t, float scale) {
    tq2_0::block out{};
    out.d = detail::fp16_bits_from_float(scale);
    for (std::size_t i = 0; i < 256; ++i) {
      QMATH_REQUIRE(t[i] >= -1 && t[i] <= 1, "qmath::formats::ternary_absmean", "trit ", i, " is ", int{t[i]});
      const std::size_t half = i / 128, n = (i % 128) / 32, m = i % 32;
      out.qs[32 * half + m] = static_cast<std::uint8_t>(out.qs[32 * half + m] | ((t[i] + 1) << (2 * n)));
    }
    return out;
  }

  // The TQ1_0 block of 256 trits with d = fp16(scale).
  static constexpr tq1_0::block tq1_0_block(std::span<const std::int8_t, 256> t, float scale) {
    std::uint8_t c[256]{};
    for (std::size_t i = 0; i < 256; ++i) {
      QMATH_REQUIRE(t[i] >= -1 && t[i] <= 1, "qmath::formats::ternary_absmean", "trit ", i, " is ", int{t[i]});
      c[i] = static_cast<std::uint8_t>(t[i] + 1);
    }
    tq1_0::block out{};
    out.d = detail::fp16_bits_from_float(scale);
    for (unsigned m = 0; m < 32; ++m) {
      const std::uint8_t trits[5] = {c[m], c[m + 32], c[m + 64], c[m + 96], c[m + 128]};
      out.qs[m] = tq1_0::pack_trits(trits, 5);
    }
    for (unsigned m = 0; m < 16; ++m) {
      const std::uint8_t trits[5] = {c[160 + m], c[176 + m], c[192 + m], c[208 + m], c[224 + m]};
      out.qs[32 + m] = tq1_0::pack_trits(trits, 5);
    }
    for (unsigned j = 0; j < 4; ++j) {
      const std::uint8_t trits[4] = {c[240 + j], c[244 + j], c[248 + j], c[252 + j]};
      out.qh[j] = tq1_0::pack_trits(trits, 4);
    }
    return out;
  }

  // Packs a whole tensor of trits (a multiple of 256) into TQ2_0 or TQ1_0 bytes.
  template <class Format>
  static void pack(std::span<const std::int8_t> trits, float scale, std::span<std::byte> out) {
    static_assert(std::is_same_v<Format, tq2_0> || std::is_same_v<Format, tq1_0>,
                  "qmath::formats::ternary_absmean::pack: Format is tq2_0 or tq1_0");
    QMATH_REQUIRE(trits.size() % 256 == 0, "qmath::formats::ternary_absmean::pack", trits.size(),
                  " trits are not a whole number of 256-element blocks");
    const std::size_t blocks = trits.size() / 256;
    QMATH_REQUIRE(out.size() == blocks * sizeof(typename Format::block), "qmath::formats::ternary_absmean::pack",
                  Format::info.name, " storage for ", trits.size(), " trits is ", blocks * sizeof(typename Format::block),
                  " bytes, the byte span has ", out.size());
    for (std::size_t b = 0; b < blocks; ++b) {
      const auto t = trits.subspan(b * 256).template first<256>();
      typename Format::block block{};
      if constexpr (std::is_same_v<Format, tq2_0>)
        block = tq2_0_block(t, scale);
      else
        block = tq1_0_block(t, scale);
      std::memcpy(out.data() + b * sizeof(block), &block, sizeof(block));
    }
  }
};

}  // namespace qmath::formats

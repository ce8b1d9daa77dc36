#pragma once
// GPTQ and AWQ group-wise asymmetric INT4: packing, round-to-nearest
// quantization and the constexpr scalar reference. No xsimd here; the SIMD
// dequantizer and the array API are in qmath/kernels/group_int4.hpp.
//
// The weight matrix W is [out_features, in_features], row-major, like torch's
// nn.Linear.weight. Groups run along the input dimension: element (o, i) is in
// group g = i / group_size, with one scale s[g][o] and one zero point z[g][o].
// Dequantize: w = (q - z) * s, with s read from fp16.
//
// GPTQ (AutoGPTQ qlinear_cuda_old / qlinear_exllama pack(), "gptq" v1 checkpoints):
//   qweight int32 [in/8, out]    word (r, o) bits 4j..4j+3 = q(o, 8r + j), j = 0..7 (LSB first,
//                                packed along the INPUT dimension)
//   qzeros  int32 [in/G, out/8]  word (g, c) bits 4j..4j+3 = z(g, 8c + j) - 1 (v1 stores zero - 1,
//                                `zeros -= 1` in pack(); readers add 1 back, qlinear_cuda_old)
//   scales  fp16  [in/G, out]
//   gptq_v2 (transformers checkpoint_format="gptq_v2") stores z itself.
// AWQ (AutoAWQ awq/modules/linear/gemm.py WQLinear_GEMM.from_linear,
// awq/utils/packing_utils.py AWQ_ORDER):
//   qweight int32 [in, out/8]    word (i, c) bits 4k..4k+3 = q(8c + order[k], i),
//                                order = [0, 2, 4, 6, 1, 3, 5, 7] (packed along the OUTPUT dimension)
//   qzeros  int32 [in/G, out/8]  the same interleaved order for z(g, 8c + order[k])
//   scales  fp16  [in/G, out]
//
// Quantization (round to nearest even, torch.round), per group and output row:
//   AWQ (awq/quantize/quantizer.py pseudo_quantize_tensor, zero_point=True):
//     s = max(max - min, 1e-5) / 15, z = clamp(-round(min / s), 0, 15),
//     q = clamp(round(w / s) + z, 0, 15)
//   GPTQ without the Hessian solver (auto_gptq/quantization/quantizer.py find_params,
//   sym=False, then quantize()): xmin = min(min, 0), xmax = max(max, 0), both 0 ->
//     -1 and +1; s = (xmax - xmin) / 15, z = round(-xmin / s), q = clamp(round(w / s) + z, 0, 15).
//   GPTQ's error-compensating solver (which reorders and updates the remaining
//   weights column by column with the inverse Hessian) is out of scope: qmath
//   reads and writes the packing, and quantizes by plain rounding.
// qmath's choices: the codes and zero points are computed with the fp32 scale
// and the scale is then stored as fp16 (round to nearest even), as the
// reference quantizers do before packing; v1 cannot store a zero point of 0
// (readers would decode 16), so GPTQ v1 quantization uses max(z, 1); NaN or
// infinity in W is an error.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "qmath/detail/bits.hpp"
#include "qmath/detail/checked.hpp"
#include "qmath/error.hpp"
#include "qmath/formats/bnb_int8.hpp"
#include "qmath/formats/format_info.hpp"
#include "qmath/formats/table.hpp"
#include "qmath/fp/fp16.hpp"

namespace qmath {

enum class int4_packing : std::uint8_t { gptq, gptq_v2, awq };

namespace group_int4 {

// Nibble k of an AWQ word holds output column 8c + awq_order[k]; output column
// 8c + m sits in nibble awq_reverse_order[m] (packing_utils.py AWQ_ORDER, AWQ_REVERSE_ORDER).
inline constexpr std::array<std::uint32_t, 8> awq_order{0, 2, 4, 6, 1, 3, 5, 7};
inline constexpr std::array<std::uint32_t, 8> awq_reverse_order{0, 4, 1, 5, 2, 6, 3, 7};

struct shape {
  std::size_t out_features;
  std::size_t in_features;
  std::size_t group_size;

  // The counts below are checked: a shape such as {2^61, 256, 32} must not
  // wrap to a small size that an empty span matches.
  constexpr std::size_t weights() const {
    return qmath::detail::checked_size(
        qmath::detail::checked_mul(out_features, in_features, "qmath::group_int4::shape", "out x in weights"),
        "qmath::group_int4::shape", "out x in weights");
  }
  constexpr std::size_t groups() const noexcept { return in_features / group_size; }
  constexpr std::size_t qweight_words() const { return weights() / 8; }
  // groups x out <= out x in / 32: neither wraps once weights() does not
  constexpr std::size_t qzeros_words() const { return scales_count() / 8; }
  constexpr std::size_t scales_count() const {
    static_cast<void>(weights());
    return groups() * out_features;
  }
};

constexpr void check_shape(const char* api, const shape& s) {
  QMATH_REQUIRE(s.group_size == 32 || s.group_size == 64 || s.group_size == 128, api, "group size ", s.group_size,
                " is not 32, 64 or 128");
  QMATH_REQUIRE(s.in_features > 0 && s.in_features % s.group_size == 0, api, "in_features ", s.in_features,
                " is not a positive multiple of the group size ", s.group_size);
  QMATH_REQUIRE(s.out_features > 0 && s.out_features % 8 == 0, api, "out_features ", s.out_features,
                " is not a positive multiple of 8");
  static_cast<void>(qmath::detail::checked_size(
      qmath::detail::checked_mul(s.out_features, s.in_features, api, "out_features x in_features"), api,
      "out_features x in_features"));
}

constexpr void check_sizes(const char* api, const shape& s, std::size_t weights, std::size_t qweight,
                           std::size_t qzeros, std::size_t scales) {
  check_shape(api, s);
  QMATH_REQUIRE(weights == s.weights(), api, "W has ", weights, " values, ", s.out_features, " x ",
                s.in_features, " expected");
  QMATH_REQUIRE(qweight == s.qweight_words(), api, "qweight has ", qweight, " words, ", s.qweight_words(),
                " expected");
  QMATH_REQUIRE(qzeros == s.qzeros_words(), api, "qzeros has ", qzeros, " words, ", s.qzeros_words(), " expected");
  QMATH_REQUIRE(scales == s.scales_count(), api, "scales has ", scales, " values, ", s.scales_count(), " expected");
}

// Word index and bit shift of q(o, i) in qweight.
struct position {
  std::size_t word;
  std::uint32_t shift;
};
constexpr position code_position(int4_packing p, const shape& s, std::size_t o, std::size_t i) noexcept {
  if (p == int4_packing::awq) return {i * (s.out_features / 8) + o / 8, 4 * awq_reverse_order[o % 8]};
  return {(i / 8) * s.out_features + o, static_cast<std::uint32_t>(4 * (i % 8))};
}
// Word index and bit shift of z(g, o) in qzeros.
constexpr position zero_position(int4_packing p, const shape& s, std::size_t g, std::size_t o) noexcept {
  const std::uint32_t shift = p == int4_packing::awq ? 4 * awq_reverse_order[o % 8] : static_cast<std::uint32_t>(4 * (o % 8));
  return {g * (s.out_features / 8) + o / 8, shift};
}

// Stored nibble <-> zero point: v1 stores z - 1 (mod 16) and reads nibble + 1.
constexpr std::uint32_t zero_to_nibble(int4_packing p, int zero) noexcept {
  return static_cast<std::uint32_t>(p == int4_packing::gptq ? zero - 1 : zero) & 15u;
}
constexpr int nibble_to_zero(int4_packing p, std::uint32_t nibble) noexcept {
  return p == int4_packing::gptq ? static_cast<int>(nibble) + 1 : static_cast<int>(nibble);
}

struct group_params {
  float scale;
  int zero;
};

// AWQ pseudo_quantize_tensor (zero_point=True, w_bit=4).
constexpr group_params awq_params(float min, float max) noexcept {
  const float range = max - min;
  const float scale = (range > 1e-5f ? range : 1e-5f) / 15.0f;
  const float zero = -bnb::round_half_even(min / scale);
  return {scale, static_cast<int>(std::clamp(zero, 0.0f, 15.0f))};
}

// GPTQ Quantizer.find_params (sym=False, maxq=15), without the MSE search.
constexpr group_params gptq_params(float min, float max) noexcept {
  float xmin = min < 0.0f ? min : 0.0f;
  float xmax = max > 0.0f ? max : 0.0f;
  if (xmin == 0.0f && xmax == 0.0f) {
    xmin = -1.0f;
    xmax = 1.0f;
  }
  const float scale = (xmax - xmin) / 15.0f;
  // A group of subnormals only has a range whose fifteenth underflows to 0
  // (GPTQ then divides by zero); its fp16 scale is 0 either way, so every
  // code is the zero point and the group dequantizes to zeros.
  if (scale == 0.0f) return {scale, static_cast<int>(bnb::round_half_even(15.0f * -xmin / (xmax - xmin)))};
  return {scale, static_cast<int>(std::clamp(bnb::round_half_even(-xmin / scale), 0.0f, 15.0f))};
}

constexpr std::uint32_t quantize_value(float w, const group_params& p) noexcept {
  if (p.scale == 0.0f) return static_cast<std::uint32_t>(p.zero);
  const float q = bnb::round_half_even(w / p.scale) + static_cast<float>(p.zero);
  return static_cast<std::uint32_t>(std::clamp(q, 0.0f, 15.0f));
}

constexpr float dequantize_value(std::uint32_t q, int zero, float scale) noexcept {
  return static_cast<float>(static_cast<int>(q) - zero) * scale;
}

constexpr group_params params_for(int4_packing p, float min, float max) noexcept {
  if (p == int4_packing::awq) return awq_params(min, max);
  group_params g = gptq_params(min, max);
  if (p == int4_packing::gptq && g.zero < 1) g.zero = 1;  // v1 cannot store 0
  return g;
}

constexpr void quantize_reference(std::span<const float> w, const shape& s, int4_packing p,
                                  std::span<std::int32_t> qweight, std::span<std::int32_t> qzeros,
                                  std::span<fp16> scales) {
  check_sizes("qmath::group_int4::quantize", s, w.size(), qweight.size(), qzeros.size(), scales.size());
  std::fill(qweight.begin(), qweight.end(), 0);
  std::fill(qzeros.begin(), qzeros.end(), 0);
  for (std::size_t o = 0; o < s.out_features; ++o) {
    for (std::size_t g = 0; g < s.groups(); ++g) {
      const float* values = w.data() + o * s.in_features + g * s.group_size;
      float min = values[0], max = values[0];
      for (std::size_t k = 0; k < s.group_size; ++k) {
        const float v = values[k];
        QMATH_REQUIRE((qmath::detail::float_bits(v) & 0x7FFFFFFFu) < 0x7F800000u, "qmath::group_int4::quantize",
                      "NaN or infinity at row ", o, " column ", g * s.group_size + k);
        min = std::min(min, v);
        max = std::max(max, v);
      }
      const group_params params = params_for(p, min, max);
      scales[g * s.out_features + o] = fp16::from_bits(qmath::detail::fp16_bits_from_float(params.scale));
      const position zp = zero_position(p, s, g, o);
      qzeros[zp.word] = static_cast<std::int32_t>(static_cast<std::uint32_t>(qzeros[zp.word]) |
                                                  zero_to_nibble(p, params.zero) << zp.shift);
      for (std::size_t k = 0; k < s.group_size; ++k) {
        const position cp = code_position(p, s, o, g * s.group_size + k);
        qweight[cp.word] = static_cast<std::int32_t>(static_cast<std::uint32_t>(qweight[cp.word]) |
                                                     quantize_value(values[k], params) << cp.shift);
      }
    }
  }
}

constexpr std::uint32_t code_at(std::span<const std::int32_t> qweight, int4_packing p, const shape& s, std::size_t o,
                                std::size_t i) noexcept {
  const position cp = code_position(p, s, o, i);
  return (static_cast<std::uint32_t>(qweight[cp.word]) >> cp.shift) & 15u;
}

constexpr int zero_at(std::span<const std::int32_t> qzeros, int4_packing p, const shape& s, std::size_t g,
                      std::size_t o) noexcept {
  const position zp = zero_position(p, s, g, o);
  return nibble_to_zero(p, (static_cast<std::uint32_t>(qzeros[zp.word]) >> zp.shift) & 15u);
}

constexpr void dequantize_reference(std::span<const std::int32_t> qweight, std::span<const std::int32_t> qzeros,
                                    std::span<const fp16> scales, const shape& s, int4_packing p, std::span<float> w) {
  check_sizes("qmath::group_int4::dequantize", s, w.size(), qweight.size(), qzeros.size(), scales.size());
  for (std::size_t o = 0; o < s.out_features; ++o)
    for (std::size_t i = 0; i < s.in_features; ++i) {
      const std::size_t g = i / s.group_size;
      const float scale = qmath::detail::fp16_bits_to_float(scales[g * s.out_features + o].bits);
      w[o * s.in_features + i] = dequantize_value(code_at(qweight, p, s, o, i), zero_at(qzeros, p, s, g, o), scale);
    }
}

}  // namespace group_int4

namespace formats {

// W [out, in] row-major with rows of InFeatures values (out = n / InFeatures,
// a multiple of 8) in one qmath buffer of storage_bytes(info, n) bytes,
// little-endian: qweight (int32, n/8 words), qzeros (int32, groups * out/8
// words), scales (fp16, groups * out), each in the layout described above.
template <format_id Id, std::uint32_t InFeatures, std::uint32_t GroupSize, int4_packing Packing>
struct group_int4_format {
  static_assert(GroupSize == 32 || GroupSize == 64 || GroupSize == 128,
                "qmath::formats::group_int4: group size must be 32, 64 or 128");
  static_assert(InFeatures > 0 && InFeatures % GroupSize == 0,
                "qmath::formats::group_int4: in_features must be a multiple of the group size");
  static constexpr format_info info = group_int4_info(Id, GroupSize);
  static constexpr std::uint32_t in_features = InFeatures;
  static constexpr std::uint32_t group_size = GroupSize;
  static constexpr int4_packing packing = Packing;
};

template <std::uint32_t InFeatures, std::uint32_t GroupSize = 128>
using gptq_int4 = group_int4_format<format_id::gptq_int4, InFeatures, GroupSize, int4_packing::gptq>;
template <std::uint32_t InFeatures, std::uint32_t GroupSize = 128>
using gptq_v2_int4 = group_int4_format<format_id::gptq_int4, InFeatures, GroupSize, int4_packing::gptq_v2>;
template <std::uint32_t InFeatures, std::uint32_t GroupSize = 128>
using awq_int4 = group_int4_format<format_id::awq_int4, InFeatures, GroupSize, int4_packing::awq>;

}  // namespace formats
}  // namespace qmath

#pragma once
// FP8 checkpoints: float8_e4m3fn weights with float32 scales over a grid of
// blocks, as transformers reads them. One rule covers the three layouts:
//   block-wise  weight_scale_inv [ceil(rows/128), ceil(cols/128)]   DeepSeek-V3/R1,
//               Qwen3-FP8 (quantization_config.weight_block_size = [128, 128])
//   per-channel weight_scale [rows, 1]        FBGEMM fp8, compressed-tensors "channel"
//   per-tensor  weight_scale [1] (or [1, 1])  compressed-tensors "tensor"
// Each is a grid of block_rows x block_cols blocks (128 x 128, 1 x cols,
// rows x cols); the scale multiplies on dequantization in every layout (the
// "_inv" of DeepSeek's name says it is the inverse of the quantizing scale).
//
// Dequantize (transformers integrations/finegrained_fp8.py Fp8Dequantize
// _dequantize_one, and _dequantize_fp8_weight for a grid with partial edge
// blocks; DeepSeek-V3 inference/kernel.py weight_dequant is the same product):
//   y[i][j] = fp32(e4m3(q[i][j]) * scale[i / block_rows][j / block_cols])
// and to bf16 that float rounded to nearest even (`(q * s).to(bfloat16)`).
// A NaN code (S.1111.111) dequantizes to NaN, a NaN or infinite scale
// propagates, as in torch (bf16 NaN: 0xFFFF, see dequantize_bf16).
//
// Quantize (Fp8Quantize._quantize_one, the rule transformers saves with):
// per block, max_abs = max |x|; s = 448 / max_abs (1 for an all-zero block),
// which torch computes as fp32(reciprocal(max_abs) * 448) (a Python float over a
// tensor is the tensor's __rtruediv__); scale_inv = 1 / s, again reciprocal(s);
// q = e4m3(clamp(x * s, -448, 448)), rounded to nearest even. A block whose
// max_abs is below 2.9e-39 (all subnormal) makes reciprocal(max_abs) infinite:
// torch then stores scale_inv 0, codes 0 * inf = NaN as 0xFF (x86's NaN has the
// sign bit set) and every other value as +-448; qmath writes those bytes too,
// so its files equal transformers'. transformers quantizes only shapes the
// block divides; qmath applies the same rule to a partial edge block (as
// quantizing the zero-padded matrix would: padding changes no max).
// qmath's choice: NaN or infinity in the input is an error naming the block
// (torch would write NaN codes and a NaN or infinite scale); finite input of any
// size, up to +-FLT_MAX, quantizes as torch does.
//
// No xsimd here: the loops are plain and the compiler vectorizes them.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>

#include "qmath/detail/bits.hpp"
#include "qmath/detail/checked.hpp"
#include "qmath/error.hpp"
#include "qmath/fp/bf16.hpp"
#include "qmath/fp/fp8.hpp"

namespace qmath::fp8_checkpoint {

inline constexpr float e4m3_max = 448.0f;  // torch.finfo(torch.float8_e4m3fn).max

// A rows x cols weight and the block every scale covers.
struct scale_grid {
  std::size_t rows = 0, cols = 0;
  std::size_t block_rows = 128, block_cols = 128;

  static constexpr scale_grid block_wise(std::size_t rows, std::size_t cols, std::size_t block_rows = 128,
                                         std::size_t block_cols = 128) {
    return {rows, cols, block_rows, block_cols};
  }
  static constexpr scale_grid per_channel(std::size_t rows, std::size_t cols) { return {rows, cols, 1, cols}; }
  static constexpr scale_grid per_tensor(std::size_t rows, std::size_t cols) { return {rows, cols, rows, cols}; }

  constexpr std::size_t scale_rows() const noexcept { return rows / block_rows + (rows % block_rows != 0); }
  constexpr std::size_t scale_cols() const noexcept { return cols / block_cols + (cols % block_cols != 0); }
};

namespace detail {

// Sizes checked with overflow checks; returns rows x cols.
constexpr std::size_t check_sizes(const char* api, const scale_grid& g, std::size_t values, std::size_t codes,
                                  std::size_t scales) {
  QMATH_REQUIRE(g.rows > 0 && g.cols > 0, api, "a ", g.rows, " x ", g.cols, " weight has no values");
  QMATH_REQUIRE(g.block_rows > 0 && g.block_cols > 0, api, "a block of ", g.block_rows, " x ", g.block_cols,
                " is empty");
  const std::size_t n =
      qmath::detail::checked_size(qmath::detail::checked_mul(g.rows, g.cols, api, "rows x cols"), api, "rows x cols");
  const std::size_t grid = qmath::detail::checked_size(
      qmath::detail::checked_mul(g.scale_rows(), g.scale_cols(), api, "the scale grid"), api, "the scale grid");
  QMATH_REQUIRE(values == n, api, "a ", g.rows, " x ", g.cols, " weight has ", n, " values, got ", values);
  QMATH_REQUIRE(codes == n, api, "a ", g.rows, " x ", g.cols, " weight needs ", n, " fp8 codes, got ", codes);
  QMATH_REQUIRE(scales == grid, api, "blocks of ", g.block_rows, " x ", g.block_cols, " need a ", g.scale_rows(),
                " x ", g.scale_cols(), " scale grid (", grid, " floats), got ", scales);
  return n;
}

constexpr float product(float a, float b) noexcept { return qmath::detail::no_contract(a * b); }

// code x scale with the NaN bits torch writes on x86, whatever the compiler
// or machine: a NaN scale wins over a NaN code (torch multiplies
// vmulps(scale, code), and x86 returns the first NaN operand, quieted), a NaN
// code comes out quieted, and 0 x infinity is x86's default NaN (0xFFC00000;
// AArch64's would be 0x7FC00000). The order of the operands is otherwise the
// compiler's to choose, so it is not left to it.
constexpr float dequantized(float code, float scale) noexcept {
  constexpr std::uint32_t quiet = 0x00400000u;
  if (scale != scale) return std::bit_cast<float>(std::bit_cast<std::uint32_t>(scale) | quiet);
  if (code != code) return std::bit_cast<float>(std::bit_cast<std::uint32_t>(code) | quiet);
  const float y = product(code, scale);
  return y != y ? std::bit_cast<float>(0xFFC00000u) : y;
}

// 1 / x rounds to infinity in float for x <= 1 / (2^128 - 2^103), about
// 2.938736e-39: every float up to bits 0x00200000 (2^-128) has an infinite reciprocal.
inline constexpr std::uint32_t last_bits_with_infinite_reciprocal = 0x00200000u;

}  // namespace detail

// q: rows x cols e4m3 codes, row-major; scale_inv: the scale grid, row-major.
constexpr void quantize(std::span<const float> w, const scale_grid& g, std::span<std::uint8_t> q,
                        std::span<float> scale_inv) {
  constexpr const char* api = "qmath::fp8_checkpoint::quantize";
  detail::check_sizes(api, g, w.size(), q.size(), scale_inv.size());
  for (std::size_t br = 0; br < g.scale_rows(); ++br) {
    const std::size_t r0 = br * g.block_rows, r1 = r0 + g.block_rows < g.rows ? r0 + g.block_rows : g.rows;
    for (std::size_t bc = 0; bc < g.scale_cols(); ++bc) {
      const std::size_t c0 = bc * g.block_cols, c1 = c0 + g.block_cols < g.cols ? c0 + g.block_cols : g.cols;
      std::uint32_t max_bits = 0;  // |x| orders like its bits
      for (std::size_t r = r0; r < r1; ++r)
        for (std::size_t c = c0; c < c1; ++c) {
          const std::uint32_t bits = qmath::detail::float_bits(w[r * g.cols + c]) & 0x7FFFFFFFu;
          max_bits = bits > max_bits ? bits : max_bits;
        }
      QMATH_REQUIRE(max_bits < 0x7F800000u, api, "NaN or infinity in block (", br, ", ", bc, ")");
      const float max_abs = qmath::detail::float_from_bits(max_bits);
      if (max_bits != 0 && max_bits <= detail::last_bits_with_infinite_reciprocal) {  // reciprocal(max_abs) = inf
        scale_inv[br * g.scale_cols() + bc] = 0.0f;
        for (std::size_t r = r0; r < r1; ++r)
          for (std::size_t c = c0; c < c1; ++c) {
            const float x = w[r * g.cols + c];
            q[r * g.cols + c] = x == 0.0f ? std::uint8_t{0xFF} : (x < 0.0f ? std::uint8_t{0xFE} : std::uint8_t{0x7E});
          }
        continue;
      }
      const float s = max_abs > 0.0f ? detail::product(1.0f / max_abs, e4m3_max) : 1.0f;
      scale_inv[br * g.scale_cols() + bc] = 1.0f / s;
      for (std::size_t r = r0; r < r1; ++r)
        for (std::size_t c = c0; c < c1; ++c) {
          float scaled = detail::product(w[r * g.cols + c], s);
          scaled = scaled < -e4m3_max ? -e4m3_max : (scaled > e4m3_max ? e4m3_max : scaled);
          q[r * g.cols + c] = qmath::detail::fp8_bits_from_float<fp8_e4m3>(scaled, fp8_overflow::saturate);
        }
    }
  }
}

// Calls put(index, fp32 value) for every element, in row-major order.
template <class Put>
constexpr void dequantize_each(const char* api, std::span<const std::uint8_t> q, std::span<const float> scale_inv,
                               const scale_grid& g, std::size_t out_size, Put put) {
  detail::check_sizes(api, g, out_size, q.size(), scale_inv.size());
  for (std::size_t r = 0; r < g.rows; ++r) {
    const float* scales = scale_inv.data() + (r / g.block_rows) * g.scale_cols();
    for (std::size_t c = 0; c < g.cols; ++c)
      put(r * g.cols + c,
          detail::dequantized(qmath::detail::fp8_e4m3_bits_to_float(q[r * g.cols + c]), scales[c / g.block_cols]));
  }
}

constexpr void dequantize(std::span<const std::uint8_t> q, std::span<const float> scale_inv, const scale_grid& g,
                          std::span<float> out) {
  dequantize_each("qmath::fp8_checkpoint::dequantize", q, scale_inv, g, out.size(),
                  [&](std::size_t i, float y) { out[i] = y; });
}

// bf16 bits: the float product rounded to nearest even. A NaN is written as
// 0xFFFF, as torch's CPU conversion of a float32 tensor to bfloat16 writes
// every NaN (checked by the golden files; qmath's own bf16 conversion keeps
// the NaN's sign and payload instead).
inline constexpr std::uint16_t torch_cpu_bf16_nan = 0xFFFF;

constexpr void dequantize_bf16(std::span<const std::uint8_t> q, std::span<const float> scale_inv, const scale_grid& g,
                               std::span<std::uint16_t> out) {
  dequantize_each("qmath::fp8_checkpoint::dequantize_bf16", q, scale_inv, g, out.size(), [&](std::size_t i, float y) {
    out[i] = y != y ? torch_cpu_bf16_nan : qmath::detail::bf16_bits_from_float(y);
  });
}

}  // namespace qmath::fp8_checkpoint

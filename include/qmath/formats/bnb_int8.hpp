#pragma once
// bitsandbytes LLM.int8 vector-wise (row-wise) INT8: the rule, the constexpr
// scalar reference and the descriptor. No xsimd here; the array API with SIMD
// kernels is in qmath/kernels/bnb_int8.hpp.
//
// A is rows x cols, row-major. Two quantizers (bnb_backend):
//  * cuda (the default; what load_in_8bit on a GPU writes, and so the 8-bit
//    checkpoints people download): csrc/cuda/int8.cu kInt8VectorQuant on the
//    fp16 weights: row_stats = max |a|; q = __float2int_rn(a * (127 / row_stats)),
//    round half to even. The GPU divides with __fdividef (within 2 ulp); qmath
//    takes the IEEE quotient, so a code can differ from a GPU's only where
//    a * 127 / row_stats lies within 2 ulp of a .5 tie.
//  * cpu: backends/default/ops.py int8_vectorwise_quant, what bitsandbytes 0.50
//    runs on a CPU: `127.0 / row_stats` is torch's reciprocal times 127, so the
//    scale is fp32(fp32(1 / row_stats) * 127), which differs from 127 / row_stats
//    by an ulp for a quarter of all row_stats; codes at exact .5 ties then differ
//    by 1. A row whose scale overflows to inf (row_stats below ~3.7e-37) codes
//    as all zeros, which is what torch's int8 conversion of inf and NaN gives on
//    x86-64 (checked against bitsandbytes by the golden files).
// Both: threshold > 0 makes an element with |a| >= threshold an outlier: it is
//   left out of the row absmax, and every element of a column holding one (an
//   outlier column, returned ascending) is written as 0.
// Dequantize (bitsandbytes _ops.py int8_vectorwise_dequant):
//   y = fp32(fp32(q * row_stats[r]) * 7.874015718698502e-3f), the constant being
//   fp32(1/127) (both round to 0x3C010204; tests check it).
// qmath's choices: a row whose row_stats is 0 (all zero, or only outliers) codes
// as all zeros (as both backends end up doing with 0 * inf = NaN); under the
// cuda rule a row_stats so small that 127/row_stats overflows is quantized in
// double (the GPU flushes it to zero and writes garbage); NaN or infinity in A
// is an error.

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "qmath/detail/bits.hpp"
#include "qmath/detail/checked.hpp"
#include "qmath/error.hpp"
#include "qmath/formats/bnb_backend.hpp"
#include "qmath/formats/format_info.hpp"
#include "qmath/formats/table.hpp"

namespace qmath {
namespace bnb {

inline constexpr float int8_dequant_factor = 7.874015718698502e-3f;  // _ops.py int8_vectorwise_dequant

namespace detail {
// a * b rounded to float before its consumer sees it (see qmath::detail::no_contract).
constexpr float rounded_product(float a, float b) noexcept { return qmath::detail::no_contract(a * b); }
}  // namespace detail

// Round half to even for |x| well inside the int32 range (torch.round).
constexpr float round_half_even(float x) noexcept {
  const float magnitude = x < 0.0f ? -x : x;
  if (!(magnitude < 8388608.0f)) return x;  // 2^23: already an integer
  const float shifted = magnitude + 8388608.0f;  // the add rounds to nearest even
  const float rounded = shifted - 8388608.0f;
  return x < 0.0f ? -rounded : rounded;
}

// An int8 from a rounded value, saturated to [-128, 127]. The torch rule never
// leaves that range for a kept element (|a| <= row_stat); an outlier (|a| >=
// threshold, left out of row_stat) can be far outside it, and a plain cast of
// such a float is undefined. Outlier columns are zeroed afterwards anyway.
constexpr std::int8_t saturate_int8(float rounded) noexcept {
  if (!(rounded > -128.0f)) return -128;  // NaN cannot reach here (rejected before)
  if (rounded > 127.0f) return 127;
  return static_cast<std::int8_t>(rounded);
}

constexpr std::int8_t quantize_int8_value(float a, float scale) noexcept {
  return saturate_int8(round_half_even(detail::rounded_product(a, scale)));
}

// How one row is coded: scaled by `scale` (the SIMD kernels' case), every code
// 0, or (cuda, a tiny row_stat) in double.
enum class int8_row_mode : std::uint8_t { scaled, zero, in_double };
struct int8_row_rule {
  int8_row_mode mode;
  float scale;
};

// x / row_stat would round to infinity in float (x = 1 or 127): decided in
// double, where the quotient is finite, so no float division ever overflows
// (not even in a constant expression). 2^128 - 2^103 is where rounding to
// float reaches infinity.
constexpr bool float_quotient_overflows(double x, float row_stat) noexcept {
  return x / static_cast<double>(row_stat) >= 340282356779733661637539395458142568448.0;
}

constexpr int8_row_rule int8_rule(float row_stat, bnb_backend backend = bnb_backend::cuda) noexcept {
  if (row_stat == 0.0f) return {int8_row_mode::zero, 0.0f};
  if (backend == bnb_backend::cpu) {
    if (float_quotient_overflows(1.0, row_stat)) return {int8_row_mode::zero, 0.0f};
    const double scale = static_cast<double>(1.0f / row_stat) * 127.0;  // exact: 24 x 7 bits
    if (scale >= 340282356779733661637539395458142568448.0) return {int8_row_mode::zero, 0.0f};
    return {int8_row_mode::scaled, detail::rounded_product(1.0f / row_stat, 127.0f)};
  }
  // A row_stat below 127 / FLT_MAX (about 3.7e-37) makes 127 / row_stat overflow;
  // such a row is quantized in double instead: q = round(a * 127 / row_stat).
  if (float_quotient_overflows(127.0, row_stat)) return {int8_row_mode::in_double, 0.0f};
  return {int8_row_mode::scaled, 127.0f / row_stat};
}

constexpr std::int8_t quantize_int8_tiny_row(float a, float row_stat) noexcept {
  const double q = static_cast<double>(a) * 127.0 / static_cast<double>(row_stat);
  const double magnitude = q < 0.0 ? -q : q;
  const double rounded = magnitude < 4503599627370496.0 ? (magnitude + 4503599627370496.0) - 4503599627370496.0
                                                        : magnitude;  // 2^52: round half even
  const double clamped = rounded > 128.0 ? 128.0 : rounded;  // an outlier: saturated, then zeroed
  return saturate_int8(static_cast<float>(q < 0.0 ? -clamped : clamped));
}

constexpr float dequantize_int8_value(std::int8_t q, float row_stat) noexcept {
  return static_cast<float>(q) * row_stat * int8_dequant_factor;  // two products, nothing to fuse
}

// rows x cols, checked: a product past 2^64 is an error naming `api`, not a
// count that wraps to something small that an empty span would then match.
constexpr std::size_t int8_matrix_size(const char* api, std::size_t rows, std::size_t cols) {
  QMATH_REQUIRE(cols > 0, api, "a row must have at least one column");
  return qmath::detail::checked_size(qmath::detail::checked_mul(rows, cols, api, "rows x cols"), api, "rows x cols");
}

constexpr void check_int8_sizes(const char* api, std::size_t values, std::size_t rows, std::size_t cols,
                                std::size_t codes, std::size_t stats) {
  const std::size_t size = int8_matrix_size(api, rows, cols);
  QMATH_REQUIRE(values == size, api, "a ", rows, " x ", cols, " matrix has ", size, " values, got ", values);
  QMATH_REQUIRE(codes == size, api, "a ", rows, " x ", cols, " matrix needs ", size, " int8 codes, got ", codes);
  QMATH_REQUIRE(stats == rows, api, rows, " rows need ", rows, " row_stats, got ", stats);
}

// Outlier columns of a rows x cols matrix: columns with any |a| >= threshold.
// Also rejects NaN and infinity. `a` must hold exactly rows x cols values (so
// the column flags below never take more than a.size() bits; with no rows
// there are no outliers, whatever `cols` says).
constexpr std::vector<std::size_t> find_outlier_columns(std::span<const float> a, std::size_t rows, std::size_t cols,
                                                        float threshold,
                                                        const char* api = "qmath::bnb::find_outlier_columns") {
  QMATH_REQUIRE(threshold >= 0.0f && threshold <= 3.4028234663852886e38f, api,
                "threshold must be finite and >= 0, got ", threshold);
  const std::size_t size = int8_matrix_size(api, rows, cols);
  QMATH_REQUIRE(a.size() == size, api, "a ", rows, " x ", cols, " matrix has ", size, " values, got ", a.size());
  if (size == 0) return {};
  std::vector<bool> outlier(cols, false);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) {
      const float value = a[r * cols + c];
      const float magnitude = value < 0.0f ? -value : value;
      QMATH_REQUIRE(magnitude <= 3.4028234663852886e38f, api, "NaN or infinity at row ", r, " column ", c);
      if (threshold > 0.0f && magnitude >= threshold) outlier[c] = true;
    }
  std::vector<std::size_t> columns;
  for (std::size_t c = 0; c < cols; ++c)
    if (outlier[c]) columns.push_back(c);
  return columns;
}

constexpr std::vector<std::size_t> quantize_int8_rowwise_reference(std::span<const float> a, std::size_t rows,
                                                                   std::size_t cols, std::span<std::int8_t> q,
                                                                   std::span<float> row_stats, float threshold = 0.0f,
                                                                   bnb_backend backend = bnb_backend::cuda) {
  check_int8_sizes("qmath::bnb::quantize_int8_rowwise", a.size(), rows, cols, q.size(), row_stats.size());
  std::vector<std::size_t> outliers =
      find_outlier_columns(a, rows, cols, threshold, "qmath::bnb::quantize_int8_rowwise");
  for (std::size_t r = 0; r < rows; ++r) {
    float stat = 0.0f;
    for (std::size_t c = 0; c < cols; ++c) {
      const float value = a[r * cols + c];
      const float magnitude = value < 0.0f ? -value : value;
      if (threshold > 0.0f && magnitude >= threshold) continue;
      stat = magnitude > stat ? magnitude : stat;
    }
    row_stats[r] = stat;
    const int8_row_rule rule = int8_rule(stat, backend);
    for (std::size_t c = 0; c < cols; ++c)
      q[r * cols + c] = rule.mode == int8_row_mode::zero        ? std::int8_t{0}
                        : rule.mode == int8_row_mode::in_double ? quantize_int8_tiny_row(a[r * cols + c], stat)
                                                                : quantize_int8_value(a[r * cols + c], rule.scale);
    for (std::size_t c : outliers) q[r * cols + c] = 0;
  }
  return outliers;
}

constexpr void dequantize_int8_rowwise_reference(std::span<const std::int8_t> q, std::span<const float> row_stats,
                                                 std::size_t rows, std::size_t cols, std::span<float> out) {
  check_int8_sizes("qmath::bnb::dequantize_int8_rowwise", out.size(), rows, cols, q.size(), row_stats.size());
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) out[r * cols + c] = dequantize_int8_value(q[r * cols + c], row_stats[r]);
}

}  // namespace bnb

namespace formats {

// A row-wise INT8 matrix with rows of RowLength values in one qmath buffer of
// storage_bytes(info, n) bytes: the int8 codes, row-major (n bytes), then
// row_stats, fp32 per row, little-endian. qmath::quantize<> uses threshold 0
// (no outliers); the outlier API is qmath::bnb::quantize_int8_rowwise.
template <std::uint32_t RowLength>
struct int8_rowwise {
  static_assert(RowLength > 0, "qmath::formats::int8_rowwise: the row length must be positive");
  static constexpr format_info info = bnb_int8_rowwise_info(RowLength);
  static constexpr std::uint32_t row_length = RowLength;
};

}  // namespace formats
}  // namespace qmath

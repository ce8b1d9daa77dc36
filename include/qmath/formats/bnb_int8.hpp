#pragma once
// bitsandbytes LLM.int8 vector-wise (row-wise) INT8: the rule, the constexpr
// scalar reference and the descriptor. No xsimd here; the array API with SIMD
// kernels is in qmath/kernels/bnb_int8.hpp.
//
// Rule (bitsandbytes backends/default/ops.py, int8_vectorwise_quant):
//   A is rows x cols, row-major.
//   threshold > 0: an element with |a| >= threshold is an outlier; a column with
//     any outlier is an outlier column. Outlier elements are left out of the row
//     absmax, and every element of an outlier column is written as 0. The
//     outlier column indices are returned, ascending.
//   row_stats[r] = max |a| over the row (fp32)
//   q = round_half_even(a * (127.0f / row_stats[r])) as int8
// Dequantize (bitsandbytes _ops.py int8_vectorwise_dequant):
//   y = fp32(fp32(q * row_stats[r]) * 7.874015718698502e-3f), the constant being
//   fp32(1/127) (both round to 0x3C010204; tests check it).
// qmath's choices: a row whose row_stats is 0 (all zero, or only outliers) codes
// as all zeros (torch would round 0 * inf = NaN); a row_stats so small that
// 127/row_stats overflows (below ~3.7e-37) is quantized in double (torch would
// give inf and NaN); NaN or infinity in A is an error. bitsandbytes' CUDA kernel (kInt8VectorQuant) zeroes only the outlier
// elements and uses an approximate division (__fdividef); qmath follows the
// torch reference above.

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "qmath/detail/bits.hpp"
#include "qmath/detail/checked.hpp"
#include "qmath/error.hpp"
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

constexpr float int8_scale(float row_stat) noexcept { return row_stat == 0.0f ? 0.0f : 127.0f / row_stat; }

// A row_stat below 127 / FLT_MAX (about 3.7e-37) makes 127 / row_stat overflow;
// such a row is quantized in double instead: q = round(a * 127 / row_stat).
constexpr bool int8_scale_overflows(float row_stat) noexcept {
  return row_stat != 0.0f && !(127.0f / row_stat <= 3.4028234663852886e38f);
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
                                                                   std::span<float> row_stats, float threshold = 0.0f) {
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
    const float scale = int8_scale(stat);
    for (std::size_t c = 0; c < cols; ++c)
      q[r * cols + c] = int8_scale_overflows(stat) ? quantize_int8_tiny_row(a[r * cols + c], stat)
                                                   : quantize_int8_value(a[r * cols + c], scale);
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

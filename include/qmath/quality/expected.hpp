#pragma once
// The expected round-trip error of a format, and of a model's weight recipe,
// on qmath's standard samples: 2^16 values of N(0,1) (seed 1) and of
// Student-t(3) (seed 2) from qmath/quality/samples.hpp, the same on every
// toolchain. This is what qmath-plan prints beside each weight format.
//
//   expected_error(info)          one format (its block size, row length, ...)
//   expected_error(grid)          an FP8 checkpoint layout over grid.rows x grid.cols samples
//   expected_errors cache;        the same, each format measured once, and
//   cache.of(model, recipe)       a recipe: every tensor in the format the recipe
//                                 stores it in, the noise weighted by elements
//
// Block formats scale with their data, so their relative error holds for
// weights of any magnitude; a float format without scales (f16, bf16, fp8
// as a plain cast) is measured at unit scale.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "qmath/estimate/weights.hpp"
#include "qmath/formats/fp8_checkpoint.hpp"
#include "qmath/models/architecture.hpp"
#include "qmath/quality/metrics.hpp"
#include "qmath/quality/round_trip.hpp"
#include "qmath/quality/samples.hpp"

namespace qmath {

inline constexpr std::size_t expected_error_samples = std::size_t{1} << 16;
inline constexpr std::uint64_t expected_error_gaussian_seed = 1;
inline constexpr std::uint64_t expected_error_student_t_seed = 2;
inline constexpr unsigned expected_error_student_t_nu = 3;

struct expected_error_report {
  quality_report gaussian;    // N(0,1)
  quality_report student_t3;  // Student-t(3)
};

namespace detail {
// The standard samples, n values (a prefix of the same stream for every n).
inline std::vector<float> expected_gaussian(std::size_t n) {
  return samples::gaussian(n, expected_error_gaussian_seed);
}
inline std::vector<float> expected_student_t(std::size_t n) {
  return samples::student_t(n, expected_error_student_t_nu, expected_error_student_t_seed);
}

// The most standard samples format f stores whole: 2^16 values cut to its
// unit (a block, an LLM.int8 row, 8 GPTQ groups), at least one unit.
inline std::size_t expected_error_length(const format_info& f) {
  std::size_t unit = f.block_elems == 0 ? 1 : f.block_elems;
  if (f.id == format_id::gptq_int4 || f.id == format_id::awq_int4) unit *= 8;
  const std::size_t units = expected_error_samples / unit;
  return (units == 0 ? 1 : units) * unit;
}
}  // namespace detail

// Format f's error on the standard samples.
template <class Arch = default_arch>
expected_error_report expected_error(const format_info& f, bnb_backend backend = bnb_backend::cuda) {
  const std::size_t n = detail::expected_error_length(f);
  return {round_trip_error<Arch>(f, detail::expected_gaussian(n), backend),
          round_trip_error<Arch>(f, detail::expected_student_t(n), backend)};
}

// An FP8 checkpoint layout's error on grid.rows x grid.cols standard samples
// (row-major): e.g. scale_grid::block_wise(256, 256) for DeepSeek-V3's 128 x 128 blocks.
inline expected_error_report expected_error(const fp8_checkpoint::scale_grid& grid) {
  const std::size_t n = grid.rows * grid.cols;
  return {round_trip_error(detail::expected_gaussian(n), grid), round_trip_error(detail::expected_student_t(n), grid)};
}

// A recipe's error over a whole model: sum over tensors of elements x the
// relative MSE of the tensor's format, over the elements. relative_rmse is
// the square root of that, sqnr_db = -20 log10(relative_rmse).
struct recipe_error {
  double gaussian_relative_rmse = 0;
  double student_t3_relative_rmse = 0;
  std::uint64_t elements = 0;

  static double sqnr_db(double relative_rmse) noexcept {
    return relative_rmse == 0 ? std::numeric_limits<double>::infinity() : -20.0 * std::log10(relative_rmse);
  }
  double gaussian_sqnr_db() const noexcept { return sqnr_db(gaussian_relative_rmse); }
  double student_t3_sqnr_db() const noexcept { return sqnr_db(student_t3_relative_rmse); }
};

// Measures each format once. Not thread-safe (one per thread).
template <class Arch = default_arch>
class expected_errors {
 public:
  explicit expected_errors(bnb_backend backend = bnb_backend::cuda) : backend_(backend) {}

  expected_error_report of(const format_info& f) {
    for (const auto& [format, report] : cache_)
      if (format == f) return report;
    cache_.emplace_back(f, expected_error<Arch>(f, backend_));
    return cache_.back().second;
  }

  // Throws qmath::error when a tensor's format has no kernel (ternary-i2s, the
  // IQ types) or the recipe does not fit the model's shapes.
  recipe_error of(const models::architecture& a, const weight_recipe& r) {
    double gaussian = 0, heavy = 0;
    std::uint64_t elements = 0;
    models::for_each_tensor_grouped(a, [&](const models::tensor& t, std::uint32_t repeat) {
      const format_info f = tensor_format(a, t, r);
      const std::uint64_t n = detail::checked_mul(t.elements(), repeat, "qmath::expected_errors", "elements");
      const expected_error_report e = of(f);
      gaussian += static_cast<double>(n) * e.gaussian.relative_rmse * e.gaussian.relative_rmse;
      heavy += static_cast<double>(n) * e.student_t3.relative_rmse * e.student_t3.relative_rmse;
      elements = detail::checked_add(elements, n, "qmath::expected_errors", "elements");
    });
    recipe_error out;
    out.elements = elements;
    if (elements == 0) return out;
    out.gaussian_relative_rmse = std::sqrt(gaussian / static_cast<double>(elements));
    out.student_t3_relative_rmse = std::sqrt(heavy / static_cast<double>(elements));
    return out;
  }

 private:
  bnb_backend backend_;
  std::vector<std::pair<format_info, expected_error_report>> cache_;
};

}  // namespace qmath

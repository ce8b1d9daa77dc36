#pragma once
// The error of a reconstruction: RMSE, relative RMSE, max absolute error and
// SQNR of x' against x. Does not include xsimd (the round trips through the
// kernels are in qmath/quality/round_trip.hpp).

#include <cmath>
#include <cstddef>
#include <limits>
#include <span>

#include "qmath/error.hpp"

namespace qmath {

struct quality_report {
  double rmse = 0;           // sqrt(mean((x - x')^2))
  double max_abs_error = 0;  // max |x - x'|
  double sqnr_db = 0;        // 10 log10(sum x^2 / sum (x - x')^2); +inf when lossless
  double relative_rmse = 0;  // rmse / sqrt(mean(x^2)) = 10^(-sqnr_db / 20); 0 when lossless
  std::size_t count = 0;
};

// Compares `reconstructed` with `original` element by element.
inline quality_report measure_error(std::span<const float> original, std::span<const float> reconstructed) {
  QMATH_REQUIRE(original.size() == reconstructed.size(), "qmath::measure_error", "original has ", original.size(),
                " values, reconstructed has ", reconstructed.size());
  double signal = 0, noise = 0, worst = 0;
  for (std::size_t i = 0; i < original.size(); ++i) {
    const double x = original[i];
    const double err = x - static_cast<double>(reconstructed[i]);
    QMATH_REQUIRE(std::isfinite(x) && std::isfinite(err), "qmath::measure_error", "non-finite value at index ", i);
    signal += x * x;
    noise += err * err;
    worst = std::fmax(worst, std::fabs(err));
  }
  quality_report r;
  r.count = original.size();
  if (r.count == 0) return r;
  constexpr double inf = std::numeric_limits<double>::infinity();
  r.rmse = std::sqrt(noise / static_cast<double>(r.count));
  r.max_abs_error = worst;
  r.sqnr_db = noise == 0 ? inf : 10.0 * std::log10(signal / noise);
  r.relative_rmse = noise == 0 ? 0.0 : (signal == 0 ? inf : std::sqrt(noise / signal));
  return r;
}

}  // namespace qmath

#pragma once
// How much a format loses on given data: RMSE, max absolute error and SQNR of
// a quantize -> dequantize round trip, measured with qmath's own kernels.

#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

#include "qmath/error.hpp"
#include "qmath/formats/format_info.hpp"
#include "qmath/kernels/quantize.hpp"

namespace qmath {

struct quality_report {
  double rmse = 0;          // sqrt(mean((x - x')^2))
  double max_abs_error = 0; // max |x - x'|
  double sqnr_db = 0;       // 10 log10(sum x^2 / sum (x - x')^2); +inf when lossless
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
  r.rmse = std::sqrt(noise / static_cast<double>(r.count));
  r.max_abs_error = worst;
  r.sqnr_db = noise == 0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(signal / noise);
  return r;
}

// Round-trips `data` through format F and reports the error. The length must
// be a whole number of F's blocks.
template <format_descriptor F, class Arch = default_arch>
quality_report round_trip_error(std::span<const float> data) {
  std::vector<std::byte> packed(storage_bytes<F>(data.size()));
  std::vector<float> restored(data.size());
  quantize<F, Arch>(data, packed);
  dequantize<F, Arch>(packed, restored);
  return measure_error(data, restored);
}

}  // namespace qmath

// qmath/quality.hpp: the error metrics and the round trip through a format.
#include <qmath/quality.hpp>
#include <qmath/kernels/q4_0.hpp>
#include <qmath/kernels/q8_0.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "catch.hpp"

TEST_CASE("measure_error on hand-computed vectors") {
  // x = (3, -4), x' = (2, -4): errors (1, 0).
  //   RMSE = sqrt((1 + 0) / 2) = 0.70710678...
  //   max |err| = 1
  //   SQNR = 10 log10((9 + 16) / 1) = 10 log10(25) = 13.9794 dB
  const std::vector<float> x{3.0f, -4.0f}, y{2.0f, -4.0f};
  const auto r = qmath::measure_error(x, y);
  CHECK(r.count == 2);
  CHECK(r.rmse == Approx(std::sqrt(0.5)));
  CHECK(r.max_abs_error == 1.0);
  CHECK(r.sqnr_db == Approx(13.979400086720377));
}

TEST_CASE("a lossless round trip has zero error and infinite SQNR") {
  const std::vector<float> x{1.0f, 2.0f, -0.5f};
  const auto r = qmath::measure_error(x, x);
  CHECK(r.rmse == 0.0);
  CHECK(r.max_abs_error == 0.0);
  CHECK(r.sqnr_db == std::numeric_limits<double>::infinity());
  CHECK(qmath::measure_error({}, {}).count == 0);
}

TEST_CASE("measure_error rejects mismatched lengths and non-finite values") {
  const std::vector<float> a{1.0f, 2.0f}, b{1.0f};
  CHECK_THROWS_WITH(qmath::measure_error(a, b), Catch::Contains("original has 2 values, reconstructed has 1"));
  const std::vector<float> nan{1.0f, std::numeric_limits<float>::quiet_NaN()};
  CHECK_THROWS_WITH(qmath::measure_error(nan, a), Catch::Contains("non-finite value at index 1"));
  CHECK_THROWS_AS(qmath::measure_error(a, nan), qmath::error);
}

TEST_CASE("round_trip_error through Q8_0 and Q4_0 on N(0,1)") {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist;
  std::vector<float> x(32 * 1024);
  for (auto& v : x) v = dist(rng);
  const auto q8 = qmath::round_trip_error<qmath::formats::q8_0>(x);
  const auto q4 = qmath::round_trip_error<qmath::formats::q4_0>(x);
  // Q8_0 rounds to steps of d = amax/127 per 32 values; the error is at most
  // d/2 plus the fp16 rounding of d (127 * 2^-11 d), and a block's amax of
  // N(0,1) data stays below 6, so |err| < 6/127 * (0.5 + 127/2048) < 0.027.
  CHECK(q8.max_abs_error < 0.027);
  // Uniform rounding error of step d has RMSE d / sqrt(12); with amax ~ 2.1
  // for 32 normal values, d ~ 0.0165 and RMSE ~ 0.0048.
  CHECK(q8.rmse > 0.003);
  CHECK(q8.rmse < 0.007);
  // Four bits lose about 24 dB against eight (16x coarser steps).
  CHECK(q8.sqnr_db - q4.sqnr_db > 20.0);
  CHECK(q4.sqnr_db > 18.0);
  // The scalar reference measures the same numbers as the SIMD kernels.
  const auto q4_scalar = qmath::round_trip_error<qmath::formats::q4_0, qmath::scalar_arch>(x);
  CHECK(q4_scalar.rmse == q4.rmse);
  CHECK(q4_scalar.max_abs_error == q4.max_abs_error);
  CHECK_THROWS_AS(qmath::round_trip_error<qmath::formats::q8_0>(std::span<const float>(x).first(33)), qmath::error);
}

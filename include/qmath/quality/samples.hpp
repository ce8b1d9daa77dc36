#pragma once
// Fixed-seed sample data for error measurements: N(0,1) and Student-t(nu)
// values that are the same on every compiler and standard library.
//
// std::normal_distribution and std::student_t_distribution are not specified
// to the bit (libstdc++ and libc++ draw different values from the same
// engine), so an error table printed from them changes with the toolchain.
// Here the engine is std::mt19937_64 (whose output the standard fixes), the
// uniforms take its top 53 bits, normals come from Marsaglia's polar method
// (one std::log and one square root per pair; sqrt is exact in IEEE 754),
// and t(nu) = Z / sqrt(chi^2_nu / nu) with chi^2_nu a sum of nu squared
// normals (exact for integer nu). The values are rounded to float once.
// Does not include xsimd.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "qmath/error.hpp"

namespace qmath::samples {

namespace detail {
class normal_source {
 public:
  explicit normal_source(std::uint64_t seed) : engine_(seed) {}

  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    for (;;) {
      const double u = 2.0 * uniform() - 1.0, v = 2.0 * uniform() - 1.0;
      const double r2 = u * u + v * v;
      if (r2 >= 1.0 || r2 == 0.0) continue;
      const double f = std::sqrt(-2.0 * std::log(r2) / r2);
      spare_ = v * f;
      has_spare_ = true;
      return u * f;
    }
  }

 private:
  // [0, 1) in steps of 2^-53
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1p-53; }

  std::mt19937_64 engine_;
  double spare_ = 0;
  bool has_spare_ = false;
};
}  // namespace detail

// n values of N(0, 1).
inline std::vector<float> gaussian(std::size_t n, std::uint64_t seed) {
  detail::normal_source z(seed);
  std::vector<float> x(n);
  for (auto& v : x) v = static_cast<float>(z.next());
  return x;
}

// n values of Student's t with nu degrees of freedom (heavy-tailed: nu = 3 has
// finite variance 3 but no fourth moment, the shape of outlier-rich weights).
inline std::vector<float> student_t(std::size_t n, unsigned nu, std::uint64_t seed) {
  QMATH_REQUIRE(nu >= 1 && nu <= 64, "qmath::samples::student_t", "degrees of freedom ", nu,
                " are not in [1, 64]");
  detail::normal_source z(seed);
  std::vector<float> x(n);
  for (auto& v : x) {
    const double numerator = z.next();
    double chi2 = 0;
    for (unsigned k = 0; k < nu; ++k) {
      const double g = z.next();
      chi2 += g * g;
    }
    v = static_cast<float>(numerator / std::sqrt(chi2 / static_cast<double>(nu)));
  }
  return x;
}

}  // namespace qmath::samples

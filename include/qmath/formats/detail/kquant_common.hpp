#pragma once
// Private helpers of the GGUF K-quants (Q2_K .. Q6_K, Q8_K, IQ4_XS): the
// scale searches of ggml's reference quantizers (ggml src/ggml-quants.c:
// make_qkx2_quants, make_qx_quants, make_q3_quants) and the 12-byte packing
// of 6-bit scales and mins (get_scale_min_k4), as constexpr functions.
//
// The searches are rewritten from what they compute, in the order ggml's C
// evaluates it: every product is rounded to float before the sum or
// difference that uses it (ggml's base library is built without FMA;
// detail::no_contract stops GCC from fusing), sums run in element order, and
// the integer rounding is ggml's nearest_int (add 1.5 * 2^23, read the low
// mantissa bits). That makes the bytes ggml's for every finite input, the
// huge ones included (infinite and NaN intermediates go through the same
// IEEE operations and compares). Include the format headers instead. No xsimd.

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>

#include "qmath/detail/bits.hpp"
#include "qmath/formats/detail/lowbit_common.hpp"
#include "qmath/fp/fp16.hpp"

namespace qmath::detail::kquant {

// QK_K (ggml src/ggml-common.h): the super-block of every K-quant.
inline constexpr std::size_t super_block = 256;
// GROUP_MAX_EPS (ggml-quants.c): a group whose largest |x| is below is all zero.
inline constexpr float group_max_eps = 1e-15f;

using lowbit::abs_value;
using lowbit::ggml_nearest_int;
using lowbit::is_finite;

constexpr int clamp(int v, int lo, int hi) noexcept { return v < lo ? lo : (v > hi ? hi : v); }

// 2^e as a double, for |e| < 1000 (an exact power of two).
constexpr double pow2(int e) noexcept {
  return std::bit_cast<double>(static_cast<std::uint64_t>(e + 1023) << 52);
}

// Floor of the square root of a 64-bit integer, bit by bit.
constexpr std::uint64_t isqrt(std::uint64_t n) noexcept {
  std::uint64_t root = 0, bit = std::uint64_t{1} << 62;
  while (bit > n) bit >>= 2;
  while (bit != 0) {
    if (n >= root + bit) {
      n -= root + bit;
      root = (root >> 1) + bit;
    } else {
      root >>= 1;
    }
    bit >>= 2;
  }
  return root;
}

// sqrtf, correctly rounded as IEEE 754 requires of sqrtss and of C's sqrtf,
// in integer arithmetic: the root of the significand widened to 53 or 54 bits
// (27 bits of root), the remainder as a sticky bit, rounded once to float.
constexpr float sqrt_exact(float x) noexcept {
  if (x == 0.0f || x == std::numeric_limits<float>::infinity()) return x;  // +-0 and +Inf are their own roots
  if (!(x > 0.0f)) return std::numeric_limits<float>::quiet_NaN();        // negative or NaN
  const std::uint32_t bits = float_bits(x);
  const std::uint32_t exponent = bits >> 23;
  std::uint64_t m = exponent == 0 ? (bits & 0x7fffffu) : ((bits & 0x7fffffu) | 0x800000u);
  int e = exponent == 0 ? -149 : static_cast<int>(exponent) - 150;  // x = m * 2^e
  while (m < (std::uint64_t{1} << 52)) {
    m <<= 1;
    --e;
  }
  if (e & 1) {
    m <<= 1;
    --e;
  }
  const std::uint64_t s = isqrt(m);  // in [2^26, 2^27)
  const double doubled = static_cast<double>(2 * s + (m != s * s ? 1 : 0));  // exact, sticky in the last bit
  return static_cast<float>(doubled * pow2(e / 2 - 1));
}

// sqrtf: the hardware instruction at run time, sqrt_exact in constant expressions.
constexpr float sqrt_rounded(float x) noexcept {
  if (!std::is_constant_evaluated()) return std::sqrt(x);
  return sqrt_exact(x);
}

// The fit of one group with a subtracted minimum (Q2_K, Q4_K, Q5_K):
// x ~ scale * code - min, codes in 0..nmax.
template <std::size_t N>
struct min_fit {
  float scale;
  float min;  // the_min: the value subtracted, >= 0
  std::array<std::uint8_t, N> codes;
};

// make_qkx2_quants(N, nmax, x, weights, L, &the_min, Laux, rmin, rdelta,
// nstep, use_mad): start from the min..max grid, then try nstep + 1 grids
// iscale = (rmin + rdelta * is + nmax) / (max - min), each followed by a
// weighted least-squares fit of scale and min; keep the one of least weighted
// error (|diff| with use_mad, diff^2 otherwise).
template <std::size_t N>
constexpr min_fit<N> make_qkx2(const float* x, const float* w, int nmax, float rmin, float rdelta, int nstep,
                               bool use_mad) noexcept {
  float min = x[0], max = x[0];
  float sum_w = w[0];
  float sum_x = no_contract(sum_w * x[0]);
  for (std::size_t i = 1; i < N; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += w[i];
    sum_x += no_contract(w[i] * x[i]);
  }
  if (min > 0) min = 0;
  min_fit<N> fit{};
  if (max == min) {
    fit.scale = 0.f;
    fit.min = -min;
    return fit;
  }
  const auto error_of = [use_mad](float diff) { return use_mad ? abs_value(diff) : no_contract(diff * diff); };
  const auto nmax_f = static_cast<float>(nmax);
  float iscale = nmax_f / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (std::size_t i = 0; i < N; ++i) {
    fit.codes[i] = static_cast<std::uint8_t>(clamp(ggml_nearest_int(no_contract(iscale * (x[i] - min))), 0, nmax));
    const float diff = no_contract(scale * static_cast<float>(fit.codes[i])) + min - x[i];
    best_error += no_contract(w[i] * error_of(diff));
  }
  std::array<std::uint8_t, N> aux{};
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + no_contract(rdelta * static_cast<float>(is)) + nmax_f) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (std::size_t i = 0; i < N; ++i) {
      const int l = clamp(ggml_nearest_int(no_contract(iscale * (x[i] - min))), 0, nmax);
      aux[i] = static_cast<std::uint8_t>(l);
      const float wl = no_contract(w[i] * static_cast<float>(l));
      sum_l += wl;
      sum_l2 += no_contract(wl * static_cast<float>(l));
      sum_xl += no_contract(wl * x[i]);
    }
    const float D = no_contract(sum_w * sum_l2) - no_contract(sum_l * sum_l);
    if (D > 0) {
      float this_scale = (no_contract(sum_w * sum_xl) - no_contract(sum_x * sum_l)) / D;
      float this_min = (no_contract(sum_l2 * sum_x) - no_contract(sum_l * sum_xl)) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (std::size_t i = 0; i < N; ++i) {
        const float diff = no_contract(this_scale * static_cast<float>(aux[i])) + this_min - x[i];
        cur_error += no_contract(w[i] * error_of(diff));
      }
      if (cur_error < best_error) {
        fit.codes = aux;
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  fit.scale = scale;
  fit.min = -min;
  return fit;
}

// The signed value of largest |x|, the first on a tie (`ax > amax` scans).
constexpr float signed_absmax(const float* x, std::size_t n) noexcept {
  float amax = 0, max = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (abs_value(x[i]) > amax) {
      amax = abs_value(x[i]);
      max = x[i];
    }
  return max;
}

// A symmetric fit (Q3_K, Q6_K): x ~ scale * (code - nmax), codes in 0..2 nmax - 1.
template <std::size_t N>
struct symmetric_fit {
  float scale;
  std::array<std::int8_t, N> codes;  // L + nmax, in 0..2 nmax - 1
};

// make_qx_quants(N, nmax, x, L, rmse_type = 1, qw = NULL), as Q6_K calls it:
// weights x^2; the grid -nmax / max, its least-squares scale, then 18 more
// grids -(nmax + 0.1 is) / max (is = -9..9, not 0), keeping the one whose
// fit explains most (sumlx^2 / suml2).
template <std::size_t N>
constexpr symmetric_fit<N> make_qx(const float* x, int nmax) noexcept {
  symmetric_fit<N> fit{};
  const float max = signed_absmax(x, N);
  if (abs_value(max) < group_max_eps) return fit;  // all zero: codes 0, scale 0
  const auto nmax_f = static_cast<float>(nmax);
  const auto code_of = [&](float iscale, std::size_t i) {
    return clamp(ggml_nearest_int(no_contract(iscale * x[i])), -nmax, nmax - 1);
  };
  // w = x^2 and w * x do not depend on the grid: formed once (the same
  // roundings as ggml's per-grid products).
  std::array<float, N> w{}, wx{};
  for (std::size_t i = 0; i < N; ++i) {
    w[i] = no_contract(x[i] * x[i]);
    wx[i] = no_contract(w[i] * x[i]);
  }
  const auto sums = [&](float iscale, float& sumlx, float& suml2) {
    sumlx = 0;
    suml2 = 0;
    for (std::size_t i = 0; i < N; ++i) {
      const auto l = static_cast<float>(code_of(iscale, i));
      sumlx += no_contract(wx[i] * l);
      suml2 += no_contract(no_contract(w[i] * l) * l);
    }
  };
  float iscale = -nmax_f / max;
  float sumlx = 0, suml2 = 0;
  sums(iscale, sumlx, suml2);
  for (std::size_t i = 0; i < N; ++i) fit.codes[i] = static_cast<std::int8_t>(code_of(iscale, i) + nmax);
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = no_contract(scale * sumlx);
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax_f + no_contract(0.1f * static_cast<float>(is))) / max;
    sums(iscale, sumlx, suml2);
    if (suml2 > 0 && no_contract(sumlx * sumlx) > no_contract(best * suml2)) {
      for (std::size_t i = 0; i < N; ++i) fit.codes[i] = static_cast<std::int8_t>(code_of(iscale, i) + nmax);
      scale = sumlx / suml2;
      best = no_contract(scale * sumlx);
    }
  }
  fit.scale = scale;
  return fit;
}

// make_q3_quants(N, nmax, x, L, do_rmse = true), as Q3_K calls it: the grid
// -nmax / max, then up to five passes of coordinate descent, each element's
// code replaced by the one its least-squares scale without it suggests
// whenever that improves sumlx^2 / suml2 (weights x^2).
template <std::size_t N>
constexpr symmetric_fit<N> make_q3(const float* x, int nmax) noexcept {
  symmetric_fit<N> fit{};
  const float max = signed_absmax(x, N);
  if (abs_value(max) < group_max_eps) return fit;
  const float iscale = -static_cast<float>(nmax) / max;
  std::array<int, N> L{};
  float sumlx = 0, suml2 = 0;
  for (std::size_t i = 0; i < N; ++i) {
    L[i] = clamp(ggml_nearest_int(no_contract(iscale * x[i])), -nmax, nmax - 1);
    const float w = no_contract(x[i] * x[i]);
    const auto l = static_cast<float>(L[i]);
    sumlx += no_contract(no_contract(w * x[i]) * l);
    suml2 += no_contract(no_contract(w * l) * l);
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (std::size_t i = 0; i < N; ++i) {
      const float w = no_contract(x[i] * x[i]);
      const auto li = static_cast<float>(L[i]);
      float slx = sumlx - no_contract(no_contract(w * x[i]) * li);
      if (slx > 0) {
        float sl2 = suml2 - no_contract(no_contract(w * li) * li);
        const int new_l = clamp(ggml_nearest_int(no_contract(x[i] * sl2) / slx), -nmax, nmax - 1);
        if (new_l != L[i]) {
          const auto nl = static_cast<float>(new_l);
          slx += no_contract(no_contract(w * x[i]) * nl);
          sl2 += no_contract(no_contract(w * nl) * nl);
          if (sl2 > 0 && no_contract(no_contract(slx * slx) * suml2) > no_contract(no_contract(sumlx * sumlx) * sl2)) {
            L[i] = new_l;
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (n_changed == 0) break;
  }
  for (std::size_t i = 0; i < N; ++i) fit.codes[i] = static_cast<std::int8_t>(L[i] + nmax);
  fit.scale = suml2 > 0.0f ? sumlx / suml2 : 0.0f;
  return fit;
}

// The 12 scale bytes of Q4_K / Q5_K: eight 6-bit scales and eight 6-bit mins.
// Sub-blocks 0..3 keep scale and min in the low 6 bits of bytes j and j + 4;
// sub-blocks 4..7 keep their low 4 bits in byte j + 4 (scale low nibble, min
// high nibble) and their top 2 bits in bits 6..7 of bytes j - 4 and j.
constexpr std::array<std::uint8_t, 12> pack_scale_min_k4(const std::array<std::uint8_t, 8>& ls,
                                                         const std::array<std::uint8_t, 8>& lm) noexcept {
  std::array<std::uint8_t, 12> s{};
  for (std::size_t j = 0; j < 8; ++j) {
    if (j < 4) {
      s[j] = ls[j];
      s[j + 4] = lm[j];
    } else {
      s[j + 4] = static_cast<std::uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      s[j - 4] = static_cast<std::uint8_t>(s[j - 4] | ((ls[j] >> 4) << 6));
      s[j] = static_cast<std::uint8_t>(s[j] | ((lm[j] >> 4) << 6));
    }
  }
  return s;
}

// get_scale_min_k4 (ggml-quants.c): scale and min of sub-block j.
struct scale_min {
  std::uint8_t scale, min;
};
constexpr scale_min scale_min_k4(std::size_t j, const std::uint8_t* q) noexcept {
  if (j < 4) return {static_cast<std::uint8_t>(q[j] & 63), static_cast<std::uint8_t>(q[j + 4] & 63)};
  return {static_cast<std::uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4)),
          static_cast<std::uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4))};
}

// The super-block of Q4_K and Q5_K before bit packing: per 32 elements the
// make_qkx2 fit with weights av_x + |x| (av_x = sqrt(mean x^2)); 6-bit scales
// and mins nearest_int(63 / max * value) (capped at 63), fp16 super-scales
// max / 63; then every code redone against the stored scales,
// clamp(nearest_int((x + dmin * m) / (d * sc)), 0, nmax); a sub-block whose
// stored scale is 0 keeps the search's codes (quantize_row_q4_K_ref,
// quantize_row_q5_K_ref).
struct asymmetric_super_block {
  std::uint16_t d, dmin;  // fp16 bits
  std::array<std::uint8_t, 12> scales;
  std::array<std::uint8_t, super_block> codes;  // 0..nmax
};

constexpr asymmetric_super_block quantize_asymmetric(std::span<const float, super_block> x, int nmax, float rmin,
                                                     int nstep) noexcept {
  std::array<min_fit<32>, 8> fits{};
  float max_scale = 0, max_min = 0;
  for (std::size_t j = 0; j < 8; ++j) {
    const float* xs = x.data() + 32 * j;
    float sum_x2 = 0;
    for (std::size_t l = 0; l < 32; ++l) sum_x2 += no_contract(xs[l] * xs[l]);
    const float av_x = sqrt_rounded(sum_x2 / 32);
    std::array<float, 32> weights{};
    for (std::size_t l = 0; l < 32; ++l) weights[l] = av_x + abs_value(xs[l]);
    fits[j] = make_qkx2<32>(xs, weights.data(), nmax, rmin, 0.1f, nstep, false);
    if (fits[j].scale > max_scale) max_scale = fits[j].scale;
    if (fits[j].min > max_min) max_min = fits[j].min;
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  std::array<std::uint8_t, 8> ls{}, lm{};
  for (std::size_t j = 0; j < 8; ++j) {
    // ggml stores the int in a uint8_t before capping it at 63 (a negative
    // value wraps, then caps).
    const auto s = static_cast<std::uint8_t>(ggml_nearest_int(no_contract(inv_scale * fits[j].scale)));
    const auto m = static_cast<std::uint8_t>(ggml_nearest_int(no_contract(inv_min * fits[j].min)));
    ls[j] = s < 63 ? s : 63;
    lm[j] = m < 63 ? m : 63;
  }
  asymmetric_super_block out{};
  out.scales = pack_scale_min_k4(ls, lm);
  out.d = fp16_bits_from_float(max_scale / 63.f);
  out.dmin = fp16_bits_from_float(max_min / 63.f);
  const float d_all = fp16_bits_to_float(out.d), dmin_all = fp16_bits_to_float(out.dmin);
  for (std::size_t j = 0; j < 8; ++j) {
    for (std::size_t i = 0; i < 32; ++i) out.codes[32 * j + i] = fits[j].codes[i];
    const scale_min sm = scale_min_k4(j, out.scales.data());
    const float d = d_all * static_cast<float>(sm.scale);
    if (d == 0) continue;
    const float dm = dmin_all * static_cast<float>(sm.min);
    for (std::size_t i = 0; i < 32; ++i)
      out.codes[32 * j + i] = static_cast<std::uint8_t>(clamp(ggml_nearest_int((x[32 * j + i] + dm) / d), 0, nmax));
  }
  return out;
}

}  // namespace qmath::detail::kquant

#pragma once
// GGUF IQ4_NL: 32 4-bit indices into a fixed non-linear table and one fp16
// scale (4.5 bits per weight).
//
// Layout (ggml src/ggml-common.h, block_iq4_nl): half d; u8 qs[16] (18 bytes),
// nibbles ordered as in Q4_0 (byte j: element j low, j + 16 high). The table is
// kvalues_iq4nl (ggml-common.h): -127 -104 -83 -65 -49 -35 -22 -10 1 13 25 38 53 69 89 113.
// Quantize (ggml src/ggml-quants.c, quantize_row_iq4_nl_ref, which calls
// quantize_row_iq4_nl_impl with no importance weights and ntry = -1):
//   max = signed value of largest |x| (first on a tie); amax < 1e-15 (GROUP_MAX_EPS)
//   gives d = 0; otherwise d = max / -127, id = 1/d, L = best_index_int8(id * x),
//   then the weighted least-squares refit d = sum(w q x) / sum(w q^2) with
//   w = x^2 and q = kvalues[L], summed in element order with every product
//   rounded; L is not recomputed after the refit (ntry = -1 runs no search).
//   d stored as fp16.
// Dequantize (dequantize_row_iq4_nl): y = fp16(d) * kvalues[q].
// One deliberate difference: for a block with amax < 1e-15 ggml writes the
// codes left in its scratch array by the previous block (or uninitialised
// memory); qmath writes code 8 (value +1), so the block decodes to +0.
// Large finite inputs (|x| above about 1.8e19, where x^2 overflows) give a NaN
// scale, as ggml does. NaN or Inf in the input throws qmath::error.

#include <array>
#include <cstdint>
#include <span>

#include "qmath/formats/detail/gguf_common.hpp"
#include "qmath/formats/table.hpp"

namespace qmath::detail::iq4nl {

// kvalues_iq4nl, ggml src/ggml-common.h
inline constexpr std::array<std::int8_t, 16> values{-127, -104, -83, -65, -49, -35, -22, -10,
                                                   1,    13,   25,  38,  53,  69,  89,  113};

constexpr float value(int index) noexcept { return static_cast<float>(values[static_cast<std::size_t>(index)]); }

// best_index_int8(16, kvalues_iq4nl, x) of ggml-quants.c: binary search,
// clamped at the ends; between two neighbours the lower one only if strictly nearer.
constexpr int best_index(float x) noexcept {
  if (x <= value(0)) return 0;
  if (x >= value(15)) return 15;
  int lo = 0, hi = 15;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (x < value(mid)) hi = mid;
    else lo = mid;
  }
  return x - value(hi - 1) < value(hi) - x ? hi - 1 : hi;
}

// The final test of best_index between values[k-1] and values[k], as a predicate.
constexpr bool picks_upper(float x, int k) noexcept { return !(x - value(k - 1) < value(k) - x); }

// The same choice as a count: best_index(x) is the number of k in 1..15 with
// x >= decision_threshold[k - 1]. Each threshold is the smallest float for
// which picks_upper holds; the test is monotonic in x (fl(x - a) grows and
// fl(b - x) shrinks with x), so the count equals the search. The SIMD kernels
// use it; the tests check both sides of every threshold.
inline constexpr std::array<float, 15> decision_threshold = [] {
  // Floats as unsigned keys in numeric order, to bisect between neighbours.
  auto key = [](float f) {
    const std::uint32_t b = float_bits(f);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
  };
  auto from_key = [](std::uint32_t k) { return float_from_bits((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k); };
  std::array<float, 15> t{};
  for (int k = 1; k < 16; ++k) {
    std::uint32_t lo = key(value(k - 1)), hi = key(value(k));  // picks_upper false at lo, true at hi
    while (hi - lo > 1) {
      const std::uint32_t mid = lo + (hi - lo) / 2;
      if (picks_upper(from_key(mid), k)) hi = mid;
      else lo = mid;
    }
    t[static_cast<std::size_t>(k - 1)] = from_key(hi);
  }
  return t;
}();

}  // namespace qmath::detail::iq4nl

namespace qmath::formats {

struct iq4_nl {
  static constexpr const format_info& info = qmath::info(format_id::iq4_nl);
  struct block {
    std::uint16_t d;  // fp16 bits
    std::uint8_t qs[16];
  };
  static_assert(sizeof(block) * 8 == info.block_bits && info.block_elems == detail::gguf::block_elems);

  static constexpr const auto& values = detail::iq4nl::values;
  static constexpr float group_max_eps = 1e-15f;  // GROUP_MAX_EPS, ggml-quants.c
  // The code qmath writes for an all-(near-)zero block: value +1, so it decodes to +0.
  static constexpr std::uint8_t zero_block_code = 8;

  static constexpr block quantize_block(std::span<const float, 32> x) {
    QMATH_REQUIRE(detail::gguf::first_non_finite(x) == x.size(), "qmath::formats::iq4_nl::quantize_block",
                  "the block holds NaN or Inf");
    const float max = detail::gguf::signed_absmax(x);
    block out{};
    if (detail::gguf::abs_value(max) < group_max_eps) {
      out.d = detail::fp16_bits_from_float(0.0f);
      for (auto& q : out.qs) q = zero_block_code | zero_block_code << 4;
      return out;
    }
    const float id = 1 / (max / detail::iq4nl::value(0));
    std::array<std::uint8_t, 32> index{};
    float sumqx = 0, sumq2 = 0;
    for (std::size_t j = 0; j < 32; ++j) {
      const int l = detail::iq4nl::best_index(id * x[j]);
      index[j] = static_cast<std::uint8_t>(l);
      const float q = detail::iq4nl::value(l);
      const float w = x[j] * x[j];
      sumqx += detail::no_contract(w * q * x[j]);
      sumq2 += detail::no_contract(w * q * q);
    }
    const float d = sumq2 > 0 ? sumqx / sumq2 : 0.0f;
    out.d = detail::fp16_bits_from_float(d);
    for (std::size_t j = 0; j < 16; ++j) out.qs[j] = static_cast<std::uint8_t>(index[j] | index[j + 16] << 4);
    return out;
  }

  static constexpr void dequantize_block(const block& b, std::span<float, 32> y) noexcept {
    const float d = detail::fp16_bits_to_float(b.d);
    for (std::size_t j = 0; j < 16; ++j) {
      y[j] = d * detail::iq4nl::value(b.qs[j] & 0x0f);
      y[j + 16] = d * detail::iq4nl::value(b.qs[j] >> 4);
    }
  }
};

}  // namespace qmath::formats

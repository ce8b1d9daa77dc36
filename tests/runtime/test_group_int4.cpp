// GPTQ / AWQ group-wise INT4: hand-derived packings (AutoGPTQ pack(): qweight
// packed along the input dimension LSB first, qzeros stored as zero - 1 in v1;
// AutoAWQ WQLinear_GEMM.from_linear: packed along the output dimension in the
// order [0, 2, 4, 6, 1, 3, 5, 7]), the round-to-nearest rules, SIMD against the
// scalar reference on random matrices (fixed seeds), round-trip bounds and the
// error paths.
#include <qmath/kernels/group_int4.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "catch.hpp"

using namespace qmath;
using group_int4::shape;

namespace {

template <class Fn>
void for_each_simd_arch(Fn&& f) {
  f.template operator()<default_arch>();
#if !QMATH_DISABLE_SIMD
#if XSIMD_WITH_AVX2
  if constexpr (!std::is_same_v<default_arch, xsimd::avx2>) f.template operator()<xsimd::avx2>();
#endif
#if XSIMD_WITH_SSE4_2
  f.template operator()<xsimd::sse4_2>();
#endif
#endif
}

struct packed {
  std::vector<std::int32_t> qweight, qzeros;
  std::vector<fp16> scales;
  explicit packed(const shape& s) : qweight(s.qweight_words()), qzeros(s.qzeros_words()), scales(s.scales_count()) {}
};

std::uint32_t word(std::int32_t w) { return static_cast<std::uint32_t>(w); }

}  // namespace

TEST_CASE("golden: one ramp row and seven zero rows, GPTQ v1 / v2 and AWQ") {
  // W is 8 x 32, one group of 32. Row 0: w[0][i] = i % 16 - 5, so min -5, max 10.
  //   GPTQ: xmin -5, xmax 10, scale 15/15 = 1, zero round(5) = 5; q = round(w) + 5 = i % 16.
  //   AWQ:  scale (10 - -5)/15 = 1, zero -round(-5) = 5; the same codes.
  // Rows 1..7 are zero.
  //   GPTQ: xmin = xmax = 0 -> -1, +1; scale fp32(2/15) = 0.13333334 (rounded up), so
  //         -xmin / scale = 7.4999995 and zero = 7; q = round(0) + 7 = 7.
  //   AWQ:  range clamped to 1e-5, scale 1e-5/15, zero -round(0) = 0; q = 0.
  const shape s{8, 32, 32};
  std::vector<float> w(8 * 32, 0.0f);
  for (std::size_t i = 0; i < 32; ++i) w[i] = static_cast<float>(i % 16) - 5.0f;

  packed v1(s), v2(s), awq(s);
  group_int4::quantize(w, s, int4_packing::gptq, v1.qweight, v1.qzeros, v1.scales);
  group_int4::quantize(w, s, int4_packing::gptq_v2, v2.qweight, v2.qzeros, v2.scales);
  group_int4::quantize(w, s, int4_packing::awq, awq.qweight, awq.qzeros, awq.scales);

  // GPTQ qweight [in/8 = 4, out = 8]: word (r, o) holds inputs 8r..8r+7 of output o, LSB first.
  for (auto* p : {&v1, &v2}) {
    CHECK(word(p->qweight[0 * 8 + 0]) == 0x76543210u);
    CHECK(word(p->qweight[1 * 8 + 0]) == 0xFEDCBA98u);
    CHECK(word(p->qweight[2 * 8 + 0]) == 0x76543210u);
    CHECK(word(p->qweight[3 * 8 + 0]) == 0xFEDCBA98u);
    for (std::size_t o = 1; o < 8; ++o) CHECK(word(p->qweight[o]) == 0x77777777u);
    // scales fp16 [1, 8]: 1.0 = 0x3C00; 2/15 = 1.0666667 * 2^-3 -> exponent 12, mantissa round(68.27) = 68.
    CHECK(p->scales[0].bits == 0x3C00);
    for (std::size_t o = 1; o < 8; ++o) CHECK(p->scales[o].bits == 0x3044);
  }
  // qzeros [1, 1]: output o in nibble o. v1 stores zero - 1: 4 then 6s; v2 the zeros: 5 then 7s.
  CHECK(word(v1.qzeros[0]) == 0x66666664u);
  CHECK(word(v2.qzeros[0]) == 0x77777775u);
  // AWQ qweight [in = 32, out/8 = 1]: output 0 sits in nibble 0; the other outputs code 0.
  for (std::size_t i = 0; i < 32; ++i) CHECK(word(awq.qweight[i]) == i % 16);
  CHECK(word(awq.qzeros[0]) == 0x00000005u);
  // 1e-5/15 = 6.667e-7 is an fp16 subnormal: round(6.667e-7 / 2^-24) = round(11.18) = 11.
  CHECK(awq.scales[0].bits == 0x3C00);
  for (std::size_t o = 1; o < 8; ++o) CHECK(awq.scales[o].bits == 0x000B);

  // Dequantized: row 0 exactly, the zero rows exactly 0 ((7 - 7) * s and (0 - 0) * s).
  for (auto [p, packing] : {std::pair{&v1, int4_packing::gptq}, std::pair{&v2, int4_packing::gptq_v2},
                            std::pair{&awq, int4_packing::awq}}) {
    for_each_simd_arch([&]<class Arch>() {
      std::vector<float> y(w.size());
      group_int4::dequantize<Arch>(p->qweight, p->qzeros, p->scales, s, packing, y);
      CHECK(y == w);
    });
  }
}

TEST_CASE("golden: AWQ's interleaved output order and GPTQ v1's zero point of at least 1") {
  // Row o: w[o][0] = o, w[o][1] = 15, the rest 0: min 0, max 15, scale 1, zero 0, q(o, 0) = o.
  const shape s{8, 32, 32};
  std::vector<float> w(8 * 32, 0.0f);
  for (std::size_t o = 0; o < 8; ++o) {
    w[o * 32 + 0] = static_cast<float>(o);
    w[o * 32 + 1] = 15.0f;
  }
  packed awq(s), v1(s), v2(s);
  group_int4::quantize(w, s, int4_packing::awq, awq.qweight, awq.qzeros, awq.scales);
  // Word (i = 0, c = 0): nibble k holds output order[k] = 0, 2, 4, 6, 1, 3, 5, 7, whose code is that number.
  CHECK(word(awq.qweight[0]) == 0x75316420u);
  CHECK(word(awq.qweight[1]) == 0xFFFFFFFFu);  // input 1: every output codes 15
  CHECK(word(awq.qzeros[0]) == 0u);
  group_int4::quantize(w, s, int4_packing::gptq_v2, v2.qweight, v2.qzeros, v2.scales);
  // GPTQ word (r = 0, o): inputs 0..7 of output o: o, 15, then zeros.
  for (std::size_t o = 0; o < 8; ++o) CHECK(word(v2.qweight[o]) == (o | 0xF0u));
  CHECK(word(v2.qzeros[0]) == 0u);
  // v1 cannot store zero 0 (nibble z - 1): zero 1, so q = round(w) + 1 clamped to 15.
  group_int4::quantize(w, s, int4_packing::gptq, v1.qweight, v1.qzeros, v1.scales);
  for (std::size_t o = 0; o < 8; ++o) CHECK(word(v1.qweight[o]) == ((o + 1) | 0xF0u | 0x11111100u));
  CHECK(word(v1.qzeros[0]) == 0u);  // zero - 1 = 0 in every nibble
  std::vector<float> y(w.size());
  group_int4::dequantize(v1.qweight, v1.qzeros, v1.scales, s, int4_packing::gptq, y);
  for (std::size_t o = 0; o < 8; ++o) {
    CHECK(y[o * 32] == static_cast<float>(o));
    CHECK(y[o * 32 + 1] == 14.0f);  // 15 + 1 clamped to 15, minus the zero 1
    CHECK(y[o * 32 + 2] == 0.0f);
  }
}

TEST_CASE("the rules: GPTQ includes 0 in the range, AWQ clamps the zero point, ties to even") {
  // GPTQ: all-positive group [2, 4]: xmin = 0, xmax = 4, scale 4/15, zero 0.
  auto g = group_int4::gptq_params(2.0f, 4.0f);
  CHECK(g.scale == 4.0f / 15.0f);
  CHECK(g.zero == 0);
  // AWQ: [2, 4]: scale 2/15, zero -round(2 / (2/15)) = -15 -> clamped to 0.
  auto a = group_int4::awq_params(2.0f, 4.0f);
  CHECK(a.scale == 2.0f / 15.0f);
  CHECK(a.zero == 0);
  // AWQ: [-1, 0.875]: scale 1.875/15 = 0.125, zero -round(-8) = 8; 0.0625/0.125 = 0.5 -> 0 (even) + 8.
  a = group_int4::awq_params(-1.0f, 0.875f);
  CHECK(a.scale == 0.125f);
  CHECK(a.zero == 8);
  CHECK(group_int4::quantize_value(0.0625f, a) == 8);
  CHECK(group_int4::quantize_value(0.1875f, a) == 10);  // 1.5 -> 2
  CHECK(group_int4::quantize_value(-5.0f, a) == 0);     // clamped
  CHECK(group_int4::quantize_value(5.0f, a) == 15);
}

TEST_CASE("random matrices: SIMD dequantize equals the reference, round-trip bound") {
  std::mt19937 rng(2024);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (std::size_t group : {32u, 64u, 128u}) {
    // out 8, 24: partial 16-column tiles only; 136: full tiles plus a tail (17 AWQ word columns).
    for (auto [out, in] : {std::pair<std::size_t, std::size_t>{8, 128}, {24, 256}, {64, 384}, {136, 256}}) {
      const shape s{out, in, group};
      if (in % group != 0) continue;
      std::vector<float> w(out * in);
      for (auto& v : w) v = normal(rng) + (rng() % 50 == 0 ? 0.5f : 0.0f);
      for (int4_packing p : {int4_packing::gptq, int4_packing::gptq_v2, int4_packing::awq}) {
        packed q(s);
        group_int4::quantize(w, s, p, q.qweight, q.qzeros, q.scales);
        std::vector<float> ref(w.size());
        group_int4::dequantize_reference(q.qweight, q.qzeros, q.scales, s, p, ref);
        for_each_simd_arch([&]<class Arch>() {
          std::vector<float> y(w.size());
          group_int4::dequantize<Arch>(q.qweight, q.qzeros, q.scales, s, p, y);
          REQUIRE(std::memcmp(y.data(), ref.data(), 4 * y.size()) == 0);
        });
        for (std::size_t o = 0; o < out; ++o)
          for (std::size_t i = 0; i < in; ++i) {
            const float scale = detail::fp16_bits_to_float(q.scales[(i / group) * out + o].bits);
            // Half a step, plus one step where v1 moved a zero point of 0 to 1, plus the fp16 scale error.
            const float bound = scale * (p == int4_packing::gptq ? 1.51f : 0.51f) + 15.0f * scale / 1024.0f;
            REQUIRE(std::fabs(w[o * in + i] - ref[o * in + i]) <= bound);
          }
      }
      // Random packed words decode identically on every path.
      packed r(s);
      for (auto& x : r.qweight) x = static_cast<std::int32_t>(rng());
      for (auto& x : r.qzeros) x = static_cast<std::int32_t>(rng());
      for (auto& x : r.scales) x = fp16::from_bits(static_cast<std::uint16_t>(rng() % 0x7C00));
      for (int4_packing p : {int4_packing::gptq, int4_packing::awq}) {
        std::vector<float> ref(w.size()), y(w.size());
        group_int4::dequantize_reference(r.qweight, r.qzeros, r.scales, s, p, ref);
        for_each_simd_arch([&]<class Arch>() {
          group_int4::dequantize<Arch>(r.qweight, r.qzeros, r.scales, s, p, y);
          REQUIRE(std::memcmp(y.data(), ref.data(), 4 * y.size()) == 0);
        });
      }
    }
  }
}

TEST_CASE("outputs of 16 MiB or more (streaming stores when 64-byte aligned) equal the reference") {
  // 1032 x 4096 floats = 16.1 MiB: 64 full GPTQ tiles and an 8-column tail, 8 AWQ tiles and a 1-word tail.
  const shape s{1032, 4096, 128};
  std::mt19937 rng(77);
  packed r(s);
  for (auto& x : r.qweight) x = static_cast<std::int32_t>(rng());
  for (auto& x : r.qzeros) x = static_cast<std::int32_t>(rng());
  for (auto& x : r.scales) x = fp16::from_bits(static_cast<std::uint16_t>(rng() % 0x7C00));
  const std::size_t n = s.out_features * s.in_features;
  std::vector<float> ref(n), storage(n + 16);
  for (int4_packing p : {int4_packing::gptq, int4_packing::awq}) {
    group_int4::dequantize_reference(r.qweight, r.qzeros, r.scales, s, p, ref);
    // Aligned (streamed) and misaligned by one float (ordinary stores).
    const std::size_t first = (64 - reinterpret_cast<std::uintptr_t>(storage.data()) % 64) % 64 / sizeof(float);
    for (std::size_t offset : {first, first + 1}) {
      const std::span<float> y(storage.data() + offset, n);
      for_each_simd_arch([&]<class Arch>() {
        std::fill(y.begin(), y.end(), -1.0f);
        group_int4::dequantize<Arch>(r.qweight, r.qzeros, r.scales, s, p, y);
        REQUIRE(std::memcmp(y.data(), ref.data(), 4 * n) == 0);
      });
    }
  }
}

template <class F>
void check_buffer(std::size_t out) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> w(out * F::in_features);
  for (auto& v : w) v = normal(rng);
  std::vector<std::byte> bytes(storage_bytes<F>(w.size()));
  quantize<F>(w, bytes);
  const shape s{out, F::in_features, F::group_size};
  packed q(s);
  group_int4::quantize(w, s, F::packing, q.qweight, q.qzeros, q.scales);
  CHECK(bytes.size() == 4 * (q.qweight.size() + q.qzeros.size()) + 2 * q.scales.size());
  CHECK(std::memcmp(bytes.data(), q.qweight.data(), 4 * q.qweight.size()) == 0);
  CHECK(std::memcmp(bytes.data() + 4 * q.qweight.size(), q.qzeros.data(), 4 * q.qzeros.size()) == 0);
  CHECK(std::memcmp(bytes.data() + 4 * (q.qweight.size() + q.qzeros.size()), q.scales.data(), 2 * q.scales.size()) ==
        0);
  std::vector<float> ref(w.size());
  dequantize<F, scalar_arch>(bytes, ref);
  for_each_simd_arch([&]<class Arch>() {
    std::vector<float> y(w.size());
    dequantize<F, Arch>(bytes, y);
    CHECK(std::memcmp(y.data(), ref.data(), 4 * y.size()) == 0);
  });
}

TEST_CASE("qmath::quantize<formats::gptq_int4 / gptq_v2_int4 / awq_int4>: layout and SIMD equality") {
  check_buffer<formats::gptq_int4<256>>(16);
  check_buffer<formats::gptq_v2_int4<192, 64>>(8);
  check_buffer<formats::awq_int4<128, 32>>(24);
  static_assert(formats::awq_int4<4096>::info.id == format_id::awq_int4);
  static_assert(storage_bytes<formats::gptq_int4<128>>(128 * 8) == 128 * 8 / 2 + 8 * 2 + 8 / 2);
}

TEST_CASE("group INT4 error paths") {
  const shape s{8, 64, 32};
  std::vector<float> w(8 * 64, 0.5f);
  packed q(s);
  CHECK_THROWS_WITH(group_int4::quantize(w, shape{8, 64, 48}, int4_packing::awq, q.qweight, q.qzeros, q.scales),
                    Catch::Contains("group size 48 is not 32, 64 or 128"));
  CHECK_THROWS_WITH(group_int4::quantize(w, shape{16, 32 + 8, 32}, int4_packing::awq, q.qweight, q.qzeros, q.scales),
                    Catch::Contains("in_features 40 is not a positive multiple of the group size 32"));
  CHECK_THROWS_WITH(group_int4::quantize(w, shape{4, 128, 32}, int4_packing::gptq, q.qweight, q.qzeros, q.scales),
                    Catch::Contains("out_features 4 is not a positive multiple of 8"));
  CHECK_THROWS_AS(group_int4::quantize(std::span(w).first(100), s, int4_packing::gptq, q.qweight, q.qzeros, q.scales),
                  qmath::error);
  CHECK_THROWS_WITH(
      group_int4::quantize(w, s, int4_packing::gptq, std::span(q.qweight).first(10), q.qzeros, q.scales),
      Catch::Contains("qweight has 10 words, 64 expected"));
  CHECK_THROWS_AS(group_int4::dequantize(q.qweight, std::span(q.qzeros).first(1), q.scales, s, int4_packing::awq, w),
                  qmath::error);
  CHECK_THROWS_AS(group_int4::dequantize(q.qweight, q.qzeros, std::span(q.scales).first(3), s, int4_packing::awq, w),
                  qmath::error);
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    w[77] = bad;
    CHECK_THROWS_WITH(group_int4::quantize(w, s, int4_packing::awq, q.qweight, q.qzeros, q.scales),
                      Catch::Contains("NaN or infinity at row 1 column 13"));
  }
  // The single-buffer API: 4 rows of 128 are not a multiple of 8 output rows.
  std::vector<float> x(4 * 128, 1.0f);
  std::vector<std::byte> bytes(storage_bytes<formats::gptq_int4<128>>(x.size()));
  CHECK_THROWS_WITH(quantize<formats::gptq_int4<128>>(x, bytes), Catch::Contains("out_features 4"));
  CHECK_THROWS_AS(quantize<formats::gptq_int4<128>>(std::span<const float>(x).first(100), bytes), qmath::error);
}

TEST_CASE("a group of subnormals (a scale that underflows to 0) quantizes to its zero point, huge ranges saturate") {
  // GPTQ's (max - min) / 15 is 0 for such a group and its -min / scale
  // divides by zero; the fp16 scale is 0 in any case, so the group is zeros.
  const shape s{8, 32, 32};
  for (const int4_packing p : {int4_packing::gptq, int4_packing::gptq_v2, int4_packing::awq}) {
    INFO(static_cast<int>(p));
    std::vector<float> w(8 * 32);
    for (std::size_t i = 0; i < w.size(); ++i)
      w[i] = std::bit_cast<float>(static_cast<std::uint32_t>(i % 4)) * (i % 2 ? -1.0f : 1.0f);  // -3 to 2 x 2^-149
    w[40] = -std::numeric_limits<float>::max();  // row 1: a range past FLT_MAX (scale infinity)
    w[41] = std::numeric_limits<float>::max();
    packed q(s);
    group_int4::quantize(w, s, p, q.qweight, q.qzeros, q.scales);
    std::vector<float> back(w.size(), -1.0f);
    group_int4::dequantize(q.qweight, q.qzeros, q.scales, s, p, back);
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (i / 32 == 1) continue;
      CHECK(back[i] == 0.0f);
    }
  }
}

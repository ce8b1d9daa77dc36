// The 2-bit and ternary formats' scalar references: golden blocks worked out
// by hand from ggml's rules (src/ggml-quants.c, src/ggml-common.h), constexpr
// round trips, exhaustive checks of the code tables, the BitNet absmean rule
// and its TQ packing, and the error paths of the descriptors.
#include <qmath/formats/group_int2.hpp>
#include <qmath/formats/q2_k.hpp>
#include <qmath/formats/ternary.hpp>
#include <qmath/formats/tq1_0.hpp>
#include <qmath/formats/tq2_0.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "catch.hpp"

using namespace qmath;

namespace {

// TQ2_0 golden input: amax 1; x[0] = 1 (code 2), x[32] = -1 (code 0),
// x[64] = 0.4 (lroundf 0 -> code 1), x[96] = 0.5 (lroundf rounds the tie away
// from zero -> code 2), x[128] = -0.5 (-> code 0), every other element 0 (code 1).
constexpr std::array<float, 256> tq_golden_input() {
  std::array<float, 256> x{};
  x[0] = 1.f;
  x[32] = -1.f;
  x[64] = 0.4f;
  x[96] = 0.5f;
  x[128] = -0.5f;
  return x;
}

constexpr formats::tq2_0::block tq2_golden = formats::tq2_0::quantize_block(tq_golden_input());
// byte 0 = c(x0) | c(x32) << 2 | c(x64) << 4 | c(x96) << 6 = 2 | 0 | 1 << 4 | 2 << 6 = 0x92
static_assert(tq2_golden.qs[0] == 0x92);
// all four codes 1: 0b01010101
static_assert(tq2_golden.qs[1] == 0x55 && tq2_golden.qs[31] == 0x55 && tq2_golden.qs[63] == 0x55);
// byte 32 (second 128): x128 -> 0, the rest 1: 0 | 1 << 2 | 1 << 4 | 1 << 6 = 0x54
static_assert(tq2_golden.qs[32] == 0x54);
static_assert(tq2_golden.d == 0x3C00);  // fp16(1.0)

constexpr std::array<float, 256> tq2_golden_output() {
  std::array<float, 256> y{};
  formats::tq2_0::dequantize_block(tq2_golden, y);
  return y;
}
static_assert(tq2_golden_output()[0] == 1.f && tq2_golden_output()[32] == -1.f && tq2_golden_output()[64] == 0.f &&
              tq2_golden_output()[96] == 1.f && tq2_golden_output()[128] == -1.f && tq2_golden_output()[200] == 0.f);

// TQ1_0 golden: x[0] = 1 (trit 2), x[32] = -1 (trit 0), x[255] = 1 (trit 2), the rest 0 (trit 1).
constexpr std::array<float, 256> tq1_golden_input() {
  std::array<float, 256> x{};
  x[0] = 1.f;
  x[32] = -1.f;
  x[255] = 1.f;
  return x;
}
constexpr formats::tq1_0::block tq1_golden = formats::tq1_0::quantize_block(tq1_golden_input());
// qs[0]: trits of x0, x32, x64, x96, x128 = 2,0,1,1,1 -> 2*81 + 0*27 + 9 + 3 + 1 = 175;
// ceil(175 * 256 / 243) = ceil(184.36) = 185
static_assert(tq1_golden.qs[0] == 185);
// all five trits 1: 121 -> ceil(127.47) = 128
static_assert(tq1_golden.qs[1] == 128 && tq1_golden.qs[47] == 128);
// qh[j]: trits of x240+j, x244+j, x248+j, x252+j, times 3: (27+9+3+1)*3 = 120 -> ceil(126.4) = 127
static_assert(tq1_golden.qh[0] == 127 && tq1_golden.qh[2] == 127);
// qh[3]: x243, x247, x251, x255 = 1,1,1,2: (27+9+3+2)*3 = 123 -> ceil(129.58) = 130
static_assert(tq1_golden.qh[3] == 130);
static_assert(tq1_golden.d == 0x3C00);
// Decoding 185: digit 0 = (185*3)>>8 = 2; digit 1: 185*3 mod 256 = 43, (43*3)>>8 = 0.
static_assert(formats::tq1_0::digit(185, 0) == 2 && formats::tq1_0::digit(185, 1) == 0 &&
              formats::tq1_0::digit(185, 2) == 1);
// Decoding 130, digit 3: 130*27 mod 256 = 182, (182*3)>>8 = 2.
static_assert(formats::tq1_0::digit(130, 3) == 2 && formats::tq1_0::digit(130, 0) == 1);

// Q2_K golden 1: every sub-block is 0,1,2,3,0,1,2,3,... The search starts at
// min 0, max 3, iscale 1, codes = x and error 0, which no candidate beats.
// scale 1 -> 4-bit scale nearest(15/1 * 1) = 15, d = fp16(1/15) = 0x2C44
// (0.066650390625); all mins are -0 so dmin = 0. Requantize with
// d*15 = 0.999755859375: x / 0.99976 rounds back to x. Codes of byte l are
// (l%4) in each of the four planes: (l%4) * 0b01010101.
constexpr std::array<float, 256> q2k_golden_input(float offset) {
  std::array<float, 256> x{};
  for (std::size_t i = 0; i < 256; ++i) x[i] = static_cast<float>(i % 4) + offset;
  return x;
}
constexpr formats::q2_k::block q2k_golden = formats::q2_k::quantize_block(q2k_golden_input(0.f));
static_assert(q2k_golden.d == 0x2C44 && q2k_golden.dmin == 0);
static_assert(q2k_golden.scales[0] == 0x0F && q2k_golden.scales[15] == 0x0F);
static_assert(q2k_golden.qs[0] == 0 && q2k_golden.qs[1] == 85 && q2k_golden.qs[2] == 170 && q2k_golden.qs[3] == 255 &&
              q2k_golden.qs[63] == 255);

// Q2_K golden 2: -1,0,1,2,... min -1, max 2, scale 1, the_min 1: scale and min
// nibbles both 15, d = dmin = fp16(1/15). Requantize (x + 0.99976)/0.99976 gives
// 0,1,2,3 (-1 -> -0.00024 -> 0). Dequantize: 0.999755859375 * q - 0.999755859375.
constexpr formats::q2_k::block q2k_golden_min = formats::q2_k::quantize_block(q2k_golden_input(-1.f));
static_assert(q2k_golden_min.d == 0x2C44 && q2k_golden_min.dmin == 0x2C44);
static_assert(q2k_golden_min.scales[0] == 0xFF && q2k_golden_min.scales[9] == 0xFF);
static_assert(q2k_golden_min.qs[5] == 85 && q2k_golden_min.qs[38] == 170);

constexpr std::array<float, 256> q2k_golden_output() {
  std::array<float, 256> y{};
  formats::q2_k::dequantize_block(q2k_golden_min, y);
  return y;
}
static_assert(q2k_golden_output()[0] == -0.999755859375f && q2k_golden_output()[1] == 0.f &&
              q2k_golden_output()[2] == 0.999755859375f && q2k_golden_output()[255] == 1.99951171875f);

// int2_group<64> golden: element i = i / 16 (plane s holds the value s). lo 0,
// hi 3: m = 0, d = fp16(1) = 0x3C00, code = s, every byte 0 | 1<<2 | 2<<4 | 3<<6 = 0xE4.
constexpr std::array<float, 64> int2_golden_input() {
  std::array<float, 64> x{};
  for (std::size_t i = 0; i < 64; ++i) x[i] = static_cast<float>(i / 16);
  return x;
}
constexpr auto int2_golden = formats::int2_group<64>::quantize_block(int2_golden_input());
static_assert(int2_golden.d == 0x3C00 && int2_golden.m == 0 && int2_golden.qs[0] == 0xE4 && int2_golden.qs[15] == 0xE4);

// int2_group<16> golden: x = -2 + 0.5 * (i % 4) ... range [-2, -0.5]: m = fp16(-2) = 0xC000,
// d = fp16(0.5) = 0x3800; code of element i is i % 4; plane = 4 bytes, element i in byte i % 4,
// bits 2 * (i / 4): byte j holds code j in all four planes: j * 0b01010101.
constexpr std::array<float, 16> int2_small_input() {
  std::array<float, 16> x{};
  for (std::size_t i = 0; i < 16; ++i) x[i] = -2.f + 0.5f * static_cast<float>(i % 4);
  return x;
}
constexpr auto int2_small = formats::int2_group<16>::quantize_block(int2_small_input());
static_assert(int2_small.m == 0xC000 && int2_small.d == 0x3800);
static_assert(int2_small.qs[0] == 0 && int2_small.qs[1] == 0x55 && int2_small.qs[2] == 0xAA && int2_small.qs[3] == 0xFF);

template <class F, std::size_t N>
constexpr bool round_trips(const std::array<float, N>& x) {
  std::array<float, N> y{};
  F::dequantize_block(F::quantize_block(x), y);
  return y == x;
}
static_assert(round_trips<formats::int2_group<64>>(int2_golden_input()));
static_assert(round_trips<formats::int2_group<16>>(int2_small_input()));
static_assert(round_trips<formats::tq1_0>(tq1_golden_input()));

// All-zero blocks: scale 0 and the zero code everywhere.
constexpr std::array<float, 256> zeros{};
static_assert(formats::tq2_0::quantize_block(zeros).d == 0 && formats::tq2_0::quantize_block(zeros).qs[7] == 0x55);
static_assert(formats::tq1_0::quantize_block(zeros).qs[40] == 128);  // trits 1,1,1,1,1
static_assert(formats::q2_k::quantize_block(zeros).d == 0 && formats::q2_k::quantize_block(zeros).dmin == 0 &&
              formats::q2_k::quantize_block(zeros).qs[0] == 0 && formats::q2_k::quantize_block(zeros).scales[0] == 0);

// Layout sizes: the ggml structs (ggml-common.h) and the format table agree.
static_assert(sizeof(formats::tq2_0::block) == 66 && sizeof(formats::tq1_0::block) == 54 &&
              sizeof(formats::q2_k::block) == 84 && sizeof(formats::int2_group<64>::block) == 20 &&
              sizeof(formats::int2_group<16>::block) == 8);

// ggml's nearest_int rounds half to even.
static_assert(detail::lowbit::ggml_nearest_int(0.5f) == 0 && detail::lowbit::ggml_nearest_int(1.5f) == 2 &&
              detail::lowbit::ggml_nearest_int(-2.5f) == -2 && detail::lowbit::ggml_nearest_int(-0.51f) == -1);

}  // namespace

TEST_CASE("TQ1_0: packing and ggml's digit extraction agree on all 3^5 trit patterns") {
  for (unsigned pattern = 0; pattern < 243; ++pattern) {
    std::uint8_t trits[5];
    for (unsigned n = 0, p = pattern; n < 5; ++n, p /= 3) trits[4 - n] = static_cast<std::uint8_t>(p % 3);
    const std::uint8_t byte = formats::tq1_0::pack_trits(trits, 5);
    for (unsigned n = 0; n < 5; ++n) REQUIRE(formats::tq1_0::digit(byte, n) == trits[n]);
  }
  for (unsigned pattern = 0; pattern < 81; ++pattern) {  // qh: 4 trits, shifted by one digit
    std::uint8_t trits[4];
    for (unsigned n = 0, p = pattern; n < 4; ++n, p /= 3) trits[3 - n] = static_cast<std::uint8_t>(p % 3);
    const std::uint8_t byte = formats::tq1_0::pack_trits(trits, 4);
    for (unsigned n = 0; n < 4; ++n) REQUIRE(formats::tq1_0::digit(byte, n) == trits[n]);
  }
}

TEST_CASE("TQ2_0 / TQ1_0 dequantize every byte value as ggml's formulas say") {
  formats::tq2_0::block b2{};
  b2.d = 0x4000;  // 2.0
  formats::tq1_0::block b1{};
  b1.d = 0x4000;
  for (unsigned v = 0; v < 256; ++v) {
    for (auto& q : b2.qs) q = static_cast<std::uint8_t>(v);
    std::array<float, 256> y{};
    formats::tq2_0::dequantize_block(b2, y);
    for (unsigned n = 0; n < 4; ++n)  // element 32n + m of each half: ((v >> 2n) & 3) - 1
      REQUIRE(y[32 * n + 5] == static_cast<float>(static_cast<int>((v >> (2 * n)) & 3) - 1) * 2.f);
    for (auto& q : b1.qs) q = static_cast<std::uint8_t>(v);
    for (auto& q : b1.qh) q = static_cast<std::uint8_t>(v);
    formats::tq1_0::dequantize_block(b1, y);
    for (unsigned n = 0; n < 5; ++n) {
      const int digit = ((static_cast<unsigned>(static_cast<std::uint8_t>(v * std::array{1u, 3u, 9u, 27u, 81u}[n]))) * 3) >> 8;
      REQUIRE(y[32 * n + 7] == static_cast<float>(digit - 1) * 2.f);
      REQUIRE(y[160 + 16 * n + 3] == static_cast<float>(digit - 1) * 2.f);
      if (n < 4) REQUIRE(y[240 + 4 * n + 1] == static_cast<float>(digit - 1) * 2.f);
    }
  }
}

TEST_CASE("Q2_K dequantize follows d * (sc & 15) * q - dmin * (sc >> 4) for every scale byte and code") {
  formats::q2_k::block b{};
  b.d = 0x3555;     // 0.333251953125
  b.dmin = 0x2E66;  // 0.099975585937
  const float d = detail::fp16_bits_to_float(b.d), dmin = detail::fp16_bits_to_float(b.dmin);
  for (unsigned sc = 0; sc < 256; ++sc) {
    for (auto& s : b.scales) s = static_cast<std::uint8_t>(sc);
    for (unsigned l = 0; l < 64; ++l) b.qs[l] = static_cast<std::uint8_t>(l * 37 + sc);
    std::array<float, 256> y{};
    formats::q2_k::dequantize_block(b, y);
    for (std::size_t i = 0; i < 256; ++i) {
      const std::size_t half = i / 128, k = (i % 128) / 32, l = i % 32;
      const int q = (b.qs[32 * half + l] >> (2 * k)) & 3;
      const double expected = static_cast<double>(d) * (sc & 15) * q - static_cast<double>(dmin) * (sc >> 4);
      REQUIRE(y[i] == static_cast<float>(expected));  // one rounding: the products are exact
    }
  }
}

TEST_CASE("int2_group: every code decodes to q * d + m in its plane") {
  formats::int2_group<32>::block b{};
  b.d = 0x3A00;  // 0.75
  b.m = 0xBC00;  // -1
  for (unsigned v = 0; v < 256; ++v) {
    for (auto& q : b.qs) q = static_cast<std::uint8_t>(v);
    std::array<float, 32> y{};
    formats::int2_group<32>::dequantize_block(b, y);
    for (std::size_t i = 0; i < 32; ++i)
      REQUIRE(y[i] == static_cast<float>((v >> (2 * (i / 8))) & 3) * 0.75f - 1.f);
  }
}

TEST_CASE("the constexpr references reject NaN and Inf at run time too") {
  std::array<float, 256> x{};
  x[17] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(formats::tq2_0::quantize_block(x), qmath::error);
  CHECK_THROWS_AS(formats::tq1_0::quantize_block(x), qmath::error);
  CHECK_THROWS_AS(formats::q2_k::quantize_block(x), qmath::error);
  std::array<float, 64> g{};
  g[3] = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH(formats::int2_group<64>::quantize_block(g), Catch::Contains("NaN or Inf"));
}

TEST_CASE("BitNet absmean: s = 1/mean|W|, round half to even, clamp to [-1, 1], scale 1/s") {
  // mean |W| = (0.5 + 1 + 1.5 + 0.25 + 0 + 2.75 + 0.5 + 1.5) / 8 = 1, s = 1:
  // 0.5 -> 0 (tie to even), -1 -> -1, 1.5 -> 2 -> clamp 1, -0.25 -> 0, 0, 2.75 -> 1, -0.5 -> 0, -1.5 -> -2 -> -1
  const std::array<float, 8> w{0.5f, -1.f, 1.5f, -0.25f, 0.f, 2.75f, -0.5f, -1.5f};
  std::array<std::int8_t, 8> t{};
  const float scale = formats::ternary_absmean::quantize(w, t);
  CHECK(scale == 1.f);
  CHECK(t == std::array<std::int8_t, 8>{0, -1, 1, 0, 0, 1, 0, -1});
  // mean 0.25 -> s = 4: 0.125*4 = 0.5 -> 0; 0.375*4 = 1.5 -> 2 -> 1; -0.375 -> -1
  const std::array<float, 4> w2{0.125f, 0.375f, -0.375f, 0.125f};
  std::array<std::int8_t, 4> t2{};
  CHECK(formats::ternary_absmean::quantize(w2, t2) == 0.25f);
  CHECK(t2 == std::array<std::int8_t, 4>{0, 1, -1, 0});
  // all zeros: mean clamps to 1e-5, trits 0
  const std::array<float, 4> w3{};
  std::array<std::int8_t, 4> t3{1, 1, 1, 1};
  CHECK(formats::ternary_absmean::quantize(w3, t3) == 1.f / (1.f / 1e-5f));
  CHECK(t3 == std::array<std::int8_t, 4>{0, 0, 0, 0});
  std::array<float, 4> back{};
  formats::ternary_absmean::dequantize(t2, 0.25f, back);
  CHECK(back == std::array<float, 4>{0.f, 0.25f, -0.25f, 0.f});
}

TEST_CASE("BitNet absmean trits packed as TQ2_0 / TQ1_0 decode to trit * fp16(scale)") {
  std::mt19937 rng(2024);
  std::normal_distribution<float> gauss(0.f, 0.02f);
  std::vector<float> w(256 * 6);
  for (auto& v : w) v = gauss(rng);
  std::vector<std::int8_t> t(w.size());
  const float scale = formats::ternary_absmean::quantize(w, t);
  const float scale16 = detail::lowbit::fp16_round_trip(scale);
  const auto check = [&]<class F>(F) {
    std::vector<std::byte> bytes(storage_bytes<F>(w.size()));
    formats::ternary_absmean::pack<F>(t, scale, bytes);
    for (std::size_t b = 0; b < w.size() / 256; ++b) {
      typename F::block block;
      std::memcpy(&block, bytes.data() + b * sizeof(block), sizeof(block));
      std::array<float, 256> y{};
      F::dequantize_block(block, y);
      for (std::size_t i = 0; i < 256; ++i) REQUIRE(y[i] == static_cast<float>(t[256 * b + i]) * scale16);
    }
  };
  check(formats::tq2_0{});
  check(formats::tq1_0{});
  // Error paths: sizes, and a value that is not a trit.
  std::vector<std::byte> wrong(65);
  CHECK_THROWS_WITH(formats::ternary_absmean::pack<formats::tq2_0>(std::span(t).first(256), scale, wrong),
                    Catch::Contains("tq2_0 storage for 256 trits is 66 bytes, the byte span has 65"));
  std::vector<std::byte> one_block(54);
  CHECK_THROWS_WITH(formats::ternary_absmean::pack<formats::tq1_0>(std::span(t).first(100), scale, one_block),
                    Catch::Contains("100 trits are not a whole number of 256-element blocks"));
  t[3] = 2;
  CHECK_THROWS_WITH(formats::ternary_absmean::pack<formats::tq1_0>(std::span(t).first(256), scale, one_block),
                    Catch::Contains("trit 3 is 2"));
  std::vector<float> bad(8, 1.f);
  bad[6] = std::numeric_limits<float>::quiet_NaN();
  std::vector<std::int8_t> bad_t(8);
  CHECK_THROWS_WITH(formats::ternary_absmean::quantize(bad, bad_t), Catch::Contains("weight 6 is not finite"));
  CHECK_THROWS_AS(formats::ternary_absmean::quantize(bad, std::span(bad_t).first(7)), qmath::error);
}

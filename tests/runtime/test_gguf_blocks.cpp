// GGUF 32-element block formats (Q8_0, Q4_0, Q4_1, IQ4_NL): the constexpr
// scalar references against golden blocks worked out by hand from ggml's
// reference quantizers (src/ggml-quants.c, quantize_row_*_ref and
// dequantize_row_*), round-trip error bounds, and the error paths.
#include <qmath/formats/iq4_nl.hpp>
#include <qmath/formats/q4_0.hpp>
#include <qmath/formats/q4_1.hpp>
#include <qmath/formats/q5_0.hpp>
#include <qmath/formats/q5_1.hpp>
#include <qmath/formats/q8_0.hpp>
#include <qmath/formats/reference.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "catch.hpp"

using namespace qmath;

namespace {

template <std::size_t N>
constexpr std::array<std::byte, N> bytes(const std::array<int, N>& v) {
  std::array<std::byte, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = static_cast<std::byte>(v[i]);
  return out;
}

template <class F>
std::vector<std::byte> quantize_ref(const std::vector<float>& x) {
  std::vector<std::byte> out(storage_bytes<F>(x.size()));
  reference::quantize<F>(x, out);
  return out;
}

template <class F>
std::vector<float> dequantize_ref(const std::vector<std::byte>& q, std::size_t n) {
  std::vector<float> out(n);
  reference::dequantize<F>(q, out);
  return out;
}

std::vector<float> normal_data(std::size_t n, std::uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> x(n);
  for (auto& v : x) v = dist(rng);
  return x;
}

// Assertion inside the million-element loops: Catch only sees the failures.
#define REQUIRE_EACH(condition) \
  do {                               \
    if (!(condition)) REQUIRE(condition); \
  } while (false)

// --- Golden blocks ---------------------------------------------------------

// Q8_0: amax = 127 so d = 127/127 = 1 (fp16 0x3c00) and id = 1; qs = roundf(x),
// ties away from zero: -63.5 -> -64, 0.5 -> 1, -0.5 -> -1, 2.5 -> 3 (ties to even
// would give 2), 1.5 -> 2.
constexpr std::array<float, 32> q8_input{127.0f, -63.5f, 0.5f, -0.5f, 1.5f, 2.5f, 0.49999997f};
constexpr auto q8_expected = bytes<34>({0x00, 0x3c, 0x7f, 0xc0, 0x01, 0xff, 0x02, 0x03});

// Q4_0: |-8| (element 3) and |8| (element 5) tie for the largest |x|; the first
// wins, so max = -8, d = -8/-8 = 1 (0x3c00), id = 1, q = MIN(15, (int)(x + 8.5)):
// x0 = 0 -> 8, x1 = 0.5 -> 9, x2 = -0.5 -> 8 (7.5 + 0.5 is exactly 8), x3 = -8 -> 0,
// x5 = 8 -> 16 clamped to 15, x16 = 3.49 -> 11, x17 = -3.5 -> 5, zeros -> 8.
// Byte j = q[j] | q[j + 16] << 4.
constexpr std::array<float, 32> q4_0_input{0.0f, 0.5f, -0.5f, -8.0f, 0.0f, 8.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
                                           0.0f, 0.0f, 0.0f,  0.0f,  0.0f, 3.49f, -3.5f};
constexpr auto q4_0_expected = bytes<18>(
    {0x00, 0x3c, 0xb8, 0x59, 0x88, 0x80, 0x88, 0x8f, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88});

// Q4_1: min = -1, max = 14, d = 15/15 = 1 (0x3c00), m = -1 (0xbc00), id = 1,
// q = MIN(15, (int)(x + 1 + 0.5)): -1 -> 0, 14 -> 15, 0.49 -> 1, 0.5 -> 2, 3 -> 4,
// 13.6 -> 15 (15.1 truncated).
constexpr std::array<float, 32> q4_1_input = [] {
  std::array<float, 32> x{};
  for (auto& v : x) v = 3.0f;
  x[0] = -1.0f, x[1] = 14.0f, x[2] = 0.49f, x[3] = 0.5f, x[16] = 13.6f;
  return x;
}();
constexpr auto q4_1_expected = bytes<20>({0x00, 0x3c, 0x00, 0xbc, 0xf0, 0x4f, 0x41, 0x42, 0x44, 0x44, 0x44, 0x44,
                                          0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44});

// IQ4_NL: x[j] = -kvalues[j % 16]. The largest |x| is x[0] = 127, so d = 127/-127
// = -1 and id = -1: id*x[j] is kvalues[j % 16] exactly, and best_index_int8 picks
// index j % 16. The refit sums sum(x^2 q x) = -sum(q^4) and sum(x^2 q q) = sum(q^4)
// round identically, so d = -1 exactly (0xbc00). Byte j = j | j << 4.
constexpr std::array<float, 32> iq4_input = [] {
  std::array<float, 32> x{};
  for (std::size_t j = 0; j < 32; ++j) x[j] = -static_cast<float>(detail::iq4nl::values[j % 16]);
  return x;
}();
constexpr auto iq4_expected = bytes<18>(
    {0x00, 0xbc, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff});

// Q5_0: max = -16 (element 0), d = -16/-16 = 1, id = 1, q = MIN(31, (int)(x + 16.5)):
// -16 -> 0, 16 -> 32 clamped to 31, 0.5 -> 17, 15.49 -> 31, -0.5 -> 16, zeros -> 16.
// qs[j] = (q[j] & 15) | (q[j+16] & 15) << 4; bit i of the little-endian qh is q[i] >> 4:
// every q but q[0] has it, so qh = 0xfffffffe.
constexpr std::array<float, 32> q5_0_input{-16.0f, 16.0f, 0.5f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15.49f, -0.5f};
constexpr auto q5_0_expected = bytes<22>({0x00, 0x3c, 0xfe, 0xff, 0xff, 0xff, 0xf0, 0x0f, 0x01});

// Q5_1: min = -1, max = 30, d = 31/31 = 1, m = -1 (0xbc00), q = (int)(x + 1 + 0.5):
// -1 -> 0, 30 -> 31, 0.49 -> 1, 0.5 -> 2, 15 -> 16, 29.6 -> 31. Only q[0], q[2], q[3]
// lack bit 4: qh = 0xfffffff2.
constexpr std::array<float, 32> q5_1_input = [] {
  std::array<float, 32> x{};
  for (auto& v : x) v = 15.0f;
  x[0] = -1.0f, x[1] = 30.0f, x[2] = 0.49f, x[3] = 0.5f, x[16] = 29.6f;
  return x;
}();
constexpr auto q5_1_expected = bytes<24>({0x00, 0x3c, 0x00, 0xbc, 0xf2, 0xff, 0xff, 0xff, 0xf0, 0x0f, 0x01, 0x02});

template <class F, std::size_t N>
constexpr std::array<std::byte, N> quantize_constexpr(const std::array<float, 32>& x) {
  std::array<std::byte, N> out{};
  reference::quantize<F>(x, out);
  return out;
}

template <class F, std::size_t N>
constexpr std::array<float, 32> dequantize_constexpr(const std::array<std::byte, N>& q) {
  std::array<float, 32> out{};
  reference::dequantize<F>(q, out);
  return out;
}

// The references run in constant expressions.
static_assert(quantize_constexpr<formats::q8_0, 34>(q8_input) == q8_expected);
static_assert(quantize_constexpr<formats::q4_0, 18>(q4_0_input) == q4_0_expected);
static_assert(quantize_constexpr<formats::q4_1, 20>(q4_1_input) == q4_1_expected);
static_assert(quantize_constexpr<formats::iq4_nl, 18>(iq4_input) == iq4_expected);
static_assert(dequantize_constexpr<formats::iq4_nl, 18>(iq4_expected) == iq4_input);
static_assert(dequantize_constexpr<formats::q8_0, 34>(q8_expected)[1] == -64.0f);
static_assert(dequantize_constexpr<formats::q4_0, 18>(q4_0_expected)[5] == 7.0f);
static_assert(dequantize_constexpr<formats::q4_1, 20>(q4_1_expected)[16] == 14.0f);
static_assert(formats::q8_0::quantize_block(std::array<float, 32>{}).d == 0);
static_assert(quantize_constexpr<formats::q5_0, 22>(q5_0_input) == q5_0_expected);
static_assert(quantize_constexpr<formats::q5_1, 24>(q5_1_input) == q5_1_expected);
static_assert(dequantize_constexpr<formats::q5_0, 22>(q5_0_expected)[1] == 15.0f);
static_assert(dequantize_constexpr<formats::q5_0, 22>(q5_0_expected)[0] == -16.0f);
static_assert(dequantize_constexpr<formats::q5_1, 24>(q5_1_expected)[16] == 30.0f);
static_assert(dequantize_constexpr<formats::q5_1, 24>(q5_1_expected)[4] == 15.0f);

}  // namespace

TEST_CASE("Q8_0 golden block: roundf ties away from zero, d = amax / 127") {
  const std::vector<float> x(q8_input.begin(), q8_input.end());
  const auto q = quantize_ref<formats::q8_0>(x);
  CHECK(std::equal(q.begin(), q.end(), q8_expected.begin()));
  const auto y = dequantize_ref<formats::q8_0>(q, 32);
  const std::vector<float> expected{127, -64, 1, -1, 2, 3, 0};
  for (std::size_t j = 0; j < 32; ++j) CHECK(y[j] == (j < expected.size() ? expected[j] : 0.0f));
}

TEST_CASE("Q4_0 golden block: first extreme wins, +8 clamps to 15, split-half nibbles") {
  const std::vector<float> x(q4_0_input.begin(), q4_0_input.end());
  const auto q = quantize_ref<formats::q4_0>(x);
  CHECK(std::equal(q.begin(), q.end(), q4_0_expected.begin()));
  const auto y = dequantize_ref<formats::q4_0>(q, 32);
  CHECK(y[3] == -8.0f);
  CHECK(y[5] == 7.0f);
  CHECK(y[16] == 3.0f);
  CHECK(y[17] == -3.0f);
  CHECK(y[2] == 0.0f);
  // The same block with the signs swapped picks max = +8: d = -1.
  std::vector<float> flipped = x;
  for (auto& v : flipped) v = -v;
  const auto qf = quantize_ref<formats::q4_0>(flipped);
  CHECK(qf[0] == std::byte{0x00});
  CHECK(qf[1] == std::byte{0xbc});
}

TEST_CASE("Q4_1 golden block: d = (max - min) / 15, m = min") {
  const std::vector<float> x(q4_1_input.begin(), q4_1_input.end());
  const auto q = quantize_ref<formats::q4_1>(x);
  CHECK(std::equal(q.begin(), q.end(), q4_1_expected.begin()));
  const auto y = dequantize_ref<formats::q4_1>(q, 32);
  CHECK(y[0] == -1.0f);
  CHECK(y[1] == 14.0f);
  CHECK(y[2] == 0.0f);
  CHECK(y[3] == 1.0f);
  CHECK(y[4] == 3.0f);
}

TEST_CASE("IQ4_NL golden block and best_index_int8's tie rule") {
  const std::vector<float> x(iq4_input.begin(), iq4_input.end());
  const auto q = quantize_ref<formats::iq4_nl>(x);
  CHECK(std::equal(q.begin(), q.end(), iq4_expected.begin()));
  // Ties go to the upper neighbour: -4.5 is halfway between -10 and 1, -57 between
  // -65 and -49; just below a midpoint picks the lower one.
  CHECK(detail::iq4nl::best_index(-4.5f) == 8);
  CHECK(detail::iq4nl::best_index(std::nextafter(-4.5f, -10.0f)) == 7);
  CHECK(detail::iq4nl::best_index(-57.0f) == 4);
  CHECK(detail::iq4nl::best_index(-200.0f) == 0);
  CHECK(detail::iq4nl::best_index(113.0f) == 15);
  // A block of 127, 57 and zeros: id = -1, so 57 -> -57 is a tie and takes -49
  // (index 4); zeros -> -0 between -10 and 1 take 1 (index 8).
  std::vector<float> y(32, 0.0f);
  y[0] = 127.0f;
  y[1] = 57.0f;
  const auto qy = quantize_ref<formats::iq4_nl>(y);
  CHECK(qy[2] == std::byte{0x80});
  CHECK(qy[3] == std::byte{0x84});
  CHECK(qy[4] == std::byte{0x88});
}

TEST_CASE("Q5_0 and Q5_1 golden blocks: the fifth bit goes to qh, little-endian") {
  const std::vector<float> x0(q5_0_input.begin(), q5_0_input.end());
  const auto q0 = quantize_ref<formats::q5_0>(x0);
  CHECK(std::equal(q0.begin(), q0.end(), q5_0_expected.begin()));
  const auto y0 = dequantize_ref<formats::q5_0>(q0, 32);
  CHECK(y0[2] == 1.0f);
  CHECK(y0[16] == 15.0f);
  CHECK(y0[17] == 0.0f);
  const std::vector<float> x1(q5_1_input.begin(), q5_1_input.end());
  const auto q1 = quantize_ref<formats::q5_1>(x1);
  CHECK(std::equal(q1.begin(), q1.end(), q5_1_expected.begin()));
  const auto y1 = dequantize_ref<formats::q5_1>(q1, 32);
  CHECK(y1[0] == -1.0f);
  CHECK(y1[1] == 30.0f);
  CHECK(y1[2] == 0.0f);
  CHECK(y1[3] == 1.0f);
}

TEST_CASE("All-zero blocks give d = 0 and ggml's zero codes") {
  const std::vector<float> zeros(64, 0.0f);
  // Q8_0: id = 0, roundf(0) = 0.
  for (auto b : quantize_ref<formats::q8_0>(zeros)) CHECK(b == std::byte{0});
  // Q4_0: max stays +0, d = +0 / -8 = -0 (fp16 0x8000), id = 0, codes (int)(0 + 8.5) = 8.
  const auto q4 = quantize_ref<formats::q4_0>(zeros);
  CHECK(q4[0] == std::byte{0x00});
  CHECK(q4[1] == std::byte{0x80});
  for (std::size_t i = 2; i < 18; ++i) CHECK(q4[i] == std::byte{0x88});
  // Q4_1: d = 0, m = 0, codes (int)(0 * 0 + 0.5) = 0.
  for (auto b : quantize_ref<formats::q4_1>(zeros)) CHECK(b == std::byte{0});
  // IQ4_NL: amax < 1e-15 gives d = 0 and qmath's documented code 8 (value +1).
  const auto iq = quantize_ref<formats::iq4_nl>(zeros);
  CHECK(iq[0] == std::byte{0});
  CHECK(iq[1] == std::byte{0});
  for (std::size_t i = 2; i < 18; ++i) CHECK(iq[i] == std::byte{0x88});
  for (float v : dequantize_ref<formats::iq4_nl>(iq, 64)) CHECK(std::signbit(v) == false);
}

// --- Round-trip bounds -------------------------------------------------------
// With D = fp16(d) in fp16's normal range, |D - d| <= 2^-11 |d|. For Q8_0,
// |x*id - q| <= 1/2 and |q| <= 127, so |x - q D| <= d (1/2 + 127 * 2^-11) plus a
// few float roundings: d * 0.5625 covers it.

TEST_CASE("Q8_0 round trip stays within d * (1/2 + 127 * 2^-11)") {
  for (float scale : {1e-2f, 1.0f, 300.0f}) {
    const auto x = normal_data(32 * 2000, 11, scale);
    const auto y = dequantize_ref<formats::q8_0>(quantize_ref<formats::q8_0>(x), x.size());
    for (std::size_t b = 0; b < x.size() / 32; ++b) {
      float amax = 0;
      for (std::size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
      const double d = amax / 127.0;
      for (std::size_t j = 0; j < 32; ++j) REQUIRE_EACH(std::fabs(double{x[b * 32 + j]} - y[b * 32 + j]) <= 0.5625 * d);
    }
  }
}

// Q4_0: |x/d + 8 - q| <= 1/2 unless the code was clamped from 16 (x/d > 7.5),
// where the error is at most |d|; |q - 8| <= 8 adds 8 * 2^-11 |d| for fp16.
TEST_CASE("Q4_0 round trip stays within |d| / 2 (|d| where the top code clamps)") {
  const auto x = normal_data(32 * 4000, 12);
  const auto q = quantize_ref<formats::q4_0>(x);
  const auto y = dequantize_ref<formats::q4_0>(q, x.size());
  for (std::size_t b = 0; b < x.size() / 32; ++b) {
    const auto block = std::span<const float, 32>(x.data() + b * 32, 32);
    const double d = detail::gguf::signed_absmax(block) / -8.0;
    for (std::size_t j = 0; j < 32; ++j) {
      const double t = x[b * 32 + j] / d;
      const double bound = (t > 7.5 ? 1.0 : 0.5) + 8.0 / 2048 + 1e-5;
      REQUIRE_EACH(std::fabs(double{x[b * 32 + j]} - y[b * 32 + j]) <= bound * std::fabs(d));
    }
  }
}

// Q4_1: |(x - min)/d - q| <= 1/2; fp16 adds 15 * 2^-11 d for D and 2^-11 |min| for M.
TEST_CASE("Q4_1 round trip stays within d/2 plus the fp16 rounding of d and m") {
  for (float offset : {0.0f, 3.0f}) {
    auto x = normal_data(32 * 4000, 13);
    for (auto& v : x) v += offset;
    const auto y = dequantize_ref<formats::q4_1>(quantize_ref<formats::q4_1>(x), x.size());
    for (std::size_t b = 0; b < x.size() / 32; ++b) {
      const auto [min, max] = detail::gguf::scan_min_max(std::span<const float, 32>(x.data() + b * 32, 32));
      const double d = (double{max} - min) / 15;
      for (std::size_t j = 0; j < 32; ++j) {
        const double bound = d * (0.5 + 15.0 / 2048) + std::fabs(min) / 2048 + 1e-6 * (std::fabs(min) + 15 * d);
        REQUIRE_EACH(std::fabs(double{x[b * 32 + j]} - y[b * 32 + j]) <= bound);
      }
    }
  }
}

// Q5_0 and Q5_1: as Q4_0 and Q4_1 with 32 levels (codes 0..31, q - 16 up to 16).
TEST_CASE("Q5_0 and Q5_1 round trips stay within d/2 plus the fp16 rounding") {
  const auto x = normal_data(32 * 4000, 15);
  const auto y0 = dequantize_ref<formats::q5_0>(quantize_ref<formats::q5_0>(x), x.size());
  const auto y1 = dequantize_ref<formats::q5_1>(quantize_ref<formats::q5_1>(x), x.size());
  for (std::size_t b = 0; b < x.size() / 32; ++b) {
    const auto block = std::span<const float, 32>(x.data() + b * 32, 32);
    const double d0 = detail::gguf::signed_absmax(block) / -16.0;
    const auto [min, max] = detail::gguf::scan_min_max(block);
    const double d1 = (double{max} - min) / 31;
    for (std::size_t j = 0; j < 32; ++j) {
      const double v = x[b * 32 + j];
      const double bound0 = ((v / d0 > 15.5 ? 1.0 : 0.5) + 16.0 / 2048 + 1e-5) * std::fabs(d0);
      REQUIRE_EACH(std::fabs(v - y0[b * 32 + j]) <= bound0);
      const double bound1 = d1 * (0.5 + 31.0 / 2048) + std::fabs(min) / 2048 + 1e-6 * (std::fabs(min) + 31 * d1);
      REQUIRE_EACH(std::fabs(v - y1[b * 32 + j]) <= bound1);
    }
  }
}

// IQ4_NL: each code is the table value nearest to id * x (ties upward), and d is
// the least-squares scale sum(w q x) / sum(w q^2), w = x^2, up to float sums and fp16.
TEST_CASE("IQ4_NL codes are nearest table values and d is the weighted least-squares fit") {
  const auto x = normal_data(32 * 2000, 14);
  const auto q = quantize_ref<formats::iq4_nl>(x);
  for (std::size_t b = 0; b < x.size() / 32; ++b) {
    const auto block = detail::load_block<formats::iq4_nl::block>(q, b);
    const float max = detail::gguf::signed_absmax(std::span<const float, 32>(x.data() + b * 32, 32));
    const float id = 1 / (max / -127.0f);
    double sum_wqx = 0, sum_wqq = 0;
    for (std::size_t j = 0; j < 32; ++j) {
      const int code = j < 16 ? block.qs[j] & 15 : block.qs[j - 16] >> 4;
      const double scaled = double{id * x[b * 32 + j]};
      const double value = detail::iq4nl::values[static_cast<std::size_t>(code)];
      for (double other : detail::iq4nl::values) REQUIRE_EACH(std::fabs(scaled - value) <= std::fabs(scaled - other));
      const double w = double{x[b * 32 + j]} * x[b * 32 + j];
      sum_wqx += w * value * x[b * 32 + j];
      sum_wqq += w * value * value;
    }
    const double d = detail::fp16_bits_to_float(block.d);
    REQUIRE_EACH(std::fabs(d - sum_wqx / sum_wqq) <= std::fabs(sum_wqx / sum_wqq) * (1.0 / 2048 + 1e-5));
  }
}

// --- Errors ------------------------------------------------------------------

TEMPLATE_TEST_CASE("Reference rejects partial blocks, wrong sizes and non-finite data", "", formats::q8_0,
                   formats::q4_0, formats::q4_1, formats::q5_0, formats::q5_1, formats::iq4_nl) {
  using F = TestType;
  const std::size_t block_bytes = sizeof(typename F::block);
  std::vector<float> x(33, 1.0f);
  std::vector<std::byte> out(2 * block_bytes);
  CHECK_THROWS_WITH(reference::quantize<F>(x, out), Catch::Contains("33 elements are not a whole number"));
  x.resize(64);
  CHECK_THROWS_WITH(reference::quantize<F>(x, std::span(out).first(block_bytes)),
                    Catch::Contains("the byte span has " + std::to_string(block_bytes)));
  std::vector<float> y(33);
  CHECK_THROWS_AS(reference::dequantize<F>(out, y), qmath::error);
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    x.assign(96, 0.5f);
    x[70] = bad;
    std::vector<std::byte> q(3 * block_bytes);
    CHECK_THROWS_WITH(reference::quantize<F>(x, q), Catch::Contains("block 2 holds a non-finite value") &&
                                                        Catch::Contains("at element 70"));
    // Blocks before the bad one are written, nothing of it or after.
    CHECK(q[2 * block_bytes] == std::byte{0});
    CHECK_THROWS_AS(F::quantize_block(std::span<const float, 32>(x.data() + 64, 32)), qmath::error);
  }
  CHECK_NOTHROW(reference::quantize<F>(std::span<const float>{}, std::span<std::byte>{}));
}

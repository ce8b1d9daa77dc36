// GGUF K-quants (Q3_K .. Q8_K), IQ4_XS, MXFP4 and NVFP4: the constexpr references evaluated at
// compile time equal the same code run at run time, the integer square root
// of the constexpr path equals sqrtf, and the error paths. Bytes against the
// real ggml are checked by tests/ggml.
#include <qmath/quant.hpp>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "catch.hpp"

using namespace qmath;

namespace {

// A deterministic block with negative, positive, small and large values.
template <std::size_t N = 256>
constexpr std::array<float, N> sample_block(int salt) {
  std::array<float, N> x{};
  std::uint32_t state = 2463534242u + static_cast<std::uint32_t>(salt);
  for (std::size_t i = 0; i < N; ++i) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    const float unit = static_cast<float>(state >> 8) / 16777216.0f - 0.5f;  // [-0.5, 0.5)
    x[i] = unit * (i % 32 == 7 ? 40.f : 3.f) * static_cast<float>(1 + salt);
  }
  return x;
}

template <class F, std::size_t N>
std::vector<std::byte> run_time_block(const std::array<float, N>& x) {
  std::vector<std::byte> out(sizeof(typename F::block));
  quantize<F>(x, out);
  return out;
}

template <class F, int Salt>
void check_constexpr_equals_run_time() {
  static constexpr auto x = sample_block<F::info.block_elems>(Salt);
  static constexpr typename F::block at_compile_time = F::quantize_block(x);
  const auto raw = std::bit_cast<std::array<std::byte, sizeof(typename F::block)>>(at_compile_time);
  const auto at_run_time = run_time_block<F>(x);
  CHECK(std::memcmp(raw.data(), at_run_time.data(), raw.size()) == 0);
}

}  // namespace

TEST_CASE("sqrt_exact is sqrtf, correctly rounded", "[kquant]") {
  using detail::kquant::sqrt_exact;
  std::mt19937 rng(7);
  std::size_t checked = 0;
  for (int i = 0; i < (1 << 22); ++i) {
    const float x = detail::float_from_bits(rng() & 0x7fffffffu);
    if (!std::isfinite(x)) continue;
    ++checked;
    const float want = std::sqrt(x), got = sqrt_exact(x);
    if (std::memcmp(&want, &got, 4) != 0) FAIL("sqrt of " << x << ": " << got << " instead of " << want);
  }
  CHECK(checked > 4000000);
  for (float x : {0.f, -0.f, 1.f, 2.f, 4.f, 1e-45f, 1.17549435e-38f, 3.4028235e38f})
    CHECK(std::bit_cast<std::uint32_t>(sqrt_exact(x)) == std::bit_cast<std::uint32_t>(std::sqrt(x)));
  CHECK(std::isnan(sqrt_exact(-1.f)));
  CHECK(sqrt_exact(std::numeric_limits<float>::infinity()) == std::numeric_limits<float>::infinity());
}

TEST_CASE("K-quant references give the same bytes at compile time and at run time", "[kquant]") {
  check_constexpr_equals_run_time<formats::q4_k, 0>();
  check_constexpr_equals_run_time<formats::q4_k, 3>();
  check_constexpr_equals_run_time<formats::q6_k, 0>();
  check_constexpr_equals_run_time<formats::q6_k, 3>();
  check_constexpr_equals_run_time<formats::q5_k, 1>();
  check_constexpr_equals_run_time<formats::q3_k, 1>();
  check_constexpr_equals_run_time<formats::q3_k, 4>();
  check_constexpr_equals_run_time<formats::q8_k, 2>();
  check_constexpr_equals_run_time<formats::iq4_xs, 2>();
  check_constexpr_equals_run_time<formats::mxfp4, 5>();
  check_constexpr_equals_run_time<formats::nvfp4, 5>();
}

TEST_CASE("K-quant round trips stay within a fraction of the block's range", "[kquant]") {
  const auto x = sample_block(1);
  std::vector<float> y(256);
  std::vector<std::byte> q4(storage_bytes<formats::q4_k>(256)), q6(storage_bytes<formats::q6_k>(256));
  quantize<formats::q4_k>(x, q4);
  dequantize<formats::q4_k>(q4, y);
  float worst4 = 0, worst6 = 0;
  for (std::size_t i = 0; i < 256; ++i) worst4 = std::fmax(worst4, std::fabs(x[i] - y[i]));
  quantize<formats::q6_k>(x, q6);
  dequantize<formats::q6_k>(q6, y);
  for (std::size_t i = 0; i < 256; ++i) worst6 = std::fmax(worst6, std::fabs(x[i] - y[i]));
  // Range 40 in the outlier sub-blocks: 15 steps (Q4_K) and 63 steps (Q6_K) with
  // scales rounded to 6 / 8 bits.
  CHECK(worst4 < 40.f / 15);
  CHECK(worst6 < 40.f / 63);
  CHECK(worst6 < worst4);
}

TEST_CASE("K-quants reject NaN and Inf naming the block, and wrong sizes", "[kquant]") {
  std::vector<float> x(512, 1.f);
  x[300] = std::numeric_limits<float>::quiet_NaN();
  std::vector<std::byte> out(storage_bytes<formats::q4_k>(512));
  CHECK_THROWS_WITH(quantize<formats::q4_k>(x, out), Catch::Contains("block 1"));
  std::vector<std::byte> out6(storage_bytes<formats::q6_k>(512));
  CHECK_THROWS_WITH((quantize<formats::q6_k, scalar_arch>(x, out6)), Catch::Contains("block 1"));
  CHECK_THROWS_AS(quantize<formats::q6_k>(std::span<const float>(x).first(100), out), qmath::error);
  std::vector<float> y(256);
  CHECK_THROWS_AS(dequantize<formats::q4_k>(std::span<const std::byte>(out).first(143), y), qmath::error);
}

TEST_CASE("floor_log2_exact is floorf(log2f(x)) of the C library", "[fp4]") {
  using qmath::detail::fp4::floor_log2_exact;
  std::mt19937 rng(11);
  std::size_t differ = 0, checked = 0;
  for (int i = 0; i < (1 << 22); ++i) {
    const float x = detail::float_from_bits(static_cast<std::uint32_t>(rng() % 0x7f7fffffu) + 1);  // every positive finite float
    ++checked;
    differ += floor_log2_exact(x) != std::floor(std::log2(x));
  }
  // Just below each power of two, where log2f rounds up to the integer.
  for (int e = -149; e < 128; ++e) {
    const float p = std::ldexp(1.0f, e);
    float x = std::nextafter(p, 0.f);
    for (int k = 0; k < 64 && x > 0; ++k, x = std::nextafter(x, 0.f)) {
      ++checked;
      differ += floor_log2_exact(x) != std::floor(std::log2(x));
    }
  }
  CHECK(checked > 4000000);
  CHECK(differ == 0);
}

TEST_CASE("quality.hpp measures every new format, and more bits lose less", "[kquant][quality]") {
  std::mt19937 rng(3);
  std::normal_distribution<float> gauss(0.f, 1.f);
  std::vector<float> x(std::size_t{1} << 16);
  for (auto& v : x) v = gauss(rng);
  const double q3 = round_trip_error<formats::q3_k>(x).sqnr_db, q4 = round_trip_error<formats::q4_k>(x).sqnr_db,
               q5 = round_trip_error<formats::q5_k>(x).sqnr_db, q6 = round_trip_error<formats::q6_k>(x).sqnr_db,
               q8 = round_trip_error<formats::q8_k>(x).sqnr_db;
  CHECK(q3 < q4);
  CHECK(q4 < q5);
  CHECK(q5 < q6);
  CHECK(q6 < q8);
  // About 6 dB a bit: Q4_K near 23 dB on N(0,1), Q6_K near 35 dB.
  CHECK(q4 > 20);
  CHECK(q6 > 32);
  const double xs = round_trip_error<formats::iq4_xs>(x).sqnr_db, mx = round_trip_error<formats::mxfp4>(x).sqnr_db,
               nv = round_trip_error<formats::nvfp4>(x).sqnr_db;
  CHECK(mx < nv);  // power-of-two scale per 32 against an E4M3 scale per 16
  CHECK(nv < xs);
  CHECK(mx > 15);
}

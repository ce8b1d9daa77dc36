// The 2-bit and ternary array kernels (TQ2_0, TQ1_0, Q2_K, int2_group): every
// SIMD path compiled into this program writes the bytes and floats of the
// scalar reference, on random data of many lengths (fixed seeds), on the
// corner cases of each rule, and on random block bytes; plus the error paths
// of the public API and the error bounds of the round trip.
#include <qmath/kernels/group_int2.hpp>
#include <qmath/kernels/q2_k.hpp>
#include <qmath/kernels/tq1_0.hpp>
#include <qmath/kernels/tq2_0.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "catch.hpp"

using namespace qmath;

namespace {

// Calls f.template operator()<Arch>() for every instruction set compiled into this
// program: the scalar reference, the default (best) one, and the AVX2 and
// generic-xsimd (SSE4.2) paths that an AVX-512 build also contains.
template <class Fn>
void for_each_simd_arch(Fn&& f) {
#if !QMATH_DISABLE_SIMD
  f.template operator()<default_arch>();
#if XSIMD_WITH_AVX2
  if constexpr (!std::is_same_v<default_arch, xsimd::avx2>) f.template operator()<xsimd::avx2>();
#endif
#if XSIMD_WITH_SSE4_2
  f.template operator()<xsimd::sse4_2>();
#endif
#else
  (void)f;
#endif
}

template <class A>
std::string arch_name() {
  return A::name();
}

// Bitwise equal, or both NaN (a NaN's payload may come from either operand).
bool same_float(float a, float b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return std::memcmp(&a, &b, sizeof(float)) == 0;
}

// Data shaped to hit each rule's corners: Gaussian with a random scale per
// block, ternary values (+-a, 0), exact 0.5 ties of x / amax, all-zero blocks,
// tiny and subnormal values, constant runs, heavy tails and large magnitudes.
std::vector<float> make_data(std::size_t n, std::size_t block, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss(0.f, 1.f);
  std::student_t_distribution<float> heavy(2.f);
  std::uniform_int_distribution<int> kind(0, 8), trit(-1, 1), small(-4, 4);
  std::vector<float> x(n);
  for (std::size_t b = 0; b < n / block; ++b) {
    float* v = x.data() + b * block;
    const float scale = std::ldexp(1.f, small(rng) * 3);
    switch (kind(rng)) {
      case 0:
        for (std::size_t i = 0; i < block; ++i) v[i] = static_cast<float>(trit(rng)) * scale;
        break;
      case 1:  // x / amax exactly +-0.5 and +-1
        for (std::size_t i = 0; i < block; ++i) v[i] = static_cast<float>(small(rng)) * 0.25f * scale;
        break;
      case 2:
        break;  // all zero
      case 3:
        for (std::size_t i = 0; i < block; ++i) v[i] = gauss(rng) * 1e-39f;  // subnormal
        break;
      case 4:
        for (std::size_t i = 0; i < block; ++i) v[i] = i % 16 < 8 ? 0.75f * scale : gauss(rng) * scale;  // constant runs
        break;
      case 5:
        for (std::size_t i = 0; i < block; ++i) v[i] = std::abs(gauss(rng)) * 3000.f;  // positive, large
        break;
      case 6:  // heavy tails: a few sub-blocks far wider than the rest
        for (std::size_t i = 0; i < block; ++i) v[i] = std::clamp(heavy(rng), -12.f, 12.f) * scale;  // within fp16 for int2
        break;
      default:
        for (std::size_t i = 0; i < block; ++i) v[i] = gauss(rng) * scale;
    }
  }
  return x;
}

template <class F>
void check_quantize_matches_reference(std::size_t blocks, std::uint32_t seed) {
  constexpr std::size_t elems = F::info.block_elems;
  const auto x = make_data(blocks * elems, elems, seed);
  const std::size_t bytes = storage_bytes<F>(x.size());
  std::vector<std::byte> expected(bytes);
  quantize<F, scalar_arch>(x, expected);
  for_each_simd_arch([&]<class A>() {
    std::vector<std::byte> got(bytes, std::byte{0xAA});
    quantize<F, A>(x, got);
    INFO(F::info.name << " on " << arch_name<A>() << ", " << blocks << " blocks, seed " << seed);
    CHECK(got == expected);
  });
}

template <class F>
void check_dequantize_matches_reference(std::size_t blocks, std::uint32_t seed) {
  constexpr std::size_t elems = F::info.block_elems;
  std::mt19937 rng(seed);
  std::vector<std::byte> raw(storage_bytes<F>(blocks * elems));
  for (auto& byte : raw) byte = static_cast<std::byte>(rng() & 0xFF);
  std::vector<float> expected(blocks * elems);
  dequantize<F, scalar_arch>(raw, expected);
  for_each_simd_arch([&]<class A>() {
    std::vector<float> got(expected.size(), -7.f);
    dequantize<F, A>(raw, got);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < got.size(); ++i) mismatches += !same_float(got[i], expected[i]);
    INFO(F::info.name << " on " << arch_name<A>() << ", " << blocks << " blocks, seed " << seed);
    CHECK(mismatches == 0);
  });
}

// An output of 4 Mi + 256 floats (past stream_store::stream_threshold_bytes,
// so the AVX-512 / AVX2 paths use streaming stores) at a 64-byte aligned start
// and one float past it (the writer's realigning path, with masked partial
// first and last lines). Every float equals the scalar reference and the
// guard lines on both sides keep their canary.
template <class F>
void check_streamed_dequantize_matches_reference(std::uint32_t seed) {
  constexpr std::size_t elems = F::info.block_elems;
  constexpr std::size_t n = (std::size_t{4} << 20) + 256;
  static_assert(n % elems == 0 && n * sizeof(float) >= (std::size_t{16} << 20));
  std::mt19937 rng(seed);
  std::vector<std::byte> raw(storage_bytes<F>(n));
  for (auto& byte : raw) byte = static_cast<std::byte>(rng() & 0xFF);
  std::vector<float> expected(n);
  dequantize<F, scalar_arch>(raw, expected);
  constexpr std::size_t guard = 32;  // floats on each side
  constexpr float canary = -7.f;
  std::vector<float> storage(n + 2 * guard + 16);
  const std::size_t to_line = (64 - reinterpret_cast<std::uintptr_t>(storage.data()) % 64) % 64 / sizeof(float);
  for (const std::size_t misalign : {std::size_t{0}, std::size_t{1}}) {
    float* const start = storage.data() + to_line + guard + misalign;
    REQUIRE(reinterpret_cast<std::uintptr_t>(start) % 64 == misalign * sizeof(float));
    for_each_simd_arch([&]<class A>() {
      std::fill(storage.begin(), storage.end(), canary);
      dequantize<F, A>(raw, std::span<float>(start, n));
      std::size_t mismatches = 0, guard_hits = 0;
      for (std::size_t i = 0; i < n; ++i) mismatches += !same_float(start[i], expected[i]);
      for (std::size_t i = 1; i <= guard; ++i) guard_hits += (start[-static_cast<std::ptrdiff_t>(i)] != canary) + (start[n - 1 + i] != canary);
      INFO(F::info.name << " on " << arch_name<A>() << ", output start " << misalign << " floats past a 64-byte line");
      CHECK(mismatches == 0);
      CHECK(guard_hits == 0);
    });
  }
}

template <class F>
void check_all_paths(std::initializer_list<std::size_t> block_counts) {
  std::uint32_t seed = 1234;
  for (const std::size_t blocks : block_counts) {
    check_quantize_matches_reference<F>(blocks, seed++);
    check_dequantize_matches_reference<F>(blocks, seed++);
  }
}

}  // namespace

TEST_CASE("TQ2_0: every SIMD path equals the scalar reference") {
  check_all_paths<formats::tq2_0>({1, 2, 3, 8, 33});
}

TEST_CASE("TQ1_0: every SIMD path equals the scalar reference") {
  check_all_paths<formats::tq1_0>({1, 2, 3, 8, 33});
}

TEST_CASE("Q2_K: every SIMD path equals the scalar reference") {
  check_all_paths<formats::q2_k>({1, 2, 5, 24});
}

TEST_CASE("int2_group: every SIMD path equals the scalar reference, for every group size") {
  check_all_paths<formats::int2_group<64>>({1, 3, 64});
  check_all_paths<formats::int2_group<16>>({1, 5, 17});
  check_all_paths<formats::int2_group<32>>({2, 9});
  check_all_paths<formats::int2_group<48>>({3, 7});
  check_all_paths<formats::int2_group<128>>({1, 10});
  check_all_paths<formats::int2_group<256>>({1, 4});
}

TEST_CASE("outputs of 16 MiB and more (streaming stores) equal the scalar reference, aligned or not") {
  check_streamed_dequantize_matches_reference<formats::tq2_0>(91);
  check_streamed_dequantize_matches_reference<formats::tq1_0>(92);
  check_streamed_dequantize_matches_reference<formats::q2_k>(93);
  check_streamed_dequantize_matches_reference<formats::int2_group<64>>(94);
  check_streamed_dequantize_matches_reference<formats::int2_group<32>>(95);
}

TEST_CASE("the public API rejects partial blocks and wrong byte spans before writing") {
  std::vector<float> x(300, 1.f);
  std::vector<std::byte> out(66, std::byte{0x11});
  CHECK_THROWS_WITH((quantize<formats::tq2_0>(x, out)),
                    Catch::Contains("300 elements are not a whole number of tq2_0 blocks of 256"));
  x.resize(256);
  std::vector<std::byte> short_out(65);
  CHECK_THROWS_WITH((quantize<formats::tq2_0>(x, short_out)),
                    Catch::Contains("tq2_0 storage for 256 elements is 66 bytes, the byte span has 65"));
  std::vector<std::byte> q2k(83);
  CHECK_THROWS_AS((quantize<formats::q2_k>(x, q2k)), qmath::error);
  std::vector<float> y(255);
  std::vector<std::byte> tq1(54);
  CHECK_THROWS_AS((dequantize<formats::tq1_0>(tq1, y)), qmath::error);
  std::vector<float> g(64);
  std::vector<std::byte> int2_bytes(19);
  CHECK_THROWS_WITH((dequantize<formats::int2_group<64>>(int2_bytes, g)),
                    Catch::Contains("int2-group storage for 64 elements is 20 bytes, the byte span has 19"));
}

TEST_CASE("NaN or Inf in the input names the block on every path") {
  const auto check = [&]<class F>(F) {
    constexpr std::size_t elems = F::info.block_elems;
    for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity()}) {
      std::vector<float> x(3 * elems, 0.25f);
      x[2 * elems + 5] = bad;
      std::vector<std::byte> out(storage_bytes<F>(x.size()));
      const auto expect = Catch::Contains(std::string(F::info.name) + " block 2 holds a non-finite value");
      CHECK_THROWS_WITH((quantize<F, scalar_arch>(x, out)), expect);
      for_each_simd_arch([&]<class A>() { CHECK_THROWS_WITH((quantize<F, A>(x, out)), expect); });
    }
  };
  check(formats::tq2_0{});
  check(formats::tq1_0{});
  check(formats::q2_k{});
  check(formats::int2_group<64>{});
  check(formats::int2_group<16>{});
}

TEST_CASE("int2_group rejects a group whose range does not fit fp16") {
  std::vector<float> x(64, 0.f);
  x[3] = 1e6f;  // (max - min) / 3 > 65504
  std::vector<std::byte> out(20);
  CHECK_THROWS_WITH((quantize<formats::int2_group<64>, scalar_arch>(x, out)),
                    Catch::Contains("does not fit the fp16 scale and minimum"));
  for_each_simd_arch([&]<class A>() { CHECK_THROWS_AS((quantize<formats::int2_group<64>, A>(x, out)), qmath::error); });
  x[3] = 0.f;
  x[7] = -70000.f;  // the minimum itself overflows fp16
  CHECK_THROWS_AS((quantize<formats::int2_group<64>>(x, out)), qmath::error);
}

TEST_CASE("int2_group: the round-trip error is within d/2 plus the fp16 rounding of d and m") {
  std::mt19937 rng(77);
  std::normal_distribution<float> gauss(0.f, 1.f);
  constexpr std::uint32_t G = 64;
  using F = formats::int2_group<G>;
  std::vector<float> x(G * 500);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = gauss(rng) * (1.f + static_cast<float>(i / G % 7)) + 0.3f;
  std::vector<std::byte> bytes(storage_bytes<F>(x.size()));
  std::vector<float> y(x.size());
  quantize<F>(x, bytes);
  dequantize<F>(bytes, y);
  std::size_t violations = 0;
  for (std::size_t g = 0; g < x.size() / G; ++g) {
    float lo = x[g * G], hi = lo;
    for (std::size_t i = 0; i < G; ++i) lo = std::min(lo, x[g * G + i]), hi = std::max(hi, x[g * G + i]);
    F::block b;
    std::memcpy(&b, bytes.data() + g * sizeof(b), sizeof(b));
    const float d = detail::fp16_bits_to_float(b.d), m = detail::fp16_bits_to_float(b.m);
    const float bound = d / 2 + std::abs(lo - m) + 3 * std::abs(d - (hi - lo) / 3) + 1e-5f * (std::abs(lo) + std::abs(hi));
    for (std::size_t i = 0; i < G; ++i) violations += std::abs(x[g * G + i] - y[g * G + i]) > bound;
  }
  CHECK(violations == 0);
}

TEST_CASE("TQ2_0 and TQ1_0 reproduce ternary weights exactly when the scale is an fp16 value") {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> trit(-1, 1);
  std::vector<float> x(256 * 40);
  for (std::size_t b = 0; b < 40; ++b) {
    const float scale = std::ldexp(1.f + static_cast<float>(b) / 64.f, static_cast<int>(b % 9) - 6);  // 7-bit mantissa: fp16-exact
    for (std::size_t i = 0; i < 256; ++i) x[256 * b + i] = static_cast<float>(trit(rng)) * scale;
    x[256 * b + b] = scale;  // amax is the scale
  }
  const auto round_trip = [&]<class F>(F) {
    std::vector<std::byte> bytes(storage_bytes<F>(x.size()));
    std::vector<float> y(x.size());
    quantize<F>(x, bytes);
    dequantize<F>(bytes, y);
    CHECK(y == x);
  };
  round_trip(formats::tq2_0{});
  round_trip(formats::tq1_0{});
}

TEST_CASE("Q2_K: the round trip of Gaussian data stays within the 2-bit error it should have") {
  std::mt19937 rng(99);
  std::normal_distribution<float> gauss(0.f, 1.f);
  std::vector<float> x(256 * 64);
  for (auto& v : x) v = gauss(rng);
  std::vector<std::byte> bytes(storage_bytes<formats::q2_k>(x.size()));
  std::vector<float> y(x.size());
  quantize<formats::q2_k>(x, bytes);
  dequantize<formats::q2_k>(bytes, y);
  double se = 0, max_error = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double e = std::abs(static_cast<double>(x[i]) - y[i]);
    se += e * e;
    max_error = std::max(max_error, e);
  }
  const double rmse = std::sqrt(se / static_cast<double>(x.size()));
  INFO("rmse " << rmse << ", max " << max_error);
  // 4 levels over a 16-element range of about 3.5 sigma: uniform error of a
  // step of ~1.1 sigma has rmse ~0.33; the weighted search does a bit better.
  CHECK(rmse < 0.36);
  CHECK(rmse > 0.15);  // and it really is 2-bit: a far smaller error would mean a broken test input
  // Each sub-block's codes span its range: no element is off by more than a step and a half.
  CHECK(max_error < 2.5);
}

// GGUF 32-element block kernels: every architecture path (AVX-512BW, AVX2 and
// the default, as far as this build enables them) writes exactly the bytes and
// floats of the scalar reference, on random and adversarial data of many
// lengths, on every fp16 scale, and on the exact decision boundaries that the
// SIMD paths rebuild (roundf ties, IQ4_NL's best_index_int8 thresholds); and
// the output writers (ordinary and streaming stores) at every alignment.
#include <qmath/kernels/iq4_nl.hpp>
#include <qmath/kernels/q4_0.hpp>
#include <qmath/kernels/q4_1.hpp>
#include <qmath/kernels/q5_0.hpp>
#include <qmath/kernels/q5_1.hpp>
#include <qmath/kernels/q8_0.hpp>
#include <qmath/kernels/detail/stream_store.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "catch.hpp"

using namespace qmath;

namespace {

#if defined(QMATH_TEST_FAST_SWEEPS) && QMATH_TEST_FAST_SWEEPS
constexpr std::uint32_t sweep_stride = 97;  // sample the exhaustive sweeps under sanitizers
#else
constexpr std::uint32_t sweep_stride = 1;
#endif

// The architectures to compare with the scalar reference in this build.
template <class... A>
struct arch_list {};
using simd_archs = arch_list<default_arch
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
                             ,
                             xsimd::avx2
#endif
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX512BW
                             ,
                             xsimd::avx512bw
#endif
                             >;

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// Quantize and dequantize with Arch and with the reference; both must agree bit for bit.
template <class F, class Arch>
void check_same_as_reference(const std::vector<float>& x, const std::string& label) {
  INFO(label << ", " << Arch::name() << ", " << x.size() << " elements");
  const std::size_t bytes = storage_bytes<F>(x.size());
  std::vector<std::byte> expected(bytes), got(bytes, std::byte{0xa5});
  quantize<F, scalar_arch>(x, expected);
  quantize<F, Arch>(x, got);
  REQUIRE(got == expected);
  std::vector<float> y_expected(x.size()), y_got(x.size(), -1.0f);
  dequantize<F, scalar_arch>(expected, y_expected);
  dequantize<F, Arch>(expected, y_got);
  REQUIRE(same_bits(y_got, y_expected));
}

template <class F, class... A>
void check_all_archs(arch_list<A...>, const std::vector<float>& x, const std::string& label) {
  (check_same_as_reference<F, A>(x, label), ...);
}

// Test data: label and generator by seed and length.
std::vector<float> make_data(int kind, std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::cauchy_distribution<float> cauchy;
  std::uniform_int_distribution<int> small_int(-16, 16);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) {
    switch (kind) {
      case 0: x[i] = normal(rng); break;
      case 1: x[i] = cauchy(rng); break;
      case 2: x[i] = static_cast<float>(small_int(rng)) / 4; break;  // exact .5 ties after scaling
      case 3: x[i] = unit(rng) < 0.9f ? 0.0f : normal(rng); break;  // sparse, whole zero blocks
      case 4: x[i] = (unit(rng) < 0.5f ? -1.0f : 1.0f) * 0.5f * static_cast<float>(1 + small_int(rng) % 3); break;
      case 5: x[i] = normal(rng) * 1e-39f; break;  // subnormal: 1/d overflows
      case 6: x[i] = normal(rng) * 1e7f; break;     // fp16 scale overflows (Q8_0)
      case 7: x[i] = (i % 3 == 0 ? -0.0f : 0.0f) + (unit(rng) < 0.5f ? 0.0f : unit(rng) + 0.25f); break;  // zero min
      case 8: x[i] = 1.0f + unit(rng); break;  // all positive, constant-ish
      case 9: x[i] = normal(rng) * 3e19f; break;  // x^2 overflows (IQ4_NL NaN scale)
      default: break;
    }
  }
  if (kind == 10) {
    // Near the decision boundaries of every format: block extremes +-base, the
    // other values a few ulps around the points where the code changes (x/d at a
    // half-integer for Q8_0, Q4_0 and Q4_1; the IQ4_NL thresholds), so that a
    // product fused into the following add (an FMA) would pick another code.
    std::uniform_int_distribution<int> scheme_of(0, 3), nudge(-3, 3), step_of(0, 15);
    for (std::size_t b = 0; b < n / 32; ++b) {
      const float base = std::exp(normal(rng));
      const int scheme = scheme_of(rng);
      x[b * 32] = base;
      x[b * 32 + 1] = -base;
      for (std::size_t j = 2; j < 32; ++j) {
        const double k = step_of(rng) + 0.5;
        double v = 0;
        switch (scheme) {
          case 0: v = (k - 8) * base / 127 * 15; break;         // Q8_0: x*id at +-(m + 0.5)
          case 1: v = (k - 8) * base / 8; break;                // Q4_0: x/d + 8 at a half-integer
          case 2: v = -base + k * (2.0 * base / 15); break;     // Q4_1: (x - min)/d at a half-integer
          default: v = -detail::iq4nl::decision_threshold[static_cast<std::size_t>(step_of(rng)) % 15] * base / 127;
        }
        float f = static_cast<float>(v);
        const int steps = nudge(rng);
        for (int s = 0; s < (steps < 0 ? -steps : steps); ++s) f = std::nextafter(f, steps < 0 ? -1e30f : 1e30f);
        x[b * 32 + j] = std::clamp(f, -base, base);
      }
    }
  }
  return x;
}
constexpr int data_kinds = 11;

template <class F>
void check_random_data() {
  const std::size_t lengths[] = {0, 32, 64, 96, 32 * 7, 32 * 33, 100000};
  std::uint32_t seed = 1;
  for (int kind = 0; kind < data_kinds; ++kind)
    for (std::size_t n : lengths) check_all_archs<F>(simd_archs{}, make_data(kind, n, seed++), "kind " + std::to_string(kind));
}

}  // namespace

TEMPLATE_TEST_CASE("SIMD kernels equal the scalar reference on random and edge data", "", formats::q8_0,
                   formats::q4_0, formats::q4_1, formats::iq4_nl, formats::q5_0, formats::q5_1) {
  check_random_data<TestType>();
}

TEMPLATE_TEST_CASE("SIMD kernels: each block is independent of its neighbours' paths", "", formats::q8_0,
                   formats::q4_0, formats::q4_1, formats::iq4_nl, formats::q5_0, formats::q5_1) {
  // Blocks that take the scalar fallback (subnormal, zero min) interleaved with ordinary ones.
  std::vector<float> x;
  // 50 blocks: three whole groups of 16 (as the Q8_0 kernel takes them) and a partial one.
  for (int repeat = 0; repeat < 5; ++repeat)
    for (int kind : {0, 5, 7, 0, 3, 5, 2, 7, 8, 0}) {
      const auto block = make_data(kind, 32, static_cast<std::uint32_t>(x.size()));
      x.insert(x.end(), block.begin(), block.end());
    }
  check_all_archs<TestType>(simd_archs{}, x, "mixed blocks");
}

// Q8_0 with d = 1 (amax = 127 in the block) quantizes x to roundf(x): every
// float near each half-integer in [-127, 127], the ties themselves and their
// neighbours, go through the SIMD roundf emulation.
TEST_CASE("Q8_0 kernels reproduce roundf at and around every tie") {
  std::vector<float> x;
  for (int k = -127; k < 127; ++k) {
    float v = static_cast<float>(k) + 0.5f;
    for (int step = 0; step < 8; ++step) v = std::nextafter(v, -1000.0f);
    for (int step = 0; step < 17; ++step, v = std::nextafter(v, 1000.0f)) {
      if (x.size() % 32 == 0) x.push_back(127.0f);
      x.push_back(v);
    }
  }
  while (x.size() % 32 != 0) x.push_back(0.0f);
  check_all_archs<formats::q8_0>(simd_archs{}, x, "ties");
  std::vector<std::byte> q(storage_bytes<formats::q8_0>(x.size()));
  quantize<formats::q8_0>(x, q);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const auto code = static_cast<std::int8_t>(q[i / 32 * 34 + 2 + i % 32]);
    REQUIRE(code == static_cast<int>(std::round(x[i])));
  }
}

// The identity the Q8_0 kernels use for roundf, on every float below 2^24 in
// magnitude (above it every float is an integer), in two threads.
TEST_CASE("roundf(p) == trunc(p + copysign(0.5 - 2^-25, p)) for every float") {
  const float offset = kernels::block_kernel<formats::q8_0>::round_offset;
  std::vector<std::uint64_t> mismatches(2, 0);
  auto sweep = [&](std::uint32_t part) {
    const std::uint32_t end = detail::float_bits(16777216.0f);
    for (std::uint32_t bits = part * sweep_stride; bits < end; bits += 2 * sweep_stride) {
      const float p = detail::float_from_bits(bits);
      // p >= 0 here; round-to-nearest addition, trunc and roundf are all odd
      // functions, so the negative side is the mirror image.
      if (std::trunc(p + offset) != std::round(p)) ++mismatches[part];
    }
  };
  std::thread other(sweep, 1u);
  sweep(0u);
  other.join();
  CHECK(mismatches[0] + mismatches[1] == 0);
}

// Q5_0 and Q5_1 near their own decision boundaries (formats/q5_0.hpp,
// q5_1.hpp): block extremes +-base, the other values a few ulps around the
// points where x*id + 16.5 (Q5_0) or (x - min)*id + 0.5 (Q5_1) crosses an
// integer, over all 32 codes, so that the fifth bit (qh) flips between
// neighbours and a product fused into the add would pick another code. Block
// counts cover whole groups of 16 blocks and partial ones.
TEMPLATE_TEST_CASE("Q5 kernels equal the reference at every code boundary", "", formats::q5_0, formats::q5_1) {
  constexpr bool with_min = std::is_same_v<TestType, formats::q5_1>;
  for (std::size_t blocks : {std::size_t{1}, std::size_t{15}, std::size_t{16}, std::size_t{37}, std::size_t{2000}}) {
    std::mt19937 rng(static_cast<std::uint32_t>(blocks) * 7u + (with_min ? 1u : 0u));
    std::normal_distribution<float> normal;
    std::uniform_int_distribution<int> nudge(-3, 3), step_of(0, 31);
    std::vector<float> x(blocks * 32);
    for (std::size_t b = 0; b < blocks; ++b) {
      const float base = std::exp(normal(rng));
      x[b * 32] = base;
      x[b * 32 + 1] = -base;
      for (std::size_t j = 2; j < 32; ++j) {
        const double k = step_of(rng) + 0.5;
        const double v = with_min ? -base + k * (2.0 * base / 31) : (k - 16) * base / 16;
        float f = static_cast<float>(v);
        const int steps = nudge(rng);
        for (int s = 0; s < (steps < 0 ? -steps : steps); ++s) f = std::nextafter(f, steps < 0 ? -1e30f : 1e30f);
        x[b * 32 + j] = std::clamp(f, -base, base);
      }
    }
    check_all_archs<TestType>(simd_archs{}, x, "code boundaries, " + std::to_string(blocks) + " blocks");
  }
}

// Every fp16 scale (normal, subnormal, zero, Inf, NaN) with every code value.
TEMPLATE_TEST_CASE("Dequantize kernels equal the reference for every fp16 scale and code", "", formats::q8_0,
                   formats::q4_0, formats::q4_1, formats::iq4_nl, formats::q5_0, formats::q5_1) {
  using F = TestType;
  constexpr std::size_t block_bytes = sizeof(typename F::block);
  constexpr std::size_t header = std::is_same_v<F, formats::q4_1> || std::is_same_v<F, formats::q5_1> ? 4 : 2;
  constexpr bool five_bit = std::is_same_v<F, formats::q5_0> || std::is_same_v<F, formats::q5_1>;
  std::mt19937 rng(99);
  std::vector<std::byte> q;
  for (std::uint32_t d = 0; d < 65536; d += sweep_stride) {
    std::byte block[block_bytes];
    const auto d16 = static_cast<std::uint16_t>(d);
    std::memcpy(block, &d16, 2);
    if (header == 4) {  // Q4_1's and Q5_1's minimum: random fp16
      const auto m = static_cast<std::uint16_t>(rng());
      std::memcpy(block + 2, &m, 2);
    }
    for (std::size_t rep = 0; rep < (header + 32 == block_bytes ? 8 : 1); ++rep) {  // all 256 bytes for Q8_0
      for (std::size_t i = header; i < block_bytes; ++i)
        block[i] = five_bit ? static_cast<std::byte>(rng())  // random fifth bits (qh) and nibbles
                            : static_cast<std::byte>(header + 32 == block_bytes ? rep * 32 + (i - header) : (i - header) * 17);
      q.insert(q.end(), block, block + block_bytes);
    }
  }
  const std::size_t n = q.size() / block_bytes * 32;
  std::vector<float> expected(n);
  dequantize<F, scalar_arch>(q, expected);
  auto run = [&](auto arch) {
    using Arch = decltype(arch);
    std::vector<float> got(n);
    dequantize<F, Arch>(q, got);
    for (std::size_t i = 0; i < n; ++i) {
      const bool same = std::memcmp(&got[i], &expected[i], 4) == 0 || (std::isnan(got[i]) && std::isnan(expected[i]));
      if (!same) FAIL(Arch::name() << ": element " << i << " " << got[i] << " != " << expected[i]);
    }
  };
  [&]<class... A>(arch_list<A...>) { (run(A{}), ...); }(simd_archs{});
}

TEST_CASE("IQ4_NL decision thresholds equal best_index_int8 on both sides of each") {
  const auto& t = detail::iq4nl::decision_threshold;
  auto by_count = [&](float x) {
    int count = 0;
    for (float threshold : t) count += x >= threshold ? 1 : 0;
    return count;
  };
  for (std::size_t k = 0; k < t.size(); ++k) {
    // picks_upper turns true exactly at the threshold: this and monotonicity make the count exact.
    CHECK(detail::iq4nl::picks_upper(t[k], static_cast<int>(k) + 1));
    CHECK_FALSE(detail::iq4nl::picks_upper(std::nextafter(t[k], -1000.0f), static_cast<int>(k) + 1));
    float v = t[k];
    for (int step = 0; step < 64; ++step) v = std::nextafter(v, -1000.0f);
    for (int step = 0; step < 128; ++step, v = std::nextafter(v, 1000.0f))
      REQUIRE(detail::iq4nl::best_index(v) == by_count(v));
  }
  // And on a sweep of floats over the whole table range, split over two threads.
  std::vector<int> mismatches(2, 0);
  auto sweep = [&](int part) {
    std::uint32_t lo = detail::float_bits(-140.0f) & 0x7fffffffu;  // magnitudes up to 140, both signs
    for (std::uint32_t bits = static_cast<std::uint32_t>(part); bits < lo; bits += 2 * 257 * sweep_stride)
      for (float sign : {1.0f, -1.0f}) {
        const float v = sign * detail::float_from_bits(bits);
        if (detail::iq4nl::best_index(v) != by_count(v)) ++mismatches[static_cast<std::size_t>(part)];
      }
  };
  std::thread other(sweep, 1);
  sweep(0);
  other.join();
  CHECK(mismatches[0] + mismatches[1] == 0);
}

// The output writers of kernels/detail/stream_store.hpp: every float lands at
// its place and nothing outside the output is touched, for every offset of the
// output from a line boundary and for 0 to 5 lines, with ordinary and with
// streaming stores (the masked first and last partial lines included).
template <class Writer, class Put>
void check_writer(std::size_t lanes_per_put, Put put) {
  for (std::size_t shift = 0; shift < 16; ++shift) {
    for (std::size_t puts = 0; puts <= 5; ++puts) {
      INFO("shift " << shift << ", " << puts << " puts");
      const std::size_t n = puts * 16;
      std::vector<float> storage(n + 64, -7.0f);
      const auto address = reinterpret_cast<std::uintptr_t>(storage.data());
      float* out = storage.data() + (64 - address % 64) % 64 / sizeof(float) + 16 + shift;
      std::vector<float> values(n);
      for (std::size_t i = 0; i < n; ++i) values[i] = static_cast<float>(i) + 0.25f;
      Writer writer(out);
      for (std::size_t p = 0; p < puts; ++p) put(writer, values.data() + 16 * p);
      writer.finish();
      CHECK((n == 0 || std::memcmp(out, values.data(), n * sizeof(float)) == 0));
      std::size_t guards_changed = 0;
      for (const float* g = storage.data(); g < out; ++g) guards_changed += *g != -7.0f;
      for (const float* g = out + n; g < storage.data() + storage.size(); ++g) guards_changed += *g != -7.0f;
      CHECK(guards_changed == 0);
    }
  }
  (void)lanes_per_put;
}

TEST_CASE("Output writers place every float at every alignment, streaming or not") {
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX512F
  const auto put512 = [](auto& w, const float* v) { w.put(_mm512_loadu_ps(v)); };
  check_writer<kernels::stream_store::writer512<xsimd::avx512f, true>>(16, put512);
  check_writer<kernels::stream_store::writer512<xsimd::avx512f, false>>(16, put512);
#endif
#if !QMATH_DISABLE_SIMD && XSIMD_WITH_AVX2
  const auto put256 = [](auto& w, const float* v) { w.put(_mm256_loadu_ps(v), _mm256_loadu_ps(v + 8)); };
  check_writer<kernels::stream_store::writer256<xsimd::avx2, true>>(16, put256);
  check_writer<kernels::stream_store::writer256<xsimd::avx2, false>>(16, put256);
#endif
  CHECK(kernels::stream_store::worth_streaming(std::size_t{4} << 20));
  CHECK_FALSE(kernels::stream_store::worth_streaming((std::size_t{4} << 20) - 32));
}

// Outputs of 16 MiB and more take the streaming writers: the same floats as
// the reference at several offsets from a 64-byte boundary.
TEMPLATE_TEST_CASE("Large dequantize outputs (streaming stores) equal the reference at any alignment", "",
                   formats::q8_0, formats::q4_0, formats::q4_1, formats::iq4_nl, formats::q5_0, formats::q5_1) {
  using F = TestType;
  const std::size_t n = std::size_t{4} << 20;  // 16 MiB of floats: the streaming threshold
  REQUIRE(kernels::stream_store::worth_streaming(n));
  std::vector<std::byte> q(storage_bytes<F>(n));
  quantize<F>(make_data(0, n, 2024), q);
  std::vector<float> expected(n);
  dequantize<F, scalar_arch>(q, expected);
  std::vector<float> storage(n + 32);
  const auto address = reinterpret_cast<std::uintptr_t>(storage.data());
  float* aligned = storage.data() + (64 - address % 64) % 64 / sizeof(float);
  auto run = [&](auto arch) {
    using Arch = decltype(arch);
    for (std::size_t shift : {0u, 1u, 4u, 8u, 15u}) {
      INFO(Arch::name() << ", output " << shift << " floats past a 64-byte boundary");
      std::fill(storage.begin(), storage.end(), -7.0f);
      const std::span<float> out(aligned + shift, n);
      dequantize<F, Arch>(q, out);
      CHECK(std::memcmp(out.data(), expected.data(), n * sizeof(float)) == 0);
      const auto untouched = [](const float* first, const float* last) { return std::all_of(first, last, [](float v) { return v == -7.0f; }); };
      CHECK(untouched(storage.data(), out.data()));
      CHECK(untouched(out.data() + n, storage.data() + storage.size()));
    }
  };
  [&]<class... A>(arch_list<A...>) { (run(A{}), ...); }(simd_archs{});
}

TEMPLATE_TEST_CASE("Kernels reject NaN and Inf naming the block, and wrong sizes", "", formats::q8_0, formats::q4_0,
                   formats::q4_1, formats::iq4_nl, formats::q5_0, formats::q5_1) {
  using F = TestType;
  auto run = [&](auto arch) {
    using Arch = decltype(arch);
    INFO(Arch::name());
    const std::size_t block_bytes = sizeof(typename F::block);
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                      -std::numeric_limits<float>::infinity()}) {
      // 40 blocks: in a whole group of 16 blocks and in the partial last one.
      for (std::size_t position : {std::size_t{0}, std::size_t{31}, std::size_t{5 * 32 + 17}, std::size_t{15 * 32 + 31},
                                   std::size_t{21 * 32 + 16}, std::size_t{39 * 32 + 7}}) {
        std::vector<float> x = make_data(0, 40 * 32, 5);
        x[position] = bad;
        std::vector<std::byte> q(40 * block_bytes);
        CHECK_THROWS_WITH((quantize<F, Arch>(x, q)),
                          Catch::Contains(std::string(F::info.name) + " block " + std::to_string(position / 32) +
                                          " holds a non-finite value"));
      }
    }
    std::vector<float> x(40, 1.0f);
    std::vector<std::byte> q(2 * block_bytes);
    CHECK_THROWS_AS((quantize<F, Arch>(x, q)), qmath::error);
    x.resize(32);
    CHECK_THROWS_AS((quantize<F, Arch>(x, q)), qmath::error);
    std::vector<float> y(64);
    CHECK_THROWS_AS((dequantize<F, Arch>(std::span(q).first(block_bytes), y)), qmath::error);
  };
  run(scalar_arch{});
  [&]<class... A>(arch_list<A...>) { (run(A{}), ...); }(simd_archs{});
}

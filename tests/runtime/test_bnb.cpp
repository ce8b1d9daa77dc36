// bitsandbytes formats: NF4 / FP4 (with and without double quantization) and
// LLM.int8 row-wise INT8. Golden vectors worked out by hand from the
// bitsandbytes rules (csrc/kernels.cu kQuantizeBlockwise, dQuantizeNF4,
// dQuantizeFP4, dQuantize<0>; backends/default/ops.py int8_vectorwise_quant;
// functional.py get_4bit_type, create_dynamic_map), the nearest-code property
// and error bounds on random data, every SIMD path against the scalar
// reference bit for bit (fixed seeds), and the error paths.
#include <qmath/kernels/bnb_4bit.hpp>
#include <qmath/kernels/bnb_int8.hpp>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "catch.hpp"

using namespace qmath;

namespace {

// Calls f.template operator()<Arch>() for every instruction set compiled into
// this program besides the scalar reference: the default (best) one, and the
// AVX2 and generic-xsimd (SSE4.2) paths that an AVX-512 build also contains.
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

bool same_bits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::vector<std::uint8_t> packed_bytes(std::size_t n) { return std::vector<std::uint8_t>((n + 1) / 2); }
std::vector<float> absmax_values(std::size_t n, std::size_t blocksize) {
  return std::vector<float>((n + blocksize - 1) / blocksize);
}

// Test data of several shapes, fixed seeds.
std::vector<float> dataset(int kind, std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> small(-16, 16);
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) {
    switch (kind) {
      case 0: x[i] = normal(rng); break;
      case 1: x[i] = normal(rng) * 1e-30f; break;                                  // tiny scales
      case 2: x[i] = static_cast<float>(small(rng)) / 4.0f; break;                  // many exact ties
      case 3: x[i] = (rng() % 4 == 0) ? normal(rng) * 100.0f : 0.0f; break;         // sparse, zero blocks
      case 4: x[i] = std::ldexp(normal(rng), static_cast<int>(rng() % 200) - 100); break;  // wide exponents
      default: x[i] = std::bit_cast<float>(static_cast<std::uint32_t>(rng()) & 0xBF7FFFFFu); break;  // finite bit noise
    }
  }
  if (kind == 3)  // a whole zero block and a block with a subnormal absmax (1/absmax overflows)
    for (std::size_t i = 0; i < std::min<std::size_t>(n, 128); ++i) x[i] = i >= 64 && i % 7 == 0 ? 1e-39f : 0.0f;
  return x;
}

}  // namespace

// ---------------------------------------------------------------------------
// Tables

TEST_CASE("NF4 pivots are the kernels.cu literals: one of the two floats nearest each exact midpoint") {
  int off_by_one_ulp = 0;
  for (std::size_t k = 0; k < 15; ++k) {
    const double exact = (static_cast<double>(bnb::nf4_map[k]) + bnb::nf4_map[k + 1]) / 2.0;  // exact in double
    const float p = bnb::nf4_pivots[k];
    CHECK(static_cast<double>(std::nextafter(p, -2.0f)) < exact);
    CHECK(static_cast<double>(std::nextafter(p, 2.0f)) > exact);
    CHECK(bnb::nf4_map[k] < p);
    CHECK(p < bnb::nf4_map[k + 1]);
    off_by_one_ulp += p != (bnb::nf4_map[k] + bnb::nf4_map[k + 1]) / 2.0f;
  }
  CHECK(off_by_one_ulp <= 4);  // the printed decimals of the exact ties round away from even
  CHECK(bnb::nf4_map[7] == 0.0f);
  CHECK_FALSE(std::signbit(bnb::nf4_map[7]));
}

TEST_CASE("FP4 table: get_4bit_type's values over 12 equal kernels.cu's fp4_dequantization_lut") {
  // kernels.cu: {0, 0.005208333333f, 0.66666667f, 1, 0.33333333f, 0.5f, 0.16666667f, 0.25f}, sign in bit 3.
  const float lut[8] = {0.0f, 0.005208333333f, 0.66666667f, 1.0f, 0.33333333f, 0.5f, 0.16666667f, 0.25f};
  for (std::size_t k = 0; k < 8; ++k) {
    CHECK(bnb::fp4_map[k] == lut[k]);
    CHECK(bnb::fp4_map[k + 8] == -lut[k]);
  }
  CHECK_FALSE(std::signbit(bnb::fp4_map[8]));  // Python's integer -0 is +0.0
  // Pivots lie within 1e-6 of the midpoints of the magnitudes sorted by rank.
  for (std::size_t r = 0; r < 7; ++r) {
    const float mid = (lut[bnb::fp4_rank_to_bits[r]] + lut[bnb::fp4_rank_to_bits[r + 1]]) / 2.0f;
    CHECK(std::fabs(bnb::fp4_pivots[r] - mid) < 1e-6f);
    CHECK(lut[bnb::fp4_rank_to_bits[r]] < lut[bnb::fp4_rank_to_bits[r + 1]]);
  }
}

TEST_CASE("dynamic map: create_dynamic_map(signed=True, 7, 8) structure and hand-derived values") {
  const auto& m = bnb::dynamic_map;
  CHECK(std::is_sorted(m.begin(), m.end()));
  CHECK(m[127] == 0.0f);
  CHECK(m[255] == 1.0f);
  for (std::size_t k = 0; k < 127; ++k) CHECK(m[k] == -m[254 - k]);  // symmetric except the extra 1.0
  // i = 0: linspace(0.1, 1, 2) = [0.1f, 1]; mean (0.1f + 1) / 2; times float(1e-6): the smallest positive.
  CHECK(m[128] == static_cast<float>(1e-6) * ((0.1f + 1.0f) / 2.0f));
  // i = 6: linspace(0.1, 1, 65), step = (1 - 0.1f) / 64; the last point is 1 - step * 0 = 1 and the
  // one before 1 - step * 1 (second half of torch's linspace counts from the end); scale 10^0 = 1.
  const float step = (1.0f - 0.1f) / 64.0f;
  CHECK(m[254] == ((1.0f - step) + 1.0f) / 2.0f);
  // ... and the first two points are 0.1f and 0.1f + step (first half counts from the start).
  CHECK(m[191] == (0.1f + (0.1f + step)) / 2.0f);  // 128 + 1 + 2 + 4 + 8 + 16 + 32 = 191
}

TEST_CASE("dQuantize<0>: descent from 127, midpoint test, exact ties to the descent pivot") {
  // A linear table with exactly representable midpoints: code[k] = k/128 - 1.
  std::array<float, 256> linear{};
  for (std::size_t k = 0; k < 256; ++k) linear[k] = static_cast<float>(k) / 128.0f - 1.0f;
  // For x in (code[127], code[129]) the descent is 127 (x > code[127]: up to 191), then down
  // through 159, 143, 135, 131, 129 to the final pivot 128 with lower_pivot 127 and upper_pivot 129.
  CHECK(bnb::encode_dynamic(linear, 0.0f) == 128);
  CHECK(bnb::encode_dynamic(linear, -0.5f / 128.0f) == 128);  // on the midpoint of 127 and 128
  CHECK(bnb::encode_dynamic(linear, 0.5f / 128.0f) == 128);   // on the midpoint of 128 and 129
  CHECK(bnb::encode_dynamic(linear, std::nextafter(-0.5f / 128.0f, -1.0f)) == 127);
  CHECK(bnb::encode_dynamic(linear, std::nextafter(0.5f / 128.0f, 1.0f)) == 129);
  CHECK(bnb::encode_dynamic(linear, -1.0f) == 0);  // descent to 0, lower = code[0]
  CHECK(bnb::encode_dynamic(linear, 0.995f) == 255);
  CHECK(bnb::encode_dynamic(linear, std::numeric_limits<float>::quiet_NaN()) == 0);
  // On the dynamic map: a nearest code for random values (exact ties have measure zero).
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int t = 0; t < 20000; ++t) {
    const float x = t % 2 ? u(rng) : u(rng) * 1e-4f;
    std::size_t best = 0;
    for (std::size_t k = 1; k < 256; ++k)
      if (std::fabs(x - bnb::dynamic_map[k]) < std::fabs(x - bnb::dynamic_map[best])) best = k;
    const float got = std::fabs(x - bnb::dynamic_map[bnb::encode_dynamic(bnb::dynamic_map, x)]);
    REQUIRE(got <= std::fabs(x - bnb::dynamic_map[best]) * (1.0f + 1e-6f));
  }
}

// ---------------------------------------------------------------------------
// Golden vectors

TEST_CASE("NF4 golden: codes times absmax 2 give nibbles 0..15, element 2i in the high nibble") {
  // x = 2 * code[k]: absmax = 2, local = 0.5 exactly, x * local = code[k], strictly between the pivots
  // around it, so nibble k; pairs (0,1), (2,3), ... pack to 0x01, 0x23, ... (kernels.cu: vals[2j] << 4).
  std::vector<float> x(64);
  for (std::size_t i = 0; i < 64; ++i) x[i] = 2.0f * bnb::nf4_map[i % 16];
  for_each_simd_arch([&]<class Arch>() {
    auto packed = packed_bytes(64);
    auto absmax = absmax_values(64, 64);
    bnb::quantize_4bit<Arch>(x, packed, absmax, bnb_code::nf4, 64);
    CHECK(absmax[0] == 2.0f);
    for (std::size_t j = 0; j < 32; ++j) CHECK(packed[j] == ((2 * j % 16) << 4 | (2 * j + 1) % 16));
    std::vector<float> y(64);
    bnb::dequantize_4bit<Arch>(packed, absmax, y, bnb_code::nf4, 64);
    CHECK(same_bits(x, y));
  });
}

TEST_CASE("NF4 golden: a value on a pivot takes the lower code, the next float up the upper one") {
  // absmax 1 (x[0] = 1.0), so the scaled value is x itself; dQuantizeNF4 tests `x > pivot`.
  for (std::size_t k = 0; k < 15; ++k) {
    std::vector<float> x(32, 0.0f);
    x[0] = 1.0f;
    x[2] = bnb::nf4_pivots[k];
    x[3] = std::nextafter(bnb::nf4_pivots[k], 2.0f);
    for_each_simd_arch([&]<class Arch>() {
      auto packed = packed_bytes(32);
      auto absmax = absmax_values(32, 32);
      bnb::quantize_4bit<Arch>(x, packed, absmax, bnb_code::nf4, 32);
      CHECK(packed[0] == (15 << 4 | 7));  // 1.0 -> 15, 0.0 -> 7
      CHECK(packed[1] == (k << 4 | (k + 1)));
    });
  }
}

TEST_CASE("FP4 golden: sign bit 3, magnitudes by rank, ties to the smaller magnitude, -0 is positive") {
  // absmax 1; values are the FP4 magnitudes themselves, their negatives, and bitsandbytes' pivots.
  std::vector<float> x = {1.0f,        0.25f,   -0.25f,      -1.0f,        0.5f,  -0.16666667f, 0.583333f,
                          0.58333331f, -0.0f,   0.00260417f, -0.00260418f, 0.0f,  0.3333333f,   -0.6666667f};
  x.resize(32, 0.0f);
  // Expected nibbles: 1.0 -> 0b0011, 0.25 -> 0b0111, -0.25 -> 0b1111, -1 -> 0b1011, 0.5 -> 0b0101,
  // -1/6 -> 0b1110, 0.583333f (on the pivot) -> 0.5 = 0b0101, 0.58333331f (above) -> 2/3 = 0b0010,
  // -0.0 -> 0b0000, 0.00260417f (on the pivot) -> 0b0000, -0.00260418f (above in magnitude) -> 0b1001,
  // 0 -> 0, 1/3 -> 0b0100, -2/3 -> 0b1010.
  const std::uint8_t expected[7] = {0x37, 0xFB, 0x5E, 0x52, 0x00, 0x90, 0x4A};
  for_each_simd_arch([&]<class Arch>() {
    auto packed = packed_bytes(32);
    auto absmax = absmax_values(32, 32);
    bnb::quantize_4bit<Arch>(x, packed, absmax, bnb_code::fp4, 32);
    for (std::size_t j = 0; j < 7; ++j) CHECK(int(packed[j]) == int(expected[j]));
    for (std::size_t j = 7; j < 16; ++j) CHECK(packed[j] == 0);
  });
}

TEST_CASE("all-zero block, CUDA rule: absmax 0 and 0 * (1/0) = NaN coded as nibble 0, as kQuantizeBlockwise does") {
  std::vector<float> x(192, 0.0f);
  x[70] = -3.0f;               // second block is not zero
  for (std::size_t i = 128; i < 192; ++i) x[i] = (i % 3 ? 1e-39f : -5e-40f);  // third: all subnormal, flushed
  for (bnb_code code : {bnb_code::nf4, bnb_code::fp4}) {
    auto check = [&](const std::vector<std::uint8_t>& packed, const std::vector<float>& absmax) {
      CHECK(absmax[0] == 0.0f);
      CHECK(absmax[1] == 3.0f);
      CHECK(absmax[2] == 0.0f);
      for (std::size_t j = 0; j < 32; ++j) CHECK(packed[j] == 0);
      for (std::size_t j = 64; j < 96; ++j) CHECK(packed[j] == 0);
    };
    auto ref_packed = packed_bytes(192);
    auto ref_absmax = absmax_values(192, 64);
    bnb::quantize_4bit_reference(x, ref_packed, ref_absmax, code, 64);
    check(ref_packed, ref_absmax);
    for_each_simd_arch([&]<class Arch>() {
      auto packed = packed_bytes(192);
      auto absmax = absmax_values(192, 64);
      bnb::quantize_4bit<Arch>(x, packed, absmax, code, 64);
      check(packed, absmax);
      CHECK(packed == ref_packed);
      std::vector<float> y(192);
      bnb::dequantize_4bit<Arch>(packed, absmax, y, code, 64);
      // NF4 nibble 0 is -1.0: -1.0 * 0 = -0.0; FP4 nibble 0 is +0.0.
      for (std::size_t i = 0; i < 64; ++i) CHECK((y[i] == 0.0f && std::signbit(y[i]) == (code == bnb_code::nf4)));
      CHECK(y[70] == -3.0f);
    });
  }
}

TEST_CASE("all-zero block, CPU rule: the code of 0.0; a partial all-zero block stores 1e-38") {
  std::vector<float> x(100, 0.0f);
  for (bnb_code code : {bnb_code::nf4, bnb_code::fp4}) {
    for_each_simd_arch([&]<class Arch>() {
      auto packed = packed_bytes(100);
      auto absmax = absmax_values(100, 64);
      bnb::quantize_4bit<Arch>(x, packed, absmax, code, 64, bnb_backend::cpu);
      CHECK(absmax[0] == 0.0f);                     // a full block stores its true absmax
      CHECK(absmax[1] == bnb::cpu_min_divisor);     // the partial one the clamped divisor
      CHECK(std::bit_cast<std::uint32_t>(absmax[1]) == 0x006CE3EEu);  // float32(1e-38), a subnormal
      const std::uint8_t z = bnb::zero_nibble(code);
      for (std::uint8_t b : packed) CHECK(b == (z << 4 | z));
    });
  }
}

TEST_CASE("odd length and a partial last block, as bitsandbytes allows") {
  // n = 100, blocksize 64: blocks of 64 and 36; the last low nibble pads with the code of 0.0.
  auto x = dataset(0, 99, 3);
  for (bnb_code code : {bnb_code::nf4, bnb_code::fp4}) {
    auto ref_packed = packed_bytes(99);
    auto ref_absmax = absmax_values(99, 64);
    bnb::quantize_4bit_reference(x, ref_packed, ref_absmax, code, 64);
    CHECK((ref_packed[49] & 15) == bnb::zero_nibble(code));
    float tail_max = 0.0f;
    for (std::size_t i = 64; i < 99; ++i) tail_max = std::max(tail_max, std::fabs(x[i]));
    CHECK(ref_absmax[1] == tail_max);
    for_each_simd_arch([&]<class Arch>() {
      auto packed = packed_bytes(99);
      auto absmax = absmax_values(99, 64);
      bnb::quantize_4bit<Arch>(x, packed, absmax, code, 64);
      CHECK(packed == ref_packed);
      CHECK(absmax == ref_absmax);
      std::vector<float> y(99), y_ref(99);
      bnb::dequantize_4bit<Arch>(packed, absmax, y, code, 64);
      bnb::dequantize_4bit_reference(packed, absmax, y_ref, bnb::quant_map(code), 64);
      CHECK(same_bits(y, y_ref));
    });
  }
}

// ---------------------------------------------------------------------------
// Properties on random data

TEST_CASE("every SIMD path writes the scalar reference's bytes and floats") {
  for (bnb_code code : {bnb_code::nf4, bnb_code::fp4}) {
    for (std::size_t blocksize = 32; blocksize <= 4096; blocksize *= 2) {
      for (int kind = 0; kind < 6; ++kind) {
        const std::size_t n = blocksize * 5 + (kind % 2 ? blocksize / 2 + 1 : 0);
        auto x = dataset(kind, n, static_cast<std::uint32_t>(1000 * static_cast<std::size_t>(kind) + blocksize));
        auto ref_packed = packed_bytes(n);
        auto ref_absmax = absmax_values(n, blocksize);
        bnb::quantize_4bit_reference(x, ref_packed, ref_absmax, code, blocksize);
        std::vector<float> ref_y(n);
        bnb::dequantize_4bit_reference(ref_packed, ref_absmax, ref_y, bnb::quant_map(code), blocksize);
        for_each_simd_arch([&]<class Arch>() {
          INFO("code " << int(code) << " blocksize " << blocksize << " kind " << kind << " arch " << Arch::name());
          auto packed = packed_bytes(n);
          auto absmax = absmax_values(n, blocksize);
          bnb::quantize_4bit<Arch>(x, packed, absmax, code, blocksize);
          REQUIRE(packed == ref_packed);
          REQUIRE(same_bits(absmax, ref_absmax));
          std::vector<float> y(n);
          bnb::dequantize_4bit<Arch>(ref_packed, ref_absmax, y, code, blocksize);
          REQUIRE(same_bits(y, ref_y));
        });
      }
    }
  }
}

TEST_CASE("random packed bytes and scales dequantize identically on every path") {
  std::mt19937 rng(11);
  const std::size_t n = 4096 * 3;
  std::vector<std::uint8_t> packed(n / 2);
  for (auto& b : packed) b = static_cast<std::uint8_t>(rng());
  for (std::size_t blocksize : {32u, 256u, 4096u}) {
    std::vector<float> absmax(n / blocksize);
    for (auto& a : absmax) a = std::ldexp(static_cast<float>(rng() % 1000) / 7.0f, static_cast<int>(rng() % 40) - 20);
    for (bnb_code code : {bnb_code::nf4, bnb_code::fp4}) {
      std::vector<float> ref(n);
      bnb::dequantize_4bit_reference(packed, absmax, ref, bnb::quant_map(code), blocksize);
      for_each_simd_arch([&]<class Arch>() {
        std::vector<float> y(n);
        bnb::dequantize_4bit<Arch>(packed, absmax, y, code, blocksize);
        CHECK(same_bits(y, ref));
      });
    }
  }
}

TEST_CASE("the chosen code is the nearest one to x/absmax, and the round trip error is bounded") {
  auto x = dataset(0, 64 * 2000, 42);
  for (bnb_code code : {bnb_code::nf4, bnb_code::fp4}) {
    const auto& map = bnb::quant_map(code);
    auto packed = packed_bytes(x.size());
    auto absmax = absmax_values(x.size(), 64);
    bnb::quantize_4bit(x, packed, absmax, code, 64);
    std::vector<float> y(x.size());
    bnb::dequantize_4bit(packed, absmax, y, code, 64);
    // Largest half-gap between neighbouring codes: NF4 (-1 .. -0.696) / 2 = 0.152; FP4 (2/3 .. 1) / 2 = 1/6.
    std::array<float, 16> sorted = map;
    std::sort(sorted.begin(), sorted.end());
    float half_gap = 0.0f;
    for (std::size_t k = 0; k + 1 < 16; ++k) half_gap = std::max(half_gap, (sorted[k + 1] - sorted[k]) / 2.0f);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const float a = absmax[i / 64];
      const float scaled = x[i] * (1.0f / a);
      const std::uint8_t nib = (i % 2 == 0) ? packed[i / 2] >> 4 : packed[i / 2] & 15;
      float best = 10.0f;
      for (float c : map) best = std::min(best, std::fabs(scaled - c));
      REQUIRE(std::fabs(scaled - map[nib]) <= best + 1e-6f);  // pivots differ from midpoints by < 1e-6
      REQUIRE(std::fabs(x[i] - y[i]) <= half_gap * a * (1.0f + 1e-5f));
    }
  }
}

TEST_CASE("sweep: every float near each pivot and a stride through [-1, 1], SIMD against scalar") {
  // The code only changes at the pivots: all floats within 4096 ulps of each pivot, plus every
  // 977th float of [-1, 1], are quantized in blocks whose first element is 1.0 (absmax 1, so
  // x * local is x itself). Two threads.
  std::vector<float> values;
  auto around = [&](float p) {
    float v = p;
    for (int k = 0; k < 4096; ++k) v = std::nextafter(v, -2.0f);
    for (int k = 0; k < 8192; ++k, v = std::nextafter(v, 2.0f)) values.push_back(v);
  };
  for (float p : bnb::nf4_pivots) around(p);
  for (float p : bnb::fp4_pivots) {
    around(p);
    around(-p);
  }
#ifdef QMATH_TEST_FAST_SWEEPS
  constexpr std::uint32_t stride = 99991;
#else
  constexpr std::uint32_t stride = 977;
#endif
  for (std::uint32_t bits = 0; bits <= 0x3F800000u; bits += stride) {
    values.push_back(std::bit_cast<float>(bits));
    values.push_back(-std::bit_cast<float>(bits));
  }
  // Blocks of 4096: element 0 is 1.0, the rest are sweep values.
  const std::size_t per_block = 4095, blocks = (values.size() + per_block - 1) / per_block;
  std::vector<float> x(blocks * 4096, 0.0f);
  for (std::size_t i = 0; i < values.size(); ++i) x[(i / per_block) * 4096 + 1 + i % per_block] = values[i];
  for (std::size_t b = 0; b < blocks; ++b) x[b * 4096] = 1.0f;
  for (bnb_code code : {bnb_code::nf4, bnb_code::fp4}) {
    auto ref = packed_bytes(x.size());
    auto ref_absmax = absmax_values(x.size(), 4096);
    std::vector<std::thread> threads;
    const std::size_t half = blocks / 2 * 4096;
    auto reference_part = [&](std::size_t begin, std::size_t end) {
      bnb::quantize_4bit_reference(std::span<const float>(x).subspan(begin, end - begin),
                                   std::span<std::uint8_t>(ref).subspan(begin / 2, (end - begin) / 2),
                                   std::span<float>(ref_absmax).subspan(begin / 4096, (end - begin) / 4096), code,
                                   4096);
    };
    threads.emplace_back(reference_part, 0, half);
    threads.emplace_back(reference_part, half, x.size());
    for (auto& t : threads) t.join();
    for (std::size_t i = 0; i < x.size(); ++i)  // the reference against the plain rule, on the sweep values
      if (i % 4096 != 0 && i % 97 == 0) {
        const std::uint8_t nib = (i % 2 == 0) ? ref[i / 2] >> 4 : ref[i / 2] & 15;
        REQUIRE(nib == bnb::encode(code, bnb::flush_subnormal(x[i])));  // absmax 1: x * local is x
      }
    for_each_simd_arch([&]<class Arch>() {
      auto packed = packed_bytes(x.size());
      auto absmax = absmax_values(x.size(), 4096);
      bnb::quantize_4bit<Arch>(x, packed, absmax, code, 4096);
      CHECK(packed == ref);
    });
  }
}

TEST_CASE("large 64-byte aligned outputs (streaming stores) equal the reference") {
  // 4 Mi values: 16 MiB of output, the threshold of the streaming path; also one float off alignment.
  const std::size_t n = std::size_t{4} << 20;
  auto x = dataset(0, n, 77);
  auto packed = packed_bytes(n);
  auto absmax = absmax_values(n, 64);
  bnb::quantize_4bit_reference(x, packed, absmax, bnb_code::nf4, 64);
  std::vector<float> ref(n), storage(n + 32);
  bnb::dequantize_4bit_reference(packed, absmax, ref, bnb::nf4_map, 64);
  const auto address = reinterpret_cast<std::uintptr_t>(storage.data());
  float* aligned = storage.data() + (64 - address % 64) % 64 / sizeof(float);
  for (std::size_t shift : {0u, 1u}) {
    for_each_simd_arch([&]<class Arch>() {
      const std::span<float> out(aligned + shift, n);
      std::fill(out.begin(), out.end(), -1.0f);
      bnb::dequantize_4bit<Arch>(packed, absmax, out, bnb_code::nf4, 64);
      CHECK(std::memcmp(out.data(), ref.data(), 4 * n) == 0);
    });
  }
}

// ---------------------------------------------------------------------------
// Double quantization

TEST_CASE("double quantization: offset is the mean, absmax restored within the 8-bit code's step") {
  auto x = dataset(0, 64 * 1000, 5);  // 1000 blocks: groups of 256, 256, 256, 232
  for (bnb_code code : {bnb_code::nf4, bnb_code::fp4}) {
    auto packed = packed_bytes(x.size());
    std::vector<std::uint8_t> qabsmax(1000);
    std::vector<float> absmax2(4);
    float offset = 0.0f;
    bnb::quantize_4bit_dq(x, packed, qabsmax, absmax2, offset, code, 64);
    auto ref_packed = packed_bytes(x.size());
    auto absmax = absmax_values(x.size(), 64);
    bnb::quantize_4bit_reference(x, ref_packed, absmax, code, 64);
    CHECK(packed == ref_packed);  // the 4-bit codes do not depend on double quantization
    double sum = 0.0;
    for (float a : absmax) sum += a;
    CHECK(offset == static_cast<float>(sum / 1000.0));
    for (std::size_t g = 0; g < 4; ++g) {
      float m = 0.0f;
      for (std::size_t b = g * 256; b < std::min<std::size_t>(1000, g * 256 + 256); ++b)
        m = std::max(m, std::fabs(absmax[b] - offset));
      CHECK(absmax2[g] == m);
    }
    // The dynamic map's widest gap is between the means of linspace(0.1, 1, 65): step 0.9/64.
    for (std::size_t b = 0; b < 1000; ++b) {
      const float restored = bnb::restore_absmax(bnb::dynamic_map, qabsmax[b], absmax2[b / 256], offset);
      REQUIRE(std::fabs(restored - absmax[b]) <= (0.9f / 128.0f) * absmax2[b / 256] * 1.001f + 1e-6f);
    }
    std::vector<float> y(x.size()), y_ref(x.size());
    for_each_simd_arch([&]<class Arch>() {
      bnb::dequantize_4bit_dq<Arch>(packed, qabsmax, absmax2, offset, y, code, 64);
      std::vector<float> restored(1000);
      for (std::size_t b = 0; b < 1000; ++b)
        restored[b] = bnb::restore_absmax(bnb::dynamic_map, qabsmax[b], absmax2[b / 256], offset);
      bnb::dequantize_4bit_reference(packed, restored, y_ref, bnb::quant_map(code), 64);
      CHECK(same_bits(y, y_ref));
    });
  }
}

// ---------------------------------------------------------------------------
// The self-contained qmath buffer

template <class F>
void check_buffer_round_trip() {
  auto x = dataset(0, 64 * 512 * 3, 9);
  std::vector<std::byte> bytes(storage_bytes<F>(x.size()));
  quantize<F>(x, bytes);
  const auto l = F::layout_for(x.size());
  CHECK(l.total == bytes.size());
  std::array<float, 16> map{};
  std::memcpy(map.data(), bytes.data() + l.quant_map, 64);
  CHECK(map == bnb::quant_map(F::code));
  if constexpr (F::double_quant) {
    std::array<float, 256> table{};
    std::memcpy(table.data(), bytes.data() + l.code_table, 1024);
    CHECK(table == bnb::dynamic_map);
  }
  // Bytes agree with the separate-array API.
  auto packed = packed_bytes(x.size());
  if constexpr (F::double_quant) {
    std::vector<std::uint8_t> qabsmax(l.blocks);
    std::vector<float> absmax2(l.groups);
    float offset = 0.0f;
    bnb::quantize_4bit_dq(x, packed, qabsmax, absmax2, offset, F::code, F::blocksize);
    CHECK(std::memcmp(bytes.data() + l.scales, qabsmax.data(), l.blocks) == 0);
    CHECK(std::memcmp(bytes.data() + l.absmax2, absmax2.data(), 4 * l.groups) == 0);
    CHECK(std::memcmp(bytes.data() + l.offset, &offset, 4) == 0);
  } else {
    auto absmax = absmax_values(x.size(), F::blocksize);
    bnb::quantize_4bit(x, packed, absmax, F::code, F::blocksize);
    CHECK(std::memcmp(bytes.data() + l.scales, absmax.data(), 4 * l.blocks) == 0);
  }
  CHECK(std::memcmp(bytes.data(), packed.data(), packed.size()) == 0);
  std::vector<float> ref(x.size());
  dequantize<F, scalar_arch>(bytes, ref);
  for_each_simd_arch([&]<class Arch>() {
    std::vector<std::byte> again(bytes.size());
    quantize<F, Arch>(x, again);
    CHECK(again == bytes);
    std::vector<float> y(x.size());
    dequantize<F, Arch>(bytes, y);
    const auto first_difference = std::mismatch(y.begin(), y.end(), ref.begin()).first - y.begin();
    INFO(F::info.name << " blocksize " << F::blocksize << " arch " << Arch::name() << " first difference at "
                      << first_difference << " values " << (first_difference < std::ssize(y) ? y[static_cast<std::size_t>(first_difference)] : 0.0f) << " " << (first_difference < std::ssize(y) ? ref[static_cast<std::size_t>(first_difference)] : 0.0f) << " x " << x[32]);
    CHECK(same_bits(y, ref));
  });
  for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(std::fabs(x[i] - ref[i]) <= 0.2f * 5.0f);
}

TEST_CASE("qmath::quantize<formats::nf4/fp4/nf4_dq/fp4_dq>: layout and round trip") {
  check_buffer_round_trip<formats::nf4>();
  check_buffer_round_trip<formats::fp4>();
  check_buffer_round_trip<formats::nf4_dq>();
  check_buffer_round_trip<formats::fp4_dq>();
  check_buffer_round_trip<formats::bnb_4bit<bnb_code::nf4, 4096>>();
  check_buffer_round_trip<formats::bnb_4bit<bnb_code::fp4, 32, true>>();
  static_assert(formats::nf4::info.block_elems == 64 && formats::nf4_dq::info.group_blocks == 256);
  static_assert(storage_bytes<formats::nf4>(128) == 64 + 8 + 64);
}

TEST_CASE("the dequantizer reads the tables stored in the buffer") {
  // A buffer whose quant_map is replaced by 2 * NF4 dequantizes to twice the values.
  auto x = dataset(0, 64 * 8, 4);
  std::vector<std::byte> bytes(storage_bytes<formats::nf4>(x.size()));
  quantize<formats::nf4>(x, bytes);
  std::vector<float> y(x.size()), y2(x.size());
  dequantize<formats::nf4>(bytes, y);
  std::array<float, 16> doubled{};
  for (std::size_t k = 0; k < 16; ++k) doubled[k] = 2.0f * bnb::nf4_map[k];
  std::memcpy(bytes.data() + formats::nf4::layout_for(x.size()).quant_map, doubled.data(), 64);
  dequantize<formats::nf4>(bytes, y2);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(y2[i] == 2.0f * y[i]);
}

// ---------------------------------------------------------------------------
// Error paths

TEST_CASE("4-bit error paths") {
  std::vector<float> x(128, 1.0f);
  auto packed = packed_bytes(128);
  auto absmax = absmax_values(128, 64);
  CHECK_THROWS_WITH(bnb::quantize_4bit(x, packed, absmax, bnb_code::nf4, 48),
                    Catch::Contains("blocksize 48 is not a power of two in [32, 4096]"));
  auto absmax16 = absmax_values(128, 16);
  CHECK_THROWS_AS(bnb::quantize_4bit(x, packed, absmax16, bnb_code::nf4, 16), qmath::error);
  std::vector<float> absmax_big(4);
  CHECK_THROWS_AS(bnb::quantize_4bit(x, packed, absmax_big, bnb_code::nf4, 8192), qmath::error);
  CHECK_THROWS_WITH(bnb::quantize_4bit(x, std::span(packed).first(63), absmax, bnb_code::nf4, 64),
                    Catch::Contains("128 values need 64 packed bytes, got 63"));
  CHECK_THROWS_WITH(bnb::quantize_4bit(x, packed, absmax_big, bnb_code::nf4, 64),
                    Catch::Contains("need 2 absmax values, got 4"));
  std::vector<float> y(128);
  CHECK_THROWS_AS(bnb::dequantize_4bit(std::span(packed).first(10), absmax, y, bnb_code::fp4, 64), qmath::error);
  CHECK_THROWS_AS(bnb::dequantize_4bit(packed, absmax, y, bnb_code::fp4, 100), qmath::error);
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    x[100] = bad;
    for_each_simd_arch([&]<class Arch>() {
      CHECK_THROWS_WITH(bnb::quantize_4bit<Arch>(x, packed, absmax, bnb_code::nf4, 64),
                        Catch::Contains("NaN or infinity in block 1"));
    });
    CHECK_THROWS_AS(bnb::quantize_4bit_reference(x, packed, absmax, bnb_code::fp4, 64), qmath::error);
    std::vector<std::byte> bytes(storage_bytes<formats::nf4_dq>(128));
    CHECK_THROWS_AS(quantize<formats::nf4_dq>(x, bytes), qmath::error);
  }
  x[100] = 1.0f;
  std::vector<std::uint8_t> qabsmax(2), qabsmax_bad(3);
  std::vector<float> absmax2(1), absmax2_bad(2);
  float offset = 0.0f;
  CHECK_THROWS_WITH(bnb::quantize_4bit_dq(x, packed, qabsmax_bad, absmax2, offset, bnb_code::nf4, 64),
                    Catch::Contains("qabsmax bytes, got 3"));
  CHECK_THROWS_WITH(bnb::quantize_4bit_dq(x, packed, qabsmax, absmax2_bad, offset, bnb_code::nf4, 64),
                    Catch::Contains("absmax2 values, got 2"));
  CHECK_THROWS_AS(bnb::dequantize_4bit_dq(packed, qabsmax_bad, absmax2, offset, y, bnb_code::nf4, 64), qmath::error);
  std::vector<std::byte> bytes(storage_bytes<formats::nf4>(128));
  CHECK_THROWS_AS(quantize<formats::nf4>(std::span<const float>(x).first(96), bytes), qmath::error);
  CHECK_THROWS_AS(quantize<formats::nf4>(x, std::span(bytes).first(bytes.size() - 1)), qmath::error);
  CHECK_THROWS_AS(dequantize<formats::fp4>(bytes, std::span(y).first(64)), qmath::error);
}

// ---------------------------------------------------------------------------
// LLM.int8 row-wise

TEST_CASE("int8 golden: row absmax, 127/absmax, round half to even") {
  // Row [2, -1, 0.5, 1.5, 0.75, -2, 0, 1]: absmax 2, scale 127/2 = 63.5 exactly;
  // 2 -> 127, -1 -> -63.5 -> -64 (even), 0.5 -> 31.75 -> 32, 1.5 -> 95.25 -> 95,
  // 0.75 -> 47.625 -> 48, -2 -> -127, 0 -> 0, 1 -> 63.5 -> 64 (even).
  const std::vector<float> a = {2.0f, -1.0f, 0.5f, 1.5f, 0.75f, -2.0f, 0.0f, 1.0f};
  const std::vector<std::int8_t> expected = {127, -64, 32, 95, 48, -127, 0, 64};
  for_each_simd_arch([&]<class Arch>() {
    std::vector<std::int8_t> q(8);
    std::vector<float> stats(1);
    CHECK(bnb::quantize_int8_rowwise<Arch>(a, 1, 8, q, stats).empty());
    CHECK(stats[0] == 2.0f);
    CHECK(q == expected);
    std::vector<float> y(8);
    bnb::dequantize_int8_rowwise<Arch>(q, stats, 1, 8, y);
    // y = (q * 2) * fp32(1/127): 127 -> 254/127 = 2 rounded once: 254 * 0.007874016f.
    CHECK(y[0] == 254.0f * 7.874015718698502e-3f);
    CHECK(y[1] == -128.0f * 7.874015718698502e-3f);
  });
  CHECK(7.874015718698502e-3f == 1.0f / 127.0f);  // the dequant constant is fp32(1/127)
}

TEST_CASE("int8 outliers: columns with |a| >= threshold are reported, left out of absmax and zeroed") {
  // 3 x 4, threshold 6: column 1 holds 7 (row 0) and column 3 holds -6 (row 2, >= counts).
  // Row 0 absmax without the outlier: 2 -> scale 63.5: [1, 7, 2, 0.5] -> [64 (63.5, even), 0, 127, 0]
  // (0.5 would be 32, but column 3 is an outlier column).
  // Row 1 [-3, 0.5, 1, 2]: absmax 3 (no outliers in the row), scale 127/3; columns 1 and 3 zeroed:
  //   -3 -> -127, 1 * 42.333332 -> 42.
  // Row 2 [4, 1, -2, -6]: absmax 4 (the -6 outlier left out), scale 31.75: 4 -> 127, -2 -> -63.5 -> -64.
  const std::vector<float> a = {1, 7, 2, 0.5f, -3, 0.5f, 1, 2, 4, 1, -2, -6};
  const std::vector<std::int8_t> expected = {64, 0, 127, 0, -127, 0, 42, 0, 127, 0, -64, 0};
  for_each_simd_arch([&]<class Arch>() {
    std::vector<std::int8_t> q(12);
    std::vector<float> stats(3);
    const auto outliers = bnb::quantize_int8_rowwise<Arch>(a, 3, 4, q, stats, 6.0f);
    CHECK(outliers == std::vector<std::size_t>{1, 3});
    CHECK(stats == std::vector<float>{2.0f, 3.0f, 4.0f});
    CHECK(q == expected);
  });
}

TEST_CASE("int8: zero rows, SIMD against scalar on random matrices, round-trip bound") {
  for (std::size_t cols : {1u, 7u, 8u, 16u, 33u, 100u, 4096u}) {
    const std::size_t rows = 9;
    auto a = dataset(static_cast<int>(cols % 5), rows * cols, static_cast<std::uint32_t>(cols));
    for (std::size_t c = 0; c < cols; ++c) a[4 * cols + c] = 0.0f;  // row 4 is zero
    for (float threshold : {0.0f, 1.5f}) {
      std::vector<std::int8_t> ref_q(a.size());
      std::vector<float> ref_stats(rows), ref_y(a.size());
      const auto ref_out = bnb::quantize_int8_rowwise_reference(a, rows, cols, ref_q, ref_stats, threshold);
      bnb::dequantize_int8_rowwise_reference(ref_q, ref_stats, rows, cols, ref_y);
      CHECK(ref_stats[4] == 0.0f);
      for (std::size_t c = 0; c < cols; ++c) CHECK(ref_q[4 * cols + c] == 0);
      for_each_simd_arch([&]<class Arch>() {
        std::vector<std::int8_t> q(a.size());
        std::vector<float> stats(rows), y(a.size());
        CHECK(bnb::quantize_int8_rowwise<Arch>(a, rows, cols, q, stats, threshold) == ref_out);
        CHECK(q == ref_q);
        CHECK(same_bits(stats, ref_stats));
        bnb::dequantize_int8_rowwise<Arch>(ref_q, ref_stats, rows, cols, y);
        CHECK(same_bits(y, ref_y));
      });
      if (threshold == 0.0f)
        for (std::size_t i = 0; i < a.size(); ++i)
          REQUIRE(std::fabs(a[i] - ref_y[i]) <= ref_stats[i / cols] * (0.5f / 127.0f) * 1.0001f + 1e-37f);
    }
  }
  std::vector<float> a(4096 * 4);
  std::mt19937 rng(3);
  for (auto& v : a) v = static_cast<float>(static_cast<int>(rng() % 2001) - 1000) / 8.0f;  // many .5 ties
  std::vector<std::byte> bytes(storage_bytes<formats::int8_rowwise<4096>>(a.size()));
  quantize<formats::int8_rowwise<4096>>(a, bytes);
  std::vector<std::int8_t> q(a.size());
  std::vector<float> stats(4);
  bnb::quantize_int8_rowwise_reference(a, 4, 4096, q, stats);
  CHECK(std::memcmp(bytes.data(), q.data(), q.size()) == 0);
  CHECK(std::memcmp(bytes.data() + q.size(), stats.data(), 16) == 0);
}

TEST_CASE("int8 error paths") {
  std::vector<float> a(12, 1.0f);
  std::vector<std::int8_t> q(12);
  std::vector<float> stats(3), y(12);
  CHECK_THROWS_WITH(bnb::quantize_int8_rowwise(a, 3, 5, q, stats), Catch::Contains("a 3 x 5 matrix has 15 values"));
  CHECK_THROWS_WITH(bnb::quantize_int8_rowwise(a, 3, 4, std::span(q).first(11), stats),
                    Catch::Contains("needs 12 int8 codes, got 11"));
  CHECK_THROWS_WITH(bnb::quantize_int8_rowwise(a, 3, 4, q, std::span(stats).first(2)),
                    Catch::Contains("3 rows need 3 row_stats, got 2"));
  CHECK_THROWS_AS(bnb::quantize_int8_rowwise(a, 12, 0, q, stats), qmath::error);
  CHECK_THROWS_AS(bnb::quantize_int8_rowwise(a, 3, 4, q, stats, -1.0f), qmath::error);
  CHECK_THROWS_AS(bnb::dequantize_int8_rowwise(q, stats, 4, 3, y), qmath::error);
  a[5] = std::numeric_limits<float>::quiet_NaN();
  for_each_simd_arch([&]<class Arch>() {
    CHECK_THROWS_WITH(bnb::quantize_int8_rowwise<Arch>(a, 3, 4, q, stats), Catch::Contains("NaN or infinity"));
    CHECK_THROWS_AS(bnb::quantize_int8_rowwise<Arch>(a, 3, 4, q, stats, 2.0f), qmath::error);
  });
  a[5] = -std::numeric_limits<float>::infinity();
  CHECK_THROWS_AS(bnb::quantize_int8_rowwise_reference(a, 3, 4, q, stats), qmath::error);
  std::vector<std::byte> bytes(storage_bytes<formats::int8_rowwise<4>>(12));
  CHECK_THROWS_AS(quantize<formats::int8_rowwise<4>>(a, bytes), qmath::error);
}

// ---------------------------------------------------------------------------
// Compile-time use of the references

namespace {
constexpr bool constexpr_round_trip() {
  std::array<float, 32> x{};
  for (std::size_t i = 0; i < 32; ++i) x[i] = bnb::nf4_map[i % 16] * 4.0f;
  std::array<std::uint8_t, 16> packed{};
  std::array<float, 1> absmax{};
  bnb::quantize_4bit_reference(x, packed, absmax, bnb_code::nf4, 32);
  std::array<float, 32> y{};
  bnb::dequantize_4bit_reference(packed, absmax, y, bnb::nf4_map, 32);
  return absmax[0] == 4.0f && packed[0] == 0x01 && packed[7] == 0xEF && x == y;
}
static_assert(constexpr_round_trip());
static_assert(bnb::encode_nf4(0.0f) == 7 && bnb::encode_nf4(1.0f) == 15 && bnb::encode_nf4(-1.0f) == 0);
static_assert(bnb::encode_fp4(-0.0f) == 0 && bnb::encode_fp4(-1.0f) == 0b1011);
static_assert(bnb::dynamic_map[127] == 0.0f && bnb::dynamic_map[255] == 1.0f);
static_assert(bnb::round_half_even(2.5f) == 2.0f && bnb::round_half_even(-3.5f) == -4.0f);
}  // namespace

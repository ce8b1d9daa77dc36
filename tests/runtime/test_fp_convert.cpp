// Scalar and array conversions between float and fp16 / bf16 / fp8_e4m3 /
// fp8_e5m2: golden values worked out from the format definitions, every
// pattern of each format decoded against an independent formula, float ->
// fp8 against a nearest-value search over the decoded table, array kernels
// against the scalar reference on random data of every tail length, and the
// error paths; large arrays both ways (the streaming-store paths).
//
// Format definitions: IEEE 754 binary16; bfloat16 = top half of binary32;
// OCP OFP8 E4M3FN (bias 7, no Inf, NaN S.1111.111, max 448) and E5M2 (bias
// 15, IEEE-like, max 57344), as in PyTorch c10/util/Float8_e4m3fn.h and
// Float8_e5m2.h.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <vector>

#include "catch.hpp"
#include "qmath/fp.hpp"
#include "qmath/kernels/fp_convert.hpp"

namespace {

using qmath::bf16;
using qmath::fp16;
using qmath::fp8_e4m3;
using qmath::fp8_e5m2;
using qmath::fp8_overflow;

std::uint32_t bits_of(float f) { return std::bit_cast<std::uint32_t>(f); }

// Value of a binary format pattern from its definition, as double (NaN -> NaN).
double decode(std::uint32_t pattern, int exponent_bits, int mantissa_bits, bool e4m3fn) {
  const int bias = (1 << (exponent_bits - 1)) - 1;
  const bool negative = (pattern >> (exponent_bits + mantissa_bits)) & 1u;
  const int e = static_cast<int>((pattern >> mantissa_bits) & ((1u << exponent_bits) - 1));
  const auto m = static_cast<int>(pattern & ((1u << mantissa_bits) - 1));
  const int all_ones = (1 << exponent_bits) - 1;
  double v;
  if (e4m3fn && e == all_ones && m == (1 << mantissa_bits) - 1) return std::numeric_limits<double>::quiet_NaN();
  if (!e4m3fn && e == all_ones) {
    if (m != 0) return std::numeric_limits<double>::quiet_NaN();
    v = std::numeric_limits<double>::infinity();
  } else if (e == 0) {
    v = std::ldexp(m, 1 - bias - mantissa_bits);
  } else {
    v = std::ldexp(m + (1 << mantissa_bits), e - bias - mantissa_bits);
  }
  return negative ? -v : v;
}

template <class F>
double decode(F f) {
  if constexpr (std::is_same_v<F, fp16>) return decode(f.bits, 5, 10, false);
  else if constexpr (std::is_same_v<F, bf16>) return decode(f.bits, 8, 7, false);
  else if constexpr (std::is_same_v<F, fp8_e4m3>) return decode(f.bits, 4, 3, true);
  else return decode(f.bits, 5, 2, false);
}

template <class F>
constexpr unsigned pattern_count = sizeof(F) == 1 ? 256u : 65536u;

template <class To>
To reference(float x, fp8_overflow mode) {
  if constexpr (qmath::fp8_format<To>) return qmath::convert<To>(x, mode);
  else return qmath::convert<To>(x);
}

template <class To, class Arch>
void run(std::span<const float> in, std::span<To> out, fp8_overflow mode) {
  if constexpr (qmath::fp8_format<To>) qmath::convert<To, Arch>(in, out, mode);
  else qmath::convert<To, Arch>(in, out);
}

// float -> fp8 by searching the decoded table: the nearest finite value, ties
// to the even code; beyond max + half an ulp (the tie included when the even
// neighbour would be the overflow code) the overflow mode decides.
template <class F>
std::uint8_t fp8_by_search(float x, fp8_overflow mode) {
  const std::uint8_t sign = std::signbit(x) ? 0x80 : 0x00;
  if (std::isnan(x)) {
    if constexpr (std::is_same_v<F, fp8_e4m3>) return sign | 0x7f;
    else return static_cast<std::uint8_t>(sign | 0x7e | ((bits_of(x) >> 21) & 1u));
  }
  const double a = std::fabs(static_cast<double>(x));
  const std::uint8_t max_code = std::is_same_v<F, fp8_e4m3> ? 0x7e : 0x7b;
  const double max = decode(F::from_bits(max_code));
  const double next = std::is_same_v<F, fp8_e4m3> ? 480.0 : 65536.0;  // the value the next code would have
  const std::uint8_t overflow = mode == fp8_overflow::saturate ? max_code : (std::is_same_v<F, fp8_e4m3> ? 0x7f : 0x7c);
  if (a >= (max + next) / 2) return sign | overflow;  // the tie goes to the (even) overflow code
  std::uint8_t best = 0;
  for (std::uint8_t c = 1; c <= max_code; ++c) {
    const double d = std::fabs(decode(F::from_bits(c)) - a), best_d = std::fabs(decode(F::from_bits(best)) - a);
    if (d < best_d || (d == best_d && (c & 1u) == 0)) best = c;
  }
  return sign | best;
}

}  // namespace

TEST_CASE("golden values from the format definitions", "[fp]") {
  // fp16: 1 = 0x3c00, max 65504 = 0x7bff, 65520 (tie with 65536) -> Inf, 2^-24 = 0x0001, 2^-25 (tie) -> 0
  CHECK(qmath::convert<fp16>(1.0f).bits == 0x3c00);
  CHECK(qmath::convert<fp16>(-2.0f).bits == 0xc000);
  CHECK(qmath::convert<fp16>(65504.0f).bits == 0x7bff);
  CHECK(qmath::convert<fp16>(65519.996f).bits == 0x7bff);
  CHECK(qmath::convert<fp16>(65520.0f).bits == 0x7c00);
  CHECK(qmath::convert<fp16>(0x1p-24f).bits == 0x0001);
  CHECK(qmath::convert<fp16>(0x1p-25f).bits == 0x0000);
  CHECK(qmath::convert<fp16>(0x1.8p-25f).bits == 0x0001);
  CHECK(qmath::convert<fp16>(-0.0f).bits == 0x8000);
  CHECK(qmath::convert<fp16>(std::numeric_limits<float>::infinity()).bits == 0x7c00);
  // bf16: RNE on the top half; 1 + 2^-8 is a tie -> even (1.0); 1 + 3*2^-8 -> up
  CHECK(qmath::convert<bf16>(1.0f).bits == 0x3f80);
  CHECK(qmath::convert<bf16>(1.00390625f).bits == 0x3f80);
  CHECK(qmath::convert<bf16>(1.01171875f).bits == 0x3f82);
  CHECK(qmath::convert<bf16>(std::numeric_limits<float>::max()).bits == 0x7f80);
  CHECK(qmath::convert<bf16>(std::bit_cast<float>(0x00018000u)).bits == 0x0002);  // subnormal tie -> even
  CHECK(qmath::convert<bf16>(std::bit_cast<float>(0x7f800001u)).bits == 0x7fc0);  // quiet NaN
  // E4M3: 1 = 0.0111.000, 448 = 0.1111.110, 464 is a tie -> 448, min subnormal 2^-9, 2^-10 is a tie -> 0
  CHECK(qmath::convert<fp8_e4m3>(1.0f).bits == 0x38);
  CHECK(qmath::convert<fp8_e4m3>(-2.0f).bits == 0xc0);
  CHECK(qmath::convert<fp8_e4m3>(448.0f).bits == 0x7e);
  CHECK(qmath::convert<fp8_e4m3>(464.0f).bits == 0x7e);
  CHECK(qmath::convert<fp8_e4m3>(464.0001f).bits == 0x7e);  // saturating default
  CHECK(qmath::convert<fp8_e4m3>(464.0001f, fp8_overflow::no_saturate).bits == 0x7f);
  CHECK(qmath::convert<fp8_e4m3>(464.0f, fp8_overflow::no_saturate).bits == 0x7e);
  CHECK(qmath::convert<fp8_e4m3>(-1e30f).bits == 0xfe);
  CHECK(qmath::convert<fp8_e4m3>(-std::numeric_limits<float>::infinity()).bits == 0xfe);
  CHECK(qmath::convert<fp8_e4m3>(-std::numeric_limits<float>::infinity(), fp8_overflow::no_saturate).bits == 0xff);
  CHECK(qmath::convert<fp8_e4m3>(std::numeric_limits<float>::quiet_NaN()).bits == 0x7f);
  CHECK(qmath::convert<fp8_e4m3>(0x1p-6f).bits == 0x08);
  CHECK(qmath::convert<fp8_e4m3>(0x1p-9f).bits == 0x01);
  CHECK(qmath::convert<fp8_e4m3>(0x1p-10f).bits == 0x00);
  CHECK(qmath::convert<fp8_e4m3>(0x1.000002p-10f).bits == 0x01);
  CHECK(qmath::convert<fp8_e4m3>(0x1.8p-9f).bits == 0x02);  // 1.5 steps: tie -> even (2)
  CHECK(qmath::convert<fp8_e4m3>(0x1.fp-7f).bits == 0x08);  // 7.75 steps rounds up into the first normal
  // E5M2: 1 = 0.01111.00, 57344 = 0.11110.11, 61440 is a tie -> even = Inf code
  CHECK(qmath::convert<fp8_e5m2>(1.0f).bits == 0x3c);
  CHECK(qmath::convert<fp8_e5m2>(57344.0f).bits == 0x7b);
  CHECK(qmath::convert<fp8_e5m2>(61439.996f).bits == 0x7b);
  CHECK(qmath::convert<fp8_e5m2>(61440.0f).bits == 0x7c);  // no_saturate default
  CHECK(qmath::convert<fp8_e5m2>(61440.0f, fp8_overflow::saturate).bits == 0x7b);
  CHECK(qmath::convert<fp8_e5m2>(-std::numeric_limits<float>::infinity()).bits == 0xfc);
  CHECK(qmath::convert<fp8_e5m2>(-std::numeric_limits<float>::infinity(), fp8_overflow::saturate).bits == 0xfb);
  CHECK(qmath::convert<fp8_e5m2>(std::numeric_limits<float>::quiet_NaN()).bits == 0x7e);
  CHECK(qmath::convert<fp8_e5m2>(std::bit_cast<float>(0xffe00000u)).bits == 0xff);  // payload bit 21 kept
  CHECK(qmath::convert<fp8_e5m2>(std::bit_cast<float>(0x7f800001u), fp8_overflow::saturate).bits == 0x7e);
  CHECK(qmath::convert<fp8_e5m2>(0x1p-16f).bits == 0x01);
  CHECK(qmath::convert<fp8_e5m2>(0x1p-14f).bits == 0x04);
  CHECK(qmath::convert<fp8_e5m2>(0x1p-17f).bits == 0x00);
  // decoding
  CHECK(bits_of(qmath::convert<float>(fp8_e4m3::from_bits(0x7f))) == 0x7ff00000u);
  CHECK(bits_of(qmath::convert<float>(fp8_e4m3::from_bits(0xff))) == 0xfff00000u);
  CHECK(qmath::convert<float>(fp8_e4m3::from_bits(0x01)) == 0x1p-9f);
  CHECK(qmath::convert<float>(fp8_e5m2::from_bits(0x7b)) == 57344.0f);
  CHECK(bits_of(qmath::convert<float>(fp8_e5m2::from_bits(0x7d))) == 0x7fe00000u);
  CHECK(qmath::convert<double>(fp16::from_bits(0x0001)) == 0x1p-24);
  // format -> format goes through float once
  CHECK(qmath::convert<fp8_e4m3>(fp16::from_bits(0x5f00)).bits == 0x7e);  // 448
  CHECK(qmath::convert<fp8_e4m3>(fp16::from_bits(0x5f80), fp8_overflow::no_saturate).bits == 0x7f);  // 480
  CHECK(qmath::convert<fp16>(fp8_e5m2::from_bits(0x7b)).bits == 0x7b00);
}

TEMPLATE_TEST_CASE("every pattern decodes to its defined value, and encodes back", "[fp]", fp16, bf16, fp8_e4m3,
                   fp8_e5m2) {
  using F = TestType;
  using raw = std::conditional_t<sizeof(F) == 2, std::uint16_t, std::uint8_t>;
  std::vector<F> all(pattern_count<F>);
  for (unsigned p = 0; p < pattern_count<F>; ++p) all[p] = F::from_bits(static_cast<raw>(p));
  std::vector<float> scalar(all.size()), fast(all.size());
  qmath::convert<F, qmath::scalar_arch>(std::span<const F>(all), std::span<float>(scalar));
  qmath::convert(std::span(all), std::span(fast));
  unsigned wrong_value = 0, wrong_kernel = 0, wrong_roundtrip = 0, nan_not_quiet = 0;
  for (unsigned p = 0; p < pattern_count<F>; ++p) {
    const double expected = decode(all[p]);
    const float got = qmath::convert<float>(all[p]);
    if (bits_of(got) != bits_of(scalar[p]) || bits_of(got) != bits_of(fast[p])) ++wrong_kernel;
    if (std::isnan(expected)) {
      if (!std::isnan(got)) ++wrong_value;
      if (!std::is_same_v<F, bf16> && (bits_of(got) & 0x400000u) == 0) ++nan_not_quiet;  // bf16 is a plain shift
      // NaN: the sign and the format's top mantissa bits survive a round trip
      // (fp16 and bf16 come back quiet; E4M3 has one NaN; E5M2's quiet bit is set).
      const auto back = reference<F>(got, fp8_overflow::no_saturate);
      const unsigned quiet = sizeof(F) == 2 ? (std::is_same_v<F, fp16> ? 0x200u : 0x40u) : (std::is_same_v<F, fp8_e5m2> ? 0x2u : 0u);
      if (back.bits != (all[p].bits | quiet)) ++wrong_roundtrip;
    } else {
      if (static_cast<double>(got) != expected || std::signbit(got) != std::signbit(expected)) ++wrong_value;
      if (!(reference<F>(got, fp8_overflow::no_saturate) == all[p])) ++wrong_roundtrip;
      if (std::isinf(expected)) {  // saturating: Inf becomes the largest finite value
        if (qmath::fp8_format<F> && decode(reference<F>(got, fp8_overflow::saturate)) != (expected > 0 ? 57344.0 : -57344.0))
          ++wrong_roundtrip;
      } else if (!(reference<F>(got, fp8_overflow::saturate) == all[p])) {
        ++wrong_roundtrip;
      }
    }
  }
  CHECK(wrong_value == 0);
  CHECK(wrong_kernel == 0);
  CHECK(wrong_roundtrip == 0);
  CHECK(nan_not_quiet == 0);
}

TEMPLATE_TEST_CASE("float -> fp8 equals a nearest-value search over the format's table", "[fp]", fp8_e4m3, fp8_e5m2) {
  using F = TestType;
  std::vector<float> inputs;
  // Every code's value, the midpoints between neighbours (the ties), and their float neighbours.
  for (unsigned c = 0; c < 0x7f; ++c) {
    const double lo = decode(F::from_bits(static_cast<std::uint8_t>(c)));
    const double hi = c + 1 < 0x7f ? decode(F::from_bits(static_cast<std::uint8_t>(c + 1))) : lo;
    if (std::isnan(lo) || std::isinf(lo)) continue;
    const double top = std::isfinite(hi) ? hi : (std::is_same_v<F, fp8_e4m3> ? 480.0 : 65536.0);
    for (const double v : {lo, (lo + top) / 2}) {
      const auto f = static_cast<float>(v);
      for (const float g : {f, std::nextafter(f, 0.0f), std::nextafter(f, 1e30f)}) {
        inputs.push_back(g);
        inputs.push_back(-g);
      }
    }
  }
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<std::uint32_t> any_bits;
  std::uniform_real_distribution<float> exponent(-20.0f, 18.0f);
  for (int i = 0; i < 20000; ++i) inputs.push_back(std::exp2(exponent(rng)) * (i % 2 ? 1.0f : -1.0f));
  for (int i = 0; i < 20000; ++i) inputs.push_back(std::bit_cast<float>(any_bits(rng)));
  for (const float special : {0.0f, std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                              std::bit_cast<float>(0x7fa00000u), std::numeric_limits<float>::denorm_min(), 1e-30f, 3e38f})
    inputs.insert(inputs.end(), {special, -special});

  for (const auto mode : {fp8_overflow::saturate, fp8_overflow::no_saturate}) {
    unsigned mismatches = 0;
    float first_bad = 0;
    for (const float x : inputs) {
      if (qmath::convert<F>(x, mode).bits != fp8_by_search<F>(x, mode)) {
        if (mismatches++ == 0) first_bad = x;
      }
    }
    INFO("mode " << static_cast<int>(mode) << ", first bad input " << first_bad << " (0x" << std::hex << bits_of(first_bad) << ")");
    CHECK(mismatches == 0);
  }
}

TEMPLATE_TEST_CASE("array kernels equal the scalar reference on random data of every tail length", "[fp]", fp16, bf16,
                   fp8_e4m3, fp8_e5m2) {
  using F = TestType;
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::uint32_t> any_bits;
  std::normal_distribution<float> normal(0.0f, 64.0f);
  for (std::size_t n : {0u, 1u, 3u, 15u, 16u, 17u, 31u, 33u, 63u, 64u, 65u, 127u, 129u, 1000u, 4099u}) {
    std::vector<float> in(n);
    for (std::size_t i = 0; i < n; ++i) in[i] = i % 3 == 0 ? std::bit_cast<float>(any_bits(rng)) : normal(rng);
    for (const auto mode : {fp8_overflow::saturate, fp8_overflow::no_saturate}) {
      std::vector<F> expected(n), fast(n + 1, F::from_bits(0x55));
      for (std::size_t i = 0; i < n; ++i) expected[i] = reference<F>(in[i], mode);
      run<F, qmath::default_arch>(in, std::span<F>(fast.data(), n), mode);
      CHECK(std::equal(expected.begin(), expected.end(), fast.begin()));
      CHECK(fast[n] == F::from_bits(0x55));  // nothing written past the end
#if !QMATH_DISABLE_SIMD
      std::vector<F> generic(n);
      run<F, qmath::kernels::fp_generic_arch<xsimd::default_arch>>(in, std::span<F>(generic), mode);
      CHECK(std::equal(expected.begin(), expected.end(), generic.begin()));
#endif
      std::vector<float> back(n + 1, 42.0f), back_ref(n);
      qmath::convert(std::span<const F>(expected), std::span<float>(back.data(), n));
      for (std::size_t i = 0; i < n; ++i) back_ref[i] = qmath::convert<float>(expected[i]);
      CHECK(std::equal(back_ref.begin(), back_ref.end(), back.begin(),
                       [](float a, float b) { return bits_of(a) == bits_of(b); }));
      CHECK(back[n] == 42.0f);
    }
  }
}

TEMPLATE_TEST_CASE("a destination of the wrong size throws qmath::error and writes nothing", "[fp]", fp16, bf16,
                   fp8_e4m3, fp8_e5m2) {
  using F = TestType;
  const std::vector<float> in(10, 1.0f);
  std::vector<F> small(9, F::from_bits(0x11)), large(11, F::from_bits(0x11));
  CHECK_THROWS_AS(qmath::convert(std::span<const float>(in), std::span<F>(small)), qmath::error);
  CHECK_THROWS_AS(qmath::convert(std::span<const float>(in), std::span<F>(large)), qmath::error);
  if constexpr (qmath::fp8_format<F>)
    CHECK_THROWS_AS(qmath::convert(std::span<const float>(in), std::span<F>(small), fp8_overflow::no_saturate), qmath::error);
  CHECK(std::all_of(small.begin(), small.end(), [](F f) { return f == F::from_bits(0x11); }));
  CHECK(std::all_of(large.begin(), large.end(), [](F f) { return f == F::from_bits(0x11); }));

  const std::vector<F> codes(10, F::from_bits(0x11));
  std::vector<float> out(9, 5.0f);
  CHECK_THROWS_AS(qmath::convert(std::span<const F>(codes), std::span<float>(out)), qmath::error);
  CHECK_THROWS_WITH(qmath::convert(std::span<const F>(codes), std::span<float>(out)),
                    Catch::Matchers::Contains("qmath::convert") && Catch::Matchers::Contains("9"));
  CHECK(std::all_of(out.begin(), out.end(), [](float f) { return f == 5.0f; }));
}

TEMPLATE_TEST_CASE("large arrays (streaming stores) at an unaligned start equal the scalar reference", "[fp]", fp16,
                   bf16, fp8_e4m3, fp8_e5m2) {
  using F = TestType;
  using raw = std::conditional_t<sizeof(F) == 2, std::uint16_t, std::uint8_t>;
  const std::size_t n = (std::size_t{1} << 21) + 5;  // 8 MiB of float output and more
  std::vector<F> codes(n);
  for (std::size_t i = 0; i < n; ++i) codes[i] = F::from_bits(static_cast<raw>(i * 2654435761u >> 7));
  std::vector<float> out(n + 2, 7.0f);
  qmath::convert(std::span<const F>(codes), std::span<float>(out.data() + 1, n));  // 4-byte offset from the allocation
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < n; ++i) mismatches += bits_of(out[i + 1]) != bits_of(qmath::convert<float>(codes[i]));
  CHECK(mismatches == 0);
  CHECK(out[0] == 7.0f);
  CHECK(out[n + 1] == 7.0f);
}

TEMPLATE_TEST_CASE("large float arrays (streaming stores) at an unaligned destination equal the scalar reference", "[fp]",
                   fp16, bf16, fp8_e4m3, fp8_e5m2) {
  using F = TestType;
  const std::size_t n = (std::size_t{1} << 21) + 37;  // 8 MiB of float input and more
  std::mt19937 rng(11);
  std::uniform_int_distribution<std::uint32_t> any_bits;
  std::normal_distribution<float> normal(0.0f, 64.0f);
  std::vector<float> in(n);
  for (std::size_t i = 0; i < n; ++i) in[i] = i % 5 == 0 ? std::bit_cast<float>(any_bits(rng)) : normal(rng);
  for (const auto mode : {fp8_overflow::saturate, fp8_overflow::no_saturate}) {
    std::vector<F> out(n + 2, F::from_bits(0x33));
    run<F, qmath::default_arch>(std::span<const float>(in).subspan(1), std::span<F>(out.data() + 1, n - 1), mode);
    std::size_t mismatches = 0;
    for (std::size_t i = 1; i < n; ++i) mismatches += !(out[i] == reference<F>(in[i], mode));
    CHECK(mismatches == 0);
    CHECK(out[0] == F::from_bits(0x33));
    CHECK(out[n] == F::from_bits(0x33));
  }
}

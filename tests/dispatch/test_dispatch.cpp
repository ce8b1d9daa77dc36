// Runtime dispatch, from a unit compiled with the compiler's default flags:
// the unit dispatches, picks the CPU's best tier (or the pinned one), and
// every tier this CPU has writes the scalar reference's bytes and floats for
// every dispatched format and fp conversion.
#include <qmath/quant.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "catch.hpp"

using namespace qmath;
namespace dispatch = qmath::kernels::dispatch;

static_assert(qmath::dispatches, "test_dispatch must be compiled for the baseline, with the dispatch library");
static_assert(std::is_same_v<qmath::auto_arch, qmath::runtime_arch>);

namespace {

// Student-t(3) values with zeros, tiny and huge-but-finite values mixed in,
// so blocks take the kernels' rare paths too.
std::vector<float> test_data(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::student_t_distribution<float> t(3.0f);
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = t(rng);
    if (i % 97 == 5) x[i] = 0.0f;
    if (i % 331 == 7) x[i] = 1e-30f;
    if (i % 1024 == 100) x[i] = 6.0e4f;
  }
  for (std::size_t i = 512; i < 1024 && i < n; ++i) x[i] = 0.0f;     // an all-zero run of blocks
  for (std::size_t i = 1024; i < 1280 && i < n; ++i) x[i] *= 1e-40f;  // subnormal blocks
  return x;
}

template <class F>
void check_format(const std::vector<float>& x) {
  INFO(F::info.name << " on " << isa_name(active_isa()));
  const std::size_t bytes = storage_bytes<F>(x.size());
  std::vector<std::byte> expected(bytes), got(bytes, std::byte{0x33});
  quantize<F, scalar_arch>(x, expected);
  quantize<F>(x, got);
  CHECK(std::memcmp(expected.data(), got.data(), bytes) == 0);
  std::vector<float> y_expected(x.size()), y_got(x.size(), -7.0f);
  dequantize<F, scalar_arch>(expected, y_expected);
  dequantize<F>(expected, y_got);
  CHECK(std::memcmp(y_expected.data(), y_got.data(), x.size() * sizeof(float)) == 0);
}

template <class... F>
void check_formats(dispatch::type_list<F...>, const std::vector<float>& x) {
  (check_format<F>(x), ...);
}

template <class T>
void check_fp(const std::vector<float>& x) {
  INFO(sizeof(T) << "-byte fp format on " << isa_name(active_isa()));
  std::vector<T> expected(x.size()), got(x.size());
  convert<T, scalar_arch>(x, std::span<T>(expected));
  convert(std::span<const float>(x), std::span<T>(got));
  CHECK(std::memcmp(expected.data(), got.data(), x.size() * sizeof(T)) == 0);
  if constexpr (fp8_format<T>) {
    convert<T, scalar_arch>(x, std::span<T>(expected), fp8_overflow::saturate);
    convert(std::span<const float>(x), std::span<T>(got), fp8_overflow::saturate);
    CHECK(std::memcmp(expected.data(), got.data(), x.size() * sizeof(T)) == 0);
  }
  // Every code back to float.
  using raw = std::conditional_t<sizeof(T) == 2, std::uint16_t, std::uint8_t>;
  std::vector<T> codes;
  for (std::size_t i = 0; i < (std::size_t{1} << (8 * sizeof(T))); ++i) codes.push_back(T::from_bits(static_cast<raw>(i)));
  std::vector<float> f_expected(codes.size()), f_got(codes.size());
  convert<T, scalar_arch>(std::span<const T>(codes), std::span<float>(f_expected));
  convert(std::span<const T>(codes), std::span<float>(f_got));
  CHECK(std::memcmp(f_expected.data(), f_got.data(), codes.size() * sizeof(float)) == 0);
}

void check_current_tier() {
  const auto x = test_data(256 * 41, 2024);  // 41 blocks of 256, 328 of 32: groups of 16 and a tail
  check_formats(dispatch::dispatched_formats{}, x);
  check_fp<fp16>(x);
  check_fp<bf16>(x);
  check_fp<fp8_e4m3>(x);
  check_fp<fp8_e5m2>(x);
}

}  // namespace

TEST_CASE("the unit picks the CPU's best tier, or the pinned one") {
  const char* pinned = std::getenv("QMATH_ARCH");
  isa expected = cpu_isa();
  if (pinned != nullptr) REQUIRE(parse_isa(pinned, expected));
  if (expected <= cpu_isa()) CHECK(active_isa() == expected);
  CHECK(std::string(runtime_arch::name()) == std::string(isa_name(active_isa())));
  // A tier above the CPU's is refused with a message naming both.
  if (cpu_isa() < isa::avx512_bf16) {
    CHECK_THROWS_AS(pin_isa(static_cast<isa>(static_cast<int>(cpu_isa()) + 1)), qmath::error);
  }
}

TEST_CASE("QMATH_ARCH pins the tier", "[.pinned]") {
  const char* want = std::getenv("QMATH_TEST_EXPECT_ARCH");
  REQUIRE(want != nullptr);
  isa expected;
  REQUIRE(parse_isa(want, expected));
  if (expected > cpu_isa()) {
    WARN("SKIPPED: this CPU has no " << want << " (its best tier is " << isa_name(cpu_isa()) << ")");
    CHECK(active_isa() == cpu_isa());  // the pin is refused, the best tier runs
    return;
  }
  CHECK(active_isa() == expected);
  check_current_tier();
}

TEST_CASE("every tier this CPU has writes the reference's bytes") {
  for (int t = 0; t <= static_cast<int>(cpu_isa()); ++t) {
    pin_isa(static_cast<isa>(t));
    REQUIRE(active_isa() == static_cast<isa>(t));
    check_current_tier();
  }
  pin_isa(cpu_isa());
}

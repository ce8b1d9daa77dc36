// Hostile sizes and shapes given to the kernels' array APIs: each must be a
// qmath::error naming the API that was called, before a byte is read or
// written, never a size product that wraps to match an empty span.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

#include <qmath/quant.hpp>

#include "catch.hpp"

using Catch::Contains;
using namespace qmath;

namespace {
constexpr std::size_t two_to(unsigned k) { return std::size_t{1} << k; }

template <class F>
void check_array_api_sizes() {
  constexpr std::size_t n = F::info.block_elems;
  const std::size_t bytes = storage_bytes<F>(n);
  std::vector<float> x(2 * n, 0.25f), y(2 * n);
  std::vector<std::byte> b(bytes + 1);
  INFO(F::info.name);
  // a length that is not whole blocks, a byte span one too short or long
  CHECK_THROWS_WITH(quantize<F>(std::span<const float>(x).first(n + 1), std::span(b).first(bytes)),
                    Contains("qmath::quantize"));
  CHECK_THROWS_WITH(quantize<F>(std::span<const float>(x).first(n), std::span(b).first(bytes - 1)),
                    Contains("qmath::quantize"));
  CHECK_THROWS_WITH(quantize<F>(std::span<const float>(x).first(n), std::span(b)), Contains("qmath::quantize"));
  CHECK_THROWS_WITH(dequantize<F>(std::span<const std::byte>(b).first(bytes), std::span(y).first(n - 1)),
                    Contains("qmath::dequantize"));
  CHECK_THROWS_WITH(dequantize<F>(std::span<const std::byte>(b), std::span(y).first(n)), Contains("qmath::dequantize"));
  // empty spans are a valid empty tensor
  quantize<F>(std::span<const float>{}, std::span<std::byte>{});
  dequantize<F>(std::span<const std::byte>{}, std::span<float>{});
  // a block count whose storage passes 2^64 is refused by the size check
  // alone (the spans are never read)
  const std::size_t huge = std::numeric_limits<std::size_t>::max() / n * n;
  CHECK_THROWS_AS(dequantize<F>(std::span<const std::byte>(b).first(1), std::span<float>(y.data(), huge)),
                  qmath::error);
}
}  // namespace

TEST_CASE("hostile: group_int4 shapes whose products wrap, with empty spans") {
  // {2^61, 256, 32}: out x in = 2^69 wrapped to 0 and matched the empty spans
  const group_int4::shape s{two_to(61), 256, 32};
  for (auto p : {int4_packing::gptq, int4_packing::gptq_v2, int4_packing::awq}) {
    CHECK_THROWS_WITH(group_int4::quantize(std::span<const float>{}, s, p, std::span<std::int32_t>{},
                                           std::span<std::int32_t>{}, std::span<fp16>{}),
                      Contains("qmath::group_int4::quantize") && Contains("overflows"));
    CHECK_THROWS_WITH(group_int4::dequantize(std::span<const std::int32_t>{}, std::span<const std::int32_t>{},
                                             std::span<const fp16>{}, s, p, std::span<float>{}),
                      Contains("qmath::group_int4::dequantize") && Contains("overflows"));
    CHECK_THROWS_AS(group_int4::dequantize<scalar_arch>(std::span<const std::int32_t>{},
                                                        std::span<const std::int32_t>{}, std::span<const fp16>{}, s, p,
                                                        std::span<float>{}),
                    qmath::error);
  }
  CHECK_THROWS_AS(s.qweight_words(), qmath::error);
  CHECK_THROWS_AS(s.scales_count(), qmath::error);
  // the largest shapes that do not wrap are counted exactly
  const group_int4::shape big{two_to(40), two_to(20), 128};
  CHECK(big.qweight_words() == two_to(57));
  CHECK(big.scales_count() == two_to(53));
  CHECK(big.qzeros_words() == two_to(50));
}

TEST_CASE("hostile: a dequantize call with a bad shape names dequantize") {
  using F = formats::gptq_int4<256, 128>;
  // 4 rows of 256: whole groups, but out_features is not a multiple of 8
  const std::size_t n = 4 * 256;
  std::vector<float> w(n, 1.0f);
  std::vector<std::byte> bytes(storage_bytes<F>(n));
  CHECK_THROWS_WITH(dequantize<F>(bytes, w), Contains("qmath::dequantize") && Contains("out_features"));
  CHECK_THROWS_WITH(quantize<F>(w, bytes), Contains("qmath::quantize") && Contains("out_features"));
  CHECK_THROWS_WITH((dequantize<F, scalar_arch>(bytes, w)), Contains("qmath::dequantize"));
}

TEST_CASE("hostile: every block format's array API checks its sizes") {
  check_array_api_sizes<formats::q8_0>();
  check_array_api_sizes<formats::q4_0>();
  check_array_api_sizes<formats::q4_1>();
  check_array_api_sizes<formats::q5_0>();
  check_array_api_sizes<formats::q5_1>();
  check_array_api_sizes<formats::iq4_nl>();
  check_array_api_sizes<formats::q2_k>();
  check_array_api_sizes<formats::tq1_0>();
  check_array_api_sizes<formats::tq2_0>();
  check_array_api_sizes<formats::int2_group<64>>();
}

TEST_CASE("hostile: ternary packing checks the trit count and the byte span") {
  std::vector<std::int8_t> trits(256, 1);
  std::vector<std::byte> out(sizeof(formats::tq2_0::block) + 1);
  CHECK_THROWS_WITH(formats::ternary_absmean::pack<formats::tq2_0>(std::span<const std::int8_t>(trits).first(255), 1.0f,
                                                                   std::span(out).first(sizeof(formats::tq2_0::block))),
                    Contains("qmath::formats::ternary_absmean::pack"));
  CHECK_THROWS_WITH(formats::ternary_absmean::pack<formats::tq2_0>(trits, 1.0f, out),
                    Contains("qmath::formats::ternary_absmean::pack"));
  trits[7] = 2;
  CHECK_THROWS_WITH(formats::ternary_absmean::pack<formats::tq1_0>(
                        trits, 1.0f, std::span(out).first(sizeof(formats::tq1_0::block))),
                    Contains("trit 7"));
}

// ---- the same bytes on every platform --------------------------------------------
namespace {
// Heavy-tailed values (like LLM weights, Student-t-ish: (2u - 1) / sqrt(v))
// from integer arithmetic, IEEE division and square root only, so that every
// platform's libm draws the same ones (std::student_t_distribution does not).
std::vector<float> portable_heavy_tailed(std::size_t n) {
  std::vector<float> x(n);
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  const auto next24 = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<float>((state >> 40) + 1) / 16777216.0f;  // (0, 1]
  };
  for (auto& v : x) {
    const float u = next24(), w = next24();
    v = (2.0f * u - 1.0f) / std::sqrt(w);
  }
  return x;
}

std::uint64_t fnv1a(const void* data, std::size_t n) {
  std::uint64_t h = 1469598103934665603ull;
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// quantize and dequantize on the default architecture equal scalar_arch, and
// the scalar bytes and floats hash to what x86-64 computes (`golden`).
template <class F>
void same_bytes_everywhere(std::uint64_t golden_bytes, std::uint64_t golden_floats) {
  const std::size_t n = 16384;
  const auto x = portable_heavy_tailed(n);
  std::vector<std::byte> simd(storage_bytes<F>(n)), ref(storage_bytes<F>(n));
  quantize<F>(x, simd);
  quantize<F, scalar_arch>(x, ref);
  std::vector<float> y_simd(n), y_ref(n);
  dequantize<F>(ref, y_simd);
  dequantize<F, scalar_arch>(ref, y_ref);
  INFO(F::info.name << ": bytes 0x" << std::hex << fnv1a(ref.data(), ref.size()) << ", floats 0x"
                    << fnv1a(y_ref.data(), 4 * n));
  CHECK(simd == ref);
  CHECK(std::memcmp(y_simd.data(), y_ref.data(), 4 * n) == 0);
  CHECK(fnv1a(ref.data(), ref.size()) == golden_bytes);
  CHECK(fnv1a(y_ref.data(), 4 * n) == golden_floats);
}
}  // namespace

TEST_CASE("hostile: every architecture writes x86-64's bytes for 16 Ki heavy-tailed values") {
  // Golden hashes from x86-64 (g++ 12, -march=native and scalar agree). On
  // AArch64 (xsimd's neon64) Q2_K once differed: xsimd divides float batches
  // on NEON by a refined reciprocal estimate (simd::div in xsimd_compat.hpp).
  same_bytes_everywhere<formats::q8_0>(0x6fa02ef62b1de2e, 0xe8399d6dd0375531);
  same_bytes_everywhere<formats::q4_0>(0x44cef42af73a3e20, 0x298f5e76cc4991f9);
  same_bytes_everywhere<formats::q4_1>(0xe5234184fd4ad67a, 0x6846450c98f0bc39);
  same_bytes_everywhere<formats::q5_0>(0xf21db8b9d5ef11c1, 0xacbcd03160892023);
  same_bytes_everywhere<formats::q5_1>(0x8155f675e621c673, 0x4c8c3f67990a48b0);
  same_bytes_everywhere<formats::iq4_nl>(0x624c868afa5cd36e, 0x33f5a73cb85f487a);
  same_bytes_everywhere<formats::q2_k>(0xf8038c55ce464c8f, 0xa788355805b0df5c);
  same_bytes_everywhere<formats::tq1_0>(0x1be80eb7f3e3c661, 0x6c89a47520d82c4b);
  same_bytes_everywhere<formats::tq2_0>(0xcef2804e579bff10, 0x6c89a47520d82c4b);
  same_bytes_everywhere<formats::int2_group<64>>(0x6dd3a42a2359531f, 0x4d569aa65d7a74);
  same_bytes_everywhere<formats::nf4>(0x8b34da6d7104ed0e, 0xbcd77fbb5b5d044d);
  same_bytes_everywhere<formats::fp4_dq>(0x627a8515f50d994f, 0xa7ed851c6ff58125);
  same_bytes_everywhere<formats::int8_rowwise<256>>(0x1c2685340b70635e, 0xb45eb48bdde5d1d0);
  same_bytes_everywhere<formats::gptq_int4<256, 128>>(0xa502c6cb9a2c3a2e, 0xd40c5e130ec91a8f);
  same_bytes_everywhere<formats::awq_int4<256, 128>>(0x39204bb192490f01, 0xd40c5e130ec91a8f);
}

// Hostile sizes and shapes given to the kernels' array APIs: each must be a
// qmath::error naming the API that was called, before a byte is read or
// written, never a size product that wraps to match an empty span.
#include <cstddef>
#include <cstdint>
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

// Hostile input to the bitsandbytes APIs: the reproducers of shapes whose
// size products wrap past 2^64, empty spans, outlier columns with no rows, and
// huge outliers under an LLM.int8 threshold. Each must be a qmath::error that
// names the API called (or a correct answer), never UB, a crash or a
// std::bad_alloc. Run under ASan/UBSan in the sanitizer CI build.
#include <qmath/kernels/bnb_4bit.hpp>
#include <qmath/kernels/bnb_int8.hpp>

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "arch_list.hpp"
#include "catch.hpp"

using namespace qmath;

namespace {

using qmath_test::for_each_arch;

constexpr std::size_t two_to_63 = std::size_t{1} << 63;

}  // namespace

TEST_CASE("int8 rowwise: rows x cols past 2^64 is an error naming the API, not an empty matrix") {
  for_each_arch([]<class Arch>() {
    std::vector<float> values;  // empty spans: the wrapped product 2 x 2^63 = 0 would match them
    std::vector<std::int8_t> q;
    std::vector<float> stats(2);
    CHECK_THROWS_WITH(bnb::quantize_int8_rowwise<Arch>(values, 2, two_to_63, q, stats),
                      Catch::Contains("qmath::bnb::quantize_int8_rowwise") && Catch::Contains("overflows 64 bits"));
    CHECK_THROWS_WITH(bnb::dequantize_int8_rowwise<Arch>(q, stats, 2, two_to_63, values),
                      Catch::Contains("qmath::bnb::dequantize_int8_rowwise") && Catch::Contains("overflows 64 bits"));
    // A product that does not wrap but does not match the spans either.
    CHECK_THROWS_WITH(bnb::dequantize_int8_rowwise<Arch>(q, stats, 2, std::size_t{1} << 40, values),
                      Catch::Contains("matrix has 2199023255552 values, got 0"));
  });
  std::vector<float> values;
  std::vector<std::int8_t> q;
  std::vector<float> stats(2);
  CHECK_THROWS_AS(bnb::quantize_int8_rowwise_reference(values, 2, two_to_63, q, stats), qmath::error);
  CHECK_THROWS_AS(bnb::dequantize_int8_rowwise_reference(q, stats, 2, two_to_63, values), qmath::error);
}

TEST_CASE("find_outlier_columns: no rows means no outliers, whatever cols says; a mismatch is an error") {
  const std::vector<float> none;
  // rows 0, cols 2^64 - 7: the column flags would wrap (and 2^40 would throw std::bad_alloc).
  CHECK(bnb::find_outlier_columns(none, 0, std::numeric_limits<std::size_t>::max() - 6, 6.0f).empty());
  CHECK(bnb::find_outlier_columns(none, 0, std::size_t{1} << 40, 6.0f).empty());
  for_each_arch([]<class Arch>() {
    const std::vector<float> empty;
    std::vector<std::int8_t> q;
    std::vector<float> stats;
    CHECK(bnb::quantize_int8_rowwise<Arch>(empty, 0, std::numeric_limits<std::size_t>::max() - 6, q, stats, 6.0f)
              .empty());
    CHECK(bnb::quantize_int8_rowwise<Arch>(empty, 0, std::size_t{1} << 40, q, stats, 6.0f).empty());
  });
  const std::vector<float> four(4, 1.0f);
  CHECK_THROWS_WITH(bnb::find_outlier_columns(four, 1, 5, 6.0f),
                    Catch::Contains("qmath::bnb::find_outlier_columns") && Catch::Contains("got 4"));
  CHECK_THROWS_WITH(bnb::find_outlier_columns(four, 3, two_to_63, 6.0f), Catch::Contains("overflows 64 bits"));
  CHECK_THROWS_WITH(bnb::find_outlier_columns(four, 2, 2, -1.0f), Catch::Contains("threshold must be finite"));
  CHECK_THROWS_WITH(bnb::find_outlier_columns(four, 2, 0, 6.0f), Catch::Contains("at least one column"));
}

TEST_CASE("int8_rowwise<R>: empty spans are a no-op (no memcpy from a null pointer)") {
  for_each_arch([]<class Arch>() {
    std::span<const float> in;
    std::span<std::byte> out;
    REQUIRE(in.data() == nullptr);
    quantize<formats::int8_rowwise<64>, Arch>(in, out);
    dequantize<formats::int8_rowwise<64>, Arch>(std::span<const std::byte>(), std::span<float>());
  });
  // Empty spans for the 4-bit formats too (their buffers are 0 bytes for 0 values).
  quantize<formats::nf4>(std::span<const float>(), std::span<std::byte>());
  dequantize<formats::nf4_dq>(std::span<const std::byte>(), std::span<float>());
}

TEST_CASE("LLM.int8 threshold: a huge outlier is zeroed, not cast out of the int8 range") {
  // Row 0 holds 3e38 and -3e38 beside small values: row_stat leaves them out, so the
  // scale is 127 / 0.5 and 3e38 * 254 overflows to inf before the (former) int8 cast.
  const std::size_t rows = 3, cols = 40;  // 40: every SIMD width has a main loop and a scalar tail
  std::vector<float> a(rows * cols);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(static_cast<int>(i % 11) - 5) / 10.0f;
  a[3] = 3e38f;
  a[38] = -3e38f;            // in the scalar tail of every width
  a[cols + 17] = 7.0f;       // an ordinary outlier in row 1
  a[2 * cols + 39] = 1e30f;  // and a large one in the last row's tail
  std::vector<std::int8_t> ref_q(a.size());
  std::vector<float> ref_stats(rows);
  const auto ref_cols = bnb::quantize_int8_rowwise_reference(a, rows, cols, ref_q, ref_stats, 6.0f);
  CHECK(ref_cols == std::vector<std::size_t>{3, 17, 38, 39});
  for (std::size_t r = 0; r < rows; ++r) {
    CHECK(ref_stats[r] == 0.5f);
    for (std::size_t c : ref_cols) CHECK(ref_q[r * cols + c] == 0);
  }
  for_each_arch([&]<class Arch>() {
    std::vector<std::int8_t> q(a.size());
    std::vector<float> stats(rows);
    CHECK(bnb::quantize_int8_rowwise<Arch>(a, rows, cols, q, stats, 6.0f) == ref_cols);
    CHECK(q == ref_q);
    CHECK(stats == ref_stats);
  });
  // One row: the same zeroing (torch zeroes the outlier elements before quantizing).
  std::vector<std::int8_t> q1(cols);
  std::vector<float> s1(1);
  CHECK(bnb::quantize_int8_rowwise(std::span<const float>(a).first(cols), 1, cols, q1, s1, 6.0f) ==
        std::vector<std::size_t>{3, 38});
  CHECK(q1[3] == 0);
  CHECK(q1[38] == 0);
  // Saturation itself, for values a threshold lets through unscaled.
  CHECK(bnb::quantize_int8_value(3e38f, 254.0f) == 127);
  CHECK(bnb::quantize_int8_value(-3e38f, 254.0f) == -128);
  CHECK(bnb::quantize_int8_value(1e10f, 1.0f) == 127);
  CHECK(bnb::quantize_int8_tiny_row(3e38f, 1e-39f) == 127);
  CHECK(bnb::quantize_int8_tiny_row(-3e38f, 1e-39f) == -128);
}

TEST_CASE("4-bit APIs: size checks hold for sizes near 2^64") {
  std::vector<std::uint8_t> packed;
  std::vector<float> absmax, out;
  // (n + 1) / 2 and (n + blocksize - 1) / blocksize must not wrap for n near 2^64.
  CHECK_THROWS_AS(bnb::check_4bit_sizes("qmath::bnb::dequantize_4bit", std::numeric_limits<std::size_t>::max(), 0, 0,
                                        64),
                  qmath::error);
  CHECK_THROWS_WITH(bnb::dequantize_4bit(packed, absmax, std::span<float>(out.data(), 0), bnb_code::nf4, 48),
                    Catch::Contains("qmath::bnb::dequantize_4bit"));
}

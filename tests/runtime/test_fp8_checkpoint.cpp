// FP8 checkpoints (formats/fp8_checkpoint.hpp) against golden files written by
// transformers' own FP8 code (tests/data/fp8/make_golden.py, or the files in
// $QMATH_FP8_GOLDEN_DIR when the live CTest reruns it): 128 x 128 blocks with
// and without partial edge blocks, per-channel and per-tensor scales, huge,
// all-subnormal and tie-heavy blocks; every e4m3 code times adversarial scales.
// Then the rule's own properties and the error paths.
#include <qmath/formats/fp8_checkpoint.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "golden_files.hpp"

using namespace qmath;
namespace fp8c = qmath::fp8_checkpoint;

namespace {

const qmath_test::golden_files files("QMATH_FP8_GOLDEN_DIR", "fp8");
using qmath_test::golden_case;
using qmath_test::number;

// make_golden.py generated().
std::vector<float> generated(std::size_t n, std::uint64_t seed, float scale) {
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t h = (static_cast<std::uint64_t>(i) * 2654435761u + seed) % (std::uint64_t{1} << 32);
    const double u = static_cast<double>(h) / 4294967296.0;
    const std::uint64_t k = ((i / 64) * 40503u + seed) % 16;
    const float step = std::ldexp(1.0f, static_cast<int>(k) - 8);
    const float v = static_cast<float>(2.0 * u - 1.0) * step;
    x[i] = v * scale;
  }
  return x;
}

template <class T>
std::uint64_t fnv1a64(const std::vector<T>& values) {
  std::uint64_t h = 0xCBF29CE484222325u;
  for (T v : values) {
    std::uint64_t word = 0;
    if constexpr (sizeof(T) == 4) word = std::bit_cast<std::uint32_t>(v);
    else word = static_cast<std::uint16_t>(v);
    h = (h ^ word) * 0x100000001B3u;
  }
  return h;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

fp8c::scale_grid grid_of(const golden_case& c) {
  return {number(c, "rows"), number(c, "cols"), number(c, "block_rows"), number(c, "block_cols")};
}

}  // namespace

TEST_CASE("golden: quantize writes transformers' codes and scales; dequantize its floats and bf16") {
  int cases = 0;
  for (const auto& c : files.cases()) {
    if (c.at("kind") != "quantize") continue;
    ++cases;
    const std::string name = c.at("name");
    INFO(name);
    const auto g = grid_of(c);
    const std::size_t n = g.rows * g.cols, grid = g.scale_rows() * g.scale_cols();
    const auto in = c.at("input") == "file" ? files.array<float>(name + ".in.f32", n)
                                            : generated(n, number(c, "seed"), std::stof(c.at("scale")));
    const auto golden_q = files.array<std::uint8_t>(name + ".q.u8", n);
    const auto golden_scale = files.array<float>(name + ".scale.f32", grid);
    std::vector<std::uint8_t> q(n);
    std::vector<float> scale(grid);
    fp8c::quantize(in, g, q, scale);
    CHECK(q == golden_q);
    CHECK(same_bits(scale, golden_scale));
    std::vector<float> out(n);
    std::vector<std::uint16_t> out_bf16(n);
    fp8c::dequantize(golden_q, golden_scale, g, out);
    fp8c::dequantize_bf16(golden_q, golden_scale, g, out_bf16);
    CHECK(fnv1a64(out) == number(c, "out_fnv1a64"));
    CHECK(fnv1a64(out_bf16) == number(c, "bf16_fnv1a64"));
  }
  CHECK(cases == 5);
}

TEST_CASE("golden: every e4m3 code times 0, -0, subnormal, negative, huge, NaN and infinite scales") {
  for (const auto& c : files.cases()) {
    if (c.at("kind") != "dequantize") continue;
    const auto g = grid_of(c);
    const std::size_t n = g.rows * g.cols, grid = g.scale_rows() * g.scale_cols();
    const auto q = files.array<std::uint8_t>(c.at("name") + ".q.u8", n);
    const auto scale = files.array<float>(c.at("name") + ".scale.f32", grid);
    const auto golden = files.array<float>(c.at("name") + ".out.f32", n);
    const auto golden_bf16 = files.array<std::uint16_t>(c.at("name") + ".out.bf16", n);
    std::vector<float> out(n);
    std::vector<std::uint16_t> out_bf16(n);
    fp8c::dequantize(q, scale, g, out);
    fp8c::dequantize_bf16(q, scale, g, out_bf16);
    CHECK(same_bits(out, golden));
    CHECK(out_bf16 == golden_bf16);
  }
}

TEST_CASE("the rule: scale_inv = 1 / (448 / max), codes in [-448, 448], round trip within half an e4m3 step") {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const auto g : {fp8c::scale_grid::block_wise(300, 257), fp8c::scale_grid::per_channel(33, 70),
                       fp8c::scale_grid::per_tensor(17, 19), fp8c::scale_grid::block_wise(5, 7, 2, 3)}) {
    const std::size_t n = g.rows * g.cols;
    std::vector<float> w(n);
    for (auto& v : w) v = normal(rng) * 0.1f;
    std::vector<std::uint8_t> q(n);
    std::vector<float> scale(g.scale_rows() * g.scale_cols()), y(n);
    fp8c::quantize(w, g, q, scale);
    fp8c::dequantize(q, scale, g, y);
    for (std::size_t r = 0; r < g.rows; ++r)
      for (std::size_t c = 0; c < g.cols; ++c) {
        const std::size_t i = r * g.cols + c;
        const float s = scale[(r / g.block_rows) * g.scale_cols() + c / g.block_cols];
        REQUIRE((q[i] & 0x7F) <= 0x7E);  // never NaN for finite input
        // e4m3 has 3 mantissa bits: relative error <= 2^-4 for normals, absolute 2^-10 * s below 2^-6 * s.
        REQUIRE(std::fabs(y[i] - w[i]) <= std::fmax(std::fabs(w[i]) * 0.0625f, s * 0.0009765625f) * 1.0001f);
      }
    // The block maximum codes as +-448 (0x7E / 0xFE) or within rounding of it.
    const auto max_it = std::max_element(w.begin(), w.end(), [](float a, float b) { return std::fabs(a) < std::fabs(b); });
    CHECK((q[static_cast<std::size_t>(max_it - w.begin())] & 0x7F) >= 0x7D);
  }
}

TEST_CASE("errors: sizes, empty blocks, overflowing shapes, NaN and infinity name the API and the block") {
  std::vector<float> w(12, 1.0f), scale(1), out(12);
  std::vector<std::uint8_t> q(12);
  const auto g = fp8c::scale_grid::per_tensor(3, 4);
  CHECK_THROWS_WITH(fp8c::quantize(std::span<const float>(w).first(11), g, q, scale),
                    Catch::Contains("qmath::fp8_checkpoint::quantize") && Catch::Contains("has 12 values, got 11"));
  CHECK_THROWS_WITH(fp8c::dequantize(std::span<const std::uint8_t>(q).first(10), scale, g, out),
                    Catch::Contains("needs 12 fp8 codes, got 10"));
  CHECK_THROWS_WITH(fp8c::dequantize(q, std::vector<float>(2), g, out), Catch::Contains("1 x 1 scale grid"));
  CHECK_THROWS_WITH(fp8c::quantize(w, fp8c::scale_grid{3, 4, 0, 4}, q, scale), Catch::Contains("is empty"));
  volatile std::size_t huge = std::size_t{1} << 33;  // opaque, so the compiler does not unroll a loop it never runs
  CHECK_THROWS_WITH(fp8c::dequantize(q, scale, fp8c::scale_grid{huge, huge, 1, 1}, out),
                    Catch::Contains("overflows 64 bits"));
  CHECK_THROWS_WITH(fp8c::dequantize_bf16(q, scale, fp8c::scale_grid{0, 4}, std::span<std::uint16_t>()),
                    Catch::Contains("qmath::fp8_checkpoint::dequantize_bf16") && Catch::Contains("no values"));
  w[6] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> scales(4);
  CHECK_THROWS_WITH(fp8c::quantize(w, fp8c::scale_grid::block_wise(3, 4, 2, 2), q, scales),
                    Catch::Contains("NaN or infinity in block (0, 1)"));  // row 1, column 2
  w[6] = -std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH(fp8c::quantize(w, g, q, scale), Catch::Contains("NaN or infinity in block (0, 0)"));
}

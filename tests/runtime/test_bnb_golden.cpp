// qmath against golden files written by the real bitsandbytes 0.50 on a CPU
// (tests/bitsandbytes/make_golden.py; the files are in tests/data/bitsandbytes,
// or in $QMATH_BNB_GOLDEN_DIR when the live CTest reruns the script).
//
//   quantize4: qmath's CPU rule (bnb_backend::cpu) writes bitsandbytes' packed
//              bytes and absmax; dequantizing bitsandbytes' state with its
//              stored code table gives bitsandbytes' floats, bit for bit.
//   dequant4:  random codes with adversarial absmax (0, -0, subnormal,
//              negative, 3e38) through both of bitsandbytes' CPU dequantizers.
// bf16 output: bitsandbytes' native CPU dequantizer (blocksize < 2048 and an
// even last dimension) flushes subnormal results to zero on this AVX512-BF16
// CPU; its torch fallback rounds them to nearest even (bnb::bf16_subnormals).
#include <qmath/fp/bf16.hpp>
#include <qmath/kernels/bnb_4bit.hpp>
#include <qmath/kernels/bnb_int8.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "arch_list.hpp"
#include "catch.hpp"
#include "golden_files.hpp"

using namespace qmath;

namespace {

const qmath_test::golden_files files("QMATH_BNB_GOLDEN_DIR", "bitsandbytes");
using qmath_test::golden_case;
using qmath_test::number;

std::uint32_t hex32(const golden_case& c, const char* key) {
  return static_cast<std::uint32_t>(std::stoul(c.at(key), nullptr, 16));
}

// make_golden.py generated(): weights both sides compute, so they need not be stored.
std::vector<float> generated(std::size_t n, std::uint64_t seed) {
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t h = (static_cast<std::uint64_t>(i) * 2654435761u + seed) % (std::uint64_t{1} << 32);
    const double u = static_cast<double>(h) / 4294967296.0;
    const std::uint64_t k = ((i / 64) * 40503u + seed) % 16;
    const float scale = std::ldexp(1.0f, static_cast<int>(k) - 8);
    x[i] = static_cast<float>(2.0 * u - 1.0) * scale;
  }
  return x;
}

// FNV-1a over the float32 bit patterns, one 32-bit word at a time (make_golden.py fnv1a64).
std::uint64_t fnv1a64(const std::vector<float>& values) {
  std::uint64_t h = 0xCBF29CE484222325u;
  for (float v : values) h = (h ^ std::bit_cast<std::uint32_t>(v)) * 0x100000001B3u;
  return h;
}

std::vector<golden_case> cases_of_kind(const char* kind) {
  std::vector<golden_case> out;
  for (auto& c : files.cases())
    if (c.at("kind") == kind) out.push_back(c);
  return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::size_t first_difference(const std::vector<float>& a, const std::vector<float>& b) {
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::bit_cast<std::uint32_t>(a[i]) != std::bit_cast<std::uint32_t>(b[i])) return i;
  return a.size();
}


using qmath_test::for_each_arch;

}  // namespace

TEST_CASE("golden: bitsandbytes' stored code tables are qmath's") {
  CHECK(files.array<float>("code_nf4.f32", 16) == std::vector<float>(bnb::nf4_map.begin(), bnb::nf4_map.end()));
  const auto fp4 = files.array<float>("code_fp4.f32", 16);
  CHECK(same_bits(fp4, std::vector<float>(bnb::fp4_map.begin(), bnb::fp4_map.end())));  // entry 8 is +0.0
}

TEST_CASE("golden: quantize_4bit on a CPU, byte for byte, and its dequantization bit for bit") {
  const auto cases = files.cases();
  int quantize_cases = 0, dequant_cases = 0;
  for (const auto& c : cases) {
    if (c.at("kind") != "quantize4" && c.at("kind") != "dequant4") continue;
    const std::string name = c.at("name");
    const bnb_code code = c.at("code") == "nf4" ? bnb_code::nf4 : bnb_code::fp4;
    const std::size_t blocksize = number(c, "blocksize"), n = number(c, "n");
    const std::size_t blocks = bnb::ceil_div(n, blocksize);
    INFO(name);
    const auto map_f32 = files.array<float>("code_" + c.at("code") + ".f32", 16);
    std::array<float, 16> map{};
    std::copy(map_f32.begin(), map_f32.end(), map.begin());
    const auto golden_packed = files.array<std::uint8_t>(name + ".packed.u8", (n + 1) / 2);
    const auto golden_absmax = files.array<float>(name + ".absmax.f32", blocks);
    const auto golden_out = files.array<float>(name + ".out.f32", n);
    const auto golden_bf16 = files.array<std::uint16_t>(name + ".out.bf16", n);
    // bitsandbytes' native CPU dequantizer runs for blocksize < 2048 and an even last dimension.
    const std::size_t cols = c.count("cols") ? number(c, "cols") : n;
    const bool native = blocksize < 2048 && cols % 2 == 0;
    if (c.at("kind") == "quantize4") {
      ++quantize_cases;
      const auto in = files.array<float>(name + ".in.f32", n);
      for_each_arch([&]<class Arch>() {
        std::vector<std::uint8_t> packed((n + 1) / 2);
        std::vector<float> absmax(blocks);
        bnb::quantize_4bit<Arch>(in, packed, absmax, code, blocksize, bnb_backend::cpu);
        CHECK(packed == golden_packed);
        CHECK(same_bits(absmax, golden_absmax));
      });
    } else {
      ++dequant_cases;
    }
    for_each_arch([&]<class Arch>() {
      std::vector<float> out(n);
      bnb::dequantize_4bit<Arch>(golden_packed, golden_absmax, out, map, blocksize);
      INFO("first difference at " << first_difference(out, golden_out));
      CHECK(same_bits(out, golden_out));
      std::vector<std::uint16_t> bf16(n);
      bnb::dequantize_4bit_bf16<Arch>(golden_packed, golden_absmax, bf16, map, blocksize,
                                      native ? bnb::bf16_subnormals::flush : bnb::bf16_subnormals::keep);
      CHECK(bf16 == golden_bf16);
      // The two rules part exactly on the subnormal results (there are some: absmax 1e-40 and 1e-38).
      std::vector<std::uint16_t> other(n);
      bnb::dequantize_4bit_bf16<Arch>(golden_packed, golden_absmax, other, map, blocksize,
                                      native ? bnb::bf16_subnormals::keep : bnb::bf16_subnormals::flush);
      std::size_t differing = 0, expected = 0;
      for (std::size_t i = 0; i < n; ++i) {
        differing += other[i] != bf16[i];
        const bool subnormal = out[i] != 0.0f && std::fabs(out[i]) < 1.17549435e-38f;
        expected += subnormal && (qmath::detail::bf16_bits_from_float(out[i]) & 0x7FFFu) != 0;
      }
      CHECK(differing == expected);
      if (name.find("dequant_b64") != std::string::npos) CHECK(expected > 0);  // absmax 1e-40, 1e-38
    });
  }
  CHECK(quantize_cases >= 14);
  CHECK(dequant_cases >= 6);
}

TEST_CASE("golden: the CUDA rule differs from the CPU's where their pivots and zeros differ") {
  // On the pivot and tiny-value sets the rules differ, which is why both are selectable.
  for (const auto& c : files.cases()) {
    if (c.at("kind") != "quantize4") continue;
    const std::string name = c.at("name");
    const bnb_code code = c.at("code") == "nf4" ? bnb_code::nf4 : bnb_code::fp4;
    const std::size_t blocksize = number(c, "blocksize"), n = number(c, "n");
    INFO(name);
    const auto in = files.array<float>(name + ".in.f32", n);
    const auto golden_packed = files.array<std::uint8_t>(name + ".packed.u8", (n + 1) / 2);
    std::vector<std::uint8_t> packed((n + 1) / 2);
    std::vector<float> absmax(bnb::ceil_div(n, blocksize));
    bnb::quantize_4bit(in, packed, absmax, code, blocksize, bnb_backend::cuda);
    // Every differing nibble is explained: FP4's zero signs (cuda: tiny positive -> 0, tiny
    // negative -> 8; cpu the opposite), or x / absmax within 4e-7 of a pivot (FP4's 0.583333f is
    // 5 ulps below the midpoint 7/12; NF4's literals are within an ulp of the midpoints), or a
    // partial last block (divided, not multiplied) or subnormal scales (flushed, clamped).
    std::size_t differing = 0, unexplained = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint8_t mine = (i % 2 == 0) ? packed[i / 2] >> 4 : packed[i / 2] & 15;
      const std::uint8_t theirs = (i % 2 == 0) ? golden_packed[i / 2] >> 4 : golden_packed[i / 2] & 15;
      if (mine == theirs) continue;
      ++differing;
      const std::size_t block = i / blocksize;
      const float scaled = in[i] / absmax[block];
      bool explained = (mine | 8) == 8 && (theirs | 8) == 8;  // {0, 8}: the zeros
      const auto& sorted = bnb::sorted_code_of(code);
      for (float bound : sorted.bounds) explained = explained || std::fabs(scaled - bound) <= 4e-7f;
      explained = explained || (block + 1) * blocksize > n || absmax[block] < 1.2e-38f ||
                  bnb::abs_bits(in[i]) < bnb::min_normal_bits;  // flushed by the GPU
      unexplained += !explained;
      if (!explained)
        UNSCOPED_INFO(i << ": x " << in[i] << ", absmax " << absmax[block] << ", cuda " << int(mine) << ", cpu "
                        << int(theirs));
    }
    CHECK(unexplained == 0);
    const bool ordinary = name.find("gauss_b64") != std::string::npos || name.find("gauss_b4096") != std::string::npos;
    if (ordinary && code == bnb_code::nf4) CHECK(differing == 0);
    if (name.find("pivots") != std::string::npos || name.find("tiny") != std::string::npos) CHECK(differing > 0);
  }
}

TEST_CASE("golden: the dynamic map is create_dynamic_map's, with torch's fused linspace") {
  const auto table = files.array<float>("code_dynamic.f32", 256);
  CHECK(same_bits(table, std::vector<float>(bnb::dynamic_map.begin(), bnb::dynamic_map.end())));
}

TEST_CASE("golden: torch's float32 sum and mean on a CPU, below and above the parallel grain") {
  const auto cases = cases_of_kind("torch_sum");
  CHECK(cases.size() >= 8);
  for (const auto& c : cases) {
    INFO(c.at("name"));
    auto x = generated(number(c, "n"), number(c, "seed"));
    for (float& v : x) v = std::fabs(v);
    CHECK(std::bit_cast<std::uint32_t>(bnb::torch_cpu_sum(x, number(c, "threads"))) == hex32(c, "sum"));
    CHECK(std::bit_cast<std::uint32_t>(bnb::torch_cpu_mean(x, number(c, "threads"))) == hex32(c, "mean"));
  }
}

TEST_CASE("golden: quantize_blockwise on a CPU (the 65536-bin table), byte for byte") {
  for (const auto& c : cases_of_kind("blockwise8")) {
    const std::size_t n = number(c, "n"), blocksize = number(c, "blocksize");
    const auto in = files.array<float>(c.at("name") + ".in.f32", n);
    const auto golden_q = files.array<std::uint8_t>(c.at("name") + ".q.u8", n);
    const auto golden_absmax = files.array<float>(c.at("name") + ".absmax.f32", bnb::ceil_div(n, blocksize));
    std::vector<std::uint8_t> q(n);
    std::vector<float> absmax(golden_absmax.size());
    bnb::quantize_8bit_reference(in, q, absmax, bnb::dynamic_map, blocksize, bnb_backend::cpu);
    CHECK(q == golden_q);
    CHECK(same_bits(absmax, golden_absmax));
    // The GPU's dQuantize<0> codes the nearest value itself; where codes are closer than a bin
    // (around 0) it picks differently, which is the difference the CPU's table makes.
    std::vector<std::uint8_t> q_cuda(n);
    bnb::quantize_8bit_reference(in, q_cuda, absmax, bnb::dynamic_map, blocksize, bnb_backend::cuda);
    std::size_t differing = 0;
    for (std::size_t i = 0; i < n; ++i) differing += q_cuda[i] != golden_q[i];
    CHECK(differing > 0);
  }
}

TEST_CASE("golden: double quantization on a CPU: every stored field, the restored absmax, the output") {
  const auto cases = cases_of_kind("dq");
  CHECK(cases.size() >= 3);
  for (const auto& c : cases) {
    const std::string name = c.at("name");
    INFO(name);
    const bnb_code code = c.at("code") == "nf4" ? bnb_code::nf4 : bnb_code::fp4;
    const std::size_t n = number(c, "n"), blocksize = number(c, "blocksize");
    const std::size_t blocks = bnb::ceil_div(n, blocksize), groups = bnb::ceil_div(blocks, bnb::dq_blocksize);
    const auto x = generated(n, number(c, "seed"));
    const auto golden_packed = files.array<std::uint8_t>(name + ".packed.u8", n / 2);
    const auto golden_q = files.array<std::uint8_t>(name + ".qabsmax.u8", blocks);
    const auto golden_absmax2 = files.array<float>(name + ".absmax2.f32", groups);
    const auto code2 = files.array<float>(name + ".code2.f32", 256);
    const auto golden_absmax = files.array<float>(name + ".absmax.f32", blocks);
    const auto golden_restored = files.array<float>(name + ".restored.f32", blocks);
    CHECK(same_bits(code2, std::vector<float>(bnb::dynamic_map.begin(), bnb::dynamic_map.end())));
    const bnb::dq_options options{bnb_backend::cpu, number(c, "threads")};
    for_each_arch([&]<class Arch>() {
      std::vector<std::uint8_t> packed(n / 2), qabsmax(blocks);
      std::vector<float> absmax2(groups), absmax(blocks);
      float offset = 0.0f;
      bnb::quantize_4bit_dq<Arch>(x, packed, qabsmax, absmax2, offset, code, blocksize, bnb::dynamic_map, options);
      CHECK(packed == golden_packed);
      CHECK(qabsmax == golden_q);
      CHECK(same_bits(absmax2, golden_absmax2));
      CHECK(std::bit_cast<std::uint32_t>(offset) == hex32(c, "offset"));
      bnb::quantize_4bit<Arch>(x, packed, absmax, code, blocksize, bnb_backend::cpu);
      CHECK(same_bits(absmax, golden_absmax));
    });
    // Reading bitsandbytes' state with its stored tables.
    std::array<float, 256> table{};
    std::copy(code2.begin(), code2.end(), table.begin());
    const float offset = std::bit_cast<float>(hex32(c, "offset"));
    std::vector<float> restored(blocks);
    for (std::size_t b = 0; b < blocks; ++b)
      restored[b] = bnb::restore_absmax(table, golden_q[b], golden_absmax2[b / bnb::dq_blocksize], offset);
    CHECK(same_bits(restored, golden_restored));
    for_each_arch([&]<class Arch>() {
      std::vector<float> out(n);
      bnb::dequantize_4bit_dq<Arch>(golden_packed, golden_q, golden_absmax2, offset, out, bnb::quant_map(code),
                                    blocksize, table);
      CHECK(fnv1a64(out) == number(c, "out_fnv1a64"));
    });
  }
}

TEST_CASE("golden: LLM.int8 on a CPU: codes, row stats, outlier columns, dequantized floats") {
  const auto cases = cases_of_kind("int8");
  CHECK(cases.size() == 2);
  for (const auto& c : cases) {
    const std::string name = c.at("name");
    INFO(name);
    const std::size_t rows = number(c, "rows"), cols = number(c, "cols");
    const float threshold = std::stof(c.at("threshold"));
    const auto in = files.array<float>(name + ".in.f32", rows * cols);
    const auto golden_q = files.array<std::int8_t>(name + ".q.i8", rows * cols);
    const auto golden_stats = files.array<float>(name + ".stats.f32", rows);
    const auto golden_out = files.array<float>(name + ".out.f32", rows * cols);
    std::vector<std::size_t> golden_cols;
    if (c.at("outlier_cols") != "-") {
      std::istringstream list(c.at("outlier_cols"));
      for (std::string item; std::getline(list, item, ',');) golden_cols.push_back(std::stoull(item));
    }
    for_each_arch([&]<class Arch>() {
      std::vector<std::int8_t> q(rows * cols);
      std::vector<float> stats(rows), out(rows * cols);
      CHECK(bnb::quantize_int8_rowwise<Arch>(in, rows, cols, q, stats, threshold, bnb_backend::cpu) == golden_cols);
      CHECK(q == golden_q);
      CHECK(same_bits(stats, golden_stats));
      bnb::dequantize_int8_rowwise<Arch>(golden_q, golden_stats, rows, cols, out);
      CHECK(same_bits(out, golden_out));
      // The GPU rule (127 / row_stat in one division) parts from the CPU's on the tie rows,
      // by 1 and only there (and on the tiny rows, which the CPU zeroes).
      std::vector<std::int8_t> q_cuda(rows * cols);
      bnb::quantize_int8_rowwise<Arch>(in, rows, cols, q_cuda, stats, threshold, bnb_backend::cuda);
      std::size_t ties = 0, other = 0;
      for (std::size_t i = 0; i < q.size(); ++i) {
        if (q[i] == q_cuda[i]) continue;
        const std::size_t r = i / cols;
        if (r < 24 && std::abs(q[i] - q_cuda[i]) == 1) ++ties;
        else if (r >= 25 && r <= 28) continue;  // tiny rows: cpu zeroes, cuda quantizes in double
        else ++other;
      }
      CHECK(ties > 0);
      CHECK(other == 0);
    });
  }
}

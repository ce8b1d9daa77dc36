// bitsandbytes NF4 / FP4 (separate arrays, as bitsandbytes stores them),
// LLM.int8 row-wise INT8 and GPTQ / AWQ INT4 dequantization, with a memcpy
// baseline of the same byte counts (bytes read + bytes written) in the same
// run. Sizes: 64 Ki elements (in cache) and 16 Mi elements (out of cache).
// The 4-bit outputs are 64-byte aligned, as kernels/bnb_4bit.hpp advises.
#include <benchmark/benchmark.h>

#include "bench_common.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <vector>

#include "qmath/kernels/bnb_4bit.hpp"
#include "qmath/kernels/bnb_int8.hpp"
#include "qmath/kernels/group_int4.hpp"

namespace {

using qmath_bench::set_counters;
constexpr std::int64_t kInCache = qmath_bench::in_cache;
constexpr std::int64_t kOutOfCache = qmath_bench::out_of_cache;
constexpr std::size_t kBlocksize = 64;
constexpr std::size_t kRow = 4096;   // LLM.int8 row length and GPTQ/AWQ in_features
constexpr std::size_t kGroup = 128;

// Normal data from a fixed seed (a plain vector: the kernels read it at any alignment).
std::vector<float> sample_floats(std::size_t n) {
  const auto v = qmath_bench::sample_floats(n);
  return {v.begin(), v.end()};
}

// n floats starting on a 64-byte boundary (large outputs are then written
// with streaming stores, see kernels/bnb_4bit.hpp).
struct aligned_floats {
  std::vector<float> storage;
  std::span<float> view;
  explicit aligned_floats(std::size_t n) : storage(n + 16) {
    const auto address = reinterpret_cast<std::uintptr_t>(storage.data());
    view = std::span<float>(storage.data() + (64 - address % 64) % 64 / sizeof(float), n);
  }
};

// Bytes of the 4-bit arrays: n/2 codes + 4 per block of absmax.
std::size_t bnb4_bytes(std::size_t n) { return n / 2 + 4 * (n / kBlocksize); }

template <qmath::bnb_code Code>
void bench_bnb4_dequantize(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto x = sample_floats(n);
  std::vector<std::uint8_t> packed(n / 2);
  std::vector<float> absmax(n / kBlocksize);
  aligned_floats out(n);
  qmath::bnb::quantize_4bit(x, packed, absmax, Code, kBlocksize);
  for (auto _ : state) {
    qmath::bnb::dequantize_4bit(packed, absmax, out.view, Code, kBlocksize);
    benchmark::DoNotOptimize(out.view.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, state.range(0), bnb4_bytes(n) + 4 * n);
}

template <qmath::bnb_code Code>
void bench_bnb4_quantize(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto x = sample_floats(n);
  std::vector<std::uint8_t> packed(n / 2);
  std::vector<float> absmax(n / kBlocksize);
  for (auto _ : state) {
    qmath::bnb::quantize_4bit(x, packed, absmax, Code, kBlocksize);
    benchmark::DoNotOptimize(packed.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, state.range(0), bnb4_bytes(n) + 4 * n);
}

void bench_nf4_dq_dequantize(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto x = sample_floats(n);
  const std::size_t blocks = n / kBlocksize;
  std::vector<std::uint8_t> packed(n / 2), qabsmax(blocks);
  std::vector<float> absmax2((blocks + 255) / 256);
  aligned_floats out(n);
  float offset = 0.0f;
  qmath::bnb::quantize_4bit_dq(x, packed, qabsmax, absmax2, offset, qmath::bnb_code::nf4, kBlocksize);
  for (auto _ : state) {
    qmath::bnb::dequantize_4bit_dq(packed, qabsmax, absmax2, offset, out.view, qmath::bnb_code::nf4, kBlocksize);
    benchmark::DoNotOptimize(out.view.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, state.range(0), n / 2 + blocks + 4 * absmax2.size() + 4 * n);
}

void bench_int8_quantize(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto x = sample_floats(n);
  const std::size_t rows = n / kRow;
  std::vector<std::int8_t> q(n);
  std::vector<float> stats(rows);
  for (auto _ : state) {
    benchmark::DoNotOptimize(qmath::bnb::quantize_int8_rowwise(x, rows, kRow, q, stats));
    benchmark::ClobberMemory();
  }
  set_counters(state, state.range(0), 5 * n + 4 * rows);
}

void bench_int8_dequantize(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto x = sample_floats(n);
  const std::size_t rows = n / kRow;
  std::vector<std::int8_t> q(n);
  std::vector<float> stats(rows), out(n);
  qmath::bnb::quantize_int8_rowwise(x, rows, kRow, q, stats);
  for (auto _ : state) {
    qmath::bnb::dequantize_int8_rowwise(q, stats, rows, kRow, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, state.range(0), 5 * n + 4 * rows);
}

// Arguments: element count, in_features (64 Ki as 16 x 4096 and as 128 x 512,
// the latter a more usual aspect for a layer; 16 Mi as 4096 x 4096).
template <qmath::int4_packing Packing>
void bench_int4_dequantize(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto in = static_cast<std::size_t>(state.range(1));
  const auto w = sample_floats(n);
  const qmath::group_int4::shape s{n / in, in, kGroup};
  std::vector<std::int32_t> qweight(s.qweight_words()), qzeros(s.qzeros_words());
  std::vector<qmath::fp16> scales(s.scales_count());
  qmath::group_int4::quantize(w, s, Packing, qweight, qzeros, scales);
  aligned_floats out(n);  // 64-byte aligned: 16 Mi outputs are then streamed
  for (auto _ : state) {
    qmath::group_int4::dequantize(qweight, qzeros, scales, s, Packing, out.view);
    benchmark::DoNotOptimize(out.view.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, state.range(0), 4 * (qweight.size() + qzeros.size()) + 2 * scales.size() + 4 * n);
}

// memcpy of half the bytes a 4-bit dequantize reads plus writes, so that its
// bytes/s compare directly.
void bench_memcpy_bnb4(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  qmath_bench::memcpy_baseline(state, (bnb4_bytes(n) + 4 * n) / 2);
}

const bool context_added = (qmath_bench::add_arch_context(), true);

}  // namespace

BENCHMARK(bench_memcpy_bnb4)->Arg(kInCache)->Arg(kOutOfCache);
BENCHMARK(bench_bnb4_dequantize<qmath::bnb_code::nf4>)->Arg(kInCache)->Arg(kOutOfCache);
BENCHMARK(bench_bnb4_dequantize<qmath::bnb_code::fp4>)->Arg(kInCache)->Arg(kOutOfCache);
BENCHMARK(bench_bnb4_quantize<qmath::bnb_code::nf4>)->Arg(kInCache)->Arg(kOutOfCache);
BENCHMARK(bench_bnb4_quantize<qmath::bnb_code::fp4>)->Arg(kInCache)->Arg(kOutOfCache);
BENCHMARK(bench_nf4_dq_dequantize)->Arg(kInCache)->Arg(kOutOfCache);
BENCHMARK(bench_int8_quantize)->Arg(kInCache)->Arg(kOutOfCache);
BENCHMARK(bench_int8_dequantize)->Arg(kInCache)->Arg(kOutOfCache);
BENCHMARK(bench_int4_dequantize<qmath::int4_packing::gptq>)
    ->Args({kInCache, kRow})
    ->Args({kInCache, 512})
    ->Args({kOutOfCache, kRow});
BENCHMARK(bench_int4_dequantize<qmath::int4_packing::awq>)
    ->Args({kInCache, kRow})
    ->Args({kInCache, 512})
    ->Args({kOutOfCache, kRow});

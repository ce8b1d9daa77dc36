// Throughput of the 2-bit and ternary kernels (TQ2_0, TQ1_0, Q2_K,
// int2_group<64>) at 64 Ki elements (in cache) and 16 Mi elements (out of
// cache), with a memcpy of the float array's size as the baseline.
// Counters: items/s = elements, bytes/s and GB/s (decimal) = bytes read + written.
#include <benchmark/benchmark.h>

#include "bench_common.hpp"

#include <qmath/kernels/group_int2.hpp>
#include <qmath/kernels/q2_k.hpp>
#include <qmath/kernels/tq1_0.hpp>
#include <qmath/kernels/tq2_0.hpp>

#include <cstring>
#include <random>
#include <vector>

namespace {

// Buffers on 64-byte boundaries, as tensors in a model file or an allocator
// give them (an output that starts 16 bytes into a cache line costs the
// in-cache dequantizers up to 40%: every 64-byte store splits).
using qmath_bench::aligned_vector;
using qmath_bench::in_cache;
using qmath_bench::out_of_cache;

// Weight-like data: N(0, 0.02^2).
aligned_vector<float> weights(std::size_t n) { return qmath_bench::sample_floats(n, 0.02f); }

void count(benchmark::State& state, std::int64_t elements, std::int64_t bytes) {
  qmath_bench::set_counters(state, elements, static_cast<std::size_t>(bytes));
}

template <class F>
void bm_quantize(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto x = weights(n);
  aligned_vector<std::byte> out(qmath::storage_bytes<F>(n));
  for (auto _ : state) {
    qmath::quantize<F>(x, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  count(state, static_cast<std::int64_t>(n), static_cast<std::int64_t>(n * sizeof(float) + out.size()));
}

template <class F>
void bm_dequantize(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto x = weights(n);
  aligned_vector<std::byte> bytes(qmath::storage_bytes<F>(n));
  qmath::quantize<F>(x, bytes);
  aligned_vector<float> y(n);
  for (auto _ : state) {
    qmath::dequantize<F>(bytes, y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  count(state, static_cast<std::int64_t>(n), static_cast<std::int64_t>(n * sizeof(float) + bytes.size()));
}

// The float array copied: what a dequantizer that wrote its output at memory
// speed and read nothing would cost (read + write of n * 4 bytes).
void bm_memcpy(benchmark::State& state) {
  qmath_bench::memcpy_baseline(state, static_cast<std::size_t>(state.range(0)) * sizeof(float));
}

const bool context = (qmath_bench::add_arch_context(), true);

using qmath::formats::int2_group;
using qmath::formats::q2_k;
using qmath::formats::tq1_0;
using qmath::formats::tq2_0;

}  // namespace

BENCHMARK(bm_memcpy)->Arg(in_cache)->Arg(out_of_cache);
BENCHMARK(bm_dequantize<tq2_0>)->Arg(in_cache)->Arg(out_of_cache);
BENCHMARK(bm_dequantize<tq1_0>)->Arg(in_cache)->Arg(out_of_cache);
BENCHMARK(bm_dequantize<int2_group<64>>)->Arg(in_cache)->Arg(out_of_cache);
BENCHMARK(bm_dequantize<q2_k>)->Arg(in_cache)->Arg(out_of_cache);
BENCHMARK(bm_quantize<tq2_0>)->Arg(in_cache)->Arg(out_of_cache);
BENCHMARK(bm_quantize<tq1_0>)->Arg(in_cache)->Arg(out_of_cache);
BENCHMARK(bm_quantize<int2_group<64>>)->Arg(in_cache)->Arg(out_of_cache);
BENCHMARK(bm_quantize<q2_k>)->Arg(in_cache)->Arg(out_of_cache)->Unit(benchmark::kMillisecond);

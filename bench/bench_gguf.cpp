// GGUF 32-element block formats: quantize and dequantize throughput of the
// default-architecture kernels (and the scalar reference for comparison), at
// 64 Ki elements (in cache) and 16 Mi elements (out of cache), with a memcpy
// baseline of the float array in the same run. Bytes count what is read plus
// what is written; GB/s is decimal.
#include <benchmark/benchmark.h>

#include "bench_common.hpp"

#include <qmath/kernels/iq4_nl.hpp>
#include <qmath/kernels/q4_0.hpp>
#include <qmath/kernels/q4_1.hpp>
#include <qmath/kernels/q5_0.hpp>
#include <qmath/kernels/q5_1.hpp>
#include <qmath/kernels/q8_0.hpp>

#include <cstring>
#include <random>
#include <vector>

namespace {

using qmath_bench::aligned_vector;
using qmath_bench::in_cache;
using qmath_bench::out_of_cache;

const bool context_added = (qmath_bench::add_arch_context(), true);

template <class F, class Arch>
void quantize_bench(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto x = qmath_bench::sample_floats(n);
  aligned_vector<std::byte> q(qmath::storage_bytes<F>(n));
  for (auto _ : state) {
    qmath::quantize<F, Arch>(x, q);
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
  }
  qmath_bench::set_counters(state, static_cast<std::int64_t>(n), n * sizeof(float) + q.size());
}

template <class F, class Arch>
void dequantize_bench(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto x = qmath_bench::sample_floats(n);
  aligned_vector<std::byte> q(qmath::storage_bytes<F>(n));
  qmath::quantize<F>(x, q);
  aligned_vector<float> y(n);
  for (auto _ : state) {
    qmath::dequantize<F, Arch>(q, y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  qmath_bench::set_counters(state, static_cast<std::int64_t>(n), q.size() + n * sizeof(float));
}

// memcpy of the float array: 4n bytes read, 4n written.
void memcpy_floats(benchmark::State& state) {
  qmath_bench::memcpy_baseline(state, static_cast<std::size_t>(state.range(0)) * sizeof(float));
}

}  // namespace

BENCHMARK(memcpy_floats)->Arg(in_cache)->Arg(out_of_cache);

#define QMATH_GGUF_BENCH(fmt)                                                                                      \
  BENCHMARK(dequantize_bench<qmath::formats::fmt, qmath::default_arch>)->Name("dequantize/" #fmt)->Arg(in_cache)->Arg(out_of_cache); \
  BENCHMARK(quantize_bench<qmath::formats::fmt, qmath::default_arch>)->Name("quantize/" #fmt)->Arg(in_cache)->Arg(out_of_cache);     \
  BENCHMARK(dequantize_bench<qmath::formats::fmt, qmath::scalar_arch>)->Name("dequantize_scalar/" #fmt)->Arg(in_cache);              \
  BENCHMARK(quantize_bench<qmath::formats::fmt, qmath::scalar_arch>)->Name("quantize_scalar/" #fmt)->Arg(in_cache)

QMATH_GGUF_BENCH(q8_0);
QMATH_GGUF_BENCH(q4_0);
QMATH_GGUF_BENCH(q4_1);
QMATH_GGUF_BENCH(iq4_nl);
QMATH_GGUF_BENCH(q5_0);
QMATH_GGUF_BENCH(q5_1);

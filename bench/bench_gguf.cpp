// GGUF 32-element block formats: quantize and dequantize throughput of the
// default-architecture kernels (and the scalar reference for comparison), at
// 64 Ki elements (in cache) and 16 Mi elements (out of cache), with a memcpy
// baseline of the float array in the same run. Bytes count what is read plus
// what is written; GB/s is decimal.
#include <benchmark/benchmark.h>

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

const bool context_added = [] {
  benchmark::AddCustomContext("qmath_arch", qmath::default_arch_name());
  return true;
}();

std::vector<float> normal_floats(std::size_t n) {
  std::mt19937 rng(42);
  std::normal_distribution<float> dist;
  std::vector<float> x(n);
  for (auto& v : x) v = dist(rng);
  return x;
}

void report(benchmark::State& state, std::size_t elements, std::size_t bytes_moved) {
  const auto iterations = static_cast<std::int64_t>(state.iterations());
  state.SetItemsProcessed(iterations * static_cast<std::int64_t>(elements));
  state.SetBytesProcessed(iterations * static_cast<std::int64_t>(bytes_moved));
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(bytes_moved) * static_cast<double>(iterations),
                                              benchmark::Counter::kIsRate, benchmark::Counter::OneK::kIs1000);
}

template <class F, class Arch>
void quantize_bench(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto x = normal_floats(n);
  std::vector<std::byte> q(qmath::storage_bytes<F>(n));
  for (auto _ : state) {
    qmath::quantize<F, Arch>(x, q);
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
  }
  report(state, n, n * sizeof(float) + q.size());
}

template <class F, class Arch>
void dequantize_bench(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto x = normal_floats(n);
  std::vector<std::byte> q(qmath::storage_bytes<F>(n));
  qmath::quantize<F>(x, q);
  std::vector<float> y(n);
  for (auto _ : state) {
    qmath::dequantize<F, Arch>(q, y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  report(state, n, q.size() + n * sizeof(float));
}

// memcpy of the float array: 4n bytes read, 4n written.
void memcpy_floats(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto x = normal_floats(n);
  std::vector<float> y(n);
  for (auto _ : state) {
    std::memcpy(y.data(), x.data(), n * sizeof(float));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  report(state, n, 2 * n * sizeof(float));
}

constexpr std::int64_t in_cache = 64 << 10;
constexpr std::int64_t out_of_cache = 16 << 20;

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

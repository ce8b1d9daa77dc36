// Array conversions float <-> fp16 / bf16 / fp8_e4m3 / fp8_e5m2, with a
// memcpy baseline of the same byte sizes (bytes read + bytes written).
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <vector>

#include "qmath/kernels/fp_convert.hpp"

namespace {

constexpr std::int64_t kInCache = 64 * 1024;
constexpr std::int64_t kOutOfCache = 16 * 1024 * 1024;

std::vector<float> sample_floats(std::size_t n) {
  std::mt19937 rng(42);
  std::normal_distribution<float> dist(0.0f, 2.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

void set_counters(benchmark::State& state, std::int64_t n, std::size_t bytes_per_call) {
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes_per_call));
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(bytes_per_call) * static_cast<double>(state.iterations()),
                                              benchmark::Counter::kIsRate, benchmark::Counter::OneK::kIs1000);
}

template <class To>
void bench_from_float(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto in = sample_floats(n);
  std::vector<To> out(n);
  for (auto _ : state) {
    qmath::convert<To>(std::span<const float>(in), std::span<To>(out));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, state.range(0), n * (sizeof(float) + sizeof(To)));
}

template <class From>
void bench_to_float(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto floats = sample_floats(n);
  std::vector<From> in(n);
  qmath::convert<From>(std::span<const float>(floats), std::span<From>(in));
  std::vector<float> out(n);
  for (auto _ : state) {
    qmath::convert<From>(std::span<const From>(in), std::span<float>(out));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, state.range(0), n * (sizeof(float) + sizeof(From)));
}

// memcpy of as many bytes as a conversion reads (n floats) plus writes
// (n elements of `out_bytes`): copies (4 + out_bytes) / 2 bytes per element.
template <std::size_t OtherBytes>
void bench_memcpy(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::size_t copy_bytes = n * (sizeof(float) + OtherBytes) / 2;
  std::vector<std::byte> src(copy_bytes, std::byte{1}), dst(copy_bytes);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), copy_bytes);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, state.range(0), 2 * copy_bytes);
}

const bool context_added = [] {
  benchmark::AddCustomContext("qmath_arch", qmath::default_arch_name());
  return true;
}();

#define QMATH_FP_BENCH(fn) BENCHMARK(fn)->Arg(kInCache)->Arg(kOutOfCache)

QMATH_FP_BENCH(bench_memcpy<2>)->Name("memcpy_same_bytes_as_16bit");
QMATH_FP_BENCH(bench_memcpy<1>)->Name("memcpy_same_bytes_as_8bit");
QMATH_FP_BENCH(bench_from_float<qmath::fp16>)->Name("fp32_to_fp16");
QMATH_FP_BENCH(bench_to_float<qmath::fp16>)->Name("fp16_to_fp32");
QMATH_FP_BENCH(bench_from_float<qmath::bf16>)->Name("fp32_to_bf16");
QMATH_FP_BENCH(bench_to_float<qmath::bf16>)->Name("bf16_to_fp32");
QMATH_FP_BENCH(bench_from_float<qmath::fp8_e4m3>)->Name("fp32_to_fp8_e4m3");
QMATH_FP_BENCH(bench_to_float<qmath::fp8_e4m3>)->Name("fp8_e4m3_to_fp32");
QMATH_FP_BENCH(bench_from_float<qmath::fp8_e5m2>)->Name("fp32_to_fp8_e5m2");
QMATH_FP_BENCH(bench_to_float<qmath::fp8_e5m2>)->Name("fp8_e5m2_to_fp32");

}  // namespace

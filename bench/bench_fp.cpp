// Array conversions float <-> fp16 / bf16 / fp8_e4m3 / fp8_e5m2, with a
// memcpy baseline of the same byte sizes (bytes read + bytes written).
#include <benchmark/benchmark.h>

#include "bench_common.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <random>
#include <span>
#include <vector>

#include "qmath/kernels/fp_convert.hpp"

namespace {

using qmath_bench::aligned_vector;
using qmath_bench::set_counters;
constexpr std::int64_t kInCache = qmath_bench::in_cache;
constexpr std::int64_t kOutOfCache = qmath_bench::out_of_cache;

aligned_vector<float> sample_floats(std::size_t n) { return qmath_bench::sample_floats(n, 2.0f); }

template <class To>
void bench_from_float(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto in = sample_floats(n);
  aligned_vector<To> out(n);
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
  aligned_vector<From> in(n);
  qmath::convert<From>(std::span<const float>(floats), std::span<From>(in));
  aligned_vector<float> out(n);
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
  qmath_bench::memcpy_baseline(state, static_cast<std::size_t>(state.range(0)) * (sizeof(float) + OtherBytes) / 2);
}

const bool context_added = (qmath_bench::add_arch_context(), true);

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

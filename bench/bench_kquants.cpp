// The K-quants, IQ4_XS, MXFP4 and NVFP4 against ggml's own code in the same
// process, single-threaded: dequantize at 64 Ki elements (in cache) and
// 16 Mi elements (out of cache) beside a memcpy of the float output, and
// quantize (qmath against ggml's quantize_row_*_ref) in cache.
// Counters: items/s = elements; bytes/s and GB/s = bytes read + written.
//
// ggml is loaded at run time, as bench_vs_ggml does: set QMATH_GGML_LIB to
// the directory holding libggml-base.so (tests/peers/fetch_llama_cpp.sh puts
// it in build/peers/llama.cpp/lib). Without it only qmath runs. ggml's
// dequantizers are its exported dequantize_row_<type> (the CPU backend calls
// the same functions for these types). Before timing, the bytes of both
// quantizers are compared on the benchmark input and the result is recorded
// as context.
#include <benchmark/benchmark.h>

#include <qmath/quant.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../tests/ggml/ggml_api.hpp"
#include "bench_common.hpp"

namespace {

namespace ggml = qmath_test::ggml;
using qmath_bench::aligned_vector;

using quantize_fn = void (*)(std::span<const float>, std::span<std::byte>);
using dequantize_fn = void (*)(std::span<const std::byte>, std::span<float>);

struct format_case {
  const char* label;      // ggml's type name
  std::size_t block_elems, block_bytes;
  quantize_fn quantize;
  dequantize_fn dequantize;
  ggml::from_float_fn ggml_quantize = nullptr;
  ggml::to_float_fn ggml_dequantize = nullptr;
  std::size_t storage(std::size_t n) const { return n / block_elems * block_bytes; }
};

template <class F>
format_case make_case(const char* label) {
  return {label, F::info.block_elems, F::info.block_bytes(),
          [](std::span<const float> in, std::span<std::byte> out) { qmath::quantize<F>(in, out); },
          [](std::span<const std::byte> in, std::span<float> out) { qmath::dequantize<F>(in, out); }};
}

std::vector<format_case>& cases() {
  namespace f = qmath::formats;
  static std::vector<format_case> all{
      make_case<f::q3_k>("q3_K"),   make_case<f::q4_k>("q4_K"),   make_case<f::q5_k>("q5_K"),
      make_case<f::q6_k>("q6_K"),   make_case<f::q8_k>("q8_K"),   make_case<f::iq4_xs>("iq4_xs"),
      make_case<f::mxfp4>("mxfp4"), make_case<f::nvfp4>("nvfp4"),
  };
  return all;
}

// Weights of N(0, sigma^2), sigma changing every 256 values over five decades.
const aligned_vector<float>& weights(std::size_t n) {
  static std::vector<std::pair<std::size_t, std::unique_ptr<aligned_vector<float>>>> cache;
  for (auto& [size, data] : cache)
    if (size == n) return *data;
  auto x = std::make_unique<aligned_vector<float>>(qmath_bench::sample_floats(n));
  std::mt19937 rng(43);
  std::uniform_real_distribution<float> decade(-3.f, 2.f);
  for (std::size_t b = 0; b < n; b += 256) {
    const float scale = std::pow(10.f, decade(rng));
    for (std::size_t i = b; i < b + 256 && i < n; ++i) (*x)[i] *= scale;
  }
  cache.emplace_back(n, std::move(x));
  return *cache.back().second;
}

aligned_vector<std::byte> packed(const format_case& c, std::size_t n) {
  aligned_vector<std::byte> q(c.storage(n));
  c.quantize(weights(n), q);
  return q;
}

void dequantize_qmath(benchmark::State& state, const format_case& c) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto q = packed(c, n);
  aligned_vector<float> y(n);
  for (auto _ : state) {
    c.dequantize(q, y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  qmath_bench::set_counters(state, state.range(0), q.size() + n * sizeof(float));
}

void dequantize_ggml(benchmark::State& state, const format_case& c) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto q = packed(c, n);
  aligned_vector<float> y(n);
  for (auto _ : state) {
    c.ggml_dequantize(q.data(), y.data(), state.range(0));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  qmath_bench::set_counters(state, state.range(0), q.size() + n * sizeof(float));
}

void quantize_qmath(benchmark::State& state, const format_case& c) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& x = weights(n);
  aligned_vector<std::byte> q(c.storage(n));
  for (auto _ : state) {
    c.quantize(x, q);
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
  }
  qmath_bench::set_counters(state, state.range(0), q.size() + n * sizeof(float));
}

void quantize_ggml(benchmark::State& state, const format_case& c) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& x = weights(n);
  aligned_vector<std::byte> q(c.storage(n));
  for (auto _ : state) {
    c.ggml_quantize(x.data(), q.data(), state.range(0));
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
  }
  qmath_bench::set_counters(state, state.range(0), q.size() + n * sizeof(float));
}

// Resolves ggml's functions and compares both quantizers' bytes; one line.
std::string load_ggml() {
  const char* dir = std::getenv("QMATH_GGML_LIB");
  if (dir == nullptr || *dir == '\0') return "not loaded: QMATH_GGML_LIB is not set";
  std::string why;
  static const auto lib = ggml::load(dir, why);
  if (!lib) return "not loaded: " + why;
  std::string line = lib->path + "; bytes equal to qmath's for";
  const std::size_t n = std::size_t{1} << 18;
  for (auto& c : cases()) {
    c.ggml_quantize = lib->symbol<ggml::from_float_fn>(("quantize_row_" + std::string(c.label) + "_ref").c_str());
    c.ggml_dequantize = lib->symbol<ggml::to_float_fn>(("dequantize_row_" + std::string(c.label)).c_str());
    if (!c.ggml_quantize || !c.ggml_dequantize) {
      line += std::string(" [") + c.label + ": not exported]";
      continue;
    }
    std::vector<std::byte> theirs(c.storage(n));
    c.ggml_quantize(weights(n).data(), theirs.data(), static_cast<std::int64_t>(n));
    const auto ours = packed(c, n);
    line += std::string(" ") + c.label + (std::memcmp(ours.data(), theirs.data(), theirs.size()) == 0 ? "" : "(DIFFERENT)");
  }
  return line;
}

const bool registered = [] {
  qmath_bench::add_arch_context();
  const std::string ggml_context = load_ggml();
  std::printf("bench_kquants: ggml %s\n", ggml_context.c_str());
  benchmark::AddCustomContext("ggml", ggml_context);
  const std::int64_t sizes[] = {qmath_bench::in_cache, qmath_bench::out_of_cache};
  for (const std::int64_t n : sizes) {
    benchmark::RegisterBenchmark("memcpy_floats", [](benchmark::State& s) {
      qmath_bench::memcpy_baseline(s, static_cast<std::size_t>(s.range(0)) * sizeof(float));
    })->Arg(n);
  }
  for (const auto& c : cases()) {
    const std::string name = c.label;
    for (const std::int64_t n : sizes) {
      benchmark::RegisterBenchmark((name + "/dequantize/qmath").c_str(), [&c](auto& s) { dequantize_qmath(s, c); })->Arg(n);
      if (c.ggml_dequantize)
        benchmark::RegisterBenchmark((name + "/dequantize/ggml").c_str(), [&c](auto& s) { dequantize_ggml(s, c); })->Arg(n);
    }
    benchmark::RegisterBenchmark((name + "/quantize/qmath").c_str(), [&c](auto& s) { quantize_qmath(s, c); })
        ->Arg(qmath_bench::in_cache);
    if (c.ggml_quantize)
      benchmark::RegisterBenchmark((name + "/quantize/ggml_ref").c_str(), [&c](auto& s) { quantize_ggml(s, c); })
          ->Arg(qmath_bench::in_cache);
  }
  return true;
}();

}  // namespace

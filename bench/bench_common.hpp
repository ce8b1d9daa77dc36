#pragma once
// What every qmath benchmark program shares: the two sizes, 64-byte-aligned
// buffers (as a caller's large arrays would be; std::vector's large
// allocations start 16 bytes past a page boundary), fixed-seed data, the
// counters (items/s, bytes/s = bytes read + written, decimal GB/s), a memcpy
// baseline of a given byte count, and the architecture as context.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <random>
#include <vector>

#include <qmath/kernels/arch.hpp>

namespace qmath_bench {

inline constexpr std::int64_t in_cache = 64 * 1024;               // elements
inline constexpr std::int64_t out_of_cache = 16 * 1024 * 1024;  // elements

template <class T>
struct cache_line_allocator {
  using value_type = T;
  cache_line_allocator() = default;
  template <class U>
  cache_line_allocator(const cache_line_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64})); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t{64}); }
  friend bool operator==(cache_line_allocator, cache_line_allocator) noexcept { return true; }
};
template <class T>
using aligned_vector = std::vector<T, cache_line_allocator<T>>;

// n values of N(0, sigma^2) from a fixed seed.
inline aligned_vector<float> sample_floats(std::size_t n, float sigma = 1.0f, unsigned seed = 42) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  aligned_vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// n elements processed and bytes_per_call read plus written per iteration.
inline void set_counters(benchmark::State& state, std::int64_t n, std::size_t bytes_per_call) {
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes_per_call));
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(bytes_per_call) * static_cast<double>(state.iterations()),
                                              benchmark::Counter::kIsRate, benchmark::Counter::OneK::kIs1000);
}

// The baseline: memcpy of copy_bytes (counted as read plus written), with
// items = n elements so that elements/s compare directly.
inline void memcpy_baseline(benchmark::State& state, std::size_t copy_bytes) {
  aligned_vector<std::byte> src(copy_bytes, std::byte{1}), dst(copy_bytes);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), copy_bytes);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, state.range(0), 2 * copy_bytes);
}

// Records which instruction set the kernels were compiled for.
inline void add_arch_context() { benchmark::AddCustomContext("qmath_arch", qmath::default_arch_name()); }

}  // namespace qmath_bench

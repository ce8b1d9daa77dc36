// qmath's block kernels against ggml's own CPU code for the same formats, in
// one process, single-threaded on both sides, at 64 Ki elements (in cache) and
// 16 Mi elements (out of cache), with a memcpy of the float array as baseline.
// Counters: items/s = elements, bytes/s and GB/s (decimal) = bytes read + written.
//
// ggml is loaded at run time: set QMATH_GGML_LIB to the directory that holds
// libggml-base.so (and libggml-cpu.so), e.g. the lib directory of an installed
// llama-cpp-python. Without it only the qmath side runs. Nothing of ggml is
// compiled in: the few entry points used are declared below from the
// signatures documented in ggml's public headers, and checked against the
// loaded library before use.
//
// Before timing, a fixed-seed buffer is quantized by both libraries and the
// bytes and the dequantized floats are compared (printed, and recorded as
// benchmark context).
#include <benchmark/benchmark.h>
#include <dlfcn.h>

#include <qmath/quant.hpp>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

// ---------------------------------------------------------------------------
// ggml's public C API, as declared in ggml/include/ggml.h (enum ggml_type,
// ggml_to_float_t, struct ggml_type_traits, ggml_quantize_chunk) and
// ggml/include/ggml-cpu.h (struct ggml_type_traits_cpu); checked against the
// headers of ggml 0.25.3 as built by llama-cpp-python 0.3.36.

namespace ggml {

// enum ggml_type (ggml.h): the numbers are part of the GGUF file format.
enum type_id : int {
  q4_0 = 2,
  q4_1 = 3,
  q5_0 = 6,
  q5_1 = 7,
  q8_0 = 8,
  q2_k = 10,
  iq4_nl = 20,
  tq1_0 = 34,
  tq2_0 = 35,
};

// ggml_to_float_t / ggml_from_float_t (ggml.h); the restrict qualifiers do not
// change the ABI.
using to_float_fn = void (*)(const void* x, float* y, std::int64_t k);
using from_float_fn = void (*)(const float* x, void* y, std::int64_t k);

// struct ggml_type_traits (ggml.h), returned by ggml_get_type_traits().
struct type_traits {
  const char* type_name;
  std::int64_t blck_size;
  std::int64_t blck_size_interleave;
  std::size_t type_size;
  bool is_quantized;
  to_float_fn to_float;
  from_float_fn from_float_ref;
};

// struct ggml_type_traits_cpu (ggml-cpu.h), returned by ggml_get_type_traits_cpu().
struct type_traits_cpu {
  from_float_fn from_float;
  void* vec_dot;     // ggml_vec_dot_t, unused here
  int vec_dot_type;  // enum ggml_type
  std::int64_t nrows;
};

// The entry points, resolved with dlsym. Optional ones may stay null.
struct library {
  const char* (*version)() = nullptr;  // optional: not in every release
  const char* (*commit)() = nullptr;   // optional
  const type_traits* (*get_type_traits)(int) = nullptr;
  std::size_t (*type_size)(int) = nullptr;
  std::int64_t (*blck_size)(int) = nullptr;
  const char* (*type_name)(int) = nullptr;
  // ggml_quantize_chunk(type, src, dst, start, nrows, n_per_row, imatrix)
  std::size_t (*quantize_chunk)(int, const float*, void*, std::int64_t, std::int64_t, std::int64_t,
                                const float*) = nullptr;
  void (*cpu_init)() = nullptr;                                   // libggml-cpu, optional
  const type_traits_cpu* (*get_type_traits_cpu)(int) = nullptr;  // libggml-cpu, optional
  std::string description;  // what was loaded, or why nothing was
};

template <class Fn>
void resolve(void* handle, const char* name, Fn& fn) {
  // dlsym hands back an object pointer; POSIX guarantees it converts to a function pointer.
  fn = reinterpret_cast<Fn>(dlsym(handle, name));
}

// Loads $QMATH_GGML_LIB/libggml-base.so (and libggml-cpu.so beside it), or
// returns null with the reason in `why`.
std::unique_ptr<library> load(std::string& why) {
  const char* dir = std::getenv("QMATH_GGML_LIB");
  if (dir == nullptr || *dir == '\0') {
    why = "QMATH_GGML_LIB is not set";
    return nullptr;
  }
  const std::string base_path = std::string(dir) + "/libggml-base.so";
  // The handles are never closed: the functions are used until exit.
  void* base = dlopen(base_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (base == nullptr) {
    why = std::string("cannot load ") + base_path + ": " + dlerror();
    return nullptr;
  }
  auto lib = std::make_unique<library>();
  resolve(base, "ggml_version", lib->version);
  resolve(base, "ggml_commit", lib->commit);
  resolve(base, "ggml_get_type_traits", lib->get_type_traits);
  resolve(base, "ggml_type_size", lib->type_size);
  resolve(base, "ggml_blck_size", lib->blck_size);
  resolve(base, "ggml_type_name", lib->type_name);
  resolve(base, "ggml_quantize_chunk", lib->quantize_chunk);
  if (!lib->get_type_traits || !lib->type_size || !lib->blck_size || !lib->type_name || !lib->quantize_chunk) {
    why = base_path +
          " lacks ggml_get_type_traits, ggml_type_size, ggml_blck_size, ggml_type_name or ggml_quantize_chunk";
    return nullptr;
  }
  lib->description = base_path;
  if (lib->version) lib->description += std::string(", ggml ") + lib->version();
  if (lib->commit) lib->description += std::string(" (commit ") + lib->commit() + ")";

  const std::string cpu_path = std::string(dir) + "/libggml-cpu.so";
  if (void* cpu = dlopen(cpu_path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
    resolve(cpu, "ggml_cpu_init", lib->cpu_init);
    resolve(cpu, "ggml_get_type_traits_cpu", lib->get_type_traits_cpu);
    if (lib->cpu_init) lib->cpu_init();  // fills the CPU backend's fp16 tables
    lib->description += ", CPU backend " + cpu_path;
  } else {
    lib->description += std::string(", no CPU backend (") + dlerror() + ")";
  }
  return lib;
}

}  // namespace ggml

// ---------------------------------------------------------------------------
// Buffers

// 64-byte aligned and zero-filled (so first-touch page faults happen before
// timing), as tensors in a model file or an allocator give them.
template <class T>
class aligned_buffer {
 public:
  explicit aligned_buffer(std::size_t n)
      : data_(static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t{64}))), size_(n) {
    std::memset(static_cast<void*>(data_.get()), 0, n * sizeof(T));
  }
  T* data() noexcept { return data_.get(); }
  const T* data() const noexcept { return data_.get(); }
  std::size_t size() const noexcept { return size_; }
  std::size_t bytes() const noexcept { return size_ * sizeof(T); }
  std::span<T> span() noexcept { return {data_.get(), size_}; }
  std::span<const T> span() const noexcept { return {data_.get(), size_}; }

 private:
  struct release {
    void operator()(T* p) const noexcept { ::operator delete[](p, std::align_val_t{64}); }
  };
  std::unique_ptr<T[], release> data_;
  std::size_t size_;
};

constexpr std::size_t in_cache = std::size_t{64} << 10;
constexpr std::size_t out_of_cache = std::size_t{16} << 20;
constexpr std::size_t check_elements = std::size_t{256} << 10;
// Rows of a typical weight matrix, for ggml_quantize_chunk.
constexpr std::size_t row_elements = 4096;

// Normal weights whose magnitude changes every 256 elements over five decades
// (1e-3 .. 1e2), so the scales cover fp16's subnormal and large ranges too.
// Fixed seed; generated once per size.
const aligned_buffer<float>& weights(std::size_t n) {
  static std::map<std::size_t, aligned_buffer<float>> cache;
  auto it = cache.find(n);
  if (it != cache.end()) return it->second;
  aligned_buffer<float> x(n);
  std::mt19937 rng(42);
  std::normal_distribution<float> gauss(0.f, 1.f);
  std::uniform_real_distribution<float> decade(-3.f, 2.f);
  float scale = 1.f;
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 256 == 0) scale = std::pow(10.f, decade(rng));
    x.data()[i] = gauss(rng) * scale;
  }
  return cache.emplace(n, std::move(x)).first->second;
}

void count(benchmark::State& state, std::size_t elements, std::size_t bytes_moved) {
  const auto iterations = static_cast<std::int64_t>(state.iterations());
  state.SetItemsProcessed(iterations * static_cast<std::int64_t>(elements));
  state.SetBytesProcessed(iterations * static_cast<std::int64_t>(bytes_moved));
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(bytes_moved) * static_cast<double>(iterations),
                                              benchmark::Counter::kIsRate, benchmark::Counter::OneK::kIs1000);
}

// ---------------------------------------------------------------------------
// The formats compared

using quantize_fn = void (*)(std::span<const float>, std::span<std::byte>);
using dequantize_fn = void (*)(std::span<const std::byte>, std::span<float>);

struct format_case {
  const char* label;  // ggml's spelling
  ggml::type_id type;
  std::size_t block_elems;
  std::size_t block_bytes;
  quantize_fn qmath_quantize;
  dequantize_fn qmath_dequantize;
  // The CPU backend's from_float is its own code only for Q8_0; for the
  // others it calls the *_ref function (ggml/src/ggml-cpu/quants.c).
  bool cpu_from_float_is_own;
  // ggml_quantize_chunk without an importance matrix runs the *_ref rule for
  // every format here except IQ4_NL, where it searches 7 scales per block
  // (ggml/src/ggml-quants.c, quantize_iq4_nl vs quantize_row_iq4_nl_ref).
  bool chunk_differs_from_ref;

  std::size_t storage(std::size_t n) const { return n / block_elems * block_bytes; }
};

template <class F>
format_case make_case(const char* label, ggml::type_id type, bool cpu_own, bool chunk_differs) {
  return {label,
          type,
          F::info.block_elems,
          F::info.block_bytes(),
          [](std::span<const float> in, std::span<std::byte> out) { qmath::quantize<F>(in, out); },
          [](std::span<const std::byte> in, std::span<float> out) { qmath::dequantize<F>(in, out); },
          cpu_own,
          chunk_differs};
}

const std::vector<format_case>& cases() {
  namespace f = qmath::formats;
  static const std::vector<format_case> all{
      make_case<f::q8_0>("Q8_0", ggml::q8_0, true, false),
      make_case<f::q4_0>("Q4_0", ggml::q4_0, false, false),
      make_case<f::q4_1>("Q4_1", ggml::q4_1, false, false),
      make_case<f::q5_0>("Q5_0", ggml::q5_0, false, false),
      make_case<f::q5_1>("Q5_1", ggml::q5_1, false, false),
      make_case<f::iq4_nl>("IQ4_NL", ggml::iq4_nl, false, true),
      make_case<f::q2_k>("Q2_K", ggml::q2_k, false, false),
      make_case<f::tq1_0>("TQ1_0", ggml::tq1_0, false, false),
      make_case<f::tq2_0>("TQ2_0", ggml::tq2_0, false, false),
  };
  return all;
}

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// The traits record as the loaded library lays it out must agree with ggml's
// own accessor functions and with qmath's block table; a mismatch means the
// declaration above does not fit this ggml build.
std::string layout_problem(const ggml::library& lib, const format_case& c) {
  const ggml::type_traits* t = lib.get_type_traits(c.type);
  char buf[256];
  if (t == nullptr || t->type_name == nullptr || t->to_float == nullptr || t->from_float_ref == nullptr ||
      !same_name(t->type_name, lib.type_name(c.type)) || !same_name(t->type_name, c.label) ||
      t->blck_size != lib.blck_size(c.type) || t->type_size != lib.type_size(c.type) || !t->is_quantized ||
      static_cast<std::size_t>(t->blck_size) != c.block_elems || t->type_size != c.block_bytes) {
    std::snprintf(buf, sizeof buf, "%s: ggml_type_traits does not match (name %s, block %lld elements / %zu bytes)",
                  c.label, t && t->type_name ? t->type_name : "?", t ? static_cast<long long>(t->blck_size) : -1LL,
                  t ? t->type_size : std::size_t{0});
    return buf;
  }
  return {};
}

// ---------------------------------------------------------------------------
// Cross-check: same input, both libraries; bytes and dequantized floats must
// be identical. Returns a one-line summary.

std::string cross_check(const ggml::library& lib) {
  const auto& x = weights(check_elements);
  std::string equal, differ;
  for (const auto& c : cases()) {
    const ggml::type_traits* t = lib.get_type_traits(c.type);
    aligned_buffer<std::byte> ours(c.storage(check_elements)), theirs(c.storage(check_elements));
    c.qmath_quantize(x.span(), ours.span());
    t->from_float_ref(x.data(), theirs.data(), static_cast<std::int64_t>(check_elements));
    std::size_t bad_blocks = 0, first_bad = 0;
    for (std::size_t b = 0; b < check_elements / c.block_elems; ++b) {
      if (std::memcmp(ours.data() + b * c.block_bytes, theirs.data() + b * c.block_bytes, c.block_bytes) != 0) {
        if (bad_blocks++ == 0) first_bad = b;
      }
    }
    // Dequantize qmath's bytes with both; compare the float bits.
    aligned_buffer<float> y_ours(check_elements), y_theirs(check_elements);
    c.qmath_dequantize(ours.span(), y_ours.span());
    t->to_float(ours.data(), y_theirs.data(), static_cast<std::int64_t>(check_elements));
    std::size_t bad_floats = 0;
    for (std::size_t i = 0; i < check_elements; ++i)
      bad_floats += std::memcmp(y_ours.data() + i, y_theirs.data() + i, sizeof(float)) != 0;

    if (bad_blocks == 0 && bad_floats == 0) {
      equal += std::string(equal.empty() ? "" : " ") + c.label;
    } else {
      char buf[200];
      std::snprintf(buf, sizeof buf, "%s%s (%zu of %zu blocks differ from %s_ref, first #%zu; %zu floats differ)",
                    differ.empty() ? "" : "; ", c.label, bad_blocks, check_elements / c.block_elems, c.label, first_bad,
                    bad_floats);
      differ += buf;
    }
  }
  std::string line = std::to_string(check_elements) + " fixed-seed floats: quantize bytes and dequantized floats " +
                     "identical to ggml's *_ref/to_float for [" + equal + "]";
  if (!differ.empty()) line += "; MISMATCH: " + differ;

  // Informational: ggml's SIMD activation quantizer for Q8_0 against its own reference.
  if (lib.get_type_traits_cpu) {
    const auto& q8 = cases().front();
    aligned_buffer<std::byte> ref(q8.storage(check_elements)), simd(q8.storage(check_elements));
    lib.get_type_traits(q8.type)->from_float_ref(x.data(), ref.data(), static_cast<std::int64_t>(check_elements));
    lib.get_type_traits_cpu(q8.type)->from_float(x.data(), simd.data(), static_cast<std::int64_t>(check_elements));
    std::size_t bad = 0;
    for (std::size_t b = 0; b < check_elements / 32; ++b)
      bad += std::memcmp(ref.data() + b * q8.block_bytes, simd.data() + b * q8.block_bytes, q8.block_bytes) != 0;
    line += "; ggml-cpu Q8_0 from_float differs from quantize_row_q8_0_ref in " + std::to_string(bad) + " of " +
            std::to_string(check_elements / 32) + " blocks";
  }
  return line;
}

// ---------------------------------------------------------------------------
// Benchmarks

// qmath's bytes of the benchmark input, the input of both dequantizers
// (identical to ggml's for the reference-rule formats; see the cross-check).
aligned_buffer<std::byte> quantized_input(const format_case& c, std::size_t n) {
  aligned_buffer<std::byte> q(c.storage(n));
  c.qmath_quantize(weights(n).span(), q.span());
  return q;
}

void bench_memcpy(benchmark::State& state, std::size_t n) {
  const auto& x = weights(n);
  aligned_buffer<float> y(n);
  for (auto _ : state) {
    std::memcpy(y.data(), x.data(), x.bytes());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  count(state, n, 2 * x.bytes());
}

void bench_qmath_dequantize(benchmark::State& state, const format_case& c, std::size_t n) {
  const auto q = quantized_input(c, n);
  aligned_buffer<float> y(n);
  for (auto _ : state) {
    c.qmath_dequantize(q.span(), y.span());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  count(state, n, q.bytes() + y.bytes());
}

void bench_ggml_dequantize(benchmark::State& state, const format_case& c, ggml::to_float_fn to_float, std::size_t n) {
  const auto q = quantized_input(c, n);
  aligned_buffer<float> y(n);
  for (auto _ : state) {
    to_float(q.data(), y.data(), static_cast<std::int64_t>(n));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  count(state, n, q.bytes() + y.bytes());
}

void bench_qmath_quantize(benchmark::State& state, const format_case& c, std::size_t n) {
  const auto& x = weights(n);
  aligned_buffer<std::byte> q(c.storage(n));
  for (auto _ : state) {
    c.qmath_quantize(x.span(), q.span());
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
  }
  count(state, n, x.bytes() + q.bytes());
}

void bench_ggml_quantize(benchmark::State& state, const format_case& c, ggml::from_float_fn from_float,
                         std::size_t n) {
  const auto& x = weights(n);
  aligned_buffer<std::byte> q(c.storage(n));
  for (auto _ : state) {
    from_float(x.data(), q.data(), static_cast<std::int64_t>(n));
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
  }
  count(state, n, x.bytes() + q.bytes());
}

void bench_ggml_quantize_chunk(benchmark::State& state, const format_case& c, const ggml::library& lib,
                               std::size_t n) {
  const auto& x = weights(n);
  aligned_buffer<std::byte> q(c.storage(n));
  const auto rows = static_cast<std::int64_t>(n / row_elements);
  for (auto _ : state) {
    lib.quantize_chunk(c.type, x.data(), q.data(), 0, rows, static_cast<std::int64_t>(row_elements), nullptr);
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
  }
  count(state, n, x.bytes() + q.bytes());
}

void add(const std::string& name, std::size_t n, auto&& fn) {
  benchmark::RegisterBenchmark((name + "/" + std::to_string(n)).c_str(),
                               [fn, n](benchmark::State& state) { fn(state, n); });
}

const bool registered = [] {
  benchmark::AddCustomContext("qmath_arch", qmath::default_arch_name());

  std::string why;
  static const std::unique_ptr<ggml::library> lib = ggml::load(why);
  if (lib) {
    for (const auto& c : cases()) {
      if (auto problem = layout_problem(*lib, c); !problem.empty()) {
        why = problem;
        break;
      }
    }
  }
  const ggml::library* g = why.empty() ? lib.get() : nullptr;
  if (g == nullptr) {
    std::printf("bench_vs_ggml: ggml not loaded (%s); running the qmath side only\n", why.c_str());
    benchmark::AddCustomContext("ggml", "not loaded: " + why);
  } else {
    const std::string check = cross_check(*g);
    std::printf("bench_vs_ggml: loaded %s\nbench_vs_ggml: cross-check on %s\n", g->description.c_str(), check.c_str());
    std::fflush(stdout);
    benchmark::AddCustomContext("ggml", g->description);
    benchmark::AddCustomContext("ggml_crosscheck", check);
  }

  for (const std::size_t n : {in_cache, out_of_cache}) add("memcpy_floats", n, bench_memcpy);
  for (const auto& c : cases()) {
    const std::string fmt = c.label;
    const ggml::type_traits* t = g ? g->get_type_traits(c.type) : nullptr;
    for (const std::size_t n : {in_cache, out_of_cache}) {
      if (t)
        add(fmt + "/dequantize/ggml", n,
            [&c, t](auto& s, std::size_t k) { bench_ggml_dequantize(s, c, t->to_float, k); });
      add(fmt + "/dequantize/qmath", n, [&c](auto& s, std::size_t k) { bench_qmath_dequantize(s, c, k); });
    }
    for (const std::size_t n : {in_cache, out_of_cache}) {
      if (t)
        add(fmt + "/quantize/ggml_ref", n,
            [&c, t](auto& s, std::size_t k) { bench_ggml_quantize(s, c, t->from_float_ref, k); });
      if (t && c.cpu_from_float_is_own && g->get_type_traits_cpu) {
        if (const auto* cpu = g->get_type_traits_cpu(c.type); cpu && cpu->from_float)
          add(fmt + "/quantize/ggml_cpu", n,
              [&c, cpu](auto& s, std::size_t k) { bench_ggml_quantize(s, c, cpu->from_float, k); });
      }
      if (t && c.chunk_differs_from_ref)
        add(fmt + "/quantize/ggml_chunk", n,
            [&c, g](auto& s, std::size_t k) { bench_ggml_quantize_chunk(s, c, *g, k); });
      add(fmt + "/quantize/qmath", n, [&c](auto& s, std::size_t k) { bench_qmath_quantize(s, c, k); });
    }
  }
  return true;
}();

}  // namespace

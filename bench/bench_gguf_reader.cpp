// Parsing GGUF headers: a tokenizer vocabulary of 64 Ki and 1 Mi strings (a
// Llama-3 vocabulary has 128 Ki) plus the tensor infos of a 32-layer model,
// against a memcpy of the same bytes. Items are metadata array elements; bytes
// are the file bytes parsed (the memcpy baseline counts bytes read + written).
// 16 Mi strings would need about 1 GB of parsed values, so the large size is 1 Mi.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "qmath/io/gguf.hpp"
#include "qmath/kernels/arch.hpp"

namespace {

struct writer {
  std::vector<std::byte> bytes;
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<std::byte>(v >> (8 * i)));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<std::byte>(v >> (8 * i)));
  }
  void str(const std::string& s) {
    u64(s.size());
    for (char c : s) bytes.push_back(static_cast<std::byte>(c));
  }
};

// A llama-like file: architecture keys, `vocab` token strings, 32 layers x 9 q4_0/f32 tensors.
std::vector<std::byte> make_file(std::uint64_t vocab) {
  constexpr std::uint64_t layers = 32, hidden = 4096, ffn = 11008;
  writer w;
  w.u32(0x46554747u);
  w.u32(3);
  w.u64(2 + layers * 9);
  w.u64(3);
  w.str("general.architecture");
  w.u32(8);
  w.str("llama");
  w.str("llama.block_count");
  w.u32(4);
  w.u32(layers);
  w.str("tokenizer.ggml.tokens");
  w.u32(9);
  w.u32(8);
  w.u64(vocab);
  for (std::uint64_t i = 0; i < vocab; ++i) w.str("tok" + std::to_string(i * 2654435761u % 1000003));
  std::uint64_t offset = 0;
  const auto tensor = [&](const std::string& name, std::uint64_t ne0, std::uint64_t ne1, std::uint32_t type) {
    w.str(name);
    w.u32(ne1 > 1 ? 2 : 1);
    w.u64(ne0);
    if (ne1 > 1) w.u64(ne1);
    w.u32(type);
    w.u64(offset);
    const auto bytes = qmath::storage_bytes(*qmath::find_ggml_type(static_cast<std::int32_t>(type)), ne0 * ne1);
    offset += (bytes + 31) / 32 * 32;
  };
  tensor("token_embd.weight", hidden, vocab, 2);
  tensor("output.weight", hidden, vocab, 2);
  for (std::uint64_t l = 0; l < layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_output"}) tensor(p + n + ".weight", hidden, hidden, 2);
    tensor(p + "ffn_gate.weight", hidden, ffn, 2);
    tensor(p + "ffn_up.weight", hidden, ffn, 2);
    tensor(p + "ffn_down.weight", ffn, hidden, 2);
    tensor(p + "attn_norm.weight", hidden, 1, 0);
    tensor(p + "ffn_norm.weight", hidden, 1, 0);
  }
  // The parser checks tensor data against the file size: give it the data as zeros.
  while (w.bytes.size() % 32 != 0) w.bytes.push_back(std::byte{0});
  w.bytes.resize(w.bytes.size() + offset);
  return w.bytes;
}

std::size_t header_bytes(const std::vector<std::byte>& file) {
  return static_cast<std::size_t>(qmath::gguf::parse(file).data_offset);
}

void set_counters(benchmark::State& state, std::int64_t items, std::size_t bytes) {
  state.SetItemsProcessed(state.iterations() * items);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(bytes) * static_cast<double>(state.iterations()),
                                              benchmark::Counter::kIsRate, benchmark::Counter::OneK::kIs1000);
}

void bench_parse(benchmark::State& state) {
  const auto file = make_file(static_cast<std::uint64_t>(state.range(0)));
  const std::size_t header = header_bytes(file);
  for (auto _ : state) {
    auto parsed = qmath::gguf::parse(file);
    benchmark::DoNotOptimize(parsed.tensors.data());
  }
  state.counters["header_MB"] = static_cast<double>(header) / 1e6;
  set_counters(state, state.range(0), header);
}

void bench_memcpy(benchmark::State& state) {
  const auto file = make_file(static_cast<std::uint64_t>(state.range(0)));
  const std::size_t header = header_bytes(file);
  std::vector<std::byte> copy(header);
  for (auto _ : state) {
    std::memcpy(copy.data(), file.data(), header);
    benchmark::DoNotOptimize(copy.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, state.range(0), 2 * header);
}

const bool context_added = [] {
  benchmark::AddCustomContext("qmath_arch", qmath::default_arch_name());
  return true;
}();

}  // namespace

BENCHMARK(bench_parse)->Arg(64 * 1024)->Arg(1024 * 1024)->Unit(benchmark::kMicrosecond);
BENCHMARK(bench_memcpy)->Arg(64 * 1024)->Arg(1024 * 1024)->Unit(benchmark::kMicrosecond);

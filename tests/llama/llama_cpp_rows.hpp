// The rows of a llama.cpp dry-run CSV (tests/data/llama_cpp/dry_run.csv, or
// one measure_llama_cpp.py just wrote) and the qmath inputs each row stands for.
#pragma once

#include <qmath/estimate/llama_cpp.hpp>
#include <qmath/models/catalog.hpp>

#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace llama_rows {

struct row {
  std::string model, recipe;
  qmath::llama_cpp::context_params params;
  bool refused = false;
  std::uint64_t weights = 0, k = 0, v = 0, kv_total = 0, compute = 0;
  std::string line;
};

inline qmath::format_id cache_type(const std::string& s) {
  if (s == "f16") return qmath::format_id::f16;
  if (s == "q8_0") return qmath::format_id::q8_0;
  if (s == "q4_0") return qmath::format_id::q4_0;
  if (s == "f32") return qmath::format_id::f32;
  if (s == "bf16") return qmath::format_id::bf16;
  throw std::runtime_error("unknown cache type " + s);
}

inline std::vector<row> read(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<row> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) f.push_back(cell);
    row r;
    r.line = line;
    r.model = f.at(0);
    r.recipe = f.at(1);
    auto& p = r.params;
    p.n_ctx = static_cast<std::uint32_t>(std::stoul(f.at(2)));
    p.n_batch = static_cast<std::uint32_t>(std::stoul(f.at(3)));
    p.n_ubatch = static_cast<std::uint32_t>(std::stoul(f.at(4)));
    p.n_seq_max = static_cast<std::uint32_t>(std::stoul(f.at(5)));
    p.kv_unified = f.at(6) == "1";
    p.type_k = cache_type(f.at(7));
    p.type_v = cache_type(f.at(8));
    p.fa = f.at(9) == "on" ? qmath::llama_cpp::flash_attn::on
           : f.at(9) == "off" ? qmath::llama_cpp::flash_attn::off
                              : qmath::llama_cpp::flash_attn::automatic;
    p.swa_full = f.at(10) == "1";
    if (f.at(11) == "refused") {
      r.refused = true;
    } else {
      r.weights = std::stoull(f.at(11));
      r.k = std::stoull(f.at(12));
      r.v = std::stoull(f.at(13));
      r.kv_total = std::stoull(f.at(14));
      r.compute = std::stoull(f.at(15));
    }
    rows.push_back(r);
  }
  return rows;
}

// Qwen/Qwen3-30B-A3B config.json: 48 layers, hidden 2048, 32 heads, 4 kv
// heads, head_dim 128, 128 experts of moe_intermediate_size 768, 8 per token,
// q/k norms, vocab 151936, untied, 40960 positions. 30,532,122,624 parameters.
inline constexpr qmath::models::architecture qwen3_30b_a3b{
    .name = "Qwen3-30B-A3B",
    .source = "Qwen/Qwen3-30B-A3B config.json",
    .layers = 48, .hidden = 2048, .heads = 32, .kv_heads = 4, .head_dim = 128,
    .intermediate = 6144, .vocab = 151936, .tied_embeddings = false,
    .qk_norm = true, .max_context = 40960,
    .experts = 128, .active_experts = 8, .expert_intermediate = 768,
    .checkpoint_dtype = qmath::format_id::bf16, .official_parameters = 30'532'122'624};

inline std::optional<qmath::models::architecture> model(const std::string& name) {
  namespace m = qmath::models;
  if (name == "llama-3-8b") return m::llama_3_8b;
  if (name == "llama-3.1-70b") return m::llama_3_1_70b;
  if (name == "mistral-7b") return m::mistral_7b;
  if (name == "mixtral-8x7b") return m::mixtral_8x7b;
  if (name == "qwen2.5-7b") return m::qwen2_5_7b;
  if (name == "qwen2.5-0.5b") return m::qwen2_5_0_5b;
  if (name == "qwen2.5-14b") return m::qwen2_5_14b;
  if (name == "qwen3-30b-a3b") return qwen3_30b_a3b;
  if (name == "gemma-2-9b") return m::gemma_2_9b;
  if (name == "phi-3-mini") return m::phi_3_mini;
  if (name == "deepseek-v2-lite") return m::deepseek_v2_lite;
  return std::nullopt;
}

inline qmath::weight_recipe recipe(const std::string& name) {
  using qmath::gguf_ftype;
  if (name == "f16") return qmath::weight_recipe::gguf(gguf_ftype::f16);
  if (name == "q8_0") return qmath::weight_recipe::gguf(gguf_ftype::q8_0);
  if (name == "q4_k_m") return qmath::weight_recipe::gguf(gguf_ftype::q4_k_m);
  throw std::runtime_error("unknown recipe " + name);
}

}  // namespace llama_rows

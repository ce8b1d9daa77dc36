#pragma once
// Test helper: writes a GGUF file (v3) for a qmath architecture the way
// llama.cpp's converter names and shapes its tensors (src/llama-arch.cpp
// LLM_TENSOR_NAMES), each in the type a weight recipe gives it, with the
// tensor data left as a hole (a sparse file). Metadata and tensor infos are
// real, so the file is what a reader sees of a downloaded model.
#include <qmath/estimate/weights.hpp>
#include <qmath/models/architecture.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace qmath_test {

struct gguf_bytes {
  std::vector<std::byte> bytes;

  void u8(std::uint8_t v) { bytes.push_back(static_cast<std::byte>(v)); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void str(const std::string& s) {
    u64(s.size());
    for (char c : s) u8(static_cast<std::uint8_t>(c));
  }
  void kv_u32(const std::string& key, std::uint32_t v) {
    str(key);
    u32(4);
    u32(v);
  }
  void kv_str(const std::string& key, const std::string& v) {
    str(key);
    u32(8);
    str(v);
  }
  // Magic, version 3 and the two counts.
  void header(std::uint64_t tensors, std::uint64_t kvs) {
    u32(0x46554747u);
    u32(3);
    u64(tensors);
    u64(kvs);
  }
};

struct gguf_tensor_spec {
  std::string name;
  std::vector<std::uint64_t> ne;  // ne[0] first
  qmath::format_info format;
  std::uint64_t bytes = 0;
};

// The tensors of `a` with llama.cpp names, in for_each_tensor order.
inline std::vector<gguf_tensor_spec> gguf_tensors_of(const qmath::models::architecture& a,
                                                     const qmath::weight_recipe& recipe) {
  using qmath::models::tensor_role;
  std::vector<gguf_tensor_spec> out;
  std::int32_t layer = -2;
  std::uint32_t block_norms = 0;
  tensor_role last = tensor_role::norm;
  const char* block_norm_names2[] = {"attn_norm", "ffn_norm"};
  const char* block_norm_names4[] = {"attn_norm", "post_attention_norm", "ffn_norm", "post_ffw_norm"};
  std::uint32_t qk_norms = 0;
  qmath::models::for_each_tensor(a, [&](const qmath::models::tensor& t) {
    if (t.layer != layer) {
      layer = t.layer;
      block_norms = 0;
      qk_norms = 0;
      last = tensor_role::norm;
    }
    std::string base;
    switch (t.role) {
      case tensor_role::token_embedding: base = "token_embd"; break;
      case tensor_role::position_embedding: base = "position_embd"; break;
      case tensor_role::token_type_embedding: base = "token_types"; break;
      case tensor_role::attn_q: base = "attn_q"; break;
      case tensor_role::attn_k: base = "attn_k"; break;
      case tensor_role::attn_v: base = "attn_v"; break;
      case tensor_role::attn_qkv: base = "attn_qkv"; break;
      case tensor_role::attn_o: base = "attn_output"; break;
      case tensor_role::attn_q_a: base = "attn_q_a"; break;
      case tensor_role::attn_q_b: base = "attn_q_b"; break;
      case tensor_role::attn_kv_a: base = "attn_kv_a_mqa"; break;
      case tensor_role::attn_kv_b: base = "attn_kv_b"; break;
      case tensor_role::ffn_gate: base = "ffn_gate"; break;
      case tensor_role::ffn_up: base = "ffn_up"; break;
      case tensor_role::ffn_down: base = "ffn_down"; break;
      case tensor_role::expert_gate: base = "ffn_gate_exps"; break;
      case tensor_role::expert_up: base = "ffn_up_exps"; break;
      case tensor_role::expert_down: base = "ffn_down_exps"; break;
      case tensor_role::shared_gate: base = "ffn_gate_shexp"; break;
      case tensor_role::shared_up: base = "ffn_up_shexp"; break;
      case tensor_role::shared_down: base = "ffn_down_shexp"; break;
      case tensor_role::router: base = t.bias ? "exp_probs_b" : "ffn_gate_inp"; break;
      case tensor_role::shared_expert_router: base = "ffn_gate_inp_shexp"; break;
      case tensor_role::output: base = "output"; break;
      case tensor_role::pooler: base = "cls"; break;
      case tensor_role::norm: {
        if (t.layer < 0) {
          base = last == tensor_role::token_embedding || last == tensor_role::position_embedding ||
                         last == tensor_role::token_type_embedding
                     ? "token_embd_norm"
                     : "output_norm";
        } else if (block_norms < a.norms_per_layer && last == tensor_role::norm) {
          base = a.norms_per_layer == 4 ? block_norm_names4[block_norms]
                 : a.norms_per_layer == 2 ? block_norm_names2[block_norms]
                                          : "attn_norm";
          // A LayerNorm's bias follows its weight under the same name.
          if (a.norm == qmath::models::norm_kind::rms || t.bias) ++block_norms;
        } else if (last == tensor_role::attn_q_a) {
          base = "attn_q_a_norm";
        } else if (last == tensor_role::attn_kv_a) {
          base = "attn_kv_a_norm";
        } else if (last == tensor_role::ffn_down) {
          base = "ffn_sub_norm";
        } else if (a.qk_norm && qk_norms < 2) {
          base = qk_norms == 0 ? "attn_q_norm" : "attn_k_norm";
          ++qk_norms;
        } else {
          base = "attn_sub_norm";
        }
        break;
      }
    }
    if (t.role != tensor_role::norm) last = t.role;
    std::string name = t.layer >= 0 ? "blk." + std::to_string(t.layer) + "." + base : base;
    name += t.bias ? ".bias" : ".weight";
    gguf_tensor_spec s;
    s.name = name;
    s.format = qmath::tensor_format(a, t, recipe);
    s.bytes = qmath::storage_bytes(s.format, t.elements());
    if (t.is_vector())
      s.ne = {t.cols};
    else if (t.copies > 1)
      s.ne = {t.cols, t.rows, t.copies};
    else
      s.ne = {t.cols, t.rows};
    out.push_back(std::move(s));
  });
  return out;
}

// Writes the file; returns the sum of the tensors' bytes.
inline std::uint64_t write_gguf(const std::filesystem::path& path, const std::string& gguf_arch,
                                const qmath::models::architecture& a, const std::vector<gguf_tensor_spec>& tensors,
                                std::uint32_t file_type) {
  gguf_bytes b;
  std::vector<std::pair<std::string, std::uint32_t>> u32s = {
      {gguf_arch + ".block_count", a.layers},
      {gguf_arch + ".embedding_length", a.hidden},
      {gguf_arch + ".attention.head_count", a.heads},
      {gguf_arch + ".attention.head_count_kv", a.n_kv_heads()},
      {gguf_arch + ".context_length", a.max_context},
      {"general.file_type", file_type},
  };
  if (a.intermediate != 0) u32s.emplace_back(gguf_arch + ".feed_forward_length", a.intermediate);
  if (a.head_dim != 0 && !a.is_mla()) u32s.emplace_back(gguf_arch + ".attention.key_length", a.head_dim);
  if (a.is_moe()) {
    u32s.emplace_back(gguf_arch + ".expert_count", a.experts);
    u32s.emplace_back(gguf_arch + ".expert_used_count", a.active_experts);
    u32s.emplace_back(gguf_arch + ".expert_feed_forward_length", a.expert_intermediate);
    if (a.first_dense_layers != 0) u32s.emplace_back(gguf_arch + ".leading_dense_block_count", a.first_dense_layers);
  }
  if (a.is_mla()) {
    u32s.emplace_back(gguf_arch + ".attention.kv_lora_rank", a.kv_lora_rank);
    if (a.q_lora_rank != 0) u32s.emplace_back(gguf_arch + ".attention.q_lora_rank", a.q_lora_rank);
    u32s.emplace_back(gguf_arch + ".rope.dimension_count", a.qk_rope_head_dim);
    u32s.emplace_back(gguf_arch + ".attention.key_length", a.qk_nope_head_dim + a.qk_rope_head_dim);
    u32s.emplace_back(gguf_arch + ".attention.value_length", a.v_head_dim);
  }
  if (a.sliding_window != 0) u32s.emplace_back(gguf_arch + ".attention.sliding_window", a.sliding_window);
  b.header(tensors.size(), u32s.size() + 2);
  b.kv_str("general.architecture", gguf_arch);
  b.kv_str("general.name", std::string(a.name));
  for (const auto& [k, v] : u32s) b.kv_u32(k, v);
  std::uint64_t offset = 0, total = 0;
  for (const auto& t : tensors) {
    b.str(t.name);
    b.u32(static_cast<std::uint32_t>(t.ne.size()));
    for (auto d : t.ne) b.u64(d);
    b.u32(static_cast<std::uint32_t>(t.format.ggml_type));
    b.u64(offset);
    offset += (t.bytes + 31) / 32 * 32;
    total += t.bytes;
  }
  while (b.bytes.size() % 32 != 0) b.u8(0);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.bytes.data()), static_cast<std::streamsize>(b.bytes.size()));
  }
  std::filesystem::resize_file(path, b.bytes.size() + offset);  // the data: a hole
  return total;
}

}  // namespace qmath_test

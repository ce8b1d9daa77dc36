#pragma once
// Test helper: writes safetensors files (header + a hole for the data) for a
// Llama-style qmath architecture with transformers' module names
// (modeling_llama.py / modeling_qwen2.py), and raw headers for hostile cases.
#include <qmath/models/architecture.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace qmath_test {

struct st_tensor {
  std::string name;
  std::string dtype;
  std::vector<std::uint64_t> shape;
  std::uint64_t bytes = 0;
};

// Tensors of a dense Llama-style decoder (RMSNorm, gated MLP, optional q/k/v
// biases, optional tied head) in one dtype of `dtype_bytes` bytes.
inline std::vector<st_tensor> hf_tensors_of(const qmath::models::architecture& a, const std::string& dtype,
                                           std::uint64_t dtype_bytes) {
  using qmath::models::tensor_role;
  std::vector<st_tensor> out;
  std::int32_t layer = -2;
  int norms = 0;
  qmath::models::for_each_tensor(a, [&](const qmath::models::tensor& t) {
    if (t.layer != layer) {
      layer = t.layer;
      norms = 0;
    }
    const std::string blk = "model.layers." + std::to_string(t.layer) + ".";
    std::string name;
    switch (t.role) {
      case tensor_role::token_embedding: name = "model.embed_tokens"; break;
      case tensor_role::attn_q: name = blk + "self_attn.q_proj"; break;
      case tensor_role::attn_k: name = blk + "self_attn.k_proj"; break;
      case tensor_role::attn_v: name = blk + "self_attn.v_proj"; break;
      case tensor_role::attn_o: name = blk + "self_attn.o_proj"; break;
      case tensor_role::ffn_gate: name = blk + "mlp.gate_proj"; break;
      case tensor_role::ffn_up: name = blk + "mlp.up_proj"; break;
      case tensor_role::ffn_down: name = blk + "mlp.down_proj"; break;
      case tensor_role::output: name = "lm_head"; break;
      case tensor_role::norm:
        if (t.layer < 0) name = "model.norm";
        else name = blk + (norms++ == 0 ? "input_layernorm" : "post_attention_layernorm");
        break;
      default: name = "unexpected." + std::to_string(static_cast<int>(t.role)); break;
    }
    name += t.bias ? ".bias" : ".weight";
    st_tensor s{name, dtype, {}, t.elements() * dtype_bytes};
    if (t.is_vector()) s.shape = {t.cols};
    else s.shape = {t.rows, t.cols};
    out.push_back(std::move(s));
  });
  return out;
}

// The JSON header for `tensors` laid out back to back in order.
inline std::string st_header_json(const std::vector<st_tensor>& tensors, const std::string& metadata = "") {
  std::string j = "{";
  if (!metadata.empty()) j += "\"__metadata__\":" + metadata + ",";
  std::uint64_t at = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    j += "\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":[";
    for (std::size_t d = 0; d < t.shape.size(); ++d) {
      if (d != 0) j += ',';
      j += std::to_string(t.shape[d]);
    }
    j += "],\"data_offsets\":[" + std::to_string(at) + "," + std::to_string(at + t.bytes) + "]}";
    at += t.bytes;
    if (i + 1 != tensors.size()) j += ",";
  }
  return j + "}";
}

inline std::uint64_t st_data_bytes(const std::vector<st_tensor>& tensors) {
  std::uint64_t n = 0;
  for (const auto& t : tensors) n += t.bytes;
  return n;
}

// Writes u64 length + header + a hole of data_bytes.
inline void write_safetensors_raw(const std::filesystem::path& path, const std::string& header,
                                  std::uint64_t data_bytes, std::uint64_t declared_length = UINT64_MAX) {
  const std::uint64_t n = declared_length == UINT64_MAX ? header.size() : declared_length;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
    out << header;
  }
  std::filesystem::resize_file(path, 8 + header.size() + data_bytes);
}

inline void write_safetensors(const std::filesystem::path& path, const std::vector<st_tensor>& tensors) {
  write_safetensors_raw(path, st_header_json(tensors), st_data_bytes(tensors));
}

}  // namespace qmath_test

#pragma once
// The class, role and layer of a tensor from its Hugging Face module name
// (model.layers.3.self_attn.q_proj.weight, transformer.h.0.attn.c_attn.weight,
// encoder.layer.2.attention.self.query.weight, ...), as the modeling_<type>.py
// files of transformers name them. Used for the per-class breakdown of a
// safetensors checkpoint; the bytes never depend on it. Names no rule knows
// are class `other`. This header does not include xsimd.

#include <charconv>
#include <cstdint>
#include <string_view>

#include "qmath/io/stored_tensor.hpp"
#include "qmath/models/architecture.hpp"

namespace qmath::io {

namespace detail {

// The block index after ".layers.", ".h.", ".layer.", ".block." or ".blocks.".
inline std::int32_t hf_layer_of(std::string_view name) {
  for (const std::string_view marker : {"layers.", "h.", "layer.", "block.", "blocks."}) {
    for (std::size_t at = name.find(marker); at != std::string_view::npos; at = name.find(marker, at + 1)) {
      if (at != 0 && name[at - 1] != '.') continue;
      const char* first = name.data() + at + marker.size();
      const char* last = name.data() + name.size();
      std::uint32_t layer = 0;
      const auto [end, ec] = std::from_chars(first, last, layer);
      if (ec == std::errc{} && end != first && end < last && *end == '.' && layer <= INT32_MAX)
        return static_cast<std::int32_t>(layer);
    }
  }
  return -1;
}

inline bool has(std::string_view name, std::string_view part) { return name.find(part) != std::string_view::npos; }

}  // namespace detail

inline void classify_hf_tensor(stored_tensor& t) {
  using detail::has;
  using models::tensor_class;
  using models::tensor_role;
  const std::string_view n = t.name;
  t.layer = detail::hf_layer_of(n);
  const auto set = [&](tensor_class c, tensor_role r) {
    t.cls = c;
    t.role = r;
  };
  if (has(n, "norm") || has(n, "ln_") || has(n, "LayerNorm"))
    return set(tensor_class::norm, tensor_role::norm);
  if (has(n, "lm_head") || has(n, "embed_out")) return set(tensor_class::output, tensor_role::output);
  if (has(n, "position_embeddings") || has(n, "wpe.")) return set(tensor_class::other, tensor_role::position_embedding);
  if (has(n, "token_type_embeddings")) return set(tensor_class::other, tensor_role::token_type_embedding);
  if (has(n, "embed_tokens") || has(n, "word_embeddings") || has(n, "wte.") || has(n, "embed_in") ||
      n.starts_with("shared.") || has(n, "tok_embeddings"))
    return set(tensor_class::embedding, tensor_role::token_embedding);
  if (has(n, "pooler")) return set(tensor_class::other, tensor_role::pooler);
  if (has(n, "shared_expert_gate")) return set(tensor_class::router, tensor_role::shared_expert_router);
  const bool gate = has(n, "gate_proj") || has(n, ".w1.") || has(n, "wi_0");
  const bool up = has(n, "up_proj") || has(n, ".w3.") || has(n, "wi_1") || has(n, "fc1") || has(n, "c_fc") ||
                  has(n, "dense_h_to_4h") || has(n, "intermediate.dense") || has(n, ".wi.");
  const bool down = has(n, "down_proj") || has(n, ".w2.") || has(n, "fc2") || has(n, "dense_4h_to_h") ||
                    has(n, "mlp.c_proj") || has(n, ".wo.") || (has(n, "output.dense") && !has(n, "attention"));
  if (has(n, ".experts.")) {
    if (gate) return set(tensor_class::expert, tensor_role::expert_gate);
    if (down) return set(tensor_class::expert, tensor_role::expert_down);
    return set(tensor_class::expert, tensor_role::expert_up);
  }
  if (has(n, "shared_expert")) {
    if (gate) return set(tensor_class::mlp, tensor_role::shared_gate);
    if (down) return set(tensor_class::mlp, tensor_role::shared_down);
    return set(tensor_class::mlp, tensor_role::shared_up);
  }
  if (has(n, "mlp.gate.") || has(n, "block_sparse_moe.gate.") || has(n, "router") || has(n, "e_score_correction"))
    return set(tensor_class::router, tensor_role::router);
  if (has(n, "q_a_proj")) return set(tensor_class::attention, tensor_role::attn_q_a);
  if (has(n, "q_b_proj")) return set(tensor_class::attention, tensor_role::attn_q_b);
  if (has(n, "kv_a_proj")) return set(tensor_class::attention, tensor_role::attn_kv_a);
  if (has(n, "kv_b_proj")) return set(tensor_class::attention, tensor_role::attn_kv_b);
  if (has(n, "q_proj") || has(n, ".query.") || has(n, ".q.")) return set(tensor_class::attention, tensor_role::attn_q);
  if (has(n, "k_proj") || has(n, ".key.") || has(n, ".k.")) return set(tensor_class::attention, tensor_role::attn_k);
  if (has(n, "v_proj") || has(n, ".value.") || has(n, ".v.")) return set(tensor_class::attention, tensor_role::attn_v);
  if (has(n, "query_key_value") || has(n, "c_attn") || has(n, "qkv_proj") || has(n, "Wqkv"))
    return set(tensor_class::attention, tensor_role::attn_qkv);
  if (has(n, "o_proj") || has(n, "attn.c_proj") || has(n, "attention.dense") || has(n, "attention.output.dense") ||
      has(n, ".o.") || has(n, "out_proj"))
    return set(tensor_class::attention, tensor_role::attn_o);
  if (gate) return set(tensor_class::mlp, tensor_role::ffn_gate);
  if (up || has(n, "gate_up_proj")) return set(tensor_class::mlp, tensor_role::ffn_up);
  if (down) return set(tensor_class::mlp, tensor_role::ffn_down);
  if (has(n, "relative_attention_bias")) return set(tensor_class::attention, tensor_role::attn_q);
  set(tensor_class::other, tensor_role::norm);
}

}  // namespace qmath::io

#pragma once
// A GGUF file as a model: the qmath architecture its metadata and tensors
// describe, and every tensor with its role and the type the file really
// stores it in, so a downloaded Q4_K_M file is priced as stored, byte for byte.
//
// Hyperparameters come from the `<arch>.*` keys llama.cpp reads
// (src/llama-arch.cpp LLM_KV_NAMES; src/models/<arch>.cpp load_arch_hparams);
// the structure comes from the tensors present (src/llama-arch.cpp
// LLM_TENSOR_NAMES: "output.weight" absent means tied embeddings, as
// llama_model_*::load_arch_tensors falls back to token_embd with
// TENSOR_DUPLICATED; "blk.N.attn_q.bias" means q/k/v biases, ...). The vocab is
// token_embd's row count. The file's own element and byte sums stay the
// exact answer; the architecture is what the estimators need beyond weights
// (KV cache, activations), and model::notes says where its parameter count
// differs from the file's.
// This header does not include xsimd.

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "qmath/error.hpp"
#include "qmath/io/gguf.hpp"
#include "qmath/io/plausible.hpp"
#include "qmath/io/stored_tensor.hpp"
#include "qmath/models/architecture.hpp"

namespace qmath::io {

// llama.cpp architecture names (general.architecture) qmath reads, with the
// Hugging Face model_type each corresponds to (the architecture's name).
struct gguf_architecture_name {
  std::string_view gguf;
  std::string_view model_type;
};
inline constexpr gguf_architecture_name gguf_architectures[] = {
    {"llama", "llama"},        {"qwen2", "qwen2"},       {"qwen2moe", "qwen2_moe"},   {"qwen3", "qwen3"},
    {"qwen3moe", "qwen3_moe"}, {"gemma", "gemma"},       {"gemma2", "gemma2"},        {"gemma3", "gemma3"},
    {"phi3", "phi3"},          {"deepseek2", "deepseek_v2"}, {"command-r", "cohere"}, {"starcoder", "gpt_bigcode"},
    {"gptneox", "gpt_neox"},   {"bloom", "bloom"},       {"falcon", "falcon"},        {"bert", "bert"},
    {"qwen", "qwen"},          {"bitnet", "bitnet"},
};

namespace detail {

inline constexpr const char* gguf_model_api = "qmath::io::gguf_model";

struct gguf_name_parts {
  std::int32_t layer = -1;
  std::string_view base;    // "attn_q", "token_embd", ...
  std::string_view suffix;  // "weight", "bias", ...
};

// "blk.12.attn_q.weight" -> {12, "attn_q", "weight"}; "token_embd.weight" -> {-1, "token_embd", "weight"}.
inline gguf_name_parts split_gguf_name(std::string_view name) {
  gguf_name_parts p;
  if (name.starts_with("blk.")) {
    name.remove_prefix(4);
    const auto dot = name.find('.');
    std::uint32_t layer = 0;
    const auto digits = name.substr(0, dot);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), layer);
    if (ec == std::errc{} && end == digits.data() + digits.size() && dot != std::string_view::npos &&
        layer <= static_cast<std::uint32_t>(INT32_MAX)) {
      p.layer = static_cast<std::int32_t>(layer);
      name.remove_prefix(dot + 1);
    }
  }
  const auto last = name.rfind('.');
  if (last == std::string_view::npos) {
    p.base = name;
  } else {
    p.base = name.substr(0, last);
    p.suffix = name.substr(last + 1);
  }
  return p;
}

// The class and role of a GGUF tensor from its name (LLM_TENSOR_NAMES).
// Names qmath does not model (rope_freqs, MTP heads, ...) are class `other`.
inline void classify_gguf_tensor(stored_tensor& t) {
  using models::tensor_class;
  using models::tensor_role;
  const auto p = split_gguf_name(t.name);
  t.layer = p.layer;
  const std::string_view b = p.base;
  const auto set = [&](tensor_class c, tensor_role r) {
    t.cls = c;
    t.role = r;
  };
  if (b == "token_embd") return set(tensor_class::embedding, tensor_role::token_embedding);
  if (b == "position_embd") return set(tensor_class::other, tensor_role::position_embedding);
  if (b == "token_types") return set(tensor_class::other, tensor_role::token_type_embedding);
  if (b == "output") return set(tensor_class::output, tensor_role::output);
  if (b == "attn_q") return set(tensor_class::attention, tensor_role::attn_q);
  if (b == "attn_k") return set(tensor_class::attention, tensor_role::attn_k);
  if (b == "attn_v") return set(tensor_class::attention, tensor_role::attn_v);
  if (b == "attn_qkv") return set(tensor_class::attention, tensor_role::attn_qkv);
  if (b == "attn_output") return set(tensor_class::attention, tensor_role::attn_o);
  if (b == "attn_q_a") return set(tensor_class::attention, tensor_role::attn_q_a);
  if (b == "attn_q_b") return set(tensor_class::attention, tensor_role::attn_q_b);
  if (b == "attn_kv_a_mqa") return set(tensor_class::attention, tensor_role::attn_kv_a);
  // DeepSeek's kv_b_proj, whole or split into its k and v halves (newer converters).
  if (b == "attn_kv_b" || b == "attn_k_b" || b == "attn_v_b") return set(tensor_class::attention, tensor_role::attn_kv_b);
  if (b == "ffn_gate") return set(tensor_class::mlp, tensor_role::ffn_gate);
  if (b == "ffn_up") return set(tensor_class::mlp, tensor_role::ffn_up);
  if (b == "ffn_down") return set(tensor_class::mlp, tensor_role::ffn_down);
  if (b == "ffn_gate_exps") return set(tensor_class::expert, tensor_role::expert_gate);
  if (b == "ffn_up_exps") return set(tensor_class::expert, tensor_role::expert_up);
  if (b == "ffn_down_exps") return set(tensor_class::expert, tensor_role::expert_down);
  if (b == "ffn_gate_shexp") return set(tensor_class::mlp, tensor_role::shared_gate);
  if (b == "ffn_up_shexp") return set(tensor_class::mlp, tensor_role::shared_up);
  if (b == "ffn_down_shexp") return set(tensor_class::mlp, tensor_role::shared_down);
  if (b == "ffn_gate_inp" || b == "exp_probs_b") return set(tensor_class::router, tensor_role::router);
  if (b == "ffn_gate_inp_shexp") return set(tensor_class::router, tensor_role::shared_expert_router);
  if (b.ends_with("norm") || b.ends_with("norm_2")) return set(tensor_class::norm, tensor_role::norm);
  set(tensor_class::other, tensor_role::norm);
}

class gguf_view {
 public:
  explicit gguf_view(const gguf::file& f) : f_(f) {
    prefix_ = f.model.architecture + ".";
  }
  const gguf::file& file() const noexcept { return f_; }

  // An unsigned key of this architecture; a per-layer array gives its maximum.
  std::optional<std::uint64_t> key(std::string_view suffix) const {
    return gguf::detail::integer_or_max(f_, prefix_ + std::string(suffix));
  }
  std::uint32_t required_u32(std::string_view suffix) const {
    const auto v = key(suffix);
    QMATH_REQUIRE(v.has_value(), gguf_model_api, "missing metadata key ", prefix_, suffix);
    return fit_u32(*v, suffix);
  }
  std::uint32_t u32_or(std::string_view suffix, std::uint32_t fallback) const {
    const auto v = key(suffix);
    return v ? fit_u32(*v, suffix) : fallback;
  }
  std::uint32_t fit_u32(std::uint64_t v, std::string_view what) const {
    QMATH_REQUIRE(v <= UINT32_MAX, gguf_model_api, "metadata ", prefix_, what, " = ", v, " is out of range");
    return static_cast<std::uint32_t>(v);
  }

  const gguf::tensor_info* tensor(std::string_view name) const { return f_.find_tensor(name); }
  bool has(std::string_view name) const { return tensor(name) != nullptr; }
  // A tensor of any block, by its base name and suffix ("attn_q", "bias").
  const gguf::tensor_info* any_layer(std::string_view base, std::string_view suffix = "weight") const {
    for (const auto& t : f_.tensors) {
      const auto p = split_gguf_name(t.name);
      if (p.layer >= 0 && p.base == base && p.suffix == suffix) return &t;
    }
    return nullptr;
  }
  bool has_any(std::string_view base, std::string_view suffix = "weight") const {
    return any_layer(base, suffix) != nullptr;
  }
  // Norm weights of hidden size in block `layer`.
  std::uint32_t hidden_norms(std::int32_t layer, std::uint64_t hidden) const {
    std::uint32_t n = 0;
    for (const auto& t : f_.tensors) {
      const auto p = split_gguf_name(t.name);
      if (p.layer != layer || p.suffix != "weight") continue;
      const bool block_norm = p.base == "attn_norm" || p.base == "ffn_norm" || p.base == "attn_norm_2" ||
                              p.base == "post_attention_norm" || p.base == "post_ffw_norm";
      if (block_norm && t.n_dims == 1 && t.dims[0] == hidden) ++n;
    }
    return n;
  }

 private:
  const gguf::file& f_;
  std::string prefix_;
};

inline std::string_view model_type_of_gguf(std::string_view gguf_arch) {
  for (const auto& a : gguf_architectures)
    if (a.gguf == gguf_arch) return a.model_type;
  return {};
}

inline std::string supported_gguf_list() {
  std::string s;
  for (const auto& a : gguf_architectures) {
    if (!s.empty()) s += ", ";
    s += a.gguf;
  }
  return s;
}

}  // namespace detail

// The architecture a GGUF file describes. Throws qmath::error naming the key
// or tensor that is missing or inconsistent, or the unsupported architecture.
inline models::architecture gguf_architecture(const gguf::file& f) {
  using namespace detail;
  const std::string& arch = f.model.architecture;
  QMATH_REQUIRE(!arch.empty(), gguf_model_api, "no general.architecture key");
  const std::string_view type = model_type_of_gguf(arch);
  QMATH_REQUIRE(!type.empty(), gguf_model_api, "unsupported architecture '", arch, "'; supported: ",
                supported_gguf_list());
  const gguf_view g(f);

  models::architecture a;
  a.name = type;
  a.source = "GGUF";
  a.layers = g.required_u32("block_count");
  a.hidden = g.required_u32("embedding_length");
  a.heads = g.required_u32("attention.head_count");
  a.kv_heads = g.u32_or("attention.head_count_kv", a.heads);
  QMATH_REQUIRE(a.kv_heads != 0, gguf_model_api, arch, ".attention.head_count_kv is 0");
  a.max_context = g.u32_or("context_length", 0);

  const gguf::tensor_info* embd = g.tensor("token_embd.weight");
  QMATH_REQUIRE(embd != nullptr && embd->n_dims == 2, gguf_model_api, "no 2-D tensor token_embd.weight");
  QMATH_REQUIRE(embd->dims[0] == a.hidden, gguf_model_api, "token_embd.weight has rows of ", embd->dims[0],
                " elements, embedding_length is ", a.hidden);
  a.vocab = g.fit_u32(embd->dims[1], "vocabulary (token_embd.weight rows)");
  a.tied_embeddings = !g.has("output.weight");
  a.final_norm = g.has("output_norm.weight");

  // Norms: LayerNorm when they carry a bias; the per-block count of hidden-size norms.
  const bool layer_norm = g.has("output_norm.bias") || g.has_any("attn_norm", "bias");
  a.norm = layer_norm ? models::norm_kind::layer : models::norm_kind::rms;
  a.norms_per_layer = g.hidden_norms(0, a.hidden);
  a.qk_norm = g.has_any("attn_q_norm");
  a.sub_norms = g.has_any("attn_sub_norm");
  a.embedding_norm = g.has("token_embd_norm.weight");

  a.qkv_bias = g.has_any("attn_q", "bias") || g.has_any("attn_qkv", "bias");
  a.o_bias = g.has_any("attn_output", "bias");
  a.mlp_bias = g.has_any("ffn_up", "bias");
  a.ffn = g.has_any("ffn_gate") || g.has_any("ffn_gate_exps") ? models::ffn_kind::gated : models::ffn_kind::ungated;
  a.intermediate = g.u32_or("feed_forward_length", 0);

  if (const auto* pos = g.tensor("position_embd.weight"))
    a.learned_positions = g.fit_u32(pos->dims[1], "position_embd.weight rows");
  if (const auto* tt = g.tensor("token_types.weight")) a.token_types = g.fit_u32(tt->dims[1], "token_types.weight rows");
  if (arch == "bert") {
    a.kind = models::model_kind::encoder;
    a.tied_embeddings = false;
  }

  // Head size: key_length where the file gives it (Gemma, Qwen3), else hidden / heads.
  if (const auto k = g.key("attention.key_length")) a.head_dim = g.fit_u32(*k, "attention.key_length");

  // Sliding windows, where llama.cpp applies them: Gemma-2 every other layer
  // (models/gemma2.cpp: n_swa 4096 by default, pattern 2), Gemma-3 five of six
  // (models/gemma3.cpp: only when the key is present, pattern 6).
  if (arch == "gemma2" || arch == "gemma3") {
    const auto window = g.key("attention.sliding_window");
    a.sliding_window = window ? g.fit_u32(*window, "attention.sliding_window") : (arch == "gemma2" ? 4096u : 0u);
    if (a.sliding_window != 0) {
      a.full_attention_every = arch == "gemma2" ? 2 : 6;
      if (const gguf::value* pattern = f.find(arch + ".attention.sliding_window_pattern"); pattern && pattern->as_uint())
        a.full_attention_every = g.fit_u32(*pattern->as_uint(), "attention.sliding_window_pattern");
    }
  }

  // Mixture of experts.
  a.experts = g.u32_or("expert_count", 0);
  if (a.experts != 0) {
    a.active_experts = g.required_u32("expert_used_count");
    const gguf::tensor_info* up_exps = g.any_layer("ffn_up_exps");
    QMATH_REQUIRE(up_exps != nullptr, gguf_model_api, "expert_count is ", a.experts,
                  " but no blk.N.ffn_up_exps.weight tensor");
    a.expert_intermediate = g.u32_or("expert_feed_forward_length", g.fit_u32(up_exps->dims[1], "ffn_up_exps rows"));
    if (const auto* shared = g.any_layer("ffn_up_shexp"))
      a.shared_expert_intermediate = g.fit_u32(shared->dims[1], "ffn_up_shexp rows");
    a.shared_expert_gate = g.has_any("ffn_gate_inp_shexp");
    a.first_dense_layers = g.u32_or("leading_dense_block_count", 0);
    a.router_bias = g.has_any("exp_probs_b", "bias");  // DeepSeek-V3's e_score_correction_bias
  }

  // Multi-head latent attention (DeepSeek-V2/V3, llama.cpp "deepseek2").
  if (const auto kv_rank = g.key("attention.kv_lora_rank")) {
    a.kv_lora_rank = g.fit_u32(*kv_rank, "attention.kv_lora_rank");
    a.q_lora_rank = g.u32_or("attention.q_lora_rank", 0);
    a.qk_rope_head_dim = g.required_u32("rope.dimension_count");
    // Newer converters store the per-head q/k size as key_length_mla and
    // key_length as the absorbed kv_lora_rank + rope size (models/deepseek2.cpp).
    const std::uint32_t k_mla = g.u32_or("attention.key_length_mla", g.required_u32("attention.key_length"));
    QMATH_REQUIRE(k_mla > a.qk_rope_head_dim, gguf_model_api, "MLA key length ", k_mla,
                  " is not larger than the rope dimension ", a.qk_rope_head_dim);
    a.qk_nope_head_dim = k_mla - a.qk_rope_head_dim;
    a.v_head_dim = g.u32_or("attention.value_length_mla", g.required_u32("attention.value_length"));
    a.head_dim = 0;
  }

  // The float type of the file's matrices (all-F32 and BF16 files), else F16.
  const auto ftype = f.model.file_type.value_or(1);
  a.checkpoint_dtype = ftype == 0 ? format_id::f32 : ftype == 32 ? format_id::bf16 : format_id::f16;
  QMATH_REQUIRE(a.is_moe() || a.intermediate != 0, gguf_model_api, "missing metadata key ", arch,
                ".feed_forward_length");
  check_plausible(a, gguf_model_api);
  models::validate(a);
  return a;
}

// Every tensor of a GGUF file with its class, role, layer and stored type.
inline std::vector<stored_tensor> gguf_stored_tensors(const gguf::file& f) {
  std::vector<stored_tensor> out;
  out.reserve(f.tensors.size());
  for (const auto& t : f.tensors) {
    stored_tensor s;
    s.name = t.name;
    s.shape.assign(t.dims.begin(), t.dims.begin() + t.n_dims);
    s.dtype = std::string(t.format.name);
    s.format = t.format;
    s.elements = t.elements;
    s.bytes = t.bytes;
    detail::classify_gguf_tensor(s);
    out.push_back(std::move(s));
  }
  return out;
}

// The llama-quantize ftype general.file_type names (include/llama.h enum
// llama_ftype), when qmath has a recipe for it.
inline std::optional<gguf_ftype> gguf_file_ftype(const gguf::file& f) {
  if (!f.model.file_type) return std::nullopt;
  switch (*f.model.file_type) {
    case 0: return gguf_ftype::all_f32;
    case 1: return gguf_ftype::f16;
    case 2: return gguf_ftype::q4_0;
    case 3: return gguf_ftype::q4_1;
    case 7: return gguf_ftype::q8_0;
    case 8: return gguf_ftype::q5_0;
    case 9: return gguf_ftype::q5_1;
    case 10: return gguf_ftype::q2_k;
    case 11: return gguf_ftype::q3_k_s;
    case 12: return gguf_ftype::q3_k_m;
    case 13: return gguf_ftype::q3_k_l;
    case 14: return gguf_ftype::q4_k_s;
    case 15: return gguf_ftype::q4_k_m;
    case 16: return gguf_ftype::q5_k_s;
    case 17: return gguf_ftype::q5_k_m;
    case 18: return gguf_ftype::q6_k;
    case 32: return gguf_ftype::bf16;
    default: return std::nullopt;
  }
}

}  // namespace qmath::io

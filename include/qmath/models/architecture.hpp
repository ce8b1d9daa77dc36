#pragma once
// The constexpr description of a transformer checkpoint and the list of its
// tensors. Every estimator (weights, KV cache, activations, training state)
// reads the same record, and the parameter count is the sum over the tensor
// list, so a catalog entry is checked by comparing that sum with the official
// count. This header does not include xsimd.
//
// Tensor shapes follow PyTorch's nn.Linear: [rows = out_features,
// cols = in_features]; GGUF's ne0 is `cols` (the quantized row length).
// Vectors (norm weights, biases) have rows == 1.

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>

#include "qmath/detail/checked.hpp"
#include "qmath/error.hpp"
#include "qmath/formats/format_info.hpp"

namespace qmath::models {

enum class model_kind : std::uint8_t {
  decoder,  // causal language model (Llama, GPT-NeoX, Qwen, ...)
  encoder,  // bidirectional encoder (BERT): no KV cache, no LM head
};

// A gated FFN (SwiGLU / GeGLU) has gate, up and down projections; an ungated
// one (GELU MLP of GPT-NeoX and BERT) has up and down only.
enum class ffn_kind : std::uint8_t { gated, ungated };

// RMSNorm stores a weight; LayerNorm a weight and a bias.
enum class norm_kind : std::uint8_t { rms, layer };

// Coarse class of a tensor, the granularity of the weight breakdown.
enum class tensor_class : std::uint8_t {
  embedding,  // token embedding
  attention,  // q/k/v/o projections (and MLA's low-rank projections) with their biases
  mlp,        // dense FFN, and the shared experts of a MoE layer
  expert,     // routed experts of a MoE layer
  router,     // MoE gate (router) and shared-expert gate
  norm,       // RMSNorm / LayerNorm weights and biases
  output,     // LM head (absent when tied to the embedding)
  other,      // learned position / token-type embeddings, BERT's pooler
};
inline constexpr std::size_t tensor_class_count = 8;

// Fine role of a tensor; the GGUF quantization mixes choose types by role.
enum class tensor_role : std::uint8_t {
  token_embedding,
  position_embedding,
  token_type_embedding,
  attn_q,
  attn_k,
  attn_v,
  attn_qkv,   // fused q/k/v (GPT-NeoX, Qwen1); never produced by the catalog, kept for readers
  attn_o,
  attn_q_a,   // MLA: q down-projection (q_lora_rank > 0)
  attn_q_b,   // MLA: q up-projection
  attn_kv_a,  // MLA: compressed kv + rope key down-projection (kv_a_proj_with_mqa)
  attn_kv_b,  // MLA: k_nope / v up-projection
  ffn_gate,
  ffn_up,
  ffn_down,
  expert_gate,
  expert_up,
  expert_down,
  shared_gate,  // shared expert(s) of a MoE layer
  shared_up,
  shared_down,
  router,
  shared_expert_router,  // Qwen-MoE's sigmoid gate on the shared expert
  norm,                  // a per-layer or final norm (weight or bias)
  output,
  pooler,
};

struct tensor {
  tensor_class cls;
  tensor_role role;
  std::int32_t layer;        // block index, -1 for tensors outside the blocks
  std::uint64_t rows;        // out_features; 1 for a vector
  std::uint64_t cols;        // in_features; the length of a vector
  std::uint32_t copies = 1;  // identical tensors stored side by side (routed experts)
  bool linear = false;       // the 2-D weight of a linear layer (what bitsandbytes quantizes)
  bool bias = false;         // a bias vector

  constexpr std::uint64_t elements() const {
    return qmath::detail::checked_product("qmath::models::tensor", "elements", rows, cols, copies);
  }
  constexpr bool is_vector() const noexcept { return rows == 1; }
};

struct architecture {
  std::string_view name;
  std::string_view source;  // Hugging Face repo id and file the numbers come from
  model_kind kind = model_kind::decoder;

  std::uint32_t layers = 0;
  std::uint32_t hidden = 0;
  std::uint32_t heads = 0;
  std::uint32_t kv_heads = 0;  // 0: same as heads (MHA); 1: MQA; else GQA
  std::uint32_t head_dim = 0;  // 0: hidden / heads. Set it wherever the config does (Gemma, Qwen3, Mistral-Nemo)
  std::uint32_t intermediate = 0;
  ffn_kind ffn = ffn_kind::gated;
  std::uint32_t vocab = 0;
  bool tied_embeddings = false;

  norm_kind norm = norm_kind::rms;
  std::uint32_t norms_per_layer = 2;  // [hidden]-sized norms per block (Gemma-2: 4)
  bool final_norm = true;
  bool qk_norm = false;    // per-head q/k RMSNorm of size head_dim (Qwen3, OLMo-2 style)
  bool sub_norms = false;  // BitNet b1.58: attn_sub_norm [q_dim] and ffn_sub_norm [intermediate]
  bool embedding_norm = false;  // LayerNorm after the embeddings (BERT)

  bool qkv_bias = false;    // biases on q, k, v
  bool o_bias = false;      // bias on the attention output projection
  bool mlp_bias = false;    // biases on the FFN projections

  std::uint32_t learned_positions = 0;  // rows of a learned position embedding (BERT: 512)
  std::uint32_t token_types = 0;        // rows of BERT's token-type embedding
  bool pooler = false;                  // BERT pooler dense [hidden, hidden] + bias

  std::uint32_t max_context = 0;  // max_position_embeddings
  // Sliding-window attention: `sliding_window` tokens on sliding layers. When
  // full_attention_every is 0 every layer slides (Mistral-7B-v0.1); otherwise
  // layer i attends fully when (i + 1) % full_attention_every == 0 (Gemma-2: 2).
  std::uint32_t sliding_window = 0;
  std::uint32_t full_attention_every = 0;

  // Mixture of experts. experts == 0: dense.
  std::uint32_t experts = 0;
  std::uint32_t active_experts = 0;
  std::uint32_t expert_intermediate = 0;         // FFN size of one routed expert
  std::uint32_t shared_expert_intermediate = 0;  // total FFN size of the shared expert(s), 0 if none
  bool shared_expert_gate = false;               // Qwen-MoE: Linear(hidden, 1) on the shared expert
  std::uint32_t first_dense_layers = 0;          // DeepSeek first_k_dense_replace: leading dense layers
  bool router_bias = false;  // DeepSeek-V3 e_score_correction_bias: [experts] per MoE layer, in the checkpoint

  // Multi-head latent attention (DeepSeek-V2). kv_lora_rank == 0: ordinary attention.
  std::uint32_t q_lora_rank = 0;  // 0: q is a plain projection
  std::uint32_t kv_lora_rank = 0;
  std::uint32_t qk_nope_head_dim = 0;
  std::uint32_t qk_rope_head_dim = 0;
  std::uint32_t v_head_dim = 0;

  // Encoder-decoder (T5, mT5). encoder_layers == 0: decoder-only or encoder-only.
  // `layers` are then the decoder blocks (what a KV cache walks); the encoder
  // blocks come first in the tensor list with layer -1, and each decoder block
  // adds a cross-attention (norm, q, k, v, o). relative_attention_buckets: rows
  // of the relative position bias the first block of each stack holds
  // ([buckets, heads], T5's relative_attention_bias).
  std::uint32_t encoder_layers = 0;
  std::uint32_t relative_attention_buckets = 0;

  // The dtype the published checkpoint stores its tensors in.
  format_id checkpoint_dtype = format_id::bf16;
  // The official parameter count (model card / safetensors metadata), 0 if unknown;
  // the catalog's static tests compare it with parameters().
  std::uint64_t official_parameters = 0;

  // ---- derived values -------------------------------------------------------
  constexpr bool is_mla() const noexcept { return kv_lora_rank != 0; }
  constexpr bool is_moe() const noexcept { return experts != 0; }

  constexpr std::uint32_t n_kv_heads() const noexcept { return kv_heads != 0 ? kv_heads : heads; }
  // Per-head query/key width.
  constexpr std::uint32_t k_head_dim() const noexcept {
    if (is_mla()) return qk_nope_head_dim + qk_rope_head_dim;
    return head_dim != 0 ? head_dim : (heads != 0 ? hidden / heads : 0);
  }
  constexpr std::uint32_t value_head_dim() const noexcept { return is_mla() ? v_head_dim : k_head_dim(); }
  constexpr std::uint64_t q_dim() const noexcept { return std::uint64_t{heads} * k_head_dim(); }
  constexpr std::uint64_t k_dim() const noexcept { return std::uint64_t{n_kv_heads()} * k_head_dim(); }
  constexpr std::uint64_t v_dim() const noexcept { return std::uint64_t{n_kv_heads()} * value_head_dim(); }
  constexpr std::uint64_t attn_out_dim() const noexcept { return std::uint64_t{heads} * value_head_dim(); }

  constexpr bool is_sliding_layer(std::uint32_t layer) const noexcept {
    if (sliding_window == 0) return false;
    return full_attention_every == 0 || (layer + 1) % full_attention_every != 0;
  }
  constexpr bool is_moe_layer(std::uint32_t layer) const noexcept { return is_moe() && layer >= first_dense_layers; }
  // Sliding-window layers among the blocks [first, end), counted without a
  // walk over them: layer i attends fully when (i + 1) is a multiple of
  // full_attention_every, and there are end / n - first / n such i.
  constexpr std::uint32_t sliding_layers_in(std::uint32_t first, std::uint32_t end) const noexcept {
    if (sliding_window == 0 || end <= first) return 0;
    if (full_attention_every == 0) return end - first;
    return (end - first) - (end / full_attention_every - first / full_attention_every);
  }

  constexpr std::uint64_t parameters() const;
  constexpr std::uint64_t active_parameters() const;
  constexpr std::uint64_t embedding_parameters() const;
};

// Rejects an architecture that no model has: QMATH_REQUIRE, so a constant
// expression with a bad record does not compile and run-time use throws.
constexpr const architecture& validate(const architecture& a) {
  constexpr const char* api = "qmath::models::validate";
  QMATH_REQUIRE(a.layers > 0, api, a.name, ": layers must be positive");
  // tensor::layer is an int32 block index
  QMATH_REQUIRE(a.layers <= 0x7fffffffu, api, a.name, ": ", a.layers, " layers do not fit a block index");
  QMATH_REQUIRE(a.hidden > 0, api, a.name, ": hidden size must be positive");
  QMATH_REQUIRE(a.heads > 0, api, a.name, ": attention heads must be positive");
  QMATH_REQUIRE(a.vocab > 0, api, a.name, ": vocabulary must be positive");
  QMATH_REQUIRE(a.head_dim != 0 || a.is_mla() || a.hidden % a.heads == 0, api, a.name, ": hidden size ",
                a.hidden, " is not divisible by ", a.heads, " heads and no head_dim is given");
  QMATH_REQUIRE(a.n_kv_heads() <= a.heads && a.heads % a.n_kv_heads() == 0, api, a.name, ": ", a.heads,
                " heads are not a multiple of ", a.n_kv_heads(), " kv heads");
  // the tensor list has one entry per norm: bound them (Gemma-2 has 4)
  QMATH_REQUIRE(a.norms_per_layer <= 64, api, a.name, ": ", a.norms_per_layer, " norms per layer (at most 64)");
  QMATH_REQUIRE(a.is_moe() || a.intermediate > 0, api, a.name, ": FFN size must be positive");
  QMATH_REQUIRE(!a.is_moe() || (a.active_experts > 0 && a.active_experts <= a.experts && a.expert_intermediate > 0),
                api, a.name, ": a MoE needs 0 < active experts <= experts and an expert FFN size");
  QMATH_REQUIRE(!a.is_moe() || a.first_dense_layers == 0 || a.intermediate > 0, api, a.name,
                ": leading dense layers need an FFN size");
  QMATH_REQUIRE(!a.is_mla() || (a.qk_rope_head_dim > 0 && a.qk_nope_head_dim > 0 && a.v_head_dim > 0), api,
                a.name, ": MLA needs qk_nope_head_dim, qk_rope_head_dim and v_head_dim");
  // k_head_dim() is qk_nope_head_dim + qk_rope_head_dim in 32 bits
  QMATH_REQUIRE(!a.is_mla() || std::uint64_t{a.qk_nope_head_dim} + a.qk_rope_head_dim <= 0xffffffffu, api, a.name,
                ": qk_nope_head_dim + qk_rope_head_dim overflows 32 bits");
  QMATH_REQUIRE(a.full_attention_every == 0 || a.sliding_window > 0, api, a.name,
                ": a sliding-window pattern needs a window");
  QMATH_REQUIRE(a.kind == model_kind::decoder || !a.tied_embeddings, api, a.name,
                ": an encoder has no LM head to tie");
  return a;
}

namespace detail {

// The walk behind for_each_tensor and for_each_tensor_grouped: the tensors
// outside the blocks go to f, and blocks(block) decides which blocks are
// emitted (block(i) emits the tensors of block i to f).
template <class F, class Blocks>
constexpr void walk_tensors(const architecture& arch, F& f, Blocks&& blocks) {
  const architecture& a = validate(arch);
  const std::uint64_t h = a.hidden;
  const auto vec = [&](tensor_class cls, tensor_role role, std::int32_t layer, std::uint64_t n, bool is_bias) {
    f(tensor{cls, role, layer, 1, n, 1, false, is_bias});
  };
  const auto linear = [&](tensor_class cls, tensor_role role, std::int32_t layer, std::uint64_t rows,
                          std::uint64_t cols, bool with_bias, std::uint32_t copies = 1) {
    f(tensor{cls, role, layer, rows, cols, copies, true, false});
    if (with_bias) f(tensor{cls, role, layer, 1, rows, copies, false, true});
  };
  const auto norm = [&](std::int32_t layer, std::uint64_t n) {
    vec(tensor_class::norm, tensor_role::norm, layer, n, false);
    if (a.norm == norm_kind::layer) vec(tensor_class::norm, tensor_role::norm, layer, n, true);
  };
  const auto ffn = [&](tensor_class cls, tensor_role gate, tensor_role up, tensor_role down, std::int32_t layer,
                       std::uint64_t inter, std::uint32_t copies) {
    if (a.ffn == ffn_kind::gated) linear(cls, gate, layer, inter, h, a.mlp_bias, copies);
    linear(cls, up, layer, inter, h, a.mlp_bias, copies);
    linear(cls, down, layer, h, inter, a.mlp_bias, copies);
  };

  f(tensor{tensor_class::embedding, tensor_role::token_embedding, -1, a.vocab, h, 1, false, false});
  if (a.learned_positions != 0)
    f(tensor{tensor_class::other, tensor_role::position_embedding, -1, a.learned_positions, h, 1, false, false});
  if (a.token_types != 0)
    f(tensor{tensor_class::other, tensor_role::token_type_embedding, -1, a.token_types, h, 1, false, false});
  if (a.embedding_norm) norm(-1, h);

  const auto relative_bias = [&](std::int32_t layer) {
    if (a.relative_attention_buckets != 0)
      f(tensor{tensor_class::attention, tensor_role::attn_q, layer, a.relative_attention_buckets, a.heads, 1, false,
               false});
  };
  // T5's encoder stack: self-attention and FFN blocks, then its final norm.
  for (std::uint32_t i = 0; i < a.encoder_layers; ++i) {
    norm(-1, h);
    linear(tensor_class::attention, tensor_role::attn_q, -1, a.q_dim(), h, a.qkv_bias);
    linear(tensor_class::attention, tensor_role::attn_k, -1, a.k_dim(), h, a.qkv_bias);
    linear(tensor_class::attention, tensor_role::attn_v, -1, a.v_dim(), h, a.qkv_bias);
    linear(tensor_class::attention, tensor_role::attn_o, -1, h, a.attn_out_dim(), a.o_bias);
    if (i == 0) relative_bias(-1);
    norm(-1, h);
    ffn(tensor_class::mlp, tensor_role::ffn_gate, tensor_role::ffn_up, tensor_role::ffn_down, -1, a.intermediate, 1);
  }
  if (a.encoder_layers != 0) norm(-1, h);

  const auto block = [&](std::uint32_t i) {
    const auto layer = static_cast<std::int32_t>(i);
    for (std::uint32_t n = 0; n < a.norms_per_layer; ++n) norm(layer, h);
    if (i == 0 && a.encoder_layers != 0) relative_bias(layer);
    if (a.encoder_layers != 0) {
      // Cross-attention over the encoder output (T5LayerCrossAttention).
      norm(layer, h);
      linear(tensor_class::attention, tensor_role::attn_q, layer, a.q_dim(), h, a.qkv_bias);
      linear(tensor_class::attention, tensor_role::attn_k, layer, a.k_dim(), h, a.qkv_bias);
      linear(tensor_class::attention, tensor_role::attn_v, layer, a.v_dim(), h, a.qkv_bias);
      linear(tensor_class::attention, tensor_role::attn_o, layer, h, a.attn_out_dim(), a.o_bias);
    }
    // attention
    if (a.is_mla()) {
      // DeepSeek-V2 (modeling_deepseek.py DeepseekV2Attention): q either direct or
      // through a q_lora_rank bottleneck with its RMSNorm; kv_a_proj_with_mqa maps
      // hidden to kv_lora_rank + rope dims, kv_a_layernorm, kv_b_proj expands to
      // per-head k_nope and v; o_proj from heads * v_head_dim.
      if (a.q_lora_rank == 0) {
        linear(tensor_class::attention, tensor_role::attn_q, layer, a.q_dim(), h, a.qkv_bias);
      } else {
        linear(tensor_class::attention, tensor_role::attn_q_a, layer, a.q_lora_rank, h, a.qkv_bias);
        norm(layer, a.q_lora_rank);
        linear(tensor_class::attention, tensor_role::attn_q_b, layer, a.q_dim(), a.q_lora_rank, false);
      }
      linear(tensor_class::attention, tensor_role::attn_kv_a, layer, std::uint64_t{a.kv_lora_rank} + a.qk_rope_head_dim,
             h, a.qkv_bias);
      norm(layer, a.kv_lora_rank);
      linear(tensor_class::attention, tensor_role::attn_kv_b, layer,
             qmath::detail::checked_mul(a.heads, std::uint64_t{a.qk_nope_head_dim} + a.v_head_dim,
                                 "qmath::models::for_each_tensor", "kv_b_proj rows"),
             a.kv_lora_rank, false);
    } else {
      linear(tensor_class::attention, tensor_role::attn_q, layer, a.q_dim(), h, a.qkv_bias);
      linear(tensor_class::attention, tensor_role::attn_k, layer, a.k_dim(), h, a.qkv_bias);
      linear(tensor_class::attention, tensor_role::attn_v, layer, a.v_dim(), h, a.qkv_bias);
    }
    if (a.qk_norm) {
      norm(layer, a.k_head_dim());
      norm(layer, a.k_head_dim());
    }
    if (a.sub_norms) norm(layer, a.attn_out_dim());
    linear(tensor_class::attention, tensor_role::attn_o, layer, h, a.attn_out_dim(), a.o_bias);
    // FFN
    if (a.is_moe_layer(i)) {
      linear(tensor_class::router, tensor_role::router, layer, a.experts, h, false);
      if (a.router_bias) vec(tensor_class::router, tensor_role::router, layer, a.experts, true);
      ffn(tensor_class::expert, tensor_role::expert_gate, tensor_role::expert_up, tensor_role::expert_down, layer,
          a.expert_intermediate, a.experts);
      if (a.shared_expert_intermediate != 0)
        ffn(tensor_class::mlp, tensor_role::shared_gate, tensor_role::shared_up, tensor_role::shared_down, layer,
            a.shared_expert_intermediate, 1);
      if (a.shared_expert_gate) linear(tensor_class::router, tensor_role::shared_expert_router, layer, 1, h, false);
    } else {
      ffn(tensor_class::mlp, tensor_role::ffn_gate, tensor_role::ffn_up, tensor_role::ffn_down, layer, a.intermediate,
          1);
      if (a.sub_norms) norm(layer, a.intermediate);
    }
  };
  blocks(block);

  if (a.final_norm) norm(-1, h);
  if (a.pooler) linear(tensor_class::other, tensor_role::pooler, -1, h, h, true);
  if (a.kind == model_kind::decoder && !a.tied_embeddings)
    f(tensor{tensor_class::output, tensor_role::output, -1, a.vocab, h, 1, true, false});
}

}  // namespace detail

// Calls f(tensor) for every tensor of the checkpoint, in file order: the
// embeddings, then each block, then the final norm and the LM head. This
// walks every block; the estimators use for_each_tensor_grouped, whose cost
// does not grow with the layer count.
template <class F>
constexpr void for_each_tensor(const architecture& arch, F&& f) {
  detail::walk_tensors(arch, f, [&](const auto& block) {
    for (std::uint32_t i = 0; i < arch.layers; ++i) block(i);
  });
}

// Calls g(first, count) for runs of blocks in [first_block, end_block) that
// every estimator treats alike, in order, first..first+count-1 standing for
// all of them. Blocks differ where a rule depends on the block index:
//  - a MoE model's leading dense blocks (first_dense_layers);
//  - llama-quantize's per-layer types (src/llama-quant.cpp,
//    llama_tensor_get_type_impl, see weights.hpp): i_layer < 2, < 4,
//    < n/16, < n/8 and >= 7n/8 (use_more_bits), and in between
//    (i - n/8) % 3 == 2, so runs there are split by that residue;
//  - up to two cut points of the caller's (the GPU / host split of offload.hpp).
// Sliding-window layers are counted, not grouped (sliding_layers_in).
template <class G>
constexpr void for_each_block_group(const architecture& a, std::uint32_t first_block, std::uint32_t end_block, G&& g,
                                    std::uint32_t cut_a = 0, std::uint32_t cut_b = 0) {
  const std::uint32_t n = a.layers;
  const std::uint32_t middle_begin = n / 8;
  const auto middle_end = static_cast<std::uint32_t>(7 * std::uint64_t{n} / 8);
  // T5's first decoder block alone carries the relative attention bias.
  const std::uint32_t bias_block_end = a.encoder_layers != 0 ? 1 : 0;
  std::array<std::uint32_t, 11> cuts{first_block, end_block, 2, 4, n / 16, middle_begin, middle_end,
                                     a.first_dense_layers, bias_block_end, cut_a, cut_b};
  for (auto& c : cuts) c = c < first_block ? first_block : (c > end_block ? end_block : c);
  std::sort(cuts.begin(), cuts.end());
  for (std::size_t k = 0; k + 1 < cuts.size(); ++k) {
    const std::uint32_t s = cuts[k], e = cuts[k + 1];
    if (s == e) continue;
    if (s >= middle_begin && e <= middle_end) {
      // every third block alike: residues of (i - n/8) mod 3
      for (std::uint32_t r = 0; r < 3 && s + r < e; ++r) g(s + r, (e - (s + r) + 2) / 3);
    } else {
      g(s, e - s);
    }
  }
}

// Calls f(tensor, repeat) for the checkpoint's tensors with alike blocks
// folded: a block's tensors come once per run of for_each_block_group, with
// repeat = the blocks of the run (tensor::layer is the first of them); the
// tensors outside the blocks have repeat 1. A sum of repeat x (something of
// the tensor) equals the sum over for_each_tensor. cut_a and cut_b also end
// runs (blocks on either side of them are told apart).
template <class F>
constexpr void for_each_tensor_grouped(const architecture& arch, F&& f, std::uint32_t cut_a = 0,
                                       std::uint32_t cut_b = 0) {
  std::uint32_t repeat = 1;
  const auto g = [&](const tensor& t) { f(t, repeat); };
  detail::walk_tensors(arch, g, [&](const auto& block) {
    for_each_block_group(
        arch, 0, arch.layers,
        [&](std::uint32_t first, std::uint32_t count) {
          repeat = count;
          block(first);
        },
        cut_a, cut_b);
    repeat = 1;
  });
}

// Total parameters: the sum over the tensor list (tied embeddings counted once,
// as the checkpoint stores them once and as transformers' num_parameters does).
constexpr std::uint64_t architecture::parameters() const {
  std::uint64_t n = 0;
  constexpr const char* api = "qmath::models::architecture::parameters";
  for_each_tensor_grouped(*this, [&](const tensor& t, std::uint32_t repeat) {
    n = qmath::detail::checked_add(n, qmath::detail::checked_mul(t.elements(), repeat, api, "parameter count"), api,
                            "parameter count");
  });
  return n;
}

// Parameters touched per token: routed experts count active_experts of experts.
constexpr std::uint64_t architecture::active_parameters() const {
  std::uint64_t n = 0;
  for_each_tensor_grouped(*this, [&](const tensor& t, std::uint32_t repeat) {
    constexpr const char* api = "qmath::models::architecture::active_parameters";
    const std::uint64_t active = t.cls == tensor_class::expert
                                     ? qmath::detail::checked_mul(t.elements() / t.copies, active_experts, api, "active expert parameters")
                                     : t.elements();
    n = qmath::detail::checked_add(n, qmath::detail::checked_mul(active, repeat, api, "active parameter count"), api,
                            "active parameter count");
  });
  return n;
}

constexpr std::uint64_t architecture::embedding_parameters() const {
  return std::uint64_t{vocab} * hidden;
}

}  // namespace qmath::models

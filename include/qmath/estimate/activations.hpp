#pragma once
// Activation memory for inference (the peak working set of one forward pass)
// and training (what the backward pass keeps per layer), from the
// architecture. Every term is a count of values times their bytes; the
// formulas and their sources are next to each function.
// This header does not include xsimd.

#include <algorithm>
#include <cstdint>

#include "qmath/estimate/breakdown.hpp"
#include "qmath/formats/format_info.hpp"
#include "qmath/formats/table.hpp"
#include "qmath/models/architecture.hpp"

namespace qmath {

// ---- inference ----------------------------------------------------------------

struct inference_activation_config {
  std::uint64_t context = 0;   // KV length the chunk attends to (prompt so far + chunk)
  std::uint64_t batch = 1;     // sequences decoded together
  std::uint64_t ubatch = 512;  // tokens per forward pass (prefill chunk, llama.cpp n_ubatch); 1 = decode
  bool flash_attention = true;
  bool all_logits = false;     // logits for every token of the chunk (HF forward) or one per sequence (generation)
  format_info dtype = info(format_id::f32);  // hidden-state dtype (llama.cpp computes in f32; HF in bf16/fp16)
};

struct inference_activations {
  std::uint64_t residual = 0;   // hidden state and its normed copy for the chunk
  std::uint64_t attention = 0;  // q, k, v, attention output and (without flash attention) the scores
  std::uint64_t ffn = 0;        // FFN intermediates
  std::uint64_t logits = 0;     // fp32 logits
  std::uint64_t peak = 0;       // residual + max(attention, ffn, logits)
};

// Peak of one forward pass over `tokens = min(ubatch, context) x batch` tokens.
// A runtime that reuses buffers between ops (ggml's graph allocator, PyTorch's
// caching allocator freeing each layer's temporaries) holds the residual
// stream plus the largest single stage, not the sum of stages; the stages are
// the attention block, the FFN block and the output head. This is the model
// gguf-parser (file_estimate__llamacpp.go: max(attention, ffn) + output) and
// llm-analysis (inference: max over buffers) use; see
// shared/research/estimators.md. Terms:
//   residual   2 x tokens x hidden                        (input and normed copy)
//   attention  tokens x (q_dim + k_dim + v_dim + attn_out)
//              + without flash attention the f32 scores heads x tokens x kv
//                (llama.cpp's KQ [n_kv, n_tokens, n_head] in f32; FlashAttention
//                tiles them in on-chip memory, Dao et al. 2022)
//   ffn        tokens x intermediate x (3 gated: gate, up, product | 2 ungated);
//              MoE: the active experts' intermediates plus the shared expert
//   logits     n_out x vocab x 4 bytes, n_out = tokens with all_logits, else batch
constexpr inference_activations inference_activation_bytes(const models::architecture& arch,
                                                           const inference_activation_config& c) {
  constexpr const char* api = "qmath::inference_activation_bytes";
  const models::architecture& a = models::validate(arch);
  QMATH_REQUIRE(c.context > 0, api, "context must be positive");
  QMATH_REQUIRE(c.batch > 0, api, "batch must be positive");
  QMATH_REQUIRE(c.ubatch > 0, api, "ubatch must be positive");
  using detail::checked_add;
  using detail::checked_product;
  using detail::checked_sum;
  const std::uint64_t chunk = std::min(c.ubatch, c.context);
  const std::uint64_t tokens = checked_product(api, "tokens per pass", chunk, c.batch);
  const std::uint64_t value = storage_bytes(c.dtype, 1);

  inference_activations r;
  r.residual = checked_product(api, "residual bytes", 2, tokens, a.hidden, value);
  const std::uint64_t qkvo = checked_sum(api, "attention width", a.q_dim(), a.k_dim(), a.v_dim(), a.attn_out_dim());
  r.attention = checked_product(api, "attention bytes", tokens, qkvo, value);
  if (!c.flash_attention)
    r.attention = checked_add(r.attention, checked_product(api, "attention score bytes", a.heads, tokens, c.context, 4),
                              api, "attention bytes");
  const std::uint64_t per_matrix = a.ffn == models::ffn_kind::gated ? 3 : 2;
  std::uint64_t ffn_width = a.intermediate;
  if (a.is_moe())
    ffn_width = std::max<std::uint64_t>(
        checked_add(checked_product(api, "FFN width", a.active_experts, a.expert_intermediate),
                    a.shared_expert_intermediate, api, "FFN width"),
        a.first_dense_layers != 0 ? a.intermediate : 0);
  r.ffn = checked_product(api, "FFN bytes", tokens, ffn_width, per_matrix, value);
  const std::uint64_t n_out = a.kind == models::model_kind::encoder ? 0 : (c.all_logits ? tokens : c.batch);
  r.logits = checked_product(api, "logit bytes", n_out, a.vocab, 4);
  r.peak = checked_add(r.residual, std::max({r.attention, r.ffn, r.logits}), api, "peak bytes");
  return r;
}

// ---- training -----------------------------------------------------------------

enum class recompute : std::uint8_t {
  none,       // keep every activation for the backward pass
  selective,  // recompute the attention scores (Korthikanti et al. 2022, sec. 5)
  full,       // gradient checkpointing per layer: keep each layer's input, recompute the rest
};

struct training_activation_config {
  std::uint64_t sequence = 0;      // s
  std::uint64_t micro_batch = 1;   // b
  recompute mode = recompute::none;
  bool flash_attention = false;    // FlashAttention keeps no s x s tensors
  bool dropout = true;             // attention / hidden dropout masks (1 byte per value); most LLM
                                   // recipes train with dropout 0, which drops these terms
  format_info dtype = info(format_id::bf16);  // activation dtype (2 bytes in Korthikanti's count)
};

struct training_activations {
  std::uint64_t per_layer = 0;   // one layer's stored activations without recompute
  std::uint64_t layers = 0;      // what all layers keep under the recompute mode
  std::uint64_t working_set = 0; // full recompute: one layer's activations rebuilt during backward
  std::uint64_t logits = 0;      // LM head output and the fp32 loss tensors
  std::uint64_t total = 0;
};

// Stored activations of one transformer layer for the backward pass,
// generalising Korthikanti et al. 2022 ("Reducing Activation Recomputation in
// Large Transformer Models", sec. 4.1, eq. 1): with 2-byte values and 1-byte
// dropout masks, a GPT layer (MHA, FFN 4h, GELU, LayerNorm, dropout) keeps
//   attention: 2sbh (QKV input) + 4sbh (Q, K) + 2as²b (softmax) + as²b (mask)
//              + 2as²b (dropout out) + 2sbh (V) + 2sbh (proj input) + sbh (mask)
//            = 11sbh + 5as²b
//   MLP:       2sbh (input) + 8sbh (GELU input) + 8sbh (GELU output) + sbh (mask) = 19sbh
//   norms:     2 x 2sbh = 4sbh
//   total      sbh (34 + 5as/h)
// Here Q, K, V and the projection input use their own widths (GQA, MLA,
// head_dim), a gated FFN keeps its input, gate, up, activation and product
// (2sbh + 4 x 2sbI), MoE layers keep top-k expert intermediates for each
// token, and the masks follow `dropout`. FlashAttention (Dao et al. 2022)
// keeps the output and the fp32 log-sum-exp (4abs) instead of the s² terms.
constexpr std::uint64_t training_layer_activation_bytes(const models::architecture& arch,
                                                        const training_activation_config& c,
                                                        bool keep_scores) {
  constexpr const char* api = "qmath::training_layer_activation_bytes";
  constexpr const char* q = "layer activation bytes";
  const auto mul = [&](auto... factors) { return detail::checked_product(api, q, factors...); };
  const models::architecture& a = arch;
  const std::uint64_t v = storage_bytes(c.dtype, 1);
  const std::uint64_t sb = mul(c.sequence, c.micro_batch);
  const std::uint64_t mask = c.dropout ? 1 : 0;
  const std::uint64_t h = a.hidden;
  // attention block
  std::uint64_t bytes = detail::checked_sum(
      api, q,
      mul(sb, h, v),                                                              // QKV input
      mul(sb, detail::checked_sum(api, q, a.q_dim(), a.k_dim(), a.v_dim()), v),  // Q, K, V
      mul(sb, a.attn_out_dim(), v),                                               // output-projection input
      mul(sb, h, mask));                                                          // attention output dropout mask
  if (c.flash_attention) {
    bytes = detail::checked_add(bytes, mul(a.heads, sb, 4), api, q);  // log-sum-exp, fp32
  } else if (keep_scores) {
    const std::uint64_t scores = mul(a.heads, c.sequence, c.sequence, c.micro_batch);
    // softmax, mask, dropout output
    bytes = detail::checked_sum(api, q, bytes, mul(scores, v), mul(scores, mask), c.dropout ? mul(scores, v) : 0);
  }
  // FFN block
  std::uint64_t width = a.intermediate;
  if (a.is_moe())
    width = detail::checked_add(mul(a.active_experts, a.expert_intermediate), a.shared_expert_intermediate, api, q);
  const std::uint64_t ffn_values = a.ffn == models::ffn_kind::gated ? 4 : 2;
  bytes = detail::checked_sum(api, q, bytes, mul(sb, h, v), mul(sb, width, ffn_values, v), mul(sb, h, mask));
  // norms: the inputs of the layer's norms
  return detail::checked_add(bytes, mul(a.norms_per_layer, sb, h, v), api, q);
}

// Activations a training step keeps: per layer as above (selective recompute
// drops the s² terms, Korthikanti sec. 5: 34sbh per layer); full recompute
// keeps each layer's input (2sbh per layer) and rebuilds one layer at a time
// (Chen et al. 2016; Korthikanti sec. 4.2.1). Logits and loss (transformers'
// ForCausalLMLoss upcasts the logits to fp32 before cross_entropy, which keeps
// an fp32 log-softmax for backward): s x b x vocab x (dtype + 4 + 4) bytes.
constexpr training_activations training_activation_bytes(const models::architecture& arch,
                                                         const training_activation_config& c) {
  constexpr const char* api = "qmath::training_activation_bytes";
  const models::architecture& a = models::validate(arch);
  QMATH_REQUIRE(c.sequence > 0, api, "sequence length must be positive");
  QMATH_REQUIRE(c.micro_batch > 0, api, "micro batch must be positive");
  using detail::checked_product;
  const std::uint64_t v = storage_bytes(c.dtype, 1);
  const std::uint64_t sb = checked_product(api, "tokens per micro-batch", c.sequence, c.micro_batch);

  training_activations r;
  r.per_layer = training_layer_activation_bytes(a, c, true);
  switch (c.mode) {
    case recompute::none: r.layers = checked_product(api, "activation bytes", r.per_layer, a.layers); break;
    case recompute::selective:
      r.layers = checked_product(api, "activation bytes", training_layer_activation_bytes(a, c, false), a.layers);
      break;
    case recompute::full:
      r.layers = checked_product(api, "checkpointed activation bytes", sb, a.hidden, v, a.layers);
      r.working_set = r.per_layer;
      break;
  }
  const std::uint64_t out_values =
      a.kind == models::model_kind::encoder ? 0 : checked_product(api, "logit values", sb, a.vocab);
  r.logits = checked_product(api, "logit bytes", out_values, v + 4 + 4);
  r.total = detail::checked_sum(api, "activation bytes", r.layers, r.working_set, r.logits);
  return r;
}

constexpr memory_breakdown training_activation_memory(const models::architecture& a,
                                                      const training_activation_config& c) {
  memory_breakdown m;
  m.activations = training_activation_bytes(a, c).total;
  return m;
}

constexpr memory_breakdown inference_activation_memory(const models::architecture& a,
                                                       const inference_activation_config& c) {
  memory_breakdown m;
  m.activations = inference_activation_bytes(a, c).peak;
  return m;
}

}  // namespace qmath

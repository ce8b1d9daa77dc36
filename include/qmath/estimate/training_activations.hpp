#pragma once
// The activation ledger of a transformers training step: the tensors autograd
// saves in the forward pass for the backward pass, listed per layer, with the
// rule that decides whether each one is saved. Checked against real autograd
// (tests/torch/measure_saved_tensors.py, torch.autograd.graph.saved_tensors_hooks,
// storages deduplicated) for BERT, Llama and Qwen2 shapes, eager and SDPA
// attention, dropout on and off, gradient checkpointing, full fine-tuning,
// LoRA and QLoRA: tests/data/training_activations/saved_tensors.csv, and
// docs/training.md for the ledger in words.
//
// Two rules carry most of it:
//  - autograd saves an operand only for a gradient it will compute: a frozen
//    nn.Linear (LoRA's base, bitsandbytes' Linear4bit, whose MatMul4Bit keeps
//    ctx.tensors = (None, B)) saves no input, and nothing upstream of the
//    first trainable tensor saves anything (layer 0 of LoRA without
//    checkpointing: its first norm and k_proj keep nothing);
//  - one storage is one allocation: q, k and v projections share the saved
//    norm output; a no-op cast (.to() of a tensor already in that dtype)
//    shares its source; the fused attention output is the o_proj input.
// Values are per token of the micro-batch (s x b tokens) unless they say s^2.
// This header does not include xsimd.

#include <cstdint>
#include <initializer_list>

#include "qmath/detail/checked.hpp"
#include "qmath/error.hpp"
#include "qmath/estimate/lora.hpp"
#include "qmath/formats/table.hpp"
#include "qmath/models/architecture.hpp"

namespace qmath {

enum class finetune_method : std::uint8_t {
  full,   // every parameter trains
  lora,   // frozen 16-bit base + LoRA adapters
  qlora,  // frozen 4-bit base (bitsandbytes NF4/FP4) + LoRA adapters
};

// The attention implementation (transformers' attn_implementation).
enum class attention_impl : std::uint8_t {
  // eager_attention_forward (modeling_llama.py, modeling_bert.py): q k^T,
  // softmax, dropout and p v as separate autograd ops; keeps s^2 tensors.
  eager,
  // torch.nn.functional.scaled_dot_product_attention: a fused kernel keeps
  // q, k, v, the output and the fp32 log-sum-exp (heads per token). On CUDA
  // the flash and memory-efficient kernels apply dropout inside the kernel
  // (they keep the Philox seed and offset, 16 B); on the CPU the fused kernel
  // has no dropout and SDPA falls back to its math path (see below).
  sdpa,
  // flash_attention_2 (flash-attn): q, k, v, out and softmax_lse, like the
  // fused SDPA kernels, with dropout regenerated from the RNG state. Derived
  // from the SDPA path (flash-attn does not run on the CPU): the same ledger.
  flash,
};

// The device the autograd graph lives on, where saved tensors differ:
//  - dropout: on CUDA at::dropout calls the fused native_dropout, which keeps a
//    bool mask (1 B); elsewhere (is_fused_kernel_acceptable in ATen's
//    Dropout.cpp) it multiplies by a noise tensor of the input's dtype and
//    keeps that (2 or 4 B);
//  - SDPA with dropout on the CPU runs _scaled_dot_product_attention_math,
//    which upcasts 16-bit q, k, v to float32 and repeats k and v to every head;
//  - LayerNorm's saved mean and rstd are float32 on CUDA for 16-bit inputs
//    (the accumulate type), the input dtype on the CPU.
enum class autograd_device : std::uint8_t { cuda, cpu };

struct activation_ledger_config {
  std::uint64_t sequence = 0;     // s
  std::uint64_t micro_batch = 1;  // b
  attention_impl attention = attention_impl::sdpa;
  // p > 0 on every dropout the model has (BERT's hidden and attention dropout,
  // Llama/Qwen's attention_dropout) and LoRA's lora_dropout; false: all p = 0,
  // which keeps nothing (nn.Dropout(0) returns its input).
  bool dropout = false;
  // transformers gradient_checkpointing_enable: each block keeps its input
  // hidden state only; enable_input_require_grads makes the embedding output
  // require grad when the embeddings are frozen (LoRA).
  bool gradient_checkpointing = false;
  finetune_method method = finetune_method::full;
  lora_config lora{};  // lora / qlora only
  // dtype of the activations: the model dtype for full and LoRA training;
  // QLoRA after PEFT's prepare_model_for_kbit_training runs in float32 (the
  // norms are upcast, so their outputs and everything after them are f32).
  format_id dtype = format_id::bf16;
  autograd_device device = autograd_device::cuda;
  std::uint32_t num_labels = 2;  // encoder: the sequence-classification head
};

struct activation_ledger {
  std::uint64_t embeddings = 0;  // embedding block: indices, BERT's embedding LayerNorm and dropout
  std::uint64_t layers = 0;      // all blocks (with checkpointing: their input hidden states)
  std::uint64_t rope = 0;        // rotary cos and sin, shared by every layer
  std::uint64_t head = 0;        // final norm, LM head and loss, or BERT's pooler, classifier and loss
  std::uint64_t saved = 0;       // what autograd keeps after the forward pass
  std::uint64_t per_layer = 0;   // one middle block's saved tensors without checkpointing
  std::uint64_t recompute = 0;   // checkpointing: the block rebuilt during backward
  std::uint64_t peak = 0;        // saved + recompute
};

namespace detail {

inline constexpr const char* ledger_api = "qmath::activation_ledger";

// Byte sum of one saved-tensor group with overflow checks.
struct ledger_sum {
  std::uint64_t bytes = 0;
  constexpr void add(std::uint64_t b) { bytes = checked_add(bytes, b, ledger_api, "saved activation bytes"); }
};

struct ledger_ctx {
  const models::architecture& a;
  const activation_ledger_config& c;
  std::uint64_t v;       // activation bytes
  std::uint64_t tokens;  // s x b

  constexpr bool full() const noexcept { return c.method == finetune_method::full; }
  constexpr std::uint64_t mask_bytes(std::uint64_t dtype_bytes) const noexcept {
    return c.device == autograd_device::cuda ? 1 : dtype_bytes;
  }
  constexpr std::uint64_t ln_stat_bytes() const noexcept { return c.device == autograd_device::cuda ? 4 : v; }
  // bytes of `per_token` values of `bytes` each for every token
  constexpr std::uint64_t tok(std::uint64_t per_token, std::uint64_t bytes) const {
    return checked_product(ledger_api, "saved activation bytes", tokens, per_token, bytes);
  }
  // s^2 attention tensors: heads x s x (s x b) values
  constexpr std::uint64_t scores(std::uint64_t bytes) const {
    return checked_product(ledger_api, "attention scores bytes", a.heads, c.sequence, tokens, bytes);
  }
  constexpr bool has_lora(models::tensor_role role) const noexcept {
    if (full()) return false;
    return c.lora.targets.has(lora_target::all_linear) || lora_targets_role(c.lora, role);
  }
  constexpr bool math_attention() const noexcept {
    return c.attention == attention_impl::sdpa && c.dropout && c.device == autograd_device::cpu;
  }
};

// A LoRA module on an input of `in` values per token (PEFT lora.Linear.forward:
// x = x.to(lora_A.dtype); lora_B(lora_A(dropout(x))) * scaling):
//   dropout: the mask (when the input requires grad) and the dropout output
//   no dropout: the cast copy, or the input itself when the dtypes match
//   (`shared_input_saved` tells the caller to count its input storage once)
//   lora_A's output (r values), the input lora_B keeps for its weight grad.
constexpr void lora_module(const ledger_ctx& x, ledger_sum& sum, std::uint64_t in, bool input_requires_grad,
                           bool& shared_input_saved) {
  const std::uint64_t adapter = storage_bytes(info(x.c.lora.adapter_dtype), 1);
  if (x.c.dropout) {
    if (input_requires_grad) sum.add(x.tok(in, x.mask_bytes(adapter)));
    sum.add(x.tok(in, adapter));
  } else if (adapter == x.v) {
    shared_input_saved = true;
  } else {
    sum.add(x.tok(in, adapter));
  }
  sum.add(x.tok(x.c.lora.rank, adapter));
}

struct attention_result {
  bool requires_grad = false;
  bool output_saved = false;  // fused kernels keep their output, which is the o_proj input
};

// q, k, v -> attention output, by implementation.
constexpr attention_result attention(const ledger_ctx& x, ledger_sum& sum, bool q_rg, bool k_rg, bool v_rg) {
  const models::architecture& a = x.a;
  attention_result r;
  r.requires_grad = q_rg || k_rg || v_rg;
  if (!r.requires_grad) return r;
  if (!x.math_attention() && x.c.attention != attention_impl::eager) {
    // fused: q, k, v (k and v at their kv-head width: transformers passes
    // enable_gqa without a mask), output, float32 log-sum-exp
    for (const std::uint64_t width : {a.q_dim(), a.k_dim(), a.v_dim(), a.attn_out_dim()}) sum.add(x.tok(width, x.v));
    sum.add(x.tok(a.heads, 4));
    r.output_saved = true;
    return r;
  }
  // eager and SDPA's math path: matmul(q, k^T) keeps q for k's gradient and
  // k (repeated to every head, repeat_kv) for q's; softmax keeps its output;
  // dropout its mask; matmul(p, v) keeps p for v's gradient and v (repeated)
  // for p's. The math path computes in float32.
  const bool math = x.math_attention();
  const std::uint64_t e = math ? 4 : x.v;
  // Llama/Qwen's eager softmax runs in float32 (softmax(..., dtype=float32)
  // then .to(query.dtype)); BERT's in the activation dtype.
  const std::uint64_t softmax_bytes = math || a.kind == models::model_kind::decoder ? 4 : x.v;
  const std::uint64_t p_bytes = e;
  const bool s_rg = q_rg || k_rg;
  const std::uint64_t heads = a.heads;
  if (k_rg) sum.add(x.tok(a.q_dim(), e));
  if (q_rg) sum.add(x.tok(heads * a.k_head_dim(), e));
  if (s_rg) sum.add(x.scores(softmax_bytes));
  if (x.c.dropout) {
    if (s_rg) sum.add(x.scores(x.mask_bytes(p_bytes)));
    if (v_rg) sum.add(x.scores(p_bytes));
  } else if (v_rg && p_bytes != softmax_bytes) {
    sum.add(x.scores(p_bytes));  // the cast copy of the probabilities
  }
  if (s_rg) sum.add(x.tok(heads * a.value_head_dim(), e));
  return r;
}

// Llama/Qwen RMSNorm (modeling_llama.py LlamaRMSNorm): hidden.to(float32),
// pow, mean, rsqrt, multiply, .to(input dtype), times weight. Keeps the
// float32 input and rsqrt when the input requires grad and the normalised
// value when the weight trains. LayerNorm (native_layer_norm) keeps input,
// mean and rstd when anything needs its gradient.
constexpr void norm(const ledger_ctx& x, ledger_sum& sum, bool input_rg, bool trainable) {
  if (x.a.norm == models::norm_kind::rms) {
    if (input_rg) sum.add(x.tok(x.a.hidden, 4) + x.tok(1, 4));
    if (trainable) sum.add(x.tok(x.a.hidden, x.v));
  } else if (input_rg || trainable) {
    sum.add(x.tok(x.a.hidden, x.v) + x.tok(2, x.ln_stat_bytes()));
  }
}

// FFN width of a block (MoE: the active experts' and shared intermediates).
constexpr std::uint64_t ledger_ffn_width(const models::architecture& a, std::uint32_t layer) {
  if (!a.is_moe_layer(layer)) return a.intermediate;
  return std::uint64_t{a.active_experts} * a.expert_intermediate + a.shared_expert_intermediate;
}

// FFN on an input of hidden values; returns whether its output requires grad.
// Gated (SwiGLU): gate, up, act = silu(gate), act * up, down(act * up).
// Ungated (GELU MLP): up, gelu(up), down(gelu).
constexpr bool ffn(const ledger_ctx& x, ledger_sum& sum, std::uint32_t layer, bool in_rg, bool& input_saved) {
  const std::uint64_t width = ledger_ffn_width(x.a, layer);
  const bool full = x.full();
  if (full) input_saved = true;
  using models::tensor_role;
  bool down_in_saved = full;
  bool mid_rg = false;
  if (x.a.ffn == models::ffn_kind::gated) {
    if (x.has_lora(tensor_role::ffn_gate)) lora_module(x, sum, x.a.hidden, in_rg, input_saved);
    if (x.has_lora(tensor_role::ffn_up)) lora_module(x, sum, x.a.hidden, in_rg, input_saved);
    const bool g_rg = in_rg || full || x.has_lora(tensor_role::ffn_gate);
    const bool u_rg = in_rg || full || x.has_lora(tensor_role::ffn_up);
    if (g_rg) sum.add(x.tok(width, x.v));  // silu's input (gate)
    if (u_rg) sum.add(x.tok(width, x.v));  // silu's output, for up's gradient
    if (g_rg) sum.add(x.tok(width, x.v));  // up, for the activation's gradient
    mid_rg = g_rg || u_rg;
  } else {
    if (x.has_lora(tensor_role::ffn_up)) lora_module(x, sum, x.a.hidden, in_rg, input_saved);
    mid_rg = in_rg || full || x.has_lora(tensor_role::ffn_up);
    if (mid_rg) sum.add(x.tok(width, x.v));  // gelu's input
  }
  if (x.has_lora(tensor_role::ffn_down)) lora_module(x, sum, width, mid_rg, down_in_saved);
  if (down_in_saved) sum.add(x.tok(width, x.v));  // down's input (the product / gelu output)
  return mid_rg || full || x.has_lora(tensor_role::ffn_down);
}

// q, k and v projections of one saved input; returns their requires-grad flags.
struct qkv_flags {
  bool q, k, v;
};
constexpr qkv_flags qkv(const ledger_ctx& x, ledger_sum& sum, bool in_rg, bool& input_saved) {
  using models::tensor_role;
  if (x.full()) input_saved = true;
  for (tensor_role r : {tensor_role::attn_q, tensor_role::attn_k, tensor_role::attn_v})
    if (x.has_lora(r)) lora_module(x, sum, x.a.hidden, in_rg, input_saved);
  const bool base = in_rg || x.full();
  return {base || x.has_lora(tensor_role::attn_q), base || x.has_lora(tensor_role::attn_k),
          base || x.has_lora(tensor_role::attn_v)};
}

// The o projection on the attention output; returns whether its output requires grad.
constexpr bool o_proj(const ledger_ctx& x, ledger_sum& sum, const attention_result& att) {
  bool input_saved = x.full();
  if (x.has_lora(models::tensor_role::attn_o))
    lora_module(x, sum, x.a.attn_out_dim(), att.requires_grad, input_saved);
  if (input_saved && !att.output_saved) sum.add(x.tok(x.a.attn_out_dim(), x.v));
  return att.requires_grad || x.full() || x.has_lora(models::tensor_role::attn_o);
}

// A pre-norm decoder block (Llama, Qwen2): x + attn(norm1(x)), then + ffn(norm2(.)).
constexpr bool decoder_block(const ledger_ctx& x, ledger_sum& sum, std::uint32_t layer, bool x_rg, bool& rope_saved) {
  const bool full = x.full();
  norm(x, sum, x_rg, full);
  const bool n1_rg = x_rg || full;
  bool n1_saved = false;
  const qkv_flags f = qkv(x, sum, n1_rg, n1_saved);
  if (n1_saved) sum.add(x.tok(x.a.hidden, x.v));
  if (x.a.learned_positions == 0 && (f.q || f.k)) rope_saved = true;  // q * cos + rotate_half(q) * sin keeps cos, sin
  const attention_result att = attention(x, sum, f.q, f.k, f.v);
  const bool o_rg = o_proj(x, sum, att);
  const bool r1_rg = x_rg || o_rg;
  norm(x, sum, r1_rg, full);
  const bool n2_rg = r1_rg || full;
  bool n2_saved = false;
  const bool ffn_rg = ffn(x, sum, layer, n2_rg, n2_saved);
  if (n2_saved) sum.add(x.tok(x.a.hidden, x.v));
  return r1_rg || ffn_rg;
}

// A post-norm encoder block (BERT): LN1(x + dropout(o(attn(x)))), then
// LN2(. + dropout(ffn(.))). Its input is the previous LayerNorm's output.
constexpr bool encoder_block(const ledger_ctx& x, ledger_sum& sum, std::uint32_t layer, bool x_rg) {
  const bool full = x.full();
  bool x_saved = false;
  const qkv_flags f = qkv(x, sum, x_rg, x_saved);
  if (x_saved) sum.add(x.tok(x.a.hidden, x.v));
  const attention_result att = attention(x, sum, f.q, f.k, f.v);
  const bool o_rg = o_proj(x, sum, att);
  if (x.c.dropout && o_rg) sum.add(x.tok(x.a.hidden, x.mask_bytes(x.v)));
  const bool r1_rg = x_rg || o_rg;
  norm(x, sum, r1_rg, full);
  const bool n1_rg = r1_rg || full;
  bool n1_saved = false;
  const bool ffn_rg = ffn(x, sum, layer, n1_rg, n1_saved);
  if (n1_saved) sum.add(x.tok(x.a.hidden, x.v));
  if (x.c.dropout && ffn_rg) sum.add(x.tok(x.a.hidden, x.mask_bytes(x.v)));
  const bool r2_rg = ffn_rg || n1_rg;
  norm(x, sum, r2_rg, full);
  return r2_rg || full;
}

constexpr bool block(const ledger_ctx& x, ledger_sum& sum, std::uint32_t layer, bool x_rg, bool& rope_saved) {
  return x.a.kind == models::model_kind::encoder ? encoder_block(x, sum, layer, x_rg)
                                                 : decoder_block(x, sum, layer, x_rg, rope_saved);
}

}  // namespace detail

// The ledger of one training forward pass of `arch` under `cfg`.
constexpr activation_ledger activation_ledger_of(const models::architecture& arch,
                                                 const activation_ledger_config& cfg) {
  using namespace detail;
  const models::architecture& a = models::validate(arch);
  QMATH_REQUIRE(cfg.sequence > 0, ledger_api, "sequence length must be positive");
  QMATH_REQUIRE(cfg.micro_batch > 0, ledger_api, "micro batch must be positive");
  QMATH_REQUIRE(info(cfg.dtype).family == format_family::floating_point && info(cfg.dtype).block_elems == 1,
                ledger_api, "activation dtype ", info(cfg.dtype).name, " is not a plain floating-point type");
  if (cfg.method != finetune_method::full) (void)validate(cfg.lora);
  const ledger_ctx x{a, cfg, storage_bytes(info(cfg.dtype), 1),
                     checked_mul(cfg.sequence, cfg.micro_batch, ledger_api, "tokens per micro-batch")};
  const bool full = x.full();
  const bool encoder = a.kind == models::model_kind::encoder;
  activation_ledger r;

  // embeddings: the int64 indices when the tables train. BERT sums word,
  // position and token-type embeddings (input_ids [b, s], position ids
  // [1, s]; token_type_ids are a slice of a registered buffer, weights'
  // memory) into a LayerNorm and dropout.
  ledger_sum emb;
  const bool input_rg = full || cfg.gradient_checkpointing;  // enable_input_require_grads under checkpointing
  if (full) {
    emb.add(x.tok(1, 8));
    if (a.learned_positions != 0) emb.add(checked_mul(cfg.sequence, 8, ledger_api, "position id bytes"));
  }
  if (a.embedding_norm) {
    detail::norm(x, emb, input_rg, full);
    if (cfg.dropout && input_rg) emb.add(x.tok(a.hidden, x.mask_bytes(x.v)));
  }
  r.embeddings = emb.bytes;

  // blocks
  ledger_sum layers;
  bool rg = input_rg;
  bool rope_saved = false;
  if (cfg.gradient_checkpointing) {
    // the checkpoint keeps each block's input
    layers.add(checked_mul(x.tok(a.hidden, x.v), a.layers, ledger_api, "saved activation bytes"));
  } else {
    // Runs of alike blocks (for_each_block_group) are summed, not walked, so
    // a hostile layer count costs nothing. A block's bytes depend on its kind
    // and on whether its input requires grad; that flag only ever turns on,
    // so within a run at most the first block differs from the rest, and the
    // first block of the first run to turn it on is the lowest such layer.
    models::for_each_block_group(a, 0, a.layers, [&](std::uint32_t first, std::uint32_t count) {
      ledger_sum one;
      const bool before = rg;
      rg = block(x, one, first, rg, rope_saved) || rg;
      layers.add(one.bytes);
      if (count == 1) return;
      if (rg != before) {
        one = {};
        rg = block(x, one, first, rg, rope_saved) || rg;
      }
      layers.add(checked_mul(one.bytes, count - 1, ledger_api, "saved activation bytes"));
    });
  }
  r.layers = layers.bytes;
  {
    ledger_sum one;
    bool unused = false;
    (void)block(x, one, a.layers / 2, true, unused);
    r.per_layer = one.bytes;
  }
  if (cfg.gradient_checkpointing) r.recompute = r.per_layer;
  if (rope_saved)
    r.rope = checked_product(ledger_api, "rotary table bytes", 2, cfg.sequence, a.k_head_dim(), x.v);

  // head
  ledger_sum head;
  if (encoder) {
    // BertPooler: dense(hidden[:, 0]) -> tanh; dropout; classifier; cross entropy.
    const std::uint64_t b = cfg.micro_batch;
    const std::uint64_t h = a.hidden;
    bool pool_rg = rg || full;
    if (a.pooler) {
      if (full) head.add(x.tok(h, x.v));  // the slice keeps the whole last hidden state alive
      if (x.has_lora(models::tensor_role::pooler)) {
        const std::uint64_t adapter = storage_bytes(info(cfg.lora.adapter_dtype), 1);
        if (cfg.dropout) {
          if (rg) head.add(checked_product(ledger_api, "pooler bytes", b, h, x.mask_bytes(adapter)));
          head.add(checked_product(ledger_api, "pooler bytes", b, h, adapter));
        } else if (adapter == x.v) {
          if (!full) head.add(x.tok(h, x.v));
        } else {
          head.add(checked_product(ledger_api, "pooler bytes", b, h, adapter));
        }
        head.add(checked_product(ledger_api, "pooler bytes", b, cfg.lora.rank, adapter));
        pool_rg = true;
      }
      if (pool_rg) head.add(checked_product(ledger_api, "pooler bytes", b, h, x.v));  // tanh output
    }
    if (cfg.dropout && pool_rg) {
      head.add(checked_product(ledger_api, "pooler bytes", b, h, x.mask_bytes(x.v)));
      head.add(checked_product(ledger_api, "pooler bytes", b, h, x.v));  // the classifier's input
    } else if (!a.pooler) {
      head.add(checked_product(ledger_api, "pooler bytes", b, h, x.v));
    }
    // log_softmax output, targets (int64), total_weight
    head.add(checked_product(ledger_api, "loss bytes", b, cfg.num_labels, x.v) + 8 * b + x.v);
  } else {
    detail::norm(x, head, rg, full);
    if (full) head.add(x.tok(a.hidden, x.v));  // lm_head's input
    // ForCausalLMLoss: logits.float(), labels padded by one and shifted,
    // cross_entropy: log_softmax keeps its float32 output, nll_loss the
    // int64 targets (the padded storage: b x (s + 1)) and a total_weight.
    head.add(x.tok(a.vocab, 4));
    head.add(checked_product(ledger_api, "label bytes", cfg.micro_batch, cfg.sequence + 1, 8) + 4);
  }
  r.head = head.bytes;

  ledger_sum total;
  total.add(r.embeddings);
  total.add(r.layers);
  total.add(r.rope);
  total.add(r.head);
  r.saved = total.bytes;
  r.peak = checked_add(r.saved, r.recompute, ledger_api, "peak activation bytes");
  return r;
}

}  // namespace qmath

#pragma once
// Training state: gradients, optimizer state and master weights of the
// trainable parameters, for full fine-tuning, LoRA and QLoRA.
//
// The bytes per trainable parameter are a composition, not a constant:
//   weights in the compute dtype (counted by the weights estimate)
// + master copy: 4 B when the compute dtype is 16-bit and master weights are kept
// + gradients:   bytes of the gradient dtype
// + fp32 gradient copy: 4 B where the framework keeps one (DeepSpeed ZeRO's
//   fp32 gradient partition, Megatron's main_grad)
// + optimizer state (see optimizer_state_bytes)
// HF's "mixed precision AdamW = 18 B/param" (transformers docs
// model_memory_anatomy.md: 6 weights + 4 gradients + 8 optimizer) is
// bf16 compute + fp32 master + fp32 gradients + AdamW; DeepSpeed's 2 + 18 B
// (stage_1_and_2.py estimate_zero2_model_states_mem_needs comment) is
// fp16 compute + fp16 gradients + fp32 gradient copy + fp32 master + AdamW.
//
// Gradient accumulation adds no memory: the gradient buffer above is summed
// into micro-batch after micro-batch; it multiplies the time per optimizer
// step only. This header does not include xsimd.

#include <algorithm>
#include <cstdint>

#include "qmath/error.hpp"
#include "qmath/estimate/activations.hpp"
#include "qmath/estimate/breakdown.hpp"
#include "qmath/estimate/lora.hpp"
#include "qmath/estimate/training_activations.hpp"
#include "qmath/formats/table.hpp"
#include "qmath/models/architecture.hpp"

namespace qmath {

enum class optimizer_kind : std::uint8_t {
  adamw,             // torch.optim.AdamW: exp_avg + exp_avg_sq, each zeros_like(param)
  adamw_8bit,        // bitsandbytes AdamW8bit, block-wise
  paged_adamw,       // bitsandbytes PagedAdamW (32-bit states in CUDA unified memory)
  paged_adamw_8bit,  // bitsandbytes PagedAdamW8bit
  sgd,               // plain SGD: no state
  sgd_momentum,      // SGD with momentum: one momentum_buffer per parameter
  adafactor,         // transformers.optimization.Adafactor, beta1=None (its default)
};

constexpr bool is_paged(optimizer_kind o) noexcept {
  return o == optimizer_kind::paged_adamw || o == optimizer_kind::paged_adamw_8bit;
}

struct training_config {
  finetune_method method = finetune_method::full;
  optimizer_kind optimizer = optimizer_kind::adamw;
  format_id compute_dtype = format_id::bf16;   // dtype of the trainable weights in forward/backward
  bool master_weights = true;                  // fp32 master copy when compute_dtype is 16-bit
  format_id gradient_dtype = format_id::f32;   // full fine-tuning; adapters' gradients take the adapter dtype
  bool fp32_gradient_copy = false;             // DeepSpeed / Megatron fp32 gradient buffer
  bool gradient_checkpointing = false;         // full activation recompute, layer by layer
  attention_impl attention = attention_impl::sdpa;  // transformers' attn_implementation (its default: sdpa)
  bool dropout = false;                        // dropout p > 0 (model config and lora_dropout); most LLM recipes use 0
  std::uint32_t gradient_accumulation_steps = 1;  // micro-batches per optimizer step (the plan's batch is one)
  lora_config lora{};                          // lora / qlora only
  // PEFT prepare_model_for_kbit_training (peft/utils/other.py) casts every
  // fp16/bf16 parameter that is not a Params4bit (embeddings, norms, biases,
  // LM head) to fp32 for stability; on by default for QLoRA.
  bool upcast_unquantized_to_fp32 = true;
  // Paged optimizers allocate their state with cudaMallocManaged, which the
  // driver evicts to host RAM page by page when the GPU runs short. false
  // (default): count that state on the GPU, the amount it occupies while it
  // fits; true: count it in host RAM, the most the GPU can shed.
  bool paged_state_on_host = false;
};

namespace training_presets {
// transformers docs (model_memory_anatomy.md): 18 B/param mixed-precision AdamW.
inline constexpr training_config mixed_precision_adamw{};
// DeepSpeed fp16 ZeRO: 2 (fp16 params) + 2 (fp16 grads) + 4 (fp32 grads) + 4 (fp32 params) + 8 (Adam) = 20 B.
inline constexpr training_config deepspeed_fp16_adamw{.compute_dtype = format_id::f16,
                                                      .gradient_dtype = format_id::f16,
                                                      .fp32_gradient_copy = true};
// Pure fp32: 4 + 4 + 8 = 16 B/param.
inline constexpr training_config fp32_adamw{.compute_dtype = format_id::f32, .master_weights = false,
                                            .gradient_dtype = format_id::f32};
// QLoRA (Dettmers et al. 2023; artidoro/qlora qlora.py defaults: paged_adamw_32bit,
// gradient checkpointing, LoRA on all linear layers).
inline constexpr training_config qlora{.method = finetune_method::qlora,
                                       .optimizer = optimizer_kind::paged_adamw,
                                       .master_weights = false,
                                       .gradient_checkpointing = true,
                                       .lora = {.rank = 64, .targets = lora_presets::all_linear}};
}  // namespace training_presets

constexpr std::uint64_t dtype_bytes(format_id f) {
  const format_info& i = info(f);
  QMATH_REQUIRE(i.family == format_family::floating_point && i.block_elems == 1, "qmath::dtype_bytes", i.name,
                " is not a plain floating-point dtype");
  return i.block_bits / 8;
}

constexpr const training_config& validate(const training_config& t) {
  constexpr const char* api = "qmath::training_config";
  QMATH_REQUIRE(t.gradient_accumulation_steps > 0, api, "gradient accumulation steps must be positive");
  (void)dtype_bytes(t.compute_dtype);
  (void)dtype_bytes(t.gradient_dtype);
  if (t.method != finetune_method::full) (void)validate(t.lora);
  return t;
}

// Bytes per element of the optimizer's own state buffers. torch optimizers
// create them zeros_like(param) of the parameter they update: the fp32 master
// when there is one, else the compute dtype; LoRA updates the adapters.
constexpr std::uint64_t optimizer_element_bytes(const training_config& t) {
  if (t.method != finetune_method::full) return t.master_weights ? 4 : dtype_bytes(t.lora.adapter_dtype);
  return (t.master_weights && t.compute_dtype != format_id::f32) ? 4 : dtype_bytes(t.compute_dtype);
}

// Optimizer state of one trainable matrix of rows x cols (x copies).
//   AdamW:        2 states x n x element bytes
//   8-bit AdamW:  bitsandbytes Optimizer2State.init_state (optim/optimizer.py):
//                 tensors under min_8bit_size = 4096 elements keep two fp32
//                 states; larger ones two uint8 states plus one fp32 absmax per
//                 2048-element block per state: 2 n + 2 * 4 * ceil(n / 2048)
//   SGD momentum: 1 state x n
//   Adafactor:    transformers Adafactor._get_options/step: a matrix keeps
//                 exp_avg_sq_row [rows] and exp_avg_sq_col [cols] (factored),
//                 a vector exp_avg_sq [n]; states in fp32 (16-bit grads are
//                 upcast before the state is created); beta1=None: no first moment
constexpr std::uint64_t optimizer_state_bytes(optimizer_kind o, std::uint64_t rows, std::uint64_t cols,
                                              std::uint32_t copies, std::uint64_t element_bytes) {
  constexpr const char* api = "qmath::optimizer_state_bytes";
  constexpr const char* q = "optimizer state bytes";
  using detail::checked_product;
  const std::uint64_t n = checked_product(api, "elements", rows, cols);
  std::uint64_t per_copy = 0;
  switch (o) {
    case optimizer_kind::adamw:
    case optimizer_kind::paged_adamw: per_copy = checked_product(api, q, 2, n, element_bytes); break;
    case optimizer_kind::adamw_8bit:
    case optimizer_kind::paged_adamw_8bit:
      per_copy = n < 4096 ? 2 * n * 4
                          : detail::checked_add(checked_product(api, q, 2, n), 2 * 4 * detail::ceil_div(n, 2048), api, q);
      break;
    case optimizer_kind::sgd: per_copy = 0; break;
    case optimizer_kind::sgd_momentum: per_copy = checked_product(api, q, n, element_bytes); break;
    case optimizer_kind::adafactor:
      per_copy = checked_product(api, q, rows == 1 ? n : detail::checked_add(rows, cols, api, q), 4);
      break;
  }
  return checked_product(api, q, per_copy, copies);
}

// Trainable parameters of a plan: all of them for full fine-tuning, the
// adapters for LoRA / QLoRA.
constexpr std::uint64_t trainable_parameters(const models::architecture& arch, const training_config& t) {
  return t.method == finetune_method::full ? arch.parameters() : lora_parameters(arch, t.lora);
}

// Calls f(rows, cols, copies) for every trainable matrix or vector.
template <class F>
constexpr void for_each_trainable(const models::architecture& arch, const training_config& t, F&& f) {
  if (t.method == finetune_method::full) {
    models::for_each_tensor(arch, [&](const models::tensor& x) { f(x.rows, x.cols, x.copies); });
  } else {
    for_each_lora_matrix(arch, t.lora, f);
  }
}

// The training state of the whole model on one device, before any sharding:
// gradients, optimizer, master weights, and for LoRA the adapter weights. The
// frozen or trainable base weights are the weights estimate's; the one
// exception is QLoRA's fp32 upcast of the unquantized tensors, returned by
// qlora_upcast_bytes and added to weights by the plan.
constexpr memory_breakdown training_state(const models::architecture& arch, const training_config& cfg) {
  const training_config& t = validate(cfg);
  memory_breakdown b;
  constexpr const char* api = "qmath::training_state";
  using detail::checked_add;
  using detail::checked_product;
  const std::uint64_t elem = optimizer_element_bytes(t);
  std::uint64_t n = 0;
  for_each_trainable(arch, t, [&](std::uint64_t rows, std::uint64_t cols, std::uint32_t copies) {
    n = checked_add(n, checked_product(api, "trainable parameters", rows, cols, copies), api, "trainable parameters");
    b.optimizer =
        checked_add(b.optimizer, optimizer_state_bytes(t.optimizer, rows, cols, copies, elem), api, "optimizer bytes");
  });
  if (t.method == finetune_method::full) {
    b.gradients = checked_product(api, "gradient bytes", n, dtype_bytes(t.gradient_dtype));
    if (t.master_weights && t.compute_dtype != format_id::f32)
      b.master_weights = checked_product(api, "master weight bytes", 4, n);
  } else {
    const std::uint64_t adapter = dtype_bytes(t.lora.adapter_dtype);
    b.adapters = checked_product(api, "adapter bytes", n, adapter);
    b.gradients = checked_product(api, "gradient bytes", n, adapter);
    if (t.master_weights && t.lora.adapter_dtype != format_id::f32)
      b.master_weights = checked_product(api, "master weight bytes", 4, n);
  }
  if (t.fp32_gradient_copy)
    b.gradients = checked_add(b.gradients, checked_product(api, "gradient bytes", 4, n), api, "gradient bytes");
  return b;
}

// QLoRA's prepare_model_for_kbit_training upcasts the tensors bitsandbytes did
// not quantize (everything but the nn.Linear weights: embeddings, norms,
// biases, LM head) from 16 to 32 bits: 2 more bytes per element.
constexpr std::uint64_t qlora_upcast_bytes(const models::architecture& arch, const training_config& t) {
  if (t.method != finetune_method::qlora || !t.upcast_unquantized_to_fp32) return 0;
  std::uint64_t n = 0;
  models::for_each_tensor(arch, [&](const models::tensor& x) {
    // as weights.hpp's bnb_4bit recipe: every nn.Linear but the LM head
    const bool quantized = x.linear && x.role != models::tensor_role::output;
    if (!quantized) n = detail::checked_add(n, x.elements(), "qmath::qlora_upcast_bytes", "upcast elements");
  });
  return detail::checked_mul(2, n, "qmath::qlora_upcast_bytes", "upcast bytes");
}

// Sequences per optimizer step; memory sees one micro-batch only.
constexpr std::uint64_t effective_batch(std::uint64_t micro_batch, const training_config& t) {
  return detail::checked_mul(micro_batch, t.gradient_accumulation_steps, "qmath::effective_batch",
                             "sequences per step");
}

// The activation ledger configuration of a training plan on a CUDA device.
// QLoRA's activations are float32 after prepare_model_for_kbit_training's
// upcast (the norms' outputs are float32 and everything after them follows).
constexpr activation_ledger_config ledger_config(const training_config& t, std::uint64_t batch,
                                                 std::uint64_t seq) {
  activation_ledger_config c;
  c.sequence = seq;
  c.micro_batch = batch;
  c.attention = t.attention;
  c.dropout = t.dropout;
  c.gradient_checkpointing = t.gradient_checkpointing;
  c.method = t.method;
  c.lora = t.lora;
  c.dtype = t.method == finetune_method::qlora && t.upcast_unquantized_to_fp32 ? format_id::f32 : t.compute_dtype;
  c.device = autograd_device::cuda;
  return c;
}

// Peak activation bytes of one training step for a micro-batch of `batch`
// sequences of `seq` tokens (training_activations.hpp's ledger on CUDA):
//   saved      what autograd keeps after the forward pass (measured rule)
// + logits     the model's returned logits (decoders: s b vocab in the
//              logits dtype), alive until the step ends
// + max(recompute, loss backward): with checkpointing one block is rebuilt
//              during backward; before that, backward starts with the
//              gradients of the float32 log-probabilities and of the logits
//              (s b vocab x (4 + logits dtype))
// + QLoRA: one dequantized 16-bit copy of the largest quantized matrix
//              (bitsandbytes dequantizes a Linear4bit weight for each matmul).
// The last three are transient tensors autograd does not save; they are the
// ledger's assumptions beyond the measured saved bytes (docs/training.md).
constexpr std::uint64_t training_step_activation_bytes(const models::architecture& arch, const training_config& t,
                                                       std::uint64_t batch, std::uint64_t seq) {
  constexpr const char* api = "qmath::training_step_activation_bytes";
  const activation_ledger_config c = ledger_config(t, batch, seq);
  const activation_ledger l = activation_ledger_of(arch, c);
  std::uint64_t logits = 0, loss_backward = 0;
  if (arch.kind == models::model_kind::decoder) {
    const std::uint64_t logit_bytes = storage_bytes(info(c.dtype), 1);
    const std::uint64_t values = detail::checked_product(api, "logit values", batch, seq, arch.vocab);
    logits = detail::checked_mul(values, logit_bytes, api, "logit bytes");
    loss_backward = detail::checked_mul(values, 4 + logit_bytes, api, "loss gradient bytes");
  }
  std::uint64_t bytes = detail::checked_add(l.saved, logits, api, "activation bytes");
  bytes = detail::checked_add(bytes, l.recompute > loss_backward ? l.recompute : loss_backward, api,
                              "activation bytes");
  if (t.method == finetune_method::qlora) {
    std::uint64_t largest = 0;
    models::for_each_tensor(arch, [&](const models::tensor& x) {
      if (x.linear && x.role != models::tensor_role::output)
        largest = std::max(largest, detail::checked_mul(x.rows, x.cols, api, "matrix elements"));
    });
    bytes = detail::checked_add(bytes, detail::checked_mul(2, largest, api, "dequantized weight bytes"), api,
                                "activation bytes");
  }
  return bytes;
}

}  // namespace qmath

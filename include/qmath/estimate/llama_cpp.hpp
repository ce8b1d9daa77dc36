#pragma once
// What llama.cpp allocates for a model file and a context: the bytes of the
// weights, the K and V caches and the compute buffer, from llama.cpp's own
// rules (v0.5.0 sources, cited per rule; docs/llama-cpp.md explains them).
//
//   constexpr qmath::llama_cpp::context_params cp{.n_ctx = 8192, .n_seq_max = 4,
//                                                  .type_k = qmath::format_id::q8_0,
//                                                  .type_v = qmath::format_id::q8_0,
//                                                  .flash_attn = qmath::llama_cpp::flash_attn::on};
//   constexpr auto m = qmath::llama_cpp::estimate(qmath::models::llama_3_8b,
//                                                 qmath::weight_recipe::gguf(qmath::gguf_ftype::q4_k_m), cp);
//   static_assert(m.k_bytes == 285'212'672);
//
// The context parameters are llama_context_params' (include/llama.h) with
// llama_context_default_params()'s defaults; llama-server's flags map onto
// them one to one: -c n_ctx, -b n_batch, -ub n_ubatch, -np n_seq_max,
// --kv-unified, -ctk type_k, -ctv type_v, -fa on|off|auto, --swa-full,
// -ngl n_gpu_layers. A setting llama.cpp refuses (a quantized V cache without
// flash attention, K and V types that differ on an MLA model) is a
// qmath::error naming the rule. Everything is constexpr.
// This header does not include xsimd.

#include <algorithm>
#include <cstdint>

#include "qmath/detail/checked.hpp"
#include "qmath/error.hpp"
#include "qmath/estimate/llama_cpp_graph.hpp"
#include "qmath/estimate/weights.hpp"
#include "qmath/formats/format_info.hpp"
#include "qmath/formats/table.hpp"
#include "qmath/models/architecture.hpp"

namespace qmath::llama_cpp {

enum class flash_attn : std::int8_t { automatic = -1, off = 0, on = 1 };  // llama_flash_attn_type

// llama.cpp's model architecture (general.architecture of the GGUF file):
// it decides the file's tensors and how the KV cache treats sliding windows.
enum class gguf_arch : std::uint8_t { llama, qwen2, qwen3, qwen3moe, qwen2moe, gemma2, phi3, deepseek2 };

// The llama.cpp architecture a catalog record converts to
// (convert_hf_to_gguf.py's model classes): MLA is deepseek2, four norms per
// block gemma2, per-head q/k norms qwen3 (qwen3moe with experts), q/k/v
// biases qwen2 (qwen2moe with experts), a name starting "Phi-3" phi3; the
// rest (Llama, Mistral, Mixtral, CodeLlama) llama.
constexpr gguf_arch arch_of(const models::architecture& a) noexcept {
  if (a.is_mla()) return gguf_arch::deepseek2;
  if (a.norms_per_layer == 4) return gguf_arch::gemma2;
  if (a.qk_norm) return a.is_moe() ? gguf_arch::qwen3moe : gguf_arch::qwen3;
  if (a.qkv_bias && !a.o_bias) return a.is_moe() ? gguf_arch::qwen2moe : gguf_arch::qwen2;
  if (a.name.starts_with("Phi-3")) return gguf_arch::phi3;
  return gguf_arch::llama;
}

enum class backend : std::uint8_t { cpu, cuda };

inline constexpr std::int32_t all_gpu_layers = -1;

struct context_params {
  std::uint32_t n_ctx = 512;      // -c; 0 = the model's trained context (n_ctx_train)
  std::uint32_t n_batch = 2048;   // -b: logical batch
  std::uint32_t n_ubatch = 512;   // -ub: physical batch, the tokens of one graph evaluation
  std::uint32_t n_seq_max = 1;    // -np: sequences (slots)
  bool kv_unified = false;        // --kv-unified: one KV stream shared by all sequences
  format_id type_k = format_id::f16;  // -ctk
  format_id type_v = format_id::f16;  // -ctv
  flash_attn fa = flash_attn::automatic;  // -fa
  bool swa_full = false;          // --swa-full: sliding-window layers keep n_ctx cells
  std::int32_t n_gpu_layers = 0;  // -ngl; the CPU backend ignores it
  backend device = backend::cpu;

  friend constexpr bool operator==(const context_params&, const context_params&) = default;
};

// The settings as llama.cpp resolves them (llama_context constructor).
struct resolved_context {
  std::uint32_t n_ctx = 0;        // padded to 256, a multiple of the streams
  std::uint32_t n_ctx_seq = 0;    // cells of one stream
  std::uint32_t n_streams = 1;    // KV streams: n_seq_max unless unified
  std::uint32_t n_batch = 0;
  std::uint32_t n_ubatch = 0;
  std::uint32_t n_tokens = 0;     // tokens of the worst-case graph
  std::uint32_t n_outputs = 0;    // output rows of the worst-case graph
  bool flash_attention = false;
  bool above_trained_context = false;  // llama.cpp warns "possible training context overflow"
  std::uint32_t swa_cells = 0;    // cells per stream of a sliding-window layer (0: none)
};

struct memory {
  std::uint64_t weights = 0;  // model buffers (tensors as stored in the file)
  std::uint64_t k_bytes = 0;
  std::uint64_t v_bytes = 0;
  std::uint64_t compute = 0;  // the backend's compute buffer
  bool compute_replayed = false;  // compute is ggml's allocator replayed on the model's graph (exact);
                                  // false: a closed-form bound for an architecture without a replayed graph
  resolved_context context{};

  constexpr std::uint64_t kv_bytes() const noexcept { return k_bytes + v_bytes; }
  constexpr std::uint64_t total() const noexcept { return weights + k_bytes + v_bytes + compute; }
};

namespace detail {

inline constexpr const char* api = "qmath::llama_cpp";

constexpr std::uint64_t pad(std::uint64_t n, std::uint64_t multiple) {
  return (n + multiple - 1) / multiple * multiple;
}

// Does llama.cpp slide a window on this model? Only architectures whose
// loader sets a swa_type: Gemma-2 (src/models/gemma2.cpp: LLAMA_SWA_TYPE_STANDARD,
// every other layer). Llama-architecture files (Mistral-7B) carry no window
// key; Phi-3's loader reads sliding_window and then sets swa_type NONE
// (src/models/phi3.cpp load_arch_hparams: "TODO: fix conversion scripts").
constexpr bool slides(const models::architecture& a, gguf_arch arch) noexcept {
  return arch == gguf_arch::gemma2 && a.sliding_window != 0;
}

}  // namespace detail

// The context llama.cpp builds from the parameters: src/llama-context.cpp,
// llama_context::llama_context and sched_reserve.
constexpr resolved_context resolve(const models::architecture& a, const context_params& p) {
  using detail::api;
  QMATH_REQUIRE(p.n_seq_max > 0, api, ": n_seq_max must be positive");
  QMATH_REQUIRE(p.n_batch > 0 && p.n_ubatch > 0, api, ": n_batch and n_ubatch must be positive");
  QMATH_REQUIRE(p.n_ctx > 0 || a.max_context > 0, api, a.name,
                ": n_ctx 0 means the trained context, which the model record does not give");
  const format_info tv = info(p.type_v);
  const format_info tk = info(p.type_k);
  // llama_init_from_model: "model does not support different K and V cache types" (MLA)
  QMATH_REQUIRE(!a.is_mla() || p.type_k == p.type_v, api, a.name, ": llama.cpp refuses K type ", tk.name,
                " != V type ", tv.name, " on an MLA model (llama_init_from_model)");

  resolved_context r;
  const std::uint64_t n_ctx_in = p.n_ctx != 0 ? p.n_ctx : a.max_context;
  // the batch is limited by the context before the context is padded
  r.n_batch = static_cast<std::uint32_t>(std::min<std::uint64_t>(n_ctx_in, p.n_batch));
  r.n_ubatch = std::min(r.n_batch, p.n_ubatch);
  // cparams.n_ctx = GGML_PAD(n_ctx, 256); per stream GGML_PAD(n_ctx / n_seq_max, 256)
  std::uint64_t n_ctx = detail::pad(n_ctx_in, 256);
  r.n_streams = p.kv_unified ? 1 : p.n_seq_max;
  std::uint64_t n_ctx_seq = n_ctx;
  if (!p.kv_unified) {
    n_ctx_seq = detail::pad(n_ctx / p.n_seq_max, 256);
    QMATH_REQUIRE(n_ctx_seq > 0, api, ": n_ctx_seq == 0");
    n_ctx = n_ctx_seq * p.n_seq_max;
  }
  QMATH_REQUIRE(n_ctx <= UINT32_MAX, api, ": n_ctx ", n_ctx, " exceeds 32 bits");
  r.n_ctx = static_cast<std::uint32_t>(n_ctx);
  r.n_ctx_seq = static_cast<std::uint32_t>(n_ctx_seq);
  r.above_trained_context = a.max_context != 0 && n_ctx_seq > a.max_context;
  // sched_reserve: n_tokens = min(n_ctx, n_ubatch); n_outputs = min(n_tokens, n_outputs_max = n_batch)
  r.n_tokens = std::min(r.n_ctx, r.n_ubatch);
  r.n_outputs = std::min(r.n_tokens, r.n_batch);
  // flash_attn auto: resolve_fused_ops probes whether the layer's device runs
  // FLASH_ATTN_EXT; the CPU backend does, so auto is on there (and on CUDA).
  r.flash_attention = p.fa != flash_attn::off;
  // "quantized V cache was requested, but this requires Flash Attention"
  QMATH_REQUIRE(r.flash_attention || tv.family == format_family::floating_point, api,
                ": llama.cpp refuses a quantized V cache (", tv.name,
                ") without flash attention (llama_context: requires Flash Attention)");
  if (detail::slides(a, arch_of(a))) {
    // llama-kv-cache-iswa.cpp: size_swa = GGML_PAD(min(size_base, n_swa * (unified ? n_seq_max : 1) + n_ubatch), 256)
    const std::uint64_t window = std::uint64_t{a.sliding_window} * (p.kv_unified ? p.n_seq_max : 1) + r.n_ubatch;
    r.swa_cells = p.swa_full ? r.n_ctx_seq
                             : static_cast<std::uint32_t>(detail::pad(std::min<std::uint64_t>(n_ctx_seq, window), 256));
  }
  return r;
}

// ---- weights --------------------------------------------------------------

// One tensor of the GGUF file. GGUF stores what convert_hf_to_gguf.py makes
// of the checkpoint, which is not always the checkpoint's own tensors:
//   phi3       q, k, v fused into attn_qkv; gate and up into one ffn_up of 2 x n_ff
//              (Phi3MiniModel; src/models/phi3.cpp load_arch_tensors)
//   deepseek2  kv_b_proj split into attn_k_b {nope, kv_lora_rank, n_head} and
//              attn_v_b {kv_lora_rank, v_head_dim, n_head} (DeepseekV2Model;
//              src/models/deepseek2.cpp: "only old legacy GGUF files will have the unsplit wkv_b")
//   tied       no output.weight: llama.cpp reuses token_embd (TENSOR_DUPLICATED,
//              one buffer)
// Everything else is the checkpoint's tensor list (models::for_each_tensor).
template <class F>
constexpr void for_each_file_tensor(const models::architecture& a, F&& f) {
  using models::tensor;
  using models::tensor_role;
  const gguf_arch arch = arch_of(a);
  const std::uint64_t h = a.hidden;
  models::for_each_tensor(a, [&](const tensor& t) {
    if (arch == gguf_arch::phi3 && !t.is_vector()) {
      if (t.role == tensor_role::attn_q) {
        f(tensor{t.cls, tensor_role::attn_qkv, t.layer, a.q_dim() + a.k_dim() + a.v_dim(), h, 1, true, false});
        return;
      }
      if (t.role == tensor_role::attn_k || t.role == tensor_role::attn_v || t.role == tensor_role::ffn_gate) return;
      if (t.role == tensor_role::ffn_up) {
        f(tensor{t.cls, tensor_role::ffn_up, t.layer, 2 * std::uint64_t{a.intermediate}, h, 1, true, false});
        return;
      }
    }
    if (arch == gguf_arch::deepseek2 && t.role == tensor_role::attn_kv_b) {
      // 3-D {ne0, ne1, n_head}: rows of ne0 values, ne1 rows, n_head copies;
      // llama-quantize gives them no rule of their own (the attn_q path)
      f(tensor{t.cls, tensor_role::attn_q, t.layer, a.kv_lora_rank, a.qk_nope_head_dim, a.heads, true, false});
      f(tensor{t.cls, tensor_role::attn_q, t.layer, a.v_head_dim, a.kv_lora_rank, a.heads, true, false});
      return;
    }
    f(t);
  });
}

// Bytes of the model buffers: each tensor in the type the recipe gives it
// (qmath::tensor_format: llama-quantize's llama_tensor_get_type for a gguf
// recipe), ggml_nbytes per tensor, and no padding: the CPU backend's model
// buffer is the file's tensor data (llama_model_loader sizes each buffer
// from ggml_backend_alloc_ctx_tensors_from_buft, tensors aligned to 32 bytes,
// which every tensor size here already is).
// On CUDA a quantized tensor's allocation is padded to whole rows of 512
// values (ggml-cuda.cu ggml_backend_cuda_buffer_type_get_alloc_size,
// MATRIX_ROW_PADDING); only tensors on the GPU pay it: the blocks from
// n_layer - n_gpu_layers on, the output layer when n_gpu_layers > n_layer
// (or -1), never the token embedding (llama-model.cpp keeps the input layer
// on the CPU).
constexpr bool on_gpu(const models::architecture& a, const models::tensor& t, const context_params& p) {
  if (p.device != backend::cuda || p.n_gpu_layers == 0) return false;
  const std::int64_t n_layer = a.layers;
  const std::int64_t ngl = p.n_gpu_layers < 0 ? n_layer + 1 : p.n_gpu_layers;
  if (t.role == models::tensor_role::token_embedding && t.layer < 0) return false;
  if (t.layer < 0) return ngl > n_layer;
  return t.layer >= n_layer - std::min(ngl, n_layer);
}

constexpr std::uint64_t model_bytes(const models::architecture& a, const weight_recipe& r,
                                    const context_params& p = {}) {
  std::uint64_t total = 0;
  for_each_file_tensor(a, [&](const models::tensor& t) {
    std::uint64_t bytes = qmath::tensor_bytes(a, t, r);
    const format_info f = tensor_format(a, t, r);
    if (on_gpu(a, t, p) && f.family != format_family::floating_point && t.cols % 512 != 0)
      bytes += storage_bytes(f, 512 - t.cols % 512);
    total = qmath::detail::checked_add(total, detail::pad(bytes, 32), detail::api, "weight bytes");
  });
  return total;
}

// ---- KV cache -------------------------------------------------------------------

// Values per cell per layer: K n_head_kv x n_embd_head_k, V n_head_kv x
// n_embd_head_v; MLA caches the latent and the rope key as K
// (kv_lora_rank + qk_rope_head_dim, head_count_kv 1) and no V
// (llama-kv-cache.cpp: V tensors are not created when hparams.is_mla()).
constexpr std::uint64_t k_row_values(const models::architecture& a) {
  return a.is_mla() ? std::uint64_t{a.kv_lora_rank} + a.qk_rope_head_dim : a.k_dim();
}
constexpr std::uint64_t v_row_values(const models::architecture& a) { return a.is_mla() ? 0 : a.v_dim(); }

struct kv_bytes {
  std::uint64_t k = 0;
  std::uint64_t v = 0;
  constexpr std::uint64_t total() const { return k + v; }
};

// llama_kv_cache: per layer one K and one V tensor of cells x streams rows
// (ggml_new_tensor_3d(type, n_embd_gqa, kv_size, n_stream)), row bytes
// ggml_row_size(type, values). Sliding-window layers (iSWA) use swa_cells.
// Layers [first, end) (all by default).
constexpr kv_bytes kv_cache_bytes(const models::architecture& a, const context_params& p, const resolved_context& r,
                                  std::uint32_t first = 0, std::uint32_t end = UINT32_MAX) {
  const std::uint64_t k_row = storage_bytes(info(p.type_k), k_row_values(a));
  const std::uint64_t v_values = v_row_values(a);
  const std::uint64_t v_row = v_values != 0 ? storage_bytes(info(p.type_v), v_values) : 0;
  // layers are counted, not walked: a hostile layer count costs nothing
  const std::uint32_t last = std::min(end, a.layers);
  const std::uint32_t layers = first < last ? last - first : 0;
  const std::uint32_t sliding = r.swa_cells != 0 ? a.sliding_layers_in(first, last) : 0;  // 0 when first >= last
  const auto cells = [&](std::uint64_t per_stream) {
    return qmath::detail::checked_mul(per_stream, r.n_streams, detail::api, "KV cells");
  };
  const std::uint64_t cell_layers = qmath::detail::checked_add(
      qmath::detail::checked_mul(cells(r.swa_cells), sliding, detail::api, "KV cells"),
      qmath::detail::checked_mul(cells(r.n_ctx_seq), layers - sliding, detail::api, "KV cells"), detail::api,
      "KV cells");
  kv_bytes out;
  out.k = qmath::detail::checked_mul(k_row, cell_layers, detail::api, "K bytes");
  out.v = qmath::detail::checked_mul(v_row, cell_layers, detail::api, "V bytes");
  return out;
}

// ---- compute buffer -------------------------------------------------------------

// Buffer alignment: 32 bytes on the CPU (TENSOR_ALIGNMENT, ggml-impl.h), 128
// on CUDA (ggml-cuda.cu ggml_backend_cuda_buffer_type_get_alignment).
constexpr std::uint64_t buffer_alignment(backend b) { return b == backend::cuda ? 128 : 32; }

// ggml's CPU buffer type aligns every tensor to 32 bytes (TENSOR_ALIGNMENT,
// ggml-backend.cpp ggml_backend_cpu_buffer_type_get_alignment); ggml-alloc
// rounds each allocation up to it (ggml_backend_buft_get_alloc_size).
constexpr std::uint64_t f32_tensor(std::uint64_t values) { return detail::pad(values * 4, 32); }

// The Hadamard rotation llama.cpp applies to a quantized cache
// (llama-kv-cache.cpp: attn_rot_k / attn_rot_v when the type is quantized
// and the head size a multiple of 64; build_input_k_rot: the largest power
// of two from 64 dividing the head size, build_input_v_rot: 64).
constexpr std::int64_t k_rotation(const models::architecture& a, format_id type_k) {
  const std::int64_t head = a.k_head_dim();
  if (info(type_k).family == format_family::floating_point || head % 64 != 0) return 0;
  std::int64_t n = 64;
  while (head % (n * 2) == 0) n *= 2;
  return n;
}
constexpr std::int64_t v_rotation(const models::architecture& a, format_id type_v) {
  if (info(type_v).family == format_family::floating_point || a.value_head_dim() % 64 != 0) return 0;
  return 64;
}

constexpr graph_detail::graph_params graph_params_of(const models::architecture& a, const context_params& p,
                                                     const resolved_context& r) {
  graph_detail::graph_params g;
  g.n_embd = a.hidden;
  g.n_head = a.heads;
  g.n_head_kv = a.n_kv_heads();
  g.head_dim_k = a.k_head_dim();
  g.head_dim_v = a.value_head_dim();
  g.n_ff = a.intermediate;
  g.n_vocab = a.vocab;
  g.n_layer = a.layers;
  g.n_tokens = r.n_tokens;
  g.n_outputs = r.n_outputs;
  g.n_kv = r.n_ctx_seq;
  g.n_stream = r.n_streams;
  g.flash_attn = r.flash_attention;
  g.k_rot = k_rotation(a, p.type_k);
  g.v_rot = v_rotation(a, p.type_v);
  g.qkv_bias = a.qkv_bias;
  g.qk_norm = a.qk_norm;
  g.phi3 = arch_of(a) == gguf_arch::phi3;
  g.gemma2 = arch_of(a) == gguf_arch::gemma2;
  g.n_kv_swa = r.swa_cells;
  if (a.is_mla()) {
    g.kv_lora = a.kv_lora_rank;
    g.rope_dim = a.qk_rope_head_dim;
    g.nope_dim = a.qk_nope_head_dim;
    g.v_mla_dim = a.v_head_dim;
    g.k_rot = g.v_rot = 0;  // MLA caches no per-head K (n_embd_head_k_all 0): no rotation
  }
  g.n_dense_lead = a.first_dense_layers;
  g.n_ff_shexp = a.shared_expert_intermediate;
  // build_moe_ffn's norm_w: LLM_KV_EXPERT_WEIGHTS_NORM, false for DeepSeek-V2;
  // llama (Mixtral) and qwen3moe always normalize
  g.moe_norm_w = arch_of(a) != gguf_arch::deepseek2;
  g.n_expert = a.experts;
  g.n_expert_used = a.active_experts;
  g.n_ff_exp = a.expert_intermediate;
  return g;
}

// Does qmath replay this architecture's graph? (The others use the
// closed-form bound below.)
constexpr bool graph_modelled(const models::architecture& a) {
  const gguf_arch arch = arch_of(a);
  const bool builder = arch == gguf_arch::llama || arch == gguf_arch::qwen2 || arch == gguf_arch::qwen3 ||
                       arch == gguf_arch::qwen3moe || arch == gguf_arch::phi3 || arch == gguf_arch::gemma2 ||
                       arch == gguf_arch::deepseek2;
  // the builders cover SwiGLU/GeGLU blocks with RMSNorm and no output or FFN biases
  const bool block = a.kind == models::model_kind::decoder && a.ffn == models::ffn_kind::gated &&
                     a.norm == models::norm_kind::rms && !a.sub_norms && !a.o_bias && !a.mlp_bias &&
                     a.learned_positions == 0 && (a.qkv_bias == (arch == gguf_arch::qwen2));
  return builder && block;
}

constexpr std::uint64_t compute_bytes(const models::architecture& a, const context_params& p,
                                      const resolved_context& r) {
  if (graph_modelled(a))
    return ggml_alloc::reserve_bytes(graph_detail::build_dense(graph_params_of(a, p, r)), buffer_alignment(p.device));
  const std::uint64_t t = r.n_tokens;
  const std::uint64_t h = a.hidden;
  // Output phase: the logits [n_vocab, n_outputs] f32 with the final norm's
  // input and output [n_embd, n_outputs] and the int32 output ids.
  const std::uint64_t output = f32_tensor(std::uint64_t{r.n_outputs} * a.vocab) + 2 * f32_tensor(r.n_outputs * h) +
                               f32_tensor(t);
  std::uint64_t peak = output;
  if (!r.flash_attention) {
    // Attention without flash attention: KQ [n_kv, n_tokens, n_head] f32
    // (softmax in place) and the f32 mask [n_kv, n_tokens] per stream
    // (llama-graph.cpp build_attn_mha, build_attn_inp_kv).
    const std::uint64_t cells = r.n_ctx_seq;
    const std::uint64_t attention = cells * t * 4 * (std::uint64_t{a.heads} + 1) + t * 4 * (5 * h + 2 * a.k_dim() + 5);
    peak = std::max(peak, attention);
  }
  return peak;
}

// ---- everything -------------------------------------------------------------------

constexpr memory estimate(const models::architecture& arch, const weight_recipe& recipe, const context_params& p) {
  const models::architecture& a = models::validate(arch);
  QMATH_REQUIRE(a.kind == models::model_kind::decoder, detail::api, a.name, " is not a decoder");
  memory m;
  m.context = resolve(a, p);
  m.weights = model_bytes(a, recipe, p);
  const kv_bytes kv = kv_cache_bytes(a, p, m.context);
  m.k_bytes = kv.k;
  m.v_bytes = kv.v;
  m.compute = compute_bytes(a, p, m.context);
  m.compute_replayed = graph_modelled(a);
  return m;
}

}  // namespace qmath::llama_cpp

#pragma once
// A plan is everything that decides memory: the model, its weight recipe, the
// KV cache type, batch and context, the runtime profile, training settings or
// inference, the multi-GPU layout and how many layers run on the GPU. It is a
// literal type, so a constexpr plan can be checked at compile time:
//
//   constexpr qmath::plan p{.model = qmath::models::llama_3_8b,
//                           .weights = qmath::weight_recipe::gguf(qmath::gguf_ftype::q4_k_m),
//                           .context = 8192, .runtime = qmath::runtimes::llama_cpp};
//   static_assert(qmath::fits(p, qmath::devices::rtx_3060_12gb));
//   QMATH_STATIC_ASSERT_FITS(p, qmath::devices::rtx_3060_12gb);  // shows both byte counts on failure
//
// estimate(plan, device) gives the bytes per GPU and in host RAM; fits()
// compares them with the device; the solvers find the largest context,
// batch, layer count or the most accurate recipe that fit, and the cheapest
// device. A bad plan (no layers, heads that do not divide the hidden size,
// batch or context 0, a device without memory) fails QMATH_REQUIRE: a compile
// error in a constant expression, qmath::error at run time.
// This header does not include xsimd.

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "qmath/devices/device.hpp"
#include "qmath/error.hpp"
#include "qmath/estimate/activations.hpp"
#include "qmath/estimate/breakdown.hpp"
#include "qmath/estimate/kv_cache.hpp"
#include "qmath/estimate/llama_cpp.hpp"
#include "qmath/estimate/lora.hpp"
#include "qmath/estimate/offload.hpp"
#include "qmath/estimate/runtime.hpp"
#include "qmath/estimate/sharding.hpp"
#include "qmath/estimate/training.hpp"
#include "qmath/estimate/weights.hpp"
#include "qmath/models/architecture.hpp"

namespace qmath {

// llama.cpp's context parameters beyond a plan's context, batch and
// kv_type (llama-server flags in brackets). A plan whose runtime lays out
// the KV cache as llama.cpp does (runtimes::llama_cpp, ollama) maps to
// llama_cpp::context_params as
//   n_ctx = context x batch [-c], n_seq_max = batch [-np], type_k = kv_type [-ctk],
//   type_v = type_v or kv_type [-ctv], and the fields below;
// its KV cache and compute buffer are then llama_cpp.hpp's exact bytes.
struct llama_cpp_options {
  std::uint32_t n_batch = 2048;             // -b
  std::uint32_t n_ubatch = 512;             // -ub
  bool kv_unified = true;                   // --kv-unified (qmath's default: one cache shared by the
                                            // sequences; llama_context_default_params has false)
  std::optional<format_id> type_v{};        // -ctv; empty: kv_type
  llama_cpp::flash_attn flash_attn = llama_cpp::flash_attn::automatic;  // -fa on|off|auto
  bool swa_full = false;                    // --swa-full
  bool allow_above_trained_context = false; // llama.cpp warns and allocates a context above n_ctx_train

  friend constexpr bool operator==(const llama_cpp_options&, const llama_cpp_options&) = default;
};

struct plan {
  models::architecture model{};
  weight_recipe weights = weight_recipe::checkpoint();
  format_info kv_type = info(format_id::f16);   // K and V cache type
  std::uint32_t batch = 1;                      // sequences at once (training: the micro-batch)
  std::uint64_t context = 2048;                 // tokens per sequence (training: sequence length)
  runtime_profile runtime = runtimes::transformers;
  std::optional<training_config> training{};    // empty: inference
  parallelism parallel{};
  std::uint32_t gpu_layers = all_layers;        // blocks on the GPU (llama.cpp -ngl semantics, see offload.hpp)
  llama_cpp_options llama{};                    // llama.cpp runtimes only

  constexpr bool is_training() const noexcept { return training.has_value(); }
  constexpr bool is_llama_cpp() const noexcept { return runtime.kv_layout == kv_cache_layout::llama_cpp; }
};

// Bytes of a plan on one GPU of the layout and in host RAM (per process).
struct plan_estimate {
  memory_breakdown gpu;   // one GPU
  memory_breakdown host;  // host RAM: offloaded layers and their KV, offloaded optimizer state
  std::uint32_t gpus = 1;

  friend constexpr bool operator==(const plan_estimate&, const plan_estimate&) = default;
};

constexpr const plan& validate(const plan& p) {
  constexpr const char* api = "qmath::plan";
  (void)models::validate(p.model);
  QMATH_REQUIRE(p.batch > 0, api, p.model.name, ": batch must be positive");
  QMATH_REQUIRE(p.context > 0, api, p.model.name, ": context must be positive");
  QMATH_REQUIRE(p.model.max_context == 0 || p.context <= p.model.max_context || p.is_training() ||
                    (p.is_llama_cpp() && p.llama.allow_above_trained_context),
                api,
                p.model.name, ": context ", p.context, " exceeds the model's ", p.model.max_context, " positions");
  (void)validate(p.parallel);
  (void)validate(p.runtime);
  if (p.is_training()) {
    const training_config& t = validate(*p.training);
    QMATH_REQUIRE(p.gpu_layers == all_layers, api, "training keeps every layer on the GPU (use ZeRO offload)");
    QMATH_REQUIRE(t.method != finetune_method::qlora || p.weights.kind == weight_recipe::kind_t::bnb_4bit, api,
                  "QLoRA trains on a bitsandbytes 4-bit base: use weight_recipe::bnb_4bit");
    QMATH_REQUIRE(t.method != finetune_method::full || p.weights.kind == weight_recipe::kind_t::checkpoint ||
                      (p.weights.kind == weight_recipe::kind_t::uniform &&
                       p.weights.matrices.family == format_family::floating_point),
                  api, "full fine-tuning needs floating-point weights");
  }
  return p;
}

namespace detail {

// The llama.cpp context a plan stands for (llama_cpp_options above).
constexpr llama_cpp::context_params llama_context_of(const plan& p) {
  constexpr const char* api = "qmath::plan";
  const std::uint64_t n_ctx = detail::checked_mul(p.context, p.batch, api, "llama.cpp n_ctx (context x batch)");
  QMATH_REQUIRE(n_ctx <= UINT32_MAX, api, p.model.name, ": llama.cpp n_ctx ", n_ctx, " exceeds 32 bits");
  llama_cpp::context_params c;
  c.n_ctx = static_cast<std::uint32_t>(n_ctx);
  c.n_batch = p.llama.n_batch;
  c.n_ubatch = p.llama.n_ubatch;
  c.n_seq_max = p.batch;
  c.kv_unified = p.llama.kv_unified;
  c.type_k = p.kv_type.id;
  c.type_v = p.llama.type_v.value_or(p.kv_type.id);
  c.fa = p.llama.flash_attn;
  c.swa_full = p.llama.swa_full;
  c.n_gpu_layers = p.gpu_layers == all_layers ? llama_cpp::all_gpu_layers : static_cast<std::int32_t>(p.gpu_layers);
  return c;
}

// CPU-only devices (and CPU-only cloud instances) run everything from RAM.
constexpr bool runs_on_host(const device& d) noexcept {
  return d.kind == device_kind::cpu_ram || (d.kind == device_kind::cloud_instance && !has_gpu_context(d));
}

constexpr kv_cache_config plan_kv_config(const plan& p) {
  kv_cache_config c;
  c.context = p.context;
  c.batch = p.batch;
  c.type_k = p.kv_type;
  c.type_v = p.kv_type;
  c.layout = p.runtime.kv_layout;
  // llama.cpp turns flash attention on where the backend supports it
  // (flash_attn auto, since b6325) and requires it for a quantized V cache.
  c.flash_attention = true;
  return c;
}

// KV bytes of the blocks [first, end).
constexpr std::uint64_t kv_bytes_of_layers(const plan& p, std::uint32_t first, std::uint32_t end) {
  if (p.model.kind != models::model_kind::decoder) return 0;
  if (p.is_llama_cpp()) {
    const llama_cpp::context_params c = llama_context_of(p);
    const llama_cpp::resolved_context r = llama_cpp::resolve(p.model, c);
    return llama_cpp::kv_cache_bytes(p.model, c, r, first, end).total();
  }
  const kv_cache_config c = plan_kv_config(p);
  const kv_cache_estimate e = kv_cache(p.model, c);
  const models::architecture& a = p.model;
  const std::uint64_t k_row = storage_bytes(c.type_k, kv_k_row(a, c.mla_compressed));
  const std::uint64_t v_len = kv_v_row(a, c.mla_compressed);
  const std::uint64_t v_row = v_len != 0 ? storage_bytes(c.type_v, v_len) : 0;
  // counted, not walked: the layers of one kind are alike
  constexpr const char* api = "qmath::estimate";
  const std::uint32_t sliding = e.sliding_layers != 0 ? a.sliding_layers_in(first, end) : 0;
  const std::uint32_t full = end - first - sliding;
  const std::uint64_t row = detail::checked_add(k_row, v_row, api, "KV bytes per cell");
  return detail::checked_add(detail::checked_product(api, "KV cache bytes", row, e.sliding_cells, sliding),
                             detail::checked_product(api, "KV cache bytes", row, e.full_cells, full), api,
                             "KV cache bytes");
}

// Peak inference activations (compute buffers) on the GPU, activations.hpp's
// model with flash attention and one logits row per sequence:
//   transformers / vLLM: the whole prompt in one forward pass, 16-bit values
//   llama.cpp: micro-batches of n_ubatch = 512 tokens, f32 values (ggml computes in f32)
constexpr std::uint64_t plan_inference_activation_bytes(const plan& p) {
  if (p.is_llama_cpp()) {
    // llama.cpp's compute buffer, replayed (llama_cpp.hpp)
    const llama_cpp::context_params c = llama_context_of(p);
    return llama_cpp::compute_bytes(p.model, c, llama_cpp::resolve(p.model, c));
  }
  inference_activation_config c;
  c.context = p.context;
  c.batch = p.batch;
  c.flash_attention = true;
  c.all_logits = false;
  if (p.runtime.kv_layout == kv_cache_layout::llama_cpp) {
    c.ubatch = 512;
    c.dtype = info(format_id::f32);
  } else {
    c.ubatch = p.context;
    c.dtype = info(format_id::bf16);
  }
  return inference_activation_bytes(p.model, c).peak;
}

}  // namespace detail

// The plan's memory per GPU and in host RAM on a device.
constexpr plan_estimate estimate(const plan& plan_in, const device& device_in) {
  const plan& p = validate(plan_in);
  const device& d = validate(device_in);
  const models::architecture& a = p.model;
  plan_estimate out;
  out.gpus = p.parallel.gpus();

  if (!p.is_training()) {
    // On a CPU-only device there is nothing to split: every byte is in RAM once.
    layer_split split;
    if (detail::runs_on_host(d)) {
      split.gpu_weight_bytes = weight_bytes(a, p.weights).total();
      split.gpu_blocks = a.layers;
    } else {
      split = split_layers(a, p.weights, p.gpu_layers, p.runtime.offload);
    }
    // KV: where the block runs (llama.cpp), or all on the GPU (accelerate streams weights only).
    std::uint64_t kv_gpu = 0, kv_host = 0;
    if (p.runtime.offload == offload_style::llama_cpp) {
      kv_gpu = detail::kv_bytes_of_layers(p, a.layers - split.gpu_blocks, a.layers);
      kv_host = detail::kv_bytes_of_layers(p, 0, a.layers - split.gpu_blocks);
    } else {
      kv_gpu = detail::kv_bytes_of_layers(p, 0, a.layers);
    }
    memory_breakdown full;
    full.weights = split.gpu_weight_bytes + split.streaming_buffer_bytes;
    const sharded_state s = shard_model_state(full, p.parallel, 0);
    out.gpu = s.gpu;
    // tensor parallelism splits the KV heads (at least one per GPU), pipeline the layers
    const std::uint32_t kv_heads = a.n_kv_heads();
    const std::uint32_t heads_per_gpu = kv_heads > p.parallel.tensor ? kv_heads / p.parallel.tensor : 1;
    out.gpu.kv_cache = detail::ceil_div(
        detail::checked_mul(kv_gpu, heads_per_gpu, "qmath::estimate", "KV cache bytes") / kv_heads,
        p.parallel.pipeline);
    out.gpu.activations = detail::ceil_div(detail::plan_inference_activation_bytes(p), p.parallel.tensor);
    out.host.weights = split.host_weight_bytes;
    out.host.kv_cache = kv_host;
  } else {
    const training_config& t = *p.training;
    memory_breakdown full = training_state(a, t);
    full.weights = weight_bytes(a, p.weights).total() + qlora_upcast_bytes(a, t);
    // ZeRO-3 gathers one module's 16-bit weights and gradients
    const std::uint64_t largest = 2 * dtype_bytes(t.compute_dtype) * largest_layer_parameters(a);
    sharded_state s = shard_model_state(full, p.parallel, largest);
    if (is_paged(t.optimizer) && t.paged_state_on_host) {
      s.host_bytes += s.gpu.optimizer;
      s.gpu.optimizer = 0;
    }
    out.gpu = s.gpu;
    // everything ZeRO-Offload moved (optimizer, master weights, gradients,
    // parameter shards) is reported as the host's optimizer share
    out.host.optimizer = s.host_bytes;
    // activations: tensor (+sequence) parallelism divides them; a pipeline
    // stage holds ceil(L / p) blocks for up to p micro-batches in flight (1F1B),
    // which is the whole model's worth on the first stage.
    out.gpu.activations =
        detail::ceil_div(training_step_activation_bytes(a, t, p.batch, p.context), p.parallel.tensor);
  }

  if (detail::runs_on_host(d)) {
    // CPU only: the "GPU" is the host; whatever was offloaded is in the same RAM
    out.gpu += out.host;
    out.host = {};
  }
  const std::uint64_t dynamic = detail::checked_sum("qmath::estimate", "dynamic bytes", out.gpu.activations,
                                                    out.gpu.kv_cache, out.gpu.gradients);
  out.gpu.overhead += runtime_overhead_bytes(p.runtime, d, dynamic);
  return out;
}

// Bytes one GPU needs, and the bytes the runtime lets the plan use there.
constexpr std::uint64_t required_bytes(const plan& p, const device& d) { return estimate(p, d).gpu.total(); }
constexpr std::uint64_t available_bytes(const plan& p, const device& d) {
  return runtime_budget_bytes(validate(p).runtime, validate(d));
}

// Host RAM the plan needs per process (offloaded layers, KV and optimizer).
constexpr std::uint64_t host_bytes(const plan& p, const device& d) { return estimate(p, d).host.total(); }

// Does the plan fit? One GPU's share within the runtime's budget, enough
// accelerators on a cloud instance (a `gpu` device stands for as many cards
// of its kind as the layout uses), and host RAM where the device states it.
constexpr bool fits(const plan& p, const device& d) {
  const plan_estimate e = estimate(p, d);
  if (e.gpu.total() > available_bytes(p, d)) return false;
  if (d.kind == device_kind::cloud_instance && e.gpus > d.count) return false;
  if (d.host_ram_bytes != 0 && e.host.total() > d.host_ram_bytes) return false;
  return true;
}

// ---- several models on one device ---------------------------------------------
// Each plan runs in its own process with its own runtime overhead; vLLM claims
// its whole gpu_memory_utilization share whatever the model needs.
constexpr std::uint64_t footprint_bytes(const plan& p, const device& d) {
  const std::uint64_t need = required_bytes(p, d);
  if (p.runtime.memory_utilization > 0 && has_gpu_context(d)) {
    const std::uint64_t claimed = runtime_budget_bytes(p.runtime, d);
    return need > claimed ? need : claimed;
  }
  return need;
}

constexpr std::uint64_t required_bytes_together(std::span<const plan> plans, const device& d) {
  std::uint64_t sum = 0;
  for (const plan& p : plans)
    sum = detail::checked_add(sum, footprint_bytes(p, d), "qmath::required_bytes_together", "bytes of the plans");
  return sum;
}

constexpr bool fits_together(std::span<const plan> plans, const device& d) {
  for (const plan& p : plans)
    if (!fits(p, d)) return false;
  return required_bytes_together(plans, d) <= validate(d).usable_bytes;
}

// ---- solvers --------------------------------------------------------------------
namespace detail {
// Largest value in [lo, hi] for which ok() holds, assuming ok is monotone
// (true then false); 0 when ok(lo) is false.
template <class Ok>
constexpr std::uint64_t largest_true(std::uint64_t lo, std::uint64_t hi, Ok ok) {
  if (!ok(lo)) return 0;
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo + 1) / 2;
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
}  // namespace detail

// The longest context (tokens per sequence) that fits, up to the model's
// max_context (2^24 when unknown); 0 when not even one token fits.
constexpr std::uint64_t max_context(const plan& p, const device& d) {
  const std::uint64_t hi = p.model.max_context != 0 ? p.model.max_context : (std::uint64_t{1} << 24);
  return detail::largest_true(1, hi, [&](std::uint64_t ctx) {
    plan q = p;
    q.context = ctx;
    return fits(q, d);
  });
}

// The largest batch (sequences; training: micro-batch) that fits, up to 65536.
constexpr std::uint32_t max_batch(const plan& p, const device& d) {
  return static_cast<std::uint32_t>(detail::largest_true(1, 65536, [&](std::uint64_t b) {
    plan q = p;
    q.batch = static_cast<std::uint32_t>(b);
    return fits(q, d);
  }));
}

// The most blocks that can run on the GPU with the rest in host RAM
// (llama.cpp -ngl / accelerate device_map); all_layers when everything,
// output layer included, fits.
constexpr std::uint32_t max_gpu_layers(const plan& p, const device& d) {
  plan q = p;
  q.gpu_layers = all_layers;
  if (fits(q, d)) return all_layers;
  return static_cast<std::uint32_t>(detail::largest_true(0, p.model.layers, [&](std::uint64_t n) {
    plan r = p;
    r.gpu_layers = static_cast<std::uint32_t>(n);
    return fits(r, d);
  }));
}

// The most accurate recipe that fits. Accuracy is ranked by bits per weight
// over the whole model (scales and unquantized tensors included): more bits,
// less rounding error, which is how llama.cpp's quantize table orders its
// ftypes by perplexity for a given family (tools/quantize/README.md). Returns
// the candidate, or nothing when none fits.
constexpr std::optional<weight_recipe> most_accurate_recipe(const plan& p, const device& d,
                                                            std::span<const weight_recipe> candidates) {
  std::optional<weight_recipe> best;
  double best_bits = -1;
  for (const weight_recipe& r : candidates) {
    plan q = p;
    q.weights = r;
    if (!fits(q, d)) continue;
    const double bits = weight_bytes(p.model, r).bits_per_weight();
    if (bits > best_bits) {
      best_bits = bits;
      best = r;
    }
  }
  return best;
}

// llama.cpp's usual ftypes, most to least bits.
inline constexpr std::array gguf_recipes{
    weight_recipe::gguf(gguf_ftype::f16),    weight_recipe::gguf(gguf_ftype::q8_0),
    weight_recipe::gguf(gguf_ftype::q6_k),   weight_recipe::gguf(gguf_ftype::q5_k_m),
    weight_recipe::gguf(gguf_ftype::q4_k_m), weight_recipe::gguf(gguf_ftype::q3_k_m),
    weight_recipe::gguf(gguf_ftype::q2_k),
};
// transformers' options: 16-bit, LLM.int8, NF4 with double quantization.
inline constexpr std::array transformers_recipes{
    weight_recipe::uniform(info(format_id::bf16), info(format_id::bf16)),
    weight_recipe::bnb_8bit(format_id::bf16),
    weight_recipe::bnb_4bit(bnb_4bit_info(format_id::bnb_nf4, 64, true), format_id::bf16),
};

// The cheapest device the plan fits: among priced cloud instances (a free
// notebook counts as price 0) the lowest usd_per_hour, ties to less memory;
// when no instance fits, the device with the least usable memory.
constexpr std::optional<device> cheapest_device(const plan& p, std::span<const device> candidates) {
  std::optional<device> best_instance, best_device;
  for (const device& d : candidates) {
    if (!fits(p, d)) continue;
    if (d.kind == device_kind::cloud_instance) {
      if (!best_instance || d.usd_per_hour < best_instance->usd_per_hour ||
          (d.usd_per_hour == best_instance->usd_per_hour &&
           d.total_usable_bytes() < best_instance->total_usable_bytes()))
        best_instance = d;
    } else if (!best_device || d.total_usable_bytes() < best_device->total_usable_bytes()) {
      best_device = d;
    }
  }
  return best_instance ? best_instance : best_device;
}

// The device with the least memory that fits, whatever its kind.
constexpr std::optional<device> smallest_device(const plan& p, std::span<const device> candidates) {
  std::optional<device> best;
  for (const device& d : candidates)
    if (fits(p, d) && (!best || d.total_usable_bytes() < best->total_usable_bytes())) best = d;
  return best;
}

}  // namespace qmath

// A compile-time budget check that prints both numbers when it fails: g++
// (12 and later) adds "note: the comparison reduces to '(REQUIRED <= AVAILABLE)'",
// clang "note: expression evaluates to 'REQUIRED <= AVAILABLE'", in bytes.
// Plain static_assert(qmath::fits(...)) only says that the assertion failed.
#define QMATH_STATIC_ASSERT_FITS(plan_expr, device_expr)                                            \
  static_assert(::qmath::required_bytes(plan_expr, device_expr) <=                                  \
                    ::qmath::available_bytes(plan_expr, device_expr),                               \
                "qmath: the plan " #plan_expr " does not fit " #device_expr                         \
                " (required bytes <= available bytes is false)")

#pragma once
// Runtime overhead profiles: what a serving or training stack takes on a
// device beyond weights, KV cache, activations and training state. A profile
// is a parameter of every plan, never a hidden constant.
//
// Sources of the numbers:
//  - CUDA context: PyTorch PR #86509 measured 287,047,680 B with
//    CUDA_MODULE_LOADING=LAZY against 666,632,192 B eager; ptrblck in
//    pytorch/pytorch#107667: "~300MB" since lazy loading (CUDA 11.7), lazy by
//    default since CUDA 12.2 (NVIDIA CUDA programming guide, lazy loading).
//    We take 512 MiB for a PyTorch process (context plus PyTorch's own
//    modules; the upper end of the 300-500 MiB seen with CUDA >= 12) and
//    300 MiB for llama.cpp's smaller ggml-cuda module set.
//    With eager module loading (CUDA < 11.7, or CUDA_MODULE_LOADING=EAGER)
//    every kernel of PyTorch's fat binary is loaded at context creation:
//    transformers' "Efficient Training on a Single GPU" guide
//    (docs/source/en/perf_train_gpu_one.mdx, V100, driver CUDA 11.2)
//    measured 1343 MB after torch.ones((1, 1)).to("cuda"); that is
//    runtimes::transformers_eager_loading. Both are profile fields: set
//    gpu_context_bytes to what nvidia-smi shows on your stack.
//  - cuBLAS workspace: PyTorch's default CUBLAS_WORKSPACE_CONFIG is
//    ":4096:2:16:8" (8.125 MiB) and 32 MiB on Hopper
//    (aten/src/ATen/cuda/CublasHandlePool.cpp); we count 32 MiB.
//  - Allocator slack: PyTorch's caching allocator rounds every block up and
//    keeps freed blocks reserved; torch.cuda.memory_reserved() typically
//    exceeds memory_allocated() by 5-15% under training. We add 10% of the
//    dynamic bytes (activations, KV cache, gradients) for PyTorch stacks;
//    ggml allocates its buffers once, exactly: 0%.
//  - Ollama: MinimumMemory = 457 MiB kept free per CUDA/ROCm GPU
//    (ollama ml/device.go, at f560bd077^; 512 MiB on Metal).
//  - vLLM: gpu_memory_utilization = 0.90 (vllm/engine/arg_utils.py EngineArgs
//    default): vLLM takes 90% of the total memory the driver reports
//    (torch.cuda.mem_get_info) for weights, activations, non-torch memory and
//    KV blocks, which fill whatever that budget leaves.
//  - llama.cpp's compute buffer is an activation estimate (activations.hpp),
//    not an overhead; with layers left on the CPU the KV of those layers stays
//    in host RAM (llama.cpp offload_kqv; see offload.hpp).
// This header does not include xsimd.

#include <cstdint>
#include <string_view>

#include "qmath/devices/device.hpp"
#include "qmath/estimate/breakdown.hpp"
#include "qmath/estimate/kv_cache.hpp"

namespace qmath {

// How a stack splits a model that does not fit (offload.hpp).
enum class offload_style : std::uint8_t {
  llama_cpp,   // last n blocks on the GPU, computed where they live
  accelerate,  // first n blocks on the GPU, the rest streamed from host RAM
};

struct runtime_profile {
  std::string_view name;
  std::uint64_t gpu_context_bytes = 0;   // CUDA/ROCm context per process per GPU
  std::uint64_t workspace_bytes = 0;     // cuBLAS and similar fixed workspaces per GPU
  std::uint64_t reserve_bytes = 0;       // memory the runtime refuses to use (Ollama's minimum)
  std::uint32_t slack_permille = 0;      // allocator slack on dynamic bytes, per mille
  // vLLM: the fraction of a device's memory the engine claims (0: none; the
  // process takes what it allocates).
  double memory_utilization = 0;
  offload_style offload = offload_style::llama_cpp;
  kv_cache_layout kv_layout = kv_cache_layout::hf;

  friend constexpr bool operator==(const runtime_profile&, const runtime_profile&) = default;
};

namespace runtimes {
// Hugging Face transformers / PyTorch (eager), inference or training.
inline constexpr runtime_profile transformers{.name = "transformers",
                                              .gpu_context_bytes = 512 * mib,
                                              .workspace_bytes = 32 * mib,
                                              .slack_permille = 100,
                                              .offload = offload_style::accelerate};
// transformers on a stack that loads CUDA modules eagerly (CUDA 11.x before
// lazy loading, torch 1.x): the 1343 MiB context measured in
// perf_train_gpu_one.mdx (nvidia-smi "used", MiB).
inline constexpr runtime_profile transformers_eager_loading{.name = "transformers (eager CUDA module loading)",
                                                            .gpu_context_bytes = 1343 * mib,
                                                            .workspace_bytes = 32 * mib,
                                                            .slack_permille = 100,
                                                            .offload = offload_style::accelerate};
// llama.cpp server / CLI on a CUDA GPU.
inline constexpr runtime_profile llama_cpp{
    .name = "llama.cpp", .gpu_context_bytes = 300 * mib, .kv_layout = kv_cache_layout::llama_cpp};
// Ollama: llama.cpp plus the 457 MiB minimum it keeps free per GPU.
inline constexpr runtime_profile ollama{.name = "ollama",
                                        .gpu_context_bytes = 300 * mib,
                                        .reserve_bytes = 457 * mib,
                                        .kv_layout = kv_cache_layout::llama_cpp};
// vLLM with its default gpu_memory_utilization.
inline constexpr runtime_profile vllm{.name = "vllm",
                                      .gpu_context_bytes = 512 * mib,
                                      .workspace_bytes = 32 * mib,
                                      .memory_utilization = 0.9,
                                      .offload = offload_style::accelerate};
// Nothing but the estimate itself: for comparisons with published formulas.
inline constexpr runtime_profile bare{.name = "bare"};
}  // namespace runtimes

// Rejects a profile whose vLLM share is NaN or outside [0, 1] (0: none).
constexpr const runtime_profile& validate(const runtime_profile& r) {
  (void)detail::checked_range(r.memory_utilization, 0.0, 1.0, "qmath::runtime_profile", "memory_utilization");
  return r;
}

// Does the device run a GPU driver context (CUDA / ROCm)? Apple's Metal limit
// is already in the device's usable bytes; CPU-only devices have none.
constexpr bool has_gpu_context(const device& d) noexcept {
  const bool accelerator_vendor = d.vendor == device_vendor::nvidia || d.vendor == device_vendor::amd;
  return accelerator_vendor && (d.kind == device_kind::gpu || d.kind == device_kind::cloud_instance);
}

// The overhead a profile adds on one device to a breakdown whose dynamic
// (activation, KV, gradient) bytes are `dynamic_bytes`.
constexpr std::uint64_t runtime_overhead_bytes(const runtime_profile& r, const device& d,
                                               std::uint64_t dynamic_bytes) {
  constexpr const char* api = "qmath::runtime_overhead_bytes";
  // dynamic x slack / 1000 without forming the product: (q x 1000 + r) x s / 1000
  std::uint64_t bytes = detail::checked_add(detail::checked_mul(dynamic_bytes / 1000, r.slack_permille, api, "slack bytes"),
                                            dynamic_bytes % 1000 * r.slack_permille / 1000, api, "slack bytes");
  if (has_gpu_context(d))
    bytes = detail::checked_sum(api, "overhead bytes", bytes, r.gpu_context_bytes, r.workspace_bytes, r.reserve_bytes);
  return bytes;
}

// The bytes a runtime lets a plan use on a device: usable memory, or vLLM's
// gpu_memory_utilization share of it (usable_bytes is the driver's total).
constexpr std::uint64_t runtime_budget_bytes(const runtime_profile& r, const device& d) {
  (void)validate(r);
  if (r.memory_utilization <= 0 || r.memory_utilization >= 1 || !has_gpu_context(d)) return d.usable_bytes;
  // below usable_bytes as a double, so the cast cannot overflow
  const double share = static_cast<double>(d.usable_bytes) * r.memory_utilization;
  return share >= static_cast<double>(d.usable_bytes) ? d.usable_bytes : static_cast<std::uint64_t>(share);
}

}  // namespace qmath

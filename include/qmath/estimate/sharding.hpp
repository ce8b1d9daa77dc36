#pragma once
// Multi-GPU layouts: what each GPU holds under data parallelism with ZeRO /
// FSDP sharding, tensor parallelism, pipeline parallelism and CPU offload.
//
// ZeRO (Rajbhandari et al. 2020) partitions, over the N data-parallel ranks:
//   stage 1: optimizer state and fp32 master weights (and the fp32 gradient
//            partition the optimizer reads)
//   stage 2: + gradients
//   stage 3: + the weights themselves; a rank gathers one layer at a time, so
//            it also holds that layer's 16-bit weights and gradients:
//            DeepSpeed counts 4 * largest_layer_params bytes
//            (deepspeed/runtime/zero/stage3.py estimate_zero3_model_states_mem_needs).
// PyTorch FSDP: FULL_SHARD = ZeRO-3, SHARD_GRAD_OP = ZeRO-2, NO_SHARD = DDP.
// CPU offload (ZeRO-Offload): offload_optimizer moves the optimizer state,
// the master weights and the gradients to host RAM (the GPU keeps the 16-bit
// weights: stage_1_and_2.py estimate_zero2_model_states_mem_needs,
// gpu_mem = 2 * total_params); offload_param (stage 3 only) moves the weights
// too, leaving the gathered layer.
// Tensor parallelism (Megatron) splits every block matrix over t GPUs;
// pipeline parallelism gives each GPU ceil(layers / p) blocks.
// This header does not include xsimd.

#include <cstdint>

#include "qmath/detail/bits.hpp"
#include "qmath/error.hpp"
#include "qmath/estimate/breakdown.hpp"
#include "qmath/models/architecture.hpp"

namespace qmath {

enum class zero_stage : std::uint8_t { none = 0, optimizer = 1, gradients = 2, parameters = 3 };
enum class fsdp_strategy : std::uint8_t { no_shard, shard_grad_op, full_shard };

constexpr zero_stage to_zero_stage(fsdp_strategy s) noexcept {
  return s == fsdp_strategy::full_shard      ? zero_stage::parameters
         : s == fsdp_strategy::shard_grad_op ? zero_stage::gradients
                                             : zero_stage::none;
}

struct parallelism {
  std::uint32_t data = 1;      // data-parallel ranks (ZeRO/FSDP shard over these)
  std::uint32_t tensor = 1;    // tensor-parallel degree
  std::uint32_t pipeline = 1;  // pipeline stages
  zero_stage zero = zero_stage::none;
  bool offload_optimizer = false;   // optimizer state, master weights, gradients in host RAM
  bool offload_parameters = false;  // ZeRO-3 only: the weight shards in host RAM

  // GPUs of the layout; validate() rejects degrees whose product passes 2^32 - 1.
  constexpr std::uint32_t gpus() const {
    const std::uint64_t n = detail::checked_product("qmath::parallelism", "GPU count", data, tensor, pipeline);
    QMATH_REQUIRE(n <= 0xffffffffu, "qmath::parallelism", "data x tensor x pipeline = ", n,
                  " GPUs does not fit 32 bits");
    return static_cast<std::uint32_t>(n);
  }
  friend constexpr bool operator==(const parallelism&, const parallelism&) = default;
};

constexpr const parallelism& validate(const parallelism& p) {
  constexpr const char* api = "qmath::parallelism";
  QMATH_REQUIRE(p.data > 0 && p.tensor > 0 && p.pipeline > 0, api, "parallel degrees must be positive (data ",
                p.data, ", tensor ", p.tensor, ", pipeline ", p.pipeline, ")");
  QMATH_REQUIRE(!p.offload_parameters || p.zero == zero_stage::parameters, api,
                "parameter offload needs ZeRO stage 3 (FSDP full shard)");
  (void)p.gpus();
  return p;
}

// The module with the most parameters of its own, as DeepSpeed's
// model_to_params finds it (weight plus bias of one module; for Llama the
// embedding or the LM head).
constexpr std::uint64_t largest_layer_parameters(const models::architecture& arch) {
  std::uint64_t best = 0, current = 0;
  models::for_each_tensor(arch, [&](const models::tensor& t) {
    // a bias belongs to the linear just before it
    current = t.bias ? detail::checked_add(current, t.elements(), "qmath::largest_layer_parameters", "module parameters")
                     : t.elements();
    if (current > best) best = current;
  });
  return best;
}

namespace detail {
constexpr std::uint64_t shard(std::uint64_t bytes, std::uint32_t ranks) noexcept { return ceil_div(bytes, ranks); }
}  // namespace detail

// What one GPU and the host hold of a model's state.
struct sharded_state {
  memory_breakdown gpu;                // per GPU
  std::uint64_t host_bytes = 0;        // per process (one per GPU) in host RAM
};

// Splits the model state (weights, gradients, optimizer, master weights,
// adapters: `full` is for the whole model on one GPU) over a layout.
// `largest_layer_bytes` is the 16-bit weights plus gradients of the largest
// module (4 * largest_layer_parameters for a 16-bit model), gathered by
// ZeRO-3 ranks. Tensor and pipeline parallelism divide every component;
// activations and KV cache are the plan's business.
constexpr sharded_state shard_model_state(const memory_breakdown& full, const parallelism& layout,
                                          std::uint64_t largest_layer_bytes) {
  const parallelism& p = validate(layout);
  const std::uint32_t model_split = p.tensor * p.pipeline;  // validate(): the product fits 32 bits
  const auto split = [&](std::uint64_t b) { return detail::shard(b, model_split); };
  memory_breakdown s;
  s.weights = split(full.weights);
  s.gradients = split(full.gradients);
  s.optimizer = split(full.optimizer);
  s.master_weights = split(full.master_weights);
  s.adapters = split(full.adapters);

  const std::uint32_t n = p.data;
  const auto z = static_cast<std::uint8_t>(p.zero);
  if (z >= 1) {
    s.optimizer = detail::shard(s.optimizer, n);
    s.master_weights = detail::shard(s.master_weights, n);
  }
  if (z >= 2) s.gradients = detail::shard(s.gradients, n);
  if (z >= 3) {
    s.weights = detail::shard(s.weights, n);
    s.adapters = detail::shard(s.adapters, n);
  }

  sharded_state out;
  constexpr const char* api = "qmath::shard_model_state";
  if (p.offload_optimizer) {
    out.host_bytes = detail::checked_sum(api, "offloaded bytes", s.optimizer, s.master_weights, s.gradients);
    s.optimizer = s.master_weights = s.gradients = 0;
  }
  if (p.offload_parameters) {
    out.host_bytes = detail::checked_add(out.host_bytes, s.weights, api, "offloaded bytes");
    s.weights = 0;
  }
  if (z >= 3) s.overhead = detail::checked_add(s.overhead, largest_layer_bytes, api, "gathered layer bytes");
  out.gpu = s;
  return out;
}

// DeepSpeed's own estimators, reproduced to compare against (bytes, as the
// Python returns them before printing). Sources, deepspeedai/DeepSpeed:
//   deepspeed/runtime/zero/stage_1_and_2.py estimate_zero2_model_states_mem_needs
//     (commit 02aa38c; "2P + 18P/N" since PR #5099, formerly 4P + 16P/N)
//   deepspeed/runtime/zero/stage3.py estimate_zero3_model_states_mem_needs
struct deepspeed_estimate {
  std::uint64_t cpu_bytes;
  std::uint64_t gpu_bytes;
};

constexpr deepspeed_estimate deepspeed_zero2_estimate(std::uint64_t total_params, std::uint32_t gpus_per_node,
                                                      std::uint32_t nodes, bool cpu_offload,
                                                      double additional_buffer_factor = 1.5) {
  constexpr const char* api = "qmath::deepspeed_zero2_estimate";
  using detail::checked_truncate_from_double;
  QMATH_REQUIRE(gpus_per_node > 0 && nodes > 0, api, "no GPUs");
  (void)detail::checked_non_negative(additional_buffer_factor, api, "additional buffer factor");
  const std::uint64_t total_gpus = std::uint64_t{gpus_per_node} * nodes;
  const auto p = static_cast<double>(total_params);
  const std::uint64_t gpu_params = detail::checked_mul(2, total_params, api, "GPU bytes");
  if (cpu_offload) {
    const double factor = 4.0 * static_cast<double>(total_gpus) > 16 ? 4.0 * static_cast<double>(total_gpus) : 16;
    return {checked_truncate_from_double(p * factor * additional_buffer_factor, api, "CPU bytes"), gpu_params};
  }
  // int(18 * total_params / total_gpus): Python true division, truncated
  const auto sharded = checked_truncate_from_double(18.0 * p / static_cast<double>(total_gpus), api, "GPU bytes");
  return {checked_truncate_from_double(p * 4 * gpus_per_node * additional_buffer_factor, api, "CPU bytes"),
          detail::checked_add(gpu_params, sharded, api, "GPU bytes")};
}

constexpr deepspeed_estimate deepspeed_zero3_estimate(std::uint64_t total_params, std::uint64_t largest_layer_params,
                                                      std::uint32_t gpus_per_node, std::uint32_t nodes,
                                                      bool cpu_offload, bool cpu_offload_params, bool zero_init,
                                                      double additional_buffer_factor = 1.5) {
  constexpr const char* api = "qmath::deepspeed_zero3_estimate";
  using detail::checked_truncate_from_double;
  QMATH_REQUIRE(gpus_per_node > 0 && nodes > 0, api, "no GPUs");
  (void)detail::checked_non_negative(additional_buffer_factor, api, "additional buffer factor");
  const double total_gpus = static_cast<double>(gpus_per_node) * nodes;
  const double gpus_factor = 1.0 / nodes;
  const auto p = static_cast<double>(total_params);
  const std::uint64_t largest = detail::checked_mul(4, largest_layer_params, api, "gathered layer bytes");
  const auto max_d = [](double a, double b) { return a > b ? a : b; };
  double cpu = 0;
  std::uint64_t gpu = 0;
  if (cpu_offload) {
    if (cpu_offload_params) {
      gpu = largest;
      cpu = zero_init ? p * 18 * gpus_factor * additional_buffer_factor
                      : p * max_d(4.0 * gpus_per_node, 18 * gpus_factor) * additional_buffer_factor;
    } else {
      gpu = detail::checked_add(largest, checked_truncate_from_double(2 * p / total_gpus, api, "GPU bytes"), api,
                                "GPU bytes");
      cpu = zero_init ? p * 16 * gpus_factor * additional_buffer_factor
                      : p * max_d(4.0 * gpus_per_node, 16 * gpus_factor) * additional_buffer_factor;
    }
  } else {
    gpu = detail::checked_add(largest, checked_truncate_from_double(18 * p / total_gpus, api, "GPU bytes"), api,
                              "GPU bytes");
    cpu = zero_init ? static_cast<double>(largest_layer_params) * 4 * gpus_per_node * additional_buffer_factor
                    : p * 4 * gpus_per_node * additional_buffer_factor;
  }
  return {checked_truncate_from_double(cpu, api, "CPU bytes"), gpu};
}

}  // namespace qmath

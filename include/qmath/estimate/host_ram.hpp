#pragma once
// Peak system memory (RAM) while a checkpoint is loaded, by loading method.
// The result is a memory_breakdown: `weights` is what stays resident on the
// host after loading, `overhead` the transient peak on top of it.
//
// Assumptions, per method:
//   torch_full_load   transformers without low_cpu_mem_usage on a torch .bin
//                     checkpoint: the model is built on the CPU with random
//                     weights in the load dtype (fp32 unless torch_dtype is
//                     given), then torch.load materialises the whole state
//                     dict next to it -> peak = model + checkpoint. The
//                     "2x model size" rule of the transformers docs
//                     (big_models.md, "Instantiating a big model").
//   safetensors_lazy  low_cpu_mem_usage / device_map (accelerate): the model
//                     is built on the meta device and each shard is memory-
//                     mapped and copied tensor by tensor -> peak = resident
//                     weights + one shard (save_pretrained's max_shard_size,
//                     5 GB by default); resident = 0 when every weight is
//                     moved to the GPU.
//   gguf_mmap         llama.cpp maps the GGUF file (llama-mmap.cpp): pages
//                     of tensors used by the CPU stay in the page cache
//                     (resident ~ bytes of the CPU-side tensors, the whole
//                     file for CPU inference); tensors uploaded to a GPU are
//                     read once and their pages can be dropped (~0 extra once
//                     fully offloaded). Page cache is reclaimable, so this is
//                     resident, not locked, memory (unless --mlock).
// This header does not include xsimd.

#include <algorithm>
#include <cstdint>

#include "qmath/estimate/breakdown.hpp"
#include "qmath/estimate/weights.hpp"
#include "qmath/models/architecture.hpp"

namespace qmath {

enum class load_method : std::uint8_t { torch_full_load, safetensors_lazy, gguf_mmap };

struct host_ram_config {
  load_method method = load_method::safetensors_lazy;
  weight_recipe checkpoint = weight_recipe::checkpoint();  // what the file holds
  format_id load_dtype = format_id::f32;   // torch_full_load: dtype the model is built in
  std::uint64_t shard_bytes = 5'000'000'000;  // safetensors_lazy: largest shard
  double offloaded_fraction = 0.0;          // share of the weights moved to accelerators (0..1)
};

constexpr memory_breakdown host_ram(const models::architecture& a, const host_ram_config& c) {
  constexpr const char* api = "qmath::host_ram";
  QMATH_REQUIRE(c.offloaded_fraction >= 0.0 && c.offloaded_fraction <= 1.0, api, "offloaded fraction ",
                c.offloaded_fraction, " is not in [0, 1]");
  const std::uint64_t file_weights = weight_bytes(a, c.checkpoint).total();
  const auto on_host = [&](std::uint64_t bytes) {
    // at most `bytes`; a double product rounded up to 2^64 must not be cast
    const double kept = static_cast<double>(bytes) * (1.0 - c.offloaded_fraction);
    return kept >= static_cast<double>(bytes) ? bytes : static_cast<std::uint64_t>(kept);
  };
  memory_breakdown m;
  switch (c.method) {
    case load_method::torch_full_load: {
      QMATH_REQUIRE(c.checkpoint.kind == weight_recipe::kind_t::checkpoint ||
                        c.checkpoint.kind == weight_recipe::kind_t::uniform,
                    api, "torch_full_load reads an unquantized checkpoint");
      const std::uint64_t model = weight_bytes(a, weight_recipe::uniform(info(c.load_dtype), info(c.load_dtype))).total();
      m.weights = on_host(model);
      // state dict, and the CPU copy until it is moved
      m.overhead = detail::checked_add(file_weights, model - m.weights, api, "peak bytes");
      break;
    }
    case load_method::safetensors_lazy:
      QMATH_REQUIRE(c.shard_bytes > 0, api, "shard size must be positive");
      m.weights = on_host(file_weights);
      m.overhead = std::min(c.shard_bytes, file_weights);
      break;
    case load_method::gguf_mmap:
      QMATH_REQUIRE(c.checkpoint.kind == weight_recipe::kind_t::gguf, api, "gguf_mmap needs a gguf recipe");
      m.weights = on_host(file_weights);
      break;
  }
  return m;
}

}  // namespace qmath

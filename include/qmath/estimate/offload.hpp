#pragma once
// Splitting a model between a GPU and host RAM by layers, as llama.cpp /
// Ollama (--n-gpu-layers) and transformers / accelerate (device_map="auto")
// do it. The plan (plan.hpp) uses this split and solves for the largest layer
// count that fits; fits_together there checks several models on one device.
//
// llama.cpp (src/llama-model.cpp load_tensors): blocks i >= n_layer -
//   n_gpu_layers run on the GPU, i.e. the LAST n_gpu_layers blocks; the output
//   layer (final norm + LM head) joins them only when n_gpu_layers > n_layer
//   (so -ngl 33 offloads everything of a 32-layer model); the token embedding
//   always stays on the CPU ("there is very little benefit to offloading the
//   input layer, so always keep it on the CPU": pimpl->dev_input), and a tied
//   embedding is loaded once more as the output layer. The KV cache of a layer lives where the
//   layer runs (llama_kv_cache with offload_kqv, the default), so CPU layers
//   keep their KV in host RAM.
// accelerate (utils/modeling.py infer_auto_device_map): modules are placed in
//   order, embeddings first, then blocks 0, 1, ... until the GPU budget is
//   spent; the rest, LM head included, goes to the CPU. Offloaded blocks are
//   streamed to the GPU for every forward pass (AlignDevicesHook), so the GPU
//   keeps room for the largest block, and activations and the KV cache stay on
//   the execution GPU.
// This header does not include xsimd.

#include <cstdint>
#include <limits>

#include "qmath/estimate/runtime.hpp"
#include "qmath/estimate/weights.hpp"
#include "qmath/models/architecture.hpp"

namespace qmath {

// Every block and the output layer on the GPU (llama.cpp -ngl 999).
inline constexpr std::uint32_t all_layers = std::numeric_limits<std::uint32_t>::max();

struct layer_split {
  std::uint64_t gpu_weight_bytes = 0;
  std::uint64_t host_weight_bytes = 0;
  std::uint64_t streaming_buffer_bytes = 0;  // accelerate: the largest offloaded block, on the GPU
  std::uint32_t gpu_blocks = 0;              // transformer blocks on the GPU
  bool output_on_gpu = false;
};

// Where a model's weights go when `gpu_layers` blocks run on the GPU.
constexpr layer_split split_layers(const models::architecture& arch, const weight_recipe& recipe,
                                   std::uint32_t gpu_layers, offload_style style) {
  const models::architecture& a = models::validate(arch);
  layer_split s;
  s.gpu_blocks = gpu_layers < a.layers ? gpu_layers : a.layers;
  s.output_on_gpu = style == offload_style::llama_cpp ? gpu_layers > a.layers : gpu_layers >= a.layers;
  const std::uint32_t first_gpu_block = style == offload_style::llama_cpp ? a.layers - s.gpu_blocks : 0;
  const std::uint32_t end_gpu_block = style == offload_style::llama_cpp ? a.layers : s.gpu_blocks;

  std::uint64_t block_bytes = 0, largest_host_block = 0;
  std::int32_t current_block = -1;
  bool current_on_gpu = false;
  const auto close_block = [&] {
    if (current_block >= 0 && !current_on_gpu && block_bytes > largest_host_block) largest_host_block = block_bytes;
    block_bytes = 0;
  };
  models::for_each_tensor(a, [&](const models::tensor& t) {
    const std::uint64_t bytes = tensor_bytes(a, t, recipe);
    bool on_gpu = false;
    if (t.layer >= 0) {
      const auto i = static_cast<std::uint32_t>(t.layer);
      if (t.layer != current_block) {
        close_block();
        current_block = t.layer;
        current_on_gpu = i >= first_gpu_block && i < end_gpu_block;
      }
      block_bytes = detail::checked_add(block_bytes, bytes, "qmath::split_layers", "block bytes");
      on_gpu = current_on_gpu;
    } else if (t.role == models::tensor_role::token_embedding) {
      // accelerate puts the embedding on the GPU first. llama.cpp keeps it on
      // the CPU; a tied one is loaded a second time as the output layer
      // (llama-model-loader TENSOR_DUPLICATED), on the GPU with the output.
      on_gpu = style == offload_style::accelerate;
      if (!on_gpu && a.tied_embeddings && s.output_on_gpu)
        s.gpu_weight_bytes = detail::checked_add(s.gpu_weight_bytes, bytes, "qmath::split_layers", "GPU weight bytes");
    } else if (t.role == models::tensor_role::position_embedding ||
               t.role == models::tensor_role::token_type_embedding) {
      on_gpu = style == offload_style::accelerate;
    } else {
      on_gpu = s.output_on_gpu;  // final norm, LM head, pooler
    }
    std::uint64_t& side = on_gpu ? s.gpu_weight_bytes : s.host_weight_bytes;
    side = detail::checked_add(side, bytes, "qmath::split_layers", "weight bytes");
  });
  close_block();
  if (style == offload_style::accelerate && s.gpu_blocks < a.layers) s.streaming_buffer_bytes = largest_host_block;
  return s;
}

}  // namespace qmath

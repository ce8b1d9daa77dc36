#pragma once
// KV-cache bytes for any batch and context, in any cache type, laid out as
// Hugging Face transformers or llama.cpp lay it out.
//
// Per layer and per cached token (a "cell"):
//   ordinary attention  K: n_kv_heads x head_dim values, V: n_kv_heads x v_head_dim values
//   MLA (DeepSeek-V2)   compressed: kv_lora_rank + qk_rope_head_dim values, no separate V
//                       (the latent c_kv and the shared rope key, paper sec. 2.1.3; llama.cpp's
//                       DeepSeek2 cache and vLLM's MLA cache hold exactly this);
//                       decompressed (transformers' eager DeepseekV2Attention): per-head K and V
// Each row of values costs storage_bytes(type, row): Q8_0 is 34 bytes per 32
// values, Q4_0 18 per 32 (the format table), so a row must be whole blocks.
//
// Cells per layer:
//   hf         batch x context on full-attention layers; sliding-window layers
//              capped at the window (transformers' HybridCache / SlidingWindowCache)
//   llama_cpp  one unified cache of pad(batch x context, 256) cells
//              (src/llama-context.cpp: cparams.n_ctx = GGML_PAD(cparams.n_ctx, 256));
//              sliding-window layers get pad(min(n_ctx, window x n_seq + n_ubatch), 256)
//              cells (src/llama-kv-cache-iswa.cpp, size_swa), unless swa_full.
//              Builds before that change padded to 32 cells, or 256 with flash
//              attention (llama_kv_cache::get_padding): set ctx_padding to match.
// This header does not include xsimd.

#include <algorithm>
#include <cstdint>

#include "qmath/estimate/breakdown.hpp"
#include "qmath/formats/format_info.hpp"
#include "qmath/formats/table.hpp"
#include "qmath/models/architecture.hpp"

namespace qmath {

enum class kv_cache_layout : std::uint8_t { hf, llama_cpp };

struct kv_cache_config {
  std::uint64_t context = 0;  // tokens per sequence
  std::uint64_t batch = 1;    // sequences
  format_info type_k = info(format_id::f16);
  format_info type_v = info(format_id::f16);
  kv_cache_layout layout = kv_cache_layout::hf;
  bool flash_attention = false;       // llama.cpp needs it for a quantized V cache
  bool sliding_window = true;         // false: every layer keeps the full context (llama.cpp --swa-full)
  bool mla_compressed = true;         // MLA: cache the latent, not per-head K/V
  std::uint32_t ubatch = 512;         // llama.cpp n_ubatch (extra cells of a sliding-window cache)
  std::uint32_t ctx_padding = 256;    // llama.cpp cell padding
};

struct kv_cache_estimate {
  std::uint64_t bytes = 0;            // the whole cache
  std::uint64_t k_bytes = 0;
  std::uint64_t v_bytes = 0;
  std::uint64_t full_cells = 0;       // cells of a full-attention layer
  std::uint64_t sliding_cells = 0;    // cells of a sliding-window layer (0 if none)
  std::uint32_t full_layers = 0;
  std::uint32_t sliding_layers = 0;
};

namespace detail {

constexpr std::uint64_t round_up(std::uint64_t n, std::uint64_t multiple) {
  return multiple <= 1 ? n : checked_mul(ceil_div(n, multiple), multiple, "qmath::kv_cache", "padded cells");
}

// K and V row lengths (values per cell per layer).
constexpr std::uint64_t kv_k_row(const models::architecture& a, bool mla_compressed) {
  if (a.is_mla()) {
    return mla_compressed ? std::uint64_t{a.kv_lora_rank} + a.qk_rope_head_dim
                          : std::uint64_t{a.heads} * (a.qk_nope_head_dim + a.qk_rope_head_dim);
  }
  return a.k_dim();
}
constexpr std::uint64_t kv_v_row(const models::architecture& a, bool mla_compressed) {
  if (a.is_mla()) return mla_compressed ? 0 : std::uint64_t{a.heads} * a.v_head_dim;
  return a.v_dim();
}

}  // namespace detail

// Bytes one token adds to the cache of every layer (no padding, no window).
constexpr std::uint64_t kv_cache_bytes_per_token(const models::architecture& arch,
                                                 const format_info& type_k = info(format_id::f16),
                                                 const format_info& type_v = info(format_id::f16),
                                                 bool mla_compressed = true) {
  const models::architecture& a = models::validate(arch);
  QMATH_REQUIRE(a.kind == models::model_kind::decoder, "qmath::kv_cache_bytes_per_token", a.name,
                " is an encoder and keeps no KV cache");
  const std::uint64_t v_row = detail::kv_v_row(a, mla_compressed);
  const std::uint64_t per_layer =
      detail::checked_add(storage_bytes(type_k, detail::kv_k_row(a, mla_compressed)),
                          v_row != 0 ? storage_bytes(type_v, v_row) : 0, "qmath::kv_cache_bytes_per_token",
                          "bytes per token and layer");
  return detail::checked_mul(per_layer, a.layers, "qmath::kv_cache_bytes_per_token", "bytes per token");
}

constexpr kv_cache_estimate kv_cache(const models::architecture& arch, const kv_cache_config& c) {
  constexpr const char* api = "qmath::kv_cache";
  const models::architecture& a = models::validate(arch);
  QMATH_REQUIRE(a.kind == models::model_kind::decoder, api, a.name, " is an encoder and keeps no KV cache");
  QMATH_REQUIRE(c.context > 0, api, "context must be positive");
  QMATH_REQUIRE(c.batch > 0, api, "batch must be positive");
  QMATH_REQUIRE(c.layout != kv_cache_layout::llama_cpp || c.flash_attention ||
                    c.type_v.family == format_family::floating_point,
                api, "llama.cpp needs flash attention for a quantized V cache (type_v ", c.type_v.name, ")");

  kv_cache_estimate e;
  const std::uint64_t tokens = detail::checked_mul(c.batch, c.context, api, "batch x context tokens");
  const bool has_sliding = c.sliding_window && a.sliding_window != 0;
  if (c.layout == kv_cache_layout::hf) {
    e.full_cells = tokens;
    if (has_sliding)
      e.sliding_cells = detail::checked_mul(c.batch, std::min<std::uint64_t>(c.context, a.sliding_window), api,
                                            "sliding-window cells");
  } else {
    e.full_cells = detail::round_up(tokens, c.ctx_padding);
    if (has_sliding)
      e.sliding_cells = detail::round_up(
          std::min<std::uint64_t>(
              e.full_cells, detail::checked_add(detail::checked_mul(a.sliding_window, c.batch, api, "sliding-window cells"),
                                                c.ubatch, api, "sliding-window cells")),
          256);
  }

  const std::uint64_t k_row = storage_bytes(c.type_k, detail::kv_k_row(a, c.mla_compressed));
  const std::uint64_t v_len = detail::kv_v_row(a, c.mla_compressed);
  const std::uint64_t v_row = v_len != 0 ? storage_bytes(c.type_v, v_len) : 0;
  // Layers of one kind are alike: count them instead of walking them.
  e.sliding_layers = has_sliding ? a.sliding_layers_in(0, a.layers) : 0;
  e.full_layers = a.layers - e.sliding_layers;
  const auto bytes_of = [&](std::uint64_t row, const char* quantity) {
    return detail::checked_add(detail::checked_product(api, quantity, row, e.full_cells, e.full_layers),
                               detail::checked_product(api, quantity, row, e.sliding_cells, e.sliding_layers), api,
                               quantity);
  };
  e.k_bytes = bytes_of(k_row, "K cache bytes");
  e.v_bytes = bytes_of(v_row, "V cache bytes");
  e.bytes = detail::checked_add(e.k_bytes, e.v_bytes, api, "KV cache bytes");
  return e;
}

constexpr memory_breakdown kv_cache_memory(const models::architecture& a, const kv_cache_config& c) {
  memory_breakdown m;
  m.kv_cache = kv_cache(a, c).bytes;
  return m;
}

}  // namespace qmath

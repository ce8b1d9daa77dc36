#pragma once
// Bytes of a model's weights as a checkpoint or a runtime stores them: per
// tensor, the format a recipe assigns, costed only through storage_bytes (the
// format table is the one source of block sizes). Recipes:
//   checkpoint  every tensor in the architecture's published dtype (the
//               safetensors total)
//   uniform     every 2-D tensor in one format, vectors in another
//   bnb_4bit    bitsandbytes NF4/FP4 through transformers: nn.Linear weights
//               quantized, everything else in the compute dtype
//   bnb_8bit    LLM.int8: nn.Linear weights int8 with an fp32 scale per row
//   gguf        llama.cpp's quantization mixes (llama-quantize ftypes)
// This header does not include xsimd.

#include <array>
#include <cstdint>

#include "qmath/estimate/breakdown.hpp"
#include "qmath/formats/format_info.hpp"
#include "qmath/formats/table.hpp"
#include "qmath/models/architecture.hpp"

namespace qmath {

// llama.cpp file types (include/llama.h enum llama_ftype; names as llama-quantize prints them).
enum class gguf_ftype : std::uint8_t {
  all_f32, f16, bf16,
  q4_0, q4_1, q5_0, q5_1, q8_0,
  q2_k, q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k,
};

struct weight_recipe {
  enum class kind_t : std::uint8_t { checkpoint, uniform, bnb_4bit, bnb_8bit, gguf };
  kind_t kind = kind_t::checkpoint;
  format_info matrices = info(format_id::f16);  // uniform: 2-D tensors; bnb_4bit: the 4-bit format
  format_info others = info(format_id::f16);    // uniform: vectors; bnb: every tensor left unquantized
  gguf_ftype ftype = gguf_ftype::f16;

  static constexpr weight_recipe checkpoint() { return {}; }
  static constexpr weight_recipe uniform(format_info matrix_format,
                                         format_info vector_format = info(format_id::f16)) {
    return {kind_t::uniform, matrix_format, vector_format, gguf_ftype::f16};
  }
  // bnb_4bit_info(...) carries block size and double quantization; the compute
  // dtype (bnb_4bit_compute_dtype / torch_dtype) stores what is not quantized.
  static constexpr weight_recipe bnb_4bit(format_info four_bit = bnb_4bit_info(format_id::bnb_nf4),
                                          format_id compute_dtype = format_id::bf16) {
    return {kind_t::bnb_4bit, four_bit, info(compute_dtype), gguf_ftype::f16};
  }
  static constexpr weight_recipe bnb_8bit(format_id compute_dtype = format_id::f16) {
    return {kind_t::bnb_8bit, info(format_id::bnb_int8_rowwise), info(compute_dtype), gguf_ftype::f16};
  }
  static constexpr weight_recipe gguf(gguf_ftype type) {
    return {kind_t::gguf, info(format_id::f16), info(format_id::f32), type};
  }
};

namespace detail {

// info(id) without the linear search: the estimators look up a format for
// every tensor of a model. Ids past the last one known here use info().
inline constexpr std::size_t indexed_format_ids = static_cast<std::size_t>(format_id::bitnet_ternary) + 1;
inline constexpr auto format_slot = [] {
  std::array<std::size_t, indexed_format_ids> slot{};
  for (std::size_t i = 0; i < format_table.size(); ++i) {
    const auto id = static_cast<std::size_t>(format_table[i].id);
    if (id < indexed_format_ids) slot[id] = i;
  }
  return slot;
}();
constexpr const format_info& table_info(format_id id) {
  const auto i = static_cast<std::size_t>(id);
  return i < indexed_format_ids && format_table[format_slot[i]].id == id ? format_table[format_slot[i]] : info(id);
}

// llama-quantize's default tensor type per ftype
// (src/llama-quant.cpp llama_ftype_get_default_type).
constexpr format_id gguf_default_type(gguf_ftype t) noexcept {
  switch (t) {
    case gguf_ftype::all_f32: return format_id::f32;
    case gguf_ftype::f16: return format_id::f16;
    case gguf_ftype::bf16: return format_id::bf16;
    case gguf_ftype::q4_0: return format_id::q4_0;
    case gguf_ftype::q4_1: return format_id::q4_1;
    case gguf_ftype::q5_0: return format_id::q5_0;
    case gguf_ftype::q5_1: return format_id::q5_1;
    case gguf_ftype::q8_0: return format_id::q8_0;
    case gguf_ftype::q2_k: return format_id::q2_k;
    case gguf_ftype::q3_k_s:
    case gguf_ftype::q3_k_m:
    case gguf_ftype::q3_k_l: return format_id::q3_k;
    case gguf_ftype::q4_k_s:
    case gguf_ftype::q4_k_m: return format_id::q4_k;
    case gguf_ftype::q5_k_s:
    case gguf_ftype::q5_k_m: return format_id::q5_k;
    case gguf_ftype::q6_k: return format_id::q6_k;
  }
  return format_id::f16;
}

constexpr bool is_block_quantized(format_id id) noexcept {
  return id != format_id::f32 && id != format_id::f16 && id != format_id::bf16;
}

// llama.cpp's use_more_bits(i_layer, n_layers): the first and last eighth of
// the layers and every third layer in between (src/llama-quant.cpp,
// llama_tensor_get_type_impl).
constexpr bool gguf_use_more_bits(std::int64_t i, std::int64_t n) noexcept {
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

// tensor_type_fallback (src/llama-quant.cpp): a row length that is not a whole
// number of blocks falls back to a 32-element type, then to F16.
constexpr format_id gguf_fallback(format_id wanted, std::uint64_t ncols) {
  if (ncols % table_info(wanted).block_elems == 0) return wanted;
  format_id fallback = wanted;
  switch (wanted) {
    case format_id::q2_k:
    case format_id::q3_k: fallback = format_id::q4_0; break;
    case format_id::q4_k: fallback = format_id::q5_0; break;
    case format_id::q5_k: fallback = format_id::q5_1; break;
    case format_id::q6_k: fallback = format_id::q8_0; break;
    default: fallback = format_id::f16; break;
  }
  return ncols % table_info(fallback).block_elems == 0 ? fallback : format_id::f16;
}

// The type llama-quantize gives one tensor: llama_tensor_get_type and
// llama_tensor_get_type_impl in src/llama-quant.cpp (ggml-org/llama.cpp @
// 007dbbf), for the non-IQ ftypes, without an imatrix and without overrides.
// The counters i_attention_wv and i_ffn_down run over tensors sorted by layer
// (llama_model_loader's weight_name_comparer), so with one attn_v / ffn_down
// per layer they equal the layer index.
//
// Source types, as convert_hf_to_gguf.py writes them: 1-D tensors, norms, the
// MoE router (ffn_gate_inp) and BERT's position / token-type embeddings are
// F32; other 2-D tensors are in the ftype's float type. llama-quantize leaves
// all of these but the 2-D "*weight" tensors alone (tensor_allows_quantization).
constexpr format_id gguf_tensor_type(const models::architecture& a, const models::tensor& t, gguf_ftype ftype) {
  using models::tensor_role;
  const format_id base = gguf_default_type(ftype);
  const bool never_quantized = t.is_vector() || t.role == tensor_role::norm || t.role == tensor_role::router ||
                               t.role == tensor_role::shared_expert_router ||
                               t.role == tensor_role::position_embedding ||
                               t.role == tensor_role::token_type_embedding;
  if (never_quantized) return format_id::f32;
  if (!is_block_quantized(base)) return base;

  const std::uint64_t ncols = t.cols;
  const std::int64_t n_layer = a.layers;
  const std::int64_t i_layer = t.layer;
  const std::uint32_t n_gqa = a.heads / a.n_kv_heads();
  const std::uint32_t n_expert = a.experts;
  // llama.cpp keys this on its model-type detection (llama-model.cpp, LLaMA:
  // 80 layers are LLM_TYPE_70B with GQA, LLM_TYPE_65B without).
  const bool llama_70b = a.layers == 80 && !a.is_moe() && a.n_kv_heads() < a.heads;
  format_id type = base;

  const bool is_output = t.role == tensor_role::output;
  const bool is_tied_embedding = t.role == tensor_role::token_embedding && a.tied_embeddings;
  const bool attn_v_like = t.role == tensor_role::attn_v || t.role == tensor_role::attn_qkv ||
                           t.role == tensor_role::attn_kv_b;
  const bool ffn_down = t.role == tensor_role::ffn_down || t.role == tensor_role::expert_down ||
                        t.role == tensor_role::shared_down;

  if (is_output || is_tied_embedding) {
    // output.weight (and a tied token_embd): Q8_0 when the row does not split
    // into the base type's blocks, else Q6_K unless the file is Q8_0.
    // The wrapper's shape fallback then still applies (Q6_K -> Q8_0).
    if (ncols % table_info(base).block_elems != 0) return gguf_fallback(format_id::q8_0, ncols);
    return gguf_fallback(base == format_id::q8_0 ? format_id::q8_0 : format_id::q6_k, ncols);
  }
  if (t.role == tensor_role::token_embedding) return gguf_fallback(base, ncols);

  if (attn_v_like) {
    switch (ftype) {
      case gguf_ftype::q2_k: type = n_gqa >= 4 ? format_id::q4_k : format_id::q3_k; break;
      case gguf_ftype::q3_k_m: type = i_layer < 2 ? format_id::q5_k : format_id::q4_k; break;
      case gguf_ftype::q3_k_l: type = format_id::q5_k; break;
      case gguf_ftype::q4_k_m:
      case gguf_ftype::q5_k_m:
        if (gguf_use_more_bits(i_layer, n_layer)) type = format_id::q6_k;
        break;
      case gguf_ftype::q4_k_s:
        if (i_layer < 4) type = format_id::q5_k;
        break;
      default: break;
    }
    if (llama_70b && (type == format_id::q3_k || type == format_id::q4_k)) type = format_id::q5_k;
    if (n_expert == 8) type = format_id::q8_0;
  } else if (t.role == tensor_role::attn_k) {
    if (n_expert == 8) type = format_id::q8_0;
  } else if (ffn_down) {
    switch (ftype) {
      case gguf_ftype::q2_k: type = format_id::q3_k; break;
      case gguf_ftype::q3_k_m:
        // Falcon's exception does not apply to the architectures modelled here.
        type = i_layer < n_layer / 16 ? format_id::q5_k : format_id::q4_k;
        break;
      case gguf_ftype::q3_k_l: type = format_id::q5_k; break;
      case gguf_ftype::q4_k_m:
        if (gguf_use_more_bits(i_layer, n_layer)) type = format_id::q6_k;
        break;
      case gguf_ftype::q5_k_m:
        if (gguf_use_more_bits(i_layer, n_layer)) type = format_id::q6_k;
        break;
      case gguf_ftype::q4_k_s:
        if (i_layer < n_layer / 8) type = format_id::q5_k;
        break;
      default: break;
    }
  } else if (t.role == tensor_role::attn_o) {
    if (n_expert == 8) {
      if (ftype == gguf_ftype::q2_k || ftype == gguf_ftype::q3_k_s || ftype == gguf_ftype::q3_k_m ||
          ftype == gguf_ftype::q4_k_s || ftype == gguf_ftype::q4_k_m)
        type = format_id::q5_k;
    } else {
      if (ftype == gguf_ftype::q2_k) type = format_id::q3_k;
      else if (ftype == gguf_ftype::q3_k_m) type = format_id::q4_k;
      else if (ftype == gguf_ftype::q3_k_l) type = format_id::q5_k;
    }
  }
  return gguf_fallback(type, ncols);
}

}  // namespace detail

// The format a recipe stores one tensor in.
constexpr format_info tensor_format(const models::architecture& a, const models::tensor& t, const weight_recipe& r) {
  using kind = weight_recipe::kind_t;
  switch (r.kind) {
    case kind::checkpoint: return detail::table_info(a.checkpoint_dtype);
    case kind::uniform: return t.is_vector() ? r.others : r.matrices;
    case kind::bnb_4bit:
    case kind::bnb_8bit: {
      // transformers replaces nn.Linear modules with bnb Linear4bit/Linear8bitLt
      // except those in get_keys_to_not_convert (the output embedding, i.e.
      // lm_head, and tied weights) and llm_int8_skip_modules; embeddings, norms
      // and biases stay in the compute dtype (integrations/bitsandbytes.py,
      // replace_with_bnb_linear).
      const bool quantized = t.linear && t.role != models::tensor_role::output;
      if (!quantized) return r.others;
      if (r.kind == kind::bnb_8bit) {
        QMATH_REQUIRE(t.cols <= 0xffffffffu, "qmath::tensor_format", "LLM.int8 row of ", t.cols,
                      " elements does not fit a 32-bit block size");
        return bnb_int8_rowwise_info(static_cast<std::uint32_t>(t.cols));
      }
      return r.matrices;
    }
    case kind::gguf: return detail::table_info(detail::gguf_tensor_type(a, t, r.ftype));
  }
  return r.others;
}

// Bytes of one tensor under a recipe. GGUF stores routed experts as one 3-D
// tensor; bitsandbytes and safetensors store one tensor per expert, each with
// its own quantization state. bitsandbytes pads the last absmax block of a
// tensor whose size is not a multiple of the block (functional.quantize_4bit:
// blocks = ceil(n / blocksize)), so its cost is taken on whole blocks.
constexpr std::uint64_t tensor_bytes(const models::architecture& a, const models::tensor& t, const weight_recipe& r) {
  constexpr const char* api = "qmath::tensor_bytes";
  const format_info f = tensor_format(a, t, r);
  const std::uint64_t per_copy = detail::checked_mul(t.rows, t.cols, api, "tensor elements");
  if (f.family == format_family::bitsandbytes) {
    // bitsandbytes blocks run over the flattened tensor.
    const std::uint64_t padded =
        detail::checked_mul(detail::ceil_div(per_copy, f.block_elems), f.block_elems, api, "padded elements");
    return detail::checked_mul(t.copies, storage_bytes(f, padded), api, "tensor bytes");
  }
  // GGUF, group-wise and ternary blocks run along a row: a row must be whole
  // blocks (storage_bytes rejects it otherwise, naming the format).
  static_cast<void>(storage_bytes(f, t.cols));
  if (r.kind == weight_recipe::kind_t::gguf) return storage_bytes(f, t.elements());
  return detail::checked_mul(t.copies, storage_bytes(f, per_copy), api, "tensor bytes");
}

// Weight bytes and parameter counts per tensor class.
struct weight_breakdown {
  std::array<std::uint64_t, models::tensor_class_count> bytes{};
  std::array<std::uint64_t, models::tensor_class_count> parameters{};

  constexpr std::uint64_t operator[](models::tensor_class c) const noexcept {
    return bytes[static_cast<std::size_t>(c)];
  }
  constexpr std::uint64_t total() const {
    std::uint64_t sum = 0;
    for (auto b : bytes) sum = detail::checked_add(sum, b, "qmath::weight_breakdown", "weight bytes");
    return sum;
  }
  constexpr std::uint64_t total_parameters() const {
    std::uint64_t sum = 0;
    for (auto p : parameters) sum = detail::checked_add(sum, p, "qmath::weight_breakdown", "parameters");
    return sum;
  }
  // Bits per weight over the whole model, scales and unquantized tensors included.
  constexpr double bits_per_weight() const {
    return total_parameters() == 0 ? 0.0
                                   : 8.0 * static_cast<double>(total()) / static_cast<double>(total_parameters());
  }
};

constexpr weight_breakdown weight_bytes(const models::architecture& a,
                                        const weight_recipe& r = weight_recipe::checkpoint()) {
  weight_breakdown out;
  models::for_each_tensor(a, [&](const models::tensor& t) {
    const auto c = static_cast<std::size_t>(t.cls);
    out.bytes[c] = detail::checked_add(out.bytes[c], tensor_bytes(a, t, r), "qmath::weight_bytes", "weight bytes");
    out.parameters[c] = detail::checked_add(out.parameters[c], t.elements(), "qmath::weight_bytes", "parameters");
  });
  return out;
}

// The weights as a memory_breakdown component.
constexpr memory_breakdown weights_memory(const models::architecture& a,
                                          const weight_recipe& r = weight_recipe::checkpoint()) {
  memory_breakdown m;
  m.weights = weight_bytes(a, r).total();
  return m;
}

}  // namespace qmath

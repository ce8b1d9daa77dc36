#pragma once
// Reads a Hugging Face config.json into a qmath architecture. Optional: only
// available when <nlohmann/json.hpp> is (the rest of qmath does not need it).
// Key names and per-model defaults are those of transformers' configuration
// classes (models/<type>/configuration_<type>.py); a key the class gives a
// default for may be absent, any other missing key is an error. Malformed
// JSON, missing keys, wrong value types and unknown model types throw
// qmath::error (or abort with QMATH_NO_EXCEPTIONS) naming the key.
// This header does not include xsimd.

#if __has_include(<nlohmann/json.hpp>)

#include <cstdint>
#include <fstream>
#include <limits>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "qmath/error.hpp"
#include "qmath/io/plausible.hpp"
#include "qmath/models/architecture.hpp"

#define QMATH_HAS_HF_CONFIG 1

namespace qmath::io {

namespace detail {

inline constexpr const char* hf_api = "qmath::io::read_hf_config";

inline const char* json_type_name(const nlohmann::json& j) { return j.type_name(); }

// A required unsigned integer that fits 32 bits.
inline std::uint32_t get_u32(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  QMATH_REQUIRE(it != j.end(), hf_api, "missing key '", key, "'");
  QMATH_REQUIRE(it->is_number_integer() && *it >= 0, hf_api, "key '", key,
                "' must be a non-negative integer, got ", json_type_name(*it));
  const auto v = it->get<std::uint64_t>();
  QMATH_REQUIRE(v <= std::numeric_limits<std::uint32_t>::max(), hf_api, "key '", key, "' = ", v,
                " is out of range");
  return static_cast<std::uint32_t>(v);
}

// An optional integer: absent or null gives `fallback`.
inline std::uint32_t get_u32_or(const nlohmann::json& j, const char* key, std::uint32_t fallback) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return get_u32(j, key);
}

inline bool get_bool_or(const nlohmann::json& j, const char* key, bool fallback) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  QMATH_REQUIRE(it->is_boolean(), hf_api, "key '", key, "' must be a boolean, got ", json_type_name(*it));
  return it->get<bool>();
}

inline std::string get_string(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  QMATH_REQUIRE(it != j.end(), hf_api, "missing key '", key, "'");
  QMATH_REQUIRE(it->is_string(), hf_api, "key '", key, "' must be a string, got ", json_type_name(*it));
  return it->get<std::string>();
}

inline format_id dtype_of(const nlohmann::json& j) {
  // transformers writes torch_dtype (renamed dtype in v4.56+); absent means
  // fp32. A null "dtype" does not hide a torch_dtype beside it.
  const auto d = j.find("dtype");
  const char* key = d != j.end() && !d->is_null() ? "dtype" : "torch_dtype";
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return format_id::f32;
  QMATH_REQUIRE(it->is_string(), hf_api, "key '", key, "' must be a string, got ", json_type_name(*it));
  const auto s = it->get<std::string>();
  if (s == "bfloat16") return format_id::bf16;
  if (s == "float16") return format_id::f16;
  if (s == "float32") return format_id::f32;
  if (s == "float8_e4m3fn") return format_id::fp8_e4m3;
  ::qmath::detail::precondition_failed(hf_api, "unsupported ", key, " '", s, "'");
}

// The model types qmath reads, with the string it keeps as the architecture's name.
inline constexpr std::string_view known_types[] = {
    "llama",  "mistral",     "mixtral",     "qwen",        "qwen2",  "qwen2_moe", "qwen3",       "qwen3_moe",
    "gemma",  "gemma2",      "gemma3",      "gemma3_text", "phi3",   "deepseek_v2", "deepseek_v3", "cohere",
    "gpt_bigcode", "gpt_neox", "bloom",     "falcon",      "bert",   "t5",        "mt5",         "bitnet"};

inline std::string known_type_list() {
  std::string s;
  for (auto k : known_types) {
    if (!s.empty()) s += ", ";
    s += k;
  }
  return s;
}

// The first of several key spellings that is present (transformers'
// attribute_map: GPT-BigCode's n_embd is hidden_size, ...).
inline const char* key_of(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    if (const auto it = j.find(k); it != j.end() && !it->is_null()) return k;
  return *keys.begin();
}

// a * b for a 32-bit field, or a qmath::error naming both keys.
inline std::uint32_t product_u32(std::uint32_t a, std::uint32_t b, const char* what) {
  const std::uint64_t p = std::uint64_t{a} * b;
  QMATH_REQUIRE(p <= std::numeric_limits<std::uint32_t>::max(), hf_api, what, " = ", a, " x ", b,
                " is out of range");
  return static_cast<std::uint32_t>(p);
}


// Parses JSON text; every nlohmann failure (syntax, a number that does not
// fit a double such as 1e400, invalid UTF-8) becomes one qmath::error line.
inline nlohmann::json parse_json_text(std::string_view text, const char* api) {
#if QMATH_NO_EXCEPTIONS
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  QMATH_REQUIRE(!j.is_discarded(), api, "malformed JSON");
  return j;
#else
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    ::qmath::detail::precondition_failed(api, "malformed JSON: ", e.what());
  }
#endif
}

}  // namespace detail

// Reads a parsed config.json. Multimodal Gemma-3 configs are read through
// their text_config (the vision tower is not estimated; hf_config_notes says so).
inline models::architecture hf_config_from_json(const nlohmann::json& top) {
  using namespace detail;
  QMATH_REQUIRE(top.is_object(), hf_api, "the top level must be an object, got ", json_type_name(top));
  std::string type = get_string(top, "model_type");
  const nlohmann::json* text = &top;
  if (type == "gemma3") {
    const auto tc = top.find("text_config");
    QMATH_REQUIRE(tc != top.end() && tc->is_object(), hf_api, "gemma3 config has no text_config object");
    text = &*tc;
  }
  const nlohmann::json& j = *text;
  std::string_view name;
  for (auto k : known_types)
    if (k == type) name = k;
  QMATH_REQUIRE(!name.empty(), hf_api, "unsupported model_type '", type, "'; supported: ", known_type_list());

  models::architecture a;
  a.name = name;
  a.source = "config.json";
  a.checkpoint_dtype = dtype_of(top);
  const bool gemma3 = type == "gemma3" || type == "gemma3_text";
  const bool t5 = type == "t5" || type == "mt5";

  a.layers = get_u32(j, key_of(j, {"num_hidden_layers", "n_layer", "num_layers"}));
  a.hidden = get_u32(j, key_of(j, {"hidden_size", "n_embd", "d_model"}));
  a.heads = get_u32(j, key_of(j, {"num_attention_heads", "n_head", "num_heads"}));
  a.kv_heads = get_u32_or(j, "num_key_value_heads", a.heads);
  QMATH_REQUIRE(a.kv_heads != 0, hf_api, "key 'num_key_value_heads' is 0; a model has at least one KV head");
  // Gemma-3's text defaults (Gemma3TextConfig) where a nested text_config omits them.
  a.head_dim = get_u32_or(j, "head_dim", gemma3 ? 256u : 0u);
  a.vocab = gemma3 ? get_u32_or(j, "vocab_size", 262208) : get_u32(j, "vocab_size");
  a.max_context = get_u32_or(j, key_of(j, {"max_position_embeddings", "n_positions"}), gemma3 ? 131072u : 0u);

  const auto finish = [&](models::architecture& out) -> models::architecture {
    check_plausible(out, hf_api);
    models::validate(out);
    return out;
  };

  if (type == "qwen") {
    // Qwen1 (modeling_qwen.py): w1/w2 are intermediate_size / 2 wide, fused
    // c_attn has a bias, kv_channels is the head size.
    a.intermediate = get_u32(j, "intermediate_size") / 2;
    a.kv_heads = a.heads;
    a.head_dim = get_u32_or(j, "kv_channels", 0);
    a.qkv_bias = true;
    a.tied_embeddings = get_bool_or(j, "tie_word_embeddings", false);
    return finish(a);
  }
  a.intermediate = get_u32_or(j, "intermediate_size", 0);

  if (type == "bert") {
    a.kind = models::model_kind::encoder;
    a.ffn = models::ffn_kind::ungated;
    a.norm = models::norm_kind::layer;
    a.final_norm = false;
    a.embedding_norm = true;
    a.qkv_bias = a.o_bias = a.mlp_bias = true;
    a.learned_positions = a.max_context;
    a.token_types = get_u32_or(j, "type_vocab_size", 2);
    a.pooler = true;  // BertModel adds the pooler by default (add_pooling_layer=True)
    return finish(a);
  }
  if (type == "gpt_neox") {
    a.ffn = models::ffn_kind::ungated;
    a.norm = models::norm_kind::layer;
    // GPTNeoXConfig.attention_bias (default true) covers query_key_value and dense;
    // the MLP's dense_h_to_4h / dense_4h_to_h always have a bias.
    a.qkv_bias = a.o_bias = get_bool_or(j, "attention_bias", true);
    a.mlp_bias = true;
    a.tied_embeddings = get_bool_or(j, "tie_word_embeddings", false);
    return finish(a);
  }
  if (type == "gpt_bigcode") {
    // modeling_gpt_bigcode.py: learned positions (wpe), LayerNorms with bias,
    // fused c_attn with bias (one KV head when multi_query, the default),
    // c_proj, MLP c_fc/c_proj of n_inner (default 4 x n_embd) with biases, tied head.
    a.kv_heads = get_bool_or(j, "multi_query", true) ? 1 : a.heads;
    a.ffn = models::ffn_kind::ungated;
    a.norm = models::norm_kind::layer;
    a.qkv_bias = a.o_bias = a.mlp_bias = true;
    a.intermediate = get_u32_or(j, "n_inner", product_u32(4, a.hidden, "4 x n_embd"));
    a.learned_positions = a.max_context = get_u32_or(j, "n_positions", 1024);
    a.tied_embeddings = get_bool_or(j, "tie_word_embeddings", true);
    return finish(a);
  }
  if (type == "bloom") {
    // modeling_bloom.py: ALiBi (no position table), word_embeddings_layernorm,
    // LayerNorms with bias, fused query_key_value and dense with biases,
    // 4h MLP with biases, tied head.
    a.ffn = models::ffn_kind::ungated;
    a.norm = models::norm_kind::layer;
    a.embedding_norm = true;
    a.qkv_bias = a.o_bias = a.mlp_bias = true;
    a.intermediate = product_u32(4, a.hidden, "4 x hidden_size");
    a.tied_embeddings = get_bool_or(j, "tie_word_embeddings", true);
    return finish(a);
  }
  if (type == "falcon") {
    // modeling_falcon.py: new_decoder_architecture uses num_kv_heads and two
    // LayerNorms (ln_attn, ln_mlp); otherwise multi_query means one KV head and
    // parallel_attn one input_layernorm (two norms when not parallel). `bias`
    // covers every linear; ffn_hidden_size defaults to 4 x hidden.
    const bool new_arch = get_bool_or(j, "new_decoder_architecture", false);
    if (new_arch)
      a.kv_heads = get_u32_or(j, "num_kv_heads", a.heads);
    else
      a.kv_heads = get_bool_or(j, "multi_query", true) ? 1 : a.heads;
    QMATH_REQUIRE(a.kv_heads != 0, hf_api, "key 'num_kv_heads' is 0");
    a.norms_per_layer = new_arch ? get_u32_or(j, "num_ln_in_parallel_attn", 2)
                                 : (get_bool_or(j, "parallel_attn", true) ? 1 : 2);
    a.ffn = models::ffn_kind::ungated;
    a.norm = models::norm_kind::layer;
    a.qkv_bias = a.o_bias = a.mlp_bias = get_bool_or(j, "bias", false);
    a.intermediate = get_u32_or(j, "ffn_hidden_size", product_u32(4, a.hidden, "4 x hidden_size"));
    a.tied_embeddings = get_bool_or(j, "tie_word_embeddings", true);
    return finish(a);
  }
  if (t5) {
    // modeling_t5.py: shared embedding; num_layers encoder blocks and
    // num_decoder_layers (default num_layers) decoder blocks of d_kv-wide heads,
    // T5LayerNorm (weight only), relative_attention_bias in each stack's first
    // block, DenseReluDense (wi, wo) or gated (wi_0, wi_1, wo) by feed_forward_proj.
    a.encoder_layers = a.layers;
    a.layers = get_u32_or(j, "num_decoder_layers", a.encoder_layers);
    a.head_dim = get_u32(j, "d_kv");
    a.intermediate = get_u32(j, "d_ff");
    a.relative_attention_buckets = get_u32_or(j, "relative_attention_num_buckets", 32);
    const auto proj = j.find("feed_forward_proj");
    const bool gated = proj != j.end() && proj->is_string() && proj->get<std::string>().starts_with("gated-");
    a.ffn = gated ? models::ffn_kind::gated : models::ffn_kind::ungated;
    // T5Config ties by default; mT5 configs write tie_word_embeddings false.
    a.tied_embeddings = get_bool_or(j, "tie_word_embeddings", true);
    a.max_context = get_u32_or(j, "n_positions", 512);
    // Block norms: self-attention and FFN (the cross-attention adds its own).
    a.norms_per_layer = 2;
    return finish(a);
  }
  if (type == "cohere") {
    // modeling_cohere.py: one input_layernorm per block (attention and MLP in
    // parallel), LayerNorm without bias (counted as a weight-only norm), tied head.
    a.norms_per_layer = 1;
    a.qkv_bias = a.o_bias = get_bool_or(j, "attention_bias", false);
    a.tied_embeddings = get_bool_or(j, "tie_word_embeddings", true);
    QMATH_REQUIRE(!get_bool_or(j, "use_qk_norm", false), hf_api,
                  "cohere use_qk_norm (per-head q/k LayerNorms) is not supported");
    return finish(a);
  }

  // Llama-style decoders.
  const bool gemma = type == "gemma" || type == "gemma2" || gemma3;
  a.qkv_bias = get_bool_or(j, "attention_bias", false);
  a.o_bias = a.qkv_bias;
  a.mlp_bias = get_bool_or(j, "mlp_bias", false);
  a.tied_embeddings = get_bool_or(j, "tie_word_embeddings", gemma);
  const bool uses_window = type == "mistral" || type == "gemma2" || type == "phi3" || gemma3 ||
                           get_bool_or(j, "use_sliding_window", false);
  a.sliding_window = uses_window ? get_u32_or(j, "sliding_window", gemma3 ? 4096u : 0u) : 0;

  if (type == "qwen2" || type == "qwen2_moe") {
    a.qkv_bias = true;  // Qwen2Attention: bias on q/k/v, none on o
    a.o_bias = false;
  }
  if (type == "gemma") a.head_dim = get_u32_or(j, "head_dim", 256);
  if (type == "gemma2" || gemma3) a.norms_per_layer = 4;  // input, post-attention, pre- and post-FFN
  if (type == "gemma2") a.full_attention_every = 2;
  if (gemma3) {
    // Gemma3TextConfig: five sliding layers, then one global (sliding_window_pattern 6).
    a.qk_norm = true;
    a.full_attention_every = a.sliding_window != 0 ? get_u32_or(j, "sliding_window_pattern", 6) : 0;
  }
  if (type == "bitnet") a.sub_norms = true;
  if (type == "qwen3" || type == "qwen3_moe") a.qk_norm = true;  // q_norm / k_norm over head_dim
  if (type == "mixtral") {
    a.experts = get_u32(j, "num_local_experts");
    a.active_experts = get_u32(j, "num_experts_per_tok");
    a.expert_intermediate = a.intermediate;
  }
  if (type == "qwen2_moe" || type == "qwen3_moe") {
    a.experts = get_u32(j, "num_experts");
    a.active_experts = get_u32(j, "num_experts_per_tok");
    a.expert_intermediate = get_u32(j, "moe_intermediate_size");
    a.shared_expert_intermediate = get_u32_or(j, "shared_expert_intermediate_size", 0);
    a.shared_expert_gate = a.shared_expert_intermediate != 0;
    // Every layer sparse is all qmath models (decoder_sparse_step 1, no mlp_only_layers).
    QMATH_REQUIRE(get_u32_or(j, "decoder_sparse_step", 1) == 1, hf_api,
                  "decoder_sparse_step other than 1 is not supported");
    const auto dense = j.find("mlp_only_layers");
    QMATH_REQUIRE(dense == j.end() || dense->is_null() || (dense->is_array() && dense->empty()), hf_api,
                  "mlp_only_layers is not supported");
  }
  if (type == "deepseek_v2" || type == "deepseek_v3") {
    a.q_lora_rank = get_u32_or(j, "q_lora_rank", 0);
    a.kv_lora_rank = get_u32(j, "kv_lora_rank");
    a.qk_nope_head_dim = get_u32(j, "qk_nope_head_dim");
    a.qk_rope_head_dim = get_u32(j, "qk_rope_head_dim");
    a.v_head_dim = get_u32(j, "v_head_dim");
    a.head_dim = 0;
    a.experts = get_u32_or(j, "n_routed_experts", 0);
    if (a.experts != 0) {
      a.active_experts = get_u32(j, "num_experts_per_tok");
      a.expert_intermediate = get_u32(j, "moe_intermediate_size");
      a.shared_expert_intermediate =
          product_u32(get_u32_or(j, "n_shared_experts", 0), a.expert_intermediate,
                      "n_shared_experts x moe_intermediate_size");
      a.first_dense_layers = get_u32_or(j, "first_k_dense_replace", 0);
      // DeepseekV3TopkRouter's e_score_correction_bias (topk_method noaux_tc)
      // is a buffer in transformers but a tensor of the checkpoint.
      a.router_bias = type == "deepseek_v3";
    }
  }
  return finish(a);
}

// Notes on what the estimate of a config leaves out (one line each).
inline std::vector<std::string> hf_config_notes(const nlohmann::json& j) {
  std::vector<std::string> notes;
  if (!j.is_object()) return notes;
  const auto type = j.find("model_type");
  if (type == j.end() || !type->is_string()) return notes;
  const std::string t = type->get<std::string>();
  if (t == "t5" || t == "mt5")
    notes.emplace_back(
        "encoder-decoder: weights and parameters cover both stacks; the KV cache is the decoder's self-attention "
        "(the cross-attention cache of encoder length is not included), activations follow the decoder");
  if (t == "gemma3")
    notes.emplace_back("multimodal Gemma-3: the text model is estimated; the vision tower and projector are not");
  if (t == "deepseek_v3" || t == "deepseek_v2") {
    const auto mtp = j.find("num_nextn_predict_layers");
    if (mtp != j.end() && mtp->is_number_integer() && mtp->get<std::int64_t>() > 0)
      notes.emplace_back("the multi-token-prediction layers the checkpoint also stores are not counted");
  }
  if (t == "cohere") notes.emplace_back("cohere LayerNorms have no bias; counted as weight-only norms");
  return notes;
}

// Parses the text of a config.json.
inline models::architecture parse_hf_config(std::string_view text) {
  return hf_config_from_json(detail::parse_json_text(text, detail::hf_api));
}

// Reads a config.json file.
inline models::architecture read_hf_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  QMATH_REQUIRE(in.good(), detail::hf_api, "cannot open '", path, "'");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_hf_config(text.str());
}

}  // namespace qmath::io

#endif  // __has_include(<nlohmann/json.hpp>)

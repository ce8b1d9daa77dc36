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
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "qmath/error.hpp"
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
  // transformers writes torch_dtype (renamed dtype in v4.56+); absent means fp32.
  const char* key = j.contains("dtype") ? "dtype" : "torch_dtype";
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return format_id::f32;
  QMATH_REQUIRE(it->is_string(), hf_api, "key '", key, "' must be a string, got ", json_type_name(*it));
  const auto s = it->get<std::string>();
  if (s == "bfloat16") return format_id::bf16;
  if (s == "float16") return format_id::f16;
  if (s == "float32") return format_id::f32;
  ::qmath::detail::precondition_failed(hf_api, "unsupported ", key, " '", s, "'");
}

// The model types qmath reads, with the string it keeps as the architecture's name.
inline constexpr std::string_view known_types[] = {"llama", "mistral",  "mixtral", "qwen2",       "qwen2_moe",
                                                   "qwen3", "qwen",     "gemma2",  "phi3",        "gpt_neox",
                                                   "bert",  "deepseek_v2", "bitnet"};

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

// Reads a parsed config.json.
inline models::architecture hf_config_from_json(const nlohmann::json& j) {
  using namespace detail;
  QMATH_REQUIRE(j.is_object(), hf_api, "the top level must be an object, got ", json_type_name(j));
  const std::string type = get_string(j, "model_type");
  std::string_view name;
  for (auto k : known_types)
    if (k == type) name = k;
  QMATH_REQUIRE(!name.empty(), hf_api, "unsupported model_type '", type, "'");

  models::architecture a;
  a.name = name;
  a.source = "config.json";
  a.checkpoint_dtype = dtype_of(j);
  a.layers = get_u32(j, "num_hidden_layers");
  a.hidden = get_u32(j, "hidden_size");
  a.heads = get_u32(j, "num_attention_heads");
  a.kv_heads = get_u32_or(j, "num_key_value_heads", a.heads);
  a.head_dim = get_u32_or(j, "head_dim", 0);
  a.vocab = get_u32(j, "vocab_size");
  a.max_context = get_u32_or(j, "max_position_embeddings", 0);

  if (type == "qwen") {
    // Qwen1 (modeling_qwen.py): w1/w2 are intermediate_size / 2 wide, fused
    // c_attn has a bias, kv_channels is the head size.
    a.intermediate = get_u32(j, "intermediate_size") / 2;
    a.kv_heads = a.heads;
    a.head_dim = get_u32_or(j, "kv_channels", 0);
    a.qkv_bias = true;
    a.tied_embeddings = get_bool_or(j, "tie_word_embeddings", false);
    models::validate(a);
    return a;
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
    models::validate(a);
    return a;
  }
  if (type == "gpt_neox") {
    a.ffn = models::ffn_kind::ungated;
    a.norm = models::norm_kind::layer;
    // GPTNeoXConfig.attention_bias (default true) covers query_key_value and dense;
    // the MLP's dense_h_to_4h / dense_4h_to_h always have a bias.
    a.qkv_bias = a.o_bias = get_bool_or(j, "attention_bias", true);
    a.mlp_bias = true;
    a.tied_embeddings = get_bool_or(j, "tie_word_embeddings", false);
    models::validate(a);
    return a;
  }

  // Llama-style decoders.
  a.qkv_bias = get_bool_or(j, "attention_bias", false);
  a.o_bias = a.qkv_bias;
  a.mlp_bias = get_bool_or(j, "mlp_bias", false);
  a.tied_embeddings = get_bool_or(j, "tie_word_embeddings", type == "gemma2");
  const bool uses_window = type == "mistral" || type == "gemma2" || type == "phi3" ||
                           get_bool_or(j, "use_sliding_window", false);
  a.sliding_window = uses_window ? get_u32_or(j, "sliding_window", 0) : 0;

  if (type == "qwen2" || type == "qwen2_moe") {
    a.qkv_bias = true;  // Qwen2Attention: bias on q/k/v, none on o
    a.o_bias = false;
  }
  if (type == "gemma2") {
    a.norms_per_layer = 4;
    a.full_attention_every = 2;
  }
  if (type == "bitnet") a.sub_norms = true;
  if (type == "qwen3") a.qk_norm = true;  // Qwen3Attention: q_norm / k_norm over head_dim
  if (type == "mixtral") {
    a.experts = get_u32(j, "num_local_experts");
    a.active_experts = get_u32(j, "num_experts_per_tok");
    a.expert_intermediate = a.intermediate;
  }
  if (type == "qwen2_moe") {
    a.experts = get_u32(j, "num_experts");
    a.active_experts = get_u32(j, "num_experts_per_tok");
    a.expert_intermediate = get_u32(j, "moe_intermediate_size");
    a.shared_expert_intermediate = get_u32_or(j, "shared_expert_intermediate_size", 0);
    a.shared_expert_gate = a.shared_expert_intermediate != 0;
  }
  if (type == "deepseek_v2") {
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
      a.shared_expert_intermediate = get_u32_or(j, "n_shared_experts", 0) * a.expert_intermediate;
      a.first_dense_layers = get_u32_or(j, "first_k_dense_replace", 0);
    }
  }
  models::validate(a);
  return a;
}

// Parses the text of a config.json.
inline models::architecture parse_hf_config(std::string_view text) {
  return hf_config_from_json(detail::parse_json_text(text, detail::hf_api));
}

// Notes on what the estimate of a config leaves out (one line each).
inline std::vector<std::string> hf_config_notes(const nlohmann::json&) { return {}; }

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

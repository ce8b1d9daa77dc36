// The Hugging Face config.json reader: the checked-in configs give the
// catalog's architectures, and malformed input is rejected with clear errors.
#include <qmath/io/hf_config.hpp>
#include <qmath/models.hpp>

#include <string>

#include "catch.hpp"

#if defined(QMATH_HAS_HF_CONFIG)

using namespace qmath;
using namespace qmath::models;

namespace {

architecture read(const std::string& file) {
  return io::read_hf_config(std::string(QMATH_TEST_DATA_DIR) + "/hf_configs/" + file);
}

}  // namespace

TEST_CASE("checked-in configs read into the catalog's architectures") {
  const struct {
    const char* file;
    const architecture& expected;
  } cases[] = {
      {"llama_3_8b.json", llama_3_8b},
      {"qwen2_5_0_5b.json", qwen2_5_0_5b},
      {"gemma_2_2b.json", gemma_2_2b},
      {"phi_3_mini.json", phi_3_mini},
      {"mixtral_8x7b.json", mixtral_8x7b},
      {"qwen1_5_moe_a2_7b.json", qwen1_5_moe_a2_7b},
      {"deepseek_v2_lite.json", deepseek_v2_lite},
      {"polyglot_ko_1_3b.json", polyglot_ko_1_3b},
      {"kobert.json", kobert},
      {"qwen_14b.json", qwen_14b},
      {"bitnet_b1_58_2b4t.json", bitnet_b1_58_2b4t},
      {"qwen3_0_6b.json", qwen3_0_6b},
      {"mistral_nemo_12b.json", mistral_nemo_12b},
  };
  for (const auto& c : cases) {
    INFO(c.file);
    const architecture a = read(c.file);
    CHECK(a.parameters() == c.expected.official_parameters);
    CHECK(a.layers == c.expected.layers);
    CHECK(a.n_kv_heads() == c.expected.n_kv_heads());
    CHECK(a.k_head_dim() == c.expected.k_head_dim());
    CHECK(a.tied_embeddings == c.expected.tied_embeddings);
    CHECK(a.checkpoint_dtype == c.expected.checkpoint_dtype);
    CHECK(a.kind == c.expected.kind);
    CHECK(a.sliding_window == c.expected.sliding_window);
    CHECK(a.full_attention_every == c.expected.full_attention_every);
    CHECK(a.experts == c.expected.experts);
    CHECK(a.kv_lora_rank == c.expected.kv_lora_rank);
    CHECK(a.qk_norm == c.expected.qk_norm);
    // The estimators agree too.
    CHECK(weight_bytes(a).total() == weight_bytes(c.expected).total());
    if (a.kind == model_kind::decoder)
      CHECK(kv_cache(a, {.context = 4096}).bytes == kv_cache(c.expected, {.context = 4096}).bytes);
  }
}

TEST_CASE("defaults of the configuration classes fill absent keys") {
  // No num_key_value_heads: MHA. No head_dim: hidden / heads. No dtype: fp32.
  const auto a = io::parse_hf_config(R"({"model_type": "llama", "num_hidden_layers": 2, "hidden_size": 64,
      "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 100})");
  CHECK(a.n_kv_heads() == 4);
  CHECK(a.k_head_dim() == 16);
  CHECK(a.checkpoint_dtype == format_id::f32);
  CHECK_FALSE(a.tied_embeddings);
  // Qwen2 with use_sliding_window false ignores its sliding_window value.
  const auto q = io::parse_hf_config(R"({"model_type": "qwen2", "num_hidden_layers": 2, "hidden_size": 64,
      "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 100, "sliding_window": 32,
      "use_sliding_window": false, "torch_dtype": "float16", "head_dim": null})");
  CHECK(q.sliding_window == 0);
  CHECK(q.qkv_bias);
  CHECK(q.checkpoint_dtype == format_id::f16);
  CHECK(q.k_head_dim() == 16);
}

TEST_CASE("malformed configs give qmath::error with the key named") {
  CHECK_THROWS_WITH(io::parse_hf_config("{\"model_type\": \"llama\", "), Catch::Contains("malformed JSON"));
  CHECK_THROWS_WITH(io::parse_hf_config("[1, 2]"), Catch::Contains("top level must be an object"));
  CHECK_THROWS_WITH(io::parse_hf_config("{}"), Catch::Contains("missing key 'model_type'"));
  CHECK_THROWS_WITH(io::parse_hf_config(R"({"model_type": 3})"), Catch::Contains("'model_type' must be a string"));
  CHECK_THROWS_WITH(io::parse_hf_config(R"({"model_type": "mamba"})"), Catch::Contains("unsupported model_type 'mamba'"));
  const std::string base = R"({"model_type": "llama", "num_hidden_layers": 2, "num_attention_heads": 4,
      "intermediate_size": 128, "vocab_size": 100)";
  CHECK_THROWS_WITH(io::parse_hf_config(base + "}"), Catch::Contains("missing key 'hidden_size'"));
  CHECK_THROWS_WITH(io::parse_hf_config(base + R"(, "hidden_size": "64"})"),
                    Catch::Contains("'hidden_size' must be a non-negative integer, got string"));
  CHECK_THROWS_WITH(io::parse_hf_config(base + R"(, "hidden_size": -64})"),
                    Catch::Contains("'hidden_size' must be a non-negative integer"));
  CHECK_THROWS_WITH(io::parse_hf_config(base + R"(, "hidden_size": 64.5})"),
                    Catch::Contains("'hidden_size' must be a non-negative integer, got number"));
  CHECK_THROWS_WITH(io::parse_hf_config(base + R"(, "hidden_size": 99999999999})"),
                    Catch::Contains("out of range"));
  CHECK_THROWS_WITH(io::parse_hf_config(base + R"(, "hidden_size": 64, "tie_word_embeddings": "no"})"),
                    Catch::Contains("'tie_word_embeddings' must be a boolean"));
  CHECK_THROWS_WITH(io::parse_hf_config(base + R"(, "hidden_size": 64, "torch_dtype": "int8"})"),
                    Catch::Contains("unsupported torch_dtype 'int8'"));
  // A config that parses but describes no valid model is rejected by validate().
  CHECK_THROWS_WITH(io::parse_hf_config(base + R"(, "hidden_size": 64, "num_key_value_heads": 3})"),
                    Catch::Contains("4 heads are not a multiple of 3 kv heads"));
  CHECK_THROWS_WITH(io::parse_hf_config(R"({"model_type": "llama", "num_hidden_layers": 0, "hidden_size": 64,
      "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 100})"),
                    Catch::Contains("layers must be positive"));
  CHECK_THROWS_WITH(io::parse_hf_config(R"({"model_type": "mixtral", "num_hidden_layers": 2, "hidden_size": 64,
      "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 100})"),
                    Catch::Contains("missing key 'num_local_experts'"));
  CHECK_THROWS_WITH(io::read_hf_config("/nonexistent/config.json"), Catch::Contains("cannot open"));
}

#else
TEST_CASE("hf_config reader needs nlohmann/json") { SUCCEED("nlohmann/json.hpp not available"); }
#endif

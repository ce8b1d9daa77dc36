// config.json of every supported model type: published configs
// (tests/data/hf_configs, sources in its README) give the parameter counts
// transformers builds from them (parameters.txt, rebuilt on the meta device by
// tests/python/test_hf_config_counts.py); hostile values are clear errors.
#include <qmath/io/hf_config.hpp>
#include <qmath/io/model_file.hpp>
#include <qmath/models.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "catch.hpp"
#include "test_support.hpp"

#if defined(QMATH_HAS_HF_CONFIG)

using namespace qmath;
using namespace qmath::models;

namespace {

using qmath_test::error_of;

const std::string dir = std::string(QMATH_TEST_DATA_DIR) + "/hf_configs/";

std::map<std::string, std::uint64_t> expected_counts() {
  std::ifstream in(dir + "parameters.txt");
  REQUIRE(in.good());
  std::map<std::string, std::uint64_t> out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string file;
    std::uint64_t n = 0;
    words >> file >> n;
    out[file] = n;
  }
  return out;
}


}  // namespace

TEST_CASE("published configs of every new model type give transformers' parameter counts") {
  const auto counts = expected_counts();
  REQUIRE(counts.size() == 13);
  for (const auto& [file, n] : counts) {
    INFO(file);
    const architecture a = io::read_hf_config(dir + file);
    CHECK(a.parameters() == n);
  }
}

TEST_CASE("the shapes each model type implies") {
  const auto g3 = io::read_hf_config(dir + "gemma_3_1b.json");
  CHECK(g3.name == "gemma3_text");
  CHECK(g3.sliding_window == 512);
  CHECK(g3.full_attention_every == 6);
  CHECK(g3.qk_norm);
  CHECK(g3.tied_embeddings);
  CHECK(g3.norms_per_layer == 4);
  const auto g34 = io::read_hf_config(dir + "gemma_3_4b.json");  // nested text_config, defaults filled
  CHECK(g34.name == "gemma3");
  CHECK(g34.vocab == 262208);
  CHECK(g34.n_kv_heads() == 4);
  CHECK(g34.sliding_window == 1024);
  const auto q3 = io::read_hf_config(dir + "qwen3_30b_a3b.json");
  CHECK(q3.experts == 128);
  CHECK(q3.active_experts == 8);
  CHECK(q3.expert_intermediate == 768);
  CHECK(q3.active_parameters() / 100'000'000 == 33);  // "A3B": 3.3B activated (model card)
  const auto ds = io::read_hf_config(dir + "deepseek_v3.json");
  CHECK(ds.q_lora_rank == 1536);
  CHECK(ds.kv_lora_rank == 512);
  CHECK(ds.shared_expert_intermediate == 2048);
  CHECK(ds.first_dense_layers == 3);
  const auto sc = io::read_hf_config(dir + "starcoderbase_1b.json");
  CHECK(sc.n_kv_heads() == 1);
  CHECK(sc.learned_positions == 8192);
  const auto f7 = io::read_hf_config(dir + "falcon_7b.json");
  CHECK(f7.n_kv_heads() == 1);
  CHECK(f7.norms_per_layer == 1);
  const auto f40 = io::read_hf_config(dir + "falcon_40b.json");
  CHECK(f40.n_kv_heads() == 8);
  CHECK(f40.norms_per_layer == 2);
  const auto t5 = io::read_hf_config(dir + "t5_small.json");
  CHECK(t5.encoder_layers == 6);
  CHECK(t5.layers == 6);
  CHECK(t5.tied_embeddings);
  const auto mt5 = io::read_hf_config(dir + "mt5_small.json");
  CHECK(mt5.ffn == ffn_kind::gated);
  CHECK(mt5.k_head_dim() == 64);
  CHECK_FALSE(mt5.tied_embeddings);
  // The existing catalog entries still match their configs.
  CHECK(io::read_hf_config(dir + "mistral_7b.json").parameters() == mistral_7b.official_parameters);
}

TEST_CASE("load_model notes what an estimate leaves out") {
  const auto t5 = io::load_model(dir + "t5_small.json");
  REQUIRE(t5.notes.size() == 1);
  CHECK_THAT(t5.notes[0], Catch::Contains("encoder-decoder"));
  const auto g = io::load_model(dir + "gemma_3_4b.json");
  REQUIRE(g.notes.size() == 1);
  CHECK_THAT(g.notes[0], Catch::Contains("vision tower"));
  CHECK(io::load_model(dir + "deepseek_v3.json").notes.size() == 1);
  CHECK(io::load_model(dir + "llama_3_8b.json").notes.empty());
}

TEST_CASE("hostile config values are qmath::error") {
  using Catch::Contains;
  const std::string base = R"({"model_type": "llama", "num_hidden_layers": 2, "num_attention_heads": 4,
      "intermediate_size": 128, "vocab_size": 100)";
  CHECK_THAT(error_of([&] { io::parse_hf_config(base + R"(, "hidden_size": 1e400})"); }), Contains("malformed JSON"));
  CHECK_THAT(error_of([&] { io::parse_hf_config(base + R"(, "hidden_size": 64, "num_key_value_heads": 0})"); }),
             Contains("'num_key_value_heads' is 0"));
  // A null dtype does not hide torch_dtype.
  CHECK(io::parse_hf_config(base + R"(, "hidden_size": 64, "dtype": null, "torch_dtype": "bfloat16"})")
            .checkpoint_dtype == format_id::bf16);
  CHECK(io::parse_hf_config(base + R"(, "hidden_size": 64, "dtype": "float16", "torch_dtype": "bfloat16"})")
            .checkpoint_dtype == format_id::f16);
  CHECK_THAT(error_of([&] {
               io::parse_hf_config(R"({"model_type": "llama", "num_hidden_layers": 4294967295, "hidden_size": 64,
                   "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 100})");
             }),
             Contains("the layer count = 4294967295 is beyond any real model"));
  CHECK_THAT(error_of([&] {
               io::parse_hf_config(R"({"model_type": "deepseek_v3", "num_hidden_layers": 2, "hidden_size": 64,
                   "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 100, "kv_lora_rank": 16,
                   "qk_nope_head_dim": 16, "qk_rope_head_dim": 8, "v_head_dim": 16, "n_routed_experts": 4,
                   "num_experts_per_tok": 2, "moe_intermediate_size": 65536, "n_shared_experts": 65536})");
             }),
             Contains("n_shared_experts x moe_intermediate_size = 65536 x 65536 is out of range"));
  CHECK_THAT(error_of([&] { io::parse_hf_config(R"({"model_type": "mamba"})"); }),
             Contains("unsupported model_type 'mamba'; supported: llama, mistral, mixtral"));
  CHECK_THAT(error_of([&] { io::parse_hf_config(R"({"model_type": "gemma3"})"); }), Contains("no text_config"));
  CHECK_THAT(error_of([&] {
               io::parse_hf_config(R"({"model_type": "cohere", "num_hidden_layers": 2, "hidden_size": 64,
                   "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 100, "use_qk_norm": true})");
             }),
             Contains("use_qk_norm"));
  CHECK_THAT(error_of([&] { io::parse_hf_config("\"\\ud800\""); }), Contains("malformed JSON"));
}

#else
TEST_CASE("hf_config reader needs nlohmann/json") { SUCCEED("nlohmann/json.hpp not available"); }
#endif

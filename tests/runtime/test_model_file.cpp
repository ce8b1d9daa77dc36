// qmath::io::load_model: config.json files and folders, and GGUF files written
// here with llama.cpp's tensor names and the types llama-quantize gives them
// (data left as a hole), read back into the same architecture with the exact
// bytes and parameter count; every failure is one line naming the file.
#include <qmath/io/model_file.hpp>
#include <qmath/models.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "catch.hpp"
#include "gguf_test_writer.hpp"
#include "test_support.hpp"

#if defined(QMATH_HAS_HF_CONFIG)

namespace fs = std::filesystem;
using namespace qmath;
using namespace qmath::models;

namespace {

using qmath_test::write_text;
using qmath_test::error_of;

const fs::path configs = fs::path(QMATH_TEST_DATA_DIR) / "hf_configs";

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / "qmath_test_model_file";
  fs::create_directories(dir);
  return dir / name;
}



void check_same_shape(const architecture& got, const architecture& want) {
  CHECK(got.layers == want.layers);
  CHECK(got.hidden == want.hidden);
  CHECK(got.heads == want.heads);
  CHECK(got.n_kv_heads() == want.n_kv_heads());
  CHECK(got.k_head_dim() == want.k_head_dim());
  CHECK(got.value_head_dim() == want.value_head_dim());
  CHECK(got.intermediate == want.intermediate);
  CHECK(got.vocab == want.vocab);
  CHECK(got.tied_embeddings == want.tied_embeddings);
  CHECK(got.norms_per_layer == want.norms_per_layer);
  CHECK(got.qk_norm == want.qk_norm);
  CHECK(got.qkv_bias == want.qkv_bias);
  CHECK(got.o_bias == want.o_bias);
  CHECK(got.experts == want.experts);
  CHECK(got.active_experts == want.active_experts);
  CHECK(got.expert_intermediate == want.expert_intermediate);
  CHECK(got.shared_expert_intermediate == want.shared_expert_intermediate);
  CHECK(got.shared_expert_gate == want.shared_expert_gate);
  CHECK(got.first_dense_layers == want.first_dense_layers);
  CHECK(got.q_lora_rank == want.q_lora_rank);
  CHECK(got.kv_lora_rank == want.kv_lora_rank);
  CHECK(got.qk_rope_head_dim == want.qk_rope_head_dim);
  CHECK(got.sliding_window == want.sliding_window);
  CHECK(got.full_attention_every == want.full_attention_every);
  CHECK(got.parameters() == want.parameters());
}

}  // namespace

TEST_CASE("load_model reads a config.json file and a folder holding one") {
  const auto m = io::load_model(configs / "llama_3_8b.json");
  CHECK(m.format == io::model_format::hf_config);
  CHECK(m.architecture.name == "llama");
  check_same_shape(m.architecture, llama_3_8b);
  CHECK(m.architecture.parameters() == llama_3_8b.official_parameters);
  CHECK_FALSE(m.has_tensors());
  CHECK_FALSE(m.weight_bytes.has_value());
  CHECK_FALSE(m.parameter_count.has_value());

  const fs::path dir = scratch("Qwen3-0.6B");
  fs::create_directories(dir);
  fs::copy_file(configs / "qwen3_0_6b.json", dir / "config.json", fs::copy_options::overwrite_existing);
  const auto q = io::load_model(dir);
  CHECK(q.path == dir / "config.json");
  check_same_shape(q.architecture, qwen3_0_6b);
  CHECK_FALSE(q.name.empty());
}

TEST_CASE("load_model prices a GGUF file from its own tensors") {
  const architecture gemma3 = io::read_hf_config((configs / "gemma_3_1b.json").string());
  const architecture qwen3_moe = io::read_hf_config((configs / "qwen3_30b_a3b.json").string());
  const architecture deepseek_v3 = io::read_hf_config((configs / "deepseek_v3.json").string());
  const architecture command_r = io::read_hf_config((configs / "command_r_v01.json").string());
  const struct {
    const char* gguf_arch;
    const architecture& arch;
    gguf_ftype ftype;
    std::uint32_t file_type;  // llama_ftype number
  } cases[] = {
      {"llama", llama_3_8b, gguf_ftype::q4_k_m, 15},
      {"llama", mixtral_8x7b, gguf_ftype::q4_k_m, 15},
      {"llama", mistral_7b, gguf_ftype::q8_0, 7},
      {"qwen2", qwen2_5_0_5b, gguf_ftype::q4_k_m, 15},
      {"qwen2moe", qwen1_5_moe_a2_7b, gguf_ftype::q5_k_m, 17},
      {"qwen3", qwen3_0_6b, gguf_ftype::q6_k, 18},
      {"gemma2", gemma_2_2b, gguf_ftype::q4_k_m, 15},
      {"phi3", phi_3_mini, gguf_ftype::q3_k_m, 12},
      {"deepseek2", deepseek_v2_lite, gguf_ftype::q4_k_m, 15},
      {"gemma3", gemma3, gguf_ftype::q4_k_m, 15},
      {"qwen3moe", qwen3_moe, gguf_ftype::q4_k_m, 15},
      {"deepseek2", deepseek_v3, gguf_ftype::q2_k, 10},
      {"command-r", command_r, gguf_ftype::q8_0, 7},
  };
  for (const auto& c : cases) {
    INFO(c.arch.name);
    architecture want = c.arch;
    // llama.cpp applies a window only to Gemma-2/3 (the llama and phi3 graphs run full attention).
    if (std::string_view(c.gguf_arch) != "gemma2" && std::string_view(c.gguf_arch) != "gemma3") {
      want.sliding_window = 0;
      want.full_attention_every = 0;
    }
    const auto recipe = weight_recipe::gguf(c.ftype);
    const auto tensors = qmath_test::gguf_tensors_of(want, recipe);
    const fs::path path = scratch(std::string(c.arch.name) + ".gguf");
    const std::uint64_t written = qmath_test::write_gguf(path, c.gguf_arch, want, tensors, c.file_type);

    const auto m = io::load_model(path);
    CHECK(m.format == io::model_format::gguf);
    CHECK(m.name == c.arch.name);
    check_same_shape(m.architecture, want);
    CHECK(m.architecture.router_bias == want.router_bias);
    REQUIRE(m.weight_bytes.has_value());
    CHECK(*m.weight_bytes == written);
    CHECK(*m.weight_bytes == weight_bytes(want, recipe).total());
    CHECK(*m.parameter_count == want.parameters());
    if (c.arch.official_parameters != 0) CHECK(*m.parameter_count == c.arch.official_parameters);
    REQUIRE(m.recipe.has_value());
    CHECK(m.recipe->ftype == c.ftype);
    CHECK(m.notes.empty());
    // Per class, the file's bytes are the estimator's.
    const auto expected = weight_bytes(want, recipe);
    for (std::size_t k = 0; k < tensor_class_count; ++k) {
      CHECK(m.stored_weights->bytes[k] == expected.bytes[k]);
      CHECK(m.stored_weights->parameters[k] == expected.parameters[k]);
    }
    REQUIRE(m.tensors.size() == tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      CHECK(m.tensors[i].name == tensors[i].name);
      REQUIRE(m.tensors[i].format.has_value());
      CHECK(m.tensors[i].format->id == tensors[i].format.id);
      CHECK(m.tensors[i].dtype == tensors[i].format.name);
      CHECK(m.tensors[i].bytes == tensors[i].bytes);
    }
  }
}

TEST_CASE("load_model failures are one line naming the file") {
  const fs::path missing = scratch("no_such_model.gguf");
  fs::remove(missing);
  std::string e = error_of([&] { io::load_model(missing); });
  CHECK(e == "qmath::io::load_model: " + missing.string() + ": no such file or folder");

  const fs::path empty_dir = scratch("empty_folder");
  fs::create_directories(empty_dir);
  e = error_of([&] { io::load_model(empty_dir); });
  CHECK(e == "qmath::io::load_model: " + empty_dir.string() + ": the folder has no config.json");

  const fs::path text = scratch("notes.txt");
  write_text(text, "hello");
  e = error_of([&] { io::load_model(text); });
  CHECK(e.starts_with("qmath::io::load_model: " + text.string() + ": not a model file"));

  const fs::path bad_json = scratch("config.json");
  write_text(bad_json, R"({"model_type": "llama", "hidden_size": 1e400})");
  e = error_of([&] { io::load_model(bad_json); });
  CHECK(e.starts_with("qmath::io::load_model: " + bad_json.string() + ": "));
  CHECK_THAT(e, Catch::Contains("malformed JSON"));
  CHECK(e.find('\n') == std::string::npos);

  // A GGUF cut inside its tensor infos.
  const auto tensors = qmath_test::gguf_tensors_of(qwen2_5_0_5b, weight_recipe::gguf(gguf_ftype::q8_0));
  const fs::path cut = scratch("cut.gguf");
  qmath_test::write_gguf(cut, "qwen2", qwen2_5_0_5b, tensors, 7);
  fs::resize_file(cut, 2000);
  e = error_of([&] { io::load_model(cut); });
  INFO(e);
  CHECK(e.starts_with("qmath::io::load_model: " + cut.string() + ": qmath::gguf::parse: "));
  CHECK((e.find("truncated file") != std::string::npos || e.find("past the end of the file") != std::string::npos ||
         e.find("cannot fit") != std::string::npos));

  // An architecture qmath does not model.
  const fs::path mamba = scratch("mamba.gguf");
  qmath_test::write_gguf(mamba, "mamba", qwen2_5_0_5b, tensors, 7);
  e = error_of([&] { io::load_model(mamba); });
  CHECK_THAT(e, Catch::Contains("unsupported architecture 'mamba'; supported: llama, qwen2"));
}

#else
TEST_CASE("load_model needs nlohmann/json") { SUCCEED("nlohmann/json.hpp not available"); }
#endif

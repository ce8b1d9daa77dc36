// Model architectures and the catalog: parameter counts against the official
// counts, the tensor list, derived shapes, and rejection of bad records.
#include <qmath/models.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <string>

#include "catch.hpp"

using namespace qmath;
using namespace qmath::models;

TEST_CASE("every catalog entry reproduces its official parameter count at run time") {
  for (const auto& a : catalog) {
    INFO(std::string(a.name));
    REQUIRE(a.official_parameters != 0);
    CHECK(a.parameters() == a.official_parameters);
  }
}

TEST_CASE("catalog names are unique and find() looks them up") {
  std::set<std::string> names;
  for (const auto& a : catalog) names.insert(std::string(a.name));
  CHECK(names.size() == catalog.size());
  REQUIRE(find("Mixtral-8x7B-v0.1").has_value());
  CHECK(find("Mixtral-8x7B-v0.1")->experts == 8);
  CHECK_FALSE(find("no-such-model").has_value());
}

TEST_CASE("the Llama-3-8B tensor list is the 291 tensors of its GGUF") {
  // token_embd + 32 x (attn_norm, q, k, v, o, ffn_norm, gate, up, down) + output_norm + output
  int count = 0, linear = 0, vectors = 0;
  for_each_tensor(llama_3_8b, [&](const tensor& t) {
    ++count;
    linear += t.linear;
    vectors += t.is_vector();
  });
  CHECK(count == 1 + 32 * 9 + 2);
  CHECK(linear == 32 * 7 + 1);
  CHECK(vectors == 32 * 2 + 1);
}

TEST_CASE("shapes follow nn.Linear: rows are outputs, cols inputs") {
  bool seen_k = false, seen_down = false;
  for_each_tensor(llama_3_8b, [&](const tensor& t) {
    if (t.role == tensor_role::attn_k && t.layer == 0) {
      seen_k = true;
      CHECK(t.rows == 8 * 128);
      CHECK(t.cols == 4096);
      CHECK(t.cls == tensor_class::attention);
    }
    if (t.role == tensor_role::ffn_down && t.layer == 31) {
      seen_down = true;
      CHECK(t.rows == 4096);
      CHECK(t.cols == 14336);
      CHECK(t.cls == tensor_class::mlp);
    }
  });
  CHECK(seen_k);
  CHECK(seen_down);
}

TEST_CASE("tied models have no output head, encoders have none either") {
  const auto count_role = [](const architecture& a, tensor_role role) {
    int n = 0;
    for_each_tensor(a, [&](const tensor& t) { n += t.role == role && !t.bias; });
    return n;
  };
  CHECK(count_role(llama_3_8b, tensor_role::output) == 1);
  CHECK(count_role(qwen2_5_0_5b, tensor_role::output) == 0);
  CHECK(count_role(gemma_2_2b, tensor_role::output) == 0);
  CHECK(count_role(kobert, tensor_role::output) == 0);
  CHECK(count_role(kobert, tensor_role::pooler) == 1);
  CHECK(count_role(kobert, tensor_role::position_embedding) == 1);
  // Gemma-2: four norms per block and a final norm.
  CHECK(count_role(gemma_2_2b, tensor_role::norm) == 26 * 4 + 1);
}

TEST_CASE("MoE: routed experts, shared experts, routers and active parameters") {
  // Mixtral: all experts are 32 x 8 x 3 x 4096 x 14336 = 45,097,156,608 parameters;
  // two of eight are active, so 6/8 of them are idle per token:
  // 46,702,792,704 - 45,097,156,608 x 6 / 8 = 12,879,925,248 (the model card's "12.9B").
  CHECK(mixtral_8x7b.active_parameters() == 46'702'792'704ull - 45'097'156'608ull / 8 * 6);
  std::uint64_t expert_params = 0, routers = 0;
  for_each_tensor(mixtral_8x7b, [&](const tensor& t) {
    if (t.cls == tensor_class::expert) {
      expert_params += t.elements();
      CHECK(t.copies == 8);
    }
    if (t.cls == tensor_class::router) routers += t.elements();
  });
  CHECK(expert_params == 45'097'156'608ull);
  CHECK(routers == 32ull * 8 * 4096);

  // DeepSeek-V2-Lite: layer 0 is dense (first_k_dense_replace = 1), 26 MoE layers.
  int dense_ffn_layers = 0, moe_layers = 0;
  for_each_tensor(deepseek_v2_lite, [&](const tensor& t) {
    if (t.role == tensor_role::ffn_down) ++dense_ffn_layers;
    if (t.role == tensor_role::expert_down) ++moe_layers;
  });
  CHECK(dense_ffn_layers == 1);
  CHECK(moe_layers == 26);
  // Qwen1.5-MoE: the shared expert has its sigmoid gate, Linear(2048, 1).
  std::uint64_t shared_gate = 0;
  for_each_tensor(qwen1_5_moe_a2_7b, [&](const tensor& t) {
    if (t.role == tensor_role::shared_expert_router) shared_gate += t.elements();
  });
  CHECK(shared_gate == 24ull * 2048);
}

TEST_CASE("MLA shapes of DeepSeek-V2-Lite") {
  for_each_tensor(deepseek_v2_lite, [&](const tensor& t) {
    if (t.layer != 3) return;
    if (t.role == tensor_role::attn_q) CHECK(t.rows == 16 * (128 + 64));
    if (t.role == tensor_role::attn_kv_a) CHECK(t.rows == 512 + 64);
    if (t.role == tensor_role::attn_kv_b) {
      CHECK(t.rows == 16 * (128 + 128));
      CHECK(t.cols == 512);
    }
    if (t.role == tensor_role::attn_o) CHECK(t.cols == 16 * 128);
  });
  CHECK(deepseek_v2_lite.k_head_dim() == 192);
  CHECK(deepseek_v2_lite.value_head_dim() == 128);
}

TEST_CASE("head_dim is never derived where the config gives it") {
  CHECK(gemma_2_9b.k_head_dim() == 256);
  CHECK(gemma_2_9b.hidden / gemma_2_9b.heads == 224);
  architecture nemo_like = mistral_7b;  // Mistral-Nemo: hidden 5120, 32 heads, head_dim 128
  nemo_like.hidden = 5120;
  nemo_like.head_dim = 128;
  CHECK(nemo_like.q_dim() == 4096);
  // Derived only when absent.
  CHECK(codellama_7b.k_head_dim() == 128);
}

TEST_CASE("sliding-window layer patterns") {
  CHECK(gemma_2_2b.is_sliding_layer(0));
  CHECK_FALSE(gemma_2_2b.is_sliding_layer(1));
  CHECK(gemma_2_2b.is_sliding_layer(24));
  CHECK_FALSE(gemma_2_2b.is_sliding_layer(25));
  for (std::uint32_t i = 0; i < 32; ++i) CHECK(mistral_7b.is_sliding_layer(i));
  CHECK_FALSE(llama_3_8b.is_sliding_layer(0));
}

TEST_CASE("bad architectures are rejected with qmath::error naming the problem") {
  architecture a = llama_3_8b;
  a.layers = 0;
  CHECK_THROWS_WITH(a.parameters(), Catch::Contains("layers must be positive"));

  a = llama_3_8b;
  a.kv_heads = 5;
  CHECK_THROWS_WITH(validate(a), Catch::Contains("32 heads are not a multiple of 5 kv heads"));

  a = llama_3_8b;
  a.head_dim = 0;
  a.heads = 30;
  a.kv_heads = 10;
  CHECK_THROWS_WITH(validate(a), Catch::Contains("hidden size 4096 is not divisible by 30 heads"));
  a.head_dim = 128;  // an explicit head_dim lifts the requirement
  CHECK_NOTHROW(validate(a));

  a = llama_3_8b;
  a.vocab = 0;
  CHECK_THROWS_AS(validate(a), qmath::error);
  a = llama_3_8b;
  a.heads = 0;
  CHECK_THROWS_AS(validate(a), qmath::error);
  a = llama_3_8b;
  a.intermediate = 0;
  CHECK_THROWS_WITH(validate(a), Catch::Contains("FFN size must be positive"));

  a = mixtral_8x7b;
  a.active_experts = 9;
  CHECK_THROWS_WITH(validate(a), Catch::Contains("active experts"));
  a = deepseek_v2_lite;
  a.qk_rope_head_dim = 0;
  CHECK_THROWS_WITH(validate(a), Catch::Contains("MLA needs"));
  a = llama_3_8b;
  a.full_attention_every = 2;
  CHECK_THROWS_WITH(validate(a), Catch::Contains("needs a window"));
  a = kobert;
  a.tied_embeddings = true;
  CHECK_THROWS_WITH(validate(a), Catch::Contains("encoder has no LM head"));
}

TEST_CASE("random dense architectures: the tensor sum equals the closed form") {
  // Closed form for a Llama-style decoder (gated FFN, RMSNorm, no biases):
  //   V h (1 or 2) + L (h q + 2 h kv + q h + 3 h I + 2 h) + h
  std::mt19937 rng(20240517);
  std::uniform_int_distribution<std::uint32_t> layers(1, 96), heads_pow(0, 6), kv_div(0, 3), dim(1, 8),
      inter(1, 20000), vocab(1, 300000), coin(0, 1);
  for (int i = 0; i < 500; ++i) {
    architecture a;
    a.name = "random";
    a.layers = layers(rng);
    const std::uint32_t log_heads = heads_pow(rng);
    a.heads = 1u << log_heads;
    a.kv_heads = a.heads >> std::min(kv_div(rng), log_heads);  // MHA, GQA or MQA
    a.head_dim = 32 * dim(rng);
    a.hidden = a.heads * a.head_dim + 64 * dim(rng);
    a.intermediate = inter(rng);
    a.vocab = vocab(rng);
    a.tied_embeddings = coin(rng) == 1;
    const std::uint64_t h = a.hidden, q = a.q_dim(), kv = a.k_dim();
    const std::uint64_t expected = std::uint64_t{a.vocab} * h * (a.tied_embeddings ? 1 : 2) +
                                   std::uint64_t{a.layers} * (h * q + 2 * h * kv + q * h + 3 * h * a.intermediate + 2 * h) +
                                   h;
    INFO("case " << i);
    REQUIRE(a.parameters() == expected);
    // Every parameter is in exactly one class.
    const auto w = weight_bytes(a, weight_recipe::uniform(info(format_id::f16), info(format_id::f16)));
    CHECK(w.total_parameters() == expected);
    CHECK(w.total() == 2 * expected);
  }
}

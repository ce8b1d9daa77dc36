// Activation and host-RAM estimates against the published formulas, derived
// by hand in the comments.
#include <qmath/models.hpp>

#include <cstdint>
#include <random>

#include "catch.hpp"

using namespace qmath;
using namespace qmath::models;

namespace {

// The layer Korthikanti et al. 2022 count: MHA, FFN 4h with GELU, LayerNorm,
// dropout (GPT-3 175B: 96 layers, h 12288, 96 heads).
constexpr architecture gpt3_175b{
    .name = "GPT-3-175B",
    .source = "Brown et al. 2020, table 2.1",
    .layers = 96, .hidden = 12288, .heads = 96, .kv_heads = 96,
    .intermediate = 4 * 12288, .ffn = ffn_kind::ungated, .vocab = 50257,
    .norm = norm_kind::layer, .qkv_bias = true, .o_bias = true, .mlp_bias = true,
    .learned_positions = 2048, .max_context = 2048};

}  // namespace

TEST_CASE("training activations reproduce Korthikanti's sbh(34 + 5as/h)") {
  const std::uint64_t s = 2048, b = 1, h = 12288, a = 96;
  const training_activation_config c{.sequence = s, .micro_batch = b};
  const auto per_layer = training_layer_activation_bytes(gpt3_175b, c, true);
  // sbh (34 + 5 a s / h) = 34 sbh + 5 a s² b bytes.
  CHECK(per_layer == 34 * s * b * h + 5 * a * s * s * b);
  const auto r = training_activation_bytes(gpt3_175b, c);
  CHECK(r.per_layer == per_layer);
  CHECK(r.layers == 96 * per_layer);
  // Logits in the compute dtype, their fp32 copy and the fp32 log-softmax.
  CHECK(r.logits == s * b * 50257 * (2 + 4 + 4));
  CHECK(r.total == r.layers + r.logits);

  // Selective recompute (Korthikanti sec. 5): 34 sbh per layer.
  training_activation_config sel = c;
  sel.mode = recompute::selective;
  CHECK(training_activation_bytes(gpt3_175b, sel).layers == 96 * 34 * s * b * h);
  // FlashAttention: no s² terms; the fp32 log-sum-exp (4 a s b) remains.
  training_activation_config fa = c;
  fa.flash_attention = true;
  CHECK(training_activation_bytes(gpt3_175b, fa).per_layer == 34 * s * b * h + 4 * a * s * b);
  // Full recompute: each layer's input (2 sbh) plus one layer rebuilt.
  training_activation_config full = c;
  full.mode = recompute::full;
  const auto rf = training_activation_bytes(gpt3_175b, full);
  CHECK(rf.layers == 96 * 2 * s * b * h);
  CHECK(rf.working_set == per_layer);
  // Without dropout the 1-byte masks (sbh + sbh + as²b) and the dropout output (2as²b) go.
  training_activation_config no_drop = c;
  no_drop.dropout = false;
  CHECK(training_layer_activation_bytes(gpt3_175b, no_drop, true) == 32 * s * b * h + 2 * a * s * s * b);
}

TEST_CASE("training activations of a GQA SwiGLU model") {
  // Llama-3-8B, s = 4096, b = 1, bf16, no dropout, FlashAttention. Per layer:
  // QKV input sh + Q,K,V s(4096 + 1024 + 1024) + proj input 4096 s, all x 2 B;
  // FFN input sh + 4 x s x 14336 (gate, up, act, product) x 2 B; 2 norm inputs 2 sh x 2 B;
  // lse 32 x s x 4 B.
  const std::uint64_t s = 4096, h = 4096;
  const std::uint64_t expected = 2 * (s * h + s * 6144 + s * 4096) + 2 * (s * h + 4 * s * 14336) + 2 * 2 * s * h +
                                 32 * s * 4;
  const training_activation_config c{.sequence = s, .flash_attention = true, .dropout = false};
  CHECK(training_layer_activation_bytes(llama_3_8b, c, true) == expected);
  // Gradient checkpointing keeps 32 layer inputs and one working set; logits
  // 4096 x 128256 x 10 B = 5,253,365,760 B dominate.
  training_activation_config ckpt = c;
  ckpt.mode = recompute::full;
  const auto r = training_activation_bytes(llama_3_8b, ckpt);
  CHECK(r.logits == 5'253'365'760ull);
  CHECK(r.total == 32 * 2 * s * h + expected + 5'253'365'760ull);
  CHECK(training_activation_memory(llama_3_8b, ckpt).activations == r.total);
  // Checkpointing never costs more than keeping everything.
  CHECK(r.total < training_activation_bytes(llama_3_8b, c).total);
}

TEST_CASE("inference peak: decode, prefill with and without flash attention") {
  // Decode one token of Llama-3-8B (f32 hidden states, as llama.cpp computes):
  // residual 2 x 4096 x 4 = 32,768; attention (4096 + 1024 + 1024 + 4096) x 4 =
  // 40,960; FFN 3 x 14336 x 4 = 172,032; logits 128,256 x 4 = 513,024 -> peak
  // 32,768 + 513,024.
  const auto decode = inference_activation_bytes(llama_3_8b, {.context = 8192, .ubatch = 1});
  CHECK(decode.residual == 32'768);
  CHECK(decode.attention == 40'960);
  CHECK(decode.ffn == 172'032);
  CHECK(decode.logits == 513'024);
  CHECK(decode.peak == 32'768 + 513'024);
  // Prefill chunks of 512 against 8192 cached tokens without flash attention:
  // the f32 scores 32 heads x 512 x 8192 x 4 B = 512 MiB dominate.
  const auto no_fa = inference_activation_bytes(llama_3_8b, {.context = 8192, .flash_attention = false});
  CHECK(no_fa.attention == 512ull * (4096 + 1024 + 1024 + 4096) * 4 + 512 * mib);
  CHECK(no_fa.peak == 512ull * 2 * 4096 * 4 + no_fa.attention);
  // With flash attention the FFN (512 x 14336 x 3 x 4 B) is the largest stage.
  const auto fa = inference_activation_bytes(llama_3_8b, {.context = 8192});
  CHECK(fa.peak == 512ull * 2 * 4096 * 4 + 512ull * 14336 * 3 * 4);
  // A short prompt is one chunk of its own length; all logits for it.
  const auto short_prompt = inference_activation_bytes(llama_3_8b, {.context = 100, .all_logits = true});
  CHECK(short_prompt.logits == 100ull * 128256 * 4);
  CHECK(inference_activation_memory(llama_3_8b, {.context = 8192}).activations == fa.peak);
  // MoE: the active experts' and shared experts' intermediates (DeepSeek-V2-Lite:
  // max(6 x 1408 + 2816, dense 10944) = 11,264 wide).
  CHECK(inference_activation_bytes(deepseek_v2_lite, {.context = 16, .ubatch = 1}).ffn == 11'264ull * 3 * 4);
}

TEST_CASE("activation errors") {
  CHECK_THROWS_WITH(inference_activation_bytes(llama_3_8b, {.context = 0}), Catch::Contains("context must be positive"));
  CHECK_THROWS_WITH(inference_activation_bytes(llama_3_8b, {.context = 8, .batch = 0}), Catch::Contains("batch"));
  CHECK_THROWS_WITH(inference_activation_bytes(llama_3_8b, {.context = 8, .ubatch = 0}), Catch::Contains("ubatch"));
  CHECK_THROWS_WITH(training_activation_bytes(llama_3_8b, {.sequence = 0}), Catch::Contains("sequence length"));
  CHECK_THROWS_WITH(training_activation_bytes(llama_3_8b, {.sequence = 8, .micro_batch = 0}),
                    Catch::Contains("micro batch"));
  architecture bad = llama_3_8b;
  bad.layers = 0;
  CHECK_THROWS_AS(training_activation_bytes(bad, {.sequence = 8}), qmath::error);
}

TEST_CASE("training activations grow with s and b as the formula says") {
  std::mt19937 rng(31337);
  std::uniform_int_distribution<std::uint64_t> seq(1, 8192), mb(1, 16);
  for (int i = 0; i < 200; ++i) {
    const std::uint64_t s = seq(rng), b = mb(rng);
    INFO("s " << s << " b " << b);
    const auto layer = training_layer_activation_bytes(gpt3_175b, {.sequence = s, .micro_batch = b}, true);
    CHECK(layer == 34 * s * b * 12288 + 5 * 96 * s * s * b);
  }
}

TEST_CASE("host RAM while loading") {
  // torch .bin without low_cpu_mem_usage: the fp32 model (4 x 8,030,261,248 =
  // 32,121,044,992 B) plus the bf16 state dict (16,060,522,496 B).
  const auto full = host_ram(llama_3_8b, {.method = load_method::torch_full_load});
  CHECK(full.weights == 32'121'044'992ull);
  CHECK(full.overhead == 16'060'522'496ull);
  CHECK(full.total() == 48'181'567'488ull);
  // torch_dtype=bfloat16: twice the checkpoint.
  CHECK(host_ram(llama_3_8b, {.method = load_method::torch_full_load, .load_dtype = format_id::bf16}).total() ==
        2 * 16'060'522'496ull);
  // safetensors with low_cpu_mem_usage: resident weights plus one 5 GB shard.
  const auto lazy = host_ram(llama_3_8b, {});
  CHECK(lazy.weights == 16'060'522'496ull);
  CHECK(lazy.overhead == 5'000'000'000ull);
  // device_map to the GPU: nothing stays resident, one shard passes through.
  const auto gpu = host_ram(llama_3_8b, {.offloaded_fraction = 1.0});
  CHECK(gpu.weights == 0);
  CHECK(gpu.total() == 5'000'000'000ull);
  // A small model: the shard is the whole file.
  CHECK(host_ram(qwen2_5_0_5b, {}).overhead == 2ull * 494'032'768);
  // GGUF mmap: the file's tensors for CPU inference, nothing once fully offloaded.
  const auto q4 = weight_recipe::gguf(gguf_ftype::q4_k_m);
  CHECK(host_ram(llama_3_8b, {.method = load_method::gguf_mmap, .checkpoint = q4}).total() == 4'912'898'048ull);
  CHECK(host_ram(llama_3_8b, {.method = load_method::gguf_mmap, .checkpoint = q4, .offloaded_fraction = 1.0})
            .total() == 0);
  CHECK(host_ram(llama_3_8b, {.method = load_method::gguf_mmap, .checkpoint = q4, .offloaded_fraction = 0.5})
            .weights == 4'912'898'048ull / 2);
  // Errors.
  CHECK_THROWS_WITH(host_ram(llama_3_8b, {.offloaded_fraction = 1.5}), Catch::Contains("not in [0, 1]"));
  CHECK_THROWS_WITH(host_ram(llama_3_8b, {.method = load_method::gguf_mmap}), Catch::Contains("needs a gguf recipe"));
  CHECK_THROWS_WITH(host_ram(llama_3_8b, {.method = load_method::torch_full_load, .checkpoint = q4}),
                    Catch::Contains("unquantized checkpoint"));
  CHECK_THROWS_WITH(host_ram(llama_3_8b, {.shard_bytes = 0}), Catch::Contains("shard size"));
}

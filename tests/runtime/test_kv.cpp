// KV-cache bytes against hand-derived values: GQA, MHA, MQA, MLA, sliding
// windows, quantized cache types at their true block sizes, llama.cpp's
// padding and the error paths.
#include <qmath/models.hpp>

#include <cstdint>
#include <random>
#include <string>

#include "catch.hpp"

using namespace qmath;
using namespace qmath::models;

TEST_CASE("Llama-3-8B fp16 at 8192 tokens is 1 GiB") {
  // 2 (K, V) x 32 layers x 8 kv heads x 128 x 8192 tokens x 2 B = 1,073,741,824.
  const auto e = kv_cache(llama_3_8b, {.context = 8192});
  CHECK(e.bytes == 2ull * 32 * 8 * 128 * 8192 * 2);
  CHECK(e.bytes == gib);
  CHECK(e.k_bytes == e.v_bytes);
  CHECK(e.full_layers == 32);
  CHECK(e.sliding_layers == 0);
  CHECK(kv_cache_bytes_per_token(llama_3_8b) == 131'072);
  // bf16 costs the same; fp8 half; f32 double.
  CHECK(kv_cache(llama_3_8b, {.context = 8192, .type_k = info(format_id::bf16), .type_v = info(format_id::bf16)})
            .bytes == gib);
  CHECK(kv_cache(llama_3_8b, {.context = 8192, .type_k = info(format_id::fp8_e4m3),
                              .type_v = info(format_id::fp8_e5m2)})
            .bytes == gib / 2);
  CHECK(kv_cache(llama_3_8b, {.context = 8192, .type_k = info(format_id::f32), .type_v = info(format_id::f32)})
            .bytes == 2 * gib);
}

TEST_CASE("quantized KV caches cost their block sizes") {
  // Q8_0 stores 32 values in 34 bytes: a 1024-value row is 32 x 34 = 1088 B;
  // 2 x 32 layers x 8192 x 1088 = 570,425,344. Q4_0: 32 x 18 = 576 B per row.
  const auto q8 = info(format_id::q8_0), q4 = info(format_id::q4_0);
  CHECK(kv_cache(llama_3_8b, {.context = 8192, .type_k = q8, .type_v = q8}).bytes == 2ull * 32 * 8192 * 1088);
  CHECK(kv_cache(llama_3_8b, {.context = 8192, .type_k = q4, .type_v = q4}).bytes == 2ull * 32 * 8192 * 576);
  // Mixed: K q8_0, V f16.
  CHECK(kv_cache(llama_3_8b, {.context = 8192, .type_k = q8}).bytes == 32ull * 8192 * (1088 + 2048));
  // A row that is not whole blocks is rejected: Qwen2.5-0.5B's K row is 2 x 64 = 128 values.
  CHECK_THROWS_WITH(kv_cache(qwen2_5_0_5b, {.context = 16, .type_k = info(format_id::q4_k)}),
                    Catch::Contains("128 elements of q4_k are not a whole number of 256-element blocks"));
}

TEST_CASE("MHA, GQA and MQA scale with the kv heads") {
  // CodeLlama-7B (MHA, 32 kv heads): 2 x 32 x 32 x 128 x 2 B = 524,288 B per token.
  CHECK(kv_cache_bytes_per_token(codellama_7b) == 524'288);
  architecture mqa = codellama_7b;
  mqa.kv_heads = 1;
  CHECK(kv_cache_bytes_per_token(mqa) == 524'288 / 32);
  // Gemma-2-9B: head_dim 256 from the config, not 3584/16 = 224:
  // 2 x 42 x 8 x 256 x 2 B = 344,064 B per token.
  CHECK(kv_cache_bytes_per_token(gemma_2_9b) == 344'064);
}

TEST_CASE("batch x context for the HF layout, no padding") {
  const auto one = kv_cache(qwen2_5_7b, {.context = 1000});
  // Qwen2.5-7B: 2 x 28 x 4 x 128 x 2 B = 57,344 B per token.
  CHECK(one.bytes == 57'344ull * 1000);
  CHECK(kv_cache(qwen2_5_7b, {.context = 1000, .batch = 6}).bytes == 6 * one.bytes);
  CHECK(kv_cache(qwen2_5_7b, {.context = 6000}).bytes == 6 * one.bytes);
}

TEST_CASE("llama.cpp pads the cell count") {
  // Current llama.cpp: n_ctx = GGML_PAD(n_ctx, 256): 1100 -> 1280 cells.
  const kv_cache_config cpp{.context = 1100, .layout = kv_cache_layout::llama_cpp};
  CHECK(kv_cache(llama_3_8b, cpp).full_cells == 1280);
  CHECK(kv_cache(llama_3_8b, cpp).bytes == 131'072ull * 1280);
  // Older builds: 32 without flash attention -> 1120 cells.
  kv_cache_config legacy = cpp;
  legacy.ctx_padding = 32;
  CHECK(kv_cache(llama_3_8b, legacy).full_cells == 1120);
  // A unified cache for 3 sequences of 1000 tokens: pad(3000, 256) = 3072 cells.
  CHECK(kv_cache(llama_3_8b, {.context = 1000, .batch = 3, .layout = kv_cache_layout::llama_cpp}).full_cells ==
        3072);
  // Already a multiple: no padding.
  CHECK(kv_cache(llama_3_8b, {.context = 8192, .layout = kv_cache_layout::llama_cpp}).bytes == gib);
}

TEST_CASE("sliding-window layers are capped at their window") {
  // Gemma-2-2B: 13 sliding layers (even indices) and 13 global ones; per layer
  // and token K + V = 2 x 4 x 256 x 2 B = 4096 B.
  // HF at 8192: 13 x 8192 x 4096 + 13 x 4096 x 4096 = 436,207,616 + 218,103,808.
  const auto hf = kv_cache(gemma_2_2b, {.context = 8192});
  CHECK(hf.sliding_layers == 13);
  CHECK(hf.full_layers == 13);
  CHECK(hf.sliding_cells == 4096);
  CHECK(hf.bytes == 436'207'616ull + 218'103'808ull);
  // Below the window nothing is capped.
  CHECK(kv_cache(gemma_2_2b, {.context = 2048}).bytes == 26ull * 2048 * 4096);
  // llama.cpp iSWA: sliding cells = pad(min(8192, 4096 x 1 + 512), 256) = 4608.
  const auto cpp = kv_cache(gemma_2_2b, {.context = 8192, .layout = kv_cache_layout::llama_cpp});
  CHECK(cpp.sliding_cells == 4608);
  CHECK(cpp.bytes == 436'207'616ull + 13ull * 4608 * 4096);
  // --swa-full: every layer keeps the whole context.
  CHECK(kv_cache(gemma_2_2b, {.context = 8192, .layout = kv_cache_layout::llama_cpp, .sliding_window = false})
            .bytes == 26ull * 8192 * 4096);
  // Mistral-7B-v0.1 slides on every layer: 32 x 4096 x 2 x 1024 x 2 B at 8192 tokens.
  CHECK(kv_cache(mistral_7b, {.context = 8192}).bytes == 32ull * 4096 * 4096);
}

TEST_CASE("MLA caches the compressed latent") {
  // DeepSeek-V2-Lite: (kv_lora_rank 512 + rope 64) x 2 B = 1152 B per layer and
  // token, x 27 layers = 31,104 B per token; 4096 tokens -> 127,401,984 B.
  CHECK(kv_cache_bytes_per_token(deepseek_v2_lite) == 31'104);
  const auto e = kv_cache(deepseek_v2_lite, {.context = 4096});
  CHECK(e.bytes == 31'104ull * 4096);
  CHECK(e.v_bytes == 0);
  // Decompressed per-head K (16 x 192) and V (16 x 128): (6144 + 4096) B x 27.
  CHECK(kv_cache_bytes_per_token(deepseek_v2_lite, info(format_id::f16), info(format_id::f16), false) == 276'480);
  CHECK(kv_cache(deepseek_v2_lite, {.context = 4096, .mla_compressed = false}).bytes == 276'480ull * 4096);
}

TEST_CASE("KV-cache errors") {
  CHECK_THROWS_WITH(kv_cache(llama_3_8b, {.context = 0}), Catch::Contains("context must be positive"));
  CHECK_THROWS_WITH(kv_cache(llama_3_8b, {.context = 10, .batch = 0}), Catch::Contains("batch must be positive"));
  CHECK_THROWS_WITH(kv_cache(kobert, {.context = 128}), Catch::Contains("encoder and keeps no KV cache"));
  CHECK_THROWS_WITH(kv_cache_bytes_per_token(kobert), Catch::Contains("encoder"));
  const auto q4 = info(format_id::q4_0);
  CHECK_THROWS_WITH(
      kv_cache(llama_3_8b, {.context = 10, .type_v = q4, .layout = kv_cache_layout::llama_cpp}),
      Catch::Contains("needs flash attention for a quantized V cache"));
  CHECK_NOTHROW(kv_cache(llama_3_8b,
                         {.context = 10, .type_v = q4, .layout = kv_cache_layout::llama_cpp, .flash_attention = true}));
  architecture bad = llama_3_8b;
  bad.kv_heads = 3;
  CHECK_THROWS_AS(kv_cache(bad, {.context = 10}), qmath::error);
}

TEST_CASE("random contexts: HF is linear, llama.cpp pads by less than one block of cells") {
  std::mt19937 rng(99);
  std::uniform_int_distribution<std::uint64_t> ctx(1, 200'000), batch(1, 8);
  std::uniform_int_distribution<std::size_t> pick(0, catalog.size() - 1);
  for (int i = 0; i < 300; ++i) {
    const auto& a = catalog[pick(rng)];
    if (a.kind == model_kind::encoder) continue;
    const std::uint64_t c = ctx(rng), b = batch(rng);
    INFO(std::string(a.name) << " ctx " << c << " batch " << b);
    const kv_cache_config no_window{.context = c, .batch = b, .sliding_window = false};
    const auto hf = kv_cache(a, no_window);
    CHECK(hf.bytes == kv_cache_bytes_per_token(a) * c * b);
    kv_cache_config cpp = no_window;
    cpp.layout = kv_cache_layout::llama_cpp;
    const auto padded = kv_cache(a, cpp);
    CHECK(padded.bytes >= hf.bytes);
    CHECK(padded.bytes - hf.bytes < kv_cache_bytes_per_token(a) * 256);
    // Windows only ever shrink the cache.
    CHECK(kv_cache(a, {.context = c, .batch = b}).bytes <= hf.bytes);
    CHECK(kv_cache_memory(a, no_window).total() == hf.bytes);
  }
}

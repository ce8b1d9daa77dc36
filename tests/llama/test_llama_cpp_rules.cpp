// llama.cpp's context rules in qmath::llama_cpp: padding, streams, refusals,
// the trained-context warning, the plan mapping and the CUDA layout rules.
// The bytes themselves are checked against the real llama.cpp in
// test_llama_cpp_golden.
#include <qmath/estimate/llama_cpp.hpp>
#include <qmath/memory.hpp>
#include <qmath/models/catalog.hpp>
#include <qmath/devices.hpp>

#include "catch.hpp"

using namespace qmath;
namespace lc = qmath::llama_cpp;

namespace {
constexpr weight_recipe q4km = weight_recipe::gguf(gguf_ftype::q4_k_m);
constexpr lc::context_params four_seqs{.n_ctx = 8192, .n_seq_max = 4, .type_k = format_id::q8_0,
                                       .type_v = format_id::q8_0, .fa = lc::flash_attn::on};
// the golden row llama-3-8b,q4_k_m,8192,2048,512,4,0,q8_0,q8_0,on: K 2048 cells x 4 streams x 32 layers x 1088 B
static_assert(lc::estimate(models::llama_3_8b, q4km, four_seqs).k_bytes == 285'212'672);
static_assert(lc::estimate(models::llama_3_8b, q4km, four_seqs).context.n_ctx_seq == 2048);
static_assert(lc::estimate(models::llama_3_8b, q4km, four_seqs).compute_replayed);
}  // namespace

TEST_CASE("contexts are padded to 256 cells per stream") {
  // n_ctx 1000 over 3 sequences: n_ctx_seq = GGML_PAD(1024 / 3, 256) = 512, n_ctx = 3 x 512
  const auto r = lc::resolve(models::llama_3_8b, {.n_ctx = 1000, .n_seq_max = 3});
  CHECK(r.n_ctx_seq == 512);
  CHECK(r.n_ctx == 1536);
  CHECK(r.n_streams == 3);
  // unified: one stream of the padded n_ctx
  const auto u = lc::resolve(models::llama_3_8b, {.n_ctx = 1000, .n_seq_max = 3, .kv_unified = true});
  CHECK(u.n_ctx_seq == 1024);
  CHECK(u.n_streams == 1);
  // the batch is limited by the unpadded context: 300 tokens, 300-token graph
  const auto small = lc::resolve(models::llama_3_8b, {.n_ctx = 300});
  CHECK(small.n_ubatch == 300);
  CHECK(small.n_tokens == 300);
  CHECK(small.n_ctx_seq == 512);
}

TEST_CASE("n_ctx 0 is the trained context; above it llama.cpp warns and allocates") {
  const auto r = lc::resolve(models::llama_3_8b, {.n_ctx = 0});
  CHECK(r.n_ctx == 8192);
  CHECK_FALSE(r.above_trained_context);
  const auto big = lc::estimate(models::llama_3_8b, q4km, {.n_ctx = 131072});
  CHECK(big.context.above_trained_context);
  CHECK(big.k_bytes == 8'589'934'592);  // the golden row llama-3-8b,q4_k_m,131072
}

TEST_CASE("plans llama.cpp refuses are errors naming the rule") {
  CHECK_THROWS_WITH(lc::estimate(models::llama_3_8b, q4km,
                                 {.n_ctx = 4096, .type_v = format_id::q8_0, .fa = lc::flash_attn::off}),
                    Catch::Contains("quantized V cache (q8_0) without flash attention"));
  CHECK_THROWS_WITH(lc::estimate(models::deepseek_v2_lite, q4km, {.n_ctx = 4096, .type_k = format_id::q8_0}),
                    Catch::Contains("K type q8_0 != V type f16 on an MLA model"));
  CHECK_THROWS_AS(lc::estimate(models::llama_3_8b, q4km, {.n_ctx = 4096, .n_seq_max = 0}), qmath::error);
  // a quantized V with flash attention on or auto is fine
  CHECK_NOTHROW(lc::estimate(models::llama_3_8b, q4km, {.n_ctx = 4096, .type_v = format_id::q8_0}));
}

TEST_CASE("sliding windows: Gemma-2 slides, Mistral and Phi-3 keep full caches") {
  const auto gemma = lc::resolve(models::gemma_2_9b, {.n_ctx = 32768});
  CHECK(gemma.swa_cells == 4608);  // GGML_PAD(4096 + 512, 256)
  CHECK(lc::resolve(models::gemma_2_9b, {.n_ctx = 32768, .swa_full = true}).swa_cells == 32768);
  CHECK(lc::resolve(models::mistral_7b, {.n_ctx = 32768}).swa_cells == 0);
  CHECK(lc::resolve(models::phi_3_mini, {.n_ctx = 4096}).swa_cells == 0);
}

TEST_CASE("a plan on llama.cpp uses llama.cpp's KV and compute bytes") {
  const plan p{.model = models::qwen2_5_7b, .weights = q4km, .kv_type = info(format_id::q8_0), .batch = 2,
               .context = 8192, .runtime = runtimes::llama_cpp,
               .llama = {.n_ubatch = 256, .kv_unified = false, .flash_attn = lc::flash_attn::on}};
  const auto e = estimate(p, devices::cpu_64gb);
  const auto m = lc::estimate(models::qwen2_5_7b, q4km,
                              {.n_ctx = 16384, .n_ubatch = 256, .n_seq_max = 2, .type_k = format_id::q8_0,
                               .type_v = format_id::q8_0, .fa = lc::flash_attn::on});
  CHECK(e.gpu.kv_cache == m.kv_bytes());
  CHECK(e.gpu.activations == m.compute);
  // -ctv different from -ctk
  plan mixed = p;
  mixed.llama.type_v = format_id::f16;
  CHECK(estimate(mixed, devices::cpu_64gb).gpu.kv_cache > e.gpu.kv_cache);
  // above the trained context only when asked for
  plan longer = p;
  longer.context = 262144;
  CHECK_THROWS_AS(estimate(longer, devices::cpu_64gb), qmath::error);
  longer.llama.allow_above_trained_context = true;
  longer.batch = 1;
  CHECK_NOTHROW(estimate(longer, devices::cpu_64gb));
}

TEST_CASE("CUDA: 128-byte alignment and quantized rows padded to 512 values (not measured here)") {
  lc::context_params cpu{.n_ctx = 8192};
  lc::context_params cuda = cpu;
  cuda.device = lc::backend::cuda;
  cuda.n_gpu_layers = lc::all_gpu_layers;
  // Llama-3-8B's rows (4096, 14336 values) are whole multiples of 512: no padding
  CHECK(lc::estimate(models::llama_3_8b, q4km, cuda).weights == lc::estimate(models::llama_3_8b, q4km, cpu).weights);
  // DeepSeek-V2-Lite's experts have rows of 1408 values: padded to 1536 on the GPU
  CHECK(lc::estimate(models::deepseek_v2_lite, q4km, cuda).weights >
        lc::estimate(models::deepseek_v2_lite, q4km, cpu).weights);
  cuda.n_gpu_layers = 0;
  CHECK(lc::estimate(models::deepseek_v2_lite, q4km, cuda).weights ==
        lc::estimate(models::deepseek_v2_lite, q4km, cpu).weights);
  // coarser alignment never shrinks the buffer
  cuda.n_gpu_layers = lc::all_gpu_layers;
  CHECK(lc::estimate(models::llama_3_8b, q4km, cuda).compute >= lc::estimate(models::llama_3_8b, q4km, cpu).compute);
}

TEST_CASE("architectures without a replayed graph say so") {
  // GPT-NeoX (LayerNorm, biases, GELU): a closed-form bound, flagged
  const auto m = lc::estimate(models::polyglot_ko_1_3b, weight_recipe::gguf(gguf_ftype::f16), {.n_ctx = 2048});
  CHECK_FALSE(m.compute_replayed);
  CHECK(m.compute > 0);
  CHECK(lc::estimate(models::qwen2_5_0_5b, q4km, {.n_ctx = 2048}).compute_replayed);
}

TEST_CASE("the shortened replay equals the full replay on every catalog decoder") {
  const lc::context_params settings[] = {
      {.n_ctx = 4096},
      {.n_ctx = 32768, .n_ubatch = 1024, .fa = lc::flash_attn::off},
      {.n_ctx = 16384, .n_seq_max = 4, .type_k = format_id::q8_0, .type_v = format_id::q8_0},
      {.n_ctx = 8192, .n_ubatch = 128, .n_seq_max = 2, .kv_unified = true, .type_k = format_id::q4_0,
       .fa = lc::flash_attn::off},
  };
  int checked = 0;
  for (const models::architecture& a : models::catalog) {
    if (!lc::graph_modelled(a)) continue;
    for (lc::context_params c : settings) {
      if (a.is_mla()) c.type_k = c.fa == lc::flash_attn::off ? format_id::f16 : c.type_k, c.type_v = c.type_k;
      INFO(a.name << " n_ctx " << c.n_ctx);
      const lc::resolved_context r = lc::resolve(a, c);
      auto g = lc::graph_params_of(a, c, r);
      const std::uint64_t shortened = ggml_alloc::reserve_bytes(lc::graph_detail::build_dense(g));
      g.full_depth = true;
      CHECK(ggml_alloc::reserve_bytes(lc::graph_detail::build_dense(g)) == shortened);
      ++checked;
    }
  }
  CHECK(checked >= 60);
}

TEST_CASE("hostile contexts are errors, not wrapped byte counts") {
  // 2^32 - 1 tokens pad past 32 bits
  CHECK_THROWS_AS(lc::estimate(models::llama_3_8b, q4km, {.n_ctx = 4294967295u}), qmath::error);
  // the largest context that still resolves: its f32 KQ without flash attention is counted, not wrapped
  const auto m = lc::estimate(models::llama_3_8b, q4km,
                              {.n_ctx = 4294967040u, .n_batch = 4096, .n_ubatch = 4096, .fa = lc::flash_attn::off});
  CHECK(m.compute > 4294967040ull * 4096 * 32 * 4);
  CHECK_THROWS_AS(lc::estimate(models::llama_3_8b, q4km, {.n_ctx = 4096, .n_batch = 0}), qmath::error);
  // 2^32 cells x 2^32 tokens x 33 x 4 bytes of KQ: past 64 bits
  CHECK_THROWS_WITH(lc::estimate(models::llama_3_8b, q4km,
                                 {.n_ctx = 4294967040u, .n_batch = 4294967295u, .n_ubatch = 4294967295u,
                                  .fa = lc::flash_attn::off}),
                    Catch::Contains("overflows 64 bits"));
}

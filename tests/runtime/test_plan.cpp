// Plans, fits, runtime profiles, offload splits, solvers and every error path.

#include <array>
#include <cstdint>
#include <random>

#include "catch.hpp"
#include "qmath/devices.hpp"
#include "qmath/memory.hpp"
#include "qmath/models.hpp"

using namespace qmath;

namespace {
constexpr device make_gpu(std::uint64_t bytes) {
  return device{.id = "test_gpu", .name = "test GPU", .vendor = device_vendor::nvidia, .kind = device_kind::gpu,
                .memory_bytes = bytes, .usable_bytes = bytes, .source = "test"};
}
constexpr weight_recipe fp16 = weight_recipe::uniform(info(format_id::f16), info(format_id::f16));
constexpr plan llama_fp16{.model = models::llama_3_8b, .weights = fp16, .context = 2048};
constexpr plan llama_q4{.model = models::llama_3_8b,
                        .weights = weight_recipe::gguf(gguf_ftype::q4_k_m),
                        .context = 4096,
                        .runtime = runtimes::llama_cpp};
}  // namespace

TEST_CASE("fits is the comparison of required and available bytes") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::uint64_t> bytes(1ull << 30, 48ull << 30);
  std::uniform_int_distribution<std::uint32_t> batch(1, 8);
  std::uniform_int_distribution<std::uint64_t> context(1, 8192);
  for (int i = 0; i < 200; ++i) {
    const device d = make_gpu(bytes(rng));
    plan p = (i % 2 == 0) ? llama_fp16 : llama_q4;
    p.batch = batch(rng);
    p.context = context(rng);
    CHECK(fits(p, d) == (required_bytes(p, d) <= available_bytes(p, d)));
    CHECK(available_bytes(p, d) == d.usable_bytes);
    // the GPU breakdown is the required bytes
    CHECK(estimate(p, d).gpu.total() == required_bytes(p, d));
  }
}

TEST_CASE("required bytes grow with context and batch") {
  std::mt19937 rng(11);
  std::uniform_int_distribution<std::uint64_t> context(1, 8000);
  std::uniform_int_distribution<std::uint32_t> batch(1, 16);
  const device d = make_gpu(80ull << 30);
  for (const plan& base : {llama_fp16, llama_q4}) {
    for (int i = 0; i < 100; ++i) {
      plan p = base;
      p.context = context(rng);
      p.batch = batch(rng);
      plan longer = p;
      longer.context += 1 + context(rng) % 100;
      plan wider = p;
      wider.batch += 1;
      CHECK(required_bytes(longer, d) >= required_bytes(p, d));
      // llama.cpp pads the cells to 256 and its compute buffer does not grow
      // with the sequences under flash attention: one more sequence can cost nothing
      if (p.is_llama_cpp()) CHECK(required_bytes(wider, d) >= required_bytes(p, d));
      else CHECK(required_bytes(wider, d) > required_bytes(p, d));
    }
  }
}

TEST_CASE("runtime profiles are explicit") {
  const device gpu = make_gpu(24ull << 30);
  plan p = llama_fp16;
  p.runtime = runtimes::bare;
  const memory_breakdown bare = estimate(p, gpu).gpu;
  CHECK(bare.overhead == 0);
  p.runtime = runtimes::transformers;
  const memory_breakdown hf = estimate(p, gpu).gpu;
  // 512 MiB context + 32 MiB cuBLAS + 10% of KV and activations
  CHECK(hf.overhead == 544 * mib + (hf.kv_cache + hf.activations) / 10);
  // Ollama: llama.cpp + the 457 MiB minimum (ml/device.go); no allocator slack
  plan o = llama_q4;
  o.runtime = runtimes::ollama;
  CHECK(estimate(o, gpu).gpu.overhead == 300 * mib + 457 * mib);
  o.runtime = runtimes::llama_cpp;
  CHECK(estimate(o, gpu).gpu.overhead == 300 * mib);
  // No CUDA context on a CPU or on Apple silicon.
  CHECK(estimate(o, devices::cpu_16gb).gpu.overhead == 0);
  CHECK(estimate(o, devices::m3_max_64gb).gpu.overhead == 0);
  // vLLM works inside 90% of the device memory.
  plan v = llama_fp16;
  v.runtime = runtimes::vllm;
  CHECK(available_bytes(v, devices::a100_sxm4_80gb) == static_cast<std::uint64_t>(0.9 * 80.0 * 1024 * 1024 * 1024));
  // ... and claims all of it next to other processes.
  const std::array two{v, llama_q4};
  CHECK(required_bytes_together(two, devices::a100_sxm4_80gb) ==
        available_bytes(v, devices::a100_sxm4_80gb) + required_bytes(llama_q4, devices::a100_sxm4_80gb));
  // 72 GiB claimed + about 16 GiB for a second FP16 process > 80 GiB
  const std::array crowded{v, llama_fp16};
  CHECK(fits(v, devices::a100_sxm4_80gb));
  CHECK(fits(llama_fp16, devices::a100_sxm4_80gb));
  CHECK_FALSE(fits_together(crowded, devices::a100_sxm4_80gb));
}

TEST_CASE("llama.cpp layer split: the last n blocks on the GPU") {
  const auto& m = models::llama_3_8b;
  const weight_recipe r = weight_recipe::gguf(gguf_ftype::q4_k_m);
  const std::uint64_t total = weight_bytes(m, r).total();
  std::uint64_t previous_gpu = 0;
  for (std::uint32_t n = 0; n <= m.layers + 1; ++n) {
    const layer_split s = split_layers(m, r, n, offload_style::llama_cpp);
    CHECK(s.gpu_weight_bytes + s.host_weight_bytes == total);
    CHECK(s.gpu_weight_bytes >= previous_gpu);
    CHECK(s.output_on_gpu == (n > m.layers));  // -ngl 33 for 32 blocks puts the output layer on the GPU
    CHECK(s.streaming_buffer_bytes == 0);
    previous_gpu = s.gpu_weight_bytes;
  }
  // -ngl 0: nothing on the GPU; all: everything but the token embedding,
  // which llama.cpp keeps on the CPU (128256 x 4096 Q4_K: 295,501,824 B).
  CHECK(split_layers(m, r, 0, offload_style::llama_cpp).gpu_weight_bytes == 0);
  CHECK(split_layers(m, r, all_layers, offload_style::llama_cpp).host_weight_bytes == 128256ull * 4096 / 256 * 144);
  // The KV of CPU blocks stays in host RAM: with 16 of 32 blocks, half of it.
  plan p = llama_q4;
  p.gpu_layers = 16;
  const plan_estimate e = estimate(p, make_gpu(24ull << 30));
  CHECK(e.gpu.kv_cache == e.host.kv_cache);
  CHECK(e.gpu.kv_cache + e.host.kv_cache == kv_cache(m, detail::plan_kv_config(p)).bytes);
}

TEST_CASE("llama.cpp loads a tied embedding twice when the output layer is offloaded") {
  // Qwen2.5-0.5B ties lm_head to embed_tokens: the CPU keeps the input copy,
  // the GPU gets the output copy (TENSOR_DUPLICATED); on a CPU-only device the
  // two are one mmap'ed tensor.
  const auto& m = models::qwen2_5_0_5b;
  const weight_recipe r = weight_recipe::gguf(gguf_ftype::q4_k_m);
  const weight_breakdown w = weight_bytes(m, r);
  const std::uint64_t embedding = w[models::tensor_class::embedding];
  const layer_split all = split_layers(m, r, all_layers, offload_style::llama_cpp);
  CHECK(all.host_weight_bytes == embedding);
  CHECK(all.gpu_weight_bytes + all.host_weight_bytes == w.total() + embedding);
  const layer_split blocks_only = split_layers(m, r, m.layers, offload_style::llama_cpp);
  CHECK(blocks_only.gpu_weight_bytes + blocks_only.host_weight_bytes == w.total());
  const plan p{.model = m, .weights = r, .context = 2048, .runtime = runtimes::llama_cpp};
  CHECK(estimate(p, devices::cpu_8gb).gpu.weights == w.total());
  CHECK(estimate(p, devices::cpu_8gb).host.total() == 0);
}

TEST_CASE("accelerate split: the first n blocks on the GPU, the rest streamed") {
  const auto& m = models::llama_3_8b;
  const std::uint64_t block = 218'112'000ull * 2;  // one fp16 Llama-3-8B block: 218,103,808 linear + 8192 norm values
  const layer_split s = split_layers(m, fp16, 10, offload_style::accelerate);
  // embeddings (128256 x 4096 x 2) + 10 blocks on the GPU, one block of buffer
  CHECK(s.gpu_weight_bytes == 128256ull * 4096 * 2 + 10 * block);
  CHECK(s.streaming_buffer_bytes == block);
  CHECK_FALSE(s.output_on_gpu);
  CHECK(split_layers(m, fp16, 32, offload_style::accelerate).output_on_gpu);
  CHECK(split_layers(m, fp16, 32, offload_style::accelerate).streaming_buffer_bytes == 0);
  // All KV stays on the execution GPU.
  plan p = llama_fp16;
  p.gpu_layers = 10;
  const plan_estimate e = estimate(p, make_gpu(12ull << 30));
  CHECK(e.host.kv_cache == 0);
  CHECK(e.gpu.kv_cache == 268'435'456);
}

TEST_CASE("solvers return the edge of what fits") {
  const device d = devices::rtx_3060_12gb;
  // max_context: fits at the answer, not one token more (below the model's cap)
  plan p = llama_fp16;
  p.weights = weight_recipe::bnb_8bit();
  const std::uint64_t ctx = max_context(p, d);
  REQUIRE(ctx > 0);
  p.context = ctx;
  CHECK(fits(p, d));
  if (ctx < p.model.max_context) {
    p.context = ctx + 1;
    CHECK_FALSE(fits(p, d));
  }
  // a model that cannot fit at all: 0
  CHECK(max_context(llama_fp16, make_gpu(1ull << 30)) == 0);
  CHECK(max_batch(llama_fp16, make_gpu(1ull << 30)) == 0);
  // max_batch
  plan q = llama_q4;
  const std::uint32_t b = max_batch(q, d);
  REQUIRE(b > 0);
  q.batch = b;
  CHECK(fits(q, d));
  q.batch = b + 1;
  CHECK_FALSE(fits(q, d));
  // max_gpu_layers: all when everything fits, else the edge
  CHECK(max_gpu_layers(llama_q4, d) == all_layers);
  plan big = llama_fp16;
  big.weights = weight_recipe::gguf(gguf_ftype::f16);
  big.runtime = runtimes::llama_cpp;
  const std::uint32_t n = max_gpu_layers(big, d);
  REQUIRE(n < big.model.layers);
  big.gpu_layers = n;
  CHECK(fits(big, d));
  big.gpu_layers = n + 1;
  CHECK_FALSE(fits(big, d));
}

TEST_CASE("the most accurate recipe that fits") {
  // Ranked by bits per weight: on a 12 GiB card Llama-3-8B takes Q8_0 (8.5
  // bits, ~8 GiB) since F16 (15 GiB) does not fit; every recipe with more
  // bits than the answer does not fit.
  const auto best = most_accurate_recipe(llama_q4, devices::rtx_3060_12gb, gguf_recipes);
  REQUIRE(best.has_value());
  CHECK(best->ftype == gguf_ftype::q8_0);
  for (const device& d : {devices::rtx_2060, devices::rtx_3070, devices::rtx_4090, devices::cpu_8gb}) {
    const auto r = most_accurate_recipe(llama_q4, d, gguf_recipes);
    if (!r) continue;
    plan chosen = llama_q4;
    chosen.weights = *r;
    CHECK(fits(chosen, d));
    const double bits = weight_bytes(llama_q4.model, *r).bits_per_weight();
    for (const weight_recipe& other : gguf_recipes) {
      if (weight_bytes(llama_q4.model, other).bits_per_weight() <= bits) continue;
      plan q = llama_q4;
      q.weights = other;
      CHECK_FALSE(fits(q, d));
    }
  }
  // Nothing fits 1 GiB.
  CHECK_FALSE(most_accurate_recipe(llama_q4, make_gpu(1ull << 30), gguf_recipes).has_value());
  // transformers: bf16 on 24 GiB, NF4 on 8 GiB.
  CHECK(most_accurate_recipe(llama_fp16, devices::rtx_3090, transformers_recipes)->kind ==
        weight_recipe::kind_t::uniform);
  CHECK(most_accurate_recipe(llama_fp16, devices::rtx_3070, transformers_recipes)->kind ==
        weight_recipe::kind_t::bnb_4bit);
}

TEST_CASE("the cheapest device") {
  // Free notebooks count as price 0; among equal prices the smaller wins.
  const std::array free_ones{devices::kaggle_p100, devices::colab_free_t4, devices::aws_g5_xlarge};
  const plan small{.model = models::qwen2_5_0_5b, .context = 2048};
  CHECK(cheapest_device(small, free_ones)->id == "colab_free_t4");
  // Without instances: the least memory that fits.
  const std::array cards{devices::rtx_4090, devices::rtx_3060_12gb, devices::rtx_2060};
  CHECK(cheapest_device(llama_q4, cards)->id == "rtx_2060");
  CHECK(smallest_device(llama_q4, cards)->id == "rtx_2060");
  CHECK_FALSE(cheapest_device(llama_fp16, std::array{devices::rtx_2060}).has_value());
  // A multi-GPU plan needs an instance with that many GPUs.
  plan tp = llama_fp16;
  tp.parallel.tensor = 2;
  CHECK_FALSE(fits(tp, devices::colab_free_t4));
  CHECK(fits(tp, devices::kaggle_t4x2));
}

TEST_CASE("tensor parallelism splits weights and KV heads") {
  const device d = make_gpu(80ull << 30);
  plan p = llama_fp16;
  p.runtime = runtimes::bare;
  const memory_breakdown one = estimate(p, d).gpu;
  p.parallel.tensor = 4;
  const memory_breakdown four = estimate(p, d).gpu;
  CHECK(four.weights == one.weights / 4);
  CHECK(four.kv_cache == one.kv_cache / 4);  // 8 kv heads -> 2 per GPU
  p.parallel.tensor = 16;                    // more GPUs than kv heads: one head each
  CHECK(estimate(p, d).gpu.kv_cache == one.kv_cache / 8);
}

TEST_CASE("bad plans are rejected with a message") {
  const device d = make_gpu(24ull << 30);
  plan p = llama_fp16;
  p.batch = 0;
  CHECK_THROWS_WITH(fits(p, d), Catch::Contains("batch must be positive"));
  p = llama_fp16;
  p.context = 0;
  CHECK_THROWS_WITH(fits(p, d), Catch::Contains("context must be positive"));
  p.context = 9000;  // Llama-3-8B has 8192 positions
  CHECK_THROWS_WITH(fits(p, d), Catch::Contains("exceeds the model's 8192 positions"));
  p = llama_fp16;
  p.model.layers = 0;
  CHECK_THROWS_WITH(fits(p, d), Catch::Contains("layers must be positive"));
  p = llama_fp16;
  p.model.head_dim = 0;
  p.model.heads = 30;  // 4096 / 30
  p.model.kv_heads = 30;
  CHECK_THROWS_WITH(fits(p, d), Catch::Contains("is not divisible by 30 heads"));
  device empty = d;
  empty.usable_bytes = 0;
  CHECK_THROWS_WITH(fits(llama_fp16, empty), Catch::Contains("device has no memory"));
  p = llama_fp16;
  p.parallel.data = 0;
  CHECK_THROWS_WITH(fits(p, d), Catch::Contains("parallel degrees must be positive"));
  p = llama_fp16;
  p.training = training_config{};
  p.gpu_layers = 4;
  CHECK_THROWS_WITH(fits(p, d), Catch::Contains("training keeps every layer on the GPU"));
  p.gpu_layers = all_layers;
  p.training->method = finetune_method::qlora;
  CHECK_THROWS_WITH(fits(p, d), Catch::Contains("QLoRA trains on a bitsandbytes 4-bit base"));
  p.training->method = finetune_method::full;
  p.weights = weight_recipe::gguf(gguf_ftype::q4_0);
  CHECK_THROWS_WITH(fits(p, d), Catch::Contains("full fine-tuning needs floating-point weights"));
}

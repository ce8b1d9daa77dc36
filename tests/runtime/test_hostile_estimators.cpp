// Hostile numbers given to the estimators: every product that passes 2^64,
// every degenerate layout and every NaN must be a qmath::error naming the
// quantity, never a count that wraps to something small and "fits". Each
// case reproduces a defect that once returned a wrong answer or crashed.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <qmath/devices.hpp>
#include <qmath/estimate/host_ram.hpp>
#include <qmath/estimate/plan.hpp>
#include <qmath/estimate/speed.hpp>
#include <qmath/models.hpp>

#include "catch.hpp"

namespace d = qmath::devices;
namespace m = qmath::models;
using Catch::Contains;

namespace {
constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();
constexpr double infinity = std::numeric_limits<double>::infinity();

qmath::plan llama_inference(std::uint64_t context, std::uint32_t batch) {
  qmath::plan p{.model = m::llama_3_8b, .batch = batch, .context = context};
  p.model.max_context = 0;  // no position limit: the products alone decide
  return p;
}
}  // namespace

TEST_CASE("hostile: batch x context past 2^64 is an error, not an empty KV cache") {
  // context 2^60 once gave a 0-byte cache (2^60 x 131072 B per token wraps to 0)
  CHECK_THROWS_WITH(qmath::kv_cache(m::llama_3_8b, {.context = std::uint64_t{1} << 60}),
                    Contains("qmath::kv_cache") && Contains("overflows 64 bits"));
  CHECK_THROWS_AS(qmath::kv_cache(m::llama_3_8b, {.context = std::uint64_t{1} << 62, .batch = 4}), qmath::error);
  CHECK_THROWS_WITH(qmath::kv_cache(m::llama_3_8b, {.context = std::uint64_t{1} << 40,
                                                    .batch = std::uint64_t{1} << 40}),
                    Contains("batch x context tokens"));
  // The largest context that does not wrap is still computed exactly.
  const auto e = qmath::kv_cache(m::llama_3_8b, {.context = std::uint64_t{1} << 40});
  CHECK(e.bytes == (std::uint64_t{1} << 40) * qmath::kv_cache_bytes_per_token(m::llama_3_8b));
}

TEST_CASE("hostile: a plan whose bytes wrap does not fit an RTX 3060") {
  // context 2^62, batch 4 once "fit" a 12 GB card
  CHECK_THROWS_AS(qmath::fits(llama_inference(std::uint64_t{1} << 62, 4), d::rtx_3060_12gb), qmath::error);
  CHECK_THROWS_AS(qmath::fits(llama_inference(std::uint64_t{1} << 60, 1), d::rtx_3060_12gb), qmath::error);
  CHECK_FALSE(qmath::fits(llama_inference(std::uint64_t{1} << 30, 1), d::rtx_3060_12gb));
  // the same through the llama.cpp layout (padded cells) and training
  auto p = llama_inference(std::uint64_t{1} << 62, 4);
  p.runtime = qmath::runtimes::llama_cpp;
  CHECK_THROWS_AS(qmath::estimate(p, d::rtx_3060_12gb), qmath::error);
  auto t = llama_inference(std::uint64_t{1} << 40, 1u << 30);
  t.training = qmath::training_presets::mixed_precision_adamw;
  CHECK_THROWS_AS(qmath::estimate(t, d::h100_sxm5_80gb), qmath::error);
}

TEST_CASE("hostile: parallel degrees whose product passes 32 bits") {
  // data x tensor = 2^32 once made gpus() 0 and a 405B-class model "fit" at 728 MB a GPU
  const qmath::parallelism wide{.data = 1u << 16, .tensor = 1u << 16};
  CHECK_THROWS_WITH(wide.gpus(), Contains("qmath::parallelism"));
  CHECK_THROWS_AS(qmath::validate(wide), qmath::error);
  qmath::plan p{.model = m::llama_3_1_70b, .parallel = wide};
  CHECK_THROWS_AS(qmath::fits(p, d::h100_sxm5_80gb), qmath::error);
  // tensor x pipeline = 2^32 once divided by zero (SIGFPE)
  const qmath::parallelism deep{.tensor = 1u << 16, .pipeline = 1u << 16};
  CHECK_THROWS_AS(qmath::shard_model_state({.weights = 1000}, deep, 0), qmath::error);
  p.parallel = deep;
  CHECK_THROWS_AS(qmath::estimate(p, d::h100_sxm5_80gb), qmath::error);
  // 2^32 - 1 GPUs is the most a layout can have
  const qmath::parallelism most{.data = 65537, .tensor = 65535};
  CHECK(most.gpus() == 0xffffffffu);
}

TEST_CASE("hostile: parameters() of dimensions near 2^32") {
  m::architecture a{.name = "huge", .source = "", .layers = 2, .hidden = 0xfffffff0u, .heads = 16, .intermediate = 0xfffffff0u,
                    .vocab = 0xfffffff0u};
  // vocab x hidden fits 64 bits, but the sum over the tensors does not
  CHECK_THROWS_WITH(a.parameters(), Contains("overflows 64 bits"));
  CHECK_THROWS_AS(a.active_parameters(), qmath::error);
  CHECK_THROWS_AS(qmath::weight_bytes(a), qmath::error);
  CHECK_THROWS_AS(qmath::training_state(a, qmath::training_presets::mixed_precision_adamw), qmath::error);
  // A routed expert tensor whose copies overflow
  m::architecture moe = m::mixtral_8x7b;
  moe.experts = 0xffffffffu;
  moe.expert_intermediate = 0xfffffff0u;
  CHECK_THROWS_AS(moe.parameters(), qmath::error);
  // MLA head dims whose 32-bit sum wraps
  m::architecture mla = m::deepseek_v2_lite;
  mla.qk_nope_head_dim = 0xffffffffu;
  CHECK_THROWS_WITH(m::validate(mla), Contains("overflows 32 bits"));
  // more layers than a block index holds
  m::architecture deep = m::llama_3_8b;
  deep.layers = 0xffffffffu;
  CHECK_THROWS_WITH(deep.parameters(), Contains("do not fit a block index"));
}

TEST_CASE("hostile: LLM.int8 rows too long for a 32-bit block size") {
  // hidden 2^29: 8 bits a code + the fp32 absmax wrapped the uint32 block size
  m::architecture a{.name = "wide", .source = "", .layers = 1, .hidden = 1u << 29, .heads = 1, .intermediate = 64, .vocab = 2};
  CHECK_THROWS_WITH(qmath::weight_bytes(a, qmath::weight_recipe::bnb_8bit()), Contains("32-bit block size"));
  CHECK_THROWS_AS(qmath::bnb_int8_rowwise_info(1u << 29), qmath::error);
  // the longest row that fits is costed exactly: one code a value + 4 bytes
  const std::uint32_t longest = (0xffffffffu - 32) / 8;
  CHECK(qmath::storage_bytes(qmath::bnb_int8_rowwise_info(longest), longest) == std::uint64_t{longest} + 4);
}

TEST_CASE("hostile: storage_bytes of a count whose bits pass 2^64") {
  const auto f32 = qmath::info(qmath::format_id::f32);
  CHECK_THROWS_WITH(qmath::storage_bytes(f32, std::uint64_t{1} << 62), Contains("storage bytes"));
  // 2^65 bits are 2^62 bytes: the byte count fits although the bit count does not
  CHECK(qmath::storage_bytes(f32, std::uint64_t{1} << 60) == std::uint64_t{1} << 62);
  CHECK(qmath::storage_bytes(f32, (std::uint64_t{1} << 62) - 1) == ~std::uint64_t{0} - 3);
  // q8_0: 34 bytes a 32-element block
  const auto q8 = qmath::info(qmath::format_id::q8_0);
  CHECK(qmath::storage_bytes(q8, std::uint64_t{1} << 62) == (std::uint64_t{1} << 57) * 34);
  CHECK(qmath::storage_bytes(q8, std::uint64_t{1} << 63) == (std::uint64_t{1} << 58) * 34);
  CHECK_THROWS_AS(qmath::storage_bytes(q8, ~std::uint64_t{0} - 31), qmath::error);  // (2^59 - 1) x 34 bytes
  // double-quantized NF4: a second level of scales per 256 blocks, odd block counts
  const auto nf4 = qmath::bnb_4bit_info(qmath::format_id::bnb_nf4, 64, true);
  for (std::uint64_t blocks : {std::uint64_t{1}, std::uint64_t{7}, std::uint64_t{257}, std::uint64_t{1} << 40}) {
    const std::uint64_t group_bits = (blocks + 255) / 256 * nf4.group_bits;
    const std::uint64_t bits = blocks * nf4.block_bits + group_bits;  // < 2^64 for these
    CHECK(qmath::storage_bytes(nf4, blocks * 64) == (bits + 7) / 8 + nf4.tensor_bytes);
  }
}

TEST_CASE("hostile: DeepSpeed estimators with counts past 2^64") {
  // 2^63 parameters: 2 bytes each pass 2^64; casting the double was undefined
  const std::uint64_t p = std::uint64_t{1} << 63;
  CHECK_THROWS_WITH(qmath::deepspeed_zero2_estimate(p, 8, 1, false), Contains("qmath::deepspeed_zero2_estimate"));
  CHECK_THROWS_AS(qmath::deepspeed_zero2_estimate(p, 8, 1, true), qmath::error);
  CHECK_THROWS_AS(qmath::deepspeed_zero3_estimate(p, 1, 8, 1, false, false, false), qmath::error);
  CHECK_THROWS_AS(qmath::deepspeed_zero3_estimate(1, p, 8, 1, false, false, false), qmath::error);
  CHECK_THROWS_AS(qmath::deepspeed_zero2_estimate(1000, 8, 1, false, not_a_number), qmath::error);
  CHECK_THROWS_AS(qmath::deepspeed_zero3_estimate(1000, 10, 8, 1, true, true, false, -1.0), qmath::error);
  // 2^32-1 GPUs a node x 2^32-1 nodes: 4 x total_gpus wrapped in 64 bits
  const auto big = qmath::deepspeed_zero2_estimate(1000, 0xffffffffu, 0xffffffffu, false, 1.0);
  CHECK(big.gpu_bytes == 2000);  // int(18 x 1000 / 1.8e19) = 0
  CHECK_THROWS_WITH(qmath::deepspeed_zero2_estimate(1000, 0xffffffffu, 0xffffffffu, true), Contains("CPU bytes"));
}

TEST_CASE("hostile: a NaN or out-of-range vLLM memory_utilization") {
  qmath::plan p{.model = m::llama_3_8b, .runtime = qmath::runtimes::vllm};
  p.runtime.memory_utilization = not_a_number;
  // NaN passed the range check and made available_bytes 2^64 - 1: everything "fit"
  CHECK_THROWS_WITH(qmath::available_bytes(p, d::rtx_3060_12gb), Contains("memory_utilization"));
  CHECK_THROWS_AS(qmath::fits(p, d::rtx_3060_12gb), qmath::error);
  p.runtime.memory_utilization = 1.5;
  CHECK_THROWS_AS(qmath::fits(p, d::rtx_3060_12gb), qmath::error);
  p.runtime.memory_utilization = -0.1;
  CHECK_THROWS_AS(qmath::fits(p, d::rtx_3060_12gb), qmath::error);
  p.runtime.memory_utilization = 0.9;
  CHECK(qmath::available_bytes(p, d::rtx_3060_12gb) ==
        static_cast<std::uint64_t>(static_cast<double>(d::rtx_3060_12gb.usable_bytes) * 0.9));
}

TEST_CASE("hostile: runtime overhead of dynamic bytes near 2^64") {
  qmath::runtime_profile r = qmath::runtimes::transformers;
  r.slack_permille = 1000;  // the slack alone is the whole 2^64 - 1, the CUDA context passes it
  CHECK_THROWS_AS(qmath::runtime_overhead_bytes(r, d::rtx_3060_12gb, ~std::uint64_t{0}), qmath::error);
  r.slack_permille = 0xffffffffu;
  CHECK_THROWS_AS(qmath::runtime_overhead_bytes(r, d::rtx_3060_12gb, std::uint64_t{1} << 50), qmath::error);
  r.slack_permille = 100;
  CHECK(qmath::runtime_overhead_bytes(r, d::cpu_8gb, 12345) == 1234);
}

TEST_CASE("hostile: host_ram of a model whose bytes pass 2^64") {
  m::architecture a{.name = "huge", .source = "", .layers = 1, .hidden = 0xffffffffu, .heads = 1, .intermediate = 1,
                    .vocab = 0x7fffffffu, .tied_embeddings = true, .checkpoint_dtype = qmath::format_id::bf16};
  // vocab x hidden x 4 bytes passes 2^64
  qmath::host_ram_config c{.method = qmath::load_method::torch_full_load};
  CHECK_THROWS_AS(qmath::host_ram(a, c), qmath::error);
  c.offloaded_fraction = not_a_number;
  CHECK_THROWS_WITH(qmath::host_ram(m::llama_3_8b, c), Contains("offloaded fraction"));
}

TEST_CASE("hostile: training_time on more accelerators than 32 bits of instances") {
  qmath::device eight = d::h100_sxm5_80gb;
  eight.kind = qmath::device_kind::cloud_instance;
  eight.count = 8;
  eight.usd_per_hour = 98.32;
  // n + count - 1 wrapped: 0 instances, $0
  const auto t = qmath::training_time(eight, {.params = 8e9, .tokens = 1e12}, 0xffffffffu);
  CHECK(t.instances == 536870912u);  // ceil((2^32 - 1) / 8)
  CHECK(t.usd > 0);
  CHECK(t.usd == Approx(t.seconds / 3600.0 * 536870912.0 * 98.32));
  CHECK_THROWS_AS(qmath::training_time(eight, {.params = not_a_number, .tokens = 1e12}), qmath::error);
  CHECK_THROWS_AS(qmath::training_time(eight, {.params = infinity, .tokens = 1e12}), qmath::error);
  CHECK_THROWS_AS(qmath::training_time(eight, {.params = 8e9, .tokens = 1e12}, 0, qmath::compute_type::bf16, not_a_number),
                  qmath::error);
  eight.usd_per_hour = not_a_number;
  CHECK_THROWS_AS(qmath::training_time(eight, {.params = 8e9, .tokens = 1e12}), qmath::error);
  CHECK_THROWS_AS(qmath::cost_usd(eight, 3600), qmath::error);
}

TEST_CASE("hostile: NaN and infinite speed inputs") {
  CHECK_THROWS_AS(qmath::decode_speed(d::rtx_3090, {.weight_bytes = not_a_number}), qmath::error);
  CHECK_THROWS_AS(qmath::decode_speed(d::rtx_3090, {.weight_bytes = infinity}), qmath::error);
  CHECK_THROWS_AS(qmath::decode_speed(d::rtx_3090, {.weight_bytes = 1e9, .kv_bytes_per_sequence = not_a_number}), qmath::error);
  CHECK_THROWS_AS(qmath::decode_speed(d::rtx_3090, {.weight_bytes = 1e9, .active_params = not_a_number}), qmath::error);
  CHECK_THROWS_AS(qmath::decode_speed(d::rtx_3090, {.weight_bytes = 1e9, .attention_flops_per_token = infinity}),
                  qmath::error);
  CHECK_THROWS_AS(qmath::decode_speed(d::rtx_3090, {.weight_bytes = 1e9}, qmath::compute_type::fp16, {not_a_number, 0.5}),
                  qmath::error);
  CHECK_THROWS_AS(qmath::prefill_speed(d::rtx_3090, {.weight_bytes = not_a_number, .active_params = 1e9, .prompt_tokens = 8}),
                  qmath::error);
  CHECK_THROWS_AS(qmath::prefill_speed(d::rtx_3090, {.weight_bytes = 1e9, .active_params = infinity, .prompt_tokens = 8}),
                  qmath::error);
  CHECK_THROWS_AS(qmath::attention_flops_per_token(32, not_a_number, 100), qmath::error);
  qmath::device broken = d::rtx_3090;
  broken.memory_bandwidth_gbps = infinity;
  CHECK_THROWS_AS(qmath::decode_speed(broken, {.weight_bytes = 1e9}), qmath::error);
  broken = d::rtx_3090;
  broken.fp16_tflops = not_a_number;
  CHECK_THROWS_AS(qmath::prefill_speed(broken, {.weight_bytes = 1e9, .active_params = 1e9, .prompt_tokens = 8}),
                  qmath::error);
  const auto s = qmath::decode_speed(d::rtx_3090, {.weight_bytes = 1e9});
  CHECK_THROWS_AS(qmath::request_seconds(s, not_a_number, s, 10), qmath::error);
}

TEST_CASE("hostile: device profiles with NaN rates or no memory") {
  qmath::device dev = d::rtx_3060_12gb;
  dev.usd_per_hour = not_a_number;
  CHECK_THROWS_WITH(qmath::validate(dev), Contains("price per hour"));
  dev = d::rtx_3060_12gb;
  dev.count = 0xffffffffu;
  dev.usable_bytes = ~std::uint64_t{0} / 2;
  CHECK_THROWS_AS(dev.total_usable_bytes(), qmath::error);
  CHECK_THROWS_AS(qmath::fits(qmath::plan{.model = m::llama_3_8b}, dev), qmath::error);
}

TEST_CASE("hostile: activation products past 2^64") {
  CHECK_THROWS_WITH(qmath::inference_activation_bytes(m::llama_3_8b, {.context = std::uint64_t{1} << 40,
                                                                      .batch = std::uint64_t{1} << 30,
                                                                      .ubatch = std::uint64_t{1} << 40}),
                    Contains("qmath::inference_activation_bytes"));
  CHECK_THROWS_AS(qmath::inference_activation_bytes(m::llama_3_8b, {.context = std::uint64_t{1} << 32,
                                                                    .ubatch = std::uint64_t{1} << 32,
                                                                    .flash_attention = false}),
                  qmath::error);
  CHECK_THROWS_AS(qmath::training_activation_bytes(m::llama_3_8b, {.sequence = std::uint64_t{1} << 31,
                                                                   .micro_batch = 1}),
                  qmath::error);
  CHECK_THROWS_AS(qmath::training_activation_bytes(m::llama_3_8b, {.sequence = std::uint64_t{1} << 40,
                                                                   .micro_batch = std::uint64_t{1} << 30,
                                                                   .mode = qmath::recompute::full,
                                                                   .flash_attention = true}),
                  qmath::error);
  CHECK_THROWS_AS(qmath::effective_batch(std::uint64_t{1} << 40,
                                         qmath::training_config{.gradient_accumulation_steps = 1u << 31}),
                  qmath::error);
}

TEST_CASE("hostile: optimizer state of huge matrices") {
  CHECK_THROWS_AS(qmath::optimizer_state_bytes(qmath::optimizer_kind::adamw, 1ull << 32, 1ull << 32, 1, 4),
                  qmath::error);
  CHECK_THROWS_AS(qmath::optimizer_state_bytes(qmath::optimizer_kind::adamw, 1ull << 30, 1ull << 30, 1, 4 << 3),
                  qmath::error);
  CHECK_THROWS_AS(qmath::optimizer_state_bytes(qmath::optimizer_kind::adafactor, ~0ull, 2, 1, 4), qmath::error);
  CHECK_THROWS_AS(qmath::optimizer_state_bytes(qmath::optimizer_kind::adamw_8bit, 1ull << 62, 4, 1, 1),
                  qmath::error);
  CHECK(qmath::optimizer_state_bytes(qmath::optimizer_kind::adamw, 1ull << 30, 1ull << 30, 1, 4) == 1ull << 63);
}

// ---- the cost of an estimate does not grow with the layer count ---------------
namespace {
// The per-block walk the grouped estimators replace, as the oracle.
std::uint64_t per_block_weight_bytes(const m::architecture& a, const qmath::weight_recipe& r) {
  std::uint64_t n = 0;
  m::for_each_tensor(a, [&](const m::tensor& t) { n += qmath::tensor_bytes(a, t, r); });
  return n;
}

qmath::layer_split per_block_split(const m::architecture& a, const qmath::weight_recipe& r, std::uint32_t gpu_layers,
                                   qmath::offload_style style) {
  const bool llama = style == qmath::offload_style::llama_cpp;
  qmath::layer_split s;
  s.gpu_blocks = gpu_layers < a.layers ? gpu_layers : a.layers;
  s.output_on_gpu = llama ? gpu_layers > a.layers : gpu_layers >= a.layers;
  const std::uint32_t first = llama ? a.layers - s.gpu_blocks : 0, end = llama ? a.layers : s.gpu_blocks;
  std::vector<std::uint64_t> block(a.layers, 0);
  m::for_each_tensor(a, [&](const m::tensor& t) {
    const std::uint64_t bytes = qmath::tensor_bytes(a, t, r);
    bool on_gpu = s.output_on_gpu;
    if (t.layer >= 0) {
      const auto i = static_cast<std::uint32_t>(t.layer);
      block[i] += bytes;
      on_gpu = i >= first && i < end;
    } else if (t.role == m::tensor_role::token_embedding) {
      on_gpu = !llama;
      if (llama && a.tied_embeddings && s.output_on_gpu) s.gpu_weight_bytes += bytes;
    } else if (t.role == m::tensor_role::position_embedding || t.role == m::tensor_role::token_type_embedding) {
      on_gpu = !llama;
    }
    (on_gpu ? s.gpu_weight_bytes : s.host_weight_bytes) += bytes;
  });
  if (!llama && s.gpu_blocks < a.layers)
    for (std::uint32_t i = s.gpu_blocks; i < a.layers; ++i) s.streaming_buffer_bytes = std::max(s.streaming_buffer_bytes, block[i]);
  return s;
}

std::vector<qmath::weight_recipe> every_recipe() {
  std::vector<qmath::weight_recipe> r{qmath::weight_recipe::checkpoint(), qmath::weight_recipe::bnb_4bit(),
                                      qmath::weight_recipe::bnb_8bit()};
  for (int f = 0; f <= static_cast<int>(qmath::gguf_ftype::q6_k); ++f)
    r.push_back(qmath::weight_recipe::gguf(static_cast<qmath::gguf_ftype>(f)));
  return r;
}
}  // namespace

TEST_CASE("hostile: alike blocks folded give the per-block sums, for every layer count") {
  const std::vector<std::uint32_t> layer_counts{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 23, 24, 31, 32, 33, 47, 48, 63, 80, 97};
  const auto recipes = every_recipe();
  for (m::architecture base : {m::llama_3_8b, m::mixtral_8x7b, m::deepseek_v2_lite, m::gemma_2_2b, m::qwen1_5_moe_a2_7b}) {
    for (std::uint32_t n : layer_counts) {
      m::architecture a = base;
      a.layers = n;
      if (a.first_dense_layers >= n) a.first_dense_layers = n / 2;
      std::uint64_t params = 0, blocks = 0;
      m::for_each_tensor(a, [&](const m::tensor& t) { params += t.elements(); });
      m::for_each_block_group(a, 0, n, [&](std::uint32_t, std::uint32_t count) { blocks += count; });
      INFO(a.name << " with " << n << " layers");
      CHECK(blocks == n);
      CHECK(a.parameters() == params);
      for (const auto& r : recipes) {
        INFO("recipe kind " << static_cast<int>(r.kind) << " ftype " << static_cast<int>(r.ftype));
        CHECK(qmath::weight_bytes(a, r).total() == per_block_weight_bytes(a, r));
      }
      for (std::uint32_t gpu : {0u, 1u, n / 3, n / 2, n - 1, n, n + 1}) {
        for (auto style : {qmath::offload_style::llama_cpp, qmath::offload_style::accelerate}) {
          const auto& r = recipes[7 + (gpu % 10)];
          const auto got = qmath::split_layers(a, r, gpu, style);
          const auto want = per_block_split(a, r, gpu, style);
          INFO("gpu layers " << gpu << " style " << static_cast<int>(style));
          CHECK(got.gpu_weight_bytes == want.gpu_weight_bytes);
          CHECK(got.host_weight_bytes == want.host_weight_bytes);
          CHECK(got.streaming_buffer_bytes == want.streaming_buffer_bytes);
        }
      }
    }
  }
}

TEST_CASE("hostile: sliding-window layers counted, not walked") {
  for (std::uint32_t every : {0u, 1u, 2u, 3u, 6u, 7u}) {
    for (std::uint32_t n : {1u, 2u, 5u, 26u, 42u, 97u}) {
      m::architecture a = m::gemma_2_2b;
      a.layers = n;
      a.full_attention_every = every;
      std::uint32_t sliding = 0;
      for (std::uint32_t i = 0; i < n; ++i) sliding += a.is_sliding_layer(i);
      CHECK(a.sliding_layers_in(0, n) == sliding);
      const auto e = qmath::kv_cache(a, {.context = 8192, .batch = 2});
      CHECK(e.sliding_layers == sliding);
      CHECK(e.full_layers == n - sliding);
      for (std::uint32_t first = 0; first <= n; first += 3) {
        std::uint32_t part = 0;
        for (std::uint32_t i = first; i < n; ++i) part += a.is_sliding_layer(i);
        CHECK(a.sliding_layers_in(first, n) == part);
      }
    }
  }
}

TEST_CASE("hostile: 2^31 - 1 layers are estimated without a walk over them") {
  m::architecture a = m::llama_3_8b;
  a.layers = 0x7fffffffu;
  a.max_context = 0;
  // the grouped walk visits a handful of runs, whatever the layer count
  std::size_t runs = 0;
  m::for_each_block_group(a, 0, a.layers, [&](std::uint32_t, std::uint32_t) { ++runs; });
  CHECK(runs <= 16);
  std::uint64_t tensors = 0, block_tensors = 0;
  m::for_each_tensor_grouped(a, [&](const m::tensor&, std::uint32_t) { ++tensors; });
  m::for_each_tensor(m::llama_3_8b, [&](const m::tensor& t) { block_tensors += t.layer == 0; });
  CHECK(tensors <= runs * block_tensors + 3);  // + embedding, final norm, LM head
  // each of these walked 2^31 blocks (minutes); the answers scale exactly
  const std::uint64_t per_block = (m::llama_3_8b.parameters() - 2 * m::llama_3_8b.embedding_parameters() - 4096) / 32;
  CHECK(a.parameters() == 2 * a.embedding_parameters() + 4096 + per_block * a.layers);
  CHECK(qmath::weight_bytes(a, qmath::weight_recipe::gguf(qmath::gguf_ftype::q4_k_m)).total() > 0);
  CHECK(qmath::kv_cache(a, {.context = 16}).bytes == std::uint64_t{16} * 131072 / 32 * a.layers);
  qmath::plan p{.model = a, .context = 16, .runtime = qmath::runtimes::llama_cpp};
  CHECK_FALSE(qmath::fits(p, d::rtx_3060_12gb));
  CHECK(qmath::max_gpu_layers(p, d::rtx_3060_12gb) < 64);
  p.training = qmath::training_presets::mixed_precision_adamw;
  p.runtime = qmath::runtimes::transformers;
  CHECK(qmath::estimate(p, d::h100_sxm5_80gb).gpu.optimizer == 8 * a.parameters());
  CHECK(qmath::lora_parameters(a, {.rank = 8}) == std::uint64_t{8} * (4096 + 4096 + 4096 + 1024) * a.layers);
}

// ---- reproducers found by fuzz/fuzz_estimators -----------------------------------

TEST_CASE("hostile (fuzz): 2^32 - 1 norms per layer are refused, not walked") {
  // fuzz/regressions/fuzz_estimators/norms-per-layer-4e9: the tensor list
  // had one entry per norm, so every estimate walked 4e9 of them per block
  m::architecture a = m::llama_3_8b;
  a.norms_per_layer = 0xffffffffu;
  CHECK_THROWS_WITH(a.parameters(), Contains("norms per layer"));
  CHECK_THROWS_AS(qmath::training_state(a, qmath::training_presets::mixed_precision_adamw), qmath::error);
  a.norms_per_layer = 64;
  CHECK(a.parameters() == m::llama_3_8b.parameters() + 62ull * 4096 * 32);
}

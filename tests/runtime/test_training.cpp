// Training state, LoRA and multi-GPU sharding. Expected numbers are worked out
// in the comments from the published formulas, not taken from qmath's output.

#include <cstdint>
#include <random>

#include "catch.hpp"
#include "qmath/memory.hpp"
#include "qmath/models.hpp"

using namespace qmath;

namespace {
// Llama-3-8B: 8,030,261,248 parameters (model card / safetensors total).
constexpr std::uint64_t llama3_params = 8'030'261'248;
// Its largest module: embed_tokens / lm_head, 128256 x 4096.
constexpr std::uint64_t llama3_embedding = 128'256ull * 4096;

// A one-matrix "model" is not expressible; small real shapes instead.
constexpr models::architecture tiny{.name = "tiny", .source = "test", .layers = 2, .hidden = 64, .heads = 4,
                                    .kv_heads = 2, .intermediate = 128, .vocab = 100, .max_context = 512};
}  // namespace

TEST_CASE("bytes per parameter of the published training recipes") {
  const auto& a = models::llama_3_8b;
  const std::uint64_t p = a.parameters();
  REQUIRE(p == llama3_params);

  // transformers docs (model_memory_anatomy.md): mixed precision AdamW =
  // 4 (fp32 master) + 4 (fp32 gradients) + 8 (two fp32 moments) besides the
  // 2-byte weights = 18 B/param.
  const memory_breakdown hf = training_state(a, training_presets::mixed_precision_adamw);
  CHECK(hf.master_weights == 4 * p);
  CHECK(hf.gradients == 4 * p);
  CHECK(hf.optimizer == 8 * p);
  CHECK(hf.adapters == 0);
  CHECK(2 * p + hf.total() == 18 * p);

  // DeepSpeed fp16: 2 + (2 fp16 grads + 4 fp32 grads + 4 fp32 params + 8 Adam) = 20 B.
  const memory_breakdown ds = training_state(a, training_presets::deepspeed_fp16_adamw);
  CHECK(ds.gradients == 6 * p);
  CHECK(2 * p + ds.total() == 20 * p);

  // Pure fp32: 4 + 4 + 8 = 16 B; no master copy.
  const memory_breakdown f32 = training_state(a, training_presets::fp32_adamw);
  CHECK(f32.master_weights == 0);
  CHECK(4 * p + f32.total() == 16 * p);

  // bf16 everywhere, no master: AdamW's zeros_like(param) moments are bf16: 2 + 2 + 4 = 8 B.
  training_config pure_bf16{.master_weights = false, .gradient_dtype = format_id::bf16};
  CHECK(2 * p + training_state(a, pure_bf16).total() == 8 * p);

  // SGD with momentum on fp32 master: one 4-byte buffer; plain SGD: none.
  training_config sgd_m{.optimizer = optimizer_kind::sgd_momentum};
  CHECK(training_state(a, sgd_m).optimizer == 4 * p);
  training_config sgd{.optimizer = optimizer_kind::sgd};
  CHECK(training_state(a, sgd).optimizer == 0);
}

TEST_CASE("8-bit and paged optimizer state follows bitsandbytes' block layout") {
  // Optimizer2State.init_state: two uint8 states plus one fp32 absmax per
  // 2048-element block each, for tensors of at least 4096 elements.
  // 4096 x 4096: 2 x 16,777,216 + 2 x 4 x 8192 = 33,619,968.
  CHECK(optimizer_state_bytes(optimizer_kind::adamw_8bit, 4096, 4096, 1, 4) == 33'619'968);
  // a partial last block still gets an absmax: 4097 = 2 x 2048 + 1 -> 3 blocks.
  CHECK(optimizer_state_bytes(optimizer_kind::adamw_8bit, 1, 4097, 1, 4) == 2 * 4097 + 2 * 4 * 3);
  // under min_8bit_size (4096) the states stay fp32: 4095 x 8.
  CHECK(optimizer_state_bytes(optimizer_kind::adamw_8bit, 1, 4095, 1, 4) == 4095 * 8);
  // paged variants cost the same bytes
  CHECK(optimizer_state_bytes(optimizer_kind::paged_adamw_8bit, 4096, 4096, 1, 4) == 33'619'968);
  CHECK(optimizer_state_bytes(optimizer_kind::paged_adamw, 4096, 4096, 1, 4) == 8ull * 4096 * 4096);
  // Llama-3-8B full fine-tune: close to 2 B/param, never below.
  training_config t{.optimizer = optimizer_kind::adamw_8bit};
  const std::uint64_t opt = training_state(models::llama_3_8b, t).optimizer;
  CHECK(opt > 2 * llama3_params);
  CHECK(opt < 2 * llama3_params + llama3_params / 200);  // absmax adds 8 B per 2048 elements = 0.4%

  // Paged state moved to the host when asked.
  plan p{.model = tiny, .context = 64, .training = training_config{.optimizer = optimizer_kind::paged_adamw}};
  constexpr device gpu{.id = "gpu", .name = "test GPU", .vendor = device_vendor::nvidia, .kind = device_kind::gpu,
                       .memory_bytes = 1ull << 30, .usable_bytes = 1ull << 30, .source = "test"};
  const plan_estimate on_gpu = estimate(p, gpu);
  p.training->paged_state_on_host = true;
  const plan_estimate on_host = estimate(p, gpu);
  CHECK(on_host.gpu.optimizer == 0);
  CHECK(on_host.host.optimizer == on_gpu.gpu.optimizer);
  CHECK(on_gpu.gpu.optimizer > 0);
}

TEST_CASE("Adafactor keeps a row and a column per matrix") {
  // transformers Adafactor, beta1=None: exp_avg_sq_row [rows] + exp_avg_sq_col [cols] in fp32.
  CHECK(optimizer_state_bytes(optimizer_kind::adafactor, 14336, 4096, 1, 4) == (14336 + 4096) * 4);
  CHECK(optimizer_state_bytes(optimizer_kind::adafactor, 1, 4096, 1, 4) == 4096 * 4);  // a vector: full
  // Llama-3-8B: sum over its tensors, computed here from the shapes. Per
  // block: q (4096+4096), k and v (1024+4096 each), o (4096+4096), gate and up
  // (14336+4096 each), down (4096+14336), two norms of 4096.
  const std::uint64_t per_block = 8192 + 2 * 5120 + 8192 + 3 * 18432 + 2 * 4096;
  const std::uint64_t outside = (128256 + 4096) * 2 + 4096;  // embedding, lm_head, final norm
  training_config t{.optimizer = optimizer_kind::adafactor};
  CHECK(training_state(models::llama_3_8b, t).optimizer == (32 * per_block + outside) * 4);
}

TEST_CASE("LoRA trainable parameters") {
  // PEFT: r * (in + out) per targeted Linear.
  // Llama-3-8B, r = 8 on q_proj and v_proj (PEFT's default for Llama):
  // 32 x 8 x ((4096 + 4096) + (4096 + 1024)) = 3,407,872; PEFT prints
  // "trainable params: 3,407,872 || all params: 8,033,669,120 || trainable%: 0.0424".
  const lora_config qv8{.rank = 8, .targets = lora_presets::qv};
  CHECK(lora_parameters(models::llama_3_8b, qv8) == 3'407'872);
  CHECK(lora_trainable_share(models::llama_3_8b, qv8) == Approx(3'407'872.0 / 8'033'669'120.0));

  // The seed's Polyglot-ko-1.3B "1.3B -> 1.5M (0.12%)": GPT-NeoX fuses q, k, v
  // into query_key_value [6144, 2048]; r = 8 on it alone:
  // 24 x 8 x (2048 + 6144) = 1,572,864, and 1,572,864 / (1,331,810,304 +
  // 1,572,864) = 0.118% -> "0.12%".
  const lora_config neox{.rank = 8, .targets = lora_target::q | lora_target::k | lora_target::v, .fused_qkv = true};
  CHECK(models::polyglot_ko_1_3b.parameters() == 1'331'810'304);
  CHECK(lora_parameters(models::polyglot_ko_1_3b, neox) == 1'572'864);
  CHECK(lora_trainable_share(models::polyglot_ko_1_3b, neox) * 100 == Approx(0.118).margin(0.0005));
  // Targeting q alone of a fused model still adapts the whole fused module.
  const lora_config neox_q{.rank = 8, .targets = lora_target::q, .fused_qkv = true};
  CHECK(lora_parameters(models::polyglot_ko_1_3b, neox_q) == 1'572'864);
  // Unfused, q, k and v separately: 24 x 3 x 8 x (2048 + 2048) = 2,359,296.
  const lora_config split{.rank = 8, .targets = lora_target::q | lora_target::k | lora_target::v};
  CHECK(lora_parameters(models::polyglot_ko_1_3b, split) == 2'359'296);

  // CodeLlama-7B, r = 16 on q, k, v, o: 32 x 4 x 16 x 8192 = 16,777,216.
  const lora_config cl{.rank = 16, .targets = lora_presets::qkvo};
  CHECK(lora_parameters(models::codellama_7b, cl) == 16'777'216);
  CHECK(lora_bytes(models::codellama_7b, cl) == 4 * 16'777'216ull);  // fp32 adapters

  // all-linear on Llama-3-8B, r = 16: every block Linear.
  // per block 16 x (8192 + 5120 + 5120 + 8192 + 3 x 18432) = 16 x 81920.
  const lora_config all{.rank = 16, .targets = lora_presets::all_linear};
  CHECK(lora_parameters(models::llama_3_8b, all) == 32ull * 16 * 81920);

  // Property: linear in the rank, monotone in the target set (fixed seed).
  std::mt19937 rng(20251123);
  std::uniform_int_distribution<std::uint32_t> rank(1, 256);
  std::uniform_int_distribution<std::uint32_t> bits(1, 127);
  for (int i = 0; i < 200; ++i) {
    lora_config c{.rank = rank(rng)};
    c.targets.bits = static_cast<std::uint16_t>(bits(rng));
    lora_config one = c;
    one.rank = 1;
    CHECK(lora_parameters(models::llama_3_8b, c) == c.rank * lora_parameters(models::llama_3_8b, one));
    lora_config more = c;
    more.targets = c.targets | lora_target::down;
    CHECK(lora_parameters(models::llama_3_8b, more) >= lora_parameters(models::llama_3_8b, c));
  }
}

TEST_CASE("LoRA and QLoRA state counts only the adapters") {
  // CodeLlama-7B, r = 16 q/k/v/o, AdamW: adapters 4 B, gradients 4 B, two
  // fp32 moments 8 B per adapter parameter.
  training_config t{.method = finetune_method::lora, .lora = {.rank = 16, .targets = lora_presets::qkvo}};
  t.master_weights = false;
  const memory_breakdown s = training_state(models::codellama_7b, t);
  CHECK(s.adapters == 4 * 16'777'216ull);
  CHECK(s.gradients == 4 * 16'777'216ull);
  CHECK(s.optimizer == 8 * 16'777'216ull);
  CHECK(s.master_weights == 0);
  CHECK(trainable_parameters(models::codellama_7b, t) == 16'777'216);
  // QLoRA upcasts the tensors bitsandbytes leaves alone: embeddings,
  // lm_head and norms of CodeLlama-7B = 2 x 32016 x 4096 + 65 x 4096 =
  // 262,541,312 elements, 2 more bytes each.
  training_config q = t;
  q.method = finetune_method::qlora;
  CHECK(qlora_upcast_bytes(models::codellama_7b, q) == 2 * 262'541'312ull);
  q.upcast_unquantized_to_fp32 = false;
  CHECK(qlora_upcast_bytes(models::codellama_7b, q) == 0);
  CHECK(qlora_upcast_bytes(models::codellama_7b, t) == 0);  // not QLoRA
}

TEST_CASE("ZeRO sharding matches DeepSpeed's estimators") {
  const std::uint64_t p = llama3_params;
  REQUIRE(largest_layer_parameters(models::llama_3_8b) == llama3_embedding);
  constexpr device a100{.id = "a100", .name = "A100 80GB", .vendor = device_vendor::nvidia,
                        .kind = device_kind::gpu, .memory_bytes = 80ull << 30, .usable_bytes = 80ull << 30, .source = "test"};

  for (std::uint32_t n : {1u, 2u, 4u, 8u, 16u}) {
    // ZeRO-2, fp16 (DeepSpeed's 2P + 18P/N: 2 params16 resident + 18 sharded).
    plan z2{.model = models::llama_3_8b, .batch = 1, .context = 512, .runtime = runtimes::bare,
            .training = training_presets::deepspeed_fp16_adamw,
            .parallel = {.data = n, .zero = zero_stage::gradients}};
    const plan_estimate e2 = estimate(z2, a100);
    const memory_breakdown& g2 = e2.gpu;
    const std::uint64_t states2 = g2.weights + g2.gradients + g2.optimizer + g2.master_weights;
    const deepspeed_estimate ds2 = deepspeed_zero2_estimate(p, n, 1, false);
    // DeepSpeed truncates 18P/N once; qmath rounds each of four shards up.
    CHECK(states2 >= ds2.gpu_bytes);
    CHECK(states2 - ds2.gpu_bytes <= 4);
    // ZeRO-2 + offload_optimizer: the GPU keeps the fp16 weights only (2P).
    z2.parallel.offload_optimizer = true;
    const memory_breakdown g2o = estimate(z2, a100).gpu;
    CHECK(g2o.weights + g2o.gradients + g2o.optimizer + g2o.master_weights ==
          deepspeed_zero2_estimate(p, n, 1, true).gpu_bytes);

    // ZeRO-3 (stage3.py): 4 x largest layer + 18P/N, where 18 = 2 params16 +
    // 4 fp32 gradient partition + 4 fp32 params + 8 Adam (stage 3 reduces
    // 16-bit gradients straight into the fp32 partition).
    plan z3{.model = models::llama_3_8b, .batch = 1, .context = 512, .runtime = runtimes::bare,
            .training = training_config{.compute_dtype = format_id::f16, .gradient_dtype = format_id::f32},
            .parallel = {.data = n, .zero = zero_stage::parameters}};
    const memory_breakdown g3 = estimate(z3, a100).gpu;
    const std::uint64_t states3 = g3.weights + g3.gradients + g3.optimizer + g3.master_weights + g3.overhead;
    const deepspeed_estimate ds3 = deepspeed_zero3_estimate(p, llama3_embedding, n, 1, false, false, true);
    CHECK(states3 >= ds3.gpu_bytes);
    CHECK(states3 - ds3.gpu_bytes <= 4);
    // + offload_optimizer: largest layer + 2P/N
    z3.parallel.offload_optimizer = true;
    const memory_breakdown g3o = estimate(z3, a100).gpu;
    const std::uint64_t ds3o = deepspeed_zero3_estimate(p, llama3_embedding, n, 1, true, false, true).gpu_bytes;
    CHECK(g3o.weights + g3o.overhead + g3o.gradients + g3o.optimizer >= ds3o);
    CHECK(g3o.weights + g3o.overhead + g3o.gradients + g3o.optimizer - ds3o <= 1);
    // + offload_param: the gathered largest layer only
    z3.parallel.offload_parameters = true;
    const memory_breakdown g3p = estimate(z3, a100).gpu;
    CHECK(g3p.weights + g3p.overhead == deepspeed_zero3_estimate(p, llama3_embedding, n, 1, true, true, true).gpu_bytes);
  }

  // DeepSpeed's numbers themselves (worked out here): ZeRO-2, 8 GPUs:
  // 2P + int(18P/8) = 16,060,522,496 + 18,068,087,808.
  CHECK(deepspeed_zero2_estimate(p, 8, 1, false).gpu_bytes == 34'128'610'304);
  // ZeRO-3, 8 GPUs: 4 x 525,336,576 + 18,068,087,808.
  CHECK(deepspeed_zero3_estimate(p, llama3_embedding, 8, 1, false, false, true).gpu_bytes == 20'169'434'112);
  // CPU side of ZeRO-2 offload, 1 node of 8: P x max(4 x 8, 16) x 1.5 = 48P.
  CHECK(deepspeed_zero2_estimate(p, 8, 1, true).cpu_bytes == 48 * p);
}

TEST_CASE("Megatron distributed optimizer: 6 + 12/dp bytes per parameter") {
  // megatron/training/theoretical_memory_usage.py: bf16 weights (2) + fp32
  // main_grad (4) + (fp32 master 4 + Adam 8) / dp = ZeRO-1 with fp32 grads.
  constexpr device gpu{.id = "h100", .name = "H100", .vendor = device_vendor::nvidia, .kind = device_kind::gpu,
                       .memory_bytes = 80ull << 30, .usable_bytes = 80ull << 30, .source = "test"};
  for (std::uint32_t dp : {1u, 4u, 8u}) {
    const plan p{.model = models::llama_3_8b, .context = 512, .runtime = runtimes::bare,
                 .training = training_presets::mixed_precision_adamw,
                 .parallel = {.data = dp, .zero = zero_stage::optimizer}};
    const memory_breakdown g = estimate(p, gpu).gpu;
    const std::uint64_t states = g.weights + g.gradients + g.optimizer + g.master_weights;
    CHECK(states >= 6 * llama3_params + 12 * llama3_params / dp);
    CHECK(states - (6 * llama3_params + 12 * llama3_params / dp) <= 2);
  }
  // FSDP strategies map onto ZeRO stages.
  CHECK(to_zero_stage(fsdp_strategy::full_shard) == zero_stage::parameters);
  CHECK(to_zero_stage(fsdp_strategy::shard_grad_op) == zero_stage::gradients);
  CHECK(to_zero_stage(fsdp_strategy::no_shard) == zero_stage::none);
}

TEST_CASE("tensor and pipeline parallelism divide the model state") {
  const memory_breakdown full{.weights = 1000, .gradients = 2000, .optimizer = 4000, .master_weights = 2000};
  const sharded_state tp = shard_model_state(full, {.tensor = 4}, 0);
  CHECK(tp.gpu.weights == 250);
  CHECK(tp.gpu.optimizer == 1000);
  const sharded_state tp_pp = shard_model_state(full, {.tensor = 2, .pipeline = 3}, 0);
  CHECK(tp_pp.gpu.weights == 167);  // ceil(1000 / 6)
  CHECK(tp_pp.host_bytes == 0);
  const sharded_state off = shard_model_state(full, {.data = 2, .zero = zero_stage::optimizer, .offload_optimizer = true}, 0);
  CHECK(off.gpu.optimizer == 0);
  CHECK(off.host_bytes == 2000 + 1000 + 2000);  // optimizer/2 + master/2 + full gradients
}

TEST_CASE("gradient accumulation costs no memory") {
  constexpr device gpu{.id = "gpu", .name = "test GPU", .vendor = device_vendor::nvidia, .kind = device_kind::gpu,
                       .memory_bytes = 24ull << 30, .usable_bytes = 24ull << 30, .source = "test"};
  plan p{.model = models::codellama_7b,
         .weights = weight_recipe::bnb_4bit(),
         .batch = 2,
         .context = 1024,
         .training = training_config{.method = finetune_method::qlora, .lora = {.rank = 16}}};
  const std::uint64_t one = required_bytes(p, gpu);
  p.training->gradient_accumulation_steps = 16;
  CHECK(required_bytes(p, gpu) == one);
  CHECK(effective_batch(p.batch, *p.training) == 32);
}

TEST_CASE("training errors are reported") {
  CHECK_THROWS_WITH(validate(lora_config{.rank = 0}), Catch::Contains("LoRA rank must be positive"));
  CHECK_THROWS_WITH(validate(lora_config{.rank = 8, .targets = lora_targets{}}), Catch::Contains("no LoRA target"));
  CHECK_THROWS_WITH(validate(lora_config{.adapter_dtype = format_id::q4_0}), Catch::Contains("not a floating-point"));
  CHECK_THROWS_WITH(validate(training_config{.gradient_accumulation_steps = 0}),
                    Catch::Contains("gradient accumulation steps must be positive"));
  CHECK_THROWS_WITH(dtype_bytes(format_id::q8_0), Catch::Contains("not a plain floating-point dtype"));
  CHECK_THROWS_WITH(validate(parallelism{.data = 0}), Catch::Contains("parallel degrees must be positive"));
  CHECK_THROWS_WITH(validate(parallelism{.offload_parameters = true}), Catch::Contains("needs ZeRO stage 3"));
  CHECK_THROWS_WITH(deepspeed_zero2_estimate(1, 0, 1, false), Catch::Contains("no GPUs"));
}

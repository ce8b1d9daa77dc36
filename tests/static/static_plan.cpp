// Compile-time checks of plans, fits and the training estimators: compiling
// this file is the test.

#include "qmath/devices.hpp"
#include "qmath/memory.hpp"
#include "qmath/models.hpp"

namespace {
using namespace qmath;

constexpr plan llama_q4km{.model = models::llama_3_8b,
                          .weights = weight_recipe::gguf(gguf_ftype::q4_k_m),
                          .context = 8192,
                          .runtime = runtimes::llama_cpp};
constexpr plan llama_fp16{.model = models::llama_3_8b,
                          .weights = weight_recipe::uniform(info(format_id::f16), info(format_id::f16)),
                          .context = 2048};

// The headline use: a constexpr plan checked against a catalog device.
static_assert(fits(llama_q4km, devices::rtx_3060_12gb));
QMATH_STATIC_ASSERT_FITS(llama_q4km, devices::rtx_3060_12gb);
QMATH_STATIC_ASSERT_FITS(llama_fp16, devices::rtx_4090);
static_assert(!fits(llama_fp16, devices::rtx_3060_12gb));
static_assert(required_bytes(llama_fp16, devices::rtx_4090) > 16'060'522'496);  // more than the weights

// Solvers run at compile time too.
static_assert(max_gpu_layers(llama_q4km, devices::rtx_3060_12gb) == all_layers);
static_assert(max_gpu_layers(llama_fp16, devices::rtx_3060_12gb) == 23);
static_assert(max_context(llama_q4km, devices::rtx_3060_12gb) == 8192);
static_assert(most_accurate_recipe(llama_q4km, devices::rtx_3060_12gb, gguf_recipes)->ftype == gguf_ftype::q8_0);

// LoRA counts (PEFT: r * (in + out) per module).
static_assert(lora_parameters(models::llama_3_8b, {.rank = 8, .targets = lora_presets::qv}) == 3'407'872);
static_assert(lora_parameters(models::polyglot_ko_1_3b, {.rank = 8,
                                                          .targets = lora_target::q | lora_target::k | lora_target::v,
                                                          .fused_qkv = true}) == 1'572'864);

// Training state: 18 B/param mixed-precision AdamW (2 weights + 16 state).
static_assert(training_state(models::llama_3_8b, training_presets::mixed_precision_adamw).total() ==
              16 * 8'030'261'248ull);

// DeepSpeed's ZeRO-2 estimator, 8 GPUs: 2P + int(18P/8).
static_assert(deepspeed_zero2_estimate(8'030'261'248, 8, 1, false).gpu_bytes == 34'128'610'304);

// A training plan at compile time: CodeLlama-7B QLoRA r=16 q/k/v/o, batch 3 x 2048
// (the measured activation ledger puts the seed's batch 4 at 14.72 GB, over 12 GiB).
constexpr training_config codellama_qlora_training{.method = finetune_method::qlora,
                                                   .optimizer = optimizer_kind::paged_adamw_8bit,
                                                   .master_weights = false,
                                                   .gradient_checkpointing = true,
                                                   .lora = {.rank = 16, .targets = lora_presets::qkvo}};
constexpr plan codellama_qlora{
    .model = models::codellama_7b,
    .weights = weight_recipe::bnb_4bit(bnb_4bit_info(format_id::bnb_nf4, 64, true), format_id::bf16),
    .batch = 3,
    .context = 2048,
    .training = codellama_qlora_training};
QMATH_STATIC_ASSERT_FITS(codellama_qlora, devices::rtx_3060_12gb);
static_assert(!fits(codellama_qlora, devices::rtx_3060_ti_8gb));
// The seed's default, batch 4 x 2048, does not fit the 12 GB card.
constexpr plan codellama_qlora_batch4{
    .model = models::codellama_7b,
    .weights = weight_recipe::bnb_4bit(bnb_4bit_info(format_id::bnb_nf4, 64, true), format_id::bf16),
    .batch = 4,
    .context = 2048,
    .training = codellama_qlora_training};
static_assert(!fits(codellama_qlora_batch4, devices::rtx_3060_12gb));
static_assert(max_batch(codellama_qlora, devices::rtx_3060_12gb) == 3);

// Two models on one 40 GB card.
constexpr std::array two_models{llama_fp16, plan{.model = models::llama_3_1_8b,
                                                 .weights = weight_recipe::gguf(gguf_ftype::q4_k_m),
                                                 .context = 2048,
                                                 .runtime = runtimes::ollama}};
static_assert(fits_together(two_models, devices::a100_pcie_40gb));

// The cheapest priced instance over the whole catalog holds an INT4 8B model.
static_assert(cheapest_device(plan{.model = models::llama_3_8b,
                                   .weights = weight_recipe::bnb_4bit(),
                                   .context = 2048},
                              devices::all)
                  .has_value());
}  // namespace

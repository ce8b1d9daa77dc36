// Checking memory budgets at compile time, and printing a breakdown.
//
//   static_assert(qmath::fits(plan, device))      true / "static assertion failed"
//   QMATH_STATIC_ASSERT_FITS(plan, device)        on failure g++ shows
//       "the comparison reduces to '(REQUIRED <= AVAILABLE)'" in bytes

#include <cstdio>

#include "qmath/devices.hpp"
#include "qmath/memory.hpp"
#include "qmath/models.hpp"

namespace {

// Llama-3-8B as a Q4_K_M GGUF in llama.cpp with an 8192-token context.
constexpr qmath::plan chat{.model = qmath::models::llama_3_8b,
                           .weights = qmath::weight_recipe::gguf(qmath::gguf_ftype::q4_k_m),
                           .context = 8192,
                           .runtime = qmath::runtimes::llama_cpp};
static_assert(qmath::fits(chat, qmath::devices::rtx_3060_12gb));
QMATH_STATIC_ASSERT_FITS(chat, qmath::devices::rtx_3060_12gb);

// QLoRA fine-tuning of CodeLlama-7B: NF4 base, LoRA r=16 on q/k/v/o,
// gradient checkpointing, paged 8-bit AdamW, 3 sequences of 2048 tokens.
constexpr qmath::training_config qlora_r16{.method = qmath::finetune_method::qlora,
                                           .optimizer = qmath::optimizer_kind::paged_adamw_8bit,
                                           .master_weights = false,
                                           .gradient_checkpointing = true,
                                           .lora = {.rank = 16, .targets = qmath::lora_presets::qkvo}};
constexpr qmath::plan finetune{
    .model = qmath::models::codellama_7b,
    .weights = qmath::weight_recipe::bnb_4bit(qmath::bnb_4bit_info(qmath::format_id::bnb_nf4, 64, true)),
    .batch = 3,
    .context = 2048,
    .training = qlora_r16};
QMATH_STATIC_ASSERT_FITS(finetune, qmath::devices::rtx_3060_12gb);
// Four sequences of 2048 tokens need 14.7 GB: not on the 12 GB card.
constexpr qmath::plan finetune_batch4{
    .model = qmath::models::codellama_7b,
    .weights = qmath::weight_recipe::bnb_4bit(qmath::bnb_4bit_info(qmath::format_id::bnb_nf4, 64, true)),
    .batch = 4,
    .context = 2048,
    .training = qlora_r16};
static_assert(!qmath::fits(finetune_batch4, qmath::devices::rtx_3060_12gb));
// Uncomment to see both byte counts in the error:
// QMATH_STATIC_ASSERT_FITS(finetune_batch4, qmath::devices::rtx_3060_12gb);

void print(const char* title, const qmath::plan& p, const qmath::device& d) {
  const qmath::plan_estimate e = qmath::estimate(p, d);
  const qmath::memory_breakdown& g = e.gpu;
  std::printf("%s on %.*s\n", title, static_cast<int>(d.name.size()), d.name.data());
  std::printf("  weights %8.2f GiB   kv %6.2f GiB   activations %6.2f GiB\n", qmath::to_gib(g.weights),
              qmath::to_gib(g.kv_cache), qmath::to_gib(g.activations));
  std::printf("  grads   %8.2f GiB   optimizer %6.2f GiB   adapters %6.2f GiB   overhead %6.2f GiB\n",
              qmath::to_gib(g.gradients), qmath::to_gib(g.optimizer), qmath::to_gib(g.adapters),
              qmath::to_gib(g.overhead));
  std::printf("  total   %8.2f GiB of %.2f GiB available (%s); host RAM %.2f GiB\n", qmath::to_gib(g.total()),
              qmath::to_gib(qmath::available_bytes(p, d)), qmath::fits(p, d) ? "fits" : "does not fit",
              qmath::to_gib(e.host.total()));
}

}  // namespace

int main() {
  print("Llama-3-8B Q4_K_M, 8192 tokens, llama.cpp", chat, qmath::devices::rtx_3060_12gb);
  print("CodeLlama-7B QLoRA r=16, 3 x 2048", finetune, qmath::devices::rtx_3060_12gb);
  print("CodeLlama-7B QLoRA r=16, 4 x 2048", finetune_batch4, qmath::devices::rtx_3060_12gb);
  constexpr auto longest = qmath::max_context(finetune_batch4, qmath::devices::rtx_3060_12gb);
  std::printf("longest training sequence at batch 4 on the 3060: %llu tokens\n",
              static_cast<unsigned long long>(longest));
  constexpr auto best = qmath::most_accurate_recipe(chat, qmath::devices::rtx_3060_12gb, qmath::gguf_recipes);
  if (best) std::printf("most accurate GGUF type that fits: %.2f bits per weight\n",
                        qmath::weight_bytes(chat.model, *best).bits_per_weight());
  return 0;
}

// Compile-time checks of the model catalog and the estimators: compiling this
// file is the test. Expected values are derived in the comments from the
// published configs and sizes, never read back from qmath.

#include <qmath/models.hpp>

#include <cstdint>
#include <type_traits>

namespace {

using namespace qmath;
using namespace qmath::models;

// Every catalog entry reproduces its official parameter count.
constexpr bool all_counts_match() {
  for (const auto& a : catalog)
    if (a.official_parameters == 0 || a.parameters() != a.official_parameters) return false;
  return true;
}
static_assert(all_counts_match());

// The counts, spelled out (sources in catalog.hpp).
static_assert(llama_3_8b.parameters() == 8'030'261'248);
static_assert(llama_3_1_8b.parameters() == 8'030'261'248);
static_assert(llama_3_1_70b.parameters() == 70'553'706'496);
static_assert(codellama_7b.parameters() == 6'738'546'688);
static_assert(mistral_7b.parameters() == 7'241'732'096);
static_assert(gemma_2_2b.parameters() == 2'614'341'888);
static_assert(gemma_2_9b.parameters() == 9'241'705'984);
static_assert(phi_3_mini.parameters() == 3'821'079'552);
static_assert(qwen2_5_0_5b.parameters() == 494'032'768);
static_assert(qwen2_5_7b.parameters() == 7'615'616'512);
static_assert(qwen2_5_14b.parameters() == 14'770'033'664);
static_assert(qwen2_5_32b.parameters() == 32'763'876'352);
static_assert(qwen1_5_32b.parameters() == 32'512'218'112);
static_assert(qwen_14b.parameters() == 14'167'290'880);
static_assert(mixtral_8x7b.parameters() == 46'702'792'704);
static_assert(qwen1_5_moe_a2_7b.parameters() == 14'315'784'192);
static_assert(deepseek_v2_lite.parameters() == 15'706'484'224);
static_assert(kobert.parameters() == 92'186'880);
static_assert(qwen3_0_6b.parameters() == 596'049'920);
static_assert(qwen3_8b.parameters() == 8'190'735'360);
static_assert(mistral_nemo_12b.parameters() == 12'247'782'400);

// Llama-3-8B by hand: embeddings 2 x 128256 x 4096 = 1,050,673,152; per layer
// q,o 2 x 4096² + k,v 2 x 4096 x 1024 + FFN 3 x 4096 x 14336 + 2 norms x 4096
// = 33,554,432 + 8,388,608 + 176,160,768 + 8,192 = 218,112,000; x 32 =
// 6,979,584,000; + final norm 4096 -> 8,030,261,248.
static_assert(2ull * 128256 * 4096 + 32ull * 218'112'000 + 4096 == 8'030'261'248);

// Head dim is its own field: Gemma-2's 256 is not 2304 / 8, Qwen3-0.6B's 128
// is not 1024 / 16, Mistral-Nemo's 128 is not 5120 / 32.
static_assert(gemma_2_2b.k_head_dim() == 256 && gemma_2_2b.hidden / gemma_2_2b.heads == 288);
static_assert(qwen3_0_6b.q_dim() == 2048 && qwen3_0_6b.hidden == 1024);
static_assert(mistral_nemo_12b.q_dim() == 4096 && mistral_nemo_12b.hidden == 5120);
// GQA: Llama-3-8B's K row is 8 x 128.
static_assert(llama_3_8b.k_dim() == 1024 && llama_3_8b.q_dim() == 4096);

// Full-precision checkpoints equal their safetensors totals: Llama-3-8B's
// model.safetensors.index.json has metadata.total_size 16,060,522,496 = 2 B x
// 8,030,261,248; Llama-3.1-70B 2 x 70,553,706,496 = 141,107,412,992.
static_assert(weight_bytes(llama_3_8b).total() == 16'060'522'496);
static_assert(weight_bytes(llama_3_1_70b).total() == 141'107'412'992);

// llama.cpp Q4_K_M of Llama-3-8B: 4,912,898,048 tensor bytes (the "size"
// llama-server reports for Llama-3-8B Q4_K_M). Derivation: token_embd Q4_K
// 525,336,576 x 144/256 = 295,501,824; output Q6_K x 210/256 = 430,940,160;
// per layer q,o 2 x 9,437,184 + k 2,359,296 + gate,up 2 x 33,030,144 at Q4_K;
// attn_v and ffn_down at Q6_K (3,440,640 + 48,168,960) on the 16
// use_more_bits layers {0-3, 6, 9, ..., 27, 28-31}, Q4_K (2,359,296 +
// 33,030,144) on the other 16; norms 2 x 16 KiB per layer + 16 KiB.
static_assert(295'501'824ull + 430'940'160ull +
                  32ull * (2 * 9'437'184 + 2'359'296 + 2 * 33'030'144 + 2 * 16'384) +
                  16ull * (3'440'640 + 48'168'960) + 16ull * (2'359'296 + 33'030'144) + 16'384 ==
              4'912'898'048);
static_assert(weight_bytes(llama_3_8b, weight_recipe::gguf(gguf_ftype::q4_k_m)).total() == 4'912'898'048);

// KV cache, Llama-3-8B fp16 at 8192 tokens: 2 x 32 layers x 8 kv heads x 128 x
// 8192 x 2 B = 1 GiB exactly.
static_assert(kv_cache(llama_3_8b, {.context = 8192}).bytes == 1ull << 30);
static_assert(kv_cache_bytes_per_token(llama_3_8b) == 2ull * 32 * 8 * 128 * 2);

// A bad architecture is not a constant expression: QMATH_REQUIRE calls the
// non-constexpr precondition_failed, so using it where a constant is needed is
// a substitution failure here and a compile error elsewhere (the runtime tests
// check the messages).
template <class Make>
concept constant_parameters = requires { typename std::integral_constant<std::uint64_t, Make{}().parameters()>; };
template <class Make>
concept constant_kv = requires { typename std::integral_constant<std::uint64_t, Make{}()>; };

constexpr auto good = [] { return llama_3_8b; };
constexpr auto zero_layers = [] { architecture a = llama_3_8b; a.layers = 0; return a; };
constexpr auto kv_heads_not_dividing = [] { architecture a = llama_3_8b; a.kv_heads = 5; return a; };
constexpr auto hidden_not_dividing = [] {
  architecture a = llama_3_8b;
  a.head_dim = 0;  // derived from hidden / heads, which must then divide
  a.heads = 30;
  a.kv_heads = 30;
  return a;
};
static_assert(constant_parameters<decltype(good)>);
static_assert(!constant_parameters<decltype(zero_layers)>);
static_assert(!constant_parameters<decltype(kv_heads_not_dividing)>);
static_assert(!constant_parameters<decltype(hidden_not_dividing)>);

constexpr auto kv_ok = [] { return kv_cache(llama_3_8b, {.context = 1}).bytes; };
constexpr auto kv_zero_context = [] { return kv_cache(llama_3_8b, {.context = 0}).bytes; };
constexpr auto kv_encoder = [] { return kv_cache(kobert, {.context = 128}).bytes; };
static_assert(constant_kv<decltype(kv_ok)>);
static_assert(!constant_kv<decltype(kv_zero_context)>);
static_assert(!constant_kv<decltype(kv_encoder)>);

}  // namespace

#pragma once
// Well-known checkpoints as constexpr architecture records.
//
// Every entry cites the config it is read from (Hugging Face repo id, file
// config.json) and the official parameter count it must reproduce
// (official_parameters; tests/static/static_models.cpp checks parameters()
// against it). Counts marked "safetensors.total" are the Hugging Face model
// API's exact count, each also found in independent records of it (GGUF
// general.parameter_count, llama.cpp n_params, saved API responses). Where a
// count has a weaker source, the comment says so.
// This header does not include xsimd.

#include <array>
#include <optional>
#include <string_view>

#include "qmath/models/architecture.hpp"

namespace qmath::models {

// ---- Llama family -----------------------------------------------------------

// meta-llama/Meta-Llama-3-8B config.json: 32 layers, hidden 4096, 32 heads,
// 8 kv heads, intermediate 14336, vocab 128256, untied, 8192 positions, bf16.
// 8,030,261,248 parameters (safetensors.total; model.safetensors.index.json
// metadata total_size 16,060,522,496 bytes = 2 B x 8,030,261,248).
inline constexpr architecture llama_3_8b{
    .name = "Llama-3-8B",
    .source = "meta-llama/Meta-Llama-3-8B config.json",
    .layers = 32, .hidden = 4096, .heads = 32, .kv_heads = 8, .head_dim = 128,
    .intermediate = 14336, .vocab = 128256, .tied_embeddings = false,
    .max_context = 8192,
    .checkpoint_dtype = format_id::bf16, .official_parameters = 8'030'261'248};

// meta-llama/Llama-3.1-8B config.json: the Llama-3-8B shapes with 131072
// positions (llama3 RoPE scaling). 8,030,261,248 (safetensors.total, revision
// d04e592bb4f6aa9cfee91e2e20afa771667e1d4b).
inline constexpr architecture llama_3_1_8b = [] {
  architecture a = llama_3_8b;
  a.name = "Llama-3.1-8B";
  a.source = "meta-llama/Llama-3.1-8B config.json";
  a.max_context = 131072;
  return a;
}();

// Korean continued-pretraining fine-tunes of Llama-3-8B on the unchanged
// architecture. beomi/Llama-3-Open-Ko-8B: the Llama-3 tokenizer (vocab
// 128256). MLP-KTLim/llama-3-Korean-Bllossom-8B: its model card (2024.06.18
// update) says the current release, retrained as "Bllossom ELO", did NOT
// expand the vocabulary; the earlier 2024.05.08
// release had an expanded Korean vocabulary. The current one therefore keeps
// vocab 128256 and Llama-3-8B's 8,030,261,248 parameters. Neither config.json
// was available as a stored copy; the shapes are those of the base model.
inline constexpr architecture llama_3_open_ko_8b = [] {
  architecture a = llama_3_8b;
  a.name = "Llama-3-Open-Ko-8B";
  a.source = "beomi/Llama-3-Open-Ko-8B config.json (Meta-Llama-3-8B shapes)";
  return a;
}();
inline constexpr architecture llama_3_korean_bllossom_8b = [] {
  architecture a = llama_3_8b;
  a.name = "Llama-3-Korean-Bllossom-8B";
  a.source = "MLP-KTLim/llama-3-Korean-Bllossom-8B config.json and model card (no vocabulary expansion)";
  return a;
}();

// meta-llama/Llama-3.1-70B config.json: 80 layers, hidden 8192, 64 heads,
// 8 kv heads, intermediate 28672, vocab 128256, untied. 70,553,706,496
// (safetensors.total, revision 349b2ddb53ce8f2849a6c168a81980ab25258dac).
inline constexpr architecture llama_3_1_70b{
    .name = "Llama-3.1-70B",
    .source = "meta-llama/Llama-3.1-70B config.json",
    .layers = 80, .hidden = 8192, .heads = 64, .kv_heads = 8, .head_dim = 128,
    .intermediate = 28672, .vocab = 128256, .tied_embeddings = false,
    .max_context = 131072,
    .checkpoint_dtype = format_id::bf16, .official_parameters = 70'553'706'496};

// codellama/CodeLlama-7b-hf config.json: Llama-2-7B shapes (32 layers, hidden
// 4096, 32 heads = kv heads, intermediate 11008) with vocab 32016 and 16384
// positions; bf16. 6,738,546,688 (GGUF general.parameter_count of the
// CodeLlama-7B conversions; = Llama-2-7B's 6,738,415,616 + 16 x 4096 x 2).
inline constexpr architecture codellama_7b{
    .name = "CodeLlama-7B",
    .source = "codellama/CodeLlama-7b-hf config.json",
    .layers = 32, .hidden = 4096, .heads = 32, .kv_heads = 32,
    .intermediate = 11008, .vocab = 32016, .tied_embeddings = false,
    .max_context = 16384,
    .checkpoint_dtype = format_id::bf16, .official_parameters = 6'738'546'688};

// mistralai/Mistral-7B-v0.1 config.json: 32 layers, hidden 4096, 32 heads,
// 8 kv heads, intermediate 14336, vocab 32000, sliding_window 4096 on every
// layer, 32768 positions, bf16. 7,241,732,096 (safetensors.total).
inline constexpr architecture mistral_7b{
    .name = "Mistral-7B-v0.1",
    .source = "mistralai/Mistral-7B-v0.1 config.json",
    .layers = 32, .hidden = 4096, .heads = 32, .kv_heads = 8, .head_dim = 128,
    .intermediate = 14336, .vocab = 32000, .tied_embeddings = false,
    .max_context = 32768, .sliding_window = 4096,
    .checkpoint_dtype = format_id::bf16, .official_parameters = 7'241'732'096};

// ---- Gemma-2 -----------------------------------------------------------------
// google/gemma-2-2b config.json: 26 layers, hidden 2304, 8 heads, 4 kv heads,
// head_dim 256 (not 2304/8 = 288), intermediate 9216, vocab 256000, tied,
// sliding_window 4096 on every other layer (modeling_gemma2.py: layer_idx % 2
// == 0 slides), four RMSNorms per block (input, post-attention,
// pre-feedforward, post-feedforward); stored as float32. 2,614,341,888.
inline constexpr architecture gemma_2_2b{
    .name = "Gemma-2-2B",
    .source = "google/gemma-2-2b config.json",
    .layers = 26, .hidden = 2304, .heads = 8, .kv_heads = 4, .head_dim = 256,
    .intermediate = 9216, .vocab = 256000, .tied_embeddings = true,
    .norms_per_layer = 4,
    .max_context = 8192, .sliding_window = 4096, .full_attention_every = 2,
    .checkpoint_dtype = format_id::f32, .official_parameters = 2'614'341'888};

// google/gemma-2-9b config.json: 42 layers, hidden 3584, 16 heads, 8 kv heads,
// head_dim 256, intermediate 14336, vocab 256000, tied; float32. 9,241,705,984.
inline constexpr architecture gemma_2_9b{
    .name = "Gemma-2-9B",
    .source = "google/gemma-2-9b config.json",
    .layers = 42, .hidden = 3584, .heads = 16, .kv_heads = 8, .head_dim = 256,
    .intermediate = 14336, .vocab = 256000, .tied_embeddings = true,
    .norms_per_layer = 4,
    .max_context = 8192, .sliding_window = 4096, .full_attention_every = 2,
    .checkpoint_dtype = format_id::f32, .official_parameters = 9'241'705'984};

// ---- Phi-3 ---------------------------------------------------------------------
// microsoft/Phi-3-mini-4k-instruct config.json: 32 layers, hidden 3072,
// 32 heads = kv heads, intermediate 8192 (fused gate_up_proj of 2 x 8192),
// vocab 32064, untied, sliding_window 2047, 4096 positions, bf16.
// 3,821,079,552 (safetensors.total).
inline constexpr architecture phi_3_mini{
    .name = "Phi-3-mini-4k",
    .source = "microsoft/Phi-3-mini-4k-instruct config.json",
    .layers = 32, .hidden = 3072, .heads = 32, .kv_heads = 32,
    .intermediate = 8192, .vocab = 32064, .tied_embeddings = false,
    .max_context = 4096, .sliding_window = 2047,
    .checkpoint_dtype = format_id::bf16, .official_parameters = 3'821'079'552};

// ---- Qwen ----------------------------------------------------------------------
// Qwen2 architecture: biases on q, k, v only (modeling_qwen2.py).
// Qwen/Qwen2.5-0.5B config.json: 24 layers, hidden 896, 14 heads, 2 kv heads,
// intermediate 4864, vocab 151936, tied, bf16. 494,032,768 (safetensors.total).
inline constexpr architecture qwen2_5_0_5b{
    .name = "Qwen2.5-0.5B",
    .source = "Qwen/Qwen2.5-0.5B config.json",
    .layers = 24, .hidden = 896, .heads = 14, .kv_heads = 2, .head_dim = 64,
    .intermediate = 4864, .vocab = 151936, .tied_embeddings = true,
    .qkv_bias = true, .max_context = 32768,
    .checkpoint_dtype = format_id::bf16, .official_parameters = 494'032'768};

// Qwen/Qwen2.5-7B config.json: 28 layers, hidden 3584, 28 heads, 4 kv heads,
// intermediate 18944, vocab 152064, untied. 7,615,616,512 (safetensors.total).
inline constexpr architecture qwen2_5_7b{
    .name = "Qwen2.5-7B",
    .source = "Qwen/Qwen2.5-7B config.json",
    .layers = 28, .hidden = 3584, .heads = 28, .kv_heads = 4, .head_dim = 128,
    .intermediate = 18944, .vocab = 152064, .tied_embeddings = false,
    .qkv_bias = true, .max_context = 131072,
    .checkpoint_dtype = format_id::bf16, .official_parameters = 7'615'616'512};

// Qwen/Qwen2.5-14B config.json: 48 layers, hidden 5120, 40 heads, 8 kv heads,
// intermediate 13824, vocab 152064, untied. 14,770,033,664 (safetensors.total).
inline constexpr architecture qwen2_5_14b{
    .name = "Qwen2.5-14B",
    .source = "Qwen/Qwen2.5-14B config.json",
    .layers = 48, .hidden = 5120, .heads = 40, .kv_heads = 8, .head_dim = 128,
    .intermediate = 13824, .vocab = 152064, .tied_embeddings = false,
    .qkv_bias = true, .max_context = 131072,
    .checkpoint_dtype = format_id::bf16, .official_parameters = 14'770'033'664};

// Qwen/Qwen2.5-32B config.json: 64 layers, hidden 5120, 40 heads, 8 kv heads,
// intermediate 27648, vocab 152064. 32,763,876,352 (safetensors.total).
inline constexpr architecture qwen2_5_32b{
    .name = "Qwen2.5-32B",
    .source = "Qwen/Qwen2.5-32B config.json",
    .layers = 64, .hidden = 5120, .heads = 40, .kv_heads = 8, .head_dim = 128,
    .intermediate = 27648, .vocab = 152064, .tied_embeddings = false,
    .qkv_bias = true, .max_context = 131072,
    .checkpoint_dtype = format_id::bf16, .official_parameters = 32'763'876'352};

// Qwen/Qwen1.5-32B config.json: 64 layers, hidden 5120, 40 heads, 8 kv heads,
// intermediate 27392, vocab 152064. 32,512,218,112 (safetensors.total).
inline constexpr architecture qwen1_5_32b{
    .name = "Qwen1.5-32B",
    .source = "Qwen/Qwen1.5-32B config.json",
    .layers = 64, .hidden = 5120, .heads = 40, .kv_heads = 8, .head_dim = 128,
    .intermediate = 27392, .vocab = 152064, .tied_embeddings = false,
    .qkv_bias = true, .max_context = 32768,
    .checkpoint_dtype = format_id::bf16, .official_parameters = 32'512'218'112};

// Qwen/Qwen-14B (first generation) config.json: 40 layers, hidden 5120,
// 40 heads (MHA), intermediate_size 27392 which modeling_qwen.py halves to
// 13696 per w1/w2 (QWenMLP: ff_dim_in = intermediate_size // 2), vocab 152064,
// fused c_attn with bias, untied lm_head, bf16. 14,167,290,880 parameters
// (the model card's "14B"; same shapes as Qwen1.5-14B).
inline constexpr architecture qwen_14b{
    .name = "Qwen-14B",
    .source = "Qwen/Qwen-14B config.json",
    .layers = 40, .hidden = 5120, .heads = 40, .kv_heads = 40,
    .intermediate = 13696, .vocab = 152064, .tied_embeddings = false,
    .qkv_bias = true, .max_context = 8192,
    .checkpoint_dtype = format_id::bf16, .official_parameters = 14'167'290'880};

// Qwen3: no biases, a per-head RMSNorm on q and k (modeling_qwen3.py), and
// head_dim set explicitly.
// Qwen/Qwen3-0.6B config.json: 28 layers, hidden 1024, 16 heads, 8 kv heads,
// head_dim 128 (not 1024/16 = 64), intermediate 3072, vocab 151936, tied,
// 40960 positions, bf16. 596,049,920 (transformers' num_parameters as
// recorded in several stored runs; safetensors.total).
inline constexpr architecture qwen3_0_6b{
    .name = "Qwen3-0.6B",
    .source = "Qwen/Qwen3-0.6B config.json",
    .layers = 28, .hidden = 1024, .heads = 16, .kv_heads = 8, .head_dim = 128,
    .intermediate = 3072, .vocab = 151936, .tied_embeddings = true,
    .qk_norm = true, .max_context = 40960,
    .checkpoint_dtype = format_id::bf16, .official_parameters = 596'049'920};

// Qwen/Qwen3-8B config.json: 36 layers, hidden 4096, 32 heads, 8 kv heads,
// head_dim 128, intermediate 12288, vocab 151936, untied. 8,190,735,360
// (safetensors.total).
inline constexpr architecture qwen3_8b{
    .name = "Qwen3-8B",
    .source = "Qwen/Qwen3-8B config.json",
    .layers = 36, .hidden = 4096, .heads = 32, .kv_heads = 8, .head_dim = 128,
    .intermediate = 12288, .vocab = 151936, .tied_embeddings = false,
    .qk_norm = true, .max_context = 40960,
    .checkpoint_dtype = format_id::bf16, .official_parameters = 8'190'735'360};

// mistralai/Mistral-Nemo-Base-2407 config.json: 40 layers, hidden 5120,
// 32 heads, 8 kv heads, head_dim 128 (not 5120/32 = 160), intermediate 14336,
// vocab 131072, untied, no sliding window, bf16. 12,247,782,400.
inline constexpr architecture mistral_nemo_12b{
    .name = "Mistral-Nemo-12B",
    .source = "mistralai/Mistral-Nemo-Base-2407 config.json",
    .layers = 40, .hidden = 5120, .heads = 32, .kv_heads = 8, .head_dim = 128,
    .intermediate = 14336, .vocab = 131072, .tied_embeddings = false,
    .max_context = 1024000,
    .checkpoint_dtype = format_id::bf16, .official_parameters = 12'247'782'400};

// ---- GPT-NeoX: Polyglot-ko ----------------------------------------------------
// EleutherAI/polyglot-ko-1.3b config.json: GPTNeoXForCausalLM, 24 layers,
// hidden 2048, 16 heads, intermediate 8192 (ungated GELU), vocab 30080
// (30,003 used), untied embed_out, LayerNorms with bias, biases on every
// projection (modeling_gpt_neox.py), 2048 positions, float16. 1,331,810,304:
// the model card's n_parameters. The Polyglot-Ko series is 1.3B, 3.8B, 5.8B
// and 12.8B (same card); there is no published 410M Polyglot-Ko checkpoint.
inline constexpr architecture polyglot_ko_1_3b{
    .name = "Polyglot-ko-1.3B",
    .source = "EleutherAI/polyglot-ko-1.3b config.json",
    .layers = 24, .hidden = 2048, .heads = 16, .kv_heads = 16,
    .intermediate = 8192, .ffn = ffn_kind::ungated, .vocab = 30080, .tied_embeddings = false,
    .norm = norm_kind::layer, .qkv_bias = true, .o_bias = true, .mlp_bias = true,
    .max_context = 2048,
    .checkpoint_dtype = format_id::f16, .official_parameters = 1'331'810'304};

// ---- BERT: KoBERT ----------------------------------------------------------------
// skt/kobert-base-v1 config.json: BertModel, 12 layers, hidden 768, 12 heads,
// intermediate 3072, vocab 8002, 512 positions, 2 token types, pooler; float32.
// = bert-base's 109,482,240 - (30522 - 8002) x 768 = 92,186,880.
inline constexpr architecture kobert{
    .name = "KoBERT",
    .source = "skt/kobert-base-v1 config.json",
    .kind = model_kind::encoder,
    .layers = 12, .hidden = 768, .heads = 12, .kv_heads = 12,
    .intermediate = 3072, .ffn = ffn_kind::ungated, .vocab = 8002, .tied_embeddings = false,
    .norm = norm_kind::layer, .final_norm = false, .embedding_norm = true,
    .qkv_bias = true, .o_bias = true, .mlp_bias = true,
    .learned_positions = 512, .token_types = 2, .pooler = true, .max_context = 512,
    .checkpoint_dtype = format_id::f32, .official_parameters = 92'186'880};

// ---- BitNet ------------------------------------------------------------------------
// microsoft/bitnet-b1.58-2B-4T config.json: 30 layers, hidden 2560, 20 heads,
// 5 kv heads, intermediate 6912 (gated, squared ReLU), vocab 128256, tied,
// 4096 positions; attn_sub_norm and ffn_sub_norm in every block
// (modeling_bitnet.py). 2,412,820,480 by this derivation, which matches a
// count measured on the loaded model in a third-party experiment script; the
// model card only says "~2 billion" (the safetensors packs the ternary
// weights four to a byte, so its byte total is no parameter count).
inline constexpr architecture bitnet_b1_58_2b4t{
    .name = "BitNet-b1.58-2B-4T",
    .source = "microsoft/bitnet-b1.58-2B-4T config.json",
    .layers = 30, .hidden = 2560, .heads = 20, .kv_heads = 5, .head_dim = 128,
    .intermediate = 6912, .vocab = 128256, .tied_embeddings = true,
    .sub_norms = true, .max_context = 4096,
    .checkpoint_dtype = format_id::bf16, .official_parameters = 2'412'820'480};

// ---- Mixture of experts -------------------------------------------------------------
// mistralai/Mixtral-8x7B-v0.1 config.json: 32 layers, hidden 4096, 32 heads,
// 8 kv heads, 8 experts of intermediate 14336, 2 per token, router
// Linear(4096, 8), vocab 32000, untied, 32768 positions. 46,702,792,704
// (safetensors.total).
inline constexpr architecture mixtral_8x7b{
    .name = "Mixtral-8x7B-v0.1",
    .source = "mistralai/Mixtral-8x7B-v0.1 config.json",
    .layers = 32, .hidden = 4096, .heads = 32, .kv_heads = 8, .head_dim = 128,
    .intermediate = 14336, .vocab = 32000, .tied_embeddings = false,
    .max_context = 32768,
    .experts = 8, .active_experts = 2, .expert_intermediate = 14336,
    .checkpoint_dtype = format_id::bf16, .official_parameters = 46'702'792'704};

// Qwen/Qwen1.5-MoE-A2.7B config.json: 24 layers, hidden 2048, 16 heads (MHA),
// 60 experts of moe_intermediate_size 1408, 4 per token, one shared expert of
// shared_expert_intermediate_size 5632 with a sigmoid gate Linear(2048, 1),
// vocab 151936, untied, q/k/v biases. 14,315,784,192 (safetensors.total).
inline constexpr architecture qwen1_5_moe_a2_7b{
    .name = "Qwen1.5-MoE-A2.7B",
    .source = "Qwen/Qwen1.5-MoE-A2.7B config.json",
    .layers = 24, .hidden = 2048, .heads = 16, .kv_heads = 16,
    .intermediate = 5632, .vocab = 151936, .tied_embeddings = false,
    .qkv_bias = true, .max_context = 8192,
    .experts = 60, .active_experts = 4, .expert_intermediate = 1408,
    .shared_expert_intermediate = 5632, .shared_expert_gate = true,
    .checkpoint_dtype = format_id::bf16, .official_parameters = 14'315'784'192};

// deepseek-ai/DeepSeek-V2-Lite config.json: 27 layers, hidden 2048, 16 heads,
// MLA with q_lora_rank null, kv_lora_rank 512, qk_nope_head_dim 128,
// qk_rope_head_dim 64, v_head_dim 128; first_k_dense_replace 1 (dense FFN
// 10944), then 64 routed experts of 1408 (6 per token) and 2 shared experts
// (one MLP of 2 x 1408); vocab 102400, untied. 15,706,484,224 (safetensors.total).
inline constexpr architecture deepseek_v2_lite{
    .name = "DeepSeek-V2-Lite",
    .source = "deepseek-ai/DeepSeek-V2-Lite config.json",
    .layers = 27, .hidden = 2048, .heads = 16, .kv_heads = 16,
    .intermediate = 10944, .vocab = 102400, .tied_embeddings = false,
    .max_context = 163840,
    .experts = 64, .active_experts = 6, .expert_intermediate = 1408,
    .shared_expert_intermediate = 2 * 1408, .first_dense_layers = 1,
    .kv_lora_rank = 512, .qk_nope_head_dim = 128, .qk_rope_head_dim = 64, .v_head_dim = 128,
    .checkpoint_dtype = format_id::bf16, .official_parameters = 15'706'484'224};

// Every catalog entry, for lookups and sweeps.
inline constexpr std::array catalog{
    llama_3_8b,   llama_3_1_8b,  llama_3_open_ko_8b, llama_3_korean_bllossom_8b, llama_3_1_70b,
    codellama_7b, mistral_7b,    gemma_2_2b,         gemma_2_9b,                 phi_3_mini,
    qwen2_5_0_5b, qwen2_5_7b,    qwen2_5_14b,        qwen2_5_32b,                qwen1_5_32b,
    qwen_14b,     qwen3_0_6b,    qwen3_8b,           mistral_nemo_12b,           polyglot_ko_1_3b,
    kobert,       bitnet_b1_58_2b4t, mixtral_8x7b,   qwen1_5_moe_a2_7b,          deepseek_v2_lite,
};

constexpr std::optional<architecture> find(std::string_view name) noexcept {
  for (const auto& a : catalog)
    if (a.name == name) return a;
  return std::nullopt;
}

}  // namespace qmath::models

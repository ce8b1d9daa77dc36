// Weight bytes: safetensors totals, llama.cpp quantization mixes against the
// sizes llama.cpp reports for published GGUF files, bitsandbytes recipes and
// the scenarios of the issue. Expected numbers are derived in the comments.
#include <qmath/models.hpp>

#include <cstdint>
#include <random>
#include <string>

#include "catch.hpp"

using namespace qmath;
using namespace qmath::models;

namespace {

// LLaMA-7B / Llama-2-7B (meta-llama/Llama-2-7b-hf config.json): 32 layers,
// hidden 4096, 32 heads (MHA), intermediate 11008, vocab 32000, untied.
constexpr architecture llama_2_7b = [] {
  architecture a = codellama_7b;
  a.name = "Llama-2-7B";
  a.vocab = 32000;
  a.official_parameters = 6'738'415'616;
  return a;
}();

format_id type_of(const architecture& a, tensor_role role, std::int32_t layer, const weight_recipe& r) {
  format_id id = format_id::f32;
  int found = 0;
  for_each_tensor(a, [&](const tensor& t) {
    if (t.role == role && t.layer == layer && !t.bias) {
      id = tensor_format(a, t, r).id;
      ++found;
    }
  });
  REQUIRE(found == 1);
  return id;
}

}  // namespace

TEST_CASE("full-precision checkpoints equal their safetensors totals") {
  // model.safetensors.index.json metadata.total_size (= 2 B x params for bf16):
  CHECK(weight_bytes(llama_3_8b).total() == 16'060'522'496);          // Meta-Llama-3-8B
  CHECK(weight_bytes(llama_3_1_70b).total() == 141'107'412'992);      // 2 x 70,553,706,496
  CHECK(weight_bytes(qwen2_5_14b).total() == 29'540'067'328);         // 2 x 14,770,033,664
  CHECK(weight_bytes(qwen2_5_32b).total() == 65'527'752'704);         // 2 x 32,763,876,352
  // float32 checkpoints: 4 B x params.
  CHECK(weight_bytes(gemma_2_2b).total() == 4ull * 2'614'341'888);
  CHECK(weight_bytes(kobert).total() == 4ull * 92'186'880);
  for (const auto& a : catalog) {
    INFO(std::string(a.name));
    CHECK(weight_bytes(a).total() == storage_bytes(info(a.checkpoint_dtype), 1) * a.official_parameters);
  }
}

TEST_CASE("GGUF Q4_K_M equals the tensor bytes llama.cpp reports for published files") {
  // Llama-3-8B Q4_K_M: llama-server /v1/models meta.size 4,912,898,048 for
  // n_params 8,030,261,248 (derivation in tests/static/static_models.cpp).
  CHECK(weight_bytes(llama_3_8b, weight_recipe::gguf(gguf_ftype::q4_k_m)).total() == 4'912'898'048);
  // The published file (bartowski/Meta-Llama-3.1-8B-Instruct-GGUF, Q4_K_M) is
  // 4,920,733,696 bytes: tensors plus ~7.5 MiB of header and tokenizer.
  const auto tensors = weight_bytes(llama_3_1_8b, weight_recipe::gguf(gguf_ftype::q4_k_m)).total();
  CHECK(tensors < 4'920'733'696);
  CHECK(4'920'733'696 - tensors < 16 * mib);
  // Qwen2.5-14B Q4_K_M: llama-server meta.size 8,982,142,976 ("Q4_K - Medium",
  // n_params 14,770,033,664). 48 layers, n_gqa = 5; biases and norms F32.
  CHECK(weight_bytes(qwen2_5_14b, weight_recipe::gguf(gguf_ftype::q4_k_m)).total() == 8'982'142'976);
  // Qwen3-8B Q4_K_M (Qwen_Qwen3-8B-Q4_K_M.gguf): llama-server meta.size
  // 5,021,827,072, n_params 8,190,735,360; q_norm / k_norm [128] F32 per layer.
  CHECK(weight_bytes(qwen3_8b, weight_recipe::gguf(gguf_ftype::q4_k_m)).total() == 5'021'827'072);
}

TEST_CASE("GGUF Q4_0 and Q2_K with shape fallbacks equal llama-bench's model_size") {
  // tools/llama-bench/README.md: "llama 7B mostly Q4_0", model_size 3,825,065,984,
  // 6,738,415,616 params. By hand: every matrix Q4_0 (18 B / 32) except output
  // Q6_K (210 B / 256): token_embd 131,072,000 x 18/32 = 73,728,000; output
  // 131,072,000 x 210/256 = 107,520,000; layers 32 x 202,375,168 x 18/32 =
  // 3,642,753,024; norms (65 x 4096) x 4 B = 1,064,960. Sum 3,825,065,984.
  CHECK(llama_2_7b.parameters() == llama_2_7b.official_parameters);
  CHECK(73'728'000ull + 107'520'000 + 3'642'753'024 + 1'064'960 == 3'825'065'984);
  CHECK(weight_bytes(llama_2_7b, weight_recipe::gguf(gguf_ftype::q4_0)).total() == 3'825'065'984);
  // Qwen2.5-0.5B Q2_K, llama-bench model_size 332,659,200 (n_params 494,032,768):
  // rows of 896 are not whole 256-blocks, so Q2_K falls back to Q4_0, Q3_K to
  // Q4_0 and the tied embedding (output rule) to Q8_0; ffn_down rows (4864 =
  // 19 x 256) keep their K types.
  CHECK(weight_bytes(qwen2_5_0_5b, weight_recipe::gguf(gguf_ftype::q2_k)).total() == 332'659'200);
}

TEST_CASE("GGUF Q4_K_M assigns types as llama_tensor_get_type does") {
  const auto r = weight_recipe::gguf(gguf_ftype::q4_k_m);
  CHECK(type_of(llama_3_8b, tensor_role::token_embedding, -1, r) == format_id::q4_k);
  CHECK(type_of(llama_3_8b, tensor_role::output, -1, r) == format_id::q6_k);
  CHECK(type_of(llama_3_8b, tensor_role::attn_q, 0, r) == format_id::q4_k);
  // use_more_bits(i, 32): i < 4, i >= 28, (i - 4) % 3 == 2.
  for (std::int32_t i = 0; i < 32; ++i) {
    const bool more = i < 4 || i >= 28 || (i - 4) % 3 == 2;
    INFO("layer " << i);
    CHECK(type_of(llama_3_8b, tensor_role::attn_v, i, r) == (more ? format_id::q6_k : format_id::q4_k));
    CHECK(type_of(llama_3_8b, tensor_role::ffn_down, i, r) == (more ? format_id::q6_k : format_id::q4_k));
    CHECK(type_of(llama_3_8b, tensor_role::ffn_up, i, r) == format_id::q4_k);
  }
  // 1-D tensors stay F32.
  int vectors = 0;
  for_each_tensor(qwen2_5_7b, [&](const tensor& t) {
    if (t.is_vector()) {
      ++vectors;
      CHECK(tensor_format(qwen2_5_7b, t, r).id == format_id::f32);
    }
  });
  CHECK(vectors == 28 * 5 + 1);  // 2 norms + 3 biases per layer, final norm
  // A row of 896 takes the fallback: Q4_K -> Q5_0; tied embedding -> Q8_0.
  CHECK(type_of(qwen2_5_0_5b, tensor_role::attn_q, 3, r) == format_id::q5_0);
  CHECK(type_of(qwen2_5_0_5b, tensor_role::token_embedding, -1, r) == format_id::q8_0);
  // use_more_bits(i, 24): i < 3, i >= 21, (i - 3) % 3 == 2.
  CHECK(type_of(qwen2_5_0_5b, tensor_role::ffn_down, 4, r) == format_id::q4_k);
  CHECK(type_of(qwen2_5_0_5b, tensor_role::ffn_down, 5, r) == format_id::q6_k);
  // Eight experts: attn_v and attn_k Q8_0, attn_output Q5_K; the router stays F32.
  CHECK(type_of(mixtral_8x7b, tensor_role::attn_v, 5, r) == format_id::q8_0);
  CHECK(type_of(mixtral_8x7b, tensor_role::attn_k, 5, r) == format_id::q8_0);
  CHECK(type_of(mixtral_8x7b, tensor_role::attn_o, 5, r) == format_id::q5_k);
  CHECK(type_of(mixtral_8x7b, tensor_role::router, 5, r) == format_id::f32);
  CHECK(type_of(mixtral_8x7b, tensor_role::expert_down, 0, r) == format_id::q6_k);
  // LLM_TYPE_70B: attn_v of the other layers goes up to Q5_K.
  CHECK(type_of(llama_3_1_70b, tensor_role::attn_v, 10, r) == format_id::q5_k);
  CHECK(type_of(llama_3_1_70b, tensor_role::attn_v, 0, r) == format_id::q6_k);
}

TEST_CASE("other GGUF ftypes") {
  // Q8_0: every matrix Q8_0, output too (34 B per 32); vectors F32.
  // Llama-3-8B: matrices 8,030,261,248 - 266,240 vector values = 8,029,995,008
  // x 34/32 = 8,531,869,696 + 266,240 x 4 = 1,064,960 -> 8,532,934,656.
  CHECK(weight_bytes(llama_3_8b, weight_recipe::gguf(gguf_ftype::q8_0)).total() == 8'532'934'656);
  // F16: matrices 2 B, vectors 4 B: 8,029,995,008 x 2 + 1,064,960 = 16,061,054,976.
  CHECK(weight_bytes(llama_3_8b, weight_recipe::gguf(gguf_ftype::f16)).total() == 16'061'054'976);
  CHECK(weight_bytes(llama_3_8b, weight_recipe::gguf(gguf_ftype::bf16)).total() == 16'061'054'976);
  CHECK(weight_bytes(llama_3_8b, weight_recipe::gguf(gguf_ftype::all_f32)).total() == 4ull * 8'030'261'248);
  // Q6_K: every matrix Q6_K (210 B / 256): 8,029,995,008 x 210/256 + 1,064,960.
  CHECK(weight_bytes(llama_3_8b, weight_recipe::gguf(gguf_ftype::q6_k)).total() ==
        8'029'995'008ull / 256 * 210 + 1'064'960);
  // Q5_K_M: Q5_K (176 B) with attn_v / ffn_down at Q6_K on the 16 use_more_bits
  // layers and output Q6_K: 16 x (4,194,304 + 58,720,256) x (210 - 176)/256 more
  // than Q5_K there, and the output 525,336,576 x (210 - 176)/256.
  const std::uint64_t q5_all = 8'029'995'008ull / 256 * 176 + 1'064'960;
  CHECK(weight_bytes(llama_3_8b, weight_recipe::gguf(gguf_ftype::q5_k_m)).total() ==
        q5_all + 16ull * (4'194'304 + 58'720'256) / 256 * 34 + 525'336'576ull / 256 * 34);
  // Q2_K on Llama-3-8B (n_gqa = 4): attn_v Q4_K, ffn_down and attn_output Q3_K,
  // token_embd Q2_K, output Q6_K.
  const auto q2 = weight_recipe::gguf(gguf_ftype::q2_k);
  CHECK(type_of(llama_3_8b, tensor_role::attn_v, 7, q2) == format_id::q4_k);
  CHECK(type_of(llama_3_8b, tensor_role::attn_o, 7, q2) == format_id::q3_k);
  CHECK(type_of(llama_3_8b, tensor_role::ffn_down, 7, q2) == format_id::q3_k);
  CHECK(type_of(llama_3_8b, tensor_role::ffn_gate, 7, q2) == format_id::q2_k);
  CHECK(type_of(llama_3_8b, tensor_role::token_embedding, -1, q2) == format_id::q2_k);
  // MHA CodeLlama (n_gqa = 1): attn_v Q3_K.
  CHECK(type_of(codellama_7b, tensor_role::attn_v, 7, q2) == format_id::q3_k);
  // Every mix is ordered by size on a model without fallbacks.
  const std::uint64_t sizes[] = {
      weight_bytes(llama_3_8b, q2).total(),
      weight_bytes(llama_3_8b, weight_recipe::gguf(gguf_ftype::q3_k_s)).total(),
      weight_bytes(llama_3_8b, weight_recipe::gguf(gguf_ftype::q3_k_m)).total(),
      weight_bytes(llama_3_8b, weight_recipe::gguf(gguf_ftype::q3_k_l)).total(),
      weight_bytes(llama_3_8b, weight_recipe::gguf(gguf_ftype::q4_k_s)).total(),
      weight_bytes(llama_3_8b, weight_recipe::gguf(gguf_ftype::q4_k_m)).total(),
      weight_bytes(llama_3_8b, weight_recipe::gguf(gguf_ftype::q5_k_s)).total(),
      weight_bytes(llama_3_8b, weight_recipe::gguf(gguf_ftype::q5_k_m)).total(),
      weight_bytes(llama_3_8b, weight_recipe::gguf(gguf_ftype::q6_k)).total(),
      weight_bytes(llama_3_8b, weight_recipe::gguf(gguf_ftype::q8_0)).total(),
  };
  for (std::size_t i = 1; i < std::size(sizes); ++i) CHECK(sizes[i - 1] < sizes[i]);
}

TEST_CASE("bitsandbytes 4-bit quantizes nn.Linear weights only") {
  // Llama-3-8B: linear weights = 8,030,261,248 - 2 x 525,336,576 (embedding,
  // lm_head) - 266,240 (norms) = 6,979,321,856 in 224 tensors. NF4 blocksize 64:
  // n/2 code bytes + n/64 x 4 absmax + 64 B code table per tensor =
  // 6,979,321,856 x 0.5625 + 224 x 64 = 3,925,882,880. The rest bf16:
  // (1,050,673,152 + 266,240) x 2 = 2,101,878,784. Total 6,027,761,664.
  const auto nf4 = weight_bytes(llama_3_8b, weight_recipe::bnb_4bit());
  CHECK(nf4.total() == 3'925'882'880ull + 2'101'878'784ull);
  CHECK(nf4[tensor_class::output] == 525'336'576ull * 2);
  CHECK(nf4[tensor_class::embedding] == 525'336'576ull * 2);
  // Double quantization: 1-byte absmax per block, one fp32 per 256 blocks
  // (rounded up per tensor), fp32 offset and the 256-entry fp32 second table.
  std::uint64_t dq_linear = 0;
  for_each_tensor(llama_3_8b, [&](const tensor& t) {
    if (!t.linear || t.role == tensor_role::output) return;
    const std::uint64_t n = t.elements(), blocks = n / 64;
    dq_linear += n / 2 + blocks + (blocks + 255) / 256 * 4 + 64 + 1024 + 4;
  });
  const auto nf4_dq = weight_bytes(llama_3_8b, weight_recipe::bnb_4bit(bnb_4bit_info(format_id::bnb_nf4, 64, true)));
  CHECK(nf4_dq.total() == dq_linear + 2'101'878'784ull);
  CHECK(nf4_dq.total() < nf4.total());
  // FP4 costs the same as NF4; a blocksize of 128 halves the absmax bytes.
  CHECK(weight_bytes(llama_3_8b, weight_recipe::bnb_4bit(bnb_4bit_info(format_id::bnb_fp4))).total() == nf4.total());
  CHECK(weight_bytes(llama_3_8b, weight_recipe::bnb_4bit(bnb_4bit_info(format_id::bnb_nf4, 128))).total() ==
        nf4.total() - 6'979'321'856ull / 64 * 4 / 2);
}

TEST_CASE("bitsandbytes 8-bit: int8 codes and an fp32 scale per output row") {
  // Linear weights 6,979,321,856 B of codes + rows x 4: per layer rows 4096 + 1024
  // + 1024 + 4096 + 14336 x 2 + 4096 = 43,008; x 32 x 4 = 5,505,024. Rest fp16.
  CHECK(weight_bytes(llama_3_8b, weight_recipe::bnb_8bit()).total() ==
        6'979'321'856ull + 5'505'024ull + 2'101'878'784ull);
}

TEST_CASE("seed scenarios") {
  // "Llama-3-8B: FP32 ~32GB, FP16 ~16GB, INT8 ~8GB": 8,030,261,248 params x 4 / 2 / 1 B
  // = 32.1 / 16.1 / 8.0 GB; INT8 formats store scales too: Q8_0 8.53 GB, LLM.int8 with
  // 16-bit embeddings and head 9.09 GB. INT4: NF4 6.03 GB, Q4_K_M 4.91 GB, not 4.0.
  const auto fp32 = weight_bytes(llama_3_8b, weight_recipe::uniform(info(format_id::f32), info(format_id::f32)));
  const auto fp16 = weight_bytes(llama_3_8b, weight_recipe::uniform(info(format_id::f16)));
  CHECK(fp32.total() == 32'121'044'992);
  CHECK(fp16.total() == 16'060'522'496);
  CHECK(to_gb(weight_bytes(llama_3_8b, weight_recipe::gguf(gguf_ftype::q8_0)).total()) == Approx(8.53).margin(0.01));
  CHECK(to_gb(weight_bytes(llama_3_8b, weight_recipe::bnb_8bit()).total()) == Approx(9.09).margin(0.01));
  CHECK(to_gb(weight_bytes(llama_3_8b, weight_recipe::bnb_4bit()).total()) == Approx(6.03).margin(0.01));

  // "Qwen-14B (29.35 GiB)" at FP16: Qwen/Qwen-14B (Qwen1) is 14,167,290,880 x 2 B =
  // 28,334,581,760 B = 26.39 GiB; Qwen2.5-14B is 29,540,067,328 B = 27.51 GiB
  // (29.54 GB). Neither is 29.35 GiB: the seed's number mixes units.
  CHECK(weight_bytes(qwen_14b).total() == 28'334'581'760);
  CHECK(to_gib(weight_bytes(qwen_14b).total()) == Approx(26.39).margin(0.005));
  CHECK(to_gib(weight_bytes(qwen2_5_14b).total()) == Approx(27.51).margin(0.005));

  // "KoBERT 420 MB -> 105 MB at 4 bits": the fp32 checkpoint is 92,186,880 x 4 =
  // 368,747,520 B (368.7 MB). bitsandbytes NF4 quantizes the 73 nn.Linear weights
  // (12 x 6 + pooler = 85,524,480 values): x 0.5625 + 73 x 64 = 48,112,192 B;
  // the other 6,662,400 values (embeddings, LayerNorms, biases) stay fp32
  // (26,649,600 B): 74,761,792 B in all, 74.8 MB, or 61.4 MB with fp16 for the rest.
  CHECK(weight_bytes(kobert).total() == 368'747'520);
  CHECK(weight_bytes(kobert, weight_recipe::bnb_4bit(bnb_4bit_info(format_id::bnb_nf4), format_id::f32)).total() ==
        48'112'192ull + 26'649'600ull);
  CHECK(weight_bytes(kobert, weight_recipe::bnb_4bit(bnb_4bit_info(format_id::bnb_nf4), format_id::f16)).total() ==
        48'112'192ull + 13'324'800ull);

  // "A 500M model at INT4 within 3 GB": Qwen2.5-0.5B under NF4: linear weights
  // 494,032,768 - 136,134,656 (tied embedding) - 43,904 (norms) - 27,648 (biases)
  // = 357,826,560 in 168 tensors -> 201,288,192 B; the rest bf16 272,412,416 B.
  // With an fp16 KV cache at its full 32768-token context (2 x 24 x 2 x 64 x
  // 32768 x 2 B = 402,653,184 B) the total is 876,353,792 B, well inside 3 GB.
  const auto w = weight_bytes(qwen2_5_0_5b, weight_recipe::bnb_4bit());
  CHECK(w.total() == 201'288'192ull + 272'412'416ull);
  const auto kv = kv_cache(qwen2_5_0_5b, {.context = 32768}).bytes;
  CHECK(kv == 402'653'184);
  CHECK(w.total() + kv < 3'000'000'000ull);
}

TEST_CASE("per-class breakdown sums to the total and to the parameter count") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::size_t> pick(0, catalog.size() - 1);
  std::uniform_int_distribution<int> ftype(0, 16);
  for (int i = 0; i < 60; ++i) {
    const auto& a = catalog[pick(rng)];
    const auto r = weight_recipe::gguf(static_cast<gguf_ftype>(ftype(rng)));
    INFO(std::string(a.name) << " ftype " << static_cast<int>(r.ftype));
    const auto w = weight_bytes(a, r);
    std::uint64_t sum = 0;
    for (auto b : w.bytes) sum += b;
    CHECK(sum == w.total());
    CHECK(w.total_parameters() == a.parameters());
    CHECK(weights_memory(a, r).total() == w.total());
    // A mix never costs more than f32 everywhere.
    CHECK(w.total() <= 4 * a.parameters());
  }
}

TEST_CASE("uniform formats that do not fit a row are rejected") {
  // Qwen2.5-0.5B rows of 896 are not whole 256-element Q4_K blocks.
  CHECK_THROWS_WITH(weight_bytes(qwen2_5_0_5b, weight_recipe::uniform(info(format_id::q4_k))),
                    Catch::Contains("not a whole number of 256-element blocks"));
  // A bad architecture is rejected before any tensor is costed.
  architecture bad = llama_3_8b;
  bad.layers = 0;
  CHECK_THROWS_AS(weight_bytes(bad), qmath::error);
}

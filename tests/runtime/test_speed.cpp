// Roofline speed, time and cost estimates. Expected values are worked out by
// hand in the comments; two are compared with published measurements.
#include <qmath/devices.hpp>
#include <qmath/estimate/speed.hpp>

#include "catch.hpp"

namespace d = qmath::devices;
using qmath::compute_type;
using qmath::roofline_bound;

TEST_CASE("decode reproduces the calibration measurement within 5%") {
  // llama.cpp, Llama-2-7B Q4_0 (3.56 GiB, 6.74 B params), RTX 3090 Ti:
  // tg128 = 127.43 t/s (ggml-org/llama.cpp#4812). Estimate: 0.5 * 1008e9 / (3.56 * 2^30) = 131.9 t/s.
  const double weights = 3.56 * 1024 * 1024 * 1024;
  const auto s = qmath::decode_speed(d::rtx_3090_ti, {.weight_bytes = weights, .active_params = 6.74e9});
  CHECK(s.bound == roofline_bound::memory);
  CHECK(s.tokens_per_second == Approx(0.5 * 1008e9 / weights));
  CHECK(s.tokens_per_second / 127.43 == Approx(1.0).margin(0.05));
  // Same run, pp512 = 4035 t/s: 0.65 * 80e12 / (2 * 6.74e9) = 3857.6 t/s.
  const auto p = qmath::prefill_speed(d::rtx_3090_ti, {.weight_bytes = weights, .active_params = 6.74e9,
                                                        .prompt_tokens = 512});
  CHECK(p.bound == roofline_bound::compute);
  CHECK(p.tokens_per_second == Approx(3857.57).epsilon(1e-4));
  CHECK(p.tokens_per_second / 4035.0 == Approx(1.0).margin(0.05));
}

TEST_CASE("decode: KV cache reads and batching") {
  // 4 GB weights + 4 sequences x 0.5 GB KV on an A100 80GB SXM (2039 GB/s):
  // step = 6e9 / (0.5 * 2039e9) = 5.885e-3 s; 4 tokens a step = 679.67 t/s.
  const auto s = qmath::decode_speed(d::a100_sxm4_80gb, {.weight_bytes = 4e9, .kv_bytes_per_sequence = 0.5e9,
                                                          .active_params = 7e9, .batch = 4});
  CHECK(s.memory_seconds == Approx(6e9 / (0.5 * 2039e9)));
  CHECK(s.tokens_per_second == Approx(4 / (6e9 / (0.5 * 2039e9))));
  CHECK(s.tokens_per_second == Approx(679.67).epsilon(1e-4));
  CHECK(s.bound == roofline_bound::memory);
  // A large batch turns compute bound: 1 GB weights, 1e9 params, batch 1024 on an H100 SXM:
  // compute 1024 * 2e9 / (0.65 * 989.4e12) = 3.1846e-3 s > memory 1e9 / (0.5 * 3350e9) = 5.97e-4 s;
  // 1024 / 3.1846e-3 = 321,546 t/s.
  const auto big = qmath::decode_speed(d::h100_sxm5_80gb, {.weight_bytes = 1e9, .active_params = 1e9, .batch = 1024});
  CHECK(big.bound == roofline_bound::compute);
  CHECK(big.compute_seconds == Approx(3.1846e-3).epsilon(1e-4));
  CHECK(big.tokens_per_second == Approx(321546).epsilon(1e-4));
  // fp8 doubles the H100's peak: the compute time halves.
  const auto fp8 = qmath::decode_speed(d::h100_sxm5_80gb, {.weight_bytes = 1e9, .active_params = 1e9, .batch = 1024},
                                       compute_type::fp8);
  CHECK(fp8.compute_seconds == Approx(big.compute_seconds / 2).epsilon(1e-3));
  // Attention FLOPs: 32 layers x 4096 x 1000 positions x 4 = 5.24288e8 per token.
  CHECK(qmath::attention_flops_per_token(32, 4096, 1000) == 524288000.0);
  // Custom efficiencies scale the memory roof linearly.
  const auto slow = qmath::decode_speed(d::rtx_4090, {.weight_bytes = 4e9}, compute_type::fp16, {0.25, 0.65});
  const auto fast = qmath::decode_speed(d::rtx_4090, {.weight_bytes = 4e9});
  CHECK(slow.tokens_per_second == Approx(fast.tokens_per_second / 2));
  CHECK(fast.tokens_per_second == Approx(126.0));  // 0.5 * 1008e9 / 4e9
  // Apple: bandwidth of the M2 Ultra (800 GB/s): 0.5 * 800e9 / 4e9 = 100 t/s.
  CHECK(qmath::decode_speed(d::m2_ultra_192gb, {.weight_bytes = 4e9}).tokens_per_second == Approx(100.0));
}

TEST_CASE("prefill: compute bound for long prompts, memory bound for short ones") {
  // 7B params, 512 tokens, 14 GB fp16 weights on an RTX 4090 (165.2 TFLOPS):
  // compute 512 * 14e9 / (0.65 * 165.2e12) = 0.066755 s, memory 14e9 / (0.5 * 1008e9) = 0.027778 s.
  const auto p = qmath::prefill_speed(d::rtx_4090, {.weight_bytes = 14e9, .active_params = 7e9, .prompt_tokens = 512});
  CHECK(p.bound == roofline_bound::compute);
  CHECK(p.compute_seconds == Approx(0.066755).epsilon(1e-4));
  CHECK(p.memory_seconds == Approx(0.027778).epsilon(1e-4));
  CHECK(p.tokens_per_second == Approx(512 / 0.066755).epsilon(1e-4));
  // One token: compute 14e9 / 1.0738e14 = 1.3e-4 s < memory 0.027778 s.
  const auto one = qmath::prefill_speed(d::rtx_4090, {.weight_bytes = 14e9, .active_params = 7e9, .prompt_tokens = 1});
  CHECK(one.bound == roofline_bound::memory);
  CHECK(one.tokens_per_second == Approx(1 / 0.027778).epsilon(1e-4));
  // Attention work adds to the compute: 2 * 7e9 + 1.4e10 per token doubles the time.
  const auto attn = qmath::prefill_speed(d::rtx_4090, {.weight_bytes = 14e9, .active_params = 7e9, .prompt_tokens = 512,
                                                       .attention_flops_per_token = 1.4e10});
  CHECK(attn.compute_seconds == Approx(2 * p.compute_seconds));
  // Request time: 512 / 1000 + 100 / 50 = 2.512 s.
  CHECK(qmath::request_seconds({1000, roofline_bound::compute, 0, 0}, 512, {50, roofline_bound::memory, 0, 0}, 100) ==
        Approx(2.512));
}

TEST_CASE("training time and cost") {
  // Llama 2 7B: 2T tokens took 184,320 A100-80GB GPU hours (Touvron et al. 2023, Table 2).
  // 6 * 7e9 * 2e12 / (0.5 * 312e12) = 5.3846e8 GPU-seconds = 149,573 GPU hours: within 25%.
  const auto llama2 = qmath::training_time(d::a100_sxm4_80gb, {.params = 7e9, .tokens = 2e12}, 1);
  CHECK(llama2.gpu_hours == Approx(149573).epsilon(1e-4));
  CHECK(llama2.gpu_hours / 184320 == Approx(1.0).margin(0.25));
  // 1e9 params, 1e9 tokens on eight p3.2xlarge (one V100 each, fp16 125 TFLOPS):
  // 6e18 / (0.5 * 125e12 * 8) = 12,000 s; 8 instances x 3.333 h x $3.06 = $81.60.
  const auto p3 = qmath::training_time(d::aws_p3_2xlarge, {.params = 1e9, .tokens = 1e9}, 8, compute_type::fp16);
  CHECK(p3.seconds == Approx(12000));
  CHECK(p3.accelerators == 8);
  CHECK(p3.instances == 8);
  CHECK(p3.usd == Approx(81.6));
  CHECK(p3.gpu_hours == Approx(12000.0 * 8 / 3600));
  // Full recompute: 8ND instead of 6ND.
  const auto recompute = qmath::training_time(d::aws_p3_2xlarge, {.params = 1e9, .tokens = 1e9, .full_recompute = true},
                                              8, compute_type::fp16);
  CHECK(recompute.seconds == Approx(16000));
  // Kaggle's two T4s: both by default, one free instance.
  const auto kaggle = qmath::training_time(d::kaggle_t4x2, {.params = 1e8, .tokens = 1e8}, 0, compute_type::fp16);
  CHECK(kaggle.accelerators == 2);
  CHECK(kaggle.instances == 1);
  CHECK(kaggle.usd == 0);
  CHECK(kaggle.seconds == Approx(6e16 / (0.5 * 65e12 * 2)));
  // Three T4s take two Kaggle instances; an MFU of 0.25 doubles the time.
  CHECK(qmath::training_time(d::kaggle_t4x2, {.params = 1e8, .tokens = 1e8}, 3, compute_type::fp16).instances == 2);
  CHECK(qmath::training_time(d::kaggle_t4x2, {.params = 1e8, .tokens = 1e8}, 0, compute_type::fp16, 0.25).seconds ==
        Approx(2 * kaggle.seconds));
  // One hour of a g5.xlarge.
  CHECK(qmath::cost_usd(d::aws_g5_xlarge, 3600) == Approx(1.006));
  CHECK(qmath::cost_usd(d::aws_g5_xlarge, 1800, 4) == Approx(2.012));
}

TEST_CASE("estimator errors name the API and the value") {
  using Catch::Contains;
  CHECK_THROWS_WITH(qmath::peak_flops(d::t4, compute_type::bf16), Contains("device t4 has no bf16 rate"));
  CHECK_THROWS_WITH(qmath::peak_flops(d::a100_sxm4_80gb, compute_type::fp8), Contains("has no fp8 rate"));
  CHECK(qmath::peak_flops(d::t4, compute_type::int8) == 130e12);
  CHECK_THROWS_WITH(qmath::decode_speed(d::t4, {.weight_bytes = 0}), Contains("qmath::decode_speed"));
  CHECK_THROWS_AS(qmath::decode_speed(d::t4, {.weight_bytes = 1e9, .batch = 0}), qmath::error);
  CHECK_THROWS_AS(qmath::decode_speed(d::t4, {.weight_bytes = 1e9, .kv_bytes_per_sequence = -1}), qmath::error);
  CHECK_THROWS_WITH(qmath::decode_speed(d::t4, {.weight_bytes = 1e9}, compute_type::fp16, {1.5, 0.5}),
                    Contains("efficiencies must be in (0, 1]"));
  // Decode in bf16 on a T4 needs the bf16 peak only when there is compute to do.
  CHECK_THROWS_AS(qmath::decode_speed(d::t4, {.weight_bytes = 1e9, .active_params = 1e9}, compute_type::bf16),
                  qmath::error);
  CHECK_THROWS_WITH(qmath::prefill_speed(d::t4, {.weight_bytes = 1e9, .active_params = 1e9, .prompt_tokens = 0}),
                    Contains("qmath::prefill_speed"));
  CHECK_THROWS_WITH(qmath::training_time(d::t4, {.params = 1e9, .tokens = 1e9}, 1, compute_type::fp16, 1.2),
                    Contains("mfu must be in (0, 1]"));
  CHECK_THROWS_AS(qmath::training_time(d::t4, {.params = 0, .tokens = 1e9}), qmath::error);
  CHECK_THROWS_AS(qmath::training_time(d::t4, {.params = 1e9, .tokens = 1e9}), qmath::error);  // default bf16
  CHECK_THROWS_AS(qmath::cost_usd(d::t4, -1), qmath::error);
  CHECK_THROWS_AS(qmath::request_seconds({0, roofline_bound::memory, 0, 0}, 1, {1, roofline_bound::memory, 0, 0}, 1),
                  qmath::error);
}

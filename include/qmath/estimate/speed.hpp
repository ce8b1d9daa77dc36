#pragma once
// Roofline estimates of speed, time and cost on a hardware profile.
//
//   decode  tokens/s = batch / max(bytes read per step / (eta_bw * bandwidth),
//                                  FLOPs per step / (eta_c * peak))
//   prefill tokens/s = prompt / max(weight bytes / (eta_bw * bandwidth),
//                                   prompt * FLOPs per token / (eta_c * peak))
//   training seconds = k * N * D / (MFU * peak * GPUs), k = 6 (forward 2ND +
//                      backward 4ND), 8 with full activation recompute
//   cost             = hours * instances * usd_per_hour
//
// Inputs are plain numbers (bytes per token, active parameters, tokens) so that
// this header does not depend on the model tables; the memory estimators supply
// the bytes. Each result says which roof bounds it. One accelerator: a model
// split by layers across several runs them one after another, so decode speed
// does not scale with the device count (tensor parallelism is not modelled).
// This header does not include xsimd.

#include <cstdint>
#include <limits>

#include "qmath/detail/bits.hpp"
#include "qmath/detail/checked.hpp"
#include "qmath/devices/device.hpp"
#include "qmath/error.hpp"

namespace qmath {

// The arithmetic the matrix multiplications run in; picks the device's peak.
enum class compute_type : std::uint8_t { fp16, bf16, int8, fp8 };

enum class roofline_bound : std::uint8_t { memory, compute };

// Fractions of the peak that real kernels reach.
//
// memory = 0.5: llama.cpp CUDA, Llama-2-7B Q4_0 (3.56 GiB of weights), RTX 3090
//   Ti (1008 GB/s): tg128 = 127.43 t/s (ggml-org/llama.cpp#4812, build 32d9f7d9),
//   i.e. 127.43 * 3.8226e9 B / 1008e9 B/s = 0.483 of the peak bandwidth.
// compute = 0.65: the same run, pp512 = 4035 t/s * 2 * 6.74e9 FLOP = 54.4 TFLOPS
//   of the card's 80 TFLOPS (FP16 tensor cores, FP32 accumulate) = 0.68.
// training_mfu = 0.5: llm-analysis' suggested training efficiency
//   (cli99/llm-analysis README; its flops_efficiency default is 1.0, a bound).
struct efficiency {
  double memory = 0.5;
  double compute = 0.65;
};
inline constexpr efficiency default_efficiency{};
inline constexpr double default_training_mfu = 0.5;

struct speed_estimate {
  double tokens_per_second;
  roofline_bound bound;
  double memory_seconds;   // per step (one decode step, or the whole prompt)
  double compute_seconds;  // per step
};

// Dense peak of one accelerator in FLOP/s (OP/s for int8). A type the device
// does not support (0 in its profile) is an error.
constexpr double peak_flops(const device& d, compute_type type) {
  const double tera = type == compute_type::fp16   ? d.fp16_tflops
                      : type == compute_type::bf16 ? d.bf16_tflops
                      : type == compute_type::int8 ? d.int8_tops
                                                   : d.fp8_tflops;
  QMATH_REQUIRE(tera > 0 && tera <= std::numeric_limits<double>::max(), "qmath::peak_flops", "device ", d.id, " has no ",
                type == compute_type::fp16   ? "fp16"
                : type == compute_type::bf16 ? "bf16"
                : type == compute_type::int8 ? "int8"
                                             : "fp8",
                " rate in its profile (or a rate that is not finite: ", tera, ")");
  return tera * 1e12;
}

// Forward FLOPs of attention for one query token that attends to `context`
// positions: per layer, the scores q.K^T and the weighted sum p.V are each
// `context` dot products of length heads * head_dim, 2 FLOPs per multiply-add.
// (For a whole prompt pass the average context, about prompt / 2 with a causal mask.)
constexpr double attention_flops_per_token(double n_layers, double n_heads_times_head_dim, double context) {
  constexpr const char* api = "qmath::attention_flops_per_token";
  return detail::checked_non_negative(4.0 * detail::checked_non_negative(n_layers, api, "layers") *
                                          detail::checked_non_negative(n_heads_times_head_dim, api, "heads x head_dim") *
                                          detail::checked_non_negative(context, api, "context"),
                                      api, "FLOPs");
}

struct decode_inputs {
  double weight_bytes;                 // bytes of the weights a step reads (active parameters)
  double kv_bytes_per_sequence = 0;    // KV cache bytes one sequence reads at the current context
  double active_params = 0;            // 2 FLOPs per active parameter per token
  double attention_flops_per_token = 0;
  std::uint32_t batch = 1;             // sequences decoded together; weights are read once per step
};

// Tokens per second (summed over the batch) for one decode step.
constexpr speed_estimate decode_speed(const device& d, const decode_inputs& in,
                                      compute_type type = compute_type::fp16,
                                      efficiency eta = default_efficiency) {
  constexpr const char* api = "qmath::decode_speed";
  QMATH_REQUIRE(in.weight_bytes > 0, api, "weight_bytes must be positive, got ", in.weight_bytes);
  QMATH_REQUIRE(in.batch > 0, api, "batch must be positive");
  // finite and not negative (NaN fails too)
  (void)detail::checked_non_negative(in.weight_bytes, api, "weight_bytes");
  (void)detail::checked_non_negative(in.kv_bytes_per_sequence, api, "kv_bytes_per_sequence");
  (void)detail::checked_non_negative(in.active_params, api, "active_params");
  (void)detail::checked_non_negative(in.attention_flops_per_token, api, "attention_flops_per_token");
  (void)detail::checked_non_negative(d.memory_bandwidth_gbps, api, "memory bandwidth");
  QMATH_REQUIRE(eta.memory > 0 && eta.memory <= 1 && eta.compute > 0 && eta.compute <= 1, "qmath::decode_speed",
                "efficiencies must be in (0, 1], got ", eta.memory, " and ", eta.compute);
  QMATH_REQUIRE(d.memory_bandwidth_gbps > 0, "qmath::decode_speed", "device ", d.id, " has no bandwidth");
  const double batch = in.batch;
  const double bytes = in.weight_bytes + batch * in.kv_bytes_per_sequence;
  const double memory_s = bytes / (eta.memory * d.memory_bandwidth_gbps * 1e9);
  const double flops = batch * (2.0 * in.active_params + in.attention_flops_per_token);
  const double compute_s = flops > 0 ? flops / (eta.compute * peak_flops(d, type)) : 0.0;
  const bool memory_bound = memory_s >= compute_s;
  return {batch / (memory_bound ? memory_s : compute_s), memory_bound ? roofline_bound::memory : roofline_bound::compute,
          memory_s, compute_s};
}

struct prefill_inputs {
  double weight_bytes;                  // read once for the whole prompt
  double active_params;                 // 2 FLOPs per active parameter per token
  double prompt_tokens;
  double attention_flops_per_token = 0; // average over the prompt (context grows from 0 to prompt)
};

// Prompt tokens per second.
constexpr speed_estimate prefill_speed(const device& d, const prefill_inputs& in,
                                       compute_type type = compute_type::fp16,
                                       efficiency eta = default_efficiency) {
  constexpr const char* api = "qmath::prefill_speed";
  QMATH_REQUIRE(in.active_params > 0 && in.prompt_tokens > 0, api,
                "active_params and prompt_tokens must be positive, got ", in.active_params, " and ", in.prompt_tokens);
  (void)detail::checked_non_negative(in.weight_bytes, api, "weight_bytes");
  (void)detail::checked_non_negative(in.active_params, api, "active_params");
  (void)detail::checked_non_negative(in.prompt_tokens, api, "prompt_tokens");
  (void)detail::checked_non_negative(in.attention_flops_per_token, api, "attention_flops_per_token");
  (void)detail::checked_non_negative(d.memory_bandwidth_gbps, api, "memory bandwidth");
  QMATH_REQUIRE(eta.memory > 0 && eta.memory <= 1 && eta.compute > 0 && eta.compute <= 1, "qmath::prefill_speed",
                "efficiencies must be in (0, 1], got ", eta.memory, " and ", eta.compute);
  QMATH_REQUIRE(d.memory_bandwidth_gbps > 0, "qmath::prefill_speed", "device ", d.id, " has no bandwidth");
  const double memory_s = in.weight_bytes / (eta.memory * d.memory_bandwidth_gbps * 1e9);
  const double compute_s =
      in.prompt_tokens * (2.0 * in.active_params + in.attention_flops_per_token) / (eta.compute * peak_flops(d, type));
  const bool memory_bound = memory_s > compute_s;
  return {in.prompt_tokens / (memory_bound ? memory_s : compute_s),
          memory_bound ? roofline_bound::memory : roofline_bound::compute, memory_s, compute_s};
}

// Seconds to read a prompt and generate `output_tokens` at the given speeds.
constexpr double request_seconds(const speed_estimate& prefill, double prompt_tokens, const speed_estimate& decode,
                                 double output_tokens) {
  QMATH_REQUIRE(prefill.tokens_per_second > 0 && decode.tokens_per_second > 0, "qmath::request_seconds",
                "speeds must be positive");
  (void)detail::checked_non_negative(prompt_tokens, "qmath::request_seconds", "prompt tokens");
  (void)detail::checked_non_negative(output_tokens, "qmath::request_seconds", "output tokens");
  (void)detail::checked_non_negative(prefill.tokens_per_second, "qmath::request_seconds", "prefill speed");
  (void)detail::checked_non_negative(decode.tokens_per_second, "qmath::request_seconds", "decode speed");
  return prompt_tokens / prefill.tokens_per_second + output_tokens / decode.tokens_per_second;
}

struct training_inputs {
  double params;                // N: trained (active) parameters
  double tokens;                // D: training tokens
  bool full_recompute = false;  // activation checkpointing repeats the forward pass: +2ND
};

struct training_estimate {
  double seconds;
  double gpu_hours;            // seconds * accelerators / 3600
  std::uint32_t accelerators;
  std::uint32_t instances;     // profiles rented: ceil(accelerators / count)
  double usd;                  // instances * hours * usd_per_hour (0 for a profile without a price)
};

// Training time on `accelerators` accelerators of profile d (0 = all of one
// profile's `count`), at `mfu` of the dense peak of `type`.
constexpr training_estimate training_time(const device& d, const training_inputs& in, std::uint32_t accelerators = 0,
                                          compute_type type = compute_type::bf16,
                                          double mfu = default_training_mfu) {
  constexpr const char* api = "qmath::training_time";
  QMATH_REQUIRE(in.params > 0 && in.tokens > 0, api, "params and tokens must be positive, got ", in.params, " and ",
                in.tokens);
  (void)detail::checked_non_negative(in.params, api, "params");
  (void)detail::checked_non_negative(in.tokens, api, "tokens");
  QMATH_REQUIRE(mfu > 0 && mfu <= 1, api, "mfu must be in (0, 1], got ", mfu);
  QMATH_REQUIRE(d.count > 0, api, "device ", d.id, " has no accelerator");
  (void)detail::checked_non_negative(d.usd_per_hour, api, "price per hour");
  const std::uint32_t n = accelerators == 0 ? d.count : accelerators;
  const double flops = (in.full_recompute ? 8.0 : 6.0) * in.params * in.tokens;
  const double seconds = detail::checked_non_negative(flops / (mfu * peak_flops(d, type) * n), api, "seconds");
  // ceil(n / count) in 64 bits: n + count - 1 wraps 32 bits
  const auto instances = static_cast<std::uint32_t>(detail::ceil_div(n, d.count));
  return {seconds, seconds * n / 3600.0, n, instances, seconds / 3600.0 * instances * d.usd_per_hour};
}

// Cost of keeping `instances` of profile d busy for `seconds`.
constexpr double cost_usd(const device& d, double seconds, std::uint32_t instances = 1) {
  (void)detail::checked_non_negative(seconds, "qmath::cost_usd", "seconds");
  (void)detail::checked_non_negative(d.usd_per_hour, "qmath::cost_usd", "price per hour");
  return seconds / 3600.0 * instances * d.usd_per_hour;
}

}  // namespace qmath

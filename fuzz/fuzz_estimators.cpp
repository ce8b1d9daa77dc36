// fuzz-flags: -fsanitize=unsigned-integer-overflow
// libFuzzer target: the estimators with every numeric field free.
//
// The input fills an architecture (every count, flag and dimension), a plan
// (recipe, KV type, batch, context, runtime profile, training settings,
// parallel layout, GPU layers), a device (a catalog profile or every field
// free, doubles included: NaN, infinity, negatives) and the plain inputs of
// the speed, host RAM and DeepSpeed estimators, then runs one estimator.
// Built with -fsanitize=unsigned-integer-overflow on top of ASan + UBSan: the
// estimators intend no wrap, so any unsigned overflow aborts. Properties:
//   - a bad input is a qmath::error; nothing else escapes (libFuzzer reports it);
//   - results that can be computed two ways agree (parameters and the weight
//     breakdown's count, KV total and K + V, a solver's answer fits).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include <qmath/devices.hpp>
#include <qmath/estimate/host_ram.hpp>
#include <qmath/estimate/plan.hpp>
#include <qmath/estimate/speed.hpp>
#include <qmath/models.hpp>

#include "fuzz_support.hpp"

namespace {

namespace m = qmath::models;

struct input {
  const std::uint8_t* data;
  std::size_t size;

  std::uint8_t byte() {
    if (size == 0) return 0;
    --size;
    return *data++;
  }
  bool flag() { return byte() & 1; }
  std::uint64_t bits(unsigned n) {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < n; i += 8) v |= std::uint64_t{byte()} << i;
    return n >= 64 ? v : v & ((std::uint64_t{1} << n) - 1);
  }
  // Mostly plausible sizes, sometimes anything: the selector byte chooses
  // 0..15, a byte, 16 bits, or the full width.
  std::uint64_t number(unsigned width) {
    switch (byte() % 4) {
      case 0: return byte() % 16;
      case 1: return byte();
      case 2: return bits(16);
      default: return bits(width);
    }
  }
  std::uint32_t u32() { return static_cast<std::uint32_t>(number(32)); }
  std::uint64_t u64() { return number(64); }
  // Any double: a plain value, or raw bits (NaN, infinity, subnormals, negatives).
  double real() {
    switch (byte() % 4) {
      case 0: return static_cast<double>(byte()) / 16.0;
      case 1: return static_cast<double>(bits(32));
      case 2: return static_cast<double>(byte()) / 256.0;
      default: {
        const std::uint64_t b = bits(64);
        double d;
        std::memcpy(&d, &b, 8);
        return d;
      }
    }
  }
  template <class E>
  E pick(std::size_t count) {
    return static_cast<E>(byte() % count);
  }
};

[[noreturn]] void fail(const char* what) { qmath_fuzz::fail("fuzz_estimators", what); }
using qmath_fuzz::ok;

constexpr qmath::format_id float_types[] = {qmath::format_id::f32, qmath::format_id::f16, qmath::format_id::bf16,
                                            qmath::format_id::fp8_e4m3, qmath::format_id::q8_0};
constexpr qmath::format_id kv_types[] = {qmath::format_id::f16, qmath::format_id::f32, qmath::format_id::bf16,
                                         qmath::format_id::q8_0, qmath::format_id::q4_0, qmath::format_id::q5_1,
                                         qmath::format_id::iq4_nl};

m::architecture make_architecture(input& in) {
  m::architecture a = m::catalog[in.byte() % m::catalog.size()];
  if (in.flag()) return a;  // a catalog model as it is
  a.name = "fuzzed";
  a.kind = in.flag() ? m::model_kind::encoder : m::model_kind::decoder;
  a.layers = in.u32();
  a.hidden = in.u32();
  a.heads = in.u32();
  a.kv_heads = in.u32();
  a.head_dim = in.u32();
  a.intermediate = in.u32();
  a.ffn = in.flag() ? m::ffn_kind::ungated : m::ffn_kind::gated;
  a.vocab = in.u32();
  a.tied_embeddings = in.flag();
  a.norm = in.flag() ? m::norm_kind::layer : m::norm_kind::rms;
  a.norms_per_layer = in.u32();
  const std::uint8_t f = in.byte();
  a.final_norm = f & 1;
  a.qk_norm = f & 2;
  a.sub_norms = f & 4;
  a.embedding_norm = f & 8;
  a.qkv_bias = f & 16;
  a.o_bias = f & 32;
  a.mlp_bias = f & 64;
  a.pooler = f & 128;
  a.learned_positions = in.u32();
  a.token_types = in.u32();
  a.max_context = in.u32();
  a.sliding_window = in.u32();
  a.full_attention_every = in.u32();
  if (in.flag()) {
    a.experts = in.u32();
    a.active_experts = in.u32();
    a.expert_intermediate = in.u32();
    a.shared_expert_intermediate = in.u32();
    a.shared_expert_gate = in.flag();
    a.first_dense_layers = in.u32();
  } else {
    a.experts = 0;
  }
  if (in.flag()) {
    a.q_lora_rank = in.u32();
    a.kv_lora_rank = in.u32();
    a.qk_nope_head_dim = in.u32();
    a.qk_rope_head_dim = in.u32();
    a.v_head_dim = in.u32();
  } else {
    a.kv_lora_rank = 0;
  }
  a.checkpoint_dtype = float_types[in.byte() % 3];
  return a;
}

qmath::weight_recipe make_recipe(input& in) {
  switch (in.byte() % 5) {
    case 0: return qmath::weight_recipe::checkpoint();
    case 1: {
      qmath::format_info f = qmath::info(qmath::format_id::q4_0);
      (void)ok([&] { f = qmath::info(static_cast<qmath::format_id>(in.byte() % 37)); });
      return qmath::weight_recipe::uniform(f);
    }
    case 2: {
      qmath::format_info f = qmath::info(qmath::format_id::bnb_nf4);
      (void)ok([&] {
        f = qmath::bnb_4bit_info(in.flag() ? qmath::format_id::bnb_fp4 : qmath::format_id::bnb_nf4,
                                 static_cast<std::uint32_t>(in.number(32)), in.flag());
      });
      return qmath::weight_recipe::bnb_4bit(f);
    }
    case 3: return qmath::weight_recipe::bnb_8bit();
    default:
      return qmath::weight_recipe::gguf(in.pick<qmath::gguf_ftype>(static_cast<std::size_t>(qmath::gguf_ftype::q6_k) + 1));
  }
}

qmath::device make_device(input& in) {
  qmath::device d = qmath::devices::all[in.byte() % qmath::devices::all.size()];
  if (in.flag()) return d;
  d.id = "fuzzed";
  d.vendor = in.pick<qmath::device_vendor>(6);
  d.kind = in.pick<qmath::device_kind>(4);
  d.memory_bytes = in.u64();
  d.usable_bytes = in.u64();
  d.count = in.u32();
  d.memory_bandwidth_gbps = in.real();
  d.fp16_tflops = in.real();
  d.bf16_tflops = in.real();
  d.int8_tops = in.real();
  d.fp8_tflops = in.real();
  d.host_ram_bytes = in.u64();
  d.usd_per_hour = in.real();
  return d;
}

qmath::runtime_profile make_runtime(input& in) {
  static constexpr qmath::runtime_profile profiles[] = {qmath::runtimes::transformers, qmath::runtimes::llama_cpp,
                                                        qmath::runtimes::ollama, qmath::runtimes::vllm,
                                                        qmath::runtimes::bare};
  qmath::runtime_profile r = profiles[in.byte() % 5];
  if (in.flag()) return r;
  r.gpu_context_bytes = in.u64();
  r.workspace_bytes = in.u64();
  r.reserve_bytes = in.u64();
  r.slack_permille = in.u32();
  r.memory_utilization = in.real();
  r.offload = in.flag() ? qmath::offload_style::accelerate : qmath::offload_style::llama_cpp;
  r.kv_layout = in.flag() ? qmath::kv_cache_layout::llama_cpp : qmath::kv_cache_layout::hf;
  return r;
}

qmath::training_config make_training(input& in) {
  qmath::training_config t;
  t.method = in.pick<qmath::finetune_method>(3);
  t.optimizer = in.pick<qmath::optimizer_kind>(7);
  t.compute_dtype = float_types[in.byte() % 5];
  t.master_weights = in.flag();
  t.gradient_dtype = float_types[in.byte() % 5];
  t.fp32_gradient_copy = in.flag();
  t.gradient_checkpointing = in.flag();
  t.gradient_accumulation_steps = in.u32();
  t.lora.rank = in.u32();
  t.lora.targets.bits = static_cast<std::uint16_t>(in.bits(8));
  t.lora.adapter_dtype = float_types[in.byte() % 5];
  t.lora.fused_qkv = in.flag();
  t.upcast_unquantized_to_fp32 = in.flag();
  t.paged_state_on_host = in.flag();
  return t;
}

qmath::plan make_plan(input& in) {
  qmath::plan p;
  p.model = make_architecture(in);
  p.weights = make_recipe(in);
  p.kv_type = qmath::info(kv_types[in.byte() % 7]);
  p.batch = in.u32();
  p.context = in.u64();
  p.runtime = make_runtime(in);
  if (in.flag()) p.training = make_training(in);
  p.parallel.data = in.u32();
  p.parallel.tensor = in.u32();
  p.parallel.pipeline = in.u32();
  p.parallel.zero = in.pick<qmath::zero_stage>(4);
  p.parallel.offload_optimizer = in.flag();
  p.parallel.offload_parameters = in.flag();
  p.gpu_layers = in.flag() ? qmath::all_layers : in.u32();
  return p;
}

void architecture_counts(input& in) {
  const m::architecture a = make_architecture(in);
  const qmath::weight_recipe r = make_recipe(in);
  std::uint64_t params = 0;
  if (!ok([&] { params = a.parameters(); })) return;
  (void)ok([&] { (void)a.active_parameters(); });
  qmath::weight_breakdown w;
  if (ok([&] { w = qmath::weight_bytes(a, r); })) {
    std::uint64_t counted = 0;
    if (ok([&] { counted = w.total_parameters(); }) && counted != params)
      fail("weight_bytes counts other parameters than parameters()");
    (void)ok([&] { (void)w.total(); });
  }
  (void)ok([&] { (void)qmath::largest_layer_parameters(a); });
  (void)ok([&] { (void)qmath::split_layers(a, r, in.u32(), in.flag() ? qmath::offload_style::accelerate
                                                                        : qmath::offload_style::llama_cpp); });
  qmath::host_ram_config h;
  h.method = in.pick<qmath::load_method>(3);
  h.checkpoint = r;
  h.load_dtype = float_types[in.byte() % 3];
  h.shard_bytes = in.u64();
  h.offloaded_fraction = in.real();
  (void)ok([&] { (void)qmath::host_ram(a, h); });
}

void kv_and_activations(input& in) {
  const m::architecture a = make_architecture(in);
  qmath::kv_cache_config c;
  c.context = in.u64();
  c.batch = in.u64();
  c.type_k = qmath::info(kv_types[in.byte() % 7]);
  c.type_v = qmath::info(kv_types[in.byte() % 7]);
  c.layout = in.flag() ? qmath::kv_cache_layout::llama_cpp : qmath::kv_cache_layout::hf;
  c.flash_attention = in.flag();
  c.sliding_window = in.flag();
  c.mla_compressed = in.flag();
  c.ubatch = in.u32();
  c.ctx_padding = in.u32();
  qmath::kv_cache_estimate e;
  if (ok([&] { e = qmath::kv_cache(a, c); })) {
    if (e.bytes != e.k_bytes + e.v_bytes) fail("KV total is not K + V");
    if (e.full_layers + e.sliding_layers != a.layers) fail("KV layers do not add up");
  }
  (void)ok([&] { (void)qmath::kv_cache_bytes_per_token(a, c.type_k, c.type_v, c.mla_compressed); });
  qmath::inference_activation_config ic;
  ic.context = in.u64();
  ic.batch = in.u64();
  ic.ubatch = in.u64();
  ic.flash_attention = in.flag();
  ic.all_logits = in.flag();
  ic.dtype = qmath::info(float_types[in.byte() % 3]);
  (void)ok([&] { (void)qmath::inference_activation_bytes(a, ic); });
  qmath::training_activation_config tc;
  tc.sequence = in.u64();
  tc.micro_batch = in.u64();
  tc.mode = in.pick<qmath::recompute>(3);
  tc.flash_attention = in.flag();
  tc.dropout = in.flag();
  tc.dtype = qmath::info(float_types[in.byte() % 3]);
  (void)ok([&] { (void)qmath::training_activation_bytes(a, tc); });
}

void training(input& in) {
  const m::architecture a = make_architecture(in);
  const qmath::training_config t = make_training(in);
  (void)ok([&] { (void)qmath::training_state(a, t); });
  (void)ok([&] { (void)qmath::trainable_parameters(a, t); });
  (void)ok([&] { (void)qmath::qlora_upcast_bytes(a, t); });
  (void)ok([&] { (void)qmath::training_step_activation_bytes(a, t, in.u64(), in.u64()); });
  (void)ok([&] { (void)qmath::effective_batch(in.u64(), t); });
  (void)ok([&] { (void)qmath::lora_parameters(a, t.lora); });
  (void)ok([&] { (void)qmath::lora_bytes(a, t.lora); });
  (void)ok([&] { (void)qmath::lora_trainable_share(a, t.lora); });
  (void)ok([&] {
    (void)qmath::optimizer_state_bytes(t.optimizer, in.u64(), in.u64(), in.u64(), in.u64());
  });
}

void plans(input& in) {
  const qmath::plan p = make_plan(in);
  const qmath::device d = make_device(in);
  qmath::plan_estimate e;
  if (!ok([&] { e = qmath::estimate(p, d); })) return;
  (void)ok([&] { (void)e.gpu.total(); });
  (void)ok([&] { (void)qmath::fits(p, d); });
  (void)ok([&] { (void)qmath::footprint_bytes(p, d); });
  switch (in.byte() % 4) {
    case 0: {
      std::uint64_t ctx = 0;
      if (ok([&] { ctx = qmath::max_context(p, d); }) && ctx != 0) {
        qmath::plan q = p;
        q.context = ctx;
        bool fits = false;
        if (ok([&] { fits = qmath::fits(q, d); }) && !fits) fail("max_context returned a context that does not fit");
      }
      break;
    }
    case 1: (void)ok([&] { (void)qmath::max_batch(p, d); }); break;
    case 2: (void)ok([&] { (void)qmath::max_gpu_layers(p, d); }); break;
    default: {
      const qmath::plan two[] = {p, make_plan(in)};
      (void)ok([&] { (void)qmath::fits_together(two, d); });
      (void)ok([&] { (void)qmath::most_accurate_recipe(p, d, qmath::gguf_recipes); });
    }
  }
}

void sharding(input& in) {
  qmath::memory_breakdown full{in.u64(), in.u64(), in.u64(), in.u64(), in.u64(), in.u64(), in.u64(), in.u64()};
  qmath::parallelism layout{in.u32(), in.u32(), in.u32(), in.pick<qmath::zero_stage>(4), in.flag(), in.flag()};
  (void)ok([&] { (void)qmath::shard_model_state(full, layout, in.u64()); });
  (void)ok([&] { (void)(full + full); });
  (void)ok([&] { (void)qmath::deepspeed_zero2_estimate(in.u64(), in.u32(), in.u32(), in.flag(), in.real()); });
  (void)ok([&] {
    (void)qmath::deepspeed_zero3_estimate(in.u64(), in.u64(), in.u32(), in.u32(), in.flag(), in.flag(), in.flag(),
                                          in.real());
  });
}

void speed(input& in) {
  const qmath::device d = make_device(in);
  const auto type = in.pick<qmath::compute_type>(4);
  const qmath::efficiency eta{in.real(), in.real()};
  qmath::speed_estimate dec{}, pre{};
  const bool a = ok([&] {
    dec = qmath::decode_speed(d, {in.real(), in.real(), in.real(), in.real(), in.u32()}, type, eta);
  });
  const bool b = ok([&] { pre = qmath::prefill_speed(d, {in.real(), in.real(), in.real(), in.real()}, type, eta); });
  if (a && b) (void)ok([&] { (void)qmath::request_seconds(pre, in.real(), dec, in.real()); });
  (void)ok([&] { (void)qmath::attention_flops_per_token(in.real(), in.real(), in.real()); });
  (void)ok([&] {
    (void)qmath::training_time(d, {in.real(), in.real(), in.flag()}, in.u32(), type, in.real());
  });
  (void)ok([&] { (void)qmath::cost_usd(d, in.real(), in.u32()); });
  (void)ok([&] { (void)qmath::validate(d); });
  (void)ok([&] { (void)d.total_usable_bytes(); });
}

void storage(input& in) {
  qmath::format_info f = qmath::info(qmath::format_id::q8_0);
  (void)ok([&] { f = qmath::info(static_cast<qmath::format_id>(in.byte() % 37)); });
  if (in.flag()) {
    f.block_elems = in.u32();
    f.block_bits = in.u32();
    f.group_blocks = in.u32();
    f.group_bits = in.u32();
    f.tensor_bytes = in.u32();
  }
  (void)ok([&] { (void)qmath::storage_bytes(f, in.u64()); });
  (void)ok([&] { (void)qmath::bnb_int8_rowwise_info(in.u32()); });
}

using entry = void (*)(input&);
constexpr entry entries[] = {architecture_counts, kv_and_activations, training, plans, sharding, speed, storage};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  input in{data, size};
  entries[in.byte() % (sizeof(entries) / sizeof(entries[0]))](in);
  return 0;
}

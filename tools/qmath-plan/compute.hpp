#pragma once
// The answers: the plan built from the options, its memory per device, the
// solvers, speed, time and cost, and the remedies when it does not fit. All
// numbers come from qmath's public estimators.

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <qmath/devices.hpp>
#include <qmath/memory.hpp>

#include "cli.hpp"
#include "local_device.hpp"
#include "resolve.hpp"

namespace qmath_plan {

// Everything decided from the options, for one model.
struct setup {
  model_choice model;
  const qmath::runtime_profile* runtime = &qmath::runtimes::llama_cpp;
  recipe_choice weights;
  qmath::plan plan;
  std::string kv_k_label = "f16", kv_v_label = "f16";
  std::string mode_label = "inference";
  std::string optimizer_label;
  std::string lora_label;
  std::uint32_t lora_alpha = 0;
  bool context_defaulted = false;
};

inline std::string mode_name(mode_t m) {
  switch (m) {
    case mode_t::inference: return "inference";
    case mode_t::full: return "full";
    case mode_t::lora: return "lora";
    case mode_t::qlora: return "qlora";
  }
  return "?";
}

// Settings the library does not model yet are said, never dropped silently.
inline void note_unmodelled(const options& o, const setup& s, std::vector<std::string>& notes) {
  const bool llama = is_gguf_runtime(*s.runtime);
  auto llama_only = [&](const char* flag) {
    throw usage_error(std::string(flag) + " is llama.cpp's flag: add --runtime llama.cpp (or ollama)");
  };
  if (!llama) {
    if (o.ubatch) llama_only("--ubatch");
    if (o.n_batch) llama_only("--batch-size");
    if (o.kv_unified) llama_only("--kv-unified");
    if (o.swa_full) llama_only("--swa-full");
    if (o.flash_attention_given && o.flash_attention == switch_t::off && !s.plan.is_training())
      notes.push_back("--flash-attention off has no effect yet with " + std::string(s.runtime->name) +
                      ": attention is priced as SDPA's fused kernels (no seq x seq scores)");
    if (s.kv_k_label != s.kv_v_label)
      throw usage_error("--kv-k and --kv-v differ: " + std::string(s.runtime->name) + " keeps K and V in one dtype");
  } else if (o.kv_unified) {
    notes.push_back("--kv-unified: one KV buffer for all sequences, which is also qmath's default for llama.cpp plans");
  }
  if (o.lora_alpha) notes.push_back("--lora-alpha " + std::to_string(*o.lora_alpha) + " scales the update and costs no memory");
}

inline setup build_setup(const options& o, const std::string& model_text, std::vector<std::string>& notes,
                         const std::string& weights_text, const std::string& runtime_text) {
  setup s;
  s.model = find_model(model_text);
  const auto& a = s.model.arch;
  const bool training = o.mode != mode_t::inference;
  s.mode_label = mode_name(o.mode);
  using fmt = qmath::io::model_format;
  const bool gguf_file = s.model.format == fmt::gguf;
  const bool safetensors_file = s.model.format == fmt::safetensors || s.model.format == fmt::safetensors_index;
  if (runtime_text.empty())
    s.runtime = training || safetensors_file ? &qmath::runtimes::transformers : &qmath::runtimes::llama_cpp;
  else
    s.runtime = find_runtime(runtime_text);
  if (gguf_file && training) throw usage_error("--model " + model_text + " is a GGUF file: training needs the Hugging Face checkpoint (config.json)");
  if (gguf_file && !is_gguf_runtime(*s.runtime))
    throw usage_error("--model " + model_text + " is a GGUF file: it runs under llama.cpp or ollama, not " + std::string(s.runtime->name));
  if (training && is_gguf_runtime(*s.runtime))
    throw usage_error("--mode " + s.mode_label + ": " + std::string(s.runtime->name) +
                      " does not train; use --runtime transformers");
  if (training && s.runtime->name == "vllm") throw usage_error("--mode " + s.mode_label + ": vllm does not train; use --runtime transformers");

  // weights
  std::string w = weights_text;
  if (w.empty()) {
    if (o.mode == mode_t::qlora) w = "nf4-dq";
    else if (is_gguf_runtime(*s.runtime)) w = "Q4_K_M";
    else w = "checkpoint";
  }
  if (weights_text.empty() && s.model.file_recipe && (gguf_file || (safetensors_file && !is_gguf_runtime(*s.runtime)) ) &&
      o.mode != mode_t::qlora) {
    // a file prices as the recipe it was made with
    s.weights = {*s.model.file_recipe, recipe_label(*s.model.file_recipe, a)};
    w = s.weights.label;
  } else {
    s.weights = parse_weights(w, *s.runtime, a);
  }
  // a recipe whose rows do not split into its blocks is bad input, said now
  try {
    (void)qmath::weight_bytes(a, s.weights.recipe);
  } catch (const qmath::error& e) {
    throw usage_error("--weights " + w + " does not fit " + std::string(a.name) + "'s tensor shapes: " + e.what());
  }
  if (s.model.file_weight_bytes) {
    const std::uint64_t estimate = qmath::weight_bytes(a, s.weights.recipe).total();
    const std::uint64_t exact = *s.model.file_weight_bytes;
    const double diff = 100.0 * (static_cast<double>(estimate) - static_cast<double>(exact)) / static_cast<double>(exact);
    char pct[32];
    std::snprintf(pct, sizeof pct, "%+.2f%%", diff);
    notes.push_back(std::string(model_text) + ": " + std::to_string(s.model.file_tensors) + " tensors, " +
                    std::to_string(exact) + " bytes and " + std::to_string(s.model.parameters()) +
                    " parameters in the file; the plan prices " + s.weights.label + " at " + std::to_string(estimate) +
                    " bytes (" + pct + ")");
  }
  for (const auto& n : s.model.file_notes) notes.push_back(std::string(model_text) + ": " + n);

  qmath::plan& p = s.plan;
  p.model = a;
  p.weights = s.weights.recipe;
  p.runtime = *s.runtime;

  // KV cache
  if (training && (!o.kv.empty() || !o.kv_k.empty() || !o.kv_v.empty()))
    throw usage_error("--kv: training keeps no KV cache (it is an inference setting)");
  // default: f16 for llama.cpp (its default cache type), else the checkpoint's 16-bit dtype
  const std::string base_kv = !is_gguf_runtime(*s.runtime) && a.checkpoint_dtype == qmath::format_id::bf16 ? "bf16" : "f16";
  const std::string k = !o.kv_k.empty() ? o.kv_k : (!o.kv.empty() ? o.kv : base_kv);
  const std::string v = !o.kv_v.empty() ? o.kv_v : (!o.kv.empty() ? o.kv : k);
  const auto kf = parse_kv(o.kv_k.empty() ? "--kv" : "--kv-k", k, *s.runtime);
  const auto vf = parse_kv(o.kv_v.empty() ? "--kv" : "--kv-v", v, *s.runtime);
  s.kv_k_label = std::string(kf.name);
  s.kv_v_label = std::string(vf.name);
  p.kv_type = kf;

  // sequences and context (llama-server: -c is the whole cache over -np sequences)
  std::uint64_t batch = o.batch.value_or(1);
  if (o.n_parallel) {
    if (!is_gguf_runtime(*s.runtime)) throw usage_error("--parallel is llama.cpp's flag; use --batch with " + std::string(s.runtime->name));
    if (o.batch && *o.batch != *o.n_parallel) throw usage_error("--batch and --parallel disagree; give one");
    batch = *o.n_parallel;
  }
  std::uint64_t context = o.context.value_or(training ? 2048 : 8192);
  if (o.n_parallel && o.context) {
    if (*o.context < batch) throw usage_error("--ctx-size " + std::to_string(*o.context) + " is less than one cell per --parallel sequence");
    context = *o.context / batch;  // llama.cpp n_ctx_seq = n_ctx / n_seq_max
    notes.push_back("llama.cpp splits --ctx-size " + std::to_string(*o.context) + " over " + std::to_string(batch) +
                    " sequences: " + std::to_string(context) + " tokens each");
  }
  if (!o.context && a.max_context != 0 && context > a.max_context) {
    context = a.max_context;
    s.context_defaulted = true;
    notes.push_back("context " + std::to_string(context) + ", " + std::string(a.name) + "'s longest (--context to change)");
  }
  const bool above_trained = a.kind == qmath::models::model_kind::decoder && !training && a.max_context != 0 &&
                             context > a.max_context;
  if (above_trained && is_gguf_runtime(*s.runtime))
    notes.push_back("context " + std::to_string(context) + " is above the " + std::to_string(a.max_context) + " tokens " +
                    std::string(a.name) + " was trained on: llama.cpp allocates it and warns");
  else if (above_trained)
    throw usage_error("--context " + std::to_string(context) + " exceeds " + std::string(a.name) + "'s " +
                      std::to_string(a.max_context) + " positions");
  if (a.kind == qmath::models::model_kind::encoder && a.max_context != 0 && context > a.max_context)
    throw usage_error("--context " + std::to_string(context) + " exceeds " + std::string(a.name) + "'s " +
                      std::to_string(a.max_context) + " positions");
  p.batch = static_cast<std::uint32_t>(batch);
  p.context = context;
  if (is_gguf_runtime(*s.runtime)) {
    // llama-server's context flags (plan.llama: llama_context_params)
    p.llama.allow_above_trained_context = above_trained;
    if (o.n_batch) p.llama.n_batch = static_cast<std::uint32_t>(*o.n_batch);
    if (o.ubatch) p.llama.n_ubatch = static_cast<std::uint32_t>(*o.ubatch);
    if (o.kv_unified) p.llama.kv_unified = true;
    if (o.swa_full) p.llama.swa_full = true;
    if (vf.id != kf.id) p.llama.type_v = vf.id;
    if (o.flash_attention_given)
      p.llama.flash_attn = o.flash_attention == switch_t::on    ? qmath::llama_cpp::flash_attn::on
                           : o.flash_attention == switch_t::off ? qmath::llama_cpp::flash_attn::off
                                                                : qmath::llama_cpp::flash_attn::automatic;
  }

  if (o.gpu_layers) {
    if (training) throw usage_error("--gpu-layers: training keeps every layer on the GPU (use --offload)");
    p.gpu_layers = *o.gpu_layers > a.layers ? qmath::all_layers : static_cast<std::uint32_t>(*o.gpu_layers);
  }

  // multi-GPU layout
  if (o.zero > 0 && o.fsdp) throw usage_error("--zero and --fsdp are two names for sharding; give one");
  p.parallel.data = static_cast<std::uint32_t>(o.gpus);
  p.parallel.tensor = static_cast<std::uint32_t>(o.tp);
  p.parallel.pipeline = static_cast<std::uint32_t>(o.pp);
  p.parallel.zero = o.fsdp ? qmath::zero_stage::parameters : static_cast<qmath::zero_stage>(o.zero);
  if (training && o.offload) p.parallel.offload_optimizer = true;
  if (!training && o.offload)
    throw usage_error("--offload is ZeRO-Offload for training; for inference give --gpu-layers N (a plan that does not "
                      "fit shows the most layers that do)");
  if ((o.zero > 0 || o.fsdp) && !training) throw usage_error("--zero / --fsdp shard training state; --mode is inference");
  if (p.parallel.tensor > a.heads)
    throw usage_error("--tp " + std::to_string(o.tp) + " exceeds " + std::string(a.name) + "'s " + std::to_string(a.heads) + " attention heads");
  if (p.parallel.pipeline > a.layers)
    throw usage_error("--pp " + std::to_string(o.pp) + " exceeds " + std::string(a.name) + "'s " + std::to_string(a.layers) + " layers");

  // training
  if (!training) {
    for (const char* f : {"--lora-rank", "--lora-alpha", "--lora-targets", "--optimizer", "--grad-checkpointing",
                          "--grad-accum", "--tokens", "--zero", "--fsdp"})
      if (was_given(o, f)) throw usage_error(std::string(f) + " is a training setting: add --mode full, lora or qlora");
    if (o.gpus > 1) throw usage_error("--gpus is data parallelism for training; for inference use --tp or --pp");
  } else {
    for (const char* f : {"--requests", "--ubatch", "--gpu-layers", "--parallel", "--kv-unified", "--swa-full",
                          "--flash-attention"})
      if (was_given(o, f)) throw usage_error(std::string(f) + " is an inference setting; --mode is " + s.mode_label);
    qmath::training_config t;
    t.method = o.mode == mode_t::full   ? qmath::finetune_method::full
               : o.mode == mode_t::lora ? qmath::finetune_method::lora
                                        : qmath::finetune_method::qlora;
    const auto opt = parse_optimizer(o.optimizer.empty() ? "adamw" : o.optimizer);
    t.optimizer = opt.kind;
    s.optimizer_label = opt.label;
    t.gradient_checkpointing = o.grad_checkpointing;
    t.gradient_accumulation_steps = static_cast<std::uint32_t>(o.grad_accum);
    using kind = qmath::weight_recipe::kind_t;
    if (o.mode == mode_t::qlora && p.weights.kind != kind::bnb_4bit)
      throw usage_error("--mode qlora trains on a bitsandbytes 4-bit base: --weights nf4, nf4-dq, fp4 or fp4-dq");
    if (o.mode == mode_t::full) {
      const bool floating = p.weights.kind == kind::checkpoint ||
                            (p.weights.kind == kind::uniform &&
                             p.weights.matrices.family == qmath::format_family::floating_point &&
                             p.weights.matrices.block_bits >= 16);
      if (!floating) throw usage_error("--mode full trains every weight: --weights checkpoint, bf16, f16 or f32");
      if (p.weights.kind == kind::uniform && p.weights.matrices.id == qmath::format_id::f32) {
        t.compute_dtype = qmath::format_id::f32;
        t.master_weights = false;
      } else if (p.weights.kind == kind::uniform && p.weights.matrices.id == qmath::format_id::f16) {
        t.compute_dtype = qmath::format_id::f16;
      }
    }
    if (o.mode == mode_t::lora && p.weights.kind != kind::checkpoint &&
        !(p.weights.kind == kind::uniform && p.weights.matrices.family == qmath::format_family::floating_point))
      throw usage_error("--mode lora trains on a 16-bit base; for a 4-bit base use --mode qlora");
    if (o.mode != mode_t::full) {
      lora_choice lc = o.lora_targets.empty() ? peft_default_targets(s.model) : parse_lora_targets(o.lora_targets, s.model);
      t.lora.targets = lc.targets;
      t.lora.fused_qkv = lc.fused_qkv;
      t.lora.rank = static_cast<std::uint32_t>(o.lora_rank.value_or(8));
      s.lora_label = lc.label;
    } else {
      for (const char* f : {"--lora-rank", "--lora-alpha", "--lora-targets"})
        if (was_given(o, f)) throw usage_error(std::string(f) + " needs --mode lora or qlora");
    }
    p.training = t;
  }
  try {
    (void)qmath::validate(p);
    if (p.is_llama_cpp() && !training) (void)qmath::estimate(p, qmath::devices::cpu_128gb);  // llama.cpp's own checks
  } catch (const qmath::error& e) {
    std::string line = e.what();
    for (std::size_t at; (at = line.find(": : ")) != std::string::npos;) line.erase(at, 2);
    throw usage_error(line);
  }
  return s;
}

// ---- per-device answers ------------------------------------------------------------

inline std::optional<qmath::compute_type> speed_type(const qmath::device& d) {
  if (d.fp16_tflops > 0) return qmath::compute_type::fp16;
  if (d.bf16_tflops > 0) return qmath::compute_type::bf16;
  return std::nullopt;
}

struct speeds {
  std::optional<double> decode, prefill;
};

// Roofline decode (one step at `context` tokens) and prefill (a prompt of
// `prompt` tokens) speeds of a plan that fits the device.
inline speeds plan_speeds(const qmath::plan& p, const qmath::device& d, std::uint64_t context, std::uint64_t prompt) {
  speeds s;
  const auto type = speed_type(d);
  if (!type || d.memory_bandwidth_gbps <= 0) return s;
  const auto& a = p.model;
  const double weights = static_cast<double>(qmath::weight_bytes(a, p.weights).total());
  const double share = static_cast<double>(a.active_parameters()) / static_cast<double>(a.parameters());
  qmath::plan at = p;
  at.context = std::max<std::uint64_t>(context, 1);
  at.batch = p.batch;
  at.training.reset();
  const auto e = qmath::estimate(at, d);
  const double kv_per_seq = static_cast<double>(e.gpu.kv_cache + e.host.kv_cache) / p.batch;
  const double qdim = static_cast<double>(a.q_dim());
  const double active = static_cast<double>(a.active_parameters());
  if (a.kind == qmath::models::model_kind::decoder)
    s.decode = qmath::decode_speed(d,
                                 {.weight_bytes = weights * share,
                                  .kv_bytes_per_sequence = kv_per_seq,
                                  .active_params = active,
                                  .attention_flops_per_token = qmath::attention_flops_per_token(a.layers, qdim, static_cast<double>(context)),
                                  .batch = p.batch},
                                 *type)
                 .tokens_per_second;
  s.prefill = qmath::prefill_speed(d,
                                   {.weight_bytes = weights * share,
                                    .active_params = active,
                                    .prompt_tokens = static_cast<double>(std::max<std::uint64_t>(prompt, 1)),
                                    .attention_flops_per_token = qmath::attention_flops_per_token(a.layers, qdim, static_cast<double>(prompt) / 2)},
                                   *type)
                  .tokens_per_second;
  return s;
}

struct remedy {
  std::string what;
  std::int64_t saved = 0;  // bytes on one GPU (negative: costs memory but fixes another limit)
  bool fits_alone = false;
  bool more_devices = false;  // needs GPUs beyond this one: tried last in the combination
  std::function<void(qmath::plan&)> apply;
};

struct device_answer {
  qmath::device dev;
  qmath::plan_estimate est;
  std::uint64_t required = 0, usable = 0;
  bool fits = false;
  std::int64_t headroom = 0;
  std::uint64_t max_context = 0;
  std::uint32_t max_batch = 0;
  std::optional<std::uint32_t> max_gpu_layers;  // inference on a GPU that the plan does not fit
  speeds speed;
  std::optional<double> step_seconds, train_hours, cost_usd, job_hours;
  std::optional<std::uint32_t> instances;
  std::vector<remedy> remedies;
  std::vector<std::string> combination;
  std::optional<std::uint64_t> combination_total;
  std::optional<recipe_choice> best_format;
  struct format_row {
    std::string label;
    double bits = 0;
    std::uint64_t weights = 0, total = 0;
    bool fits = false;
  };
  std::vector<format_row> formats;  // --best-format: every candidate, most bits first
  std::string why_not;  // a limit other than memory (accelerators, host RAM)
};

inline bool host_runs(const qmath::device& d) {
  return d.kind == qmath::device_kind::cpu_ram ||
         (d.kind == qmath::device_kind::cloud_instance && !qmath::has_gpu_context(d));
}

// The runtime's weight recipes for --best-format and the smaller-format remedy, most bits first.
inline std::vector<qmath::weight_recipe> candidate_recipes(const qmath::plan& p) {
  std::vector<qmath::weight_recipe> out;
  if (is_gguf_runtime(p.runtime)) {
    for (const auto& f : ftype_names)
      if (f.type != qmath::gguf_ftype::all_f32) out.push_back(qmath::weight_recipe::gguf(f.type));
  } else if (p.training && p.training->method == qmath::finetune_method::qlora) {
    out = {qmath::weight_recipe::bnb_4bit(qmath::bnb_4bit_info(qmath::format_id::bnb_nf4, 64, false), qmath::format_id::bf16),
           qmath::weight_recipe::bnb_4bit(qmath::bnb_4bit_info(qmath::format_id::bnb_nf4, 64, true), qmath::format_id::bf16)};
  } else if (p.training) {
    out = {qmath::weight_recipe::checkpoint()};
  } else {
    out.push_back(qmath::weight_recipe::uniform(qmath::info(qmath::format_id::f32), qmath::info(qmath::format_id::f32)));
    out.insert(out.end(), qmath::transformers_recipes.begin(), qmath::transformers_recipes.end());
    out.push_back(qmath::weight_recipe::bnb_4bit(qmath::bnb_4bit_info(qmath::format_id::bnb_nf4, 64, false), qmath::format_id::bf16));
    out.push_back(qmath::weight_recipe::bnb_4bit(qmath::bnb_4bit_info(qmath::format_id::bnb_fp4, 64, false), qmath::format_id::bf16));
    out.push_back(qmath::weight_recipe::uniform(qmath::group_int4_info(qmath::format_id::gptq_int4), qmath::info(qmath::format_id::f16)));
  }
  // keep those the model's shapes allow
  std::vector<qmath::weight_recipe> ok;
  for (const auto& r : out) {
    try {
      (void)qmath::weight_bytes(p.model, r);
      ok.push_back(r);
    } catch (const qmath::error&) {
    }
  }
  // most bytes first; ties keep the list's order
  std::vector<std::pair<std::uint64_t, std::size_t>> order;
  for (std::size_t i = 0; i < ok.size(); ++i) order.emplace_back(qmath::weight_bytes(p.model, ok[i]).total(), i);
  std::sort(order.begin(), order.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first > y.first : x.second < y.second;
  });
  std::vector<qmath::weight_recipe> sorted;
  for (const auto& [bytes, i] : order) sorted.push_back(ok[i]);
  return sorted;
}

inline bool plan_fits(const qmath::plan& p, const qmath::device& d) {
  try {
    return qmath::fits(p, d);
  } catch (const qmath::error&) {
    return false;
  }
}

inline std::uint64_t plan_required(const qmath::plan& p, const qmath::device& d) { return qmath::required_bytes(p, d); }

inline std::string gib_text(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / static_cast<double>(qmath::gib));
  return buf;
}

inline std::vector<remedy> find_remedies(const qmath::plan& p, const qmath::device& d) {
  std::vector<remedy> out;
  const auto& a = p.model;
  const std::uint64_t before = plan_required(p, d);
  auto consider = [&](std::string what, std::function<void(qmath::plan&)> apply, bool more_devices = false) {
    qmath::plan q = p;
    apply(q);
    try {
      const std::uint64_t after = plan_required(q, d);
      remedy r{std::move(what), static_cast<std::int64_t>(before) - static_cast<std::int64_t>(after), plan_fits(q, d),
               more_devices, apply};
      if (r.saved > 0 || r.fits_alone) out.push_back(std::move(r));
    } catch (const qmath::error&) {
    }
  };
  const bool training = p.is_training();
  // a smaller weight format: the most accurate that fits alone, else the smallest
  {
    const auto cands = candidate_recipes(p);
    const std::uint64_t now = qmath::weight_bytes(a, p.weights).total();
    std::optional<qmath::weight_recipe> pick;
    for (const auto& r : cands) {
      if (qmath::weight_bytes(a, r).total() >= now) continue;
      qmath::plan q = p;
      q.weights = r;
      if (plan_fits(q, d)) {
        pick = r;
        break;
      }
    }
    if (!pick) {
      for (const auto& r : cands)
        if (qmath::weight_bytes(a, r).total() < now) pick = r;
    }
    if (pick) {
      const auto r = *pick;
      consider("weights " + recipe_label(r, a) + " instead of " + recipe_label(p.weights, a),
               [r](qmath::plan& q) { q.weights = r; });
    }
  }
  if (!training && a.kind == qmath::models::model_kind::decoder) {
    // a quantized KV cache
    if (is_gguf_runtime(p.runtime)) {
      const auto next = p.kv_type.block_bits * 1.0 / p.kv_type.block_elems > 8.5 ? qmath::format_id::q8_0 : qmath::format_id::q4_0;
      if (p.kv_type.id != qmath::format_id::q4_0) {
        const auto f = qmath::info(next);
        consider("KV cache " + std::string(f.name) + " (--kv " + std::string(f.name) + ")", [f](qmath::plan& q) {
          q.kv_type = f;
          q.llama.type_v.reset();
        });
      }
    } else if (p.runtime.name == "vllm" && p.kv_type.block_bits == 16) {
      const auto f = qmath::info(qmath::format_id::fp8_e4m3);
      consider("KV cache fp8 (--kv fp8)", [f](qmath::plan& q) { q.kv_type = f; });
    }
    // a shorter context
    const std::uint64_t longest = qmath::max_context(p, d);
    if (longest > 0 && longest < p.context)
      consider("context " + std::to_string(longest) + " instead of " + std::to_string(p.context),
               [longest](qmath::plan& q) { q.context = longest; });
    else if (p.context > 512)
      consider("context " + std::to_string(p.context / 2) + " instead of " + std::to_string(p.context),
               [](qmath::plan& q) { q.context /= 2; });
    // fewer sequences
    if (p.batch > 1) {
      const std::uint32_t b = std::max<std::uint32_t>(1, qmath::max_batch(p, d));
      if (b < p.batch)
        consider("batch " + std::to_string(b) + " instead of " + std::to_string(p.batch), [b](qmath::plan& q) { q.batch = b; });
    }
    // fewer GPU layers, the rest in host RAM
    if (!host_runs(d)) {
      const std::uint32_t n = qmath::max_gpu_layers(p, d);
      if (n != qmath::all_layers && n > 0)
        consider(std::to_string(n) + " of " + std::to_string(a.layers) + " layers on the GPU, the rest in host RAM (--gpu-layers " +
                     std::to_string(n) + "; slower)",
                 [n](qmath::plan& q) { q.gpu_layers = n; });
    }
    // more GPUs: tensor parallelism (discrete GPUs; an instance up to its count)
    if (d.kind == qmath::device_kind::gpu || (d.kind == qmath::device_kind::cloud_instance && d.count > 1)) {
      for (std::uint32_t t : {2u, 4u, 8u}) {
        if (t <= p.parallel.tensor || t > a.heads) continue;
        qmath::plan q = p;
        q.parallel.tensor = t;
        if (plan_fits(q, d) || t == 8) {
          consider(std::to_string(t) + " GPUs with tensor parallelism (--tp " + std::to_string(t) + ")",
                   [t](qmath::plan& r) { r.parallel.tensor = t; }, true);
          break;
        }
      }
    }
  }
  if (training) {
    const auto& t = *p.training;
    const std::uint64_t seq = p.context;
    if (seq > 256) {
      const std::uint64_t half = seq / 2;
      consider("sequence length " + std::to_string(half) + " instead of " + std::to_string(seq),
               [half](qmath::plan& q) { q.context = half; });
    }
    if (p.batch > 1) {
      const std::uint32_t b = std::max<std::uint32_t>(1, qmath::max_batch(p, d));
      const std::uint32_t nb = b < p.batch ? b : 1;
      const std::uint32_t was = p.batch * t.gradient_accumulation_steps;
      const std::uint32_t accum = (was + nb - 1) / nb;
      consider("batch " + std::to_string(nb) + " x accumulation " + std::to_string(accum) + " instead of " +
                   std::to_string(p.batch) + " x " + std::to_string(t.gradient_accumulation_steps) +
                   (nb * accum == was ? std::string(" (same effective batch)")
                                      : " (effective batch " + std::to_string(nb * accum) + ", was " + std::to_string(was) + ")"),
               [nb, accum](qmath::plan& q) {
                 q.batch = nb;
                 q.training->gradient_accumulation_steps = accum;
               });
    }
    if (!t.gradient_checkpointing)
      consider("gradient checkpointing (--grad-checkpointing; ~1/3 more compute)",
               [](qmath::plan& q) { q.training->gradient_checkpointing = true; });
    if (t.method != qmath::finetune_method::full && t.lora.rank > 4) {
      const std::uint32_t r = t.lora.rank / 2;
      consider("LoRA rank " + std::to_string(r) + " instead of " + std::to_string(t.lora.rank),
               [r](qmath::plan& q) { q.training->lora.rank = r; });
    }
    if (t.optimizer == qmath::optimizer_kind::adamw || t.optimizer == qmath::optimizer_kind::paged_adamw) {
      const bool paged = t.method == qmath::finetune_method::qlora;
      const auto k = paged ? qmath::optimizer_kind::paged_adamw_8bit : qmath::optimizer_kind::adamw_8bit;
      consider(std::string("8-bit optimizer (--optimizer ") + (paged ? "paged_adamw8bit" : "adamw8bit") + ")",
               [k](qmath::plan& q) { q.training->optimizer = k; });
    }
    if (!p.parallel.offload_optimizer && t.optimizer != qmath::optimizer_kind::sgd)
      consider("ZeRO-Offload: optimizer state, master weights and gradients in host RAM (--offload)",
               [](qmath::plan& q) { q.parallel.offload_optimizer = true; });
    if (d.kind == qmath::device_kind::gpu || (d.kind == qmath::device_kind::cloud_instance && d.count > 1)) {
      for (std::uint32_t n : {2u, 4u, 8u, 16u}) {
        if (n <= p.parallel.data) continue;
        qmath::plan q = p;
        q.parallel.data = n;
        q.parallel.zero = qmath::zero_stage::parameters;
        if (plan_fits(q, d) || n == 16) {
          consider(std::to_string(n) + " GPUs with ZeRO-3 / FSDP (--gpus " + std::to_string(n) + " --zero 3)",
                   [n](qmath::plan& r) {
                     r.parallel.data = n;
                     r.parallel.zero = qmath::zero_stage::parameters;
                   },
                   true);
          break;
        }
      }
    }
  }
  // most bytes saved first; ties keep the order above
  std::vector<std::size_t> idx(out.size());
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](std::size_t x, std::size_t y) {
    return out[x].saved != out[y].saved ? out[x].saved > out[y].saved : x < y;
  });
  std::vector<remedy> sorted;
  for (const auto i : idx) sorted.push_back(out[i]);
  return sorted;
}

inline device_answer answer_device(const options& o, const setup& s, const qmath::device& d) {
  device_answer r;
  r.dev = d;
  const qmath::plan& p = s.plan;
  r.est = qmath::estimate(p, d);
  r.required = r.est.gpu.total();
  r.usable = qmath::available_bytes(p, d);
  r.fits = qmath::fits(p, d);
  r.headroom = static_cast<std::int64_t>(r.usable) - static_cast<std::int64_t>(r.required);
  if (!r.fits) {
    if (d.kind == qmath::device_kind::cloud_instance && r.est.gpus > d.count)
      r.why_not = "needs " + std::to_string(r.est.gpus) + " GPUs, the instance has " + std::to_string(d.count);
    else if (d.host_ram_bytes != 0 && r.est.host.total() > d.host_ram_bytes)
      r.why_not = "host RAM: needs " + gib_text(static_cast<double>(r.est.host.total())) + " of " +
                  gib_text(static_cast<double>(d.host_ram_bytes));
  }
  r.max_context = qmath::max_context(p, d);
  r.max_batch = qmath::max_batch(p, d);
  const bool training = p.is_training();
  if (!training && !r.fits && !host_runs(d)) {
    const std::uint32_t n = qmath::max_gpu_layers(p, d);
    if (n != qmath::all_layers) r.max_gpu_layers = n;
  }
  if (r.fits && !training) {
    r.speed = plan_speeds(p, d, p.context, o.requests ? o.prompt_tokens : std::min<std::uint64_t>(p.context, 512));
    if (o.requests && r.speed.decode && r.speed.prefill) {
      // a batch job: every prompt read, then `batch` sequences decoded together
      const qmath::plan job = [&] {
        qmath::plan q = p;
        q.context = std::min<std::uint64_t>(p.context, o.prompt_tokens + o.output_tokens);
        return q;
      }();
      const auto js = plan_speeds(job, d, o.prompt_tokens + o.output_tokens / 2, o.prompt_tokens);
      const double n = static_cast<double>(*o.requests);
      const double seconds = n * static_cast<double>(o.prompt_tokens) / *js.prefill +
                             n * static_cast<double>(o.output_tokens) / *js.decode;
      r.job_hours = seconds / 3600.0;
      if (d.usd_per_hour > 0) r.cost_usd = qmath::cost_usd(d, seconds);
    }
  }
  if (training && speed_type(d)) {
    const auto& t = *p.training;
    const double params = static_cast<double>(p.model.active_parameters());
    const std::uint32_t gpus = p.parallel.gpus();
    const double step_tokens = static_cast<double>(p.batch) * static_cast<double>(p.context) *
                               t.gradient_accumulation_steps * p.parallel.data;
    const auto type = d.bf16_tflops > 0 ? qmath::compute_type::bf16 : *speed_type(d);
    r.step_seconds = qmath::training_time(d, {params, step_tokens, t.gradient_checkpointing}, gpus, type).seconds;
    if (o.tokens) {
      const auto te = qmath::training_time(d, {params, static_cast<double>(*o.tokens), t.gradient_checkpointing}, gpus, type);
      r.train_hours = te.seconds / 3600.0;
      r.instances = te.instances;
      if (d.usd_per_hour > 0) r.cost_usd = te.usd;
    }
  }
  if (!r.fits) {
    r.remedies = find_remedies(p, d);
    // the remedies in their order, this device's own first, more GPUs last
    std::vector<const remedy*> order;
    for (const auto& rem : r.remedies)
      if (!rem.more_devices) order.push_back(&rem);
    for (const auto& rem : r.remedies)
      if (rem.more_devices) order.push_back(&rem);
    qmath::plan q = p;
    for (const remedy* rem : order) {
      rem->apply(q);
      r.combination.push_back(rem->what);
      if (plan_fits(q, d)) {
        r.combination_total = plan_required(q, d);
        break;
      }
    }
    if (!r.combination_total) r.combination.clear();
  }
  if (o.best_format) {
    const auto cands = candidate_recipes(p);
    for (const auto& c : cands) {
      qmath::plan q = p;
      q.weights = c;
      const bool ok = plan_fits(q, d);
      const auto w = qmath::weight_bytes(p.model, c);
      r.formats.push_back({recipe_label(c, p.model), w.bits_per_weight(), w.total(), plan_required(q, d), ok});
      if (ok && !r.best_format) r.best_format = recipe_choice{c, recipe_label(c, p.model)};
    }
  }
  return r;
}

}  // namespace qmath_plan

#pragma once
// Printing the answers: the readable table (bytes, GiB and GB side by side,
// since people mix them up) and the JSON object (every byte count an integer,
// null where a value does not apply).

#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compute.hpp"

namespace qmath_plan {

inline std::string thousands(std::uint64_t v) {
  std::string digits = std::to_string(v), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

inline std::string fixed(double v, int places) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", places, v);
  return buf;
}

inline std::string gib2(std::uint64_t b) { return fixed(qmath::to_gib(b), 2); }
inline std::string gib_signed(std::int64_t b) {
  return fixed(static_cast<double>(b) / static_cast<double>(qmath::gib), 2);
}

inline std::string speed_text(const std::optional<double>& v) {
  if (!v) return "-";
  return *v >= 100 ? fixed(*v, 0) : fixed(*v, 1);
}

inline std::string hours_text(double h) {
  if (h < 1.0 / 60) return fixed(h * 3600, 0) + " s";
  if (h < 1) return fixed(h * 60, 1) + " min";
  return fixed(h, h < 10 ? 2 : 1) + " h";
}

struct run_result {
  std::vector<setup> setups;                 // [0] is --model; the rest --together
  std::vector<qmath::device> devices;
  std::vector<device_answer> answers;        // for setups[0], one per device
  std::vector<std::string> notes;
  std::optional<std::size_t> cheapest;       // index into answers
  std::string cheapest_basis;
  // --together: per device, each model's footprint
  std::vector<std::vector<std::uint64_t>> together_bytes;
  std::vector<bool> together_fits;
  std::vector<std::optional<std::pair<std::string, std::uint64_t>>> together_instead;  // --model's recipe that fits beside
};

inline std::string settings_line(const setup& s) {
  const auto& p = s.plan;
  const double bits = qmath::weight_bytes(p.model, p.weights).bits_per_weight();
  std::string line = s.weights.label + " (" + fixed(bits, 2) + " bits/weight)";
  if (!p.is_training()) {
    if (p.model.kind == qmath::models::model_kind::decoder)
      line += ", KV cache " + (s.kv_k_label == s.kv_v_label ? s.kv_k_label : s.kv_k_label + "/" + s.kv_v_label);
    line += ", context " + std::to_string(p.context) + ", batch " + std::to_string(p.batch);
    if (p.gpu_layers != qmath::all_layers) line += ", " + std::to_string(p.gpu_layers) + " GPU layers";
    if (p.parallel.tensor > 1) line += ", tensor parallel " + std::to_string(p.parallel.tensor);
    if (p.parallel.pipeline > 1) line += ", pipeline " + std::to_string(p.parallel.pipeline);
  } else {
    const auto& t = *p.training;
    line += ", sequence " + std::to_string(p.context) + ", batch " + std::to_string(p.batch) + " x accumulation " +
            std::to_string(t.gradient_accumulation_steps);
    if (t.method != qmath::finetune_method::full)
      line += ", LoRA r=" + std::to_string(t.lora.rank) + " on " + s.lora_label;
    line += ", " + s.optimizer_label;
    if (t.gradient_checkpointing) line += ", gradient checkpointing";
    if (p.parallel.data > 1) line += ", " + std::to_string(p.parallel.data) + " GPUs";
    if (p.parallel.zero != qmath::zero_stage::none) line += ", ZeRO-" + std::to_string(static_cast<int>(p.parallel.zero));
    if (p.parallel.offload_optimizer) line += ", optimizer offload";
    if (p.parallel.tensor > 1) line += ", tensor parallel " + std::to_string(p.parallel.tensor);
    if (p.parallel.pipeline > 1) line += ", pipeline " + std::to_string(p.parallel.pipeline);
  }
  return line;
}

inline std::uint64_t trainable_count(const setup& s) {
  if (!s.plan.is_training()) return 0;
  return qmath::trainable_parameters(s.plan.model, *s.plan.training);
}

inline void print_memory(const setup& s, const device_answer& a) {
  const auto& m = a.est.gpu;
  const bool training = s.plan.is_training();
  const bool llama = is_gguf_runtime(s.plan.runtime);
  std::printf("\nmemory per GPU on %.*s%s\n", static_cast<int>(a.dev.name.size()), a.dev.name.data(),
              host_runs(a.dev) ? " (all in RAM)" : "");
  std::printf("  %-34s %18s %10s %10s\n", "", "bytes", "GiB", "GB");
  auto row = [](const char* label, std::uint64_t b) {
    std::printf("  %-34s %18s %10s %10s\n", label, thousands(b).c_str(), gib2(b).c_str(), fixed(qmath::to_gb(b), 2).c_str());
  };
  auto dash = [](const char* label) { std::printf("  %-34s %18s\n", label, "-"); };
  row("weights", m.weights);
  if (m.adapters) row("LoRA adapters", m.adapters);
  if (!training && s.plan.model.kind == qmath::models::model_kind::decoder) row("KV cache", m.kv_cache);
  else dash("KV cache");
  row(training ? "activations" : (llama ? "compute buffer (activations)" : "activations"), m.activations);
  if (training) {
    row("gradients", m.gradients);
    row("optimizer state", m.optimizer);
    if (m.master_weights) row("fp32 master weights", m.master_weights);
  } else {
    dash("gradients");
    dash("optimizer state");
  }
  row("runtime overhead", m.overhead);
  row("total", m.total());
  if (a.est.host.total()) row("host RAM (CPU-side tensors)", a.est.host.total());
}

inline void print_devices(const setup& s, const run_result& r, const options& o) {
  const bool training = s.plan.is_training();
  std::printf("\n%-40s %9s %9s %-4s %9s %8s %6s", "device", "usable", "needs", "fits", "headroom", "max", "max");
  if (training) std::printf(" %9s %9s %9s\n", "step", "--tokens", "cost");
  else if (o.requests) std::printf(" %8s %8s %9s %9s\n", "decode", "prefill", "job", "cost");
  else std::printf(" %8s %8s\n", "decode", "prefill");
  std::printf("%-40s %9s %9s %-4s %9s %8s %6s", "", "GiB", "GiB", "", "GiB", training ? "seq" : "context", "batch");
  if (training) std::printf(" %9s %9s %9s\n", "seconds", "hours", "USD");
  else if (o.requests) std::printf(" %8s %8s %9s %9s\n", "tok/s", "tok/s", "hours", "USD");
  else std::printf(" %8s %8s\n", "tok/s", "tok/s");
  for (std::size_t i = 0; i < r.answers.size(); ++i) {
    const auto& a = r.answers[i];
    std::string name(a.dev.name);
    if (name.size() > 40) name = name.substr(0, 39) + "~";
    std::string ctx = std::to_string(a.max_context);
    if (!a.fits && a.max_context == 0 && a.max_gpu_layers) ctx = std::to_string(*a.max_gpu_layers) + "/" + std::to_string(s.plan.model.layers) + "L";
    std::printf("%-40s %9s %9s %-4s %9s %8s %6s", name.c_str(), gib2(a.usable).c_str(), gib2(a.required).c_str(),
                a.fits ? "yes" : "no", gib_signed(a.headroom).c_str(), ctx.c_str(), std::to_string(a.max_batch).c_str());
    const std::string cost = a.cost_usd ? fixed(*a.cost_usd, 2) : "-";
    if (training) {
      std::printf(" %9s %9s %9s", a.step_seconds ? fixed(*a.step_seconds, 2).c_str() : "-",
                  a.train_hours ? fixed(*a.train_hours, 2).c_str() : "-", cost.c_str());
    } else {
      std::printf(" %8s %8s", speed_text(a.speed.decode).c_str(), speed_text(a.speed.prefill).c_str());
      if (o.requests) std::printf(" %9s %9s", a.job_hours ? fixed(*a.job_hours, 2).c_str() : "-", cost.c_str());
    }
    if (r.cheapest && *r.cheapest == i) std::printf("  <- cheapest");
    std::printf("\n");
  }
}

inline void print_table(const options& o, const run_result& r) {
  const setup& s = r.setups.front();
  const auto& a = s.plan.model;
  std::printf("%.*s: %s parameters (%.2f B)", static_cast<int>(a.name.size()), a.name.data(),
              thousands(s.model.parameters()).c_str(), static_cast<double>(s.model.parameters()) / 1e9);
  if (a.is_moe()) std::printf(", %s active", thousands(a.active_parameters()).c_str());
  if (s.plan.is_training()) std::printf(", %s trainable", thousands(trainable_count(s)).c_str());
  std::printf("\n%s with %.*s: %s\n", s.mode_label.c_str(), static_cast<int>(s.plan.runtime.name.size()),
              s.plan.runtime.name.data(), settings_line(s).c_str());
  for (const auto& n : r.notes) std::printf("note: %s\n", n.c_str());
  if (!r.answers.empty() && r.answers.size() <= 8) print_memory(s, r.answers.front());
  else if (!r.answers.empty()) print_memory(s, r.answers.front());
  print_devices(s, r, o);
  if (o.requests)
    std::printf("job: %s requests of %" PRIu64 " prompt + %" PRIu64 " output tokens, %u at a time\n",
                thousands(*o.requests).c_str(), o.prompt_tokens, o.output_tokens, s.plan.batch);
  if (s.plan.is_training() && o.tokens)
    std::printf("training: %s tokens; step = batch x sequence x accumulation x GPUs = %s tokens\n",
                thousands(*o.tokens).c_str(),
                thousands(std::uint64_t{s.plan.batch} * s.plan.context * s.plan.training->gradient_accumulation_steps *
                          s.plan.parallel.data)
                    .c_str());
  if (o.best_format && r.answers.size() <= 4) {
    for (const auto& ans : r.answers) {
      std::printf("\nweight formats on %.*s (most bits first)\n", static_cast<int>(ans.dev.name.size()), ans.dev.name.data());
      std::printf("  %-18s %7s %12s %12s  %s\n", "weights", "bits/w", "weights GiB", "total GiB", "fits");
      for (const auto& f : ans.formats)
        std::printf("  %-18s %7.2f %12s %12s  %s\n", f.label.c_str(), f.bits, gib2(f.weights).c_str(), gib2(f.total).c_str(),
                    f.fits ? "yes" : "no");
    }
  }
  if (o.best_format) {
    std::printf("\nmost accurate weight format that fits (most bits per weight):\n");
    for (const auto& ans : r.answers)
      std::printf("  %-40.*s %s\n", static_cast<int>(std::min<std::size_t>(ans.dev.name.size(), 40)), ans.dev.name.data(),
                  ans.best_format ? ans.best_format->label.c_str() : "none fits");
  }
  if (o.cheapest) {
    if (r.cheapest)
      std::printf("\ncheapest: %.*s (%s)\n", static_cast<int>(r.answers[*r.cheapest].dev.name.size()),
                  r.answers[*r.cheapest].dev.name.data(), r.cheapest_basis.c_str());
    else
      std::printf("\ncheapest: no priced instance fits\n");
  }
  if (r.setups.size() > 1) {
    std::printf("\ntogether on one device, each model its own process:\n");
    for (std::size_t m = 0; m < r.setups.size(); ++m)
      std::printf("  %-28.*s %s with %.*s\n", static_cast<int>(r.setups[m].plan.model.name.size()),
                  r.setups[m].plan.model.name.data(), r.setups[m].weights.label.c_str(),
                  static_cast<int>(r.setups[m].plan.runtime.name.size()), r.setups[m].plan.runtime.name.data());
    for (std::size_t i = 0; i < r.devices.size(); ++i) {
      std::uint64_t sum = 0;
      std::string parts;
      for (const auto b : r.together_bytes[i]) {
        sum += b;
        parts += (parts.empty() ? "" : " + ") + gib2(b);
      }
      std::printf("  %-40.*s %s = %s GiB of %s GiB: %s\n",
                  static_cast<int>(std::min<std::size_t>(r.devices[i].name.size(), 40)), r.devices[i].name.data(),
                  parts.c_str(), gib2(sum).c_str(), gib2(r.devices[i].usable_bytes).c_str(),
                  r.together_fits[i] ? "fits" : "does not fit");
      if (!r.together_fits[i] && r.together_instead[i])
        std::printf("  %-40s instead: %.*s in %s fits beside the others (%s GiB together)\n", "",
                    static_cast<int>(r.setups[0].plan.model.name.size()), r.setups[0].plan.model.name.data(),
                    r.together_instead[i]->first.c_str(), gib2(r.together_instead[i]->second).c_str());
    }
  }
  for (const auto& ans : r.answers) {
    if (ans.fits || r.answers.size() > 8) continue;
    std::printf("\ndoes not fit %.*s: needs %s GiB, %s GiB usable%s\n", static_cast<int>(ans.dev.name.size()),
                ans.dev.name.data(), gib2(ans.required).c_str(), gib2(ans.usable).c_str(),
                ans.why_not.empty() ? "" : ("; " + ans.why_not).c_str());
    if (ans.remedies.empty()) {
      std::printf("  no remedy found\n");
      continue;
    }
    std::printf("  remedies, most memory saved first:\n");
    for (const auto& rem : ans.remedies)
      std::printf("  %10s GiB  %s%s\n", gib_signed(rem.saved).c_str(), rem.what.c_str(), rem.fits_alone ? "  [fits alone]" : "");
    if (ans.combination_total) {
      std::printf("  first combination that fits (%s GiB):\n", gib2(*ans.combination_total).c_str());
      for (const auto& step : ans.combination) std::printf("    %s\n", step.c_str());
    } else {
      std::printf("  no combination of these fits\n");
    }
  }
}

inline nlohmann::ordered_json opt_num(const std::optional<double>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

inline nlohmann::ordered_json to_json(const options& o, const run_result& r) {
  using J = nlohmann::ordered_json;
  const setup& s = r.setups.front();
  const auto& p = s.plan;
  const auto& a = p.model;
  const bool training = p.is_training();
  J out;
  out["model"] = {{"name", std::string(a.name)},
                  {"params", s.model.parameters()},
                  {"file", s.model.format ? J(s.model.origin) : J(nullptr)},
                  {"file_weight_bytes", s.model.file_weight_bytes ? J(*s.model.file_weight_bytes) : J(nullptr)},
                  {"active_params", a.active_parameters()},
                  {"trainable_params", training ? J(trainable_count(s)) : J(nullptr)}};
  J settings;
  settings["mode"] = s.mode_label;
  settings["runtime"] = std::string(p.runtime.name);
  settings["weights"] = s.weights.label;
  settings["weight_bytes"] = qmath::weight_bytes(a, p.weights).total();
  const bool kv = !training && a.kind == qmath::models::model_kind::decoder;
  settings["kv_k"] = kv ? J(s.kv_k_label) : J(nullptr);
  settings["kv_v"] = kv ? J(s.kv_v_label) : J(nullptr);
  settings["context"] = p.context;
  settings["batch"] = p.batch;
  settings["gpu_layers"] = p.gpu_layers == qmath::all_layers ? J("all") : J(p.gpu_layers);
  if (p.is_llama_cpp() && !training) {
    const char* fa = p.llama.flash_attn == qmath::llama_cpp::flash_attn::on    ? "on"
                     : p.llama.flash_attn == qmath::llama_cpp::flash_attn::off ? "off"
                                                                               : "auto";
    settings["llama_cpp"] = {{"n_ctx", p.context * p.batch},
                             {"n_batch", p.llama.n_batch},
                             {"n_ubatch", p.llama.n_ubatch},
                             {"n_seq_max", p.batch},
                             {"kv_unified", p.llama.kv_unified},
                             {"type_k", std::string(p.kv_type.name)},
                             {"type_v", std::string(qmath::info(p.llama.type_v.value_or(p.kv_type.id)).name)},
                             {"flash_attn", fa},
                             {"swa_full", p.llama.swa_full},
                             {"n_gpu_layers", p.gpu_layers == qmath::all_layers ? J(-1) : J(p.gpu_layers)}};
  } else {
    settings["llama_cpp"] = nullptr;
  }
  settings["tensor_parallel"] = p.parallel.tensor;
  settings["pipeline_parallel"] = p.parallel.pipeline;
  if (training) {
    const auto& t = *p.training;
    settings["optimizer"] = s.optimizer_label;
    settings["grad_checkpointing"] = t.gradient_checkpointing;
    settings["grad_accum"] = t.gradient_accumulation_steps;
    settings["gpus"] = p.parallel.data;
    settings["zero"] = static_cast<int>(p.parallel.zero);
    settings["offload"] = p.parallel.offload_optimizer;
    if (t.method != qmath::finetune_method::full) {
      settings["lora_rank"] = t.lora.rank;
      settings["lora_alpha"] = o.lora_alpha ? J(*o.lora_alpha) : J(nullptr);
      settings["lora_targets"] = s.lora_label;
    }
    settings["tokens"] = o.tokens ? J(*o.tokens) : J(nullptr);
  } else {
    settings["requests"] = o.requests ? J(*o.requests) : J(nullptr);
    settings["prompt_tokens"] = o.requests ? J(o.prompt_tokens) : J(nullptr);
    settings["output_tokens"] = o.requests ? J(o.output_tokens) : J(nullptr);
  }
  out["settings"] = settings;
  if (!r.answers.empty()) {
    const auto& m = r.answers.front().est.gpu;
    J mem;
    mem["device"] = std::string(r.answers.front().dev.id);
    mem["weights"] = m.weights;
    mem["kv_cache"] = kv ? J(m.kv_cache) : J(nullptr);
    mem["activations"] = m.activations;
    mem["gradients"] = training ? J(m.gradients) : J(nullptr);
    mem["optimizer"] = training ? J(m.optimizer) : J(nullptr);
    mem["master_weights"] = training ? J(m.master_weights) : J(nullptr);
    mem["adapters"] = training && m.adapters ? J(m.adapters) : J(nullptr);
    mem["overhead"] = m.overhead;
    mem["total"] = m.total();
    mem["host"] = r.answers.front().est.host.total();
    out["memory"] = mem;
  } else {
    out["memory"] = nullptr;
  }
  J devices = J::array();
  J remedies = J::array();
  for (std::size_t i = 0; i < r.answers.size(); ++i) {
    const auto& d = r.answers[i];
    J e;
    e["id"] = std::string(d.dev.id);
    e["name"] = std::string(d.dev.name);
    e["memory_bytes"] = d.dev.memory_bytes;
    e["usable_bytes"] = d.usable;
    e["required_bytes"] = d.required;
    e["host_bytes"] = d.est.host.total();
    e["fits"] = d.fits;
    e["headroom_bytes"] = d.headroom;
    e["max_context"] = d.max_context;
    e["max_batch"] = d.max_batch;
    e["max_gpu_layers"] = d.max_gpu_layers ? J(*d.max_gpu_layers) : J(nullptr);
    e["decode_tokens_per_s"] = opt_num(d.speed.decode);
    e["prefill_tokens_per_s"] = opt_num(d.speed.prefill);
    e["step_seconds"] = opt_num(d.step_seconds);
    e["train_hours"] = opt_num(d.train_hours);
    e["job_hours"] = opt_num(d.job_hours);
    e["cost_usd"] = opt_num(d.cost_usd);
    e["best_format"] = d.best_format ? J(d.best_format->label) : J(nullptr);
    if (o.best_format) {
      J fs = J::array();
      for (const auto& f : d.formats)
        fs.push_back({{"weights", f.label}, {"weight_bytes", f.weights}, {"required_bytes", f.total}, {"fits", f.fits}});
      e["formats"] = fs;
    }
    if (d.fits) e["fix"] = nullptr;
    else if (d.combination_total) e["fix"] = {{"steps", d.combination}, {"total_bytes", *d.combination_total}};
    else e["fix"] = nullptr;
    devices.push_back(e);
    for (const auto& rem : d.remedies)
      remedies.push_back({{"device", std::string(d.dev.id)}, {"what", rem.what}, {"saved_bytes", rem.saved},
                          {"fits_alone", rem.fits_alone}});
  }
  out["devices"] = devices;
  out["remedies"] = remedies;
  if (o.cheapest)
    out["cheapest"] = r.cheapest ? J{{"id", std::string(r.answers[*r.cheapest].dev.id)}, {"basis", r.cheapest_basis}}
                                 : J(nullptr);
  if (r.setups.size() > 1) {
    J t;
    J models = J::array();
    for (const auto& m : r.setups)
      models.push_back({{"name", std::string(m.plan.model.name)}, {"weights", m.weights.label},
                        {"runtime", std::string(m.plan.runtime.name)}});
    t["models"] = models;
    J per = J::array();
    for (std::size_t i = 0; i < r.devices.size(); ++i) {
      std::uint64_t sum = 0;
      for (const auto b : r.together_bytes[i]) sum += b;
      per.push_back({{"id", std::string(r.devices[i].id)}, {"footprint_bytes", r.together_bytes[i]},
                     {"total_bytes", sum}, {"usable_bytes", r.devices[i].usable_bytes}, {"fits", static_cast<bool>(r.together_fits[i])},
                     {"instead", r.together_instead[i] ? J{{"weights", r.together_instead[i]->first},
                                                          {"total_bytes", r.together_instead[i]->second}}
                                                       : J(nullptr)}});
    }
    t["devices"] = per;
    out["together"] = t;
  }
  out["notes"] = r.notes;
  return out;
}

}  // namespace qmath_plan

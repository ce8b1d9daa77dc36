#pragma once
// From the command line's words to qmath's records: the model (catalog name or
// file), the weight recipe, the KV cache type, the runtime, LoRA targets and
// the optimizer. Every name a user can misspell gets one usage_error line,
// with the closest names where there are some.

#include <algorithm>
#include <cctype>
#include <deque>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <qmath/devices/lookup.hpp>
#include <qmath/io/hf_config.hpp>
#include <qmath/io/model_file.hpp>
#include <qmath/memory.hpp>
#include <qmath/models.hpp>

#include "cli.hpp"

namespace qmath_plan {

// Strings that records point into (string_view) and that must outlive them.
inline std::string_view intern(std::string s) {
  static std::deque<std::string> pool;
  pool.push_back(std::move(s));
  return pool.back();
}

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

inline std::string suggestion_list(const std::vector<std::string_view>& names) {
  std::string out;
  for (const auto n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// ---- models ------------------------------------------------------------------

struct model_choice {
  qmath::models::architecture arch;
  std::string model_type;  // transformers' model_type: PEFT's LoRA defaults key on it
  std::string origin;      // "catalog" or the file read
  // a model file: what qmath::io::load_model read
  std::optional<qmath::io::model_format> format;
  std::optional<std::uint64_t> file_weight_bytes, file_parameters;
  std::optional<qmath::weight_recipe> file_recipe;
  std::vector<std::string> file_notes;
  std::size_t file_tensors = 0;

  std::uint64_t parameters() const { return file_parameters.value_or(arch.parameters()); }
};

// transformers' model_type of the catalog's architectures (their config.json).
inline std::string catalog_model_type(std::string_view name) {
  const std::string n = lower(name);
  auto starts = [&](std::string_view p) { return n.rfind(p, 0) == 0; };
  if (starts("llama") || starts("codellama")) return "llama";
  if (starts("mistral")) return "mistral";
  if (starts("mixtral")) return "mixtral";
  if (starts("gemma-2")) return "gemma2";
  if (starts("phi-3")) return "phi3";
  if (starts("qwen1.5-moe")) return "qwen2_moe";
  if (starts("qwen2.5") || starts("qwen1.5")) return "qwen2";
  if (starts("qwen3")) return "qwen3";
  if (starts("qwen-")) return "qwen";
  if (starts("polyglot")) return "gpt_neox";
  if (starts("kobert")) return "bert";
  if (starts("bitnet")) return "bitnet";
  if (starts("deepseek-v2")) return "deepseek_v2";
  return "";
}

inline model_choice find_model(std::string_view text) {
  for (const auto& m : qmath::models::catalog)
    if (lower(m.name) == lower(text)) {
      model_choice c;
      c.arch = m;
      c.model_type = catalog_model_type(m.name);
      c.origin = "catalog";
      return c;
    }
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path path(text);
  if (fs::exists(path, ec)) {
    qmath::io::model m;
    try {
      m = qmath::io::load_model(path);
    } catch (const qmath::error& e) {
      throw usage_error(std::string("--model: ") + e.what());
    }
    model_choice c;
    c.arch = m.architecture;
    c.model_type = std::string(m.architecture.name);
    c.arch.name = intern(m.name.empty() ? path.filename().string() : m.name);
    c.origin = m.path.string();
    c.format = m.format;
    c.file_weight_bytes = m.weight_bytes;
    c.file_parameters = m.parameter_count;
    c.file_recipe = m.recipe;
    c.file_notes = m.notes;
    c.file_tensors = m.tensors.size();
    return c;
  }
  const std::string ext = lower(path.extension().string());
  if (text.find('/') != std::string_view::npos || ext == ".gguf" || ext == ".json" || ext == ".safetensors")
    throw usage_error("--model " + std::string(text) + ": no such file or folder");
  std::vector<std::string_view> names;
  for (const auto& m : qmath::models::catalog) names.push_back(m.name);
  const auto close = qmath::devices::closest_names(text, names, 4);
  std::string line = "unknown model '" + std::string(text) + "'";
  if (!close.empty()) line += "; did you mean " + suggestion_list(close) + "?";
  line += " (--list models; or a config.json path)";
  throw usage_error(line);
}

// ---- runtimes ------------------------------------------------------------------

inline const qmath::runtime_profile* find_runtime(std::string_view name) {
  static const qmath::runtime_profile* table[] = {&qmath::runtimes::transformers, &qmath::runtimes::llama_cpp,
                                                  &qmath::runtimes::vllm, &qmath::runtimes::ollama};
  const std::string n = lower(name);
  for (const auto* r : table)
    if (r->name == n) return r;
  if (n == "llamacpp" || n == "llama-cpp" || n == "llama-server" || n == "gguf") return &qmath::runtimes::llama_cpp;
  if (n == "hf" || n == "pytorch" || n == "torch") return &qmath::runtimes::transformers;
  throw usage_error("unknown runtime '" + std::string(name) + "' (transformers, llama.cpp, vllm or ollama)");
}

inline bool is_gguf_runtime(const qmath::runtime_profile& r) {
  return r.kv_layout == qmath::kv_cache_layout::llama_cpp;
}

// ---- weights -------------------------------------------------------------------

struct recipe_choice {
  qmath::weight_recipe recipe;
  std::string label;   // as the tables print it
};

struct ftype_name {
  std::string_view name;
  qmath::gguf_ftype type;
};
inline constexpr ftype_name ftype_names[] = {
    {"F32", qmath::gguf_ftype::all_f32},   {"F16", qmath::gguf_ftype::f16},       {"BF16", qmath::gguf_ftype::bf16},
    {"Q4_0", qmath::gguf_ftype::q4_0},     {"Q4_1", qmath::gguf_ftype::q4_1},     {"Q5_0", qmath::gguf_ftype::q5_0},
    {"Q5_1", qmath::gguf_ftype::q5_1},     {"Q8_0", qmath::gguf_ftype::q8_0},     {"Q2_K", qmath::gguf_ftype::q2_k},
    {"Q3_K_S", qmath::gguf_ftype::q3_k_s}, {"Q3_K_M", qmath::gguf_ftype::q3_k_m}, {"Q3_K_L", qmath::gguf_ftype::q3_k_l},
    {"Q4_K_S", qmath::gguf_ftype::q4_k_s}, {"Q4_K_M", qmath::gguf_ftype::q4_k_m}, {"Q5_K_S", qmath::gguf_ftype::q5_k_s},
    {"Q5_K_M", qmath::gguf_ftype::q5_k_m}, {"Q6_K", qmath::gguf_ftype::q6_k},
};

inline std::string_view ftype_label(qmath::gguf_ftype t) {
  for (const auto& f : ftype_names)
    if (f.type == t) return f.name;
  return "?";
}

inline std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

inline std::string recipe_label(const qmath::weight_recipe& r, const qmath::models::architecture& a) {
  using kind = qmath::weight_recipe::kind_t;
  switch (r.kind) {
    case kind::checkpoint: return "checkpoint " + std::string(qmath::info(a.checkpoint_dtype).name);
    case kind::gguf: return "GGUF " + std::string(ftype_label(r.ftype));
    case kind::bnb_8bit: return "bnb LLM.int8";
    case kind::bnb_4bit: return "bnb " + std::string(r.matrices.name);
    case kind::uniform: return std::string(r.matrices.name);
  }
  return "?";
}

// --weights for a runtime. GGUF runtimes take llama-quantize file types (and
// any other GGUF block format, stored uniformly); transformers and vLLM take
// the checkpoint, 16/32-bit floats, bitsandbytes, GPTQ/AWQ and FP8.
inline recipe_choice parse_weights(std::string_view text, const qmath::runtime_profile& rt,
                                   const qmath::models::architecture& a) {
  using qmath::format_id;
  using qmath::weight_recipe;
  std::string n = lower(text);
  const bool gguf_rt = is_gguf_runtime(rt);
  const std::string rt_name(rt.name);
  // Aliases for what people write.
  if (n == "fp32") n = "f32";
  if (n == "fp16" || n == "half") n = "f16";
  if (n == "fp8") n = "fp8-e4m3";
  if (n == "int4") n = gguf_rt ? "q4_0" : "fp4";          // load_in_4bit's default bnb_4bit_quant_type is fp4
  if (n == "int8") n = gguf_rt ? "q8_0" : "int8-rowwise";  // load_in_8bit: LLM.int8
  if (n == "llm.int8" || n == "bnb-8bit" || n == "bnb8") n = "int8-rowwise";
  if (n == "int2") n = "int2-group";
  if (n == "ternary" || n == "bitnet" || n == "i2_s") n = "ternary-i2s";
  if (n == "q4_k") n = "q4_k_m";
  if (n == "q5_k") n = "q5_k_m";
  if (n == "q3_k") n = "q3_k_m";
  auto done = [&](weight_recipe r) { return recipe_choice{r, recipe_label(r, a)}; };
  if (n == "checkpoint" || n == "auto") {
    if (gguf_rt) throw usage_error("--weights checkpoint: " + rt_name + " runs GGUF files; give a file type (Q4_K_M, F16, ...)");
    return done(weight_recipe::checkpoint());
  }
  for (const auto& f : ftype_names) {
    if (lower(f.name) != n) continue;
    if (gguf_rt) return done(weight_recipe::gguf(f.type));
    if (f.type == qmath::gguf_ftype::all_f32 || f.type == qmath::gguf_ftype::f16 || f.type == qmath::gguf_ftype::bf16)
      break;  // a float dtype, below
    throw usage_error("--weights " + std::string(text) + " is a GGUF file type: use --runtime llama.cpp or ollama (" +
                      rt_name + " takes bf16, f16, int8, nf4, nf4-dq, fp4, gptq-int4, awq-int4, fp8)");
  }
  const bool bnb = n == "nf4" || n == "nf4-dq" || n == "fp4" || n == "fp4-dq" || n == "int8-rowwise";
  if (bnb) {
    if (gguf_rt)
      throw usage_error("--weights " + std::string(text) + " is a bitsandbytes format: use --runtime transformers (" +
                        rt_name + " takes GGUF file types such as Q4_K_M)");
    if (n == "int8-rowwise") return done(weight_recipe::bnb_8bit(format_id::f16));
    const bool dq = n.size() > 3;
    const auto id = n.rfind("nf4", 0) == 0 ? format_id::bnb_nf4 : format_id::bnb_fp4;
    return done(weight_recipe::bnb_4bit(qmath::bnb_4bit_info(id, 64, dq), format_id::bf16));
  }
  if (n == "gptq-int4" || n == "awq-int4") {
    if (gguf_rt) throw usage_error("--weights " + std::string(text) + " is a GPTQ/AWQ format: use --runtime transformers or vllm");
    return done(weight_recipe::uniform(qmath::group_int4_info(n == "gptq-int4" ? format_id::gptq_int4 : format_id::awq_int4),
                                       qmath::info(format_id::f16)));
  }
  const auto f = qmath::find_format(n);
  if (!f) {
    std::vector<std::string_view> names;
    for (const auto& x : qmath::format_table) names.push_back(x.name);
    for (const auto& x : ftype_names) names.push_back(x.name);
    const auto close = qmath::devices::closest_names(text, names, 4);
    throw usage_error("unknown weight format '" + std::string(text) + "'" +
                      (close.empty() ? std::string() : "; did you mean " + suggestion_list(close) + "?") +
                      " (--list formats)");
  }
  if (f->family == qmath::format_family::floating_point) {
    if (gguf_rt && (f->id == format_id::fp8_e4m3 || f->id == format_id::fp8_e5m2))
      throw usage_error("--weights " + std::string(text) + ": llama.cpp has no FP8 weights; use --runtime vllm");
    return done(weight_recipe::uniform(*f, gguf_rt ? qmath::info(format_id::f32) : *f));
  }
  // any other block format, every 2-D tensor in it
  return done(weight_recipe::uniform(*f, gguf_rt ? qmath::info(format_id::f32) : qmath::info(format_id::f16)));
}

// ---- KV cache ------------------------------------------------------------------

inline qmath::format_info parse_kv(std::string_view flag, std::string_view text, const qmath::runtime_profile& rt) {
  std::string n = lower(text);
  if (n == "fp16") n = "f16";
  if (n == "fp32") n = "f32";
  if (n == "fp8" || n == "fp8_e4m3") n = "fp8-e4m3";
  if (n == "fp8_e5m2") n = "fp8-e5m2";
  const auto f = qmath::find_format(n);
  const std::string rt_name(rt.name);
  if (!f) throw usage_error("unknown KV cache type '" + std::string(text) + "' for " + std::string(flag));
  using qmath::format_id;
  if (is_gguf_runtime(rt)) {
    // llama.cpp's kv_cache_types (common/arg.cpp): f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1
    const format_id ok[] = {format_id::f32,  format_id::f16,    format_id::bf16, format_id::q8_0, format_id::q4_0,
                            format_id::q4_1, format_id::iq4_nl, format_id::q5_0, format_id::q5_1};
    if (std::find(std::begin(ok), std::end(ok), f->id) == std::end(ok))
      throw usage_error(std::string(flag) + " " + std::string(text) + ": " + rt_name +
                        " caches take f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0 or q5_1");
    return *f;
  }
  const bool float16 = f->id == format_id::f16 || f->id == format_id::bf16 || f->id == format_id::f32;
  const bool fp8 = f->id == format_id::fp8_e4m3 || f->id == format_id::fp8_e5m2;
  if (float16 || (fp8 && rt.name == "vllm")) return *f;
  throw usage_error(std::string(flag) + " " + std::string(text) + ": " + rt_name + " caches take f16, bf16, f32" +
                    (rt.name == "vllm" ? ", fp8" : "") + " (quantized caches: --runtime llama.cpp)");
}

// ---- training ------------------------------------------------------------------

struct optimizer_choice {
  qmath::optimizer_kind kind;
  std::string label;
};

inline optimizer_choice parse_optimizer(std::string_view text) {
  using qmath::optimizer_kind;
  std::string n = lower(text);
  for (auto& c : n)
    if (c == '-') c = '_';
  if (n == "adamw" || n == "adamw_torch" || n == "adam") return {optimizer_kind::adamw, "adamw"};
  if (n == "adamw8bit" || n == "adamw_8bit" || n == "adamw_bnb_8bit") return {optimizer_kind::adamw_8bit, "adamw8bit"};
  if (n == "paged_adamw" || n == "paged_adamw_32bit") return {optimizer_kind::paged_adamw, "paged_adamw"};
  if (n == "paged_adamw8bit" || n == "paged_adamw_8bit") return {optimizer_kind::paged_adamw_8bit, "paged_adamw8bit"};
  if (n == "sgd") return {optimizer_kind::sgd, "sgd"};
  if (n == "sgd_momentum") return {optimizer_kind::sgd_momentum, "sgd_momentum"};
  if (n == "adafactor") return {optimizer_kind::adafactor, "adafactor"};
  // Lion (Chen et al. 2023; lion-pytorch, bitsandbytes Lion) keeps one
  // exp_avg per parameter: the state of SGD with momentum.
  if (n == "lion") return {optimizer_kind::sgd_momentum, "lion"};
  throw usage_error("unknown optimizer '" + std::string(text) +
                    "' (adamw, adamw8bit, paged_adamw, paged_adamw8bit, sgd, sgd_momentum, adafactor, lion)");
}

struct lora_choice {
  qmath::lora_targets targets;
  bool fused_qkv = false;
  std::string label;
};

// Checkpoints that store q, k and v as one Linear: a target on any of them is
// a target on the fused module.
inline bool has_fused_qkv(std::string_view model_type) {
  return model_type == "gpt_neox" || model_type == "qwen" || model_type == "phi3" || model_type == "bloom" ||
         model_type == "falcon";
}

// PEFT's default target_modules per model_type
// (peft/utils/constants.py TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING).
inline lora_choice peft_default_targets(const model_choice& m) {
  using qmath::lora_target;
  const std::string& t = m.model_type;
  if (t == "llama" || t == "mistral" || t == "mixtral" || t == "gemma" || t == "gemma2" || t == "qwen2" ||
      t == "qwen3" || t == "opt" || t == "gptj" || t == "stablelm")
    return {lora_target::q | lora_target::v, false, "q,v (PEFT's default for " + t + ")"};
  if (t == "bert" || t == "roberta" || t == "xlm-roberta" || t == "electra")
    return {lora_target::q | lora_target::v, false, "query,value (PEFT's default for " + t + ")"};
  if (t == "gpt_neox" || t == "bloom" || t == "falcon")
    return {qmath::lora_targets{lora_target::q}, true, "query_key_value (PEFT's default for " + t + ")"};
  throw usage_error("PEFT has no default LoRA targets for " + std::string(m.arch.name) +
                    (t.empty() ? std::string() : " (model_type " + t + ")") +
                    ": give --lora-targets (q,k,v,o,gate,up,down or all-linear)");
}

inline lora_choice parse_lora_targets(std::string_view text, const model_choice& m) {
  using qmath::lora_target;
  lora_choice c;
  c.fused_qkv = has_fused_qkv(m.model_type);
  c.label = std::string(text);
  if (lower(text) == "all-linear" || lower(text) == "all_linear" || lower(text) == "all") {
    c.targets = qmath::lora_presets::all_linear;
    c.label = "all-linear";
    return c;
  }
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string w = lower(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    lora_target t;
    if (w == "q" || w == "q_proj" || w == "query") t = lora_target::q;
    else if (w == "k" || w == "k_proj" || w == "key") t = lora_target::k;
    else if (w == "v" || w == "v_proj" || w == "value") t = lora_target::v;
    else if (w == "o" || w == "o_proj" || w == "dense") t = lora_target::o;
    else if (w == "gate" || w == "gate_proj") t = lora_target::gate;
    else if (w == "up" || w == "up_proj") t = lora_target::up;
    else if (w == "down" || w == "down_proj") t = lora_target::down;
    else
      throw usage_error("--lora-targets: unknown module '" + w + "' (q, k, v, o, gate, up, down or all-linear)");
    c.targets = c.targets | qmath::lora_targets{t};
  }
  if (c.targets.empty()) throw usage_error("--lora-targets needs at least one module");
  return c;
}

}  // namespace qmath_plan

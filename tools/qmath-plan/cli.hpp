#pragma once
// qmath-plan's command line: every flag, its value, its help line, and the
// parser that fills `options`. A bad flag or value is a usage_error: one line,
// exit code 2.

#include <charconv>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace qmath_plan {

// Bad input: an unknown flag or name, a malformed value, a setting the model
// or runtime cannot take, an unreadable file. main() prints it and exits 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class mode_t { inference, full, lora, qlora };
enum class switch_t { off, on, automatic };

struct options {
  // what
  std::string model = "Llama-3-8B";
  bool model_given = false;
  std::vector<std::string> devices;  // empty: the default device
  mode_t mode = mode_t::inference;
  std::string runtime;               // empty: llama.cpp for inference, transformers for training
  std::string weights;               // empty: the mode's and runtime's default
  std::string kv, kv_k, kv_v;        // empty: f16
  std::optional<std::uint64_t> context;
  std::optional<std::uint64_t> batch;
  std::optional<std::uint64_t> ubatch;
  std::optional<std::uint64_t> n_batch;  // -b
  switch_t flash_attention = switch_t::automatic;
  bool flash_attention_given = false;
  std::optional<std::uint64_t> gpu_layers;
  // llama-server's own context flags (--runtime llama.cpp)
  std::optional<std::uint64_t> n_parallel;  // -np
  bool kv_unified = false;
  bool swa_full = false;
  // training
  std::optional<std::uint64_t> lora_rank;
  std::optional<std::uint64_t> lora_alpha;
  std::string lora_targets;
  std::string optimizer;
  bool grad_checkpointing = false;
  bool grad_checkpointing_given = false;
  std::uint64_t grad_accum = 1;
  std::uint64_t gpus = 1;
  std::uint64_t zero = 0;
  bool fsdp = false;
  std::uint64_t tp = 1;
  std::uint64_t pp = 1;
  bool offload = false;
  // time and cost
  std::optional<std::uint64_t> tokens;
  std::optional<std::uint64_t> requests;
  std::uint64_t prompt_tokens = 512;
  std::uint64_t output_tokens = 256;
  bool prompt_tokens_given = false, output_tokens_given = false;
  // questions
  bool max_context = false, max_batch = false, best_format = false, cheapest = false;
  bool errors = false;  // --errors: expected round-trip error of each weight format
  std::vector<std::string> together;
  std::string list;
  bool json = false;
  bool help = false;
  bool version = false;
  // every flag the user gave, in order, for "has no effect" checks
  std::vector<std::string> given;
};

// "4096", "8k" (context-like values: k = 1024) or "10M" (counts: k = 1000).
inline std::uint64_t parse_count(std::string_view flag, std::string_view text, bool binary_k) {
  std::string digits;
  std::uint64_t scale = 1;
  std::string_view body = text;
  if (!body.empty()) {
    const char last = body.back();
    const std::uint64_t k = binary_k ? 1024 : 1000;
    if (last == 'k' || last == 'K') scale = k;
    else if (last == 'm' || last == 'M') scale = k * k;
    else if (last == 'b' || last == 'B' || last == 'g' || last == 'G') scale = k * k * k;
    if (scale != 1) body.remove_suffix(1);
  }
  for (const char c : body)
    if (c != '_' && c != ',') digits.push_back(c);
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size())
    throw usage_error(std::string(flag) + " takes a whole number, not '" + std::string(text) + "'");
  if (value > std::numeric_limits<std::uint64_t>::max() / scale)
    throw usage_error(std::string(flag) + " " + std::string(text) + " is too large");
  return value * scale;
}

inline std::uint64_t parse_positive(std::string_view flag, std::string_view text, bool binary_k,
                                    std::uint64_t max = std::numeric_limits<std::uint32_t>::max()) {
  const std::uint64_t v = parse_count(flag, text, binary_k);
  if (v == 0) throw usage_error(std::string(flag) + " must be at least 1");
  if (v > max) throw usage_error(std::string(flag) + " " + std::string(text) + " is larger than " + std::to_string(max));
  return v;
}

inline switch_t parse_switch(std::string_view flag, std::string_view text) {
  if (text == "on" || text == "1" || text == "true") return switch_t::on;
  if (text == "off" || text == "0" || text == "false") return switch_t::off;
  if (text == "auto") return switch_t::automatic;
  throw usage_error(std::string(flag) + " takes on, off or auto, not '" + std::string(text) + "'");
}

struct flag {
  std::vector<std::string_view> names;
  std::string_view value;  // metavariable; empty for a switch
  std::string_view help;
  std::function<void(options&, std::string_view)> set;
  std::string_view group;
};

inline const std::vector<flag>& flags() {
  static const std::vector<flag> table = [] {
    std::vector<flag> f;
    auto add = [&](std::string_view group, std::vector<std::string_view> names, std::string_view value,
                   std::string_view help, std::function<void(options&, std::string_view)> set) {
      f.push_back({std::move(names), value, help, std::move(set), group});
    };
    constexpr std::uint64_t max_context = std::uint64_t{1} << 24;
    // ---- what to plan
    add("model and device", {"--model"}, "NAME|FILE",
        "catalog model (case-insensitive), or a model file: config.json or its folder, GGUF, .safetensors, model.safetensors.index.json",
        [](options& o, std::string_view v) { o.model = v; o.model_given = true; });
    add("model and device", {"--device"}, "NAME",
        "table id or name (\"RTX 3060\", \"A100 40GB\", \"M2 Pro 16GB\", \"t4\"), `all`, or `local`; repeatable",
        [](options& o, std::string_view v) { o.devices.emplace_back(v); });
    add("model and device", {"--mode"}, "MODE", "inference (default), full, lora or qlora",
        [](options& o, std::string_view v) {
          if (v == "inference") o.mode = mode_t::inference;
          else if (v == "full") o.mode = mode_t::full;
          else if (v == "lora") o.mode = mode_t::lora;
          else if (v == "qlora") o.mode = mode_t::qlora;
          else throw usage_error("--mode takes inference, full, lora or qlora, not '" + std::string(v) + "'");
        });
    add("model and device", {"--runtime"}, "NAME",
        "transformers, llama.cpp, vllm or ollama (default: llama.cpp for inference, transformers for training)",
        [](options& o, std::string_view v) { o.runtime = v; });
    add("model and device", {"--weights"}, "FORMAT|FTYPE",
        "weight format: a GGUF file type (Q4_K_M, Q8_0, F16, ...), bf16/f16/f32, int8 (LLM.int8), nf4, nf4-dq, "
        "fp4, gptq-int4, awq-int4, int2-group, ternary-i2s, tq1_0, tq2_0, ... (see --list formats)",
        [](options& o, std::string_view v) { o.weights = v; });
    // ---- inference settings
    add("inference", {"--context", "--ctx-size", "-c"}, "N",
        "tokens per sequence (8k = 8192); with --parallel, llama.cpp's -c: the whole cache over the sequences",
        [=](options& o, std::string_view v) { o.context = parse_positive("--context", v, true, max_context); });
    add("inference", {"--batch"}, "N", "sequences at once (training: the micro-batch per GPU)",
        [](options& o, std::string_view v) { o.batch = parse_positive("--batch", v, false, 65536); });
    add("inference", {"--ubatch", "--ubatch-size", "-ub"}, "N", "tokens per forward pass (llama.cpp n_ubatch, 512)",
        [=](options& o, std::string_view v) { o.ubatch = parse_positive("--ubatch", v, true, max_context); });
    add("inference", {"--batch-size", "-b"}, "N", "llama.cpp's logical batch n_batch (2048)",
        [=](options& o, std::string_view v) { o.n_batch = parse_positive("--batch-size", v, true, max_context); });
    add("inference", {"--parallel", "-np"}, "N", "llama.cpp: sequences served at once (n_seq_max)",
        [](options& o, std::string_view v) { o.n_parallel = parse_positive("--parallel", v, false, 65536); });
    add("inference", {"--kv"}, "FORMAT", "KV cache type for K and V: f16 (default), bf16, f32, q8_0, q4_0, ...",
        [](options& o, std::string_view v) { o.kv = v; });
    add("inference", {"--kv-k", "--cache-type-k", "-ctk"}, "FORMAT", "K cache type", [](options& o, std::string_view v) {
      o.kv_k = v;
    });
    add("inference", {"--kv-v", "--cache-type-v", "-ctv"}, "FORMAT", "V cache type", [](options& o, std::string_view v) {
      o.kv_v = v;
    });
    add("inference", {"--kv-unified"}, "", "llama.cpp: one KV buffer shared by all sequences",
        [](options& o, std::string_view) { o.kv_unified = true; });
    add("inference", {"--swa-full"}, "", "llama.cpp: full-size cache for sliding-window layers",
        [](options& o, std::string_view) { o.swa_full = true; });
    add("inference", {"--flash-attention", "--flash-attn", "-fa"}, "on|off|auto", "flash attention (default auto)",
        [](options& o, std::string_view v) {
          o.flash_attention = parse_switch("--flash-attention", v);
          o.flash_attention_given = true;
        });
    add("inference", {"--gpu-layers", "--n-gpu-layers", "-ngl"}, "N",
        "transformer blocks on the GPU, the rest in host RAM (default all)",
        [](options& o, std::string_view v) { o.gpu_layers = parse_count("--gpu-layers", v, false); });
    // ---- training
    add("training", {"--lora-rank"}, "R", "LoRA rank (default 8, PEFT's)",
        [](options& o, std::string_view v) { o.lora_rank = parse_positive("--lora-rank", v, false, 65536); });
    add("training", {"--lora-alpha"}, "A", "LoRA alpha (scales the update; costs no memory)",
        [](options& o, std::string_view v) { o.lora_alpha = parse_positive("--lora-alpha", v, false, 1u << 20); });
    add("training", {"--lora-targets"}, "LIST",
        "q,k,v,o,gate,up,down or all-linear (default: PEFT's for the architecture)",
        [](options& o, std::string_view v) { o.lora_targets = v; });
    add("training", {"--optimizer"}, "NAME",
        "adamw (default), adamw8bit, paged_adamw, paged_adamw8bit, sgd, sgd_momentum, adafactor, lion",
        [](options& o, std::string_view v) { o.optimizer = v; });
    add("training", {"--grad-checkpointing"}, "", "recompute activations block by block",
        [](options& o, std::string_view) { o.grad_checkpointing = o.grad_checkpointing_given = true; });
    add("training", {"--grad-accum"}, "N", "micro-batches per optimizer step (no memory; time per step)",
        [](options& o, std::string_view v) { o.grad_accum = parse_positive("--grad-accum", v, false, 1u << 20); });
    add("training", {"--gpus"}, "N", "data-parallel GPUs (with --zero or --fsdp the state is sharded over them)",
        [](options& o, std::string_view v) { o.gpus = parse_positive("--gpus", v, false, 4096); });
    add("training", {"--zero"}, "0|1|2|3", "DeepSpeed ZeRO stage", [](options& o, std::string_view v) {
      o.zero = parse_count("--zero", v, false);
      if (o.zero > 3) throw usage_error("--zero takes 0, 1, 2 or 3, not '" + std::string(v) + "'");
    });
    add("training", {"--fsdp"}, "", "PyTorch FSDP full shard (= ZeRO-3)", [](options& o, std::string_view) {
      o.fsdp = true;
    });
    add("training", {"--tp"}, "N", "tensor-parallel degree", [](options& o, std::string_view v) {
      o.tp = parse_positive("--tp", v, false, 4096);
    });
    add("training", {"--pp"}, "N", "pipeline stages", [](options& o, std::string_view v) {
      o.pp = parse_positive("--pp", v, false, 4096);
    });
    add("training", {"--offload"}, "", "ZeRO-Offload: optimizer state, master weights and gradients in host RAM",
        [](options& o, std::string_view) { o.offload = true; });
    // ---- time and cost
    add("time and cost", {"--tokens"}, "N", "training tokens (10M = 10,000,000): total time and cost",
        [](options& o, std::string_view v) { o.tokens = parse_positive("--tokens", v, false, std::uint64_t{1} << 50); });
    add("time and cost", {"--requests"}, "N", "a batch job of N requests: time and cost per device",
        [](options& o, std::string_view v) {
          o.requests = parse_positive("--requests", v, false, std::uint64_t{1} << 40);
        });
    add("time and cost", {"--prompt-tokens"}, "N", "prompt tokens per request (default 512)",
        [](options& o, std::string_view v) {
          o.prompt_tokens = parse_positive("--prompt-tokens", v, false, std::uint64_t{1} << 24);
          o.prompt_tokens_given = true;
        });
    add("time and cost", {"--output-tokens"}, "N", "generated tokens per request (default 256)",
        [](options& o, std::string_view v) {
          o.output_tokens = parse_positive("--output-tokens", v, false, std::uint64_t{1} << 24);
          o.output_tokens_given = true;
        });
    // ---- questions
    add("questions", {"--max-context"}, "", "the longest context that fits each device",
        [](options& o, std::string_view) { o.max_context = true; });
    add("questions", {"--max-batch"}, "", "the largest batch that fits each device",
        [](options& o, std::string_view) { o.max_batch = true; });
    add("questions", {"--best-format"}, "", "the most accurate weight format that fits each device",
        [](options& o, std::string_view) { o.best_format = true; });
    add("questions", {"--errors"}, "",
        "the expected round-trip error (relative RMSE, SQNR) of each weight format offered, on N(0,1) and Student-t(3)",
        [](options& o, std::string_view) { o.errors = true; });
    add("questions", {"--cheapest"}, "",
        "the cheapest priced instance for the batch job (--requests) or training run (--tokens)",
        [](options& o, std::string_view) { o.cheapest = true; });
    add("questions", {"--together"}, "MODEL...",
        "these models beside --model on one device, each its own process; NAME@WEIGHTS@RUNTIME picks a format "
        "and runtime (e.g. Llama-3.1-8B@Q4_K_M@ollama)",
        nullptr);
    add("output", {"--list"}, "WHAT", "models, devices, formats or runtimes", [](options& o, std::string_view v) {
      if (v != "models" && v != "devices" && v != "formats" && v != "runtimes")
        throw usage_error("--list takes models, devices, formats or runtimes, not '" + std::string(v) + "'");
      o.list = v;
    });
    add("output", {"--json"}, "", "one JSON object (byte counts as integers) instead of the table",
        [](options& o, std::string_view) { o.json = true; });
    add("output", {"--help", "-h"}, "", "this help", [](options& o, std::string_view) { o.help = true; });
    add("output", {"--version"}, "", "qmath's version", [](options& o, std::string_view) { o.version = true; });
    return f;
  }();
  return table;
}

inline const flag* find_flag(std::string_view name) {
  for (const auto& f : flags())
    for (const auto n : f.names)
      if (n == name) return &f;
  return nullptr;
}

// Parses argv; --flag=value is accepted too.
inline options parse(int argc, const char* const* argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::optional<std::string_view> inline_value;
    if (arg.size() > 2 && arg.substr(0, 2) == "--") {
      const auto eq = arg.find('=');
      if (eq != std::string_view::npos) {
        inline_value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
    }
    const flag* f = find_flag(arg);
    if (f == nullptr) {
      if (!arg.empty() && arg[0] == '-') throw usage_error("unknown flag " + std::string(arg) + " (see --help)");
      throw usage_error("unexpected argument '" + std::string(arg) + "' (flags start with --; see --help)");
    }
    o.given.emplace_back(f->names.front());
    if (f->names.front() == "--together") {
      if (inline_value) o.together.emplace_back(*inline_value);
      while (i + 1 < argc && argv[i + 1][0] != '-') o.together.emplace_back(argv[++i]);
      if (o.together.empty()) throw usage_error("--together needs at least one model");
      continue;
    }
    if (f->value.empty()) {
      if (inline_value) throw usage_error(std::string(arg) + " takes no value");
      f->set(o, {});
      continue;
    }
    std::string_view value;
    if (inline_value) {
      value = *inline_value;
    } else {
      if (i + 1 >= argc) throw usage_error(std::string(arg) + " needs a value (" + std::string(f->value) + ")");
      value = argv[++i];
    }
    if (value.empty()) throw usage_error(std::string(arg) + " needs a value (" + std::string(f->value) + ")");
    f->set(o, value);
  }
  return o;
}

inline bool was_given(const options& o, std::string_view canonical) {
  for (const auto& g : o.given)
    if (g == canonical) return true;
  return false;
}

}  // namespace qmath_plan

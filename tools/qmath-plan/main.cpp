// qmath-plan: will this model fit this device at these settings, for inference
// or fine-tuning, and if not, what to change; how fast, how long and how much.
//
//   qmath-plan                                   Llama-3-8B Q4_K_M on an RTX 3060 12 GB, 8k context
//   qmath-plan --model Qwen-14B --runtime transformers --device "A100 40GB"
//   qmath-plan --model CodeLlama-7B --mode qlora --batch 4 --context 2048 --device "RTX 3060"
//   qmath-plan --help
//
// Exit codes: 0 the plan fits every device asked (or a question was
// answered: --list, --max-context, --max-batch, --best-format, --cheapest),
// 1 it does not fit a device, 2 bad input (one line on stderr).
// Every number comes from qmath's public API (docs/qmath-plan.md).

#include <cstdio>
#include <string>
#include <vector>

#include <qmath/version.hpp>

#include "cli.hpp"
#include "compute.hpp"
#include "errors.hpp"
#include "output.hpp"
#include "resolve.hpp"

namespace qmath_plan {
namespace {

void print_help() {
  std::puts(
      "usage: qmath-plan [--model NAME|FILE] [--device NAME]... [--mode inference|full|lora|qlora] [flags]\n"
      "Prices a model's memory (weights, KV cache, activations, gradients, optimizer, runtime overhead) on\n"
      "each device, says whether it fits, how long a context and how large a batch do, how fast it runs,\n"
      "and what to change when it does not fit. Without flags: Llama-3-8B, GGUF Q4_K_M under llama.cpp,\n"
      "8192-token context, on an RTX 3060 12 GB.\n"
      "Exit codes: 0 fits (or a question answered), 1 does not fit, 2 bad input.");
  std::string group;
  for (const auto& f : flags()) {
    if (f.group != group) {
      group = f.group;
      std::printf("\n%s:\n", group.c_str());
    }
    std::string names;
    for (const auto n : f.names) names += (names.empty() ? "" : ", ") + std::string(n);
    if (!f.value.empty()) names += " " + std::string(f.value);
    std::printf("  %-44s %.*s\n", names.c_str(), static_cast<int>(f.help.size()), f.help.data());
  }
}

int print_list(const std::string& what) {
  if (what == "models") {
    std::printf("%-28s %16s %16s %8s  %s\n", "model", "parameters", "active", "context", "source");
    for (const auto& m : qmath::models::catalog)
      std::printf("%-28.*s %16s %16s %8u  %.*s\n", static_cast<int>(m.name.size()), m.name.data(),
                  thousands(m.parameters()).c_str(), thousands(m.active_parameters()).c_str(), m.max_context,
                  static_cast<int>(m.source.size()), m.source.data());
  } else if (what == "devices") {
    std::printf("%-24s %-48s %9s %9s %8s %8s\n", "id", "name", "GiB", "usable", "GB/s", "USD/h");
    for (const auto& d : qmath::devices::all)
      std::printf("%-24.*s %-48.*s %9.2f %9.2f %8.0f %8s\n", static_cast<int>(d.id.size()), d.id.data(),
                  static_cast<int>(d.name.size()), d.name.data(), qmath::to_gib(d.memory_bytes),
                  qmath::to_gib(d.usable_bytes), d.memory_bandwidth_gbps,
                  d.usd_per_hour > 0 ? fixed(d.usd_per_hour, 3).c_str() : "-");
  } else if (what == "formats") {
    std::printf("%-14s %-14s %10s %8s  %s\n", "format", "family", "bits/w", "block", "runtime");
    for (const auto& f : qmath::format_table) {
      const char* fam = f.family == qmath::format_family::floating_point ? "float"
                        : f.family == qmath::format_family::gguf          ? "gguf"
                        : f.family == qmath::format_family::bitsandbytes  ? "bitsandbytes"
                        : f.family == qmath::format_family::group_int     ? "group int"
                                                                          : "ternary";
      const char* rt = f.family == qmath::format_family::bitsandbytes ? "transformers" : "any";
      std::printf("%-14.*s %-14s %10.3f %8u  %s\n", static_cast<int>(f.name.size()), f.name.data(), fam,
                  f.bits_per_weight(), f.block_elems, rt);
    }
    std::printf("\nGGUF file types (--weights with --runtime llama.cpp or ollama):");
    for (const auto& t : ftype_names) std::printf(" %.*s", static_cast<int>(t.name.size()), t.name.data());
    std::printf("\naliases: int8, int4, int2, ternary, fp8, fp16, fp32, checkpoint\n");
  } else {
    for (const auto* r : {&qmath::runtimes::transformers, &qmath::runtimes::llama_cpp, &qmath::runtimes::vllm,
                          &qmath::runtimes::ollama})
      std::printf("%-13.*s context %4" PRIu64 " MiB, workspace %3" PRIu64 " MiB, reserve %3" PRIu64
                  " MiB, slack %u permille%s\n",
                  static_cast<int>(r->name.size()), r->name.data(), r->gpu_context_bytes >> 20, r->workspace_bytes >> 20,
                  r->reserve_bytes >> 20, r->slack_permille,
                  r->memory_utilization > 0 ? ", claims 90% of the GPU" : "");
  }
  return 0;
}

// NAME[@WEIGHTS[@RUNTIME]]
struct together_spec {
  std::string model, weights, runtime;
};
together_spec split_spec(const std::string& s) {
  together_spec t;
  const auto a = s.find('@');
  t.model = s.substr(0, a);
  if (a != std::string::npos) {
    const auto b = s.find('@', a + 1);
    t.weights = s.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
    if (b != std::string::npos) t.runtime = s.substr(b + 1);
  }
  return t;
}

int run(int argc, char** argv) {
  const options o = parse(argc, argv);
  if (o.help) {
    print_help();
    return 0;
  }
  if (o.version) {
    std::printf("qmath-plan %d.%d.%d\n", QMATH_VERSION_MAJOR, QMATH_VERSION_MINOR, QMATH_VERSION_PATCH);
    return 0;
  }
  if (!o.list.empty()) return print_list(o.list);

  run_result r;
  r.setups.push_back(build_setup(o, o.model, r.notes, o.weights, o.runtime));
  note_unmodelled(o, r.setups.front(), r.notes);
  const setup& s = r.setups.front();

  std::vector<std::string> device_words = o.devices;
  if (device_words.empty()) {
    if (o.cheapest) {
      for (const auto& d : qmath::devices::all)
        if (d.kind == qmath::device_kind::cloud_instance && d.usd_per_hour > 0) device_words.emplace_back(d.id);
    } else {
      device_words.emplace_back("RTX 3060");
    }
  }
  r.devices = resolve_devices(device_words, r.notes);
  if (o.requests && s.plan.is_training()) throw usage_error("--requests is a batch inference job; --mode is " + s.mode_label);
  if (o.tokens && !s.plan.is_training()) throw usage_error("--tokens are training tokens: add --mode full, lora or qlora");
  if ((o.prompt_tokens_given || o.output_tokens_given) && !o.requests)
    throw usage_error("--prompt-tokens and --output-tokens describe a batch job: add --requests N");
  if (o.cheapest && !o.requests && !o.tokens)
    throw usage_error("--cheapest needs --requests N (a batch job) or --tokens N (a training run) to price");

  for (const auto& d : r.devices) r.answers.push_back(answer_device(o, s, d));

  if (o.cheapest) {
    for (std::size_t i = 0; i < r.answers.size(); ++i) {
      const auto& a = r.answers[i];
      if (!a.fits || !a.cost_usd || a.dev.usd_per_hour <= 0) continue;
      if (!r.cheapest || *a.cost_usd < *r.answers[*r.cheapest].cost_usd) r.cheapest = i;
    }
    if (r.cheapest) {
      const auto& a = r.answers[*r.cheapest];
      const double hours = a.train_hours ? *a.train_hours : a.job_hours.value_or(0);
      r.cheapest_basis = "$" + fixed(*a.cost_usd, 2) + " for " + hours_text(hours) + " at $" + fixed(a.dev.usd_per_hour, 3) + "/h";
    }
  }

  if (!o.together.empty()) {
    for (const auto& spec : o.together) {
      const auto t = split_spec(spec);
      options other = o;
      other.kv = other.kv_k = other.kv_v = "";
      r.setups.push_back(build_setup(other, t.model, r.notes, t.weights, t.runtime.empty() ? o.runtime : t.runtime));
    }
    for (const auto& d : r.devices) {
      std::vector<qmath::plan> plans;
      std::vector<std::uint64_t> bytes;
      for (const auto& m : r.setups) {
        plans.push_back(m.plan);
        bytes.push_back(qmath::footprint_bytes(m.plan, d));
      }
      r.together_bytes.push_back(bytes);
      const bool together = qmath::fits_together(plans, d);
      r.together_fits.push_back(together);
      // what fits instead: the most accurate recipe of --model beside the others
      std::optional<std::pair<std::string, std::uint64_t>> instead;
      if (!together) {
        for (const auto& c : candidate_recipes(plans.front())) {
          std::vector<qmath::plan> trial = plans;
          trial.front().weights = c;
          if (plan_fits(trial.front(), d) && qmath::fits_together(trial, d)) {
            instead = std::make_pair(recipe_label(c, trial.front().model), qmath::required_bytes_together(trial, d));
            break;
          }
        }
      }
      r.together_instead.push_back(instead);
    }
  }

  std::vector<error_row> errors;
  if (o.errors) errors = recipe_errors(s);
  if (o.json) {
    auto j = to_json(o, r);
    if (o.errors) j["errors"] = errors_json(errors);
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    print_table(o, r);
    if (o.errors) print_errors(s, errors);
  }

  // A question answered exits 0; an answer of "nothing fits" exits 1.
  const bool question = o.max_context || o.max_batch || o.best_format || o.cheapest;
  if (question) {
    for (const auto& a : r.answers) {
      if (o.max_context && a.max_context == 0) return 1;
      if (o.max_batch && a.max_batch == 0) return 1;
      if (o.best_format && !a.best_format) return 1;
    }
    if (o.cheapest && !r.cheapest) return 1;
    return 0;
  }
  if (!o.together.empty()) {
    for (const bool f : r.together_fits)
      if (!f) return 1;
    return 0;
  }
  for (const auto& a : r.answers)
    if (!a.fits) return 1;
  return 0;
}

}  // namespace
}  // namespace qmath_plan

int main(int argc, char** argv) {
  try {
    return qmath_plan::run(argc, argv);
  } catch (const qmath_plan::usage_error& e) {
    std::fprintf(stderr, "qmath-plan: %s\n", e.what());
  } catch (const qmath::error& e) {
    std::string line = e.what();
    for (std::size_t at; (at = line.find(": : ")) != std::string::npos;) line.erase(at, 2);  // an empty model name
    std::fprintf(stderr, "qmath-plan: %s\n", line.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qmath-plan: internal error: %s\n", e.what());
  }
  return 2;
}

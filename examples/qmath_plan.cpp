// qmath_plan: will this model fit this device at these settings, and what does
// each format cost in size and error?
//
//   qmath_plan                                   Llama-3-8B on an RTX 3060 12 GB, 8k context
//   qmath_plan --model Qwen2.5-14B --device a100_sxm4_40gb --context 4096
//   qmath_plan --list-models | --list-devices | --help
//
// The first table prices the recipes people actually run (GGUF files in
// llama.cpp, bitsandbytes in transformers) on the device; the second measures
// every storage format with qmath's kernels on N(0,1) and Student-t(3) data.

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <qmath/devices.hpp>
#include <qmath/memory.hpp>
#include <qmath/models.hpp>
#include <qmath/quant.hpp>

namespace {

struct options {
  std::string model = "Llama-3-8B";
  std::string device = "rtx_3060_12gb";
  std::uint64_t context = 8192;
  std::uint32_t batch = 1;
  std::string kv = "f16";
  std::size_t samples = std::size_t{1} << 20;
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::optional<qmath::models::architecture> find_model(std::string_view name) {
  for (const auto& m : qmath::models::catalog)
    if (lower(m.name) == lower(name)) return m;
  return std::nullopt;
}

void usage() {
  std::puts(
      "usage: qmath_plan [--model NAME] [--device ID] [--context N] [--batch N] [--kv f16|q8_0|q4_0]\n"
      "                  [--samples N] [--list-models] [--list-devices]\n"
      "Prices a model's weight recipes, KV cache and runtime overhead on a device, and\n"
      "measures every storage format's error with qmath's kernels.");
}

std::string gib(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", qmath::to_gib(bytes));
  return buf;
}

// ---- table 1: recipes on the device ------------------------------------------

struct recipe_row {
  const char* label;
  qmath::weight_recipe recipe;
  qmath::runtime_profile runtime;
};

void print_fit_table(const qmath::models::architecture& model, const qmath::device& dev, const options& opt) {
  using qmath::gguf_ftype;
  using qmath::weight_recipe;
  const auto kv_type = qmath::find_format(opt.kv);
  if (!kv_type) throw qmath::error("unknown KV cache type " + opt.kv);

  const recipe_row rows[] = {
      {"GGUF F16", weight_recipe::gguf(gguf_ftype::f16), qmath::runtimes::llama_cpp},
      {"GGUF Q8_0", weight_recipe::gguf(gguf_ftype::q8_0), qmath::runtimes::llama_cpp},
      {"GGUF Q6_K", weight_recipe::gguf(gguf_ftype::q6_k), qmath::runtimes::llama_cpp},
      {"GGUF Q5_K_M", weight_recipe::gguf(gguf_ftype::q5_k_m), qmath::runtimes::llama_cpp},
      {"GGUF Q4_K_M", weight_recipe::gguf(gguf_ftype::q4_k_m), qmath::runtimes::llama_cpp},
      {"GGUF Q4_0", weight_recipe::gguf(gguf_ftype::q4_0), qmath::runtimes::llama_cpp},
      {"GGUF Q3_K_M", weight_recipe::gguf(gguf_ftype::q3_k_m), qmath::runtimes::llama_cpp},
      {"GGUF Q2_K", weight_recipe::gguf(gguf_ftype::q2_k), qmath::runtimes::llama_cpp},
      {"HF checkpoint", weight_recipe::checkpoint(), qmath::runtimes::transformers},
      {"bnb 8-bit", weight_recipe::bnb_8bit(), qmath::runtimes::transformers},
      {"bnb NF4", weight_recipe::bnb_4bit(), qmath::runtimes::transformers},
      {"bnb NF4 + DQ", weight_recipe::bnb_4bit(qmath::bnb_4bit_info(qmath::format_id::bnb_nf4, 64, true)),
       qmath::runtimes::transformers},
  };

  std::printf("%-14s %-12s %6s %9s %9s %9s %9s  %-4s %11s %9s\n", "recipe", "runtime", "bits/w", "weights", "KV cache",
              "other", "total", "fits", "max context", "decode");
  std::printf("%-14s %-12s %6s %9s %9s %9s %9s  %-4s %11s %9s\n", "", "", "", "GiB", "GiB", "GiB", "GiB", "", "tokens",
              "tok/s");
  for (const auto& row : rows) {
    qmath::plan p{.model = model, .weights = row.recipe, .kv_type = *kv_type, .batch = opt.batch,
                  .context = opt.context, .runtime = row.runtime};
    const auto weights = qmath::weight_bytes(model, row.recipe).total();
    const double bits = 8.0 * static_cast<double>(weights) / static_cast<double>(model.parameters());
    const auto e = qmath::estimate(p, dev);
    const bool ok = qmath::fits(p, dev);
    std::string max_ctx;
    if (ok || qmath::max_context(p, dev) > 0) {
      max_ctx = std::to_string(qmath::max_context(p, dev));
    } else {
      max_ctx = std::to_string(qmath::max_gpu_layers(p, dev)) + "/" + std::to_string(model.layers) + " layers";
    }
    std::string decode = "-";
    if (ok) {
      const auto kv_read = e.gpu.kv_cache / opt.batch;
      const auto s = qmath::decode_speed(
          dev, {.weight_bytes = static_cast<double>(weights) * static_cast<double>(model.active_parameters()) /
                                    static_cast<double>(model.parameters()),
                .kv_bytes_per_sequence = static_cast<double>(kv_read),
                .active_params = static_cast<double>(model.active_parameters()),
                .batch = opt.batch});
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.0f", s.tokens_per_second);
      decode = buf;
    }
    std::printf("%-14s %-12.*s %6.2f %9s %9s %9s %9s  %-4s %11s %9s\n", row.label,
                static_cast<int>(row.runtime.name.size()), row.runtime.name.data(), bits, gib(e.gpu.weights).c_str(),
                gib(e.gpu.kv_cache).c_str(),
                gib(e.gpu.total() - e.gpu.weights - e.gpu.kv_cache).c_str(), gib(e.gpu.total()).c_str(),
                ok ? "yes" : "no", max_ctx.c_str(), decode.c_str());
  }
}

// ---- table 2: every format's size and error -------------------------------------

struct data_sets {
  std::vector<float> normal;
  std::vector<float> student_t;
};

data_sets make_data(std::size_t n) {
  std::mt19937 rng(20241123);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::student_t_distribution<float> t3(3.0f);
  data_sets d{std::vector<float>(n), std::vector<float>(n)};
  for (auto& x : d.normal) x = normal(rng);
  for (auto& x : d.student_t) x = t3(rng);
  return d;
}

struct error_pair {
  qmath::quality_report normal, student_t;
};

template <class F>
error_pair block_error(const data_sets& d) {
  return {qmath::round_trip_error<F>(d.normal), qmath::round_trip_error<F>(d.student_t)};
}

template <class T>
qmath::quality_report fp_error(std::span<const float> data) {
  std::vector<T> packed(data.size());
  std::vector<float> restored(data.size());
  qmath::convert(data, std::span<T>(packed));
  qmath::convert(std::span<const T>(packed), std::span<float>(restored));
  return qmath::measure_error(data, restored);
}

template <class T>
error_pair float_error(const data_sets& d) {
  return {fp_error<T>(d.normal), fp_error<T>(d.student_t)};
}

void print_format_row(const qmath::models::architecture& model, const qmath::format_info& f, const error_pair& e,
                      const char* note = "") {
  const auto size = qmath::weight_bytes(model, qmath::weight_recipe::uniform(f)).total();
  std::printf("%-13.*s %7.3f %9s  %9.5f %9.4f %8.2f  %9.5f %9.3f %8.2f  %s\n", static_cast<int>(f.name.size()),
              f.name.data(), f.bits_per_weight(), gib(size).c_str(), e.normal.rmse, e.normal.max_abs_error,
              e.normal.sqnr_db, e.student_t.rmse, e.student_t.max_abs_error, e.student_t.sqnr_db, note);
}

void print_format_table(const qmath::models::architecture& model, std::size_t samples) {
  namespace fmt = qmath::formats;
  using qmath::format_id;
  using qmath::info;
  samples = std::max<std::size_t>(samples / 4096, 1) * 4096;  // whole blocks of every format
  const data_sets d = make_data(samples);
  std::printf("%-13s %7s %9s  %-28s  %-28s\n", "format", "bits/w", "size GiB", "  N(0,1): RMSE   max err  SQNR dB",
              "  Student-t(3): RMSE  max   SQNR dB");
  print_format_row(model, info(format_id::f16), float_error<qmath::fp16>(d));
  print_format_row(model, info(format_id::bf16), float_error<qmath::bf16>(d));
  print_format_row(model, info(format_id::fp8_e4m3), float_error<qmath::fp8_e4m3>(d), "saturating");
  print_format_row(model, info(format_id::fp8_e5m2), float_error<qmath::fp8_e5m2>(d));
  print_format_row(model, fmt::q8_0::info, block_error<fmt::q8_0>(d));
  print_format_row(model, fmt::q5_1::info, block_error<fmt::q5_1>(d));
  print_format_row(model, fmt::q5_0::info, block_error<fmt::q5_0>(d));
  print_format_row(model, fmt::q4_1::info, block_error<fmt::q4_1>(d));
  print_format_row(model, fmt::iq4_nl::info, block_error<fmt::iq4_nl>(d));
  print_format_row(model, fmt::q4_0::info, block_error<fmt::q4_0>(d));
  print_format_row(model, fmt::nf4::info, block_error<fmt::nf4>(d));
  print_format_row(model, fmt::nf4_dq::info, block_error<fmt::nf4_dq>(d));
  print_format_row(model, fmt::fp4::info, block_error<fmt::fp4>(d));
  print_format_row(model, fmt::q2_k::info, block_error<fmt::q2_k>(d));
  print_format_row(model, fmt::int2_group<64>::info, block_error<fmt::int2_group<64>>(d), "groups of 64");
  print_format_row(model, fmt::tq2_0::info, block_error<fmt::tq2_0>(d), "for ternary-trained weights");
  print_format_row(model, fmt::tq1_0::info, block_error<fmt::tq1_0>(d), "for ternary-trained weights");
  print_format_row(model, fmt::q6_k::info, block_error<fmt::q6_k>(d));
  print_format_row(model, fmt::q5_k::info, block_error<fmt::q5_k>(d));
  print_format_row(model, fmt::q4_k::info, block_error<fmt::q4_k>(d));
  print_format_row(model, fmt::iq4_xs::info, block_error<fmt::iq4_xs>(d));
  print_format_row(model, fmt::nvfp4::info, block_error<fmt::nvfp4>(d), "no per-tensor scale (as ggml)");
  print_format_row(model, fmt::mxfp4::info, block_error<fmt::mxfp4>(d));
  print_format_row(model, fmt::q3_k::info, block_error<fmt::q3_k>(d));
}

}  // namespace

int main(int argc, char** argv) try {
  options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw qmath::error(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      usage();
      return 0;
    } else if (arg == "--list-models") {
      for (const auto& m : qmath::models::catalog)
        std::printf("%-28.*s %6.2f B parameters\n", static_cast<int>(m.name.size()), m.name.data(),
                    static_cast<double>(m.parameters()) / 1e9);
      return 0;
    } else if (arg == "--list-devices") {
      for (const auto& d : qmath::devices::all)
        std::printf("%-26.*s %-44.*s %7.2f GiB usable\n", static_cast<int>(d.id.size()), d.id.data(),
                    static_cast<int>(d.name.size()), d.name.data(), qmath::to_gib(d.usable_bytes));
      return 0;
    } else if (arg == "--model") {
      opt.model = value();
    } else if (arg == "--device") {
      opt.device = value();
    } else if (arg == "--context") {
      opt.context = std::stoull(value());
    } else if (arg == "--batch") {
      opt.batch = static_cast<std::uint32_t>(std::stoul(value()));
    } else if (arg == "--kv") {
      opt.kv = value();
    } else if (arg == "--samples") {
      opt.samples = std::stoull(value());
    } else {
      usage();
      return 2;
    }
  }
  const auto model = find_model(opt.model);
  if (!model) throw qmath::error("unknown model '" + opt.model + "' (see --list-models)");
  const auto dev = qmath::devices::find(opt.device);
  if (!dev) throw qmath::error("unknown device '" + opt.device + "' (see --list-devices)");

  std::printf("%.*s (%.2f B parameters) on %.*s: %.2f GiB, %.2f GiB usable\n", static_cast<int>(model->name.size()),
              model->name.data(), static_cast<double>(model->parameters()) / 1e9, static_cast<int>(dev->name.size()),
              dev->name.data(), qmath::to_gib(dev->memory_bytes), qmath::to_gib(dev->usable_bytes));
  std::printf("context %llu tokens, batch %u, KV cache %s\n\n", static_cast<unsigned long long>(opt.context),
              opt.batch, opt.kv.c_str());
  std::puts("Will it fit? (one GPU; 'other' = activations, compute buffers and the runtime's overhead;");
  std::puts("when it does not fit, 'max context' shows how many layers fit on the GPU instead)");
  print_fit_table(*model, *dev, opt);
  std::printf("\nWhat each format costs: %.*s with every 2-D weight in the format, and the round-trip error\n",
              static_cast<int>(model->name.size()), model->name.data());
  std::printf("of %zu values measured with qmath's kernels (%s)\n", opt.samples, qmath::default_arch_name());
  print_format_table(*model, opt.samples);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "qmath_plan: %s\n", e.what());
  return 1;
}

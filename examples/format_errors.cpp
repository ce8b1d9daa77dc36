// format_errors: what each storage format costs for a model's weights, and
// its round-trip error on 2^20 N(0,1) and Student-t(3) values, measured with
// qmath's kernels.
//
//   format_errors                        Llama-3-8B, 2^20 values
//   format_errors Qwen-14B 65536         another catalog model, another sample count
//
// (Memory plans, devices and remedies: tools/qmath-plan.)

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <qmath/memory.hpp>
#include <qmath/models.hpp>
#include <qmath/quant.hpp>

namespace {

std::string gib(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", qmath::to_gib(bytes));
  return buf;
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
  // A format whose blocks do not divide every row of the model (Q2_K's 256
  // elements and Qwen-14B's 13696-wide FFN) has no size for it: "-".
  std::string size = "-";
  try {
    size = gib(qmath::weight_bytes(model, qmath::weight_recipe::uniform(f)).total());
  } catch (const qmath::error&) {
  }
  std::printf("%-13.*s %7.3f %9s  %9.5f %9.4f %8.2f  %9.5f %9.3f %8.2f  %s\n", static_cast<int>(f.name.size()),
              f.name.data(), f.bits_per_weight(), size.c_str(), e.normal.rmse, e.normal.max_abs_error,
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
  std::string name = argc > 1 ? argv[1] : "Llama-3-8B";
  const std::size_t samples = argc > 2 ? std::stoull(argv[2]) : std::size_t{1} << 20;
  const qmath::models::architecture* model = nullptr;
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (const auto& m : qmath::models::catalog)
    if (lower(std::string(m.name)) == lower(name)) model = &m;
  if (model == nullptr) {
    std::fprintf(stderr, "format_errors: unknown model '%s' (qmath-plan --list models)\n", name.c_str());
    return 2;
  }
  std::printf("What each format costs: %.*s with every 2-D weight in the format, and the round-trip error\n",
              static_cast<int>(model->name.size()), model->name.data());
  std::printf("of %zu values measured with qmath's kernels (%s)\n", std::max<std::size_t>(samples / 4096, 1) * 4096,
              qmath::default_arch_name());
  print_format_table(*model, samples);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "format_errors: %s\n", e.what());
  return 2;
}

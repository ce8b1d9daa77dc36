// The round-trip error of every format qmath packs, beside the error of
// ggml's own quantizer on the same data, measured in this process from the
// real libggml-base.so (directory given as the first argument; the CTest
// fixture fetches it with tests/peers/fetch_llama_cpp.sh). Prints the
// Markdown table of docs/formats.md ("Round-trip error") and checks:
//   - for every GGUF type, qmath's bytes equal those of ggml's quantizer
//     (ggml_quantize_chunk without an importance matrix, llama-quantize's
//     path; Q8_K, which it does not take, quantize_row_q8_K_ref) and so
//     qmath's error equals ggml's to the bit, dequantized by qmath and by
//     ggml's dequantize_row_*. IQ4_NL is the documented exception: its chunk
//     quantizer searches 7 more scales per block than quantize_row_iq4_nl_ref,
//     whose bytes qmath writes; there qmath's error equals the _ref error and
//     the chunk quantizer's is printed beside it;
//   - on N(0,1), fewer bits per weight lose more: Q2_K > Q3_K > Q4_K > Q5_K >
//     Q6_K > Q8_0 in relative RMSE, for qmath and for ggml;
//   - known bounds: Q8_0 below 1% relative RMSE on N(0,1), f16 below 2^-11,
//     NF4 below FP4 on N(0,1).
// Data: the standard samples of qmath/quality/expected.hpp (N(0,1), seed 1;
// Student-t(3), seed 2), 2^20 values each, as 256 rows of 4096.
// Exit 0 when every check holds, 1 otherwise, 77 when ggml is missing.

#include <qmath/quality.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "ggml_api.hpp"

namespace {

constexpr std::size_t values = std::size_t{1} << 20;
constexpr std::int64_t row_length = 4096;

int failures = 0;

void fail(const std::string& what) {
  std::printf("FAIL %s\n", what.c_str());
  ++failures;
}

struct data_sets {
  std::vector<float> gaussian = qmath::samples::gaussian(values, qmath::expected_error_gaussian_seed);
  std::vector<float> student_t = qmath::samples::student_t(values, qmath::expected_error_student_t_nu,
                                                           qmath::expected_error_student_t_seed);
};

struct pair_report {
  qmath::quality_report gaussian, student_t;
};

struct row {
  std::string name;
  double bits = 0;
  pair_report qmath;
  std::optional<pair_report> ggml;
  std::string note;
};

// ggml's round trip of `x` through `type`: its quantizer, its dequantizer.
struct ggml_result {
  qmath::quality_report error;
  std::vector<std::uint8_t> bytes;
};

ggml_result ggml_round_trip(const qmath_test::ggml::library& lib, int type, const std::vector<float>& x,
                            qmath_test::ggml::from_float_fn row_quantizer) {
  const std::size_t row_bytes = lib.type_size(type) * static_cast<std::size_t>(row_length / lib.blck_size(type));
  const std::size_t rows = x.size() / static_cast<std::size_t>(row_length);
  ggml_result r;
  r.bytes.resize(rows * row_bytes);
  if (row_quantizer)
    row_quantizer(x.data(), r.bytes.data(), static_cast<std::int64_t>(x.size()));
  else
    lib.quantize_chunk(type, x.data(), r.bytes.data(), 0, static_cast<std::int64_t>(rows), row_length, nullptr);
  const auto* traits = lib.get_type_traits(type);
  auto to_float = traits->to_float;
  const std::string name = traits->type_name;
  if (auto d = lib.symbol<qmath_test::ggml::to_float_fn>(("dequantize_row_" + name).c_str())) to_float = d;
  std::vector<float> y(x.size());
  to_float(r.bytes.data(), y.data(), static_cast<std::int64_t>(x.size()));
  r.error = qmath::measure_error(x, y);
  return r;
}

// qmath's bytes of a format with a ggml type, through the format_info API.
std::vector<std::uint8_t> qmath_bytes(const qmath::format_info& f, const std::vector<float>& x) {
  std::vector<std::uint8_t> out;
  auto run = [&]<class F>() {
    std::vector<std::byte> b(qmath::storage_bytes<F>(x.size()));
    qmath::quantize<F>(x, b);
    out.resize(b.size());
    std::memcpy(out.data(), b.data(), b.size());
  };
  auto run_fp = [&]<class T>() {
    std::vector<T> b(x.size());
    qmath::convert(std::span<const float>(x), std::span<T>(b));
    out.resize(b.size() * sizeof(T));
    std::memcpy(out.data(), b.data(), out.size());
  };
  namespace fmt = qmath::formats;
  using qmath::format_id;
  switch (f.id) {
    case format_id::f16: run_fp.template operator()<qmath::fp16>(); break;
    case format_id::bf16: run_fp.template operator()<qmath::bf16>(); break;
    case format_id::q4_0: run.template operator()<fmt::q4_0>(); break;
    case format_id::q4_1: run.template operator()<fmt::q4_1>(); break;
    case format_id::q5_0: run.template operator()<fmt::q5_0>(); break;
    case format_id::q5_1: run.template operator()<fmt::q5_1>(); break;
    case format_id::q8_0: run.template operator()<fmt::q8_0>(); break;
    case format_id::q2_k: run.template operator()<fmt::q2_k>(); break;
    case format_id::q3_k: run.template operator()<fmt::q3_k>(); break;
    case format_id::q4_k: run.template operator()<fmt::q4_k>(); break;
    case format_id::q5_k: run.template operator()<fmt::q5_k>(); break;
    case format_id::q6_k: run.template operator()<fmt::q6_k>(); break;
    case format_id::q8_k: run.template operator()<fmt::q8_k>(); break;
    case format_id::iq4_nl: run.template operator()<fmt::iq4_nl>(); break;
    case format_id::iq4_xs: run.template operator()<fmt::iq4_xs>(); break;
    case format_id::tq1_0: run.template operator()<fmt::tq1_0>(); break;
    case format_id::tq2_0: run.template operator()<fmt::tq2_0>(); break;
    case format_id::mxfp4: run.template operator()<fmt::mxfp4>(); break;
    case format_id::nvfp4: run.template operator()<fmt::nvfp4>(); break;
    default: break;
  }
  return out;
}

bool same_report(const qmath::quality_report& a, const qmath::quality_report& b) {
  return a.rmse == b.rmse && a.max_abs_error == b.max_abs_error;
}

std::string cell(const qmath::quality_report& r) {
  char buf[64];
  if (r.relative_rmse == 0) return "lossless";
  const double pct = 100.0 * r.relative_rmse;
  std::snprintf(buf, sizeof buf, pct < 0.1 ? "%.4f%% / %.2f dB" : "%.3f%% / %.2f dB", pct, r.sqnr_db);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  const auto lib = qmath_test::ggml::load_for_main(argc, argv, qmath::default_arch_name(), exit_code);
  if (!lib) return exit_code;
  const data_sets d;
  std::vector<row> rows;
  using qmath::format_id;

  // ---- formats with a ggml type: qmath beside ggml
  for (const auto& f : qmath::format_table) {
    if (!f.has_kernel || f.ggml_type < 0 || f.id == format_id::f32) continue;
    const int type = f.ggml_type;
    if (lib->quantize_init) lib->quantize_init(type);
    qmath_test::ggml::from_float_fn row_ref = nullptr;
    if (f.id == format_id::q8_k) row_ref = lib->symbol<qmath_test::ggml::from_float_fn>("quantize_row_q8_K_ref");
    if (f.id == format_id::q8_k && row_ref == nullptr) {
      fail("ggml exports no quantize_row_q8_K_ref");
      continue;
    }
    row r{std::string(f.name), f.bits_per_weight(), {}, std::nullopt, ""};
    r.qmath = {qmath::round_trip_error(f, d.gaussian), qmath::round_trip_error(f, d.student_t)};
    pair_report g;
    for (const bool heavy : {false, true}) {
      const auto& x = heavy ? d.student_t : d.gaussian;
      const auto& ours = heavy ? r.qmath.student_t : r.qmath.gaussian;
      const auto theirs = ggml_round_trip(*lib, type, x, row_ref);
      (heavy ? g.student_t : g.gaussian) = theirs.error;
      const auto bytes = qmath_bytes(f, x);
      const char* set = heavy ? "t(3)" : "N(0,1)";
      if (f.id == format_id::iq4_nl) {
        // qmath writes quantize_row_iq4_nl_ref's bytes; the chunk quantizer searches more scales
        auto ref = lib->symbol<qmath_test::ggml::from_float_fn>("quantize_row_iq4_nl_ref");
        if (ref == nullptr) {
          fail("ggml exports no quantize_row_iq4_nl_ref");
          continue;
        }
        const auto by_ref = ggml_round_trip(*lib, type, x, ref);
        if (bytes != by_ref.bytes || !same_report(ours, by_ref.error))
          fail(r.name + " " + set + ": qmath's bytes or error differ from quantize_row_iq4_nl_ref's");
        if (!(theirs.error.rmse <= by_ref.error.rmse))
          fail(r.name + " " + set + ": ggml_quantize_chunk's search should not lose against its _ref");
        continue;
      }
      if (bytes != theirs.bytes) fail(r.name + " " + set + ": qmath's bytes differ from ggml's quantizer's");
      if (!same_report(ours, theirs.error))
        fail(r.name + " " + set + ": qmath's error " + std::to_string(ours.rmse) + " differs from ggml's " +
             std::to_string(theirs.error.rmse));
    }
    if (f.id == format_id::iq4_nl) {
      const auto by_ref = ggml_round_trip(*lib, type, d.gaussian,
                                          lib->symbol<qmath_test::ggml::from_float_fn>("quantize_row_iq4_nl_ref"));
      r.note = "ggml: ggml_quantize_chunk (searches 7 more scales per block); quantize_row_iq4_nl_ref: " +
               cell(by_ref.error) + " on N(0,1), equal to qmath's";
    }
    r.ggml = g;
    std::printf("%-8s N(0,1) qmath %s ggml %s\n", r.name.c_str(), cell(r.qmath.gaussian).c_str(),
                cell(g.gaussian).c_str());
    rows.push_back(r);
  }

  // ---- formats ggml does not have
  auto add = [&](std::string name, double bits, pair_report rep, std::string note = "") {
    rows.push_back({std::move(name), bits, rep, std::nullopt, std::move(note)});
  };
  for (const auto id : {format_id::fp8_e4m3, format_id::fp8_e5m2}) {
    const auto& f = qmath::info(id);
    add(std::string(f.name), f.bits_per_weight(), {qmath::round_trip_error(f, d.gaussian), qmath::round_trip_error(f, d.student_t)},
        "plain cast, no scale");
  }
  for (const auto& f : {qmath::bnb_4bit_info(format_id::bnb_nf4), qmath::bnb_4bit_info(format_id::bnb_nf4, 64, true),
                        qmath::bnb_4bit_info(format_id::bnb_fp4), qmath::bnb_4bit_info(format_id::bnb_fp4, 64, true),
                        qmath::bnb_int8_rowwise_info(4096), qmath::group_int4_info(format_id::gptq_int4),
                        qmath::group_int4_info(format_id::awq_int4), qmath::group_int2_info(64)}) {
    std::string note;
    if (f.family == qmath::format_family::bitsandbytes && f.id != format_id::bnb_int8_rowwise)
      note = "bitsandbytes, blocks of 64";
    if (f.id == format_id::bnb_int8_rowwise) note = "LLM.int8, rows of 4096";
    if (f.family == qmath::format_family::group_int) note = f.id == format_id::group_int2 ? "groups of 64" : "round to nearest, groups of 128";
    add(std::string(f.name), f.bits_per_weight(), {qmath::round_trip_error(f, d.gaussian), qmath::round_trip_error(f, d.student_t)},
        note);
  }
  namespace fp8c = qmath::fp8_checkpoint;
  const std::size_t side = 1024;  // 2^20 values as 1024 x 1024
  const std::pair<const char*, fp8c::scale_grid> layouts[] = {
      {"fp8 128x128 blocks", fp8c::scale_grid::block_wise(side, side)},
      {"fp8 per channel", fp8c::scale_grid::per_channel(side, side)},
      {"fp8 per tensor", fp8c::scale_grid::per_tensor(side, side)}};
  for (const auto& [name, grid] : layouts) {
    const double scale_bits = 32.0 * static_cast<double>(grid.scale_rows() * grid.scale_cols()) / (side * side);
    add(name, 8.0 + scale_bits, {qmath::round_trip_error(d.gaussian, grid), qmath::round_trip_error(d.student_t, grid)},
        "FP8 checkpoint (e4m3, fp32 scales)");
  }

  // ---- properties
  auto find = [&](const std::string& n) -> const row* {
    for (const auto& r : rows)
      if (r.name == n) return &r;
    return nullptr;
  };
  const char* by_bits[] = {"q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "q8_0"};
  for (std::size_t i = 0; i + 1 < std::size(by_bits); ++i) {
    const row *a = find(by_bits[i]), *b = find(by_bits[i + 1]);
    if (!a || !b) {
      fail(std::string("missing row ") + by_bits[i]);
      continue;
    }
    if (!(a->qmath.gaussian.relative_rmse > b->qmath.gaussian.relative_rmse))
      fail(std::string(by_bits[i]) + " should lose more than " + by_bits[i + 1] + " on N(0,1) (qmath)");
    if (a->ggml && b->ggml && !(a->ggml->gaussian.relative_rmse > b->ggml->gaussian.relative_rmse))
      fail(std::string(by_bits[i]) + " should lose more than " + by_bits[i + 1] + " on N(0,1) (ggml)");
  }
  if (const row* q8 = find("q8_0"); !q8 || !(q8->qmath.gaussian.relative_rmse < 0.01))
    fail("q8_0: relative RMSE on N(0,1) should be below 1%");
  if (const row* h = find("f16"); !h || !(h->qmath.gaussian.relative_rmse < 1.0 / 2048))
    fail("f16: relative RMSE on N(0,1) should be below 2^-11");
  if (const row *nf4 = find("nf4"), *fp4 = find("fp4");
      !nf4 || !fp4 || !(nf4->qmath.gaussian.relative_rmse < fp4->qmath.gaussian.relative_rmse))
    fail("nf4 should lose less than fp4 on N(0,1)");

  // ---- the table, most bits first
  std::stable_sort(rows.begin(), rows.end(), [](const row& a, const row& b) { return a.bits > b.bits; });
  std::printf("\nround trip of %zu values of N(0,1) and of Student-t(3) (qmath's standard samples); relative RMSE / SQNR\n",
              values);
  std::printf("| format | bits/w | N(0,1) qmath | N(0,1) ggml | t(3) qmath | t(3) ggml | note |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---|\n");
  for (const auto& r : rows)
    std::printf("| %s | %.3f | %s | %s | %s | %s | %s |\n", r.name.c_str(), r.bits, cell(r.qmath.gaussian).c_str(),
                r.ggml ? cell(r.ggml->gaussian).c_str() : "—", cell(r.qmath.student_t).c_str(),
                r.ggml ? cell(r.ggml->student_t).c_str() : "—", r.note.c_str());
  if (failures) {
    std::printf("%d check(s) failed\n", failures);
    return 1;
  }
  std::printf("all checks passed\n");
  return 0;
}

// qmath/quality.hpp: the error metrics, the round trip through every format
// qmath packs, the standard samples and the expected error of a recipe.
#include <qmath/quality.hpp>
#include <qmath/kernels/q4_0.hpp>
#include <qmath/kernels/q8_0.hpp>
#include <qmath/models.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "catch.hpp"

TEST_CASE("measure_error on hand-computed vectors") {
  // x = (3, -4), x' = (2, -4): errors (1, 0).
  //   RMSE = sqrt((1 + 0) / 2) = 0.70710678...
  //   max |err| = 1
  //   SQNR = 10 log10((9 + 16) / 1) = 10 log10(25) = 13.9794 dB
  const std::vector<float> x{3.0f, -4.0f}, y{2.0f, -4.0f};
  const auto r = qmath::measure_error(x, y);
  CHECK(r.count == 2);
  CHECK(r.rmse == Approx(std::sqrt(0.5)));
  CHECK(r.max_abs_error == 1.0);
  CHECK(r.sqnr_db == Approx(13.979400086720377));
}

TEST_CASE("a lossless round trip has zero error and infinite SQNR") {
  const std::vector<float> x{1.0f, 2.0f, -0.5f};
  const auto r = qmath::measure_error(x, x);
  CHECK(r.rmse == 0.0);
  CHECK(r.max_abs_error == 0.0);
  CHECK(r.sqnr_db == std::numeric_limits<double>::infinity());
  CHECK(qmath::measure_error({}, {}).count == 0);
}

TEST_CASE("measure_error rejects mismatched lengths and non-finite values") {
  const std::vector<float> a{1.0f, 2.0f}, b{1.0f};
  CHECK_THROWS_WITH(qmath::measure_error(a, b), Catch::Contains("original has 2 values, reconstructed has 1"));
  const std::vector<float> nan{1.0f, std::numeric_limits<float>::quiet_NaN()};
  CHECK_THROWS_WITH(qmath::measure_error(nan, a), Catch::Contains("non-finite value at index 1"));
  CHECK_THROWS_AS(qmath::measure_error(a, nan), qmath::error);
}

TEST_CASE("round_trip_error through Q8_0 and Q4_0 on N(0,1)") {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist;
  std::vector<float> x(32 * 1024);
  for (auto& v : x) v = dist(rng);
  const auto q8 = qmath::round_trip_error<qmath::formats::q8_0>(x);
  const auto q4 = qmath::round_trip_error<qmath::formats::q4_0>(x);
  // Q8_0 rounds to steps of d = amax/127 per 32 values; the error is at most
  // d/2 plus the fp16 rounding of d (127 * 2^-11 d), and a block's amax of
  // N(0,1) data stays below 6, so |err| < 6/127 * (0.5 + 127/2048) < 0.027.
  CHECK(q8.max_abs_error < 0.027);
  // Uniform rounding error of step d has RMSE d / sqrt(12); with amax ~ 2.1
  // for 32 normal values, d ~ 0.0165 and RMSE ~ 0.0048.
  CHECK(q8.rmse > 0.003);
  CHECK(q8.rmse < 0.007);
  // Four bits lose about 24 dB against eight (16x coarser steps).
  CHECK(q8.sqnr_db - q4.sqnr_db > 20.0);
  CHECK(q4.sqnr_db > 18.0);
  // The scalar reference measures the same numbers as the SIMD kernels.
  const auto q4_scalar = qmath::round_trip_error<qmath::formats::q4_0, qmath::scalar_arch>(x);
  CHECK(q4_scalar.rmse == q4.rmse);
  CHECK(q4_scalar.max_abs_error == q4.max_abs_error);
  CHECK_THROWS_AS(qmath::round_trip_error<qmath::formats::q8_0>(std::span<const float>(x).first(33)), qmath::error);
}

// ---------------------------------------------------------------------------
// Every format qmath packs, and the standard samples (qmath/quality/*.hpp)

namespace {

double mean(const std::vector<float>& x) {
  double s = 0;
  for (float v : x) s += v;
  return s / static_cast<double>(x.size());
}

double moment(const std::vector<float>& x, int k) {
  double s = 0;
  for (float v : x) s += std::pow(static_cast<double>(v), k);
  return s / static_cast<double>(x.size());
}

// Every record of the format table qmath has a kernel for, and the variants
// the planner offers (double quantization, FP4 with it, LLM.int8 rows).
std::vector<qmath::format_info> packed_formats() {
  std::vector<qmath::format_info> out;
  for (const auto& f : qmath::format_table)
    if (f.has_kernel) out.push_back(f);
  out.push_back(qmath::bnb_4bit_info(qmath::format_id::bnb_nf4, 64, true));
  out.push_back(qmath::bnb_4bit_info(qmath::format_id::bnb_fp4, 64, true));
  out.push_back(qmath::bnb_4bit_info(qmath::format_id::bnb_nf4, 128, false));
  out.push_back(qmath::bnb_int8_rowwise_info(1024));
  out.push_back(qmath::group_int4_info(qmath::format_id::gptq_int4, 32));
  out.push_back(qmath::group_int2_info(128));
  return out;
}

}  // namespace

TEST_CASE("relative_rmse is rmse over the data's RMS and agrees with SQNR") {
  // x = (3, -4): RMS = sqrt(12.5); error (1, 0): RMSE = sqrt(0.5); ratio = 0.2.
  const std::vector<float> x{3.0f, -4.0f}, y{2.0f, -4.0f};
  const auto r = qmath::measure_error(x, y);
  CHECK(r.relative_rmse == Approx(0.2));
  CHECK(-20.0 * std::log10(r.relative_rmse) == Approx(r.sqnr_db));
  CHECK(qmath::measure_error(x, x).relative_rmse == 0.0);
  const std::vector<float> zero{0.0f, 0.0f};
  CHECK(qmath::measure_error(zero, y).relative_rmse == std::numeric_limits<double>::infinity());
}

TEST_CASE("standard samples: fixed by the seed, a prefix for every length, the right moments") {
  const auto a = qmath::samples::gaussian(1 << 16, 1), b = qmath::samples::gaussian(1 << 16, 1);
  CHECK(a == b);
  const auto prefix = qmath::samples::gaussian(1000, 1);
  CHECK(std::equal(prefix.begin(), prefix.end(), a.begin()));
  CHECK(qmath::samples::gaussian(1000, 2) != prefix);
  // N(0,1) over 2^16 values: the mean's standard error is 1/256, the
  // variance's sqrt(2/2^16) = 0.0055, the fourth moment's (3) about 0.04.
  CHECK(std::fabs(mean(a)) < 0.02);
  CHECK(moment(a, 2) == Approx(1.0).margin(0.03));
  CHECK(moment(a, 4) == Approx(3.0).margin(0.2));
  std::size_t beyond_3 = 0;
  for (float v : a) beyond_3 += std::fabs(v) > 3.0f;
  CHECK(beyond_3 > 120);  // P(|Z| > 3) = 0.0027: 177 expected
  CHECK(beyond_3 < 240);
  // t(3): variance nu / (nu - 2) = 3 (slow to converge); P(|T| > 5) = 0.0154,
  // where a normal of the same variance gives 0.0039.
  const auto t = qmath::samples::student_t(1 << 16, 3, 2);
  CHECK(std::fabs(mean(t)) < 0.05);
  CHECK(moment(t, 2) > 2.3);
  CHECK(moment(t, 2) < 4.0);
  std::size_t beyond_5 = 0;
  for (float v : t) beyond_5 += std::fabs(v) > 5.0f;
  CHECK(beyond_5 > 850);  // 1009 expected
  CHECK(beyond_5 < 1170);
  CHECK_THROWS_AS(qmath::samples::student_t(10, 0, 1), qmath::error);
}

TEST_CASE("round_trip_error by format_info measures what the typed round trip measures") {
  namespace f = qmath::formats;
  const auto x = qmath::samples::gaussian(1 << 14, 3);
  auto same = [](const qmath::quality_report& p, const qmath::quality_report& q) {
    return p.rmse == q.rmse && p.max_abs_error == q.max_abs_error && p.count == q.count;
  };
  CHECK(same(qmath::round_trip_error(qmath::info(qmath::format_id::q4_k), x), qmath::round_trip_error<f::q4_k>(x)));
  CHECK(same(qmath::round_trip_error(qmath::info(qmath::format_id::mxfp4), x), qmath::round_trip_error<f::mxfp4>(x)));
  CHECK(same(qmath::round_trip_error(qmath::bnb_4bit_info(qmath::format_id::bnb_nf4, 64, true), x),
             qmath::round_trip_error<f::nf4_dq>(x)));
  CHECK(same(qmath::round_trip_error(qmath::bnb_4bit_info(qmath::format_id::bnb_fp4), x),
             qmath::round_trip_error<f::fp4>(x)));
  CHECK(same(qmath::round_trip_error(qmath::bnb_int8_rowwise_info(4096), x),
             qmath::round_trip_error<f::int8_rowwise<4096>>(x)));
  CHECK(same(qmath::round_trip_error(qmath::group_int4_info(qmath::format_id::gptq_int4, 128), x),
             qmath::round_trip_error<f::gptq_int4<128, 128>>(x)));
  CHECK(same(qmath::round_trip_error(qmath::group_int2_info(64), x), qmath::round_trip_error<f::int2_group<64>>(x)));
  CHECK(same(qmath::round_trip_error(qmath::info(qmath::format_id::bf16), x), qmath::round_trip_error<qmath::bf16>(x)));
  // every format, every architecture the same numbers; a finite error
  for (const auto& fmt : packed_formats()) {
    INFO(fmt.name << " block " << fmt.block_elems);
    const auto simd = qmath::round_trip_error(fmt, x);
    const auto scalar = qmath::round_trip_error<qmath::scalar_arch>(fmt, x);
    CHECK(same(simd, scalar));
    CHECK(std::isfinite(simd.rmse));
    CHECK(simd.count == x.size());
  }
  CHECK(qmath::round_trip_error(qmath::info(qmath::format_id::f32), x).rmse == 0.0);
  CHECK_THROWS_WITH(qmath::round_trip_error(qmath::info(qmath::format_id::iq2_xxs), x),
                    Catch::Contains("no kernel for iq2_xxs"));
  CHECK_THROWS_WITH(qmath::round_trip_error(qmath::bnb_int8_rowwise_info(1000), x),
                    Catch::Contains("not whole LLM.int8 rows of 1000"));
  CHECK_THROWS_AS(qmath::round_trip_error(qmath::info(qmath::format_id::q6_k), std::span<const float>(x).first(300)),
                  qmath::error);
}

TEST_CASE("error ordering and bounds on N(0,1)") {
  using qmath::format_id;
  const auto x = qmath::samples::gaussian(1 << 16, 1);
  auto err = [&](const qmath::format_info& f) { return qmath::round_trip_error(f, x); };
  auto rel = [&](format_id id) { return err(qmath::info(id)).relative_rmse; };
  // more bits per weight, less error: the K-quants down to Q8_0
  CHECK(rel(format_id::q2_k) > rel(format_id::q3_k));
  CHECK(rel(format_id::q3_k) > rel(format_id::q4_k));
  CHECK(rel(format_id::q4_k) > rel(format_id::q5_k));
  CHECK(rel(format_id::q5_k) > rel(format_id::q6_k));
  CHECK(rel(format_id::q6_k) > rel(format_id::q8_0));
  CHECK(rel(format_id::q8_0) > rel(format_id::f16));
  CHECK(rel(format_id::q4_0) > rel(format_id::q5_0));
  CHECK(rel(format_id::q5_0) > rel(format_id::q8_0));
  // Q8_0: steps of amax/127 per 32 values, uniform rounding error of RMSE
  // step / sqrt(12): with E[amax] ~ 2.1, about 0.5% of N(0,1)'s RMS.
  CHECK(rel(format_id::q8_0) < 0.01);
  CHECK(rel(format_id::q8_0) > 0.003);
  // Q8_K's float scale over 256 values: amax ~ 2.9 there, so coarser steps than Q8_0.
  CHECK(rel(format_id::q8_k) < 0.01);
  // NF4 is the quantile code of a normal: better than FP4 on normal data.
  CHECK(rel(format_id::bnb_nf4) < rel(format_id::bnb_fp4));
  // double quantization costs a little on the absmax, never much
  const double nf4 = rel(format_id::bnb_nf4);
  const double nf4_dq = err(qmath::bnb_4bit_info(format_id::bnb_nf4, 64, true)).relative_rmse;
  CHECK(nf4_dq >= nf4 * 0.999);
  CHECK(nf4_dq < nf4 * 1.01);
  // fp16 keeps 11 significant bits (relative RMSE 2^-11 / sqrt(3) ~ 2.8e-4 for
  // values in the normal range), bf16 8 (2.3e-3), e4m3 4, e5m2 3.
  CHECK(rel(format_id::f16) < 3.2e-4);
  CHECK(rel(format_id::bf16) < 2.5e-3);
  CHECK(rel(format_id::bf16) > 8 * rel(format_id::f16) * 0.9);
  CHECK(rel(format_id::fp8_e4m3) < rel(format_id::fp8_e5m2));
  // MXFP4's power-of-two scales lose against NVFP4's E4M3 scales per 16.
  CHECK(rel(format_id::mxfp4) > rel(format_id::nvfp4));
}

TEST_CASE("LLM.int8 rows: the error of each value is at most half a step of its row") {
  const std::size_t rows = 64, cols = 1024;
  auto x = qmath::samples::gaussian(rows * cols, 4);
  for (std::size_t r = 0; r < rows; ++r)  // rows over four decades
    for (std::size_t c = 0; c < cols; ++c) x[r * cols + c] *= std::pow(10.0f, static_cast<float>(r % 5) - 2.0f);
  const auto e = qmath::round_trip_error(qmath::bnb_int8_rowwise_info(cols), x);
  // half a step of the largest row (amax ~ 4 x 100) / 127, plus float rounding
  CHECK(e.max_abs_error <= 4.6 * 100 / 254);
  // each row keeps 8 bits relative to itself: about 1% of N(0,1)'s RMS, whatever the row's scale
  CHECK(e.relative_rmse < 0.012);
  CHECK(e.relative_rmse > 0.005);
}

TEST_CASE("FP8 checkpoint layouts: block scales track the data, a tensor scale does not") {
  namespace fp8c = qmath::fp8_checkpoint;
  const std::size_t rows = 256, cols = 512;
  auto x = qmath::samples::gaussian(rows * cols, 5);
  // the second 128-row band five orders of magnitude below the first
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) x[r * cols + c] *= std::pow(10.0f, -5.0f * static_cast<float>(r / 128));
  const auto block = qmath::round_trip_error(x, fp8c::scale_grid::block_wise(rows, cols));
  const auto channel = qmath::round_trip_error(x, fp8c::scale_grid::per_channel(rows, cols));
  const auto tensor = qmath::round_trip_error(x, fp8c::scale_grid::per_tensor(rows, cols));
  // e4m3 keeps 4 significant bits: relative RMSE ~ 2^-4 / sqrt(3) / ... about 2.6%
  for (const auto* e : {&block, &channel}) {
    CHECK(e->relative_rmse < 0.035);
    CHECK(e->relative_rmse > 0.015);
  }
  // relative to the small band: with one tensor scale its values (about
  // 448 / 4.5 x 1e-5 = 0.001 once scaled) fall among e4m3's subnormals
  // (steps of 2^-9 = 0.002) and lose most of their bits
  std::vector<float> small(x.begin() + 128 * cols, x.end());
  std::vector<std::uint8_t> q(x.size());
  std::vector<float> s(1), y(x.size());
  fp8c::quantize(x, fp8c::scale_grid::per_tensor(rows, cols), q, s);
  fp8c::dequantize(q, s, fp8c::scale_grid::per_tensor(rows, cols), y);
  const auto small_tensor = qmath::measure_error(small, std::span<const float>(y).subspan(128 * cols));
  CHECK(small_tensor.relative_rmse > 0.3);
  // unscaled data of one magnitude: all three layouts give e4m3's relative error
  const auto unit = qmath::samples::gaussian(rows * cols, 6);
  const double b = qmath::round_trip_error(unit, fp8c::scale_grid::block_wise(rows, cols)).relative_rmse;
  const double t = qmath::round_trip_error(unit, fp8c::scale_grid::per_tensor(rows, cols)).relative_rmse;
  CHECK(b == Approx(t).epsilon(0.05));
  CHECK(tensor.relative_rmse >= block.relative_rmse * 0.99);
  CHECK_THROWS_AS(qmath::round_trip_error(std::span<const float>(unit).first(100), fp8c::scale_grid::block_wise(rows, cols)),
                  qmath::error);
}

TEST_CASE("expected errors: per format on the standard samples, per recipe weighted by elements") {
  using qmath::format_id;
  qmath::expected_errors<> table;
  const auto q8 = table.of(qmath::info(format_id::q8_0));
  CHECK(q8.gaussian.count == qmath::expected_error_samples);
  const auto direct = qmath::round_trip_error(qmath::info(format_id::q8_0),
                                              qmath::samples::gaussian(qmath::expected_error_samples, 1));
  CHECK(q8.gaussian.rmse == direct.rmse);
  // the heavy tail costs block formats (a block's outlier sets its step) ...
  CHECK(q8.student_t3.relative_rmse > q8.gaussian.relative_rmse);
  // ... but not float formats, whose error is relative to each value
  const auto bf = table.of(qmath::info(format_id::bf16));
  CHECK(bf.student_t3.relative_rmse == Approx(bf.gaussian.relative_rmse).epsilon(0.05));
  // LLM.int8 rows longer than the samples: one whole row
  CHECK(table.of(qmath::bnb_int8_rowwise_info(100000)).gaussian.count == 100000);
  CHECK(table.of(qmath::group_int4_info(format_id::gptq_int4)).gaussian.count == qmath::expected_error_samples);

  const auto& model = qmath::models::llama_3_8b;
  const auto uniform_q8 = table.of(model, qmath::weight_recipe::uniform(qmath::info(format_id::q8_0)));
  CHECK(uniform_q8.elements == qmath::weight_bytes(model, qmath::weight_recipe::checkpoint()).total_parameters());
  // the matrices hold all but 0.01% of the elements (norm vectors stay f16)
  CHECK(uniform_q8.gaussian_relative_rmse == Approx(q8.gaussian.relative_rmse).epsilon(0.001));
  CHECK(uniform_q8.gaussian_relative_rmse < q8.gaussian.relative_rmse);
  // a GGUF mix lies between its types: Q4_K_M is Q4_K with some Q6_K tensors
  const auto q4_k_m = table.of(model, qmath::weight_recipe::gguf(qmath::gguf_ftype::q4_k_m));
  CHECK(q4_k_m.gaussian_relative_rmse < table.of(qmath::info(format_id::q4_k)).gaussian.relative_rmse);
  CHECK(q4_k_m.gaussian_relative_rmse > table.of(qmath::info(format_id::q6_k)).gaussian.relative_rmse);
  const auto q2 = table.of(model, qmath::weight_recipe::gguf(qmath::gguf_ftype::q2_k));
  const auto q8m = table.of(model, qmath::weight_recipe::gguf(qmath::gguf_ftype::q8_0));
  CHECK(q2.gaussian_relative_rmse > q4_k_m.gaussian_relative_rmse);
  CHECK(q4_k_m.gaussian_relative_rmse > q8m.gaussian_relative_rmse);
  CHECK(q4_k_m.gaussian_sqnr_db() == Approx(-20 * std::log10(q4_k_m.gaussian_relative_rmse)));
  // bnb LLM.int8 over the model: rows of each tensor's width
  const auto int8 = table.of(model, qmath::weight_recipe::bnb_8bit());
  CHECK(int8.gaussian_relative_rmse > q8m.gaussian_relative_rmse);  // rows of 4096 vs blocks of 32
  CHECK(int8.gaussian_relative_rmse < 0.02);
  // a format without a kernel
  CHECK_THROWS_AS(table.of(model, qmath::weight_recipe::uniform(qmath::info(format_id::bitnet_ternary))), qmath::error);
}

// qmath's llama.cpp estimate against what the real llama.cpp allocates, row
// by row: the golden measurements in tests/data/llama_cpp/dry_run.csv (or the
// file QMATH_LLAMA_CPP_CSV names: the live run of live_llama_cpp.sh).
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "catch.hpp"
#include "llama_cpp_rows.hpp"

namespace {

std::string csv_path() {
  const char* env = std::getenv("QMATH_LLAMA_CPP_CSV");
  return env != nullptr ? env : QMATH_TEST_DATA_DIR "/llama_cpp/dry_run.csv";
}

struct tally {
  int rows = 0, weights = 0, k = 0, v = 0, compute = 0, all = 0;
};

}  // namespace

TEST_CASE("qmath equals llama.cpp's dry run, row by row") {
  const auto rows = llama_rows::read(csv_path());
  REQUIRE(rows.size() > 0);
  std::map<std::string, tally> by_model;
  for (const auto& r : rows) {
    const auto a = llama_rows::model(r.model);
    REQUIRE(a.has_value());
    INFO(r.line);
    if (r.refused) {
      CHECK_THROWS_AS(qmath::llama_cpp::estimate(*a, llama_rows::recipe(r.recipe), r.params), qmath::error);
      continue;
    }
    const auto m = qmath::llama_cpp::estimate(*a, llama_rows::recipe(r.recipe), r.params);
    CHECK(m.weights == r.weights);
    CHECK(m.k_bytes == r.k);
    CHECK(m.v_bytes == r.v);
    CHECK(m.kv_bytes() == r.kv_total);  // the KV buffer of the breakdown: K + V, no padding
    // the architectures whose graph qmath replays are exact on the compute buffer too
    if (qmath::llama_cpp::graph_modelled(*a)) {
      CHECK(m.compute == r.compute);
      // the shortened replay (steady-state blocks skipped) is the full replay
      auto g = qmath::llama_cpp::graph_params_of(*a, r.params, m.context);
      g.full_depth = true;
      CHECK(qmath::ggml_alloc::reserve_bytes(qmath::llama_cpp::graph_detail::build_dense(g)) == m.compute);
    }
    auto& t = by_model[r.model];
    t.rows++;
    t.weights += m.weights == r.weights;
    t.k += m.k_bytes == r.k;
    t.v += m.v_bytes == r.v;
    t.compute += m.compute == r.compute;
    t.all += m.weights == r.weights && m.k_bytes == r.k && m.v_bytes == r.v && m.compute == r.compute;
    if (std::getenv("QMATH_LLAMA_CPP_VERBOSE") != nullptr && m.compute != r.compute)
      std::printf("compute %s: qmath %llu llama.cpp %llu (%+lld)\n", r.line.c_str(),
                  static_cast<unsigned long long>(m.compute), static_cast<unsigned long long>(r.compute),
                  static_cast<long long>(m.compute) - static_cast<long long>(r.compute));
    if (std::getenv("QMATH_LLAMA_CPP_VERBOSE") != nullptr && (m.weights != r.weights || m.k_bytes != r.k || m.v_bytes != r.v))
      std::printf("weights/kv %s: qmath %llu %llu %llu\n", r.line.c_str(), static_cast<unsigned long long>(m.weights),
                  static_cast<unsigned long long>(m.k_bytes), static_cast<unsigned long long>(m.v_bytes));
  }
  std::printf("%-18s %5s %8s %5s %5s %8s %5s\n", "model", "rows", "weights", "K", "V", "compute", "all");
  for (const auto& [name, t] : by_model)
    std::printf("%-18s %5d %8d %5d %5d %8d %5d\n", name.c_str(), t.rows, t.weights, t.k, t.v, t.compute, t.all);
}

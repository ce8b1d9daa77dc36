#pragma once
// qmath-plan --errors: the expected round-trip error of each weight format the
// runtime offers (the --best-format candidates, and the planned one), from
// qmath::expected_errors (qmath/quality/expected.hpp): every tensor of the
// model in the format the recipe stores it in, the noise of that format on
// qmath's standard samples (2^16 values of N(0,1) and of Student-t(3))
// weighted by the tensor's elements.

#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <qmath/quality.hpp>

#include "compute.hpp"
#include "resolve.hpp"

namespace qmath_plan {

struct error_row {
  std::string label;
  double bits = 0;
  bool planned = false;
  std::optional<qmath::recipe_error> error;  // none: a format qmath has no kernel for
};

inline std::vector<error_row> recipe_errors(const setup& s) {
  std::vector<qmath::weight_recipe> recipes = candidate_recipes(s.plan);
  const std::string planned = recipe_label(s.plan.weights, s.plan.model);
  bool offered = false;
  for (const auto& r : recipes) offered = offered || recipe_label(r, s.plan.model) == planned;
  if (!offered) {  // the planned recipe among the others, most bits first
    const double bits = qmath::weight_bytes(s.plan.model, s.plan.weights).bits_per_weight();
    auto at = recipes.begin();
    while (at != recipes.end() && qmath::weight_bytes(s.plan.model, *at).bits_per_weight() >= bits) ++at;
    recipes.insert(at, s.plan.weights);
  }
  qmath::expected_errors<> measured;
  std::vector<error_row> rows;
  for (const auto& r : recipes) {
    error_row row;
    row.label = recipe_label(r, s.plan.model);
    row.bits = qmath::weight_bytes(s.plan.model, r).bits_per_weight();
    row.planned = row.label == planned;
    try {
      row.error = measured.of(s.plan.model, r);
    } catch (const qmath::error&) {
    }
    rows.push_back(row);
  }
  return rows;
}

// "0.535%" and "45.43" (SQNR in dB), or "lossless" and "inf".
inline std::pair<std::string, std::string> error_cells(double relative_rmse) {
  if (relative_rmse == 0) return {"lossless", "inf"};
  char pct[32], db[32];
  const double p = 100.0 * relative_rmse;
  std::snprintf(pct, sizeof pct, p < 0.1 ? "%.4f%%" : "%.3f%%", p);
  std::snprintf(db, sizeof db, "%.2f", qmath::recipe_error::sqnr_db(relative_rmse));
  return {pct, db};
}

inline void print_errors(const setup& s, const std::vector<error_row>& rows) {
  std::printf("\nexpected round-trip error of each weight format (relative RMSE and SQNR over %.*s's tensors,\n"
              "each tensor's format measured on 2^16 values; N(0,1), and Student-t(3) for heavy-tailed weights)\n",
              static_cast<int>(s.plan.model.name.size()), s.plan.model.name.data());
  std::printf("  %-18s %7s %10s %8s %12s %8s\n", "weights", "bits/w", "N(0,1)", "dB", "t(3)", "dB");
  for (const auto& r : rows) {
    std::pair<std::string, std::string> g{"-", "-"}, t{"-", "-"};
    if (r.error) {
      g = error_cells(r.error->gaussian_relative_rmse);
      t = error_cells(r.error->student_t3_relative_rmse);
    }
    std::printf("  %-18s %7.2f %10s %8s %12s %8s%s\n", r.label.c_str(), r.bits, g.first.c_str(), g.second.c_str(),
                t.first.c_str(), t.second.c_str(), r.planned ? "  (planned)" : "");
  }
}

inline nlohmann::ordered_json errors_json(const std::vector<error_row>& rows) {
  using J = nlohmann::ordered_json;
  // 6 significant digits and 0.001 dB: what the samples determine, and the
  // same text on every platform
  auto one = [](double relative_rmse) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", relative_rmse);
    const double db = std::round(qmath::recipe_error::sqnr_db(relative_rmse) * 1000.0) / 1000.0;
    return J{{"relative_rmse", std::stod(buf)}, {"sqnr_db", relative_rmse == 0 ? J(nullptr) : J(db)}};
  };
  J out = J::array();
  for (const auto& r : rows) {
    J e;
    e["weights"] = r.label;
    e["bits_per_weight"] = std::round(r.bits * 1e4) / 1e4;
    e["planned"] = r.planned;
    e["gaussian"] = r.error ? one(r.error->gaussian_relative_rmse) : J(nullptr);
    e["student_t3"] = r.error ? one(r.error->student_t3_relative_rmse) : J(nullptr);
    out.push_back(e);
  }
  return out;
}

}  // namespace qmath_plan

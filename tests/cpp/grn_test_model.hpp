#pragma once
// Shared by the sparse linear-solver tests (test_klu.cpp, test_gmres.cpp): a seeded synthetic GRN
// model and its 21-day protocol with a knockout, a clamp and a parameter window, osteogenic_medium
// with the same kinds of window and the check that they hold, a sample grid, and the worst
// relative difference of two runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"
#include "osteogrn/result.hpp"

namespace osteogrn::test {

// Portable seeded generator (splitmix64): std distributions differ between standard libraries.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  double uniform(double lo, double hi) {
    s_ += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = s_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return lo + (hi - lo) * static_cast<double>(z >> 11) * 0x1.0p-53;
  }
  std::size_t index(std::size_t n) {
    return std::min(n - 1, static_cast<std::size_t>(uniform(0.0, static_cast<double>(n))));
  }

 private:
  std::uint64_t s_;
};

inline std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// A synthetic GRN like benchmarks/grn_generator.py: gene i is driven by 1-3 random regulators
// (Hill activation with exponent 1, 2 or 4, or repression), degrades at 0.2-20 /day (stiff),
// and every 10th gene is fed by the medium input s (half-life 2 days) or repressed by r.
inline std::string grn_model(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::string species, params, odes;
  const auto param = [&](const std::string& name, double v) {
    params += (params.empty() ? "" : ",\n") + std::string("\"") + name + "\": {\"value\": " +
              num(v) + ", \"source\": \"assumed: test\"}";
    return name;
  };
  for (std::size_t i = 0; i < n; ++i) {
    const std::string g = "g" + std::to_string(i), si = std::to_string(i);
    species += (i ? ",\n" : "") + ("\"" + g + "\": {\"initial\": " + num(rng.uniform(0.05, 1.0)) +
                                   "}");
    std::string drive = param("b_" + si, rng.uniform(0.05, 0.3)), rep;
    const std::size_t k = 1 + rng.index(3);
    for (std::size_t r = 0; r < k; ++r) {
      std::size_t j = rng.index(n - 1);
      if (j >= i) ++j;  // never self-regulated: the diagonal comes from degradation only
      const std::string sj = std::to_string(j), kk = param("K_" + si + "_" + std::to_string(r),
                                                             rng.uniform(0.2, 1.0));
      const int e = static_cast<int>(std::vector<int>{1, 2, 2, 4}[rng.index(4)]);
      if (rng.uniform(0, 1) < 0.6)
        drive += " + " + param("w_" + si + "_" + std::to_string(r), rng.uniform(0.5, 2.0)) +
                 " * hill(g" + sj + ", " + kk + ", " + std::to_string(e) + ")";
      else
        rep += " * hill_rep(g" + sj + ", " + kk + ", " + std::to_string(std::min(e, 2)) + ")";
    }
    if (i % 10 == 0)
      drive += " + " + param("ws_" + si, rng.uniform(0.5, 2.0)) + " * hill(s, 20, 1)";
    if (i % 10 == 5) rep += " * hill_rep(r, 5, 2)";
    const double d = std::pow(10.0, rng.uniform(-0.7, 1.3));
    param("d_" + si, d);
    param("v_" + si, d * rng.uniform(0.5, 1.5));
    odes += (i ? ",\n" : "") + ("\"" + g + "\": \"v_" + si + " * (" + drive + ")" + rep +
                                " - d_" + si + " * " + g + "\"");
  }
  return R"({"schema": "osteogrn-model/1", "name": "grn_test", "time_unit": "day",
    "inputs": {"s": {"default": 0, "unit": "nM"}, "r": {"default": 0, "unit": "nM"}},
    "species": {)" + species + R"(}, "parameters": {)" + params + R"(}, "odes": {)" + odes +
         R"J(}, "observables": {"sum3": "g0 + g1 + g2", "ratio": "g3 / (0.1 + g4)"}})J";
}

// 21 days, medium every 2.625 days; r only in the first week; a knockout, a clamp and a
// parameter window.
inline std::string grn_protocol() {
  return R"({"schema": "osteogrn-protocol/1", "name": "grn21", "duration": 21,
    "media_changes": {"every": 2.625},
    "components": {"s": {"concentration": 30, "unit": "nM", "half_life": 2},
                   "r": {"concentration": 10, "unit": "nM", "from": 0, "until": 7}},
    "perturbations": [{"knockout": "g7", "from": 3, "until": 9},
                      {"clamp": "g12", "value": 1.5, "from": 6, "until": 14},
                      {"parameter": "d_20", "scale": 0.25, "from": 10, "until": 16}]})";
}

inline std::vector<double> grid(double to, double step) {
  std::vector<double> t;
  for (int i = 0; i * step <= to + 1e-12; ++i) t.push_back(i * step);
  return t;
}

// Worst |a - b| / max(|b|, floor) over columns of row-major [rows x cols] data; floor = 1e-6 of
// the column's largest |value|, and at least 1e-8 of the largest |value| of all (columns that
// are 0 up to round-off, such as sensitivities a parameter cannot reach, are compared on that).
inline double worst_rel(const std::vector<double>& a, const std::vector<double>& b,
                        std::size_t cols) {
  EXPECT_EQ(a.size(), b.size());
  if (cols == 0 || a.size() != b.size()) return cols == 0 ? 0.0 : INFINITY;
  const std::size_t rows = b.size() / cols;
  double global = 1e-300;
  for (double v : b) global = std::max(global, std::abs(v));
  double worst = 0.0;
  for (std::size_t c = 0; c < cols; ++c) {
    double scale = 0.0;
    for (std::size_t r = 0; r < rows; ++r) scale = std::max(scale, std::abs(b[r * cols + c]));
    const double floor = std::max(1e-6 * scale, 1e-8 * global);
    for (std::size_t r = 0; r < rows; ++r) {
      const double x = a[r * cols + c], y = b[r * cols + c];
      if (!std::isfinite(x)) return INFINITY;
      worst = std::max(worst, std::abs(x - y) / std::max(std::abs(y), floor));
    }
  }
  return worst;
}

// osteogenic_medium with a knockout (Sp7, days 12-15), a clamp (Runx2 = 0.8, days 4-8) and a
// parameter window (d_runx2 x 0.5, days 9-11): the windows every linear solver must honour.
inline Protocol osteogenic_windows_protocol() {
  const Protocol proto = Protocol::from_file(std::string(OSTEOGRN_SOURCE_DIR) +
                                             "/models/protocols/osteogenic_medium.json");
  Perturbation ko, clamp, scale;
  ko.kind = PerturbationKind::Knockout;
  ko.target = "Sp7";
  ko.from = 12;
  ko.until = 15;
  clamp.kind = PerturbationKind::Clamp;
  clamp.target = "Runx2";
  clamp.value = 0.8;
  clamp.from = 4;
  clamp.until = 8;
  scale.kind = PerturbationKind::Parameter;
  scale.target = "d_runx2";
  scale.scale = true;
  scale.value = 0.5;
  scale.from = 9;
  scale.until = 11;
  return proto.with_perturbations({ko, clamp, scale});
}

// The clamp and the knockout of osteogenic_windows_protocol hold exactly, whatever the linear
// solver: they are not its business.
inline void expect_windows_hold(const Result& r, const Model& model) {
  const std::size_t n = r.species_names.size();
  const std::size_t runx2 = *model.find_species("Runx2"), sp7 = *model.find_species("Sp7");
  for (std::size_t i = 0; i < r.t.size(); ++i) {
    if (r.t[i] >= 4 && r.t[i] < 8) EXPECT_EQ(r.species[i * n + runx2], 0.8) << r.t[i];
    if (r.t[i] >= 12 && r.t[i] < 15) EXPECT_EQ(r.species[i * n + sp7], 0.0) << r.t[i];
  }
}

}  // namespace osteogrn::test

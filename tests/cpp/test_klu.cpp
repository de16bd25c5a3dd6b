// linear_solver "klu": CVODES with KLU on the sparse Jacobian pattern gives the trajectories (and
// sensitivities) of dense LU on the composed osteogenic model and on a generated 200-gene GRN,
// through media changes, clamp/knockout/parameter windows; the diagonal is added where the
// Jacobian lacks it (exact solution); option errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "osteogrn/errors.hpp"
#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"
#include "osteogrn/simulate.hpp"

using namespace osteogrn;

namespace {

const std::string kRoot = OSTEOGRN_SOURCE_DIR;

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

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// A synthetic GRN like benchmarks/grn_generator.py: gene i is driven by 1-3 random regulators
// (Hill activation with exponent 1, 2 or 4, or repression), degrades at 0.2-20 /day (stiff),
// and every 10th gene is fed by the medium input s (half-life 2 days) or repressed by r.
std::string grn_model(std::size_t n, std::uint64_t seed) {
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
    if (i % 10 == 0) drive += " + " + param("ws_" + si, rng.uniform(0.5, 2.0)) + " * hill(s, 20, 1)";
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
std::string grn_protocol() {
  return R"({"schema": "osteogrn-protocol/1", "name": "grn21", "duration": 21,
    "media_changes": {"every": 2.625},
    "components": {"s": {"concentration": 30, "unit": "nM", "half_life": 2},
                   "r": {"concentration": 10, "unit": "nM", "from": 0, "until": 7}},
    "perturbations": [{"knockout": "g7", "from": 3, "until": 9},
                      {"clamp": "g12", "value": 1.5, "from": 6, "until": 14},
                      {"parameter": "d_20", "scale": 0.25, "from": 10, "until": 16}]})";
}

SolverOptions opts(const std::string& solver, Method method = Method::cvode_bdf,
                   std::vector<std::string> sens = {}) {
  SolverOptions o;
  o.method = method;
  o.rtol = 1e-10;
  o.atol = 1e-12;
  o.linear_solver = parse_linear_solver(solver);
  o.sensitivities = std::move(sens);
  return o;
}

std::vector<double> grid(double to, double step) {
  std::vector<double> t;
  for (int i = 0; i * step <= to + 1e-12; ++i) t.push_back(i * step);
  return t;
}

// Worst |a - b| / max(|b|, floor) over columns of row-major [rows x cols] data; floor = 1e-6 of
// the column's largest |value|, and at least 1e-8 of the largest |value| of all (columns that
// are 0 up to round-off, such as sensitivities a parameter cannot reach, are compared on that).
double worst_rel(const std::vector<double>& a, const std::vector<double>& b, std::size_t cols) {
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

void expect_same(const Result& klu, const Result& dense, double tol) {
  ASSERT_TRUE(klu.success) << klu.status;
  ASSERT_TRUE(dense.success) << dense.status;
  EXPECT_GT(klu.stats.jac_evals, 0);
  EXPECT_LE(worst_rel(klu.species, dense.species, dense.species_names.size()), tol);
  EXPECT_LE(worst_rel(klu.observables, dense.observables, dense.observable_names.size()), tol);
  const std::size_t m = dense.sensitivity_parameters.size();
  if (m) {
    EXPECT_EQ(klu.sensitivity_parameters, dense.sensitivity_parameters);
    const std::size_t n_out = dense.species_names.size() + dense.observable_names.size();
    EXPECT_LE(worst_rel(klu.sensitivities, dense.sensitivities, n_out * m), tol);
  }
}

Protocol osteogenic_protocol() {
  const Protocol proto = Protocol::from_file(kRoot + "/models/protocols/osteogenic_medium.json");
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

TEST(Klu, OsteogenicMatchesDenseBdfAndAdams) {
  const Model model = Model::from_file(kRoot + "/models/osteogenic.json");
  const Protocol proto = osteogenic_protocol();
  const std::vector<double> t = grid(21, 0.25);
  for (Method method : {Method::cvode_bdf, Method::cvode_adams}) {
    SCOPED_TRACE(to_string(method));
    const Result dense = simulate(model, proto, t, opts("dense", method));
    const Result klu = simulate(model, proto, t, opts("klu", method));
    if (method == Method::cvode_bdf) {
      // Same Jacobian, same Newton matrix: BDF takes the same steps (the LU round-off differs
      // only), so the trajectories agree far below the tolerance.
      expect_same(klu, dense, 1e-8);
      EXPECT_NEAR(klu.stats.steps, dense.stats.steps, 0.02 * dense.stats.steps);
      EXPECT_NEAR(klu.stats.nonlin_iters, dense.stats.nonlin_iters,
                  0.02 * dense.stats.nonlin_iters);
    } else {
      // Adams' step-size control amplifies the round-off difference of the two LUs into a
      // different step sequence (measured: 1231 vs 1169 steps), so the runs agree only to the
      // integration accuracy (Adams and BDF differ by ~1e-8 here): 1e-6 on the small species.
      expect_same(klu, dense, 1e-6);
    }
    // The clamp and the knockout hold exactly under KLU too.
    const std::size_t n = klu.species_names.size();
    const std::size_t runx2 = *model.find_species("Runx2"), sp7 = *model.find_species("Sp7");
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (t[i] >= 4 && t[i] < 8) EXPECT_EQ(klu.species[i * n + runx2], 0.8) << t[i];
      if (t[i] >= 12 && t[i] < 15) EXPECT_EQ(klu.species[i * n + sp7], 0.0) << t[i];
    }
  }
}

TEST(Klu, OsteogenicSensitivitiesMatchDense) {
  const Model model = Model::from_file(kRoot + "/models/osteogenic.json");
  const Protocol proto = osteogenic_protocol();
  const std::vector<std::string> names = {"d_runx2", "k_alp", "TCF_total", "k_ract"};
  const std::vector<double> t = grid(21, 0.5);
  const Result dense = simulate(model, proto, t, opts("dense", Method::cvode_bdf, names));
  const Result klu = simulate(model, proto, t, opts("klu", Method::cvode_bdf, names));
  EXPECT_GT(klu.stats.sens_rhs_evals, 0);
  expect_same(klu, dense, 1e-8);
}

TEST(Klu, Grn200MatchesDenseWithWindowsAndSensitivities) {
  const Model model = Model::from_json(grn_model(200, 42), "grn200.json");
  ASSERT_EQ(model.species().size(), 200u);
  const Protocol proto = Protocol::from_json(grn_protocol(), "grn21.json");
  const std::vector<double> t = grid(21, 0.5);
  const Result dense = simulate(model, proto, t, opts("dense"));
  const Result klu = simulate(model, proto, t, opts("klu"));
  expect_same(klu, dense, 1e-8);
  // The network is not trivial: the perturbed genes and the medium actually move things.
  const std::size_t n = 200, g12 = *model.find_species("g12"), g7 = *model.find_species("g7");
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] >= 6 && t[i] < 14) EXPECT_EQ(klu.species[i * n + g12], 1.5) << t[i];
    if (t[i] >= 3 && t[i] < 9) EXPECT_EQ(klu.species[i * n + g7], 0.0) << t[i];
  }
  EXPECT_GE(klu.stats.restarts, 9);

  const std::vector<std::string> names = {"d_20", "v_3", "b_0"};
  const Result dense_s = simulate(model, proto, t, opts("dense", Method::cvode_bdf, names));
  const Result klu_s = simulate(model, proto, t, opts("klu", Method::cvode_bdf, names));
  expect_same(klu_s, dense_s, 1e-8);
  double largest = 0.0;
  for (double v : klu_s.sensitivities) largest = std::max(largest, std::abs(v));
  EXPECT_GT(largest, 1e-3);
}

// Species whose equations do not depend on themselves (no diagonal in ∂f/∂y) or on anything
// (an empty column and row): KLU still factors I - γJ. x' = k u (u fed, decaying), z' = a x,
// w' = 0, so x, z and w have closed forms.
TEST(Klu, MissingDiagonalExactSolution) {
  const char* model_json = R"({"schema": "osteogrn-model/1", "name": "nodiag", "time_unit": "day",
    "inputs": {"u": {"default": 0, "unit": "nM"}},
    "species": {"x": {"initial": 0.2}, "z": {"initial": 1.0}, "w": {"initial": 3.0}},
    "parameters": {"k": {"value": 0.7, "source": "assumed: test"},
                   "a": {"value": 0.3, "source": "assumed: test"}},
    "odes": {"x": "k * u", "z": "a * x", "w": "0"}})";
  const char* proto_json = R"({"schema": "osteogrn-protocol/1", "name": "u", "duration": 4,
    "components": {"u": {"concentration": 2, "unit": "nM", "half_life": 1}}})";
  const Model model = Model::from_json(model_json, "nodiag.json");
  const Protocol proto = Protocol::from_json(proto_json, "u.json");
  const std::vector<double> t = grid(4, 0.5);
  const Result r = simulate(model, proto, t, opts("klu"));
  ASSERT_TRUE(r.success) << r.status;
  const double lam = std::log(2.0), k = 0.7, a = 0.3, c = 2.0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const double ti = t[i];
    // x = x0 + k c (1 - e^{-λt}) / λ; z = z0 + a (x0 t + k c (t - (1 - e^{-λt}) / λ) / λ)
    const double e = (1.0 - std::exp(-lam * ti)) / lam;
    const double x = 0.2 + k * c * e, z = 1.0 + a * (0.2 * ti + k * c * (ti - e) / lam);
    EXPECT_NEAR(r.species[i * 3 + 0], x, 1e-8 * x) << ti;
    EXPECT_NEAR(r.species[i * 3 + 1], z, 1e-8 * z) << ti;
    EXPECT_EQ(r.species[i * 3 + 2], 3.0) << ti;
  }
}

TEST(Klu, OptionErrors) {
  const Model model = Model::from_file(kRoot + "/models/osteogenic.json");
  const Protocol proto = Protocol::from_file(kRoot + "/models/protocols/osteogenic_medium.json");
  for (Method method : {Method::rosenbrock4, Method::dopri5}) {
    SolverOptions o = opts("klu", method);
    try {
      simulate(model, proto, {0.0, 1.0}, o);
      ADD_FAILURE() << "klu with " << to_string(method) << " was accepted";
    } catch (const OptionError& e) {
      EXPECT_NE(std::string(e.what()).find("klu"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(to_string(method)), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(simulate(model, proto, {0.0, 1.0}, opts("KLU")), OptionError);
  EXPECT_NO_THROW(simulate(model, proto, {0.0, 1.0}, opts("klu", Method::cvode_adams)));
}

}  // namespace

// linear_solver "klu": CVODES with KLU on the sparse Jacobian pattern gives the trajectories (and
// sensitivities) of dense LU on the composed osteogenic model and on a generated 200-gene GRN,
// through media changes, clamp/knockout/parameter windows (the GRN and the helpers are in
// grn_test_model.hpp, shared with test_gmres.cpp); the diagonal is added where the Jacobian
// lacks it (exact solution); option errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "grn_test_model.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"
#include "osteogrn/simulate.hpp"

using namespace osteogrn;
using osteogrn::test::grid;
using osteogrn::test::grn_model;
using osteogrn::test::grn_protocol;
using osteogrn::test::expect_windows_hold;
using osteogrn::test::osteogenic_windows_protocol;
using osteogrn::test::worst_rel;

namespace {

const std::string kRoot = OSTEOGRN_SOURCE_DIR;

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

TEST(Klu, OsteogenicMatchesDenseBdfAndAdams) {
  const Model model = Model::from_file(kRoot + "/models/osteogenic.json");
  const Protocol proto = osteogenic_windows_protocol();
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
    expect_windows_hold(klu, model);
  }
}

TEST(Klu, OsteogenicSensitivitiesMatchDense) {
  const Model model = Model::from_file(kRoot + "/models/osteogenic.json");
  const Protocol proto = osteogenic_windows_protocol();
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

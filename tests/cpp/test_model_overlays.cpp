// Model::rhs / jacobian / parameter_jacobian / observe honour the model's overlays (knockouts,
// clamps, parameter overrides from Model::knockout or a model file's "perturbations"), checked
// against the unperturbed model evaluated at the held point and against central finite
// differences of the overlaid right-hand side itself.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "osteogrn/model.hpp"

using namespace osteogrn;

namespace {

Model load_builtin(const std::string& name) {
  LoadOptions opts;
  opts.search_paths = {std::string(OSTEOGRN_SOURCE_DIR) + "/models"};
  return Model::from_file(std::string(OSTEOGRN_SOURCE_DIR) + "/models/" + name + ".json", opts);
}

std::vector<double> random_state(const Model& m, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(0.05, 1.5);
  std::vector<double> y(m.species().size());
  for (double& v : y) v = dist(rng);
  return y;
}

std::vector<double> some_inputs(const Model& m) {
  std::vector<double> u(m.inputs().size());
  for (std::size_t k = 0; k < u.size(); ++k) u[k] = 0.5 + 0.25 * static_cast<double>(k);
  return u;
}

// Central differences of model.rhs over y, dense row-major [n x n].
std::vector<double> fd_jacobian(const Model& m, double t, const std::vector<double>& y,
                                const std::vector<double>& u) {
  const std::size_t n = y.size();
  std::vector<double> J(n * n);
  for (std::size_t c = 0; c < n; ++c) {
    const double h = 1e-6 * std::max(1.0, std::abs(y[c]));
    auto yp = y, ym = y;
    yp[c] += h;
    ym[c] -= h;
    const auto fp = m.rhs(t, yp, u), fm = m.rhs(t, ym, u);
    for (std::size_t r = 0; r < n; ++r) J[r * n + c] = (fp[r] - fm[r]) / (2 * h);
  }
  return J;
}

// Central differences of model.rhs over the model's parameter values (with_parameters), dense
// row-major [n_species x n_parameters]. Parameters at 0 or a bound get a one-sided-safe step.
std::vector<double> fd_parameter_jacobian(const Model& m, double t, const std::vector<double>& y,
                                          const std::vector<double>& u) {
  const std::size_t n = y.size(), np = m.parameters().size();
  std::vector<double> J(n * np);
  for (std::size_t j = 0; j < np; ++j) {
    const auto& info = m.parameters()[j];
    const double v = m.parameter_values()[j];
    double h = 1e-6 * std::max(1e-3, std::abs(v));
    h = std::min({h, (info.max - v) / 2, (v - info.min) / 2});
    if (!(h > 0)) continue;  // pinned by its bounds: leave the column to the symbolic check
    const auto fp = m.with_parameters({{info.name, v + h}}).rhs(t, y, u);
    const auto fm = m.with_parameters({{info.name, v - h}}).rhs(t, y, u);
    for (std::size_t r = 0; r < n; ++r) J[r * np + j] = (fp[r] - fm[r]) / (2 * h);
  }
  return J;
}

void expect_close(const std::vector<double>& a, const std::vector<double>& b, double rel,
                  const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(a[i], b[i], rel * std::max(1.0, std::abs(b[i]))) << what << " entry " << i;
}

TEST(ModelOverlays, KnockoutHoldsSpeciesInRhs) {
  const Model base = load_builtin("osteogenic");
  const Model ko = base.knockout("Runx2");
  const std::size_t r = *base.find_species("Runx2");
  const auto y = random_state(base, 1);
  const auto u = some_inputs(base);
  const auto f = ko.rhs(3.0, y, u);
  EXPECT_EQ(f[r], 0.0) << "a knocked-out species has derivative 0";
  // Every other equation sees Runx2 = 0, whatever y says.
  auto y0 = y;
  y0[r] = 0.0;
  const auto f_base = base.rhs(3.0, y0, u);
  for (std::size_t i = 0; i < f.size(); ++i)
    if (i != r) EXPECT_EQ(f[i], f_base[i]) << base.species()[i].name;
  // ... and the base model still differs (the overlay is not shared with it).
  EXPECT_NE(base.rhs(3.0, y, u)[r], 0.0);
}

TEST(ModelOverlays, KnockoutJacobiansMatchFiniteDifferences) {
  const Model ko = load_builtin("osteogenic").knockout("Runx2").knockout("Sp7");
  const auto u = some_inputs(ko);
  for (unsigned seed : {2u, 3u}) {
    const auto y = random_state(ko, seed);
    expect_close(ko.jacobian(4.0, y, u), fd_jacobian(ko, 4.0, y, u), 1e-5, "jacobian");
    expect_close(ko.parameter_jacobian(4.0, y, u), fd_parameter_jacobian(ko, 4.0, y, u), 1e-5,
                 "parameter_jacobian");
  }
  const std::size_t n = ko.species().size(), r = *ko.find_species("Runx2");
  const auto J = ko.jacobian(4.0, random_state(ko, 4), u);
  for (std::size_t c = 0; c < n; ++c) EXPECT_EQ(J[r * n + c], 0.0) << "row of a held species";
  for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(J[i * n + r], 0.0) << "column of a held species";
}

// A model file whose perturbations clamp a species and scale / set parameters on windows.
std::string overlay_model() {
  return R"({
    "schema": "osteogrn-model/1", "name": "overlays", "time_unit": "day",
    "species": {"A": {"initial": 1, "unit": "au"}, "B": {"initial": 0.5, "unit": "au"},
                "C": {"initial": 0.2, "unit": "au"}},
    "parameters": {
      "k": {"value": 0.7, "min": 0, "max": 10, "unit": "1/day", "source": "assumed: test"},
      "d": {"value": 0.3, "min": 0, "max": 10, "unit": "1/day", "source": "assumed: test"},
      "K": {"value": 0.4, "min": 0.01, "max": 10, "unit": "au", "source": "assumed: test"}},
    "odes": {"A": "k * hill(C, K, 2) - d * A",
             "B": "k * A * C - d * B^2",
             "C": "0.5 - d * C * A"},
    "observables": {"AB": {"expression": "A * B + k", "unit": "au"}},
    "perturbations": [{"parameter": "k", "scale": 2.5, "from": 1, "until": 5},
                      {"parameter": "d", "value": 0.9, "from": 2, "until": 4},
                      {"clamp": "C", "value": 0.35, "from": 3, "until": 6}]
  })";
}

TEST(ModelOverlays, WindowedParameterOverridesAndClamps) {
  const Model m = Model::from_json(overlay_model(), "overlays.json");
  const Model plain = Model::from_json(overlay_model().substr(0, overlay_model().find(
      ",\n    \"perturbations\"")) + "}", "plain.json");
  const std::vector<double> y{0.8, 0.6, 0.9}, u{};
  // t = 0.5: nothing active.
  EXPECT_EQ(m.rhs(0.5, y, u), plain.rhs(0.5, y, u));
  // t = 1.5: k scaled by 2.5.
  EXPECT_EQ(m.rhs(1.5, y, u), plain.with_parameters({{"k", 1.75}}).rhs(1.5, y, u));
  // t = 3.5: k scaled, d set to 0.9, C clamped at 0.35 (derivative 0).
  auto yc = y;
  yc[2] = 0.35;
  auto expected = plain.with_parameters({{"k", 1.75}, {"d", 0.9}}).rhs(3.5, yc, u);
  expected[2] = 0.0;
  EXPECT_EQ(m.rhs(3.5, y, u), expected);
  EXPECT_EQ(m.observe(3.5, y, u), plain.with_parameters({{"k", 1.75}}).observe(3.5, yc, u));
  // t = 5 (until is exclusive): only the clamp remains.
  auto expected5 = plain.rhs(5.0, yc, u);
  expected5[2] = 0.0;
  EXPECT_EQ(m.rhs(5.0, y, u), expected5);
  // Derivatives through the overlays, at every window combination.
  for (double t : {0.5, 1.5, 2.5, 3.5, 5.0, 7.0}) {
    expect_close(m.jacobian(t, y, u), fd_jacobian(m, t, y, u), 1e-6,
                 "jacobian at t=" + std::to_string(t));
    expect_close(m.parameter_jacobian(t, y, u), fd_parameter_jacobian(m, t, y, u), 1e-6,
                 "parameter_jacobian at t=" + std::to_string(t));
  }
  // Under the value override d no longer depends on the model's d; under the scale k does x2.5.
  const auto Jp = m.parameter_jacobian(3.5, y, u);
  const std::size_t np = m.parameters().size(), jd = *m.find_parameter("d");
  for (std::size_t r = 0; r < 3; ++r) EXPECT_EQ(Jp[r * np + jd], 0.0);
}

}  // namespace

// Steady states (Newton and integration paths) against closed forms, with their sensitivities;
// a system without a steady state; the initial-state override of simulate().
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "osteogrn/errors.hpp"
#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"
#include "osteogrn/simulate.hpp"
#include "osteogrn/steady_state.hpp"

using namespace osteogrn;

namespace {

// x' = a u - b x, y' = c x - d y: steady state x = a u / b, y = c a u / (b d); J nonsingular.
const char* kLinear = R"({
  "schema": "osteogrn-model/1", "name": "linear", "time_unit": "day",
  "inputs": {"u": {"default": 1, "unit": "nM"}},
  "species": {"x": {"initial": 0.1}, "y": {"initial": 0.2}},
  "parameters": {
    "a": {"value": 0.8, "max": 100, "source": "assumed: test"},
    "b": {"value": 0.5, "max": 100, "source": "assumed: test"},
    "c": {"value": 1.5, "max": 100, "source": "assumed: test"},
    "d": {"value": 0.25, "max": 100, "source": "assumed: test"}
  },
  "odes": {"x": "a * u - b * x", "y": "c * x - d * y"}
})";

// A <-> B (A' = -k1 A + k2 B, B' = -A'): A + B is conserved, J is singular. Steady state
// A = k2 T / (k1 + k2), B = k1 T / (k1 + k2) with T = A(0) + B(0).
const char* kConserved = R"({
  "schema": "osteogrn-model/1", "name": "conserved", "time_unit": "day",
  "species": {"A": {"initial": 1.0}, "B": {"initial": 0.5}},
  "parameters": {
    "k1": {"value": 2.0, "max": 100, "source": "assumed: test"},
    "k2": {"value": 0.5, "max": 100, "source": "assumed: test"}
  },
  "odes": {"A": "-k1 * A + k2 * B", "B": "k1 * A - k2 * B"}
})";

// x' = p: grows for ever.
const char* kGrowth = R"({
  "schema": "osteogrn-model/1", "name": "growth", "time_unit": "day",
  "species": {"x": {"initial": 1.0}},
  "parameters": {"p": {"value": 1.0, "source": "assumed: test"}},
  "odes": {"x": "p"}
})";

// x' = -k x (+ z' = -z, to have a second species).
const char* kDecay = R"({
  "schema": "osteogrn-model/1", "name": "decay", "time_unit": "day",
  "species": {"x": {"initial": 1.0}, "z": {"initial": 3.0}},
  "parameters": {"k": {"value": 0.7, "max": 100, "source": "assumed: test"}},
  "odes": {"x": "-k * x", "z": "-z"}
})";

Protocol plain(double duration = 10.0) {
  return Protocol::from_json(R"({"schema": "osteogrn-protocol/1", "name": "plain", "duration": )" +
                                 std::to_string(duration) + "}",
                             "plain.json");
}

Protocol with_u(double u, const std::string& perturbations = "[]") {
  return Protocol::from_json(
      R"({"schema": "osteogrn-protocol/1", "name": "u", "duration": 10,
        "media_changes": {"every": 3},
        "components": {"u": {"concentration": )" + std::to_string(u) +
          R"(, "unit": "nM", "half_life": 1.5}}, "perturbations": )" + perturbations + "}",
      "u.json");
}

SolverOptions tight(std::vector<std::string> sens = {}) {
  SolverOptions o;
  o.rtol = 1e-10;
  o.atol = 1e-13;
  o.sensitivities = std::move(sens);
  return o;
}

TEST(SteadyState, LinearNewtonValuesAndSensitivities) {
  const Model model = Model::from_json(kLinear, "linear.json");
  const double a = 0.8, b = 0.5, c = 1.5, d = 0.25, u = 2.0;
  // The protocol's t = 0 input (u = 2, decaying with half-life 1.5) is held at 2.
  const SteadyState ss =
      steady_state(model, with_u(u), tight({"a", "b", "c", "d"}), SteadyStateOptions{});
  EXPECT_EQ(ss.method, "newton");
  EXPECT_GE(ss.newton_iterations, 1);
  EXPECT_EQ(ss.time, 0.0);
  EXPECT_LT(ss.residual, 1.0);
  ASSERT_EQ(ss.state.size(), 2u);
  const double x = a * u / b, y = c * a * u / (b * d);
  EXPECT_NEAR(ss.state[0], x, 1e-12 * x);
  EXPECT_NEAR(ss.state[1], y, 1e-12 * y);
  ASSERT_EQ(ss.sensitivities.size(), 8u);
  const double expected[2][4] = {
      {u / b, -a * u / (b * b), 0.0, 0.0},
      {c * u / (b * d), -c * a * u / (b * b * d), a * u / (b * d), -c * a * u / (b * d * d)}};
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j)
      EXPECT_NEAR(ss.sensitivities[i * 4 + j], expected[i][j], 1e-10 * (1 + std::abs(expected[i][j])))
          << "species " << i << " parameter " << j;
}

TEST(SteadyState, IntegrationPathAgreesOnLinearModel) {
  const Model model = Model::from_json(kLinear, "linear.json");
  SteadyStateOptions so;
  so.method = "integration";
  const SteadyState ss = steady_state(model, with_u(2.0), tight({"b", "c"}), so);
  EXPECT_EQ(ss.method, "integration");
  EXPECT_GT(ss.time, 0.0);
  EXPECT_LT(ss.residual, 1.0);
  const double a = 0.8, b = 0.5, c = 1.5, d = 0.25, u = 2.0;
  EXPECT_NEAR(ss.state[1], c * a * u / (b * d), 1e-6 * c * a * u / (b * d));
  EXPECT_NEAR(ss.sensitivities[2], -c * a * u / (b * b * d), 1e-6 * c * a * u / (b * b * d));
  EXPECT_NEAR(ss.sensitivities[3], a * u / (b * d), 1e-6 * a * u / (b * d));
}

TEST(SteadyState, FailedNewtonFallsBackToIntegration) {
  // x' = p - x^3: x = p^(1/3), dx/dp = p^(-2/3) / 3. One Newton iteration from 0.1 (where the
  // Jacobian -3x^2 is nearly 0) cannot converge, so "auto" integrates, sensitivities included.
  const Model model = Model::from_json(R"({
    "schema": "osteogrn-model/1", "name": "cubic", "time_unit": "day",
    "species": {"x": {"initial": 0.1}},
    "parameters": {"p": {"value": 8.0, "max": 100, "source": "assumed: test"}},
    "odes": {"x": "p - x^3"}})",
                                       "cubic.json");
  SteadyStateOptions so;
  so.max_newton_iterations = 1;
  const SteadyState ss = steady_state(model, plain(), tight({"p"}), so);
  EXPECT_EQ(ss.method, "integration");
  EXPECT_EQ(ss.newton_iterations, 1);
  EXPECT_NEAR(ss.state[0], 2.0, 1e-8);
  EXPECT_NEAR(ss.sensitivities[0], 1.0 / 12.0, 1e-7);
  so.method = "newton";
  EXPECT_THROW(steady_state(model, plain(), tight({"p"}), so), SolverError);
  // Enough iterations: Newton alone, same answer.
  const SteadyState sn = steady_state(model, plain(), tight({"p"}));
  EXPECT_EQ(sn.method, "newton");
  EXPECT_NEAR(sn.state[0], 2.0, 1e-12);
  EXPECT_NEAR(sn.sensitivities[0], 1.0 / 12.0, 1e-12);
}

TEST(SteadyState, ParameterOverrideAndClampAtTimeZeroApply) {
  const Model model = Model::from_json(kLinear, "linear.json");
  // x clamped at 3 from t = 0: y = c 3 / d, and x does not depend on any parameter.
  const SteadyState ss = steady_state(
      model, with_u(2.0, R"([{"parameter": "b", "scale": 2}, {"clamp": "x", "value": 3}])"),
      tight({"c", "d"}));
  EXPECT_EQ(ss.state[0], 3.0);
  const double c = 1.5, d = 0.25;
  EXPECT_NEAR(ss.state[1], c * 3.0 / d, 1e-10);
  EXPECT_EQ(ss.sensitivities[0], 0.0);
  EXPECT_EQ(ss.sensitivities[1], 0.0);
  EXPECT_NEAR(ss.sensitivities[2], 3.0 / d, 1e-9);
  EXPECT_NEAR(ss.sensitivities[3], -c * 3.0 / (d * d), 1e-9);
  // Scale override: x = a u / (2 b), dx/db = -a u / (2 b^2).
  const SteadyState s2 = steady_state(
      model, with_u(2.0, R"([{"parameter": "b", "scale": 2}])"), tight({"b"}));
  EXPECT_NEAR(s2.state[0], 0.8 * 2.0 / (2 * 0.5), 1e-12);
  EXPECT_NEAR(s2.sensitivities[0], -0.8 * 2.0 / (2 * 0.25), 1e-10);
}

TEST(SteadyState, ConservedSystemGoesTheIntegrationPath) {
  const Model model = Model::from_json(kConserved, "conserved.json");
  const double k1 = 2.0, k2 = 0.5, T = 1.5, K = k1 + k2;
  const SteadyState ss = steady_state(model, plain(), tight({"k1", "k2"}));
  EXPECT_EQ(ss.method, "integration");
  EXPECT_GT(ss.time, 0.0);
  EXPECT_LT(ss.residual, 1.0);
  EXPECT_NEAR(ss.state[0], k2 * T / K, 1e-8);
  EXPECT_NEAR(ss.state[1], k1 * T / K, 1e-8);
  // dA/dk1 = -k2 T / K^2, dA/dk2 = k1 T / K^2; dB = -dA.
  EXPECT_NEAR(ss.sensitivities[0], -k2 * T / (K * K), 1e-7);
  EXPECT_NEAR(ss.sensitivities[1], k1 * T / (K * K), 1e-7);
  EXPECT_NEAR(ss.sensitivities[2], k2 * T / (K * K), 1e-7);
  EXPECT_NEAR(ss.sensitivities[3], -k1 * T / (K * K), 1e-7);

  // Newton alone refuses: the Jacobian is singular.
  SteadyStateOptions newton;
  newton.method = "newton";
  EXPECT_THROW(steady_state(model, plain(), tight({"k1"}), newton), SolverError);

  // From an overridden start, with s(0) given: the total T' = 2 + 1 with dT'/dk1 = 0.3 + 0.1.
  InitialConditions init;
  init.state = {2.0, 1.0};
  init.sensitivities = {0.3, 0.0, 0.1, 0.0};  // [A, B] x [k1, k2]
  const SteadyState s2 = steady_state(model, plain(), tight({"k1", "k2"}), {}, init);
  const double T2 = 3.0, dT = 0.4;
  EXPECT_NEAR(s2.state[0], k2 * T2 / K, 1e-8);
  EXPECT_NEAR(s2.sensitivities[0], -k2 * T2 / (K * K) + k2 / K * dT, 1e-7);
  EXPECT_NEAR(s2.sensitivities[2], -(-k2 * T2 / (K * K)) + k1 / K * dT, 1e-7);
}

TEST(SteadyState, NoSteadyStateIsSolverErrorWithTimeAndResidual) {
  const Model model = Model::from_json(kGrowth, "growth.json");
  SteadyStateOptions so;
  so.max_time = 1e4;
  try {
    steady_state(model, plain(), tight(), so);
    FAIL() << "expected SolverError";
  } catch (const SolverError& e) {
    EXPECT_EQ(e.time(), 1e4);
    EXPECT_NE(std::string(e.what()).find("wrms(dx/dt)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("max_time"), std::string::npos) << e.what();
  }
  so.method = "newton";
  EXPECT_THROW(steady_state(model, plain(), tight(), so), SolverError);
}

TEST(SteadyState, OptionErrors) {
  const Model model = Model::from_json(kLinear, "linear.json");
  SteadyStateOptions so;
  so.method = "bisection";
  EXPECT_THROW(steady_state(model, plain(), tight(), so), OptionError);
  so = {};
  so.rtol = 0.0;
  EXPECT_THROW(steady_state(model, plain(), tight(), so), OptionError);
  so = {};
  so.max_time = -1.0;
  EXPECT_THROW(steady_state(model, plain(), tight(), so), OptionError);
  InitialConditions init;
  init.state = {1.0};
  EXPECT_THROW(steady_state(model, plain(), tight(), {}, init), OptionError);
  EXPECT_THROW(steady_state(model, plain(), tight({"nope"})), OptionError);
}

TEST(InitialState, OverrideValuesAndSensitivitiesClosedForm) {
  const Model model = Model::from_json(kDecay, "decay.json");
  const double k = 0.7, x0 = 2.0, s0 = 0.3;
  InitialConditions init;
  init.state = {x0, 5.0};
  init.sensitivities = {s0, 0.0};  // [x, z] x [k]
  const std::vector<double> t = {0.0, 0.5, 1.0, 2.5, 5.0};
  const Result r = simulate(model, plain(5.0), t, tight({"k"}), init);
  for (std::size_t i = 0; i < t.size(); ++i) {
    const double e = std::exp(-k * t[i]);
    EXPECT_NEAR(r.species[i * 2 + 0], x0 * e, 1e-8);
    EXPECT_NEAR(r.species[i * 2 + 1], 5.0 * std::exp(-t[i]), 1e-8);
    // d/dk (x(t)) = s0 e^{-kt} - t x0 e^{-kt}
    EXPECT_NEAR(r.sensitivities[i * 2 + 0], s0 * e - t[i] * x0 * e, 1e-7);
    EXPECT_NEAR(r.sensitivities[i * 2 + 1], 0.0, 1e-12);
  }
  // Without the override: the model's values.
  const Result r0 = simulate(model, plain(5.0), t, tight({"k"}));
  EXPECT_NEAR(r0.species[0], 1.0, 0.0);
  EXPECT_NEAR(r0.species[4 * 2], std::exp(-k * 5.0), 1e-8);
}

TEST(InitialState, KnockoutStillAppliesAfterOverride) {
  const Model model = Model::from_json(kDecay, "decay.json").knockout("z");
  InitialConditions init;
  init.state = {2.0, 5.0};
  const Result r = simulate(model, plain(5.0), {0.0, 1.0}, tight(), init);
  EXPECT_EQ(r.species[1], 0.0);
  EXPECT_EQ(r.species[3], 0.0);
  EXPECT_NEAR(r.species[2], 2.0 * std::exp(-0.7), 1e-8);
}

TEST(InitialState, BadSizesAndValuesAreOptionErrors) {
  const Model model = Model::from_json(kDecay, "decay.json");
  InitialConditions init;
  init.state = {1.0};
  EXPECT_THROW(simulate(model, plain(), {}, tight(), init), OptionError);
  init.state = {1.0, NAN};
  EXPECT_THROW(simulate(model, plain(), {}, tight(), init), OptionError);
  init.state = {};
  init.sensitivities = {1.0, 2.0, 3.0};
  EXPECT_THROW(simulate(model, plain(), {}, tight({"k"}), init), OptionError);
  // Sensitivities given but none requested.
  init.sensitivities = {1.0, 2.0};
  EXPECT_THROW(simulate(model, plain(), {}, tight(), init), OptionError);
  init.sensitivities = {1.0, INFINITY};
  try {
    simulate(model, plain(), {}, tight({"k"}), init);
    FAIL();
  } catch (const OptionError& e) {
    EXPECT_NE(std::string(e.what()).find("initial_sensitivities"), std::string::npos);
  }
}

}  // namespace

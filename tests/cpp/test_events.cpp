// Model events: closed-form solutions through resets, delays, priorities, persistence and
// initial values, for all four methods; a protocol input in a trigger; forward sensitivities
// across events against finite differences; model-file errors; to_json round trip.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "osteogrn/errors.hpp"
#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"
#include "osteogrn/simulate.hpp"

using namespace osteogrn;

namespace {

const Method kMethods[] = {Method::cvode_bdf, Method::cvode_adams, Method::dopri5,
                           Method::rosenbrock4};

Protocol plain(double duration) {
  return Protocol::from_json(R"({"schema": "osteogrn-protocol/1", "name": "plain", "duration": )" +
                                 std::to_string(duration) + "}",
                             "plain.json");
}

std::string model_json(const std::string& species, const std::string& parameters,
                       const std::string& odes, const std::string& events) {
  return R"({"schema": "osteogrn-model/1", "name": "ev", "species": )" + species +
         R"(, "parameters": )" + parameters + R"(, "odes": )" + odes + R"(, "events": )" +
         events + "}";
}

SolverOptions tight(Method m) {
  SolverOptions o;
  o.method = m;
  o.rtol = 1e-10;
  o.atol = 1e-12;
  return o;
}

std::vector<double> grid(double from, double to, double step) {
  std::vector<double> t;
  for (int i = 0; from + i * step <= to + 1e-12; ++i) t.push_back(from + i * step);
  return t;
}

// x' = -k x from 1; whenever x falls below 1/2 it is reset to 1: x(t) = exp(-k (t mod T)),
// T = ln 2 / k.
const char* kBounceParams = R"({"k": {"value": 0.7, "max": 10, "source": "assumed: test"},
                                "thr": {"value": 0.5, "source": "assumed: test"},
                                "a": {"value": 1.0, "max": 10, "source": "assumed: test"}})";
Model bounce() {
  return Model::from_json(model_json(R"({"x": {"initial": 1}})", kBounceParams,
                                     R"({"x": "-k * x"})",
                                     R"({"reset": {"trigger": "x < thr",
                                                    "assignments": {"x": "a"}}})"),
                          "bounce.json");
}

TEST(Events, BouncingDecayMatchesClosedFormForEveryMethod) {
  const Model m = bounce();
  const double k = 0.7, T = std::log(2.0) / k;
  const std::vector<double> t = grid(0, 10, 0.25);
  for (Method method : kMethods) {
    const Result r = simulate(m, plain(10), t, tight(method));
    for (std::size_t i = 0; i < t.size(); ++i) {
      const double phase = std::fmod(t[i], T);
      // Skip samples within 1e-6 of a reset, where either side is a right answer.
      if (phase < 1e-6 || T - phase < 1e-6) continue;
      EXPECT_NEAR(r.species[i], std::exp(-k * phase), 1e-7)
          << to_string(method) << " t=" << t[i];
    }
  }
}

TEST(Events, ResetTimesAreLocatedPrecisely) {
  // Just before and just after the third reset (t = 3T).
  const Model m = bounce();
  const double k = 0.7, T = std::log(2.0) / k;
  for (Method method : kMethods) {
    const Result r = simulate(m, plain(10), {3 * T - 1e-4, 3 * T + 1e-4}, tight(method));
    EXPECT_NEAR(r.species[0], 0.5 * std::exp(k * 1e-4), 1e-8) << to_string(method);
    EXPECT_NEAR(r.species[1], std::exp(-k * 1e-4), 1e-8) << to_string(method);
  }
}

TEST(Events, DelayedEventUsesValuesFromTriggerTimeOrExecutionTime) {
  // x' = -x from 1; at t > 2 (a time-only trigger: a breakpoint) and 1 day later x += 5,
  // with x read at the trigger (t = 2) or at the execution (t = 3).
  for (bool from_trigger : {true, false}) {
    const std::string ev = std::string(R"({"kick": {"trigger": "t > 2", "delay": "1",
        "assignments": {"x": "x + 5"}, "use_values_from_trigger_time": )") +
                           (from_trigger ? "true" : "false") + "}}";
    const Model m = Model::from_json(
        model_json(R"({"x": {"initial": 1}})", "{}", R"({"x": "-x"})", ev), "delay.json");
    for (Method method : kMethods) {
      const Result r = simulate(m, plain(5), {2.5, 3.0, 4.0}, tight(method));
      const double after = (from_trigger ? std::exp(-2.0) : std::exp(-3.0)) + 5.0;
      EXPECT_NEAR(r.species[0], std::exp(-2.5), 1e-8) << to_string(method);
      EXPECT_NEAR(r.species[1], after, 1e-8) << to_string(method);  // the value after
      EXPECT_NEAR(r.species[2], after * std::exp(-1.0), 1e-8) << to_string(method);
    }
  }
}

TEST(Events, PrioritiesOrderSimultaneousExecutions) {
  // Both fire at t = 1: y -> (y + 1) * 2 when "add" has the higher priority, y * 2 + 1 when
  // "double" has. y' = 0 from 3.
  for (bool add_first : {true, false}) {
    const std::string pa = add_first ? "2" : "1", pd = add_first ? "1" : "2";
    const std::string ev = R"({"double": {"trigger": "t >= 1", "priority": ")" + pd +
                           R"(", "assignments": {"y": "y * 2"}, "use_values_from_trigger_time": false},
         "add": {"trigger": "t >= 1", "priority": ")" + pa +
                           R"(", "assignments": {"y": "y + 1"}, "use_values_from_trigger_time": false}})";
    const Model m = Model::from_json(
        model_json(R"({"y": {"initial": 3}})", "{}", R"({"y": "0"})", ev), "prio.json");
    const Result r = simulate(m, plain(2), {0.5, 1.5}, tight(Method::cvode_bdf));
    EXPECT_DOUBLE_EQ(r.species[0], 3.0);
    EXPECT_DOUBLE_EQ(r.species[1], add_first ? 8.0 : 7.0);
  }
}

TEST(Events, NonPersistentEventIsCancelledWhenItsTriggerTurnsFalse) {
  // Trigger true on (1, 1.5); delay 1: a persistent event executes at t = 2, a non-persistent
  // one is cancelled at t = 1.5.
  for (bool persistent : {true, false}) {
    const std::string ev = std::string(R"({"e": {"trigger": "t > 1 and t < 1.5", "delay": "1",
        "assignments": {"y": "10"}, "persistent": )") +
                           (persistent ? "true" : "false") + "}}";
    const Model m = Model::from_json(
        model_json(R"({"y": {"initial": 0}})", "{}", R"({"y": "1"})", ev), "persist.json");
    for (Method method : kMethods) {
      const Result r = simulate(m, plain(3), {1.9, 2.5}, tight(method));
      EXPECT_NEAR(r.species[0], 1.9, 1e-9);
      EXPECT_NEAR(r.species[1], persistent ? 10.5 : 2.5, 1e-8) << to_string(method);
    }
  }
}

TEST(Events, InitialValueFalseFiresAtTimeZero) {
  for (bool initial : {true, false}) {
    const std::string ev = std::string(R"({"e": {"trigger": "y < 5", "assignments": {"y": "7"},
        "initial_value": )") + (initial ? "true" : "false") + "}}";
    const Model m = Model::from_json(
        model_json(R"({"y": {"initial": 1}})", "{}", R"({"y": "0"})", ev), "init.json");
    const Result r = simulate(m, plain(1), {0.0, 1.0}, tight(Method::dopri5));
    EXPECT_DOUBLE_EQ(r.species[0], initial ? 1.0 : 7.0);
    EXPECT_DOUBLE_EQ(r.species[1], initial ? 1.0 : 7.0);
  }
}

TEST(Events, TriggerOnAProtocolInputFiresAtTheMediaChange) {
  // u is supplied from day 2; the event copies a marker when u turns positive.
  const Model m = Model::from_json(R"({"schema": "osteogrn-model/1", "name": "inp",
      "inputs": {"u": {"default": 0, "unit": "nM"}},
      "species": {"x": {"initial": 0}, "seen": {"initial": 0}},
      "odes": {"x": "u", "seen": "0"},
      "events": {"on": {"trigger": "u > 0.5", "assignments": {"seen": "t + 100"}}}})",
                                   "inp.json");
  const Protocol p = Protocol::from_json(R"({"schema": "osteogrn-protocol/1", "name": "late",
      "duration": 4, "media_changes": {"every": 2},
      "components": {"u": {"concentration": 1, "unit": "nM", "from": 2}}})",
                                         "late.json");
  for (Method method : kMethods) {
    const Result r = simulate(m, p, {1.0, 3.0}, tight(method));
    EXPECT_DOUBLE_EQ(r.species[1], 0.0);
    EXPECT_NEAR(r.species[3], 102.0, 1e-12) << to_string(method);
  }
}

TEST(Events, SensitivitiesAcrossResetsMatchFiniteDifferences) {
  const Model m = bounce();
  const std::vector<std::string> names = {"k", "thr", "a"};
  SolverOptions o = tight(Method::cvode_bdf);
  o.sensitivities = names;
  const std::vector<double> t = {0.5, 2.0, 3.7, 6.3};
  const Result r = simulate(m, plain(7), t, o);
  for (std::size_t j = 0; j < names.size(); ++j) {
    const double v = m.parameter_values()[*m.find_parameter(names[j])], h = 1e-6 * v;
    const Result up = simulate(m.with_parameters({{names[j], v + h}}), plain(7), t, tight(Method::cvode_bdf));
    const Result dn = simulate(m.with_parameters({{names[j], v - h}}), plain(7), t, tight(Method::cvode_bdf));
    for (std::size_t i = 0; i < t.size(); ++i) {
      const double fd = (up.species[i] - dn.species[i]) / (2 * h);
      const double s = r.sensitivities[i * names.size() + j];
      EXPECT_NEAR(s, fd, 1e-4 * std::max(1.0, std::abs(fd))) << names[j] << " t=" << t[i];
    }
  }
}

TEST(Events, SensitivitiesRefuseDelayedEvents) {
  const Model m = Model::from_json(
      model_json(R"({"x": {"initial": 1}})", R"({"k": {"value": 1, "source": "assumed: test"}})",
                 R"({"x": "-k * x"})",
                 R"({"e": {"trigger": "x < 0.5", "delay": "1", "assignments": {"x": "1"}}})"),
      "d.json");
  SolverOptions o;
  o.sensitivities = {"k"};
  EXPECT_THROW(simulate(m, plain(3), {}, o), OptionError);
}

TEST(Events, ModelFileErrorsNameTheField) {
  auto load = [](const std::string& events) {
    return Model::from_json(model_json(R"({"x": {"initial": 1}})",
                                       R"({"k": {"value": 1, "source": "assumed: test"}})",
                                       R"({"x": "-k * x"})", events),
                            "bad.json");
  };
  try {
    load(R"({"e": {"trigger": "x < 1", "assignments": {"k": "2"}}})");
    FAIL() << "a parameter target was accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("/events/e/assignments/k"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("target species"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load(R"({"e": {"assignments": {"x": "2"}}})"), ModelError);
  EXPECT_THROW(load(R"({"e": {"trigger": "x <", "assignments": {}}})"), Error);
  EXPECT_THROW(load(R"({"e": {"trigger": "y < 1", "assignments": {}}})"), ModelError);
  EXPECT_THROW(load(R"({"e": {"trigger": "x < 1", "assignments": {}, "persistent": 1}})"),
               ModelError);
  EXPECT_THROW(load(R"({"e": {"trigger": "x < 1", "assignments": {}, "delays": "1"}})"),
               ModelError);
}

TEST(Events, ToJsonRoundTripKeepsEvents) {
  const Model m = bounce();
  ASSERT_EQ(m.events().size(), 1u);
  EXPECT_EQ(m.events()[0].trigger, "x < thr");
  const Model back = Model::from_json(m.to_json(), "back.json");
  const std::vector<double> t = grid(0, 5, 0.5);
  const Result a = simulate(m, plain(5), t), b = simulate(back, plain(5), t);
  EXPECT_EQ(a.species, b.species);
}

TEST(Events, NegativeDelayIsASolverErrorWithTheTime) {
  const Model m = Model::from_json(
      model_json(R"({"x": {"initial": 1}})", "{}", R"({"x": "-x"})",
                 R"({"e": {"trigger": "x < 0.5", "delay": "-1", "assignments": {"x": "1"}}})"),
      "neg.json");
  try {
    simulate(m, plain(3), {}, tight(Method::cvode_bdf));
    FAIL() << "a negative delay was accepted";
  } catch (const SolverError& e) {
    EXPECT_NEAR(e.time(), std::log(2.0), 1e-6);
  }
}

}  // namespace

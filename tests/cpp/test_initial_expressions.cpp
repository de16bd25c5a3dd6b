// Species initial values as expressions (docs/formats/model.md#species): values at the current
// parameters, d x0 / d θ against closed forms and central differences, forward sensitivities
// that start from it, to_json round trip, composition through imports, and load errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "osteogrn/batch.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"
#include "osteogrn/simulate.hpp"
#include "osteogrn/steady_state.hpp"

using namespace osteogrn;

namespace {

// x0 = 2 a, y0 = x0 + b^2 (through x's initial value), z0 = 0.5 (a number).
// dx/dt = -k x, dy/dt = k x - c y, dz/dt = c y - k z.
const char* kInit = R"({
  "schema": "osteogrn-model/1", "name": "init", "time_unit": "day",
  "species": {"y": {"initial": "x + b^2"}, "x": {"initial": "2 * a"}, "z": {"initial": 0.5}},
  "parameters": {
    "a": {"value": 1.5, "max": 100, "source": "assumed: test"},
    "b": {"value": 0.7, "max": 100, "source": "assumed: test"},
    "k": {"value": 0.4, "max": 100, "source": "assumed: test"},
    "c": {"value": 0.9, "max": 100, "source": "assumed: test"}
  },
  "odes": {"x": "-k * x", "y": "k * x - c * y", "z": "c * y - k * z"},
  "observables": {"total": "x + y + z"}
})";

std::string with_initial(const std::string& y_initial) {
  return R"({"schema": "osteogrn-model/1", "name": "bad", "time_unit": "day",
    "inputs": {"u": {"default": 1}},
    "species": {"x": {"initial": 1}, "y": {"initial": )" + y_initial + R"(}},
    "parameters": {"a": {"value": 1, "source": "assumed: test"}},
    "expressions": {"e": "2 * a"},
    "odes": {"x": "-x + u", "y": "-y + e"},
    "observables": {"ox": "x"}})";
}

ModelError load_error(const std::string& text) {
  try {
    Model::from_json(text, "bad.json");
  } catch (const ModelError& e) {
    return e;
  }
  ADD_FAILURE() << "no ModelError for " << text;
  return ModelError("none");
}

Protocol empty_protocol(double duration) {
  return Protocol::from_json(R"({"schema": "osteogrn-protocol/1", "name": "none", "duration": )" +
                             std::to_string(duration) + "}");
}

}  // namespace

TEST(InitialExpressions, ValuesAtFileAndCurrentParameters) {
  const Model m = Model::from_json(kInit, "init.json");
  const auto ix = *m.find_species("x"), iy = *m.find_species("y"), iz = *m.find_species("z");
  EXPECT_EQ(m.species()[ix].initial_expression, "2 * a");
  EXPECT_EQ(m.species()[iz].initial_expression, "");
  EXPECT_DOUBLE_EQ(m.species()[ix].initial, 3.0);
  EXPECT_DOUBLE_EQ(m.species()[iy].initial, 3.0 + 0.49);
  std::vector<double> x0 = m.initial_state();
  EXPECT_DOUBLE_EQ(x0[iy], 3.49);
  const Model m2 = m.with_parameters({{"a", 4.0}, {"b", 2.0}});
  x0 = m2.initial_state();
  EXPECT_DOUBLE_EQ(x0[ix], 8.0);
  EXPECT_DOUBLE_EQ(x0[iy], 12.0);
  EXPECT_DOUBLE_EQ(x0[iz], 0.5);
  // SpeciesInfo::initial stays the file's value; the simulation starts from the current one.
  EXPECT_DOUBLE_EQ(m2.species()[ix].initial, 3.0);
  const Result r = simulate(m2, empty_protocol(1), {0.0, 1.0});
  EXPECT_DOUBLE_EQ(r.species[ix], 8.0);
  EXPECT_DOUBLE_EQ(r.species[iy], 12.0);
  const std::vector<double> all = {0.5, 3.0, 0.4, 0.9};  // a, b, k, c
  EXPECT_DOUBLE_EQ(m.with_parameter_values(all).initial_state()[iy], 1.0 + 9.0);
}

TEST(InitialExpressions, JacobianMatchesClosedForm) {
  const Model m = Model::from_json(kInit, "init.json");
  const std::size_t np = m.parameters().size();
  const auto ia = *m.find_parameter("a"), ib = *m.find_parameter("b");
  const auto ix = *m.find_species("x"), iy = *m.find_species("y"), iz = *m.find_species("z");
  const std::vector<double> J = m.initial_state_jacobian();
  ASSERT_EQ(J.size(), m.species().size() * np);
  EXPECT_DOUBLE_EQ(J[ix * np + ia], 2.0);
  EXPECT_DOUBLE_EQ(J[ix * np + ib], 0.0);
  EXPECT_DOUBLE_EQ(J[iy * np + ia], 2.0);  // total derivative through x's initial value
  EXPECT_DOUBLE_EQ(J[iy * np + ib], 1.4);
  for (std::size_t j = 0; j < np; ++j) EXPECT_EQ(J[iz * np + j], 0.0);
  // A model without initial expressions: all zero.
  const Model plain = Model::from_json(with_initial("0.2"), "plain.json");
  for (double v : plain.initial_state_jacobian()) EXPECT_EQ(v, 0.0);
}

TEST(InitialExpressions, SensitivitiesMatchCentralDifferences) {
  const Model m = Model::from_json(kInit, "init.json");
  const Protocol proto = empty_protocol(5);
  std::vector<double> t;
  for (int i = 0; i <= 10; ++i) t.push_back(0.5 * i);
  SolverOptions o;
  o.rtol = 1e-11;
  o.atol = 1e-13;
  const std::vector<std::string> names = {"a", "b", "k"};
  SolverOptions os = o;
  os.sensitivities = names;
  const Result r = simulate(m, proto, t, os);
  const std::size_t n = 3, n_out = 4, ns = names.size();
  for (std::size_t j = 0; j < ns; ++j) {
    const double v = m.parameter_values()[*m.find_parameter(names[j])], h = 1e-4 * v;
    const Result up = simulate(m.with_parameters({{names[j], v + h}}), proto, t, o);
    const Result dn = simulate(m.with_parameters({{names[j], v - h}}), proto, t, o);
    for (std::size_t i = 0; i < t.size(); ++i) {
      for (std::size_t k = 0; k < n_out; ++k) {
        const double yu = k < n ? up.species[i * n + k] : up.observables[i];
        const double yd = k < n ? dn.species[i * n + k] : dn.observables[i];
        const double fd = (yu - yd) / (2 * h);
        const double s = r.sensitivities[(i * n_out + k) * ns + j];
        EXPECT_NEAR(s, fd, 1e-5 * std::max(1.0, std::abs(fd)))
            << names[j] << " output " << k << " t " << t[i];
      }
    }
  }
  // At t = 0 the sensitivities are d x0 / d θ exactly.
  const std::size_t iy = *m.find_species("y");
  EXPECT_DOUBLE_EQ(r.sensitivities[iy * ns + 1], 1.4);
}

TEST(InitialExpressions, BatchFollowsParameterColumns) {
  const Model m = Model::from_json(kInit, "init.json");
  const auto ix = *m.find_species("x"), iy = *m.find_species("y");
  // Two sets of (a, b): each run starts from its own x0.
  const BatchResult r =
      simulate_batch(m, {empty_protocol(1)}, {"a", "b"}, {0.5, 1.0, 2.0, 3.0}, {0.0, 1.0});
  ASSERT_EQ(r.n_sets, 2u);
  EXPECT_DOUBLE_EQ(r.at(0, 0, 0, ix), 1.0);
  EXPECT_DOUBLE_EQ(r.at(0, 0, 0, iy), 2.0);
  EXPECT_DOUBLE_EQ(r.at(1, 0, 0, ix), 4.0);
  EXPECT_DOUBLE_EQ(r.at(1, 0, 0, iy), 13.0);
}

TEST(InitialExpressions, ToJsonWritesTheExpressionBack) {
  const Model m = Model::from_json(kInit, "init.json").with_parameters({{"a", 2.0}});
  const std::string json = m.to_json();
  EXPECT_NE(json.find("\"2 * a\""), std::string::npos);
  const Model back = Model::from_json(json, "back.json");
  EXPECT_EQ(back.initial_state(), m.initial_state());
  EXPECT_EQ(back.species()[*back.find_species("y")].initial_expression, "x + b^2");
}

TEST(InitialExpressions, ImportedModuleUsesItsOwnNames) {
  // The importer's species initial value names the imported module's parameter.
  const std::string dir = testing::TempDir();
  {
    FILE* f = std::fopen((dir + "/init_base.json").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(R"({"schema": "osteogrn-model/1", "name": "init_base", "time_unit": "day",
      "species": {"p": {"initial": "p0"}},
      "parameters": {"p0": {"value": 2, "source": "assumed: test"}},
      "odes": {"p": "-p"}})", f);
    std::fclose(f);
  }
  LoadOptions opts;
  opts.search_paths = {dir};
  const Model m = Model::from_json(R"({"schema": "osteogrn-model/1", "name": "top",
      "time_unit": "day", "imports": ["init_base"],
      "species": {"q": {"initial": "3 * p + p0"}}, "odes": {"q": "p - q"}})",
                                   "top.json", opts);
  EXPECT_DOUBLE_EQ(m.initial_state()[*m.find_species("q")], 8.0);
  EXPECT_DOUBLE_EQ(m.with_parameters({{"p0", 1.0}}).initial_state()[*m.find_species("q")], 4.0);
}

TEST(InitialExpressions, Errors) {
  struct Case {
    std::string initial, message;
  };
  for (const Case& c : std::vector<Case>{
           {R"("a + nope")", "unknown name 'nope'"},
           {R"("u + a")", "'u' is an input"},
           {R"("e")", "'e' is an expression"},
           {R"("ox")", "'ox' is an observable"},
           {R"("a * t")", "cannot use t"},
           {R"("y + 1")", "cycle among species initial values"},
           {R"j("log(a - 1)")j", "not finite"},
           {R"("a +")", ""}}) {
    SCOPED_TRACE(c.initial);
    if (c.message.empty()) {  // a syntax error: ParseError at the field
      try {
        Model::from_json(with_initial(c.initial), "bad.json");
        ADD_FAILURE() << "no error";
      } catch (const ParseError& e) {
        EXPECT_EQ(e.pointer(), "/species/y/initial");
      }
      continue;
    }
    const ModelError e = load_error(with_initial(c.initial));
    EXPECT_EQ(e.pointer(), "/species/y/initial") << e.what();
    EXPECT_EQ(e.file(), "bad.json");
    EXPECT_NE(e.message().find(c.message), std::string::npos) << e.what();
  }
  // A cycle through two species.
  const std::string two = R"({"schema": "osteogrn-model/1", "name": "cyc", "time_unit": "day",
    "species": {"x": {"initial": "y"}, "y": {"initial": "2 * x"}},
    "odes": {"x": "0", "y": "0"}})";
  const ModelError e = load_error(two);
  EXPECT_NE(e.message().find("cycle"), std::string::npos);
  EXPECT_TRUE(e.pointer() == "/species/x/initial" || e.pointer() == "/species/y/initial");
  // Non-finite at the current parameters: with_parameters and simulate refuse it by species.
  const Model m = Model::from_json(with_initial(R"j("log(a)")j"), "ok.json");
  try {
    m.with_parameters({{"a", 0.0}});
    ADD_FAILURE() << "no error";
  } catch (const ModelError& err) {
    EXPECT_EQ(err.pointer(), "/species/y/initial");
    EXPECT_NE(err.message().find("'y'"), std::string::npos);
  }
}

TEST(InitialExpressions, SteadyStateSensitivitiesStartFromTheInitialJacobian) {
  // A <-> B conserves A + B = a_tot (A's initial value): the steady state A* = a_tot kb/(kf+kb)
  // depends on x0, so dA*/da_tot comes only through d x0/dθ (Newton's J is singular here).
  const Model m = Model::from_json(R"({"schema": "osteogrn-model/1", "name": "cons",
    "time_unit": "day", "species": {"A": {"initial": "a_tot"}, "B": {"initial": 0}},
    "parameters": {"a_tot": {"value": 2, "source": "assumed: test"},
                   "kf": {"value": 1, "source": "assumed: test"},
                   "kb": {"value": 3, "source": "assumed: test"}},
    "odes": {"A": "kb * B - kf * A", "B": "kf * A - kb * B"}})",
                                   "cons.json");
  SolverOptions o;
  o.sensitivities = {"a_tot"};
  const SteadyState ss = steady_state(m, empty_protocol(1), o);
  EXPECT_NEAR(ss.state[0], 2 * 3.0 / 4.0, 1e-6);
  EXPECT_NEAR(ss.sensitivities[0], 3.0 / 4.0, 1e-5);
  EXPECT_NEAR(ss.sensitivities[1], 1.0 / 4.0, 1e-5);
}

// Model loading, composition (ports by name and by connect, diamond imports), to_json round
// trip, with_parameters / knockout, and compile speed of a large model.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "osteogrn/detail/compiled_model.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/model.hpp"

namespace fs = std::filesystem;
using namespace osteogrn;

namespace {

const fs::path kModels = fs::path(OSTEOGRN_SOURCE_DIR) / "tests" / "data" / "models";

Model load(const std::string& stem) {
  return Model::from_file((kModels / (stem + ".json")).string());
}

template <class Info>
std::vector<std::string> names(const std::vector<Info>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(i.name);
  return out;
}

using Names = std::vector<std::string>;

// ---------------------------------------------------------------------------------------------
// Composition: comp_top imports comp_left (which imports comp_base), comp_right and comp_base.

TEST(Composition, ModulesAreUnitedOnceInDependencyOrder) {
  const Model m = load("comp_top");
  EXPECT_EQ(m.name(), "comp_top");
  EXPECT_EQ(m.modules(), (Names{"comp_base", "comp_left", "comp_right", "comp_top"}));
  EXPECT_EQ(names(m.species()), (Names{"A", "B", "C", "D"}));
  EXPECT_EQ(names(m.parameters()),
            (Names{"k_a", "d_a", "k_b", "K_b", "d_b", "k_c", "d_c", "k_d", "d_d"}));
  // a_out binds to comp_base's expression, A to comp_base's species (by name), signal by connect;
  // drive is declared by comp_base and comp_right and stays one protocol-driven input.
  EXPECT_EQ(names(m.inputs()), (Names{"drive"}));
  EXPECT_FALSE(m.find_input("a_out"));
  EXPECT_FALSE(m.find_input("A"));
  EXPECT_FALSE(m.find_input("signal"));
  EXPECT_EQ(m.find_input("drive"), std::optional<std::size_t>(0));
  EXPECT_EQ(m.find_species("C"), std::optional<std::size_t>(2));
  EXPECT_EQ(m.find_parameter("k_d"), std::optional<std::size_t>(7));
  EXPECT_EQ(m.find_observable("D_obs"), std::optional<std::size_t>(1));
  EXPECT_FALSE(m.find_species("drive"));
  EXPECT_EQ(m.species()[1].module, "comp_left");
  EXPECT_EQ(m.parameters()[8].module, "comp_top");
  EXPECT_EQ(m.references().at("ref_base"),
            "Doe J (2020) A made-up reference for tests. J Test 1:1-2");
  EXPECT_EQ(names(m.observables()), (Names{"B_total", "D_obs"}));
  EXPECT_EQ(m.observables()[1].unit, "au");
  // The connect-bound input is listed as an expression of the composition.
  const auto ex = names(m.expressions());
  EXPECT_EQ(ex.size(), 3u);
  EXPECT_NE(std::find(ex.begin(), ex.end(), "signal"), ex.end());
  EXPECT_EQ(m.initial_state(), (std::vector<double>{0.1, 0.0, 0.2, 0.0}));
}

TEST(Composition, RhsEqualsHandComputedValues) {
  const Model m = load("comp_top");
  const std::vector<double> y{0.3, 0.2, 0.4, 0.1}, u{1.7};
  const auto f = m.rhs(0.0, y, u);
  ASSERT_EQ(f.size(), 4u);
  // dA = k_a drive - d_a A; a_out = 2A = 0.6; hill(0.6, 0.8, 2) = 0.36 / (0.64 + 0.36) = 0.36
  EXPECT_NEAR(f[0], 2 * 1.7 - 0.5 * 0.3, 1e-14);
  // dB = k_b hill(a_out) + signal - d_b B, with signal = 0.5 C by connect
  EXPECT_NEAR(f[1], 1.5 * 0.36 + 0.5 * 0.4 - 0.3 * 0.2, 1e-14);
  // dC = k_c A drive - d_c C, with the port A bound to species A
  EXPECT_NEAR(f[2], 0.7 * 0.3 * 1.7 - 0.2 * 0.4, 1e-14);
  // dD = k_d (B + C) - d_d D
  EXPECT_NEAR(f[3], 0.4 * (0.2 + 0.4) - 0.1 * 0.1, 1e-14);
  const auto g = m.observe(0.0, y, u);
  EXPECT_NEAR(g[0], 0.2 + 0.6, 1e-14);
  EXPECT_NEAR(g[1], 2 * 0.1, 1e-14);
  // The Jacobian sees through the bindings: dB/dC = 0.5 (connect), dC/dA = k_c drive.
  const auto J = m.jacobian(0.0, y, u);
  EXPECT_NEAR(J[1 * 4 + 2], 0.5, 1e-14);
  EXPECT_NEAR(J[2 * 4 + 0], 0.7 * 1.7, 1e-14);
  EXPECT_EQ(J[0 * 4 + 3], 0.0);
}

TEST(Composition, EachModuleLoadsAlone) {
  const Model base = load("comp_base");
  EXPECT_EQ(base.modules(), (Names{"comp_base"}));
  EXPECT_EQ(names(base.inputs()), (Names{"drive"}));
  EXPECT_NEAR(base.rhs(0, {0.3}, {1.7})[0], 3.25, 1e-14);

  // comp_left imports comp_base: a_out is bound, signal stays an input.
  const Model left = load("comp_left");
  EXPECT_EQ(left.modules(), (Names{"comp_base", "comp_left"}));
  EXPECT_EQ(names(left.species()), (Names{"A", "B"}));
  EXPECT_EQ(names(left.inputs()), (Names{"drive", "signal"}));
  const auto fl = left.rhs(0, {0.3, 0.2}, {1.7, 0.9});
  EXPECT_NEAR(fl[1], 1.5 * 0.36 + 0.9 - 0.3 * 0.2, 1e-14);

  // comp_right alone: its port A is an input with its default.
  const Model right = load("comp_right");
  EXPECT_EQ(names(right.inputs()), (Names{"A", "drive"}));
  EXPECT_EQ(right.inputs()[0].default_value, 0.5);
  EXPECT_NEAR(right.rhs(0, {0.4}, {0.3, 1.7})[0], 0.7 * 0.3 * 1.7 - 0.2 * 0.4, 1e-14);
}

TEST(Composition, ImportsResolveThroughSearchPaths) {
  const std::string text = R"({"schema": "osteogrn-model/1", "name": "user",
    "imports": ["comp_base"], "inputs": {"A": {}},
    "species": {"E": {"initial": 1}}, "odes": {"E": "A - E"}})";
  LoadOptions options;
  options.search_paths = {"/nonexistent/first", kModels.string()};
  const Model m = Model::from_json(text, "<string>", options);
  EXPECT_EQ(names(m.species()), (Names{"A", "E"}));
  EXPECT_EQ(m.rhs(0, {2.0, 0.5}, {1.0})[1], 1.5);  // A bound to comp_base's species
  EXPECT_THROW(Model::from_json(text), ModelError);  // no search path: comp_base not found
}

TEST(Composition, ExpressionsAreInDependencyOrder) {
  const Model m = Model::from_json(R"({"schema": "osteogrn-model/1", "name": "chain",
    "species": {"x": {"initial": 1}},
    "parameters": {"k": {"value": 2, "source": "assumed: test"}},
    "expressions": {"e3": "e2 * 2", "e2": "e1 + k", "e1": "x ^ 2"},
    "odes": {"x": "-e3"}})");
  EXPECT_EQ(names(m.expressions()), (Names{"e1", "e2", "e3"}));
  EXPECT_DOUBLE_EQ(m.rhs(0, {3.0}, {})[0], -(9.0 + 2.0) * 2);
  EXPECT_DOUBLE_EQ(m.jacobian(0, {3.0}, {})[0], -2 * 2 * 3.0);
  EXPECT_DOUBLE_EQ(m.parameter_jacobian(0, {3.0}, {})[0], -2.0);
}

// ---------------------------------------------------------------------------------------------
// to_json round trip

std::vector<fs::path> all_model_files() {
  std::vector<fs::path> out;
  for (const fs::path& d : {fs::path(OSTEOGRN_SOURCE_DIR) / "models", kModels}) {
    if (!fs::is_directory(d)) continue;
    for (const auto& e : fs::directory_iterator(d))
      if (e.is_regular_file() && e.path().extension() == ".json") out.push_back(e.path());
  }
  return out;
}

void expect_same_model(const Model& a, const Model& b) {
  EXPECT_EQ(names(a.species()), names(b.species()));
  EXPECT_EQ(names(a.parameters()), names(b.parameters()));
  EXPECT_EQ(names(a.inputs()), names(b.inputs()));
  EXPECT_EQ(names(a.observables()), names(b.observables()));
  EXPECT_EQ(a.parameter_values(), b.parameter_values());
  EXPECT_EQ(a.initial_state(), b.initial_state());
  EXPECT_EQ(a.references(), b.references());
  ASSERT_EQ(a.overlays().size(), b.overlays().size());
  for (std::size_t i = 0; i < a.overlays().size(); ++i) {
    const auto &p = a.overlays()[i], &q = b.overlays()[i];
    EXPECT_EQ(p.kind, q.kind);
    EXPECT_EQ(p.target, q.target);
    EXPECT_EQ(p.value, q.value);
    EXPECT_EQ(p.scale, q.scale);
    EXPECT_EQ(p.from, q.from);
    EXPECT_EQ(p.until, q.until);
  }
  for (std::size_t i = 0; i < a.parameters().size(); ++i) {
    EXPECT_EQ(a.parameters()[i].min, b.parameters()[i].min);
    EXPECT_EQ(a.parameters()[i].max, b.parameters()[i].max);
    EXPECT_EQ(a.parameters()[i].source, b.parameters()[i].source);
  }
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> U(-7, 2.3);
  for (int k = 0; k < 20; ++k) {
    std::vector<double> y, u;
    for (std::size_t i = 0; i < a.species().size(); ++i) y.push_back(std::exp(U(rng)));
    for (std::size_t i = 0; i < a.inputs().size(); ++i) u.push_back(std::exp(U(rng)));
    const double t = 3.0 * (k + 0.5);
    EXPECT_EQ(a.rhs(t, y, u), b.rhs(t, y, u));
    EXPECT_EQ(a.observe(t, y, u), b.observe(t, y, u));
    EXPECT_EQ(a.jacobian(t, y, u), b.jacobian(t, y, u));
  }
}

TEST(RoundTrip, EveryModelReloadsIdentically) {
  const auto files = all_model_files();
  ASSERT_FALSE(files.empty());
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    const Model a = Model::from_file(f.string());
    const std::string text = a.to_json();
    EXPECT_EQ(text.find("\"imports\""), std::string::npos);  // self-contained
    const Model b = Model::from_json(text, "roundtrip");
    expect_same_model(a, b);
    EXPECT_EQ(b.to_json(), text);  // a fixed point
  }
}

TEST(RoundTrip, CarriesNewValuesAndOverlays) {
  const Model a =
      load("grn_small").with_parameters({{"d_runx2", 0.8}, {"n_sp7", 4.5}}).knockout("Sp7");
  ASSERT_EQ(a.overlays().size(), 2u);  // the file's parameter window + the knockout
  EXPECT_EQ(a.overlays()[0].kind, PerturbationKind::Parameter);
  EXPECT_TRUE(a.overlays()[0].scale);
  EXPECT_EQ(a.overlays()[0].from, 2.0);
  EXPECT_EQ(a.overlays()[0].until, 5.0);
  const Model b = Model::from_json(a.to_json());
  expect_same_model(a, b);
  EXPECT_EQ(b.parameter_values()[*b.find_parameter("d_runx2")], 0.8);
  EXPECT_EQ(b.parameters()[*b.find_parameter("d_runx2")].value, 0.8);

  // A composition flattens with connect-bound inputs as expressions.
  const Model top = load("comp_top");
  const auto doc = nlohmann::json::parse(top.to_json());
  EXPECT_FALSE(doc.contains("imports"));
  EXPECT_FALSE(doc.contains("connect"));
  EXPECT_EQ(doc.at("expressions").at("signal"), "0.5 * C");
  EXPECT_EQ(doc.at("inputs").size(), 1u);
  EXPECT_EQ(doc.at("species").size(), 4u);
}

// ---------------------------------------------------------------------------------------------
// with_parameters / with_parameter_values / knockout

TEST(ModelEdit, WithParametersReturnsANewModel) {
  const Model a = load("grn_small");
  const std::size_t i = *a.find_parameter("v_runx2");
  const Model b = a.with_parameters({{"v_runx2", 2.0}});
  EXPECT_EQ(a.parameter_values()[i], 1.0);  // the original is untouched
  EXPECT_EQ(b.parameter_values()[i], 2.0);
  EXPECT_EQ(b.parameters()[i].value, 1.0);  // file value stays on record
  // dRunx2 = v (b + dex/(K_dex + dex)) - d Runx2 at Runx2 = 0.2, dex = 50 (K_dex = 50)
  const std::vector<double> y{0.2, 0.1, 0.05}, u{50.0};
  EXPECT_NEAR(a.rhs(0, y, u)[0], 1.0 * (0.1 + 0.5) - 1.2 * 0.2, 1e-14);
  EXPECT_NEAR(b.rhs(0, y, u)[0], 2.0 * (0.1 + 0.5) - 1.2 * 0.2, 1e-14);
  // ∂f/∂p follows the new values too: ∂dRunx2/∂d_runx2 = -Runx2.
  const auto Jp = b.parameter_jacobian(0, y, u);
  EXPECT_NEAR(Jp[0 * b.parameters().size() + *b.find_parameter("d_runx2")], -0.2, 1e-15);
  EXPECT_NEAR(Jp[0 * b.parameters().size() + i], 0.6, 1e-14);
}

TEST(ModelEdit, WithParametersRejectsBadValues) {
  const Model a = load("grn_small");
  auto message_of = [&](const std::map<std::string, double>& v) -> std::string {
    try {
      a.with_parameters(v);
    } catch (const ModelError& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_NE(message_of({{"v_runx", 1.0}}).find("unknown parameter 'v_runx'"), std::string::npos);
  EXPECT_NE(message_of({{"v_runx2", NAN}}).find("'v_runx2' must be finite"), std::string::npos);
  EXPECT_NE(message_of({{"v_runx2", INFINITY}}).find("finite"), std::string::npos);
  EXPECT_NE(message_of({{"v_runx2", 11.0}}).find("outside its bounds [0, 10]"), std::string::npos);
  EXPECT_NE(message_of({{"K_dex", 0.5}}).find("'K_dex'"), std::string::npos);  // min is 1
  EXPECT_NE(message_of({{"b_runx2", -1e-9}}).find("outside"), std::string::npos);  // default min 0
  EXPECT_NO_THROW(a.with_parameters({{"v_runx2", 10.0}, {"K_dex", 1.0}}));  // bounds inclusive

  std::vector<double> v = a.parameter_values();
  EXPECT_NO_THROW(a.with_parameter_values(v));
  v.pop_back();
  EXPECT_THROW(a.with_parameter_values(v), ModelError);
  v = a.parameter_values();
  v[*a.find_parameter("n_sp7")] = 7.0;  // max 6
  EXPECT_THROW(a.with_parameter_values(v), ModelError);
  v[*a.find_parameter("n_sp7")] = 5.0;
  EXPECT_EQ(a.with_parameter_values(v).parameter_values(), v);
}

TEST(ModelEdit, Knockout) {
  const Model a = load("comp_top");
  EXPECT_TRUE(a.overlays().empty());
  const Model b = a.knockout("C");
  EXPECT_TRUE(a.overlays().empty());
  ASSERT_EQ(b.overlays().size(), 1u);
  EXPECT_EQ(b.overlays()[0].kind, PerturbationKind::Knockout);
  EXPECT_EQ(b.overlays()[0].target, "C");
  EXPECT_EQ(b.overlays()[0].from, 0.0);
  EXPECT_EQ(b.overlays()[0].until, kForever);
  EXPECT_EQ(b.knockout("C").overlays().size(), 1u);  // idempotent
  EXPECT_EQ(b.knockout("A").overlays().size(), 2u);
  EXPECT_EQ(b.with_parameters({{"k_a", 3.0}}).overlays().size(), 1u);  // kept across edits
  try {
    a.knockout("k_a");
    FAIL() << "knocked out a parameter";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("'k_a': not a species"), std::string::npos) << e.what();
  }
  EXPECT_THROW(a.knockout("signal"), ModelError);  // a bound input is not a species
}

TEST(ModelEdit, CallArgumentSizesAreChecked) {
  const Model a = load("comp_top");
  EXPECT_THROW(a.rhs(0, {1, 2, 3}, {1}), OptionError);
  EXPECT_THROW(a.jacobian(0, {1, 2, 3, 4}, {}), OptionError);
  EXPECT_THROW(a.observe(0, {1, 2, 3, 4}, {1, 2}), OptionError);
}

TEST(ModelEdit, ConcurrentEvaluationIsSafe) {
  const Model a = load("grn_small");
  const std::vector<double> y{0.2, 0.1, 0.05}, u{50.0};
  const auto want = a.rhs(1.0, y, u);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      const Model local = a.with_parameters({});  // shares the compiled tapes
      bool same = true;
      for (int i = 0; i < 2000; ++i) same = same && local.rhs(1.0, y, u) == want;
      ok[k] = same;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, (std::vector<int>{1, 1, 1, 1}));
}

// ---------------------------------------------------------------------------------------------
// A large model compiles fast, with only the structural non-zeros in its Jacobian.

TEST(LargeModel, ThousandSpeciesChainCompilesFast) {
  const int n = 1000;
  nlohmann::ordered_json doc;
  doc["schema"] = "osteogrn-model/1";
  doc["name"] = "chain1000";
  doc["inputs"]["stim"] = {{"default", 1.0}};
  doc["parameters"]["K"] = {{"value", 0.5}, {"source", "assumed: test"}};
  doc["parameters"]["d"] = {{"value", 0.3}, {"source", "assumed: test"}};
  for (int i = 0; i < n; ++i) {
    const std::string s = "s" + std::to_string(i);
    doc["species"][s] = {{"initial", 0.0}};
    doc["parameters"]["k" + std::to_string(i)] = {{"value", 1.0 + i * 1e-3},
                                                  {"source", "assumed: test"}};
    const std::string prev = i == 0 ? std::string("stim") : "act" + std::to_string(i - 1);
    doc["expressions"]["act" + std::to_string(i)] = "hill(" + s + ", K, 2)";
    doc["odes"][s] = "k" + std::to_string(i) + " * " + prev + " - d * " + s;
  }
  // Load/compile time of large models is measured in benchmarks/, not asserted here.
  const Model m = Model::from_json(doc.dump());
  const auto& c = osteogrn::detail::compiled_model(m);
  EXPECT_EQ(c.jac_y_pattern.nnz(), std::size_t(2 * n - 1));  // diagonal + sub-diagonal
  EXPECT_EQ(c.jac_p_pattern.nnz(), std::size_t(3 * n - 1));  // k_i, d everywhere, K below row 0
  EXPECT_EQ(c.jac_u_pattern.nnz(), 1u);
  // CSC order: column 0 holds rows 0 and 1.
  EXPECT_EQ(c.jac_y_pattern.cols[0], 0u);
  EXPECT_EQ(c.jac_y_pattern.rows[0], 0u);
  EXPECT_EQ(c.jac_y_pattern.rows[1], 1u);
  std::vector<double> y(n, 0.4), u{1.0};
  const auto f = m.rhs(0, y, u);
  const double h = 0.16 / (0.25 + 0.16);
  EXPECT_NEAR(f[0], 1.0 - 0.3 * 0.4, 1e-14);
  EXPECT_NEAR(f[7], (1.0 + 7e-3) * h - 0.3 * 0.4, 1e-14);
}

}  // namespace

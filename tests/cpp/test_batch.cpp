// Batch runner: identical to serial simulate() calls for any thread count, failures recorded per
// task, input errors raised before anything runs, progress and cancellation.
#include "osteogrn/batch.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "osteogrn/errors.hpp"
#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"
#include "osteogrn/simulate.hpp"

using namespace osteogrn;

namespace {

const std::string kRoot = OSTEOGRN_SOURCE_DIR;

Model osteogenic() { return Model::from_file(kRoot + "/models/osteogenic.json"); }
Protocol preset(const std::string& name) {
  return Protocol::from_file(kRoot + "/models/protocols/" + name + ".json");
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// The value of output `name` at sample i of a serial Result (species, then observables).
double column(const Result& r, const std::string& name, std::size_t i) {
  for (std::size_t j = 0; j < r.species_names.size(); ++j)
    if (r.species_names[j] == name) return r.species[i * r.species_names.size() + j];
  for (std::size_t j = 0; j < r.observable_names.size(); ++j)
    if (r.observable_names[j] == name) return r.observables[i * r.observable_names.size() + j];
  throw std::logic_error("no column " + name);
}

// Every value of (set, protocol) equals the serial run bit for bit; samples the serial run does
// not have (beyond the protocol's end) are NaN.
void expect_matches_serial(const BatchResult& b, std::size_t set, std::size_t k, const Result& r) {
  ASSERT_LE(r.t.size(), b.n_times);
  for (std::size_t i = 0; i < b.n_times; ++i) {
    for (std::size_t j = 0; j < b.n_outputs; ++j) {
      const double got = b.at(set, k, i, j);
      if (i < r.t.size()) {
        ASSERT_TRUE(same_bits(b.t[i], r.t[i]));
        const double want = column(r, b.output_names[j], i);
        ASSERT_TRUE(same_bits(got, want) || (std::isnan(got) && std::isnan(want)))
            << "set " << set << " protocol " << k << " t=" << b.t[i] << " " << b.output_names[j]
            << ": batch " << got << ", serial " << want;
      } else {
        ASSERT_TRUE(std::isnan(got)) << "t=" << b.t[i] << " lies beyond protocol " << k;
      }
    }
  }
}

// y' = k y^2 blows up at t = 1/k (y0 = 1): k = 1 fails inside a 2-day run, small k does not.
const char* kBlowup = R"({
  "schema": "osteogrn-model/1", "name": "blowup", "time_unit": "day",
  "references": {},
  "species": {"y": {"initial": 1, "unit": "au"}},
  "parameters": {"k": {"value": 0.1, "unit": "1/day", "min": 0, "max": 10,
                        "source": "assumed: test"}},
  "odes": {"y": "k * y^2"},
  "observables": {"twice": {"expression": "2 * y", "unit": "au"}}
})";
const char* kTwoDays = R"({"schema": "osteogrn-protocol/1", "name": "two_days", "duration": 2,
                          "components": {}})";

}  // namespace

TEST(Batch, IdenticalToSerialForEveryThreadCount) {
  const Model model = osteogenic();
  const std::vector<Protocol> protocols = {preset("osteogenic_medium"), preset("growth_medium"),
                                           preset("om_bmp2")};
  const std::vector<std::string> names = {"K_dex", "b_runx2", "K_pi"};
  // Five sets spread inside the bounds (K_dex in [0.1, 1000], b_runx2 in [0, 10], K_pi in
  // [0.1, 50]); the first is the model as it is.
  const std::vector<double> sets = {10, 0.5, 3.0,  3, 0.2, 2.0,  30, 1.5, 4.5,
                                    100, 0.0, 1.0,  1, 3.0, 10.0};
  const std::vector<double> t = {0, 0.5, 3, 3.0001, 7.25, 14, 20, 21};
  BatchOptions one, two;
  one.threads = 1;
  two.threads = 2;
  const BatchResult a = simulate_batch(model, protocols, names, sets, t, one);
  const BatchResult b = simulate_batch(model, protocols, names, sets, t, two);
  ASSERT_EQ(a.n_sets, 5u);
  ASSERT_EQ(a.n_protocols, 3u);
  ASSERT_EQ(a.n_times, t.size());
  ASSERT_EQ(a.n_outputs, model.species().size() + model.observables().size());
  ASSERT_EQ(a.values.size(), 5 * 3 * t.size() * a.n_outputs);
  ASSERT_EQ(std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(double)), 0);
  EXPECT_EQ(a.protocol_names, (std::vector<std::string>{"osteogenic_medium", "growth_medium",
                                                        "om_bmp2"}));

  for (std::size_t s = 0; s < 5; ++s) {
    std::map<std::string, double> values;
    for (std::size_t c = 0; c < names.size(); ++c) values[names[c]] = sets[s * names.size() + c];
    const Model edited = model.with_parameters(values);
    for (std::size_t k = 0; k < protocols.size(); ++k) {
      SCOPED_TRACE("set " + std::to_string(s) + " protocol " + protocols[k].name());
      EXPECT_FALSE(a.failed[s * 3 + k]) << a.messages[s * 3 + k];
      EXPECT_TRUE(a.messages[s * 3 + k].empty());
      expect_matches_serial(a, s, k, simulate(edited, protocols[k], t));
    }
  }
  // The sets really differ (a batch that ignored the parameters would pass the checks above
  // only if serial runs ignored them too).
  const std::size_t alp = a.n_outputs - model.observables().size() +
                          *model.find_observable("ALP");
  EXPECT_NE(a.at(0, 0, 6, alp), a.at(3, 0, 6, alp));
}

TEST(Batch, OtherMethodsAndOutputSelection) {
  const Model model = osteogenic();
  const std::vector<Protocol> protocols = {preset("osteogenic_medium")};
  BatchOptions o;
  o.threads = 2;
  o.solver.method = Method::rosenbrock4;
  o.outputs = {"ALP", "Runx2", "mineral"};
  const std::vector<double> sets = {1.0, 2.0, 0.3};
  const BatchResult b = simulate_batch(model, protocols, {"b_runx2"}, sets, {}, o);
  ASSERT_EQ(b.output_names, o.outputs);
  ASSERT_EQ(b.t, default_times(21));
  SolverOptions so;
  so.method = Method::rosenbrock4;
  for (std::size_t s = 0; s < 3; ++s)
    expect_matches_serial(b, s, 0,
                          simulate(model.with_parameters({{"b_runx2", sets[s]}}), protocols[0], {},
                                   so));
}

TEST(Batch, ProtocolsOfDifferentLengthsShareTheLongestGrid) {
  const Model model = osteogenic();
  const std::vector<Protocol> protocols = {preset("osteogenic_medium"), preset("om_28d")};
  ASSERT_EQ(protocols[0].duration(), 21.0);
  ASSERT_EQ(protocols[1].duration(), 28.0);
  const BatchResult b = simulate_batch(model, protocols, {}, {});
  EXPECT_EQ(b.n_sets, 1u);
  EXPECT_EQ(b.t, default_times(28));
  expect_matches_serial(b, 0, 0, simulate(model, protocols[0]));  // NaN after day 21
  expect_matches_serial(b, 0, 1, simulate(model, protocols[1]));
}

TEST(Batch, FailedTaskIsRecordedAndOthersComplete) {
  const Model model = Model::from_json(kBlowup);
  const std::vector<Protocol> protocols = {Protocol::from_json(kTwoDays)};
  const std::vector<double> sets = {0.1, 1.0, 0.0, 2.0, 0.3};
  for (unsigned threads : {1u, 2u}) {
    BatchOptions o;
    o.threads = threads;
    o.solver.max_steps = 5000;  // the blow-up exhausts any budget; keep the test fast
    const BatchResult b = simulate_batch(model, protocols, {"k"}, sets, {}, o);
    const std::vector<unsigned char> expect_failed = {0, 1, 0, 1, 0};
    EXPECT_EQ(b.failed, expect_failed);
    SolverOptions lenient;
    lenient.raise_on_failure = false;
    lenient.max_steps = 5000;
    for (std::size_t s = 0; s < sets.size(); ++s) {
      const Result r = simulate(model.with_parameters({{"k", sets[s]}}), protocols[0], {}, lenient);
      EXPECT_EQ(b.messages[s], r.success ? "" : r.message);
      EXPECT_EQ(b.codes[s], r.status);
      EXPECT_EQ(bool(b.failed[s]), !r.success);
      expect_matches_serial(b, s, 0, r);
    }
    EXPECT_FALSE(b.messages[1].empty());
    EXPECT_NE(b.codes[1], ReturnCode::success);
    EXPECT_EQ(b.codes[0], ReturnCode::success);
    EXPECT_NE(b.messages[1].find("t = 0.99"), std::string::npos) << b.messages[1];  // near 1/k
    // Before the blow-up at t = 1/k the failed set has values; after it, NaN.
    EXPECT_TRUE(std::isfinite(b.at(1, 0, 5, 0)));
    EXPECT_TRUE(std::isnan(b.at(1, 0, b.n_times - 1, 0)));
    // Closed form y = 1 / (1 - k t) for a set that succeeded.
    EXPECT_NEAR(b.at(4, 0, b.n_times - 1, 0), 1.0 / (1.0 - 0.3 * 2.0), 1e-4);
    EXPECT_NEAR(b.at(4, 0, b.n_times - 1, 1), 2.0 / (1.0 - 0.3 * 2.0), 2e-4);
  }
}

TEST(Batch, InputErrorsRaiseBeforeRunning) {
  const Model model = osteogenic();
  const std::vector<Protocol> om = {preset("osteogenic_medium")};
  EXPECT_THROW(Batch(model, om, {"no_such_parameter"}), ModelError);
  EXPECT_THROW(Batch(model, om, {"K_dex", "K_dex"}), OptionError);
  EXPECT_THROW(Batch(model, {}, {"K_dex"}), OptionError);
  EXPECT_THROW(Batch(model, om, {}, {0, 5, 22}), OptionError);   // beyond day 21
  EXPECT_THROW(Batch(model, om, {}, {0, 5, 3}), OptionError);    // not sorted
  EXPECT_THROW(Batch(model, om, {}, {0, NAN}), OptionError);
  // An explicit t must fit the shortest protocol.
  EXPECT_THROW(Batch(model, {om[0], preset("om_28d")}, {}, {0, 25}), OptionError);
  BatchOptions bad;
  bad.solver.rtol = -1;
  EXPECT_THROW(Batch(model, om, {}, {}, bad), OptionError);
  BatchOptions steps;
  steps.solver.record_steps = true;
  EXPECT_THROW(Batch(model, om, {}, {}, steps), OptionError);
  BatchOptions outputs;
  outputs.outputs = {"ALP", "nonsense"};
  EXPECT_THROW(Batch(model, om, {}, {}, outputs), ModelError);
  // A protocol that does not fit the model raises once, as a ProtocolError.
  const Protocol alien = Protocol::from_json(
      R"({"schema": "osteogrn-protocol/1", "name": "alien", "duration": 5,
          "components": {"unobtainium": {"concentration": 1, "unit": "nM"}}})");
  EXPECT_THROW(Batch(model, {om[0], alien}, {}), ProtocolError);

  const Batch batch(model, om, {"K_dex", "b_runx2"});
  std::vector<double> values(2 * batch.values_per_set());
  std::vector<unsigned char> failed(2);
  std::vector<ReturnCode> codes(2);
  std::vector<std::string> messages(2);
  const std::vector<double> non_finite = {10, 0.5, 10, INFINITY};
  try {
    batch.run(non_finite.data(), 2, values.data(), failed.data(), codes.data(), messages.data());
    FAIL() << "no error for a non-finite value";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("parameter set 1: 'b_runx2'"), std::string::npos)
        << e.what();
    EXPECT_EQ(e.pointer(), "/parameters/b_runx2");
  }
  const std::vector<double> outside = {1e6, 0.5};  // K_dex max is 1000
  EXPECT_THROW(
      batch.run(outside.data(), 1, values.data(), failed.data(), codes.data(), messages.data()),
      ModelError);
  // Rows of the wrong width.
  EXPECT_THROW(simulate_batch(model, om, {"K_dex", "b_runx2"}, {1, 2, 3}), OptionError);
  EXPECT_THROW(simulate_batch(model, om, {}, {1}), OptionError);
}

// Independent of the core count: a fixed pool of 2 threads, and tasks that would take minutes
// (max_step 1e-6) unless cancelled, so the first progress call (after ~100 ms) always finds
// the batch running.
TEST(Batch, ProgressReachesTotalAndThrowingCancels) {
  const Model model = osteogenic();
  const std::vector<Protocol> om = {preset("osteogenic_medium")};
  BatchOptions two;
  two.threads = 2;
  const Batch batch(model, om, {"b_runx2"}, {0, 21}, two);
  const std::size_t n = 8;
  std::vector<double> sets(n);
  for (std::size_t s = 0; s < n; ++s) sets[s] = 0.01 * static_cast<double>(s);
  std::vector<double> values(n * batch.values_per_set(), -1.0);  // -1: never written
  std::vector<unsigned char> failed(n);
  std::vector<ReturnCode> codes(n);
  std::vector<std::string> messages(n);

  std::vector<std::size_t> seen;
  batch.run(sets.data(), 4, values.data(), failed.data(), codes.data(), messages.data(),
            [&](std::size_t done, std::size_t total) {
              EXPECT_EQ(total, 4u);
              seen.push_back(done);
            });
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), 4u);
  for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_LE(seen[i - 1], seen[i]);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(codes[i], ReturnCode::success) << messages[i];

  // The first progress call throws: the two running tasks stop at their next step, the
  // others never start; every task is cancelled and the exception propagates.
  BatchOptions slow = two;
  slow.solver.max_step = 1e-6;
  slow.solver.max_steps = 1000000000;
  const Batch slow_batch(model, om, {"b_runx2"}, {0, 21}, slow);
  std::fill(values.begin(), values.end(), -1.0);
  EXPECT_THROW(slow_batch.run(sets.data(), n, values.data(), failed.data(), codes.data(),
                              messages.data(),
                              [](std::size_t, std::size_t) { throw std::runtime_error("stop"); }),
               std::runtime_error);
  std::size_t started = 0;
  for (std::size_t s = 0; s < n; ++s) {
    started += values[s * batch.values_per_set()] != -1.0;
    EXPECT_EQ(codes[s], ReturnCode::cancelled) << s << ": " << messages[s];
    EXPECT_TRUE(failed[s]);
  }
  EXPECT_LE(started, 2u) << "more tasks started than threads";
  EXPECT_GE(started, 1u);
}

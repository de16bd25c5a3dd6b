// One Model simulated from two threads at once gives results bit-identical to a serial run.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"
#include "osteogrn/simulate.hpp"

using namespace osteogrn;

namespace {

const std::string kRoot = OSTEOGRN_SOURCE_DIR;

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

void expect_identical(const Result& a, const Result& b) {
  EXPECT_TRUE(a.success && b.success) << a.message << " / " << b.message;
  EXPECT_TRUE(same_bits(a.t, b.t));
  EXPECT_TRUE(same_bits(a.species, b.species));
  EXPECT_TRUE(same_bits(a.observables, b.observables));
  EXPECT_TRUE(same_bits(a.inputs, b.inputs));
  EXPECT_EQ(a.stats.steps, b.stats.steps);
  EXPECT_EQ(a.stats.rhs_evals, b.stats.rhs_evals);
  EXPECT_EQ(a.stats.jac_evals, b.stats.jac_evals);
}

void check_model(const std::string& path) {
  SCOPED_TRACE(path);
  const Model model = Model::from_file(path);
  ASSERT_GT(model.species().size(), 0u);
  const Protocol proto = Protocol::from_file(kRoot + "/tests/data/simulate/threads_protocol.json");
  for (Method m : {Method::cvode_bdf, Method::rosenbrock4}) {
    SCOPED_TRACE(to_string(m));
    SolverOptions o;
    o.method = m;
    o.rtol = 1e-8;
    o.atol = 1e-12;
    const Result serial = simulate(model, proto, {}, o);
    ASSERT_TRUE(serial.success) << serial.message;
    ASSERT_GT(serial.stats.steps, 10);
    // Each thread runs several simulations so that they overlap in time.
    constexpr int kRuns = 4;
    std::vector<Result> a(kRuns), b(kRuns);
    std::thread ta([&] { for (auto& r : a) r = simulate(model, proto, {}, o); });
    std::thread tb([&] { for (auto& r : b) r = simulate(model, proto, {}, o); });
    ta.join();
    tb.join();
    for (int i = 0; i < kRuns; ++i) {
      expect_identical(serial, a[i]);
      expect_identical(serial, b[i]);
    }
  }
}

}  // namespace

// The composed test model (diamond imports).
TEST(Threads, ComposedTestModelBitIdentical) {
  check_model(kRoot + "/tests/data/models/comp_top.json");
}

// The largest model: the built-in osteogenic composition.
TEST(Threads, OsteogenicModelBitIdentical) { check_model(kRoot + "/models/osteogenic.json"); }

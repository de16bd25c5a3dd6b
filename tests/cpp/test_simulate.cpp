// simulate(): the driver against a closed-form solution of a fed, decaying medium input.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "osteogrn/errors.hpp"
#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"
#include "osteogrn/simulate.hpp"

using namespace osteogrn;

namespace {

// dx/dt = k_in u(t) - k_out x; z is driven by x and used for knockout/clamp windows.
const char* kModel = R"({
  "schema": "osteogrn-model/1", "name": "feed", "time_unit": "day",
  "inputs": {"u": {"default": 0, "unit": "nM"}},
  "species": {"x": {"initial": 0.3}, "z": {"initial": 0.5}},
  "parameters": {
    "k_in": {"value": 0.8, "max": 100, "source": "assumed: test"},
    "k_out": {"value": 0.6, "max": 100, "source": "assumed: test"},
    "a_z": {"value": 1.0, "source": "assumed: test"},
    "b_z": {"value": 0.5, "source": "assumed: test"}
  },
  "odes": {"x": "k_in * u - k_out * x", "z": "a_z - b_z * z + 0.1 * x"},
  "observables": {"twice_x": "2 * x"}
})";

constexpr double kC = 2.0;          // fresh concentration (nM)
constexpr double kHalfLife = 1.5;   // days
constexpr double kFraction = 0.5;   // replace_fraction
constexpr double kSpikeDay = 4.5, kSpike = 1.0;
const double kLambda = std::log(2.0) / kHalfLife;

std::string protocol_json(const std::string& perturbations) {
  return R"({"schema": "osteogrn-protocol/1", "name": "feed3", "duration": 10,
    "media_changes": {"every": 3}, "replace_fraction": 0.5,
    "components": {"u": {"concentration": 2, "unit": "nM", "half_life": 1.5}},
    "additions": [{"day": 4.5, "component": "u", "concentration": 1}],
    "perturbations": )" + perturbations + "}";
}

// A window [from, until) overriding a parameter (value, or scale when scale = true).
struct Window {
  double from, until;
  bool k_out;  // else k_in
  double value;
  bool scale;
};

// Exact solution, computed independently of Schedule: walk the breakpoints, apply the
// media-change recursion u -> (1-f) u + f C on days 3, 6, 9 and the spike on 4.5; inside a
// segment starting at s: u = U0 e^{-λ(t-s)},
// x(t) = x_s e^{-k(t-s)} + k_in U0 (e^{-λ(t-s)} - e^{-k(t-s)}) / (k - λ).
struct Exact {
  std::vector<double> bps;
  std::vector<Window> windows;

  struct Seg { double s, U0, xs, k_in, k_out; };
  std::vector<Seg> segs;

  Exact(std::vector<double> extra_bps, std::vector<Window> w) : windows(std::move(w)) {
    bps = {0, 3, 4.5, 6, 9, 10};
    bps.insert(bps.end(), extra_bps.begin(), extra_bps.end());
    std::sort(bps.begin(), bps.end());
    bps.erase(std::unique(bps.begin(), bps.end()), bps.end());
    double U = kC, x = 0.3;
    for (std::size_t i = 0; i + 1 < bps.size(); ++i) {
      const double s = bps[i];
      if (i > 0) {
        const Seg& p = segs.back();
        const double dt = s - p.s;
        x = x_at(p, dt);
        U = p.U0 * std::exp(-kLambda * dt);
        if (s == 3 || s == 6 || s == 9) U = (1 - kFraction) * U + kFraction * kC;
        if (s == kSpikeDay) U += kSpike;
      }
      double k_in = 0.8, k_out = 0.6;
      for (const Window& w : windows) {
        if (s >= w.from && s < w.until) {
          double& k = w.k_out ? k_out : k_in;
          k = w.scale ? k * w.value : w.value;
        }
      }
      segs.push_back({s, U, x, k_in, k_out});
    }
  }
  static double x_at(const Seg& g, double dt) {
    return g.xs * std::exp(-g.k_out * dt) +
           g.k_in * g.U0 * (std::exp(-kLambda * dt) - std::exp(-g.k_out * dt)) / (g.k_out - kLambda);
  }
  const Seg& seg(double t) const {  // a breakpoint belongs to the segment starting there
    std::size_t k = 0;
    while (k + 1 < segs.size() && segs[k + 1].s <= t) ++k;
    return segs[k];
  }
  double x(double t) const { const Seg& g = seg(t); return x_at(g, t - g.s); }
  double u(double t) const { const Seg& g = seg(t); return g.U0 * std::exp(-kLambda * (t - g.s)); }
};

std::vector<double> sample_times() {
  std::vector<double> t;
  for (int i = 0; i <= 80; ++i) t.push_back(0.125 * i);  // hits 3, 4.5, 6, 9 and 10 exactly
  t.push_back(3.3333);
  t.push_back(7.0001);
  std::sort(t.begin(), t.end());
  return t;
}

const Method kAllMethods[] = {Method::cvode_bdf, Method::cvode_adams, Method::dopri5,
                              Method::rosenbrock4};

SolverOptions tight(Method m) {
  SolverOptions o;
  o.method = m;
  o.rtol = 1e-9;
  o.atol = 1e-14;
  o.record_steps = true;
  return o;
}

double col(const Result&, std::size_t i, const std::vector<double>& data, std::size_t n,
           std::size_t j) {
  return data[i * n + j];
}

}  // namespace

TEST(Simulate, ClosedFormFedInputAllMethods) {
  const Model model = Model::from_json(kModel, "feed.json");
  const Protocol proto = Protocol::from_json(protocol_json("[]"), "feed3.json");
  const Exact ex({}, {});
  const std::vector<double> times = sample_times();
  for (Method m : kAllMethods) {
    SCOPED_TRACE(to_string(m));
    const Result r = simulate(model, proto, times, tight(m));
    ASSERT_TRUE(r.success) << r.status;
    ASSERT_EQ(r.t, times);
    ASSERT_EQ(r.species_names, (std::vector<std::string>{"x", "z"}));
    ASSERT_EQ(r.input_names, (std::vector<std::string>{"u"}));
    ASSERT_EQ(r.observable_names, (std::vector<std::string>{"twice_x"}));
    EXPECT_EQ(r.method, to_string(m));
    EXPECT_EQ(r.breakpoints, (std::vector<double>{0, 3, 4.5, 6, 9, 10}));
    EXPECT_EQ(r.media_change_days, (std::vector<double>{3, 6, 9}));
    double worst = 0.0;
    for (std::size_t i = 0; i < times.size(); ++i) {
      const double xe = ex.x(times[i]);
      const double x = col(r, i, r.species, 2, 0);
      worst = std::max(worst, std::abs(x - xe) / std::abs(xe));
      EXPECT_NEAR(x, xe, 1e-6 * std::abs(xe)) << "t = " << times[i];
      EXPECT_NEAR(col(r, i, r.inputs, 1, 0), ex.u(times[i]), 1e-12 * ex.u(times[i]));
      EXPECT_DOUBLE_EQ(col(r, i, r.observables, 1, 0), 2 * x);
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", worst);
    RecordProperty(std::string("max_rel_err_") + to_string(m), buf);
    // The step log: no step crosses a breakpoint, the steps tile [0, 10].
    ASSERT_FALSE(r.step_log.empty());
    EXPECT_EQ(static_cast<long>(r.step_log.size()), r.stats.steps);
    for (const StepRecord& s : r.step_log) {
      EXPECT_LT(s.t_start, s.t_end);
      for (double b : r.breakpoints)
        EXPECT_FALSE(s.t_start < b && b < s.t_end) << "step [" << s.t_start << ", " << s.t_end
                                                     << "] crosses breakpoint " << b;
    }
    EXPECT_EQ(r.step_log.front().t_start, 0.0);
    EXPECT_EQ(r.step_log.back().t_end, 10.0);
    EXPECT_EQ(r.stats.restarts, 5);
    EXPECT_GT(r.stats.rhs_evals, r.stats.steps);
  }
}

TEST(Simulate, SampleOnMediaChangeDayReportsPostChangeInput) {
  const Model model = Model::from_json(kModel, "feed.json");
  const Protocol proto = Protocol::from_json(protocol_json("[]"), "feed3.json");
  const Result r = simulate(model, proto, {2.999, 3.0, 4.5, 10.0});
  ASSERT_TRUE(r.success);
  // Independent recursion: U(3-) = 2 e^{-3λ}; U(3+) = 0.5 U(3-) + 0.5 * 2.
  const double before = kC * std::exp(-kLambda * 3.0);
  const double after = (1 - kFraction) * before + kFraction * kC;
  EXPECT_NEAR(r.inputs[1], after, 1e-12);
  EXPECT_GT(std::abs(r.inputs[1] - before), 0.1);
  EXPECT_NEAR(r.inputs[0], kC * std::exp(-kLambda * 2.999), 1e-12);
  // Spike at 4.5 is included at the sample on 4.5.
  EXPECT_NEAR(r.inputs[2], after * std::exp(-kLambda * 1.5) + kSpike, 1e-12);
}

TEST(Simulate, KnockoutClampAndParameterWindows) {
  const Model model = Model::from_json(kModel, "feed.json");
  const Protocol proto = Protocol::from_json(protocol_json(R"([
      {"knockout": "z", "from": 2, "until": 5},
      {"clamp": "z", "value": 1.7, "from": 6, "until": 8},
      {"parameter": "k_out", "value": 1.5, "from": 1, "until": 4},
      {"parameter": "k_in", "scale": 2, "from": 7, "until": 9.5}])"), "feed3p.json");
  const Exact ex({1, 2, 4, 5, 7, 8, 9.5}, {{1, 4, true, 1.5, false}, {7, 9.5, false, 2, true}});
  const std::vector<double> times = sample_times();
  for (Method m : kAllMethods) {
    SCOPED_TRACE(to_string(m));
    const Result r = simulate(model, proto, times, tight(m));
    ASSERT_TRUE(r.success) << r.status;
    EXPECT_EQ(r.breakpoints, (std::vector<double>{0, 1, 2, 3, 4, 4.5, 5, 6, 7, 8, 9, 9.5, 10}));
    for (std::size_t i = 0; i < times.size(); ++i) {
      const double t = times[i];
      const double x = r.species[i * 2], z = r.species[i * 2 + 1];
      EXPECT_NEAR(x, ex.x(t), 1e-6 * std::abs(ex.x(t))) << "t = " << t;
      if (t >= 2 && t < 5) EXPECT_EQ(z, 0.0) << "knocked out at t = " << t;
      else if (t >= 6 && t < 8) EXPECT_EQ(z, 1.7) << "clamped at t = " << t;
      else if (t < 2) EXPECT_GT(z, 0.4) << t;
      if (t == 5.0) EXPECT_EQ(z, 0.0);  // released at 5, starting from its held value
      if (t == 8.0) EXPECT_EQ(z, 1.7);
      if (t > 5.0 && t < 6.0) EXPECT_GT(z, 0.0);
    }
    for (const StepRecord& s : r.step_log)
      for (double b : r.breakpoints) EXPECT_FALSE(s.t_start < b && b < s.t_end) << b;
    EXPECT_EQ(r.stats.restarts, 12);
  }
}

TEST(Simulate, ModelKnockoutHoldsSpeciesAtZeroFromTheStart) {
  const Model model = Model::from_json(kModel, "feed.json").knockout("z");
  const Protocol proto = Protocol::from_json(protocol_json("[]"), "feed3.json");
  const Result r = simulate(model, proto, {0.0, 1.0, 5.0, 10.0});
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(r.species[i * 2 + 1], 0.0);
  EXPECT_GT(r.species[2], 0.0);
}

TEST(Simulate, DefaultTimes) {
  const std::vector<double> t = default_times(21);
  ASSERT_EQ(t.size(), 211u);
  EXPECT_EQ(t.front(), 0.0);
  EXPECT_EQ(t[3], 0.3);
  EXPECT_EQ(t.back(), 21.0);
  const std::vector<double> u = default_times(2.55);
  EXPECT_EQ(u.back(), 2.55);
  EXPECT_EQ(u[u.size() - 2], 2.5);
  const Model model = Model::from_json(kModel, "feed.json");
  const Protocol proto = Protocol::from_json(protocol_json("[]"), "feed3.json");
  const Result r = simulate(model, proto);
  EXPECT_EQ(r.t, default_times(10));
  EXPECT_EQ(r.species.size(), r.t.size() * 2);
}

TEST(Simulate, BadOptionsAndTimesAreOptionErrors) {
  const Model model = Model::from_json(kModel, "feed.json");
  const Protocol proto = Protocol::from_json(protocol_json("[]"), "feed3.json");
  auto with = [](auto edit) { SolverOptions o; edit(o); return o; };
  const SolverOptions bad[] = {
      with([](SolverOptions& o) { o.rtol = 0; }),
      with([](SolverOptions& o) { o.rtol = -1e-6; }),
      with([](SolverOptions& o) { o.rtol = std::nan(""); }),
      with([](SolverOptions& o) { o.atol = 0; }),
      with([](SolverOptions& o) { o.atol = INFINITY; }),
      with([](SolverOptions& o) { o.max_steps = 0; }),
      with([](SolverOptions& o) { o.max_step = -1; }),
      with([](SolverOptions& o) { o.linear_solver = static_cast<LinearSolver>(99); }),
      with([](SolverOptions& o) { o.linear_solver = LinearSolver::klu; o.method = Method::dopri5; }),
      // Sensitivities: CVODES methods only, no duplicates (unknown names: test_sensitivities).
      with([](SolverOptions& o) { o.sensitivities = {"k_in"}; o.method = Method::dopri5; }),
      with([](SolverOptions& o) { o.sensitivities = {"k_in", "k_out", "k_in"}; }),
  };
  for (const SolverOptions& o : bad) {
    EXPECT_THROW(o.validate(), OptionError);
    SolverOptions quiet = o;
    quiet.raise_on_failure = false;  // option errors are never swallowed
    EXPECT_THROW(simulate(model, proto, {}, quiet), OptionError);
  }
  EXPECT_NO_THROW(SolverOptions().validate());
  SolverOptions a, b;
  EXPECT_TRUE(a == b);
  b.interrupt = [] { return false; };  // not compared
  EXPECT_TRUE(a == b);
  b.sensitivities = {"k_in"};
  EXPECT_TRUE(a != b);
  EXPECT_THROW(parse_linear_solver("lu"), OptionError);
  EXPECT_EQ(parse_linear_solver("klu"), LinearSolver::klu);
  EXPECT_STREQ(to_string(LinearSolver::dense), "dense");
  const std::vector<std::vector<double>> bad_times = {
      {0, 2, 1}, {0, 10.5}, {-0.1, 1}, {0, std::nan("")}, {INFINITY}};
  for (const auto& t : bad_times) EXPECT_THROW(simulate(model, proto, t), OptionError);
  EXPECT_THROW(parse_method("rk45"), OptionError);
  try {
    parse_method("rk45");
  } catch (const OptionError& e) {
    EXPECT_NE(std::string(e.what()).find("cvode_bdf"), std::string::npos);  // lists valid names
  }
  for (Method m : kAllMethods) EXPECT_EQ(parse_method(to_string(m)), m);
}

TEST(Simulate, FailureWithoutRaisingReturnsPartialResult) {
  const Model model = Model::from_json(kModel, "feed.json");
  const Protocol proto = Protocol::from_json(protocol_json("[]"), "feed3.json");
  for (Method m : kAllMethods) {
    SCOPED_TRACE(to_string(m));
    SolverOptions o = tight(m);
    o.max_steps = 30;
    EXPECT_THROW(simulate(model, proto, sample_times(), o), SolverError);
    o.raise_on_failure = false;
    const Result r = simulate(model, proto, sample_times(), o);
    EXPECT_FALSE(r.success);
    EXPECT_EQ(r.status, ReturnCode::max_steps);
    EXPECT_NE(r.message.find("maximum number of steps (30)"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find(hint(ReturnCode::max_steps)), std::string::npos) << r.message;
    EXPECT_EQ(r.flag, m == Method::cvode_bdf || m == Method::cvode_adams ? "CV_TOO_MUCH_WORK"
                                                                        : "TOO_MUCH_WORK");
    EXPECT_GT(r.failure_time, 0.0);
    EXPECT_LT(r.failure_time, 10.0);
    EXPECT_EQ(r.stats.steps, 30);
    EXPECT_TRUE(std::isfinite(r.species[0]));  // t = 0 is recorded before any step
    std::size_t n_nan = 0;
    for (std::size_t i = 0; i < r.t.size(); ++i) {
      const bool nan = std::isnan(r.species[i * 2]);
      if (r.t[i] > r.failure_time) {
        EXPECT_TRUE(nan) << r.t[i];
        EXPECT_TRUE(std::isnan(r.observables[i])) << r.t[i];
      }
      n_nan += nan;
    }
    EXPECT_GT(n_nan, 0u);
  }
}

// A model whose right-hand side is NaN from the start: non_finite for every method, with the
// partial result when not raising.
TEST(Simulate, NonFiniteModelGivesNonFiniteCode) {
  const Model model = Model::from_json(R"J({
    "schema": "osteogrn-model/1", "name": "nan", "time_unit": "day",
    "inputs": {"u": {"default": 0, "unit": "nM"}},
    "species": {"x": {"initial": 1}},
    "parameters": {"k": {"value": 1, "source": "assumed: test"}},
    "odes": {"x": "k * log(x - 2)"}})J", "nan.json");
  const Protocol proto = Protocol::from_json(protocol_json("[]"), "feed3.json");
  for (Method m : kAllMethods) {
    SCOPED_TRACE(to_string(m));
    SolverOptions o;
    o.method = m;
    try {
      simulate(model, proto, {0.0, 1.0}, o);
      FAIL() << "expected SolverError";
    } catch (const SolverError& e) {
      EXPECT_EQ(e.code(), ReturnCode::non_finite) << e.what();
    }
    o.raise_on_failure = false;
    const Result r = simulate(model, proto, {0.0, 1.0}, o);
    EXPECT_FALSE(r.success);
    EXPECT_EQ(r.status, ReturnCode::non_finite) << r.message;
    EXPECT_TRUE(std::isnan(r.species[1]));
  }
}

// SolverOptions::interrupt: true stops the run with ReturnCode::cancelled within about one
// poll interval; an exception thrown by it propagates unchanged; it is not called for a run
// shorter than the interval... and never when empty.
TEST(Simulate, InterruptStopsARunBetweenSteps) {
  const Model model = Model::from_json(kModel, "feed.json");
  const Protocol proto = Protocol::from_json(protocol_json("[]"), "feed3.json");
  for (Method m : kAllMethods) {
    SCOPED_TRACE(to_string(m));
    SolverOptions o;
    o.method = m;
    o.max_step = 1e-6;       // 1e7 steps: minutes, unless interrupted
    o.max_steps = 1000000000;
    int polls = 0;
    o.interrupt = [&] { return ++polls >= 3; };
    const auto start = std::chrono::steady_clock::now();
    try {
      simulate(model, proto, {}, o);
      FAIL() << "expected SolverError";
    } catch (const SolverError& e) {
      EXPECT_EQ(e.code(), ReturnCode::cancelled) << e.what();
      EXPECT_GT(e.time(), 0.0);
      EXPECT_LT(e.time(), 10.0);
    }
    EXPECT_EQ(polls, 3);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
              10.0);  // generous: 3 polls at 10 ms intervals
    polls = 0;
    o.raise_on_failure = false;
    const Result r = simulate(model, proto, {}, o);
    EXPECT_EQ(r.status, ReturnCode::cancelled);
    EXPECT_TRUE(std::isnan(r.species.back()));
    o.interrupt = [] () -> bool { throw std::runtime_error("from the caller"); };
    EXPECT_THROW(simulate(model, proto, {}, o), std::runtime_error);
  }
}

// Durations whose default grid would not fit (or overflow the sample count) are an OptionError
// before anything is allocated; so is an explicit grid too large for the result.
TEST(Simulate, OversizedSampleGridsAreOptionErrors) {
  for (double duration : {1e12, 9.3e17, 1e300}) {
    try {
      default_times(duration);
      FAIL() << "expected OptionError for duration " << duration;
    } catch (const OptionError& e) {
      EXPECT_NE(std::string(e.what()).find("pass the sample times you need as t="),
                std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(default_times(2.0).size(), 21u);
  const Model model = Model::from_json(kModel, "feed.json");
  const std::string long_protocol = R"({"schema": "osteogrn-protocol/1", "name": "long",
    "duration": 1e12, "components": {"u": {"concentration": 2, "unit": "nM"}}})";
  const Protocol proto = Protocol::from_json(long_protocol, "long.json");
  EXPECT_THROW(simulate(model, proto), OptionError);
  SolverOptions o;
  o.raise_on_failure = false;  // never swallowed
  EXPECT_THROW(simulate(model, proto, {}, o), OptionError);
  const Result r = simulate(model, proto, {0.0, 1.0});  // explicit times are fine
  EXPECT_TRUE(r.success);
}

// Right-hand-side cost (issue #6, item 3b): the compiled tape of the `osteogenic` model against
// the hand-written C++ RHS in hand_osteogenic.cpp, in ns per call. Before timing, both are
// evaluated at 64 states and must agree to 1e-12 relative, else the program exits with 1.
//   bench_rhs [google-benchmark flags]   (benchmarks/run.py passes repetitions + interleaving)
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "osteogrn/detail/compiled_model.hpp"
#include "hand_osteogenic.hpp"
#include "osteogrn/model.hpp"

namespace {

namespace hb = osteogrn_bench;

template <class Info, std::size_t N>
std::vector<std::size_t> map_names(const std::vector<Info>& model_items,
                                   const std::array<const char*, N>& hand_names, const char* what) {
  // result[hand index] = model index
  std::vector<std::size_t> idx(N);
  if (model_items.size() != N) {
    std::fprintf(stderr, "bench_rhs: the model has %zu %s, the hand code %zu\n",
                 model_items.size(), what, N);
    std::exit(1);
  }
  for (std::size_t h = 0; h < N; ++h) {
    std::size_t m = 0;
    while (m < model_items.size() && model_items[m].name != hand_names[h]) ++m;
    if (m == model_items.size()) {
      std::fprintf(stderr, "bench_rhs: %s '%s' of the hand code is not in the model\n", what,
                   hand_names[h]);
      std::exit(1);
    }
    idx[h] = m;
  }
  return idx;
}

/// The model, its vectors in both orders, and a cycle of test states.
struct Fixture {
  osteogrn::Model model;
  std::vector<std::size_t> ys, ps, us;  // hand index -> model index
  std::vector<double> p_model, p_hand, u_model, u_hand;
  static constexpr int kStates = 64;
  std::vector<std::vector<double>> y_model, y_hand;  // kStates states each
  std::vector<double> work;

  Fixture()
      : model(osteogrn::Model::from_file(std::string(OSTEOGRN_SOURCE_DIR) +
                                         "/models/osteogenic.json")) {
    ys = map_names(model.species(), hb::kSpeciesNames, "species");
    ps = map_names(model.parameters(), hb::kParamNames, "parameters");
    us = map_names(model.inputs(), hb::kInputNames, "inputs");
    p_model = model.parameter_values();
    p_hand.resize(ps.size());
    for (std::size_t h = 0; h < ps.size(); ++h) p_hand[h] = p_model[ps[h]];
    // Osteogenic medium in the model's units (dex nM, asc2p uM, bgp mM) with 5 ng/mL FGF2
    // (om_fgf2; at its default 0 every FGF2 term would vanish and go unchecked), other inputs
    // default.
    u_model.resize(model.inputs().size());
    for (std::size_t m = 0; m < u_model.size(); ++m) {
      const auto& in = model.inputs()[m];
      u_model[m] = in.name == "dex" ? 100.0 : in.name == "asc2p" ? 50.0
                 : in.name == "bgp" ? 10.0 : in.name == "fgf2" ? 5.0 : in.default_value;
    }
    u_hand.resize(us.size());
    for (std::size_t h = 0; h < us.size(); ++h) u_hand[h] = u_model[us[h]];
    // State 0: the initial state; the others: each species scaled by a log-uniform factor in
    // [0.1, 10] around max(initial, 0.1), seeded, so that every Hill term is exercised.
    std::mt19937_64 rng(6);
    std::uniform_real_distribution<double> logf(std::log(0.1), std::log(10.0));
    for (int s = 0; s < kStates; ++s) {
      std::vector<double> ym(model.species().size());
      for (std::size_t m = 0; m < ym.size(); ++m) {
        const double y0 = model.species()[m].initial;
        ym[m] = s == 0 ? y0 : std::max(y0, 0.1) * std::exp(logf(rng));
      }
      std::vector<double> yh(ys.size());
      for (std::size_t h = 0; h < ys.size(); ++h) yh[h] = ym[ys[h]];
      y_model.push_back(std::move(ym));
      y_hand.push_back(std::move(yh));
    }
    work.resize(osteogrn::detail::compiled_model(model).max_work_size);
  }

  const osteogrn::Tape& rhs() const { return osteogrn::detail::compiled_model(model).rhs; }
  /// The tape's arguments at test state s.
  osteogrn::EvalArgs args(int s) const {
    return {y_model[s].data(), p_model.data(), u_model.data(), 0.0};
  }
};

Fixture& fixture() {
  static Fixture f;  // read-only after construction; benchmarks run on one thread
  return f;
}

/// Largest relative difference between tape and hand code over all test states.
double check_agreement() {
  Fixture& f = fixture();
  double worst = 0.0;
  const std::size_t n = f.ys.size();
  std::vector<double> out_tape(n), out_hand(n);
  for (int s = 0; s < Fixture::kStates; ++s) {
    f.rhs().eval(f.args(s), out_tape.data(), f.work.data());
    hb::hand_osteogenic_rhs(f.y_hand[s].data(), f.p_hand.data(), f.u_hand.data(),
                            out_hand.data());
    for (std::size_t h = 0; h < n; ++h) {
      const double a = out_tape[f.ys[h]], b = out_hand[h];
      if (!std::isfinite(a) || !std::isfinite(b)) {
        std::fprintf(stderr, "bench_rhs: non-finite derivative of %s at state %d\n",
                     hb::kSpeciesNames[h], s);
        std::exit(1);
      }
      const double scale = std::max(std::fabs(a), std::fabs(b));
      const double rel = scale == 0.0 ? 0.0 : std::fabs(a - b) / scale;
      if (rel > 1e-12) {
        std::fprintf(stderr, "bench_rhs: tape %.17g != hand %.17g for d%s/dt at state %d\n", a,
                     b, hb::kSpeciesNames[h], s);
        std::exit(1);
      }
      worst = std::max(worst, rel);
    }
  }
  return worst;
}

/// Bound tape == eval() bit for bit at every test state, else exit 1.
void check_bound_tape() {
  Fixture& f = fixture();
  std::vector<double> a(f.ys.size()), b(f.ys.size()), work(f.rhs().work_size());
  f.rhs().bind(f.p_model.data(), work.data());
  for (int s = 0; s < Fixture::kStates; ++s) {
    f.rhs().eval(f.args(s), a.data(), f.work.data());
    f.rhs().eval_bound(f.args(s), b.data(), work.data());
    if (std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) != 0) {
      std::fprintf(stderr, "bench_rhs: bound tape differs from eval at state %d\n", s);
      std::exit(1);
    }
  }
}

/// The timing loop: call(s, out) at test state s, cycling through the states.
template <class Call>
void over_states(benchmark::State& state, std::size_t n_out, Call call) {
  std::vector<double> out(n_out);
  int s = 0;
  for (auto _ : state) {
    call(s, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    s = (s + 1) & (Fixture::kStates - 1);
  }
}

void BM_tape_rhs(benchmark::State& state) {
  Fixture& f = fixture();
  over_states(state, f.ys.size(),
              [&](int s, double* out) { f.rhs().eval(f.args(s), out, f.work.data()); });
}
BENCHMARK(BM_tape_rhs);

// What the integrators call: the tape bound to the parameters once (Tape::bind, done by
// simulate() at every segment start), then evaluated at each state (Tape::eval_bound).
void BM_tape_rhs_bound(benchmark::State& state) {
  Fixture& f = fixture();
  std::vector<double> work(f.rhs().work_size());
  f.rhs().bind(f.p_model.data(), work.data());
  over_states(state, f.ys.size(),
              [&](int s, double* out) { f.rhs().eval_bound(f.args(s), out, work.data()); });
}
BENCHMARK(BM_tape_rhs_bound);

// The once-per-segment cost of binding the RHS tape to the parameters.
void BM_tape_rhs_bind(benchmark::State& state) {
  Fixture& f = fixture();
  std::vector<double> work(f.rhs().work_size());
  for (auto _ : state) {
    f.rhs().bind(f.p_model.data(), work.data());
    benchmark::DoNotOptimize(work.data());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_tape_rhs_bind);

void BM_hand_rhs(benchmark::State& state) {
  Fixture& f = fixture();
  over_states(state, f.ys.size(), [&](int s, double* out) {
    hb::hand_osteogenic_rhs(f.y_hand[s].data(), f.p_hand.data(), f.u_hand.data(), out);
  });
}
BENCHMARK(BM_hand_rhs);

// For information: the analytic Jacobian tape that CVODES and rosenbrock4 call.
void BM_tape_jac_y(benchmark::State& state) {
  Fixture& f = fixture();
  const auto& jac = osteogrn::detail::compiled_model(f.model).jac_y;
  over_states(state, jac.n_outputs(),
              [&](int s, double* out) { jac.eval(f.args(s), out, f.work.data()); });
}
BENCHMARK(BM_tape_jac_y);

}  // namespace

int main(int argc, char** argv) {
  const double worst = check_agreement();
  check_bound_tape();
  const auto& c = osteogrn::detail::compiled_model(fixture().model);
  std::printf("bench_rhs: osteogenic, %zu species; tape %zu instructions (rhs; %zu of them "
              "parameter-only, run by bind), %zu (jac_y, %zu non-zeros); tape == hand code at %d "
              "states, max relative difference %.3g\n",
              c.species.size(), c.rhs.n_instructions(), c.rhs.n_bound_instructions(),
              c.jac_y.n_instructions(), c.jac_y_pattern.nnz(), Fixture::kStates, worst);
  std::fflush(stdout);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

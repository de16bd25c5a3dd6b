// steady_state(): damped Newton on dx/dt = 0 with a dense LU (SUNDIALS' dense GETRF/GETRS), and a
// fallback that integrates the state (and its forward sensitivities) with the integrators of
// simulate() until dx/dt (and ds/dt) vanish (docs/integration.md).
#include "osteogrn/steady_state.hpp"

#include <sundials/sundials_dense.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "osteogrn/detail/compiled_model.hpp"
#include "osteogrn/detail/schedule.hpp"
#include "osteogrn/detail/sensitivity_indices.hpp"
#include "osteogrn/detail/text_util.hpp"
#include "osteogrn/errors.hpp"
#include "solver/integrator.hpp"

namespace osteogrn {

using detail::format_short;

void SteadyStateOptions::validate() const {
  if (method != "auto" && method != "newton" && method != "integration")
    throw OptionError("steady state: unknown method '" + method +
                      "'; valid methods: auto, newton, integration");
  if (!(std::isfinite(rtol) && rtol > 0.0 && rtol < 1.0))
    throw OptionError("steady state: rtol must be a finite number in (0, 1), got " +
                      format_short(rtol));
  if (!(std::isfinite(atol) && atol > 0.0))
    throw OptionError("steady state: atol must be a finite number > 0, got " + format_short(atol));
  if (max_newton_iterations < 1)
    throw OptionError("steady state: max_newton_iterations must be >= 1, got " +
                      std::to_string(max_newton_iterations));
  if (!(std::isfinite(max_time) && max_time > 0.0))
    throw OptionError("steady state: max_time must be a finite number > 0, got " +
                      format_short(max_time));
}

namespace {

// The model at the protocol's t = 0 conditions, frozen: parameters with segment 0's overrides,
// inputs at their t = 0 values, segment 0's clamps held, time fixed at 0 (an explicit t in the
// equations keeps its t = 0 value). Autonomous, so an integrator can run it to any time.
class FrozenSystem final : public detail::OdeSystem {
 public:
  FrozenSystem(const Model& model, const Schedule& schedule, std::vector<std::size_t> sens,
               std::function<bool()> interrupt)
      : cm_(detail::compiled_model(model)), n_(cm_.species.size()),
        p_(cm_.parameters.size()), u_(cm_.inputs.size()), held_(n_, 0), held_value_(n_, 0.0),
        work_(std::max<std::size_t>(cm_.max_work_size, 1)), jac_values_(cm_.jac_y_pattern.nnz()),
        jp_values_(sens.empty() ? 0 : cm_.jac_p_pattern.nnz()), sens_(std::move(sens)),
        slot_(cm_.parameters.size(), -1), dp_dtheta_(sens_.size(), 1.0), scale_(sens_.size(), 1.0),
        interrupt_(std::move(interrupt)) {
    schedule.parameters(0, model.parameter_values(), p_.data());
    schedule.inputs(0, 0.0, u_.data());
    const Segment& seg = schedule.segments()[0];
    for (const auto& c : seg.clamps) {
      held_[c.species] = 1;
      held_value_[c.species] = c.value;
    }
    const std::vector<double>& theta = model.parameter_values();
    for (std::size_t j = 0; j < sens_.size(); ++j) {
      slot_[sens_[j]] = static_cast<long>(j);
      const double a = std::abs(theta[sens_[j]]);
      scale_[j] = a > 0.0 && std::isfinite(a) ? a : 1.0;
    }
    // dp/dθ as Schedule::parameters applies the overrides (later ones win).
    for (const auto& o : seg.overrides) {
      const long j = slot_[o.parameter];
      if (j >= 0) dp_dtheta_[static_cast<std::size_t>(j)] = o.scale ? o.value : 0.0;
    }
  }

  std::size_t size() const override { return n_; }
  bool held(std::size_t i) const { return held_[i] != 0; }
  double held_value(std::size_t i) const { return held_value_[i]; }
  std::size_t n_sensitivities() const override { return sens_.size(); }
  double sensitivity_scale(std::size_t j) const override { return scale_[j]; }
  std::string state_name(std::size_t i) const override {
    return i < n_ ? cm_.species[i].name : "y[" + std::to_string(i) + "]";
  }

  void rhs(double /*t*/, const double* y, double* dydt) override {
    if (interrupt_ && ++calls_ % 256 == 0 && interrupt_())
      throw SolverError(ReturnCode::cancelled, "steady state: interrupted at the caller's request",
                        0.0);
    cm_.rhs.eval(args(y), dydt, work_.data());
    for (std::size_t i = 0; i < n_; ++i)
      if (held_[i]) dydt[i] = 0.0;
  }

  // Column-major J[col * n + row]; rows of held species are 0.
  void jacobian(double /*t*/, const double* y, double* J) override {
    std::fill(J, J + n_ * n_, 0.0);
    if (jac_values_.empty()) return;
    cm_.jac_y.eval(args(y), jac_values_.data(), work_.data());
    const auto& pat = cm_.jac_y_pattern;
    for (std::size_t e = 0; e < pat.nnz(); ++e)
      if (!held_[pat.rows[e]]) J[pat.cols[e] * n_ + pat.rows[e]] = jac_values_[e];
  }

  void dfdt(double, const double*, double* out) override { std::fill(out, out + n_, 0.0); }

  /// fp[j * n + i] = ∂f_i/∂θ_j (dp/dθ applied; rows of held species 0).
  void parameter_jacobian(const double* y, double* fp) {
    const std::size_t m = sens_.size();
    std::fill(fp, fp + n_ * m, 0.0);
    if (jp_values_.empty()) return;
    cm_.jac_p.eval(args(y), jp_values_.data(), work_.data());
    const auto& pat = cm_.jac_p_pattern;
    for (std::size_t e = 0; e < pat.nnz(); ++e) {
      const long j = slot_[pat.cols[e]];
      if (j < 0 || held_[pat.rows[e]]) continue;
      fp[static_cast<std::size_t>(j) * n_ + pat.rows[e]] +=
          jp_values_[e] * dp_dtheta_[static_cast<std::size_t>(j)];
    }
  }

  // s_j' = J s_j + ∂f/∂θ_j.
  void sensitivity_rhs(double /*t*/, const double* y, const double* const* s,
                       double* const* sdot) override {
    const std::size_t m = sens_.size();
    fp_.resize(n_ * m);
    parameter_jacobian(y, fp_.data());
    for (std::size_t j = 0; j < m; ++j) std::copy(&fp_[j * n_], &fp_[j * n_] + n_, sdot[j]);
    if (jac_values_.empty()) return;
    cm_.jac_y.eval(args(y), jac_values_.data(), work_.data());
    const auto& pat = cm_.jac_y_pattern;
    for (std::size_t e = 0; e < pat.nnz(); ++e) {
      const std::uint32_t r = pat.rows[e], c = pat.cols[e];
      if (held_[r]) continue;
      for (std::size_t j = 0; j < m; ++j) sdot[j][r] += jac_values_[e] * s[j][c];
    }
  }

 private:
  EvalArgs args(const double* y) const {
    EvalArgs a;
    a.y = y;
    a.p = p_.data();
    a.u = u_.data();
    a.t = 0.0;
    return a;
  }

  const detail::CompiledModel& cm_;
  std::size_t n_;
  std::vector<double> p_, u_;
  std::vector<char> held_;
  std::vector<double> held_value_, work_, jac_values_, jp_values_, fp_;
  std::vector<std::size_t> sens_;
  std::vector<long> slot_;
  std::vector<double> dp_dtheta_, scale_;
  std::function<bool()> interrupt_;
  unsigned long calls_ = 0;
};

// wrms(v) with weights 1 / (atol + rtol |x_i|).
double wrms(const double* v, const double* x, std::size_t n, double rtol, double atol) {
  if (n == 0) return 0.0;
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double w = v[i] / (atol + rtol * std::abs(x[i]));
    sum += w * w;
  }
  return std::sqrt(sum / static_cast<double>(n));
}

// Dense LU with partial pivoting (SUNDIALS' denseGETRF on column pointers).
class DenseLu {
 public:
  explicit DenseLu(std::size_t n) : n_(n), a_(n * n), cols_(n), pivots_(n) {
    for (std::size_t c = 0; c < n; ++c) cols_[c] = a_.data() + c * n;
  }
  double* matrix() { return a_.data(); }  // column-major; overwritten by factor()

  /// Factorises; false when the matrix is singular to working precision: a zero pivot, or a
  /// smallest pivot below kSingular * n * eps times the largest (the tell-tale of a rank
  /// deficiency such as a conservation law, which partial pivoting leaves at rounding level).
  bool factor() {
    if (n_ == 0) return true;
    for (double v : a_)
      if (!std::isfinite(v)) return false;
    const auto n = static_cast<sunindextype>(n_);
    if (SUNDlsMat_denseGETRF(cols_.data(), n, n, pivots_.data()) != 0) return false;
    double lo = std::numeric_limits<double>::infinity(), hi = 0.0;
    for (std::size_t k = 0; k < n_; ++k) {
      const double d = std::abs(cols_[k][k]);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    // assumed: 1e3 * n * eps separates rounding-level pivots of rank-deficient Jacobians from
    // genuine stiffness (a ratio of 1e-13 between time scales); a false alarm only costs an
    // integration, never a wrong result.
    constexpr double kSingular = 1e3;
    return lo > kSingular * static_cast<double>(n_) *
                    std::numeric_limits<double>::epsilon() * hi;
  }
  /// b <- A^-1 b after factor().
  void solve(double* b) {
    if (n_ > 0) SUNDlsMat_denseGETRS(cols_.data(), static_cast<sunindextype>(n_), pivots_.data(), b);
  }

 private:
  std::size_t n_;
  std::vector<double> a_;
  std::vector<double*> cols_;
  std::vector<sunindextype> pivots_;
};

struct NewtonOutcome {
  bool converged = false;
  bool singular = false;
  int iterations = 0;
  std::string reason;
};

// Damped Newton from x (updated in place). Held species stay at their values (their rows of the
// Newton matrix are the identity, their residual 0).
NewtonOutcome newton(FrozenSystem& sys, std::vector<double>& x, const SteadyStateOptions& o,
                     DenseLu& lu) {
  const std::size_t n = sys.size();
  NewtonOutcome out;
  std::vector<double> f(n), dx(n), trial(n), f_trial(n);
  sys.rhs(0.0, x.data(), f.data());
  double r = wrms(f.data(), x.data(), n, o.rtol, o.atol);
  if (!std::isfinite(r)) {
    out.reason = "dx/dt is not finite at the starting point";
    return out;
  }
  for (; out.iterations < o.max_newton_iterations; ++out.iterations) {
    if (r < 1.0) {
      out.converged = true;
      return out;
    }
    sys.jacobian(0.0, x.data(), lu.matrix());
    for (std::size_t i = 0; i < n; ++i)
      if (sys.held(i)) lu.matrix()[i * n + i] = 1.0;
    if (!lu.factor()) {
      out.singular = true;
      out.reason = "the Jacobian is singular at iteration " + std::to_string(out.iterations) +
                   " (a conservation law?)";
      return out;
    }
    for (std::size_t i = 0; i < n; ++i) dx[i] = -f[i];
    lu.solve(dx.data());
    // Damping: halve the step until the residual decreases.
    double lambda = 1.0;
    bool accepted = false;
    for (int k = 0; k < 40 && !accepted; ++k, lambda *= 0.5) {
      for (std::size_t i = 0; i < n; ++i) trial[i] = sys.held(i) ? x[i] : x[i] + lambda * dx[i];
      sys.rhs(0.0, trial.data(), f_trial.data());
      const double r_trial = wrms(f_trial.data(), trial.data(), n, o.rtol, o.atol);
      if (std::isfinite(r_trial) && r_trial < r) {
        x.swap(trial);
        f.swap(f_trial);
        r = r_trial;
        accepted = true;
      }
    }
    if (!accepted) {
      out.reason = "no damped Newton step decreases the residual (wrms(dx/dt) = " +
                   format_short(r) + ") at iteration " + std::to_string(out.iterations);
      return out;
    }
  }
  if (r < 1.0) {
    out.converged = true;
    return out;
  }
  out.reason = "not converged after " + std::to_string(o.max_newton_iterations) +
               " iterations (wrms(dx/dt) = " + format_short(r) + ")";
  return out;
}

// S = -J^-1 ∂f/∂θ at x (row-major [n x m] into `out`); false if J is singular there.
bool newton_sensitivities(FrozenSystem& sys, const std::vector<double>& x, DenseLu& lu,
                          std::vector<double>& out) {
  const std::size_t n = sys.size(), m = sys.n_sensitivities();
  sys.jacobian(0.0, x.data(), lu.matrix());
  for (std::size_t i = 0; i < n; ++i)
    if (sys.held(i)) lu.matrix()[i * n + i] = 1.0;
  if (!lu.factor()) return false;
  std::vector<double> fp(n * m);
  sys.parameter_jacobian(x.data(), fp.data());
  out.assign(n * m, 0.0);
  for (std::size_t j = 0; j < m; ++j) {
    double* col = &fp[j * n];
    for (std::size_t i = 0; i < n; ++i) col[i] = -col[i];
    lu.solve(col);
    for (std::size_t i = 0; i < n; ++i) out[i * m + j] = sys.held(i) ? 0.0 : col[i];
  }
  return true;
}

// Integrates state and sensitivities (s[j * n + i]) from t = 0 over doubling horizons until
// wrms(dx/dt) < 1 and every wrms(ds_j/dt) < 1, or max_time.
void integrate(FrozenSystem& sys, const SolverOptions& options, const SteadyStateOptions& o,
               std::vector<double>& x, std::vector<double>& s, SteadyState& out) {
  const std::size_t n = sys.size(), m = sys.n_sensitivities();
  SolverOptions io = options;
  // The frozen system has no sparse pattern: its Newton matrices are dense.
  io.linear_solver = LinearSolver::dense;
  std::unique_ptr<detail::Integrator> integrator = detail::make_integrator(sys, io);
  integrator->reset(0.0, x.data());
  if (m) integrator->reset_sensitivities(s.data());
  std::vector<double> f(n), sdot(n * m);
  std::vector<const double*> sp(m);
  std::vector<double*> sdp(m);
  for (std::size_t j = 0; j < m; ++j) {
    sp[j] = &s[j * n];
    sdp[j] = &sdot[j * n];
  }
  auto residuals = [&](double& r_state, double& r_sens) {
    sys.rhs(0.0, x.data(), f.data());
    r_state = wrms(f.data(), x.data(), n, o.rtol, o.atol);
    r_sens = 0.0;
    if (m) {
      sys.sensitivity_rhs(0.0, x.data(), sp.data(), sdp.data());
      for (std::size_t j = 0; j < m; ++j)
        r_sens = std::max(r_sens, wrms(sdp[j], sp[j], n, o.rtol, o.atol / sys.sensitivity_scale(j)));
    }
  };
  double r_state = 0.0, r_sens = 0.0, t = 0.0;
  residuals(r_state, r_sens);
  // assumed: the first look at t = 1e-3 time units and doubling from there checks often
  // enough for fast models (few extra steps) and reaches 1e9 in about 40 looks.
  double tout = 1e-3;
  while (!(r_state < 1.0 && r_sens < 1.0)) {
    if (t >= o.max_time)
      throw SolverError(ReturnCode::convergence_failure,
                        "steady state: not reached by integrating to t = " + format_short(t) +
                            " (max_time): wrms(dx/dt) = " + format_short(r_state) +
                            (m ? ", largest wrms(ds/dt) = " + format_short(r_sens) : "") +
                            " (converged below 1 with rtol = " + format_short(o.rtol) +
                            ", atol = " + format_short(o.atol) + "); the model may have no "
                            "steady state under these conditions",
                        t);
    tout = std::min(tout, o.max_time);
    try {
      integrator->advance(tout, o.max_time, x.data());
    } catch (const SolverError& e) {
      throw SolverError(e.code(),
                        "steady state: integration failed at t = " + format_short(e.time()) +
                            " (wrms(dx/dt) = " + format_short(r_state) + " at t = " +
                            format_short(t) + "): " + e.reason(),
                        e.time(), e.flag());
    }
    t = tout;
    for (std::size_t i = 0; i < n; ++i)
      if (sys.held(i)) x[i] = sys.held_value(i);
    if (m) integrator->sensitivities(s.data());
    residuals(r_state, r_sens);
    tout *= 2.0;
  }
  out.method = "integration";
  out.time = t;
}

}  // namespace

SteadyState steady_state(const Model& model, const Protocol& protocol,
                         const SolverOptions& options, const SteadyStateOptions& steady_options,
                         const InitialConditions& initial) {
  options.validate();
  steady_options.validate();
  const Schedule schedule(protocol, model);
  std::vector<std::size_t> sens = detail::sensitivity_indices(model, options.sensitivities);
  const std::size_t n = model.species().size(), m = sens.size();
  detail::check_initial_conditions(initial, n, m);
  FrozenSystem sys(model, schedule, std::move(sens), options.interrupt);

  std::vector<double> x0 = initial.state.empty() ? model.initial_state() : initial.state;
  // s0[j * n + i] = d x0_i / d θ_j: the caller's, or the model's (0 where initial values are
  // numbers; the derivative of an initial expression where they depend on θ, as in simulate()).
  std::vector<double> s0(n * m, 0.0);
  if (!initial.sensitivities.empty()) {
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < m; ++j) s0[j * n + i] = initial.sensitivities[i * m + j];
  } else if (m > 0) {
    const std::vector<double> jac = model.initial_state_jacobian();
    const std::size_t np = model.parameters().size();
    for (std::size_t j = 0; j < m; ++j) {
      const std::size_t k = *model.find_parameter(options.sensitivities[j]);
      for (std::size_t i = 0; i < n; ++i) s0[j * n + i] = jac[i * np + k];
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    if (sys.held(i)) {
      x0[i] = sys.held_value(i);
      for (std::size_t j = 0; j < m; ++j) s0[j * n + i] = 0.0;
    }

  SteadyState out;
  DenseLu lu(n);
  const std::string& method = steady_options.method;
  if (method != "integration") {
    std::vector<double> x = x0;
    const NewtonOutcome nw = newton(sys, x, steady_options, lu);
    out.newton_iterations = nw.iterations;
    if (nw.converged) {
      if (m == 0 || newton_sensitivities(sys, x, lu, out.sensitivities)) {
        out.state = std::move(x);
        out.method = "newton";
        std::vector<double> f(n);
        sys.rhs(0.0, out.state.data(), f.data());
        out.residual = wrms(f.data(), out.state.data(), n, steady_options.rtol,
                            steady_options.atol);
        return out;
      }
      if (method == "newton")
        throw SolverError(ReturnCode::linear_solver_failure,
                          "steady state: Newton converged but the Jacobian is singular there (a "
                          "conservation law?), so -J^-1 df/dtheta does not give the "
                          "sensitivities; use method 'auto' or 'integration'",
                          0.0);
    } else if (method == "newton") {
      throw SolverError(nw.singular ? ReturnCode::linear_solver_failure
                                    : ReturnCode::convergence_failure,
                        "steady state: Newton's method failed: " + nw.reason +
                            "; method 'auto' falls back to integration",
                        0.0);
    }
  }
  std::vector<double> x = x0, s = s0;
  integrate(sys, options, steady_options, x, s, out);
  out.state = std::move(x);
  out.sensitivities.assign(n * m, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < m; ++j) out.sensitivities[i * m + j] = s[j * n + i];
  std::vector<double> f(n);
  sys.rhs(0.0, out.state.data(), f.data());
  out.residual = wrms(f.data(), out.state.data(), n, steady_options.rtol, steady_options.atol);
  return out;
}

}  // namespace osteogrn

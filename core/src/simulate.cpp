// The simulate() driver: walks the protocol schedule segment by segment, restarting the
// integrator at every breakpoint (DESIGN.md "Integration").
#include "osteogrn/simulate.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "compiled_model.hpp"
#include "integrator.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/schedule.hpp"

namespace osteogrn {

namespace {

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

const char* const kMethodNames[] = {"cvode_bdf", "cvode_adams", "dopri5", "rosenbrock4"};

}  // namespace

Method parse_method(const std::string& name) {
  for (int i = 0; i < 4; ++i)
    if (name == kMethodNames[i]) return static_cast<Method>(i);
  throw OptionError("unknown method '" + name +
                    "'; valid methods: cvode_bdf, cvode_adams, dopri5, rosenbrock4");
}

const char* to_string(Method method) {
  const int i = static_cast<int>(method);
  return (i >= 0 && i < 4) ? kMethodNames[i] : "unknown";
}

void SolverOptions::validate() const {
  const int m = static_cast<int>(method);
  if (m < 0 || m > 3) throw OptionError("unknown method (enum value " + std::to_string(m) + ")");
  if (!(std::isfinite(rtol) && rtol > 0.0 && rtol < 1.0))
    throw OptionError("rtol must be a finite number in (0, 1), got " + fmt(rtol));
  if (!(std::isfinite(atol) && atol > 0.0))
    throw OptionError("atol must be a finite number > 0, got " + fmt(atol));
  if (max_steps < 1) throw OptionError("max_steps must be >= 1, got " + std::to_string(max_steps));
  if (!(std::isfinite(max_step) && max_step >= 0.0))
    throw OptionError("max_step must be a finite number >= 0 (0 = unlimited), got " +
                      fmt(max_step));
  if (linear_solver != "dense" && linear_solver != "klu")
    throw OptionError("unknown linear_solver '" + linear_solver + "'; valid: dense, klu");
  if (linear_solver == "klu") {
    if (method == Method::dopri5 || method == Method::rosenbrock4)
      throw OptionError("linear_solver 'klu' applies to cvode_bdf/cvode_adams only, not " +
                        std::string(to_string(method)));
    throw OptionError("linear_solver 'klu' is not available yet; use 'dense'");
  }
  if (!sensitivities.empty())
    throw OptionError("sensitivities are not implemented yet (requested for '" +
                      sensitivities.front() + "'); leave sensitivities empty");
}

std::vector<double> default_times(double duration) {
  if (!(std::isfinite(duration) && duration >= 0.0))
    throw OptionError("duration must be finite and >= 0, got " + fmt(duration));
  std::vector<double> t;
  // i / 10.0 rather than accumulating 0.1: every time is the double nearest to i/10.
  const long n = static_cast<long>(std::floor(duration * 10.0 + 1e-9));
  t.reserve(static_cast<std::size_t>(n) + 2);
  for (long i = 0; i <= n; ++i) t.push_back(std::min(static_cast<double>(i) / 10.0, duration));
  if (t.back() < duration) {
    // duration is not a multiple of 0.1: end exactly on it (or replace a near-duplicate).
    if (duration - t.back() < 1e-9) t.back() = duration;
    else t.push_back(duration);
  }
  return t;
}

namespace {

// The model under one segment of the schedule, as an ODE system. Scratch buffers are sized once
// (per simulate() call); the callbacks do not allocate.
class ModelSystem final : public detail::OdeSystem {
 public:
  ModelSystem(const Model& model, const Schedule& schedule)
      : cm_(model.compiled()), schedule_(schedule), n_(cm_.species.size()),
        p_(cm_.parameters.size()), u_(cm_.inputs.size()), dudt_(cm_.inputs.size()),
        clamped_(n_, 0), work_(std::max<std::size_t>(cm_.max_work_size, 1)),
        jac_values_(cm_.jac_y_pattern.nnz()), ju_values_(cm_.jac_u_pattern.nnz()) {}

  std::size_t size() const override { return n_; }

  /// Enters segment k: its parameters and its clamped species.
  void set_segment(std::size_t k, const std::vector<double>& base_parameters) {
    k_ = k;
    schedule_.parameters(k, base_parameters, p_.data());
    std::fill(clamped_.begin(), clamped_.end(), 0);
    for (const auto& c : schedule_.segments()[k].clamps) clamped_[c.species] = 1;
  }

  void rhs(double t, const double* y, double* dydt) override {
    schedule_.inputs(k_, t, u_.data());
    cm_.rhs.eval(args(y, t), dydt, work_.data());
    for (std::size_t i = 0; i < n_; ++i)
      if (clamped_[i]) dydt[i] = 0.0;
  }

  void jacobian(double t, const double* y, double* J) override {
    schedule_.inputs(k_, t, u_.data());
    std::fill(J, J + n_ * n_, 0.0);
    if (!jac_values_.empty()) cm_.jac_y.eval(args(y, t), jac_values_.data(), work_.data());
    const auto& pat = cm_.jac_y_pattern;
    for (std::size_t e = 0; e < pat.nnz(); ++e) {
      if (!clamped_[pat.rows[e]]) J[pat.cols[e] * n_ + pat.rows[e]] = jac_values_[e];
    }
  }

  // ∂f/∂t = explicit ∂f/∂t + Σ_k ∂f/∂u_k · du_k/dt (inputs decay in closed form).
  void dfdt(double t, const double* y, double* out) override {
    schedule_.inputs(k_, t, u_.data());
    const EvalArgs a = args(y, t);
    cm_.dfdt.eval(a, out, work_.data());
    if (!ju_values_.empty()) {
      schedule_.input_rates(k_, t, dudt_.data());
      cm_.jac_u.eval(a, ju_values_.data(), work_.data());
      const auto& pat = cm_.jac_u_pattern;
      for (std::size_t e = 0; e < pat.nnz(); ++e)
        out[pat.rows[e]] += ju_values_[e] * dudt_[pat.cols[e]];
    }
    for (std::size_t i = 0; i < n_; ++i)
      if (clamped_[i]) out[i] = 0.0;
  }

  std::string state_name(std::size_t i) const override {
    return i < n_ ? cm_.species[i].name : "y[" + std::to_string(i) + "]";
  }

  /// Inputs and observables at (t, y) in the current segment.
  void observe(double t, const double* y, double* u_out, double* obs_out) {
    schedule_.inputs(k_, t, u_.data());
    std::copy(u_.begin(), u_.end(), u_out);
    if (cm_.obs.n_outputs() > 0) cm_.obs.eval(args(y, t), obs_out, work_.data());
  }

 private:
  EvalArgs args(const double* y, double t) const {
    EvalArgs a;
    a.y = y;
    a.p = p_.data();
    a.u = u_.data();
    a.t = t;
    return a;
  }

  const detail::CompiledModel& cm_;
  const Schedule& schedule_;
  std::size_t n_;
  std::size_t k_ = 0;
  std::vector<double> p_, u_, dudt_;
  std::vector<char> clamped_;
  std::vector<double> work_, jac_values_, ju_values_;
};

void check_times(const std::vector<double>& t, double duration) {
  for (std::size_t i = 0; i < t.size(); ++i) {
    const std::string where = "sample time t[" + std::to_string(i) + "] = " + fmt(t[i]);
    if (!std::isfinite(t[i])) throw OptionError(where + " is not finite");
    if (t[i] < 0.0 || t[i] > duration)
      throw OptionError(where + " lies outside [0, duration] = [0, " + fmt(duration) + "]");
    if (i > 0 && t[i] < t[i - 1])
      throw OptionError(where + " is smaller than t[" + std::to_string(i - 1) + "] = " +
                        fmt(t[i - 1]) + "; sample times must be sorted");
  }
}

}  // namespace

Result simulate(const Model& model, const Protocol& protocol, const std::vector<double>& t,
                const SolverOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  options.validate();
  const Schedule schedule(protocol, model);
  const double duration = schedule.duration();
  std::vector<double> times = t.empty() ? default_times(duration) : t;
  check_times(times, duration);

  const detail::CompiledModel& cm = model.compiled();
  const std::size_t n = cm.species.size(), n_obs = cm.observables.size(),
                    n_in = cm.inputs.size(), n_t = times.size();

  Result res;
  res.t = times;
  for (const auto& s : cm.species) res.species_names.push_back(s.name);
  for (const auto& o : cm.observables) res.observable_names.push_back(o.name);
  for (const auto& u : cm.inputs) res.input_names.push_back(u.name);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  res.species.assign(n_t * n, nan);
  res.observables.assign(n_t * n_obs, nan);
  res.inputs.assign(n_t * n_in, nan);
  res.media_change_days = schedule.media_change_days();
  res.breakpoints = schedule.breakpoints();
  res.model_name = model.name();
  res.protocol_name = protocol.name;
  res.method = to_string(options.method);

  ModelSystem system(model, schedule);
  std::unique_ptr<detail::Integrator> integrator;
  if (n > 0) integrator = detail::make_integrator(system, options);

  std::vector<double> y = model.initial_state(), y_sample(n);
  std::vector<double> obs_scratch(n_obs);
  const auto record = [&](std::size_t i, double ti, const double* yi) {
    std::copy(yi, yi + n, res.species.begin() + static_cast<std::ptrdiff_t>(i * n));
    system.observe(ti, yi, res.inputs.data() + i * n_in,
                   n_obs ? res.observables.data() + i * n_obs : obs_scratch.data());
  };

  // dy/dt = 0 keeps a clamped species constant, but dense-output interpolation (rosenbrock4)
  // can move it by an ulp: write the held value back exactly.
  const auto hold_clamps = [](const Segment& seg, std::vector<double>& state) {
    for (const auto& c : seg.clamps) state[c.species] = c.value;
  };
  const auto& segments = schedule.segments();
  std::size_t i = 0;  // next sample to record
  long restarts = 0;
  try {
    for (std::size_t k = 0; k < segments.size(); ++k) {
      const Segment& seg = segments[k];
      const bool last = k + 1 == segments.size();
      // Events at seg.start are already in the schedule's inputs; clamps act on the state.
      hold_clamps(seg, y);
      system.set_segment(k, model.parameter_values());
      ++restarts;
      if (integrator) integrator->reset(seg.start, y.data());
      // Samples in [start, end), and at end too for the last segment; a sample on a breakpoint
      // belongs to the segment starting there (the value after the change).
      while (i < n_t && (times[i] < seg.end || (last && times[i] <= seg.end))) {
        if (times[i] <= seg.start || !integrator) {
          record(i, times[i], y.data());  // a model without species only has inputs/observables
        } else {
          integrator->advance(times[i], seg.end, y_sample.data());
          hold_clamps(seg, y_sample);
          record(i, times[i], y_sample.data());
        }
        ++i;
      }
      if (integrator && !last) {
        integrator->advance(seg.end, seg.end, y.data());
        hold_clamps(seg, y);
      }
    }
  } catch (const SolverError& e) {
    if (options.raise_on_failure) throw;
    res.success = false;
    res.status = e.what();
    res.failure_time = e.time();
  }

  if (integrator) {
    res.stats = integrator->stats();
    res.step_log = integrator->step_log();
  }
  res.stats.restarts = restarts;
  res.stats.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return res;
}

}  // namespace osteogrn

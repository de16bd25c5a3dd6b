// The simulate() driver: walks the protocol schedule segment by segment, restarting the
// integrator at every breakpoint (docs/integration.md).
#include "osteogrn/simulate.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "osteogrn/detail/compiled_model.hpp"
#include "solver/events.hpp"
#include "solver/integrator.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/detail/schedule.hpp"
#include "osteogrn/detail/sample_times.hpp"
#include "osteogrn/detail/sensitivity_indices.hpp"
#include "osteogrn/detail/text_util.hpp"

namespace osteogrn {

using detail::format_short;

namespace {


const char* const kMethodNames[] = {"cvode_bdf", "cvode_adams", "dopri5", "rosenbrock4"};
// In enum order: a new LinearSolver member adds its name here (and to the valid list below).
const char* const kLinearSolverNames[] = {"dense", "klu", "gmres"};
constexpr int kLinearSolverCount = sizeof(kLinearSolverNames) / sizeof(kLinearSolverNames[0]);

std::string linear_solver_list() {
  std::string out;
  for (const char* name : kLinearSolverNames) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

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

LinearSolver parse_linear_solver(const std::string& name) {
  for (int i = 0; i < kLinearSolverCount; ++i)
    if (name == kLinearSolverNames[i]) return static_cast<LinearSolver>(i);
  throw OptionError("unknown linear_solver '" + name + "'; valid: " + linear_solver_list());
}

const char* to_string(LinearSolver solver) {
  const int i = static_cast<int>(solver);
  return (i >= 0 && i < kLinearSolverCount) ? kLinearSolverNames[i] : "unknown";
}

bool operator==(const SolverOptions& a, const SolverOptions& b) {
  return a.method == b.method && a.rtol == b.rtol && a.atol == b.atol &&
         a.max_steps == b.max_steps && a.max_step == b.max_step &&
         a.linear_solver == b.linear_solver && a.record_steps == b.record_steps &&
         a.raise_on_failure == b.raise_on_failure && a.sensitivities == b.sensitivities;
}

void SolverOptions::validate() const {
  const int m = static_cast<int>(method);
  if (m < 0 || m > 3) throw OptionError("unknown method (enum value " + std::to_string(m) + ")");
  if (!(std::isfinite(rtol) && rtol > 0.0 && rtol < 1.0))
    throw OptionError("rtol must be a finite number in (0, 1), got " + format_short(rtol));
  if (!(std::isfinite(atol) && atol > 0.0))
    throw OptionError("atol must be a finite number > 0, got " + format_short(atol));
  if (max_steps < 1) throw OptionError("max_steps must be >= 1, got " + std::to_string(max_steps));
  if (!(std::isfinite(max_step) && max_step >= 0.0))
    throw OptionError("max_step must be a finite number >= 0 (0 = unlimited), got " +
                      format_short(max_step));
  const int ls = static_cast<int>(linear_solver);
  if (ls < 0 || ls >= kLinearSolverCount)
    throw OptionError("unknown linear_solver (enum value " + std::to_string(ls) + ")");
  if (linear_solver != LinearSolver::dense &&
      (method == Method::dopri5 || method == Method::rosenbrock4))
    throw OptionError("linear_solver '" + std::string(to_string(linear_solver)) +
                      "' applies to cvode_bdf/cvode_adams only, not " +
                      std::string(to_string(method)));
  if (!sensitivities.empty() && method != Method::cvode_bdf && method != Method::cvode_adams)
    throw OptionError("sensitivities need a CVODES method (cvode_bdf or cvode_adams); method '" +
                      std::string(to_string(method)) + "' does not support them");
  for (std::size_t i = 0; i < sensitivities.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (sensitivities[i] == sensitivities[j])
        throw OptionError("sensitivities: parameter '" + sensitivities[i] + "' is listed twice");
}

namespace detail {

void check_sample_times(const std::vector<double>& t, double upper, const std::string& range) {
  for (std::size_t i = 0; i < t.size(); ++i) {
    const std::string where = "sample time t[" + std::to_string(i) + "] = " + format_short(t[i]);
    if (!std::isfinite(t[i])) throw OptionError(where + " is not finite");
    if (t[i] < 0.0 || t[i] > upper) throw OptionError(where + " lies outside " + range);
    if (i > 0 && t[i] < t[i - 1])
      throw OptionError(where + " is smaller than t[" + std::to_string(i - 1) + "] = " +
                        format_short(t[i - 1]) + "; sample times must be sorted");
  }
}

}  // namespace detail

std::vector<double> default_times(double duration) {
  if (!(std::isfinite(duration) && duration >= 0.0))
    throw OptionError("duration must be finite and >= 0, got " + format_short(duration));
  // Counted in double first: a long duration would overflow the integer count.
  const double count = std::floor(duration * 10.0 + 1e-9) + 2.0;
  if (count > static_cast<double>(kMaxResultValues))
    throw OptionError("duration " + format_short(duration) + " days gives " +
                      format_short(count) +
                      " default sample times (every 0.1 day), more than the limit of " +
                      std::to_string(kMaxResultValues) +
                      " (kMaxResultValues); pass the sample times you need as t=[...]");
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

// A tape with its own work array, bound to the current segment's parameters (Tape::bind), so
// that what depends on parameters only (K^n of a Hill term with a parameter exponent, ...) is
// computed once per segment instead of at every call.
class BoundTape {
 public:
  explicit BoundTape(const Tape& tape)
      : tape_(tape), work_(std::max<std::size_t>(tape.work_size(), 1)) {}
  void bind(const double* p) { tape_.bind(p, work_.data()); }
  void eval(const EvalArgs& a, double* out) { tape_.eval_bound(a, out, work_.data()); }

 private:
  const Tape& tape_;
  std::vector<double> work_;
};

// SolverOptions::interrupt, asked about every kInterval of wall time. Polled from the right-hand
// side, which every integrator calls at least once per step (so also from inside CVode's C
// loop, which carries a thrown exception across to after_solve()); the clock is read only
// every kCallsPerClock calls so that a fast RHS does not pay for it.
class InterruptPoll {
 public:
  explicit InterruptPoll(std::function<bool()> interrupt)
      : interrupt_(std::move(interrupt)), next_(Clock::now() + kInterval) {}

  /// Throws SolverError(cancelled) at model time t when the callback asks to stop.
  void poll(double t) {
    if (!interrupt_ || ++calls_ % kCallsPerClock != 0) return;
    const auto now = Clock::now();
    if (now < next_) return;
    next_ = now + kInterval;
    if (interrupt_())
      throw SolverError(ReturnCode::cancelled, "interrupted at the caller's request", t);
  }

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kInterval{10};
  static constexpr unsigned kCallsPerClock = 16;
  std::function<bool()> interrupt_;
  Clock::time_point next_;
  unsigned calls_ = 0;
};

// The model under one segment of the schedule, as an ODE system. Scratch buffers are sized once
// (per simulate() call); the callbacks do not allocate.
class ModelSystem final : public detail::OdeSystem, public detail::EventSystem {
 public:
  /// sens: indices of the sensitivity parameters θ_j (distinct, valid).
  ModelSystem(const Model& model, const Schedule& schedule, std::vector<std::size_t> sens,
              std::function<bool()> interrupt)
      : interrupt_(std::move(interrupt)), cm_(detail::compiled_model(model)), schedule_(schedule), n_(cm_.species.size()),
        p_(cm_.parameters.size()), u_(cm_.inputs.size()), dudt_(cm_.inputs.size()),
        clamped_(n_, 0), rhs_(cm_.rhs), jac_y_(cm_.jac_y), jac_p_(cm_.jac_p), jac_u_(cm_.jac_u),
        dfdt_(cm_.dfdt), obs_(cm_.obs), obs_jac_y_(cm_.obs_jac_y), obs_jac_p_(cm_.obs_jac_p),
        jac_values_(cm_.jac_y_pattern.nnz()), ju_values_(cm_.jac_u_pattern.nnz()),
        sens_(std::move(sens)), slot_(cm_.parameters.size(), -1), dp_dtheta_(sens_.size(), 1.0),
        scale_(sens_.size(), 1.0) {
    if (!sens_.empty()) {
      jp_values_.resize(cm_.jac_p_pattern.nnz());
      ojy_values_.resize(cm_.obs_jac_y_pattern.nnz());
      ojp_values_.resize(cm_.obs_jac_p_pattern.nnz());
    }
    build_sparse_pattern();
    const std::vector<double>& theta = model.parameter_values();
    for (std::size_t j = 0; j < sens_.size(); ++j) {
      slot_[sens_[j]] = static_cast<long>(j);
      const double a = std::abs(theta[sens_[j]]);
      scale_[j] = a > 0.0 && std::isfinite(a) ? a : 1.0;
    }
  }

  std::size_t size() const override { return n_; }

  /// Enters segment k: its parameters and its clamped species.
  void set_segment(std::size_t k, const std::vector<double>& base_parameters) {
    k_ = k;
    schedule_.parameters(k, base_parameters, p_.data());
    for (BoundTape* tape : {&rhs_, &jac_y_, &jac_u_, &dfdt_, &obs_}) tape->bind(p_.data());
    if (!sens_.empty())
      for (BoundTape* tape : {&jac_p_, &obs_jac_y_, &obs_jac_p_}) tape->bind(p_.data());
    std::fill(clamped_.begin(), clamped_.end(), 0);
    const Segment& seg = schedule_.segments()[k];
    for (const auto& c : seg.clamps) clamped_[c.species] = 1;
    // dp/dθ inside this segment, as Schedule::parameters applies the overrides (later ones
    // win): 1 without override, 0 under a "value" override (p no longer depends on θ), s
    // under a "scale" override (p = s·θ).
    std::fill(dp_dtheta_.begin(), dp_dtheta_.end(), 1.0);
    for (const auto& o : seg.overrides) {
      const long j = slot_[o.parameter];
      if (j >= 0) dp_dtheta_[static_cast<std::size_t>(j)] = o.scale ? o.value : 0.0;
    }
  }

  bool clamped(std::size_t i) const { return clamped_[i] != 0; }

  /// The model's events, whose trigger roots this system reports to the integrator.
  void set_events(detail::EventHandler* events) { events_ = events; }
  std::size_t n_roots() const override { return events_ ? events_->n_state_roots() : 0; }
  void roots(double t, const double* y, double* g) override { events_->state_roots(t, y, g); }

  // detail::EventSystem
  void event_inputs(double t, double* u) override { schedule_.inputs(k_, t, u); }
  void event_input_rates(double t, double* dudt) override {
    schedule_.input_rates(k_, t, dudt);
  }
  void event_rhs(double t, const double* y, double* f) override { rhs(t, y, f); }
  const double* event_parameters() const override { return p_.data(); }
  long sensitivity_slot(std::size_t parameter) const override { return slot_[parameter]; }
  double dp_dtheta(std::size_t j) const override { return dp_dtheta_[j]; }

  std::size_t n_sensitivities() const override { return sens_.size(); }
  double sensitivity_scale(std::size_t j) const override { return scale_[j]; }

  // s_j' = J s_j + ∂f/∂p · dp/dθ_j, with the rows of clamped species zero (they are constants).
  void sensitivity_rhs(double t, const double* y, const double* const* s,
                       double* const* sdot) override {
    schedule_.inputs(k_, t, u_.data());
    const EvalArgs a = args(y, t);
    const std::size_t m = sens_.size();
    for (std::size_t j = 0; j < m; ++j) std::fill(sdot[j], sdot[j] + n_, 0.0);
    if (!jac_values_.empty()) {
      jac_y_.eval(a, jac_values_.data());
      const auto& pat = cm_.jac_y_pattern;
      for (std::size_t e = 0; e < pat.nnz(); ++e) {
        const std::uint32_t r = pat.rows[e], c = pat.cols[e];
        if (clamped_[r]) continue;
        const double v = jac_values_[e];
        for (std::size_t j = 0; j < m; ++j) sdot[j][r] += v * s[j][c];
      }
    }
    if (!jp_values_.empty()) {
      jac_p_.eval(a, jp_values_.data());
      const auto& pat = cm_.jac_p_pattern;
      for (std::size_t e = 0; e < pat.nnz(); ++e) {
        const long j = slot_[pat.cols[e]];
        if (j < 0 || clamped_[pat.rows[e]]) continue;
        sdot[j][pat.rows[e]] += jp_values_[e] * dp_dtheta_[static_cast<std::size_t>(j)];
      }
    }
  }

  /// Sensitivities of every output at (t, y) in the current segment: out[o * m + j] =
  /// d output_o / dθ_j for the species (from s, s[j * n + i]) then the observables
  /// (∂g/∂y · s_j + ∂g/∂p · dp/dθ_j). Call after observe() at the same (t, y).
  void observe_sensitivities(double t, const double* y, const double* s, double* out) {
    const std::size_t m = sens_.size(), n_obs = cm_.observables.size();
    for (std::size_t i = 0; i < n_; ++i)
      for (std::size_t j = 0; j < m; ++j) out[i * m + j] = clamped_[i] ? 0.0 : s[j * n_ + i];
    double* obs = out + n_ * m;
    std::fill(obs, obs + n_obs * m, 0.0);
    if (n_obs == 0) return;
    schedule_.inputs(k_, t, u_.data());
    const EvalArgs a = args(y, t);
    if (!ojy_values_.empty()) {
      obs_jac_y_.eval(a, ojy_values_.data());
      const auto& pat = cm_.obs_jac_y_pattern;
      for (std::size_t e = 0; e < pat.nnz(); ++e)
        for (std::size_t j = 0; j < m; ++j)
          obs[pat.rows[e] * m + j] += ojy_values_[e] * s[j * n_ + pat.cols[e]];
    }
    if (!ojp_values_.empty()) {
      obs_jac_p_.eval(a, ojp_values_.data());
      const auto& pat = cm_.obs_jac_p_pattern;
      for (std::size_t e = 0; e < pat.nnz(); ++e) {
        const long j = slot_[pat.cols[e]];
        if (j >= 0)
          obs[pat.rows[e] * m + static_cast<std::size_t>(j)] +=
              ojp_values_[e] * dp_dtheta_[static_cast<std::size_t>(j)];
      }
    }
  }

  void rhs(double t, const double* y, double* dydt) override {
    interrupt_.poll(t);
    schedule_.inputs(k_, t, u_.data());
    rhs_.eval(args(y, t), dydt);
    for (std::size_t i = 0; i < n_; ++i)
      if (clamped_[i]) dydt[i] = 0.0;
  }

  void jacobian(double t, const double* y, double* J) override {
    schedule_.inputs(k_, t, u_.data());
    std::fill(J, J + n_ * n_, 0.0);
    if (!jac_values_.empty()) jac_y_.eval(args(y, t), jac_values_.data());
    const auto& pat = cm_.jac_y_pattern;
    for (std::size_t e = 0; e < pat.nnz(); ++e) {
      if (!clamped_[pat.rows[e]]) J[pat.cols[e] * n_ + pat.rows[e]] = jac_values_[e];
    }
  }

  bool jacobian_pattern(std::vector<std::int64_t>& colptr,
                        std::vector<std::int64_t>& rows) const override {
    colptr = csc_colptr_;
    rows = csc_rows_;
    return true;
  }

  // O(nnz): the tape's values scattered into the pattern; diagonal fill-ins and the rows of
  // clamped species are 0.
  void sparse_jacobian(double t, const double* y, double* values) override {
    schedule_.inputs(k_, t, u_.data());
    std::fill(values, values + csc_rows_.size(), 0.0);
    if (jac_values_.empty()) return;
    jac_y_.eval(args(y, t), jac_values_.data());
    const auto& pat = cm_.jac_y_pattern;
    for (std::size_t e = 0; e < pat.nnz(); ++e)
      if (!clamped_[pat.rows[e]]) values[csc_pos_[e]] = jac_values_[e];
  }

  // ∂f/∂t = explicit ∂f/∂t + Σ_k ∂f/∂u_k · du_k/dt (inputs decay in closed form).
  void dfdt(double t, const double* y, double* out) override {
    schedule_.inputs(k_, t, u_.data());
    const EvalArgs a = args(y, t);
    dfdt_.eval(a, out);
    if (!ju_values_.empty()) {
      schedule_.input_rates(k_, t, dudt_.data());
      jac_u_.eval(a, ju_values_.data());
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
    if (cm_.obs.n_outputs() > 0) obs_.eval(args(y, t), obs_out);
  }

 private:
  // jac_y_pattern (CSC order) merged with the diagonal; csc_pos_[e] = where tape output e goes.
  void build_sparse_pattern() {
    const auto& pat = cm_.jac_y_pattern;
    csc_colptr_.assign(n_ + 1, 0);
    csc_rows_.clear();
    csc_rows_.reserve(pat.nnz() + n_);
    csc_pos_.resize(pat.nnz());
    std::size_t e = 0;
    for (std::size_t c = 0; c < n_; ++c) {
      bool diagonal = false;
      for (; e < pat.nnz() && pat.cols[e] == c; ++e) {
        if (!diagonal && pat.rows[e] >= c) {
          if (pat.rows[e] != c) csc_rows_.push_back(static_cast<std::int64_t>(c));
          diagonal = true;
        }
        csc_pos_[e] = csc_rows_.size();
        csc_rows_.push_back(pat.rows[e]);
      }
      if (!diagonal) csc_rows_.push_back(static_cast<std::int64_t>(c));
      csc_colptr_[c + 1] = static_cast<std::int64_t>(csc_rows_.size());
    }
    if (e != pat.nnz())
      throw InternalError("jac_y_pattern of model '" + cm_.name + "' is not in CSC order");
  }

  EvalArgs args(const double* y, double t) const {
    EvalArgs a;
    a.y = y;
    a.p = p_.data();
    a.u = u_.data();
    a.t = t;
    return a;
  }

  InterruptPoll interrupt_;
  detail::EventHandler* events_ = nullptr;
  const detail::CompiledModel& cm_;
  const Schedule& schedule_;
  std::size_t n_;
  std::size_t k_ = 0;
  std::vector<double> p_, u_, dudt_;
  std::vector<char> clamped_;
  // Tapes bound to p_ (set_segment); the sensitivity tapes only when there are sensitivities.
  BoundTape rhs_, jac_y_, jac_p_, jac_u_, dfdt_, obs_, obs_jac_y_, obs_jac_p_;
  std::vector<double> jac_values_, ju_values_;
  // Forward sensitivities: parameter index of θ_j, slot j of each parameter (-1: none),
  // dp/dθ_j in the current segment, |θ_j| for the tolerances, tape outputs.
  std::vector<std::size_t> sens_;
  std::vector<long> slot_;
  std::vector<double> dp_dtheta_, scale_;
  std::vector<double> jp_values_, ojy_values_, ojp_values_;
  // Sparse Jacobian (KLU): CSC pattern with the diagonal, position of each jac_y tape output.
  std::vector<std::int64_t> csc_colptr_, csc_rows_;
  std::vector<std::size_t> csc_pos_;
};

}  // namespace

namespace {

// OptionError unless `count` values (n_t samples x `per_sample` values) stay within
// kMaxResultValues; checked before anything is allocated.
void check_result_size(std::size_t n_t, std::size_t per_sample, const std::string& what) {
  const double values = static_cast<double>(n_t) * static_cast<double>(per_sample);
  if (values > static_cast<double>(kMaxResultValues))
    throw OptionError(what + ": " + std::to_string(n_t) + " sample times x " +
                      std::to_string(per_sample) + " values per sample = " +
                      format_short(values) + " values, more than the limit of " +
                      std::to_string(kMaxResultValues) +
                      " (kMaxResultValues); pass fewer sample times t=[...]");
}

// The sample grid of a run: `t` checked against the duration, or the default grid.
std::vector<double> sample_times(const std::vector<double>& t, double duration) {
  if (t.empty()) return default_times(duration);
  detail::check_sample_times(t, duration, "[0, duration] = [0, " + format_short(duration) + "]");
  return t;
}

// A Result with names and schedule filled in and every value NaN (what a failure leaves).
Result empty_result(const Model& model, const Protocol& protocol, const Schedule& schedule,
                    std::vector<double> times, const SolverOptions& options) {
  const detail::CompiledModel& cm = detail::compiled_model(model);
  const std::size_t n = cm.species.size(), n_obs = cm.observables.size(),
                    n_in = cm.inputs.size(), n_t = times.size(),
                    m = options.sensitivities.size();
  check_result_size(n_t, n + n_obs + n_in + (n + n_obs) * m, "simulate");
  Result res;
  res.t = std::move(times);
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
  res.protocol_name = protocol.name();
  res.method = to_string(options.method);
  res.sensitivity_parameters = options.sensitivities;
  res.sensitivities.assign(n_t * (n + n_obs) * m, nan);
  return res;
}

// Walks the schedule segment by segment, restarting the integrator at every breakpoint and
// every event, and writing each sample into `res` (whose arrays empty_result() sized).
class SegmentWalk {
 public:
  SegmentWalk(const Model& model, const Schedule& schedule, ModelSystem& system,
              detail::Integrator* integrator, detail::EventHandler* events, Result& res)
      : model_(model), schedule_(schedule), system_(system), integrator_(integrator),
        events_(events), res_(res), n_(res.species_names.size()),
        n_obs_(res.observable_names.size()), n_in_(res.input_names.size()),
        m_(res.sensitivity_parameters.size()), y_(model.initial_state()), y_sample_(n_),
        obs_scratch_(n_obs_), s_(initial_sensitivities(model, res.sensitivity_parameters)),
        s_sample_(m_ * n_, 0.0) {}

  /// Integrates every segment; throws SolverError (or what a callback threw) on failure.
  void run() {
    const auto& segments = schedule_.segments();
    if (events_) events_->start();
    for (std::size_t k = 0; k < segments.size(); ++k) segment(k, k + 1 == segments.size());
  }

  long restarts() const { return restarts_; }

  /// Replaces the model's x0 / s(0) by the caller's (checked by check_initial_conditions):
  /// state row-major per species, sensitivities [n x m] row-major, stored here as s[j * n + i].
  void start_from(const InitialConditions& initial) {
    if (!initial.state.empty()) y_ = initial.state;
    if (!initial.sensitivities.empty())
      for (std::size_t i = 0; i < n_; ++i)
        for (std::size_t j = 0; j < m_; ++j) s_[j * n_ + i] = initial.sensitivities[i * m_ + j];
  }

 private:
  // Integration pieces within a segment end at its end, at event stops (a delayed execution,
  // a time-only trigger's breakpoint) and at roots of the triggers. Every piece restarts the
  // integrator: an event may change the state.
  void segment(std::size_t k, bool last) {
    const Segment& seg = schedule_.segments()[k];
    const std::vector<double>& times = res_.t;
    // Events at seg.start are already in the schedule's inputs; clamps act on the state.
    hold_clamps(seg, y_);
    system_.set_segment(k, model_.parameter_values());
    // The state is continuous across a breakpoint (except clamped species), and nothing
    // that happens there depends on θ: the sensitivities carry over unchanged.
    hold_sens(s_);
    double t = seg.start;
    if (events_) {
      events_->bind();
      // Inputs may have jumped here: triggers are looked at again (and at t = 0 first).
      if (events_->process(t, y_.data(), m_ ? s_.data() : nullptr, nullptr)) {
        hold_clamps(seg, y_);
        hold_sens(s_);
      }
    }
    restart(t);
    while (true) {
      const double stop = events_ ? events_->next_stop(t, seg.end) : seg.end;
      // Samples in [t, stop); on the last piece of the last segment those at the end too,
      // after the events there. A sample at an event time holds the value after the event.
      bool rooted = false;
      while (next_ < times.size() && times[next_] < stop) {
        const double ti = times[next_];
        if (ti <= t || !integrator_) {
          record(next_, ti, y_.data(), s_.data());  // (a model without species: inputs only)
        } else if (integrator_->advance(ti, stop, y_sample_.data())) {
          at_root(seg);
          t = integrator_->root_time();
          rooted = true;
          break;
        } else {
          hold_clamps(seg, y_sample_);
          if (m_) {
            integrator_->sensitivities(s_sample_.data());
            hold_sens(s_sample_);
          }
          record(next_, ti, y_sample_.data(), s_sample_.data());
        }
        ++next_;
      }
      if (rooted) continue;
      if (integrator_ && stop > t) {
        if (integrator_->advance(stop, stop, y_sample_.data())) {
          at_root(seg);
          t = integrator_->root_time();
          continue;
        }
        y_.swap(y_sample_);
        hold_clamps(seg, y_);
        if (m_) {
          integrator_->sensitivities(s_.data());
          hold_sens(s_);
        }
      }
      t = stop;
      if (stop == seg.end && !last) return;  // the next segment handles events at its start
      if (events_ && events_->process(t, y_.data(), m_ ? s_.data() : nullptr, nullptr)) {
        hold_clamps(seg, y_);
        hold_sens(s_);
      }
      if (stop == seg.end) {  // the end of the run
        while (next_ < times.size() && times[next_] <= seg.end) {
          record(next_, times[next_], y_.data(), s_.data());
          ++next_;
        }
        return;
      }
      restart(t);
    }
  }

  // The integrator stopped at a root of the triggers: the state there (its sensitivities
  // too) goes through the events, and integration restarts from it.
  void at_root(const Segment& seg) {
    const double tr = integrator_->root_time();
    std::copy(y_sample_.begin(), y_sample_.end(), y_.begin());
    hold_clamps(seg, y_);
    if (m_) {
      integrator_->sensitivities(s_.data());
      hold_sens(s_);
    }
    if (events_->process(tr, y_.data(), m_ ? s_.data() : nullptr,
                         integrator_->roots_found().data())) {
      hold_clamps(seg, y_);
      hold_sens(s_);
    }
    restart(tr);
  }

  void restart(double t) {
    ++restarts_;
    if (!integrator_) return;
    integrator_->reset(t, y_.data());
    if (m_) integrator_->reset_sensitivities(s_.data());
  }

  void record(std::size_t i, double ti, const double* yi, const double* si) {
    std::copy(yi, yi + n_, res_.species.begin() + static_cast<std::ptrdiff_t>(i * n_));
    system_.observe(ti, yi, res_.inputs.data() + i * n_in_,
                    n_obs_ ? res_.observables.data() + i * n_obs_ : obs_scratch_.data());
    if (m_)
      system_.observe_sensitivities(ti, yi, si,
                                    res_.sensitivities.data() + i * (n_ + n_obs_) * m_);
  }
  // A clamped species is a constant: its sensitivities are 0 while (and right after) it is held.
  void hold_sens(std::vector<double>& sv) const {
    for (std::size_t k = 0; k < n_; ++k)
      if (system_.clamped(k))
        for (std::size_t j = 0; j < m_; ++j) sv[j * n_ + k] = 0.0;
  }
  // dy/dt = 0 keeps a clamped species constant, but dense-output interpolation (rosenbrock4)
  // can move it by an ulp: write the held value back exactly.
  static void hold_clamps(const Segment& seg, std::vector<double>& state) {
    for (const auto& c : seg.clamps) state[c.species] = c.value;
  }

  const Model& model_;
  const Schedule& schedule_;
  ModelSystem& system_;
  detail::Integrator* integrator_;
  detail::EventHandler* events_;
  Result& res_;
  std::size_t n_, n_obs_, n_in_, m_;
  // s(0)[j * n + i] = d x0_i / d θ_j: nonzero where an initial value is an expression of θ_j.
  static std::vector<double> initial_sensitivities(const Model& model,
                                                   const std::vector<std::string>& names) {
    const std::size_t n = model.species().size(), np = model.parameters().size();
    std::vector<double> s(names.size() * n, 0.0);
    if (names.empty() || !detail::compiled_model(model).has_initial_expressions) return s;
    const std::vector<double> jac = model.initial_state_jacobian();
    for (std::size_t j = 0; j < names.size(); ++j) {
      const std::size_t k = *model.find_parameter(names[j]);  // checked by sensitivity_indices
      for (std::size_t i = 0; i < n; ++i) s[j * n + i] = jac[i * np + k];
    }
    return s;
  }

  // State and sensitivities s[j * n + i] = dy_i/dθ_j, at the last restart/breakpoint and at
  // the current sample.
  std::vector<double> y_, y_sample_, obs_scratch_, s_, s_sample_;
  std::size_t next_ = 0;  // next sample to record
  long restarts_ = 0;
};

}  // namespace

namespace detail {

std::vector<std::size_t> sensitivity_indices(const Model& model,
                                             const std::vector<std::string>& names) {
  std::vector<std::size_t> idx;
  for (const auto& name : names) {
    const auto k = model.find_parameter(name);
    if (!k) {
      std::string valid;
      for (const auto& p : model.parameters()) valid += (valid.empty() ? "" : ", ") + p.name;
      throw OptionError("sensitivities: model '" + model.name() + "' has no parameter '" + name +
                        "'; valid parameters: " + valid);
    }
    idx.push_back(*k);
  }
  return idx;
}

void check_initial_conditions(const InitialConditions& initial, std::size_t n, std::size_t m) {
  if (!initial.state.empty() && initial.state.size() != n)
    throw OptionError("initial_state: expected " + std::to_string(n) + " values (one per species), got " +
                      std::to_string(initial.state.size()));
  for (std::size_t i = 0; i < initial.state.size(); ++i)
    if (!std::isfinite(initial.state[i]))
      throw OptionError("initial_state[" + std::to_string(i) + "] is not finite (" +
                        format_short(initial.state[i]) + ")");
  if (!initial.sensitivities.empty() && initial.sensitivities.size() != n * m)
    throw OptionError("initial_sensitivities: expected " + std::to_string(n) + " x " +
                      std::to_string(m) + " = " + std::to_string(n * m) +
                      " values (species x sensitivity parameters), got " +
                      std::to_string(initial.sensitivities.size()));
  for (std::size_t k = 0; k < initial.sensitivities.size(); ++k)
    if (!std::isfinite(initial.sensitivities[k]))
      throw OptionError("initial_sensitivities[" + std::to_string(k / m) + ", " +
                        std::to_string(k % m) + "] is not finite (" +
                        format_short(initial.sensitivities[k]) + ")");
}

}  // namespace detail

Result simulate(const Model& model, const Protocol& protocol, const std::vector<double>& t,
                const SolverOptions& options) {
  return simulate(model, protocol, t, options, InitialConditions{});
}

Result simulate(const Model& model, const Protocol& protocol, const std::vector<double>& t,
                const SolverOptions& options, const InitialConditions& initial) {
  const auto wall_start = std::chrono::steady_clock::now();
  options.validate();
  const Schedule schedule(protocol, model);
  std::vector<std::size_t> sens = detail::sensitivity_indices(model, options.sensitivities);
  Result res = empty_result(model, protocol, schedule, sample_times(t, schedule.duration()),
                            options);

  ModelSystem system(model, schedule, std::move(sens), options.interrupt);
  const detail::CompiledModel& cm = detail::compiled_model(model);
  std::unique_ptr<detail::EventHandler> events;
  if (!cm.event_specs.empty()) {
    events = std::make_unique<detail::EventHandler>(cm, system, options.sensitivities.size());
    system.set_events(events.get());
  }
  std::unique_ptr<detail::Integrator> integrator;
  if (!res.species_names.empty()) integrator = detail::make_integrator(system, options);
  SegmentWalk walk(model, schedule, system, integrator.get(), events.get(), res);
  detail::check_initial_conditions(initial, res.species_names.size(),
                                   options.sensitivities.size());
  walk.start_from(initial);
  try {
    walk.run();
  } catch (const SolverError& e) {
    if (options.raise_on_failure) throw;
    res.success = false;
    res.status = e.code();
    res.message = e.what();
    res.flag = e.flag();
    res.failure_time = e.time();
  }

  if (integrator) {
    res.stats = integrator->stats();
    res.step_log = integrator->step_log();
  }
  res.stats.restarts = walk.restarts();
  res.stats.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return res;
}

}  // namespace osteogrn

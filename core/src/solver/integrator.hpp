#pragma once
// Internal: the ODE system an integrator sees, and the integrator interface the simulate() driver
// walks segment by segment (docs/integration.md). Implementations: cvode_integrator.cpp
// (cvode_bdf, cvode_adams) and odeint_integrator.cpp (dopri5, rosenbrock4).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "osteogrn/errors.hpp"
#include "osteogrn/result.hpp"
#include "osteogrn/simulate.hpp"

namespace osteogrn::detail {

/// dy/dt = f(t, y) with its Jacobian. Callbacks may throw (the integrators carry the exception
/// across C code and rethrow it); they must not allocate if they are to be fast.
class OdeSystem {
 public:
  virtual ~OdeSystem() = default;
  virtual std::size_t size() const = 0;
  /// dydt = f(t, y).
  virtual void rhs(double t, const double* y, double* dydt) = 0;
  /// J = ∂f/∂y, dense column-major n×n: J[col * n + row]. Every entry must be written.
  virtual void jacobian(double t, const double* y, double* J) = 0;
  /// Sparse ∂f/∂y for sparse linear solvers (linear_solver "klu"): the structural non-zeros in
  /// CSC order, colptr (size()+1 entries) and rows (sorted within each column), with every
  /// diagonal entry present (the Newton matrix I - γJ needs it). Returns false if the system
  /// has no sparse Jacobian. Called once per integrator, not per step.
  virtual bool jacobian_pattern(std::vector<std::int64_t>& /*colptr*/,
                                std::vector<std::int64_t>& /*rows*/) const {
    return false;
  }
  /// Values of ∂f/∂y at the entries of jacobian_pattern(), in its order; every entry written.
  virtual void sparse_jacobian(double /*t*/, const double* /*y*/, double* /*values*/) {
    throw OptionError("this system has no sparse Jacobian");
  }
  /// out = ∂f/∂t (explicit time dependence; needed by rosenbrock4).
  virtual void dfdt(double t, const double* y, double* out) = 0;
  /// Number of root functions g(t, y) whose zero crossings advance() stops at (events).
  virtual std::size_t n_roots() const { return 0; }
  /// g = the n_roots() root functions at (t, y).
  virtual void roots(double /*t*/, const double* /*y*/, double* /*g*/) {}
  /// Name of state i for error messages.
  virtual std::string state_name(std::size_t i) const { return "y[" + std::to_string(i) + "]"; }

  // Forward sensitivities with respect to parameters θ_0..θ_{m-1} (m = n_sensitivities()).
  /// Number of sensitivity parameters; 0 = the system has none.
  virtual std::size_t n_sensitivities() const { return 0; }
  /// Typical magnitude (> 0) of θ_j: sensitivity j gets absolute tolerance atol / scale.
  virtual double sensitivity_scale(std::size_t /*j*/) const { return 1.0; }
  /// sdot[j] = ∂f/∂y · s[j] + ∂f/∂θ_j for every j < n_sensitivities(); each s[j], sdot[j] has
  /// size() values. All parameters at once, so ∂f/∂y and ∂f/∂θ are evaluated once per call.
  virtual void sensitivity_rhs(double /*t*/, const double* /*y*/, const double* const* /*s*/,
                               double* const* /*sdot*/) {
    throw OptionError("this system has no sensitivity equations");
  }
};

/// Integrates an OdeSystem from restart to restart. Not thread-safe; one per simulation.
class Integrator {
 public:
  virtual ~Integrator() = default;

  /// (Re)starts at (t0, y0): the first start or a restart after a discontinuity.
  virtual void reset(double t0, const double* y0) = 0;

  /// Integrates so that y_out holds the solution at tout, never stepping past tstop
  /// (tout <= tstop; successive calls after a reset have non-decreasing tout), and returns
  /// false. When the system has root functions and one of them crosses zero first, stops
  /// there instead and returns true: y_out holds the solution at root_time(), roots_found()
  /// which roots crossed (+1 rising, -1 falling, 0 not), sensitivities() those at the root.
  /// A root exactly at the restart point is not reported. After a root, reset() to go on.
  /// Throws SolverError(reason, t, flag) on failure, or what a system callback threw.
  virtual bool advance(double tout, double tstop, double* y_out) = 0;

  double root_time() const { return root_time_; }
  const std::vector<int>& roots_found() const { return roots_found_; }

  /// (Re)starts the forward sensitivities at the point of the last reset(); call it right after
  /// every reset() when system.n_sensitivities() > 0. s0[j * n + i] = ds_i/dθ_j (n = size()).
  /// Only the CVODES integrators support sensitivities.
  virtual void reset_sensitivities(const double* /*s0*/) {
    throw OptionError("forward sensitivities need a CVODES method (cvode_bdf or cvode_adams)");
  }
  /// Sensitivities at the tout of the last advance() (or at the last restart), layout as s0.
  virtual void sensitivities(double* /*s_out*/) const {
    throw OptionError("forward sensitivities need a CVODES method (cvode_bdf or cvode_adams)");
  }

  /// Counters summed over every segment since construction (restarts = reset calls).
  const SolverStats& stats() const { return stats_; }
  /// Accepted steps [t_start, t_end] when SolverOptions::record_steps, else empty.
  const std::vector<StepRecord>& step_log() const { return step_log_; }

 protected:
  SolverStats stats_;
  std::vector<StepRecord> step_log_;
  double root_time_ = 0.0;
  std::vector<int> roots_found_;
};

/// Builds the integrator for options.method (options must be valid; see SolverOptions::validate).
/// The system must outlive the integrator.
std::unique_ptr<Integrator> make_integrator(OdeSystem& system, const SolverOptions& options);

/// "maximum number of steps (N) reached before t = T; increase max_steps or ..." — shared wording.
std::string too_much_work_reason(long max_steps, double tout, Method method);

}  // namespace osteogrn::detail

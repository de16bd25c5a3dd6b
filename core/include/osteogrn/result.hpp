#pragma once
// What a simulation returns.
#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

namespace osteogrn {

/// How an integration ended, the same codes for every method. Every CVODES return flag and every
/// odeint failure maps onto one of them (the raw flag name stays in SolverError::flag()).
enum class ReturnCode : int {
  success = 0,
  max_steps,              // SolverOptions::max_steps accepted steps used up (CV_TOO_MUCH_WORK)
  step_too_small,         // step size underflow, or accuracy beyond double precision
  convergence_failure,    // the Newton iteration failed repeatedly (CV_CONV_FAILURE)
  error_test_failure,     // the local error test failed repeatedly (CV_ERR_FAILURE)
  linear_solver_failure,  // the linear solver's setup or solve failed (CV_LSETUP/LSOLVE_FAIL)
  rhs_failure,            // the right-hand side failed (CV_*RHSFUNC*, not because of NaN/Inf)
  non_finite,             // the model produced NaN or Inf
  cancelled,              // stopped by SolverOptions::interrupt or a cancelled batch
  too_close,              // a sample time too close to the previous one to step to (CV_TOO_CLOSE)
  other,                  // anything else (solver memory, bad input to SUNDIALS, ...)
};

/// Number of ReturnCode members (they are 0 .. kReturnCodeCount - 1).
constexpr int kReturnCodeCount = static_cast<int>(ReturnCode::other) + 1;

/// ReturnCode -> its name ("success", "max_steps", ...).
const char* to_string(ReturnCode code);

/// Streams the name (gtest messages, logs).
inline std::ostream& operator<<(std::ostream& os, ReturnCode code) { return os << to_string(code); }

/// What to do about a failure with this code, e.g. "raise max_steps or use a stiff method
/// (cvode_bdf)"; "" for success.
const char* hint(ReturnCode code);

/// Counters summed over every segment of a run.
struct SolverStats {
  long steps = 0;              // accepted internal steps
  long rhs_evals = 0;          // right-hand-side evaluations (including those for Jacobians)
  long jac_evals = 0;          // Jacobian evaluations
  long err_test_fails = 0;     // rejected steps (local error test)
  long nonlin_iters = 0;       // Newton iterations (CVODES; 0 for odeint methods)
  long nonlin_conv_fails = 0;  // Newton convergence failures (CVODES)
  long lin_setups = 0;         // linear-solver setups / LU factorisations
  long restarts = 0;           // integrator (re)starts: one per segment
  double wall_seconds = 0.0;   // time spent in simulate()
  long sens_rhs_evals = 0;     // sensitivity right-hand-side calls (each for all parameters)
  long sens_nonlin_iters = 0;  // Newton iterations of the sensitivity corrector (staggered)
};

/// One accepted internal step [t_start, t_end] (recorded when SolverOptions::record_steps).
struct StepRecord {
  double t_start = 0.0, t_end = 0.0;
};

/// Time courses, row-major: value of column j at time index i is data[i * n_columns + j].
struct Result {
  std::vector<double> t;
  std::vector<std::string> species_names, observable_names, input_names;
  std::vector<double> species;      // [n_t x n_species]
  std::vector<double> observables;  // [n_t x n_observables]
  std::vector<double> inputs;       // [n_t x n_inputs], in the model inputs' units
  /// Forward sensitivities [n_t x (n_species + n_observables) x n_params] when requested.
  std::vector<std::string> sensitivity_parameters;
  std::vector<double> sensitivities;
  std::vector<double> media_change_days, breakpoints;
  std::string model_name, protocol_name, method;
  SolverStats stats;
  bool success = true;                     // status == ReturnCode::success
  ReturnCode status = ReturnCode::success;  // how it ended (failures: raise_on_failure=false)
  std::string message;                      // the SolverError message of a failure, else ""
  std::string flag;                         // the solver's raw flag name of a failure, else ""
  double failure_time = 0.0;                // where it failed; samples after it are NaN
  std::vector<StepRecord> step_log;

  std::size_t n_times() const { return t.size(); }
};

}  // namespace osteogrn

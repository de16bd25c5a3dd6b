#pragma once
// What a simulation returns.
#include <cstddef>
#include <string>
#include <vector>

namespace osteogrn {

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
  bool success = true;
  std::string status = "success";  // "success", or the failure message (raise_on_failure=false)
  double failure_time = 0.0;       // where it failed; samples after it are NaN
  std::vector<StepRecord> step_log;

  std::size_t n_times() const { return t.size(); }
};

}  // namespace osteogrn

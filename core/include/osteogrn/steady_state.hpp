#pragma once
// Steady states: x with dx/dt = 0 under a protocol's t = 0 conditions, by Newton's method with a
// fallback to integration, and their sensitivities dx/dθ (docs/integration.md, "Initial state and
// steady states"). Used for PEtab pre-equilibration.
#include <string>
#include <vector>

#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"
#include "osteogrn/simulate.hpp"

namespace osteogrn {

struct SteadyStateOptions {
  /// "auto" (Newton, then integration if Newton fails or the Jacobian is singular),
  /// "newton" or "integration".
  std::string method = "auto";
  /// Converged when wrms(dx/dt) < 1 with weights 1 / (atol + rtol |x_i|); the sensitivities
  /// of the integration path likewise (atol divided by |θ_j|, as in the integrator).
  double rtol = 1e-8, atol = 1e-12;
  int max_newton_iterations = 100;
  /// The integration gives up here (SolverError with the time reached and the residual).
  double max_time = 1e9;

  /// OptionError naming the field if one is out of range.
  void validate() const;
};

struct SteadyState {
  std::vector<double> state;          // n_species values
  std::vector<double> sensitivities;  // row-major [n_species x n_sens] when options.sensitivities
  std::string method;                 // "newton" or "integration"
  double time = 0.0;                  // integration time used (0 for Newton)
  double residual = 0.0;              // wrms norm of dx/dt at the result
  int newton_iterations = 0;
};

/// The steady state of `model` with the inputs at their values at t = 0 of `protocol` held
/// constant (the protocol's t = 0 parameter overrides, clamps and knockouts apply, as do the
/// model's overlays), starting from `initial` (empty = the model's initial values). Sensitivities
/// with respect to options.sensitivities: Newton -> S = -J^-1 ∂f/∂θ; a singular Jacobian
/// (conservation laws) or a failed Newton iteration -> forward sensitivities integrated with the
/// state until both converge (CVODES). Model events are not processed. Throws OptionError for
/// bad options, SolverError (time reached, residual) if no steady state is found.
SteadyState steady_state(const Model& model, const Protocol& protocol,
                         const SolverOptions& options,
                         const SteadyStateOptions& steady_options = {},
                         const InitialConditions& initial = {});

}  // namespace osteogrn

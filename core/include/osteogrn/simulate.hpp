#pragma once
// The one entry point: simulate(model, protocol, sample times, options) -> Result.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"
#include "osteogrn/result.hpp"

namespace osteogrn {

/// Integration method (docs/integration.md).
enum class Method { cvode_bdf, cvode_adams, dopri5, rosenbrock4 };

/// Linear solver of the CVODES Newton iteration: dense LU, KLU on the sparse Jacobian, or GMRES
/// preconditioned by ILU(0) of the sparse Jacobian (large networks whose exact LU fills in).
enum class LinearSolver { dense, klu, gmres };

/// "cvode_bdf" etc. -> Method; OptionError listing the valid names otherwise.
Method parse_method(const std::string& name);
/// Method -> its name ("cvode_bdf", ...).
const char* to_string(Method method);
/// "dense"/"klu"/"gmres" -> LinearSolver; OptionError listing the valid names otherwise.
LinearSolver parse_linear_solver(const std::string& name);
/// LinearSolver -> its name ("dense", ...).
const char* to_string(LinearSolver solver);

struct SolverOptions {
  Method method = Method::cvode_bdf;
  double rtol = 1e-6;
  double atol = 1e-9;
  long max_steps = 100000;        // accepted steps over the whole run
  double max_step = 0.0;          // largest step (days); 0 = unlimited
  LinearSolver linear_solver = LinearSolver::dense;  // klu, gmres: CVODES methods only
  bool record_steps = false;      // fill Result::step_log
  bool raise_on_failure = true;   // false: return a Result with success=false, status = the code
  std::vector<std::string> sensitivities;  // parameter names (forward sensitivities, CVODES)
  /// Polled between integration steps (from the right-hand side, about every 10 ms of wall
  /// time, on the thread running simulate()): returning true stops the run with
  /// ReturnCode::cancelled (a SolverError, or a Result with that status when raise_on_failure
  /// is false); an exception it throws propagates out of simulate() unchanged (the Python
  /// binding raises KeyboardInterrupt this way). Empty: never interrupted. Not compared,
  /// not serialised.
  std::function<bool()> interrupt;

  /// OptionError if any field is out of range (rtol <= 0, max_steps < 1, unknown solver...).
  void validate() const;
};
// A new field also gets a row in bindings/bind_simulate.cpp (kFields) and in operator==.

/// Field-by-field equality; `interrupt` is not compared.
bool operator==(const SolverOptions& a, const SolverOptions& b);
/// Not operator==.
inline bool operator!=(const SolverOptions& a, const SolverOptions& b) { return !(a == b); }

/// Most values one Result may hold (samples x (species + observables + inputs + sensitivities))
/// and most values of one batch (n_sets x n_protocols x n_times x n_outputs): 2^31, 16 GiB of
/// doubles. Larger requests are an OptionError, raised before anything is allocated.
constexpr std::size_t kMaxResultValues = std::size_t{1} << 31;

/// Default sample times: every 0.1 day from 0 to the protocol's duration (inclusive).
/// OptionError if that is more than kMaxResultValues times (pass explicit times instead).
std::vector<double> default_times(double duration);

/// Simulates `model` under `protocol`. Sample times t must be sorted, finite and within
/// [0, duration]; empty = default_times. Throws ProtocolError/ModelError for a bad pairing,
/// OptionError for bad options or times, SolverError (time + reason) if integration fails.
Result simulate(const Model& model, const Protocol& protocol, const std::vector<double>& t = {},
                const SolverOptions& options = {});

/// A state (and its sensitivities) to start a simulation from instead of the model's own
/// initial values: the result of a pre-equilibration (steady_state), a previous run, a fit.
struct InitialConditions {
  /// Empty = model.initial_state(); else n_species values, in species order.
  std::vector<double> state;
  /// Empty = the model's d x0/dθ; else row-major [n_species x options.sensitivities.size()],
  /// entry (i, j) = d x_i(0) / d θ_j.
  std::vector<double> sensitivities;
};

/// simulate() from `initial` instead of the model's initial values. The protocol's t = 0
/// perturbations, knockouts and events with initial_value act after the override, as they
/// do on the model's own x0. OptionError naming the field for a wrong size or a non-finite value.
Result simulate(const Model& model, const Protocol& protocol, const std::vector<double>& t,
                const SolverOptions& options, const InitialConditions& initial);

namespace detail {
/// OptionError unless `initial` fits a model of n species and m sensitivity parameters
/// (sizes n and n*m, or empty; every value finite). Shared by simulate and steady_state.
void check_initial_conditions(const InitialConditions& initial, std::size_t n, std::size_t m);
}  // namespace detail

}  // namespace osteogrn

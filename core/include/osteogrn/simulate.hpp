#pragma once
// The one entry point: simulate(model, protocol, sample times, options) -> Result.
#include <string>
#include <vector>

#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"
#include "osteogrn/result.hpp"

namespace osteogrn {

enum class Method { cvode_bdf, cvode_adams, dopri5, rosenbrock4 };

/// "cvode_bdf" etc. -> Method; OptionError listing the valid names otherwise.
Method parse_method(const std::string& name);
const char* to_string(Method method);

struct SolverOptions {
  Method method = Method::cvode_bdf;
  double rtol = 1e-6;
  double atol = 1e-9;
  long max_steps = 100000;        // accepted steps over the whole run
  double max_step = 0.0;          // largest step (days); 0 = unlimited
  std::string linear_solver = "dense";  // "dense" or "klu" (cvode_bdf/cvode_adams only)
  bool record_steps = false;      // fill Result::step_log
  bool raise_on_failure = true;   // false: return a Result with success=false and status set
  std::vector<std::string> sensitivities;  // parameter names (forward sensitivities, CVODES)

  /// OptionError if any field is out of range (rtol <= 0, max_steps < 1, unknown solver...).
  void validate() const;
};

/// Default sample times: every 0.1 day from 0 to the protocol's duration (inclusive).
std::vector<double> default_times(double duration);

/// Simulates `model` under `protocol`. Sample times t must be sorted, finite and within
/// [0, duration]; empty = default_times. Throws ProtocolError/ModelError for a bad pairing,
/// OptionError for bad options or times, SolverError (time + reason) if integration fails.
Result simulate(const Model& model, const Protocol& protocol, const std::vector<double>& t = {},
                const SolverOptions& options = {});

}  // namespace osteogrn

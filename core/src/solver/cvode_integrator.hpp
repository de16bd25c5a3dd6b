#pragma once
// Internal: CVODES BDF / Adams integrator behind detail::Integrator.
#include <memory>

#include "solver/integrator.hpp"

namespace osteogrn::detail {

/// cvode_bdf or cvode_adams (options.method) with the system's analytic Jacobian: dense LU, or
/// KLU on the system's sparse pattern when options.linear_solver is "klu".
std::unique_ptr<Integrator> make_cvode_integrator(OdeSystem& system, const SolverOptions& options);

}  // namespace osteogrn::detail

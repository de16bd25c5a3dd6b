#pragma once
// Internal: CVODES BDF / Adams integrator behind detail::Integrator.
#include <memory>

#include "integrator.hpp"

namespace osteogrn::detail {

/// cvode_bdf or cvode_adams (options.method); dense LU with the system's analytic Jacobian.
std::unique_ptr<Integrator> make_cvode_integrator(OdeSystem& system, const SolverOptions& options);

}  // namespace osteogrn::detail

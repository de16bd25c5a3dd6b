#pragma once
// Internal: Boost.Odeint integrators (dopri5, rosenbrock4) behind detail::Integrator.
#include <memory>

#include "solver/integrator.hpp"

namespace osteogrn::detail {

/// dopri5 or rosenbrock4 (options.method).
std::unique_ptr<Integrator> make_odeint_integrator(OdeSystem& system, const SolverOptions& options);

}  // namespace osteogrn::detail

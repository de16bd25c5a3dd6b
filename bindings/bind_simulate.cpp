// osteogrn/simulate.hpp: the one entry point. The GIL is released while C++ integrates, so
// Python threads can run simulations in parallel (Model and Protocol are immutable).
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "osteogrn/simulate.hpp"

namespace osteogrn::bindings {

void bind_simulate(py::module_& m) {
  m.def(
      "simulate",
      [](const Model& model, const Protocol& protocol, std::vector<double> t,
         const std::string& method, double rtol, double atol, long max_steps, double max_step,
         const std::string& linear_solver, bool record_steps, bool raise_on_failure,
         std::vector<std::string> sensitivities) {
        SolverOptions o;
        o.method = parse_method(method);
        o.rtol = rtol;
        o.atol = atol;
        o.max_steps = max_steps;
        o.max_step = max_step;
        o.linear_solver = linear_solver;
        o.record_steps = record_steps;
        o.raise_on_failure = raise_on_failure;
        o.sensitivities = std::move(sensitivities);
        // Arguments are converted above with the GIL held; only C++ runs without it.
        py::gil_scoped_release release;
        return simulate(model, protocol, t, o);
      },
      py::arg("model"), py::arg("protocol"), py::arg("t"), py::arg("method") = "cvode_bdf",
      py::arg("rtol") = 1e-6, py::arg("atol") = 1e-9, py::arg("max_steps") = 100000L,
      py::arg("max_step") = 0.0, py::arg("linear_solver") = "dense",
      py::arg("record_steps") = false, py::arg("raise_on_failure") = true,
      py::arg("sensitivities") = std::vector<std::string>{},
      "Simulates model under protocol (GIL released). Use osteogrn.simulate instead.");

  m.def("default_times", &default_times, py::arg("duration"),
        "Every 0.1 day from 0 to duration (inclusive).");
  m.def(
      "methods", [] {
        return std::vector<std::string>{to_string(Method::cvode_bdf), to_string(Method::cvode_adams),
                                        to_string(Method::dopri5), to_string(Method::rosenbrock4)};
      },
      "Names of the integration methods.");
}

}  // namespace osteogrn::bindings

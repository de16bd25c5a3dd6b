// osteogrn/batch.hpp: the batch runner. Results go straight into numpy arrays allocated here;
// the GIL is released for the whole batch and taken back only to report progress and to let
// Ctrl-C (or a raising progress callback) cancel it.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "osteogrn/batch.hpp"
#include "osteogrn/errors.hpp"

namespace osteogrn::bindings {

namespace {

BatchOptions batch_options(const std::string& method, double rtol, double atol, long max_steps,
                           double max_step, const std::string& linear_solver, unsigned threads,
                           std::vector<std::string> outputs) {
  BatchOptions o;
  o.solver.method = parse_method(method);
  o.solver.rtol = rtol;
  o.solver.atol = atol;
  o.solver.max_steps = max_steps;
  o.solver.max_step = max_step;
  o.solver.linear_solver = linear_solver;
  o.threads = threads;
  o.outputs = std::move(outputs);
  return o;
}

using Matrix = py::array_t<double, py::array::c_style | py::array::forcecast>;

void check_shape(const Matrix& parameters, std::size_t n_names) {
  if (parameters.ndim() != 2 || static_cast<std::size_t>(parameters.shape(1)) != n_names)
    throw OptionError("parameters must have shape (n_sets, " + std::to_string(n_names) + ")");
}

}  // namespace

void bind_batch(py::module_& m) {
  m.def(
      "simulate_batch",
      [](const Model& model, std::vector<Protocol> protocols, std::vector<std::string> names,
         const Matrix& parameters,
         const std::vector<double>& t, const std::string& method, double rtol, double atol,
         long max_steps, double max_step, const std::string& linear_solver, unsigned threads,
         std::vector<std::string> outputs, const py::object& progress) {
        check_shape(parameters, names.size());
        const Batch batch(model, std::move(protocols), std::move(names), t,
                          batch_options(method, rtol, atol, max_steps, max_step, linear_solver,
                                        threads, std::move(outputs)));

        const std::size_t n_sets = static_cast<std::size_t>(parameters.shape(0));
        const std::size_t n_p = batch.n_protocols();
        py::array_t<double> values({n_sets, n_p, batch.n_times(), batch.n_outputs()});
        py::array_t<bool> failed({n_sets, n_p});
        std::vector<std::string> messages(n_sets * n_p);
        static_assert(sizeof(bool) == 1, "numpy bool is one byte");
        const double* p = parameters.data();
        double* v = values.mutable_data();
        auto* f = reinterpret_cast<unsigned char*>(failed.mutable_data());
        {
          py::gil_scoped_release release;
          batch.run(p, n_sets, v, f, messages.data(), [&](std::size_t done, std::size_t total) {
            py::gil_scoped_acquire acquire;
            if (PyErr_CheckSignals() != 0) throw py::error_already_set();
            if (!progress.is_none()) progress(done, total);
          });
        }
        py::list msgs;
        for (const auto& s : messages) msgs.append(to_py_str(s));
        py::array_t<double> times(batch.times().size(), batch.times().data());
        return py::make_tuple(values, failed, msgs, times, batch.output_names());
      },
      py::arg("model"), py::arg("protocols"), py::arg("names"), py::arg("parameters"),
      py::arg("t"), py::arg("method") = "cvode_bdf", py::arg("rtol") = 1e-6,
      py::arg("atol") = 1e-9, py::arg("max_steps") = 100000L, py::arg("max_step") = 0.0,
      py::arg("linear_solver") = "dense", py::arg("threads") = 0u,
      py::arg("outputs") = std::vector<std::string>{}, py::arg("progress") = py::none(),
      "Runs (set x protocol) tasks on C++ threads without the GIL; returns (values [n_sets, "
      "n_protocols, n_t, n_outputs], failed [n_sets, n_protocols], messages (flat list), t, "
      "output_names). Use osteogrn.simulate_batch instead.");

  m.def(
      "check_batch",
      [](const Model& model, std::vector<Protocol> protocols, std::vector<std::string> names,
         const Matrix& parameters, const std::vector<double>& t, const std::string& method,
         double rtol, double atol, long max_steps, double max_step,
         const std::string& linear_solver, unsigned threads, std::vector<std::string> outputs) {
        check_shape(parameters, names.size());
        const Batch batch(model, std::move(protocols), std::move(names), t,
                          batch_options(method, rtol, atol, max_steps, max_step, linear_solver,
                                        threads, std::move(outputs)));
        batch.check_parameters(parameters.data(), static_cast<std::size_t>(parameters.shape(0)));
        py::array_t<double> times(batch.times().size(), batch.times().data());
        return py::make_tuple(times, batch.output_names());
      },
      py::arg("model"), py::arg("protocols"), py::arg("names"), py::arg("parameters"),
      py::arg("t"), py::arg("method") = "cvode_bdf", py::arg("rtol") = 1e-6,
      py::arg("atol") = 1e-9, py::arg("max_steps") = 100000L, py::arg("max_step") = 0.0,
      py::arg("linear_solver") = "dense", py::arg("threads") = 0u,
      py::arg("outputs") = std::vector<std::string>{},
      "Validates a batch without running it (what simulate_batch would raise); returns (t, "
      "output_names).");
}

}  // namespace osteogrn::bindings

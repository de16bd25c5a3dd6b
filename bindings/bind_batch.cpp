// osteogrn/batch.hpp: the batch runner. Results go straight into numpy arrays allocated here;
// the GIL is released for the whole batch and taken back only to report progress and to let
// Ctrl-C (or a raising progress callback) cancel it.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstdint>

#include "bindings.hpp"
#include "osteogrn/batch.hpp"
#include "osteogrn/errors.hpp"

namespace osteogrn::bindings {

namespace {

BatchOptions batch_options(const SolverOptions& solver, unsigned threads,
                           std::vector<std::string> outputs) {
  BatchOptions o;
  o.solver = solver;
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
         const Matrix& parameters, const std::vector<double>& t, const SolverOptions& options,
         unsigned threads, std::vector<std::string> outputs, const py::object& progress) {
        check_shape(parameters, names.size());
        const Batch batch(model, std::move(protocols), std::move(names), t,
                          batch_options(options, threads, std::move(outputs)));

        const std::size_t n_sets = static_cast<std::size_t>(parameters.shape(0));
        const std::size_t n_p = batch.n_protocols();
        batch.check_size(n_sets);  // OptionError before numpy allocates anything
        py::array_t<double> values;
        try {
          values = py::array_t<double>({n_sets, n_p, batch.n_times(), batch.n_outputs()});
        } catch (py::error_already_set& e) {
          if (!e.matches(PyExc_MemoryError)) throw;
          const double gib = static_cast<double>(n_sets * batch.values_per_set()) * 8.0 /
                             (1024.0 * 1024.0 * 1024.0);
          PyErr_SetString(PyExc_MemoryError,
                          ("simulate_batch: not enough memory for the results, " +
                           std::to_string(n_sets) + " sets x " + std::to_string(n_p) +
                           " protocols x " + std::to_string(batch.n_times()) + " times x " +
                           std::to_string(batch.n_outputs()) + " outputs (" +
                           std::to_string(gib) +
                           " GiB); select fewer outputs=, pass fewer sample times t=, or run "
                           "the sets in chunks (executor=)")
                              .c_str());
          throw py::error_already_set();
        }
        py::array_t<bool> failed({n_sets, n_p});
        py::array_t<std::uint8_t> codes({n_sets, n_p});
        std::vector<std::string> messages(n_sets * n_p);
        static_assert(sizeof(bool) == 1, "numpy bool is one byte");
        std::vector<ReturnCode> code_values(n_sets * n_p, ReturnCode::success);
        const double* p = parameters.data();
        double* v = values.mutable_data();
        auto* f = reinterpret_cast<unsigned char*>(failed.mutable_data());
        {
          py::gil_scoped_release release;
          batch.run(p, n_sets, v, f, code_values.data(), messages.data(),
                    [&](std::size_t done, std::size_t total) {
                      py::gil_scoped_acquire acquire;
                      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
                      if (!progress.is_none()) progress(done, total);
                    });
        }
        std::uint8_t* c = codes.mutable_data();
        for (std::size_t i = 0; i < code_values.size(); ++i)
          c[i] = static_cast<std::uint8_t>(code_values[i]);
        py::list msgs;
        for (const auto& s : messages) msgs.append(to_py_str(s));
        py::array_t<double> times(batch.times().size(), batch.times().data());
        return py::make_tuple(values, failed, codes, msgs, times, batch.output_names());
      },
      py::arg("model"), py::arg("protocols"), py::arg("names"), py::arg("parameters"),
      py::arg("t"), py::arg("options"), py::arg("threads"), py::arg("outputs"),
      py::arg("progress") = py::none(),
      "Runs (set x protocol) tasks on C++ threads without the GIL; returns (values [n_sets, "
      "n_protocols, n_t, n_outputs], failed [n_sets, n_protocols], codes (ReturnCode values, "
      "uint8) [n_sets, n_protocols], messages (flat list), t, output_names). OptionError if the "
      "results would exceed MAX_RESULT_VALUES; MemoryError with the sizes if numpy cannot "
      "allocate them. Use osteogrn.simulate_batch instead.");

  m.def(
      "check_batch",
      [](const Model& model, std::vector<Protocol> protocols, std::vector<std::string> names,
         const Matrix& parameters, const std::vector<double>& t, const SolverOptions& options,
         unsigned threads, std::vector<std::string> outputs) {
        check_shape(parameters, names.size());
        const Batch batch(model, std::move(protocols), std::move(names), t,
                          batch_options(options, threads, std::move(outputs)));
        const auto n_sets = static_cast<std::size_t>(parameters.shape(0));
        batch.check_size(n_sets);
        batch.check_parameters(parameters.data(), n_sets);
        py::array_t<double> times(batch.times().size(), batch.times().data());
        return py::make_tuple(times, batch.output_names());
      },
      py::arg("model"), py::arg("protocols"), py::arg("names"), py::arg("parameters"),
      py::arg("t"), py::arg("options"), py::arg("threads"), py::arg("outputs"),
      "Validates a batch without running it (what simulate_batch would raise); returns (t, "
      "output_names).");
}

}  // namespace osteogrn::bindings

// osteogrn/result.hpp: the C++ Result handed to Python. The Python Result class copies these
// arrays once into numpy and owns them from then on (so it pickles without C++).
#include <stdexcept>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "osteogrn/result.hpp"

namespace osteogrn::bindings {
namespace {

py::array_t<double> table(const std::vector<double>& data, std::size_t rows, std::size_t cols) {
  py::array_t<double> a({rows, cols});
  if (data.size() != rows * cols)
    throw std::length_error("result table has " + std::to_string(data.size()) +
                            " values, expected " + std::to_string(rows * cols));
  std::copy(data.begin(), data.end(), a.mutable_data());
  return a;
}

}  // namespace

void bind_result(py::module_& m) {
  py::enum_<ReturnCode> codes(m, "ReturnCode",
                              "How an integration ended (use osteogrn.ReturnCode).");
  for (int i = 0; i < kReturnCodeCount; ++i) {
    const auto code = static_cast<ReturnCode>(i);
    codes.value(to_string(code), code);
  }
  m.def("return_code_hint", [](ReturnCode code) { return std::string(hint(code)); },
        py::arg("code"), "What to do about a failure with this code.");

  py::class_<Result>(m, "Result", "Raw simulation output (use osteogrn.Result).")
      .def_property_readonly("t",
                             [](const Result& r) { return py::array_t<double>(r.t.size(), r.t.data()); })
      .def_property_readonly("species_names", [](const Result& r) { return r.species_names; })
      .def_property_readonly("observable_names", [](const Result& r) { return r.observable_names; })
      .def_property_readonly("input_names", [](const Result& r) { return r.input_names; })
      .def_property_readonly("species", [](const Result& r) {
        return table(r.species, r.t.size(), r.species_names.size());
      })
      .def_property_readonly("observables", [](const Result& r) {
        return table(r.observables, r.t.size(), r.observable_names.size());
      })
      .def_property_readonly("inputs", [](const Result& r) {
        return table(r.inputs, r.t.size(), r.input_names.size());
      })
      .def_property_readonly("sensitivity_parameters",
                             [](const Result& r) { return r.sensitivity_parameters; })
      .def_property_readonly("sensitivities", [](const Result& r) {
        const std::size_t n_out = r.species_names.size() + r.observable_names.size();
        const std::size_t n_p = r.sensitivity_parameters.size();
        py::array_t<double> a({r.t.size(), n_out, n_p});
        if (r.sensitivities.size() == r.t.size() * n_out * n_p)
          std::copy(r.sensitivities.begin(), r.sensitivities.end(), a.mutable_data());
        else if (!r.sensitivities.empty() || n_p != 0)
          throw std::length_error("sensitivities have " + std::to_string(r.sensitivities.size()) +
                                  " values, expected " +
                                  std::to_string(r.t.size() * n_out * n_p));
        return a;
      })
      .def_property_readonly("media_change_days", [](const Result& r) { return r.media_change_days; })
      .def_property_readonly("breakpoints", [](const Result& r) { return r.breakpoints; })
      .def_property_readonly("model_name", [](const Result& r) { return r.model_name; })
      .def_property_readonly("protocol_name", [](const Result& r) { return r.protocol_name; })
      .def_property_readonly("method", [](const Result& r) { return r.method; })
      .def_property_readonly("success", [](const Result& r) { return r.success; })
      .def_property_readonly("status", [](const Result& r) { return r.status; })
      .def_property_readonly("message", [](const Result& r) { return to_py_str(r.message); })
      .def_property_readonly("flag", [](const Result& r) { return to_py_str(r.flag); })
      .def_property_readonly("failure_time", [](const Result& r) { return r.failure_time; })
      .def_property_readonly("stats",
                             [](const Result& r) {
                               const SolverStats& s = r.stats;
                               py::dict d;
                               d["steps"] = s.steps;
                               d["rhs_evals"] = s.rhs_evals;
                               d["jac_evals"] = s.jac_evals;
                               d["err_test_fails"] = s.err_test_fails;
                               d["nonlin_iters"] = s.nonlin_iters;
                               d["nonlin_conv_fails"] = s.nonlin_conv_fails;
                               d["lin_setups"] = s.lin_setups;
                               d["restarts"] = s.restarts;
                               d["wall_seconds"] = s.wall_seconds;
                               d["sens_rhs_evals"] = s.sens_rhs_evals;
                               d["sens_nonlin_iters"] = s.sens_nonlin_iters;
                               return d;
                             })
      .def_property_readonly("step_log", [](const Result& r) {
        py::array_t<double> a({r.step_log.size(), std::size_t{2}});
        auto v = a.mutable_unchecked<2>();
        for (std::size_t i = 0; i < r.step_log.size(); ++i) {
          v(i, 0) = r.step_log[i].t_start;
          v(i, 1) = r.step_log[i].t_end;
        }
        return a;
      });
}

}  // namespace osteogrn::bindings

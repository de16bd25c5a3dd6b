// osteogrn/schedule.hpp: a protocol bound to a model. Python uses it to check that a protocol
// fits a model (Schedule construction validates the pair) and to read the input time courses.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/detail/schedule.hpp"

namespace osteogrn::bindings {

void bind_schedule(py::module_& m) {
  py::class_<Schedule>(m, "Schedule", "A protocol bound to a model: breakpoints and inputs.")
      .def(py::init<const Protocol&, const Model&>(), py::arg("protocol"), py::arg("model"))
      .def_property_readonly("duration", &Schedule::duration)
      .def_property_readonly("breakpoints", &Schedule::breakpoints)
      .def_property_readonly("media_change_days", &Schedule::media_change_days)
      .def_property_readonly("n_segments", [](const Schedule& s) { return s.segments().size(); })
      .def(
          "inputs_at",
          [](const Schedule& s, double t, std::size_t n_inputs) {
            if (!(t >= 0.0 && t <= s.duration()))
              throw OptionError("time " + std::to_string(t) + " lies outside [0, duration]");
            py::array_t<double> u(n_inputs);
            if (n_inputs) s.inputs(s.segment_at(t), t, u.mutable_data());
            return u;
          },
          py::arg("t"), py::arg("n_inputs"),
          "Input values at time t (a breakpoint reports the value after its change).");
}

}  // namespace osteogrn::bindings

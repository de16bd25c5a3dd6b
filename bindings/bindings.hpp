#pragma once
// Internal to the extension osteogrn._core: one bind_* function per public header, called from
// module.cpp, plus the string helper every file needs.
#include <pybind11/pybind11.h>

#include <string>

#include "osteogrn/protocol.hpp"

namespace osteogrn::bindings {

namespace py = pybind11;

/// UTF-8 text to a Python str; invalid bytes (an error message can quote half of a multi-byte
/// character) become U+FFFD instead of raising UnicodeDecodeError.
py::str to_py_str(const std::string& s);

/// A perturbation as {"kind", "target", "value", "scale", "from", "until" (None = end of run)}.
py::dict perturbation_dict(const Perturbation& p);

void bind_errors(py::module_& m);
void bind_expression(py::module_& m);
void bind_protocol(py::module_& m);
void bind_model(py::module_& m);
void bind_schedule(py::module_& m);
void bind_result(py::module_& m);
void bind_simulate(py::module_& m);

}  // namespace osteogrn::bindings

// osteogrn/expression.hpp: parse and print expressions (enough to check a formula from Python;
// compiling and evaluating happen inside Model).
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "osteogrn/expression.hpp"

namespace osteogrn::bindings {

void bind_expression(py::module_& m) {
  py::class_<Expr>(m, "Expression", "A parsed (unresolved) expression tree; immutable.")
      .def("__str__", [](const Expr& e) { return to_string(e); })
      .def("__repr__", [](const Expr& e) { return "Expression('" + to_string(e) + "')"; })
      .def("to_string", [](const Expr& e) { return to_string(e); },
           "The expression printed in the input grammar.")
      .def("names", [](const Expr& e) { return referenced_names(e); },
           "The names the expression refers to (not the time symbol t).")
      .def("simplify", [](const Expr& e) { return simplify(e); },
           "Constant folding and algebraic identities.");

  m.def("parse_expression", [](const std::string& text) { return parse_expression(text); },
        py::arg("text"), "Parses an expression; ParseError with the position if it does not.");
}

}  // namespace osteogrn::bindings

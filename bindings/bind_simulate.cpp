// osteogrn/simulate.hpp: SolverOptions (the one place its defaults live: the C++ struct), the
// Method and LinearSolver enums, simulate() (with an initial-state override) and
// steady_state() (osteogrn/steady_state.hpp). The GIL is released while C++ integrates, so
// Python threads can run simulations in parallel (Model and Protocol are immutable); on the
// main thread it is taken back about every 10 ms to let Ctrl-C interrupt the run.
#include <pybind11/stl.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/simulate.hpp"
#include "osteogrn/steady_state.hpp"

namespace osteogrn::bindings {

namespace {

// "'abc' (str)": a value as the user wrote it, for OptionError messages.
std::string describe(py::handle value) {
  return py::repr(value).cast<std::string>() + " (" +
         py::str(py::type::of(value).attr("__name__")).cast<std::string>() + ")";
}

[[noreturn]] void bad(const char* field, const std::string& expected, py::handle value) {
  throw OptionError(std::string("SolverOptions.") + field + " must be " + expected + ", got " +
                    describe(value));
}

double to_number(const char* field, py::handle value) {
  if (py::isinstance<py::str>(value) || py::isinstance<py::bool_>(value) ||
      !PyNumber_Check(value.ptr()))
    bad(field, "a number", value);
  const double d = PyFloat_AsDouble(value.ptr());
  if (d == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    bad(field, "a number", value);
  }
  return d;
}

long to_integer(const char* field, py::handle value) {
  if (py::isinstance<py::bool_>(value)) bad(field, "an integer", value);
  if (PyFloat_Check(value.ptr())) {  // 1e5 is accepted as 100000, 1.5 is not
    const double d = PyFloat_AsDouble(value.ptr());
    if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9.2e18) return static_cast<long>(d);
    bad(field, "an integer", value);
  }
  if (!PyIndex_Check(value.ptr())) bad(field, "an integer", value);
  const long v = PyLong_AsLong(py::reinterpret_steal<py::object>(PyNumber_Index(value.ptr())).ptr());
  if (v == -1 && PyErr_Occurred()) {
    PyErr_Clear();
    bad(field, "an integer below 2**63", value);
  }
  return v;
}

std::string to_name(const char* field, py::handle value) {
  // str, or anything whose str() is the name (og.Method.cvode_bdf, _core.Method.cvode_bdf)
  if (py::isinstance<py::str>(value)) return value.cast<std::string>();
  if (py::hasattr(value, "name") && py::isinstance<py::str>(value.attr("name")))
    return value.attr("name").cast<std::string>();
  bad(field, "a name (str)", value);
}

std::vector<std::string> to_names(const char* field, py::handle value) {
  if (value.is_none()) return {};
  if (py::isinstance<py::str>(value)) return {value.cast<std::string>()};
  std::vector<std::string> out;
  try {
    for (py::handle item : py::iter(value)) {
      if (!py::isinstance<py::str>(item)) bad(field, "a list of parameter names (str)", value);
      out.push_back(item.cast<std::string>());
    }
  } catch (py::error_already_set&) {  // not iterable
    bad(field, "a list of parameter names (str)", value);
  }
  return out;
}

// One row per field: how Python reads it and how it is set from Python (OptionError naming the
// field). The getters give plain Python values (names as str) so that options compare, print
// and pickle without the extension's types.
struct Field {
  const char* name;
  py::object (*get)(const SolverOptions&);
  void (*set)(SolverOptions&, py::handle);
};

const Field kFields[] = {
    {"method", [](const SolverOptions& o) -> py::object { return py::str(to_string(o.method)); },
     [](SolverOptions& o, py::handle v) { o.method = parse_method(to_name("method", v)); }},
    {"rtol", [](const SolverOptions& o) -> py::object { return py::float_(o.rtol); },
     [](SolverOptions& o, py::handle v) { o.rtol = to_number("rtol", v); }},
    {"atol", [](const SolverOptions& o) -> py::object { return py::float_(o.atol); },
     [](SolverOptions& o, py::handle v) { o.atol = to_number("atol", v); }},
    {"max_steps", [](const SolverOptions& o) -> py::object { return py::int_(o.max_steps); },
     [](SolverOptions& o, py::handle v) { o.max_steps = to_integer("max_steps", v); }},
    {"max_step", [](const SolverOptions& o) -> py::object { return py::float_(o.max_step); },
     [](SolverOptions& o, py::handle v) { o.max_step = to_number("max_step", v); }},
    {"linear_solver",
     [](const SolverOptions& o) -> py::object { return py::str(to_string(o.linear_solver)); },
     [](SolverOptions& o, py::handle v) {
       o.linear_solver = parse_linear_solver(to_name("linear_solver", v));
     }},
    {"record_steps", [](const SolverOptions& o) -> py::object { return py::bool_(o.record_steps); },
     [](SolverOptions& o, py::handle v) { o.record_steps = v.cast<bool>(); }},
    {"raise_on_failure",
     [](const SolverOptions& o) -> py::object { return py::bool_(o.raise_on_failure); },
     [](SolverOptions& o, py::handle v) { o.raise_on_failure = v.cast<bool>(); }},
    {"sensitivities",
     [](const SolverOptions& o) -> py::object {
       return py::tuple(py::cast(o.sensitivities));
     },
     [](SolverOptions& o, py::handle v) { o.sensitivities = to_names("sensitivities", v); }},
};

std::string field_list() {
  std::string out;
  for (const Field& f : kFields) out += (out.empty() ? "" : ", ") + std::string(f.name);
  return out;
}

// Copies `base`, applies keyword changes (OptionError for an unknown field or a bad value),
// validates the result.
SolverOptions with_changes(SolverOptions o, const py::dict& changes) {
  for (auto item : changes) {
    const std::string key = py::str(item.first).cast<std::string>();
    const Field* field = nullptr;
    for (const Field& f : kFields)
      if (key == f.name) field = &f;
    if (!field)
      throw OptionError("SolverOptions has no field '" + key + "'; fields: " + field_list());
    try {
      field->set(o, item.second);
    } catch (const py::cast_error&) {
      bad(field->name, "a bool", item.second);
    }
  }
  o.validate();
  return o;
}

py::dict as_dict(const SolverOptions& o) {
  py::dict d;
  for (const Field& f : kFields) d[f.name] = f.get(o);
  return d;
}

// Ctrl-C for a run on Python's main thread (the only thread that handles signals): take the
// GIL, run pending signal handlers, and carry their exception (KeyboardInterrupt) out of
// simulate(). Other threads get no callback, so they never contend for the GIL.
std::function<bool()> python_interrupt() {
  static const unsigned long main_thread =
      py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
  if (PyThread_get_thread_ident() != main_thread) return {};
  return [] {
    py::gil_scoped_acquire acquire;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    return false;
  };
}

}  // namespace

void bind_simulate(py::module_& m) {
  // Members from the C++ name tables (to_string gives "unknown" past the last member), so that
  // a new member needs no change here.
  py::enum_<Method> methods(m, "Method", "Integration method (names as in SolverOptions.method).");
  for (int i = 0; std::string(to_string(static_cast<Method>(i))) != "unknown"; ++i)
    methods.value(to_string(static_cast<Method>(i)), static_cast<Method>(i));
  py::enum_<LinearSolver> solvers(m, "LinearSolver", "Linear solver of the CVODES methods.");
  for (int i = 0; std::string(to_string(static_cast<LinearSolver>(i))) != "unknown"; ++i)
    solvers.value(to_string(static_cast<LinearSolver>(i)), static_cast<LinearSolver>(i));

  py::class_<SolverOptions> options(
      m, "SolverOptions",
      "Solver options of simulate/simulate_batch/fit; immutable, see osteogrn.SolverOptions.");
  options
      .def(py::init([](const py::kwargs& kwargs) { return with_changes(SolverOptions{}, kwargs); }),
           "Keyword construction: every field defaults to the C++ SolverOptions default.")
      .def(
          "replace",
          [](const SolverOptions& o, const py::kwargs& changes) { return with_changes(o, changes); },
          "A copy with the given fields changed (validated).")
      .def("to_dict", &as_dict, "Every field as a plain Python value.")
      .def("__eq__", [](const SolverOptions& a, const SolverOptions& b) { return a == b; },
           py::is_operator())
      .def("__eq__", [](const SolverOptions&, const py::object&) { return false; })
      .def("__repr__",
           [](const SolverOptions& o) {
             std::string out = "SolverOptions(";
             bool first = true;
             for (const Field& f : kFields) {
               out += (first ? "" : ", ") + std::string(f.name) + "=" +
                      py::repr(f.get(o)).cast<std::string>();
               first = false;
             }
             return out + ")";
           })
      .def(py::pickle([](const SolverOptions& o) { return as_dict(o); },
                      [](const py::dict& d) { return with_changes(SolverOptions{}, d); }));
  for (const Field& f : kFields) {
    const auto get = f.get;
    options.def_property_readonly(f.name, [get](const SolverOptions& o) { return get(o); });
  }

  m.def(
      "simulate",
      [](const Model& model, const Protocol& protocol, std::vector<double> t,
         const SolverOptions& options, std::vector<double> initial_state,
         std::vector<double> initial_sensitivities) {
        SolverOptions o = options;
        o.interrupt = python_interrupt();
        const InitialConditions initial{std::move(initial_state),
                                        std::move(initial_sensitivities)};
        // Arguments are converted above with the GIL held; only C++ runs without it.
        py::gil_scoped_release release;
        return simulate(model, protocol, t, o, initial);
      },
      py::arg("model"), py::arg("protocol"), py::arg("t"), py::arg("options"),
      py::arg("initial_state") = std::vector<double>{},
      py::arg("initial_sensitivities") = std::vector<double>{},
      "Simulates model under protocol (GIL released; Ctrl-C interrupts it on the main thread). "
      "Use osteogrn.simulate instead.");

  m.def(
      "steady_state",
      [](const Model& model, const Protocol& protocol, const SolverOptions& options,
         const std::string& method, double rtol, double atol, int max_newton_iterations,
         double max_time, std::vector<double> initial_state,
         std::vector<double> initial_sensitivities) {
        SolverOptions o = options;
        o.interrupt = python_interrupt();
        SteadyStateOptions so;
        so.method = method;
        so.rtol = rtol;
        so.atol = atol;
        so.max_newton_iterations = max_newton_iterations;
        so.max_time = max_time;
        const InitialConditions initial{std::move(initial_state),
                                        std::move(initial_sensitivities)};
        SteadyState ss;
        {
          py::gil_scoped_release release;
          ss = steady_state(model, protocol, o, so, initial);
        }
        py::dict out;
        out["state"] = ss.state;
        out["sensitivities"] = ss.sensitivities;
        out["method"] = ss.method;
        out["time"] = ss.time;
        out["residual"] = ss.residual;
        out["newton_iterations"] = ss.newton_iterations;
        return out;
      },
      py::arg("model"), py::arg("protocol"), py::arg("options"), py::arg("method"),
      py::arg("rtol"), py::arg("atol"), py::arg("max_newton_iterations"), py::arg("max_time"),
      py::arg("initial_state") = std::vector<double>{},
      py::arg("initial_sensitivities") = std::vector<double>{},
      "Steady state (Newton, then integration) as a dict (state, sensitivities row-major "
      "[n_species x n_sens], method, time, residual, newton_iterations); GIL released. Use "
      "osteogrn.steady_state instead.");

  m.def("default_times", &default_times, py::arg("duration"),
        "Every 0.1 day from 0 to duration (inclusive).");
  m.attr("MAX_RESULT_VALUES") = py::int_(kMaxResultValues);
}

}  // namespace osteogrn::bindings

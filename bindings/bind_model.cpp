// osteogrn/model.hpp: load, inspect, edit (new values) and evaluate compiled models.
#include <cmath>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/model.hpp"

namespace osteogrn::bindings {
namespace {

LoadOptions load_options(const std::vector<std::string>& search_paths) {
  LoadOptions o;
  o.search_paths = search_paths;
  return o;
}

py::object bound(double v) {
  return std::isfinite(v) ? py::object(py::float_(v)) : py::object(py::none());
}

// Row-major [rows x cols] vector -> 2-D numpy array (copied).
py::array_t<double> matrix(const std::vector<double>& data, std::size_t rows, std::size_t cols) {
  py::array_t<double> a({rows, cols});
  std::copy(data.begin(), data.end(), a.mutable_data());
  return a;
}

void check_sizes(const Model& m, const std::vector<double>& y, const std::vector<double>& u) {
  if (y.size() != m.species().size())
    throw OptionError("y has " + std::to_string(y.size()) + " values, the model has " +
                          std::to_string(m.species().size()) + " species");
  if (u.size() != m.inputs().size())
    throw OptionError("u has " + std::to_string(u.size()) + " values, the model has " +
                          std::to_string(m.inputs().size()) + " inputs");
}

}  // namespace

void bind_model(py::module_& m) {
  py::class_<Model>(m, "Model", "A compiled osteogrn-model/1 model (immutable, thread-safe).")
      .def_static(
          "from_file",
          [](const std::string& path, const std::vector<std::string>& search_paths) {
            return Model::from_file(path, load_options(search_paths));
          },
          py::arg("path"), py::arg("search_paths") = std::vector<std::string>{})
      .def_static(
          "from_json",
          [](const std::string& text, const std::string& source,
             const std::vector<std::string>& search_paths) {
            return Model::from_json(text, source, load_options(search_paths));
          },
          py::arg("text"), py::arg("source") = "<string>",
          py::arg("search_paths") = std::vector<std::string>{})
      .def("to_json", &Model::to_json)
      .def_property_readonly("name", &Model::name)
      .def_property_readonly("description", &Model::description)
      .def_property_readonly("time_unit", &Model::time_unit)
      .def_property_readonly("modules", &Model::modules)
      .def_property_readonly("references", &Model::references)
      .def_property_readonly("species",
                             [](const Model& model) {
                               py::list l;
                               for (const auto& s : model.species()) {
                                 py::dict d;
                                 d["name"] = s.name;
                                 d["initial"] = s.initial;
                                 d["initial_expression"] = s.initial_expression;
                                 d["unit"] = s.unit;
                                 d["description"] = s.description;
                                 d["module"] = s.module;
                                 l.append(d);
                               }
                               return l;
                             })
      .def_property_readonly("parameters",
                             [](const Model& model) {
                               py::list l;
                               const auto& values = model.parameter_values();
                               for (std::size_t i = 0; i < model.parameters().size(); ++i) {
                                 const auto& p = model.parameters()[i];
                                 py::dict d;
                                 d["name"] = p.name;
                                 d["value"] = values.at(i);
                                 d["file_value"] = p.value;
                                 d["unit"] = p.unit;
                                 d["min"] = p.min;
                                 d["max"] = bound(p.max);
                                 d["source"] = p.source;
                                 d["description"] = p.description;
                                 d["module"] = p.module;
                                 l.append(d);
                               }
                               return l;
                             })
      .def_property_readonly("inputs",
                             [](const Model& model) {
                               py::list l;
                               for (const auto& u : model.inputs()) {
                                 py::dict d;
                                 d["name"] = u.name;
                                 d["default"] = u.default_value;
                                 d["unit"] = u.unit;
                                 d["description"] = u.description;
                                 d["module"] = u.module;
                                 l.append(d);
                               }
                               return l;
                             })
      .def_property_readonly("expressions",
                             [](const Model& model) {
                               py::list l;
                               for (const auto& e : model.expressions()) {
                                 py::dict d;
                                 d["name"] = e.name;
                                 d["text"] = e.text;
                                 d["module"] = e.module;
                                 l.append(d);
                               }
                               return l;
                             })
      .def_property_readonly("observables",
                             [](const Model& model) {
                               py::list l;
                               for (const auto& o : model.observables()) {
                                 py::dict d;
                                 d["name"] = o.name;
                                 d["expression"] = o.expression;
                                 d["unit"] = o.unit;
                                 d["description"] = o.description;
                                 d["module"] = o.module;
                                 l.append(d);
                               }
                               return l;
                             })
      .def_property_readonly("events",
                             [](const Model& model) {
                               py::list l;
                               for (const auto& e : model.events()) {
                                 py::dict d;
                                 d["name"] = e.name;
                                 d["trigger"] = e.trigger;
                                 py::dict a;
                                 for (const auto& [target, text] : e.assignments) a[py::str(target)] = text;
                                 d["assignments"] = a;
                                 d["delay"] = e.delay;
                                 d["priority"] = e.priority;
                                 d["persistent"] = e.persistent;
                                 d["initial_value"] = e.initial_value;
                                 d["use_values_from_trigger_time"] = e.use_values_from_trigger_time;
                                 d["description"] = e.description;
                                 d["module"] = e.module;
                                 l.append(d);
                               }
                               return l;
                             })
      .def_property_readonly("overlays",
                             [](const Model& model) {
                               py::list l;
                               for (const auto& p : model.overlays()) l.append(perturbation_dict(p));
                               return l;
                             })
      .def_property_readonly("parameter_values", &Model::parameter_values)
      .def("initial_state", &Model::initial_state)
      .def("initial_state_jacobian",
           [](const Model& model) {
             return matrix(model.initial_state_jacobian(), model.species().size(),
                           model.parameters().size());
           })
      .def("with_parameters", &Model::with_parameters, py::arg("values"))
      .def("with_parameter_values", &Model::with_parameter_values, py::arg("values"))
      .def("knockout", &Model::knockout, py::arg("species"))
      .def(
          "rhs",
          [](const Model& model, double t, const std::vector<double>& y,
             const std::vector<double>& u) {
            check_sizes(model, y, u);
            auto f = model.rhs(t, y, u);
            return py::array_t<double>(f.size(), f.data());
          },
          py::arg("t"), py::arg("y"), py::arg("u"))
      .def(
          "jacobian",
          [](const Model& model, double t, const std::vector<double>& y,
             const std::vector<double>& u) {
            check_sizes(model, y, u);
            const std::size_t n = model.species().size();
            return matrix(model.jacobian(t, y, u), n, n);
          },
          py::arg("t"), py::arg("y"), py::arg("u"))
      .def(
          "parameter_jacobian",
          [](const Model& model, double t, const std::vector<double>& y,
             const std::vector<double>& u) {
            check_sizes(model, y, u);
            return matrix(model.parameter_jacobian(t, y, u), model.species().size(),
                          model.parameters().size());
          },
          py::arg("t"), py::arg("y"), py::arg("u"))
      .def(
          "observe",
          [](const Model& model, double t, const std::vector<double>& y,
             const std::vector<double>& u) {
            check_sizes(model, y, u);
            auto g = model.observe(t, y, u);
            return py::array_t<double>(g.size(), g.data());
          },
          py::arg("t"), py::arg("y"), py::arg("u"));
}

}  // namespace osteogrn::bindings

// osteogrn/protocol.hpp: protocols parse and validate in C++; Python reads their fields as
// plain dicts/lists and edits them by round-tripping through JSON (so every edit goes through
// the validating constructor).
#include <cmath>

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "osteogrn/protocol.hpp"

namespace osteogrn::bindings {
namespace {

py::object finite_or_none(double v) {
  return std::isfinite(v) ? py::object(py::float_(v)) : py::object(py::none());
}

py::dict component_dict(const Component& c) {
  py::dict d;
  d["concentration"] = c.concentration;
  d["unit"] = c.unit;
  d["half_life"] = c.half_life ? py::object(py::float_(*c.half_life)) : py::object(py::none());
  d["from"] = c.from;
  d["until"] = finite_or_none(c.until);
  d["optional"] = c.optional;
  d["description"] = c.description;
  d["molar_mass"] = c.molar_mass ? py::object(py::float_(*c.molar_mass)) : py::object(py::none());
  if (c.price) {
    py::dict pr;
    pr["value"] = c.price->value;
    pr["per"] = c.price->per;
    pr["unit"] = c.price->unit;
    d["price"] = pr;
  } else {
    d["price"] = py::none();
  }
  return d;
}

py::dict addition_dict(const Addition& a) {
  py::dict d;
  d["day"] = a.day;
  d["component"] = a.component;
  d["concentration"] = a.concentration;
  d["unit"] = a.unit;
  return d;
}

py::dict media_changes_dict(const MediaChanges& m) {
  py::dict d;
  if (m.every) d["every"] = *m.every;
  if (!m.days.empty()) d["days"] = m.days;
  return d;
}

}  // namespace

py::dict perturbation_dict(const Perturbation& p) {
  py::dict d;
  d["kind"] = to_string(p.kind);
  d["target"] = p.target;
  d["value"] = p.value;
  d["scale"] = p.scale;
  d["from"] = p.from;
  d["until"] = finite_or_none(p.until);
  return d;
}

void bind_protocol(py::module_& m) {
  py::class_<Protocol>(m, "Protocol", "A validated osteogrn-protocol/1 protocol (immutable).")
      .def_static("from_json", &Protocol::from_json, py::arg("text"),
                  py::arg("source") = "<string>")
      .def_static("from_file", &Protocol::from_file, py::arg("path"))
      .def("to_json", &Protocol::to_json)
      .def_property_readonly("name", &Protocol::name)
      .def_property_readonly("description", &Protocol::description)
      .def_property_readonly("duration", &Protocol::duration)
      .def_property_readonly("replace_fraction", &Protocol::replace_fraction)
      .def_property_readonly("source", &Protocol::source)
      .def_property_readonly("media_changes",
                             [](const Protocol& p) { return media_changes_dict(p.media_changes()); })
      .def_property_readonly("components",
                             [](const Protocol& p) {
                               py::dict d;  // insertion order = file order
                               for (const auto& c : p.components())
                                 d[py::str(c.name)] = component_dict(c);
                               return d;
                             })
      .def_property_readonly("additions",
                             [](const Protocol& p) {
                               py::list l;
                               for (const auto& a : p.additions()) l.append(addition_dict(a));
                               return l;
                             })
      .def_property_readonly("perturbations",
                             [](const Protocol& p) {
                               py::list l;
                               for (const auto& x : p.perturbations()) l.append(perturbation_dict(x));
                               return l;
                             })
      .def_property_readonly("medium",
                             [](const Protocol& p) -> py::object {
                               if (!p.medium()) return py::none();
                               py::dict d;
                               d["volume"] = p.medium()->volume;
                               d["unit"] = p.medium()->unit;
                               return d;
                             })
      .def("media_change_days", &Protocol::media_change_days);

  m.def("convert_unit", &convert_unit, py::arg("value"), py::arg("from_unit"),
        py::arg("to_unit"), py::arg("molar_mass") = py::none(),
        "Converts a concentration, amount or volume within one dimension, or between mass and "
        "moles with a molar mass in g/mol (ProtocolError if not possible).");
  m.def("unit_dimension", &unit_dimension, py::arg("unit"),
        "The dimension of a unit ('molar', 'mass concentration', 'mass', 'amount of substance', "
        "'volume'), or '' if unknown.");
}

}  // namespace osteogrn::bindings

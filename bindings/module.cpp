// osteogrn._core: the private extension module. Users import `osteogrn`, which wraps these
// classes with docstrings, pandas and plotting (bindings/python/osteogrn).
#include "bindings.hpp"

namespace osteogrn::bindings {

py::str to_py_str(const std::string& s) {
  PyObject* obj = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
  if (!obj) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(obj);
}

}  // namespace osteogrn::bindings

namespace osteogrn::bindings { void bind_batch(py::module_& m); }  // in bind_batch.cpp

PYBIND11_MODULE(_core, m) {
  using namespace osteogrn::bindings;
  m.doc() = "osteogrn C++ core (private: import osteogrn instead)";
  bind_errors(m);
  bind_expression(m);
  bind_protocol(m);
  bind_model(m);
  bind_schedule(m);
  bind_result(m);
  bind_simulate(m);
  bind_batch(m);
}

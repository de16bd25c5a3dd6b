// C++ exceptions -> the Python classes of osteogrn/errors.py (docs/errors.md).
// The classes live in Python so that they can inherit from both OsteogrnError and
// ValueError/RuntimeError and pickle like any exception; this file only fills them in.
#include <cxxabi.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <new>
#include <typeinfo>

#include "bindings.hpp"
#include "osteogrn/errors.hpp"

namespace osteogrn::bindings {
namespace {

// Sets the pending Python exception to osteogrn.errors.<cls>(message, **attrs).
void set_error(const char* cls, const std::string& message, const py::dict& attrs = py::dict()) {
  try {
    py::object type = py::module_::import("osteogrn.errors").attr(cls);
    py::object instance = type(to_py_str(message), **attrs);
    PyErr_SetObject(type.ptr(), instance.ptr());
  } catch (py::error_already_set& e) {
    // _core imported without its package: still never crash, keep the message.
    PyErr_SetString(PyExc_RuntimeError, (std::string(cls) + ": " + message).c_str());
  }
}

py::dict located(const std::string& file, const std::string& pointer, const std::string& message) {
  py::dict d;
  d["file"] = to_py_str(file);
  d["pointer"] = to_py_str(pointer);
  d["message"] = to_py_str(message);
  return d;
}

// The readable C++ name of a type ("std::out_of_range", not "St12out_of_range").
std::string demangled(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(type.name());
}

// A bug, not a user error: og.InternalError naming the C++ type, so a report can be acted on.
void set_internal_error(const std::string& cpp_type, const std::string& message) {
  py::dict d;
  d["cpp_type"] = to_py_str(cpp_type);
  set_error("InternalError",
            "internal error in osteogrn (a bug, not a problem with your input; please report it "
            "with this message): " + cpp_type + ": " + message,
            d);
}

}  // namespace

void bind_errors(py::module_& m) {
  // Module-local: a global translator would also capture other pybind11 modules' exceptions.
  py::register_local_exception_translator([](std::exception_ptr p) {
    if (!p) return;
    try {
      std::rethrow_exception(p);
    } catch (const py::builtin_exception&) {
      throw;  // pybind11's own (cast_error, key_error, ...): let its translator handle them
    } catch (const ParseError& e) {
      py::dict d = located(e.file(), e.pointer(), e.message());
      d["position"] = e.position();
      d["text"] = to_py_str(e.text());
      set_error("ParseError", e.what(), d);
    } catch (const ModelError& e) {
      set_error("ModelError", e.what(), located(e.file(), e.pointer(), e.message()));
    } catch (const ProtocolError& e) {
      set_error("ProtocolError", e.what(), located(e.file(), e.pointer(), e.message()));
    } catch (const OptionError& e) {
      set_error("OptionError", e.what());
    } catch (const SolverError& e) {
      py::dict d;
      d["time"] = e.time();
      d["reason"] = to_py_str(e.reason());
      d["flag"] = to_py_str(e.flag());
      d["code"] = to_string(e.code());
      set_error("SolverError", e.what(), d);
    } catch (const InternalError& e) {
      set_internal_error("osteogrn::InternalError", e.what());
    } catch (const Error& e) {
      set_error("OsteogrnError", e.what());  // osteogrn's base class, raised on purpose
    } catch (const std::bad_alloc&) {
      // Stays a MemoryError (as Python's own allocation failures), not an osteogrn error.
      PyErr_SetString(PyExc_MemoryError, "out of memory (std::bad_alloc) in osteogrn");
    } catch (const std::exception& e) {
      // Anything else (a library's exception, std::length_error from a size nobody checked)
      // means osteogrn missed a check: a bug, reported as such and never as a user error.
      set_internal_error(demangled(typeid(e)), e.what());
    } catch (...) {
      set_internal_error("unknown C++ exception", "(no message)");
    }
  });

  // Lets tests raise each C++ class on purpose and check the translation.
  m.def(
      "_raise_for_test",
      [](const std::string& kind, const std::string& message) {
        if (kind == "ParseError") throw ParseError(message, "a + * b", 4, "file.json", "/odes/x");
        if (kind == "ModelError") throw ModelError(message, "model.json", "/species/X");
        if (kind == "ProtocolError") throw ProtocolError(message, "proto.json", "/duration");
        if (kind == "OptionError") throw OptionError(message);
        if (kind == "SolverError")
          throw SolverError(ReturnCode::max_steps, message, 2.5, "CV_TOO_MUCH_WORK");
        if (kind == "Error") throw Error(message);
        if (kind == "std") throw std::out_of_range(message);
        if (kind == "InternalError") throw InternalError(message);
        if (kind == "bad_alloc") throw std::bad_alloc();
        if (kind == "int") throw 42;
        throw py::value_error("unknown kind " + kind);
      },
      py::arg("kind"), py::arg("message"));
}

}  // namespace osteogrn::bindings

#pragma once
// Shared by the libFuzzer targets: what counts as a finding. osteogrn's typed errors
// (osteogrn::Error and its subclasses: ParseError, ModelError, ProtocolError, OptionError,
// SolverError) are the expected answer to bad input. Anything else escaping (InternalError,
// std::bad_alloc, std::length_error, ...) or a broken invariant checked by a target aborts, and
// libFuzzer saves the input as a crash.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "osteogrn/errors.hpp"

namespace osteogrn::fuzz {

/// Stops the run on a broken invariant: libFuzzer reports the input that caused it.
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

/// Runs body(); a typed osteogrn error is a normal outcome (returns false), anything else aborts
/// with the exception's message.
template <class Body>
bool typed_errors_only(Body&& body) {
  try {
    body();
    return true;
  } catch (const Error&) {
    return false;
  } catch (const std::exception& e) {
    fail(std::string("an exception that is not an osteogrn user error: ") + e.what());
  }
}

}  // namespace osteogrn::fuzz

#include "osteogrn/errors.hpp"

#include <cstdio>

namespace osteogrn {

std::string format_location(const std::string& file, const std::string& pointer,
                            const std::string& message) {
  std::string out;
  if (!file.empty()) out += file + ": ";
  if (!pointer.empty()) out += pointer + ": ";
  return out + message;
}

namespace {
std::string parse_what(const std::string& message, const std::string& text, std::size_t position,
                       const std::string& file, const std::string& pointer) {
  // "file: /odes/x: unexpected ')' at position 7 in 'a + b )'" followed by a caret line.
  std::string body = message + " at position " + std::to_string(position) + " in '" + text + "'";
  body += "\n" + std::string(position + 1, ' ') + "^";
  return format_location(file, pointer, body);
}

// "solver failed at t = 2.5 (max_steps, CV_TOO_MUCH_WORK): <reason>; <hint>"
std::string solver_what(ReturnCode code, const std::string& reason, double time,
                        const std::string& flag) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", time);
  std::string out = "solver failed at t = " + std::string(buf) + " (" + to_string(code);
  if (!flag.empty()) out += ", " + flag;
  out += "): " + reason;
  const std::string h = hint(code);
  if (!h.empty()) out += "; " + h;
  return out;
}
}  // namespace

LocatedError::LocatedError(const std::string& message, const std::string& file,
                           const std::string& pointer)
    : LocatedError(format_location(file, pointer, message), message, file, pointer) {}

LocatedError::LocatedError(const std::string& what, const std::string& message,
                           const std::string& file, const std::string& pointer)
    : Error(what), message_(message), file_(file), pointer_(pointer) {}

ParseError::ParseError(const std::string& message, const std::string& text, std::size_t position,
                       const std::string& file, const std::string& pointer)
    : LocatedError(parse_what(message, text, position, file, pointer), message, file, pointer),
      text_(text), position_(position) {}

ParseError ParseError::located(const std::string& file, const std::string& pointer) const {
  return ParseError(message(), text_, position_, file, pointer);
}

SolverError::SolverError(ReturnCode code, const std::string& reason, double time,
                         const std::string& flag)
    : Error(solver_what(code, reason, time, flag)), code_(code), reason_(reason), time_(time),
      flag_(flag) {}

}  // namespace osteogrn

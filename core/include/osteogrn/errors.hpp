#pragma once
// The typed error hierarchy of osteogrn (docs/errors.md). Python maps each class to
// og.OsteogrnError, og.ParseError, og.ModelError, og.ProtocolError, og.SolverError,
// og.OptionError with the message intact.
#include <cstddef>
#include <stdexcept>
#include <string>

#include "osteogrn/result.hpp"  // ReturnCode

namespace osteogrn {

/// Base of every error osteogrn raises on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Joins "file: /json/pointer: message", leaving out empty parts.
std::string format_location(const std::string& file, const std::string& pointer,
                            const std::string& message);

/// An error located in a file at a JSON pointer: the common base of ParseError, ModelError and
/// ProtocolError, so that code reporting "file: /pointer: message" handles all three alike.
class LocatedError : public Error {
 public:
  /// what() is "file: /pointer: message", leaving out empty parts.
  LocatedError(const std::string& message, const std::string& file, const std::string& pointer);
  const std::string& message() const noexcept { return message_; }
  const std::string& file() const noexcept { return file_; }
  const std::string& pointer() const noexcept { return pointer_; }

 protected:
  /// For subclasses whose what() says more than the location and message (ParseError's caret).
  LocatedError(const std::string& what, const std::string& message, const std::string& file,
               const std::string& pointer);

 private:
  std::string message_, file_, pointer_;
};

/// An expression that does not parse. `position` is the 0-based character offset in `text`.
class ParseError : public LocatedError {
 public:
  ParseError(const std::string& message, const std::string& text, std::size_t position,
             const std::string& file = {}, const std::string& pointer = {});
  const std::string& text() const noexcept { return text_; }
  std::size_t position() const noexcept { return position_; }
  /// The same error located in a file at a JSON pointer (used by the model loader).
  ParseError located(const std::string& file, const std::string& pointer) const;

 private:
  std::string text_;
  std::size_t position_;
};

/// A model file or model edit that is invalid: names the file and the JSON pointer.
class ModelError : public LocatedError {
 public:
  explicit ModelError(const std::string& message, const std::string& file = {},
                      const std::string& pointer = {})
      : LocatedError(message, file, pointer) {}
};

/// A protocol that is invalid on its own or does not fit the model it is simulated with.
class ProtocolError : public LocatedError {
 public:
  explicit ProtocolError(const std::string& message, const std::string& file = {},
                         const std::string& pointer = {})
      : LocatedError(message, file, pointer) {}
};

/// Invalid solver options or call arguments (unknown method, rtol <= 0, bad sample times...).
class OptionError : public Error {
 public:
  using Error::Error;
};

/// A broken invariant inside osteogrn: a bug, never a user error. Deliberately not an `Error`, so
/// that code catching user errors (the batch runner, the loaders) lets it through; Python raises
/// og.InternalError.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// The integrator failed: carries the ReturnCode, the model time, the solver's raw flag name
/// (e.g. CV_TOO_MUCH_WORK) and a reason; what() ends with the code's hint (how to fix it).
class SolverError : public Error {
 public:
  SolverError(ReturnCode code, const std::string& reason, double time,
              const std::string& flag = {});
  ReturnCode code() const noexcept { return code_; }
  double time() const noexcept { return time_; }
  const std::string& reason() const noexcept { return reason_; }
  const std::string& flag() const noexcept { return flag_; }

 private:
  ReturnCode code_;
  std::string reason_;
  double time_;
  std::string flag_;
};

}  // namespace osteogrn

#pragma once
// Internal: the one JSON reader of model and protocol files.
//
//   read_text_file   a file by name, refusing non-regular files and files over the size limit
//                    before reading a byte
//   parse_json       text -> ordered JSON (file order kept), rejecting duplicate keys and
//                    nesting deeper than 64, with the JSON pointer of the offending value
//   the accessors    typed reads of members (expect_object, required, string_at, number_at, ...)
//   decode<T>        a struct through its ADL from_json (osteogrn/detail/json_codec.hpp)
//
// Everything here throws FieldError: a message at a JSON pointer, without the file. The loader
// that owns the file turns it into its own error type (ModelError, ProtocolError) with
// located_as<E>(file, body), so the reader is shared and the error types stay distinct.
#include <cstdint>
#include <exception>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "osteogrn/errors.hpp"

namespace osteogrn::detail {

/// ordered_json keeps file order: declaration order fixes indices, components stay in order.
using Json = nlohmann::ordered_json;

/// Default largest file read: 64 MiB, about 1000x the largest built-in model.
inline constexpr std::uint64_t kDefaultMaxFileBytes = std::uint64_t{64} << 20;
/// Environment variable that overrides kDefaultMaxFileBytes (a whole number of bytes).
inline constexpr const char* kMaxFileBytesVariable = "OSTEOGRN_MAX_FILE_BYTES";
/// Deeper nesting is refused: nlohmann copies and destroys values recursively.
inline constexpr std::size_t kMaxJsonDepth = 64;

/// A problem at a JSON pointer of the document being read; the file is added by located_as.
class FieldError : public std::exception {
 public:
  FieldError(std::string pointer, std::string message)
      : pointer_(std::move(pointer)), message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }
  const std::string& pointer() const noexcept { return pointer_; }
  const std::string& message() const noexcept { return message_; }
  /// The same error seen from the parent: `prefix` + pointer.
  FieldError under(const std::string& prefix) const { return {prefix + pointer_, message_}; }

 private:
  std::string pointer_, message_;
};

/// Throws FieldError(pointer, message).
[[noreturn]] void fail_at(const std::string& pointer, const std::string& message);

/// Runs `body`, turning a FieldError into E(message, file, pointer).
template <class E, class F>
auto located_as(const std::string& file, F&& body) -> decltype(body()) {
  static_assert(std::is_base_of_v<LocatedError, E>, "E must be a LocatedError");
  try {
    return body();
  } catch (const FieldError& e) {
    throw E(e.message(), file, e.pointer());
  }
}

/// The size limit in bytes: OSTEOGRN_MAX_FILE_BYTES when set, else kDefaultMaxFileBytes.
/// FieldError if the variable is set to something other than a positive whole number.
std::uint64_t max_file_bytes();

/// The whole content of the file at `path`. Refused by name, before reading: a missing or
/// unreadable file, a directory, anything that is not a regular file (/dev/zero, a FIFO), a
/// file over `limit` bytes (0 = max_file_bytes()). `what` names the file kind in messages
/// ("model file"). Throws FieldError with an empty pointer.
std::string read_text_file(const std::string& path, const std::string& what,
                           std::uint64_t limit = 0);

/// `path` as an error names it: a NUL (which would end the message in C) shown as "\\0".
std::string shown_path(const std::string& path);

/// Parses one JSON document. FieldError at the offending value for duplicate keys, numbers
/// beyond a double and nesting deeper than kMaxJsonDepth; at "" with line and column for
/// malformed text.
Json parse_json(const std::string& text);

/// `pointer` extended by one object key (RFC 6901 escaped) or array index.
std::string child(const std::string& pointer, const std::string& key);
std::string child(const std::string& pointer, std::size_t index);

/// A JSON value for a message: `-2`, `null`, `"nan" (a string)`, `[1,2] (an array)`.
std::string describe(const Json& value);

/// FieldError at `pointer` unless `value` is an object; `what` (may be empty) says which.
void expect_object(const Json& value, const std::string& pointer, const std::string& what = {});
/// FieldError at `pointer` unless `value` is an array.
void expect_array(const Json& value, const std::string& pointer, const std::string& what = {});
/// FieldError at the first member of `object` whose key is not in `allowed`, with a suggestion.
void check_keys(const Json& object, const std::string& pointer,
                const std::vector<std::string>& allowed);
/// The member `key`; FieldError "missing required key" at the object's pointer if absent.
const Json& required(const Json& object, const std::string& pointer, const std::string& key);
/// The member `key`; if absent, FieldError `message` at the member's own pointer (for formats
/// whose message explains what belongs there, e.g. "/species/x/initial: missing initial value").
const Json& required_member(const Json& object, const std::string& pointer,
                            const std::string& key, const std::string& message);
/// The member `key`, or nullptr.
const Json* optional_member(const Json& object, const std::string& key);

/// A string; FieldError if not a string, or if empty and !allow_empty.
std::string string_at(const Json& value, const std::string& pointer, bool allow_empty = true);
/// A finite number; `what` names the expected kind in the type error ("a positive number").
double number_at(const Json& value, const std::string& pointer,
                 const std::string& what = "a number");
/// true or false.
bool boolean_at(const Json& value, const std::string& pointer);

/// Runs `check`, locating its FieldError under `pointer` (for checks written with relative
/// pointers, like check_window).
template <class F>
void relocated(const std::string& pointer, F&& check) {
  try {
    check();
  } catch (const FieldError& e) {
    throw e.under(pointer);
  }
}

/// value.get<T>() through T's ADL from_json, with the codec's FieldError located under `pointer`.
template <class T>
T decode(const Json& value, const std::string& pointer) {
  try {
    return value.get<T>();
  } catch (const FieldError& e) {
    throw e.under(pointer);
  }
}

}  // namespace osteogrn::detail

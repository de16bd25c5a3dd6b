#pragma once
// Internal text helpers shared by the JSON readers (model loader, protocol parser, schedule):
// JSON-pointer escaping, number formatting for messages, lists, and "did you mean" suggestions
// for misspelt names.
#include <cstddef>
#include <string>
#include <vector>

namespace osteogrn::detail {

/// RFC 6901 escaping of one reference token ('~' -> "~0", '/' -> "~1").
std::string escape_pointer_token(const std::string& token);

/// A number for a message: "%.10g" (enough to locate a time or value, short to read).
std::string format_short(double value);

/// A number for a message that echoes a file's value exactly: the shortest text that reads back
/// as the same double ("0.1", "21", "-1e-300"), so a message never shows a rounded neighbour.
std::string format_exact(double value);

/// The parts joined with `separator` ("a, b, c").
std::string join(const std::vector<std::string>& parts, const std::string& separator = ", ");

/// The `name` members of `items` joined with ", ", or "none" (for "species: a, b" lists).
template <class T>
std::string join_names(const std::vector<T>& items) {
  std::vector<std::string> names;
  for (const auto& item : items) names.push_back(item.name);
  return names.empty() ? std::string("none") : join(names);
}

/// Levenshtein distance (insertions, deletions, substitutions).
std::size_t edit_distance(const std::string& a, const std::string& b);

/// " (did you mean 'x'?)" for the known name closest to `name` if its distance is below `limit`,
/// else "".
std::string did_you_mean(const std::string& name, const std::vector<std::string>& known,
                         std::size_t limit);

}  // namespace osteogrn::detail

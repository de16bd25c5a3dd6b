#include "osteogrn/detail/text_util.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace osteogrn::detail {

std::string escape_pointer_token(const std::string& token) {
  std::string out;
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

std::string format_short(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", value);
  return buf;
}

std::string format_exact(double value) {
  if (!std::isfinite(value)) return std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf");
  char buf[64];
  const auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;  // shortest round trip
  return std::string(buf, end);
}

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? separator : "") + parts[i];
  return out;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string did_you_mean(const std::string& name, const std::vector<std::string>& known,
                         std::size_t limit) {
  std::string best;
  for (const auto& k : known) {
    const std::size_t d = edit_distance(name, k);
    if (d < limit) {
      limit = d;
      best = k;
    }
  }
  return best.empty() ? std::string() : " (did you mean '" + best + "'?)";
}

}  // namespace osteogrn::detail

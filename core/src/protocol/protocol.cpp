// Protocols (osteogrn-protocol/1): the validating constructor, files, serialisation.
// Every rejection is a ProtocolError naming the source and the JSON pointer of the offending
// value, so that a typo in a 60-line protocol points at its line of JSON, not at a crash later.
// The JSON form of each struct is in protocol_json.cpp; the value rules are here, so a protocol
// built in C++ (or edited with with_component) is held to exactly the rules of a file.
#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "osteogrn/detail/json_codec.hpp"
#include "osteogrn/detail/json_reader.hpp"
#include "osteogrn/detail/text_util.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/protocol.hpp"

namespace osteogrn {
namespace {

using detail::child;
using detail::fail_at;
using detail::format_exact;

// More media changes than this is a typo (e.g. every 1e-9 days), not an experiment; refusing it
// keeps a bad file from exhausting memory.
constexpr double kMaxMediaChanges = 1e6;

std::string within_run(double duration, double got) {
  return "must lie within [0, duration] = [0, " + format_exact(duration) + "], got " +
         format_exact(got);
}

void check_media_changes(const MediaChanges& m, double duration) {
  const std::string p = "/media_changes";
  if (m.every && !m.days.empty()) fail_at(p, "give either 'every' or 'days', not both");
  if (m.every) {
    const double every = *m.every;
    if (!(std::isfinite(every) && every > 0))
      fail_at(p + "/every", "must be a positive number, got " + format_exact(every));
    if (duration / every > kMaxMediaChanges)
      fail_at(p + "/every", "gives more than " + format_exact(kMaxMediaChanges) +
                                " media changes over the run; check the value");
    return;
  }
  if (static_cast<double>(m.days.size()) > kMaxMediaChanges)
    fail_at(p + "/days", "has more than " + format_exact(kMaxMediaChanges) + " entries");
  for (std::size_t i = 0; i < m.days.size(); ++i) {
    const double d = m.days[i];
    const std::string pi = child(p + "/days", i);
    if (!(d >= 0 && d <= duration)) fail_at(pi, within_run(duration, d));
    if (i > 0 && !(d > m.days[i - 1]))
      fail_at(pi, "days must be strictly increasing (no duplicates), got " + format_exact(d) +
                      " after " + format_exact(m.days[i - 1]));
  }
}

void check_non_negative(double v, const std::string& pointer) {
  if (!(std::isfinite(v) && v >= 0))
    fail_at(pointer, "must be a number >= 0, got " + format_exact(v));
}

// A price is per amount (mass or moles); whether it fits the component's unit is a question
// for cost() (it may need the molar mass), not for the file.
void check_price(const Price& pr, const std::string& p) {
  check_non_negative(pr.value, p + "/value");
  if (!(std::isfinite(pr.per) && pr.per > 0))
    fail_at(p + "/per", "must be a positive number, got " + format_exact(pr.per));
  const std::string dim = unit_dimension(pr.unit);
  if (dim != "mass" && dim != "amount of substance")
    fail_at(p + "/unit", "must be an amount: a mass (g, mg, ug, \u00b5g, ng, pg) or moles (mol, "
                         "mmol, umol, \u00b5mol, nmol, pmol), got '" + pr.unit + "'");
}

void check_medium(const Medium& m) {
  if (!(std::isfinite(m.volume) && m.volume > 0))
    fail_at("/medium/volume", "must be a positive number, got " + format_exact(m.volume));
  if (unit_dimension(m.unit) != "volume")
    fail_at("/medium/unit", "must be a volume (L, mL, uL, \u00b5L), got '" + m.unit + "'");
}

void check_components(const std::vector<Component>& components, double duration) {
  std::set<std::string> seen;
  for (const Component& c : components) {
    const std::string p = child("/components", c.name);
    if (c.name.empty()) fail_at(p, "a component needs a non-empty name");
    if (!seen.insert(c.name).second) fail_at(p, "duplicate component '" + c.name + "'");
    check_non_negative(c.concentration, p + "/concentration");
    if (c.half_life && !(std::isfinite(*c.half_life) && *c.half_life > 0))
      fail_at(p + "/half_life", "must be a positive number, got " + format_exact(*c.half_life));
    detail::relocated(p, [&] { detail::check_window(c.from, c.until, duration); });
    if (c.molar_mass && !(std::isfinite(*c.molar_mass) && *c.molar_mass > 0))
      fail_at(p + "/molar_mass",
              "must be a positive number (g/mol), got " + format_exact(*c.molar_mass));
    if (c.price) check_price(*c.price, p + "/price");
  }
}

void check_addition(const Addition& a, const ProtocolSpec& s, const std::string& p) {
  if (!(a.day >= 0 && a.day <= s.duration)) fail_at(p + "/day", within_run(s.duration, a.day));
  if (a.component.empty()) fail_at(p + "/component", "must not be empty");
  const auto c = std::find_if(s.components.begin(), s.components.end(),
                              [&](const Component& x) { return x.name == a.component; });
  if (c == s.components.end()) {
    std::vector<std::string> names;
    for (const auto& x : s.components) names.push_back(x.name);
    fail_at(p + "/component", "no component '" + a.component + "' in /components (components: " +
                                  (names.empty() ? std::string("none") : detail::join(names)) +
                                  ")");
  }
  check_non_negative(a.concentration, p + "/concentration");
  if (!a.unit.empty()) {
    try {
      convert_unit(1.0, a.unit, c->unit, c->molar_mass);
    } catch (const ProtocolError& e) {
      fail_at(p + "/unit", e.message() + " (the unit of component '" + a.component + "')");
    }
  }
}

// All value rules, in file order; FieldError at the first field that breaks one.
void check_spec(const ProtocolSpec& s) {
  if (s.name.empty()) fail_at("/name", "must not be empty");
  if (!(std::isfinite(s.duration) && s.duration > 0))
    fail_at("/duration", "must be a positive number, got " + format_exact(s.duration));
  check_media_changes(s.media_changes, s.duration);
  if (!(s.replace_fraction >= 0 && s.replace_fraction <= 1))
    fail_at("/replace_fraction", "must lie within [0, 1], got " + format_exact(s.replace_fraction));
  if (s.medium) check_medium(*s.medium);
  check_components(s.components, s.duration);
  for (std::size_t i = 0; i < s.additions.size(); ++i)
    check_addition(s.additions[i], s, child("/additions", i));
  for (std::size_t i = 0; i < s.perturbations.size(); ++i)
    detail::relocated(child("/perturbations", i),
                      [&] { detail::check_perturbation(s.perturbations[i], s.duration); });
}

}  // namespace

const char* to_string(PerturbationKind kind) {
  switch (kind) {
    case PerturbationKind::Knockout: return "knockout";
    case PerturbationKind::Clamp: return "clamp";
    case PerturbationKind::Parameter: return "parameter";
  }
  return "unknown";
}

Protocol::Protocol(ProtocolSpec spec, std::string source)
    : spec_(std::move(spec)), source_(std::move(source)) {
  // Additions are checked in the caller's order (pointers name the caller's index), then sorted.
  detail::located_as<ProtocolError>(source_, [this] { check_spec(spec_); });
  std::stable_sort(spec_.additions.begin(), spec_.additions.end(),
                   [](const Addition& a, const Addition& b) { return a.day < b.day; });
}

Protocol Protocol::from_json(const std::string& text, const std::string& source) {
  ProtocolSpec spec = detail::located_as<ProtocolError>(source, [&] {
    return detail::decode<ProtocolSpec>(detail::parse_json(text), "");
  });
  return Protocol(std::move(spec), source);
}

Protocol Protocol::from_file(const std::string& path) {
  const std::string text = detail::located_as<ProtocolError>(
      detail::shown_path(path), [&] { return detail::read_text_file(path, "protocol file"); });
  return from_json(text, path);
}

std::string Protocol::to_json() const {
  // A spec built in C++ may hold bytes that are not UTF-8: replaced, not a json exception.
  return detail::Json(*this).dump(2, ' ', false, detail::Json::error_handler_t::replace);
}

Protocol Protocol::with_perturbations(std::vector<Perturbation> perturbations) const {
  ProtocolSpec next = spec_;
  next.perturbations = std::move(perturbations);
  return Protocol(std::move(next), source_);
}

Protocol Protocol::with_component(Component component) const {
  ProtocolSpec next = spec_;
  auto it = std::find_if(next.components.begin(), next.components.end(),
                         [&](const Component& c) { return c.name == component.name; });
  if (it != next.components.end()) *it = std::move(component);
  else next.components.push_back(std::move(component));
  return Protocol(std::move(next), source_);
}

std::vector<double> Protocol::media_change_days() const {
  std::vector<double> out;
  // Changes at (numerically) the end of the run are dropped for `every`: nothing follows them.
  const double tol = 1e-12 * spec_.duration;
  if (spec_.media_changes.every) {
    const double k = *spec_.media_changes.every;
    for (long i = 1;; ++i) {
      const double d = static_cast<double>(i) * k;  // multiply, not accumulate: no drift
      if (!(d < spec_.duration - tol)) break;
      out.push_back(d);
    }
  } else {
    for (double d : spec_.media_changes.days)
      if (d > 0) out.push_back(d);  // day 0 is the fresh medium already
  }
  return out;
}

int Protocol::find_component(const std::string& component) const {
  for (std::size_t i = 0; i < spec_.components.size(); ++i)
    if (spec_.components[i].name == component) return static_cast<int>(i);
  return -1;
}

}  // namespace osteogrn

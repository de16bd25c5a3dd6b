// The JSON codec of the protocol structs (osteogrn/detail/json_codec.hpp): structure and types
// here, value rules in the Protocol constructor and in check_window/check_perturbation.
#include <cmath>
#include <string>
#include <vector>

#include "osteogrn/detail/json_codec.hpp"
#include "osteogrn/detail/text_util.hpp"

namespace osteogrn {
namespace {

using detail::child;
using detail::fail_at;
using detail::Json;
using detail::number_at;

constexpr const char* kSchema = "osteogrn-protocol/1";

// Optional [from, until) window; until absent = forever.
void read_window(const Json& j, double& from, double& until) {
  from = 0.0;
  until = kForever;
  if (const Json* f = detail::optional_member(j, "from")) from = number_at(*f, "/from");
  if (const Json* u = detail::optional_member(j, "until")) until = number_at(*u, "/until");
}

void write_window(Json& j, double from, double until) {
  if (from != 0.0) j["from"] = from;
  if (std::isfinite(until)) j["until"] = until;  // infinity = omitted: JSON has none
}

PerturbationKind read_kind(const Json& j) {
  static const char* const kinds[] = {"knockout", "clamp", "parameter"};
  std::vector<std::string> present;
  for (const char* k : kinds)
    if (j.contains(k)) present.push_back(k);
  if (present.empty())
    fail_at("", "unknown perturbation kind; expected one of knockout, clamp, parameter");
  if (present.size() > 1)
    fail_at("", "give exactly one of knockout, clamp, parameter; got " + detail::join(present));
  return present.front() == "knockout" ? PerturbationKind::Knockout
         : present.front() == "clamp"  ? PerturbationKind::Clamp
                                       : PerturbationKind::Parameter;
}

// "value" or "scale" as the kind allows.
void read_perturbation_value(const Json& j, Perturbation& p) {
  const bool has_value = j.contains("value"), has_scale = j.contains("scale");
  switch (p.kind) {
    case PerturbationKind::Knockout:
      if (has_value || has_scale)
        fail_at(has_value ? "/value" : "/scale",
                "a knockout holds its species at 0 and takes no value; use {\"clamp\": \"" +
                    p.target + "\", \"value\": v} to hold it elsewhere");
      break;
    case PerturbationKind::Clamp:
      if (has_scale) fail_at("/scale", "a clamp takes a 'value', not a 'scale'");
      if (!has_value) fail_at("", "a clamp needs a 'value' to hold the species at");
      p.value = number_at(j.at("value"), "/value");
      break;
    case PerturbationKind::Parameter:
      if (has_value == has_scale)
        fail_at("", "a parameter perturbation needs exactly one of 'value' (replace) or 'scale' "
                    "(multiply)");
      p.scale = has_scale;
      p.value = number_at(j.at(has_scale ? "scale" : "value"), has_scale ? "/scale" : "/value");
      break;
  }
}

// {"value": v, "per": n, "unit": u}: v currency units per n u.
// Pointers are relative to the component (p = "/price").
Price read_price(const Json& j, const std::string& p) {
  detail::expect_object(j, p, "{\"value\": v, \"per\": n, \"unit\": u}");
  detail::check_keys(j, p, {"value", "per", "unit"});
  Price pr;
  pr.value = number_at(detail::required(j, p, "value"), p + "/value", "a number >= 0");
  pr.per = number_at(detail::required(j, p, "per"), p + "/per", "a positive number");
  pr.unit = detail::string_at(detail::required(j, p, "unit"), p + "/unit");
  return pr;
}

Json write_price(const Price& pr) {
  Json j = Json::object();
  j["value"] = pr.value;
  j["per"] = pr.per;
  j["unit"] = pr.unit;
  return j;
}

// {"volume": v, "unit": u}.
Medium read_medium(const Json& j, const std::string& p) {
  detail::expect_object(j, p, "{\"volume\": v, \"unit\": u}");
  detail::check_keys(j, p, {"volume", "unit"});
  Medium m;
  m.volume = number_at(detail::required(j, p, "volume"), p + "/volume", "a positive number");
  m.unit = detail::string_at(detail::required(j, p, "unit"), p + "/unit");
  return m;
}

}  // namespace

void from_json(const Json& j, Perturbation& p) {
  detail::expect_object(j, "", "a perturbation");
  p = Perturbation{};
  p.kind = read_kind(j);
  const std::string kind = to_string(p.kind);
  detail::check_keys(j, "", {kind, "value", "scale", "from", "until"});
  p.target = detail::string_at(j.at(kind), "/" + kind);
  read_perturbation_value(j, p);
  read_window(j, p.from, p.until);
}

void to_json(Json& j, const Perturbation& p) {
  j = Json::object();
  j[to_string(p.kind)] = p.target;
  if (p.kind == PerturbationKind::Clamp) j["value"] = p.value;
  if (p.kind == PerturbationKind::Parameter) j[p.scale ? "scale" : "value"] = p.value;
  write_window(j, p.from, p.until);
}

void from_json(const Json& j, Component& c) {
  detail::expect_object(j, "", "a medium component");
  detail::check_keys(j, "", {"concentration", "unit", "half_life", "from", "until", "optional",
                             "description", "molar_mass", "price"});
  c.concentration =
      number_at(detail::required(j, "", "concentration"), "/concentration", "a number >= 0");
  c.unit = detail::string_at(detail::required(j, "", "unit"), "/unit");
  c.half_life.reset();
  if (const Json* h = detail::optional_member(j, "half_life"))
    c.half_life = number_at(*h, "/half_life", "a positive number");
  read_window(j, c.from, c.until);
  c.optional = false;
  if (const Json* o = detail::optional_member(j, "optional"))
    c.optional = detail::boolean_at(*o, "/optional");
  c.description.clear();
  if (const Json* d = detail::optional_member(j, "description"))
    c.description = detail::string_at(*d, "/description");
  c.molar_mass.reset();
  if (const Json* m = detail::optional_member(j, "molar_mass"))
    c.molar_mass = number_at(*m, "/molar_mass", "a positive number (g/mol)");
  c.price.reset();
  if (const Json* pr = detail::optional_member(j, "price"))
    c.price = read_price(*pr, "/price");
}

void to_json(Json& j, const Component& c) {
  j = Json::object();
  j["concentration"] = c.concentration;
  j["unit"] = c.unit;
  if (c.half_life) j["half_life"] = *c.half_life;
  write_window(j, c.from, c.until);
  if (c.optional) j["optional"] = true;
  if (!c.description.empty()) j["description"] = c.description;
  if (c.molar_mass) j["molar_mass"] = *c.molar_mass;
  if (c.price) j["price"] = write_price(*c.price);
}

void from_json(const Json& j, Addition& a) {
  detail::expect_object(j, "", "an addition");
  detail::check_keys(j, "", {"day", "component", "concentration", "unit"});
  a.day = number_at(detail::required(j, "", "day"), "/day");
  a.component = detail::string_at(detail::required(j, "", "component"), "/component");
  a.concentration =
      number_at(detail::required(j, "", "concentration"), "/concentration", "a number >= 0");
  a.unit.clear();
  if (const Json* u = detail::optional_member(j, "unit")) a.unit = detail::string_at(*u, "/unit");
}

void to_json(Json& j, const Addition& a) {
  j = Json::object();
  j["day"] = a.day;
  j["component"] = a.component;
  j["concentration"] = a.concentration;
  if (!a.unit.empty()) j["unit"] = a.unit;
}

void from_json(const Json& j, MediaChanges& m) {
  detail::expect_object(j, "", "{\"every\": k} or {\"days\": [...]}");
  detail::check_keys(j, "", {"every", "days"});
  const Json* every = detail::optional_member(j, "every");
  const Json* days = detail::optional_member(j, "days");
  if (every && days) fail_at("", "give either 'every' or 'days', not both");
  if (!every && !days)
    fail_at("", "give either 'every' (days between changes) or 'days' (a list of days)");
  m = MediaChanges{};
  if (every) {
    m.every = number_at(*every, "/every", "a positive number");
    return;
  }
  if (!days->is_array()) fail_at("/days", "must be an array of days, got " + detail::describe(*days));
  m.days.reserve(days->size());
  for (std::size_t i = 0; i < days->size(); ++i)
    m.days.push_back(number_at(days->at(i), child("/days", i)));
}

void to_json(Json& j, const MediaChanges& m) {
  j = Json::object();
  if (m.every) j["every"] = *m.every;
  else j["days"] = m.days;
}

void from_json(const Json& j, ProtocolSpec& s) {
  detail::expect_object(j, "", "an osteogrn-protocol/1 document");
  detail::check_keys(j, "", {"schema", "name", "description", "duration", "media_changes",
                             "replace_fraction", "components", "additions", "perturbations",
                             "medium"});
  const std::string schema = detail::string_at(detail::required(j, "", "schema"), "/schema", false);
  if (schema != kSchema) fail_at("/schema", "unknown schema '" + schema + "'; expected " + kSchema);
  s = ProtocolSpec{};
  s.name = detail::string_at(detail::required(j, "", "name"), "/name");
  if (const Json* d = detail::optional_member(j, "description"))
    s.description = detail::string_at(*d, "/description");
  s.duration = number_at(detail::required(j, "", "duration"), "/duration", "a positive number");
  if (const Json* m = detail::optional_member(j, "media_changes"))
    s.media_changes = detail::decode<MediaChanges>(*m, "/media_changes");
  if (const Json* f = detail::optional_member(j, "replace_fraction"))
    s.replace_fraction = number_at(*f, "/replace_fraction");
  if (const Json* m = detail::optional_member(j, "medium"))
    s.medium = read_medium(*m, "/medium");
  if (const Json* cs = detail::optional_member(j, "components")) {
    detail::expect_object(*cs, "/components", "component name -> {concentration, unit, ...}");
    for (auto it = cs->begin(); it != cs->end(); ++it) {
      s.components.push_back(detail::decode<Component>(it.value(), child("/components", it.key())));
      s.components.back().name = it.key();
    }
  }
  if (const Json* as = detail::optional_member(j, "additions")) {
    detail::expect_array(*as, "/additions");
    for (std::size_t i = 0; i < as->size(); ++i)
      s.additions.push_back(detail::decode<Addition>(as->at(i), child("/additions", i)));
  }
  if (const Json* ps = detail::optional_member(j, "perturbations")) {
    detail::expect_array(*ps, "/perturbations");
    for (std::size_t i = 0; i < ps->size(); ++i)
      s.perturbations.push_back(detail::decode<Perturbation>(ps->at(i), child("/perturbations", i)));
  }
}

void to_json(Json& j, const ProtocolSpec& s) {
  j = Json::object();
  j["schema"] = kSchema;
  j["name"] = s.name;
  if (!s.description.empty()) j["description"] = s.description;
  j["duration"] = s.duration;
  if (s.media_changes.every || !s.media_changes.days.empty()) j["media_changes"] = s.media_changes;
  j["replace_fraction"] = s.replace_fraction;
  if (s.medium) {
    Json m = Json::object();
    m["volume"] = s.medium->volume;
    m["unit"] = s.medium->unit;
    j["medium"] = std::move(m);
  }
  if (!s.components.empty()) {
    Json comps = Json::object();
    for (const auto& c : s.components) comps[c.name] = c;
    j["components"] = std::move(comps);
  }
  if (!s.additions.empty()) j["additions"] = s.additions;
  if (!s.perturbations.empty()) j["perturbations"] = s.perturbations;
}

void to_json(Json& j, const Protocol& p) { to_json(j, p.spec()); }

}  // namespace osteogrn

namespace osteogrn::detail {

namespace {
std::string within(double duration, double got) {
  return std::isfinite(duration) ? "must lie within [0, duration] = [0, " +
                                       format_exact(duration) + "], got " + format_exact(got)
                                 : "must be >= 0, got " + format_exact(got);
}
}  // namespace

void check_window(double from, double until, double duration) {
  if (!(std::isfinite(from) && from >= 0 && from <= duration)) fail_at("/from", within(duration, from));
  if (until != kForever && !(until >= 0 && until <= duration))
    fail_at("/until", within(duration, until));
  if (!(from < until))
    fail_at("/until", "must be greater than from (" + format_exact(from) + "), got " +
                          format_exact(until));
}

void check_perturbation(const Perturbation& p, double duration) {
  const std::string kind = to_string(p.kind);
  if (p.target.empty()) fail_at("/" + kind, "must not be empty");
  if (!std::isfinite(p.value))
    fail_at(p.kind == PerturbationKind::Parameter && p.scale ? "/scale" : "/value",
            "must be a finite number, got " + format_exact(p.value));
  check_window(p.from, p.until, duration);
}

}  // namespace osteogrn::detail

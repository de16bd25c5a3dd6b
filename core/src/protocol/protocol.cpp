// Protocol files (osteogrn-protocol/1): parsing, validation, serialisation.
// Every rejection is a ProtocolError naming the source and the JSON pointer of the offending
// value, so that a typo in a 60-line protocol points at its line of JSON, not at a crash later.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "osteogrn/errors.hpp"
#include "osteogrn/protocol.hpp"
#include "osteogrn/detail/text_util.hpp"

namespace osteogrn {
namespace {

// ordered_json keeps the file order of components (Protocol::components is "in file order").
using Json = nlohmann::ordered_json;

constexpr const char* kSchema = "osteogrn-protocol/1";
// More media changes than this is a typo (e.g. every 1e-9 days), not an experiment; refusing it
// keeps a bad file from exhausting memory.
constexpr double kMaxMediaChanges = 1e6;
constexpr std::size_t kMaxJsonDepth = 64;  // deeper nesting is refused (see parse())


std::string child(const std::string& pointer, const std::string& key) {
  return pointer + "/" + detail::escape_pointer_token(key);
}
std::string child(const std::string& pointer, std::size_t index) {
  return pointer + "/" + std::to_string(index);
}


std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

/// A short description of a JSON value for messages: `-2`, `"nan" (a string)`.
std::string describe(const Json& j) {
  std::string text = j.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  if (j.is_number() || j.is_null()) return text;
  return text + " (" + (j.is_object() ? std::string("an object")
                        : j.is_array() ? std::string("an array")
                        : std::string("a ") + j.type_name()) + ")";
}

std::string format_number(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

/// Reads one JSON document, reporting where it is malformed and rejecting duplicate keys
/// (nlohmann would silently keep the last one, hiding e.g. a component defined twice).
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& pointer, const std::string& message) const {
    throw ProtocolError(message, source_, pointer);
  }

  Json parse(const std::string& text) {
    struct Frame {
      bool object;
      std::set<std::string> keys;
      std::string key;
      std::size_t index = 0;
    };
    std::vector<Frame> frames;
    auto path = [&frames](std::size_t n) {
      std::string p;
      for (std::size_t i = 0; i < n; ++i)
        p = frames[i].object ? child(p, frames[i].key) : child(p, frames[i].index);
      return p;
    };
    auto advance = [&frames] {
      if (!frames.empty() && !frames.back().object) ++frames.back().index;
    };
    Json::parser_callback_t callback = [&](int, Json::parse_event_t event, Json& parsed) {
      switch (event) {
        case Json::parse_event_t::object_start:
        case Json::parse_event_t::array_start:
          // nlohmann copies values recursively: refuse absurd nesting before it can overflow
          // the stack (no valid protocol nests deeper than 4).
          if (frames.size() >= kMaxJsonDepth)
            fail(path(frames.size()), "JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                                          " levels");
          frames.push_back({event == Json::parse_event_t::object_start, {}, {}, 0});
          break;
        case Json::parse_event_t::key: {
          auto& top = frames.back();
          top.key = parsed.get<std::string>();
          if (!top.keys.insert(top.key).second)
            fail(child(path(frames.size() - 1), top.key),
                 "duplicate key '" + top.key + "' (each key may appear once per object)");
          break;
        }
        case Json::parse_event_t::object_end:
        case Json::parse_event_t::array_end:
          frames.pop_back();
          advance();
          break;
        case Json::parse_event_t::value: advance(); break;
      }
      return true;
    };
    try {
      return Json::parse(text, callback);
    } catch (const Json::parse_error& e) {
      // byte is the 1-based offset of the character that broke the parse.
      std::size_t byte = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
      std::size_t line = 1, column = 1;
      for (std::size_t i = 0; i < byte; ++i) {
        if (text[i] == '\n') { ++line; column = 1; } else { ++column; }
      }
      std::string what = e.what();
      // Keep nlohmann's explanation, drop its "[json.exception...] parse error at ...:" prefix.
      const auto colon = what.find(": ");
      std::string reason = colon == std::string::npos ? what : what.substr(colon + 2);
      fail("", "invalid JSON at line " + std::to_string(line) + ", column " +
                   std::to_string(column) + ": " + reason);
    } catch (const Json::out_of_range& e) {
      // nlohmann refuses numbers beyond the range of a double (e.g. 1e400); the frames still
      // say which value was being read.
      std::string what = e.what();
      const auto quote = what.find('\'');
      fail(path(frames.size()), "must be a finite number, got " +
                                    (quote == std::string::npos ? what : what.substr(quote)) +
                                    " (too large for a double)");
    }
  }

  void expect_object(const Json& j, const std::string& pointer, const char* what) const {
    if (!j.is_object()) fail(pointer, std::string("must be an object (") + what + "), got " +
                                          describe(j));
  }

  void check_keys(const Json& obj, const std::string& pointer,
                  const std::vector<std::string>& allowed) const {
    for (const auto& item : obj.items()) {
      if (std::find(allowed.begin(), allowed.end(), item.key()) != allowed.end()) continue;
      // Suggest only close matches (distance < 3).
      fail(child(pointer, item.key()), "unknown key '" + item.key() + "'" +
                                           detail::did_you_mean(item.key(), allowed, 3) +
                                           "; valid keys: " + join(allowed));
    }
  }

  const Json& require(const Json& obj, const std::string& pointer, const std::string& key) const {
    auto it = obj.find(key);
    if (it == obj.end()) fail(pointer, "missing required key '" + key + "'");
    return *it;
  }

  std::string string(const Json& j, const std::string& pointer, bool allow_empty) const {
    if (!j.is_string()) fail(pointer, "must be a string, got " + describe(j));
    std::string s = j.get<std::string>();
    if (!allow_empty && s.empty()) fail(pointer, "must not be empty");
    return s;
  }

  double number(const Json& j, const std::string& pointer) const {
    if (!j.is_number()) fail(pointer, "must be a number, got " + describe(j));
    const double v = j.get<double>();
    // JSON has no NaN, but 1e400 overflows to infinity while parsing.
    if (!std::isfinite(v)) fail(pointer, "must be a finite number, got " + j.dump() +
                                             " (too large for a double)");
    return v;
  }

  double positive(const Json& j, const std::string& pointer) const {
    if (!j.is_number()) fail(pointer, "must be a positive number, got " + describe(j));
    const double v = number(j, pointer);
    if (!(v > 0)) fail(pointer, "must be a positive number, got " + j.dump());
    return v;
  }

  double non_negative(const Json& j, const std::string& pointer) const {
    if (!j.is_number()) fail(pointer, "must be a number >= 0, got " + describe(j));
    const double v = number(j, pointer);
    if (v < 0) fail(pointer, "must be a number >= 0, got " + j.dump());
    return v;
  }

  bool boolean(const Json& j, const std::string& pointer) const {
    if (!j.is_boolean()) fail(pointer, "must be true or false, got " + describe(j));
    return j.get<bool>();
  }

  /// A day in [0, duration].
  double day(const Json& j, const std::string& pointer, double duration) const {
    const double v = number(j, pointer);
    if (v < 0 || v > duration)
      fail(pointer, "must lie within [0, duration] = [0, " + format_number(duration) + "], got " +
                        j.dump());
    return v;
  }

  /// Optional [from, until) window inside [0, duration]; until absent = forever.
  void window(const Json& obj, const std::string& pointer, double duration, double& from,
              double& until) const {
    from = 0.0;
    until = kForever;
    if (auto it = obj.find("from"); it != obj.end()) from = day(*it, child(pointer, "from"), duration);
    if (auto it = obj.find("until"); it != obj.end()) {
      until = day(*it, child(pointer, "until"), duration);
      if (!(from < until))
        fail(child(pointer, "until"), "must be greater than from (" + format_number(from) +
                                          "), got " + it->dump());
    }
  }

  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

MediaChanges parse_media_changes(const Reader& r, const Json& j, double duration) {
  const std::string p = "/media_changes";
  r.expect_object(j, p, "{\"every\": k} or {\"days\": [...]}");
  r.check_keys(j, p, {"every", "days"});
  const bool has_every = j.contains("every"), has_days = j.contains("days");
  if (has_every && has_days) r.fail(p, "give either 'every' or 'days', not both");
  if (!has_every && !has_days)
    r.fail(p, "give either 'every' (days between changes) or 'days' (a list of days)");
  MediaChanges out;
  if (has_every) {
    const double every = r.positive(j.at("every"), p + "/every");
    if (duration / every > kMaxMediaChanges)
      r.fail(p + "/every", "gives more than " + format_number(kMaxMediaChanges) +
                               " media changes over the run; check the value");
    out.every = every;
  } else {
    const Json& days = j.at("days");
    if (!days.is_array()) r.fail(p + "/days", "must be an array of days, got " + describe(days));
    if (static_cast<double>(days.size()) > kMaxMediaChanges)
      r.fail(p + "/days", "has more than " + format_number(kMaxMediaChanges) + " entries");
    for (std::size_t i = 0; i < days.size(); ++i) {
      const std::string pi = child(p + "/days", i);
      const double d = r.day(days.at(i), pi, duration);
      if (!out.days.empty() && !(d > out.days.back()))
        r.fail(pi, "days must be strictly increasing (no duplicates), got " + days.at(i).dump() +
                       " after " + format_number(out.days.back()));
      out.days.push_back(d);
    }
  }
  return out;
}

Component parse_component(const Reader& r, const std::string& name, const Json& j,
                          const std::string& p, double duration) {
  r.expect_object(j, p, "a medium component");
  r.check_keys(j, p, {"concentration", "unit", "half_life", "from", "until", "optional",
                      "description"});
  Component c;
  c.name = name;
  c.concentration = r.non_negative(r.require(j, p, "concentration"), p + "/concentration");
  c.unit = r.string(r.require(j, p, "unit"), p + "/unit", /*allow_empty=*/true);
  if (auto it = j.find("half_life"); it != j.end()) c.half_life = r.positive(*it, p + "/half_life");
  r.window(j, p, duration, c.from, c.until);
  if (auto it = j.find("optional"); it != j.end()) c.optional = r.boolean(*it, p + "/optional");
  if (auto it = j.find("description"); it != j.end())
    c.description = r.string(*it, p + "/description", true);
  return c;
}

Addition parse_addition(const Reader& r, const Protocol& proto, const Json& j,
                        const std::string& p) {
  r.expect_object(j, p, "an addition");
  r.check_keys(j, p, {"day", "component", "concentration", "unit"});
  Addition a;
  a.day = r.day(r.require(j, p, "day"), p + "/day", proto.duration);
  a.component = r.string(r.require(j, p, "component"), p + "/component", false);
  const int ci = proto.find_component(a.component);
  if (ci < 0) {
    std::vector<std::string> names;
    for (const auto& c : proto.components) names.push_back(c.name);
    r.fail(p + "/component", "no component '" + a.component + "' in /components (components: " +
                                 (names.empty() ? std::string("none") : join(names)) + ")");
  }
  a.concentration = r.non_negative(r.require(j, p, "concentration"), p + "/concentration");
  if (auto it = j.find("unit"); it != j.end()) {
    a.unit = r.string(*it, p + "/unit", true);
    try {
      convert_unit(1.0, a.unit, proto.components[ci].unit);
    } catch (const ProtocolError& e) {
      r.fail(p + "/unit", e.message() + " (the unit of component '" + a.component + "')");
    }
  }
  return a;
}

Perturbation parse_perturbation(const Reader& r, const Json& j, const std::string& p,
                                double duration) {
  r.expect_object(j, p, "a perturbation");
  static const char* const kinds[] = {"knockout", "clamp", "parameter"};
  std::vector<std::string> present;
  for (const char* k : kinds)
    if (j.contains(k)) present.push_back(k);
  if (present.empty())
    r.fail(p, "unknown perturbation kind; expected one of knockout, clamp, parameter");
  if (present.size() > 1)
    r.fail(p, "give exactly one of knockout, clamp, parameter; got " + join(present));
  Perturbation out;
  const std::string& kind = present.front();
  out.kind = kind == "knockout" ? PerturbationKind::Knockout
             : kind == "clamp"  ? PerturbationKind::Clamp
                                : PerturbationKind::Parameter;
  r.check_keys(j, p, {kind, "value", "scale", "from", "until"});
  out.target = r.string(j.at(kind), child(p, kind), false);
  const bool has_value = j.contains("value"), has_scale = j.contains("scale");
  switch (out.kind) {
    case PerturbationKind::Knockout:
      if (has_value || has_scale)
        r.fail(child(p, has_value ? "value" : "scale"),
               "a knockout holds its species at 0 and takes no value; use {\"clamp\": \"" +
                   out.target + "\", \"value\": v} to hold it elsewhere");
      break;
    case PerturbationKind::Clamp:
      if (has_scale) r.fail(p + "/scale", "a clamp takes a 'value', not a 'scale'");
      if (!has_value) r.fail(p, "a clamp needs a 'value' to hold the species at");
      out.value = r.number(j.at("value"), p + "/value");
      break;
    case PerturbationKind::Parameter:
      if (has_value == has_scale)
        r.fail(p, "a parameter perturbation needs exactly one of 'value' (replace) or 'scale' "
                  "(multiply)");
      out.scale = has_scale;
      out.value = r.number(j.at(has_scale ? "scale" : "value"), p + (has_scale ? "/scale" : "/value"));
      break;
  }
  r.window(j, p, duration, out.from, out.until);
  return out;
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

Protocol Protocol::from_json(const std::string& text, const std::string& source) {
  Reader r(source);
  const Json doc = r.parse(text);
  r.expect_object(doc, "", "an osteogrn-protocol/1 document");
  r.check_keys(doc, "", {"schema", "name", "description", "duration", "media_changes",
                         "replace_fraction", "components", "additions", "perturbations"});

  const std::string schema = r.string(r.require(doc, "", "schema"), "/schema", false);
  if (schema != kSchema)
    r.fail("/schema", "unknown schema '" + schema + "'; expected " + kSchema);

  Protocol proto;
  proto.source = source;
  proto.name = r.string(r.require(doc, "", "name"), "/name", false);
  if (auto it = doc.find("description"); it != doc.end())
    proto.description = r.string(*it, "/description", true);
  proto.duration = r.positive(r.require(doc, "", "duration"), "/duration");

  if (auto it = doc.find("media_changes"); it != doc.end())
    proto.media_changes = parse_media_changes(r, *it, proto.duration);
  if (auto it = doc.find("replace_fraction"); it != doc.end()) {
    proto.replace_fraction = r.number(*it, "/replace_fraction");
    if (proto.replace_fraction < 0 || proto.replace_fraction > 1)
      r.fail("/replace_fraction", "must lie within [0, 1], got " + it->dump());
  }

  if (auto it = doc.find("components"); it != doc.end()) {
    r.expect_object(*it, "/components", "component name -> {concentration, unit, ...}");
    for (const auto& item : it->items()) {
      const std::string p = child("/components", item.key());
      if (item.key().empty()) r.fail(p, "a component needs a non-empty name");
      proto.components.push_back(parse_component(r, item.key(), item.value(), p, proto.duration));
    }
  }

  if (auto it = doc.find("additions"); it != doc.end()) {
    if (!it->is_array()) r.fail("/additions", "must be an array, got " + describe(*it));
    for (std::size_t i = 0; i < it->size(); ++i)
      proto.additions.push_back(parse_addition(r, proto, it->at(i), child("/additions", i)));
    std::stable_sort(proto.additions.begin(), proto.additions.end(),
                     [](const Addition& a, const Addition& b) { return a.day < b.day; });
  }

  if (auto it = doc.find("perturbations"); it != doc.end()) {
    if (!it->is_array()) r.fail("/perturbations", "must be an array, got " + describe(*it));
    for (std::size_t i = 0; i < it->size(); ++i)
      proto.perturbations.push_back(
          parse_perturbation(r, it->at(i), child("/perturbations", i), proto.duration));
  }
  return proto;
}

Protocol Protocol::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ProtocolError("cannot open protocol file", path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw ProtocolError("cannot read protocol file", path);
  return from_json(buffer.str(), path);
}

std::string Protocol::to_json() const {
  Json doc;
  doc["schema"] = kSchema;
  doc["name"] = name;
  if (!description.empty()) doc["description"] = description;
  doc["duration"] = duration;
  if (media_changes.every) doc["media_changes"] = {{"every", *media_changes.every}};
  else if (!media_changes.days.empty()) doc["media_changes"] = {{"days", media_changes.days}};
  doc["replace_fraction"] = replace_fraction;
  if (!components.empty()) {
    Json comps = Json::object();
    for (const auto& c : components) {
      Json j;
      j["concentration"] = c.concentration;
      j["unit"] = c.unit;
      if (c.half_life) j["half_life"] = *c.half_life;
      if (c.from != 0.0) j["from"] = c.from;
      if (std::isfinite(c.until)) j["until"] = c.until;  // infinity = omitted
      if (c.optional) j["optional"] = true;
      if (!c.description.empty()) j["description"] = c.description;
      comps[c.name] = std::move(j);
    }
    doc["components"] = std::move(comps);
  }
  if (!additions.empty()) {
    Json adds = Json::array();
    for (const auto& a : additions) {
      Json j;
      j["day"] = a.day;
      j["component"] = a.component;
      j["concentration"] = a.concentration;
      if (!a.unit.empty()) j["unit"] = a.unit;
      adds.push_back(std::move(j));
    }
    doc["additions"] = std::move(adds);
  }
  if (!perturbations.empty()) {
    Json perts = Json::array();
    for (const auto& pt : perturbations) {
      Json j;
      j[to_string(pt.kind)] = pt.target;
      if (pt.kind == PerturbationKind::Clamp) j["value"] = pt.value;
      if (pt.kind == PerturbationKind::Parameter) j[pt.scale ? "scale" : "value"] = pt.value;
      if (pt.from != 0.0) j["from"] = pt.from;
      if (std::isfinite(pt.until)) j["until"] = pt.until;
      perts.push_back(std::move(j));
    }
    doc["perturbations"] = std::move(perts);
  }
  return doc.dump(2);
}

std::vector<double> Protocol::media_change_days() const {
  std::vector<double> out;
  // Changes at (numerically) the end of the run are dropped for `every`: nothing follows them.
  const double tol = 1e-12 * duration;
  if (media_changes.every) {
    const double k = *media_changes.every;
    for (long i = 1;; ++i) {
      const double d = static_cast<double>(i) * k;  // multiply, not accumulate: no drift
      if (!(d < duration - tol)) break;
      out.push_back(d);
    }
  } else {
    for (double d : media_changes.days)
      if (d > 0) out.push_back(d);  // day 0 is the fresh medium already
  }
  return out;
}

int Protocol::find_component(const std::string& component) const {
  for (std::size_t i = 0; i < components.size(); ++i)
    if (components[i].name == component) return static_cast<int>(i);
  return -1;
}

}  // namespace osteogrn

// Model files (osteogrn-model/1): JSON -> one validated Module. Every error names the file, the
// JSON pointer of the offending field and the problem. The JSON itself is read by the shared
// reader (osteogrn/detail/json_reader.hpp); perturbations use the protocols' codec and rules.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "model/model_module.hpp"
#include "osteogrn/detail/json_codec.hpp"
#include "osteogrn/detail/text_util.hpp"
#include "osteogrn/errors.hpp"

namespace osteogrn::detail {
namespace {

// Words of the expression grammar that cannot name a species, parameter, input, ...
const std::set<std::string>& reserved_words() {
  static const std::set<std::string> words = {
      "t",   "and",  "or",  "not",   "exp",  "log", "ln",   "log10",   "sqrt",
      "abs", "min",  "max", "pow",   "hill", "hill_rep", "piecewise",
      "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh",
      "atanh", "floor", "ceil", "factorial"};
  return words;
}

void check_name(const std::string& name, const std::string& ptr) {
  if (!is_identifier(name))
    fail_at(ptr, "'" + name + "' is not a valid name (letters, digits and _, not starting "
                 "with a digit)");
  if (reserved_words().count(name))
    fail_at(ptr, "'" + name + "' is a reserved word of the expression language");
}

Expr parse_located(const std::string& text, const std::string& file, const std::string& ptr) {
  try {
    return parse_expression(text);
  } catch (const ParseError& e) {
    throw e.located(file, ptr);
  }
}

// Every name is unique within the module across all kinds of declarations.
class Declarations {
 public:
  void declare(const std::string& name, const std::string& ptr) {
    check_name(name, ptr);
    auto [it, fresh] = where_.emplace(name, ptr);
    if (!fresh) fail_at(ptr, "name '" + name + "' is already declared at " + it->second);
  }
  const std::string* find(const std::string& name) const {
    auto it = where_.find(name);
    return it == where_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, std::string> where_;  // name -> pointer
};

// The member `key` if present, checked to be an object.
const Json* section(const Json& doc, const char* key) {
  const Json* s = optional_member(doc, key);
  if (s) expect_object(*s, std::string("/") + key);
  return s;
}

// An optional string member.
void read_optional_string(const Json& obj, const std::string& ptr, const char* key,
                          std::string& out) {
  if (const Json* v = optional_member(obj, key)) out = string_at(*v, child(ptr, key));
}

void read_header(const Json& doc, Module& m) {
  expect_object(doc, "");
  check_keys(doc, "", {"schema", "name", "description", "time_unit", "references", "imports",
                       "connect", "inputs", "species", "parameters", "expressions", "odes",
                       "observables", "events", "perturbations"});
  const std::string schema = string_at(
      required_member(doc, "", "schema", std::string("missing; must be \"") + kModelSchema + "\""),
      "/schema");
  if (schema != kModelSchema)
    fail_at("/schema", "unsupported schema '" + schema + "' (expected '" + kModelSchema + "')");
  m.name = string_at(required_member(doc, "", "name", "missing; every model needs a name"),
                     "/name");
  if (!is_identifier(m.name))
    fail_at("/name", "module name '" + m.name + "' must be an identifier (letters, digits, _), "
                     "as it is imported by name");
  read_optional_string(doc, "", "description", m.description);
  read_optional_string(doc, "", "time_unit", m.time_unit);
  if (m.time_unit != "day")
    fail_at("/time_unit", "unsupported time unit '" + m.time_unit + "' (only \"day\")");
}

void read_references(const Json& doc, Module& m) {
  const Json* refs = section(doc, "references");
  if (!refs) return;
  for (auto it = refs->begin(); it != refs->end(); ++it) {
    const std::string ptr = child("/references", it.key());
    if (it.key().empty()) fail_at(ptr, "empty reference key");
    m.references.emplace_back(it.key(), string_at(it.value(), ptr));
  }
}

void read_imports(const Json& doc, Module& m) {
  const Json* imps = optional_member(doc, "imports");
  if (!imps) return;
  expect_array(*imps, "/imports");
  for (std::size_t k = 0; k < imps->size(); ++k) {
    const std::string ptr = child("/imports", k);
    const std::string name = string_at(imps->at(k), ptr);
    if (!is_identifier(name)) fail_at(ptr, "module name '" + name + "' is not an identifier");
    if (name == m.name) fail_at(ptr, "module '" + name + "' imports itself (import cycle)");
    if (std::find(m.imports.begin(), m.imports.end(), name) != m.imports.end())
      fail_at(ptr, "module '" + name + "' is imported twice");
    m.imports.push_back(name);
  }
}

void read_species(const Json& doc, Module& m, Declarations& names) {
  if (const Json* sp = section(doc, "species")) {
    for (auto it = sp->begin(); it != sp->end(); ++it) {
      const std::string ptr = child("/species", it.key());
      names.declare(it.key(), ptr);
      expect_object(it.value(), ptr);
      check_keys(it.value(), ptr, {"initial", "unit", "description"});
      SpeciesInfo s;
      s.name = it.key();
      s.module = m.name;
      const Json& init = required_member(it.value(), ptr, "initial", "missing initial value");
      if (init.is_string()) {
        // An expression over parameters and other species' initial values: checked against
        // the composition's names by the loader, valued by the compiler.
        const std::string iptr = ptr + "/initial";
        s.initial_expression = init.get<std::string>();
        m.initials.push_back({s.name, s.initial_expression, m.name, m.file, iptr,
                              parse_located(s.initial_expression, m.file, iptr)});
      } else if (init.is_number()) {
        s.initial = number_at(init, ptr + "/initial");
      } else {
        fail_at(ptr + "/initial", "must be a number or an expression (a string)");
      }
      read_optional_string(it.value(), ptr, "unit", s.unit);
      read_optional_string(it.value(), ptr, "description", s.description);
      m.species.push_back(std::move(s));
      m.species_ptr.push_back(ptr);
    }
  }
  if (m.species.empty() && m.imports.empty())
    fail_at("/species", "must be a non-empty object (only a model that imports modules may "
                        "declare no species)");
}

ParameterInfo read_parameter(const std::string& name, const Json& v, const std::string& ptr) {
  expect_object(v, ptr);
  check_keys(v, ptr, {"value", "unit", "min", "max", "source", "description"});
  ParameterInfo p;
  p.name = name;
  p.value = number_at(required_member(v, ptr, "value", "missing value"), ptr + "/value");
  if (const Json* x = optional_member(v, "min")) p.min = number_at(*x, ptr + "/min");
  if (const Json* x = optional_member(v, "max")) p.max = number_at(*x, ptr + "/max");
  if (p.min > p.max) fail_at(ptr, "min > max");
  if (p.value < p.min || p.value > p.max) {
    std::ostringstream os;
    os << "value " << p.value << " lies outside its bounds [" << p.min << ", " << p.max
       << "] (min defaults to 0)";
    fail_at(ptr + "/value", os.str());
  }
  p.source = string_at(required_member(v, ptr, "source", "missing source: a key of "
                                                         "\"references\" or \"assumed: <why>\""),
                       ptr + "/source");
  read_optional_string(v, ptr, "unit", p.unit);
  read_optional_string(v, ptr, "description", p.description);
  return p;
}

void read_parameters(const Json& doc, Module& m, Declarations& names) {
  const Json* ps = section(doc, "parameters");
  if (!ps) return;
  for (auto it = ps->begin(); it != ps->end(); ++it) {
    const std::string ptr = child("/parameters", it.key());
    names.declare(it.key(), ptr);
    m.parameters.push_back(read_parameter(it.key(), it.value(), ptr));
    m.parameters.back().module = m.name;
    m.parameter_ptr.push_back(ptr);
  }
}

void read_inputs(const Json& doc, Module& m, Declarations& names) {
  const Json* is = section(doc, "inputs");
  if (!is) return;
  for (auto it = is->begin(); it != is->end(); ++it) {
    const std::string ptr = child("/inputs", it.key());
    names.declare(it.key(), ptr);
    expect_object(it.value(), ptr);
    check_keys(it.value(), ptr, {"default", "unit", "description"});
    InputInfo in;
    in.name = it.key();
    in.module = m.name;
    if (const Json* d = optional_member(it.value(), "default"))
      in.default_value = number_at(*d, ptr + "/default");
    read_optional_string(it.value(), ptr, "unit", in.unit);
    read_optional_string(it.value(), ptr, "description", in.description);
    m.inputs.push_back(std::move(in));
    m.input_ptr.push_back(ptr);
  }
}

// name -> expression text sections ("expressions", "odes", "connect"), each text parsed.
template <class Check>
void read_expression_map(const Json& doc, const char* key, Module& m,
                         std::vector<NamedExpr>& out, Check&& check_key) {
  const Json* es = section(doc, key);
  if (!es) return;
  for (auto it = es->begin(); it != es->end(); ++it) {
    const std::string ptr = child(std::string("/") + key, it.key());
    check_key(it.key(), ptr);
    const std::string text = string_at(it.value(), ptr);
    out.push_back({it.key(), text, m.name, m.file, ptr, parse_located(text, m.file, ptr)});
  }
}

void read_observables(const Json& doc, Module& m, Declarations& names) {
  const Json* os = section(doc, "observables");
  if (!os) return;
  for (auto it = os->begin(); it != os->end(); ++it) {
    const std::string ptr = child("/observables", it.key());
    names.declare(it.key(), ptr);
    ObservableInfo o;
    o.name = it.key();
    o.module = m.name;
    std::string text_ptr = ptr;
    const Json& v = it.value();
    if (v.is_string()) {
      o.expression = v.get<std::string>();
    } else {
      if (!v.is_object())
        fail_at(ptr, "must be an expression string or an object {expression, unit, description}");
      check_keys(v, ptr, {"expression", "unit", "description"});
      text_ptr = ptr + "/expression";
      o.expression = string_at(required_member(v, ptr, "expression", "missing expression"),
                               text_ptr);
      read_optional_string(v, ptr, "unit", o.unit);
      read_optional_string(v, ptr, "description", o.description);
    }
    Expr parsed = parse_located(o.expression, m.file, text_ptr);
    m.observables.push_back({o.name, o.expression, m.name, m.file, text_ptr, std::move(parsed)});
    m.observable_info.push_back(std::move(o));
  }
}

// The protocols' codec and rule set; a model has no duration, so windows only need
// 0 <= from < until (a window past a protocol's end ends with the run).
void read_perturbations(const Json& doc, Module& m) {
  const Json* ps = optional_member(doc, "perturbations");
  if (!ps) return;
  expect_array(*ps, "/perturbations");
  for (std::size_t k = 0; k < ps->size(); ++k) {
    const std::string ptr = child("/perturbations", k);
    Perturbation p = decode<Perturbation>(ps->at(k), ptr);
    relocated(ptr, [&] { check_perturbation(p, kForever); });
    m.perturbations.push_back(std::move(p));
    m.perturbation_ptr.push_back(ptr);
  }
}

// "events": name -> {trigger, assignments, delay, priority, persistent, initial_value,
// use_values_from_trigger_time, description}. Names and targets are checked at composition.
void read_events(const Json& doc, Module& m) {
  const Json* es = section(doc, "events");
  if (!es) return;
  auto expr_at = [&](const Json& v, const std::string& ptr, const std::string& name) {
    const std::string text = string_at(v, ptr);
    return NamedExpr{name, text, m.name, m.file, ptr, parse_located(text, m.file, ptr)};
  };
  for (auto it = es->begin(); it != es->end(); ++it) {
    const std::string ptr = child("/events", it.key());
    if (!is_identifier(it.key()))
      fail_at(ptr, "'" + it.key() + "' is not a valid event name (letters, digits and _, not "
                   "starting with a digit)");
    const Json& v = it.value();
    expect_object(v, ptr);
    check_keys(v, ptr, {"trigger", "assignments", "delay", "priority", "persistent",
                        "initial_value", "use_values_from_trigger_time", "description"});
    EventDecl e;
    e.name = it.key();
    e.module = m.name;
    e.file = m.file;
    e.pointer = ptr;
    e.trigger = expr_at(required_member(v, ptr, "trigger", "missing trigger (a condition such "
                                                           "as \"x < 0.1\")"),
                        ptr + "/trigger", e.name);
    const Json& as = required_member(v, ptr, "assignments",
                                     "missing assignments (species -> expression; may be {})");
    expect_object(as, ptr + "/assignments");
    for (auto a = as.begin(); a != as.end(); ++a)
      e.assignments.push_back(expr_at(a.value(), child(ptr + "/assignments", a.key()), a.key()));
    if (const Json* d = optional_member(v, "delay")) e.delay = expr_at(*d, ptr + "/delay", e.name);
    if (const Json* d = optional_member(v, "priority"))
      e.priority = expr_at(*d, ptr + "/priority", e.name);
    if (const Json* b = optional_member(v, "persistent"))
      e.persistent = boolean_at(*b, ptr + "/persistent");
    if (const Json* b = optional_member(v, "initial_value"))
      e.initial_value = boolean_at(*b, ptr + "/initial_value");
    if (const Json* b = optional_member(v, "use_values_from_trigger_time"))
      e.use_values_from_trigger_time = boolean_at(*b, ptr + "/use_values_from_trigger_time");
    read_optional_string(v, ptr, "description", e.description);
    m.events.push_back(std::move(e));
  }
}

// The sections in dependency order: names are declared before the expressions that use them.
Module read_module(const Json& doc, const std::string& file, const std::string& dir) {
  Module m;
  m.file = file;
  m.dir = dir;
  read_header(doc, m);
  read_references(doc, m);
  read_imports(doc, m);
  Declarations names;
  read_species(doc, m, names);
  read_parameters(doc, m, names);
  read_inputs(doc, m, names);
  read_expression_map(doc, "expressions", m, m.expressions,
                      [&](const std::string& n, const std::string& p) { names.declare(n, p); });
  read_observables(doc, m, names);
  if (!doc.contains("odes") && !m.species.empty())
    fail_at("/odes", "missing; every species needs an ODE");
  read_expression_map(doc, "odes", m, m.odes, [](const std::string&, const std::string&) {});
  read_expression_map(doc, "connect", m, m.connects,
                      [&](const std::string& n, const std::string& p) {
                        if (!is_identifier(n)) fail_at(p, "'" + n + "' is not a valid input name");
                        if (const std::string* at = names.find(n))
                          fail_at(p, "'" + n + "' is declared in this module (" + *at +
                                         "); connect binds inputs of imported modules");
                      });
  read_events(doc, m);
  read_perturbations(doc, m);
  return m;
}

}  // namespace

bool is_identifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::string suggestion(const std::string& name, const std::vector<std::string>& known) {
  const std::size_t limit =
      std::max<std::size_t>(1, std::min<std::size_t>(3, name.size() / 3 + 1)) + 1;
  return did_you_mean(name, known, limit);
}

Module read_module_text(const std::string& text, const std::string& file, const std::string& dir) {
  return located_as<ModelError>(file, [&] { return read_module(parse_json(text), file, dir); });
}

Module read_module_file(const std::string& path) {
  const std::string text = located_as<ModelError>(
      shown_path(path), [&] { return read_text_file(path, "model file"); });
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return read_module_text(text, path, dir.empty() ? "." : dir);
}

}  // namespace osteogrn::detail

// Model files (osteogrn-model/1): JSON -> validated modules -> composition with bound ports.
// Every error names the file, the JSON pointer of the offending field and the problem.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/model_loader.hpp"
#include "osteogrn/detail/text_util.hpp"
#include "osteogrn/errors.hpp"

namespace osteogrn::detail {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;  // keeps file order: declaration order fixes indices

constexpr const char* kSchema = "osteogrn-model/1";

// Words of the expression grammar that cannot name a species, parameter, input, ...
const std::set<std::string>& reserved_words() {
  static const std::set<std::string> words = {
      "t",   "and",  "or",  "not",   "exp",  "log", "ln",   "log10",   "sqrt",
      "abs", "min",  "max", "pow",   "hill", "hill_rep", "piecewise"};
  return words;
}


std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

bool is_identifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}


// " (did you mean 'Runx2'?)" when a known name is close enough to be a likely typo.
std::string suggestion(const std::string& name, const std::vector<std::string>& known) {
  const std::size_t limit =
      std::max<std::size_t>(1, std::min<std::size_t>(3, name.size() / 3 + 1)) + 1;
  return detail::did_you_mean(name, known, limit);
}

// ---------------------------------------------------------------------------------------------
// Typed reading of JSON values with file + pointer in every error.

struct Reader {
  std::string file;

  [[noreturn]] void fail(const std::string& pointer, const std::string& message) const {
    throw ModelError(message, file, pointer);
  }

  static const char* type_name(const json& v) {
    if (v.is_null()) return "null";
    if (v.is_boolean()) return "a boolean";
    if (v.is_number()) return "a number";
    if (v.is_string()) return "a string";
    if (v.is_array()) return "an array";
    return "an object";
  }

  void expect_object(const json& v, const std::string& ptr) const {
    if (!v.is_object()) fail(ptr, std::string("must be an object, not ") + type_name(v));
  }
  void expect_array(const json& v, const std::string& ptr) const {
    if (!v.is_array()) fail(ptr, std::string("must be an array, not ") + type_name(v));
  }
  std::string string(const json& v, const std::string& ptr) const {
    if (!v.is_string()) fail(ptr, std::string("must be a string, not ") + type_name(v));
    return v.get<std::string>();
  }
  double number(const json& v, const std::string& ptr) const {
    if (!v.is_number() || v.is_boolean())
      fail(ptr, std::string("must be a number, not ") + type_name(v));
    const double x = v.get<double>();
    if (!std::isfinite(x)) fail(ptr, "must be a finite number");
    return x;
  }
  // Rejects keys outside `allowed`, listing the valid ones.
  void check_keys(const json& obj, const std::string& ptr,
                  const std::vector<std::string>& allowed) const {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end())
        fail(ptr + "/" + detail::escape_pointer_token(it.key()),
             "unknown key '" + it.key() + "' (valid keys: " + join(allowed, ", ") + ")");
    }
  }
  void check_name(const std::string& name, const std::string& ptr) const {
    if (!is_identifier(name))
      fail(ptr, "'" + name + "' is not a valid name (letters, digits and _, not starting "
                "with a digit)");
    if (reserved_words().count(name))
      fail(ptr, "'" + name + "' is a reserved word of the expression language");
  }
};

// ---------------------------------------------------------------------------------------------
// One module (one file), validated on its own.

struct Module {
  std::string name, file, dir, description, time_unit = "day";
  std::vector<std::pair<std::string, std::string>> references;
  std::vector<std::string> imports;
  std::vector<std::size_t> import_index;  // into the module list, after resolution
  std::vector<SpeciesInfo> species;
  std::vector<std::string> species_ptr;
  std::vector<ParameterInfo> parameters;
  std::vector<std::string> parameter_ptr;
  std::vector<InputInfo> inputs;
  std::vector<std::string> input_ptr;
  std::vector<NamedExpr> expressions, odes, observables, connects;
  std::vector<ObservableInfo> observable_info;
  std::vector<Perturbation> perturbations;
  std::vector<std::string> perturbation_ptr;
};

// Builds the DOM while tracking the JSON pointer of the value being read, so that errors the
// JSON parser itself detects (numbers like 1e999, duplicate keys) name the field too.
class LocatingSax {
 public:
  LocatingSax(json& root, const std::string& file) : dom_(root), file_(file) {}

  bool null() { return value(dom_.null()); }
  bool boolean(bool v) { return value(dom_.boolean(v)); }
  bool number_integer(json::number_integer_t v) { return value(dom_.number_integer(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return value(dom_.number_unsigned(v)); }
  bool number_float(json::number_float_t v, const std::string& s) {
    return value(dom_.number_float(v, s));
  }
  bool string(std::string& v) { return value(dom_.string(v)); }
  bool binary(json::binary_t& v) { return value(dom_.binary(v)); }
  bool start_object(std::size_t n) {
    check_depth();
    stack_.push_back({false, {}, 0, {}});
    return dom_.start_object(n);
  }
  bool key(std::string& k) {
    Frame& f = stack_.back();
    f.key = k;
    if (!f.keys.insert(k).second) throw ModelError("duplicate key '" + k + "'", file_, pointer());
    return dom_.key(k);
  }
  bool end_object() {
    stack_.pop_back();
    return value(dom_.end_object());
  }
  bool start_array(std::size_t n) {
    check_depth();
    stack_.push_back({true, {}, 0, {}});
    return dom_.start_array(n);
  }
  bool end_array() {
    stack_.pop_back();
    return value(dom_.end_array());
  }
  bool parse_error(std::size_t, const std::string& token, const nlohmann::detail::exception& ex) {
    if (ex.id == 406)  // out_of_range: a number that does not fit a double
      throw ModelError("number " + token + " is out of range (must be a finite number)", file_,
                       pointer());
    // nlohmann's message carries "at line L, column C".
    const std::string what = ex.what();
    const auto pos = what.find("] ");
    throw ModelError("invalid JSON: " + (pos == std::string::npos ? what : what.substr(pos + 2)),
                     file_);
  }

 private:
  // nlohmann copies values recursively: refuse absurd nesting before it can overflow the stack
  // (no valid model nests deeper than 4).
  static constexpr std::size_t kMaxDepth = 64;
  void check_depth() const {
    if (stack_.size() >= kMaxDepth)
      throw ModelError("JSON nested deeper than " + std::to_string(kMaxDepth) + " levels", file_,
                       pointer());
  }
  struct Frame {
    bool array;
    std::string key;
    std::size_t index;
    std::set<std::string> keys;
  };
  bool value(bool ok) {
    if (!stack_.empty() && stack_.back().array) ++stack_.back().index;
    return ok;
  }
  std::string pointer() const {
    std::string out;
    for (const Frame& f : stack_)
      out += "/" + (f.array ? std::to_string(f.index) : detail::escape_pointer_token(f.key));
    return out;
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  std::string file_;
  std::vector<Frame> stack_;
};

json parse_json_text(const std::string& text, const std::string& file) {
  json doc;
  LocatingSax sax(doc, file);
  json::sax_parse(text, &sax);
  return doc;
}

Expr parse_located(const std::string& text, const std::string& file, const std::string& ptr) {
  try {
    return parse_expression(text);
  } catch (const ParseError& e) {
    throw e.located(file, ptr);
  }
}

Module parse_module(const json& doc, const std::string& file, const std::string& dir) {
  Reader r{file};
  Module m;
  m.file = file;
  m.dir = dir;
  r.expect_object(doc, "");
  r.check_keys(doc, "",
               {"schema", "name", "description", "time_unit", "references", "imports", "connect",
                "inputs", "species", "parameters", "expressions", "odes", "observables",
                "perturbations"});

  if (!doc.contains("schema"))
    r.fail("/schema", std::string("missing; must be \"") + kSchema + "\"");
  const std::string schema = r.string(doc["schema"], "/schema");
  if (schema != kSchema)
    r.fail("/schema", "unsupported schema '" + schema + "' (expected '" + kSchema + "')");

  if (!doc.contains("name")) r.fail("/name", "missing; every model needs a name");
  m.name = r.string(doc["name"], "/name");
  if (!is_identifier(m.name))
    r.fail("/name", "module name '" + m.name + "' must be an identifier (letters, digits, _), "
                    "as it is imported by name");
  if (doc.contains("description")) m.description = r.string(doc["description"], "/description");
  if (doc.contains("time_unit")) {
    m.time_unit = r.string(doc["time_unit"], "/time_unit");
    if (m.time_unit != "day")
      r.fail("/time_unit", "unsupported time unit '" + m.time_unit + "' (only \"day\")");
  }

  if (doc.contains("references")) {
    const json& refs = doc["references"];
    r.expect_object(refs, "/references");
    for (auto it = refs.begin(); it != refs.end(); ++it) {
      const std::string ptr = "/references/" + detail::escape_pointer_token(it.key());
      if (it.key().empty()) r.fail(ptr, "empty reference key");
      m.references.emplace_back(it.key(), r.string(it.value(), ptr));
    }
  }

  if (doc.contains("imports")) {
    const json& imps = doc["imports"];
    r.expect_array(imps, "/imports");
    for (std::size_t k = 0; k < imps.size(); ++k) {
      const std::string ptr = "/imports/" + std::to_string(k);
      const std::string name = r.string(imps[k], ptr);
      if (!is_identifier(name)) r.fail(ptr, "module name '" + name + "' is not an identifier");
      if (name == m.name) r.fail(ptr, "module '" + name + "' imports itself (import cycle)");
      if (std::find(m.imports.begin(), m.imports.end(), name) != m.imports.end())
        r.fail(ptr, "module '" + name + "' is imported twice");
      m.imports.push_back(name);
    }
  }

  // Every name is unique within the module across all kinds of declarations.
  std::map<std::string, std::string> declared;  // name -> pointer
  auto declare = [&](const std::string& name, const std::string& ptr) {
    r.check_name(name, ptr);
    auto [it, fresh] = declared.emplace(name, ptr);
    if (!fresh) r.fail(ptr, "name '" + name + "' is already declared at " + it->second);
  };
  auto section = [&](const char* key) -> const json* {
    if (!doc.contains(key)) return nullptr;
    r.expect_object(doc[key], std::string("/") + key);
    return &doc[key];
  };

  if (const json* sp = section("species")) {
    for (auto it = sp->begin(); it != sp->end(); ++it) {
      const std::string ptr = "/species/" + detail::escape_pointer_token(it.key());
      declare(it.key(), ptr);
      r.expect_object(it.value(), ptr);
      r.check_keys(it.value(), ptr, {"initial", "unit", "description"});
      SpeciesInfo s;
      s.name = it.key();
      s.module = m.name;
      if (!it.value().contains("initial")) r.fail(ptr + "/initial", "missing initial value");
      s.initial = r.number(it.value()["initial"], ptr + "/initial");
      if (it.value().contains("unit")) s.unit = r.string(it.value()["unit"], ptr + "/unit");
      if (it.value().contains("description"))
        s.description = r.string(it.value()["description"], ptr + "/description");
      m.species.push_back(std::move(s));
      m.species_ptr.push_back(ptr);
    }
  }
  if (m.species.empty() && m.imports.empty())
    r.fail("/species", "must be a non-empty object (only a model that imports modules may "
                       "declare no species)");

  if (const json* ps = section("parameters")) {
    for (auto it = ps->begin(); it != ps->end(); ++it) {
      const std::string ptr = "/parameters/" + detail::escape_pointer_token(it.key());
      declare(it.key(), ptr);
      r.expect_object(it.value(), ptr);
      r.check_keys(it.value(), ptr, {"value", "unit", "min", "max", "source", "description"});
      const json& v = it.value();
      ParameterInfo p;
      p.name = it.key();
      p.module = m.name;
      if (!v.contains("value")) r.fail(ptr + "/value", "missing value");
      p.value = r.number(v["value"], ptr + "/value");
      if (v.contains("min")) p.min = r.number(v["min"], ptr + "/min");
      if (v.contains("max")) p.max = r.number(v["max"], ptr + "/max");
      if (p.min > p.max) r.fail(ptr, "min > max");
      if (p.value < p.min || p.value > p.max) {
        std::ostringstream os;
        os << "value " << p.value << " lies outside its bounds [" << p.min << ", " << p.max
           << "] (min defaults to 0)";
        r.fail(ptr + "/value", os.str());
      }
      if (!v.contains("source"))
        r.fail(ptr + "/source", "missing source: a key of \"references\" or \"assumed: <why>\"");
      p.source = r.string(v["source"], ptr + "/source");
      if (v.contains("unit")) p.unit = r.string(v["unit"], ptr + "/unit");
      if (v.contains("description"))
        p.description = r.string(v["description"], ptr + "/description");
      m.parameters.push_back(std::move(p));
      m.parameter_ptr.push_back(ptr);
    }
  }

  if (const json* is = section("inputs")) {
    for (auto it = is->begin(); it != is->end(); ++it) {
      const std::string ptr = "/inputs/" + detail::escape_pointer_token(it.key());
      declare(it.key(), ptr);
      r.expect_object(it.value(), ptr);
      r.check_keys(it.value(), ptr, {"default", "unit", "description"});
      InputInfo in;
      in.name = it.key();
      in.module = m.name;
      if (it.value().contains("default"))
        in.default_value = r.number(it.value()["default"], ptr + "/default");
      if (it.value().contains("unit")) in.unit = r.string(it.value()["unit"], ptr + "/unit");
      if (it.value().contains("description"))
        in.description = r.string(it.value()["description"], ptr + "/description");
      m.inputs.push_back(std::move(in));
      m.input_ptr.push_back(ptr);
    }
  }

  if (const json* es = section("expressions")) {
    for (auto it = es->begin(); it != es->end(); ++it) {
      const std::string ptr = "/expressions/" + detail::escape_pointer_token(it.key());
      declare(it.key(), ptr);
      const std::string text = r.string(it.value(), ptr);
      m.expressions.push_back({it.key(), text, m.name, file, ptr, parse_located(text, file, ptr)});
    }
  }

  if (const json* os = section("observables")) {
    for (auto it = os->begin(); it != os->end(); ++it) {
      const std::string ptr = "/observables/" + detail::escape_pointer_token(it.key());
      declare(it.key(), ptr);
      ObservableInfo o;
      o.name = it.key();
      o.module = m.name;
      std::string text_ptr = ptr;
      if (it.value().is_string()) {
        o.expression = it.value().get<std::string>();
      } else {
        if (!it.value().is_object())
          r.fail(ptr, "must be an expression string or an object {expression, unit, description}");
        r.check_keys(it.value(), ptr, {"expression", "unit", "description"});
        text_ptr = ptr + "/expression";
        if (!it.value().contains("expression")) r.fail(text_ptr, "missing expression");
        o.expression = r.string(it.value()["expression"], text_ptr);
        if (it.value().contains("unit")) o.unit = r.string(it.value()["unit"], ptr + "/unit");
        if (it.value().contains("description"))
          o.description = r.string(it.value()["description"], ptr + "/description");
      }
      Expr parsed = parse_located(o.expression, file, text_ptr);
      m.observables.push_back({o.name, o.expression, m.name, file, text_ptr, std::move(parsed)});
      m.observable_info.push_back(std::move(o));
    }
  }

  if (!doc.contains("odes") && !m.species.empty())
    r.fail("/odes", "missing; every species needs an ODE");
  if (const json* od = section("odes")) {
    for (auto it = od->begin(); it != od->end(); ++it) {
      const std::string ptr = "/odes/" + detail::escape_pointer_token(it.key());
      const std::string text = r.string(it.value(), ptr);
      m.odes.push_back({it.key(), text, m.name, file, ptr, parse_located(text, file, ptr)});
    }
  }

  if (const json* cs = section("connect")) {
    for (auto it = cs->begin(); it != cs->end(); ++it) {
      const std::string ptr = "/connect/" + detail::escape_pointer_token(it.key());
      if (!is_identifier(it.key())) r.fail(ptr, "'" + it.key() + "' is not a valid input name");
      if (declared.count(it.key()))
        r.fail(ptr, "'" + it.key() + "' is declared in this module (" + declared[it.key()] +
                        "); connect binds inputs of imported modules");
      const std::string text = r.string(it.value(), ptr);
      m.connects.push_back({it.key(), text, m.name, file, ptr, parse_located(text, file, ptr)});
    }
  }

  if (doc.contains("perturbations")) {
    const json& ps = doc["perturbations"];
    r.expect_array(ps, "/perturbations");
    for (std::size_t k = 0; k < ps.size(); ++k) {
      const std::string ptr = "/perturbations/" + std::to_string(k);
      const json& v = ps[k];
      r.expect_object(v, ptr);
      Perturbation p;
      if (v.contains("knockout")) {
        r.check_keys(v, ptr, {"knockout", "from", "until"});
        p.kind = PerturbationKind::Knockout;
        p.target = r.string(v["knockout"], ptr + "/knockout");
      } else if (v.contains("clamp")) {
        r.check_keys(v, ptr, {"clamp", "value", "from", "until"});
        p.kind = PerturbationKind::Clamp;
        p.target = r.string(v["clamp"], ptr + "/clamp");
        if (!v.contains("value")) r.fail(ptr + "/value", "missing value of the clamp");
        p.value = r.number(v["value"], ptr + "/value");
      } else if (v.contains("parameter")) {
        r.check_keys(v, ptr, {"parameter", "value", "scale", "from", "until"});
        p.kind = PerturbationKind::Parameter;
        p.target = r.string(v["parameter"], ptr + "/parameter");
        if (v.contains("value") == v.contains("scale"))
          r.fail(ptr, "a parameter perturbation needs exactly one of \"value\" and \"scale\"");
        p.scale = v.contains("scale");
        const char* field = p.scale ? "scale" : "value";
        p.value = r.number(v[field], ptr + "/" + field);
      } else {
        r.fail(ptr, "must contain one of \"knockout\", \"clamp\" or \"parameter\"");
      }
      if (v.contains("from")) p.from = r.number(v["from"], ptr + "/from");
      if (v.contains("until")) p.until = r.number(v["until"], ptr + "/until");
      if (p.from < 0) r.fail(ptr + "/from", "must be >= 0");
      if (!(p.from < p.until)) r.fail(ptr + "/until", "must be greater than \"from\"");
      m.perturbations.push_back(std::move(p));
      m.perturbation_ptr.push_back(ptr);
    }
  }
  return m;
}

std::string read_file(const fs::path& path, const std::string& shown) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError("cannot open the model file", shown);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

// ---------------------------------------------------------------------------------------------
// Imports: depth-first, imported modules before their importer; a diamond is loaded once.

class ImportResolver {
 public:
  ImportResolver(const LoadOptions& options) : options_(options) {}

  // Loads `root` and everything it imports; returns the modules in composition order.
  std::vector<Module> run(Module root) {
    stack_.push_back(root.name);
    resolve_imports(root);
    stack_.pop_back();
    modules_.push_back(std::move(root));
    return std::move(modules_);
  }

 private:
  void resolve_imports(Module& m) {
    for (std::size_t k = 0; k < m.imports.size(); ++k) {
      const std::string& name = m.imports[k];
      const std::string ptr = "/imports/" + std::to_string(k);
      auto on_stack = std::find(stack_.begin(), stack_.end(), name);
      if (on_stack != stack_.end()) {
        std::vector<std::string> cycle(on_stack, stack_.end());
        cycle.push_back(name);
        throw ModelError("import cycle: " + join(cycle, " -> "), m.file, ptr);
      }
      // Where the file would be, in search order.
      std::vector<fs::path> dirs;
      if (!m.dir.empty()) dirs.emplace_back(m.dir);
      for (const auto& d : options_.search_paths) dirs.emplace_back(d);
      std::optional<fs::path> found;
      for (const auto& d : dirs) {
        std::error_code ec;
        const fs::path candidate = d / (name + ".json");
        if (fs::is_regular_file(candidate, ec)) { found = candidate; break; }
      }
      if (!found) {
        std::vector<std::string> shown;
        for (const auto& d : dirs) shown.push_back("'" + d.string() + "'");
        throw ModelError("cannot find module '" + name + "': no " + name + ".json in " +
                             (shown.empty() ? std::string("any folder (no search paths given)")
                                            : join(shown, ", ")),
                         m.file, ptr);
      }
      std::error_code ec;
      const std::string canonical = fs::weakly_canonical(*found, ec).string();
      auto loaded = by_name_.find(name);
      if (loaded != by_name_.end()) {
        // Diamond: the same module reached along another path is included once.
        if (modules_[loaded->second].file != found->string() &&
            canonical_[loaded->second] != canonical)
          throw ModelError("module '" + name + "' resolves to two different files: '" +
                               modules_[loaded->second].file + "' and '" + found->string() + "'",
                           m.file, ptr);
        m.import_index.push_back(loaded->second);
        continue;
      }
      const std::string file = found->string();
      const json doc = parse_json_text(read_file(*found, file), file);
      Module sub = parse_module(doc, file, found->parent_path().string());
      if (sub.name != name)
        throw ModelError("file declares module '" + sub.name + "' but is imported as '" + name +
                             "' (a module's name must match its file name)",
                         file, "/name");
      stack_.push_back(name);
      resolve_imports(sub);
      stack_.pop_back();
      by_name_[name] = modules_.size();
      canonical_.push_back(canonical);
      m.import_index.push_back(modules_.size());
      modules_.push_back(std::move(sub));
    }
  }

  const LoadOptions& options_;
  std::vector<std::string> stack_;
  std::vector<Module> modules_;
  std::vector<std::string> canonical_;
  std::map<std::string, std::size_t> by_name_;
};

// ---------------------------------------------------------------------------------------------
// Composition: union of the modules, binding of ports, and the name checks.

enum class Kind { Species, Parameter, Input, Expression, Observable };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Species: return "species";
    case Kind::Parameter: return "parameter";
    case Kind::Input: return "input";
    case Kind::Expression: return "expression";
    case Kind::Observable: return "observable";
  }
  return "";
}

struct Decl {
  Kind kind;
  std::size_t module;
  std::size_t index;  // within the module's list of that kind
  std::string pointer;
};

struct NameEntry {
  std::optional<Decl> primary;  // the one non-input declaration
  std::vector<Decl> inputs;     // inputs of this name (a port shared by several modules)
};

class Composer {
 public:
  explicit Composer(std::vector<Module> modules) : mods_(std::move(modules)) {}

  Composition run(std::vector<Perturbation>& overlays) {
    compute_scopes();
    collect_names();
    bind_connects();
    check_references();
    check_odes();
    check_expression_names();
    Composition c = assemble();
    collect_perturbations(overlays);
    c.flattened_json = flatten(c);
    return c;
  }

 private:
  const Module& root() const { return mods_.back(); }

  void compute_scopes() {
    // Modules come imports-first, so each import's scope is complete when it is needed.
    scope_.assign(mods_.size(), std::vector<bool>(mods_.size(), false));
    for (std::size_t m = 0; m < mods_.size(); ++m) {
      scope_[m][m] = true;
      for (std::size_t i : mods_[m].import_index)
        for (std::size_t k = 0; k < mods_.size(); ++k)
          if (scope_[i][k]) scope_[m][k] = true;
    }
  }

  std::string where(const Decl& d) const {
    return kind_name(d.kind) + std::string(" in module '") + mods_[d.module].name + "' (" +
           d.pointer + ")";
  }

  void add(const std::string& name, Kind kind, std::size_t m, std::size_t idx,
           const std::string& ptr) {
    NameEntry& e = names_[name];
    Decl d{kind, m, idx, ptr};
    const std::string& file = mods_[m].file;
    if (kind == Kind::Input) {
      if (!e.inputs.empty()) {
        // The same port in several modules: one protocol input, so it must mean the same.
        const Decl& first = e.inputs.front();
        const InputInfo& a = mods_[first.module].inputs[first.index];
        const InputInfo& b = mods_[m].inputs[idx];
        if (a.unit != b.unit || a.default_value != b.default_value)
          throw ModelError("input '" + name + "' is also declared as " + where(first) +
                               " with a different unit or default",
                           file, ptr);
      }
      e.inputs.push_back(d);
    } else {
      if (e.primary)
        throw ModelError("name '" + name + "' is declared twice: as " + where(*e.primary) +
                             " and as " + where(d),
                         file, ptr);
      e.primary = d;
    }
    if (e.primary && !e.inputs.empty() && e.primary->kind != Kind::Species &&
        e.primary->kind != Kind::Expression) {
      const Decl& in = e.inputs.front();
      throw ModelError("input '" + name + "' of module '" + mods_[in.module].name +
                           "' has the name of " + where(*e.primary) +
                           "; ports bind only to species or expressions",
                       file, ptr);
    }
  }

  void collect_names() {
    for (std::size_t m = 0; m < mods_.size(); ++m) {
      const Module& mod = mods_[m];
      for (std::size_t i = 0; i < mod.species.size(); ++i)
        add(mod.species[i].name, Kind::Species, m, i, mod.species_ptr[i]);
      for (std::size_t i = 0; i < mod.parameters.size(); ++i)
        add(mod.parameters[i].name, Kind::Parameter, m, i, mod.parameter_ptr[i]);
      for (std::size_t i = 0; i < mod.inputs.size(); ++i)
        add(mod.inputs[i].name, Kind::Input, m, i, mod.input_ptr[i]);
      for (std::size_t i = 0; i < mod.expressions.size(); ++i)
        add(mod.expressions[i].name, Kind::Expression, m, i, mod.expressions[i].pointer);
      for (std::size_t i = 0; i < mod.observables.size(); ++i)
        add(mod.observables[i].name, Kind::Observable, m, i, mod.observables[i].pointer);
    }
  }

  // True if `name` is declared (as any kind) by a module in the scope of module m.
  std::optional<Decl> visible(const std::string& name, std::size_t m) const {
    auto it = names_.find(name);
    if (it == names_.end()) return std::nullopt;
    if (it->second.primary && scope_[m][it->second.primary->module]) return it->second.primary;
    for (const Decl& d : it->second.inputs)
      if (scope_[m][d.module]) return d;
    return std::nullopt;
  }

  std::vector<std::string> visible_names(std::size_t m, bool referable_only) const {
    std::vector<std::string> out;
    for (const auto& [name, e] : names_) {
      auto d = visible(name, m);
      if (d && !(referable_only && d->kind == Kind::Observable)) out.push_back(name);
    }
    return out;
  }

  void bind_connects() {
    for (std::size_t m = 0; m < mods_.size(); ++m) {
      for (const NamedExpr& c : mods_[m].connects) {
        auto it = names_.find(c.name);
        bool is_input = false;
        if (it != names_.end())
          for (const Decl& d : it->second.inputs) is_input = is_input || scope_[m][d.module];
        if (!is_input)
          throw ModelError("'" + c.name + "' is not an input of an imported module" +
                               suggestion(c.name, input_names_in_scope(m)),
                           c.file, c.pointer);
        if (it->second.primary)
          throw ModelError("input '" + c.name + "' is already bound by name to " +
                               where(*it->second.primary) + "; remove the connect or rename",
                           c.file, c.pointer);
        auto [prev, fresh] = connected_.emplace(c.name, &c);
        if (!fresh)
          throw ModelError("input '" + c.name + "' is connected twice: also at " +
                               prev->second->file + " " + prev->second->pointer,
                           c.file, c.pointer);
      }
    }
  }

  std::vector<std::string> input_names_in_scope(std::size_t m) const {
    std::vector<std::string> out;
    for (const auto& [name, e] : names_)
      for (const Decl& d : e.inputs)
        if (scope_[m][d.module]) { out.push_back(name); break; }
    return out;
  }

  void check_references() {
    // Union of the reference lists. Modules citing the same paper under the same key often
    // format it differently; the first module's text is kept (sources are checked per module).
    for (std::size_t m = 0; m < mods_.size(); ++m)
      for (const auto& [key, text] : mods_[m].references) references_.emplace(key, text);
    // Parameter sources: reference keys of this module or an imported one, or "assumed: why".
    for (std::size_t m = 0; m < mods_.size(); ++m) {
      const Module& mod = mods_[m];
      std::vector<std::string> keys;
      for (std::size_t k = 0; k < mods_.size(); ++k)
        if (scope_[m][k])
          for (const auto& ref : mods_[k].references) keys.push_back(ref.first);
      for (std::size_t i = 0; i < mod.parameters.size(); ++i) {
        const std::string& src = mod.parameters[i].source;
        const std::string ptr = mod.parameter_ptr[i] + "/source";
        if (src.rfind("assumed:", 0) == 0) {
          const std::string why = src.substr(8);
          if (std::all_of(why.begin(), why.end(),
                          [](char c) { return std::isspace(static_cast<unsigned char>(c)); }))
            throw ModelError("\"assumed:\" needs a reason after the colon", mod.file, ptr);
          continue;
        }
        // "key", "key: note" or several keys separated by ',' or ';' before the note.
        std::vector<std::string> parts;
        std::string cur;
        for (char ch : src.substr(0, src.find(':')) + ",") {
          if (ch == ',' || ch == ';') {
            const auto b = cur.find_first_not_of(" \t");
            const auto e = cur.find_last_not_of(" \t");
            parts.push_back(b == std::string::npos ? std::string() : cur.substr(b, e - b + 1));
            cur.clear();
          } else {
            cur += ch;
          }
        }
        for (const auto& key : parts) {
          if (std::find(keys.begin(), keys.end(), key) == keys.end())
            throw ModelError("source '" + key + "' is not a key of \"references\"" +
                                 suggestion(key, keys) +
                                 "; cite a reference or write \"assumed: <reason>\"",
                             mod.file, ptr);
        }
      }
    }
  }

  void check_odes() {
    for (std::size_t m = 0; m < mods_.size(); ++m) {
      const Module& mod = mods_[m];
      std::map<std::string, const NamedExpr*> by_species;
      for (const NamedExpr& o : mod.odes) {
        auto d = visible(o.name, m);
        if (!d || d->kind != Kind::Species || d->module != m) {
          std::string msg = "ODE for '" + o.name + "', ";
          if (d && d->kind == Kind::Species)
            msg += "a species of module '" + mods_[d->module].name +
                   "'; a module writes the ODEs of its own species only";
          else if (d)
            msg += "which is a " + std::string(kind_name(d->kind)) + ", not a species";
          else {
            std::vector<std::string> own;
            for (const auto& s : mod.species) own.push_back(s.name);
            msg += "which is not a species of this module" + suggestion(o.name, own);
          }
          throw ModelError(msg, mod.file, o.pointer);
        }
        by_species[o.name] = &o;
      }
      for (std::size_t i = 0; i < mod.species.size(); ++i)
        if (!by_species.count(mod.species[i].name))
          throw ModelError("species '" + mod.species[i].name + "' has no ODE in \"odes\"",
                           mod.file, "/odes/" + detail::escape_pointer_token(mod.species[i].name));
    }
  }

  void check_names_in(const NamedExpr& e, std::size_t m) const {
    for (const std::string& name : referenced_names(e.expr)) {
      auto d = visible(name, m);
      if (d && d->kind == Kind::Observable)
        throw ModelError("'" + name + "' is an observable; expressions may use species, "
                         "parameters, inputs and expressions only",
                         e.file, e.pointer);
      if (!d)
        throw ModelError("unknown name '" + name + "' in " + e.pointer +
                             suggestion(name, visible_names(m, true)),
                         e.file, e.pointer);
    }
  }

  void check_expression_names() {
    for (std::size_t m = 0; m < mods_.size(); ++m) {
      const Module& mod = mods_[m];
      for (const auto& e : mod.expressions) check_names_in(e, m);
      for (const auto& e : mod.odes) check_names_in(e, m);
      for (const auto& e : mod.observables) check_names_in(e, m);
      for (const auto& e : mod.connects) check_names_in(e, m);
    }
  }

  Composition assemble() {
    Composition c;
    const Module& r = root();
    c.name = r.name;
    c.description = r.description;
    c.time_unit = r.time_unit;
    c.file = r.file;
    c.references = references_;
    std::set<std::string> inputs_seen;
    for (const Module& mod : mods_) {
      c.modules.push_back(mod.name);
      for (const auto& s : mod.species) c.species.push_back(s);
      for (const auto& p : mod.parameters) c.parameters.push_back(p);
      for (const auto& in : mod.inputs) {
        const NameEntry& e = names_.at(in.name);
        const bool bound = e.primary.has_value() || connected_.count(in.name);
        if (!bound && inputs_seen.insert(in.name).second) c.inputs.push_back(in);
      }
      for (const auto& e : mod.expressions) c.expressions.push_back(e);
      for (const auto& e : mod.connects) c.expressions.push_back(e);  // a bound input
      // ODEs in the order of the species (the file may list them in another order).
      for (const auto& s : mod.species)
        for (const auto& o : mod.odes)
          if (o.name == s.name) c.odes.push_back(o);
      for (const auto& o : mod.observables) c.observables.push_back(o);
      for (const auto& o : mod.observable_info) c.observable_info.push_back(o);
    }
    return c;
  }

  void collect_perturbations(std::vector<Perturbation>& overlays) const {
    for (std::size_t m = 0; m < mods_.size(); ++m) {
      const Module& mod = mods_[m];
      for (std::size_t k = 0; k < mod.perturbations.size(); ++k) {
        const Perturbation& p = mod.perturbations[k];
        const Kind want = p.kind == PerturbationKind::Parameter ? Kind::Parameter : Kind::Species;
        auto d = visible(p.target, m);
        if (!d || d->kind != want) {
          const std::string field = p.kind == PerturbationKind::Knockout ? "/knockout"
                                    : p.kind == PerturbationKind::Clamp  ? "/clamp"
                                                                         : "/parameter";
          std::vector<std::string> cands;
          for (const auto& n : visible_names(m, true))
            if (visible(n, m)->kind == want) cands.push_back(n);
          throw ModelError("unknown " + std::string(kind_name(want)) + " '" + p.target + "'" +
                               suggestion(p.target, cands),
                           mod.file, mod.perturbation_ptr[k] + field);
        }
        overlays.push_back(p);
      }
    }
  }

  // A self-contained model of the composition: no imports, connect-bound inputs become
  // expressions of the same name, name-bound inputs vanish (the name means the species).
  std::string flatten(const Composition& c) const {
    json doc = json::object();
    doc["schema"] = kSchema;
    doc["name"] = c.name;
    if (!c.description.empty()) doc["description"] = c.description;
    doc["time_unit"] = c.time_unit;
    if (!c.references.empty()) {
      json refs = json::object();
      for (const Module& mod : mods_)
        for (const auto& [k, v] : mod.references)
          if (!refs.contains(k)) refs[k] = v;
      doc["references"] = refs;
    }
    if (!c.inputs.empty()) {
      json ins = json::object();
      for (const auto& in : c.inputs) {
        json v = json::object();
        v["default"] = in.default_value;
        if (!in.unit.empty()) v["unit"] = in.unit;
        if (!in.description.empty()) v["description"] = in.description;
        ins[in.name] = v;
      }
      doc["inputs"] = ins;
    }
    json sp = json::object();
    for (const auto& s : c.species) {
      json v = json::object();
      v["initial"] = s.initial;
      if (!s.unit.empty()) v["unit"] = s.unit;
      if (!s.description.empty()) v["description"] = s.description;
      sp[s.name] = v;
    }
    doc["species"] = sp;
    if (!c.parameters.empty()) {
      json ps = json::object();
      for (const auto& p : c.parameters) {
        json v = json::object();
        v["value"] = p.value;
        if (!p.unit.empty()) v["unit"] = p.unit;
        v["min"] = p.min;
        if (std::isfinite(p.max)) v["max"] = p.max;
        v["source"] = p.source;
        if (!p.description.empty()) v["description"] = p.description;
        ps[p.name] = v;
      }
      doc["parameters"] = ps;
    }
    if (!c.expressions.empty()) {
      json es = json::object();
      for (const auto& e : c.expressions) es[e.name] = e.text;
      doc["expressions"] = es;
    }
    json od = json::object();
    for (const auto& o : c.odes) od[o.name] = o.text;
    doc["odes"] = od;
    if (!c.observable_info.empty()) {
      json os = json::object();
      for (const auto& o : c.observable_info) {
        json v = json::object();
        v["expression"] = o.expression;
        if (!o.unit.empty()) v["unit"] = o.unit;
        if (!o.description.empty()) v["description"] = o.description;
        os[o.name] = v;
      }
      doc["observables"] = os;
    }
    return doc.dump(2);
  }

  std::vector<Module> mods_;
  std::vector<std::vector<bool>> scope_;  // scope_[m][k]: module k is m or imported by m
  std::map<std::string, NameEntry> names_;
  std::map<std::string, const NamedExpr*> connected_;
  std::map<std::string, std::string> references_;
};

}  // namespace

LoadedModel load_model(const std::string& text, const std::string& source,
                       const std::string& base_dir, const LoadOptions& options) {
  const json doc = parse_json_text(text, source);
  Module root = parse_module(doc, source, base_dir);
  std::vector<Module> modules = ImportResolver(options).run(std::move(root));
  LoadedModel out;
  Composition c = Composer(std::move(modules)).run(out.overlays);
  out.compiled = compile_composition(std::move(c));
  return out;
}

}  // namespace osteogrn::detail

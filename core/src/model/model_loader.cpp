// Model files (osteogrn-model/1): modules -> composition with bound ports, and load_model, the
// whole path from text to a compiled model. Reading one file is model_reader.cpp, imports are
// model_imports.cpp. Every error names the file, the JSON pointer and the problem.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "model/model_loader.hpp"
#include "model/model_module.hpp"
#include "osteogrn/detail/text_util.hpp"
#include "osteogrn/errors.hpp"

namespace osteogrn::detail {
namespace {

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

// The osteogrn-model/1 form of each declaration, for the flattened model.
Json species_json(const SpeciesInfo& s) {
  Json v = Json::object();
  if (s.initial_expression.empty())
    v["initial"] = s.initial;
  else
    v["initial"] = s.initial_expression;
  if (!s.unit.empty()) v["unit"] = s.unit;
  if (!s.description.empty()) v["description"] = s.description;
  return v;
}

Json parameter_json(const ParameterInfo& p) {
  Json v = Json::object();
  v["value"] = p.value;
  if (!p.unit.empty()) v["unit"] = p.unit;
  v["min"] = p.min;
  if (std::isfinite(p.max)) v["max"] = p.max;
  v["source"] = p.source;
  if (!p.description.empty()) v["description"] = p.description;
  return v;
}

Json input_json(const InputInfo& in) {
  Json v = Json::object();
  v["default"] = in.default_value;
  if (!in.unit.empty()) v["unit"] = in.unit;
  if (!in.description.empty()) v["description"] = in.description;
  return v;
}

Json observable_json(const ObservableInfo& o) {
  Json v = Json::object();
  v["expression"] = o.expression;
  if (!o.unit.empty()) v["unit"] = o.unit;
  if (!o.description.empty()) v["description"] = o.description;
  return v;
}

Json event_json(const EventDecl& e) {
  Json v = Json::object();
  v["trigger"] = e.trigger.text;
  Json as = Json::object();
  for (const auto& a : e.assignments) as[a.name] = a.text;
  v["assignments"] = std::move(as);
  if (e.delay) v["delay"] = e.delay->text;
  if (e.priority) v["priority"] = e.priority->text;
  if (!e.persistent) v["persistent"] = false;
  if (!e.initial_value) v["initial_value"] = false;
  if (!e.use_values_from_trigger_time) v["use_values_from_trigger_time"] = false;
  if (!e.description.empty()) v["description"] = e.description;
  return v;
}

// {name: write(item)} in the items' order.
template <class T, class Write>
Json by_name(const std::vector<T>& items, Write write) {
  // Names are unique here (checked while composing): append without ordered_json's linear
  // key search, which made flattening 10,000 named expressions quadratic.
  Json out = Json::object();
  auto& members = out.get_ref<Json::object_t&>();
  members.reserve(items.size());
  for (const auto& item : items) members.emplace_back(item.name, write(item));
  return out;
}

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
    check_initials();
    check_events();
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

  // An initial value is fixed before the run: it may name parameters and species (their
  // initial values) only, not inputs (protocol-driven), expressions or observables.
  void check_initials() const {
    for (std::size_t m = 0; m < mods_.size(); ++m) {
      for (const NamedExpr& e : mods_[m].initials) {
        check_names_in(e, m);
        for (const std::string& name : referenced_names(e.expr)) {
          const Decl d = *visible(name, m);
          if (d.kind != Kind::Species && d.kind != Kind::Parameter)
            throw ModelError("'" + name + "' is " + (d.kind == Kind::Input || d.kind == Kind::Expression ? "an " : "a ") +
                                 kind_name(d.kind) +
                                 "; an initial value may use parameters and species (their "
                                 "initial values) only",
                             e.file, e.pointer);
        }
      }
    }
  }

  // Event names are unique over the composition; expressions use visible names; every
  // assignment targets a species visible in the event's module, at most once per event.
  void check_events() const {
    std::map<std::string, std::string> seen;  // event name -> "file pointer"
    for (std::size_t m = 0; m < mods_.size(); ++m) {
      const Module& mod = mods_[m];
      for (const EventDecl& e : mod.events) {
        auto [it, fresh] = seen.emplace(e.name, mod.file + " " + e.pointer);
        if (!fresh)
          throw ModelError("event '" + e.name + "' is already declared (" + it->second + ")",
                           mod.file, e.pointer);
        check_names_in(e.trigger, m);
        if (e.delay) check_names_in(*e.delay, m);
        if (e.priority) check_names_in(*e.priority, m);
        std::set<std::string> targets;
        for (const NamedExpr& a : e.assignments) {
          auto d = visible(a.name, m);
          if (!d || d->kind != Kind::Species) {
            std::vector<std::string> cands;
            for (const auto& n : visible_names(m, true))
              if (visible(n, m)->kind == Kind::Species) cands.push_back(n);
            throw ModelError("event assignments target species; '" + a.name + "' is " +
                                 (d ? "a " + std::string(kind_name(d->kind)) : "not declared") +
                                 suggestion(a.name, cands),
                             mod.file, a.pointer);
          }
          if (!targets.insert(a.name).second)
            throw ModelError("species '" + a.name + "' is assigned twice by event '" + e.name +
                                 "'", mod.file, a.pointer);
          check_names_in(a, m);
        }
      }
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
      for (const auto& e : mod.initials) c.initials.push_back(e);
      for (const auto& p : mod.parameters) c.parameters.push_back(p);
      for (const auto& in : mod.inputs) {
        const NameEntry& e = names_.at(in.name);
        const bool bound = e.primary.has_value() || connected_.count(in.name);
        if (!bound && inputs_seen.insert(in.name).second) c.inputs.push_back(in);
      }
      for (const auto& e : mod.expressions) c.expressions.push_back(e);
      for (const auto& e : mod.connects) c.expressions.push_back(e);  // a bound input
      // ODEs in the order of the species (the file may list them in another order), found by
      // name: a search per species was quadratic (0.5 s of a 10,000-gene load).
      std::map<std::string_view, std::vector<std::size_t>> odes_named;
      for (std::size_t k = 0; k < mod.odes.size(); ++k) odes_named[mod.odes[k].name].push_back(k);
      for (const auto& s : mod.species) {
        auto it = odes_named.find(s.name);
        if (it != odes_named.end())
          for (std::size_t k : it->second) c.odes.push_back(mod.odes[k]);
      }
      for (const auto& o : mod.observables) c.observables.push_back(o);
      for (const auto& o : mod.observable_info) c.observable_info.push_back(o);
      for (const auto& e : mod.events) c.events.push_back(e);
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
    Json doc = Json::object();
    doc["schema"] = kModelSchema;
    doc["name"] = c.name;
    if (!c.description.empty()) doc["description"] = c.description;
    doc["time_unit"] = c.time_unit;
    if (!c.references.empty()) doc["references"] = references_in_file_order();
    if (!c.inputs.empty()) doc["inputs"] = by_name(c.inputs, input_json);
    doc["species"] = by_name(c.species, species_json);
    if (!c.parameters.empty()) doc["parameters"] = by_name(c.parameters, parameter_json);
    auto text = [](const NamedExpr& e) { return Json(e.text); };
    if (!c.expressions.empty()) doc["expressions"] = by_name(c.expressions, text);
    doc["odes"] = by_name(c.odes, text);
    if (!c.observable_info.empty())
      doc["observables"] = by_name(c.observable_info, observable_json);
    if (!c.events.empty()) doc["events"] = by_name(c.events, event_json);
    return doc.dump(2);
  }

  // The modules' references, the first text of each key (modules in composition order).
  Json references_in_file_order() const {
    Json refs = Json::object();
    for (const Module& mod : mods_)
      for (const auto& [k, v] : mod.references)
        if (!refs.contains(k)) refs[k] = v;
    return refs;
  }


  std::vector<Module> mods_;
  std::vector<std::vector<bool>> scope_;  // scope_[m][k]: module k is m or imported by m
  std::map<std::string, NameEntry> names_;
  std::map<std::string, const NamedExpr*> connected_;
  std::map<std::string, std::string> references_;
};

}  // namespace

namespace {
LoadedModel compose_and_compile(Module root, const LoadOptions& options) {
  std::vector<Module> modules = resolve_imports(std::move(root), options);
  LoadedModel out;
  Composition c = Composer(std::move(modules)).run(out.overlays);
  out.compiled = compile_composition(std::move(c));
  return out;
}
}  // namespace

LoadedModel load_model(const std::string& text, const std::string& source,
                       const std::string& base_dir, const LoadOptions& options) {
  return compose_and_compile(read_module_text(text, source, base_dir), options);
}

LoadedModel load_model_file(const std::string& path, const LoadOptions& options) {
  return compose_and_compile(read_module_file(path), options);
}

}  // namespace osteogrn::detail

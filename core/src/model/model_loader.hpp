#pragma once
// Internal: the stages between a model file and its CompiledModel.
//   model_reader.cpp  JSON -> one validated module (model_module.hpp)
//   model_imports.cpp the modules it imports, imports first
//   model_loader.cpp  modules -> composition (names checked, ports bound)
//   model_compile.cpp composition -> resolved expressions -> tapes and sparse patterns
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "osteogrn/detail/compiled_model.hpp"
#include "osteogrn/expression.hpp"
#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"

namespace osteogrn::detail {

/// One parsed expression of a composition, with where it came from (for error messages).
struct NamedExpr {
  std::string name, text, module, file, pointer;
  Expr expr;  // parsed, unresolved (Symbol leaves)
};

/// One event of a model file ("events"): assignments' names are the target species.
struct EventDecl {
  std::string name, module, file, pointer, description;
  NamedExpr trigger;
  std::optional<NamedExpr> delay, priority;
  bool persistent = true, initial_value = true, use_values_from_trigger_time = true;
  std::vector<NamedExpr> assignments;
};

/// The union of all modules with ports bound; every name used is known to exist.
struct Composition {
  std::string name, description, time_unit, file;  // of the root module
  std::vector<std::string> modules;
  std::map<std::string, std::string> references;
  std::vector<SpeciesInfo> species;      // declaration order over modules
  std::vector<ParameterInfo> parameters;
  std::vector<InputInfo> inputs;         // unbound inputs only
  std::vector<NamedExpr> expressions;    // declared expressions and connect-bound inputs
  std::vector<NamedExpr> odes;           // one per species, same order
  std::vector<NamedExpr> initials;       // initial-value expressions (name = the species)
  std::vector<NamedExpr> observables;    // same order as observable_info
  std::vector<ObservableInfo> observable_info;
  std::vector<EventDecl> events;         // modules in composition order, file order within
  std::string flattened_json;
};

/// A loaded model before it becomes a Model value.
struct LoadedModel {
  std::shared_ptr<const CompiledModel> compiled;
  std::vector<Perturbation> overlays;  // the files' "perturbations"
};

/// Parses, validates and composes; `base_dir` (may be empty) is searched first for imports.
LoadedModel load_model(const std::string& text, const std::string& source,
                       const std::string& base_dir, const LoadOptions& options);

/// The same from the file at `path`: regular files under the size limit only (read_text_file);
/// its folder is searched first for imports.
LoadedModel load_model_file(const std::string& path, const LoadOptions& options);

/// Resolves names, simplifies, differentiates and compiles the tapes.
std::shared_ptr<const CompiledModel> compile_composition(Composition&& composition);

}  // namespace osteogrn::detail

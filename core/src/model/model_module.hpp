#pragma once
// Internal: one model file (one module) as read and validated on its own, before composition.
//   model_reader.cpp   JSON -> Module (every field typed and located)
//   model_imports.cpp  a root Module -> all modules it imports, imports first
//   model_loader.cpp   modules -> Composition (names checked, ports bound)
#include <string>
#include <utility>
#include <vector>

#include "model/model_loader.hpp"
#include "osteogrn/detail/json_reader.hpp"

namespace osteogrn::detail {

inline constexpr const char* kModelSchema = "osteogrn-model/1";

/// One module, validated on its own; the *_ptr vectors hold each declaration's JSON pointer.
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
  std::vector<NamedExpr> initials;  // species whose "initial" is an expression (name = species)
  std::vector<ObservableInfo> observable_info;
  std::vector<EventDecl> events;
  std::vector<Perturbation> perturbations;
  std::vector<std::string> perturbation_ptr;
};

/// Letters, digits and _, not starting with a digit.
bool is_identifier(const std::string& s);

/// " (did you mean 'Runx2'?)" when a known name is close enough to be a likely typo, else "".
std::string suggestion(const std::string& name, const std::vector<std::string>& known);

/// Parses `text` and reads one module; `dir` is where its imports are looked up first.
/// Errors: ModelError or ParseError naming `file` and the JSON pointer.
Module read_module_text(const std::string& text, const std::string& file, const std::string& dir);

/// Reads the module file at `path` (regular files under the size limit only, see
/// read_text_file); its imports are looked up in its folder first.
Module read_module_file(const std::string& path);

/// `root` and every module it imports, in composition order (each import before its importer,
/// `root` last; a module reached twice is loaded once). ModelError for cycles and missing files.
std::vector<Module> resolve_imports(Module root, const LoadOptions& options);

}  // namespace osteogrn::detail

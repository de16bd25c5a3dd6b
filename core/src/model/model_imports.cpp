// Imports of model files: depth-first, imported modules before their importer; a module reached
// along two paths (a diamond) is loaded once. Files are looked up in the importer's folder, then
// in the search paths.
#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

#include "model/model_module.hpp"
#include "osteogrn/detail/text_util.hpp"
#include "osteogrn/errors.hpp"

namespace osteogrn::detail {
namespace {

namespace fs = std::filesystem;

class ImportResolver {
 public:
  explicit ImportResolver(const LoadOptions& options) : options_(options) {}

  std::vector<Module> run(Module root) {
    stack_.push_back(root.name);
    resolve_imports(root);
    stack_.pop_back();
    modules_.push_back(std::move(root));
    return std::move(modules_);
  }

 private:
  void check_no_cycle(const Module& m, const std::string& name, const std::string& ptr) const {
    auto on_stack = std::find(stack_.begin(), stack_.end(), name);
    if (on_stack == stack_.end()) return;
    std::vector<std::string> cycle(on_stack, stack_.end());
    cycle.push_back(name);
    throw ModelError("import cycle: " + join(cycle, " -> "), m.file, ptr);
  }

  // The first <name>.json in the importer's folder, then in the search paths.
  fs::path find_file(const Module& m, const std::string& name, const std::string& ptr) const {
    std::vector<fs::path> dirs;
    if (!m.dir.empty()) dirs.emplace_back(m.dir);
    for (const auto& d : options_.search_paths) dirs.emplace_back(d);
    for (const auto& d : dirs) {
      std::error_code ec;
      const fs::path candidate = d / (name + ".json");
      if (fs::is_regular_file(candidate, ec)) return candidate;
    }
    std::vector<std::string> shown;
    for (const auto& d : dirs) shown.push_back("'" + d.string() + "'");
    throw ModelError("cannot find module '" + name + "': no " + name + ".json in " +
                         (shown.empty() ? std::string("any folder (no search paths given)")
                                        : join(shown, ", ")),
                     m.file, ptr);
  }

  // Index of module `name` if it is already loaded from the same file (a diamond).
  std::optional<std::size_t> already_loaded(const Module& m, const std::string& name,
                                            const fs::path& found, const std::string& canonical,
                                            const std::string& ptr) const {
    auto loaded = by_name_.find(name);
    if (loaded == by_name_.end()) return std::nullopt;
    if (modules_[loaded->second].file != found.string() &&
        canonical_[loaded->second] != canonical)
      throw ModelError("module '" + name + "' resolves to two different files: '" +
                           modules_[loaded->second].file + "' and '" + found.string() + "'",
                       m.file, ptr);
    return loaded->second;
  }

  void resolve_imports(Module& m) {
    for (std::size_t k = 0; k < m.imports.size(); ++k) {
      const std::string& name = m.imports[k];
      const std::string ptr = "/imports/" + std::to_string(k);
      check_no_cycle(m, name, ptr);
      const fs::path found = find_file(m, name, ptr);
      std::error_code ec;
      const std::string canonical = fs::weakly_canonical(found, ec).string();
      if (auto index = already_loaded(m, name, found, canonical, ptr)) {
        m.import_index.push_back(*index);
        continue;
      }
      Module sub = read_module_file(found.string());
      if (sub.name != name)
        throw ModelError("file declares module '" + sub.name + "' but is imported as '" + name +
                             "' (a module's name must match its file name)",
                         sub.file, "/name");
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

}  // namespace

std::vector<Module> resolve_imports(Module root, const LoadOptions& options) {
  return ImportResolver(options).run(std::move(root));
}

}  // namespace osteogrn::detail

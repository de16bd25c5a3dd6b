#pragma once
// Models (format osteogrn-model/1): load, validate, compose through imports, compile.
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "osteogrn/protocol.hpp"

namespace osteogrn {

struct SpeciesInfo {
  std::string name;
  /// The initial value at the file's parameter values (the number, or the expression's value).
  double initial = 0.0;
  /// The initial value as an expression over parameters and other species' initial values
  /// (docs/formats/model.md#species); empty when the file gives a number.
  std::string initial_expression;
  std::string unit, description;
  std::string module;  // the model file (module name) that declares it
};

struct ParameterInfo {
  std::string name;
  double value = 0.0;  // as in the file
  double min = 0.0, max = kForever;  // fitting bounds; value must lie inside
  std::string unit, source, description, module;
};

/// An input (port) that is not bound inside the model: driven by the protocol or its default.
struct InputInfo {
  std::string name;
  double default_value = 0.0;
  std::string unit, description, module;
};

struct ExpressionInfo {
  std::string name, text, module;
};

struct ObservableInfo {
  std::string name, expression, unit, description, module;
};

/// An event of the model ("events" in the model file): when `trigger` turns true, assignments
/// reset species (docs/formats/model.md#events).
struct EventInfo {
  std::string name, trigger, delay, priority, description, module;
  bool persistent = true, initial_value = true, use_values_from_trigger_time = true;
  std::vector<std::pair<std::string, std::string>> assignments;  // species, expression text
};

/// Where imports are looked up: first the importing file's directory, then these folders
/// (Python adds the package's built-in models folder).
struct LoadOptions {
  std::vector<std::string> search_paths;
};

class Model;
namespace detail {
struct CompiledModel;
/// Internal: the compiled tapes of a model (detail/compiled_model.hpp); ModelError if it is empty.
const CompiledModel& compiled_model(const Model& model);
}  // namespace detail

/// A compiled model: immutable, cheap to copy (the compiled tapes are shared), safe to simulate
/// from several threads at once. with_parameters/knockout return new Model values.
class Model {
 public:
  /// Loads a model file and its imports. Errors: ModelError / ParseError naming file + pointer.
  static Model from_file(const std::string& path, const LoadOptions& options = {});
  /// Loads from JSON text; `source` names it in errors; imports resolve via options.search_paths.
  static Model from_json(const std::string& text, const std::string& source = "<string>",
                         const LoadOptions& options = {});

  const std::string& name() const;
  const std::string& description() const;
  const std::string& time_unit() const;
  /// Names of the modules composed into this model, the model itself last.
  const std::vector<std::string>& modules() const;
  /// References (key -> citation) of all modules.
  const std::map<std::string, std::string>& references() const;

  const std::vector<SpeciesInfo>& species() const;
  const std::vector<ParameterInfo>& parameters() const;  // values as in the files
  const std::vector<InputInfo>& inputs() const;          // unbound inputs, index = input slot
  const std::vector<ExpressionInfo>& expressions() const;  // in dependency order
  const std::vector<ObservableInfo>& observables() const;
  const std::vector<EventInfo>& events() const;

  /// Current parameter values (file values overridden by with_parameters), by parameter index.
  const std::vector<double>& parameter_values() const { return parameter_values_; }
  /// Initial species values at the current parameter values (a species whose "initial" is an
  /// expression is evaluated with parameter_values()). ModelError naming the species, with the
  /// pointer /species/<name>/initial, if a value is not finite.
  std::vector<double> initial_state() const;
  /// d initial_state() / d θ at the current parameter values, dense row-major
  /// [n_species x n_parameters] (total derivatives through the species an expression names);
  /// all zero when every initial value is a number.
  std::vector<double> initial_state_jacobian() const;

  std::optional<std::size_t> find_species(const std::string& name) const;
  std::optional<std::size_t> find_parameter(const std::string& name) const;
  std::optional<std::size_t> find_input(const std::string& name) const;
  std::optional<std::size_t> find_observable(const std::string& name) const;

  /// New model with some parameters changed. ModelError for an unknown name, a non-finite
  /// value, or a value outside [min, max].
  Model with_parameters(const std::map<std::string, double>& values) const;
  /// New model with the whole parameter vector replaced (fast path for fitting; same checks).
  Model with_parameter_values(const std::vector<double>& values) const;
  /// New model whose every simulation holds `species` at 0 (docs/formats/protocol.md: knockouts).
  Model knockout(const std::string& species) const;
  /// Perturbations carried into every protocol (from knockout()).
  const std::vector<Perturbation>& overlays() const { return overlays_; }

  /// Self-contained osteogrn-model/1 JSON of the composed model (imports flattened, current
  /// parameter values, overlays under "perturbations"); from_json(to_json()) simulates identically.
  std::string to_json() const;

  /// dy/dt at (t, y, u) with the current parameters; y has species().size() values and u
  /// inputs().size() values. The overlays active at t hold as in simulate(): a knocked-out or
  /// clamped species takes its held value (whatever y says) and has derivative 0; parameter
  /// overrides replace or scale the parameter.
  std::vector<double> rhs(double t, const std::vector<double>& y, const std::vector<double>& u) const;
  /// ∂rhs/∂y, dense row-major [n_species x n_species]; rows and columns of held species are 0.
  std::vector<double> jacobian(double t, const std::vector<double>& y,
                               const std::vector<double>& u) const;
  /// ∂rhs/∂θ with respect to the model's parameter values θ (what with_parameters sets), dense
  /// row-major [n_species x n_parameters]: 0 for a parameter under a value override, scaled by s
  /// under a scale override.
  std::vector<double> parameter_jacobian(double t, const std::vector<double>& y,
                                         const std::vector<double>& u) const;
  /// Observable values at (t, y, u), with the overlays active at t applied as in rhs().
  std::vector<double> observe(double t, const std::vector<double>& y,
                              const std::vector<double>& u) const;

  /// An empty model: every accessor throws ModelError until one is assigned from a loader.
  Model() = default;

 private:
  friend const detail::CompiledModel& detail::compiled_model(const Model& model);
  Model(std::shared_ptr<const detail::CompiledModel> compiled, std::vector<double> parameter_values,
        std::vector<Perturbation> overlays = {});

  std::shared_ptr<const detail::CompiledModel> compiled_;
  std::vector<double> parameter_values_;
  std::vector<Perturbation> overlays_;
};

}  // namespace osteogrn

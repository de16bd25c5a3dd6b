// Model: a compiled, immutable model value plus its parameter values and overlays.
#include "osteogrn/model.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "osteogrn/detail/compiled_model.hpp"
#include "osteogrn/detail/json_codec.hpp"
#include "osteogrn/detail/text_util.hpp"
#include "model/model_loader.hpp"
#include "osteogrn/errors.hpp"

namespace osteogrn {

namespace {

template <class Info>
std::optional<std::size_t> find_by_name(const std::vector<Info>& items, const std::string& name) {
  for (std::size_t i = 0; i < items.size(); ++i)
    if (items[i].name == name) return i;
  return std::nullopt;
}

void check_parameter(const ParameterInfo& p, double v) {
  if (!std::isfinite(v))
    throw ModelError("parameter '" + p.name + "' must be finite", {}, "/parameters/" + p.name);
  if (v < p.min || v > p.max) {
    std::ostringstream os;
    os << "parameter '" << p.name << "' = " << v << " lies outside its bounds [" << p.min << ", "
       << p.max << "]";
    throw ModelError(os.str(), {}, "/parameters/" + p.name);
  }
}

void check_sizes(const detail::CompiledModel& m, const std::vector<double>& y,
                 const std::vector<double>& u) {
  if (y.size() != m.species.size())
    throw OptionError("y has " + std::to_string(y.size()) + " values; the model has " +
                      std::to_string(m.species.size()) + " species");
  if (u.size() != m.inputs.size())
    throw OptionError("u has " + std::to_string(u.size()) + " values; the model has " +
                      std::to_string(m.inputs.size()) + " inputs");
}

// Scatters a sparse tape's values into a dense row-major matrix with `ncols` columns.
std::vector<double> dense(const detail::SparsePattern& pattern, const std::vector<double>& vals,
                          std::size_t nrows, std::size_t ncols) {
  std::vector<double> out(nrows * ncols, 0.0);
  for (std::size_t k = 0; k < pattern.nnz(); ++k)
    out[pattern.rows[k] * ncols + pattern.cols[k]] = vals[k];
  return out;
}

// A default-constructed Model has nothing compiled: a typed error instead of a null dereference.
const detail::CompiledModel& cm(const std::shared_ptr<const detail::CompiledModel>& c) {
  if (!c) throw ModelError("empty Model: load one with Model::from_file or Model::from_json");
  return *c;
}

}  // namespace

Model::Model(std::shared_ptr<const detail::CompiledModel> compiled,
             std::vector<double> parameter_values, std::vector<Perturbation> overlays)
    : compiled_(std::move(compiled)),
      parameter_values_(std::move(parameter_values)),
      overlays_(std::move(overlays)) {
  if (!compiled_) throw ModelError("Model built without a compiled model");
  if (parameter_values_.size() != compiled_->parameters.size())
    throw ModelError("expected " + std::to_string(compiled_->parameters.size()) +
                     " parameter values, got " + std::to_string(parameter_values_.size()));
}

namespace detail {
const CompiledModel& compiled_model(const Model& model) { return cm(model.compiled_); }
}  // namespace detail

Model Model::from_file(const std::string& path, const LoadOptions& options) {
  auto loaded = detail::load_model_file(path, options);
  std::vector<double> values;
  for (const auto& p : loaded.compiled->parameters) values.push_back(p.value);
  return Model(loaded.compiled, std::move(values), std::move(loaded.overlays));
}

Model Model::from_json(const std::string& text, const std::string& source,
                       const LoadOptions& options) {
  // Imports of a text model resolve through the search paths only (it has no folder).
  auto loaded = detail::load_model(text, source, {}, options);
  std::vector<double> values;
  for (const auto& p : loaded.compiled->parameters) values.push_back(p.value);
  return Model(loaded.compiled, std::move(values), std::move(loaded.overlays));
}

const std::string& Model::name() const { return cm(compiled_).name; }
const std::string& Model::description() const { return cm(compiled_).description; }
const std::string& Model::time_unit() const { return cm(compiled_).time_unit; }
const std::vector<std::string>& Model::modules() const { return cm(compiled_).modules; }
const std::map<std::string, std::string>& Model::references() const {
  return cm(compiled_).references;
}
const std::vector<SpeciesInfo>& Model::species() const { return cm(compiled_).species; }
const std::vector<ParameterInfo>& Model::parameters() const { return cm(compiled_).parameters; }
const std::vector<InputInfo>& Model::inputs() const { return cm(compiled_).inputs; }
const std::vector<ExpressionInfo>& Model::expressions() const { return cm(compiled_).expressions; }
const std::vector<ObservableInfo>& Model::observables() const { return cm(compiled_).observables; }
const std::vector<EventInfo>& Model::events() const { return cm(compiled_).events; }

namespace {
// Initial values at parameter values p; ModelError at the first that is not finite.
std::vector<double> initial_values(const detail::CompiledModel& m, const std::vector<double>& p) {
  std::vector<double> y;
  y.reserve(m.species.size());
  if (!m.has_initial_expressions) {
    for (const auto& s : m.species) y.push_back(s.initial);
    return y;
  }
  y.resize(m.species.size());
  std::vector<double> work(m.init.work_size());
  m.init.eval({nullptr, p.data(), nullptr, 0.0}, y.data(), work.data());
  for (std::size_t i = 0; i < y.size(); ++i)
    if (!std::isfinite(y[i]))
      throw ModelError("initial value of species '" + m.species[i].name + "' (" +
                           m.species[i].initial_expression + ") is not finite (" +
                           std::to_string(y[i]) + ") at the current parameter values",
                       {}, "/species/" + detail::escape_pointer_token(m.species[i].name) +
                               "/initial");
  return y;
}
}  // namespace

std::vector<double> Model::initial_state() const {
  return initial_values(cm(compiled_), parameter_values_);
}

std::vector<double> Model::initial_state_jacobian() const {
  const auto& m = cm(compiled_);
  if (!m.has_initial_expressions)
    return std::vector<double>(m.species.size() * m.parameters.size(), 0.0);
  std::vector<double> vals(m.init_jac_p.n_outputs());
  std::vector<double> work(m.init_jac_p.work_size());
  m.init_jac_p.eval({nullptr, parameter_values_.data(), nullptr, 0.0}, vals.data(), work.data());
  return dense(m.init_jac_p_pattern, vals, m.species.size(), m.parameters.size());
}

std::optional<std::size_t> Model::find_species(const std::string& name) const {
  return find_by_name(cm(compiled_).species, name);
}
std::optional<std::size_t> Model::find_parameter(const std::string& name) const {
  return find_by_name(cm(compiled_).parameters, name);
}
std::optional<std::size_t> Model::find_input(const std::string& name) const {
  return find_by_name(cm(compiled_).inputs, name);
}
std::optional<std::size_t> Model::find_observable(const std::string& name) const {
  return find_by_name(cm(compiled_).observables, name);
}

Model Model::with_parameters(const std::map<std::string, double>& values) const {
  std::vector<double> next = parameter_values_;
  for (const auto& [name, v] : values) {
    auto i = find_parameter(name);
    if (!i) {
      throw ModelError("unknown parameter '" + name + "' (parameters: " +
                           detail::join_names(cm(compiled_).parameters) + ")",
                       {}, "/parameters/" + name);
    }
    check_parameter(cm(compiled_).parameters[*i], v);
    next[*i] = v;
  }
  // Initial values that depend on parameters must stay finite (ModelError naming the species).
  if (cm(compiled_).has_initial_expressions) initial_values(cm(compiled_), next);
  return Model(compiled_, std::move(next), overlays_);
}

Model Model::with_parameter_values(const std::vector<double>& values) const {
  if (values.size() != cm(compiled_).parameters.size())
    throw ModelError("expected " + std::to_string(cm(compiled_).parameters.size()) +
                     " parameter values, got " + std::to_string(values.size()));
  for (std::size_t i = 0; i < values.size(); ++i)
    check_parameter(cm(compiled_).parameters[i], values[i]);
  if (cm(compiled_).has_initial_expressions) initial_values(cm(compiled_), values);
  return Model(compiled_, values, overlays_);
}

Model Model::knockout(const std::string& species) const {
  if (!find_species(species)) {
    throw ModelError("cannot knock out '" + species + "': not a species (species: " +
                         detail::join_names(cm(compiled_).species) + ")",
                     {}, "/species/" + species);
  }
  std::vector<Perturbation> next = overlays_;
  bool already = false;
  for (const auto& p : next)
    already = already || (p.kind == PerturbationKind::Knockout && p.target == species &&
                          p.from == 0.0 && p.until == kForever);
  if (!already) {
    Perturbation p;
    p.kind = PerturbationKind::Knockout;
    p.target = species;
    next.push_back(p);
  }
  return Model(compiled_, parameter_values_, std::move(next));
}

std::string Model::to_json() const {
  auto doc = nlohmann::ordered_json::parse(cm(compiled_).flattened_json);
  for (std::size_t i = 0; i < cm(compiled_).parameters.size(); ++i)
    doc["parameters"][cm(compiled_).parameters[i].name]["value"] = parameter_values_[i];
  if (!overlays_.empty()) {
    doc["perturbations"] = overlays_;  // the shared codec (osteogrn/detail/json_codec.hpp)
  }
  return doc.dump(2);
}

namespace {

// The model's overlays (knockouts, clamps, parameter overrides) as they hold at time t, in the
// same way simulate() applies a protocol's perturbations inside a segment: held species take
// their held value (so the other equations see it) and have a zero derivative; parameter
// overrides apply in order, later ones winning.
struct OverlaidPoint {
  std::vector<double> y, p;
  std::vector<char> held;          // per species
  std::vector<double> dp_dtheta;   // per parameter: 1, 0 under a value override, s under a scale
};

bool active_at(const Perturbation& o, double t) { return o.from <= t && t < o.until; }

OverlaidPoint overlay(const detail::CompiledModel& m, const std::vector<Perturbation>& overlays,
                      const std::vector<double>& theta, double t, const std::vector<double>& y) {
  OverlaidPoint pt{y, theta, std::vector<char>(m.species.size(), 0),
                   std::vector<double>(theta.size(), 1.0)};
  for (const Perturbation& o : overlays) {
    if (!active_at(o, t)) continue;
    if (o.kind == PerturbationKind::Parameter) {
      const std::size_t j = *find_by_name(m.parameters, o.target);
      pt.p[j] = o.scale ? o.value * pt.p[j] : o.value;
      pt.dp_dtheta[j] = o.scale ? o.value * pt.dp_dtheta[j] : 0.0;
    } else {
      const std::size_t i = *find_by_name(m.species, o.target);
      pt.held[i] = 1;
      pt.y[i] = o.kind == PerturbationKind::Knockout ? 0.0 : o.value;
    }
  }
  return pt;
}

// One of the model's tapes evaluated at (t, y, u) with the overlays active at t: the outputs and
// the overlaid point they were computed at (for the held species and dp/dθ).
struct OverlaidValues {
  OverlaidPoint pt;
  std::vector<double> out;
};

OverlaidValues evaluate_overlaid(const detail::CompiledModel& m, const Tape& tape,
                                 const std::vector<Perturbation>& overlays,
                                 const std::vector<double>& theta, double t,
                                 const std::vector<double>& y, const std::vector<double>& u) {
  check_sizes(m, y, u);
  OverlaidValues r{overlay(m, overlays, theta, t, y), std::vector<double>(tape.n_outputs())};
  std::vector<double> work(m.max_work_size);
  tape.eval({r.pt.y.data(), r.pt.p.data(), u.data(), t}, r.out.data(), work.data());
  return r;
}

}  // namespace

std::vector<double> Model::rhs(double t, const std::vector<double>& y,
                               const std::vector<double>& u) const {
  const auto& m = cm(compiled_);
  auto [pt, out] = evaluate_overlaid(m, m.rhs, overlays_, parameter_values_, t, y, u);
  for (std::size_t i = 0; i < out.size(); ++i)
    if (pt.held[i]) out[i] = 0.0;
  return out;
}

std::vector<double> Model::jacobian(double t, const std::vector<double>& y,
                                    const std::vector<double>& u) const {
  const auto& m = cm(compiled_);
  auto [pt, vals] = evaluate_overlaid(m, m.jac_y, overlays_, parameter_values_, t, y, u);
  // A held species is a constant: its row (derivative 0) and its column (the other equations
  // see the held value, not y) are zero.
  const auto& pat = m.jac_y_pattern;
  for (std::size_t k = 0; k < pat.nnz(); ++k)
    if (pt.held[pat.rows[k]] || pt.held[pat.cols[k]]) vals[k] = 0.0;
  return dense(pat, vals, m.species.size(), m.species.size());
}

std::vector<double> Model::parameter_jacobian(double t, const std::vector<double>& y,
                                              const std::vector<double>& u) const {
  const auto& m = cm(compiled_);
  auto [pt, vals] = evaluate_overlaid(m, m.jac_p, overlays_, parameter_values_, t, y, u);
  // d f / d θ_j = ∂f/∂p_j · dp_j/dθ_j: 0 under a value override, s under a scale override.
  const auto& pat = m.jac_p_pattern;
  for (std::size_t k = 0; k < pat.nnz(); ++k)
    vals[k] = pt.held[pat.rows[k]] ? 0.0 : vals[k] * pt.dp_dtheta[pat.cols[k]];
  return dense(pat, vals, m.species.size(), m.parameters.size());
}

std::vector<double> Model::observe(double t, const std::vector<double>& y,
                                   const std::vector<double>& u) const {
  const auto& m = cm(compiled_);
  return evaluate_overlaid(m, m.obs, overlays_, parameter_values_, t, y, u).out;
}

}  // namespace osteogrn

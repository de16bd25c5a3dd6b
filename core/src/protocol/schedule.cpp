// The protocol bound to a model (DESIGN.md, "Protocol format" and "Integration"): the
// breakpoints the driver must stop at, and per segment the closed-form inputs and the
// perturbations that hold. Inputs need no extra ODE states: between events each is
// c(t) = c(start) * exp(-ln2/half_life * (t - start)).
#include "osteogrn/detail/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "osteogrn/errors.hpp"
#include "osteogrn/detail/text_util.hpp"

namespace osteogrn {
namespace {

template <class Info>
std::string list_names(const std::vector<Info>& items) {
  if (items.empty()) return "none";
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i].name;
  return out;
}

/// How one protocol component drives one model input, in the model input's unit.
struct Drive {
  std::size_t input;
  double concentration;
  double from, until;
  double decay;  // 1/day
};

struct Event {
  double time;
  enum Kind { MediaChange, Add } kind;
  std::size_t input = 0;  // for Add
  double amount = 0.0;    // for Add, in the model input's unit
  std::size_t segment = 0;  // index of the breakpoint it happens at
};

}  // namespace

Schedule::Schedule(const Protocol& protocol, const Model& model) : duration_(protocol.duration) {
  const std::string& src = protocol.source;
  if (!(duration_ > 0) || !std::isfinite(duration_))
    throw ProtocolError("duration must be a positive finite number", src, "/duration");
  const auto& inputs = model.inputs();
  const std::size_t n_inputs = inputs.size();
  const double tol = 1e-12 * duration_;  // times closer than this are one breakpoint

  // --- Bind components to model inputs, converting units.
  std::vector<std::optional<std::size_t>> component_input(protocol.components.size());
  std::vector<Drive> drives;
  for (std::size_t ci = 0; ci < protocol.components.size(); ++ci) {
    const Component& c = protocol.components[ci];
    const std::string p = "/components/" + detail::escape_pointer_token(c.name);
    const auto idx = model.find_input(c.name);
    if (!idx) {
      if (c.optional) continue;
      throw ProtocolError("the model '" + model.name() + "' has no input '" + c.name +
                              "' (inputs: " + list_names(inputs) +
                              "); mark the component \"optional\": true to allow it",
                          src, p);
    }
    const InputInfo& in = inputs[*idx];
    double conc = 0.0;
    if (in.unit.empty() && !c.unit.empty())
      throw ProtocolError("the model input '" + c.name + "' has no unit, so the component's "
                          "unit must be empty too, got '" + c.unit + "'", src, p + "/unit");
    try {
      conc = convert_unit(c.concentration, c.unit, in.unit);
    } catch (const ProtocolError& e) {
      throw ProtocolError(e.message() + " (model input '" + c.name + "' is in '" + in.unit + "')",
                          src, p + "/unit");
    }
    component_input[ci] = *idx;
    const double decay = c.half_life ? std::log(2.0) / *c.half_life : 0.0;
    drives.push_back({*idx, conc, c.from, c.until, decay});
  }

  // --- Events: media changes, then additions (an addition on a change day comes after it).
  media_change_days_ = protocol.media_change_days();
  std::vector<Event> events;
  std::vector<double> unused_addition_days;
  for (double d : media_change_days_) events.push_back({d, Event::MediaChange});
  for (std::size_t ai = 0; ai < protocol.additions.size(); ++ai) {
    const Addition& a = protocol.additions[ai];
    const int ci = protocol.find_component(a.component);
    const std::string p = "/additions/" + std::to_string(ai);
    if (ci < 0)
      throw ProtocolError("no component '" + a.component + "' in /components", src,
                          p + "/component");
    // An optional component the model does not use changes nothing, but its day is still a
    // breakpoint (DESIGN.md: every addition is one), so the segments do not depend on the model.
    if (!component_input[ci]) {
      unused_addition_days.push_back(a.day);
      continue;
    }
    const InputInfo& in = inputs[*component_input[ci]];
    const std::string& unit = a.unit.empty() ? protocol.components[ci].unit : a.unit;
    double amount = 0.0;
    try {
      amount = convert_unit(a.concentration, unit, in.unit);
    } catch (const ProtocolError& e) {
      throw ProtocolError(e.message() + " (model input '" + in.name + "' is in '" + in.unit + "')",
                          src, p + "/unit");
    }
    events.push_back({a.day, Event::Add, *component_input[ci], amount});
  }
  // --- Perturbations: the model's overlays first, then the protocol's own.
  struct Bound { Perturbation pert; std::size_t index; };
  std::vector<Bound> perts;
  auto bind = [&](const Perturbation& pt, const std::string& pointer, bool overlay) {
    const std::string origin = overlay ? "model overlay " : "";
    std::optional<std::size_t> idx;
    if (pt.kind == PerturbationKind::Parameter) {
      idx = model.find_parameter(pt.target);
      if (!idx)
        throw ProtocolError(origin + "parameter '" + pt.target + "': the model '" + model.name() +
                                "' has no such parameter (parameters: " +
                                list_names(model.parameters()) + ")",
                            src, pointer);
    } else {
      idx = model.find_species(pt.target);
      if (!idx)
        throw ProtocolError(origin + to_string(pt.kind) + " '" + pt.target + "': the model '" +
                                model.name() + "' has no such species (species: " +
                                list_names(model.species()) + ")",
                            src, pointer);
    }
    if (!std::isfinite(pt.value))
      throw ProtocolError("perturbation value must be finite", src, pointer);
    perts.push_back({pt, *idx});
  };
  // Overlays keep their own windows (Model.knockout gives [0, inf)); a window reaching past this
  // protocol's end simply ends with the run.
  for (const auto& pt : model.overlays()) bind(pt, "", true);
  for (std::size_t i = 0; i < protocol.perturbations.size(); ++i) {
    const Perturbation& pt = protocol.perturbations[i];
    bind(pt, "/perturbations/" + std::to_string(i) + "/" + to_string(pt.kind), false);
  }

  // --- Breakpoints.
  std::vector<double> times{0.0, duration_};
  for (const auto& e : events) times.push_back(e.time);
  times.insert(times.end(), unused_addition_days.begin(), unused_addition_days.end());
  for (const auto& b : perts)
    for (double t : {b.pert.from, b.pert.until})
      if (std::isfinite(t) && t > 0 && t < duration_) times.push_back(t);
  std::sort(times.begin(), times.end());
  for (double t : times) {
    if (t < -tol || t > duration_ + tol || !std::isfinite(t))
      throw ProtocolError("event at day " + std::to_string(t) + " lies outside [0, duration]",
                          src);
    if (!breakpoints_.empty() && t - breakpoints_.back() < tol) {
      // Merge near-equal times; the ends of the run stay exact.
      if (t == duration_) breakpoints_.back() = duration_;
      continue;
    }
    breakpoints_.push_back(t);
  }
  // A time lies in the breakpoint it was merged into: the last one not above t + tol.
  auto breakpoint_index = [&](double t) -> std::size_t {
    if (!(t < duration_ + tol)) return breakpoints_.size() - 1;  // includes until = forever
    const auto it = std::upper_bound(breakpoints_.begin(), breakpoints_.end(), t + tol);
    return static_cast<std::size_t>(it - breakpoints_.begin()) - 1;
  };

  // Per breakpoint: media changes first, then additions (a spike after that day's feed).
  for (auto& e : events) e.segment = breakpoint_index(e.time);
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    if (a.segment != b.segment) return a.segment < b.segment;
    return a.kind == Event::MediaChange && b.kind == Event::Add;
  });

  // --- Walk the segments, carrying each driven input's concentration across events.
  const std::size_t n_segments = breakpoints_.size() - 1;
  std::vector<double> value(n_inputs), rate(n_inputs, 0.0);
  for (std::size_t k = 0; k < n_inputs; ++k) value[k] = inputs[k].default_value;
  auto fresh = [&](const Drive& d, double day) {
    return (day >= d.from - tol && day < d.until - tol) ? d.concentration : 0.0;
  };
  for (const auto& d : drives) {
    value[d.input] = fresh(d, 0.0);  // day 0: fresh medium
    rate[d.input] = d.decay;
  }
  const double f = protocol.replace_fraction;
  std::size_t next_event = 0;
  segments_.reserve(n_segments);
  for (std::size_t s = 0; s < n_segments; ++s) {
    const double start = breakpoints_[s];
    if (s > 0) {
      const double dt = start - breakpoints_[s - 1];
      for (const auto& d : drives) value[d.input] *= std::exp(-d.decay * dt);
    }
    for (; next_event < events.size() && events[next_event].segment == s;
         ++next_event) {
      const Event& e = events[next_event];
      if (e.kind == Event::MediaChange) {
        for (const auto& d : drives)
          value[d.input] = (1.0 - f) * value[d.input] + f * fresh(d, e.time);
      } else {
        value[e.input] += e.amount;
      }
    }
    Segment seg;
    seg.start = start;
    seg.end = breakpoints_[s + 1];
    seg.start_value = value;
    seg.decay_rate = rate;
    for (const auto& b : perts) {
      const std::size_t first = breakpoint_index(b.pert.from);
      const std::size_t last = breakpoint_index(b.pert.until);  // exclusive
      if (s < first || s >= last) continue;
      if (b.pert.kind == PerturbationKind::Parameter)
        seg.overrides.push_back({b.index, b.pert.value, b.pert.scale});
      else
        seg.clamps.push_back(
            {b.index, b.pert.kind == PerturbationKind::Knockout ? 0.0 : b.pert.value});
    }
    segments_.push_back(std::move(seg));
  }
  // Events at the very end (a change or addition on the last day) have no segment to affect.
}

std::size_t Schedule::segment_at(double t) const {
  if (!(t >= 0.0 && t <= duration_))
    throw OptionError("time " + std::to_string(t) + " lies outside the protocol's [0, " +
                      std::to_string(duration_) + "] days");
  const auto it = std::upper_bound(breakpoints_.begin(), breakpoints_.end(), t);
  const std::size_t k = static_cast<std::size_t>(it - breakpoints_.begin()) - 1;
  return std::min(k, segments_.size() - 1);
}

void Schedule::inputs(std::size_t k, double t, double* u) const {
  const Segment& s = segments_.at(k);
  const double dt = t - s.start;
  for (std::size_t i = 0; i < s.start_value.size(); ++i)
    u[i] = s.decay_rate[i] == 0.0 ? s.start_value[i]
                                  : s.start_value[i] * std::exp(-s.decay_rate[i] * dt);
}

void Schedule::input_rates(std::size_t k, double t, double* dudt) const {
  const Segment& s = segments_.at(k);
  const double dt = t - s.start;
  for (std::size_t i = 0; i < s.start_value.size(); ++i)
    dudt[i] = s.decay_rate[i] == 0.0
                  ? 0.0
                  : -s.decay_rate[i] * s.start_value[i] * std::exp(-s.decay_rate[i] * dt);
}

void Schedule::parameters(std::size_t k, const std::vector<double>& base, double* p) const {
  const Segment& s = segments_.at(k);
  std::copy(base.begin(), base.end(), p);
  for (const auto& o : s.overrides) {
    if (o.parameter >= base.size())
      throw OptionError("parameter vector has " + std::to_string(base.size()) +
                        " entries; the schedule overrides index " + std::to_string(o.parameter));
    // Later overrides win outright; a scale multiplies the model's value, not an earlier override.
    p[o.parameter] = o.scale ? base[o.parameter] * o.value : o.value;
  }
}

}  // namespace osteogrn

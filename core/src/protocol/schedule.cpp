// The protocol bound to a model (docs/formats/protocol.md and docs/integration.md): the
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

/// A perturbation with the index of its species or parameter in the model.
struct BoundPerturbation {
  Perturbation pert;
  std::size_t index;
};

/// The components bound to model inputs. `input_of[ci]` is component ci's input, or empty for
/// an optional component the model does not have.
struct BoundComponents {
  std::vector<Drive> drives;
  std::vector<std::optional<std::size_t>> input_of;
};

// `value` in `unit` converted to the unit of model input `in` (through the component's molar
// mass when one unit is a mass and the other molar); errors name `pointer`.
double in_input_unit(double value, const std::string& unit, const Component& c,
                     const InputInfo& in, const std::string& src, const std::string& pointer) {
  try {
    return convert_unit(value, unit, in.unit, c.molar_mass);
  } catch (const ProtocolError& e) {
    throw ProtocolError(e.message() + " (model input '" + in.name + "' is in '" + in.unit + "')",
                        src, pointer);
  }
}

BoundComponents bind_components(const Protocol& protocol, const Model& model) {
  const std::string& src = protocol.source();
  const auto& inputs = model.inputs();
  BoundComponents out;
  out.input_of.resize(protocol.components().size());
  for (std::size_t ci = 0; ci < protocol.components().size(); ++ci) {
    const Component& c = protocol.components()[ci];
    const std::string p = "/components/" + detail::escape_pointer_token(c.name);
    const auto idx = model.find_input(c.name);
    if (!idx) {
      if (c.optional) continue;
      throw ProtocolError("the model '" + model.name() + "' has no input '" + c.name +
                              "' (inputs: " + detail::join_names(inputs) +
                              "); mark the component \"optional\": true to allow it",
                          src, p);
    }
    const InputInfo& in = inputs[*idx];
    if (in.unit.empty() && !c.unit.empty())
      throw ProtocolError("the model input '" + c.name + "' has no unit, so the component's "
                          "unit must be empty too, got '" + c.unit + "'", src, p + "/unit");
    const double conc = in_input_unit(c.concentration, c.unit, c, in, src, p + "/unit");
    out.input_of[ci] = *idx;
    const double decay = c.half_life ? std::log(2.0) / *c.half_life : 0.0;
    out.drives.push_back({*idx, conc, c.from, c.until, decay});
  }
  return out;
}

// Media changes, then additions (an addition on a change day comes after it). The days of
// additions of unused optional components go to `idle_days`: they are still breakpoints
// (docs/formats/protocol.md: every addition is one), so the segments do not depend on the model.
std::vector<Event> collect_events(const Protocol& protocol, const Model& model,
                                  const BoundComponents& bound, std::vector<double>& idle_days) {
  std::vector<Event> events;
  for (double d : protocol.media_change_days()) events.push_back({d, Event::MediaChange});
  for (std::size_t ai = 0; ai < protocol.additions().size(); ++ai) {
    const Addition& a = protocol.additions()[ai];
    const int ci = protocol.find_component(a.component);  // exists: a Protocol invariant
    const auto& input = bound.input_of[static_cast<std::size_t>(ci)];
    if (!input) {
      idle_days.push_back(a.day);
      continue;
    }
    const Component& c = protocol.components()[static_cast<std::size_t>(ci)];
    const std::string& unit = a.unit.empty() ? c.unit : a.unit;
    const double amount = in_input_unit(a.concentration, unit, c, model.inputs()[*input],
                                        protocol.source(),
                                        "/additions/" + std::to_string(ai) + "/unit");
    events.push_back({a.day, Event::Add, *input, amount});
  }
  return events;
}

BoundPerturbation bind_perturbation(const Perturbation& pt, const Model& model,
                                    const std::string& src, const std::string& pointer,
                                    bool overlay) {
  const std::string origin = overlay ? "model overlay " : "";
  std::optional<std::size_t> idx;
  if (pt.kind == PerturbationKind::Parameter) {
    idx = model.find_parameter(pt.target);
    if (!idx)
      throw ProtocolError(origin + "parameter '" + pt.target + "': the model '" + model.name() +
                              "' has no such parameter (parameters: " +
                              detail::join_names(model.parameters()) + ")",
                          src, pointer);
  } else {
    idx = model.find_species(pt.target);
    if (!idx)
      throw ProtocolError(origin + to_string(pt.kind) + " '" + pt.target + "': the model '" +
                              model.name() + "' has no such species (species: " +
                              detail::join_names(model.species()) + ")",
                          src, pointer);
  }
  if (!std::isfinite(pt.value))
    throw ProtocolError("perturbation value must be finite", src, pointer);
  return {pt, *idx};
}

// The model's overlays first, then the protocol's own. Overlays keep their own windows
// (Model.knockout gives [0, inf)); a window reaching past this protocol's end ends with the run.
std::vector<BoundPerturbation> bind_perturbations(const Protocol& protocol, const Model& model) {
  std::vector<BoundPerturbation> out;
  for (const auto& pt : model.overlays())
    out.push_back(bind_perturbation(pt, model, protocol.source(), "", true));
  for (std::size_t i = 0; i < protocol.perturbations().size(); ++i) {
    const Perturbation& pt = protocol.perturbations()[i];
    out.push_back(bind_perturbation(
        pt, model, protocol.source(),
        "/perturbations/" + std::to_string(i) + "/" + to_string(pt.kind), false));
  }
  return out;
}

/// The breakpoints of a run: sorted, times closer than `tol` merged into one.
struct Breakpoints {
  std::vector<double> times;
  double duration, tol;

  // A time lies in the breakpoint it was merged into: the last one not above t + tol.
  std::size_t index(double t) const {
    if (!(t < duration + tol)) return times.size() - 1;  // includes until = forever
    const auto it = std::upper_bound(times.begin(), times.end(), t + tol);
    return static_cast<std::size_t>(it - times.begin()) - 1;
  }
};

// 0, duration, every event and idle addition day, and every perturbation boundary inside the
// run, merged; the ends of the run stay exact.
Breakpoints make_breakpoints(double duration, const std::vector<Event>& events,
                             std::vector<double> times,
                             const std::vector<BoundPerturbation>& perts,
                             const std::string& src) {
  Breakpoints bp{{}, duration, 1e-12 * duration};
  times.push_back(0.0);
  times.push_back(duration);
  for (const auto& e : events) times.push_back(e.time);
  for (const auto& b : perts)
    for (double t : {b.pert.from, b.pert.until})
      if (std::isfinite(t) && t > 0 && t < duration) times.push_back(t);
  std::sort(times.begin(), times.end());
  for (double t : times) {
    if (t < -bp.tol || t > duration + bp.tol || !std::isfinite(t))
      throw ProtocolError("event at day " + detail::format_exact(t) +
                              " lies outside [0, duration]", src);
    if (!bp.times.empty() && t - bp.times.back() < bp.tol) {
      if (t == duration) bp.times.back() = duration;
      continue;
    }
    bp.times.push_back(t);
  }
  return bp;
}

// Per breakpoint: media changes first, then additions (a spike after that day's feed).
void order_events(std::vector<Event>& events, const Breakpoints& bp) {
  for (auto& e : events) e.segment = bp.index(e.time);
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    if (a.segment != b.segment) return a.segment < b.segment;
    return a.kind == Event::MediaChange && b.kind == Event::Add;
  });
}

// The knockouts, clamps and parameter overrides whose window covers segment s.
void add_perturbations(Segment& seg, std::size_t s, const std::vector<BoundPerturbation>& perts,
                       const Breakpoints& bp) {
  for (const auto& b : perts) {
    const std::size_t first = bp.index(b.pert.from);
    const std::size_t last = bp.index(b.pert.until);  // exclusive
    if (s < first || s >= last) continue;
    if (b.pert.kind == PerturbationKind::Parameter)
      seg.overrides.push_back({b.index, b.pert.value, b.pert.scale});
    else
      seg.clamps.push_back(
          {b.index, b.pert.kind == PerturbationKind::Knockout ? 0.0 : b.pert.value});
  }
}

/// The input concentrations, carried across media changes and additions segment by segment.
class InputCarrier {
 public:
  InputCarrier(const Model& model, const std::vector<Drive>& drives, double replace_fraction,
               double tol)
      : drives_(drives), f_(replace_fraction), tol_(tol) {
    const auto& inputs = model.inputs();
    value_.resize(inputs.size());
    rate_.assign(inputs.size(), 0.0);
    for (std::size_t k = 0; k < inputs.size(); ++k) value_[k] = inputs[k].default_value;
    for (const auto& d : drives_) {
      value_[d.input] = fresh(d, 0.0);  // day 0: fresh medium
      rate_[d.input] = d.decay;
    }
  }
  void decay(double dt) {
    for (const auto& d : drives_) value_[d.input] *= std::exp(-d.decay * dt);
  }
  void apply(const Event& e) {
    if (e.kind == Event::MediaChange) {
      for (const auto& d : drives_)
        value_[d.input] = (1.0 - f_) * value_[d.input] + f_ * fresh(d, e.time);
    } else {
      value_[e.input] += e.amount;
    }
  }
  const std::vector<double>& value() const { return value_; }
  const std::vector<double>& rate() const { return rate_; }

 private:
  // What a fresh medium on `day` holds of the drive's component.
  double fresh(const Drive& d, double day) const {
    return (day >= d.from - tol_ && day < d.until - tol_) ? d.concentration : 0.0;
  }
  const std::vector<Drive>& drives_;
  double f_, tol_;
  std::vector<double> value_, rate_;
};

// One Segment per pair of consecutive breakpoints. Events at the very end (a change or
// addition on the last day) have no segment to affect.
std::vector<Segment> walk_segments(InputCarrier& carrier, const std::vector<Event>& events,
                                   const std::vector<BoundPerturbation>& perts,
                                   const Breakpoints& bp) {
  std::vector<Segment> segments;
  segments.reserve(bp.times.size() - 1);
  std::size_t next_event = 0;
  for (std::size_t s = 0; s + 1 < bp.times.size(); ++s) {
    if (s > 0) carrier.decay(bp.times[s] - bp.times[s - 1]);
    for (; next_event < events.size() && events[next_event].segment == s; ++next_event)
      carrier.apply(events[next_event]);
    Segment seg;
    seg.start = bp.times[s];
    seg.end = bp.times[s + 1];
    seg.start_value = carrier.value();
    seg.decay_rate = carrier.rate();
    add_perturbations(seg, s, perts, bp);
    segments.push_back(std::move(seg));
  }
  return segments;
}

}  // namespace

Schedule::Schedule(const Protocol& protocol, const Model& model)
    : duration_(protocol.duration()) {
  const BoundComponents bound = bind_components(protocol, model);
  media_change_days_ = protocol.media_change_days();
  std::vector<double> idle_days;
  std::vector<Event> events = collect_events(protocol, model, bound, idle_days);
  const std::vector<BoundPerturbation> perts = bind_perturbations(protocol, model);
  const Breakpoints bp =
      make_breakpoints(duration_, events, std::move(idle_days), perts, protocol.source());
  order_events(events, bp);
  InputCarrier carrier(model, bound.drives, protocol.replace_fraction(), bp.tol);
  segments_ = walk_segments(carrier, events, perts, bp);
  breakpoints_ = bp.times;
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

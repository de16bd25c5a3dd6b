// Events during a simulation: firing, delays, priorities, persistence and the sensitivity jump
// conditions (docs/integration.md#events). The driver (simulate.cpp) decides where to stop.
#include "solver/events.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "osteogrn/detail/text_util.hpp"
#include "osteogrn/errors.hpp"

namespace osteogrn::detail {

namespace {

// Events executed at one instant before the run is declared stuck (an event whose assignment
// re-triggers itself without end).
constexpr long kMaxEventsPerInstant = 100000;

std::size_t work_size(const CompiledModel& cm) {
  std::size_t w = 1;
  for (const Tape* t : {&cm.ev_trigger, &cm.ev_delay, &cm.ev_priority, &cm.ev_assign, &cm.ev_roots,
                        &cm.ev_root_times, &cm.ev_roots_jac_y, &cm.ev_roots_jac_p,
                        &cm.ev_roots_jac_u, &cm.ev_roots_dt, &cm.ev_assign_jac_y,
                        &cm.ev_assign_jac_p, &cm.ev_assign_jac_u, &cm.ev_assign_dt})
    w = std::max(w, t->work_size());
  return w;
}

// How far past a root the triggers are looked at to see which way they went (a comparison
// that is exactly 0 at the root, like t > 5 at t = 5, has its new value just after it).
double nudge(double t) { return 1e-10 * std::max(1.0, std::abs(t)); }

}  // namespace

EventHandler::EventHandler(const CompiledModel& cm, EventSystem& system, std::size_t m)
    : cm_(cm), system_(system), n_(cm.species.size()), m_(m), n_events_(cm.event_specs.size()),
      n_roots_(cm.event_roots.size()), u_(cm.inputs.size()), dudt_(cm.inputs.size()), f_(n_),
      y_after_(n_), work_(work_size(cm)), trig_exact_(n_events_), trig_after_(n_events_),
      priority_(n_events_), assign_(cm.ev_assign.n_outputs()),
      root_times_(cm.ev_root_times.n_outputs()), roots_(n_roots_), prev_(n_events_, 0),
      last_(n_events_, 0), rng_(0x05EED5B1u),
      dtau_(m), z_(m * n_) {
  if (m_ > 0) {
    for (std::size_t e = 0; e < n_events_; ++e)
      if (cm.event_specs[e].has_delay)
        throw OptionError("forward sensitivities across delayed events are not supported: event '" +
                          cm.events[e].name + "' of model '" + cm.name + "' has a delay");
    gy_.resize(cm.ev_roots_jac_y.n_outputs());
    gp_.resize(cm.ev_roots_jac_p.n_outputs());
    gu_.resize(cm.ev_roots_jac_u.n_outputs());
    gt_.resize(cm.ev_roots_dt.n_outputs());
    hy_.resize(cm.ev_assign_jac_y.n_outputs());
    hp_.resize(cm.ev_assign_jac_p.n_outputs());
    hu_.resize(cm.ev_assign_jac_u.n_outputs());
    ht_.resize(cm.ev_assign_dt.n_outputs());
  }
}

void EventHandler::inputs_at(double t) { system_.event_inputs(t, u_.data()); }

EvalArgs EventHandler::at(double t, const double* y) {
  inputs_at(t);
  EvalArgs a;
  a.y = y;
  a.p = system_.event_parameters();
  a.u = u_.data();
  a.t = t;
  return a;
}

void EventHandler::bind() {
  if (root_times_.empty()) return;
  // The time-only roots depend on parameters alone: t - g/g' evaluated anywhere (at t = 0).
  const std::vector<double> zero_y(std::max<std::size_t>(n_, 1), 0.0),
      zero_u(std::max<std::size_t>(u_.size(), 1), 0.0);
  EvalArgs a;
  a.y = zero_y.data();
  a.p = system_.event_parameters();
  a.u = zero_u.data();
  a.t = 0.0;
  cm_.ev_root_times.eval(a, root_times_.data(), work_.data());
}

void EventHandler::state_roots(double t, const double* y, double* g) {
  const EvalArgs a = at(t, y);
  cm_.ev_roots.eval(a, roots_.data(), work_.data());
  std::copy(roots_.begin(), roots_.begin() + static_cast<std::ptrdiff_t>(cm_.n_state_roots), g);
}

double EventHandler::next_stop(double t, double limit) const {
  double stop = limit;
  for (const Pending& p : pending_)
    if (p.time > t && p.time < stop) stop = p.time;
  for (double r : root_times_)
    if (r > t && r < stop) stop = r;
  return stop;
}

void EventHandler::start() {
  for (std::size_t e = 0; e < n_events_; ++e) prev_[e] = cm_.event_specs[e].initial_value ? 1 : 0;
  pending_.clear();
}

// Trigger values at t (trig_exact_) and just after t along the flow (trig_after_).
void EventHandler::evaluate_triggers(double t, const double* y) {
  cm_.ev_trigger.eval(at(t, y), trig_exact_.data(), work_.data());
  system_.event_rhs(t, y, f_.data());
  const double d = nudge(t);
  for (std::size_t i = 0; i < n_; ++i) y_after_[i] = y[i] + d * f_[i];
  cm_.ev_trigger.eval(at(t + d, y_after_.data()), trig_after_.data(), work_.data());
  inputs_at(t);
}

// Fires the events whose trigger turned true at t: true at t or just after it (cur_), having
// been false before (last_: the value before the instant, then the value after each
// execution within it); cancels pending non-persistent events whose trigger is false.
void EventHandler::update_triggers(double t, const double* y) {
  evaluate_triggers(t, y);
  for (std::uint32_t e = 0; e < n_events_; ++e) {
    const bool cur = trig_exact_[e] != 0.0 || trig_after_[e] != 0.0;
    if (!last_[e] && cur) schedule(e, t, y);
    if (!cur && !cm_.event_specs[e].persistent)
      pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                    [&](const Pending& p) { return p.event == e; }),
                     pending_.end());
    last_[e] = cur ? 1 : 0;
  }
}

void EventHandler::schedule(std::uint32_t e, double t, const double* y) {
  const CompiledEvent& ce = cm_.event_specs[e];
  Pending p;
  p.time = t;
  p.event = e;
  p.seq = seq_++;
  if (ce.has_delay) {
    const EvalArgs a = at(t, y);
    std::vector<double> delays(n_events_);
    cm_.ev_delay.eval(a, delays.data(), work_.data());
    const double d = delays[e];
    if (!(std::isfinite(d) && d >= 0.0))
      throw SolverError(ReturnCode::other,
                        "event '" + cm_.events[e].name + "' has the delay " + format_short(d) +
                            " (a delay must be a finite number >= 0)",
                        t, "EVENT_DELAY");
    p.time = t + d;
  }
  if (ce.use_values_from_trigger_time)
    assigned_values(e, t, y, p.values, m_ ? &p.dvalues : nullptr);
  pending_.push_back(std::move(p));
}

// The values event e assigns at (t, y), and (dv) their total derivatives with respect to θ:
// dv = H_y Z + H_p dp/dθ + (∂H/∂t + H_u u') dτ, Z = dy(τ)/dθ along the instant.
void EventHandler::assigned_values(std::uint32_t e, double t, const double* y,
                                   std::vector<double>& v, std::vector<double>* dv) {
  const CompiledEvent& ce = cm_.event_specs[e];
  const std::size_t na = ce.targets.size(), first = ce.first_assignment;
  const EvalArgs a = at(t, y);
  cm_.ev_assign.eval(a, assign_.data(), work_.data());
  v.assign(assign_.begin() + static_cast<std::ptrdiff_t>(first),
           assign_.begin() + static_cast<std::ptrdiff_t>(first + na));
  if (!dv || m_ == 0) return;
  dv->assign(m_ * na, 0.0);
  cm_.ev_assign_jac_y.eval(a, hy_.data(), work_.data());
  cm_.ev_assign_jac_p.eval(a, hp_.data(), work_.data());
  cm_.ev_assign_jac_u.eval(a, hu_.data(), work_.data());
  cm_.ev_assign_dt.eval(a, ht_.data(), work_.data());
  system_.event_input_rates(t, dudt_.data());
  auto row_of = [&](std::uint32_t r) -> long {
    return r >= first && r < first + na ? static_cast<long>(r - first) : -1;
  };
  const auto& py = cm_.ev_assign_jac_y_pattern;
  for (std::size_t k = 0; k < py.nnz(); ++k) {
    const long r = row_of(py.rows[k]);
    if (r < 0) continue;
    for (std::size_t j = 0; j < m_; ++j)
      (*dv)[j * na + static_cast<std::size_t>(r)] += hy_[k] * z_[j * n_ + py.cols[k]];
  }
  const auto& pp = cm_.ev_assign_jac_p_pattern;
  for (std::size_t k = 0; k < pp.nnz(); ++k) {
    const long r = row_of(pp.rows[k]);
    const long j = system_.sensitivity_slot(pp.cols[k]);
    if (r < 0 || j < 0) continue;
    (*dv)[static_cast<std::size_t>(j) * na + static_cast<std::size_t>(r)] +=
        hp_[k] * system_.dp_dtheta(static_cast<std::size_t>(j));
  }
  std::vector<double> rate(na, 0.0);
  for (std::size_t r = 0; r < na; ++r) rate[r] = ht_[first + r];
  const auto& pu = cm_.ev_assign_jac_u_pattern;
  for (std::size_t k = 0; k < pu.nnz(); ++k) {
    const long r = row_of(pu.rows[k]);
    if (r >= 0) rate[static_cast<std::size_t>(r)] += hu_[k] * dudt_[pu.cols[k]];
  }
  for (std::size_t j = 0; j < m_; ++j)
    for (std::size_t r = 0; r < na; ++r) (*dv)[j * na + r] += rate[r] * dtau_[j];
}

// dτ/dθ of the instant from the root the integrator stopped at (or the time-only root at t):
// g(y(τ), θ, τ) = 0 gives dτ/dθ = -(g_y s + g_p dp/dθ) / (g_y f + ∂g/∂t + g_u u'). Instants
// that no root located (t = 0, protocol breakpoints, a scheduled time) have dτ/dθ = 0.
void EventHandler::event_time_derivatives(double t, const double* y, const double* s,
                                          const int* found) {
  std::fill(dtau_.begin(), dtau_.end(), 0.0);
  long root = -1;
  if (found)
    for (std::size_t r = 0; r < cm_.n_state_roots && root < 0; ++r)
      if (found[r] != 0) root = static_cast<long>(r);
  for (std::size_t r = cm_.n_state_roots; r < n_roots_ && root < 0; ++r) {
    const double tr = root_times_[r - cm_.n_state_roots];
    if (std::abs(tr - t) <= 1e-12 * std::max(1.0, std::abs(t))) root = static_cast<long>(r);
  }
  if (root < 0) return;
  const EvalArgs a = at(t, y);
  cm_.ev_roots_jac_y.eval(a, gy_.data(), work_.data());
  cm_.ev_roots_jac_p.eval(a, gp_.data(), work_.data());
  cm_.ev_roots_jac_u.eval(a, gu_.data(), work_.data());
  cm_.ev_roots_dt.eval(a, gt_.data(), work_.data());
  system_.event_input_rates(t, dudt_.data());
  system_.event_rhs(t, y, f_.data());
  const auto r = static_cast<std::uint32_t>(root);
  double den = gt_[r];
  std::vector<double> num(m_, 0.0);
  const auto& py = cm_.ev_roots_jac_y_pattern;
  for (std::size_t k = 0; k < py.nnz(); ++k) {
    if (py.rows[k] != r) continue;
    den += gy_[k] * f_[py.cols[k]];
    for (std::size_t j = 0; j < m_; ++j) num[j] += gy_[k] * s[j * n_ + py.cols[k]];
  }
  const auto& pp = cm_.ev_roots_jac_p_pattern;
  for (std::size_t k = 0; k < pp.nnz(); ++k) {
    const long j = system_.sensitivity_slot(pp.cols[k]);
    if (pp.rows[k] == r && j >= 0)
      num[static_cast<std::size_t>(j)] += gp_[k] * system_.dp_dtheta(static_cast<std::size_t>(j));
  }
  const auto& pu = cm_.ev_roots_jac_u_pattern;
  for (std::size_t k = 0; k < pu.nnz(); ++k)
    if (pu.rows[k] == r) den += gu_[k] * dudt_[pu.cols[k]];
  if (!(std::isfinite(den) && den != 0.0))
    throw SolverError(ReturnCode::other,
                      "forward sensitivities: a trigger of event '" +
                          cm_.events[cm_.event_roots[r].events.front()].name +
                          "' touches its threshold without crossing it (d/dt of the condition is "
                          "0), so the event time has no derivative",
                      t, "EVENT_SENSITIVITY");
  for (std::size_t j = 0; j < m_; ++j) dtau_[j] = -num[j] / den;
}

bool EventHandler::process(double t, double* y, double* s, const int* found) {
  if (n_events_ == 0) return false;
  if (m_) {
    event_time_derivatives(t, y, s, found);
    system_.event_rhs(t, y, f_.data());
    for (std::size_t j = 0; j < m_; ++j)
      for (std::size_t i = 0; i < n_; ++i) z_[j * n_ + i] = s[j * n_ + i] + f_[i] * dtau_[j];
  }
  last_ = prev_;
  update_triggers(t, y);
  bool changed = false;
  long executed = 0;
  std::vector<double> values, dvalues;
  while (true) {
    // The due event of highest priority (evaluated now); without a priority after those with
    // one, in the order they fired; equal priorities in random order (SBML), drawn from a
    // generator seeded per simulation so that a run reproduces.
    long best = -1;
    bool priorities_known = false;
    ties_.clear();
    for (std::size_t k = 0; k < pending_.size(); ++k) {
      if (pending_[k].time > t) continue;
      if (best < 0) {
        best = static_cast<long>(k);
        ties_.assign(1, k);
        continue;
      }
      if (!priorities_known) {
        const EvalArgs a = at(t, y);
        cm_.ev_priority.eval(a, priority_.data(), work_.data());
        priorities_known = true;
      }
      const Pending& c = pending_[k];
      const Pending& b = pending_[static_cast<std::size_t>(best)];
      const bool ch = cm_.event_specs[c.event].has_priority,
                 bh = cm_.event_specs[b.event].has_priority;
      const double cp = priority_[c.event], bp = priority_[b.event];
      if ((ch && !bh) || (ch && bh && cp > bp)) {
        best = static_cast<long>(k);
        ties_.assign(1, k);
      } else if (ch && bh && cp == bp) {
        ties_.push_back(k);
      } else if (!ch && !bh && c.seq < b.seq) {
        best = static_cast<long>(k);
      }
    }
    if (best >= 0 && ties_.size() > 1 && cm_.event_specs[pending_[ties_[0]].event].has_priority) {
      std::uniform_int_distribution<std::size_t> pick(0, ties_.size() - 1);
      best = static_cast<long>(ties_[pick(rng_)]);
    }
    if (best < 0) break;
    if (++executed > kMaxEventsPerInstant)
      throw SolverError(ReturnCode::other,
                        "events fired more than " + std::to_string(kMaxEventsPerInstant) +
                            " times at one instant (an event re-triggers itself without end; "
                            "last: '" + cm_.events[pending_[static_cast<std::size_t>(best)].event].name +
                            "')",
                        t, "EVENT_LOOP");
    Pending p = std::move(pending_[static_cast<std::size_t>(best)]);
    pending_.erase(pending_.begin() + best);
    const CompiledEvent& ce = cm_.event_specs[p.event];
    if (ce.use_values_from_trigger_time) {
      values = std::move(p.values);
      dvalues = std::move(p.dvalues);
    } else {
      assigned_values(p.event, t, y, values, m_ ? &dvalues : nullptr);
    }
    const std::size_t na = ce.targets.size();
    for (std::size_t k = 0; k < na; ++k) {
      if (!std::isfinite(values[k]))
        throw SolverError(ReturnCode::non_finite,
                          "event '" + cm_.events[p.event].name + "' assigns the non-finite value " +
                              format_short(values[k]) + " to " + cm_.species[ce.targets[k]].name,
                          t, "EVENT_NONFINITE");
      y[ce.targets[k]] = values[k];
      for (std::size_t j = 0; j < m_; ++j) z_[j * n_ + ce.targets[k]] = dvalues[j * na + k];
    }
    changed = true;
    update_triggers(t, y);
  }
  // The triggers' values just after the instant, for the next one.
  for (std::size_t e = 0; e < n_events_; ++e) prev_[e] = trig_after_[e] != 0.0 ? 1 : 0;
  if (changed && m_) {
    system_.event_rhs(t, y, f_.data());
    for (std::size_t j = 0; j < m_; ++j)
      for (std::size_t i = 0; i < n_; ++i) s[j * n_ + i] = z_[j * n_ + i] - f_[i] * dtau_[j];
  }
  return changed;
}

}  // namespace osteogrn::detail

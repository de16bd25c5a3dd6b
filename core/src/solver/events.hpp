#pragma once
// Internal: model events during a simulation (docs/integration.md#events). The simulate() driver
// stops the integrator where a trigger can change (a root of the triggers' comparisons, a
// time-only comparison's breakpoint, a delayed execution, a protocol breakpoint) and hands the
// instant to EventHandler::process, which fires and executes events with SBML semantics and
// carries forward sensitivities across them (jump conditions).
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "osteogrn/detail/compiled_model.hpp"

namespace osteogrn::detail {

/// What the event handler needs from the ODE system of the current protocol segment.
class EventSystem {
 public:
  virtual ~EventSystem() = default;
  /// Inputs u(t) of the current segment.
  virtual void event_inputs(double t, double* u) = 0;
  /// du/dt of the current segment's inputs.
  virtual void event_input_rates(double t, double* dudt) = 0;
  /// dy/dt (held species 0), as the integrator sees it.
  virtual void event_rhs(double t, const double* y, double* f) = 0;
  /// Parameter values of the current segment.
  virtual const double* event_parameters() const = 0;
  /// Sensitivity slot j of parameter p (-1: none), and dp/dθ_j in the current segment.
  virtual long sensitivity_slot(std::size_t parameter) const = 0;
  virtual double dp_dtheta(std::size_t j) const = 0;
};

class EventHandler {
 public:
  /// m: number of forward sensitivities (0: none). OptionError if m > 0 and an event has a delay.
  EventHandler(const CompiledModel& cm, EventSystem& system, std::size_t m);

  std::size_t n_state_roots() const { return cm_.n_state_roots; }

  /// Enters a segment: binds the tapes to its parameters, computes the time-only roots' times.
  void bind();
  /// The state root functions at (t, y), for root finding (n_state_roots() values).
  void state_roots(double t, const double* y, double* g);
  /// Earliest pending execution or time-only root strictly after t, or `limit` if none is before.
  double next_stop(double t, double limit) const;
  /// Trigger values before t = 0 are the events' initial_value.
  void start();
  /// Handles the instant t: fires the events whose triggers turned true, executes those due
  /// (priority order, triggers re-evaluated after each), updates y (n values) and s (m·n
  /// values, s[j·n + i], may be null when m = 0). `found` (n_state_roots values, or null) says
  /// which state roots the integrator stopped at. Returns true if y (or s) changed.
  bool process(double t, double* y, double* s, const int* found);

 private:
  struct Pending {
    double time;
    std::uint32_t event;
    std::uint64_t seq;
    std::vector<double> values;   // at trigger time (use_values_from_trigger_time)
    std::vector<double> dvalues;  // their total derivatives d v / d θ_j, [j * targets + a]
  };
  void inputs_at(double t);
  /// Evaluation arguments at (t, y): the inputs of the current segment at t, its parameters.
  EvalArgs at(double t, const double* y);
  void evaluate_triggers(double t, const double* y);
  void update_triggers(double t, const double* y);
  void schedule(std::uint32_t e, double t, const double* y);
  void assigned_values(std::uint32_t e, double t, const double* y, std::vector<double>& v,
                       std::vector<double>* dv);
  void event_time_derivatives(double t, const double* y, const double* s, const int* found);

  const CompiledModel& cm_;
  EventSystem& system_;
  std::size_t n_, m_, n_events_, n_roots_;
  std::vector<double> u_, dudt_, f_, y_after_, work_, scratch_;
  std::vector<double> trig_exact_, trig_after_, priority_, assign_, root_times_, roots_;
  std::vector<char> prev_, last_;  // trigger just after the last instant; within this one
  std::vector<std::size_t> ties_;
  std::mt19937_64 rng_;
  std::vector<Pending> pending_;
  std::uint64_t seq_ = 0;
  // Sensitivities at the instant: dτ/dθ_j and Z = s + f·dτ (total derivatives of y(τ)).
  std::vector<double> dtau_, z_;
  std::vector<double> gy_, gp_, gu_, gt_, hy_, hp_, hu_, ht_;
};

}  // namespace osteogrn::detail

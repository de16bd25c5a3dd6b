#pragma once
// Internal: what a loaded model compiles to. Shared (immutable) by every Model copy.
#include <cstdint>
#include <string>
#include <vector>

#include "osteogrn/expression.hpp"
#include "osteogrn/model.hpp"

namespace osteogrn::detail {

/// Coordinates of the structurally non-zero entries of a sparse derivative matrix; entry k of
/// the matching tape's output is at (rows[k], cols[k]). Sorted by column, then row (CSC order).
struct SparsePattern {
  std::vector<std::uint32_t> rows, cols;
  std::size_t nnz() const { return rows.size(); }
};

/// One event, compiled: its outputs in the event tapes of CompiledModel.
struct CompiledEvent {
  bool has_delay = false, has_priority = false;
  bool persistent = true, initial_value = true, use_values_from_trigger_time = true;
  std::vector<std::uint32_t> targets;  // species indices, in assignment order
  std::size_t first_assignment = 0;    // index of its first value in ev_assign's outputs
};

/// A root function of the event triggers: g = a - b of a comparison a < b (etc.) in a trigger,
/// or an operand of and/or/not that is itself a number. A trigger can change value only where
/// one of its roots crosses zero (or where an input jumps, at a protocol breakpoint).
struct EventRoot {
  std::vector<std::uint32_t> events;  // the events whose triggers hold it
  /// Linear in t alone (g = d·t + c(p)): located exactly as a breakpoint instead of by root
  /// finding; its time is output k - n_state_roots of ev_root_times.
  bool time_only = false;
};

struct CompiledModel {
  // Metadata, as Model exposes it.
  std::string name, description, time_unit;
  std::vector<std::string> modules;
  std::map<std::string, std::string> references;
  std::vector<SpeciesInfo> species;
  std::vector<ParameterInfo> parameters;
  std::vector<InputInfo> inputs;
  std::vector<ExpressionInfo> expressions;
  std::vector<ObservableInfo> observables;
  std::string flattened_json;  // self-contained model JSON (without overlays / new values)

  // Resolved expressions (leaves are Species/Parameter/Input/Time; named expressions inlined).
  std::vector<Expr> ode;          // one per species
  std::vector<Expr> observable;   // one per observable

  // Compiled tapes. Each eval takes EvalArgs{y, p, u, t}.
  Tape rhs;                 // n_species outputs
  Tape jac_y;               // ∂f/∂y, jac_y_pattern.nnz() outputs
  SparsePattern jac_y_pattern;
  Tape jac_p;               // ∂f/∂p
  SparsePattern jac_p_pattern;
  Tape jac_u;               // ∂f/∂u (for ∂f/∂t through decaying inputs)
  SparsePattern jac_u_pattern;
  Tape dfdt;                // explicit ∂f/∂t (terms in the symbol t), n_species outputs
  Tape obs;                 // n_observables outputs
  Tape obs_jac_y;           // ∂g/∂y of observables
  SparsePattern obs_jac_y_pattern;
  Tape obs_jac_p;           // ∂g/∂p of observables
  SparsePattern obs_jac_p_pattern;

  // Initial values as functions of the parameters (species named in an initial expression are
  // replaced by their own initial expressions). Empty tapes when every initial is a number.
  bool has_initial_expressions = false;
  Tape init;                // n_species outputs
  Tape init_jac_p;          // d x0 / d p
  SparsePattern init_jac_p_pattern;

  // Events. Roots are ordered state roots first (root finding), then time-only roots.
  std::vector<EventInfo> events;
  std::vector<CompiledEvent> event_specs;
  std::vector<EventRoot> event_roots;
  std::size_t n_state_roots = 0;
  Tape ev_trigger;          // one output per event: 1 (true) or 0
  Tape ev_delay;            // one per event (0 without a delay)
  Tape ev_priority;         // one per event (0 without a priority)
  Tape ev_assign;           // the assigned values, events in order
  Tape ev_roots;            // every root g, event_roots order
  Tape ev_root_times;       // the time of each time-only root (depends on parameters only)
  // For forward sensitivities across events: ∂/∂y, ∂/∂p, ∂/∂u and explicit ∂/∂t of the roots
  // and of the assigned values.
  Tape ev_roots_jac_y, ev_roots_jac_p, ev_roots_jac_u, ev_roots_dt;
  SparsePattern ev_roots_jac_y_pattern, ev_roots_jac_p_pattern, ev_roots_jac_u_pattern;
  Tape ev_assign_jac_y, ev_assign_jac_p, ev_assign_jac_u, ev_assign_dt;
  SparsePattern ev_assign_jac_y_pattern, ev_assign_jac_p_pattern, ev_assign_jac_u_pattern;

  /// Largest work_size() over all tapes: one scratch buffer of this size serves them all.
  std::size_t max_work_size = 0;
};

}  // namespace osteogrn::detail

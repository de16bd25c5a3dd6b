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

  /// Largest work_size() over all tapes: one scratch buffer of this size serves them all.
  std::size_t max_work_size = 0;
};

}  // namespace osteogrn::detail

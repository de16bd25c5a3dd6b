// Composition -> CompiledModel: resolve names to indexed leaves, inline named expressions,
// simplify, differentiate symbolically and compile every tape with its sparse pattern.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "model/model_loader.hpp"
#include "osteogrn/detail/expression_node.hpp"
#include "osteogrn/errors.hpp"

namespace osteogrn::detail {
namespace {

// The leaves one resolved expression depends on. Collected once per expression by a walk over
// its DAG (each shared node visited once), so that a 1000-species model only differentiates
// the (row, column) pairs that can be non-zero.
struct Leaves {
  std::vector<std::uint32_t> species, parameters, inputs;
  bool time = false;
};

Leaves collect_leaves(const Expr& e) {
  Leaves out;
  std::unordered_set<const Node*> seen;
  std::set<std::uint32_t> y, p, u;
  std::vector<const Node*> todo{e.node().get()};
  while (!todo.empty()) {
    const Node* n = todo.back();
    todo.pop_back();
    if (!seen.insert(n).second) continue;
    switch (n->op) {
      case Op::Species: y.insert(n->index); break;
      case Op::Parameter: p.insert(n->index); break;
      case Op::Input: u.insert(n->index); break;
      case Op::Time: out.time = true; break;
      default: break;
    }
    for (const auto& a : n->args) todo.push_back(a.get());
  }
  out.species.assign(y.begin(), y.end());
  out.parameters.assign(p.begin(), p.end());
  out.inputs.assign(u.begin(), u.end());
  return out;
}

// Differentiates rows w.r.t. the leaves each depends on; keeps structural non-zeros in CSC
// order (column, then row) and compiles them into one tape.
void build_sparse(const std::vector<Expr>& rows, const std::vector<Leaves>& leaves, Op leaf,
                  Tape& tape, SparsePattern& pattern) {
  std::vector<std::tuple<std::uint32_t, std::uint32_t, Expr>> entries;  // col, row, d
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& cols = leaf == Op::Species     ? leaves[i].species
                       : leaf == Op::Parameter ? leaves[i].parameters
                                               : leaves[i].inputs;
    for (std::uint32_t j : cols) {
      Expr d = differentiate(rows[i], leaf, j);
      if (!is_zero(d)) entries.emplace_back(j, static_cast<std::uint32_t>(i), std::move(d));
    }
  }
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a)) < std::tie(std::get<0>(b), std::get<1>(b));
  });
  std::vector<Expr> outputs;
  outputs.reserve(entries.size());
  pattern.rows.clear();
  pattern.cols.clear();
  for (auto& [c, r, d] : entries) {
    pattern.rows.push_back(r);
    pattern.cols.push_back(c);
    outputs.push_back(std::move(d));
  }
  tape = Tape::compile(outputs);
}

}  // namespace

std::shared_ptr<const CompiledModel> compile_composition(Composition&& c) {
  auto m = std::make_shared<CompiledModel>();
  m->name = std::move(c.name);
  m->description = std::move(c.description);
  m->time_unit = std::move(c.time_unit);
  m->modules = std::move(c.modules);
  m->references = std::move(c.references);
  m->species = std::move(c.species);
  m->parameters = std::move(c.parameters);
  m->inputs = std::move(c.inputs);
  m->observables = std::move(c.observable_info);
  m->flattened_json = std::move(c.flattened_json);

  // Leaves by name. Bound inputs are absent: their name is the species/expression they bind to.
  std::unordered_map<std::string, Expr> resolved;
  for (std::size_t i = 0; i < m->species.size(); ++i)
    resolved[m->species[i].name] = Expr::species(static_cast<std::uint32_t>(i), m->species[i].name);
  for (std::size_t i = 0; i < m->parameters.size(); ++i)
    resolved[m->parameters[i].name] =
        Expr::parameter(static_cast<std::uint32_t>(i), m->parameters[i].name);
  for (std::size_t i = 0; i < m->inputs.size(); ++i)
    resolved[m->inputs[i].name] = Expr::input(static_cast<std::uint32_t>(i), m->inputs[i].name);

  auto resolve_in = [&](const NamedExpr& e) {
    return substitute(e.expr, [&](const std::string& name) -> Expr {
      auto it = resolved.find(name);
      // The loader has checked every name; reaching this means an inconsistency in it.
      if (it == resolved.end())
        throw ModelError("internal: unresolved name '" + name + "'", e.file, e.pointer);
      return it->second;
    });
  };

  // Inlined trees share their dependencies' (already simplified) trees: one Simplifier and one
  // DepthMeter for the whole model, so that each shared node is simplified and measured once
  // (a chain of n named expressions costs O(n), not O(n^2)).
  Simplifier simplifier;
  DepthMeter meter;
  auto inline_named = [&](const NamedExpr& e) {
    Expr out = simplifier.run(resolve_in(e));
    const std::size_t d = meter.run(out);
    if (d > kMaxExpressionDepth)
      throw ModelError("expression nested " + std::to_string(d) +
                           " levels deep once named expressions are inlined (the limit is " +
                           std::to_string(kMaxExpressionDepth) + ")",
                       e.file, e.pointer);
    return out;
  };

  // Named expressions in dependency order; each is resolved once and shared by its users.
  std::map<std::string, std::set<std::string>> deps;
  std::map<std::string, const NamedExpr*> by_name;
  for (const NamedExpr& e : c.expressions) {
    deps[e.name] = referenced_names(e.expr);
    by_name[e.name] = &e;
  }
  std::vector<std::string> order;
  try {
    order = dependency_order(deps);
  } catch (const ModelError& err) {
    // Locate the cycle at the first expression it names ("cycle among expressions: a -> b -> a").
    const std::string& msg = err.message();
    const auto colon = msg.find(": ");
    std::string first = colon == std::string::npos ? std::string() : msg.substr(colon + 2);
    first = first.substr(0, first.find(' '));
    auto it = by_name.find(first);
    if (it != by_name.end()) throw ModelError(msg, it->second->file, it->second->pointer);
    throw ModelError(msg, c.file, "/expressions");
  }
  for (const std::string& name : order) {
    auto it = by_name.find(name);
    if (it == by_name.end()) continue;
    const NamedExpr& e = *it->second;
    resolved[name] = inline_named(e);
    m->expressions.push_back({e.name, e.text, e.module});
  }

  for (const NamedExpr& o : c.odes) m->ode.push_back(inline_named(o));
  for (const NamedExpr& o : c.observables) m->observable.push_back(inline_named(o));

  std::vector<Leaves> ode_leaves, obs_leaves;
  for (const Expr& e : m->ode) ode_leaves.push_back(collect_leaves(e));
  for (const Expr& e : m->observable) obs_leaves.push_back(collect_leaves(e));

  m->rhs = Tape::compile(m->ode);
  build_sparse(m->ode, ode_leaves, Op::Species, m->jac_y, m->jac_y_pattern);
  build_sparse(m->ode, ode_leaves, Op::Parameter, m->jac_p, m->jac_p_pattern);
  build_sparse(m->ode, ode_leaves, Op::Input, m->jac_u, m->jac_u_pattern);
  std::vector<Expr> dfdt;
  for (std::size_t i = 0; i < m->ode.size(); ++i)
    dfdt.push_back(ode_leaves[i].time ? differentiate(m->ode[i], Op::Time) : Expr::constant(0.0));
  m->dfdt = Tape::compile(dfdt);
  m->obs = Tape::compile(m->observable);
  build_sparse(m->observable, obs_leaves, Op::Species, m->obs_jac_y, m->obs_jac_y_pattern);
  build_sparse(m->observable, obs_leaves, Op::Parameter, m->obs_jac_p, m->obs_jac_p_pattern);

  for (const Tape* t : {&m->rhs, &m->jac_y, &m->jac_p, &m->jac_u, &m->dfdt, &m->obs,
                        &m->obs_jac_y, &m->obs_jac_p})
    m->max_work_size = std::max(m->max_work_size, t->work_size());
  return m;
}

}  // namespace osteogrn::detail

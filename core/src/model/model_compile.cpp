// Composition -> CompiledModel: resolve names to indexed leaves, inline named expressions,
// simplify, differentiate symbolically and compile every tape with its sparse pattern.
#include <algorithm>
#include <cmath>
#include <functional>
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

bool is_relation(Op op) {
  return op == Op::Lt || op == Op::Le || op == Op::Gt || op == Op::Ge || op == Op::Eq ||
         op == Op::Ne;
}
bool is_logical(Op op) { return is_relation(op) || op == Op::And || op == Op::Or || op == Op::Not; }

// The root functions of one trigger: a - b of every comparison in it, and every numeric
// operand of and/or/not (true where it is non-zero).
std::vector<Expr> trigger_roots(const Expr& trigger) {
  std::vector<Expr> out;
  std::unordered_set<const Node*> seen;
  std::vector<const Node*> todo{trigger.node().get()};
  while (!todo.empty()) {
    const Node* n = todo.back();
    todo.pop_back();
    if (!seen.insert(n).second) continue;
    if (is_relation(n->op)) {
      out.push_back(simplify(Expr::make(Op::Sub, {Expr(n->args[0]), Expr(n->args[1])})));
    } else if (n->op == Op::And || n->op == Op::Or || n->op == Op::Not) {
      for (const auto& a : n->args)
        if (!is_logical(a->op) && a->op != Op::Const) out.push_back(Expr(a));
    }
    for (const auto& a : n->args) todo.push_back(a.get());
  }
  return out;
}

// Compiles the events: triggers, delays, priorities, assigned values, the root functions of the
// triggers and, for sensitivities, the derivatives of roots and assigned values.
void compile_events(CompiledModel& m, const std::vector<EventDecl>& decls,
                    const std::function<Expr(const NamedExpr&)>& inline_named) {
  std::vector<Expr> triggers, delays, priorities, assigned;
  std::vector<Expr> state_roots, time_roots, time_points;
  std::vector<EventRoot> state_info, time_info;
  std::map<std::string, std::pair<bool, std::size_t>> root_index;  // text -> (time_only, k)
  std::unordered_map<std::string, std::uint32_t> species_index;
  for (std::size_t i = 0; i < m.species.size(); ++i)
    species_index[m.species[i].name] = static_cast<std::uint32_t>(i);
  for (std::size_t k = 0; k < decls.size(); ++k) {
    const EventDecl& d = decls[k];
    EventInfo info;
    info.name = d.name;
    info.trigger = d.trigger.text;
    info.delay = d.delay ? d.delay->text : "";
    info.priority = d.priority ? d.priority->text : "";
    info.description = d.description;
    info.module = d.module;
    info.persistent = d.persistent;
    info.initial_value = d.initial_value;
    info.use_values_from_trigger_time = d.use_values_from_trigger_time;
    CompiledEvent ce;
    ce.has_delay = d.delay.has_value();
    ce.has_priority = d.priority.has_value();
    ce.persistent = d.persistent;
    ce.initial_value = d.initial_value;
    ce.use_values_from_trigger_time = d.use_values_from_trigger_time;
    ce.first_assignment = assigned.size();
    for (const NamedExpr& a : d.assignments) {
      info.assignments.emplace_back(a.name, a.text);
      ce.targets.push_back(species_index.at(a.name));
      assigned.push_back(inline_named(a));
    }
    const Expr trig = inline_named(d.trigger);
    triggers.push_back(trig);
    delays.push_back(d.delay ? inline_named(*d.delay) : Expr::constant(0.0));
    priorities.push_back(d.priority ? inline_named(*d.priority) : Expr::constant(0.0));
    for (const Expr& g : trigger_roots(trig)) {
      const std::string key = to_string(g);
      auto it = root_index.find(key);
      if (it != root_index.end()) {
        auto& info_list = it->second.first ? time_info : state_info;
        auto& evs = info_list[it->second.second].events;
        if (evs.back() != k) evs.push_back(static_cast<std::uint32_t>(k));
        continue;
      }
      const Leaves lv = collect_leaves(g);
      bool time_only = false;
      if (lv.time && lv.species.empty() && lv.inputs.empty()) {
        const Expr dg = differentiate(g, Op::Time);
        time_only = dg.node()->op == Op::Const && dg.node()->value != 0.0 &&
                    std::isfinite(dg.node()->value);
        if (time_only)  // g = d·t + c: zero at t - g/d (the same at every t)
          time_points.push_back(simplify(Expr::make(Op::Sub, {Expr::time(),
                                                              Expr::make(Op::Div, {g, dg})})));
      }
      auto& list = time_only ? time_roots : state_roots;
      auto& infos = time_only ? time_info : state_info;
      root_index[key] = {time_only, list.size()};
      list.push_back(g);
      EventRoot r;
      r.events.push_back(static_cast<std::uint32_t>(k));
      r.time_only = time_only;
      infos.push_back(std::move(r));
    }
    m.events.push_back(std::move(info));
    m.event_specs.push_back(std::move(ce));
  }
  m.n_state_roots = state_roots.size();
  std::vector<Expr> roots = state_roots;
  roots.insert(roots.end(), time_roots.begin(), time_roots.end());
  m.event_roots = state_info;
  m.event_roots.insert(m.event_roots.end(), time_info.begin(), time_info.end());
  m.ev_trigger = Tape::compile(triggers);
  m.ev_delay = Tape::compile(delays);
  m.ev_priority = Tape::compile(priorities);
  m.ev_assign = Tape::compile(assigned);
  m.ev_roots = Tape::compile(roots);
  m.ev_root_times = Tape::compile(time_points);
  auto derivatives = [](const std::vector<Expr>& rows, Tape& jy, SparsePattern& py, Tape& jp,
                        SparsePattern& pp, Tape& ju, SparsePattern& pu, Tape& dt) {
    std::vector<Leaves> lv;
    for (const Expr& e : rows) lv.push_back(collect_leaves(e));
    build_sparse(rows, lv, Op::Species, jy, py);
    build_sparse(rows, lv, Op::Parameter, jp, pp);
    build_sparse(rows, lv, Op::Input, ju, pu);
    std::vector<Expr> d;
    for (std::size_t i = 0; i < rows.size(); ++i)
      d.push_back(lv[i].time ? differentiate(rows[i], Op::Time) : Expr::constant(0.0));
    dt = Tape::compile(d);
  };
  derivatives(roots, m.ev_roots_jac_y, m.ev_roots_jac_y_pattern, m.ev_roots_jac_p,
              m.ev_roots_jac_p_pattern, m.ev_roots_jac_u, m.ev_roots_jac_u_pattern, m.ev_roots_dt);
  derivatives(assigned, m.ev_assign_jac_y, m.ev_assign_jac_y_pattern, m.ev_assign_jac_p,
              m.ev_assign_jac_p_pattern, m.ev_assign_jac_u, m.ev_assign_jac_u_pattern,
              m.ev_assign_dt);
}

// Names of `items` in dependency order (each after the names it references), with each name's
// item. A cycle ("cycle among expressions: a -> b -> a" from dependency_order) is a ModelError
// located at the first item it names, else at fallback_file/fallback_pointer; a non-empty
// `cycle_prefix` replaces the message's own prefix before the cycle.
struct DependencyOrder {
  std::vector<std::string> order;
  std::map<std::string, const NamedExpr*> by_name;
};
DependencyOrder in_dependency_order(const std::vector<NamedExpr>& items,
                                    const std::string& cycle_prefix,
                                    const std::string& fallback_file,
                                    const std::string& fallback_pointer) {
  DependencyOrder out;
  std::map<std::string, std::set<std::string>> deps;
  for (const NamedExpr& e : items) {
    deps[e.name] = referenced_names(e.expr);
    out.by_name[e.name] = &e;
  }
  try {
    out.order = dependency_order(deps);
  } catch (const ModelError& err) {
    const std::string& msg = err.message();
    const auto colon = msg.find(": ");
    const std::string cycle = colon == std::string::npos ? std::string() : msg.substr(colon + 2);
    const std::string first = cycle.substr(0, cycle.find(' '));
    const std::string text = cycle_prefix.empty() ? msg : cycle_prefix + cycle;
    auto it = out.by_name.find(first);
    if (it != out.by_name.end()) throw ModelError(text, it->second->file, it->second->pointer);
    throw ModelError(text, fallback_file, fallback_pointer);
  }
  return out;
}

// Initial values that are expressions: each becomes a function of the parameters alone (a
// species it names is replaced by that species' own initial value, number or expression), is
// compiled with its parameter derivatives, and is valued at the file's parameter values.
void compile_initials(CompiledModel& m, const std::vector<NamedExpr>& initials,
                      const std::string& root_file, Simplifier& simplifier, DepthMeter& meter) {
  if (initials.empty()) return;
  const auto [order, by_name] = in_dependency_order(
      initials, "cycle among species initial values: ", root_file, "/species");
  std::unordered_map<std::string, Expr> x0;  // name -> value in parameters only
  std::unordered_map<std::string, std::uint32_t> species_index;
  for (std::size_t i = 0; i < m.species.size(); ++i) {
    species_index[m.species[i].name] = static_cast<std::uint32_t>(i);
    x0[m.species[i].name] = Expr::constant(m.species[i].initial);
  }
  for (std::size_t i = 0; i < m.parameters.size(); ++i)
    x0[m.parameters[i].name] = Expr::parameter(static_cast<std::uint32_t>(i), m.parameters[i].name);
  std::vector<Expr> outputs;
  for (const auto& s : m.species) outputs.push_back(Expr::constant(s.initial));
  for (const std::string& name : order) {
    auto it = by_name.find(name);
    if (it == by_name.end()) continue;
    const NamedExpr& e = *it->second;
    Expr v = simplifier.run(substitute(e.expr, [&](const std::string& n) -> Expr {
      auto r = x0.find(n);
      // The loader allows species and parameters only; anything else is an inconsistency.
      if (r == x0.end())
        throw ModelError("internal: unresolved name '" + n + "' in an initial value", e.file,
                         e.pointer);
      return r->second;
    }));
    if (collect_leaves(v).time)
      throw ModelError("an initial value cannot use t (it is the value at the start of every "
                       "run); use parameters and species",
                       e.file, e.pointer);
    if (meter.run(v) > kMaxExpressionDepth)
      throw ModelError("initial value nested deeper than " + std::to_string(kMaxExpressionDepth) +
                           " levels once species' initial values are inlined",
                       e.file, e.pointer);
    x0[name] = v;
    outputs[species_index.at(name)] = v;
  }
  std::vector<Leaves> leaves;
  for (const Expr& e : outputs) leaves.push_back(collect_leaves(e));
  m.init = Tape::compile(outputs);
  build_sparse(outputs, leaves, Op::Parameter, m.init_jac_p, m.init_jac_p_pattern);
  m.has_initial_expressions = true;
  // SpeciesInfo::initial is the value at the file's parameter values.
  std::vector<double> p, y0(m.species.size());
  for (const auto& par : m.parameters) p.push_back(par.value);
  std::vector<double> work(m.init.work_size());
  m.init.eval({nullptr, p.data(), nullptr, 0.0}, y0.data(), work.data());
  for (const NamedExpr& e : initials) {
    const double v = y0[species_index.at(e.name)];
    if (!std::isfinite(v))
      throw ModelError("initial value of species '" + e.name + "' is not finite (" +
                           std::to_string(v) + ") at the parameters' values",
                       e.file, e.pointer);
    m.species[species_index.at(e.name)].initial = v;
  }
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
  const auto [order, by_name] = in_dependency_order(c.expressions, "", c.file, "/expressions");
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

  compile_events(*m, c.events, inline_named);
  compile_initials(*m, c.initials, c.file, simplifier, meter);

  for (const Tape* t : {&m->rhs, &m->jac_y, &m->jac_p, &m->jac_u, &m->dfdt, &m->obs,
                        &m->obs_jac_y, &m->obs_jac_p, &m->init, &m->init_jac_p})
    m->max_work_size = std::max(m->max_work_size, t->work_size());
  return m;
}

}  // namespace osteogrn::detail

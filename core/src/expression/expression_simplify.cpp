// Constant folding and algebraic identities. Every rule is exact in IEEE arithmetic wherever
// the original expression is finite (x*0 -> 0 only drops a NaN/inf of a non-constant x).
// simplify is idempotent: a rule returns a constant, an argument (or an argument's child), or a
// node built by build(), which applies the rules again; so every node of a result is left
// unchanged by a second simplify (tested), which is what lets Simplifier remember results.
#include <cstring>

#include "expression/expression_internal.hpp"
#include "osteogrn/expression.hpp"

namespace osteogrn {

namespace detail {
namespace {

bool is_const(const Expr& e) { return e.node()->op == Op::Const; }
bool is_const(const Expr& e, double v) { return is_const(e) && e.node()->value == v; }
bool is_op(const Expr& e, Op op) { return e.node()->op == op; }

/// Same node, or constants with the same bits: used to merge equal piecewise branches.
bool same(const Expr& a, const Expr& b) {
  if (a.node() == b.node()) return true;
  if (!is_const(a) || !is_const(b)) return false;
  return std::memcmp(&a.node()->value, &b.node()->value, sizeof(double)) == 0;
}

Expr neg(const Expr& a) { return build(Op::Neg, {a}); }

Expr simplify_piecewise(const std::vector<Expr>& args) {
  std::vector<Expr> kept;
  Expr otherwise = args.back();
  bool changed = false;
  for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
    const Expr& v = args[i];
    const Expr& c = args[i + 1];
    if (is_const(c)) {
      changed = true;
      if (truth(c.node()->value)) {  // always taken: later branches are unreachable
        otherwise = v;
        break;
      }
      continue;  // never taken
    }
    kept.push_back(v);
    kept.push_back(c);
  }
  bool all_same = true;
  for (std::size_t i = 0; i < kept.size(); i += 2) all_same &= same(kept[i], otherwise);
  if (all_same) return otherwise;
  if (!changed) return {};
  kept.push_back(otherwise);
  return make_node(Op::Piecewise, std::move(kept));
}

}  // namespace

Expr simplify_local(Op op, const std::vector<Expr>& a) {
  // Constant folding: every argument constant.
  bool all_const = !a.empty();
  for (const auto& x : a) all_const &= is_const(x);
  if (all_const) {
    double small[3];
    std::vector<double> big;
    double* v = small;
    if (a.size() > 3) {
      big.resize(a.size());
      v = big.data();
    }
    for (std::size_t i = 0; i < a.size(); ++i) v[i] = a[i].node()->value;
    return Expr::constant(apply_op(op, v, a.size()));
  }
  switch (op) {
    case Op::Neg:
      if (is_op(a[0], Op::Neg)) return Expr(a[0].node()->args[0]);  // --x -> x
      break;
    case Op::Add:
      if (is_const(a[1], 0.0)) return a[0];
      if (is_const(a[0], 0.0)) return a[1];
      if (is_op(a[1], Op::Neg)) return build(Op::Sub, {a[0], Expr(a[1].node()->args[0])});
      if (is_op(a[0], Op::Neg)) return build(Op::Sub, {a[1], Expr(a[0].node()->args[0])});
      break;
    case Op::Sub:
      if (is_const(a[1], 0.0)) return a[0];
      if (is_const(a[0], 0.0)) return neg(a[1]);
      if (is_op(a[1], Op::Neg)) return build(Op::Add, {a[0], Expr(a[1].node()->args[0])});
      break;
    case Op::Mul:
      if (is_const(a[1], 1.0)) return a[0];
      if (is_const(a[0], 1.0)) return a[1];
      if (is_const(a[0], 0.0) || is_const(a[1], 0.0)) return Expr::constant(0.0);
      if (is_const(a[1], -1.0)) return neg(a[0]);
      if (is_const(a[0], -1.0)) return neg(a[1]);
      break;
    case Op::Div:
      if (is_const(a[1], 1.0)) return a[0];
      if (is_const(a[1], -1.0)) return neg(a[0]);
      break;
    case Op::Pow:
      if (is_const(a[1], 1.0)) return a[0];
      if (is_const(a[1], 0.0)) return Expr::constant(1.0);  // pow(x, 0) == 1 for every x
      if (is_const(a[0], 1.0)) return Expr::constant(1.0);  // pow(1, y) == 1 for every y
      break;
    case Op::And:
      if ((is_const(a[0]) && !truth(a[0].node()->value)) ||
          (is_const(a[1]) && !truth(a[1].node()->value)))
        return Expr::constant(0.0);
      break;
    case Op::Or:
      if ((is_const(a[0]) && truth(a[0].node()->value)) ||
          (is_const(a[1]) && truth(a[1].node()->value)))
        return Expr::constant(1.0);
      break;
    case Op::Piecewise: return simplify_piecewise(a);
    default: break;
  }
  return {};
}

Expr build(Op op, std::vector<Expr> args) {
  Expr s = simplify_local(op, args);
  return s ? s : make_node(op, std::move(args));
}

Expr Simplifier::run(const Expr& e) {
  if (!e) return e;
  roots_.push_back(e);
  auto result = [&](const NodePtr& n) -> Expr {
    return n->args.empty() ? Expr(n) : memo_.find(n.get())->second;
  };
  walk_post_order(
      e.node(), [&](const Node& n) { return n.args.empty() || memo_.count(&n) != 0; },
      [&](const NodePtr& n) {
        std::vector<Expr> args;
        args.reserve(n->args.size());
        bool changed = false;
        for (const auto& a : n->args) {
          args.push_back(result(a));
          changed |= args.back().node() != a;
        }
        Expr out = simplify_local(n->op, args);
        if (!out) out = changed ? make_node(n->op, std::move(args)) : Expr(n);
        memo_.emplace(n.get(), out);
        if (!out.node()->args.empty())
          memo_.emplace(out.node().get(), out);  // a result is a fixed point (see the class)
      });
  return result(e.node());
}

}  // namespace detail

Expr simplify(const Expr& e) {
  detail::Simplifier s;
  return s.run(e);
}

}  // namespace osteogrn

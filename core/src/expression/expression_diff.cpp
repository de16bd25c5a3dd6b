// Symbolic differentiation, memoised by node so that shared subtrees (a DAG) are differentiated
// once. Results are built through the simplifying constructor `detail::build`. The walk is
// iterative (detail::walk_post_order): the derivatives a rule needs are computed before it runs.
#include <cmath>
#include <unordered_map>

#include "expression/expression_internal.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/expression.hpp"

namespace osteogrn {

using detail::InternalOp;
using detail::Node;
using detail::NodePtr;

namespace {

using detail::build;

Expr c(double v) { return Expr::constant(v); }
Expr add(const Expr& a, const Expr& b) { return build(Op::Add, {a, b}); }
Expr sub(const Expr& a, const Expr& b) { return build(Op::Sub, {a, b}); }
Expr mul(const Expr& a, const Expr& b) { return build(Op::Mul, {a, b}); }
Expr div(const Expr& a, const Expr& b) { return build(Op::Div, {a, b}); }
Expr neg(const Expr& a) { return build(Op::Neg, {a}); }
Expr pw(const Expr& value, const Expr& cond, const Expr& otherwise) {
  return build(Op::Piecewise, {value, cond, otherwise});
}

Expr square(const Expr& a) { return build(Op::Pow, {a, c(2.0)}); }
Expr call(Op op, const Expr& a) { return build(op, {a}); }

/// f'(a) for the trigonometric and hyperbolic functions and their inverses.
Expr trig_partial(Op op, const Expr& a) {
  switch (op) {
    case Op::Sin: return call(Op::Cos, a);
    case Op::Cos: return neg(call(Op::Sin, a));
    case Op::Tan: return div(c(1.0), square(call(Op::Cos, a)));
    case Op::Asin: return div(c(1.0), call(Op::Sqrt, sub(c(1.0), square(a))));
    case Op::Acos: return neg(div(c(1.0), call(Op::Sqrt, sub(c(1.0), square(a)))));
    case Op::Atan: return div(c(1.0), add(c(1.0), square(a)));
    case Op::Sinh: return call(Op::Cosh, a);
    case Op::Cosh: return call(Op::Sinh, a);
    case Op::Tanh: return div(c(1.0), square(call(Op::Cosh, a)));
    case Op::Asinh: return div(c(1.0), call(Op::Sqrt, add(square(a), c(1.0))));
    // sqrt(a-1) sqrt(a+1) rather than sqrt(a^2-1): no cancellation near a = 1
    case Op::Acosh:
      return div(c(1.0), mul(call(Op::Sqrt, sub(a, c(1.0))), call(Op::Sqrt, add(a, c(1.0)))));
    case Op::Atanh: return div(c(1.0), sub(c(1.0), square(a)));
    default: break;
  }
  throw Error(std::string("trig_partial: '") + detail::op_name(op) + "'");
}

struct Differentiator {
  Op leaf;
  std::uint32_t index;
  std::unordered_map<const Node*, Expr> memo;

  /// Leaves other than names are differentiated on the spot; names throw when reached.
  static bool is_value_leaf(const Node& n) { return n.args.empty() && n.op != Op::Symbol; }

  /// Whether the rule for n needs the derivative of its child i: not for the conditions of a
  /// piecewise (piecewise constant), nor for any child of a comparison or logic op.
  static bool wanted(const Node& n, std::size_t i) {
    if (n.op == InternalOp::Heaviside) return false;
    switch (n.op) {
      case Op::Piecewise: return i % 2 == 0 || i + 1 == n.args.size();
      case Op::Lt: case Op::Le: case Op::Gt: case Op::Ge: case Op::Eq: case Op::Ne:
      case Op::And: case Op::Or: case Op::Not:
      case Op::Floor: case Op::Ceil: case Op::Factorial:
        return false;
      default: return true;
    }
  }

  Expr run(const NodePtr& root) {
    walk_post_order(
        root, [&](const Node& n) { return is_value_leaf(n) || memo.count(&n) != 0; },
        [](const Node& n, std::size_t i) { return wanted(n, i); },
        [&](const NodePtr& np) {
          if (np->op == Op::Symbol)
            throw Error("cannot differentiate the unresolved name '" + np->name + "'");
          memo.emplace(np.get(), rule(np));
        });
    return d(root);
  }

  /// The derivative of an already visited node (or of a leaf).
  Expr d(const NodePtr& np) {
    const Node& n = *np;
    switch (n.op) {
      case Op::Const: return c(0.0);
      case Op::Species: case Op::Parameter: case Op::Input:
        return c(n.op == leaf && n.index == index ? 1.0 : 0.0);
      case Op::Time: return c(leaf == Op::Time ? 1.0 : 0.0);
      default: return memo.find(&n)->second;
    }
  }

  /// Sum of partial_i * (d arg_i), skipping arguments whose derivative is 0.
  template <class Partial>
  Expr chain(const Node& n, Partial partial) {
    Expr total = c(0.0);
    for (std::size_t i = 0; i < n.args.size(); ++i) {
      Expr da = d(n.args[i]);
      if (is_zero(da)) continue;
      total = add(total, mul(partial(i), da));
    }
    return total;
  }

  Expr rule(const NodePtr& np) {
    const Node& n = *np;
    const Expr e(np);
    auto arg = [&](std::size_t i) { return Expr(n.args[i]); };
    switch (n.op) {
      case Op::Neg: return neg(d(n.args[0]));
      case Op::Add: return add(d(n.args[0]), d(n.args[1]));
      case Op::Sub: return sub(d(n.args[0]), d(n.args[1]));
      case Op::Mul: {
        Expr da = d(n.args[0]), db = d(n.args[1]);
        return add(mul(da, arg(1)), mul(arg(0), db));
      }
      case Op::Div: {
        // (a/b)' = (a' - (a/b) b') / b, reusing the node a/b itself.
        Expr da = d(n.args[0]), db = d(n.args[1]);
        if (is_zero(da) && is_zero(db)) return c(0.0);
        return div(sub(da, mul(e, db)), arg(1));
      }
      case Op::Pow: {
        // (a^b)' = b a^(b-1) a' + a^b ln(a) b' (second term only when b varies).
        Expr da = d(n.args[0]), db = d(n.args[1]);
        Expr out = c(0.0);
        if (!is_zero(da))
          out = mul(mul(arg(1), build(Op::Pow, {arg(0), sub(arg(1), c(1.0))})), da);
        if (!is_zero(db)) out = add(out, mul(build(InternalOp::PowLog, {arg(0), arg(1)}), db));
        return out;
      }
      default: break;
    }
    if (n.op == InternalOp::PowLog) {
      // d(a^b ln a) = (a^b)' ln a + a^(b-1) a'.
      Expr da = d(n.args[0]), db = d(n.args[1]);
      Expr dpow = c(0.0);
      if (!is_zero(da))
        dpow = mul(mul(arg(1), build(Op::Pow, {arg(0), sub(arg(1), c(1.0))})), da);
      if (!is_zero(db)) dpow = add(dpow, mul(e, db));  // (a^b ln a) b', then times ln a below
      Expr out = mul(dpow, build(Op::Log, {arg(0)}));
      if (!is_zero(da))
        out = add(out, mul(build(Op::Pow, {arg(0), sub(arg(1), c(1.0))}), da));
      return out;
    }
    if (n.op == InternalOp::Heaviside) return c(0.0);  // piecewise constant
    switch (n.op) {
      case Op::Floor: case Op::Ceil: case Op::Factorial:
        return c(0.0);  // piecewise constant (factorial is defined on the integers only)
      case Op::Sin: case Op::Cos: case Op::Tan: case Op::Asin: case Op::Acos: case Op::Atan:
      case Op::Sinh: case Op::Cosh: case Op::Tanh: case Op::Asinh: case Op::Acosh:
      case Op::Atanh: {
        const Expr da = d(n.args[0]);
        if (is_zero(da)) return c(0.0);  // 0 * f'(a), even where f'(a) is not finite
        return mul(trig_partial(n.op, arg(0)), da);
      }
      default: break;
    }
    switch (n.op) {
      case Op::Exp: return mul(e, d(n.args[0]));
      case Op::Log: return div(d(n.args[0]), arg(0));
      case Op::Log10: return div(d(n.args[0]), mul(arg(0), c(std::log(10.0))));
      case Op::Sqrt: return div(d(n.args[0]), mul(c(2.0), e));
      case Op::Abs: {
        Expr da = d(n.args[0]);
        return pw(neg(da), build(Op::Lt, {arg(0), c(0.0)}), da);
      }
      case Op::Min: case Op::Max: {
        // Follows the left fold of detail::min_fn / max_fn: m_k = (a_k beats m_{k-1}) ? a_k : m_{k-1}.
        const Op cmp = n.op == Op::Min ? Op::Lt : Op::Gt;
        Expr m = arg(0);
        Expr dm = d(n.args[0]);
        for (std::size_t k = 1; k < n.args.size(); ++k) {
          Expr dk = d(n.args[k]);
          dm = pw(dk, build(cmp, {arg(k), m}), dm);
          if (k + 1 < n.args.size()) {
            std::vector<Expr> prefix(n.args.begin(), n.args.begin() + static_cast<long>(k) + 1);
            m = Expr::make(n.op, std::move(prefix));
          }
        }
        return dm;
      }
      case Op::Hill: case Op::HillRep: {
        // With h = hill, r = hill_rep (h + r = 1) and x > 0:
        //   dh/dx = n h r / x,  dh/dK = -n h r / K,  dh/dn = h r (ln x - ln K);  dr = -dh.
        // For x <= 0, h is 0 for every K and n: all partials are 0 (the x branch is selected by
        // piecewise, not multiplied by a Heaviside, so a NaN at x == 0 cannot leak).
        const Expr x = arg(0), K = arg(1), nn = arg(2);
        const Expr h = n.op == Op::Hill ? e : Expr::make(Op::Hill, {x, K, nn});
        const Expr r = n.op == Op::HillRep ? e : Expr::make(Op::HillRep, {x, K, nn});
        const Expr hr = mul(h, r);
        const Expr positive = build(Op::Gt, {x, c(0.0)});
        const double sign = n.op == Op::Hill ? 1.0 : -1.0;
        return chain(n, [&](std::size_t i) -> Expr {
          Expr p;
          if (i == 0) p = pw(div(mul(nn, hr), x), positive, c(0.0));
          else if (i == 1) p = pw(neg(div(mul(nn, hr), K)), positive, c(0.0));
          else p = pw(mul(hr, sub(build(Op::Log, {x}), build(Op::Log, {K}))), positive, c(0.0));
          return sign > 0 ? p : neg(p);
        });
      }
      case Op::Piecewise: {
        std::vector<Expr> args;
        args.reserve(n.args.size());
        for (std::size_t i = 0; i < n.args.size(); ++i)
          args.push_back(i % 2 == 1 && i + 1 < n.args.size() ? arg(i) : d(n.args[i]));
        return build(Op::Piecewise, std::move(args));
      }
      case Op::Lt: case Op::Le: case Op::Gt: case Op::Ge: case Op::Eq: case Op::Ne:
      case Op::And: case Op::Or: case Op::Not:
        return c(0.0);  // piecewise constant: 0 almost everywhere
      default: break;
    }
    throw Error(std::string("cannot differentiate '") + detail::op_name(n.op) + "'");
  }
};

}  // namespace

Expr differentiate(const Expr& e, Op leaf, std::uint32_t index) {
  if (leaf != Op::Species && leaf != Op::Parameter && leaf != Op::Input && leaf != Op::Time)
    throw Error(std::string("differentiate: cannot differentiate with respect to '") +
                detail::op_name(leaf) + "'");
  if (!e) throw Error("differentiate: empty expression");
  Differentiator d{leaf, index, {}};
  return simplify(d.run(e.node()));
}

}  // namespace osteogrn

#pragma once
// Shared by the expression tests: a fixed name table (x,y,z species; K,n,k1,k2 parameters;
// u0,u1 inputs) and a generator of random expression DAGs over every Op.
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "osteogrn/detail/expression_node.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/expression.hpp"

namespace osteogrn::testing_util {

/// Parses text and resolves x,y,z / K,n,k1,k2 / u0,u1 to species / parameters / inputs.
inline Expr resolved(const std::string& text) {
  return substitute(parse_expression(text), [](const std::string& name) -> Expr {
    static const char* species[] = {"x", "y", "z"};
    static const char* params[] = {"K", "n", "k1", "k2"};
    static const char* inputs[] = {"u0", "u1"};
    for (std::uint32_t i = 0; i < 3; ++i)
      if (name == species[i]) return Expr::species(i, name);
    for (std::uint32_t i = 0; i < 4; ++i)
      if (name == params[i]) return Expr::parameter(i, name);
    for (std::uint32_t i = 0; i < 2; ++i)
      if (name == inputs[i]) return Expr::input(i, name);
    throw Error("test: unknown name '" + name + "'");
  });
}

/// Leaf values of one evaluation point.
struct Point {
  double y[3] = {2.0, 3.0, 0.5};
  double p[4] = {1.5, 2.0, 0.7, 0.3};
  double u[2] = {4.0, 0.25};
  double t = 1.5;
  EvalArgs args() const { return EvalArgs{y, p, u, t}; }
};

/// Equal bits, or both NaN (NaN payloads may differ).
inline bool same_value(double a, double b) {
  if (a != a && b != b) return true;
  return std::memcmp(&a, &b, sizeof a) == 0;
}

/// Random expression DAGs: every Op appears; subtrees are reused (sharing) now and then.
class RandomExpr {
 public:
  explicit RandomExpr(unsigned seed, double const_leaf_prob = 0.25)
      : rng_(seed), const_prob_(const_leaf_prob) {}

  Expr make(int depth) {
    if (!pool_.empty() && coin(0.1)) return pool_[pick(pool_.size())];
    Expr e = depth <= 0 || coin(0.2) ? leaf() : node(depth);
    pool_.push_back(e);
    return e;
  }

  Point point() {
    Point pt;
    std::uniform_real_distribution<double> d(-0.5, 3.0);
    for (double& v : pt.y) v = d(rng_);
    for (double& v : pt.p) v = d(rng_);
    for (double& v : pt.u) v = d(rng_);
    pt.t = d(rng_) * 3;
    return pt;
  }

  std::mt19937& rng() { return rng_; }

 private:
  bool coin(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

  Expr leaf() {
    if (coin(const_prob_)) {
      static const double nice[] = {0.0, 1.0, 2.0, -1.0, 0.5, 3.0, -2.5};
      if (coin(0.6)) return Expr::constant(nice[pick(7)]);
      return Expr::constant(std::uniform_real_distribution<double>(-3, 3)(rng_));
    }
    switch (pick(4)) {
      case 0: return Expr::species(static_cast<std::uint32_t>(pick(3)));
      case 1: return Expr::parameter(static_cast<std::uint32_t>(pick(4)));
      case 2: return Expr::input(static_cast<std::uint32_t>(pick(2)));
      default: return Expr::time();
    }
  }

  Expr node(int depth) {
    static const Op ops[] = {Op::Neg, Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Pow, Op::Lt,
                             Op::Le, Op::Gt, Op::Ge, Op::Eq, Op::Ne, Op::And, Op::Or, Op::Not,
                             Op::Exp, Op::Log, Op::Log10, Op::Sqrt, Op::Abs, Op::Min, Op::Max,
                             Op::Hill, Op::HillRep, Op::Piecewise, detail::InternalOp::Heaviside,
                             detail::InternalOp::PowLog, Op::Add, Op::Mul, Op::Sub};
    const Op op = ops[pick(sizeof ops / sizeof ops[0])];
    std::size_t n = op == detail::InternalOp::Heaviside ? 1 : 2;
    switch (op) {
      case Op::Neg: case Op::Not: case Op::Exp: case Op::Log: case Op::Log10: case Op::Sqrt:
      case Op::Abs:
        n = 1;
        break;
      case Op::Hill: case Op::HillRep: n = 3; break;
      case Op::Min: case Op::Max: n = 2 + pick(3); break;
      case Op::Piecewise: n = 3 + 2 * pick(3); break;
      default: break;  // binary, and the internal ops (sized above)
    }
    std::vector<Expr> args;
    for (std::size_t i = 0; i < n; ++i) args.push_back(make(depth - 1));
    return detail::make_node(op, std::move(args));  // internal ops included
  }

  std::mt19937 rng_;
  double const_prob_;
  std::vector<Expr> pool_;
};

}  // namespace osteogrn::testing_util

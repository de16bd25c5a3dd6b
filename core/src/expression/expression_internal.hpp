#pragma once
// Internal to the expression compiler: the scalar semantics of every Op, shared by the
// reference evaluator, constant folding and the tape, so that all three agree bit for bit.
#include <cmath>
#include <cstddef>
#include <string>

#include "osteogrn/detail/expression_node.hpp"
#include "osteogrn/expression.hpp"

namespace osteogrn::detail {

/// Truth of a value: anything != 0 is true (NaN counts as true, as in C).
inline bool truth(double v) noexcept { return v != 0.0; }
inline double from_bool(bool b) noexcept { return b ? 1.0 : 0.0; }

/// a^b; b == 2 is computed as a*a (exact) — the tape does the same.
inline double pow_fn(double a, double b) noexcept { return b == 2.0 ? a * a : std::pow(a, b); }

/// min/max that propagate NaN from either argument (an integrator must see a bad value).
inline double min_fn(double a, double b) noexcept { return (b < a || b != b) ? b : a; }
inline double max_fn(double a, double b) noexcept { return (b > a || b != b) ? b : a; }

/// hill(x,K,n) = x^n/(K^n+x^n) with x <= 0 counted as 0 (integrators overshoot slightly below 0).
inline double hill_fn(double x, double k, double n) noexcept {
  const double xn = pow_fn(x > 0.0 ? x : 0.0, n);
  return xn / (pow_fn(k, n) + xn);
}
/// hill_rep(x,K,n) = K^n/(K^n+x^n) with x <= 0 counted as 0.
inline double hill_rep_fn(double x, double k, double n) noexcept {
  const double kn = pow_fn(k, n);
  return kn / (kn + pow_fn(x > 0.0 ? x : 0.0, n));
}
/// a^b ln a, the derivative of a^b w.r.t. b; 0 at a == 0 (the limit for b > 0).
inline double pow_log_fn(double a, double b) noexcept {
  return a == 0.0 ? 0.0 : pow_fn(a, b) * std::log(a);
}
inline double heaviside_fn(double x) noexcept { return x > 0.0 ? 1.0 : 0.0; }

/// n! for an integer n >= 0 (MathML factorial is defined there only), NaN for any other x, so
/// that a model which reaches a non-integer shows it instead of getting an invented value.
/// The product 1*2*...*n in this order (exact up to 18!, as Python's importer computes it);
/// 171! and beyond overflow to inf, so the loop never runs more than 170 times.
inline double factorial_fn(double x) noexcept {
  if (!(x >= 0.0) || x != std::floor(x)) return std::nan("");
  if (x > 170.0) return HUGE_VAL;
  double r = 1.0;
  for (double k = 2.0; k <= x; k += 1.0) r *= k;
  return r;
}

/// Value of a non-leaf op on already evaluated arguments (n-ary ops fold left to right).
double apply_op(Op op, const double* v, std::size_t n);

/// Lower-case name of an op as written in the grammar or for messages ("+", "hill", ...).
const char* op_name(Op op) noexcept;

/// Checks the number of children of op; throws Error naming the op if it is wrong.
void check_arity(Op op, std::size_t n);

/// Local simplification of op applied to already simplified args: constant folding and
/// identities. Returns an empty Expr when no rule applies (the caller builds the node).
Expr simplify_local(Op op, const std::vector<Expr>& args);

/// simplify_local, or a new node when no rule applies: the constructor used by differentiate.
Expr build(Op op, std::vector<Expr> args);


}  // namespace osteogrn::detail

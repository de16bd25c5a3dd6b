// Symbolic derivatives against finite differences, rule by rule and for nontrivial models.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "expression_test_util.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/expression.hpp"

namespace osteogrn {
namespace {

using testing_util::Point;
using testing_util::resolved;

/// A variable to differentiate by: leaf kind, index and a label for messages.
struct Var {
  Op op;
  std::uint32_t index;
  const char* label;
};
const Var kVars[] = {{Op::Species, 0, "x"},   {Op::Species, 1, "y"},    {Op::Species, 2, "z"},
                     {Op::Parameter, 0, "K"}, {Op::Parameter, 1, "n"},  {Op::Parameter, 2, "k1"},
                     {Op::Parameter, 3, "k2"}, {Op::Input, 0, "u0"},    {Op::Time, 0, "t"}};

double& slot(Point& pt, const Var& v) {
  switch (v.op) {
    case Op::Species: return pt.y[v.index];
    case Op::Parameter: return pt.p[v.index];
    case Op::Input: return pt.u[v.index];
    default: return pt.t;
  }
}

/// Fourth-order central difference (Richardson): error O(h^4), roundoff ~ eps |f| / h.
double finite_difference(const Expr& e, Point pt, const Var& v) {
  double& x = slot(pt, v);
  const double x0 = x;
  const double h = 1e-3 * std::max(std::fabs(x0), 0.1);
  auto f = [&](double dx) {
    x = x0 + dx;
    return evaluate(e, pt.args());
  };
  return (8.0 * (f(h) - f(-h)) - (f(2 * h) - f(-2 * h))) / (12.0 * h);
}

/// Random point away from every kink listed in `guards` (|g| >= 0.02 > 2h for each guard).
Point smooth_point(std::mt19937& rng, const std::vector<Expr>& guards) {
  std::uniform_real_distribution<double> species(0.2, 3.0), K(0.5, 2.0), n(0.8, 3.0),
      k1(0.5, 2.0), k2(0.2, 1.5), u(0.1, 2.0), t(0.0, 10.0);
  for (;;) {
    Point pt;
    for (double& y : pt.y) y = species(rng);
    pt.p[0] = K(rng);
    pt.p[1] = n(rng);
    pt.p[2] = k1(rng);
    pt.p[3] = k2(rng);
    for (double& x : pt.u) x = u(rng);
    pt.t = t(rng);
    bool ok = true;
    for (const auto& g : guards) ok &= std::fabs(evaluate(g, pt.args())) >= 0.02;
    if (ok) return pt;
  }
}

void check_against_fd(const Expr& e, const std::vector<Expr>& guards, const std::string& label,
                      unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<Expr> derivs;
  for (const auto& v : kVars) derivs.push_back(differentiate(e, v.op, v.index));
  int nonzero = 0;
  for (int k = 0; k < 100; ++k) {
    const Point pt = smooth_point(rng, guards);
    const double f = evaluate(e, pt.args());
    ASSERT_TRUE(std::isfinite(f)) << label;
    for (std::size_t j = 0; j < derivs.size(); ++j) {
      const double d = evaluate(derivs[j], pt.args());
      const double fd = finite_difference(e, pt, kVars[j]);
      const double tol = 1e-6 * std::max(std::fabs(d), std::fabs(fd)) + 1e-9 * (1 + std::fabs(f));
      EXPECT_NEAR(d, fd, tol) << label << "  d/d" << kVars[j].label << " = "
                              << to_string(derivs[j]) << "  at x=" << pt.y[0] << " y=" << pt.y[1]
                              << " z=" << pt.y[2] << " t=" << pt.t;
      nonzero += d != 0.0;
    }
  }
  EXPECT_GT(nonzero, 100) << label;  // the test exercised real derivatives
}

struct Case {
  const char* text;
  std::vector<const char*> guards;  // kinks/jumps: the test stays away from their zeros
};

TEST(Differentiate, MatchesFiniteDifferencesOnNontrivialExpressions) {
  const Case cases[] = {
      {"hill(x, K, n) * k1 - k2 * y", {}},
      {"hill_rep(y, K, n) * exp(-k1 * t) + x^n", {}},
      {"pow(x, k1) + y ^ (n / 2) + z ^ 3 + 2 ^ (k2 * t)", {}},
      {"piecewise(x * k1, t > 5, y^2 * u0, x > y, log(z + 1) * t)", {"t - 5", "x - y"}},
      {"min(x, y, z) * max(k1, k2 * x) + abs(x - y) + min(t, 5)",
       {"x - y", "y - z", "x - z", "k1 - k2 * x", "t - 5"}},
      {"exp(log(x * y + 1) / (1 + z)) + sqrt(x + k1) + log10(y + u0) + ln(t + 1)", {}},
      {"x / (y + K) - (x - y) / (z * k1 + 1) + 1 / t", {"t"}},
      {"u0 * hill(x * u0, K, 2) + t^2 * k1 + hill_rep(u0, k1, n)", {}},
      {"-x^-n + (x*y)^(k1 - 1) - --z", {}},
      {"hill(x - 1, K, n) + hill_rep(y - 1.5, k1, n) * z", {"x - 1", "y - 1.5"}},
      {"(not x > y) * x + (x > y and y > 0.5) * y^3 + (t < 3 or z > 1) * t",
       {"x - y", "y - 0.5", "t - 3", "z - 1"}},
      {"x * (y + piecewise(1, t < 2, k1)) * exp(-t / k2)", {"t - 2"}},
      {"hill(hill(x, K, n), k1, 2) * hill_rep(exp(-t * k2), 0.5, n)", {}},
      {"(k1 * x - k2 * y) * (x + y)^2 / (1 + (x/K)^n)", {}},
  };
  unsigned seed = 1;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    std::vector<Expr> guards;
    for (const char* g : c.guards) guards.push_back(resolved(g));
    check_against_fd(resolved(c.text), guards, c.text, seed++);
  }
}

TEST(Differentiate, InternalOps) {
  // PowLog (a^b ln a) and Heaviside appear only in derivatives; they still differentiate right.
  const Expr x = Expr::species(0), y = Expr::species(1), k1 = Expr::parameter(2);
  // They are not public ops: Expr::make refuses them; the compiler builds them with make_node.
  EXPECT_THROW(Expr::make(detail::InternalOp::PowLog, {x, k1}), Error);
  EXPECT_THROW(Expr::make(detail::InternalOp::Heaviside, {x}), Error);
  const Expr powlog =
      detail::make_node(detail::InternalOp::PowLog, {Expr::make(Op::Mul, {x, y}), k1});
  check_against_fd(powlog, {}, "powlog(x*y, k1)", 101);
  const Expr heav = Expr::make(
      Op::Mul, {detail::make_node(detail::InternalOp::Heaviside,
                                  {Expr::make(Op::Sub, {x, Expr::constant(1)})}),
                y});
  std::vector<Expr> guards = {resolved("x - 1")};
  check_against_fd(Expr::make(Op::Add, {heav, powlog}), guards, "heaviside(x-1)*y + powlog", 102);
  // The derivative of a^b w.r.t. b goes through PowLog: d/dk1 (x^k1) at x = 0 is 0, not NaN.
  const Expr d = differentiate(resolved("x ^ k1"), Op::Parameter, 2);
  Point pt;
  pt.y[0] = 0.0;
  EXPECT_EQ(evaluate(d, pt.args()), 0.0);
}

TEST(Differentiate, HillIsFlatAndFiniteForNonPositiveX) {
  const Expr h = resolved("hill(x, K, n) + hill_rep(x, K, n) * 2");
  for (double xv : {-0.3, -1e-12, 0.0}) {
    Point pt;
    pt.y[0] = xv;
    pt.p[1] = 0.7;  // n < 1: x^(n-1) would be infinite at 0
    for (const auto& v : kVars) {
      const double d = evaluate(differentiate(h, v.op, v.index), pt.args());
      EXPECT_EQ(d, 0.0) << "x=" << xv << " d/d" << v.label;
    }
  }
}

TEST(Differentiate, SimpleRulesAreExactAndSimplified) {
  // d/dx (3x^2 + 2x + 1) = 6x + 2 exactly.
  const Expr d = differentiate(resolved("3*x^2 + 2*x + 1"), Op::Species, 0);
  Point pt;
  for (double xv : {-2.0, 0.0, 0.5, 7.0}) {
    pt.y[0] = xv;
    EXPECT_EQ(evaluate(d, pt.args()), 6 * xv + 2);
  }
  // Zero derivatives are the constant 0; leaves by kind and index.
  EXPECT_TRUE(is_zero(differentiate(resolved("x * k1 + t"), Op::Species, 1)));
  EXPECT_TRUE(is_zero(differentiate(resolved("x * k1"), Op::Input, 0)));
  EXPECT_TRUE(is_zero(differentiate(resolved("(x > y) + (x and y) + (not z)"), Op::Species, 0)));
  EXPECT_TRUE(is_zero(differentiate(resolved("x"), Op::Parameter, 0)));
  const Expr dt = differentiate(resolved("t * 3"), Op::Time);
  ASSERT_EQ(dt.node()->op, Op::Const);
  EXPECT_EQ(dt.node()->value, 3.0);
  const Expr dx = differentiate(resolved("x"), Op::Species, 0);
  EXPECT_EQ(dx.node()->value, 1.0);
  // d/dx (x*k1) prints as k1: no leftover 1*, 0+ terms.
  EXPECT_EQ(to_string(differentiate(resolved("x * k1 + y"), Op::Species, 0)), "k1");
  // Unresolved names and non-leaf variables are errors.
  EXPECT_THROW(differentiate(parse_expression("a + 1"), Op::Species, 0), Error);
  EXPECT_THROW(differentiate(resolved("x"), Op::Add, 0), Error);
}

TEST(Differentiate, DagDoesNotBlowUp) {
  // e_{k+1} = e_k * e_k + x: the tree has 2^40 paths but 40 distinct nodes.
  Expr e = Expr::species(0);
  for (int k = 0; k < 40; ++k)
    e = Expr::make(Op::Add, {Expr::make(Op::Mul, {e, e}), Expr::constant(0.001)});
  const Expr d = differentiate(e, Op::Species, 0);
  const Tape tape = Tape::compile({d});
  EXPECT_LT(tape.n_instructions(), 400u);
  Point pt;
  pt.y[0] = 0.3;
  std::vector<double> work(tape.work_size());
  double out = 0;
  tape.eval(pt.args(), &out, work.data());
  EXPECT_TRUE(std::isfinite(out));
  EXPECT_EQ(out, evaluate(d, pt.args()));
}

}  // namespace
}  // namespace osteogrn

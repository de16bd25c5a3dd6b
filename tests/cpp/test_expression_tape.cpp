// The compiled tape: agrees with the reference evaluator, shares common subexpressions,
// handles edge cases and is thread-safe.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>
#include <vector>

#include "expression_test_util.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/expression.hpp"

namespace osteogrn {
namespace {

using testing_util::Point;
using testing_util::resolved;
using testing_util::same_value;

std::vector<double> run(const Tape& tape, const Point& pt) {
  std::vector<double> work(tape.work_size()), out(tape.n_outputs());
  tape.eval(pt.args(), out.data(), work.data());
  return out;
}

TEST(Tape, MatchesEvaluateOnRandomExpressions) {
  testing_util::RandomExpr gen(3);
  int compared = 0, finite = 0;
  for (int batch = 0; batch < 60; ++batch) {
    std::vector<Expr> outs;
    for (int k = 0; k < 8; ++k) outs.push_back(gen.make(6));
    const Tape tape = Tape::compile(outs);
    ASSERT_EQ(tape.n_outputs(), outs.size());
    for (int j = 0; j < 20; ++j) {
      const Point pt = gen.point();
      const std::vector<double> got = run(tape, pt);
      for (std::size_t k = 0; k < outs.size(); ++k) {
        const double want = evaluate(outs[k], pt.args());
        EXPECT_TRUE(same_value(got[k], want))
            << to_string(outs[k]) << ": tape " << got[k] << " vs evaluate " << want;
        ++compared;
        finite += std::isfinite(want);
      }
    }
  }
  EXPECT_EQ(compared, 60 * 8 * 20);
  EXPECT_GT(finite, compared / 2);  // mostly real numbers, not a NaN-vs-NaN comparison
}

TEST(Tape, MatchesEvaluateOnDerivatives) {
  // Jacobian-like tapes: many outputs sharing the original expression's subtrees.
  const Expr f = resolved(
      "k1 * hill(x, K, n) * hill_rep(y, k2, n) - k2 * x + piecewise(u0 * z, t < 4, min(x, y, z))"
      " + max(x * y, z) ^ 1.5 + abs(x - y) * exp(-t / (1 + K))");
  std::vector<Expr> outs = {f};
  for (std::uint32_t i = 0; i < 3; ++i) outs.push_back(differentiate(f, Op::Species, i));
  for (std::uint32_t i = 0; i < 4; ++i) outs.push_back(differentiate(f, Op::Parameter, i));
  outs.push_back(differentiate(f, Op::Input, 0));
  outs.push_back(differentiate(f, Op::Time));
  const Tape tape = Tape::compile(outs);
  testing_util::RandomExpr gen(5);
  for (int j = 0; j < 200; ++j) {
    const Point pt = gen.point();
    const std::vector<double> got = run(tape, pt);
    for (std::size_t k = 0; k < outs.size(); ++k)
      EXPECT_TRUE(same_value(got[k], evaluate(outs[k], pt.args()))) << to_string(outs[k]);
  }
}

TEST(Tape, CommonSubexpressionsAreShared) {
  const Expr a = resolved("x*y + 1"), b = resolved("x*y + 2");
  const std::size_t together = Tape::compile({a, b}).n_instructions();
  const std::size_t apart =
      Tape::compile({a}).n_instructions() + Tape::compile({b}).n_instructions();
  EXPECT_LT(together, apart);
  EXPECT_EQ(together, 3u);  // x*y, +1, +2 (leaf loads are not instructions)
  // Structurally equal trees built separately (different nodes) compile once.
  const Tape same = Tape::compile({resolved("exp(x*y) + t"), resolved("exp(x*y) + t")});
  EXPECT_EQ(same.n_instructions(), 3u);  // mul, exp, add
}

TEST(Tape, ConstantsAreStoredOnce) {
  const Tape t = Tape::compile({resolved("x + 2"), resolved("y * 2"), resolved("2")});
  // One constant slot (2), two leaf slots (x, y), one slot per instruction (add, mul).
  EXPECT_EQ(t.n_instructions(), 2u);
  EXPECT_EQ(t.work_size(), 5u);
  Point pt;
  EXPECT_EQ(run(t, pt), (std::vector<double>{4.0, 6.0, 2.0}));
}

TEST(Tape, PiecewiseDoesNotLeakNaNFromAnUnselectedBranch) {
  const Tape t = Tape::compile({resolved("piecewise(log(x - 5), x > 5, sqrt(-1), 0, 7)"),
                                resolved("piecewise(sqrt(x), x >= 0, 0)"),
                                resolved("piecewise(1, x > 1, 2, x > 0, 3)")});
  Point pt;
  pt.y[0] = 2.0;
  std::vector<double> out = run(t, pt);
  EXPECT_EQ(out[0], 7.0);
  EXPECT_EQ(out[1], std::sqrt(2.0));
  EXPECT_EQ(out[2], 1.0);  // the first true condition wins
  pt.y[0] = -4.0;
  out = run(t, pt);
  EXPECT_EQ(out[1], 0.0);
  EXPECT_EQ(out[2], 3.0);
  pt.y[0] = 0.5;
  EXPECT_EQ(run(t, pt)[2], 2.0);
}

TEST(Tape, EdgeCases) {
  // No outputs; default-constructed tape; outputs that are bare leaves or constants.
  const Tape empty = Tape::compile({});
  EXPECT_EQ(empty.n_outputs(), 0u);
  EXPECT_EQ(empty.work_size(), 0u);
  Point pt;
  empty.eval(pt.args(), nullptr, nullptr);
  const Tape def;
  EXPECT_EQ(def.n_outputs(), 0u);
  def.eval(pt.args(), nullptr, nullptr);

  const Tape leaves = Tape::compile({resolved("x"), resolved("k1"), resolved("u1"),
                                     Expr::time(), Expr::constant(-3.5), resolved("x")});
  EXPECT_EQ(run(leaves, pt), (std::vector<double>{2.0, 0.7, 0.25, 1.5, -3.5, 2.0}));

  // Copies share the compiled code and give the same results.
  Tape copy = leaves;
  Tape moved = std::move(copy);
  EXPECT_EQ(run(moved, pt), run(leaves, pt));

  // Unresolved names and empty outputs are refused at compile time.
  EXPECT_THROW(Tape::compile({parse_expression("a + 1")}), Error);
  EXPECT_THROW(Tape::compile({Expr()}), Error);
}

TEST(Tape, HillWithAParameterExponentSharesThePowerOfX) {
  // hill and hill_rep of the same x and n share x^n (one pow instead of two), and stay
  // bit-identical to evaluate for n = 2 (pow_fn squares), fractional n, x <= 0, K = 0, NaN.
  const std::vector<Expr> outs = {resolved("hill(x, K, n)"), resolved("hill_rep(x, k1, n)"),
                                  resolved("hill(y - 4, k2, n) + hill_rep(z, K, n)")};
  const Tape shared = Tape::compile({outs[0], outs[1]});
  EXPECT_EQ(shared.n_instructions(), 5u);  // x^n, K^n, k1^n, hill, hill_rep
  EXPECT_EQ(Tape::compile({outs[0]}).n_instructions() +
                Tape::compile({outs[1]}).n_instructions(), 6u);
  const Tape tape = Tape::compile(outs);
  const double xs[] = {2.0, 0.0, -1.0, 1e-300, NAN}, ns[] = {2.0, 0.5, 4.0, 1.0, 0.0, NAN},
               ks[] = {1.5, 0.0, 3.0};
  int compared = 0;
  for (double x : xs)
    for (double n : ns)
      for (double k : ks) {
        Point pt;
        pt.y[0] = x;
        pt.y[2] = -x;
        pt.p[0] = k;
        pt.p[1] = n;
        const std::vector<double> got = run(tape, pt);
        for (std::size_t i = 0; i < outs.size(); ++i, ++compared) {
          const double want = evaluate(outs[i], pt.args());
          EXPECT_TRUE(same_value(got[i], want)) << to_string(outs[i]) << " at x=" << x
                                                << " n=" << n << " K=" << k << ": " << got[i]
                                                << " vs " << want;
        }
      }
  EXPECT_EQ(compared, 5 * 6 * 3 * 3);
}

TEST(Tape, LeafBlocksWithLargeAndUnusedIndices) {
  // Leaves are copied as whole blocks y[0..max], p[0..max], u[0..max]: unused indices in
  // between must not disturb the values, and every block must land in its own slots.
  std::vector<double> y(1001), p(600), u(8);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = 1.0 + 0.5 * static_cast<double>(i);
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = -2.0 - static_cast<double>(i);
  for (std::size_t i = 0; i < u.size(); ++i) u[i] = 100.0 + static_cast<double>(i);
  const Expr y0 = Expr::species(0), y1000 = Expr::species(1000), p599 = Expr::parameter(599),
             p3 = Expr::parameter(3), u7 = Expr::input(7);
  const std::vector<Expr> outs = {
      Expr::make(Op::Mul, {y1000, p599}), Expr::make(Op::Sub, {u7, y0}),
      Expr::make(Op::Div, {p3, Expr::make(Op::Add, {Expr::time(), Expr::constant(0.25)})}),
      y1000, p599, u7};
  const Tape tape = Tape::compile(outs);
  std::vector<double> work(tape.work_size(), NAN), out(tape.n_outputs());
  const EvalArgs args{y.data(), p.data(), u.data(), 0.75};
  tape.eval(args, out.data(), work.data());
  EXPECT_EQ(out, (std::vector<double>{501.0 * -601.0, 107.0 - 1.0, -5.0 / 1.0, 501.0, -601.0,
                                      107.0}));
  for (std::size_t i = 0; i < outs.size(); ++i)
    EXPECT_TRUE(same_value(out[i], evaluate(outs[i], args))) << i;
}

TEST(Tape, ConcurrentEvaluationWithSeparateWorkBuffers) {
  testing_util::RandomExpr gen(9);
  std::vector<Expr> outs;
  for (int k = 0; k < 20; ++k) outs.push_back(gen.make(6));
  const Tape tape = Tape::compile(outs);
  std::vector<Point> points;
  for (int j = 0; j < 50; ++j) points.push_back(gen.point());
  std::vector<std::vector<double>> want;
  for (const auto& p : points) want.push_back(run(tape, p));

  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int th = 0; th < 4; ++th)
    threads.emplace_back([&, th] {
      std::vector<double> work(tape.work_size()), out(tape.n_outputs());
      for (int rep = 0; rep < 200; ++rep)
        for (std::size_t j = 0; j < points.size(); ++j) {
          tape.eval(points[j].args(), out.data(), work.data());
          for (std::size_t k = 0; k < out.size(); ++k)
            mismatches[th] += !same_value(out[k], want[j][k]);
        }
    });
  for (auto& t : threads) t.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

// A GRN-like right-hand side: 12 species, Hill activation/repression, shared drives.
std::vector<Expr> grn_rhs() {
  std::vector<Expr> out;
  const char* templ[] = {
      "k1 * hill(x, K, n) * hill_rep(y, k2, n) - k2 * z + 0.1 * u0",
      "k2 * hill(z, K, 2) - k1 * y + u1 * hill(x, K, n)",
      "k1 * (1 - hill_rep(x * u0, K, n)) - 0.3 * z * exp(-t / 10)",
  };
  for (int i = 0; i < 12; ++i) out.push_back(resolved(templ[i % 3]));
  return out;
}

TEST(Tape, SharesRepeatedRightHandSides) {
  // 12 outputs made of 3 distinct expressions: CSE must leave about 3 expressions' worth.
  // (Speed against hand-written code is measured in benchmarks/, not asserted in tests.)
  const Tape tape = Tape::compile(grn_rhs());
  EXPECT_EQ(tape.n_outputs(), 12u);
  EXPECT_LT(tape.n_instructions(), 30u);
  Point pt;
  const auto out = run(tape, pt);
  for (int i = 3; i < 12; ++i) EXPECT_TRUE(same_value(out[i], out[i % 3]));
}

}  // namespace
}  // namespace osteogrn

namespace osteogrn {
namespace {

TEST(Tape, BoundEvaluationMatchesEvalAcrossStatesAndRebinding) {
  // bind(p) once, then eval_bound at many states == eval at each state, bit for bit; binding
  // other parameters into the same work array switches every output to them.
  testing_util::RandomExpr gen(17);
  int bound_total = 0;
  for (int batch = 0; batch < 40; ++batch) {
    std::vector<Expr> outs;
    for (int k = 0; k < 8; ++k) outs.push_back(gen.make(6));
    const Tape tape = Tape::compile(outs);
    bound_total += static_cast<int>(tape.n_bound_instructions());
    std::vector<double> work(tape.work_size()), scratch(tape.work_size());
    std::vector<double> got(tape.n_outputs()), want(tape.n_outputs());
    for (int binding = 0; binding < 3; ++binding) {
      const Point params = gen.point();
      tape.bind(params.p, work.data());
      for (int j = 0; j < 10; ++j) {
        Point pt = gen.point();
        std::copy(params.p, params.p + 4, pt.p);
        tape.eval_bound(pt.args(), got.data(), work.data());
        tape.eval(pt.args(), want.data(), scratch.data());
        for (std::size_t k = 0; k < outs.size(); ++k)
          EXPECT_TRUE(testing_util::same_value(got[k], want[k]))
              << to_string(outs[k]) << ": bound " << got[k] << " vs eval " << want[k];
      }
    }
  }
  EXPECT_GT(bound_total, 40);  // the random expressions do have parameter-only parts
}

TEST(Tape, ParameterOnlyWorkMovesToBind) {
  // K^n and k1^n depend on parameters only: bind computes them, eval_bound does not. The
  // product k1*k2 stays in bind (it is not fused into the state-dependent sum).
  const Expr f = resolved("hill(x, K, n) + hill_rep(y, k1, n) + k1 * k2 + x");
  const Tape tape = Tape::compile({f});
  EXPECT_EQ(tape.n_bound_instructions(), 3u);  // K^n, k1^n, k1*k2
  Point pt;
  std::vector<double> work(tape.work_size(), NAN);
  tape.bind(pt.p, work.data());
  // Poison the parameter block of the caller's array after binding: eval_bound must not read p.
  Point other = pt;
  std::fill(other.p, other.p + 4, NAN);
  double got = 0.0;
  tape.eval_bound(other.args(), &got, work.data());
  EXPECT_TRUE(testing_util::same_value(got, evaluate(f, pt.args()))) << got;
}

TEST(Tape, BindOnATapeWithoutParametersOrInstructions) {
  const Tape constant = Tape::compile({Expr::constant(2.5)});
  const Tape leaf = Tape::compile({Expr::species(1)});
  Point pt;
  std::vector<double> w1(constant.work_size()), w2(leaf.work_size());
  double a = 0.0, b = 0.0;
  constant.bind(pt.p, w1.data());
  constant.eval_bound(pt.args(), &a, w1.data());
  leaf.bind(pt.p, w2.data());
  leaf.eval_bound(pt.args(), &b, w2.data());
  EXPECT_EQ(a, 2.5);
  EXPECT_EQ(b, pt.y[1]);
  EXPECT_EQ(constant.n_bound_instructions(), 0u);
  Tape empty;
  empty.bind(nullptr, nullptr);
  empty.eval_bound(pt.args(), nullptr, nullptr);
}

}  // namespace
}  // namespace osteogrn

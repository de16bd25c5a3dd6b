// The MathML functions of the grammar (sin ... atanh, floor, ceil, factorial): values equal to
// <cmath>, printing that parses back, arity errors with a position, constant folding,
// derivatives against finite differences, and the tape equal to the tree walk bit for bit.
#include <gtest/gtest.h>

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
using testing_util::same_value;

struct Function {
  const char* name;
  Op op;
  double (*reference)(double);
};

const Function kSmooth[] = {
    {"sin", Op::Sin, [](double x) { return std::sin(x); }},
    {"cos", Op::Cos, [](double x) { return std::cos(x); }},
    {"tan", Op::Tan, [](double x) { return std::tan(x); }},
    {"asin", Op::Asin, [](double x) { return std::asin(x); }},
    {"acos", Op::Acos, [](double x) { return std::acos(x); }},
    {"atan", Op::Atan, [](double x) { return std::atan(x); }},
    {"sinh", Op::Sinh, [](double x) { return std::sinh(x); }},
    {"cosh", Op::Cosh, [](double x) { return std::cosh(x); }},
    {"tanh", Op::Tanh, [](double x) { return std::tanh(x); }},
    {"asinh", Op::Asinh, [](double x) { return std::asinh(x); }},
    {"acosh", Op::Acosh, [](double x) { return std::acosh(x); }},
    {"atanh", Op::Atanh, [](double x) { return std::atanh(x); }},
};

const Function kStep[] = {
    {"floor", Op::Floor, [](double x) { return std::floor(x); }},
    {"ceil", Op::Ceil, [](double x) { return std::ceil(x); }},
};

// Arguments inside and outside every domain, at the edges, and non-finite.
const double kArgs[] = {-3.7, -1.0, -0.999, -0.5, -0.0, 0.0, 1e-300, 0.3, 0.999, 1.0,
                        1.0000001, 2.5, 40.0, 800.0, HUGE_VAL, -HUGE_VAL, std::nan("")};

double value_at(const std::string& text, double x) {
  Point pt;
  pt.y[0] = x;
  return evaluate(resolved(text), pt.args());
}

TEST(ExpressionFunctions, ValuesEqualCmathBitForBit) {
  auto check = [](const Function& f) {
    for (const double x : kArgs) {
      const double want = f.reference(x);
      EXPECT_TRUE(same_value(value_at(std::string(f.name) + "(x)", x), want))
          << f.name << "(" << x << ")";
    }
  };
  for (const auto& f : kSmooth) check(f);
  for (const auto& f : kStep) check(f);
  // Spot values, so that a swapped table entry cannot agree with a swapped reference.
  EXPECT_EQ(value_at("sin(x)", 0.0), 0.0);
  EXPECT_EQ(value_at("cos(x)", 0.0), 1.0);
  EXPECT_DOUBLE_EQ(value_at("atan(x)", 1.0), M_PI / 4);
  EXPECT_DOUBLE_EQ(value_at("acos(x)", -1.0), M_PI);
  EXPECT_DOUBLE_EQ(value_at("cosh(x)^2 - sinh(x)^2", 0.7), 1.0);
  EXPECT_EQ(value_at("floor(x)", -2.5), -3.0);
  EXPECT_EQ(value_at("ceil(x)", -2.5), -2.0);
  EXPECT_EQ(value_at("floor(x) + ceil(x)", 4.0), 8.0);
  EXPECT_TRUE(std::isnan(value_at("asin(x)", 1.5)));
  EXPECT_TRUE(std::isnan(value_at("acosh(x)", 0.5)));
  EXPECT_EQ(value_at("atanh(x)", 1.0), HUGE_VAL);
}

TEST(ExpressionFunctions, FactorialIsDefinedOnTheNonNegativeIntegers) {
  EXPECT_EQ(value_at("factorial(x)", 0.0), 1.0);
  EXPECT_EQ(value_at("factorial(x)", 1.0), 1.0);
  EXPECT_EQ(value_at("factorial(x)", 5.0), 120.0);
  EXPECT_EQ(value_at("factorial(x)", 18.0), 6402373705728000.0);  // exact in a double
  double p = 1.0;
  for (int k = 2; k <= 170; ++k) p *= k;
  EXPECT_EQ(value_at("factorial(x)", 170.0), p);
  EXPECT_TRUE(std::isfinite(p));
  EXPECT_EQ(value_at("factorial(x)", 171.0), HUGE_VAL);
  EXPECT_EQ(value_at("factorial(x)", 1e300), HUGE_VAL);  // no 1e300-step loop
  EXPECT_EQ(value_at("factorial(x)", HUGE_VAL), HUGE_VAL);
  for (const double bad : {-1.0, -0.5, 2.5, 1e-300, -HUGE_VAL, std::nan("")})
    EXPECT_TRUE(std::isnan(value_at("factorial(x)", bad))) << bad;
}

TEST(ExpressionFunctions, PrintingParsesBack) {
  const char* texts[] = {
      "sin(x) + cos(y) * tan(z)", "asin(x / 4) - acos(y / 4) ^ atan(z)",
      "-sinh(x) ^ 2 + cosh(-y) / tanh(t)", "asinh(x) * acosh(y + 1) + atanh(z / 2)",
      "floor(x * t) - ceil(-y) + factorial(floor(z))", "sin(cos(tan(x)))",
  };
  const Point pt;
  for (const char* text : texts) {
    SCOPED_TRACE(text);
    const Expr e = resolved(text);
    const std::string s = to_string(e);
    EXPECT_EQ(s, text);  // written in the printer's own style: printed unchanged
    EXPECT_TRUE(same_value(evaluate(resolved(s), pt.args()), evaluate(e, pt.args()))) << s;
  }
  for (const auto& f : kSmooth)
    EXPECT_EQ(to_string(Expr::make(f.op, {Expr::symbol("a")})), std::string(f.name) + "(a)");
  EXPECT_EQ(to_string(Expr::make(Op::Factorial, {Expr::symbol("n")})), "factorial(n)");
}

TEST(ExpressionFunctions, WrongUseIsAParseErrorWithPosition) {
  struct Bad {
    const char* text;
    std::size_t position;
    const char* message;
  };
  const Bad rows[] = {
      {"sin(x, y)", 0, "sin expects 1 argument, got 2"},
      {"x + floor()", 4, "floor expects 1 argument, got 0"},
      {"2 * atanh(1, 2, 3)", 4, "atanh expects 1 argument, got 3"},
      {"cos + 1", 4, "function 'cos' must be called"},
      {"factorial", 9, "function 'factorial' must be called"},
      {"arcsin(x)", 0, "unknown function 'arcsin'"},
      {"ceiling(x)", 0, "unknown function 'ceiling'"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.text);
    try {
      parse_expression(r.text);
      ADD_FAILURE() << "no ParseError";
    } catch (const ParseError& e) {
      EXPECT_EQ(e.position(), r.position) << e.what();
      EXPECT_NE(e.message().find(r.message), std::string::npos) << e.message();
    }
  }
  for (const auto& f : kSmooth) {
    EXPECT_THROW(Expr::make(f.op, {}), Error) << f.name;
    EXPECT_THROW(Expr::make(f.op, {Expr::constant(1), Expr::constant(2)}), Error) << f.name;
  }
}

TEST(ExpressionFunctions, ConstantsFold) {
  for (const auto& f : kSmooth) {
    const Expr e = simplify(Expr::make(f.op, {Expr::constant(0.25)}));
    ASSERT_EQ(e.node()->op, Op::Const) << f.name;
    EXPECT_TRUE(same_value(e.node()->value, f.reference(0.25))) << f.name;  // acosh: NaN
  }
  const Expr e = simplify(parse_expression("factorial(4) + floor(2.5) + ceil(0.5) + x"));
  EXPECT_EQ(to_string(e), "27 + x");  // ((24 + 2) + 1) + x: the constant prefix folds
}

/// Central difference of order 4 in species 0 (x), parameter 2 (k1) or time.
double finite_difference(const Expr& e, Point pt, double& (*slot)(Point&)) {
  double& v = slot(pt);
  const double v0 = v, h = 1e-4 * std::max(std::fabs(v0), 0.1);
  auto f = [&](double dv) {
    v = v0 + dv;
    return evaluate(e, pt.args());
  };
  return (8.0 * (f(h) - f(-h)) - (f(2 * h) - f(-2 * h))) / (12.0 * h);
}

TEST(ExpressionFunctions, DerivativesMatchFiniteDifferences) {
  // Each function of an inner expression in x, k1 and t that stays inside its domain for
  // x in [0.2, 3], k1 in [0.5, 2], t in [0, 2], so the chain rule is exercised too: the inner
  // x*k1 - t lies in [-2, 6]; divided by 7 it is inside (-1, 1) for asin, acos and atanh, and
  // divided by 5 inside (-pi/2, pi/2) for tan.
  const char* texts[] = {
      "sin(x * k1 - t)",          "cos(x * k1 - t)",
      "tan((x * k1 - t) / 5)",    "asin((x * k1 - t) / 7)",
      "acos((x * k1 - t) / 7)",   "atan(x * k1 - t)",
      "sinh(x * k1 - t)",         "cosh(x * k1 - t)",
      "tanh(x * k1 - t)",         "asinh(x * k1 - t)",
      "acosh(1.05 + x * k1 + t)", "atanh((x * k1 - t) / 7)",
      "sin(x) * cos(t) / (1 + tanh(k1 * x)) + atan(x / k1) * asinh(t - x)",
  };
  double& (*slots[])(Point&) = {[](Point& p) -> double& { return p.y[0]; },
                                [](Point& p) -> double& { return p.p[2]; },
                                [](Point& p) -> double& { return p.t; }};
  const std::pair<Op, std::uint32_t> vars[] = {{Op::Species, 0}, {Op::Parameter, 2}, {Op::Time, 0}};
  std::mt19937 rng(13);
  std::uniform_real_distribution<double> xd(0.2, 3.0), kd(0.5, 2.0), td(0.0, 2.0);
  for (const char* text : texts) {
    SCOPED_TRACE(text);
    const Expr e = resolved(text);
    for (int k = 0; k < 3; ++k) {
      const Expr d = differentiate(e, vars[k].first, vars[k].second);
      ASSERT_FALSE(is_zero(d));
      for (int j = 0; j < 30; ++j) {
        Point pt;
        pt.y[0] = xd(rng);
        pt.p[2] = kd(rng);
        pt.t = td(rng);
        const double exact = evaluate(d, pt.args());
        const double fd = finite_difference(e, pt, slots[k]);
        ASSERT_TRUE(std::isfinite(exact)) << to_string(d);
        EXPECT_NEAR(exact, fd, 1e-7 * (1.0 + std::fabs(exact))) << to_string(d) << " var " << k;
      }
    }
  }
}

TEST(ExpressionFunctions, StepFunctionsHaveZeroDerivative) {
  for (const char* text : {"floor(x * y)", "ceil(sin(x) + t)", "factorial(floor(x))",
                           "k1 * floor(x) + ceil(t)"}) {
    SCOPED_TRACE(text);
    EXPECT_TRUE(is_zero(differentiate(resolved(text), Op::Species, 0)));
    EXPECT_TRUE(is_zero(differentiate(resolved(text), Op::Time)));
  }
  // ... but what multiplies them still differentiates: d/dk1 (k1 * floor(x)) = floor(x).
  EXPECT_EQ(to_string(differentiate(resolved("k1 * floor(x)"), Op::Parameter, 2)), "floor(x)");
  // A zero inner derivative gives 0 even where f' is infinite (asin at 1).
  EXPECT_TRUE(is_zero(differentiate(resolved("asin(k1)"), Op::Species, 0)));
}

TEST(ExpressionFunctions, TapeEqualsTreeWalkForEveryFunctionAndDerivative) {
  std::vector<Expr> outs;
  std::vector<std::string> all;
  for (const auto& f : kSmooth) all.push_back(f.name);
  for (const auto& f : kStep) all.push_back(f.name);
  all.push_back("factorial");
  for (const auto& name : all) {
    // the argument spans every domain edge as x and t vary; k1 a parameter (bind stage)
    const Expr e = resolved(name + "(x * k1 - t) + " + name + "(k1) * " + name + "(x)");
    outs.push_back(e);
    outs.push_back(differentiate(e, Op::Species, 0));
    outs.push_back(differentiate(e, Op::Parameter, 2));
    outs.push_back(differentiate(e, Op::Time));
  }
  const Tape tape = Tape::compile(outs);
  std::vector<double> work(tape.work_size()), got(tape.n_outputs()), bound(tape.n_outputs());
  int finite = 0, compared = 0;
  for (const double x : kArgs) {
    for (const double k1 : {0.5, 1.0, 3.0, -0.25}) {
      Point pt;
      pt.y[0] = x;
      pt.p[2] = k1;
      pt.t = 0.75;
      tape.eval(pt.args(), got.data(), work.data());
      std::vector<double> w2(tape.work_size());
      tape.bind(pt.p, w2.data());
      tape.eval_bound(pt.args(), bound.data(), w2.data());
      for (std::size_t i = 0; i < outs.size(); ++i) {
        const double want = evaluate(outs[i], pt.args());
        EXPECT_TRUE(same_value(got[i], want)) << to_string(outs[i]) << " at x=" << x;
        EXPECT_TRUE(same_value(bound[i], want)) << to_string(outs[i]) << " at x=" << x;
        finite += std::isfinite(want);
        ++compared;
      }
    }
  }
  EXPECT_GT(finite, compared / 4);  // real numbers were compared, not only NaN against NaN
}

}  // namespace
}  // namespace osteogrn

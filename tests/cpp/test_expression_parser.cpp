// Parser, printer, evaluation, substitution, simplification and dependency order.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "expression_test_util.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/expression.hpp"

namespace osteogrn {
namespace {

using testing_util::Point;
using testing_util::resolved;

// Leaf values: x=2, y=3, z=0.5; K=1.5, n=2, k1=0.7, k2=0.3; u0=4, u1=0.25; t=1.5.
double value_of(const std::string& text) { return evaluate(resolved(text), Point{}.args()); }

struct Row {
  const char* text;
  double expected;
};

TEST(ExpressionParser, PrecedenceAndAssociativityTable) {
  const Row rows[] = {
      {"2+3*4", 14},
      {"(2+3)*4", 20},
      {"2^3^2", 512},
      {"(2^3)^2", 64},
      {"-2^2", -4},
      {"(-2)^2", 4},
      {"2*-3", -6},
      {"2^-1", 0.5},
      {"-2^-2", -0.25},
      {"8/4/2", 1},
      {"2-3-4", -5},
      {"2-(3-4)", 3},
      {"2*3/4", 1.5},
      {"+3 - -2", 5},
      {"--3", 3},
      {"2 - -2^2", 6},
      {"10 - 2 * 3 ^ 2 / 6", 7},
      {"2 * (3 + 4) ^ 2", 98},
      {"-(2+3)", -5},
      {"1<2 and 3>4", 0},
      {"1<2 or 3>4", 1},
      {"not 1<2", 0},
      {"not 0 and 0", 0},      // (not 0) and 0: not binds tighter than and
      {"not 1 or 1", 1},
      {"1 or 0 and 0", 1},     // 1 or (0 and 0): and binds tighter than or
      {"0 and 0 or 1", 1},
      {"1+2 < 4", 1},
      {"2*3 == 6", 1},
      {"1 != 1", 0},
      {"3 >= 3", 1},
      {"2 <= 1", 0},
      {"(1 < 2) + (2 < 1) * 5", 1},
      {"not not 2", 1},
      {"x*y + z", 6.5},
      {"x^y", 8},
      {"-x^2", -4},
      {"t*2", 3},
      {"u0/x", 2},
      {"min(3,1,2)", 1},
      {"max(3,1,2)", 3},
      {"min(x, y) + max(z, k1)", 2.7},
      {"piecewise(10, x > 5, 20, y > 2, 30)", 20},
      {"piecewise(10, x < 5, 20, y > 2, 30)", 10},
      {"piecewise(10, x > 5, 30)", 30},
      {"piecewise(1, 0, 2, 0, 3, 0, 4)", 4},
      {"1e-3*1000", 1},
      {"2.5E+4", 25000},
      {".5 + 1.", 1.5},
      {"1.5e2", 150},
      {"  x\t*\n2 ", 4},
      {"2*x^n/(K^n + x^n)", 2 * 4.0 / (2.25 + 4.0)},
  };
  static_assert(sizeof rows / sizeof rows[0] >= 25, "at least 25 rows");
  for (const auto& r : rows) {
    SCOPED_TRACE(r.text);
    EXPECT_DOUBLE_EQ(value_of(r.text), r.expected);
  }
}

TEST(ExpressionParser, TreeShape) {
  // -x^2 is Neg(Pow), 2^3^2 is Pow(2, Pow(3, 2)), a-b-c is Sub(Sub(a,b),c).
  Expr e = parse_expression("-x^2");
  ASSERT_EQ(e.node()->op, Op::Neg);
  EXPECT_EQ(e.node()->args[0]->op, Op::Pow);
  e = parse_expression("2^3^2");
  ASSERT_EQ(e.node()->op, Op::Pow);
  EXPECT_EQ(e.node()->args[1]->op, Op::Pow);
  e = parse_expression("a-b-c");
  ASSERT_EQ(e.node()->op, Op::Sub);
  EXPECT_EQ(e.node()->args[0]->op, Op::Sub);
  EXPECT_EQ(e.node()->args[1]->name, "c");
  // t is time; e and pi are ordinary names; ln is log.
  EXPECT_EQ(parse_expression("t").node()->op, Op::Time);
  EXPECT_EQ(parse_expression("ln(a)").node()->op, Op::Log);
  EXPECT_EQ(referenced_names(parse_expression("e * pi + t + exp(e)")),
            (std::set<std::string>{"e", "pi"}));
  EXPECT_EQ(referenced_names(parse_expression("hill(Runx2, K_r, n_r) * t_half")),
            (std::set<std::string>{"K_r", "Runx2", "n_r", "t_half"}));
}

TEST(ExpressionParser, FunctionsAgreeWithStdMath) {
  const double x = 2.0, y = 3.0, z = 0.5;
  struct F {
    const char* text;
    double expected;
  };
  const F rows[] = {
      {"exp(z)", std::exp(z)},
      {"log(y)", std::log(y)},
      {"ln(y)", std::log(y)},
      {"log10(y * 100)", std::log10(y * 100)},
      {"sqrt(x)", std::sqrt(x)},
      {"abs(z - y)", std::fabs(z - y)},
      {"abs(y)", 3.0},
      {"min(y, x, z)", z},
      {"max(z, y, x)", y},
      {"min(x, y)", x},
      {"max(x, y)", y},
      {"pow(y, 1.7)", std::pow(y, 1.7)},
      {"pow(x, -z)", std::pow(x, -z)},
      {"y ^ 0.3", std::pow(y, 0.3)},
      {"hill(x, y, 2.5)", std::pow(x, 2.5) / (std::pow(y, 2.5) + std::pow(x, 2.5))},
      {"hill_rep(x, y, 2.5)", std::pow(y, 2.5) / (std::pow(y, 2.5) + std::pow(x, 2.5))},
      {"hill(y, y, 4)", 0.5},
      {"hill(-0.1, 3, 2)", 0.0},         // x <= 0 counts as 0 ...
      {"hill(-0.1, 3, 2.5)", 0.0},       // ... so a non-integer n gives no NaN
      {"hill(0, 3, 2)", 0.0},
      {"hill_rep(-1, 3, 2.5)", 1.0},
      {"hill_rep(0, 3, 2)", 1.0},
      {"piecewise(x, y > x, z)", x},
      {"piecewise(x, y < x, z)", z},
      {"piecewise(1, y < x, 2, z < x, 3)", 2},
      {"log(0)", -HUGE_VAL},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.text);
    EXPECT_DOUBLE_EQ(value_of(r.text), r.expected);
  }
  EXPECT_TRUE(std::isnan(value_of("log(-1)")));
  EXPECT_TRUE(std::isnan(value_of("sqrt(-1)")));
  // NaN propagates through min/max from either side.
  EXPECT_TRUE(std::isnan(value_of("min(1, sqrt(-1))")));
  EXPECT_TRUE(std::isnan(value_of("max(sqrt(-1), 1)")));
}

struct Bad {
  const char* text;
  std::size_t position;
  const char* message;
};

TEST(ExpressionParser, MalformedExpressionsGiveParseErrorWithPosition) {
  const Bad rows[] = {
      {"", 0, "empty expression"},
      {"   ", 3, "empty expression"},
      {"1 +", 3, "unexpected end of expression"},
      {"(1 + 2", 6, "expected ')'"},
      {"((x)", 4, "expected ')'"},
      {"1 + 2)", 5, "unexpected ')'"},
      {"foo(1)", 0, "unknown function 'foo'"},
      {"2 * bar(x, y)", 4, "unknown function 'bar'"},
      {"hill(x, K)", 0, "hill expects 3 arguments, got 2"},
      {"x + hill_rep(x, K, n, 1)", 4, "hill_rep expects 3 arguments, got 4"},
      {"exp(1, 2)", 0, "exp expects 1 argument, got 2"},
      {"sqrt()", 0, "sqrt expects 1 argument, got 0"},
      {"pow(2)", 0, "pow expects 2 arguments, got 1"},
      {"min(1)", 0, "min expects at least 2 arguments, got 1"},
      {"piecewise(1, 2)", 0, "piecewise expects an odd number (>= 3) of arguments"},
      {"piecewise(1)", 0, "got 1"},
      {"a < b < c", 6, "comparisons cannot be chained"},
      {"1e", 1, "malformed number '1e'"},
      {"2.5e+ 1", 3, "malformed number '2.5e+'"},
      {"3 * 1Ex", 5, "malformed number '1Ex'"},
      {"x # y", 2, "unexpected character '#'"},
      {"and + 1", 0, "reserved word 'and'"},
      {"x + or", 4, "reserved word 'or'"},
      {"3 x", 2, "unexpected name 'x'"},
      {"2x", 1, "unexpected name 'x'"},
      {"x = 1", 2, "unexpected '='"},
      {"2 * * 3", 4, "expected a number, name or '(', got '*'"},
      {"max(1,)", 6, "got ')'"},
      {"max(1 2)", 6, "expected ',' or ')'"},
      {"()", 1, "got ')'"},
      {"exp + 1", 4, "function 'exp' must be called"},
      {"1e999", 0, "out of range"},
      {"x !y", 2, "unexpected '!'"},
  };
  static_assert(sizeof rows / sizeof rows[0] >= 15, "at least 15 malformed rows");
  for (const auto& r : rows) {
    SCOPED_TRACE(r.text);
    try {
      parse_expression(r.text);
      ADD_FAILURE() << "no ParseError for '" << r.text << "'";
    } catch (const ParseError& e) {
      EXPECT_EQ(e.position(), r.position) << e.what();
      EXPECT_EQ(e.text(), r.text);
      EXPECT_NE(e.message().find(r.message), std::string::npos) << e.message();
      const std::string what = e.what();
      EXPECT_NE(what.find(r.message), std::string::npos) << what;
      EXPECT_NE(what.find("at position " + std::to_string(r.position)), std::string::npos)
          << what;
    }
  }
}

TEST(ExpressionParser, DeepInputIsAnErrorNotACrash) {
  const std::string deep = std::string(100000, '(') + "x" + std::string(100000, ')');
  EXPECT_THROW(parse_expression(deep), ParseError);
  std::string chain = "x";
  for (int i = 0; i < 50000; ++i) chain += "+x";
  EXPECT_THROW(parse_expression(chain), ParseError);
  std::string minus(100000, '-');
  EXPECT_THROW(parse_expression(minus + "x"), ParseError);
  // Moderate sizes are fine.
  std::string ok = "x";
  for (int i = 0; i < 500; ++i) ok += "+x";
  EXPECT_EQ(referenced_names(parse_expression(ok)), std::set<std::string>{"x"});
}

TEST(ExpressionParser, LocatedParseErrorNamesFileAndPointer) {
  try {
    parse_expression("1 + ");
    FAIL();
  } catch (const ParseError& e) {
    const ParseError l = e.located("models/a.json", "/odes/Runx2");
    EXPECT_EQ(l.position(), 4u);
    const std::string w = l.what();
    EXPECT_EQ(w.rfind("models/a.json: /odes/Runx2: ", 0), 0u) << w;
  }
}

TEST(ExpressionToString, ParsesBackToTheSameValue) {
  const char* texts[] = {"2+3*4", "2^3^2", "(2^3)^2", "-x^2", "(-x)^2", "2*-3", "x^-y",
                         "8/4/2", "8/(4/2)", "2-3-4", "2-(3-4)", "x - -y", "not x < y",
                         "(not x) < y", "1 or 0 and 0", "(1 or 0) and 0", "(x < y) < z",
                         "min(x, y, z) + max(1, 2)", "hill(x, K, n) * hill_rep(y, K, 2)",
                         "piecewise(x, y > 1, -z, t < 2, 0.1)", "exp(log(x)) / log10(y)",
                         "sqrt(abs(-x)) ^ pow(2, 0.5)", "-(x + y)", "- -x", "1e-300 * x",
                         "0.1 + 0.2", "(x*y)/(z*k1)", "x*(y/z)", "x/(y*z)"};
  const Point pt;
  for (const char* text : texts) {
    SCOPED_TRACE(text);
    const Expr e = resolved(text);
    const std::string s = to_string(e);
    const Expr back = resolved(s);
    EXPECT_TRUE(testing_util::same_value(evaluate(back, pt.args()), evaluate(e, pt.args())))
        << s;
    EXPECT_EQ(to_string(back), s);
  }
  EXPECT_EQ(to_string(parse_expression("a + b * c")), "a + b * c");
  EXPECT_EQ(to_string(parse_expression("(a + b) * c")), "(a + b) * c");
  EXPECT_EQ(to_string(parse_expression("a - (b - c)")), "a - (b - c)");
  EXPECT_EQ(to_string(parse_expression("-a^2")), "-a ^ 2");
  EXPECT_EQ(to_string(parse_expression("(-a)^2")), "(-a) ^ 2");
  EXPECT_EQ(to_string(parse_expression("hill(a, K, 2)")), "hill(a, K, 2)");
  EXPECT_EQ(to_string(Expr::species(3)), "y3");
}

TEST(ExpressionToString, RandomTreesRoundTrip) {
  testing_util::RandomExpr gen(7);
  for (int k = 0; k < 300; ++k) {
    const Expr e = gen.make(5);
    const std::string s = to_string(e);
    // Resolved leaves without names print as y0/p0/u0: map them back by the same names.
    const Expr back = substitute(parse_expression(s), [](const std::string& name) -> Expr {
      const auto i = static_cast<std::uint32_t>(std::stoul(name.substr(1)));
      if (name[0] == 'y') return Expr::species(i);
      if (name[0] == 'p') return Expr::parameter(i);
      return Expr::input(i);
    });
    for (int j = 0; j < 3; ++j) {
      const Point pt = gen.point();
      EXPECT_TRUE(testing_util::same_value(evaluate(back, pt.args()), evaluate(e, pt.args())))
          << s;
    }
  }
}

TEST(ExpressionSubstitute, ResolvesNamesAndKeepsSharing) {
  // A shared subtree (a*2 used twice) stays one node after substitution.
  const Expr shared = Expr::make(Op::Mul, {Expr::symbol("a"), Expr::constant(2)});
  const Expr e = Expr::make(Op::Add, {shared, shared});
  int calls = 0;
  const Expr r = substitute(e, [&](const std::string& name) {
    ++calls;
    EXPECT_EQ(name, "a");
    return Expr::species(0, "a");
  });
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(r.node()->op, Op::Add);
  EXPECT_EQ(r.node()->args[0].get(), r.node()->args[1].get());
  EXPECT_EQ(r.node()->args[0]->args[0]->op, Op::Species);
  const double y[] = {5.0};
  EXPECT_EQ(evaluate(r, EvalArgs{y, nullptr, nullptr, 0}), 20.0);
  // Nothing to substitute: the very same tree comes back.
  const Expr none = parse_expression("1 + t");
  EXPECT_EQ(substitute(none, [](const std::string&) -> Expr { throw Error("unused"); }).node(),
            none.node());
  // Inlining another expression.
  const Expr inl = substitute(parse_expression("2 * drive + drive"), [](const std::string&) {
    return Expr::make(Op::Add, {Expr::species(0, "x"), Expr::constant(1)});
  });
  EXPECT_EQ(evaluate(inl, EvalArgs{y, nullptr, nullptr, 0}), 18.0);
  // The resolver's error passes through; evaluate refuses unresolved names.
  EXPECT_THROW(substitute(parse_expression("q"),
                          [](const std::string& n) -> Expr { throw ModelError("unknown " + n); }),
               ModelError);
  EXPECT_THROW(evaluate(parse_expression("q + 1"), EvalArgs{}), Error);
}

TEST(ExpressionSimplify, FoldsConstantsAndIdentities) {
  auto simp = [](const char* text) { return simplify(resolved(text)); };
  Expr e = simp("2*3 + x");
  ASSERT_EQ(e.node()->op, Op::Add);
  EXPECT_EQ(e.node()->args[0]->op, Op::Const);
  EXPECT_EQ(e.node()->args[0]->value, 6.0);
  EXPECT_EQ(simp("x*1 + 0").node()->op, Op::Species);
  EXPECT_EQ(simp("1*x - 0").node()->op, Op::Species);
  EXPECT_EQ(simp("x/1").node()->op, Op::Species);
  EXPECT_EQ(simp("x^1").node()->op, Op::Species);
  EXPECT_TRUE(is_zero(simp("0*x")));
  EXPECT_TRUE(is_zero(simp("exp(y)*(2-2)")));
  const Expr one = simp("x^0");
  ASSERT_EQ(one.node()->op, Op::Const);
  EXPECT_EQ(one.node()->value, 1.0);
  EXPECT_EQ(simp("--x").node()->op, Op::Species);
  EXPECT_EQ(simp("0-x").node()->op, Op::Neg);
  EXPECT_EQ(simp("piecewise(1, 2 > 1, x)").node()->value, 1.0);
  EXPECT_EQ(simp("piecewise(x, 0, 5)").node()->value, 5.0);
  EXPECT_EQ(simp("piecewise(x, 1 < 0, y, t > 1, 5)").node()->op, Op::Piecewise);
  EXPECT_EQ(simp("piecewise(x, 1 < 0, y, t > 1, 5)").node()->args.size(), 3u);
  EXPECT_EQ(simp("min(1, 2) + max(3, 4) + hill(1, 1, 2) + (1 < 2) + log10(100)").node()->value,
            5.0 + 0.5 + 1.0 + 2.0);
  EXPECT_EQ(simp("x and 0").node()->value, 0.0);
  EXPECT_EQ(simp("x or 2").node()->value, 1.0);
  // A constant that is not finite is kept: 0 * (1/0) folds to NaN, not 0.
  EXPECT_TRUE(std::isnan(simp("0 * (1/0)").node()->value));
  // Nothing to do: the same node comes back.
  const Expr same = resolved("x * y + exp(z)");
  EXPECT_EQ(simplify(same).node(), same.node());
}

TEST(ExpressionSimplify, NeverChangesAFiniteValue) {
  testing_util::RandomExpr gen(11, /*const_leaf_prob=*/0.6);
  int compared = 0, shrunk = 0;
  for (int k = 0; k < 400; ++k) {
    const Expr e = gen.make(5);
    const Expr s = simplify(e);
    if (s.node() != e.node()) ++shrunk;
    for (int j = 0; j < 5; ++j) {
      const Point pt = gen.point();
      const double a = evaluate(e, pt.args());
      if (!std::isfinite(a)) continue;
      EXPECT_EQ(evaluate(s, pt.args()), a) << to_string(e) << "  ->  " << to_string(s);
      ++compared;
    }
  }
  EXPECT_GT(compared, 800);
  EXPECT_GT(shrunk, 100);
}

TEST(DependencyOrder, OrdersDependenciesFirstAlphabeticallyAmongReady) {
  const std::map<std::string, std::set<std::string>> deps = {
      {"a", {"b", "Runx2"}}, {"b", {"c"}}, {"c", {}}, {"d", {"a", "zzz"}}, {"x", {}}};
  const std::vector<std::string> want = {"c", "b", "a", "d", "x"};
  EXPECT_EQ(dependency_order(deps), want);
  EXPECT_TRUE(dependency_order({}).empty());
  const std::vector<std::string> abc = {"a", "m", "z"};
  EXPECT_EQ(dependency_order({{"z", {}}, {"a", {}}, {"m", {}}}), abc);
}

TEST(DependencyOrder, CycleNamesTheCyclePath) {
  auto message = [](const std::map<std::string, std::set<std::string>>& deps) {
    try {
      dependency_order(deps);
    } catch (const ModelError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message({{"a", {"b"}}, {"b", {"a"}}, {"c", {}}}),
            "cycle among expressions: a -> b -> a");
  EXPECT_EQ(message({{"a", {"a"}}}), "cycle among expressions: a -> a");
  // A tail leading into the cycle is not part of the reported path.
  EXPECT_EQ(message({{"a", {"b"}}, {"b", {"c"}}, {"c", {"d"}}, {"d", {"b"}}}),
            "cycle among expressions: b -> c -> d -> b");
}

TEST(ExprMake, ChecksArity) {
  EXPECT_THROW(Expr::make(Op::Add, {Expr::constant(1)}), Error);
  EXPECT_THROW(Expr::make(Op::Piecewise, {Expr::constant(1), Expr::constant(1)}), Error);
  EXPECT_THROW(Expr::make(Op::Min, {Expr::constant(1)}), Error);
  EXPECT_THROW(Expr::make(Op::Const, {}), Error);
  EXPECT_NO_THROW(Expr::make(Op::Max, {Expr::constant(1), Expr::constant(2), Expr::time()}));
}

}  // namespace
}  // namespace osteogrn

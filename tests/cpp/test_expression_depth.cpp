// Deep expression trees: every pass over a tree (simplify, differentiate, substitute, evaluate,
// to_string, tape compile, destruction) must run on a 1 MB stack (a worker thread's stack is
// often that small), and inlining a chain of named expressions must stay linear in its length.
#include <gtest/gtest.h>
#include <pthread.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "expression_test_util.hpp"
#include "osteogrn/detail/expression_node.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/expression.hpp"
#include "osteogrn/model.hpp"

namespace {

using namespace osteogrn;
using testing_util::Point;

constexpr std::size_t kSmallStack = 1u << 20;  // 1 MB

// The recursive-descent parser needs about 640 KiB at its 400-level bound in a release build
// (parentheses: nine frames a level). AddressSanitizer pads every frame, which takes the same
// input past 2 MB, so a sanitized build checks the parser against 4 MB instead; the tree passes
// are iterative and are checked against 1 MB in every build.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define OSTEOGRN_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define OSTEOGRN_TEST_SANITIZED 1
#endif
#endif
#ifdef OSTEOGRN_TEST_SANITIZED
constexpr std::size_t kParserStack = 4u << 20;
#else
constexpr std::size_t kParserStack = kSmallStack;
#endif

// The load-time bound of issue 10 is for an optimised, uninstrumented build (sanitizers slow
// everything several times over; the values are checked in every build).
#if defined(NDEBUG) && !defined(OSTEOGRN_TEST_SANITIZED)
constexpr bool kTimedBuild = true;
#else
constexpr bool kTimedBuild = false;
#endif

/// Runs fn on a new thread with the given stack size; rethrows what fn threw.
void run_on_stack(std::size_t stack_bytes, const std::function<void()>& fn) {
  struct Job {
    const std::function<void()>* fn;
    std::exception_ptr error;
  } job{&fn, nullptr};
  pthread_attr_t attr;
  ASSERT_EQ(pthread_attr_init(&attr), 0);
  ASSERT_EQ(pthread_attr_setstacksize(&attr, stack_bytes), 0);
  pthread_t thread;
  const int rc = pthread_create(
      &thread, &attr,
      [](void* p) -> void* {
        auto* j = static_cast<Job*>(p);
        try {
          (*j->fn)();
        } catch (...) {
          j->error = std::current_exception();
        }
        return nullptr;
      },
      &job);
  pthread_attr_destroy(&attr);
  ASSERT_EQ(rc, 0) << std::strerror(rc);
  ASSERT_EQ(pthread_join(thread, nullptr), 0);
  if (job.error) std::rethrow_exception(job.error);
}

/// A model with one species x and the named expressions e_0 = x, e_i = e_{i-1} + 0.5*x; the
/// ODE of x is e_{n-1}, which inlines to a tree n levels deep.
std::string chain_model(int n) {
  std::string s = R"({"schema": "osteogrn-model/1", "name": "chain",)"
                  R"( "species": {"x": {"initial": 1}}, "expressions": {"e_0": "x")";
  for (int i = 1; i < n; ++i)
    s += ", \"e_" + std::to_string(i) + "\": \"e_" + std::to_string(i - 1) + " + 0.5*x\"";
  s += R"(}, "odes": {"x": "e_)" + std::to_string(n - 1) + "\"}}";
  return s;
}

/// CPU time of the calling thread, in seconds: the load-time bound below is on the work done,
/// not on the wall clock of a machine shared with other jobs.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

std::uint64_t bits(double v) {
  std::uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

TEST(ExpressionDepth, ChainOf10000NamedExpressionsLoadsOnA1MBStack) {
  const int n = 10000;
  const std::string text = chain_model(n);
  double cpu = -1.0, wall = -1.0;
  std::vector<double> f, jac;
  run_on_stack(kSmallStack, [&] {
    const double c0 = thread_cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    const Model m = Model::from_json(text, "chain.json");
    wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    cpu = thread_cpu_seconds() - c0;
    // x = 2: every partial sum is an integer, so the closed form is exact.
    f = m.rhs(0.0, {2.0}, {});
    jac = m.jacobian(0.0, {2.0}, {});
  });  // the model (and its 10,000-deep trees) is destroyed on the small stack too
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0], 2.0 * (1.0 + 0.5 * (n - 1)));
  ASSERT_EQ(jac.size(), 1u);
  EXPECT_EQ(jac[0], 1.0 + 0.5 * (n - 1));
  // Issue 10 asks for < 1 s; it was 19 s (each named expression re-simplified the whole chain
  // inlined below it). Measured on the loading thread's CPU clock (the machine is shared).
  std::printf("chain of %d named expressions: loaded in %.3f s CPU (%.3f s wall)\n", n, cpu, wall);
  if (kTimedBuild) EXPECT_LT(cpu, 1.0);
}

/// x + 0.5*x + 0.5*x + ... (levels additions), left-nested.
Expr add_chain(const Expr& x, int levels) {
  Expr e = x;
  for (int i = 0; i < levels; ++i)
    e = Expr::make(Op::Add, {e, Expr::make(Op::Mul, {Expr::constant(0.5), x})});
  return e;
}

TEST(ExpressionDepth, EveryPassHandlesA100000DeepChainOnA1MBStack) {
  const int levels = 100000;
  run_on_stack(kSmallStack, [&] {
    const Expr x = Expr::species(0, "x");
    const Expr e = add_chain(x, levels);
    EXPECT_EQ(depth(e), static_cast<std::size_t>(levels) + 2);  // x + 0.5*x is 3 levels
    Point pt;
    pt.y[0] = 2.0;  // every partial sum is an integer: the closed form is exact
    const double want = 2.0 + levels;
    EXPECT_EQ(evaluate(e, pt.args()), want);
    const Expr s = simplify(e);
    EXPECT_EQ(s.node(), e.node());  // nothing to simplify: the same tree comes back
    EXPECT_EQ(evaluate(s, pt.args()), want);

    const Expr d = differentiate(e, Op::Species, 0);
    ASSERT_EQ(d.node()->op, Op::Const);  // folded to 1 + 0.5 * levels
    EXPECT_EQ(d.node()->value, 1.0 + 0.5 * levels);

    std::string text = "x";
    for (int i = 0; i < levels; ++i) text += " + 0.5 * x";
    EXPECT_EQ(to_string(e), text);

    const Tape tape = Tape::compile({e, d});
    std::vector<double> out(2), work(tape.work_size());
    tape.eval(pt.args(), out.data(), work.data());
    EXPECT_EQ(out[0], want);
    EXPECT_EQ(out[1], 1.0 + 0.5 * levels);

    // The same chain over an unresolved name: names, substitution.
    const Expr sym = add_chain(Expr::symbol("s"), levels);
    EXPECT_EQ(referenced_names(sym), std::set<std::string>{"s"});
    const Expr sub = substitute(sym, [&](const std::string&) { return x; });
    EXPECT_EQ(evaluate(sub, pt.args()), want);
    EXPECT_THROW(evaluate(sym, pt.args()), Error);
    EXPECT_THROW(differentiate(sym, Op::Species, 0), Error);
    EXPECT_THROW(Tape::compile({sym}), Error);
  });  // every tree above is destroyed on the small stack
}

TEST(ExpressionDepth, DeepChainOfEveryOpAgreesAcrossPassesOnA1MBStack) {
  // 100,000+ levels cycling through every op (n-ary min/max and piecewise, literal and general
  // Hill exponents, squares, the internal ops): the tape, evaluate and simplify agree bit for
  // bit, and so do the tape and evaluate on the derivative.
  run_on_stack(kSmallStack, [&] {
    const Expr x = Expr::species(0, "x"), y = Expr::species(1, "y");
    const Expr K = Expr::parameter(0, "K"), n = Expr::parameter(1, "n");
    const auto c = [](double v) { return Expr::constant(v); };
    const auto mk = [](Op op, std::vector<Expr> args) { return Expr::make(op, std::move(args)); };
    // Each child is used once, so that the printed text grows linearly with the depth (a
    // shared subtree is printed at each use). Ten steps add 18 levels.
    Expr e = x;
    for (int i = 0; i < 56000; ++i) {
      switch (i % 10) {
        case 0: e = mk(Op::Add, {mk(Op::Mul, {c(0.5), e}), mk(Op::Mul, {c(0.25), x})}); break;
        case 1: e = mk(Op::Min, {e, mk(Op::Add, {x, c(1.0)}), y}); break;
        case 2: e = mk(Op::Piecewise, {e, mk(Op::Gt, {x, c(0.0)}), mk(Op::Neg, {y})}); break;
        case 3: e = mk(Op::Hill, {e, K, c(2.0)}); break;
        case 4: e = mk(Op::HillRep, {e, K, n}); break;
        case 5: e = mk(Op::Pow, {mk(Op::Add, {e, c(0.5)}), c(2.0)}); break;
        case 6: e = mk(Op::Max, {mk(Op::Sub, {e, y}), mk(Op::Div, {x, c(4.0)})}); break;
        case 7: e = detail::make_node(detail::InternalOp::PowLog, {mk(Op::Add, {e, c(1.0)}), y});
          break;
        case 8:
          e = mk(Op::Add, {detail::make_node(detail::InternalOp::Heaviside,
                                             {mk(Op::Sub, {e, c(0.5)})}),
                           c(0.25)});
          break;
        default: e = mk(Op::Exp, {mk(Op::Neg, {mk(Op::Abs, {e})})}); break;
      }
    }
    ASSERT_GE(depth(e), 100000u);
    Point pt;
    pt.y[0] = 0.7;
    pt.y[1] = 0.3;
    pt.p[0] = 0.6;
    pt.p[1] = 1.7;
    const double v = evaluate(e, pt.args());
    ASSERT_TRUE(std::isfinite(v));
    EXPECT_EQ(bits(evaluate(simplify(e), pt.args())), bits(v));
    const Expr dx = differentiate(e, Op::Species, 0);
    const Expr dn = differentiate(e, Op::Parameter, 1);
    const Tape tape = Tape::compile({e, dx, dn});
    std::vector<double> out(3), work(tape.work_size());
    tape.eval(pt.args(), out.data(), work.data());
    EXPECT_EQ(bits(out[0]), bits(v));
    EXPECT_EQ(bits(out[1]), bits(evaluate(dx, pt.args())));
    EXPECT_EQ(bits(out[2]), bits(evaluate(dn, pt.args())));
  });
}

TEST(ExpressionDepth, SimplifyIsIdempotent) {
  // The model compiler's Simplifier remembers each result as a fixed point; that is exact only
  // if simplify(simplify(e)) returns simplify(e) itself.
  for (unsigned seed = 0; seed < 300; ++seed) {
    testing_util::RandomExpr gen(seed, 0.3);
    const Expr e = gen.make(6);
    const Expr s = simplify(e);
    EXPECT_EQ(simplify(s).node(), s.node()) << "seed " << seed << ": " << to_string(s);
    // A Simplifier shared across trees gives what a fresh simplify gives.
    detail::Simplifier shared;
    const Expr s1 = shared.run(e);
    const Expr e2 = Expr::make(Op::Mul, {s1, gen.make(4)});
    EXPECT_EQ(to_string(shared.run(e2)), to_string(simplify(e2))) << "seed " << seed;
  }
}

/// e_0 = x; e_i = e_{i-1} + x + x + ... (terms additions): each named expression adds `terms`
/// levels once inlined.
std::string wide_chain_model(int n, int terms) {
  std::string plus;
  for (int k = 0; k < terms; ++k) plus += " + x";
  std::string s = R"({"schema": "osteogrn-model/1", "name": "deep",)"
                  R"( "species": {"x": {"initial": 1}}, "expressions": {"e_0": "x")";
  for (int i = 1; i < n; ++i)
    s += ", \"e_" + std::to_string(i) + "\": \"e_" + std::to_string(i - 1) + plus + "\"";
  s += R"(}, "odes": {"x": "-e_)" + std::to_string(n - 1) + "\"}}";
  return s;
}

TEST(ExpressionDepth, InlinedDepthIsBoundedWithAModelError) {
  // e_i is 1 + 1000 i levels deep once inlined: e_99 (99,001) is within the limit, e_100
  // (100,001) is not.
  static_assert(kMaxExpressionDepth == 100000, "the depths below assume the documented limit");
  run_on_stack(kSmallStack, [&] {
    const Model ok = Model::from_json(wide_chain_model(100, 1000), "deep.json");
    EXPECT_EQ(ok.rhs(0.0, {1.0}, {})[0], -(1.0 + 1000.0 * 99));
    try {
      Model::from_json(wide_chain_model(101, 1000), "deep.json");
      ADD_FAILURE() << "no ModelError for an expression 100,001 levels deep";
    } catch (const ModelError& err) {
      EXPECT_EQ(err.file(), "deep.json");
      EXPECT_EQ(err.pointer(), "/expressions/e_100");
      EXPECT_NE(err.message().find("100001 levels"), std::string::npos) << err.what();
      EXPECT_NE(err.message().find("100000"), std::string::npos) << err.what();
    }
  });
}

TEST(ExpressionDepth, ParserAtItsNestingLimitRunsOnA1MBStack) {
  // The parser is recursive descent, bounded at 400 levels of nesting (a call counts its
  // arguments too): at the bound it must fit a 1 MB stack (kParserStack: release builds), and
  // beyond it give a ParseError.
  auto nest = [](const std::string& open, const std::string& close, int levels) {
    std::string s;
    for (int i = 0; i < levels; ++i) s += open;
    s += "x";
    for (int i = 0; i < levels; ++i) s += close;
    return s;
  };
  auto parses = [](const std::string& text) {
    try {
      parse_expression(text);
      return true;
    } catch (const ParseError&) {
      return false;
    }
  };
  run_on_stack(kParserStack, [&] {
    for (const auto& [open, close] : std::vector<std::pair<std::string, std::string>>{
             {"(", ")"}, {"-(", ")"}, {"not ", ""}, {"2^", ""}, {"exp(", ")"},
             {"min(1, ", ")"}, {"piecewise(1, x > 0, ", ")"}}) {
      // Deepest nesting accepted: binary search in [1, 1000); 1000 levels are refused.
      EXPECT_FALSE(parses(nest(open, close, 1000))) << open;
      int lo = 1, hi = 1000;
      while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        (parses(nest(open, close, mid)) ? lo : hi) = mid;
      }
      EXPECT_GE(lo, 199) << open;  // 400 levels, or 200 where each step takes two
      EXPECT_TRUE(parses(nest(open, close, lo))) << open;
    }
  });
}

}  // namespace

// Expression trees: factories, scalar semantics, printing, reference evaluation, name
// substitution and the dependency order of named expressions. Every walk over a tree is
// iterative (detail::walk_post_order or an explicit stack): trees may be 100,000 levels deep
// once named expressions are inlined, and must still be handled on a 1 MB thread stack.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "expression/expression_internal.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/expression.hpp"

namespace osteogrn {

using detail::InternalOp;
using detail::Node;
using detail::NodePtr;

namespace {
/// A leaf node with the given fields.
Expr leaf(Op op, std::uint32_t index, const std::string& name, double value = 0.0) {
  auto n = std::make_shared<Node>();
  n->op = op;
  n->index = index;
  n->name = name;
  n->value = value;
  return Expr(std::move(n));
}
bool is_leaf(Op op) {
  return op == Op::Const || op == Op::Symbol || op == Op::Species || op == Op::Parameter ||
         op == Op::Input || op == Op::Time;
}
}  // namespace

Expr Expr::constant(double v) { return leaf(Op::Const, 0, {}, v); }
Expr Expr::symbol(const std::string& name) { return leaf(Op::Symbol, 0, name); }
Expr Expr::species(std::uint32_t i, const std::string& name) { return leaf(Op::Species, i, name); }
Expr Expr::parameter(std::uint32_t i, const std::string& name) {
  return leaf(Op::Parameter, i, name);
}
Expr Expr::input(std::uint32_t i, const std::string& name) { return leaf(Op::Input, i, name); }
Expr Expr::time() { return leaf(Op::Time, 0, "t"); }

Expr Expr::make(Op op, std::vector<Expr> args) {
  if (!detail::is_public_op(op))
    throw Error("Expr::make: unknown op " + std::to_string(static_cast<int>(op)));
  return detail::make_node(op, std::move(args));
}

bool is_zero(const Expr& e) { return e && e.node()->op == Op::Const && e.node()->value == 0.0; }

namespace detail {

Node::~Node() {
  // Children only this node holds are taken apart here, level by level, from an explicit stack:
  // each is released with no children left, so no destructor recurses. A child shared with a
  // live tree is just released (its use count drops; nothing else happens).
  if (args.empty()) return;
  std::vector<NodePtr> stack = std::move(args);
  while (!stack.empty()) {
    NodePtr p = std::move(stack.back());
    stack.pop_back();
    // use_count() == 1: p is the last owner; no other thread can hold or copy it any more.
    // The fence pairs with the release of the owner that dropped the count to 1 (the read of
    // use_count is relaxed), so its reads of the node happen before the children are moved.
    if (p.use_count() == 1 && !p->args.empty()) {
      std::atomic_thread_fence(std::memory_order_acquire);
      auto& children = const_cast<Node&>(*p).args;  // built non-const by make_shared<Node>
      for (auto& c : children) stack.push_back(std::move(c));
      children.clear();
    }
  }
}

Expr make_node(Op op, std::vector<Expr> args) {
  if (is_leaf(op)) throw Error("Expr::make: use the leaf factories for leaf nodes");
  check_arity(op, args.size());
  auto n = std::make_shared<Node>();
  n->op = op;
  n->args.reserve(args.size());
  for (auto& a : args) {
    if (!a) throw Error(std::string("Expr::make: empty argument of '") + detail::op_name(op) + "'");
    n->args.push_back(a.node());
  }
  return Expr(std::move(n));
}

const char* op_name(Op op) noexcept {
  if (op == InternalOp::Heaviside) return "heaviside";
  if (op == InternalOp::PowLog) return "powlog";
  switch (op) {
    case Op::Const: return "constant";
    case Op::Symbol: return "name";
    case Op::Species: return "species";
    case Op::Parameter: return "parameter";
    case Op::Input: return "input";
    case Op::Time: return "t";
    case Op::Neg: return "-";
    case Op::Add: return "+";
    case Op::Sub: return "-";
    case Op::Mul: return "*";
    case Op::Div: return "/";
    case Op::Pow: return "^";
    case Op::Lt: return "<";
    case Op::Le: return "<=";
    case Op::Gt: return ">";
    case Op::Ge: return ">=";
    case Op::Eq: return "==";
    case Op::Ne: return "!=";
    case Op::And: return "and";
    case Op::Or: return "or";
    case Op::Not: return "not";
    case Op::Exp: return "exp";
    case Op::Log: return "log";
    case Op::Log10: return "log10";
    case Op::Sqrt: return "sqrt";
    case Op::Abs: return "abs";
    case Op::Min: return "min";
    case Op::Max: return "max";
    case Op::Hill: return "hill";
    case Op::HillRep: return "hill_rep";
    case Op::Piecewise: return "piecewise";
    case Op::Sin: return "sin";
    case Op::Cos: return "cos";
    case Op::Tan: return "tan";
    case Op::Asin: return "asin";
    case Op::Acos: return "acos";
    case Op::Atan: return "atan";
    case Op::Sinh: return "sinh";
    case Op::Cosh: return "cosh";
    case Op::Tanh: return "tanh";
    case Op::Asinh: return "asinh";
    case Op::Acosh: return "acosh";
    case Op::Atanh: return "atanh";
    case Op::Floor: return "floor";
    case Op::Ceil: return "ceil";
    case Op::Factorial: return "factorial";
  }
  return "?";
}

namespace {
/// Children of an op of fixed arity (0 for leaves; min, max and piecewise are variadic).
std::size_t fixed_arity(Op op) {
  if (op == InternalOp::Heaviside) return 1;
  if (op == InternalOp::PowLog) return 2;
  switch (op) {
    case Op::Const: case Op::Symbol: case Op::Species: case Op::Parameter: case Op::Input:
    case Op::Time:
      return 0;
    case Op::Neg: case Op::Not: case Op::Exp: case Op::Log: case Op::Log10: case Op::Sqrt:
    case Op::Abs: case Op::Sin: case Op::Cos: case Op::Tan: case Op::Asin: case Op::Acos:
    case Op::Atan: case Op::Sinh: case Op::Cosh: case Op::Tanh: case Op::Asinh: case Op::Acosh:
    case Op::Atanh: case Op::Floor: case Op::Ceil: case Op::Factorial:
      return 1;
    case Op::Hill: case Op::HillRep: return 3;
    default: return 2;
  }
}
}  // namespace

void check_arity(Op op, std::size_t n) {
  if (!is_public_op(op) && op != InternalOp::Heaviside && op != InternalOp::PowLog)
    throw Error("unknown op " + std::to_string(static_cast<int>(op)));
  if (op == Op::Min || op == Op::Max) {
    if (n < 2) throw Error(std::string(op_name(op)) + " needs at least 2 arguments");
    return;
  }
  if (op == Op::Piecewise) {
    if (n < 3 || n % 2 == 0)
      throw Error("piecewise needs an odd number (>= 3) of arguments, got " + std::to_string(n));
    return;
  }
  const std::size_t want = fixed_arity(op);
  if (n != want)
    throw Error(std::string("'") + op_name(op) + "' needs " + std::to_string(want) +
                " arguments, got " + std::to_string(n));
}

double apply_op(Op op, const double* v, std::size_t n) {
  if (op == InternalOp::Heaviside) return heaviside_fn(v[0]);
  if (op == InternalOp::PowLog) return pow_log_fn(v[0], v[1]);
  switch (op) {
    case Op::Neg: return -v[0];
    case Op::Add: return v[0] + v[1];
    case Op::Sub: return v[0] - v[1];
    case Op::Mul: return v[0] * v[1];
    case Op::Div: return v[0] / v[1];
    case Op::Pow: return pow_fn(v[0], v[1]);
    case Op::Lt: return from_bool(v[0] < v[1]);
    case Op::Le: return from_bool(v[0] <= v[1]);
    case Op::Gt: return from_bool(v[0] > v[1]);
    case Op::Ge: return from_bool(v[0] >= v[1]);
    case Op::Eq: return from_bool(v[0] == v[1]);
    case Op::Ne: return from_bool(v[0] != v[1]);
    case Op::And: return from_bool(truth(v[0]) && truth(v[1]));
    case Op::Or: return from_bool(truth(v[0]) || truth(v[1]));
    case Op::Not: return from_bool(!truth(v[0]));
    case Op::Exp: return std::exp(v[0]);
    case Op::Log: return std::log(v[0]);
    case Op::Log10: return std::log10(v[0]);
    case Op::Sqrt: return std::sqrt(v[0]);
    case Op::Abs: return std::fabs(v[0]);
    case Op::Sin: return std::sin(v[0]);
    case Op::Cos: return std::cos(v[0]);
    case Op::Tan: return std::tan(v[0]);
    case Op::Asin: return std::asin(v[0]);
    case Op::Acos: return std::acos(v[0]);
    case Op::Atan: return std::atan(v[0]);
    case Op::Sinh: return std::sinh(v[0]);
    case Op::Cosh: return std::cosh(v[0]);
    case Op::Tanh: return std::tanh(v[0]);
    case Op::Asinh: return std::asinh(v[0]);
    case Op::Acosh: return std::acosh(v[0]);
    case Op::Atanh: return std::atanh(v[0]);
    case Op::Floor: return std::floor(v[0]);
    case Op::Ceil: return std::ceil(v[0]);
    case Op::Factorial: return factorial_fn(v[0]);
    case Op::Min: {
      double r = v[0];
      for (std::size_t i = 1; i < n; ++i) r = min_fn(r, v[i]);
      return r;
    }
    case Op::Max: {
      double r = v[0];
      for (std::size_t i = 1; i < n; ++i) r = max_fn(r, v[i]);
      return r;
    }
    case Op::Hill: return hill_fn(v[0], v[1], v[2]);
    case Op::HillRep: return hill_rep_fn(v[0], v[1], v[2]);
    case Op::Piecewise:
      for (std::size_t i = 0; i + 1 < n; i += 2)
        if (truth(v[i + 1])) return v[i];
      return v[n - 1];
    default: break;
  }
  throw Error(std::string("apply_op: '") + op_name(op) + "' is a leaf");
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Reference evaluation (memoised per call: derivative trees are DAGs with heavy sharing).

namespace {
bool is_value_leaf(const Node& n) { return n.args.empty() && n.op != Op::Symbol; }
}  // namespace

double evaluate(const Expr& e, const EvalArgs& args) {
  if (!e) throw Error("evaluate: empty expression");
  std::unordered_map<const Node*, double> memo;
  auto value = [&](const Node& n) -> double {
    switch (n.op) {
      case Op::Const: return n.value;
      case Op::Species: return args.y[n.index];
      case Op::Parameter: return args.p[n.index];
      case Op::Input: return args.u[n.index];
      case Op::Time: return args.t;
      default: return memo.find(&n)->second;
    }
  };
  detail::walk_post_order(
      e.node(), [&](const Node& n) { return is_value_leaf(n) || memo.count(&n) != 0; },
      [&](const NodePtr& np) {
        const Node& n = *np;
        if (n.op == Op::Symbol) throw Error("cannot evaluate unresolved name '" + n.name + "'");
        double small[3];
        std::vector<double> big;
        double* v = small;
        if (n.args.size() > 3) {
          big.resize(n.args.size());
          v = big.data();
        }
        for (std::size_t i = 0; i < n.args.size(); ++i) v[i] = value(*n.args[i]);
        memo.emplace(&n, detail::apply_op(n.op, v, n.args.size()));
      });
  return value(*e.node());
}

// ---------------------------------------------------------------------------------------------
// Names and substitution.

std::set<std::string> referenced_names(const Expr& e) {
  std::set<std::string> out;
  if (!e) return out;
  std::unordered_set<const Node*> seen;
  std::vector<const Node*> stack{e.node().get()};
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (!seen.insert(n).second) continue;
    if (n->op == Op::Symbol) out.insert(n->name);
    for (const auto& a : n->args) stack.push_back(a.get());
  }
  return out;
}

Expr substitute(const Expr& e, const std::function<Expr(const std::string&)>& resolve) {
  if (!e) return e;
  std::unordered_map<const Node*, NodePtr> memo;  // node of e -> its substitute
  auto result = [&](const NodePtr& n) -> const NodePtr& {
    return is_value_leaf(*n) ? n : memo.find(n.get())->second;
  };
  detail::walk_post_order(
      e.node(), [&](const Node& n) { return is_value_leaf(n) || memo.count(&n) != 0; },
      [&](const NodePtr& n) {
        if (n->op == Op::Symbol) {
          Expr r = resolve(n->name);
          if (!r) throw Error("cannot resolve name '" + n->name + "'");
          memo.emplace(n.get(), r.node());
          return;
        }
        std::vector<NodePtr> args;
        args.reserve(n->args.size());
        bool changed = false;
        for (const auto& a : n->args) {
          args.push_back(result(a));
          changed |= args.back() != a;
        }
        NodePtr out = n;
        if (changed) {
          auto m = std::make_shared<Node>(*n);
          m->args = std::move(args);
          out = std::move(m);
        }
        memo.emplace(n.get(), std::move(out));
      });
  return Expr(result(e.node()));
}

// ---------------------------------------------------------------------------------------------
// Depth.

std::size_t depth(const Expr& e) {
  if (!e) return 0;
  detail::DepthMeter meter;
  return meter.run(e);
}

std::size_t detail::DepthMeter::run(const Expr& e) {
  if (!e) return 0;
  roots_.push_back(e);
  auto of = [&](const Node& n) -> std::size_t {
    return n.args.empty() ? 1 : memo_.find(&n)->second;
  };
  detail::walk_post_order(
      e.node(), [&](const Node& n) { return n.args.empty() || memo_.count(&n) != 0; },
      [&](const NodePtr& n) {
        std::size_t d = 0;
        for (const auto& a : n->args) d = std::max(d, of(*a));
        memo_.emplace(n.get(), d + 1);
      });
  return of(*e.node());
}

// ---------------------------------------------------------------------------------------------
// Printing with the fewest parentheses that keep the tree shape (so it parses back equal).

namespace {
// Binding strength, as in the grammar: or < and < not < comparison < +- < */ < unary - < ^ < atom.
int precedence(const Node& n) {
  switch (n.op) {
    case Op::Or: return 1;
    case Op::And: return 2;
    case Op::Not: return 3;
    case Op::Lt: case Op::Le: case Op::Gt: case Op::Ge: case Op::Eq: case Op::Ne: return 4;
    case Op::Add: case Op::Sub: return 5;
    case Op::Mul: case Op::Div: return 6;
    case Op::Neg: return 7;
    case Op::Pow: return 8;
    case Op::Const: return (n.value < 0 || std::signbit(n.value) || !std::isfinite(n.value)) ? 7 : 9;
    default: return 9;  // atoms, calls, and the internal ops (printed as piecewise(...) calls)
  }
}

std::string number_text(double v) {
  if (std::isnan(v)) return "(0/0)";
  if (std::isinf(v)) return v > 0 ? "(1/0)" : "-(1/0)";
  char buf[40];
  // Shortest of %.15g / %.17g that reads back exactly.
  std::snprintf(buf, sizeof buf, "%.15g", v);
  if (std::strtod(buf, nullptr) != v) std::snprintf(buf, sizeof buf, "%.17g", v);
  std::string s = buf;
  // "-0" prints as "-0", which parses as -(0) == -0.0: fine.
  return s;
}

std::string leaf_name(const Node& n, const char* prefix) {
  return n.name.empty() ? prefix + std::to_string(n.index) : n.name;
}

/// One step of printing: a node to print (in parentheses if it binds looser than min_prec), or
/// a fixed text when node is null.
struct PrintItem {
  const Node* node;
  int min_prec;
  const char* text;
};

/// The items that print n (whose precedence is at least the caller's minimum), in order;
/// leaves are written to out directly.
void expand(const Node& n, std::string& out, std::vector<PrintItem>& seq) {
  auto text = [&](const char* t) { seq.push_back({nullptr, 0, t}); };
  auto child = [&](std::size_t i, int min_prec) { seq.push_back({n.args[i].get(), min_prec, nullptr}); };
  const int p = precedence(n);
  if (n.op == InternalOp::Heaviside) {
    text("piecewise(1, ");
    child(0, 5);
    text(" > 0, 0)");
    return;
  }
  if (n.op == InternalOp::PowLog) {
    // a^b ln a, 0 at a == 0: printed as an equal-valued expression of the grammar.
    text("piecewise(0, ");
    child(0, 5);
    text(" == 0, pow(");
    child(0, 0);
    text(", ");
    child(1, 0);
    text(") * log(");
    child(0, 0);
    text("))");
    return;
  }
  switch (n.op) {
    case Op::Const: out += number_text(n.value); return;
    case Op::Symbol: out += n.name; return;
    case Op::Species: out += leaf_name(n, "y"); return;
    case Op::Parameter: out += leaf_name(n, "p"); return;
    case Op::Input: out += leaf_name(n, "u"); return;
    case Op::Time: out += 't'; return;
    case Op::Neg:
      text("-");
      child(0, 7);
      return;
    case Op::Not:
      text("not ");
      child(0, 3);
      return;
    case Op::Add: case Op::Sub: case Op::Mul: case Op::Div: case Op::And: case Op::Or:
      // Left-associative: the right child must bind strictly tighter to keep the shape.
      child(0, p);
      text(" ");
      text(detail::op_name(n.op));
      text(" ");
      child(1, p + 1);
      return;
    case Op::Lt: case Op::Le: case Op::Gt: case Op::Ge: case Op::Eq: case Op::Ne:
      child(0, p + 1);
      text(" ");
      text(detail::op_name(n.op));
      text(" ");
      child(1, p + 1);
      return;
    case Op::Pow:
      child(0, 9);
      text(" ^ ");
      child(1, 7);  // the exponent may start with unary minus
      return;
    default:
      text(detail::op_name(n.op));
      text("(");
      for (std::size_t i = 0; i < n.args.size(); ++i) {
        if (i) text(", ");
        child(i, 0);
      }
      text(")");
      return;
  }
}

/// Prints n from an explicit stack of items (no recursion: trees may be very deep).
void print(const Node& root, std::string& out) {
  std::vector<PrintItem> stack{{&root, 0, nullptr}};
  std::vector<PrintItem> seq;
  while (!stack.empty()) {
    const PrintItem item = stack.back();
    stack.pop_back();
    if (!item.node) {
      out += item.text;
      continue;
    }
    seq.clear();
    if (precedence(*item.node) < item.min_prec) {
      seq.push_back({nullptr, 0, "("});
      seq.push_back({item.node, 0, nullptr});
      seq.push_back({nullptr, 0, ")"});
    } else {
      expand(*item.node, out, seq);
    }
    for (auto it = seq.rbegin(); it != seq.rend(); ++it) stack.push_back(*it);
  }
}
}  // namespace

std::string to_string(const Expr& e) {
  if (!e) return {};
  std::string out;
  print(*e.node(), out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Dependency order: Kahn's algorithm, alphabetical among the ready names (deterministic).

std::vector<std::string> dependency_order(
    const std::map<std::string, std::set<std::string>>& deps) {
  std::map<std::string, std::size_t> pending;            // name -> number of unmet deps
  std::map<std::string, std::vector<std::string>> users;  // dep -> names that use it
  for (const auto& [name, uses] : deps) {
    std::size_t k = 0;
    for (const auto& d : uses) {
      if (deps.count(d) == 0) continue;  // not a named expression: ignored
      ++k;
      users[d].push_back(name);
    }
    pending[name] = k;
  }
  std::set<std::string> ready;
  for (const auto& [name, k] : pending)
    if (k == 0) ready.insert(name);
  std::vector<std::string> order;
  order.reserve(deps.size());
  while (!ready.empty()) {
    std::string name = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(name);
    for (const auto& u : users[name])
      if (--pending[u] == 0) ready.insert(u);
  }
  if (order.size() == deps.size()) return order;

  // Some names remain, each with an unmet dep among the remaining: walk deps from the first
  // until a name repeats; the repeated stretch is a cycle.
  std::string start;
  for (const auto& [name, k] : pending)
    if (k > 0) { start = name; break; }
  std::vector<std::string> path{start};
  std::map<std::string, std::size_t> at{{start, 0}};
  while (true) {
    const std::string cur = path.back();
    std::string next;
    for (const auto& d : deps.at(cur))
      if (deps.count(d) && pending[d] > 0) { next = d; break; }
    auto it = at.find(next);
    if (it != at.end()) {
      std::string msg = "cycle among expressions: ";
      for (std::size_t i = it->second; i < path.size(); ++i) msg += path[i] + " -> ";
      throw ModelError(msg + next);
    }
    at.emplace(next, path.size());
    path.push_back(next);
  }
}

}  // namespace osteogrn

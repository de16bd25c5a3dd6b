#pragma once
// Internal: the node of an expression tree behind the public handle osteogrn::Expr, the ops that
// only derivatives create, a post-order walk without recursion, and the memoised passes the model
// compiler runs over many trees. Shared by the expression compiler, the model compiler and the
// tests that inspect tree shapes; not part of the API.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "osteogrn/expression.hpp"

namespace osteogrn::detail {

/// The last op of the public enum (the internal ops below come after it).
inline constexpr Op kLastPublicOp = Op::Factorial;

/// Ops that only symbolic derivatives create: not in the grammar and not in the public Op, they
/// take the values after the public ones (Op has a fixed underlying type, so they are valid Op
/// values). Compare against them with if, not case labels (-Wswitch).
struct InternalOp {
  /// 1 if x > 0 else 0.
  static constexpr Op Heaviside = static_cast<Op>(static_cast<std::uint8_t>(kLastPublicOp) + 1);
  /// a^b * ln(a), defined as 0 at a == 0 (the derivative of a^b w.r.t. b).
  static constexpr Op PowLog = static_cast<Op>(static_cast<std::uint8_t>(kLastPublicOp) + 2);
};

/// True for the ops of the public enum (what Expr::make accepts).
inline bool is_public_op(Op op) noexcept {
  return static_cast<std::uint8_t>(op) <= static_cast<std::uint8_t>(kLastPublicOp);
}

/// An expression tree node; immutable once built and shared between trees (the trees form a
/// DAG). Built only by the expression compiler (Expr's factories, detail::make_node).
struct Node {
  Op op = Op::Const;
  double value = 0.0;          // Const
  std::uint32_t index = 0;     // Species / Parameter / Input
  std::string name;            // Symbol (and the original name of a resolved leaf, for printing)
  std::vector<NodePtr> args;

  Node() = default;
  Node(const Node&) = default;
  Node& operator=(const Node&) = delete;
  /// Releases the children without recursion: a chain 100,000 nodes deep would otherwise
  /// destroy itself one stack frame per level.
  ~Node();
};

/// A non-leaf node with the given children (arity checked; internal ops allowed).
Expr make_node(Op op, std::vector<Expr> args);

/// simplify() for many trees that share subtrees: the model compiler simplifies each named
/// expression once its dependencies, already simplified, are inlined. simplify is idempotent
/// (every node of its result is a fixed point), so the nodes of each result are remembered as
/// such and a later tree that contains them stops there: inlining a chain of n expressions costs
/// O(n), not O(n^2). Iterative: any depth runs on a small stack.
class Simplifier {
 public:
  Expr run(const Expr& e);

 private:
  std::unordered_map<const Node*, Expr> memo_;  // node -> simplified (results map to themselves)
  std::vector<Expr> roots_;  // keeps every memoised node alive, so that no address is reused
};

/// depth() for many trees that share subtrees, memoised across calls (iterative).
class DepthMeter {
 public:
  std::size_t run(const Expr& e);

 private:
  std::unordered_map<const Node*, std::size_t> memo_;
  std::vector<Expr> roots_;  // keeps every memoised node alive
};

/// Visits the DAG below root in post-order without recursion. For every node n reached with
/// done(n) false, finish(ptr) is called once, after finish has been called for its children c
/// (those with wanted(n, i) and !done(c)), in the order of a recursive left-to-right depth-first
/// walk. finish must make done(n) true (record its result); the tree must outlive the walk.
template <class Done, class Wanted, class Finish>
void walk_post_order(const NodePtr& root, Done&& done, Wanted&& wanted, Finish&& finish) {
  if (done(*root)) return;
  struct Frame {
    const NodePtr* node;
    std::size_t next;  // next child to look at
  };
  std::vector<Frame> stack{{&root, 0}};
  while (!stack.empty()) {
    Frame& f = stack.back();
    const Node& n = **f.node;
    if (f.next < n.args.size()) {
      const std::size_t i = f.next++;
      const NodePtr& c = n.args[i];
      if (wanted(n, i) && !done(*c)) stack.push_back({&c, 0});  // f is not used after this
      continue;
    }
    const NodePtr* node = f.node;
    stack.pop_back();
    finish(*node);
  }
}

/// walk_post_order over every child.
template <class Done, class Finish>
void walk_post_order(const NodePtr& root, Done&& done, Finish&& finish) {
  walk_post_order(root, done, [](const Node&, std::size_t) { return true; }, finish);
}

}  // namespace osteogrn::detail

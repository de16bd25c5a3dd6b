#pragma once
// The expression compiler: parse the grammar of docs/formats/model.md into a tree, resolve names to
// species/parameters/inputs, fold constants, differentiate symbolically, and compile lists of
// expressions into a flat instruction tape that evaluates without allocation.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace osteogrn {

/// Node kinds. Leaves: Const, Symbol (an unresolved name), Species/Parameter/Input (resolved
/// by index) and Time. Comparisons and logic yield 1.0 or 0.0; a value != 0 is true.
enum class Op : std::uint8_t {
  Const, Symbol, Species, Parameter, Input, Time,
  Neg, Add, Sub, Mul, Div, Pow,
  Lt, Le, Gt, Ge, Eq, Ne, And, Or, Not,
  Exp, Log, Log10, Sqrt, Abs, Min, Max,
  Hill, HillRep,   // hill(x,K,n) = x^n/(K^n+x^n), hill_rep = K^n/(K^n+x^n); x <= 0 counts as 0
  Piecewise,       // children: value1, cond1, value2, cond2, ..., otherwise
  // The MathML function set (appended, so the values above never change).
  Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Tanh, Asinh, Acosh, Atanh,
  Floor, Ceil,
  Factorial,       // n! for an integer n >= 0, NaN otherwise
};

namespace detail {
struct Node;  // the tree node (osteogrn/detail/expression_node.hpp): internal, immutable
using NodePtr = std::shared_ptr<const Node>;
}  // namespace detail

/// Deepest tree a model may hold once its named expressions are inlined (ModelError beyond).
/// Every pass over a tree is iterative, so depth costs heap, not stack: a 1 MB stack suffices
/// at any depth. (One expression as written is limited by the parser to 2000 levels.)
inline constexpr std::size_t kMaxExpressionDepth = 100000;

/// A handle on an expression tree. Cheap to copy; immutable; safe to share between threads.
class Expr {
 public:
  Expr() = default;
  /// Internal: wraps a node of the expression compiler.
  explicit Expr(detail::NodePtr node) : node_(std::move(node)) {}
  /// Internal: the root node (read-only; its type is in osteogrn/detail/expression_node.hpp).
  const detail::NodePtr& node() const noexcept { return node_; }
  explicit operator bool() const noexcept { return static_cast<bool>(node_); }

  static Expr constant(double v);
  static Expr symbol(const std::string& name);
  static Expr species(std::uint32_t i, const std::string& name = {});
  static Expr parameter(std::uint32_t i, const std::string& name = {});
  static Expr input(std::uint32_t i, const std::string& name = {});
  static Expr time();
  /// Builds a node with the given children (no simplification). Throws Error for a leaf op, an
  /// op outside the enum or a wrong number of children.
  static Expr make(Op op, std::vector<Expr> args);

 private:
  detail::NodePtr node_;
};

/// Parses `text` (grammar in docs/formats/model.md: numbers incl. 1e-3, + - * / ^ with ^ right-associative
/// and binding tighter than unary minus (-x^2 = -(x^2)), comparisons < <= > >= == !=,
/// and/or/not, functions exp log ln log10 sqrt abs min max pow hill hill_rep piecewise sin cos
/// tan asin acos atan sinh cosh tanh asinh acosh atanh floor ceil factorial, the symbol t). Throws ParseError with the 0-based position of the offending character.
Expr parse_expression(std::string_view text);

/// The names a (possibly unresolved) expression refers to: Symbol nodes, not `t`.
std::set<std::string> referenced_names(const Expr& e);

/// Replaces every Symbol node by resolve(name); resolve returns a leaf or another (already
/// resolved) expression to inline, or throws. Shared subtrees stay shared.
Expr substitute(const Expr& e, const std::function<Expr(const std::string&)>& resolve);

/// Constant folding and algebraic identities (0*x, 1*x, x+0, x^1, ...). Never changes a value
/// that is finite at every point into a different one.
Expr simplify(const Expr& e);

/// d e / d leaf, where leaf is Op::Species, Op::Parameter, Op::Input (with index) or Op::Time.
/// The result is simplified; zero derivatives return the constant 0.
Expr differentiate(const Expr& e, Op leaf, std::uint32_t index = 0);

/// True if e is the constant 0.
bool is_zero(const Expr& e);

/// Height of the tree: 1 for a leaf, 1 + the deepest child otherwise (0 for an empty Expr).
std::size_t depth(const Expr& e);

/// Values of the leaves for evaluation.
struct EvalArgs {
  const double* y = nullptr;  // species
  const double* p = nullptr;  // parameters
  const double* u = nullptr;  // inputs
  double t = 0.0;
};

/// Reference tree-walking evaluation (tests, one-off use). Throws Error on a Symbol node.
double evaluate(const Expr& e, const EvalArgs& args);

/// Prints an expression in the input grammar (parses back to an equal value).
std::string to_string(const Expr& e);

/// Orders names so that each comes after the names it depends on (deps: name -> names it uses;
/// names not in the map are ignored). Throws ModelError "cycle among expressions: a -> b -> a".
std::vector<std::string> dependency_order(const std::map<std::string, std::set<std::string>>& deps);

namespace detail { struct TapeCode; }

/// A list of resolved expressions compiled to a flat register tape: constants, leaves and
/// common subexpressions are shared (hash-consing), instructions are evaluated by one switch
/// loop with no allocation and no virtual calls. Immutable after compile; thread-safe eval.
class Tape {
 public:
  Tape();
  ~Tape();
  Tape(const Tape&);
  Tape& operator=(const Tape&);
  Tape(Tape&&) noexcept;
  Tape& operator=(Tape&&) noexcept;

  /// Compiles the outputs. Throws Error if an expression still holds a Symbol.
  static Tape compile(const std::vector<Expr>& outputs);

  /// Writes n_outputs() values to out. work must hold work_size() doubles (caller-owned, so that
  /// concurrent evaluations of one Tape do not share scratch space).
  void eval(const EvalArgs& args, double* out, double* work) const noexcept;

  /// eval() in two stages, for callers that evaluate many times with the same parameters (an
  /// integrator within one protocol segment): bind() computes what depends on constants and
  /// parameters only (e.g. K^n of a Hill function with a parameter exponent) into work, and
  /// eval_bound() the rest. eval_bound(args, out, work) writes exactly what eval(args, out,
  /// work) would, provided work was last bound by this tape with args.p and nothing else has
  /// written to it since (one work array per tape).
  void bind(const double* p, double* work) const noexcept;
  void eval_bound(const EvalArgs& args, double* out, double* work) const noexcept;

  std::size_t n_outputs() const noexcept;
  std::size_t work_size() const noexcept;
  std::size_t n_instructions() const noexcept;
  /// Instructions run by bind() rather than by every eval_bound() (after fusion).
  std::size_t n_bound_instructions() const noexcept;

 private:
  std::shared_ptr<const detail::TapeCode> code_;
};

}  // namespace osteogrn

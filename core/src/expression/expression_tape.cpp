// The instruction tape: a list of expressions compiled to straight-line register code over a
// caller-owned work array (no allocation, no virtual calls). Instructions are scheduled into
// runs of the same op, so that eval dispatches once per run, not once per instruction.
//
// Work layout: constants (copied in at the start of eval), then the leaves as whole blocks
// y[0..ny), p[0..np), u[0..nu), t (ny = 1 + the largest species index used, and so on: one
// memcpy per block is much cheaper than gathering the used leaves one by one), then one slot per
// instruction result (SSA; hash-consing gives each distinct subexpression exactly one slot,
// across all outputs).
#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "expression/expression_internal.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/expression.hpp"

namespace osteogrn {

namespace detail {

/// Tape opcodes: Op lowered to fixed arity (n-ary min/max folded to binary, piecewise to
/// selects) plus a few cheap special cases.
#define OSTEOGRN_TAPE_OPS(X)                                                           \
  X(Neg, -w[i.a])                                                                      \
  X(Add, w[i.a] + w[i.b])                                                              \
  X(Sub, w[i.a] - w[i.b])                                                              \
  X(Mul, w[i.a] * w[i.b])                                                              \
  X(Div, w[i.a] / w[i.b])                                                              \
  X(Pow, detail::pow_fn(w[i.a], w[i.b]))                                               \
  X(Square, w[i.a] * w[i.a])                                                           \
  X(Lt, detail::from_bool(w[i.a] < w[i.b]))                                            \
  X(Le, detail::from_bool(w[i.a] <= w[i.b]))                                           \
  X(Gt, detail::from_bool(w[i.a] > w[i.b]))                                            \
  X(Ge, detail::from_bool(w[i.a] >= w[i.b]))                                           \
  X(Eq, detail::from_bool(w[i.a] == w[i.b]))                                           \
  X(Ne, detail::from_bool(w[i.a] != w[i.b]))                                           \
  X(And, detail::from_bool(detail::truth(w[i.a]) && detail::truth(w[i.b])))            \
  X(Or, detail::from_bool(detail::truth(w[i.a]) || detail::truth(w[i.b])))             \
  X(Not, detail::from_bool(!detail::truth(w[i.a])))                                    \
  X(Exp, std::exp(w[i.a]))                                                             \
  X(Log, std::log(w[i.a]))                                                             \
  X(Log10, std::log10(w[i.a]))                                                         \
  X(Sqrt, std::sqrt(w[i.a]))                                                           \
  X(Abs, std::fabs(w[i.a]))                                                            \
  X(Sin, std::sin(w[i.a]))                                                             \
  X(Cos, std::cos(w[i.a]))                                                             \
  X(Tan, std::tan(w[i.a]))                                                             \
  X(Asin, std::asin(w[i.a]))                                                           \
  X(Acos, std::acos(w[i.a]))                                                           \
  X(Atan, std::atan(w[i.a]))                                                           \
  X(Sinh, std::sinh(w[i.a]))                                                           \
  X(Cosh, std::cosh(w[i.a]))                                                           \
  X(Tanh, std::tanh(w[i.a]))                                                           \
  X(Asinh, std::asinh(w[i.a]))                                                         \
  X(Acosh, std::acosh(w[i.a]))                                                         \
  X(Atanh, std::atanh(w[i.a]))                                                         \
  X(Floor, std::floor(w[i.a]))                                                         \
  X(Ceil, std::ceil(w[i.a]))                                                           \
  X(Factorial, detail::factorial_fn(w[i.a]))                                           \
  X(Min, detail::min_fn(w[i.a], w[i.b]))                                               \
  X(Max, detail::max_fn(w[i.a], w[i.b]))                                               \
  X(Hill, detail::hill_fn(w[i.a], w[i.b], w[i.c]))                                     \
  X(HillRep, detail::hill_rep_fn(w[i.a], w[i.b], w[i.c]))                              \
  X(Hill1, detail::hill1(w[i.a], w[i.b]))                                              \
  X(Hill2, detail::hill2(w[i.a], w[i.b]))                                              \
  X(HillRep1, detail::hill_rep1(w[i.a], w[i.b]))                                       \
  X(HillRep2, detail::hill_rep2(w[i.a], w[i.b]))                                       \
  X(PowPos, detail::pow_fn(detail::pos(w[i.a]), w[i.b]))                               \
  X(HillN, w[i.a] / (w[i.b] + w[i.a]))                                                 \
  X(HillRepN, w[i.b] / (w[i.b] + w[i.a]))                                              \
  X(MulAdd, w[i.a] * w[i.b] + w[i.c])                                                  \
  X(MulSub, w[i.a] * w[i.b] - w[i.c])                                                  \
  X(SubMul, w[i.c] - w[i.a] * w[i.b])                                                  \
  X(Mul3, w[i.a] * w[i.b] * w[i.c])                                                    \
  X(Select, detail::truth(w[i.a]) ? w[i.b] : w[i.c])                                   \
  X(Heaviside, detail::heaviside_fn(w[i.a]))                                           \
  X(PowLog, detail::pow_log_fn(w[i.a], w[i.b]))

// Hill functions with the literal exponents 1 and 2 that models write most: no call to pow and
// no test of n. Bit-identical to hill_fn/hill_rep_fn, because pow_fn(v, 1) == std::pow(v, 1)
// == v exactly and pow_fn(v, 2) is v*v by definition.
inline double pos(double x) noexcept { return x > 0.0 ? x : 0.0; }
inline double hill1(double x, double k) noexcept {
  const double v = x > 0.0 ? x : 0.0;
  return v / (k + v);
}
inline double hill2(double x, double k) noexcept {
  const double v = x > 0.0 ? x : 0.0;
  const double vv = v * v;
  return vv / (k * k + vv);
}
inline double hill_rep1(double x, double k) noexcept { return k / (k + (x > 0.0 ? x : 0.0)); }
inline double hill_rep2(double x, double k) noexcept {
  const double v = x > 0.0 ? x : 0.0;
  const double kk = k * k;
  return kk / (kk + v * v);
}

#define OSTEOGRN_TAPE_ENUM(name, ...) name,
enum class TOp : std::uint8_t { OSTEOGRN_TAPE_OPS(OSTEOGRN_TAPE_ENUM) Count };
#undef OSTEOGRN_TAPE_ENUM

/// work[dst] = op(work[a], work[b], work[c]) (compile-time form).
struct Instr {
  TOp op;
  std::uint32_t dst, a, b, c;
};

/// Operands of one instruction at run time; its op is that of the group holding it.
struct Operands {
  std::uint32_t dst, a, b, c;
};

/// A run of instructions with the same op: code[begin, end).
struct Group {
  TOp op;
  std::uint32_t begin, end;
};

struct TapeCode {
  std::vector<double> constants;       // work[0 .. constants.size())
  // Leaf blocks: work[y_slot + k] = y[k] for k < n_y, and so on; time at work[time_slot].
  std::uint32_t y_slot = 0, n_y = 0, p_slot = 0, n_p = 0, u_slot = 0, n_u = 0, time_slot = 0;
  bool uses_time = false;
  std::vector<Operands> code;          // in an order that respects dependencies
  std::vector<Group> groups;           // partition of code into same-op runs
  // groups[0 .. n_static_groups) depend on constants and parameters only (the bind stage).
  std::size_t n_static_groups = 0;
  std::vector<std::uint32_t> outputs;  // work slot of each output
  std::size_t work_size = 0;
  std::size_t n_operations = 0;        // before fusion (a fused instruction counts as two)
};

}  // namespace detail

namespace {

using detail::InternalOp;
using detail::Instr;
using detail::Node;
using detail::TOp;

struct Key {
  std::uint8_t op;
  std::uint64_t bits;  // constant bits or leaf index
  std::uint32_t a, b, c;
  bool operator==(const Key& o) const {
    return op == o.op && bits == o.bits && a == o.a && b == o.b && c == o.c;
  }
};
struct KeyHash {
  std::size_t operator()(const Key& k) const noexcept {
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&](std::uint64_t v) {
      h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    };
    mix(k.op);
    mix(k.bits);
    mix(k.a);
    mix(k.b);
    mix(k.c);
    return static_cast<std::size_t>(h);
  }
};

constexpr std::uint32_t kNone = 0xffffffffu;

struct Compiler {
  // Instructions get slots after the constants, so they are numbered provisionally and shifted
  // once the number of constants is known.
  std::vector<double> constants;
  std::vector<Instr> code;
  std::unordered_map<Key, std::uint32_t, KeyHash> cse;       // structural key -> slot
  std::unordered_map<const Node*, std::uint32_t> by_node;    // node -> slot (DAG walk)
  std::uint32_t leaf_count[4] = {0, 0, 0, 0};                // 1 + largest index, per kind
  static constexpr std::uint32_t kInstrBit = 0x80000000u;     // provisional instruction slot
  static constexpr std::uint32_t kLeafBit = 0x40000000u;      // provisional leaf slot

  std::uint32_t constant(double v) {
    std::uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    Key k{255, bits, kNone, kNone, kNone};
    auto it = cse.find(k);
    if (it != cse.end()) return it->second;
    const auto slot = static_cast<std::uint32_t>(constants.size());
    constants.push_back(v);
    cse.emplace(k, slot);
    return slot;
  }

  /// A leaf of kind 0..3 (y, p, u, t): provisional slot kLeafBit | kind << 28 | index.
  std::uint32_t leaf(int kind, std::uint32_t index) {
    if (index >= kLeafIndexLimit) throw Error("Tape::compile: leaf index too large");
    leaf_count[kind] = std::max(leaf_count[kind], index + 1);
    return kLeafBit | static_cast<std::uint32_t>(kind) << 28 | index;
  }
  static constexpr std::uint32_t kLeafIndexLimit = 1u << 26;
  std::uint32_t leaf_base(int kind) const {
    std::uint32_t b = static_cast<std::uint32_t>(constants.size());
    for (int k = 0; k < kind; ++k) b += leaf_count[k];
    return b;
  }
  std::uint32_t n_leaf_slots() const {
    return leaf_count[0] + leaf_count[1] + leaf_count[2] + leaf_count[3];
  }

  std::uint32_t emit(TOp op, std::uint64_t bits, std::uint32_t a, std::uint32_t b = kNone,
                     std::uint32_t c = kNone) {
    Key k{static_cast<std::uint8_t>(op), bits, a, b, c};
    auto it = cse.find(k);
    if (it != cse.end()) return it->second;
    const std::uint32_t slot = kInstrBit | static_cast<std::uint32_t>(code.size());
    code.push_back(Instr{op, slot, a, b, c});
    cse.emplace(k, slot);
    return slot;
  }

  static TOp lower(Op op) {
    if (op == InternalOp::Heaviside) return TOp::Heaviside;
    if (op == InternalOp::PowLog) return TOp::PowLog;
    switch (op) {
      case Op::Neg: return TOp::Neg;
      case Op::Add: return TOp::Add;
      case Op::Sub: return TOp::Sub;
      case Op::Mul: return TOp::Mul;
      case Op::Div: return TOp::Div;
      case Op::Pow: return TOp::Pow;
      case Op::Lt: return TOp::Lt;
      case Op::Le: return TOp::Le;
      case Op::Gt: return TOp::Gt;
      case Op::Ge: return TOp::Ge;
      case Op::Eq: return TOp::Eq;
      case Op::Ne: return TOp::Ne;
      case Op::And: return TOp::And;
      case Op::Or: return TOp::Or;
      case Op::Not: return TOp::Not;
      case Op::Exp: return TOp::Exp;
      case Op::Log: return TOp::Log;
      case Op::Log10: return TOp::Log10;
      case Op::Sqrt: return TOp::Sqrt;
      case Op::Abs: return TOp::Abs;
      case Op::Sin: return TOp::Sin;
      case Op::Cos: return TOp::Cos;
      case Op::Tan: return TOp::Tan;
      case Op::Asin: return TOp::Asin;
      case Op::Acos: return TOp::Acos;
      case Op::Atan: return TOp::Atan;
      case Op::Sinh: return TOp::Sinh;
      case Op::Cosh: return TOp::Cosh;
      case Op::Tanh: return TOp::Tanh;
      case Op::Asinh: return TOp::Asinh;
      case Op::Acosh: return TOp::Acosh;
      case Op::Atanh: return TOp::Atanh;
      case Op::Floor: return TOp::Floor;
      case Op::Ceil: return TOp::Ceil;
      case Op::Factorial: return TOp::Factorial;
      case Op::Min: return TOp::Min;
      case Op::Max: return TOp::Max;
      case Op::Hill: return TOp::Hill;
      case Op::HillRep: return TOp::HillRep;
      default: break;
    }
    throw Error(std::string("tape: cannot lower '") + detail::op_name(op) + "'");
  }

  /// The slot of a leaf, or of an already compiled node; kNone for a node still to compile.
  std::uint32_t known(const Node& n) {
    switch (n.op) {
      case Op::Const: return constant(n.value);
      case Op::Symbol:
        throw Error("cannot compile the unresolved name '" + n.name + "'");
      case Op::Species: return leaf(0, n.index);
      case Op::Parameter: return leaf(1, n.index);
      case Op::Input: return leaf(2, n.index);
      case Op::Time: return leaf(3, 0);
      default: break;
    }
    auto it = by_node.find(&n);
    return it == by_node.end() ? kNone : it->second;
  }

  /// A node being compiled: which children it has asked for so far (stage) and what it holds.
  struct Frame {
    const Node* node;
    std::size_t stage = 0;
    std::size_t pair = 0;              // piecewise: index of the current condition + 1
    std::uint32_t acc = kNone;         // running result (min/max fold, piecewise select chain)
    std::uint32_t slots[3] = {kNone, kNone, kNone};
  };

  /// Advances f with `got`, the slot of the child it asked for last (unused at stage 0).
  /// Returns the next child it needs, or nullptr when f.node is compiled (its slot in f.acc).
  /// Children are asked for, and instructions emitted, in the order of a recursive compiler
  /// (constants and instructions are numbered in that order).
  const Node* step(Frame& f, std::uint32_t got) {
    const Node& n = *f.node;
    const std::size_t m = n.args.size();
    switch (n.op) {
      case Op::Min: case Op::Max:
        // slot = a0; then slot = op(slot, a_i) for each further argument.
        if (f.stage == 1) f.acc = got;
        else if (f.stage > 1) f.acc = emit(lower(n.op), 0, f.acc, got);
        if (f.stage < m) return n.args[f.stage++].get();
        return nullptr;
      case Op::Piecewise:
        // r = otherwise; then from the last pair to the first: r = cond ? value : r, so the
        // first true condition wins, as in evaluate().
        switch (f.stage) {
          case 0:
            f.stage = 1;
            f.pair = m - 1;
            return n.args[m - 1].get();
          case 1: f.acc = got; break;
          case 2:
            f.slots[0] = got;  // value
            f.stage = 3;
            return n.args[f.pair - 1].get();
          default:
            f.acc = emit(TOp::Select, 0, got, f.slots[0], f.acc);
            f.pair -= 2;
            break;
        }
        if (f.pair >= 2) {
          f.stage = 2;
          return n.args[f.pair - 2].get();
        }
        return nullptr;
      default: break;
    }
    // The other ops take fixed operands: ask for them in order, then emit.
    if (f.stage == 0) {
      if (n.op != Op::Pow || !is_square(n)) {
        detail::check_arity(n.op, m);
        if (n.op != Op::Hill && n.op != Op::HillRep) lower(n.op);  // throws for an unknown op
      }
    } else {
      f.slots[f.stage - 1] = got;
    }
    const std::size_t operands = is_square(n) ? 1 : is_literal_hill(n) ? 2 : m;
    if (f.stage < operands) return n.args[f.stage++].get();
    const std::uint32_t a = f.slots[0], b = f.slots[1], c = f.slots[2];
    if (is_square(n)) {  // as detail::pow_fn
      f.acc = emit(TOp::Square, 0, a);
    } else if (is_literal_hill(n)) {
      const bool hill = n.op == Op::Hill, one = n.args[2]->value == 1.0;
      f.acc = emit(hill ? (one ? TOp::Hill1 : TOp::Hill2) : (one ? TOp::HillRep1 : TOp::HillRep2),
                   0, a, b);
    } else if (n.op == Op::Hill || n.op == Op::HillRep) {
      // General n: the two powers as instructions of their own, so that hill and hill_rep
      // of the same x and n share x^n. Same operations, in the same order, as hill_fn.
      const std::uint32_t xn = emit(TOp::PowPos, 0, a, c);
      const std::uint32_t kn = emit(TOp::Pow, 0, b, c);
      f.acc = emit(n.op == Op::Hill ? TOp::HillN : TOp::HillRepN, 0, xn, kn);
    } else {
      f.acc = emit(lower(n.op), 0, a, m > 1 ? b : kNone, m > 2 ? c : kNone);
    }
    return nullptr;
  }

  static bool is_square(const Node& n) {
    return n.op == Op::Pow && n.args.size() == 2 && n.args[1]->op == Op::Const &&
           n.args[1]->value == 2.0;
  }
  // Hill functions with the literal exponents 1 and 2 that models write most.
  static bool is_literal_hill(const Node& n) {
    if ((n.op != Op::Hill && n.op != Op::HillRep) || n.args.size() != 3) return false;
    const Node& e = *n.args[2];
    return e.op == Op::Const && (e.value == 1.0 || e.value == 2.0);
  }

  /// Compiles the tree under root (without recursion: trees may be very deep); its slot.
  std::uint32_t run(const Node& root) {
    std::uint32_t slot = known(root);
    if (slot != kNone) return slot;
    std::vector<Frame> stack{Frame{&root}};
    while (true) {
      Frame& f = stack.back();
      const Node* child = step(f, slot);
      if (child) {
        slot = known(*child);
        if (slot == kNone) stack.push_back(Frame{child});
        continue;
      }
      slot = f.acc;
      by_node.emplace(f.node, slot);
      stack.pop_back();
      if (stack.empty()) return slot;
    }
  }

  /// Final slot numbers: constants first, then leaves, then one slot per instruction.
  std::uint32_t fix(std::uint32_t s) const {
    if (s == kNone) return 0;
    const auto nc = static_cast<std::uint32_t>(constants.size());
    if (s & kInstrBit) return nc + n_leaf_slots() + (s & ~kInstrBit);
    if (s & kLeafBit)
      return leaf_base(static_cast<int>(s >> 28 & 3u)) + (s & (kLeafIndexLimit - 1));
    return s;
  }
};

/// Fuses a product that is used exactly once into its consumer: a*b+c, a*b-c, c-a*b, a*b*c.
/// Each fused instruction computes the same two roundings, in the same order, as the pair it
/// replaces (+ and * commute exactly in IEEE arithmetic, and ISO C++ mode does not contract
/// a*b+c into an FMA), so the values stay bit-identical to evaluate(). The absorbed products
/// are removed; their slots stay unused. `code` is in dependency order, as the compiler emits.
/// A product that depends on parameters only is not fused into a consumer that depends on the
/// state (is_static is indexed by slot), so that it stays in the bind stage.
void fuse_products(std::vector<Instr>& code, const std::vector<std::uint32_t>& outputs,
                   std::uint32_t first_instr_slot, const std::vector<char>& is_static) {
  const std::size_t n = code.size();
  auto instr_of = [&](std::uint32_t s) -> std::size_t {
    return s < first_instr_slot ? n : s - first_instr_slot;
  };
  std::vector<std::uint32_t> uses(n, 0);
  for (const Instr& ins : code)
    for (const std::uint32_t s : {ins.a, ins.b, ins.c})
      if (instr_of(s) < n) ++uses[instr_of(s)];
  for (const std::uint32_t s : outputs)
    if (instr_of(s) < n) ++uses[instr_of(s)];
  std::vector<bool> dead(n, false);
  // The product feeding operand `s`, if it can be absorbed.
  auto single_product = [&](std::uint32_t s) -> std::size_t {
    const std::size_t k = instr_of(s);
    return k < n && code[k].op == TOp::Mul && uses[k] == 1 ? k : n;
  };
  for (Instr& ins : code) {
    if (ins.op != TOp::Add && ins.op != TOp::Sub && ins.op != TOp::Mul) continue;
    auto fusable = [&](std::uint32_t s) {
      const std::size_t k = single_product(s);
      return k < n && (is_static[code[k].dst] == is_static[ins.dst]) ? k : n;
    };
    std::size_t k = fusable(ins.a);
    const bool first = k < n;
    if (!first) k = fusable(ins.b);
    if (k == n) continue;
    const std::uint32_t other = first ? ins.b : ins.a;
    switch (ins.op) {
      case TOp::Add: ins.op = TOp::MulAdd; break;
      case TOp::Sub: ins.op = first ? TOp::MulSub : TOp::SubMul; break;
      default: ins.op = TOp::Mul3; break;
    }
    ins.a = code[k].a;
    ins.b = code[k].b;
    ins.c = other;
    dead[k] = true;
  }
  std::size_t m = 0;
  for (std::size_t k = 0; k < n; ++k)
    if (!dead[k]) code[m++] = code[k];
  code.resize(m);
}

/// Orders the instructions (dependencies first) so that instructions with the same op form
/// long runs, and records the runs as groups. Greedy list scheduling: among the ops with ready
/// instructions, take the one whose ready instructions start the longest remaining dependency
/// chain (critical path first; ties: the most ready), and emit all of them, including those
/// that become ready on the way. (Critical path first gave 27 groups instead of 31 for the
/// osteogenic RHS, 37 instead of 45 for its Jacobian, than taking the op with the most ready.)
/// The values are those of any dependency order: every instruction writes its own slot once
/// (SSA), so only the dispatch changes, not the arithmetic.
/// Two phases: first the instructions that depend on constants and parameters only (is_static,
/// by slot), which become groups[0 .. n_static_groups), then the rest.
void schedule(const std::vector<Instr>& code, std::uint32_t first_instr_slot,
              const std::vector<char>& is_static, detail::TapeCode& out) {
  const std::size_t n = code.size();
  constexpr std::size_t n_ops = static_cast<std::size_t>(TOp::Count);
  // Instruction writing each slot (fusion removed some instructions, so it is not the slot
  // minus first_instr_slot any more).
  std::uint32_t last_slot = first_instr_slot;
  for (const Instr& ins : code) last_slot = std::max(last_slot, ins.dst + 1);
  std::vector<std::uint32_t> writer(last_slot - first_instr_slot, 0);
  for (std::size_t k = 0; k < n; ++k)
    writer[code[k].dst - first_instr_slot] = static_cast<std::uint32_t>(k);
  std::vector<std::uint32_t> pending(n, 0);
  std::vector<std::vector<std::uint32_t>> users(n);
  for (std::size_t k = 0; k < n; ++k) {
    for (const std::uint32_t s : {code[k].a, code[k].b, code[k].c}) {
      if (s < first_instr_slot) continue;  // constant or leaf (unused operands are slot 0)
      users[writer[s - first_instr_slot]].push_back(static_cast<std::uint32_t>(k));
      ++pending[k];
    }
  }
  // height[k]: instructions on the longest chain from k to an output (users come later in code).
  std::vector<std::uint32_t> height(n, 1);
  for (std::size_t k = n; k-- > 0;)
    for (const std::uint32_t u : users[k]) height[k] = std::max(height[k], height[u] + 1);
  std::vector<std::vector<std::uint32_t>> ready(n_ops);
  std::vector<std::uint32_t> deferred;  // state-dependent instructions that became ready early
  std::size_t n_ready = 0;
  bool static_phase = true;
  auto make_ready = [&](std::uint32_t k) {
    if (static_phase && !is_static[code[k].dst]) {
      deferred.push_back(k);
      return;
    }
    ready[static_cast<std::size_t>(code[k].op)].push_back(k);
    ++n_ready;
  };
  for (std::size_t k = n; k-- > 0;)  // reversed: the stacks below pop in program order
    if (pending[k] == 0) make_ready(static_cast<std::uint32_t>(k));
  out.code.clear();
  out.code.reserve(n);
  out.groups.clear();
  for (;;) {
    if (n_ready == 0) {
      if (!static_phase) break;
      static_phase = false;
      out.n_static_groups = out.groups.size();
      for (const std::uint32_t k : deferred) make_ready(k);
      if (n_ready == 0) break;
    }
    std::size_t op = 0, op_ready = 0;
    std::uint32_t op_height = 0;
    for (std::size_t o = 0; o < n_ops; ++o) {
      if (ready[o].empty()) continue;
      std::uint32_t h = 0;
      for (const std::uint32_t k : ready[o]) h = std::max(h, height[k]);
      if (h > op_height || (h == op_height && ready[o].size() > op_ready)) {
        op = o;
        op_height = h;
        op_ready = ready[o].size();
      }
    }
    detail::Group g{static_cast<TOp>(op), static_cast<std::uint32_t>(out.code.size()), 0};
    while (!ready[op].empty()) {
      const std::uint32_t k = ready[op].back();
      ready[op].pop_back();
      --n_ready;
      const Instr& ins = code[k];
      out.code.push_back(detail::Operands{ins.dst, ins.a, ins.b, ins.c});
      for (const std::uint32_t u : users[k])
        if (--pending[u] == 0) make_ready(u);
    }
    g.end = static_cast<std::uint32_t>(out.code.size());
    out.groups.push_back(g);
  }
}

}  // namespace

Tape::Tape() = default;
Tape::~Tape() = default;
Tape::Tape(const Tape&) = default;
Tape& Tape::operator=(const Tape&) = default;
Tape::Tape(Tape&&) noexcept = default;
Tape& Tape::operator=(Tape&&) noexcept = default;

Tape Tape::compile(const std::vector<Expr>& outputs) {
  Compiler comp;
  std::vector<std::uint32_t> out_slots;
  out_slots.reserve(outputs.size());
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i]) throw Error("Tape::compile: output " + std::to_string(i) + " is empty");
    out_slots.push_back(comp.run(*outputs[i].node()));
  }
  if (comp.constants.size() + comp.n_leaf_slots() + comp.code.size() >= Compiler::kLeafBit)
    throw Error("Tape::compile: program too large");
  auto code = std::make_shared<detail::TapeCode>();
  code->y_slot = comp.leaf_base(0);
  code->n_y = comp.leaf_count[0];
  code->p_slot = comp.leaf_base(1);
  code->n_p = comp.leaf_count[1];
  code->u_slot = comp.leaf_base(2);
  code->n_u = comp.leaf_count[2];
  code->time_slot = comp.leaf_base(3);
  code->uses_time = comp.leaf_count[3] > 0;
  // Which instructions depend on constants and parameters only (decided on the provisional
  // slots, where an unused operand is still kNone; the code is in dependency order).
  std::vector<char> instr_static(comp.code.size(), 0);
  auto static_operand = [&](std::uint32_t s) {
    if (s == kNone) return true;
    if (s & Compiler::kInstrBit) return instr_static[s & ~Compiler::kInstrBit] != 0;
    if (s & Compiler::kLeafBit) return (s >> 28 & 3u) == 1u;  // parameters are kind 1
    return true;  // constant
  };
  for (std::size_t k = 0; k < comp.code.size(); ++k) {
    const Instr& ins = comp.code[k];
    instr_static[k] = static_operand(ins.a) && static_operand(ins.b) && static_operand(ins.c);
  }
  for (auto& ins : comp.code) {
    ins.dst = comp.fix(ins.dst);
    ins.a = comp.fix(ins.a);
    ins.b = comp.fix(ins.b);
    ins.c = comp.fix(ins.c);
  }
  for (auto& s : out_slots) s = comp.fix(s);
  code->work_size = comp.constants.size() + comp.n_leaf_slots() + comp.code.size();
  code->n_operations = comp.code.size();
  const auto first_instr_slot =
      static_cast<std::uint32_t>(comp.constants.size() + comp.n_leaf_slots());
  // Static slots: constants, parameters, and instructions whose operands are all static.
  std::vector<char> is_static(code->work_size, 0);
  std::fill(is_static.begin(), is_static.begin() + comp.constants.size(), 1);
  std::fill(is_static.begin() + code->p_slot, is_static.begin() + code->p_slot + code->n_p, 1);
  for (std::size_t k = 0; k < comp.code.size(); ++k) is_static[comp.code[k].dst] = instr_static[k];
  fuse_products(comp.code, out_slots, first_instr_slot, is_static);
  schedule(comp.code, first_instr_slot, is_static, *code);
  code->constants = std::move(comp.constants);
  code->outputs = std::move(out_slots);
  Tape t;
  t.code_ = std::move(code);
  return t;
}

namespace {

// Runs groups[first, last) over the work array.
inline void run_groups(const detail::TapeCode& tc, std::size_t first, std::size_t last,
                       double* const w) noexcept {
  // One dispatch per group, then a tight loop over its instructions: the loop branch predicts
  // well, where one indirect jump per instruction mispredicts often.
  const detail::Operands* const code = tc.code.data();
  for (std::size_t gi = first; gi < last; ++gi) {
    const detail::Group& g = tc.groups[gi];
    const detail::Operands* const end = code + g.end;
    switch (g.op) {
#define OSTEOGRN_TAPE_CASE(name, ...)                                        \
  case TOp::name:                                                           \
    for (const detail::Operands* ip = code + g.begin; ip != end; ++ip) {     \
      const detail::Operands& i = *ip;                                      \
      w[i.dst] = __VA_ARGS__;                                               \
    }                                                                       \
    break;
      OSTEOGRN_TAPE_OPS(OSTEOGRN_TAPE_CASE)
#undef OSTEOGRN_TAPE_CASE
      case TOp::Count: break;
    }
  }
}

}  // namespace

void Tape::bind(const double* p, double* work) const noexcept {
  if (!code_) return;
  const detail::TapeCode& tc = *code_;
  if (!tc.constants.empty())
    std::memcpy(work, tc.constants.data(), tc.constants.size() * sizeof(double));
  if (tc.n_p != 0) std::memcpy(work + tc.p_slot, p, tc.n_p * sizeof(double));
  run_groups(tc, 0, tc.n_static_groups, work);
}

void Tape::eval_bound(const EvalArgs& args, double* out, double* work) const noexcept {
  if (!code_) return;
  const detail::TapeCode& tc = *code_;
  double* const w = work;
  if (tc.n_y != 0) std::memcpy(w + tc.y_slot, args.y, tc.n_y * sizeof(double));
  if (tc.n_u != 0) std::memcpy(w + tc.u_slot, args.u, tc.n_u * sizeof(double));
  if (tc.uses_time) w[tc.time_slot] = args.t;
  run_groups(tc, tc.n_static_groups, tc.groups.size(), w);
  const std::size_t n = tc.outputs.size();
  const std::uint32_t* o = tc.outputs.data();
  for (std::size_t k = 0; k < n; ++k) out[k] = w[o[k]];
}

void Tape::eval(const EvalArgs& args, double* out, double* work) const noexcept {
  bind(args.p, work);
  eval_bound(args, out, work);
}

std::size_t Tape::n_bound_instructions() const noexcept {
  if (!code_) return 0;
  const auto& g = code_->groups;
  return code_->n_static_groups == 0 ? 0 : g[code_->n_static_groups - 1].end;
}

std::size_t Tape::n_outputs() const noexcept { return code_ ? code_->outputs.size() : 0; }
std::size_t Tape::work_size() const noexcept { return code_ ? code_->work_size : 0; }
/// Arithmetic operations after common-subexpression elimination, counted before fusion (a
/// fused a*b+c counts as two), so that the count does not depend on how eval dispatches; leaf
/// loads are not counted.
std::size_t Tape::n_instructions() const noexcept { return code_ ? code_->n_operations : 0; }

}  // namespace osteogrn

// The instruction tape: a list of expressions compiled to straight-line register code over a
// caller-owned work array, evaluated by one dispatch loop (no allocation, no virtual calls).
//
// Work layout: constants (copied in at the start of eval), then the leaves the program uses
// (gathered from y, p, u, t), then one slot per instruction result (SSA; hash-consing gives
// each distinct subexpression exactly one slot, across all outputs).
#include <cstring>
#include <unordered_map>

#include "expression_internal.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/expression.hpp"

namespace osteogrn {

namespace detail {

/// Tape opcodes: Op lowered to fixed arity (n-ary min/max folded to binary, piecewise to
/// selects) plus a few cheap special cases. End is the sentinel closing every program.
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
  X(Min, detail::min_fn(w[i.a], w[i.b]))                                               \
  X(Max, detail::max_fn(w[i.a], w[i.b]))                                               \
  X(Hill, detail::hill_fn(w[i.a], w[i.b], w[i.c]))                                     \
  X(HillRep, detail::hill_rep_fn(w[i.a], w[i.b], w[i.c]))                              \
  X(Select, detail::truth(w[i.a]) ? w[i.b] : w[i.c])                                   \
  X(Heaviside, detail::heaviside_fn(w[i.a]))                                           \
  X(PowLog, detail::pow_log_fn(w[i.a], w[i.b]))

#define OSTEOGRN_TAPE_ENUM(name, ...) name,
enum class TOp : std::uint8_t { OSTEOGRN_TAPE_OPS(OSTEOGRN_TAPE_ENUM) End };
#undef OSTEOGRN_TAPE_ENUM

/// work[dst] = op(work[a], work[b], work[c]).
struct Instr {
  TOp op;
  std::uint32_t dst, a, b, c;
};

/// work[slot] = y/p/u[index]: leaves are gathered before the program runs, by tight loops that
/// need no dispatch.
struct Load {
  std::uint32_t index, slot;
};

struct TapeCode {
  std::vector<double> constants;       // work[0 .. constants.size())
  std::vector<Load> load_y, load_p, load_u;
  std::uint32_t time_slot = 0;
  bool uses_time = false;
  std::vector<Instr> code;             // ends with TOp::End
  std::vector<std::uint32_t> outputs;  // work slot of each output
  std::size_t work_size = 0;
};

}  // namespace detail

namespace {

using detail::Instr;
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
  std::vector<std::pair<int, std::uint32_t>> leaves;          // (kind, index)
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

  /// A leaf of kind 0..3 (y, p, u, t): one slot per distinct leaf.
  std::uint32_t leaf(int kind, std::uint32_t index) {
    Key k{static_cast<std::uint8_t>(250 + kind), index, kNone, kNone, kNone};
    auto it = cse.find(k);
    if (it != cse.end()) return it->second;
    const std::uint32_t slot = kLeafBit | static_cast<std::uint32_t>(leaves.size());
    leaves.push_back({kind, index});
    cse.emplace(k, slot);
    return slot;
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
      case Op::Min: return TOp::Min;
      case Op::Max: return TOp::Max;
      case Op::Hill: return TOp::Hill;
      case Op::HillRep: return TOp::HillRep;
      case Op::Heaviside: return TOp::Heaviside;
      case Op::PowLog: return TOp::PowLog;
      default: break;
    }
    throw Error(std::string("tape: cannot lower '") + detail::op_name(op) + "'");
  }

  std::uint32_t run(const Node& n) {
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
    if (it != by_node.end()) return it->second;
    std::uint32_t slot;
    const std::size_t m = n.args.size();
    switch (n.op) {
      case Op::Min: case Op::Max: {
        const TOp op = lower(n.op);
        slot = run(*n.args[0]);
        for (std::size_t i = 1; i < m; ++i) slot = emit(op, 0, slot, run(*n.args[i]));
        break;
      }
      case Op::Piecewise: {
        // r = otherwise; then from the last pair to the first: r = cond ? value : r, so the
        // first true condition wins, as in evaluate().
        slot = run(*n.args[m - 1]);
        for (std::size_t i = m - 1; i >= 2; i -= 2) {
          const std::uint32_t value = run(*n.args[i - 2]);
          const std::uint32_t cond = run(*n.args[i - 1]);
          slot = emit(TOp::Select, 0, cond, value, slot);
        }
        break;
      }
      case Op::Pow:
        if (n.args[1]->op == Op::Const && n.args[1]->value == 2.0) {  // as detail::pow_fn
          slot = emit(TOp::Square, 0, run(*n.args[0]));
          break;
        }
        [[fallthrough]];
      default: {
        detail::check_arity(n.op, m);
        const TOp op = lower(n.op);
        const std::uint32_t a = run(*n.args[0]);
        const std::uint32_t b = m > 1 ? run(*n.args[1]) : kNone;
        const std::uint32_t c = m > 2 ? run(*n.args[2]) : kNone;
        slot = emit(op, 0, a, b, c);
      }
    }
    by_node.emplace(&n, slot);
    return slot;
  }

  /// Final slot numbers: constants first, then leaves, then one slot per instruction.
  std::uint32_t fix(std::uint32_t s) const {
    if (s == kNone) return 0;
    const auto nc = static_cast<std::uint32_t>(constants.size());
    if (s & kInstrBit) return nc + static_cast<std::uint32_t>(leaves.size()) + (s & ~kInstrBit);
    if (s & kLeafBit) return nc + (s & ~kLeafBit);
    return s;
  }
};

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
  if (comp.constants.size() + comp.leaves.size() + comp.code.size() >= Compiler::kLeafBit)
    throw Error("Tape::compile: program too large");
  auto code = std::make_shared<detail::TapeCode>();
  for (std::size_t k = 0; k < comp.leaves.size(); ++k) {
    const auto [kind, index] = comp.leaves[k];
    const std::uint32_t slot = comp.fix(Compiler::kLeafBit | static_cast<std::uint32_t>(k));
    if (kind == 0) code->load_y.push_back({index, slot});
    if (kind == 1) code->load_p.push_back({index, slot});
    if (kind == 2) code->load_u.push_back({index, slot});
    if (kind == 3) {
      code->uses_time = true;
      code->time_slot = slot;
    }
  }
  for (auto& ins : comp.code) {
    ins.dst = comp.fix(ins.dst);
    ins.a = comp.fix(ins.a);
    ins.b = comp.fix(ins.b);
    ins.c = comp.fix(ins.c);
  }
  for (auto& s : out_slots) s = comp.fix(s);
  code->work_size = comp.constants.size() + comp.leaves.size() + comp.code.size();
  code->constants = std::move(comp.constants);
  code->code = std::move(comp.code);
  code->code.push_back(Instr{TOp::End, 0, 0, 0, 0});
  code->outputs = std::move(out_slots);
  Tape t;
  t.code_ = std::move(code);
  return t;
}

void Tape::eval(const EvalArgs& args, double* out, double* work) const noexcept {
  if (!code_) return;
  const detail::TapeCode& tc = *code_;
  double* const w = work;
  if (!tc.constants.empty())
    std::memcpy(w, tc.constants.data(), tc.constants.size() * sizeof(double));
  for (const auto& l : tc.load_y) w[l.slot] = args.y[l.index];
  for (const auto& l : tc.load_p) w[l.slot] = args.p[l.index];
  for (const auto& l : tc.load_u) w[l.slot] = args.u[l.index];
  if (tc.uses_time) w[tc.time_slot] = args.t;

  const Instr* ip = tc.code.data();
#if defined(__GNUC__)
  // Threaded dispatch (GCC/Clang "labels as values"): one indirect jump per handler predicts
  // far better than the single jump of a switch, which matters for short arithmetic ops.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#define OSTEOGRN_TAPE_LABEL(name, ...) &&op_##name,
  static const void* const kLabels[] = {OSTEOGRN_TAPE_OPS(OSTEOGRN_TAPE_LABEL) &&op_End};
#undef OSTEOGRN_TAPE_LABEL
  goto* kLabels[static_cast<int>(ip->op)];
#define OSTEOGRN_TAPE_CASE(name, ...)                     \
  op_##name : {                                           \
    const Instr& i = *ip;                                 \
    w[i.dst] = __VA_ARGS__;                               \
    ++ip;                                                 \
    goto* kLabels[static_cast<int>(ip->op)];              \
  }
  OSTEOGRN_TAPE_OPS(OSTEOGRN_TAPE_CASE)
#undef OSTEOGRN_TAPE_CASE
op_End:
#pragma GCC diagnostic pop
#else
  for (;; ++ip) {
    const Instr& i = *ip;
    switch (i.op) {
#define OSTEOGRN_TAPE_CASE(name, ...) \
  case TOp::name: w[i.dst] = __VA_ARGS__; break;
      OSTEOGRN_TAPE_OPS(OSTEOGRN_TAPE_CASE)
#undef OSTEOGRN_TAPE_CASE
      case TOp::End: goto done;
    }
  }
done:
#endif
  const std::size_t n = tc.outputs.size();
  const std::uint32_t* o = tc.outputs.data();
  for (std::size_t k = 0; k < n; ++k) out[k] = w[o[k]];
}

std::size_t Tape::n_outputs() const noexcept { return code_ ? code_->outputs.size() : 0; }
std::size_t Tape::work_size() const noexcept { return code_ ? code_->work_size : 0; }
/// Compute instructions, without the End sentinel; leaf loads are not counted.
std::size_t Tape::n_instructions() const noexcept { return code_ ? code_->code.size() - 1 : 0; }

}  // namespace osteogrn

// Recursive-descent parser for the expression grammar of docs/formats/model.md.
//
//   or_expr  := and_expr ('or' and_expr)*
//   and_expr := not_expr ('and' not_expr)*
//   not_expr := 'not' not_expr | cmp
//   cmp      := sum (('<'|'<='|'>'|'>='|'=='|'!=') sum)?      non-associative
//   sum      := term (('+'|'-') term)*
//   term     := unary (('*'|'/') unary)*
//   unary    := ('-'|'+') unary | power
//   power    := atom ('^' unary)?                             right-assoc, tighter than unary -
//   atom     := number | name | name '(' args ')' | '(' or_expr ')'
#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>
#include <system_error>
#include <unordered_map>

#include "expression/expression_internal.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/expression.hpp"

namespace osteogrn {

namespace {

enum class Tok { End, Number, Name, LParen, RParen, Comma, Plus, Minus, Star, Slash, Caret,
                 Lt, Le, Gt, Ge, Eq, Ne };

struct Token {
  Tok kind = Tok::End;
  std::size_t pos = 0, len = 0;
  double number = 0.0;
};

// Deep nesting would otherwise exhaust the stack of the recursive parser and of every later
// tree walk; no real model nests anywhere near this.
constexpr int kMaxDepth = 400;
// Long left-associative chains (a+b+c+...) make deep trees without deep parser recursion; every
// later walk of the tree is recursive, so the depth of the tree itself is bounded too.
constexpr int kMaxTreeDepth = 2000;

struct FunctionInfo {
  const char* name;
  Op op;
  int arity;  // fixed count; -2 = at least 2; -3 = odd and at least 3
};
constexpr FunctionInfo kFunctions[] = {
    {"exp", Op::Exp, 1},     {"log", Op::Log, 1},         {"ln", Op::Log, 1},
    {"log10", Op::Log10, 1}, {"sqrt", Op::Sqrt, 1},       {"abs", Op::Abs, 1},
    {"min", Op::Min, -2},    {"max", Op::Max, -2},        {"pow", Op::Pow, 2},
    {"hill", Op::Hill, 3},   {"hill_rep", Op::HillRep, 3}, {"piecewise", Op::Piecewise, -3},
    {"sin", Op::Sin, 1},     {"cos", Op::Cos, 1},         {"tan", Op::Tan, 1},
    {"asin", Op::Asin, 1},   {"acos", Op::Acos, 1},       {"atan", Op::Atan, 1},
    {"sinh", Op::Sinh, 1},   {"cosh", Op::Cosh, 1},       {"tanh", Op::Tanh, 1},
    {"asinh", Op::Asinh, 1}, {"acosh", Op::Acosh, 1},     {"atanh", Op::Atanh, 1},
    {"floor", Op::Floor, 1}, {"ceil", Op::Ceil, 1},       {"factorial", Op::Factorial, 1},
};

const FunctionInfo* find_function(std::string_view name) {
  for (const auto& f : kFunctions)
    if (name == f.name) return &f;
  return nullptr;
}

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) { advance(); }

  Expr parse() {
    if (tok_.kind == Tok::End) fail("empty expression", tok_.pos);
    Expr e = or_expr();
    if (tok_.kind != Tok::End) {
      if (tok_.kind == Tok::RParen) fail("unexpected ')' (unbalanced parentheses)", tok_.pos);
      fail("unexpected " + describe(tok_) + " after a complete expression", tok_.pos);
    }
    return e;
  }

 private:
  [[noreturn]] void fail(const std::string& msg, std::size_t pos) const {
    throw ParseError(msg, std::string(text_), pos);
  }

  std::string_view spelling(const Token& t) const { return text_.substr(t.pos, t.len); }

  std::string describe(const Token& t) const {
    if (t.kind == Tok::End) return "end of expression";
    if (t.kind == Tok::Number) return "number '" + std::string(spelling(t)) + "'";
    if (t.kind == Tok::Name) return "name '" + std::string(spelling(t)) + "'";
    return "'" + std::string(spelling(t)) + "'";
  }

  bool is_word(const char* w) const { return tok_.kind == Tok::Name && spelling(tok_) == w; }

  /// Reads the next token into tok_.
  void advance() {
    std::size_t i = pos_;
    while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\n' ||
                                text_[i] == '\r'))
      ++i;
    tok_ = Token{};
    tok_.pos = i;
    if (i >= text_.size()) {
      pos_ = i;
      return;
    }
    const char c = text_[i];
    auto single = [&](Tok k, std::size_t len) {
      tok_.kind = k;
      tok_.len = len;
      pos_ = i + len;
    };
    const char c1 = i + 1 < text_.size() ? text_[i + 1] : '\0';
    if (is_digit(c) || (c == '.' && is_digit(c1))) return number(i);
    if (is_ident_start(c)) {
      std::size_t j = i;
      while (j < text_.size() && is_ident_char(text_[j])) ++j;
      return single(Tok::Name, j - i);
    }
    switch (c) {
      case '(': return single(Tok::LParen, 1);
      case ')': return single(Tok::RParen, 1);
      case ',': return single(Tok::Comma, 1);
      case '+': return single(Tok::Plus, 1);
      case '-': return single(Tok::Minus, 1);
      case '*': return single(Tok::Star, 1);
      case '/': return single(Tok::Slash, 1);
      case '^': return single(Tok::Caret, 1);
      case '<': return c1 == '=' ? single(Tok::Le, 2) : single(Tok::Lt, 1);
      case '>': return c1 == '=' ? single(Tok::Ge, 2) : single(Tok::Gt, 1);
      case '=':
        if (c1 == '=') return single(Tok::Eq, 2);
        fail("unexpected '=' (use '==' to compare)", i);
      case '!':
        if (c1 == '=') return single(Tok::Ne, 2);
        fail("unexpected '!' (use 'not' or '!=')", i);
      default: break;
    }
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      fail("unexpected character (byte " + std::to_string(static_cast<unsigned char>(c)) + ")", i);
    fail(std::string("unexpected character '") + c + "'", i);
  }

  /// Scans digits [. digits] [(e|E) [+-] digits] starting at i.
  void number(std::size_t i) {
    std::size_t j = i;
    while (j < text_.size() && is_digit(text_[j])) ++j;
    if (j < text_.size() && text_[j] == '.') {
      ++j;
      while (j < text_.size() && is_digit(text_[j])) ++j;
    }
    if (j < text_.size() && (text_[j] == 'e' || text_[j] == 'E')) {
      const std::size_t epos = j;
      ++j;
      if (j < text_.size() && (text_[j] == '+' || text_[j] == '-')) ++j;
      if (j >= text_.size() || !is_digit(text_[j])) {
        std::size_t k = j;
        while (k < text_.size() && is_ident_char(text_[k])) ++k;
        fail("malformed number '" + std::string(text_.substr(i, std::max(k, j) - i)) +
                 "': the exponent needs digits",
             epos);
      }
      while (j < text_.size() && is_digit(text_[j])) ++j;
    }
    double v = 0.0;
    const char* first = text_.data() + i;
    const char* last = text_.data() + j;
    auto [ptr, ec] = std::from_chars(first, last, v, std::chars_format::general);
    if (ec == std::errc::result_out_of_range)
      fail("number '" + std::string(text_.substr(i, j - i)) + "' is out of range", i);
    if (ec != std::errc() || ptr != last)
      fail("malformed number '" + std::string(text_.substr(i, j - i)) + "'", i);
    tok_.kind = Tok::Number;
    tok_.len = j - i;
    tok_.number = v;
    pos_ = j;
  }

  void enter(std::size_t pos) {
    if (++depth_ > kMaxDepth)
      fail("expression nested too deeply (more than " + std::to_string(kMaxDepth) + " levels)",
           pos);
  }

  Expr or_expr() {
    enter(tok_.pos);
    Expr e = and_expr();
    while (is_word("or")) {
      advance();
      e = mk(Op::Or, {e, and_expr()});
    }
    --depth_;
    return e;
  }

  Expr and_expr() {
    Expr e = not_expr();
    while (is_word("and")) {
      advance();
      e = mk(Op::And, {e, not_expr()});
    }
    return e;
  }

  Expr not_expr() {
    if (is_word("not")) {
      enter(tok_.pos);
      advance();
      Expr e = mk(Op::Not, {not_expr()});
      --depth_;
      return e;
    }
    return comparison();
  }

  static bool comparison_op(Tok k, Op& op) {
    switch (k) {
      case Tok::Lt: op = Op::Lt; return true;
      case Tok::Le: op = Op::Le; return true;
      case Tok::Gt: op = Op::Gt; return true;
      case Tok::Ge: op = Op::Ge; return true;
      case Tok::Eq: op = Op::Eq; return true;
      case Tok::Ne: op = Op::Ne; return true;
      default: return false;
    }
  }

  Expr comparison() {
    Expr e = sum();
    Op op;
    if (comparison_op(tok_.kind, op)) {
      advance();
      e = mk(op, {e, sum()});
      Op again;
      if (comparison_op(tok_.kind, again))
        fail("comparisons cannot be chained (write 'a < b and b < c')", tok_.pos);
    }
    return e;
  }

  Expr sum() {
    Expr e = term();
    while (tok_.kind == Tok::Plus || tok_.kind == Tok::Minus) {
      const Op op = tok_.kind == Tok::Plus ? Op::Add : Op::Sub;
      advance();
      e = mk(op, {e, term()});
    }
    return e;
  }

  Expr term() {
    Expr e = unary();
    while (tok_.kind == Tok::Star || tok_.kind == Tok::Slash) {
      const Op op = tok_.kind == Tok::Star ? Op::Mul : Op::Div;
      advance();
      e = mk(op, {e, unary()});
    }
    return e;
  }

  Expr unary() {
    if (tok_.kind == Tok::Minus || tok_.kind == Tok::Plus) {
      const bool neg = tok_.kind == Tok::Minus;
      enter(tok_.pos);
      advance();
      Expr e = unary();
      --depth_;
      return neg ? mk(Op::Neg, {e}) : e;
    }
    return power();
  }

  Expr power() {
    Expr base = atom();
    if (tok_.kind == Tok::Caret) {
      enter(tok_.pos);
      advance();
      Expr e = mk(Op::Pow, {base, unary()});
      --depth_;
      return e;
    }
    return base;
  }

  Expr atom() {
    const Token t = tok_;
    switch (t.kind) {
      case Tok::Number:
        advance();
        return Expr::constant(t.number);
      case Tok::LParen: {
        advance();
        Expr e = or_expr();
        if (tok_.kind != Tok::RParen)
          fail("expected ')' to close the '(' at position " + std::to_string(t.pos) + ", got " +
                   describe(tok_),
               tok_.pos);
        advance();
        return e;
      }
      case Tok::Name: return name_or_call();
      case Tok::End: fail("unexpected end of expression: expected a number, name or '('", t.pos);
      default:
        fail("expected a number, name or '(', got " + describe(t), t.pos);
    }
  }

  Expr name_or_call() {
    const Token t = tok_;
    const std::string name(spelling(t));
    if (name == "and" || name == "or" || name == "not")
      fail("reserved word '" + name + "' cannot be used as a name", t.pos);
    advance();
    const FunctionInfo* f = find_function(name);
    if (tok_.kind != Tok::LParen) {
      if (f) fail("function '" + name + "' must be called: expected '(' after it", tok_.pos);
      if (name == "t") return Expr::time();
      return Expr::symbol(name);
    }
    if (!f) fail("unknown function '" + name + "'", t.pos);
    const std::size_t open = tok_.pos;
    enter(open);
    advance();
    std::vector<Expr> args;
    if (tok_.kind != Tok::RParen) {
      while (true) {
        args.push_back(or_expr());
        if (tok_.kind == Tok::Comma) {
          advance();
          continue;
        }
        if (tok_.kind == Tok::RParen) break;
        fail("expected ',' or ')' in the arguments of " + name + "(), got " + describe(tok_),
             tok_.pos);
      }
    }
    advance();  // ')'
    --depth_;
    const std::size_t n = args.size();
    const std::string got = ", got " + std::to_string(n);
    if (f->arity >= 0 && n != static_cast<std::size_t>(f->arity))
      fail(name + " expects " + std::to_string(f->arity) +
               (f->arity == 1 ? " argument" : " arguments") + got,
           t.pos);
    if (f->arity == -2 && n < 2) fail(name + " expects at least 2 arguments" + got, t.pos);
    if (f->arity == -3 && (n < 3 || n % 2 == 0))
      fail("piecewise expects an odd number (>= 3) of arguments (value, condition, ..., "
           "otherwise)" + got,
           t.pos);
    return mk(f->op, std::move(args));
  }

  /// Builds a node, tracking the depth of the tree (leaves have depth 1).
  Expr mk(Op op, std::vector<Expr> args) {
    int d = 0;
    for (const auto& a : args) {
      auto it = depth_of_.find(a.node().get());
      d = std::max(d, it == depth_of_.end() ? 1 : it->second);
    }
    if (d + 1 > kMaxTreeDepth)
      fail("expression too deep (more than " + std::to_string(kMaxTreeDepth) + " levels)",
           tok_.pos);
    Expr e = Expr::make(op, std::move(args));
    depth_of_.emplace(e.node().get(), d + 1);
    return e;
  }

  std::unordered_map<const detail::Node*, int> depth_of_;
  std::string_view text_;
  std::size_t pos_ = 0;  // next unread character
  Token tok_;
  int depth_ = 0;
};

}  // namespace

Expr parse_expression(std::string_view text) { return Parser(text).parse(); }

}  // namespace osteogrn

// libFuzzer target: expression text -> parse -> resolve names -> simplify -> differentiate ->
// tape -> evaluate. Checks: only typed errors escape; the printed form parses back; the tape
// (eval and bind + eval_bound) equals the reference tree walk bit for bit (both NaN counts as
// equal), as expression_tape.cpp promises.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "osteogrn/expression.hpp"

namespace {

using namespace osteogrn;

constexpr std::uint32_t kSpecies = 3, kParameters = 3, kInputs = 2;

// Every name maps to a leaf, chosen by a hash of the name, so any text that parses compiles.
Expr resolve(const std::string& name) {
  const std::size_t h = std::hash<std::string>{}(name) % (kSpecies + kParameters + kInputs);
  if (h < kSpecies) return Expr::species(static_cast<std::uint32_t>(h), name);
  if (h < kSpecies + kParameters)
    return Expr::parameter(static_cast<std::uint32_t>(h - kSpecies), name);
  return Expr::input(static_cast<std::uint32_t>(h - kSpecies - kParameters), name);
}

bool same(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return std::memcmp(&a, &b, sizeof a) == 0;
}

void check_tape(const std::vector<Expr>& outputs, const EvalArgs& args) {
  const Tape tape = Tape::compile(outputs);
  std::vector<double> work(tape.work_size()), out(tape.n_outputs()), bound(tape.n_outputs());
  tape.eval(args, out.data(), work.data());
  std::vector<double> work_bound(tape.work_size());
  tape.bind(args.p, work_bound.data());
  tape.eval_bound(args, bound.data(), work_bound.data());
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const double reference = evaluate(outputs[i], args);
    if (!same(out[i], reference) || !same(bound[i], reference))
      fuzz::fail("tape differs from evaluate for output " + std::to_string(i) + " '" +
                 to_string(outputs[i]) + "': tape " + std::to_string(out[i]) + ", bound " +
                 std::to_string(bound[i]) + ", evaluate " + std::to_string(reference));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz::typed_errors_only([&] {
    const Expr parsed = parse_expression(text);
    const std::string printed = to_string(parsed);
    if (!fuzz::typed_errors_only([&] { parse_expression(printed); }))
      fuzz::fail("printed form does not parse back: '" + printed + "'");

    const Expr e = simplify(substitute(parsed, resolve));
    std::vector<Expr> outputs{e};
    for (std::uint32_t i = 0; i < kSpecies; ++i) outputs.push_back(differentiate(e, Op::Species, i));
    outputs.push_back(differentiate(e, Op::Parameter, 0));
    outputs.push_back(differentiate(e, Op::Time));

    const double y[][kSpecies] = {{0.5, 2.0, 0.0}, {-1.0, 1e-300, 3e5}};
    const double p[][kParameters] = {{1.0, 2.0, 0.5}, {0.0, -2.5, 1e10}};
    const double u[][kInputs] = {{10.0, 0.0}, {-0.0, 1e-3}};
    const double t[] = {1.5, 0.0};
    for (int k = 0; k < 2; ++k) check_tape(outputs, EvalArgs{y[k], p[k], u[k], t[k]});
  });
  return 0;
}

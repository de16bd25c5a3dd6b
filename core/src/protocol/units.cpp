// Concentration units of protocol components and model inputs (docs/formats/protocol.md).
// Every unit is a power of ten of its dimension's base (M or g/L), so a conversion is one
// exact multiplication or one correctly rounded division by 10^n: 100 nM -> 0.1 uM exactly.
#include <cstdlib>
#include <string>

#include "osteogrn/errors.hpp"
#include "osteogrn/protocol.hpp"

namespace osteogrn {
namespace {

struct UnitInfo {
  const char* name;
  const char* dimension;
  int exponent;  // unit = 10^exponent * base unit of the dimension
};

// "µ" appears both as the micro sign (U+00B5) and as Greek mu (U+03BC) in typed text.
constexpr UnitInfo kUnits[] = {
    {"M", "molar", 0},         {"mM", "molar", -3},       {"uM", "molar", -6},
    {"\u00b5M", "molar", -6},  {"\u03bcM", "molar", -6},  {"nM", "molar", -9},
    {"pM", "molar", -12},
    {"g/L", "mass concentration", 0},        {"mg/mL", "mass concentration", 0},
    {"mg/L", "mass concentration", -3},      {"ug/mL", "mass concentration", -3},
    {"\u00b5g/mL", "mass concentration", -3}, {"\u03bcg/mL", "mass concentration", -3},
    {"ug/L", "mass concentration", -6},      {"ng/mL", "mass concentration", -6},
    {"ng/L", "mass concentration", -9},      {"pg/mL", "mass concentration", -9},
};

const UnitInfo* find_unit(const std::string& name) {
  for (const auto& u : kUnits)
    if (name == u.name) return &u;
  return nullptr;
}

std::string known_units() {
  return "M, mM, uM, \u00b5M, nM, pM, g/L, mg/mL, mg/L, ug/mL, \u00b5g/mL, ug/L, ng/mL, ng/L, "
         "pg/mL";
}

double pow10(int n) {
  double r = 1.0;
  for (int i = 0; i < n; ++i) r *= 10.0;  // exact up to 1e22
  return r;
}

}  // namespace

double convert_unit(double value, const std::string& from, const std::string& to) {
  if (from == to) return value;  // also covers units we do not know, e.g. "au"
  const UnitInfo* a = find_unit(from);
  const UnitInfo* b = find_unit(to);
  if (!a) throw ProtocolError("unknown unit '" + from + "' (known: " + known_units() + ")");
  if (!b) throw ProtocolError("unknown unit '" + to + "' (known: " + known_units() + ")");
  if (std::string(a->dimension) != b->dimension)
    throw ProtocolError("cannot convert '" + from + "' to '" + to + "': different dimensions (" +
                        a->dimension + " vs " + b->dimension + ")");
  const int shift = a->exponent - b->exponent;
  return shift >= 0 ? value * pow10(shift) : value / pow10(-shift);
}

}  // namespace osteogrn

// Units of protocol components, model inputs, medium volumes and prices
// (docs/formats/protocol.md). Every unit is a power of ten of its dimension's base (M, g/L, g,
// mol or L), so a conversion within a dimension is one exact multiplication or one correctly
// rounded division by 10^n: 100 nM -> 0.1 uM exactly. A molar mass bridges mass and molar:
// g/L / (g/mol) = mol/L and g / (g/mol) = mol.
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>

#include "osteogrn/detail/text_util.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/protocol.hpp"

namespace osteogrn {
namespace {

struct UnitInfo {
  const char* name;
  const char* dimension;
  int exponent;  // unit = 10^exponent * base unit of the dimension
};

constexpr const char* kMolar = "molar";
constexpr const char* kMassConc = "mass concentration";
constexpr const char* kMass = "mass";
constexpr const char* kAmount = "amount of substance";
constexpr const char* kVolume = "volume";

// "µ" appears both as the micro sign (U+00B5) and as Greek mu (U+03BC) in typed text.
constexpr UnitInfo kUnits[] = {
    {"M", kMolar, 0},         {"mM", kMolar, -3},       {"uM", kMolar, -6},
    {"\u00b5M", kMolar, -6},  {"\u03bcM", kMolar, -6},  {"nM", kMolar, -9},
    {"pM", kMolar, -12},
    {"g/L", kMassConc, 0},        {"mg/mL", kMassConc, 0},
    {"mg/L", kMassConc, -3},      {"ug/mL", kMassConc, -3},
    {"\u00b5g/mL", kMassConc, -3}, {"\u03bcg/mL", kMassConc, -3},
    {"ug/L", kMassConc, -6},      {"ng/mL", kMassConc, -6},
    {"ng/L", kMassConc, -9},      {"pg/mL", kMassConc, -9},
    // Amounts (prices, reagent use) and volumes (the medium in a well).
    {"g", kMass, 0},     {"mg", kMass, -3},  {"ug", kMass, -6},  {"\u00b5g", kMass, -6},
    {"\u03bcg", kMass, -6},  {"ng", kMass, -9},  {"pg", kMass, -12},
    {"mol", kAmount, 0},  {"mmol", kAmount, -3},  {"umol", kAmount, -6},
    {"\u00b5mol", kAmount, -6},  {"\u03bcmol", kAmount, -6},  {"nmol", kAmount, -9},
    {"pmol", kAmount, -12},
    {"L", kVolume, 0},  {"mL", kVolume, -3},  {"uL", kVolume, -6},  {"\u00b5L", kVolume, -6},
    {"\u03bcL", kVolume, -6},
};

const UnitInfo* find_unit(const std::string& name) {
  for (const auto& u : kUnits)
    if (name == u.name) return &u;
  return nullptr;
}

std::string known_units() {
  return "M, mM, uM, \u00b5M, nM, pM, g/L, mg/mL, mg/L, ug/mL, \u00b5g/mL, ug/L, ng/mL, ng/L, "
         "pg/mL; amounts g, mg, ug, \u00b5g, ng, pg, mol, mmol, umol, \u00b5mol, nmol, pmol; "
         "volumes L, mL, uL, \u00b5L";
}

double pow10(int n) {
  double r = 1.0;
  for (int i = 0; i < n; ++i) r *= 10.0;  // exact up to 1e22
  return r;
}

// value * 10^shift, exact for |shift| <= 22 as above.
double shifted(double value, int shift) {
  return shift >= 0 ? value * pow10(shift) : value / pow10(-shift);
}

// The molar-mass bridge: the dimension a mass-like dimension maps to, and back.
const char* molar_partner(const char* dimension) {
  const std::string d = dimension;
  if (d == kMassConc) return kMolar;
  if (d == kMolar) return kMassConc;
  if (d == kMass) return kAmount;
  if (d == kAmount) return kMass;
  return nullptr;
}

bool is_mass_like(const char* dimension) {
  const std::string d = dimension;
  return d == kMassConc || d == kMass;
}

}  // namespace

std::string unit_dimension(const std::string& unit) {
  const UnitInfo* u = find_unit(unit);
  return u ? u->dimension : "";
}

double convert_unit(double value, const std::string& from, const std::string& to,
                    std::optional<double> molar_mass) {
  if (from == to) return value;  // also covers units we do not know, e.g. "au"
  const UnitInfo* a = find_unit(from);
  const UnitInfo* b = find_unit(to);
  if (!a) throw ProtocolError("unknown unit '" + from + "' (known: " + known_units() + ")");
  if (!b) throw ProtocolError("unknown unit '" + to + "' (known: " + known_units() + ")");
  if (std::string(a->dimension) == b->dimension) return shifted(value, a->exponent - b->exponent);
  const char* partner = molar_partner(a->dimension);
  const std::string what = "cannot convert '" + from + "' to '" + to +
                           "': different dimensions (" + a->dimension + " vs " + b->dimension +
                           ")";
  if (!partner || std::string(partner) != b->dimension) throw ProtocolError(what);
  if (!molar_mass)
    throw ProtocolError(what + "; give the component's molar_mass (g/mol) to convert between "
                        "mass and moles");
  if (!(std::isfinite(*molar_mass) && *molar_mass > 0))
    throw ProtocolError("molar_mass must be a positive number (g/mol), got " +
                        detail::format_exact(*molar_mass));
  // To the base unit (g/L or g; M or mol), across with the molar mass, then to `to`.
  const double base = shifted(value, a->exponent);
  const double across = is_mass_like(a->dimension) ? base / *molar_mass : base * *molar_mass;
  return shifted(across, -b->exponent);
}

}  // namespace osteogrn

// Reagent fields of a protocol (docs/formats/protocol.md): the medium volume, per component the
// molar mass and the price; their validation (ProtocolError naming source and pointer), their
// round trip through to_json, and convert_unit across mass and molar with a molar mass, both on
// its own and where a protocol binds to a model (components and additions).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "osteogrn/errors.hpp"
#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"
#include "osteogrn/detail/schedule.hpp"

using namespace osteogrn;

namespace {

const std::string kHead = R"("schema": "osteogrn-protocol/1", "name": "p", "duration": 21)";

Protocol protocol(const std::string& body) {
  return Protocol::from_json("{" + kHead + (body.empty() ? "" : ", " + body) + "}", "p.json");
}

template <class F>
void expect_error(F&& f, const std::string& pointer, const std::string& text) {
  try {
    f();
    ADD_FAILURE() << "expected ProtocolError at " << pointer;
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.pointer(), pointer) << e.what();
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

void expect_bad(const std::string& body, const std::string& pointer, const std::string& text) {
  SCOPED_TRACE(body);
  try {
    protocol(body);
    ADD_FAILURE() << "accepted: " << body;
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.file(), "p.json") << e.what();
    EXPECT_EQ(e.pointer(), pointer) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("p.json: " + pointer + ": ", 0), 0u) << e.what();
    EXPECT_NE(e.message().find(text), std::string::npos) << e.what();
  }
}

// A model whose bgp input is molar (mM) and bmp2 input is a mass concentration (ng/mL).
const char* kModel = R"({
  "schema": "osteogrn-model/1", "name": "m",
  "inputs": {"bgp": {"unit": "mM", "default": 0}, "bmp2": {"unit": "ng/mL", "default": 0}},
  "species": {"x": {"initial": 0}},
  "parameters": {"k": {"value": 1, "source": "assumed: test"}},
  "odes": {"x": "k*(bgp + bmp2) - x"}
})";

}  // namespace

TEST(ProtocolReagents, ConvertUnitCrossesMassAndMolarWithAMolarMass) {
  // 2.1604 mg/mL of beta-glycerophosphate (216.04 g/mol) is 10 mM: g/L / (g/mol) = mol/L.
  EXPECT_NEAR(convert_unit(2.1604, "mg/mL", "mM", 216.04), 10.0, 1e-12);
  EXPECT_NEAR(convert_unit(10.0, "mM", "mg/mL", 216.04), 2.1604, 1e-12);
  // 100 ng/mL of a 26 kDa protein is 100e-6 g/L / 26000 g/mol = 3.846... nM.
  EXPECT_NEAR(convert_unit(100, "ng/mL", "nM", 26000), 100e-6 / 26000 * 1e9, 1e-12);
  // Amounts: 1 ug of 26 kDa is 1e-6/26000 mol = 38.46 pmol; and back.
  EXPECT_NEAR(convert_unit(1, "ug", "pmol", 26000), 1e-6 / 26000 * 1e12, 1e-9);
  EXPECT_NEAR(convert_unit(convert_unit(3.7, "ug", "nmol", 216.04), "nmol", "ug", 216.04), 3.7,
              1e-13);
  // Within a dimension the molar mass is not used: still exact.
  EXPECT_EQ(convert_unit(100, "nM", "uM", 216.04), 0.1);
  EXPECT_EQ(convert_unit(2, "mL", "uL"), 2000);
  EXPECT_EQ(convert_unit(250, "\u00b5g", "mg"), 0.25);
  EXPECT_EQ(convert_unit(5, "\u00b5mol", "nmol"), 5000);
}

TEST(ProtocolReagents, WithoutAMolarMassTheErrorSaysToGiveOne) {
  try {
    convert_unit(1, "mg/mL", "mM");
    FAIL() << "expected ProtocolError";
  } catch (const ProtocolError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cannot convert 'mg/mL' to 'mM': different dimensions"), std::string::npos)
        << what;
    EXPECT_NE(what.find("molar_mass"), std::string::npos) << what;
  }
  // A molar mass does not bridge other dimensions (concentration to amount, volume to mass).
  EXPECT_THROW(convert_unit(1, "mg/mL", "mg", 100.0), ProtocolError);
  EXPECT_THROW(convert_unit(1, "mL", "mM", 100.0), ProtocolError);
  EXPECT_THROW(convert_unit(1, "mg/mL", "mM", 0.0), ProtocolError);
  EXPECT_THROW(convert_unit(1, "mg/mL", "mM", -5.0), ProtocolError);
  EXPECT_EQ(unit_dimension("ug"), "mass");
  EXPECT_EQ(unit_dimension("nmol"), "amount of substance");
  EXPECT_EQ(unit_dimension("\u00b5L"), "volume");
  EXPECT_EQ(unit_dimension("ng/mL"), "mass concentration");
  EXPECT_EQ(unit_dimension("nm"), "");
}

TEST(ProtocolReagents, FieldsParseAndRoundTrip) {
  const Protocol p = protocol(R"("medium": {"volume": 2, "unit": "mL"},
      "components": {"bmp2": {"concentration": 100, "unit": "ng/mL", "molar_mass": 26000,
                              "price": {"value": 250, "per": 10, "unit": "ug"}},
                     "bgp": {"concentration": 10, "unit": "mM", "molar_mass": 216.04}})");
  ASSERT_TRUE(p.medium());
  EXPECT_EQ(p.medium()->volume, 2);
  EXPECT_EQ(p.medium()->unit, "mL");
  const Component& bmp2 = p.components()[0];
  EXPECT_EQ(bmp2.molar_mass, 26000);
  ASSERT_TRUE(bmp2.price);
  EXPECT_EQ(bmp2.price->value, 250);
  EXPECT_EQ(bmp2.price->per, 10);
  EXPECT_EQ(bmp2.price->unit, "ug");
  EXPECT_FALSE(p.components()[1].price);
  const Protocol q = Protocol::from_json(p.to_json(), "roundtrip");
  ASSERT_TRUE(q.medium());
  EXPECT_EQ(q.medium()->volume, 2);
  EXPECT_EQ(q.medium()->unit, "mL");
  EXPECT_EQ(q.components()[0].molar_mass, 26000);
  EXPECT_EQ(q.components()[1].molar_mass, 216.04);
  ASSERT_TRUE(q.components()[0].price);
  EXPECT_EQ(q.components()[0].price->per, 10);
  EXPECT_EQ(q.to_json(), p.to_json());  // stable
  // Absent fields stay absent.
  const Protocol bare = protocol(R"("components": {"dex": {"concentration": 1, "unit": "nM"}})");
  EXPECT_FALSE(bare.medium());
  EXPECT_EQ(bare.to_json().find("medium"), std::string::npos);
  EXPECT_EQ(bare.to_json().find("molar_mass"), std::string::npos);
  EXPECT_EQ(bare.to_json().find("price"), std::string::npos);
}

TEST(ProtocolReagents, BadFieldsNameTheirPointer) {
  const std::string c = R"("components": {"b": {"concentration": 1, "unit": "ng/mL", )";
  expect_bad(R"("medium": {"volume": 0, "unit": "mL"})", "/medium/volume", "positive");
  expect_bad(R"("medium": {"volume": -2, "unit": "mL"})", "/medium/volume", "positive");
  expect_bad(R"("medium": {"volume": 2, "unit": "mg"})", "/medium/unit", "must be a volume");
  expect_bad(R"("medium": {"volume": 2})", "/medium", "unit");
  expect_bad(R"("medium": {"volume": 2, "unit": "mL", "depth": 1})", "/medium/depth", "");
  expect_bad(R"("medium": 2)", "/medium", "");
  expect_bad(c + R"("molar_mass": 0}})", "/components/b/molar_mass", "positive");
  expect_bad(c + R"("molar_mass": -1}})", "/components/b/molar_mass", "positive");
  expect_bad(c + R"("molar_mass": "heavy"}})", "/components/b/molar_mass", "");
  expect_bad(c + R"("price": {"value": -1, "per": 1, "unit": "ug"}}})",
             "/components/b/price/value", ">= 0");
  expect_bad(c + R"("price": {"value": 1, "per": 0, "unit": "ug"}}})", "/components/b/price/per",
             "positive");
  expect_bad(c + R"("price": {"value": 1, "per": 1, "unit": "ng/mL"}}})",
             "/components/b/price/unit", "must be an amount");
  expect_bad(c + R"("price": {"value": 1, "unit": "ug"}}})", "/components/b/price", "per");
  expect_bad(c + R"("price": {"value": 1, "per": 1, "unit": "ug", "currency": "EUR"}}})",
             "/components/b/price/currency", "");
}

TEST(ProtocolReagents, TheValidatingConstructorAppliesTheSameRules) {
  ProtocolSpec s = protocol(R"("components": {"b": {"concentration": 1, "unit": "ng/mL"}})").spec();
  s.medium = Medium{std::nan(""), "mL"};
  expect_error([&] { Protocol(s, "spec"); }, "/medium/volume", "positive");
  s.medium = Medium{2, "mL"};
  s.components[0].molar_mass = std::numeric_limits<double>::infinity();
  expect_error([&] { Protocol(s, "spec"); }, "/components/b/molar_mass", "positive");
  s.components[0].molar_mass = 26000;
  s.components[0].price = Price{1, 1, "mol"};
  EXPECT_NO_THROW(Protocol(s, "spec"));
  s.components[0].price = Price{1, 1, "M"};
  expect_error([&] { Protocol(s, "spec"); }, "/components/b/price/unit", "must be an amount");
}

TEST(ProtocolReagents, AdditionsConvertThroughTheComponentsMolarMass) {
  // An addition in mg/mL of a component given in mM: legal with a molar mass, refused without.
  const std::string add = R"(, "additions": [{"day": 5, "component": "bgp", "concentration": 1,
                                           "unit": "mg/mL"}])";
  EXPECT_NO_THROW(protocol(
      R"("components": {"bgp": {"concentration": 10, "unit": "mM", "molar_mass": 216.04}})" + add));
  expect_bad(R"("components": {"bgp": {"concentration": 10, "unit": "mM"}})" + add,
             "/additions/0/unit", "molar_mass");
}

TEST(ProtocolReagents, AMassDoseDrivesAMolarInputThroughTheMolarMass) {
  const Model m = Model::from_json(kModel, "m.json");
  const std::size_t bgp = *m.find_input("bgp"), bmp2 = *m.find_input("bmp2");
  // 2.1604 mg/mL bgp at 216.04 g/mol = 10 mM; a 0.21604 mg/mL spike on day 5 = +1 mM.
  // bmp2 given as 3.84615... nM of a 26 kDa protein = 100 ng/mL.
  const Protocol p = protocol(R"("media_changes": {"every": 10},
      "components": {"bgp": {"concentration": 2.1604, "unit": "mg/mL", "molar_mass": 216.04},
                     "bmp2": {"concentration": 3.846153846153846, "unit": "nM",
                              "molar_mass": 26000}},
      "additions": [{"day": 5, "component": "bgp", "concentration": 0.21604}])");
  const Schedule s(p, m);
  EXPECT_EQ(s.breakpoints(), (std::vector<double>{0, 5, 10, 20, 21}));
  EXPECT_NEAR(s.segments()[0].start_value[bgp], 10.0, 1e-12);
  EXPECT_NEAR(s.segments()[1].start_value[bgp], 11.0, 1e-12);
  EXPECT_NEAR(s.segments()[2].start_value[bgp], 10.0, 1e-12);  // full change on day 10
  EXPECT_NEAR(s.segments()[0].start_value[bmp2], 100.0, 1e-9);
  // Without the molar mass the binding error names the component's unit and says what to add.
  const Protocol bare = protocol(
      R"("components": {"bgp": {"concentration": 2.1604, "unit": "mg/mL"}})");
  expect_error([&] { Schedule(bare, m); }, "/components/bgp/unit", "molar_mass");
  try {
    Schedule(bare, m);
  } catch (const ProtocolError& e) {
    EXPECT_NE(std::string(e.what()).find("model input 'bgp' is in 'mM'"), std::string::npos)
        << e.what();
  }
}

// convert_unit: exact powers of ten within a dimension, typed errors across dimensions.
#include <gtest/gtest.h>

#include <string>

#include "osteogrn/errors.hpp"
#include "osteogrn/protocol.hpp"

using osteogrn::convert_unit;
using osteogrn::ProtocolError;

TEST(Units, MolarConversionsAreExact) {
  EXPECT_EQ(convert_unit(100, "nM", "uM"), 0.1);  // correctly rounded, not 100*1e-9/1e-6
  EXPECT_EQ(convert_unit(0.1, "uM", "nM"), 100);
  EXPECT_EQ(convert_unit(1, "M", "mM"), 1000);
  EXPECT_EQ(convert_unit(1e-7, "M", "nM"), 100);
  EXPECT_EQ(convert_unit(50, "uM", "\u00b5M"), 50);   // micro sign
  EXPECT_EQ(convert_unit(50, "\u03bcM", "uM"), 50);   // Greek mu
  EXPECT_EQ(convert_unit(3, "pM", "pM"), 3);
  EXPECT_EQ(convert_unit(2500, "pM", "nM"), 2.5);
  EXPECT_EQ(convert_unit(10, "mM", "M"), 0.01);
}

TEST(Units, MassConcentrationConversionsAreExact) {
  EXPECT_EQ(convert_unit(1, "mg/mL", "g/L"), 1);
  EXPECT_EQ(convert_unit(0.1, "ug/mL", "ng/mL"), 100);
  EXPECT_EQ(convert_unit(100, "ng/mL", "ug/mL"), 0.1);
  EXPECT_EQ(convert_unit(100, "ng/mL", "\u00b5g/mL"), 0.1);
  EXPECT_EQ(convert_unit(1, "ng/mL", "ug/L"), 1);
  EXPECT_EQ(convert_unit(1, "ng/mL", "pg/mL"), 1000);
  EXPECT_EQ(convert_unit(5, "ng/L", "pg/mL"), 5);
  EXPECT_EQ(convert_unit(2, "mg/L", "ug/mL"), 2);
  EXPECT_EQ(convert_unit(2, "g/L", "mg/L"), 2000);
}

TEST(Units, RoundTripThroughEveryPairIsIdentity) {
  const char* molar[] = {"M", "mM", "uM", "\u00b5M", "nM", "pM"};
  const char* mass[] = {"g/L", "mg/mL", "mg/L", "ug/mL", "\u00b5g/mL", "ug/L", "ng/mL", "ng/L",
                        "pg/mL"};
  for (const char* a : molar)
    for (const char* b : molar)
      EXPECT_NEAR(convert_unit(convert_unit(3.7, a, b), b, a), 3.7, 1e-15) << a << " " << b;
  for (const char* a : mass)
    for (const char* b : mass)
      EXPECT_NEAR(convert_unit(convert_unit(3.7, a, b), b, a), 3.7, 1e-15) << a << " " << b;
}

TEST(Units, IdenticalUnknownUnitsPass) {
  EXPECT_EQ(convert_unit(4.5, "au", "au"), 4.5);
  EXPECT_EQ(convert_unit(4.5, "", ""), 4.5);
}

TEST(Units, DifferentDimensionsNameBothUnits) {
  try {
    convert_unit(1, "ng/mL", "nM");
    FAIL() << "expected ProtocolError";
  } catch (const ProtocolError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot convert 'ng/mL' to 'nM': different dimensions"),
              std::string::npos)
        << e.what();
  }
}

TEST(Units, UnknownUnitIsNamed) {
  try {
    convert_unit(1, "xyz", "nM");
    FAIL() << "expected ProtocolError";
  } catch (const ProtocolError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown unit 'xyz'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(convert_unit(1, "nM", "au"), ProtocolError);
  EXPECT_THROW(convert_unit(1, "", "nM"), ProtocolError);
  EXPECT_THROW(convert_unit(1, "NM", "nM"), ProtocolError);  // case matters: nM is not NM
}

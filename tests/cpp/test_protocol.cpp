// Protocol::from_json/from_file/to_json: valid files parse to the documented values, every
// malformed file in tests/data/bad_protocols fails with a ProtocolError naming its field, and
// to_json round-trips.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "osteogrn/errors.hpp"
#include "osteogrn/protocol.hpp"

namespace fs = std::filesystem;
using namespace osteogrn;

namespace {

const fs::path kData = fs::path(OSTEOGRN_SOURCE_DIR) / "tests" / "data";

void expect_equal(const Protocol& a, const Protocol& b) {
  EXPECT_EQ(a.name(), b.name());
  EXPECT_EQ(a.description(), b.description());
  EXPECT_EQ(a.duration(), b.duration());
  EXPECT_EQ(a.media_changes().every, b.media_changes().every);
  EXPECT_EQ(a.media_changes().days, b.media_changes().days);
  EXPECT_EQ(a.replace_fraction(), b.replace_fraction());
  ASSERT_EQ(a.components().size(), b.components().size());
  for (std::size_t i = 0; i < a.components().size(); ++i) {
    const auto &x = a.components()[i], &y = b.components()[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.concentration, y.concentration);
    EXPECT_EQ(x.unit, y.unit);
    EXPECT_EQ(x.half_life, y.half_life);
    EXPECT_EQ(x.from, y.from);
    EXPECT_EQ(x.until, y.until);
    EXPECT_EQ(x.optional, y.optional);
    EXPECT_EQ(x.description, y.description);
  }
  ASSERT_EQ(a.additions().size(), b.additions().size());
  for (std::size_t i = 0; i < a.additions().size(); ++i) {
    EXPECT_EQ(a.additions()[i].day, b.additions()[i].day);
    EXPECT_EQ(a.additions()[i].component, b.additions()[i].component);
    EXPECT_EQ(a.additions()[i].concentration, b.additions()[i].concentration);
    EXPECT_EQ(a.additions()[i].unit, b.additions()[i].unit);
  }
  ASSERT_EQ(a.perturbations().size(), b.perturbations().size());
  for (std::size_t i = 0; i < a.perturbations().size(); ++i) {
    const auto &x = a.perturbations()[i], &y = b.perturbations()[i];
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.target, y.target);
    EXPECT_EQ(x.value, y.value);
    EXPECT_EQ(x.scale, y.scale);
    EXPECT_EQ(x.from, y.from);
    EXPECT_EQ(x.until, y.until);
  }
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

const std::string kHead = R"("schema": "osteogrn-protocol/1", "name": "p", "duration": 21)";

}  // namespace

TEST(Protocol, ParsesTheDesignExample) {
  const Protocol p = Protocol::from_file((kData / "protocols" / "osteogenic_medium.json").string());
  EXPECT_EQ(p.name(), "osteogenic_medium");
  EXPECT_EQ(p.description(), "Standard hMSC osteogenic medium, fed every 3 days");
  EXPECT_EQ(p.duration(), 21);
  ASSERT_TRUE(p.media_changes().every);
  EXPECT_EQ(*p.media_changes().every, 3);
  EXPECT_TRUE(p.media_changes().days.empty());
  EXPECT_EQ(p.replace_fraction(), 1.0);
  EXPECT_NE(p.source().find("osteogenic_medium.json"), std::string::npos);
  // File order, not alphabetical order.
  ASSERT_EQ(p.components().size(), 4u);
  EXPECT_EQ(p.components()[0].name, "dex");
  EXPECT_EQ(p.components()[1].name, "asc2p");
  EXPECT_EQ(p.components()[2].name, "bgp");
  EXPECT_EQ(p.components()[3].name, "bmp2");
  EXPECT_EQ(p.components()[0].concentration, 100);
  EXPECT_EQ(p.components()[0].unit, "nM");
  EXPECT_FALSE(p.components()[0].half_life);
  EXPECT_EQ(p.components()[0].from, 0);
  EXPECT_TRUE(std::isinf(p.components()[0].until));
  EXPECT_EQ(*p.components()[1].half_life, 4.0);
  EXPECT_EQ(p.components()[3].unit, "ng/mL");
  EXPECT_EQ(*p.components()[3].half_life, 0.25);
  EXPECT_EQ(p.components()[3].until, 7);
  EXPECT_EQ(p.find_component("bgp"), 2);
  EXPECT_EQ(p.find_component("BGP"), -1);
  ASSERT_EQ(p.perturbations().size(), 2u);
  EXPECT_EQ(p.perturbations()[0].kind, PerturbationKind::Knockout);
  EXPECT_EQ(p.perturbations()[0].target, "Sp7");
  EXPECT_EQ(p.perturbations()[0].from, 0);
  EXPECT_TRUE(std::isinf(p.perturbations()[0].until));
  EXPECT_EQ(p.perturbations()[1].kind, PerturbationKind::Parameter);
  EXPECT_EQ(p.perturbations()[1].target, "k_smad");
  EXPECT_EQ(p.perturbations()[1].value, 0);
  EXPECT_FALSE(p.perturbations()[1].scale);
  EXPECT_EQ(p.perturbations()[1].from, 5);
  EXPECT_EQ(p.perturbations()[1].until, 10);
  ASSERT_EQ(p.additions().size(), 1u);
  EXPECT_EQ(p.additions()[0].day, 10);
  EXPECT_EQ(p.additions()[0].component, "bmp2");
  EXPECT_EQ(p.additions()[0].concentration, 50);
  EXPECT_EQ(p.additions()[0].unit, "");
  EXPECT_EQ(p.media_change_days(), (std::vector<double>{3, 6, 9, 12, 15, 18}));
}

TEST(Protocol, ParsesOptionalFieldsAndSortsAdditions) {
  const Protocol p = Protocol::from_file((kData / "protocols" / "half_feed_days.json").string());
  EXPECT_EQ(p.replace_fraction(), 0.5);
  EXPECT_FALSE(p.media_changes().every);
  EXPECT_EQ(p.media_changes().days, (std::vector<double>{0, 2.5, 5, 9, 14}));
  // Day 0 is the fresh medium, not a change; a change on the last day is kept.
  EXPECT_EQ(p.media_change_days(), (std::vector<double>{2.5, 5, 9, 14}));
  EXPECT_TRUE(p.components()[1].optional);
  EXPECT_EQ(p.components()[0].description, "recombinant BMP-2");
  ASSERT_EQ(p.additions().size(), 2u);
  EXPECT_EQ(p.additions()[0].day, 2.5);  // sorted by day
  EXPECT_EQ(p.additions()[0].component, "dex");
  EXPECT_EQ(p.additions()[1].unit, "ng/mL");
  EXPECT_EQ(p.perturbations()[0].kind, PerturbationKind::Clamp);
  EXPECT_EQ(p.perturbations()[0].value, 0.5);
  EXPECT_TRUE(p.perturbations()[1].scale);
  EXPECT_EQ(p.perturbations()[1].value, 2.5);
  EXPECT_EQ(p.perturbations()[2].until, 12.25);
}

TEST(Protocol, MinimalProtocolHasDefaults) {
  const Protocol p = Protocol::from_file((kData / "protocols" / "minimal.json").string());
  EXPECT_EQ(p.duration(), 1.5);
  EXPECT_EQ(p.replace_fraction(), 1.0);
  EXPECT_TRUE(p.components().empty());
  EXPECT_TRUE(p.media_change_days().empty());
}

TEST(Protocol, EveryStopsStrictlyBeforeTheEndWithoutDrift) {
  ProtocolSpec spec =
      Protocol::from_json("{" + kHead + R"(, "media_changes": {"every": 0.1}})").spec();
  spec.duration = 0.7;  // 7 * 0.1 = 0.7000000000000001 > 0.7: must not count as a change
  const Protocol p(spec);
  const auto days = p.media_change_days();
  ASSERT_EQ(days.size(), 6u);
  for (std::size_t i = 0; i < days.size(); ++i) EXPECT_EQ(days[i], (i + 1) * 0.1);
  auto q = Protocol::from_json("{" + kHead + R"(, "media_changes": {"every": 7}})");
  EXPECT_EQ(q.media_change_days(), (std::vector<double>{7, 14}));  // not 21 = the end
  auto r = Protocol::from_json("{" + kHead + R"(, "media_changes": {"every": 50}})");
  EXPECT_TRUE(r.media_change_days().empty());
}

TEST(Protocol, RoundTripsEveryValidFile) {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(kData / "protocols")) {
    SCOPED_TRACE(entry.path().string());
    const Protocol p = Protocol::from_file(entry.path().string());
    const std::string text = p.to_json();
    const Protocol q = Protocol::from_json(text, "roundtrip");
    expect_equal(p, q);
    EXPECT_EQ(q.to_json(), text);  // stable
    ++n;
  }
  EXPECT_GE(n, 3);
}

TEST(Protocol, BuiltInPresetsParseAndRoundTrip) {
  const fs::path dir = fs::path(OSTEOGRN_SOURCE_DIR) / "models" / "protocols";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  int n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    SCOPED_TRACE(entry.path().string());
    const Protocol p = Protocol::from_file(entry.path().string());
    expect_equal(p, Protocol::from_json(p.to_json()));
    ++n;
  }
  EXPECT_GT(n, 0);
}

TEST(Protocol, RoundTripsEditedValuesExactly) {
  ProtocolSpec s =
      Protocol::from_file((kData / "protocols" / "osteogenic_medium.json").string()).spec();
  s.components[0].concentration = 0.1 + 0.2;  // not representable in short decimal
  s.components[1].half_life = 1.0 / 3.0;
  s.components[2].from = 2.0 / 3.0;
  s.perturbations[1].until = 21;  // explicit end == duration is kept, not turned into infinity
  s.perturbations.push_back({PerturbationKind::Clamp, "Runx2", -1e-300, false, 0.0, kForever});
  s.perturbations.push_back({PerturbationKind::Parameter, "k", 1.5, true, 1e-3, 20.5});
  s.additions.push_back({20.999999999999996, "dex", 7e-3, "uM"});
  s.description = "unicode \u00b5M and \"quotes\"";
  const Protocol p(s);
  const Protocol q = Protocol::from_json(p.to_json());
  expect_equal(p, q);
  EXPECT_EQ(q.perturbations()[1].until, 21);
  EXPECT_TRUE(std::isinf(q.perturbations()[0].until));
  // The written JSON omits infinities rather than writing something non-standard.
  EXPECT_EQ(p.to_json().find("inf"), std::string::npos);
  EXPECT_EQ(p.to_json().find("null"), std::string::npos);
}

TEST(Protocol, RoundTripsMediaChangeDays) {
  auto p = Protocol::from_json("{" + kHead + R"(, "media_changes": {"days": [1, 2.25, 21]}})");
  const auto q = Protocol::from_json(p.to_json());
  expect_equal(p, q);
  EXPECT_EQ(q.media_change_days(), (std::vector<double>{1, 2.25, 21}));
}

TEST(Protocol, KindNames) {
  EXPECT_STREQ(to_string(PerturbationKind::Knockout), "knockout");
  EXPECT_STREQ(to_string(PerturbationKind::Clamp), "clamp");
  EXPECT_STREQ(to_string(PerturbationKind::Parameter), "parameter");
}

TEST(Protocol, MissingFileIsAProtocolError) {
  try {
    Protocol::from_file("/nonexistent/dir/p.json");
    FAIL();
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.file(), "/nonexistent/dir/p.json");
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos);
  }
}

TEST(Protocol, InvalidJsonReportsLineAndColumn) {
  try {
    Protocol::from_json("{\n  \"schema\": \"osteogrn-protocol/1\",\n  \"name\": nope\n}", "x.json");
    FAIL();
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.file(), "x.json");
    // nlohmann stops at the 'o' of "nope" (the last character it read).
    EXPECT_NE(e.message().find("line 3, column 12"), std::string::npos) << e.what();
    EXPECT_NE(e.message().find("invalid literal"), std::string::npos) << e.what();
  }
}

TEST(Protocol, DuplicateKeysAreReportedWhereverTheyAre) {
  try {
    Protocol::from_json("{" + kHead + R"(, "perturbations": [{"knockout": "a"},
        {"clamp": "b", "value": 1, "value": 2}]})");
    FAIL();
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.pointer(), "/perturbations/1/value") << e.what();
  }
  EXPECT_THROW(Protocol::from_json("{" + kHead + R"(, "duration": 5})"), ProtocolError);
}

TEST(Protocol, ValidEdgeValuesPass) {
  // Boundaries that are inside the rules: f = 0 and 1, days at 0 and duration, zero concentration.
  const auto p = Protocol::from_json("{" + kHead + R"(, "replace_fraction": 0,
      "components": {"x": {"concentration": 0, "unit": ""}},
      "additions": [{"day": 0, "component": "x", "concentration": 0}, {"day": 21, "component": "x", "concentration": 1}],
      "perturbations": [{"knockout": "s", "from": 0, "until": 21}, {"parameter": "k", "scale": -1}]})");
  EXPECT_EQ(p.replace_fraction(), 0.0);
  EXPECT_EQ(p.components()[0].unit, "");
  EXPECT_EQ(p.perturbations()[1].value, -1);
  EXPECT_TRUE(p.perturbations()[1].scale);
}

// Table-driven: tests/data/bad_protocols/expected.json maps each file to its error and field.
TEST(Protocol, EveryBadProtocolFailsWithItsField) {
  const fs::path dir = kData / "bad_protocols";
  const auto expected = nlohmann::json::parse(read_text(dir / "expected.json"));
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename() == "expected.json") continue;
    ++files;
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    ASSERT_TRUE(expected.contains(name)) << "no expectation for " << name;
  }
  EXPECT_EQ(files, expected.size()) << "expected.json lists files that do not exist";
  EXPECT_GE(files, 25u);
  for (const auto& item : expected.items()) {
    SCOPED_TRACE(item.key());
    const auto& want = item.value();
    ASSERT_EQ(want.at("error").get<std::string>(), "ProtocolError");
    const std::string path = (dir / item.key()).string();
    try {
      Protocol::from_file(path);
      ADD_FAILURE() << "accepted a malformed protocol";
    } catch (const ProtocolError& e) {
      const std::string what = e.what();
      EXPECT_EQ(e.file(), path);
      EXPECT_EQ(e.pointer(), want.at("field").get<std::string>()) << what;
      // The message names the file, the field and the problem.
      EXPECT_EQ(what.rfind(path + ": ", 0), 0u) << what;
      if (!e.pointer().empty()) {
        EXPECT_NE(what.find(": " + e.pointer() + ": "), std::string::npos) << what;
      }
      EXPECT_NE(e.message().find(want.at("contains").get<std::string>()), std::string::npos)
          << what;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "wrong exception type: " << e.what();
    }
  }
}

TEST(Protocol, UnknownTopLevelKeyListsTheValidKeys) {
  try {
    Protocol::from_json("{" + kHead + R"(, "perturbation": []})");
    FAIL();
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.pointer(), "/perturbation");
    EXPECT_NE(e.message().find("valid keys: schema, name, description, duration, media_changes, "
                               "replace_fraction, components, additions, perturbations"),
              std::string::npos)
        << e.what();
  }
}

TEST(Protocol, AbsurdNestingIsATypedErrorNotAStackOverflow) {
  const std::string text = R"({"schema": "osteogrn-protocol/1", "components": )" +
                           std::string(100000, '[') + std::string(100000, ']') + "}";
  for (const std::string& t : {text, std::string(100000, '[') + std::string(100000, ']')}) {
    try {
      Protocol::from_json(t, "deep.json");
      FAIL() << "no error";
    } catch (const ProtocolError& e) {
      EXPECT_EQ(e.file(), "deep.json");
      EXPECT_NE(std::string(e.what()).find("nested deeper than"), std::string::npos) << e.what();
    }
  }
}

// A Protocol built from its parts in C++ obeys the rules of a file: the same pointers, the same
// messages, no way to hold an invalid protocol.
TEST(Protocol, TheValidatingConstructorAppliesTheFileRules) {
  const Protocol good =
      Protocol::from_file((kData / "protocols" / "osteogenic_medium.json").string());
  struct Case {
    void (*edit)(ProtocolSpec&);
    const char* pointer;
    const char* says;
  };
  const Case cases[] = {
      {[](ProtocolSpec& s) { s.name.clear(); }, "/name", "must not be empty"},
      {[](ProtocolSpec& s) { s.duration = 0; }, "/duration", "must be a positive number, got 0"},
      {[](ProtocolSpec& s) { s.duration = NAN; }, "/duration", "positive number"},
      {[](ProtocolSpec& s) { s.media_changes.every = -3; }, "/media_changes/every", "got -3"},
      {[](ProtocolSpec& s) { s.media_changes.days = {1, 2}; }, "/media_changes",
       "not both"},
      {[](ProtocolSpec& s) { s.replace_fraction = 1.5; }, "/replace_fraction", "[0, 1]"},
      {[](ProtocolSpec& s) { s.components[1].concentration = -1; }, "/components/asc2p/concentration",
       ">= 0, got -1"},
      {[](ProtocolSpec& s) { s.components[3].until = 30; }, "/components/bmp2/until",
       "must lie within [0, duration] = [0, 21], got 30"},
      {[](ProtocolSpec& s) { s.components.push_back(s.components[0]); }, "/components/dex",
       "duplicate component 'dex'"},
      {[](ProtocolSpec& s) { s.additions[0].component = "bmp4"; }, "/additions/0/component",
       "no component 'bmp4'"},
      {[](ProtocolSpec& s) { s.additions[0].unit = "nM"; }, "/additions/0/unit",
       "cannot convert 'nM' to 'ng/mL'"},
      {[](ProtocolSpec& s) { s.perturbations[1].from = 11; }, "/perturbations/1/until",
       "must be greater than from (11), got 10"},
      {[](ProtocolSpec& s) { s.perturbations[0].target.clear(); }, "/perturbations/0/knockout",
       "must not be empty"},
      {[](ProtocolSpec& s) { s.perturbations[1].value = INFINITY; }, "/perturbations/1/value",
       "finite"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.pointer);
    ProtocolSpec spec = good.spec();
    c.edit(spec);
    try {
      Protocol p(spec, "built.json");
      ADD_FAILURE() << "accepted";
    } catch (const ProtocolError& e) {
      EXPECT_EQ(e.file(), "built.json");
      EXPECT_EQ(e.pointer(), c.pointer) << e.what();
      EXPECT_NE(e.message().find(c.says), std::string::npos) << e.what();
    }
  }
}

TEST(Protocol, EditsReturnValidatedCopies) {
  const Protocol p = Protocol::from_file((kData / "protocols" / "osteogenic_medium.json").string());
  Component bmp = p.components()[3];
  bmp.concentration = 10;
  const Protocol q = p.with_component(bmp);
  EXPECT_EQ(q.components().size(), 4u);
  EXPECT_EQ(q.components()[3].concentration, 10);
  EXPECT_EQ(p.components()[3].concentration, 100);  // the original is unchanged
  Component noggin{"noggin", 5, "ng/mL", std::nullopt, 0, kForever, true, ""};
  EXPECT_EQ(p.with_component(noggin).components().back().name, "noggin");
  noggin.from = -1;
  EXPECT_THROW(p.with_component(noggin), ProtocolError);
  const Protocol r = p.with_perturbations({{PerturbationKind::Clamp, "Runx2", 0.5, false, 1, 2}});
  ASSERT_EQ(r.perturbations().size(), 1u);
  EXPECT_EQ(r.perturbations()[0].target, "Runx2");
  EXPECT_THROW(p.with_perturbations({{PerturbationKind::Clamp, "Runx2", 0.5, false, 3, 2}}),
               ProtocolError);
  // Additions given out of order are checked under their own index, then kept sorted by day.
  ProtocolSpec spec = p.spec();
  spec.additions = {{15, "bmp2", 1, ""}, {4, "dex", 2, ""}};
  const Protocol sorted(spec);
  EXPECT_EQ(sorted.additions()[0].day, 4);
  spec.additions[1].day = 99;
  try {
    Protocol bad(spec);
    FAIL();
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.pointer(), "/additions/1/day");
  }
}

TEST(Protocol, DirectoriesAndDevicesAreRefusedByName) {
  for (const std::string path : {(kData / "protocols").string(), std::string("/dev/zero")}) {
    try {
      Protocol::from_file(path);
      ADD_FAILURE() << path;
    } catch (const ProtocolError& e) {
      EXPECT_EQ(e.file(), path);
      EXPECT_NE(e.message().find("protocol file"), std::string::npos) << e.what();
      EXPECT_TRUE(e.message().find("directory") != std::string::npos ||
                  e.message().find("not a regular file") != std::string::npos)
          << e.what();
    }
  }
}

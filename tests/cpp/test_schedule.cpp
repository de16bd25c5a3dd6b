// Schedule: a protocol bound to a model. Checks the closed-form input values against numbers
// derived by hand from the rules of docs/formats/protocol.md, the breakpoints, segment lookup, per-segment clamps
// and parameter overrides, unit conversion, and every binding error.
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

// Inputs: bmp2 (ng/mL), dex (nM, default 5), asc (no unit, default 2; never set by a protocol).
const char* kModel = R"({
  "schema": "osteogrn-model/1", "name": "m",
  "inputs": {"bmp2": {"unit": "ng/mL", "default": 0},
             "dex": {"unit": "nM", "default": 5},
             "asc": {"unit": "", "default": 2}},
  "species": {"x": {"initial": 0}, "y": {"initial": 1}},
  "parameters": {"k": {"value": 1.5, "source": "assumed: test"},
                 "d": {"value": 0.25, "source": "assumed: test"}},
  "odes": {"x": "k*bmp2 + dex + asc - x", "y": "d*x - y"}
})";

Model test_model() { return Model::from_json(kModel, "test_model.json"); }

Protocol protocol(const std::string& body) {
  return Protocol::from_json(R"({"schema": "osteogrn-protocol/1", "name": "p", )" + body + "}",
                             "p.json");
}

std::size_t input(const Model& m, const char* name) { return *m.find_input(name); }

// Fed every 3 days with half the medium replaced; bmp2 (given in ug/mL) has a half-life of 2 days
// and is supplied until day 7; dex is supplied from day 3 on; a 30 ng/mL bmp2 spike on day 4
// (given in pg/mL); Runx2-like clamp of x on [1, 5) and k tripled from day 4.
const char* kClosedForm = R"("duration": 10, "media_changes": {"every": 3}, "replace_fraction": 0.5,
  "components": {"bmp2": {"concentration": 0.1, "unit": "ug/mL", "half_life": 2, "until": 7},
                 "dex": {"concentration": 100, "unit": "nM", "from": 3}},
  "additions": [{"day": 4, "component": "bmp2", "concentration": 30000, "unit": "pg/mL"}],
  "perturbations": [{"clamp": "x", "value": 2, "from": 1, "until": 5},
                    {"parameter": "k", "scale": 3, "from": 4}])";

template <class F>
void expect_protocol_error(F&& f, const std::string& pointer, const std::string& text) {
  try {
    f();
    ADD_FAILURE() << "expected ProtocolError at " << pointer;
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.file(), "p.json") << e.what();
    EXPECT_EQ(e.pointer(), pointer) << e.what();
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Schedule, BreakpointsAndMediaChangeDays) {
  const Model m = test_model();
  const Schedule s(protocol(kClosedForm), m);
  EXPECT_EQ(s.duration(), 10);
  EXPECT_EQ(s.breakpoints(), (std::vector<double>{0, 1, 3, 4, 5, 6, 9, 10}));
  EXPECT_EQ(s.media_change_days(), (std::vector<double>{3, 6, 9}));
  ASSERT_EQ(s.segments().size(), 7u);
  for (std::size_t k = 0; k < s.segments().size(); ++k) {
    EXPECT_EQ(s.segments()[k].start, s.breakpoints()[k]);
    EXPECT_EQ(s.segments()[k].end, s.breakpoints()[k + 1]);
  }
}

TEST(Schedule, ClosedFormInputsMatchHandDerivation) {
  const Model m = test_model();
  const Schedule s(protocol(kClosedForm), m);
  const std::size_t b = input(m, "bmp2"), dx = input(m, "dex"), as = input(m, "asc");
  const double lambda = std::log(2.0) / 2.0;
  auto decay = [](double days) { return std::pow(2.0, -days / 2.0); };  // half-life 2 d

  // By hand, in ng/mL: day 0 fresh = 100; day 3: 0.5*100*2^-1.5 + 0.5*100; day 4 +30;
  // day 6: 0.5*c4*2^-1 + 0.5*100; day 9 (after until = 7): 0.5*c6*2^-1.5 + 0.
  const double c0 = 100;
  const double c3 = 0.5 * c0 * decay(3) + 0.5 * 100;
  const double c4 = c3 * decay(1) + 30;
  const double c6 = 0.5 * c4 * decay(2) + 0.5 * 100;
  const double c9 = 0.5 * c6 * decay(3);
  // The same numbers as literals (computed independently), so a wrong `decay` cannot hide.
  EXPECT_NEAR(c3, 67.67766952966369, 1e-12);
  EXPECT_NEAR(c4, 77.85533905932738, 1e-12);
  EXPECT_NEAR(c6, 69.46383476483184, 1e-12);
  EXPECT_NEAR(c9, 12.279587152358612, 1e-12);

  struct Case { double t, bmp2, dex; };
  const std::vector<Case> cases = {
      {0, c0, 0},                       // dex starts at day 3
      {0.5, c0 * decay(0.5), 0},
      {1, c0 * decay(1), 0},            // clamp boundary: no jump in the inputs
      {2.75, c0 * decay(2.75), 0},
      {3, c3, 50},                      // value after the change: 0.5*0 + 0.5*100
      {3.5, c3 * decay(0.5), 50},
      {4, c4, 50},
      {5.5, c4 * decay(1.5), 50},
      {6, c6, 75},
      {8, c6 * decay(2), 75},
      {9, c9, 87.5},
      {10, c9 * decay(1), 87.5},
  };
  std::vector<double> u(m.inputs().size()), dudt(m.inputs().size());
  for (const auto& c : cases) {
    SCOPED_TRACE("t = " + std::to_string(c.t));
    const std::size_t k = s.segment_at(c.t);
    s.inputs(k, c.t, u.data());
    EXPECT_NEAR(u[b], c.bmp2, 1e-12 * c.bmp2);
    EXPECT_EQ(u[dx], c.dex);
    EXPECT_EQ(u[as], 2.0);  // not set by the protocol: the model's default, constant
    s.input_rates(k, c.t, dudt.data());
    EXPECT_NEAR(dudt[b], -lambda * c.bmp2, 1e-12 * c.bmp2);
    EXPECT_EQ(dudt[dx], 0.0);
    EXPECT_EQ(dudt[as], 0.0);
  }
  // Just before a breakpoint, the previous segment's closed form holds (no change yet).
  s.inputs(s.segment_at(2.0), 3.0, u.data());
  EXPECT_NEAR(u[b], c0 * decay(3), 1e-12);
  EXPECT_EQ(u[dx], 0.0);
  // Converted units: 0.1 ug/mL is exactly 100 ng/mL.
  EXPECT_EQ(s.segments()[0].start_value[b], 100.0);
  EXPECT_NEAR(s.segments()[0].decay_rate[b], lambda, 1e-16);
  EXPECT_EQ(s.segments()[0].decay_rate[dx], 0.0);
}

TEST(Schedule, SegmentAtBreakpointsAndEnds) {
  const Model m = test_model();
  const Schedule s(protocol(kClosedForm), m);
  EXPECT_EQ(s.segment_at(0), 0u);
  EXPECT_EQ(s.segment_at(0.999), 0u);
  EXPECT_EQ(s.segment_at(1), 1u);  // a sample on a breakpoint sees the segment after it
  EXPECT_EQ(s.segment_at(std::nextafter(3.0, 0.0)), 1u);
  EXPECT_EQ(s.segment_at(3), 2u);
  EXPECT_EQ(s.segment_at(4), 3u);
  EXPECT_EQ(s.segment_at(9), 6u);
  EXPECT_EQ(s.segment_at(9.999), 6u);
  EXPECT_EQ(s.segment_at(10), 6u);  // the end belongs to the last segment
  EXPECT_THROW(s.segment_at(-1e-9), OptionError);
  EXPECT_THROW(s.segment_at(std::nextafter(10.0, 11.0)), OptionError);
  EXPECT_THROW(s.segment_at(std::numeric_limits<double>::quiet_NaN()), OptionError);
  EXPECT_THROW(s.segment_at(std::numeric_limits<double>::infinity()), OptionError);
}

TEST(Schedule, ClampsAndOverridesPerSegment) {
  const Model m = test_model().knockout("y");  // model overlay: whole run, before the protocol's
  const Schedule s(protocol(kClosedForm), m);
  const std::size_t x = *m.find_species("x"), y = *m.find_species("y");
  const std::size_t k = *m.find_parameter("k"), d = *m.find_parameter("d");
  // Breakpoints 0 1 3 4 5 6 9 10: clamp x on segments 1..3 ([1,5)), k scaled on 3..6 ([4,10)).
  for (std::size_t i = 0; i < s.segments().size(); ++i) {
    SCOPED_TRACE("segment " + std::to_string(i));
    const Segment& seg = s.segments()[i];
    const bool clamped = i >= 1 && i <= 3, scaled = i >= 3;
    ASSERT_EQ(seg.clamps.size(), clamped ? 2u : 1u);
    EXPECT_EQ(seg.clamps[0].species, y);
    EXPECT_EQ(seg.clamps[0].value, 0.0);
    if (clamped) {
      EXPECT_EQ(seg.clamps[1].species, x);
      EXPECT_EQ(seg.clamps[1].value, 2.0);
    }
    ASSERT_EQ(seg.overrides.size(), scaled ? 1u : 0u);
    std::vector<double> p(m.parameter_values().size());
    s.parameters(i, m.parameter_values(), p.data());
    EXPECT_EQ(p[k], scaled ? 4.5 : 1.5);
    EXPECT_EQ(p[d], 0.25);
  }
}

TEST(Schedule, LaterPerturbationsWinAndScaleUsesTheBaseValue) {
  const Model m = test_model().knockout("x");
  const Schedule s(protocol(R"("duration": 4, "perturbations": [
      {"parameter": "k", "value": 10, "until": 2}, {"parameter": "k", "scale": 2},
      {"clamp": "x", "value": 7, "from": 1}])"),
                   m);
  EXPECT_EQ(s.breakpoints(), (std::vector<double>{0, 1, 2, 4}));
  const std::size_t k = *m.find_parameter("k");
  const std::vector<double> base = m.parameter_values();
  std::vector<double> p(base.size());
  s.parameters(0, base, p.data());
  EXPECT_EQ(p[k], 3.0);  // 2 * 1.5 (the model's value), not 2 * 10: the later entry wins
  s.parameters(2, base, p.data());
  EXPECT_EQ(p[k], 3.0);
  // A different base (e.g. a fitting step) is what the scale multiplies.
  std::vector<double> other = base;
  other[k] = 0.5;
  s.parameters(2, other, p.data());
  EXPECT_EQ(p[k], 1.0);
  // Knockout overlay first, then the protocol's clamp: the clamp (later) wins from day 1.
  ASSERT_EQ(s.segments()[1].clamps.size(), 2u);
  EXPECT_EQ(s.segments()[1].clamps[0].value, 0.0);
  EXPECT_EQ(s.segments()[1].clamps[1].value, 7.0);
  EXPECT_EQ(s.segments()[0].clamps.size(), 1u);
  // Wrong-size parameter vector: a typed error, not a write out of bounds.
  std::vector<double> small(1);
  EXPECT_THROW(s.parameters(0, std::vector<double>{}, small.data()), OptionError);
}

TEST(Schedule, AdditionComesAfterTheMediaChangeOfTheSameDay) {
  const Model m = test_model();
  const Schedule s(protocol(R"("duration": 6, "media_changes": {"days": [3]},
      "components": {"dex": {"concentration": 100, "unit": "nM"}},
      "additions": [{"day": 3, "component": "dex", "concentration": 0.01, "unit": "uM"},
                    {"day": 0, "component": "dex", "concentration": 1}])"),
                   m);
  const std::size_t dx = input(m, "dex");
  EXPECT_EQ(s.breakpoints(), (std::vector<double>{0, 3, 6}));
  EXPECT_EQ(s.segments()[0].start_value[dx], 101.0);  // fresh medium + day-0 spike
  EXPECT_EQ(s.segments()[1].start_value[dx], 110.0);  // replaced (f = 1), then +10 nM
}

TEST(Schedule, NearlyEqualTimesMergeIntoOneBreakpoint) {
  const Model m = test_model();
  // 30 * 0.1 = 3.0000000000000004: the clamp from day 3 shares that breakpoint.
  const Schedule s(protocol(R"("duration": 4, "media_changes": {"every": 0.1},
      "components": {"dex": {"concentration": 100, "unit": "nM", "half_life": 1}},
      "perturbations": [{"clamp": "x", "value": 1, "from": 3}])"),
                   m);
  ASSERT_EQ(s.media_change_days().size(), 39u);
  EXPECT_EQ(s.breakpoints().size(), 41u);  // 0, 39 changes, 4
  EXPECT_EQ(s.breakpoints().back(), 4.0);
  for (std::size_t i = 1; i < s.breakpoints().size(); ++i)
    EXPECT_GT(s.breakpoints()[i] - s.breakpoints()[i - 1], 0.09);
  const std::size_t k = s.segment_at(3.0000000000000004);
  EXPECT_EQ(s.segments()[k].clamps.size(), 1u);
  EXPECT_EQ(s.segments()[k - 1].clamps.size(), 0u);
  // Every change restores fresh medium (f = 1): each segment starts at 100.
  for (const auto& seg : s.segments()) EXPECT_EQ(seg.start_value[input(m, "dex")], 100.0);
}

TEST(Schedule, InputsNotInTheProtocolKeepTheirDefaults) {
  const Model m = test_model();
  const Schedule s(protocol(R"("duration": 2)"), m);
  EXPECT_EQ(s.breakpoints(), (std::vector<double>{0, 2}));
  std::vector<double> u(3);
  s.inputs(0, 1.0, u.data());
  EXPECT_EQ(u[input(m, "bmp2")], 0.0);
  EXPECT_EQ(u[input(m, "dex")], 5.0);
  EXPECT_EQ(u[input(m, "asc")], 2.0);
}

TEST(Schedule, OptionalComponentsAndTheirAdditionsAreSkipped) {
  const Model m = test_model();
  const Schedule s(protocol(R"("duration": 5,
      "components": {"noggin": {"concentration": 1, "unit": "ng/mL", "optional": true},
                     "asc": {"concentration": 3, "unit": ""}},
      "additions": [{"day": 2, "component": "noggin", "concentration": 4}])"),
                   m);
  EXPECT_EQ(s.breakpoints(), (std::vector<double>{0, 2, 5}));
  EXPECT_EQ(s.segments()[1].start_value[input(m, "asc")], 3.0);
  EXPECT_EQ(s.segments()[1].start_value[input(m, "bmp2")], 0.0);
}

TEST(Schedule, BindingErrorsNameTheField) {
  const Model m = test_model();
  expect_protocol_error(
      [&] { Schedule(protocol(R"("duration": 5, "components": {"noggin": {"concentration": 1, "unit": "ng/mL"}})"), m); },
      "/components/noggin",
      "the model 'm' has no input 'noggin' (inputs: bmp2, dex, asc); mark the component "
      "\"optional\": true to allow it");
  expect_protocol_error(
      [&] { Schedule(protocol(R"("duration": 5, "components": {"bmp2": {"concentration": 1, "unit": "nM"}})"), m); },
      "/components/bmp2/unit", "cannot convert 'nM' to 'ng/mL': different dimensions");
  expect_protocol_error(
      [&] { Schedule(protocol(R"("duration": 5, "components": {"dex": {"concentration": 1, "unit": "au"}})"), m); },
      "/components/dex/unit", "unknown unit 'au'");
  expect_protocol_error(
      [&] { Schedule(protocol(R"("duration": 5, "components": {"dex": {"concentration": 1, "unit": ""}})"), m); },
      "/components/dex/unit", "unknown unit ''");
  expect_protocol_error(
      [&] { Schedule(protocol(R"("duration": 5, "components": {"asc": {"concentration": 1, "unit": "mM"}})"), m); },
      "/components/asc/unit", "has no unit");
  expect_protocol_error(
      [&] { Schedule(protocol(R"("duration": 5, "perturbations": [{"knockout": "x"}, {"knockout": "Sp7"}])"), m); },
      "/perturbations/1/knockout", "no such species (species: x, y)");
  expect_protocol_error(
      [&] { Schedule(protocol(R"("duration": 5, "perturbations": [{"clamp": "k", "value": 1}])"), m); },
      "/perturbations/0/clamp", "clamp 'k'");
  expect_protocol_error(
      [&] { Schedule(protocol(R"("duration": 5, "perturbations": [{"parameter": "x", "value": 1}])"), m); },
      "/perturbations/0/parameter", "no such parameter (parameters: k, d)");
}

TEST(Schedule, EventsOnTheLastDayNeedNoSegment) {
  const Model m = test_model();
  const Schedule s(protocol(R"("duration": 3, "media_changes": {"days": [3]},
      "components": {"dex": {"concentration": 100, "unit": "nM"}},
      "additions": [{"day": 3, "component": "dex", "concentration": 5}])"),
                   m);
  EXPECT_EQ(s.breakpoints(), (std::vector<double>{0, 3}));
  EXPECT_EQ(s.media_change_days(), (std::vector<double>{3}));
  ASSERT_EQ(s.segments().size(), 1u);
  EXPECT_EQ(s.segment_at(3), 0u);
}

TEST(Schedule, ModelFilePerturbationsKeepTheirWindows) {
  // A perturbation written in the model file holds only on its own [from, until), like a
  // protocol's; its ends become breakpoints. A window past the run's end ends with the run.
  std::string text = kModel;
  text.insert(text.rfind('}'), R"(, "perturbations": [
      {"parameter": "k", "scale": 0.5, "from": 2, "until": 5},
      {"clamp": "y", "value": 3, "from": 8, "until": 50}])");
  const Model m = Model::from_json(text, "windowed.json");
  const Schedule s(protocol(R"("duration": 10)"), m);
  EXPECT_EQ(s.breakpoints(), (std::vector<double>{0, 2, 5, 8, 10}));
  const std::size_t k = *m.find_parameter("k");
  for (std::size_t i = 0; i < s.segments().size(); ++i) {
    std::vector<double> p(m.parameter_values().size());
    s.parameters(i, m.parameter_values(), p.data());
    EXPECT_EQ(p[k], i == 1 ? 0.75 : 1.5) << "segment " << i;
    EXPECT_EQ(s.segments()[i].clamps.size(), i == 3 ? 1u : 0u) << "segment " << i;
  }
}

// libFuzzer target: model JSON bytes -> Model::from_json (imports resolve among the built-in
// models) -> to_json round trip -> rhs/jacobian at the initial state -> a short simulation.
// Checks: only typed errors escape; a model that loads serialises to JSON that loads again
// with the same species and parameter values; rhs honours the model's own knockouts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"
#include "osteogrn/simulate.hpp"

namespace {

using namespace osteogrn;

const LoadOptions& load_options() {
  static const LoadOptions options{{OSTEOGRN_SOURCE_DIR "/models"}};
  return options;
}

// One day, no components (every model input keeps its default), two media changes.
const Protocol& short_protocol() {
  static const Protocol protocol = Protocol::from_json(
      R"({"schema": "osteogrn-protocol/1", "name": "fuzz", "duration": 1,
          "media_changes": {"days": [0.25, 0.5]}, "components": {}})",
      "<fuzz protocol>");
  return protocol;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::typed_errors_only([&] {
    const Model model = Model::from_json(text, "<fuzz>", load_options());

    const std::string json = model.to_json();
    bool reloaded_ok = false;
    fuzz::typed_errors_only([&] {
      const Model again = Model::from_json(json, "<fuzz round trip>", load_options());
      reloaded_ok = true;
      if (again.species().size() != model.species().size() ||
          again.parameter_values() != model.parameter_values())
        fuzz::fail("to_json round trip changed the model:\n" + json);
    });
    if (!reloaded_ok) fuzz::fail("to_json output does not load again:\n" + json);

    std::vector<double> u;
    for (const InputInfo& input : model.inputs()) u.push_back(input.default_value);
    const std::vector<double> y0 = model.initial_state();
    const std::vector<double> f = model.rhs(0.0, y0, u);
    model.jacobian(0.0, y0, u);
    // A knockout holds its species at 0: its derivative is 0 while the window is open (the bug
    // of issue 10: rhs ignored the model's own knockouts).
    for (const Perturbation& p : model.overlays()) {
      if (p.kind != PerturbationKind::Knockout || !(p.from <= 0.0 && 0.0 < p.until)) continue;
      const auto i = model.find_species(p.target);
      if (i && f.at(*i) != 0.0)
        fuzz::fail("rhs ignores the knockout of " + p.target + ": d/dt = " + std::to_string(f[*i]));
    }

    SolverOptions options;
    options.max_steps = 2000;  // bounds the time a stiff or exploding mutant can take
    options.raise_on_failure = false;
    simulate(model, short_protocol(), {0.0, 0.5, 1.0}, options);
  });
  return 0;
}

// libFuzzer target: protocol JSON bytes -> Protocol::from_json -> to_json round trip ->
// Schedule against a small fixed model (tests/data/models/grn_small.json) -> a short
// simulation sampled at three times. Checks: only typed errors escape; a protocol that loads
// serialises to JSON that loads again to the same JSON.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.hpp"
#include "osteogrn/detail/schedule.hpp"
#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"
#include "osteogrn/simulate.hpp"

namespace {

using namespace osteogrn;

const Model& fixed_model() {
  static const Model model = Model::from_file(OSTEOGRN_SOURCE_DIR "/tests/data/models/grn_small.json");
  return model;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const Model& model = fixed_model();
  fuzz::typed_errors_only([&] {
    const Protocol protocol = Protocol::from_json(text, "<fuzz>");

    const std::string json = protocol.to_json();
    bool reloaded_ok = false;
    fuzz::typed_errors_only([&] {
      const Protocol again = Protocol::from_json(json, "<fuzz round trip>");
      reloaded_ok = true;
      if (again.to_json() != json) fuzz::fail("to_json round trip changed the protocol:\n" + json);
    });
    if (!reloaded_ok) fuzz::fail("to_json output does not load again:\n" + json);

    const Schedule schedule(protocol, model);
    SolverOptions options;
    options.max_steps = 2000;  // bounds the time; the sample count is fixed below
    options.raise_on_failure = false;
    const double end = protocol.duration();
    simulate(model, protocol, {0.0, 0.5 * end, end}, options);
    // The default sample times (every 0.1 day): run them for short protocols, and for absurd
    // durations check they are refused before anything is allocated (an OptionError, not
    // std::length_error or bad_alloc). Durations in between would legitimately need gigabytes.
    if (end <= 30.0) {
      simulate(model, protocol, {}, options);
    } else if (end > 1e10) {
      if (fuzz::typed_errors_only([&] { default_times(end); }))
        fuzz::fail("default_times accepted duration " + std::to_string(end));
    }
  });
  return 0;
}

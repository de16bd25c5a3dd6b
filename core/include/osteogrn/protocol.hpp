#pragma once
// Protocols (format osteogrn-protocol/1): what the experimenter does to the wells.
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace osteogrn {

inline constexpr double kForever = std::numeric_limits<double>::infinity();

/// A medium component supplied at each media change inside [from, until).
struct Component {
  std::string name;
  double concentration = 0.0;       // in `unit`
  std::string unit;                 // e.g. "nM", "ng/mL"; converted to the model input's unit
  std::optional<double> half_life;  // days; absent = stable in the medium
  double from = 0.0;                // days
  double until = kForever;          // days (exclusive)
  bool optional = false;            // true: no error if the model has no such input
  std::string description;
};

/// A spike of a component into the well at `day`, without a change of medium.
struct Addition {
  double day = 0.0;
  std::string component;
  double concentration = 0.0;
  std::string unit;  // empty = the component's unit
};

enum class PerturbationKind { Knockout, Clamp, Parameter };

/// Holds for [from, until). Knockout: species held at 0 (derivative 0). Clamp: species held at
/// value. Parameter: parameter set to value, or multiplied by value when scale is true.
struct Perturbation {
  PerturbationKind kind = PerturbationKind::Knockout;
  std::string target;  // species or parameter name
  double value = 0.0;
  bool scale = false;
  double from = 0.0;
  double until = kForever;
};

/// When the medium is changed: every k days (k, 2k, ... strictly before the end of the run)
/// or on the listed days. Neither set = never.
struct MediaChanges {
  std::optional<double> every;
  std::vector<double> days;
};

/// A validated protocol. Construct with from_json/from_file; the fields are public so that a
/// protocol can be inspected, but edited protocols should go through to_json/from_json again
/// to be re-validated (Python's Protocol.with_component does that).
struct Protocol {
  std::string name;
  std::string description;
  double duration = 0.0;  // days
  MediaChanges media_changes;
  double replace_fraction = 1.0;
  std::vector<Component> components;      // in file order
  std::vector<Addition> additions;        // sorted by day (stable)
  std::vector<Perturbation> perturbations;
  std::string source;                     // file path or "<string>", for error messages

  /// Parses and validates. Errors are ProtocolError naming `source` and the JSON pointer.
  static Protocol from_json(const std::string& text, const std::string& source = "<string>");
  static Protocol from_file(const std::string& path);

  /// Serialises to osteogrn-protocol/1 JSON; from_json(to_json()) gives an equal protocol.
  std::string to_json() const;

  /// The media-change days resolved from `every` or `days`, sorted, in (0, duration].
  std::vector<double> media_change_days() const;

  /// Index of a component by name, or -1.
  int find_component(const std::string& name) const;
};

/// Converts `value` from unit `from` to unit `to` within one dimension (molar: M mM uM µM nM pM;
/// mass concentration: g/L mg/mL mg/L ug/mL µg/mL ug/L ng/mL ng/L pg/mL; or identical units).
/// Throws ProtocolError naming both units when they are of different dimensions or unknown.
double convert_unit(double value, const std::string& from, const std::string& to);

/// Text of a perturbation kind: "knockout", "clamp", "parameter".
const char* to_string(PerturbationKind kind);

}  // namespace osteogrn

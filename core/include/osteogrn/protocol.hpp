#pragma once
// Protocols (format osteogrn-protocol/1): what the experimenter does to the wells.
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace osteogrn {

inline constexpr double kForever = std::numeric_limits<double>::infinity();

/// What a component costs: `value` currency units per `per` of `unit` (an amount: mass g, mg, ug,
/// µg, ng, pg or moles mol, mmol, umol, µmol, nmol, pmol). 250 per 10 ug: {250, 10, "ug"}.
struct Price {
  double value = 0.0;  // >= 0
  double per = 1.0;    // > 0
  std::string unit;
};

/// The volume of medium in one well (what a fill or a full media change puts in).
struct Medium {
  double volume = 0.0;  // > 0, in `unit`
  std::string unit;     // L, mL, uL (µL)
};

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
  std::optional<double> molar_mass;  // g/mol, > 0; makes mass <-> molar conversion legal
  std::optional<Price> price;
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

/// The parts of a protocol, not yet validated: what the JSON codec reads and what a Protocol is
/// built from. Edit a copy of Protocol::spec() and construct a new Protocol to change one.
struct ProtocolSpec {
  std::string name;
  std::string description;
  double duration = 0.0;  // days
  MediaChanges media_changes;
  double replace_fraction = 1.0;
  std::vector<Component> components;      // in file order; names unique
  std::vector<Addition> additions;        // any order; the Protocol keeps them sorted by day
  std::vector<Perturbation> perturbations;
  std::optional<Medium> medium;           // absent: reagent use cannot be counted
};

/// A validated protocol (immutable). Every instance comes from the validating constructor, so
/// its invariants always hold: duration > 0, media changes and additions inside [0, duration],
/// 0 <= from < until <= duration for every window, additions of listed components in units of
/// their dimension, 0 <= replace_fraction <= 1 (docs/formats/protocol.md).
class Protocol {
 public:
  /// Validates `spec` with the rules of from_json; ProtocolError naming `source` and the JSON
  /// pointer of the offending field (e.g. "/components/dex/until").
  explicit Protocol(ProtocolSpec spec, std::string source = "<Protocol>");

  /// Parses and validates. Errors are ProtocolError naming `source` and the JSON pointer.
  static Protocol from_json(const std::string& text, const std::string& source = "<string>");
  /// Reads and validates a file; directories, devices and files over the size limit
  /// (OSTEOGRN_MAX_FILE_BYTES, default 64 MiB) are refused before reading.
  static Protocol from_file(const std::string& path);

  /// Serialises to osteogrn-protocol/1 JSON; from_json(to_json()) gives an equal protocol.
  std::string to_json() const;

  const std::string& name() const noexcept { return spec_.name; }
  const std::string& description() const noexcept { return spec_.description; }
  /// Days.
  double duration() const noexcept { return spec_.duration; }
  const MediaChanges& media_changes() const noexcept { return spec_.media_changes; }
  double replace_fraction() const noexcept { return spec_.replace_fraction; }
  /// In file order.
  const std::vector<Component>& components() const noexcept { return spec_.components; }
  /// Sorted by day (stable: same-day additions keep their order).
  const std::vector<Addition>& additions() const noexcept { return spec_.additions; }
  const std::vector<Perturbation>& perturbations() const noexcept { return spec_.perturbations; }
  /// The medium volume per well, if stated.
  const std::optional<Medium>& medium() const noexcept { return spec_.medium; }
  /// File path or "<string>", for error messages.
  const std::string& source() const noexcept { return source_; }
  /// All parts, for building an edited copy.
  const ProtocolSpec& spec() const noexcept { return spec_; }

  /// A validated copy with the perturbations replaced.
  Protocol with_perturbations(std::vector<Perturbation> perturbations) const;
  /// A validated copy with `component` added, or replacing the one of the same name in place.
  Protocol with_component(Component component) const;

  /// The media-change days resolved from `every` or `days`, sorted, in (0, duration].
  std::vector<double> media_change_days() const;

  /// Index of a component by name, or -1.
  int find_component(const std::string& name) const;

 private:
  ProtocolSpec spec_;
  std::string source_;
};

/// Converts `value` from unit `from` to unit `to` within one dimension (molar: M mM uM µM nM pM;
/// mass concentration: g/L mg/mL mg/L ug/mL µg/mL ug/L ng/mL ng/L pg/mL; mass: g mg ug µg ng pg;
/// amount of substance: mol mmol umol µmol nmol pmol; volume: L mL uL µL; or identical units).
/// With `molar_mass` (g/mol, > 0) mass concentration <-> molar and mass <-> amount of substance
/// are legal too (g/L / (g/mol) = mol/L). Throws ProtocolError naming both units when they are of
/// different dimensions or unknown (and, for mass <-> molar without a molar mass, saying to give
/// the component's `molar_mass`).
double convert_unit(double value, const std::string& from, const std::string& to,
                    std::optional<double> molar_mass = std::nullopt);

/// The dimension of a unit: "molar", "mass concentration", "mass", "amount of substance",
/// "volume", or "" for a unit the table does not know.
std::string unit_dimension(const std::string& unit);

/// Text of a perturbation kind: "knockout", "clamp", "parameter".
const char* to_string(PerturbationKind kind);

}  // namespace osteogrn

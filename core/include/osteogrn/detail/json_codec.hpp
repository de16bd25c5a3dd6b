#pragma once
// Internal: the JSON form of the protocol structs, one to_json/from_json pair per struct, found by
// nlohmann through argument-dependent lookup (json.get<Perturbation>(), Json j = component).
// Model files and protocols share the Perturbation codec and the one window rule below.
//
// from_json reads the structure (keys, types) and throws FieldError with pointers relative to
// the value read; value rules that need context (a window inside the protocol's duration, an
// addition of a listed component) are checked by the Protocol constructor, so that a protocol
// built in C++ obeys exactly the rules of one read from a file.
#include "osteogrn/detail/json_reader.hpp"
#include "osteogrn/protocol.hpp"

namespace osteogrn {

/// {"knockout": S} | {"clamp": S, "value": v} | {"parameter": p, "value"|"scale": v}, each with
/// optional "from"/"until" (absent until = forever).
void from_json(const detail::Json& j, Perturbation& p);
void to_json(detail::Json& j, const Perturbation& p);

/// A component's fields; its name is the key it is stored under, set by the caller.
void from_json(const detail::Json& j, Component& c);
void to_json(detail::Json& j, const Component& c);

/// {"day", "component", "concentration", optional "unit"}.
void from_json(const detail::Json& j, Addition& a);
void to_json(detail::Json& j, const Addition& a);

/// {"every": k} or {"days": [...]}.
void from_json(const detail::Json& j, MediaChanges& m);
void to_json(detail::Json& j, const MediaChanges& m);

/// A whole osteogrn-protocol/1 document ("schema" checked, not stored).
void from_json(const detail::Json& j, ProtocolSpec& s);
void to_json(detail::Json& j, const ProtocolSpec& s);
/// A protocol is written as its parts; read one back with Protocol::from_json (validated).
void to_json(detail::Json& j, const Protocol& p);

}  // namespace osteogrn

namespace osteogrn::detail {

/// The one window rule of perturbations and components: 0 <= from < until, and when the window
/// belongs to a protocol (finite `duration`) both ends within [0, duration]; until = kForever
/// means "to the end". Model files have no duration: pass kForever. FieldError at "/from" or
/// "/until".
void check_window(double from, double until, double duration);

/// The one rule set of a perturbation: a non-empty target, a finite value, check_window.
/// FieldError with pointers relative to the perturbation.
void check_perturbation(const Perturbation& p, double duration);

}  // namespace osteogrn::detail

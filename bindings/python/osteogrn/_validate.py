"""Every problem of a protocol file in one run (what ``osteogrn validate`` reports).

The C++ reader, and the binding of a protocol to a model, stop at the first error. To report
them all, the file is repaired and read again: the entry the error points at (a component, an
addition, a perturbation, a top-level field) is taken out of the document and the rest is checked
again, until it passes or nothing more can be taken out. The rules stay in one place, the C++
reader and ``Schedule`` (which binds components to model inputs and converts units with
``convert_unit``); this module only decides what to take out next and suggests close names.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import _core
from .errors import ProtocolError
from .library import load_protocol
from .protocol import Protocol

__all__ = ["Problem", "ProtocolCheck", "check_protocol", "MAX_PROBLEMS"]

#: Most problems reported for one file (a file that is mostly wrong is fixed in rounds).
MAX_PROBLEMS = 50

_SCHEMA = "osteogrn-protocol/1"
_ARRAYS = ("additions", "perturbations")
# Fields of a component that may be left out (docs/formats/protocol.md), so a bad one is taken
# out alone; a bad concentration or unit takes the component out.
_OPTIONAL_COMPONENT_FIELDS = ("half_life", "from", "until", "optional", "description",
                              "molar_mass", "price")


@dataclass(frozen=True)
class Problem:
    """One problem of a file: where (file and JSON pointer of the field) and what."""

    file: str
    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.pointer or '/'}: {self.message}"


@dataclass
class ProtocolCheck:
    """What :func:`check_protocol` found.

    Attributes
    ----------
    problems : list of Problem
        Every problem found, in the order found (empty if the file is valid).
    notes : list of str
        What could not be checked, and why.
    protocol : Protocol or None
        The protocol, if the file is valid.
    """

    problems: List[Problem]
    notes: List[str]
    protocol: Optional[Protocol]


def _tokens(pointer: str) -> List[str]:
    if not pointer:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def _pointer(tokens: Sequence[str]) -> str:
    return "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in tokens)


class _Document:
    """The protocol document being repaired, and where its array entries came from."""

    def __init__(self, doc: Dict[str, Any]) -> None:
        self.doc = doc
        # position in the working document -> index in the file
        self.origin = {key: list(range(len(doc[key]))) if isinstance(doc.get(key), list)
                       else [] for key in _ARRAYS}
        self.notes: List[str] = []
        self.placeholder_duration = False
        self._sort_additions()

    def _sort_additions(self) -> None:
        # The reader sorts additions by day (stably) and Schedule names them by that order:
        # keep the working document in that order so that both name the same entry.
        adds = self.doc.get("additions")
        if not isinstance(adds, list) or not all(
                isinstance(a, dict) and isinstance(a.get("day"), (int, float))
                and not isinstance(a.get("day"), bool) for a in adds):
            return
        order = sorted(range(len(adds)), key=lambda i: adds[i]["day"])
        self.doc["additions"] = [adds[i] for i in order]
        self.origin["additions"] = [self.origin["additions"][i] for i in order]

    def file_pointer(self, pointer: str) -> str:
        """The pointer into the file of a pointer into the working document."""
        tokens = _tokens(pointer)
        if len(tokens) >= 2 and tokens[0] in _ARRAYS and tokens[1].isdigit():
            index = int(tokens[1])
            origin = self.origin[tokens[0]]
            if index < len(origin):
                tokens[1] = str(origin[index])
        return _pointer(tokens)

    def drop(self, pointer: str, message: str) -> bool:
        """Takes out what `pointer` (and `message`) blame; False if nothing can be."""
        tokens = _tokens(pointer)
        doc = self.doc
        if not tokens:
            missing = re.match(r"missing required key '(\w+)'", message)
            key = missing.group(1) if missing else ""
            if key in ("schema", "name") and key not in doc:
                doc[key] = _SCHEMA if key == "schema" else "unnamed"
                return True
            return False
        key = tokens[0]
        if key not in doc:
            return False
        if key == "schema":
            if doc[key] == _SCHEMA:
                return False
            doc[key] = _SCHEMA
            return True
        if key == "name":
            if doc[key] == "unnamed":
                return False
            doc[key] = "unnamed"
            return True
        if key == "duration":
            # Go on with a duration that holds every day the document names: the rest is
            # checked, except that its days lie within the (unknown) duration.
            if self.placeholder_duration:
                return False
            self.placeholder_duration = True
            doc[key] = max([1.0] + _days(doc))
            self.notes.append("days were not checked against the duration (it is invalid)")
            return True
        if key == "components" and len(tokens) >= 2 and isinstance(doc[key], dict):
            name = tokens[1]
            if name not in doc[key]:
                return False
            entry = doc[key][name]
            if len(tokens) == 3 and isinstance(entry, dict) and tokens[2] in entry and (
                    tokens[2] in _OPTIONAL_COMPONENT_FIELDS or message.startswith("unknown key")):
                # a field the component can do without: keep checking the rest of it
                del entry[tokens[2]]
                return True
            del doc[key][name]
            self._drop_additions_of(name)
            return True
        if key in _ARRAYS and len(tokens) >= 2 and isinstance(doc[key], list) \
                and tokens[1].isdigit() and int(tokens[1]) < len(doc[key]):
            index = int(tokens[1])
            del doc[key][index]
            del self.origin[key][index]
            return True
        del doc[key]
        if key == "components":
            self._drop_additions_of(None)
        self._sort_additions()
        return True

    def _drop_additions_of(self, component: Optional[str]) -> None:
        """Takes out the additions of a component taken out (None: of every component), so
        that they are not reported as naming a missing component."""
        adds = self.doc.get("additions")
        if not isinstance(adds, list):
            return
        keep = [i for i, a in enumerate(adds)
                if not (isinstance(a, dict) and (component is None
                                                 or a.get("component") == component))]
        if len(keep) == len(adds):
            return
        dropped = [self.origin["additions"][i] for i in range(len(adds)) if i not in keep]
        which = f"component '{component}'" if component is not None else "any component"
        self.notes.append(f"additions {', '.join(f'/additions/{i}' for i in dropped)} of "
                          f"{which} were not checked (the component is invalid)")
        self.doc["additions"] = [adds[i] for i in keep]
        self.origin["additions"] = [self.origin["additions"][i] for i in keep]


def _days(doc: Dict[str, Any]) -> List[float]:
    """Every finite number a day of `doc` could be (media changes, windows, additions)."""
    values: List[Any] = []
    media = doc.get("media_changes")
    if isinstance(media, dict):
        values.append(media.get("every"))
        if isinstance(media.get("days"), list):
            values.extend(media["days"])
    comps = doc.get("components")
    for entry in (comps.values() if isinstance(comps, dict) else []):
        if isinstance(entry, dict):
            values.extend([entry.get("from"), entry.get("until")])
    for key, fields in (("additions", ("day",)), ("perturbations", ("from", "until"))):
        entries = doc.get(key)
        for entry in (entries if isinstance(entries, list) else []):
            if isinstance(entry, dict):
                values.extend(entry.get(f) for f in fields)
    return [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)
            and 0 < v < 1e6]


def _is_known_unit(unit: str) -> bool:
    """Whether the C++ unit table knows `unit` (convert_unit says 'unknown unit' otherwise)."""
    try:
        _core.convert_unit(1.0, unit, "M")
    except ProtocolError as e:
        return f"unknown unit '{unit}'" not in str(e)
    return True


def _converts(unit: str, to: str) -> bool:
    try:
        _core.convert_unit(1.0, unit, to)
    except ProtocolError:
        return False
    return True


def _unit_suggestions(unit: str, target: Optional[str]) -> List[str]:
    """Known units that differ from `unit` only in letter case or in u/µ ('nm' -> 'nM'); those
    that convert to `target` (the model input's unit) first."""
    if not unit or len(unit) > 10:
        return []
    choices = [(c.lower(), c.upper()) if c.isalpha() else (c,) for c in unit]
    seen, found = set(), []
    for letters in itertools.islice(itertools.product(*choices), 1024):
        for cand in {"".join(letters), "".join(letters).replace("u", "\u00b5"),
                     "".join(letters).replace("\u00b5", "u")}:
            if cand != unit and cand not in seen and _is_known_unit(cand):
                seen.add(cand)
                found.append(cand)
    if target:
        found.sort(key=lambda u: not _converts(u, target))
    return found


def _close(name: str, choices: Sequence[str]) -> List[str]:
    exact = [c for c in choices if c.lower() == name.lower() and c != name]
    return exact or difflib.get_close_matches(name, list(choices), n=2, cutoff=0.6)


def _hint(message: str, pointer: str, doc: Dict[str, Any], model: Any) -> str:
    """'did you mean ...?' for a misspelt component, unit or perturbation target."""
    if "did you mean" in message:  # the C++ message has one already
        return ""
    tokens = _tokens(pointer)
    suggestions: List[str] = []
    unknown_unit = re.search(r"unknown unit '([^']*)'", message)
    if unknown_unit:
        target = re.search(r"is in '([^']*)'\)", message)
        suggestions = _unit_suggestions(unknown_unit.group(1), target.group(1) if target
                                        else None)
    elif model is not None and re.search(r"has no input '", message) and len(tokens) >= 2:
        suggestions = _close(tokens[1], model.inputs)
    elif model is not None and "has no such" in message and len(tokens) >= 2 \
            and tokens[0] == "perturbations":
        entry = doc["perturbations"][int(tokens[1])]
        kind = next((k for k in ("knockout", "clamp", "parameter") if k in entry), None)
        if kind is not None:
            names = model.parameters if kind == "parameter" else model.species
            suggestions = _close(str(entry[kind]), list(names))
    elif "different dimensions" in message and "molar" in message and "mass" in message \
            and "molar_mass" not in message:  # (the engine's message may say it already)
        return "; give the component its \"molar_mass\" (g/mol) to convert mass to moles"
    if not suggestions:
        return ""
    return "; did you mean " + " or ".join(f"'{s}'" for s in suggestions[:2]) + "?"


def _read(doc: _Document, source: str, model: Any) -> Protocol:
    """The working document as a Protocol, bound to `model` if given (raises ProtocolError)."""
    proto = Protocol.from_json(json.dumps(doc.doc), source=source)
    if model is not None:
        _core.Schedule(proto._core, model._core)
    return proto


def check_protocol(path: Any, model: Any = None) -> ProtocolCheck:
    """Every problem of a protocol file, alone or with a model.

    Parameters
    ----------
    path : str or path-like
        The protocol JSON file.
    model : Model, optional
        Also check that the protocol fits this model: every component is an input of it (or
        ``optional``), every unit converts to its input's unit, every perturbation names one
        of its species or parameters.

    Returns
    -------
    ProtocolCheck
        The problems (file, JSON pointer, message with a "did you mean" where a close name
        exists), notes on what was not checked, and the protocol if valid.
    """
    source = str(path)
    problems: List[Problem] = []
    notes: List[str] = []
    try:
        proto = load_protocol(path)
        if model is not None:
            _core.Schedule(proto._core, model._core)
        return ProtocolCheck([], _unused_optional(proto, model), proto)
    except ProtocolError as first:
        error = first
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, OSError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):  # not JSON, or not an object: the reader said it
        return ProtocolCheck([Problem(error.file or source, error.pointer, error.message)],
                             [], None)
    doc = _Document(copy.deepcopy(data))  # repaired in place; `data` keeps the file's order
    seen = set()
    while True:
        pointer = doc.file_pointer(error.pointer)
        key = (pointer, error.message)
        if key in seen:  # the same problem again: the repair did not take it out
            break
        seen.add(key)
        problems.append(Problem(error.file or source, pointer,
                                error.message + _hint(error.message, error.pointer, doc.doc,
                                                      model)))
        if len(problems) >= MAX_PROBLEMS:
            notes.append(f"stopped after {MAX_PROBLEMS} problems")
            break
        if not doc.drop(error.pointer, error.message):
            break
        try:
            _read(doc, source, model)
            break
        except ProtocolError as e:
            error = e
    problems.sort(key=lambda p: _file_order(data, p.pointer))
    return ProtocolCheck(problems, notes + doc.notes, None)


def _file_order(doc: Any, pointer: str) -> Tuple[int, ...]:
    """Where `pointer` is in the file, as positions of its keys and indices: problems are
    listed in the order of the file, not in the order they were found."""
    order: List[int] = []
    for token in _tokens(pointer):
        if isinstance(doc, dict) and token in doc:
            order.append(list(doc).index(token))
            doc = doc[token]
        elif isinstance(doc, list) and token.isdigit() and int(token) < len(doc):
            order.append(int(token))
            doc = doc[int(token)]
        else:  # a key the file lacks (e.g. a missing one): after what it has
            order.append(len(doc) if isinstance(doc, (dict, list)) else 0)
            break
    return tuple(order)


def _unused_optional(proto: Protocol, model: Any) -> List[str]:
    """Notes on optional components the model does not have (their units are not checked)."""
    if model is None:
        return []
    inputs = set(model.inputs)
    return [f"optional component '{name}' is not an input of model '{model.name}': its unit "
            f"was not checked" for name in proto.components if name not in inputs]

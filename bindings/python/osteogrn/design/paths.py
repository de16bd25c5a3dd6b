"""Paths: names for the knobs of a protocol and a model, such as ``"bmp2.concentration"``.

A path names one value that a sweep or an optimiser changes. :func:`apply` sets a group of
them on a protocol and returns the edited protocol plus the model-parameter overrides;
:func:`parse` checks a path's form without a protocol, so a sweep can reject a misspelt
path before it builds anything.

Grammar (``<c>`` a component of the protocol or a model input, ``<p>`` a model parameter):

==============================  ===============================================================
path                            value
==============================  ===============================================================
``<c>.concentration``           fresh-medium concentration, in the component's unit
``<c>.half_life``               days (``None`` removes it: stable)
``<c>.from``, ``<c>.until``     days (``until=None``: to the end of the run)
``<c>.unit``                    unit text (needed with ``<c>.concentration`` when the
                                protocol does not have component ``<c>`` yet)
``media_changes.every``         days between changes (``None``: never changed)
``media_changes.days``          a list of days
``duration``                    days (the protocol's own ``with_duration`` rule applies)
``replace_fraction``            fraction of the medium replaced at each change
``medium.volume``               medium volume per well, in the medium's unit (mL if none)
``additions.<i>.day``           day of the i-th addition (0-based, file order)
``additions.<i>.concentration`` concentration of the i-th addition
``parameters.<p>``              model parameter value (returned as an override, not applied)
==============================  ===============================================================
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .. import _core
from ..errors import OptionError
from ..protocol import Protocol

__all__ = ["Path", "Template", "parse", "apply", "check", "unit", "COMPONENT_FIELDS"]

#: Fields of a component that a path may set.
COMPONENT_FIELDS = ("concentration", "half_life", "from", "until", "unit")
_ADDITION_FIELDS = ("day", "concentration")
_TOP_LEVEL = ("media_changes.every", "media_changes.days", "duration", "replace_fraction",
              "medium.volume")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

_FORMS = ("<component>.concentration|half_life|from|until|unit, media_changes.every, "
          "media_changes.days, duration, replace_fraction, medium.volume, "
          "additions.<i>.day|concentration, parameters.<name>")


@dataclass(frozen=True)
class Path:
    """A parsed path.

    Attributes
    ----------
    text : str
        The path as written.
    kind : str
        ``"component"``, ``"media_changes"``, ``"duration"``, ``"replace_fraction"``,
        ``"medium"``, ``"addition"`` or ``"parameter"``.
    target : str
        Component name, parameter name, addition index (as text), or the field for the
        top-level kinds.
    field : str
        The field set (``"concentration"``, ``"every"``, ``"volume"``, ...); ``""`` for
        parameters and ``duration``/``replace_fraction``.
    """

    text: str
    kind: str
    target: str
    field: str

    @property
    def is_parameter(self) -> bool:
        """True for ``parameters.<name>``: a model override, not a protocol edit."""
        return self.kind == "parameter"


def _unknown(path: str, why: str) -> OptionError:
    return OptionError(f"unknown path '{path}': {why}; a path is one of {_FORMS}",
                       pointer=path)


def parse(path: str) -> Path:
    """Checks the form of a path (not whether the protocol or model has the name).

    Parameters
    ----------
    path : str
        E.g. ``"bmp2.concentration"``, ``"media_changes.every"``, ``"parameters.k_commit"``.

    Returns
    -------
    Path

    Raises
    ------
    OptionError
        A path of no known form; the message names the path and the forms.
    """
    if not isinstance(path, str):
        raise OptionError(f"a path must be a string such as 'bmp2.concentration', "
                          f"got {path!r}")
    text = path.strip()
    if text in ("duration", "replace_fraction"):
        return Path(text, text, text, "")
    parts = text.split(".")
    head = parts[0]
    if head == "media_changes":
        if len(parts) == 2 and parts[1] in ("every", "days"):
            return Path(text, "media_changes", "media_changes", parts[1])
        raise _unknown(path, "media_changes takes .every or .days")
    if head == "medium":
        if len(parts) == 2 and parts[1] == "volume":
            return Path(text, "medium", "medium", "volume")
        raise _unknown(path, "medium takes .volume")
    if head == "parameters":
        if len(parts) == 2 and _NAME.match(parts[1]):
            return Path(text, "parameter", parts[1], "")
        raise _unknown(path, "parameters takes one parameter name, e.g. parameters.k_commit")
    if head == "additions":
        if len(parts) == 3 and parts[1].isdigit() and parts[2] in _ADDITION_FIELDS:
            return Path(text, "addition", parts[1], parts[2])
        raise _unknown(path, "additions takes an index and a field, e.g. additions.0.day "
                             "(fields: day, concentration)")
    if len(parts) == 2 and _NAME.match(head):
        if parts[1] in COMPONENT_FIELDS:
            return Path(text, "component", head, parts[1])
        raise _unknown(path, f"'{parts[1]}' is not a component field "
                             f"({', '.join(COMPONENT_FIELDS)})")
    raise _unknown(path, "not of the form <name>.<field>")


def _number(path: str, value: Any, *, allow_none: bool = False) -> Optional[float]:
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise OptionError(f"{path}: expected a number, got {value!r}", pointer=path)
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"{path}: expected a number, got {value!r}", pointer=path) from None
    if not math.isfinite(x):
        if allow_none and math.isinf(x) and x > 0:
            return None  # until=inf: to the end of the run
        raise OptionError(f"{path}: expected a finite number, got {value!r}", pointer=path)
    return x


def _json_number(x: float) -> Any:
    # Integral values are written as ints so that names and JSON read as the user wrote them.
    return int(x) if float(x).is_integer() and abs(x) < 2 ** 53 else x


def apply(protocol: Protocol, values: Mapping[str, Any], *,
          name: Optional[str] = None) -> Tuple[Protocol, Dict[str, float]]:
    """Sets the values of several paths on a protocol.

    Parameters
    ----------
    protocol : Protocol
        The template; it is not changed.
    values : mapping path -> value
        See the module docstring for the paths and their values.
    name : str, optional
        A name for the edited protocol (set in the same parse). Default: the template's
        name is kept, and the caller names it.

    Returns
    -------
    protocol : Protocol
        The edited, validated protocol; it keeps the template's name (the caller names it).
        The template itself when only ``parameters.*`` paths are given.
    parameters : dict
        Model-parameter overrides from the ``parameters.*`` paths, name -> float.

    Raises
    ------
    OptionError
        An unknown path, a value of the wrong type, a component the protocol does not have
        (for fields other than concentration+unit), an addition index out of range.
    ProtocolError
        An edited protocol that is not valid (e.g. a negative concentration); the message
        names the field.

    Notes
    -----
    ``duration`` is applied first (through :meth:`Protocol.with_duration`, whose rule drops
    media changes and additions past the new end), then the other edits, so a sweep over
    ``duration`` and ``bmp2.until`` together may set an ``until`` up to the new end.
    Editing one protocol many times (a sweep) is faster through :class:`Template`.
    """
    return Template(protocol).apply(values, name=name)


class Template:
    """A protocol prepared for many edits: its JSON is encoded once, in pieces, and an edit
    re-encodes only the pieces it changes (a 10,000-point sweep builds 10,000 protocols).

    Parameters
    ----------
    protocol : Protocol
    """

    def __init__(self, protocol: Protocol) -> None:
        self.protocol = protocol
        self.data = protocol.to_dict()
        self.data.setdefault("components", {})
        self._top = {k: json.dumps(v) for k, v in self.data.items() if k != "components"}
        self._components = {k: json.dumps(v) for k, v in self.data["components"].items()}
        self._keys = {k: json.dumps(k) for k in [*self.data, *self.data["components"]]}
        self._parsed: Dict[str, Path] = {}
        self._name = protocol.name

    def apply(self, values: Mapping[str, Any], *,
              name: Optional[str] = None) -> Tuple[Protocol, Dict[str, float]]:
        """:func:`apply` on this template."""
        protocol = self.protocol
        overrides: Dict[str, float] = {}
        edits = []
        duration = None
        for text, value in values.items():
            path = self._parsed.get(text)
            if path is None:
                path = self._parsed[text] = parse(text)
            if path.is_parameter:
                overrides[path.target] = _number(path.text, value)  # type: ignore[assignment]
            elif path.kind == "duration":
                duration = _number(path.text, value)
            else:
                edits.append((path, value))
        if duration is not None and duration != protocol.duration:
            # Rare in a sweep; the protocol's own rule for what lies past the new end.
            edited = protocol.with_duration(_json_number(duration))
            if not edits and name is None:
                return edited, overrides
            return Template(edited).apply({k: v for k, v in values.items()
                                           if parse(k).kind != "duration"}, name=name)[0], \
                overrides
        if not edits and name is None:
            return protocol, overrides
        # Shallow copies: an edit replaces a top-level value or copies the component or
        # addition entry it changes, so untouched entries are the template's own objects
        # (and their encoded pieces are reused).
        data = dict(self.data)
        components = dict(self.data["components"])
        data["components"] = components
        if name is not None:
            data["name"] = str(name)
        for path, value in edits:
            if path.kind == "component":
                _set_component(data, components, path, value, values)
            elif path.kind == "media_changes":
                if path.field == "every":
                    every = _number(path.text, value, allow_none=True)
                    if every is None:
                        data.pop("media_changes", None)
                    else:
                        data["media_changes"] = {"every": _json_number(every)}
                elif value is None:
                    data.pop("media_changes", None)
                else:
                    try:
                        days = [_json_number(_number(path.text, d)) for d in value]
                    except TypeError:
                        raise OptionError(f"{path.text}: expected a list of days, got "
                                          f"{value!r}", pointer=path.text) from None
                    data["media_changes"] = {"days": days}
            elif path.kind == "replace_fraction":
                data["replace_fraction"] = _json_number(_number(path.text, value))
            elif path.kind == "medium":
                medium = dict(data.get("medium") or {"unit": "mL"})
                medium["volume"] = _json_number(_number(path.text, value))
                data["medium"] = medium
            elif path.kind == "addition":
                additions = [dict(a) for a in data.get("additions") or []]
                index = int(path.target)
                if index >= len(additions):
                    raise OptionError(f"{path.text}: protocol '{protocol.name}' has "
                                      f"{len(additions)} addition(s) (indices from 0)",
                                      pointer=path.text)
                additions[index][path.field] = _json_number(_number(path.text, value))
                data["additions"] = additions
        # ASCII JSON text (json.dumps escapes the rest), so no text check is needed on the way
        # to the core, which validates it and raises ProtocolError naming the field.
        text = self._encode(data)
        core = _core.Protocol.from_json(text, f"<{self._name} with {', '.join(values)}>")
        return Protocol._wrap(core), overrides

    def builder(self, paths: Sequence[str]) -> Optional[Callable[[Sequence[Any], str], Protocol]]:
        """A fast builder for many edits of the same numeric paths, or None.

        For component fields (concentration, half_life, from, until) of components the
        template has, ``media_changes.every`` and ``replace_fraction``, the protocol's JSON
        text is prepared once with a slot per path (and one for the name); a point then only
        formats its numbers into the slots. The result equals :meth:`apply` with a name.

        Returns
        -------
        callable (values, name) -> Protocol, or None
            The callable raises ValueError for a value that is not a finite number (the
            caller then goes through :meth:`apply`, which says what is wrong); the core's
            ProtocolError for a protocol that is not valid.
        """
        data = dict(self.data)
        components = dict(self.data["components"])
        data["components"] = components
        data["name"] = _slot(0)
        for i, text in enumerate(paths, start=1):
            try:
                path = parse(text)
            except OptionError:
                return None
            if path.kind == "component" and path.field in ("concentration", "half_life",
                                                           "from", "until") \
                    and path.target in components:
                entry = components[path.target] = dict(components[path.target])
                entry[path.field] = _slot(i)
            elif path.kind == "media_changes" and path.field == "every":
                data["media_changes"] = {"every": _slot(i)}
            elif path.kind == "replace_fraction":
                data["replace_fraction"] = _slot(i)
            else:
                return None
        pieces = _SLOT.split(json.dumps(data))
        # pieces alternate: text, slot index, text, ...
        fixed = pieces[0::2]
        order = [int(x) for x in pieces[1::2]]
        if sorted(order) != list(range(len(paths) + 1)):
            return None
        source = f"<{self._name} with {', '.join(paths)}>"

        def build(values: Sequence[Any], name: str) -> Protocol:
            texts = [json.dumps(name)]
            for v in values:
                if isinstance(v, bool) or v is None:
                    raise ValueError(v)
                x = float(v)
                if not math.isfinite(x):
                    raise ValueError(v)
                texts.append(str(int(x)) if x.is_integer() and abs(x) < 2 ** 53 else repr(x))
            parts = [fixed[0]]
            for j, k in enumerate(order):
                parts.append(texts[k])
                parts.append(fixed[j + 1])
            return Protocol._wrap(_core.Protocol.from_json("".join(parts), source))

        return build

    def _encode(self, data: Mapping[str, Any]) -> str:
        keys = self._keys
        template_components = self.data["components"]
        parts = []
        for key, value in data.items():
            head = keys.get(key) or json.dumps(key)
            if key == "components":
                inner = ",".join(
                    (keys.get(c) or json.dumps(c)) + ":" +
                    (self._components[c] if template_components.get(c) is entry
                     else json.dumps(entry, allow_nan=False))
                    for c, entry in value.items())
                parts.append(head + ":{" + inner + "}")
            elif self.data.get(key, _MISSING) is value:
                parts.append(head + ":" + self._top[key])
            else:
                parts.append(head + ":" + json.dumps(value, allow_nan=False))
        return "{" + ",".join(parts) + "}"


_MISSING = object()


def _slot(i: int) -> str:
    # A string no protocol holds (NUL characters), encoded by json.dumps as "\u0000<i>\u0000".
    return f"\x00{i}\x00"


_SLOT = re.compile(r'"\\u0000(\d+)\\u0000"')


def _set_component(data: Dict[str, Any], components: Dict[str, Any], path: Path, value: Any,
                   values: Mapping[str, Any]) -> None:
    name = path.target
    if name not in components:
        if path.field in ("concentration", "unit") and \
                f"{name}.concentration" in values and f"{name}.unit" in values:
            components[name] = {}
        else:
            have = ", ".join(components) or "(none)"
            raise OptionError(f"{path.text}: protocol '{data.get('name')}' has no component "
                              f"'{name}' (components: {have}); to add one, give both "
                              f"'{name}.concentration' and '{name}.unit'", pointer=path.text)
    entry = components[name] = dict(components[name])
    if path.field == "unit":
        if not isinstance(value, str):
            raise OptionError(f"{path.text}: expected a unit such as 'ng/mL', got {value!r}",
                              pointer=path.text)
        entry["unit"] = value
        return
    x = _number(path.text, value, allow_none=path.field in ("half_life", "until"))
    if x is None:
        entry.pop(path.field, None)
    else:
        entry[path.field] = _json_number(x)


def unit(path: str, protocol: Protocol, model: Any = None) -> str:
    """The unit of a path's value: a component's unit, ``day``, a parameter's unit.

    Parameters
    ----------
    path : str
    protocol : Protocol
        The template protocol (component and medium units).
    model : Model, optional
        For ``parameters.*`` (else ``""``).

    Returns
    -------
    str
        ``""`` where there is no unit (fractions, ``media_changes.days`` lists) or it is
        unknown.
    """
    p = parse(path)
    time_unit = getattr(model, "time_unit", "day") if model is not None else "day"
    if p.kind in ("duration", "media_changes"):
        return time_unit
    if p.kind == "replace_fraction":
        return "1"
    if p.kind == "medium":
        return str((protocol.to_dict().get("medium") or {}).get("unit", "mL"))
    if p.kind == "parameter":
        if model is None:
            return ""
        try:
            return str(model.parameter_table().loc[p.target, "unit"] or "")
        except KeyError:
            return ""
    if p.kind == "addition":
        if p.field == "day":
            return time_unit
        additions = protocol.additions
        index = int(p.target)
        if index < len(additions):
            component = additions[index].get("component")
            return str(protocol.components.get(component, {}).get("unit") or "")
        return ""
    # component
    if p.field in ("half_life", "from", "until"):
        return time_unit
    if p.field == "unit":
        return ""
    return str(protocol.components.get(p.target, {}).get("unit") or "")


def check(paths: Sequence[str], protocol: Protocol, model: Any = None) -> List[Path]:
    """Parses every path and checks the names it refers to against a protocol and a model.

    Raises
    ------
    OptionError
        The first unknown path, component or parameter (the message says what it could be).
    """
    out = []
    components = protocol.components
    parameters = model.parameters if model is not None else None
    inputs = list(getattr(model, "inputs", []) or []) if model is not None else []
    for text in paths:
        p = parse(text)
        if p.kind == "parameter" and parameters is not None and p.target not in parameters:
            close = _close(p.target, parameters)
            raise OptionError(f"unknown path '{text}': model '{model.name}' has no parameter "
                              f"'{p.target}'{close}", pointer=text)
        if p.kind == "component" and p.target not in components:
            adding = f"{p.target}.concentration" in paths and f"{p.target}.unit" in paths
            if not adding:
                known = sorted(set(components) | set(inputs))
                raise OptionError(
                    f"unknown path '{text}': protocol '{protocol.name}' has no component "
                    f"'{p.target}'{_close(p.target, known)} (components: "
                    f"{', '.join(components) or '(none)'}; to add a model input, give both "
                    f"'{p.target}.concentration' and '{p.target}.unit')", pointer=text)
        out.append(p)
    return out


def _close(name: str, names: Sequence[str]) -> str:
    import difflib
    match = difflib.get_close_matches(name, list(names), n=3)
    return f" (did you mean {', '.join(match)}?)" if match else ""


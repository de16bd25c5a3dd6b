"""The Protocol class: what the experimenter does to the wells (media, changes, perturbations)."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from . import _core
from ._text import checks_text
from .errors import ProtocolError

__all__ = ["Protocol"]

SCHEMA = "osteogrn-protocol/1"
_COMPONENT_FIELDS = ("concentration", "unit", "half_life", "from", "until", "optional",
                     "description")


def _dumps(data: Mapping[str, Any]) -> str:
    try:
        return json.dumps(data, allow_nan=False)
    except ValueError:
        raise ProtocolError("a protocol value is NaN or infinite; JSON allows finite numbers "
                            "only (leave 'until' out for 'to the end of the run')") from None
    except TypeError as e:
        raise ProtocolError(f"a protocol value cannot be written as JSON: {e}") from None


def _media_changes(value: Any) -> Any:
    # Convenience: 3 -> {"every": 3}; [3, 7] -> {"days": [3, 7]}; a dict is passed through.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"every": value}
    if isinstance(value, (list, tuple, np.ndarray)):
        return {"days": [float(d) for d in value]}
    return value


class Protocol:
    """A validated osteogrn-protocol/1 protocol.

    Build from keywords, or load with :func:`osteogrn.load_protocol`,
    :meth:`from_file` or :meth:`from_json`. Immutable: :meth:`with_component`
    returns a new protocol. Every construction goes through the C++ parser, so
    a Protocol is always valid on its own (whether it fits a model is checked
    by :func:`osteogrn.simulate`).

    Parameters
    ----------
    name : str
        Protocol name.
    duration : float
        Length of the run in days.
    media_changes : int, float, sequence or dict, optional
        ``3`` (every 3 days), ``[3, 7, 10]`` (on those days), or the JSON form
        ``{"every": 3}`` / ``{"days": [...]}``. None: the medium is never changed.
    components : dict, optional
        name -> {"concentration": c, "unit": u, "half_life": h, "from": a,
        "until": b, "optional": bool}; a field set to None is left out (the form
        :attr:`components` returns, so components can be copied between protocols).
    replace_fraction : float, optional
        Fraction of medium replaced at each change (default 1).
    perturbations : list of dict, optional
        ``{"knockout": S}``, ``{"clamp": S, "value": v}``, ``{"parameter": p,
        "value": v}`` or ``{"parameter": p, "scale": s}``, each with optional
        ``from``/``until``.
    additions : list of dict, optional
        ``{"day": d, "component": c, "concentration": x}`` spikes.
    description : str, optional

    Raises
    ------
    ProtocolError
        If the protocol is invalid; the message names the field.

    Examples
    --------
    >>> p = og.Protocol(name="dex_only", duration=14, media_changes=3,
    ...                 components={"dex": {"concentration": 100, "unit": "nM"}})
    """

    __slots__ = ("_core",)

    @checks_text(ProtocolError)
    def __init__(self, name: str, duration: float, *,
                 media_changes: Any = None,
                 components: Optional[Mapping[str, Mapping[str, Any]]] = None,
                 replace_fraction: Optional[float] = None,
                 perturbations: Optional[Sequence[Mapping[str, Any]]] = None,
                 additions: Optional[Sequence[Mapping[str, Any]]] = None,
                 description: str = "") -> None:
        data: Dict[str, Any] = {"schema": SCHEMA, "name": name, "description": description,
                                "duration": duration}
        if media_changes is not None:
            data["media_changes"] = _media_changes(media_changes)
        if replace_fraction is not None:
            data["replace_fraction"] = replace_fraction
        # None means "absent" (as Protocol.components reports it), so components read from one
        # protocol can be passed straight to another.
        data["components"] = {k: {f: x for f, x in dict(v).items() if x is not None}
                              for k, v in (components or {}).items()}
        if perturbations:
            data["perturbations"] = [dict(p) for p in perturbations]
        if additions:
            data["additions"] = [dict(a) for a in additions]
        self._core = _core.Protocol.from_json(_dumps(data), f"<Protocol {name!r}>")

    @classmethod
    def _wrap(cls, core: "_core.Protocol") -> "Protocol":
        obj = cls.__new__(cls)
        obj._core = core
        return obj

    @classmethod
    @checks_text(ProtocolError)
    def from_json(cls, text: Union[str, bytes, Mapping[str, Any]],
                  source: str = "<string>") -> "Protocol":
        """Parses and validates protocol JSON (text or an already parsed dict).

        Parameters
        ----------
        text : str, bytes or dict
            The protocol in ``osteogrn-protocol/1`` format.
        source : str, optional
            Names the text in error messages.

        Returns
        -------
        Protocol
        """
        if isinstance(text, Mapping):
            text = _dumps(text)
        elif isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        return cls._wrap(_core.Protocol.from_json(str(text), source))

    @classmethod
    @checks_text(ProtocolError)
    def from_file(cls, path: Union[str, "os.PathLike[str]"]) -> "Protocol":
        """Loads a protocol JSON file (see :func:`osteogrn.load_protocol` for names)."""
        return cls._wrap(_core.Protocol.from_file(os.fspath(path)))

    # -- properties -----------------------------------------------------------------
    @property
    def name(self) -> str:
        """The protocol's name."""
        return self._core.name

    @property
    def description(self) -> str:
        """One-line description."""
        return self._core.description

    @property
    def duration(self) -> float:
        """Length of the run (days)."""
        return self._core.duration

    @property
    def replace_fraction(self) -> float:
        """Fraction of the medium replaced at each change."""
        return self._core.replace_fraction

    @property
    def media_changes(self) -> Dict[str, Any]:
        """The media-change rule as in the file: ``{"every": k}`` or ``{"days": [...]}``."""
        return dict(self._core.media_changes)

    @property
    def media_change_days(self) -> np.ndarray:
        """Resolved media-change days in (0, duration], sorted."""
        return np.asarray(self._core.media_change_days(), dtype=float)

    @property
    def components(self) -> Dict[str, Dict[str, Any]]:
        """Components (name -> fields; ``half_life``/``until`` None when absent)."""
        return {k: dict(v) for k, v in self._core.components.items()}

    @property
    def additions(self) -> List[Dict[str, Any]]:
        """Spikes into the well, sorted by day."""
        return list(self._core.additions)

    @property
    def perturbations(self) -> List[Dict[str, Any]]:
        """Perturbations as dicts with kind, target, value, scale, from, until."""
        return list(self._core.perturbations)

    @property
    def source(self) -> str:
        """Where the protocol came from (file path or ``<string>``)."""
        return self._core.source

    # -- edits ----------------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        """The protocol as a JSON-ready dict (``json.loads(self.to_json())``)."""
        return json.loads(self.to_json())

    @checks_text(ProtocolError)
    def with_component(self, name: str, **fields: Any) -> "Protocol":
        """A new protocol with a component added, or with only the given fields replaced.

        Parameters
        ----------
        name : str
            Component name (a model input).
        **fields
            Any of concentration, unit, half_life, ``from_`` (or ``**{"from": d}``),
            until, optional, description. ``half_life=None`` or ``until=None``
            removes the field (stable; until the end of the run).

        Returns
        -------
        Protocol

        Raises
        ------
        ProtocolError
            Unknown field, or a result that is not a valid protocol.
        """
        if "from_" in fields:
            fields["from"] = fields.pop("from_")
        unknown = sorted(set(fields) - set(_COMPONENT_FIELDS))
        if unknown:
            raise ProtocolError(f"with_component: unknown field(s) {', '.join(unknown)}; "
                                f"valid fields: {', '.join(_COMPONENT_FIELDS)}",
                                pointer=f"/components/{name}")
        data = self.to_dict()
        components = data.setdefault("components", {})
        entry = dict(components.get(name, {}))
        for key, value in fields.items():
            if value is None:
                entry.pop(key, None)
            else:
                entry[key] = value
        components[name] = entry
        return Protocol.from_json(_dumps(data), source=f"<{self.name} with {name}>")

    @checks_text(ProtocolError)
    def without_component(self, name: str) -> "Protocol":
        """A new protocol without component ``name`` (ProtocolError if absent, or if an
        addition still refers to it)."""
        data = self.to_dict()
        if name not in data.get("components", {}):
            raise ProtocolError(f"no component '{name}'; components: "
                                f"{', '.join(data.get('components', {})) or '(none)'}")
        del data["components"][name]
        return Protocol.from_json(_dumps(data), source=f"<{self.name} without {name}>")

    def with_duration(self, duration: float) -> "Protocol":
        """A new protocol with another duration (days)."""
        data = self.to_dict()
        data["duration"] = duration
        return Protocol.from_json(_dumps(data), source=f"<{self.name}>")

    # -- serialisation --------------------------------------------------------------
    def to_json(self) -> str:
        """``osteogrn-protocol/1`` JSON; ``Protocol.from_json(p.to_json())`` is equal."""
        return self._core.to_json()

    def __reduce__(self):
        return (_protocol_from_json, (self.to_json(),))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Protocol):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        days = self.media_change_days
        return (f"<osteogrn.Protocol '{self.name}': {self.duration:g} days, "
                f"{len(self._core.components)} components "
                f"({', '.join(self._core.components) or 'none'}), "
                f"{len(days)} media changes>")


def _protocol_from_json(text: str) -> Protocol:
    return Protocol.from_json(text, source="<pickle>")

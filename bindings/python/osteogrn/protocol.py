"""The Protocol class: what the experimenter does to the wells (media, changes, perturbations)."""

from __future__ import annotations

import json
import math
import os
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

if TYPE_CHECKING:  # pandas is imported when a frame is built
    import pandas as pd

from . import _core
from ._text import checks_text
from .errors import ProtocolError

__all__ = ["Protocol"]

SCHEMA = "osteogrn-protocol/1"
_COMPONENT_FIELDS = ("concentration", "unit", "half_life", "from", "until", "optional",
                     "description", "molar_mass", "price")
# Fields of a with_component edit named after the concentration in a derived protocol name.
_NAME_FIELDS = ("half_life", "from", "until", "optional", "molar_mass", "price", "description")


def _dumps(data: Mapping[str, Any]) -> str:
    try:
        return json.dumps(data, allow_nan=False)
    except ValueError:
        raise ProtocolError("a protocol value is NaN or infinite; JSON allows finite numbers "
                            "only (leave 'until' out for 'to the end of the run')") from None
    except TypeError as e:
        raise ProtocolError(f"a protocol value cannot be written as JSON: {e}") from None


def _medium(value: Any) -> Any:
    # Convenience: (2, "mL") -> {"volume": 2, "unit": "mL"}; a dict is passed through.
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return {"volume": value[0], "unit": value[1]}
    return value


def _price(value: Any) -> Any:
    # Convenience: (250, 10, "ug") -> {"value": 250, "per": 10, "unit": "ug"}.
    if isinstance(value, (tuple, list)) and len(value) == 3:
        return {"value": value[0], "per": value[1], "unit": value[2]}
    return value


def _num(value: Any) -> str:
    """A number as it goes into a derived name: shortest exact form, so two different values
    never print alike (100.0 -> '100', 0.1 -> '0.1')."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _token(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, Mapping):  # a price
        return f"{_num(value.get('value'))}/{_num(value.get('per'))}{value.get('unit', '')}"
    if isinstance(value, (list, tuple, np.ndarray)):
        return ",".join(_num(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return _num(value)


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
        "until": b, "optional": bool, "molar_mass": g_per_mol, "price":
        {"value": v, "per": n, "unit": amount_unit}}; a field set to None is left
        out (the form :attr:`components` returns, so components can be copied
        between protocols). A price may also be given as ``(v, n, unit)``.
    replace_fraction : float, optional
        Fraction of medium replaced at each change (default 1).
    perturbations : list of dict, optional
        ``{"knockout": S}``, ``{"clamp": S, "value": v}``, ``{"parameter": p,
        "value": v}`` or ``{"parameter": p, "scale": s}``, each with optional
        ``from``/``until``.
    additions : list of dict, optional
        ``{"day": d, "component": c, "concentration": x}`` spikes.
    description : str, optional
    medium : dict or (float, str), optional
        Medium volume per well, ``{"volume": 2, "unit": "mL"}`` or ``(2, "mL")``
        (units L, mL, uL, µL); needed by :meth:`consumption` and :meth:`cost`.

    Raises
    ------
    ProtocolError
        If the protocol is invalid; the message names the field.

    Examples
    --------
    >>> p = og.Protocol(name="dex_only", duration=14, media_changes=3,
    ...                 components={"dex": {"concentration": 100, "unit": "nM"}},
    ...                 medium=(2, "mL"))
    """

    __slots__ = ("_core",)

    @checks_text(ProtocolError)
    def __init__(self, name: str, duration: float, *,
                 media_changes: Any = None,
                 components: Optional[Mapping[str, Mapping[str, Any]]] = None,
                 replace_fraction: Optional[float] = None,
                 perturbations: Optional[Sequence[Mapping[str, Any]]] = None,
                 additions: Optional[Sequence[Mapping[str, Any]]] = None,
                 description: str = "",
                 medium: Any = None) -> None:
        data: Dict[str, Any] = {"schema": SCHEMA, "name": name, "description": description,
                                "duration": duration}
        if media_changes is not None:
            data["media_changes"] = _media_changes(media_changes)
        if replace_fraction is not None:
            data["replace_fraction"] = replace_fraction
        if medium is not None:
            data["medium"] = _medium(medium)
        # None means "absent" (as Protocol.components reports it), so components read from one
        # protocol can be passed straight to another.
        data["components"] = {k: {f: (_price(x) if f == "price" else x)
                                  for f, x in dict(v).items() if x is not None}
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
    def medium(self) -> Optional[Dict[str, Any]]:
        """Medium volume per well, ``{"volume": v, "unit": u}``, or None if not stated."""
        m = self._core.medium
        return None if m is None else dict(m)

    @property
    def source(self) -> str:
        """Where the protocol came from (file path or ``<string>``)."""
        return self._core.source

    # -- edits ----------------------------------------------------------------------
    # Every edit goes through to_dict -> from_json, so the result is validated by the C++
    # reader exactly like a file. Edits derive a new name unless name= is given, so that the
    # protocols of a sweep or a comparison are told apart (simulate_batch needs unique names).
    def to_dict(self) -> Dict[str, Any]:
        """The protocol as a JSON-ready dict (``json.loads(self.to_json())``)."""
        return json.loads(self.to_json())

    def _edited(self, data: Dict[str, Any], name: Optional[str], derived: str) -> "Protocol":
        data["name"] = derived if name is None else name
        return Protocol.from_json(_dumps(data), source=f"<{data['name']}>")

    def _fail(self, pointer: str, message: str) -> ProtocolError:
        return ProtocolError(f"{self.source}: {pointer}: {message}", file=self.source,
                             pointer=pointer, message=message)

    @checks_text(ProtocolError)
    def with_name(self, name: str) -> "Protocol":
        """The same protocol under another name.

        Parameters
        ----------
        name : str
            The new name (non-empty).

        Returns
        -------
        Protocol
        """
        return self._edited(self.to_dict(), name, name)

    @checks_text(ProtocolError)
    def with_component(self, component: str, *, name: Optional[str] = None,
                       **fields: Any) -> "Protocol":
        """A new protocol with a component added, or with only the given fields replaced.

        Parameters
        ----------
        component : str
            Component name (a model input).
        name : str, optional
            Name of the new protocol. None (default) derives one from the edit:
            ``<name>+<component>=<concentration><unit>``, followed by the other
            edited fields in brackets, e.g. ``osteogenic_medium+bmp2=100ng/mL`` or
            ``om+bmp2=50ng/mL[until=7]``. The same edit gives the same name and
            two different edits give two different names (numbers are written in
            their shortest exact form).
        **fields
            Any of concentration, unit, half_life, ``from_`` (or ``**{"from": d}``),
            until, optional, description, molar_mass (g/mol), price
            (``{"value": v, "per": n, "unit": u}`` or ``(v, n, u)``). A field set to
            None is removed (e.g. ``half_life=None``: stable; ``until=None``: until
            the end of the run).

        Returns
        -------
        Protocol

        Raises
        ------
        ProtocolError
            Unknown field, or a result that is not a valid protocol (the pointer
            names the field).
        """
        if "from_" in fields:
            fields["from"] = fields.pop("from_")
        unknown = sorted(set(fields) - set(_COMPONENT_FIELDS))
        if unknown:
            raise ProtocolError(f"with_component: unknown field(s) {', '.join(unknown)}; "
                                f"valid fields: {', '.join(_COMPONENT_FIELDS)}",
                                pointer=f"/components/{component}")
        if "price" in fields:
            fields["price"] = _price(fields["price"])
        data = self.to_dict()
        components = data.setdefault("components", {})
        entry = dict(components.get(component, {}))
        for key, value in fields.items():
            if value is None:
                entry.pop(key, None)
            else:
                entry[key] = value
        components[component] = entry
        return self._edited(data, name, self.name + "+" +
                            _component_edit(component, fields, entry.get("unit")))

    @checks_text(ProtocolError)
    def without_component(self, component: str, *, name: Optional[str] = None) -> "Protocol":
        """A new protocol without ``component``.

        Parameters
        ----------
        component : str
            The component to remove.
        name : str, optional
            Name of the new protocol; None derives ``<name>-<component>``.

        Returns
        -------
        Protocol

        Raises
        ------
        ProtocolError
            If there is no such component, or an addition still refers to it.
        """
        data = self.to_dict()
        if component not in data.get("components", {}):
            raise ProtocolError(f"no component '{component}'; components: "
                                f"{', '.join(data.get('components', {})) or '(none)'}")
        del data["components"][component]
        return self._edited(data, name, f"{self.name}-{component}")

    @checks_text(ProtocolError)
    def with_media_changes(self, every: Optional[float] = None,
                           days: Optional[Sequence[float]] = None, *,
                           name: Optional[str] = None) -> "Protocol":
        """A new protocol fed on another schedule.

        Parameters
        ----------
        every : float, optional
            Change the medium every ``every`` days (strictly before the end).
        days : sequence of float, optional
            Change the medium on these days (strictly increasing, within the run).
            Give at most one of ``every`` and ``days``; neither means the medium
            is never changed.
        name : str, optional
            Name of the new protocol; None derives
            ``<name>+media_changes.every=<k>``, ``<name>+media_changes.days=<d1,d2>``
            or ``<name>+media_changes=never``.

        Returns
        -------
        Protocol

        Raises
        ------
        ProtocolError
            Both given, or a value the format refuses (pointer
            ``/media_changes/...``).
        """
        data = self.to_dict()
        data.pop("media_changes", None)
        if every is not None and days is not None:
            raise self._fail("/media_changes", "give either 'every' or 'days', not both")
        if every is not None:
            data["media_changes"] = {"every": every}
            derived = f"{self.name}+media_changes.every={_num(every)}"
        elif days is not None:
            day_list = [float(d) for d in days]
            if day_list:
                data["media_changes"] = {"days": day_list}
            derived = f"{self.name}+media_changes.days={_token(day_list) or 'none'}"
        else:
            derived = f"{self.name}+media_changes=never"
        return self._edited(data, name, derived)

    @checks_text(ProtocolError)
    def with_duration(self, duration: float, *, name: Optional[str] = None) -> "Protocol":
        """A new protocol with another duration (days).

        Shortening to ``d`` keeps everything that can still happen before ``d``
        and drops or clips the rest:

        - media-change ``days`` after ``d`` are dropped (``every`` needs no change:
          it already stops before the end);
        - additions after ``d`` are dropped;
        - perturbation windows are clipped to ``d`` (an ``until`` after ``d``
          becomes ``d``; a window without ``until`` still lasts to the end); a
          perturbation starting at or after ``d`` is dropped (it would never hold);
        - component windows are clipped the same way; a component whose window
          starts at or after ``d`` is kept (the model input stays bound and
          additions of it stay valid) but is never supplied: its window becomes
          ``[d, end)``.

        Lengthening changes nothing but the duration (an ``until`` stays where it
        was; ``every`` continues to the new end).

        Parameters
        ----------
        duration : float
            New length of the run in days, > 0.
        name : str, optional
            Name of the new protocol; None derives ``<name>+duration=<d>``.

        Returns
        -------
        Protocol

        Raises
        ------
        ProtocolError
            If ``duration`` is not a positive number (pointer ``/duration``).
        """
        try:
            d = float(duration)
        except (TypeError, ValueError):
            d = float("nan")
        if not (math.isfinite(d) and d > 0):
            raise self._fail("/duration", f"must be a positive number, got {duration!r}")
        data = self.to_dict()
        data["duration"] = d
        if d < self.duration:
            _clip_to(data, d)
        return self._edited(data, name, f"{self.name}+duration={_num(d)}")

    # -- reagent use ----------------------------------------------------------------
    def consumption(self) -> "pd.DataFrame":
        """How much of each component the protocol puts into one well over the run.

        What counts, per component with fresh concentration ``c``, window
        ``[from, until)``, medium volume ``V`` and ``f = replace_fraction``:

        - the day-0 fill: ``c·V`` if day 0 lies in the window;
        - every media change on a day ``t`` inside the window and strictly before
          the end of the run: ``f·c·V`` (the fresh medium that replaces a fraction
          ``f`` of the well);
        - every addition of the component strictly before the end: its
          concentration (in its own unit, converted to the component's) ``·V``.

        Events on the last day are not counted: they affect nothing in the run
        (``every`` never produces one). Decay in the well (``half_life``) does not
        change what was added, and medium removed at a change is not subtracted.

        Returns
        -------
        pandas.DataFrame
            One row per component, in file order: ``component``, ``unit`` (of
            the amount), ``amount``, ``mass_ug`` and ``moles_nmol`` (NaN where the
            conversion needs a molar mass the component does not give, or the
            unit is not a concentration), ``cost`` (NaN for unpriced components).
            ``attrs["units"]`` maps columns to units.

        Raises
        ------
        ProtocolError
            No ``medium`` volume (pointer ``/medium``), or a price that cannot be
            applied (pointer ``/components/<name>/price``, e.g. a price per µg of a
            component in nM without ``molar_mass``).
        """
        import pandas as pd

        frame = pd.DataFrame(self._uses(), columns=["component", "unit", "amount", "mass_ug",
                                                    "moles_nmol", "cost"])
        frame.attrs["units"] = {"amount": "see column unit", "mass_ug": "ug",
                                "moles_nmol": "nmol", "cost": "currency units of the prices"}
        return frame

    def cost(self) -> float:
        """Cost of the reagents one well receives over the run (sum of ``consumption().cost``
        over the priced components), in the currency units of the prices.

        Raises
        ------
        ProtocolError
            As :meth:`consumption` (e.g. no medium volume, pointer ``/medium``),
            or no component has a price (pointer ``/components``).
        """
        # The rows of consumption() without its DataFrame: optimize_protocol prices every
        # point it evaluates. Counted first: no medium volume is the first thing to fix.
        uses = self._uses()
        if not any(c.get("price") for c in self.components.values()):
            raise self._fail("/components", "no component has a price; give one as "
                                            "\"price\": {\"value\": 250, \"per\": 10, "
                                            "\"unit\": \"ug\"}")
        return float(sum(u["cost"] for u in uses if not math.isnan(u["cost"])))

    def _uses(self) -> List[Dict[str, Any]]:
        """One row of :meth:`consumption` per component, in file order."""
        medium = self.medium
        if medium is None:
            raise self._fail("/medium", "counting reagent use needs the medium volume per "
                                        "well; give \"medium\": {\"volume\": 2, \"unit\": "
                                        "\"mL\"} (Protocol(..., medium=(2, \"mL\")))")
        volume_l = _core.convert_unit(medium["volume"], medium["unit"], "L")
        changes = [t for t in self.media_change_days if t < self.duration - self._tol]
        return [self._component_use(comp, c, volume_l, changes)
                for comp, c in self.components.items()]

    @property
    def _tol(self) -> float:
        return 1e-12 * self.duration  # the schedule's tolerance for "on a breakpoint"

    def _component_use(self, comp: str, c: Mapping[str, Any], volume_l: float,
                       changes: Sequence[float]) -> Dict[str, Any]:
        tol = self._tol
        start = c.get("from") or 0.0
        until = c.get("until")
        until = math.inf if until is None else until

        def supplied(day: float) -> bool:  # the engine's rule for fresh medium on `day`
            return start - tol <= day < until - tol

        fresh = float(supplied(0.0)) + self.replace_fraction * sum(
            1.0 for t in changes if supplied(t))
        conc = fresh * c["concentration"]  # in the component's unit, x V below
        pointer = f"/components/{comp}"
        for i, a in enumerate(self.additions):
            if a["component"] != comp or not a["day"] < self.duration - tol:
                continue
            unit = a["unit"] or c["unit"]
            conc += _core.convert_unit(a["concentration"], unit, c["unit"], c.get("molar_mass"))
        dim = _core.unit_dimension(c["unit"])
        mm = c.get("molar_mass")
        mass_ug = moles_nmol = math.nan
        if dim == "molar":
            moles_nmol = _core.convert_unit(conc, c["unit"], "M") * volume_l * 1e9
            if mm:
                mass_ug = moles_nmol * 1e-9 * mm * 1e6
            amount, unit = _natural(moles_nmol * 1e-9, "mol")
        elif dim == "mass concentration":
            mass_ug = _core.convert_unit(conc, c["unit"], "g/L") * volume_l * 1e6
            if mm:
                moles_nmol = mass_ug * 1e-6 / mm * 1e9
            amount, unit = _natural(mass_ug * 1e-6, "g")
        else:  # a unit without a known dimension ("au", ""): concentration x volume
            medium = self.medium or {}
            amount = conc * _core.convert_unit(volume_l, "L", medium.get("unit", "L"))
            unit = f"{c['unit']}*{medium.get('unit', 'L')}" if c["unit"] else medium.get("unit", "L")
        cost = math.nan
        price = c.get("price")
        if price:
            cost = self._price_of(comp, price, mass_ug, moles_nmol, dim, pointer)
        return {"component": comp, "unit": unit, "amount": amount, "mass_ug": mass_ug,
                "moles_nmol": moles_nmol, "cost": cost}

    def _price_of(self, comp: str, price: Mapping[str, Any], mass_ug: float, moles_nmol: float,
                  dim: str, pointer: str) -> float:
        per_dim = _core.unit_dimension(price["unit"])
        have = mass_ug if per_dim == "mass" else moles_nmol
        have_unit = "ug" if per_dim == "mass" else "nmol"
        if math.isnan(have):
            unit = self.components[comp]["unit"]
            if dim in ("molar", "mass concentration"):
                why = (f"the price is per '{price['unit']}' ({per_dim}) and the component is "
                       f"in '{unit}' ({dim}); give the component's molar_mass (g/mol)")
                raise self._fail(pointer + "/molar_mass", why)
            raise self._fail(pointer + "/unit", f"cannot price '{unit}': the component's unit "
                                                "is not a concentration (molar or mass)")
        amount = _core.convert_unit(have, have_unit, price["unit"])
        return amount * price["value"] / price["per"]

    # -- serialisation --------------------------------------------------------------
    def to_json(self) -> str:
        """``osteogrn-protocol/1`` JSON; ``Protocol.from_json(p.to_json())`` is equal."""
        return self._core.to_json()

    # Immutable, so a copy is the object itself. This matters beyond speed of copy.copy: pandas
    # deep-copies DataFrame.attrs on most operations, and sweep frames carry their protocols there.
    def __copy__(self) -> "Protocol":
        return self

    def __deepcopy__(self, memo: Any) -> "Protocol":
        return self

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


def _component_edit(component: str, fields: Mapping[str, Any], unit: Optional[str]) -> str:
    """The readable part of a derived name: ``bmp2=100ng/mL[until=7]`` (``unit``: the
    component's unit after the edit)."""
    text = component
    if "concentration" in fields:
        text += "=" + _token(fields["concentration"]) + str(unit or "")
    elif "unit" in fields:
        text += "=" + str(fields["unit"] or "")
    extra = [f"{k}={_token(fields[k])}" for k in _NAME_FIELDS if k in fields]
    return text + (f"[{','.join(extra)}]" if extra else "")


def _natural(value: float, base: str) -> Tuple[float, str]:
    """``value`` (in g or mol) in the largest of p/n/u/m/- units where it is >= 1."""
    for prefix, scale in (("", 1.0), ("m", 1e-3), ("u", 1e-6), ("n", 1e-9)):
        if abs(value) >= scale:
            return value / scale, prefix + base
    return value / 1e-12, "p" + base


def _clip_to(data: Dict[str, Any], d: float) -> None:
    """The with_duration rule for a shorter run, applied to the JSON form in place."""
    changes = data.get("media_changes", {})
    if "days" in changes:
        kept = [t for t in changes["days"] if t <= d]
        if kept:
            changes["days"] = kept
        else:
            data.pop("media_changes")
    if "additions" in data:
        data["additions"] = [a for a in data["additions"] if a["day"] <= d]
    for c in data.get("components", {}).values():
        if c.get("from", 0.0) >= d:
            c["from"] = d  # never supplied: no fresh medium on or after the end
            c.pop("until", None)
        elif "until" in c and c["until"] > d:  # absent until = to the end, whatever it is
            c["until"] = d
    if "perturbations" in data:
        kept = []
        for p in data["perturbations"]:
            if p.get("from", 0.0) >= d:
                continue
            if "until" in p and p["until"] > d:
                p["until"] = d
            kept.append(p)
        data["perturbations"] = kept

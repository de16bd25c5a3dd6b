"""Units of a model's outputs and inputs, and how tables and figures name them.

A result carries the unit of every species, observable and input as the model states it (the
``unit`` field of the model file) and the model's time unit; tables keep them in
``frame.attrs["units"]`` (and a ``unit`` column in tidy form), CSV headers and plot axes show
them as ``name [unit]``.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["model_units", "unit_label", "with_unit_headers"]

#: The time unit of results made before results carried units (the engine's only time unit).
DEFAULT_TIME_UNIT = "day"


# Compiled model -> its units. Reading them from the binding costs ~60 us (every species,
# observable and input as a dict), 5-7 % of a short simulation: simulate() reads them once per
# model object. Weak keys: a model that is no longer used is not kept alive by the cache.
_CACHE: "weakref.WeakKeyDictionary[Any, Dict[str, str]]" = weakref.WeakKeyDictionary()


def model_units(model: Any) -> Dict[str, str]:
    """Name -> unit of every species, observable and input of a :class:`~osteogrn.Model`.

    Read from the compiled model (the C++ ``Model``), so the units are the model file's. The
    dict is shared between calls for one model: do not modify it.
    """
    core = model._core
    units = _CACHE.get(core)
    if units is None:
        units = {}
        for rows in (core.species, core.observables, core.inputs):
            for row in rows:
                units.setdefault(str(row["name"]), str(row["unit"]))
        _CACHE[core] = units
    return units


def unit_label(name: str, unit: Optional[str]) -> str:
    """``"ALP [au]"``; the bare name for a unitless quantity (empty or unknown unit)."""
    return f"{name} [{unit}]" if unit else str(name)


def with_unit_headers(frame: "pd.DataFrame", units: Optional[Mapping[str, str]] = None
                      ) -> "pd.DataFrame":
    """A copy of ``frame`` whose column and index names carry their unit, for CSV.

    Parameters
    ----------
    frame : pandas.DataFrame
        A table from ``to_frame``.
    units : mapping, optional
        Column -> unit (default ``frame.attrs["units"]``); a column without one keeps its name.

    Returns
    -------
    pandas.DataFrame
        E.g. columns ``ALP [au]``, index ``time [day]``.
    """
    units = dict(frame.attrs.get("units", {}) if units is None else units)
    out = frame.rename(columns={c: unit_label(c, units.get(c)) for c in frame.columns})
    if frame.index.name is not None and frame.index.name in units:
        out.index = out.index.rename(unit_label(frame.index.name, units[frame.index.name]))
    return out

"""The reagent table: molar masses of the reagents behind the built-in model inputs.

The table is ``models/reagents/reagents.json`` (shipped with the package): per model
input name, the molar mass in g/mol, the chemical form it refers to and its source.
The built-in protocol presets state the same ``molar_mass`` on their components.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Dict, Tuple

import pandas as pd

from .errors import OptionError
from .library import models_dir

__all__ = ["reagents", "reagent", "molar_mass", "reagents_path"]

_COLUMNS = ("input", "name", "molar_mass", "form", "source")


def reagents_path() -> Path:
    """The reagent table file (``models/reagents/reagents.json``)."""
    return models_dir() / "reagents" / "reagents.json"


@functools.lru_cache(maxsize=1)
def _table() -> Tuple[Tuple[str, Dict[str, Any]], ...]:
    with open(reagents_path(), encoding="utf-8") as f:
        data = json.load(f)
    return tuple((name, dict(entry)) for name, entry in data["reagents"].items())


def reagents() -> pd.DataFrame:
    """The built-in reagents as a table.

    Returns
    -------
    pandas.DataFrame
        One row per model input, in the file's order: ``input`` (the model input
        and protocol component name), ``name`` (the reagent), ``molar_mass``
        (g/mol), ``form`` (the chemical form the molar mass refers to: salt,
        hydrate, monomer or dimer) and ``source`` (PubChem CID and formula, the
        vendor datasheet or paper, or ``assumed:`` with the reason).
        ``attrs["units"]`` gives ``{"molar_mass": "g/mol"}``.

    Examples
    --------
    >>> og.reagents().set_index("input").loc["bgp", "molar_mass"]
    216.04
    """
    frame = pd.DataFrame([{"input": name, **{k: e.get(k) for k in _COLUMNS[1:]}}
                          for name, e in _table()], columns=list(_COLUMNS))
    frame.attrs["units"] = {"molar_mass": "g/mol"}
    return frame


def reagent(name: str) -> Dict[str, Any]:
    """One reagent's entry: name, molar_mass (g/mol), form, source.

    Parameters
    ----------
    name : str
        A model input name, e.g. ``"bgp"``.

    Raises
    ------
    OptionError
        If the table has no such reagent (the message lists those it has).
    """
    table = dict(_table())
    if name not in table:
        raise OptionError(f"no reagent '{name}' in {reagents_path().name}; reagents: "
                          f"{', '.join(table)}")
    return dict(table[name])


def molar_mass(name: str) -> float:
    """The molar mass (g/mol) of a built-in reagent, e.g. ``molar_mass("bgp") == 216.04``.

    Raises
    ------
    OptionError
        If the table has no such reagent.
    """
    return float(reagent(name)["molar_mass"])

"""Tidy marker tables: reading, validation and the mapping of conditions to protocols."""

from __future__ import annotations

import math
import os
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from ..errors import OsteogrnError
from ..model import Model
from ..protocol import Protocol

__all__ = ["DataError", "FitData", "simulate_data", "REQUIRED_COLUMNS", "OPTIONAL_COLUMNS"]

#: Columns every data table needs.
REQUIRED_COLUMNS = ("condition", "time", "observable", "value")
#: Columns a data table may have.
OPTIONAL_COLUMNS = ("sigma", "replicate", "donor", "reference_condition", "reference_time",
                    "group")


class DataError(OsteogrnError, ValueError):
    """A data table that cannot be fitted.

    Attributes
    ----------
    column : str
        The offending column ("" if the problem is the whole table).
    value : object
        The offending value (None if not one value).
    row : int or None
        0-based row of the table, where one row is at fault.
    """

    column: str
    value: Any
    row: Optional[int]

    def __init__(self, message: str = "", /, *, column: str = "", value: Any = None,
                 row: Optional[int] = None) -> None:
        super().__init__(message, column=column, value=value, row=row)


def _read_table(data: Any) -> "Any":
    import pandas as pd
    if isinstance(data, FitData):
        return data.table.copy()
    if isinstance(data, pd.DataFrame):
        return data.copy()
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        if not os.path.isfile(path):
            raise DataError(f"data file {path!r} does not exist", value=path)
        try:
            return pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
            raise DataError(f"data file {path!r} is not a readable CSV table: {e}",
                            value=path) from None
    raise DataError("data must be a CSV path or a pandas DataFrame, got "
                    f"{type(data).__name__}", value=type(data).__name__)


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


class FitData:
    """A validated tidy table of measurements, bound to a model and protocols.

    Parameters
    ----------
    data : str, os.PathLike or pandas.DataFrame
        Columns ``condition`` (protocol name), ``time`` (days), ``observable``
        (a species or observable of the model), ``value``; optional columns:

        ``sigma``
            Noise standard deviation, > 0 (for log-normal noise the SD of the
            natural log of the value). May be empty for some rows: those rows
            get the Observation's sigma, or an estimated one.
        ``reference_condition``, ``reference_time``
            A row with either set is a ratio (a fold change):
            ``prediction = h(time, condition) / h(reference_time or time,
            reference_condition or condition)``, h the model output. Fold change
            relative to day 0 of the same condition: ``reference_time = 0``;
            relative to another condition at the same day:
            ``reference_condition = X``. The reference condition is resolved like
            ``condition``; the reference time must lie within its duration. A
            ratio is scale-free: no scale or offset of the observation model
            applies to such rows (any observation scale cancels), only the noise.
        ``group``
            Observation parameters (estimated or analytic scale and offset,
            estimated sigma) are per (observable, group), e.g. one group per
            study when studies report ALP in different units. Without the column
            (or where it is empty) every row is in one group.
        ``replicate``, ``donor``
            Kept, not used by the objective: every row is one measurement.
    model : Model
        The model whose outputs the observables name.
    protocols : mapping, optional
        Condition name -> :class:`Protocol` (or a built-in protocol name /
        JSON path). Conditions not in the mapping must be built-in protocol
        names.

    Raises
    ------
    DataError
        Missing columns, an empty table, NaNs, non-numeric or negative times,
        times beyond a protocol's duration, unknown conditions or observables,
        non-positive sigma, unknown reference conditions, reference times
        beyond a duration — the message names the column, the row and the value.
    """

    def __init__(self, data: Any, model: Model,
                 protocols: Optional[Mapping[str, Union[Protocol, str]]] = None) -> None:
        import pandas as pd
        table = _read_table(data)
        if not isinstance(model, Model):
            raise DataError(f"model must be an og.Model, got {type(model).__name__}")
        table.columns = [str(c).strip() for c in table.columns]
        for col in REQUIRED_COLUMNS:
            if col not in table.columns:
                raise DataError(f"data table has no column {col!r} (columns: "
                                f"{', '.join(map(str, table.columns)) or 'none'}); required: "
                                f"{', '.join(REQUIRED_COLUMNS)}", column=col)
        if len(table) == 0:
            raise DataError("data table is empty: nothing to fit")
        table = table.reset_index(drop=True)
        for col in ("condition", "observable"):
            miss = table[col].isna().to_numpy()
            if miss.any():
                i = _first_bad(miss)
                raise DataError(f"column {col!r} is missing a value in row {i}", column=col,
                                value=None, row=i)
            table[col] = table[col].astype(str).str.strip()
        numeric = ["time", "value"] + [c for c in ("sigma", "reference_time")
                                       if c in table.columns]
        for col in numeric:
            conv = pd.to_numeric(table[col], errors="coerce")
            bad = conv.isna().to_numpy() | ~np.isfinite(conv.to_numpy(dtype=float))
            if col in ("sigma", "reference_time"):
                # Optional per row: empty cells mean "none"; text or inf is still an error.
                bad &= ~table[col].isna().to_numpy()
            if bad.any():
                i = _first_bad(bad)
                raise DataError(f"column {col!r} has a NaN or non-numeric value "
                                f"{table[col].iloc[i]!r} in row {i}", column=col,
                                value=table[col].iloc[i], row=i)
            table[col] = conv.astype(float)
        t = table["time"].to_numpy()
        if (t < 0).any():
            i = _first_bad(t < 0)
            raise DataError(f"column 'time' has a negative time {t[i]:g} in row {i}",
                            column="time", value=float(t[i]), row=i)
        if "sigma" in table.columns:
            s = table["sigma"].to_numpy()
            if (s <= 0).any():  # NaN (no sigma) compares False
                i = _first_bad(s <= 0)
                raise DataError(f"column 'sigma' must be > 0, got {s[i]:g} in row {i}",
                                column="sigma", value=float(s[i]), row=i)
        outputs = list(model.species) + list(model.observables)
        for i, name in enumerate(table["observable"]):
            if name not in outputs:
                raise DataError(f"column 'observable' names {name!r} (row {i}), which is not a "
                                f"species or observable of model {model.name!r}; valid: "
                                f"{', '.join(model.observables)} or a species",
                                column="observable", value=name, row=i)
        self.protocols: Dict[str, Protocol] = {}
        for name in dict.fromkeys(table["condition"]):
            self.protocols[name] = resolve_protocol(name, protocols, column="condition")
        for i, (cond, ti) in enumerate(zip(table["condition"], t)):
            dur = self.protocols[cond].duration
            if ti > dur:
                raise DataError(f"column 'time' has time {ti:g} in row {i}, beyond the "
                                f"{dur:g}-day duration of condition {cond!r}", column="time",
                                value=float(ti), row=i)
        self._extra_protocols = dict(protocols or {})
        self._references(table, t)
        if "group" in table.columns:
            table["group"] = pd.Series(["" if pd.isna(g) else str(g).strip()
                                        for g in table["group"]], dtype=object,
                                       index=table.index)
        self.table = table
        self.model = model

    def _references(self, table: "Any", t: np.ndarray) -> None:
        """Validates reference_condition / reference_time (ratio rows)."""
        import pandas as pd
        self.reference_protocols: Dict[str, Protocol] = {}
        has_rc = "reference_condition" in table.columns
        has_rt = "reference_time" in table.columns
        if has_rc:
            rc = table["reference_condition"]
            table["reference_condition"] = pd.Series(
                [None if pd.isna(v) or str(v).strip() == "" else str(v).strip() for v in rc],
                dtype=object, index=table.index)
            for i, name in enumerate(table["reference_condition"]):
                if name is None or name in self.reference_protocols:
                    continue
                try:
                    self.reference_protocols[name] = (
                        self.protocols[name] if name in self.protocols else
                        resolve_protocol(name, self._extra_protocols,
                                         column="reference_condition"))
                except DataError as e:
                    raise DataError(f"{e} (row {i})", column="reference_condition", value=name,
                                    row=i) from None
        if has_rt:
            rt = table["reference_time"].to_numpy(dtype=float)
            neg = rt < 0
            if neg.any():
                i = _first_bad(neg)
                raise DataError(f"column 'reference_time' has a negative time {rt[i]:g} in row "
                                f"{i}", column="reference_time", value=float(rt[i]), row=i)
        for i in range(len(table)):
            ref = table["reference_condition"].iloc[i] if has_rc else None
            rti = float(table["reference_time"].iloc[i]) if has_rt else math.nan
            if ref is None and math.isnan(rti):
                continue
            cond = ref if ref is not None else table["condition"].iloc[i]
            dur = self.protocol(cond).duration
            when = t[i] if math.isnan(rti) else rti
            if when > dur:
                col = "reference_time" if not math.isnan(rti) else "reference_condition"
                raise DataError(f"column {col!r} in row {i}: the reference is day {when:g} of "
                                f"condition {cond!r}, beyond its {dur:g}-day duration",
                                column=col, value=(float(rti) if col == "reference_time"
                                                   else cond), row=i)

    def reference(self, row: int) -> Optional[Tuple[str, float]]:
        """(reference condition, reference time) of a ratio row, None for other rows."""
        tb = self.table
        ref = tb["reference_condition"].iloc[row] if "reference_condition" in tb.columns else None
        rt = float(tb["reference_time"].iloc[row]) if "reference_time" in tb.columns else math.nan
        if ref is None and math.isnan(rt):
            return None
        return (ref if ref is not None else str(tb["condition"].iloc[row]),
                float(tb["time"].iloc[row]) if math.isnan(rt) else rt)

    @property
    def groups(self) -> np.ndarray:
        """The group of every row ("" without a ``group`` column)."""
        if "group" in self.table.columns:
            return self.table["group"].to_numpy(dtype=object)
        return np.full(len(self.table), "", dtype=object)

    def sigma_values(self) -> np.ndarray:
        """The ``sigma`` of every row, NaN where the data give none."""
        if "sigma" in self.table.columns:
            return self.table["sigma"].to_numpy(dtype=float)
        return np.full(len(self.table), np.nan)

    @property
    def conditions(self) -> List[str]:
        """Condition names in order of first appearance."""
        return list(self.protocols)

    @property
    def observables(self) -> List[str]:
        """Observable names in order of first appearance."""
        return list(dict.fromkeys(self.table["observable"]))

    @property
    def has_sigma(self) -> bool:
        """True if every row has a ``sigma`` value."""
        return bool(np.isfinite(self.sigma_values()).all())

    def protocol(self, name: str) -> Protocol:
        """The protocol of a data condition or of another resolvable condition name."""
        if name in self.protocols:
            return self.protocols[name]
        if name in getattr(self, "reference_protocols", {}):
            return self.reference_protocols[name]
        return resolve_protocol(name, self._extra_protocols, column="reference")

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        return (f"FitData({len(self)} rows, conditions={self.conditions}, "
                f"observables={self.observables})")


def resolve_protocol(name: str, protocols: Optional[Mapping[str, Any]], *,
                     column: str) -> Protocol:
    """Maps a condition name to a Protocol (the mapping first, then the built-ins)."""
    from ..library import list_protocols, load_protocol
    if protocols and name in protocols:
        p = protocols[name]
        if isinstance(p, Protocol):
            return p
        if isinstance(p, (str, os.PathLike)):
            return load_protocol(p)
        raise DataError(f"protocols[{name!r}] must be an og.Protocol or a protocol name/path, "
                        f"got {type(p).__name__}", column=column, value=name)
    if name in list_protocols():
        return load_protocol(name)
    raise DataError(f"column {column!r} names condition {name!r}, which is neither in "
                    f"protocols= nor a built-in protocol ({', '.join(list_protocols())})",
                    column=column, value=name)


def simulate_data(model: Model, protocols: Mapping[str, Union[Protocol, str]],
                  times: Any, observables: Any, *, noise: str = "lognormal",
                  cv: float = 0.05, replicates: int = 1, seed: Any = 0,
                  parameters: Optional[Mapping[str, float]] = None,
                  rtol: float = 1e-10, atol: float = 1e-14) -> "Any":
    """A synthetic tidy table: model outputs with multiplicative noise.

    ``value = x * exp(cv * eps)`` (noise="lognormal", sigma column = cv, the SD of
    ln value) or ``x * (1 + cv * eps)`` (noise="additive", sigma = cv * x), eps
    standard normal from ``numpy.random.default_rng(seed)``.
    """
    import pandas as pd
    from ..simulation import simulate
    if noise not in ("lognormal", "additive"):
        raise DataError(f"noise must be 'lognormal' or 'additive', got {noise!r}", value=noise)
    rng = np.random.default_rng(seed)
    times = np.asarray(times, dtype=float)
    rows = []
    for cond, proto in protocols.items():
        proto = resolve_protocol(cond, protocols, column="condition")
        res = simulate(model, proto, t=times, parameters=parameters, rtol=rtol, atol=atol)
        for obs in observables:
            x = res[obs]
            for rep in range(int(replicates)):
                eps = rng.standard_normal(len(times))
                if noise == "lognormal":
                    value, sigma = x * np.exp(cv * eps), np.full(len(times), cv)
                else:
                    value, sigma = x * (1.0 + cv * eps), cv * np.abs(x)
                for t, v, s in zip(times, value, sigma):
                    rows.append({"condition": cond, "time": float(t), "observable": obs,
                                 "value": float(v), "sigma": float(s), "replicate": rep + 1})
    return pd.DataFrame(rows)

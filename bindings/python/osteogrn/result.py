"""The Result class: time courses, solver statistics and status of one simulation."""

from __future__ import annotations

import enum
import json
import math
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

import numpy as np

from . import _core
from ._units import DEFAULT_TIME_UNIT

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["Result", "ReturnCode"]


class _ReturnCodeBase(str, enum.Enum):
    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    @property
    def hint(self) -> str:
        """What to do about a failure with this code ("" for success)."""
        return str(_core.return_code_hint(getattr(_core.ReturnCode, self.value)))


#: How an integration ended, the same codes for every method (C++ ``osteogrn::ReturnCode``;
#: the members are read from the binding, so they are stated once). Each member equals its
#: name as a string: ``res.status == "success"``, ``res.status is og.ReturnCode.success``.
ReturnCode = _ReturnCodeBase("ReturnCode",  # type: ignore[call-arg]
                             [(n, n) for n in _core.ReturnCode.__members__],
                             module=__name__, qualname="ReturnCode")
ReturnCode.__doc__ = """How an integration ended; the same members for every method.

    success, max_steps (CV_TOO_MUCH_WORK, odeint's step limit), step_too_small (step size
    underflow, accuracy beyond double precision), convergence_failure, error_test_failure,
    linear_solver_failure, rhs_failure, non_finite (the model produced NaN/Inf), cancelled
    (Ctrl-C, a cancelled batch), too_close (a sample time too close to the previous one), other.
    A member equals its name as a string and prints as it; ``code.hint`` says what to do.
    """

#: ReturnCode members by their C++ integer value.
_CODES_BY_VALUE = tuple(ReturnCode(name) for name, _ in
                        sorted(_core.ReturnCode.__members__.items(), key=lambda kv: int(kv[1])))


def return_codes(values: Any) -> np.ndarray:
    """C++ ReturnCode integers (any shape) -> an object array of :class:`ReturnCode`."""
    table = np.empty(len(_CODES_BY_VALUE), dtype=object)
    table[:] = _CODES_BY_VALUE
    return table[np.asarray(values, dtype=np.intp)]

_ARRAYS = ("t", "species", "observables", "inputs", "sensitivities", "media_change_days",
           "breakpoints", "step_log")
_LISTS = ("species_names", "observable_names", "input_names", "sensitivity_parameters")
_SCALARS = ("model_name", "protocol_name", "method", "success", "status", "message", "flag",
            "failure_time")


def _nan_to_none(x: Any) -> Any:
    if isinstance(x, list):
        return [_nan_to_none(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


class Result:
    """Time courses of one simulation.

    Attributes
    ----------
    t : numpy.ndarray
        Sample times (days), shape (n_t,).
    species : numpy.ndarray
        Species values, shape (n_t, n_species), columns ``species_names``.
    observables : numpy.ndarray
        Observable values, shape (n_t, n_observables), columns ``observable_names``.
    inputs : numpy.ndarray
        Input (medium) values in the model's units, shape (n_t, n_inputs).
    sensitivities : numpy.ndarray
        d output / d parameter, shape (n_t, len(output_names), n_sens_params): entry
        [i, k, j] is d output_names[k] / d sensitivity_parameters[j] at t[i]; empty
        (last axis 0) unless requested with ``simulate(..., sensitivities=[...])``.
    sensitivity_parameters : list of str
        The parameters of the last axis of ``sensitivities``.
    media_change_days, breakpoints : numpy.ndarray
        Days of media changes; every breakpoint the integrator stopped at.
    stats : dict
        Solver counters (steps, rhs_evals, jac_evals, ..., wall_seconds; with
        sensitivities also sens_rhs_evals and sens_nonlin_iters).
    status : ReturnCode
        How the integration ended: ``ReturnCode.success``, or the failure's code (with
        ``raise_on_failure=False``). Equal to its name as a string.
    message : str
        The failure message, with a hint on what to do (``""`` on success).
    flag : str
        The solver's raw flag name of a failure, e.g. ``CV_TOO_MUCH_WORK`` (``""`` on
        success).
    success : bool
        False if the integration failed (``status != "success"``); samples after
        ``failure_time`` are NaN.
    units : dict of str to str
        Unit of every species, observable and input, as the model file states it (``""``
        for a unitless one; empty for a result written before results carried units).
    time_unit : str
        Unit of ``t``: the model's time unit (``"day"``).
    sbml_symbols : dict
        For a model imported from SBML: SBML id -> where the symbol's value lives in this
        run (a ``column``, a constant ``value``, or why it is ``unavailable``); empty
        otherwise. See :meth:`__getitem__`, :meth:`amount`, :meth:`concentration`.

    Notes
    -----
    ``res["name"]`` gives the time course of any species, observable or input, and for a
    model imported from SBML, of any SBML compartment, species, parameter, species reference
    or reaction id (the value the SBML symbol means).
    A Result owns plain numpy arrays: it pickles, and round-trips through
    :meth:`to_json` / :meth:`from_json`.
    """

    t: np.ndarray
    species: np.ndarray
    observables: np.ndarray
    inputs: np.ndarray
    sensitivities: np.ndarray
    media_change_days: np.ndarray
    breakpoints: np.ndarray
    step_log: np.ndarray
    species_names: List[str]
    observable_names: List[str]
    input_names: List[str]
    sensitivity_parameters: List[str]
    model_name: str
    protocol_name: str
    method: str
    success: bool
    status: "ReturnCode"
    message: str
    flag: str
    failure_time: float
    stats: Dict[str, float]
    units: Dict[str, str]
    time_unit: str
    sbml_symbols: Dict[str, Dict[str, Any]]

    def __init__(self, data: Dict[str, Any]) -> None:
        for key in _ARRAYS:
            self.__dict__[key] = np.asarray(data[key], dtype=float)
        for key in _LISTS:
            self.__dict__[key] = [str(x) for x in data[key]]
        for key in _SCALARS:
            self.__dict__[key] = data[key]
        self.__dict__["status"] = ReturnCode(str(data["status"]))
        self.__dict__["stats"] = dict(data["stats"])
        # Units came later than the other fields: a result written before has none.
        self.__dict__["units"] = {str(k): str(v) for k, v in (data.get("units") or {}).items()}
        self.__dict__["time_unit"] = str(data.get("time_unit") or DEFAULT_TIME_UNIT)
        self.__dict__["sbml_symbols"] = {str(k): dict(v) for k, v in
                                         (data.get("sbml_symbols") or {}).items()}
        n_t = len(self.t)
        shapes = {"species": (n_t, len(self.species_names)),
                  "observables": (n_t, len(self.observable_names)),
                  "inputs": (n_t, len(self.input_names)),
                  "sensitivities": (n_t, len(self.output_names), len(self.sensitivity_parameters)),
                  "step_log": (-1, 2)}
        for key, shape in shapes.items():
            self.__dict__[key] = self.__dict__[key].reshape(shape)

    @classmethod
    def _from_core(cls, core: Any, units: Optional[Dict[str, str]] = None,
                   time_unit: str = DEFAULT_TIME_UNIT,
                   sbml_symbols: Optional[Dict[str, Dict[str, Any]]] = None) -> "Result":
        data = {key: getattr(core, key) for key in _ARRAYS + _LISTS + _SCALARS + ("stats",)}
        data["status"] = core.status.name
        data["units"] = units or {}
        data["time_unit"] = time_unit
        data["sbml_symbols"] = sbml_symbols or {}
        return cls(data)

    def __setstate__(self, state: Dict[str, Any]) -> None:
        # a Result pickled before results carried units
        state.setdefault("units", {})
        state.setdefault("time_unit", DEFAULT_TIME_UNIT)
        state.setdefault("sbml_symbols", {})
        self.__dict__.update(state)

    # -- access ---------------------------------------------------------------------
    @property
    def output_names(self) -> List[str]:
        """Species names, then observable names: the columns of ``sensitivities``."""
        return self.species_names + self.observable_names

    @property
    def names(self) -> List[str]:
        """Every name ``res[...]`` accepts: species, observables, inputs."""
        return self.species_names + self.observable_names + self.input_names

    @property
    def sbml_ids(self) -> List[str]:
        """The SBML ids ``res[...]`` accepts (empty unless the model was imported from SBML)."""
        return list(self.sbml_symbols)

    def __getitem__(self, name: str) -> np.ndarray:
        """Time course of an SBML id (for a model imported from SBML), else of a species,
        observable or input (in that order of lookup).

        An SBML id gives the value the SBML symbol means: a species' concentration, or its
        amount if it has ``hasOnlySubstanceUnits`` (see :meth:`amount` and
        :meth:`concentration` for the other one); the size of a compartment; a parameter's or
        species reference's value (a constant array for a constant symbol); a reaction's
        rate. An SBML id is looked up first: an input named like an unrelated SBML id (by
        ``import_sbml(inputs=...)``) stays readable as ``res.inputs``.

        Raises
        ------
        KeyError
            Listing the valid names; or naming an SBML id without a value (a compartment
            without a size, a parameter under a protocol's perturbation window) and why.
        """
        entry = self.sbml_symbols.get(name) if isinstance(name, str) else None
        if entry is not None:
            return self._sbml_value(name, entry)
        return self._column(name)

    def _column(self, name: str) -> np.ndarray:
        for names, table in ((self.species_names, self.species),
                             (self.observable_names, self.observables),
                             (self.input_names, self.inputs)):
            if name in names:
                return table[:, names.index(name)]
        ids = f"; SBML ids: {', '.join(self.sbml_symbols)}" if self.sbml_symbols else ""
        raise KeyError(f"no species, observable or input named {name!r}; valid names: "
                       f"{', '.join(self.names)}{ids}")

    def _sbml_value(self, sid: str, entry: Dict[str, Any]) -> np.ndarray:
        if entry.get("column"):
            return self._column(entry["column"])
        if "value" in entry:
            values = np.full(len(self.t), float(entry["value"]))
            if not self.success and self.species.shape[1]:
                values[np.isnan(self.species[:, 0])] = np.nan  # NaN after a failure, as columns
            return values
        raise KeyError(f"SBML {entry.get('kind', 'symbol')} {sid!r} has no value in this "
                       f"result: {entry.get('unavailable', 'unknown')}")

    def _species_entry(self, sid: str) -> Dict[str, Any]:
        entry = self.sbml_symbols.get(sid)
        if entry is None or entry.get("kind") != "species":
            raise KeyError(f"{sid!r} is not the id of an SBML species of the model"
                           + ("" if self.sbml_symbols else " (the model was not imported "
                              "from SBML)"))
        return entry

    def amount(self, sbml_id: str) -> np.ndarray:
        """Amount of an SBML species over time (substance units).

        ``res[sbml_id]`` if the species has ``hasOnlySubstanceUnits``, else its
        concentration times the size of its compartment, ``res[sbml_id] *
        res[compartment]``.

        Raises
        ------
        KeyError
            Not a species id, or its compartment has no size.
        """
        entry = self._species_entry(sbml_id)
        values = self[sbml_id]
        return values if entry["amount"] else values * self[entry["compartment"]]

    def concentration(self, sbml_id: str) -> np.ndarray:
        """Concentration of an SBML species over time (substance per size).

        ``res[sbml_id]`` unless the species has ``hasOnlySubstanceUnits``, then its amount
        over the size of its compartment, ``res[sbml_id] / res[compartment]``.

        Raises
        ------
        KeyError
            Not a species id, or its compartment has no size.
        """
        entry = self._species_entry(sbml_id)
        values = self[sbml_id]
        return values / self[entry["compartment"]] if entry["amount"] else values

    def __contains__(self, name: object) -> bool:
        return name in self.names or name in self.sbml_symbols

    def __len__(self) -> int:
        return len(self.t)

    def to_frame(self, tidy: bool = False,
                 kinds: Sequence[str] = ("species", "observable", "input")) -> "pd.DataFrame":
        """The time courses as a pandas DataFrame.

        Parameters
        ----------
        tidy : bool, optional
            False (default): wide, index ``t``, one column per name. True: long
            format with columns ``time, name, kind, value, unit``.
        kinds : sequence of str, optional
            Which of "species", "observable", "input" to include.

        Returns
        -------
        pandas.DataFrame
            ``frame.attrs["units"]`` maps each column with a unit (and the index ``t``, or
            the column ``time`` of the tidy form) to its unit, e.g. ``{"t": "day",
            "ALP": "au", ...}``; the tidy form also has the unit of each row's name in its
            ``unit`` column. ``osteogrn simulate -o`` writes them into the CSV headers,
            ``ALP [au]``.
        """
        import pandas as pd
        blocks = {"species": (self.species_names, self.species),
                  "observable": (self.observable_names, self.observables),
                  "input": (self.input_names, self.inputs)}
        bad = [k for k in kinds if k not in blocks]
        if bad:
            raise ValueError(f"unknown kind(s) {bad}; valid: {list(blocks)}")
        if not tidy:
            columns: Dict[str, np.ndarray] = {}
            for kind in kinds:
                names, table = blocks[kind]
                for j, name in enumerate(names):
                    columns.setdefault(name, table[:, j])
            frame = pd.DataFrame(columns, index=pd.Index(self.t, name="t"))
            frame.attrs["units"] = {"t": self.time_unit,
                                    **{c: self.units.get(c, "") for c in columns}}
            return frame
        parts = []
        for kind in kinds:
            names, table = blocks[kind]
            if not names:
                continue
            n_t = len(self.t)
            parts.append(pd.DataFrame({
                "time": np.tile(self.t, len(names)),
                "name": np.repeat(np.asarray(names, dtype=object), n_t),
                "kind": kind,
                "value": table.T.reshape(-1),
                "unit": np.repeat(np.asarray([self.units.get(n, "") for n in names],
                                             dtype=object), n_t),
            }))
        if not parts:
            frame = pd.DataFrame({"time": [], "name": [], "kind": [], "value": [], "unit": []})
        else:
            frame = pd.concat(parts, ignore_index=True)
        frame.attrs["units"] = {"time": self.time_unit}
        return frame

    def plot(self, names: Optional[Sequence[str]] = None, *, ncols: int = 3,
             figsize: Optional[Sequence[float]] = None, label: Optional[str] = None) -> "Figure":
        """Plots time courses: one panel per observable (or per given name).

        Media changes are marked as dotted vertical lines.

        Parameters
        ----------
        names : sequence of str, optional
            What to plot; default all observables (all species if the model has
            none).
        ncols : int, optional
            Panels per row.
        figsize : (float, float), optional
            Figure size in inches.
        label : str, optional
            Legend label of the line (default: the protocol name).

        Returns
        -------
        matplotlib.figure.Figure
            Not attached to pyplot: save it with ``fig.savefig(...)``; Jupyter
            shows it when it is the value of a cell.
        """
        from .plotting import plot_results
        return plot_results({label or self.protocol_name: self}, names=names, ncols=ncols,
                            figsize=figsize)

    # -- serialisation --------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        """Plain-Python dict of every field (NaN written as None)."""
        data: Dict[str, Any] = {key: _nan_to_none(getattr(self, key).tolist()) for key in _ARRAYS}
        data.update({key: list(getattr(self, key)) for key in _LISTS})
        data.update({key: getattr(self, key) for key in _SCALARS})
        data["status"] = str(self.status)
        data["failure_time"] = _nan_to_none(float(self.failure_time))
        data["stats"] = dict(self.stats)
        data["units"] = dict(self.units)
        data["time_unit"] = self.time_unit
        data["sbml_symbols"] = {k: dict(v) for k, v in self.sbml_symbols.items()}
        return data

    def to_json(self) -> str:
        """JSON text of the result; :meth:`from_json` reads it back exactly."""
        return json.dumps(self.to_dict(), allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> "Result":
        """Reads a result written by :meth:`to_json`."""
        data = json.loads(text)
        for key in _ARRAYS:
            data[key] = _none_to_nan(data[key])
        if data.get("failure_time") is None:
            data["failure_time"] = float("nan")
        if "message" not in data:  # written before ReturnCode: status was the message
            old = str(data.get("status", "success"))
            data["status"] = "success" if old == "success" else "other"
            data["message"] = "" if old == "success" else old
            data.setdefault("flag", "")
        return cls(data)

    def __repr__(self) -> str:
        return (f"<osteogrn.Result {self.model_name!r} under {self.protocol_name!r}: "
                f"{len(self.t)} times, {len(self.species_names)} species, "
                f"{len(self.observable_names)} observables, status={str(self.status)!r}>")


def _none_to_nan(x: Any) -> Any:
    if isinstance(x, list):
        return [_none_to_nan(v) for v in x]
    return float("nan") if x is None else x

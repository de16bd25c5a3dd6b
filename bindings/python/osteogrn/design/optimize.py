"""optimize_protocol(): the best doses, windows and feeding schedule under a budget.

The optimiser is SciPy's differential evolution (:func:`scipy.optimize.differential_evolution`).
It was chosen over a gradient method, Bayesian optimisation (scikit-optimize, optuna) and a
hand-written search because it is the one well-kept optimiser that fits this problem as posed:

- it is derivative-free, so a readout such as ``argmax(ALP)`` or ``time_to(mineral, 1)`` (piecewise
  constant in a dose) and a discrete feeding interval are as legal as a smooth dose;
- it handles integer variables natively (``integrality``), which is how a list of choices
  (feeding every 2, 3 or 4 days; a set of windows) enters: as the index into the list;
- it handles nonlinear inequality constraints (Lampinen's rule: feasible beats infeasible, less
  violation beats more), so a budget or a minimum ALP needs no penalty weight to tune;
- it evaluates a whole generation at once (``vectorized=True``), so each generation is one
  :func:`osteogrn.sweep` and therefore one :func:`osteogrn.simulate_batch` on every core or on an
  executor; a simulation is milliseconds, so the population size costs little.

Method ``"grid"`` is the exhaustive alternative for small problems: every choice times
``grid_points`` values of each continuous variable, in one sweep.

Every evaluated point is kept (``history``), and the Pareto front of objective against cost is
read off it, so one run answers both "the best protocol within budget" and "what does each extra
unit of money buy".
"""

from __future__ import annotations

import math
import numbers
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import OptionError, OsteogrnError, ProtocolError
from ..protocol import Protocol
from .readouts import Readout
from .sweep import sweep

__all__ = ["optimize_protocol", "ProtocolOptimization"]

#: Comparisons a constraint may use; "<" and ">" are taken as "<=" and ">=" (a limit on a
#: continuous readout is never met exactly).
_OPS = ("<=", ">=", "<", ">")
_METHODS = ("differential_evolution", "grid")


# -- the search space -----------------------------------------------------------------
class _Variable:
    """One free path: a continuous range (optionally searched on a log scale) or a list of
    choices (searched as an integer index)."""

    def __init__(self, path: str, spec: Any) -> None:
        self.path = path
        self.choices: Optional[List[Any]] = None
        self.log = False
        if isinstance(spec, list):
            if not spec:
                raise OptionError(f"free['{path}']: an empty list of choices")
            self.choices = list(spec)
            self.lo, self.hi = 0.0, float(len(spec) - 1)
            return
        if not isinstance(spec, tuple) or len(spec) not in (2, 3):
            raise OptionError(f"free['{path}'] = {spec!r}: give a range as a tuple (lo, hi) or "
                              f"(lo, hi, 'log'), or the choices as a list [a, b, ...]")
        lo, hi = spec[0], spec[1]
        if len(spec) == 3:
            if spec[2] not in ("log", "lin"):
                raise OptionError(f"free['{path}']: the third entry is 'log' or 'lin', "
                                  f"got {spec[2]!r}")
            self.log = spec[2] == "log"
        for v in (lo, hi):
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise OptionError(f"free['{path}'] = {spec!r}: bounds must be finite numbers")
        if not lo < hi:
            raise OptionError(f"free['{path}'] = {spec!r}: need lo < hi")
        if self.log and lo <= 0:
            raise OptionError(f"free['{path}'] = {spec!r}: a log-scaled range needs lo > 0")
        self.lo, self.hi = (math.log10(lo), math.log10(hi)) if self.log else (float(lo), float(hi))

    @property
    def integral(self) -> bool:
        return self.choices is not None

    def value(self, z: float) -> Any:
        """The path's value at optimiser coordinate z."""
        if self.choices is not None:
            return self.choices[int(round(min(max(z, self.lo), self.hi)))]
        return float(10.0 ** z) if self.log else float(z)

    def grid(self, n: int) -> List[float]:
        if self.choices is not None:
            return [float(i) for i in range(len(self.choices))]
        return list(np.linspace(self.lo, self.hi, n))


class _Bound:
    """One constraint: a readout (or "cost") compared with a limit."""

    def __init__(self, key: str, spec: Any) -> None:
        self.key = key
        op, limit = self._parse(key, spec)
        self.op, self.limit = op, float(limit)
        self.readout = None if key == "cost" else Readout(key)

    @staticmethod
    def _parse(key: str, spec: Any) -> Tuple[str, float]:
        if isinstance(spec, numbers.Real) and not isinstance(spec, bool):
            if key != "cost":
                raise OptionError(f"constraints['{key}'] = {spec!r}: say which way, e.g. "
                                  f"('>=', {spec!r}) or '>= {spec!r}' (a bare number means "
                                  f"'at most' for cost only)")
            return "<=", float(spec)
        if isinstance(spec, str):
            m = re.fullmatch(r"\s*(<=|>=|<|>)\s*(\S+)\s*", spec)
            if m:
                try:
                    return m.group(1), float(m.group(2))
                except ValueError:
                    pass
        elif isinstance(spec, (tuple, list)) and len(spec) == 2 and spec[0] in _OPS:
            if isinstance(spec[1], numbers.Real) and not isinstance(spec[1], bool):
                return spec[0], float(spec[1])
        raise OptionError(f"constraints['{key}'] = {spec!r}: give ('<=', limit), ('>=', limit) "
                          f"or a string such as '<= 50'")

    def violation(self, values: np.ndarray) -> np.ndarray:
        """How far each value is on the wrong side of the limit (0 = satisfied; inf if NaN)."""
        v = np.asarray(values, dtype=float)
        out = np.where(self.op in ("<=", "<"), v - self.limit, self.limit - v)
        out = np.maximum(out, 0.0)
        return np.where(np.isfinite(v), out, np.inf)


class _Cost:
    """The objective "cost": what the protocol's priced components cost per well."""
    text = "cost"


def _readout_texts(objective: Any, bounds: Sequence[_Bound]) -> List[str]:
    texts = [] if isinstance(objective, _Cost) else [objective.text]
    for b in bounds:
        if b.readout is not None and b.readout.text not in texts:
            texts.append(b.readout.text)
    return texts


# -- the result -----------------------------------------------------------------------
class ProtocolOptimization:
    """What :func:`optimize_protocol` found.

    Attributes
    ----------
    protocol : Protocol
        The best protocol that satisfies every constraint (named
        ``<base>[optimised]``), or None if no evaluated point was feasible.
    values : dict
        Free path -> its best value.
    objective : float
        The objective readout at the best protocol.
    cost : float or None
        Its cost (None when the protocol has no priced component).
    history : pandas.DataFrame
        Every evaluated point, in evaluation order: ``evaluation``, ``generation``, one column
        per free path, one per readout (objective and constraints), ``cost``, ``feasible``,
        ``status``.
    pareto : pandas.DataFrame
        The evaluated points that no other one beats on both objective and cost (sorted by
        cost; with ``objective="cost"``, on cost and the first readout constraint); empty
        when nothing is priced. Feasible here means the readout
        constraints hold; the cost constraint is what the front trades against, so points over
        budget are on it too, marked by ``within_budget``.
    parameters : dict
        Model-parameter overrides of the optimum (from ``parameters.*`` paths; empty
        otherwise): simulate ``model.with_parameters(**parameters)`` under ``protocol``.
    currency : str
        Prices carry no currency; the cost is in the units the prices are written in.
    units : dict
        Unit of each readout column (as in the sweep frames).
    n_evaluations : int
    message : str
        The optimiser's stopping message.
    """

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)

    def plot(self, ax: Any = None) -> Any:
        """Objective against cost: every evaluated point, the Pareto front and the optimum."""
        from ..plotting import new_figure
        fig = None
        if ax is None:
            fig = new_figure(figsize=(5.5, 4))
            ax = fig.add_subplot(1, 1, 1)
        h = self.history
        if "cost" not in h or not np.isfinite(h["cost"].to_numpy(dtype=float)).any():
            raise OsteogrnError("nothing in this protocol has a price, so there is no cost axis")
        ok = h["feasible"].to_numpy(dtype=bool)
        y = self.front_of
        if y is None:
            raise OsteogrnError("the objective is cost and no readout is constrained: nothing "
                                "to plot cost against")
        ax.scatter(h["cost"][~ok], h[y][~ok], s=8, color="0.75", label="infeasible")
        ax.scatter(h["cost"][ok], h[y][ok], s=10, color="tab:blue", label="feasible")
        if len(self.pareto):
            ax.plot(self.pareto["cost"], self.pareto[y], "-o", ms=4, color="tab:orange",
                    label="Pareto front")
        if self.protocol is not None and self.cost is not None:
            best = self.history.loc[self.best_index, y]
            ax.scatter([self.cost], [best], s=80, marker="*", color="black", zorder=5,
                       label="optimum")
        ax.set_xlabel(f"cost per well [{self.currency}]")
        unit = self.units.get(y)
        ax.set_ylabel(f"{y} [{unit}]" if unit else y)
        ax.legend(frameon=False, fontsize=8)
        return fig if fig is not None else ax

    def __repr__(self) -> str:
        best = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        cost = "" if self.cost is None else f", cost {self.cost:.4g}"
        return (f"<ProtocolOptimization: {self.objective_text} = {self.objective:.6g}{cost} at "
                f"{best or '(no feasible point)'}; {self.n_evaluations} evaluations>")


def _pareto(frame: "Any", objective: str, maximize: bool) -> "Any":
    """Rows of frame not dominated in (objective, cost): lower cost and better objective."""
    f = frame[np.isfinite(frame["cost"].to_numpy(dtype=float))
              & np.isfinite(frame[objective].to_numpy(dtype=float))]
    if f.empty:
        return f
    sign = 1.0 if maximize else -1.0
    f = f.sort_values(["cost", objective], ascending=[True, not maximize], kind="stable")
    keep, best = [], -np.inf
    for idx, value in zip(f.index, f[objective].to_numpy(dtype=float) * sign):
        if value > best:
            keep.append(idx)
            best = value
    return f.loc[keep].reset_index(drop=True)


# -- the evaluator ----------------------------------------------------------------------
class _Evaluator:
    """Runs one sweep per generation and remembers every point (the objective and the
    constraints of a point come from the same simulation)."""

    def __init__(self, model: Any, protocol: Protocol, variables: List[_Variable],
                 texts: List[str], bounds: List[_Bound], sweep_kwargs: Dict[str, Any],
                 need_cost: bool) -> None:
        self.model, self.protocol, self.variables = model, protocol, variables
        self.texts, self.bounds, self.kw = texts, bounds, sweep_kwargs
        self.need_cost = need_cost
        self.cache: Dict[bytes, Dict[str, Any]] = {}
        self.units: Dict[str, str] = {}
        self.rows: List[Dict[str, Any]] = []
        self.generation = 0

    def _key(self, z: np.ndarray) -> bytes:
        # Integer variables are rounded first, so DE's real-valued copies of one choice share a run.
        zz = np.array([round(v) if var.integral else v for v, var in zip(z, self.variables)],
                      dtype=float)
        return zz.tobytes()

    def run(self, Z: np.ndarray) -> List[Dict[str, Any]]:
        """Evaluates the columns of Z (shape n_vars x S) not seen before, in one sweep."""
        keys = [self._key(Z[:, j]) for j in range(Z.shape[1])]
        todo: Dict[bytes, np.ndarray] = {}
        for j, k in enumerate(keys):
            if k not in self.cache and k not in todo:
                todo[k] = Z[:, j]
        if todo:
            grid = {var.path: [var.value(z[i]) for z in todo.values()]
                    for i, var in enumerate(self.variables)}
            frame = sweep(self.model, self.protocol, grid, readouts=self.texts, mode="zip",
                          **self.kw)
            protocols = frame.attrs.get("protocols", {})
            self.units.update(frame.attrs.get("units", {}))
            # Whole columns, not frame.iloc per row: a row copy deep-copies frame.attrs.
            columns = {text: frame[text].to_numpy(dtype=float) for text in self.texts}
            names = frame["protocol"].tolist()
            status = frame["status"].tolist() if "status" in frame else ["success"] * len(frame)
            for row_index, key in enumerate(todo):
                rec: Dict[str, Any] = {"evaluation": len(self.rows), "generation": self.generation}
                for var in self.variables:
                    rec[var.path] = grid[var.path][row_index]
                for text in self.texts:
                    rec[text] = float(columns[text][row_index])
                name = names[row_index]
                rec["cost"] = _cost(protocols.get(name)) if self.need_cost else np.nan
                rec["status"] = str(status[row_index])
                self.cache[key] = rec
                self.rows.append(rec)
            self.generation += 1
        return [self.cache[k] for k in keys]


def _cost(protocol: Optional[Protocol]) -> float:
    if protocol is None:
        return np.nan
    try:
        return float(protocol.cost())
    except ProtocolError:
        return np.nan


# -- the entry point ------------------------------------------------------------------------
def optimize_protocol(model: Any, protocol: Union[Protocol, str, "os.PathLike[str]"],
                      free: Mapping[str, Any], objective: str, maximize: bool = True,
                      constraints: Optional[Mapping[str, Any]] = None, *,
                      method: str = "differential_evolution", seed: Optional[int] = None,
                      max_generations: int = 40, population: Optional[int] = None,
                      tol: float = 1e-4, grid_points: int = 21,
                      t: Optional[Sequence[float]] = None, threads: Optional[int] = None,
                      executor: Any = None, options: Any = None,
                      **solver: Any) -> ProtocolOptimization:
    """Finds the protocol that maximises (or minimises) a readout, under constraints.

    Parameters
    ----------
    model : Model or str
        The model (a built-in name or a path is loaded).
    protocol : Protocol or str
        The protocol to start from; the free paths are edited on it.
    free : dict
        Path -> ``(lo, hi)`` (continuous), ``(lo, hi, "log")`` (continuous, searched on a log
        scale: use it for doses spanning decades) or ``[choice, ...]`` (discrete, e.g.
        ``{"media_changes.every": [2, 3, 4]}``). Paths as in :func:`osteogrn.sweep`
        (``"bmp2.concentration"``, ``"bmp2.until"``, ``"parameters.k_commit"``, ...).
    objective : str
        A readout (:func:`osteogrn.sweep` grammar), e.g. ``"mineral@21"``, or ``"cost"`` (with
        ``maximize=False``: the cheapest protocol that meets the constraints).
    maximize : bool
        False minimises the objective.
    constraints : dict, optional
        ``"cost"`` or a readout -> ``("<=", limit)``, ``(">=", limit)`` or ``"<= 50"``; a bare
        number for ``"cost"`` means at most that. Cost is :meth:`Protocol.cost` (per well).
    method : {"differential_evolution", "grid"}
        Differential evolution (default; see the module notes for why), or every combination
        of the choices and ``grid_points`` values per continuous range.
    seed : int, optional
        Seeds differential evolution (reproducible runs).
    max_generations : int
        Generations of differential evolution (each is one batch).
    population : int, optional
        Points per generation (default ``max(15, 10 x number of free paths)``).
    tol : float
        Relative tolerance of the population's spread at which DE stops.
    grid_points : int
        Values per continuous range for ``method="grid"``.
    t, threads, executor, options, **solver
        Passed to :func:`osteogrn.sweep` (and on to :func:`osteogrn.simulate_batch`).

    Returns
    -------
    ProtocolOptimization
        ``.protocol`` (the best feasible protocol), ``.values``, ``.objective``, ``.cost``,
        ``.history`` (every evaluation) and ``.pareto`` (objective against cost).

    Raises
    ------
    OptionError
        A malformed ``free``, ``objective``, ``constraints`` or method.
    ProtocolError
        A cost constraint on a protocol whose components have no price or no medium volume.

    Examples
    --------
    >>> best = og.optimize_protocol("osteogenic", proto,
    ...     free={"bmp2.concentration": (1, 300, "log"), "media_changes.every": [2, 3, 4]},
    ...     objective="mineral@21", constraints={"cost": 100}, seed=1)
    >>> best.protocol, best.pareto
    """
    from ..library import load_model, load_protocol
    from ..model import Model
    import pandas as pd
    from scipy.optimize import NonlinearConstraint, differential_evolution

    if method not in _METHODS:
        raise OptionError(f"method must be one of {', '.join(_METHODS)}, got {method!r}")
    if not isinstance(model, Model):
        model = load_model(model)
    if not isinstance(protocol, Protocol):
        protocol = load_protocol(protocol)
    if not isinstance(free, Mapping) or not free:
        raise OptionError("free must be a non-empty dict path -> (lo, hi) or [choices]")
    variables = [_Variable(str(path), spec) for path, spec in free.items()]
    if not isinstance(objective, str):
        raise OptionError(f"objective must be a readout such as 'mineral@21' or 'cost', "
                          f"got {objective!r}")
    bounds = [_Bound(str(k), v) for k, v in (constraints or {}).items()]
    goal = _Cost() if objective.strip() == "cost" else Readout(objective)
    for name, value in (("max_generations", max_generations), ("grid_points", grid_points)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise OptionError(f"{name} must be a positive integer, got {value!r}")
    need_cost = isinstance(goal, _Cost) or any(b.key == "cost" for b in bounds)
    if not need_cost:
        try:  # a priced protocol gets a cost column and a Pareto front even without a budget
            protocol.cost()
            need_cost = True
        except ProtocolError:
            pass
    else:
        protocol.cost()  # raises now, naming the missing price or volume, not after a run

    texts = _readout_texts(goal, bounds)
    ev = _Evaluator(model, protocol, variables, texts, bounds,
                    dict(t=t, threads=threads, executor=executor, options=options, **solver),
                    need_cost)
    sign = -1.0 if maximize else 1.0

    def energy(recs: List[Dict[str, Any]]) -> np.ndarray:
        v = np.array([r[goal.text] for r in recs], dtype=float) * sign
        return np.where(np.isfinite(v), v, np.inf)

    def violations(recs: List[Dict[str, Any]]) -> np.ndarray:
        """(n_constraints, S): each constraint's violation, 0 when it holds."""
        rows = []
        for b in bounds:
            key = "cost" if b.readout is None else b.readout.text
            rows.append(b.violation(np.array([r[key] for r in recs], dtype=float)))
        return np.array(rows).reshape(len(bounds), len(recs))

    message = ""
    if method == "grid":
        axes = np.meshgrid(*[var.grid(grid_points) for var in variables], indexing="ij")
        Z = np.vstack([a.ravel() for a in axes])
        ev.run(Z)
        message = f"evaluated the full grid of {Z.shape[1]} points"
    else:
        n = len(variables)
        pop = population if population is not None else max(15, 10 * n)
        if isinstance(pop, bool) or not isinstance(pop, numbers.Integral) or pop < 5:
            raise OptionError(f"population must be an integer >= 5, got {population!r}")

        def func(Z: np.ndarray) -> np.ndarray:
            return energy(ev.run(Z.reshape(n, -1)))

        cons = []
        if bounds:
            def con(Z: np.ndarray) -> np.ndarray:
                Z2 = Z.reshape(n, -1)
                return violations(ev.run(Z2))
            # Each violation must be <= 0; DE prefers feasible, then less violation.
            cons = [NonlinearConstraint(con, -np.inf, 0.0)]
        res = differential_evolution(
            func, [(v.lo, v.hi) for v in variables], constraints=cons, seed=seed,
            maxiter=int(max_generations), popsize=max(1, int(math.ceil(pop / n))), tol=tol,
            integrality=[v.integral for v in variables], vectorized=True, polish=False,
            init="sobol" if pop >= 8 else "latinhypercube", updating="deferred")
        message = str(res.message)

    history = pd.DataFrame(ev.rows)
    recs = ev.rows
    viol = violations(recs) if bounds else np.zeros((0, len(recs)))
    feasible = np.all(viol <= 0, axis=0) & np.isfinite(energy(recs))
    history["feasible"] = feasible
    readout_ok = np.ones(len(recs), dtype=bool)
    for i, b in enumerate(bounds):
        if b.readout is not None:
            readout_ok &= viol[i] <= 0
    budget_ok = np.ones(len(recs), dtype=bool)
    for i, b in enumerate(bounds):
        if b.readout is None:
            budget_ok &= viol[i] <= 0
    history["within_budget"] = budget_ok
    # The front trades the objective against cost; when cost is the objective, it trades cost
    # against the first readout constraint (what the money buys), taken as larger-is-better
    # for '>=' and smaller-is-better for '<='.
    front_of, front_max = goal.text, maximize
    if isinstance(goal, _Cost):
        first = next((b for b in bounds if b.readout is not None), None)
        front_of = first.readout.text if first else None
        front_max = first is not None and first.op in (">=", ">")
        readout_ok = np.ones(len(recs), dtype=bool)
    pareto = (_pareto(history[readout_ok], front_of, front_max) if need_cost and front_of
              else history.iloc[0:0])

    best_protocol, values, best_value, best_cost, j = None, {}, float("nan"), None, None
    if feasible.any():
        e = energy(recs)
        j = int(np.flatnonzero(feasible)[np.argmin(e[feasible])])
        rec = recs[j]
        values = {var.path: rec[var.path] for var in variables}
        best_value = rec[goal.text]
        best_cost = rec["cost"] if need_cost else None
        from .paths import apply
        edited, overrides = apply(protocol, values)
        best_protocol = edited.with_name(f"{protocol.name}[optimised]")
        model_overrides = dict(overrides)
    else:
        model_overrides = {}
        message += "; no evaluated point satisfies every constraint"
    return ProtocolOptimization(protocol=best_protocol, values=values, objective=best_value,
                                cost=best_cost, history=history, pareto=pareto,
                                n_evaluations=len(recs), message=message,
                                objective_text=goal.text, front_of=front_of, best_index=j,
                                parameters=model_overrides,
                                currency="currency units", maximize=maximize,
                                units=dict(ev.units))

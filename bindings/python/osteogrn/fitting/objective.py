"""The least-squares objective: residuals of every data row and their Jacobian.

Parameters live in an optimisation vector ``z``: estimated model parameters
first (log10 where log-scaled), then estimated scale/offset parameters of the
observation models. Each condition is simulated once per evaluation at exactly
the times the data (and fold-change references) need, with forward
sensitivities when ``gradient="sensitivities"``; otherwise the Jacobian comes
from forward finite differences in ``z``.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from ..errors import OptionError, SolverError
from ..model import Model
from ..simulation import simulate
from .data import FitData
from .observation import Observation

__all__ = ["Problem", "Evaluator"]

LN10 = math.log(10.0)
GRADIENTS = ("auto", "sensitivities", "fd")


class _Group:
    """The rows of one observable, as index arrays into the stacked simulation grid."""

    def __init__(self, name: str, obs: Observation, rows: np.ndarray, out: int,
                 fidx: np.ndarray, ridx: Optional[np.ndarray], y: np.ndarray,
                 sigma: np.ndarray) -> None:
        self.name, self.obs, self.rows, self.out = name, obs, rows, out
        self.fidx, self.ridx, self.y, self.sigma = fidx, ridx, y, sigma


class Problem:
    """Everything an objective evaluation needs; immutable, so threads can share it.

    Parameters
    ----------
    model : Model
    data : FitData
    observations : mapping observable -> Observation
    bounds : mapping parameter name -> (lo, hi), the estimated model parameters
    log_scale : bool or collection of names
    solver_options : mapping
        Keywords for :func:`osteogrn.simulate`.
    gradient : "sensitivities" or "fd"
    fd_step : float
        Forward-difference step in z (relative to max(1, |z|)).
    """

    def __init__(self, model: Model, data: FitData, observations: Mapping[str, Observation],
                 bounds: Mapping[str, Tuple[float, float]], log_scale: Any,
                 solver_options: Mapping[str, Any], gradient: str, fd_step: float) -> None:
        self.model = model
        self.data = data
        self.observations = dict(observations)
        self.solver_options = dict(solver_options)
        self.gradient = gradient
        self.fd_step = float(fd_step)
        self.model_params = list(bounds)
        names, lo, hi, log = [], [], [], []
        for name, (a, b) in bounds.items():
            use_log = bool(log_scale) if isinstance(log_scale, bool) else name in log_scale
            if use_log and a <= 0:
                raise OptionError(f"parameter {name!r} has lower bound {a:g}: log_scale needs "
                                  f"bounds > 0; pass estimate={{{name!r}: (lo, hi)}} with lo > 0 "
                                  f"or leave it out of log_scale")
            names.append(name), lo.append(a), hi.append(b), log.append(use_log)
        # Observation parameters estimated alongside the model's.
        self.obs_params: List[Tuple[str, str]] = []
        for oname, obs in self.observations.items():
            for which in ("scale", "offset"):
                if obs.mode(which) == "estimate":
                    a, b = obs.scale_bounds if which == "scale" else obs.offset_bounds
                    use_log = which == "scale" and log_scale is not False
                    self.obs_params.append((oname, which))
                    names.append(f"{which}_{oname}"), lo.append(a), hi.append(b)
                    log.append(use_log)
        self.names = names
        self.n_model = len(self.model_params)
        self.log = np.array(log, dtype=bool)
        self.p_lo = np.array(lo, dtype=float)
        self.p_hi = np.array(hi, dtype=float)
        self.lb = np.where(self.log, np.log10(np.where(self.log, self.p_lo, 1.0)), self.p_lo)
        self.ub = np.where(self.log, np.log10(np.where(self.log, self.p_hi, 1.0)), self.p_hi)
        self._build_grid()

    # -- layout ----------------------------------------------------------------------
    def _build_grid(self) -> None:
        table = self.data.table
        outputs = list(self.model.species) + list(self.model.observables)
        need: Dict[str, set] = {c: set() for c in self.data.conditions}
        for cond, t, oname in zip(table["condition"], table["time"], table["observable"]):
            need[cond].add(float(t))
            ref = self.observations[oname].fold_change
            if ref == "day0":
                need[cond].add(0.0)
            elif ref is not None:
                proto = self.data.protocol(ref)  # raises DataError for an unknown reference
                if t > proto.duration:
                    raise OptionError(f"fold change of {oname!r} relative to {ref!r}: time "
                                      f"{t:g} lies beyond the reference's {proto.duration:g}-day "
                                      f"duration")
                need.setdefault(ref, set()).add(float(t))
        self.conditions = list(need)
        self.protocols = {c: self.data.protocol(c) for c in self.conditions}
        self.times = {c: np.array(sorted(need[c])) for c in self.conditions}
        offset, start = {}, 0
        for c in self.conditions:
            offset[c] = start
            start += len(self.times[c])
        self.n_grid = start

        def flat(cond: str, t: float) -> int:
            return offset[cond] + int(np.searchsorted(self.times[cond], t))

        groups = []
        obs_col = table["observable"].to_numpy()
        for oname, obs in self.observations.items():
            rows = np.flatnonzero(obs_col == oname)
            conds = table["condition"].to_numpy()[rows]
            ts = table["time"].to_numpy(dtype=float)[rows]
            fidx = np.array([flat(c, t) for c, t in zip(conds, ts)], dtype=int)
            ridx = None
            if obs.fold_change == "day0":
                ridx = np.array([flat(c, 0.0) for c in conds], dtype=int)
            elif obs.fold_change is not None:
                ridx = np.array([flat(obs.fold_change, t) for t in ts], dtype=int)
            y = table["value"].to_numpy(dtype=float)[rows]
            if obs.noise == "lognormal" and (y <= 0).any():
                i = int(rows[np.flatnonzero(y <= 0)[0]])
                from .data import DataError
                raise DataError(f"column 'value' has {table['value'].iloc[i]:g} in row {i} for "
                                f"{oname!r}, whose noise is log-normal: values must be > 0",
                                column="value", value=float(table["value"].iloc[i]), row=i)
            if self.data.has_sigma:
                sigma = table["sigma"].to_numpy(dtype=float)[rows]
            else:
                sigma = np.full(len(rows), obs.default_sigma)
            groups.append(_Group(oname, obs, rows, outputs.index(oname), fidx, ridx, y, sigma))
        self.groups = groups
        self.n_rows = len(table)

    @property
    def n(self) -> int:
        return len(self.names)

    def to_params(self, z: np.ndarray) -> np.ndarray:
        """Optimisation vector -> parameter values (clipped into their bounds)."""
        p = np.where(self.log, 10.0 ** np.asarray(z, dtype=float), z)
        return np.clip(p, self.p_lo, self.p_hi)

    def to_z(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        return np.where(self.log, np.log10(np.where(self.log, p, 1.0)), p)

    def to_params_single(self, k: int, z: np.ndarray) -> np.ndarray:
        """Values of parameter k for an array of its z values."""
        z = np.asarray(z, dtype=float)
        return 10.0 ** z if self.log[k] else z

    def dp_dz(self, z: np.ndarray) -> np.ndarray:
        return np.where(self.log, LN10 * 10.0 ** np.asarray(z, dtype=float), 1.0)

    def model_values(self, z: np.ndarray) -> Dict[str, float]:
        p = self.to_params(z)
        return {name: float(p[i]) for i, name in enumerate(self.model_params)}

    # -- simulation ------------------------------------------------------------------
    def simulate(self, z: np.ndarray, sens: bool, which: Optional[np.ndarray] = None
                 ) -> Tuple[np.ndarray, Optional[np.ndarray], int]:
        """Stacked outputs [n_grid, n_out] and d outputs / d z_model [n_grid, n_out, n_model].

        ``which`` (indices into the model parameters) limits the sensitivities
        computed to those columns; the others are zero (a profile holds one
        parameter fixed and never uses its column). Raises SolverError when a
        condition fails to integrate.
        """
        values = self.model_values(z)
        model = self.model.with_parameters(values) if values else self.model
        idx = np.arange(self.n_model) if which is None else np.asarray(which, dtype=int)
        names = [self.model_params[i] for i in idx] if (sens and len(idx)) else None
        xs, ss = [], []
        for c in self.conditions:
            r = simulate(model, self.protocols[c], t=self.times[c], sensitivities=names,
                         **self.solver_options)
            xs.append(np.hstack([r.species, r.observables]))
            if names:
                ss.append(np.asarray(r.sensitivities))
        X = np.vstack(xs)
        S = None
        if sens:
            S = np.zeros(X.shape + (self.n_model,))
            if names:
                S[:, :, idx] = np.concatenate(ss, axis=0) * self.dp_dz(z)[idx]
        return X, S, len(self.conditions)

    # -- residuals -------------------------------------------------------------------
    def residuals(self, z: np.ndarray, X: np.ndarray, S: Optional[np.ndarray]
                  ) -> Tuple[np.ndarray, Optional[np.ndarray], np.ndarray,
                             Dict[str, Tuple[float, float]]]:
        """Weighted residuals r, dr/dz (if S is given), predictions and observation values."""
        n, nz = self.n_rows, self.n
        r = np.empty(n)
        pred_all = np.empty(n)
        J = np.zeros((n, nz)) if S is not None else None
        p = self.to_params(z)
        dpdz = self.dp_dz(z)
        solved: Dict[str, Tuple[float, float]] = {}
        for g in self.groups:
            m = len(g.rows)
            x = X[g.fidx, g.out]
            dx = S[g.fidx, g.out, :] if S is not None else None
            if g.ridx is not None:
                xr = X[g.ridx, g.out]
                with np.errstate(divide="ignore", invalid="ignore"):
                    h = x / xr
                    dh = ((dx - h[:, None] * S[g.ridx, g.out, :]) / xr[:, None]
                          if S is not None else None)
            else:
                h, dh = x, dx
            dh_full = None
            if S is not None:
                dh_full = np.zeros((m, nz))
                dh_full[:, : self.n_model] = dh
            vals, dvals = {}, {}
            for which in ("scale", "offset"):
                mode = g.obs.mode(which)
                dv = np.zeros(nz)
                if mode == "estimate":
                    k = self.n_model + self.obs_params.index((g.name, which))
                    v = float(p[k])
                    dv[k] = dpdz[k]
                else:
                    v = g.obs.fixed_value(which)
                vals[which], dvals[which] = v, dv
            w = 1.0 / g.sigma ** 2
            analytic = [wh for wh in ("scale", "offset") if g.obs.mode(wh) == "analytic"]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                if not analytic:
                    s, o = vals["scale"], vals["offset"]
                    pred = s * h + o
                    dpred = (None if S is None else
                             s * dh_full + np.outer(h, dvals["scale"]) + dvals["offset"][None, :])
                elif g.obs.noise == "lognormal":  # analytic scale, offset 0
                    ly = np.log(g.y)
                    lh = np.log(h)
                    ls = float(np.sum(w * (ly - lh)) / np.sum(w))
                    vals["scale"] = math.exp(ls) if np.isfinite(ls) else float("nan")
                    pred = vals["scale"] * h
                    dpred = None
                    if S is not None:
                        dlh = dh_full / h[:, None]
                        dls = -(w @ dlh) / np.sum(w)
                        dpred = pred[:, None] * (dls[None, :] + dlh)
                else:
                    pred, dpred = self._analytic_additive(g, h, dh_full, vals, dvals, analytic, w)
                if g.obs.noise == "additive":
                    res = (pred - g.y) / g.sigma
                    jac = None if dpred is None else dpred / g.sigma[:, None]
                else:
                    res = (np.log(pred) - np.log(g.y)) / g.sigma
                    jac = None if dpred is None else dpred / (pred * g.sigma)[:, None]
            res = np.where(np.isfinite(res), res, np.nan)
            r[g.rows] = res
            pred_all[g.rows] = pred
            if J is not None:
                J[g.rows] = jac
            solved[g.name] = (float(vals["scale"]), float(vals["offset"]))
        return r, J, pred_all, solved

    @staticmethod
    def _analytic_additive(g: _Group, h: np.ndarray, dh: Optional[np.ndarray],
                           vals: dict, dvals: dict, analytic: List[str], w: np.ndarray):
        """Weighted linear least squares for the analytic scale/offset, and its derivative."""
        m = len(h)
        cols, dcols = [], []
        c = np.zeros(m)
        dc = None if dh is None else np.zeros_like(dh)
        if "scale" in analytic:
            cols.append(h)
            dcols.append(dh)
        else:
            c = c + vals["scale"] * h
            if dh is not None:
                dc = dc + vals["scale"] * dh + np.outer(h, dvals["scale"])
        if "offset" in analytic:
            cols.append(np.ones(m))
            dcols.append(None if dh is None else np.zeros_like(dh))
        else:
            c = c + vals["offset"]
            if dh is not None:
                dc = dc + dvals["offset"][None, :]
        G = np.column_stack(cols)                       # (m, k)
        M = G.T @ (w[:, None] * G)
        b = G.T @ (w * (g.y - c))
        beta = np.linalg.lstsq(M, b, rcond=None)[0]
        for wh, v in zip(analytic, beta):
            vals[wh] = float(v)
        pred = G @ beta + c
        if dh is None:
            return pred, None
        dG = np.stack(dcols, axis=1)                    # (m, k, nz)
        A = np.einsum("nkj,n,nl->jkl", dG, w, G)
        dM = A + A.transpose(0, 2, 1)
        db = np.einsum("nkj,n->jk", dG, w * (g.y - c)) - np.einsum("nk,n,nj->jk", G, w, dc)
        rhs = db - np.einsum("jkl,l->jk", dM, beta)
        dbeta = np.linalg.lstsq(M, rhs.T, rcond=None)[0]  # (k, nz)
        dpred = G @ dbeta + np.einsum("nkj,k->nj", dG, beta) + dc
        return pred, dpred


def diagnose(problem: "Problem", z: np.ndarray) -> str:
    """Why the residuals at z are not finite (for a failed start's message)."""
    try:
        X, _, _ = problem.simulate(z, False)
    except SolverError as e:
        return f"simulation failed: {e}"
    for g in problem.groups:
        if g.ridx is not None:
            den = X[g.ridx, g.out]
            if (np.abs(den) == 0).any() or not np.all(np.isfinite(den)):
                i = int(np.flatnonzero((den == 0) | ~np.isfinite(den))[0])
                row = int(g.rows[i])
                cond = problem.data.table["condition"].iloc[row]
                ref = "day 0" if g.obs.fold_change == "day0" else repr(g.obs.fold_change)
                return (f"fold change of {g.name!r} in condition {cond!r} relative to {ref} "
                        f"divides by the model's {g.name} = {den[i]:g} there; choose another "
                        f"reference or observation model")
        if g.obs.noise == "lognormal":
            x = X[g.fidx, g.out]
            if (x <= 0).any():
                i = int(np.flatnonzero(x <= 0)[0])
                return (f"log-normal noise for {g.name!r} needs positive predictions; the "
                        f"model gives {x[i]:g} in row {int(g.rows[i])}")
    return "non-finite residuals"


class Evaluator:
    """Residual and Jacobian callables for one optimisation run (one start or profile).

    Not shared between threads: it caches the last evaluation and counts
    simulations. ``fixed`` maps z indices to held values (profiles).
    """

    def __init__(self, problem: Problem, fixed: Optional[Mapping[int, float]] = None) -> None:
        self.problem = problem
        self.fixed = dict(fixed or {})
        self.free = np.array([i for i in range(problem.n) if i not in self.fixed], dtype=int)
        self.free_model = self.free[self.free < problem.n_model]
        self.n_sims = 0
        self.n_fun = 0
        self.n_jac = 0
        self._key: Optional[bytes] = None
        self._val: Any = None
        self._sim_key: Optional[bytes] = None
        self._sim: Any = None

    def full(self, zfree: np.ndarray) -> np.ndarray:
        z = np.empty(self.problem.n)
        for i, v in self.fixed.items():
            z[i] = v
        z[self.free] = zfree
        return z

    def _simulate(self, z: np.ndarray, sens: bool):
        nm = self.problem.n_model
        key = z[:nm].tobytes() + bytes([sens])
        if key != self._sim_key:
            self._sim = None
            try:
                X, S, k = self.problem.simulate(z, sens, self.free_model)
                self.n_sims += k
                self._sim = (X, S)
            except SolverError:
                self.n_sims += len(self.problem.conditions)
            self._sim_key = key
        return self._sim

    def evaluate(self, z: np.ndarray, jac: bool):
        """(r, J or None, predictions, observation values) at the full vector z."""
        sim = self._simulate(z, jac)
        if sim is None:
            n = self.problem.n_rows
            return np.full(n, np.nan), None, np.full(n, np.nan), {}
        return self.problem.residuals(z, sim[0], sim[1] if jac else None)

    def fun(self, zfree: np.ndarray) -> np.ndarray:
        self.n_fun += 1
        z = self.full(zfree)
        sens = self.problem.gradient == "sensitivities"
        r, J, _, _ = self.evaluate(z, sens)
        self._key, self._val = z.tobytes(), J
        return r

    def jac(self, zfree: np.ndarray) -> np.ndarray:
        self.n_jac += 1
        z = self.full(zfree)
        if self.problem.gradient == "sensitivities":
            J = self._val if z.tobytes() == self._key else self.evaluate(z, True)[1]
            if J is None:
                J = np.zeros((self.problem.n_rows, self.problem.n))
            return np.where(np.isfinite(J), J, 0.0)[:, self.free]
        return self._fd(z)

    def _fd(self, z: np.ndarray) -> np.ndarray:
        pb = self.problem
        r0 = self.evaluate(z, False)[0]
        J = np.zeros((pb.n_rows, len(self.free)))
        for col, i in enumerate(self.free):
            h = pb.fd_step * max(1.0, abs(z[i]))
            if z[i] + h > pb.ub[i]:
                h = -h
            zh = z.copy()
            zh[i] += h
            J[:, col] = (self.evaluate(zh, False)[0] - r0) / h
        return np.where(np.isfinite(J), J, 0.0)

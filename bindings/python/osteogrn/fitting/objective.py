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

__all__ = ["Problem", "Evaluator", "ScaledVector"]

LN10 = math.log(10.0)
GRADIENTS = ("auto", "sensitivities", "fd")


#: Bounds of derived observation parameters (see :class:`Problem`): an estimated scale spans
#: SCALE_SPAN decades either side of max|data| / max|model|; an estimated sigma spans
#: [SIGMA_LO, SIGMA_HI] x the data's spread.
SCALE_SPAN = 3.0
SIGMA_LO, SIGMA_HI = 1e-3, 10.0


def obs_label(observable: str, group: str) -> str:
    """Name stem of an observation parameter: ``ALP`` or, for a data group, ``ALP[group]``."""
    return observable if group == "" else f"{observable}[{group}]"


class _Group:
    """The rows of one (observable, group) segment, as index arrays into the stacked grid.

    A segment holds either the plain rows (the Observation's scale/offset/fold change apply)
    or the ratio rows (a row-level ``reference_condition``/``reference_time``: scale-free).
    ``ridx`` (None if no row is a ratio) indexes the denominator; ``est`` marks the rows whose
    sigma is the estimated ``sigma_<label>`` (index ``k_sigma``).
    """

    def __init__(self, name: str, group: str, obs: Observation, rows: np.ndarray, out: int,
                 fidx: np.ndarray, ridx: Optional[np.ndarray], y: np.ndarray,
                 sigma: np.ndarray, est: np.ndarray, ratio: bool) -> None:
        self.name, self.group, self.obs, self.rows, self.out = name, group, obs, rows, out
        self.label = obs_label(name, group)
        self.fidx, self.ridx, self.y, self.sigma, self.est = fidx, ridx, y, sigma, est
        self.ratio = ratio
        self.k: Dict[str, Optional[int]] = {"scale": None, "offset": None, "sigma": None}

    def mode(self, which: str) -> str:
        """The Observation's scale/offset mode; "none" for a ratio segment (scale-free)."""
        return "none" if self.ratio else self.obs.mode(which)

    def fixed_value(self, which: str) -> float:
        return (1.0 if which == "scale" else 0.0) if self.ratio else self.obs.fixed_value(which)


class ScaledVector:
    """The optimisation vector z of a fit: log10 of the parameters flagged in ``log``, the
    values themselves otherwise, clipped into [``p_lo``, ``p_hi``] (attributes of the class
    that uses it)."""

    log: np.ndarray
    p_lo: np.ndarray
    p_hi: np.ndarray

    def to_params(self, z: np.ndarray) -> np.ndarray:
        """Optimisation vector -> parameter values (clipped into their bounds)."""
        p = np.array(z, dtype=float)
        p[self.log] = 10.0 ** p[self.log]  # only there: a linear z may exceed 10^308's exponent
        return np.clip(p, self.p_lo, self.p_hi)

    def to_z(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        return np.where(self.log, np.log10(np.where(self.log, p, 1.0)), p)

    def to_params_single(self, k: int, z: np.ndarray) -> np.ndarray:
        """Values of parameter k for an array of its z values."""
        z = np.asarray(z, dtype=float)
        return 10.0 ** z if self.log[k] else z

    def dp_dz(self, z: np.ndarray) -> np.ndarray:
        d = np.ones(len(self.log))
        d[self.log] = LN10 * 10.0 ** np.asarray(z, dtype=float)[self.log]
        return d


class Problem(ScaledVector):
    """Everything an objective evaluation needs; immutable, so threads can share it.

    Observation parameters (estimated scale/offset, estimated noise SD) are per
    (observable, data group) and follow the model parameters in ``z``, named
    ``scale_<obs>``, ``offset_<obs>``, ``sigma_<obs>`` (``<obs>[<group>]`` for a
    named group). Unless the Observation gives bounds they are derived:

    - scale (log10 unless ``log_scale=False``): ``10^±3 × max|data| / max|model|``,
      the model evaluated at the starting parameter values (the file's,
      clipped into the bounds);
    - offset: additive noise ``±2 max|data|``; log-normal noise
      ``[1e-3 min(data), max(data)]``, so that with a positive scale and a
      non-negative model output a log-normal prediction stays positive;
    - sigma (always log10): ``[1e-3, 10] × RMS(data)`` (additive) or
      ``[1e-3, 10 × max(SD(ln data), 0.3)]`` (log-normal, in ln units).

    An estimated sigma enters the negative log-likelihood with its ``N log σ``
    term (N rows of the segment share σ): the residuals are ``e_i / σ`` per row
    plus one extra residual ``sqrt(N (2 ln σ + c))`` per sigma parameter, with
    ``c = 1 - 2 ln σ_lo`` keeping the root real, so ½ Σ r² is the Gaussian
    negative log-likelihood up to a constant (as in PEtab / pyPESTO).

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
        self._bounds = dict(bounds)
        names, lo, hi, log = [], [], [], []
        for name, (a, b) in bounds.items():
            use_log = bool(log_scale) if isinstance(log_scale, bool) else name in log_scale
            if use_log and a <= 0:
                raise OptionError(f"parameter {name!r} has lower bound {a:g}: log_scale needs "
                                  f"bounds > 0; pass estimate={{{name!r}: (lo, hi)}} with lo > 0 "
                                  f"or leave it out of log_scale")
            names.append(name), lo.append(a), hi.append(b), log.append(use_log)
        self.n_model = len(self.model_params)
        self._build_grid()
        # Observation parameters estimated alongside the model's, per (observable, group).
        self.obs_params: List[Tuple[str, str]] = []
        self.sigma_terms: List[Tuple[int, int, float]] = []   # (k, N rows, c)
        #: Labels whose sigma is estimated because neither data nor Observation give one.
        self.defaulted_sigma: List[str] = []
        nominal: Optional[np.ndarray] = None
        for label, segs in self._labels.items():
            obs = segs[0].obs
            plain = [g for g in segs if not g.ratio]
            for which in ("scale", "offset"):
                if not plain or plain[0].mode(which) != "estimate":
                    continue
                g = plain[0]
                b = obs.scale_bounds if which == "scale" else obs.offset_bounds
                if b is None:
                    if which == "scale" and nominal is None:
                        nominal = self._nominal_outputs()
                    b = self._derived_bounds(g, which, nominal)
                use_log = which == "scale" and log_scale is not False
                g.k[which] = len(names)
                self.obs_params.append((label, which))
                names.append(f"{which}_{label}"), lo.append(float(b[0])), hi.append(float(b[1]))
                log.append(use_log)
            est_y = np.concatenate([g.y[g.est] for g in segs])
            if len(est_y):
                b = obs.sigma_bounds or self._sigma_bounds(obs, est_y)
                k = len(names)
                for g in segs:
                    g.k["sigma"] = k
                self.obs_params.append((label, "sigma"))
                names.append(f"sigma_{label}"), lo.append(float(b[0])), hi.append(float(b[1]))
                log.append(True)
                self.sigma_terms.append((k, len(est_y), 1.0 - 2.0 * math.log(float(b[0]))))
                if obs.sigma is None:
                    self.defaulted_sigma.append(label)
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise OptionError(f"two estimated parameters are both named {dup!r}: rename a data "
                              f"group or an observable")
        self.names = names
        self.log = np.array(log, dtype=bool)
        self.p_lo = np.array(lo, dtype=float)
        self.p_hi = np.array(hi, dtype=float)
        self.lb = np.where(self.log, np.log10(np.where(self.log, self.p_lo, 1.0)), self.p_lo)
        self.ub = np.where(self.log, np.log10(np.where(self.log, self.p_hi, 1.0)), self.p_hi)
        self.n_res = self.n_rows + len(self.sigma_terms)

    # -- derived bounds --------------------------------------------------------------
    def _nominal_outputs(self) -> Optional[np.ndarray]:
        """Stacked outputs at the starting parameter values (file values clipped into the
        bounds), for the scale bounds; None if a condition fails to integrate."""
        values = {n: float(np.clip(self.model.parameters[n], a, b))
                  for n, (a, b) in self._bounds.items()}
        model = self.model.with_parameters(values) if values else self.model
        try:
            xs = [np.hstack([r.species, r.observables]) for r in
                  (simulate(model, self.protocols[c], t=self.times[c], **self.solver_options)
                   for c in self.conditions)]
        except SolverError:
            return None
        return np.vstack(xs)

    @staticmethod
    def _derived_bounds(g: _Group, which: str, X: Optional[np.ndarray]) -> Tuple[float, float]:
        y = g.y
        ymax = float(np.max(np.abs(y))) or 1.0
        if which == "offset":
            if g.obs.noise == "lognormal":  # values are > 0 (checked): predictions stay > 0
                return 1e-3 * float(np.min(y)), float(np.max(y))
            return -2.0 * ymax, 2.0 * ymax
        hmax = math.nan
        if X is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                h = X[g.fidx, g.out] / (X[g.ridx, g.out] if g.ridx is not None else 1.0)
            h = np.abs(h[np.isfinite(h)])
            hmax = float(np.max(h)) if len(h) else math.nan
        ratio = ymax / hmax if math.isfinite(hmax) and hmax > 0 else ymax
        return ratio * 10.0 ** -SCALE_SPAN, ratio * 10.0 ** SCALE_SPAN

    @staticmethod
    def _sigma_bounds(obs: Observation, y: np.ndarray) -> Tuple[float, float]:
        if obs.noise == "lognormal":
            spread = max(float(np.std(np.log(y))), 0.3)
            return SIGMA_LO, SIGMA_HI * spread
        rms = float(np.sqrt(np.mean(y * y))) or 1.0
        return SIGMA_LO * rms, SIGMA_HI * rms

    # -- layout ----------------------------------------------------------------------
    def _build_grid(self) -> None:
        from .data import DataError
        table = self.data.table
        outputs = list(self.model.species) + list(self.model.observables)
        n_rows = len(table)
        refs = [self.data.reference(i) for i in range(n_rows)]
        need: Dict[str, set] = {c: set() for c in self.data.conditions}
        for i, (cond, t, oname) in enumerate(zip(table["condition"], table["time"],
                                                 table["observable"])):
            need[cond].add(float(t))
            if refs[i] is not None:
                need.setdefault(refs[i][0], set()).add(refs[i][1])
                continue
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

        obs_col = table["observable"].to_numpy()
        conds_all = table["condition"].to_numpy()
        ts_all = table["time"].to_numpy(dtype=float)
        y_all = table["value"].to_numpy(dtype=float)
        sig_all = self.data.sigma_values()
        grp_all = self.data.groups
        is_ratio = np.array([r is not None for r in refs], dtype=bool)
        groups: List[_Group] = []
        labels: Dict[str, List[_Group]] = {}
        for oname, obs in self.observations.items():
            rows_o = np.flatnonzero(obs_col == oname)
            y = y_all[rows_o]
            if obs.noise == "lognormal" and (y <= 0).any():
                i = int(rows_o[np.flatnonzero(y <= 0)[0]])
                raise DataError(f"column 'value' has {table['value'].iloc[i]:g} in row {i} for "
                                f"{oname!r}, whose noise is log-normal: values must be > 0",
                                column="value", value=float(table["value"].iloc[i]), row=i)
            for grp in dict.fromkeys(grp_all[rows_o]):
                for ratio in (False, True):
                    rows = rows_o[(grp_all[rows_o] == grp) & (is_ratio[rows_o] == ratio)]
                    if len(rows) == 0:
                        continue
                    fidx = np.array([flat(conds_all[i], ts_all[i]) for i in rows], dtype=int)
                    ridx = None
                    if ratio:
                        ridx = np.array([flat(*refs[i]) for i in rows], dtype=int)
                    elif obs.fold_change == "day0":
                        ridx = np.array([flat(conds_all[i], 0.0) for i in rows], dtype=int)
                    elif obs.fold_change is not None:
                        ridx = np.array([flat(obs.fold_change, ts_all[i]) for i in rows],
                                        dtype=int)
                    sig = sig_all[rows].copy()
                    missing = ~np.isfinite(sig)
                    est = missing.copy()
                    if obs.sigma_mode == "fixed":
                        sig[missing] = float(obs.sigma)
                        est[:] = False
                    else:
                        sig[missing] = 1.0  # replaced by sigma_<label> at every evaluation
                    g = _Group(oname, str(grp), obs, rows, outputs.index(oname), fidx, ridx,
                               y_all[rows], sig, est, ratio)
                    groups.append(g)
                    labels.setdefault(g.label, []).append(g)
        self.groups = groups
        self._labels = labels
        self.n_rows = n_rows

    def row_sigma(self, z: np.ndarray) -> np.ndarray:
        """The noise SD of every data row at z (given or estimated)."""
        p = self.to_params(z)
        out = np.empty(self.n_rows)
        for g in self.groups:
            s = g.sigma.copy()
            if g.k["sigma"] is not None:
                s[g.est] = p[g.k["sigma"]]
            out[g.rows] = s
        return out

    @property
    def n(self) -> int:
        return len(self.names)


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
        """Weighted residuals r, dr/dz (if S is given), predictions and observation values.

        r holds one residual per data row, then one per estimated sigma (its
        ``N log σ`` term); predictions one per data row; observation values map a label
        (``ALP`` or ``ALP[group]``) to its (scale, offset).
        """
        n, nz = self.n_rows, self.n
        r = np.empty(self.n_res)
        pred_all = np.empty(n)
        J = np.zeros((self.n_res, nz)) if S is not None else None
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
                mode = g.mode(which)
                dv = np.zeros(nz)
                if mode == "estimate":
                    k = g.k[which]
                    v = float(p[k])
                    dv[k] = dpdz[k]
                else:
                    v = g.fixed_value(which)
                vals[which], dvals[which] = v, dv
            sig = g.sigma.copy()
            ks = g.k["sigma"]
            if ks is not None:
                sig[g.est] = p[ks]
            w = 1.0 / sig ** 2
            dw = None
            if S is not None and ks is not None:
                # sigma is optimised as log10: d(1/σ²)/dz = -2 ln10 / σ²
                dw = np.zeros((m, nz))
                dw[g.est, ks] = -2.0 * LN10 * w[g.est]
            analytic = [wh for wh in ("scale", "offset") if g.mode(wh) == "analytic"]
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
                        if dw is not None:
                            dls = dls + (dw.T @ (ly - lh - ls)) / np.sum(w)
                        dpred = pred[:, None] * (dls[None, :] + dlh)
                else:
                    pred, dpred = self._analytic_additive(g, h, dh_full, vals, dvals, analytic, w,
                                                          dw)
                if g.obs.noise == "additive":
                    res = (pred - g.y) / sig
                    jac = None if dpred is None else dpred / sig[:, None]
                else:
                    res = (np.log(pred) - np.log(g.y)) / sig
                    jac = None if dpred is None else dpred / (pred * sig)[:, None]
                if jac is not None and ks is not None:
                    jac[g.est, ks] -= LN10 * res[g.est]
            res = np.where(np.isfinite(res), res, np.nan)
            r[g.rows] = res
            pred_all[g.rows] = pred
            if J is not None:
                J[g.rows] = jac
            if not g.ratio or g.label not in solved:
                solved[g.label] = (float(vals["scale"]), float(vals["offset"]))
        for j, (k, cnt, c) in enumerate(self.sigma_terms):
            # ½ r² = N ln σ + N c / 2: the normalisation term of N Gaussian rows sharing σ
            rj = math.sqrt(cnt * max(2.0 * math.log(p[k]) + c, 0.0))
            r[n + j] = rj
            if J is not None:
                J[n + j, k] = cnt * LN10 / rj if rj > 0 else 0.0
        return r, J, pred_all, solved

    @staticmethod
    def _analytic_additive(g: _Group, h: np.ndarray, dh: Optional[np.ndarray],
                           vals: dict, dvals: dict, analytic: List[str], w: np.ndarray,
                           dw: Optional[np.ndarray] = None):
        """Weighted linear least squares for the analytic scale/offset, and its derivative
        (``dw``: derivative of the weights, where an estimated sigma sets them)."""
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
        if dw is not None:
            dM = dM + np.einsum("nk,nj,nl->jkl", G, dw, G)
            db = db + np.einsum("nk,n,nj->jk", G, g.y - c, dw)
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
    table = problem.data.table
    for g in problem.groups:
        if g.ridx is not None:
            den = X[g.ridx, g.out]
            if (np.abs(den) == 0).any() or not np.all(np.isfinite(den)):
                i = int(np.flatnonzero((den == 0) | ~np.isfinite(den))[0])
                row = int(g.rows[i])
                cond = table["condition"].iloc[row]
                if g.ratio:
                    rc, rt = problem.data.reference(row)
                    ref = f"day {rt:g} of {rc!r} (row {row}'s reference)"
                else:
                    ref = "day 0" if g.obs.fold_change == "day0" else repr(g.obs.fold_change)
                return (f"fold change of {g.name!r} in condition {cond!r} relative to {ref} "
                        f"divides by the model's {g.name} = {den[i]:g} there; choose another "
                        f"reference or observation model")
    pred = problem.residuals(z, X, None)[2]
    for g in problem.groups:
        if g.obs.noise == "lognormal":
            x, pg = X[g.fidx, g.out], pred[g.rows]
            if (x <= 0).any():
                i = int(np.flatnonzero(x <= 0)[0])
                return (f"log-normal noise for {g.name!r} needs positive predictions; the "
                        f"model gives {x[i]:g} in row {int(g.rows[i])}")
            if (pg <= 0).any():
                i = int(np.flatnonzero(pg <= 0)[0])
                return (f"log-normal noise for {g.name!r} needs positive predictions; scale * "
                        f"model + offset gives {pg[i]:g} in row {int(g.rows[i])} (check the "
                        f"offset bounds)")
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
            return np.full(self.problem.n_res, np.nan), None, np.full(n, np.nan), {}
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
                J = np.zeros((self.problem.n_res, self.problem.n))
            return np.where(np.isfinite(J), J, 0.0)[:, self.free]
        return self._fd(z)

    def _fd(self, z: np.ndarray) -> np.ndarray:
        pb = self.problem
        r0 = self.evaluate(z, False)[0]
        J = np.zeros((pb.n_res, len(self.free)))
        for col, i in enumerate(self.free):
            h = pb.fd_step * max(1.0, abs(z[i]))
            if z[i] + h > pb.ub[i]:
                h = -h
            zh = z.copy()
            zh[i] += h
            J[:, col] = (self.evaluate(zh, False)[0] - r0) / h
        return np.where(np.isfinite(J), J, 0.0)

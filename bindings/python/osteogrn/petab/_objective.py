"""The PEtab objective: simulations -> predictions h and noise SDs σ of every measurement, then
the log-likelihood (with all constants, as PEtab defines it), its gradient from forward
sensitivities, least-squares residuals and the log prior."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional, Tuple

import numpy as np

from ..errors import PetabError
from ..simulation import simulate

if TYPE_CHECKING:
    from ._problem import Problem

__all__ = ["predict", "evaluate", "residuals", "log_prior"]

LN10 = math.log(10.0)
LOG_2PI = math.log(2.0 * math.pi)
#: The σ residual sqrt(2 ln σ + SIGMA_C) stays real for σ > exp(-SIGMA_C / 2) ≈ 1.4e-11.
SIGMA_C = 50.0


def _values(problem: "Problem", p: np.ndarray, fixed, est) -> dict:
    vals = dict(fixed)
    for name, j in est.items():
        vals[name] = float(p[j])
    return vals


def predict(problem: "Problem", x: np.ndarray, sens: bool
            ) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray], Optional[np.ndarray]]:
    """h, σ of every measurement row and (sens) dh/dx, dσ/dx [n_rows, n_x] (parameter scale).

    Raises SolverError when a simulation fails.
    """
    n, nx = problem.n_rows, problem.n_x
    p = problem.unscale(x)
    dpdx = problem.dp_dx(x)
    h = np.empty(n)
    sig = np.empty(n)
    dh = np.zeros((n, nx)) if sens else None
    ds = np.zeros((n, nx)) if sens else None
    ns = problem._n_species
    opts = problem._opts
    for sim in problem.sims:
        model = problem.model.with_parameters(_values(problem, p, sim.fixed, sim.est))
        names = sim.sens if sens and sim.sens else None
        init = {}
        if sim.preeq is not None:
            import osteogrn as og
            pre_model = problem.model.with_parameters(
                _values(problem, p, sim.pre_fixed, sim.pre_est))
            # the integrator runs with the problem's options; the steady-state criterion is
            # og.steady_state's default (wrms(dx/dt) < 1, weights 1/(1e-12 + 1e-8 |x|))
            st = og.steady_state(pre_model, sensitivities=names, options=problem.options)
            x0 = np.array(st.values, dtype=float)
            S0 = np.array(st.sensitivities, dtype=float) if names else None
            if S0 is not None:
                # a parameter estimated in the simulation but fixed in the preequilibration:
                # the steady state does not depend on x through it
                for k, nm in enumerate(names):
                    if nm not in sim.pre_est:
                        S0[:, k] = 0.0
            # species the simulation condition sets are reset after the preequilibration
            for idx, init_name, flag in problem._species_reset:
                if sim.fixed.get(flag, 0.0) == 0.0:
                    continue
                x0[idx] = (sim.fixed[init_name] if init_name in sim.fixed
                           else float(p[sim.est[init_name]]))
                if S0 is not None:
                    S0[idx, :] = 0.0
                    if init_name in names:
                        S0[idx, names.index(init_name)] = 1.0
            init["initial_state"] = x0
            if names:
                init["initial_sensitivities"] = S0
        r = simulate(model, None, t=sim.times, sensitivities=names, **opts, **init)
        O = np.asarray(r.observables, dtype=float)
        h[sim.rows] = O[sim.tidx, sim.ycol]
        direct = sim.scol < 0
        if (~direct).any():
            sig[sim.rows[~direct]] = O[sim.tidx[~direct], sim.scol[~direct]]
        for i in sim.rows[direct]:
            v = problem._sigma_direct[i]
            sig[i] = p[int(v[2:])] if isinstance(v, str) else float(v)
        if sens:
            if names:
                S = np.asarray(r.sensitivities, dtype=float)[:, ns:, :]   # observables only
                cols = np.array([sim.est.get(nm, sim.pre_est.get(nm, -1)) for nm in names])
                Sy = S[sim.tidx, sim.ycol, :] * dpdx[cols][None, :]
                for k, j in enumerate(cols):
                    dh[sim.rows, j] += Sy[:, k]
                if (~direct).any():
                    Ss = S[sim.tidx[~direct], sim.scol[~direct], :] * dpdx[cols][None, :]
                    rr = sim.rows[~direct]
                    for k, j in enumerate(cols):
                        ds[rr, j] += Ss[:, k]
            for i in sim.rows[direct]:
                v = problem._sigma_direct[i]
                if isinstance(v, str):
                    ds[i, int(v[2:])] += dpdx[int(v[2:])]
    return h, sig, dh, ds


def _transformed(problem: "Problem", h: np.ndarray, dh: Optional[np.ndarray]):
    """(y~, h~, dh~) on each row's observableTransformation scale."""
    tf = problem.transform
    y = problem.y.copy()
    ht = h.copy()
    dht = None if dh is None else dh.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        for kind, f, d in (("log", np.log, 1.0), ("log10", np.log10, LN10)):
            m = tf == kind
            if m.any():
                y[m] = f(y[m])
                ht[m] = f(h[m])
                if dht is not None:
                    dht[m] = dh[m] / (h[m] * d)[:, None]
    return y, ht, dht


def _jacobian_term(problem: "Problem") -> float:
    """Σ of -ln(y) (log) and -ln(y ln10) (log10): the density of the measurement itself."""
    tf, y = problem.transform, problem.y
    out = -float(np.sum(np.log(y[tf == "log"])))
    out -= float(np.sum(np.log(y[tf == "log10"] * LN10)))
    return out


def evaluate(problem: "Problem", x: np.ndarray, gradient: bool
             ) -> Tuple[float, Optional[np.ndarray]]:
    """(llh, d llh / dx or None) at parameter-scale x."""
    h, sig, dh, ds = predict(problem, x, gradient)
    y, ht, dht = _transformed(problem, h, dh)
    e = y - ht
    normal = problem.noise == "normal"
    lap = ~normal
    with np.errstate(divide="ignore", invalid="ignore"):
        llh = -0.5 * np.sum(LOG_2PI + 2.0 * np.log(sig[normal]) + (e[normal] / sig[normal]) ** 2)
        llh += -np.sum(np.log(2.0 * sig[lap]) + np.abs(e[lap]) / sig[lap])
    llh = float(llh) + _jacobian_term(problem)
    if not math.isfinite(llh):
        llh = -math.inf if not math.isnan(llh) else math.nan
    g = None
    if gradient:
        # normal: d/dθ = (e/σ²) dh~ - (1/σ - e²/σ³) dσ
        # laplace: d/dθ = sign(e)/σ dh~ - (1/σ - |e|/σ²) dσ
        with np.errstate(divide="ignore", invalid="ignore"):
            wh = np.where(normal, e / sig ** 2, np.sign(e) / sig)
            ws = np.where(normal, 1.0 / sig - e ** 2 / sig ** 3, 1.0 / sig - np.abs(e) / sig ** 2)
        g = wh @ dht - ws @ ds
    return llh, g


def residuals(problem: "Problem", x: np.ndarray, jacobian: bool
              ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Least-squares residuals (and their Jacobian d r / dx) with ½ Σ r² = -llh - log prior +
    const: one per measurement, (y~ - h~)/σ (normal) or sign(e) sqrt(2|e|/σ) (laplace), one
    sqrt(2 ln σ + c) per row whose σ depends on estimated parameters (laplace: ln(2σ) is ln σ +
    const too), and one per normal / parameterScaleNormal prior."""
    h, sig, dh, ds = predict(problem, x, jacobian)
    return residuals_from(problem, x, h, sig, dh, ds)


def residuals_from(problem: "Problem", x: np.ndarray, h: np.ndarray, sig: np.ndarray,
                   dh: Optional[np.ndarray], ds: Optional[np.ndarray]
                   ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """:func:`residuals` from predictions (and their derivatives, or None)."""
    y, ht, dht = _transformed(problem, h, dh)
    e = y - ht
    normal = problem.noise == "normal"
    rows = np.flatnonzero(problem.sigma_estimated)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(normal, e / sig, np.sign(e) * np.sqrt(2.0 * np.abs(e) / sig))
        rs = np.sqrt(np.maximum(2.0 * np.log(sig[rows]) + SIGMA_C, 0.0))
    rp, Jp = _prior_residuals(problem, x)
    r_all = np.concatenate([r, rs, rp])
    if dh is None:
        return r_all, None
    with np.errstate(divide="ignore", invalid="ignore"):
        # normal: dr = -dh~/σ - e/σ² dσ ; laplace, r = s sqrt(2|e|/σ) with s = sign(e):
        # dr = (-dh~/σ - s |e|/σ² dσ) / |r|
        Jn = -dht / sig[:, None] - (e / sig ** 2)[:, None] * ds
        ar = np.abs(r)
        Jl = (-dht / sig[:, None] - (np.abs(e) / sig ** 2 * np.sign(e))[:, None] * ds) / \
            np.where(ar > 0, ar, np.inf)[:, None]
        Js = (ds[rows] / sig[rows][:, None]) / np.where(rs > 0, rs, np.inf)[:, None]
    J = np.where(normal[:, None], Jn, Jl)
    return r_all, np.vstack([J, Js, Jp])


def _prior_residuals(problem: "Problem", x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    res, jac = [], []
    for j, kind, (a, b) in problem.priors:
        if kind in ("uniform", "parameterScaleUniform"):
            continue  # constant inside the bounds
        row = np.zeros(problem.n_x)
        if kind == "parameterScaleNormal":
            res.append((x[j] - a) / b)
            row[j] = 1.0 / b
        elif kind == "normal" and problem.x_scales[j] == "lin":
            res.append((x[j] - a) / b)
            row[j] = 1.0 / b
        else:
            raise PetabError(f"objectivePriorType {kind!r} of {problem.x_ids[j]!r} (scale "
                             f"{problem.x_scales[j]}) has no least-squares form: use "
                             f"log_likelihood + log_prior with a general optimiser",
                             table="parameter", column="objectivePriorType",
                             row=problem.x_ids[j], value=kind)
        jac.append(row)
    return np.array(res, dtype=float), (np.array(jac, dtype=float).reshape(-1, problem.n_x))


def log_prior(problem: "Problem", x: np.ndarray) -> Tuple[float, np.ndarray]:
    """(Σ ln prior density, its gradient on parameter scale). A prior on the linear value (normal,
    laplace, uniform, logNormal, logLaplace) is a density of the linear value; parameterScale*
    priors are densities of the parameter-scale value (PEtab v1)."""
    total, grad = 0.0, np.zeros(problem.n_x)
    p = problem.unscale(x)
    dpdx = problem.dp_dx(x)
    for j, kind, (a, b) in problem.priors:
        ps = kind.startswith("parameterScale")
        v = x[j] if ps else p[j]
        dv = 1.0 if ps else dpdx[j]
        base = kind[len("parameterScale"):].lower() if ps else kind
        if base == "uniform":
            inside = a <= v <= b
            total += -math.log(b - a) if inside else -math.inf
            continue
        if base == "normal":
            total += -0.5 * (LOG_2PI + 2 * math.log(b)) - 0.5 * ((v - a) / b) ** 2
            grad[j] += -(v - a) / b ** 2 * dv
        elif base == "laplace":
            total += -math.log(2 * b) - abs(v - a) / b
            grad[j] += -np.sign(v - a) / b * dv
        elif base == "logNormal":
            lv = math.log(v)
            total += -0.5 * (LOG_2PI + 2 * math.log(b)) - lv - 0.5 * ((lv - a) / b) ** 2
            grad[j] += (-1.0 / v - (lv - a) / (b ** 2 * v)) * dv
        elif base == "logLaplace":
            lv = math.log(v)
            total += -math.log(2 * b) - lv - abs(lv - a) / b
            grad[j] += (-1.0 / v - np.sign(lv - a) / (b * v)) * dv
    return total, grad

"""Parameter draws that represent a fit's uncertainty (``FitResult.sample``).

Two methods, both in the fit's optimisation coordinates ``z`` (log10 for log-scaled
parameters, linear otherwise), with the fit's bounds as the support:

``"fisher"`` (default): the Laplace approximation. The cost ``½ Σ r²`` is the negative
log-likelihood (residuals are weighted by the given or estimated noise SD), so near the
optimum ``z*`` the likelihood is ``N(z*, F⁻¹)`` with the Gauss-Newton Fisher information
``F = Jᵀ J`` of the weighted residuals, which the fit already holds: sampling costs no
simulation. No extra factor scales ``F⁻¹``: every residual is already divided by its σ.
For an estimated noise SD ``σ`` (coordinate ``u = log10 σ``) the exact curvature
``2 ln²10 Σ r²`` of its rows replaces the Gauss-Newton term of the fit's auxiliary
``N log σ`` residual, whose value depends on an arbitrary constant. The normal is
truncated to the bounds by rejection (a draw outside the box is drawn again: the Laplace
posterior times the flat prior on the box is exactly this truncated normal). If fewer
than one draw in 1000 falls inside, the rest are reflected into the box with a
:class:`~osteogrn.FitWarning`. Directions whose eigenvalue of ``F`` lies below
``REL_EIGENVALUE`` × the largest are not identifiable: the pseudo-inverse gives them zero
variance (draws do not move along them), and a FitWarning names them.

``"mcmc"``: the posterior with a flat prior on the box in ``z``, sampled by emcee's
affine-invariant ensemble sampler (Goodman & Weare 2010; Foreman-Mackey et al. 2013).
Every step evaluates the half-ensemble at once through :func:`osteogrn.simulate_batch`
(one batch per fitted condition). Use it when the profiles are not parabolic or an
interval is open: the Laplace approximation is then wrong, MCMC is not (given a long
enough chain, which the returned ``attrs`` let you check). Analytic scales/offsets are
solved at every draw (profiled out), as in the fit.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

import numpy as np

from ..errors import FitWarning, OptionError, OsteogrnError
from .fisher import REL_EIGENVALUE
from .objective import LN10, Problem

if TYPE_CHECKING:
    import pandas as pd

    from .result import FitResult

__all__ = ["sample", "METHODS", "fisher_information", "grid_outputs", "as_generator"]

#: Sampling methods of FitResult.sample; the first is the default.
METHODS = ("fisher", "mcmc")
#: Fisher draws: below this fraction of draws inside the bounds, the rest are reflected.
MIN_ACCEPTANCE = 1e-3
#: MCMC: a chain shorter than this many autocorrelation times gets a FitWarning (emcee's
#: documentation recommends at least 50).
MIN_TAU_MULTIPLE = 50


def as_generator(seed: Any) -> np.random.Generator:
    """A numpy Generator from None, an int (or sequence of ints) or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(
            seed, (int, np.integer, list, tuple, np.random.SeedSequence))):
        raise OptionError(f"seed must be None, an integer or a numpy Generator, got {seed!r}")
    return np.random.default_rng(seed)


def _count(n: Any, what: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise OptionError(f"{what} must be a positive integer, got {n!r}")
    return int(n)


# -- Fisher information --------------------------------------------------------------------
def fisher_information(fit: "FitResult") -> np.ndarray:
    """``Jᵀ J`` of the data rows at the optimum, with the exact curvature for estimated
    noise SDs (see the module docstring)."""
    pb: Problem = fit.problem
    J = fit.jacobian
    if J is None or not np.all(np.isfinite(J)):
        raise OsteogrnError("the fit's Jacobian at the optimum is not available or not "
                            "finite, so there is no Fisher information to sample from; use "
                            "method='mcmc'")
    Jd = np.asarray(J, dtype=float)[: pb.n_rows]
    F = Jd.T @ Jd
    r = np.asarray(fit.residuals, dtype=float)
    for k, _, _ in pb.sigma_terms:
        rows = np.concatenate([g.rows[g.est] for g in pb.groups if g.k["sigma"] == k])
        # d²/du² of ½ Σ (e/σ)² with u = log10 σ is 2 ln²10 Σ r²; the data rows' Gauss-Newton
        # term gives half of it (their dr/du = -ln10 r), so the other half is added here.
        F[k, k] += LN10 ** 2 * float(np.sum(r[rows] ** 2))
    return 0.5 * (F + F.T)


def _z_name(pb: Problem, k: int) -> str:
    return f"log10 {pb.names[k]}" if pb.log[k] else pb.names[k]


def _laplace(fit: "FitResult") -> Tuple[np.ndarray, List[str]]:
    """(A with covariance A Aᵀ, descriptions of the dropped near-null directions)."""
    pb = fit.problem
    F = fisher_information(fit)
    lam, V = np.linalg.eigh(F)
    lmax = float(lam.max()) if len(lam) else 0.0
    if not lmax > 0:
        raise OsteogrnError("the residuals do not depend on any estimated parameter "
                            "(Jᵀ J = 0): the Fisher information gives no distribution; use "
                            "method='mcmc'")
    null = lam < REL_EIGENVALUE * lmax
    notes = []
    for i in np.flatnonzero(null):
        v = V[:, i]
        order = np.argsort(-np.abs(v))
        terms = " ".join(f"{'+' if v[j] >= 0 else '-'} {abs(v[j]):.2f} {_z_name(pb, j)}"
                         for j in order if abs(v[j]) >= 0.1)
        notes.append(f"[{terms.lstrip('+ ')}] (eigenvalue {max(lam[i], 0.0) / lmax:.1g} x "
                     f"the largest)")
    keep = ~null
    return V[:, keep] / np.sqrt(lam[keep]), notes


def _reflect(z: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> np.ndarray:
    """Folds z into [lb, ub] by reflection at the bounds (repeatedly, for far draws)."""
    w = ub - lb
    y = np.mod(z - lb, 2.0 * w)
    return lb + np.where(y > w, 2.0 * w - y, y)


def _sample_fisher(fit: "FitResult", n: int, rng: np.random.Generator
                   ) -> Tuple[np.ndarray, Dict[str, Any]]:
    pb = fit.problem
    A, notes = _laplace(fit)
    if notes:
        warnings.warn(FitWarning(
            f"the Fisher information of the fit is singular: {len(notes)} direction(s) in "
            f"(log10) parameter space are not identifiable from these data and the draws do "
            f"not vary along them (pseudo-inverse): " + "; ".join(notes) + ". The bands "
            "therefore understate the uncertainty; use method='mcmc' (flat prior within the "
            "bounds), or fix or bound those parameters"), stacklevel=4)
    x = np.asarray(fit.x, dtype=float)
    lb, ub = pb.lb, pb.ub
    out: List[np.ndarray] = []
    have, drawn = 0, 0
    batch = max(n, 256)
    while have < n and drawn < n / MIN_ACCEPTANCE:
        z = x + rng.standard_normal((batch, A.shape[1])) @ A.T
        drawn += batch
        ok = np.all((z >= lb) & (z <= ub), axis=1)
        out.append(z[ok][: n - have])
        have += int(ok.sum())
    Z = np.concatenate(out, axis=0) if out else np.empty((0, pb.n))
    reflected = n - len(Z)
    if reflected > 0:
        warnings.warn(FitWarning(
            f"fewer than {MIN_ACCEPTANCE:g} of the Laplace draws fall inside the fit's bounds; "
            f"{reflected} of {n} draws were reflected into the bounds instead (the normal "
            f"approximation is poor here: use method='mcmc')"), stacklevel=4)
        z = x + rng.standard_normal((reflected, A.shape[1])) @ A.T
        Z = np.concatenate([Z, _reflect(z, lb, ub)], axis=0)
    info = {"acceptance": float(have / max(drawn, 1)), "reflected": int(reflected),
            "null_directions": notes}
    return Z, info


# -- simulations of the fit's conditions for many parameter vectors -------------------------
def grid_outputs(problem: Problem, Z: np.ndarray, threads: Optional[int] = None) -> np.ndarray:
    """Stacked outputs of the fit's conditions ``[m, n_grid, n_out]`` for m vectors z, as
    ``Problem.simulate`` lays them out, from one :func:`osteogrn.simulate_batch` per
    condition; NaN where a simulation failed."""
    from ..batch import simulate_batch
    Z = np.atleast_2d(np.asarray(Z, dtype=float))
    m = len(Z)
    params = None
    if problem.n_model:
        params = np.array([problem.to_params(z)[: problem.n_model] for z in Z])
    parts = []
    for c in problem.conditions:
        res = simulate_batch(problem.model, [problem.protocols[c]], parameters=params,
                             param_names=problem.model_params if params is not None else None,
                             t=problem.times[c], threads=threads, **problem.solver_options)
        v = np.array(res.values[:, 0], dtype=float)          # [sets, n_t, n_out]
        v[np.asarray(res.failed[:, 0], dtype=bool)] = np.nan
        if v.shape[0] != m:                                  # no model parameter estimated
            v = np.broadcast_to(v, (m,) + v.shape[1:])
        parts.append(v)
    return np.concatenate(parts, axis=1)


def log_likelihood(problem: Problem, Z: np.ndarray, threads: Optional[int] = None
                   ) -> np.ndarray:
    """``-cost(z)`` for each row of Z; -inf outside the bounds or where a simulation fails."""
    Z = np.atleast_2d(np.asarray(Z, dtype=float))
    out = np.full(len(Z), -np.inf)
    inside = np.all((Z >= problem.lb) & (Z <= problem.ub), axis=1) & np.all(np.isfinite(Z),
                                                                            axis=1)
    idx = np.flatnonzero(inside)
    if len(idx):
        X = grid_outputs(problem, Z[idx], threads)
        for j, i in enumerate(idx):
            if not np.all(np.isfinite(X[j])):
                continue
            with np.errstate(all="ignore"):
                r = problem.residuals(Z[i], X[j], None)[0]
            cost = 0.5 * float(np.sum(r * r))
            if np.isfinite(cost):
                out[i] = -cost
    return out


def _sample_mcmc(fit: "FitResult", n: int, rng: np.random.Generator, walkers: Optional[int],
                 steps: int, burn: int, threads: Optional[int]
                 ) -> Tuple[np.ndarray, Dict[str, Any]]:
    try:
        import emcee
    except ImportError:  # pragma: no cover - emcee is in the test extras
        raise OptionError("method='mcmc' needs the emcee package: pip install emcee "
                          "(or osteogrn[mcmc])") from None
    pb = fit.problem
    d = pb.n
    walkers = max(2 * d + 2, 24) if walkers is None else _count(walkers, "walkers")
    if walkers < 2 * d:
        raise OptionError(f"walkers must be at least twice the number of estimated "
                          f"parameters ({2 * d}), got {walkers}")
    steps, burn = _count(steps, "steps"), int(burn)
    if burn < 0:
        raise OptionError(f"burn must be >= 0, got {burn!r}")
    if walkers * steps < n:
        raise OptionError(f"n = {n} draws need walkers x steps >= n; got {walkers} x {steps}: "
                          f"raise steps")
    # Start: a small ball around the optimum, one Laplace standard deviation wide where the
    # Fisher information defines one (clipped to [1e-4, 0.1] of the range), reflected into
    # the bounds; the burn-in forgets it.
    width = pb.ub - pb.lb
    try:
        A, _ = _laplace(fit)
        sd = np.sqrt(np.sum(A * A, axis=1))
    except OsteogrnError:
        sd = np.full(d, np.nan)
    sd = np.where(np.isfinite(sd) & (sd > 0), sd, 0.01 * width)
    sd = np.clip(sd, 1e-4 * width, 0.1 * width)
    z0 = _reflect(fit.x + rng.standard_normal((walkers, d)) * sd, pb.lb, pb.ub)
    sampler = emcee.EnsembleSampler(walkers, d, lambda Z: log_likelihood(pb, Z, threads),
                                    vectorize=True)
    sampler.random_state = np.random.RandomState(int(rng.integers(2 ** 32))).get_state()
    sampler.run_mcmc(z0, burn + steps, progress=False)
    tau = np.asarray(sampler.get_autocorr_time(discard=burn, tol=0, quiet=True), dtype=float)
    tau_max = float(np.nanmax(tau)) if np.any(np.isfinite(tau)) else math.nan
    if not (math.isfinite(tau_max) and steps >= MIN_TAU_MULTIPLE * tau_max):
        warnings.warn(FitWarning(
            f"MCMC chain of {steps} steps after burn-in is shorter than {MIN_TAU_MULTIPLE} "
            f"integrated autocorrelation times ({tau_max:.3g} steps): the draws may not yet "
            f"represent the posterior; raise steps (and burn)"), stacklevel=4)
    thin = max(1, int(tau_max / 2)) if math.isfinite(tau_max) else 1
    thin = min(thin, max(1, (walkers * steps) // n))
    chain = sampler.get_chain(discard=burn, thin=thin, flat=True)
    pick = np.sort(rng.choice(len(chain), size=n, replace=False))
    info = {"walkers": walkers, "steps": steps, "burn": burn, "thin": thin,
            "acceptance": float(np.mean(sampler.acceptance_fraction)),
            "autocorr_time": [float(v) for v in tau]}
    return chain[pick], info


# -- entry point -----------------------------------------------------------------------------
def sample(fit: "FitResult", n: int, method: str = "fisher", seed: Any = None,
           walkers: Optional[int] = None, steps: int = 1000, burn: int = 300,
           threads: Optional[int] = None) -> "pd.DataFrame":
    """See :meth:`osteogrn.FitResult.sample`."""
    import pandas as pd
    n = _count(n)
    if method not in METHODS:
        raise OptionError(f"method must be one of {', '.join(map(repr, METHODS))}, got "
                          f"{method!r}")
    rng = as_generator(seed)
    if method == "fisher":
        Z, info = _sample_fisher(fit, n, rng)
    else:
        Z, info = _sample_mcmc(fit, n, rng, walkers, steps, burn, threads)
    pb = fit.problem
    values = np.array([pb.to_params(z) for z in Z])
    frame = pd.DataFrame(values, columns=list(pb.names))
    frame.index.name = "draw"
    frame.attrs.update({"method": method, "n": n, **info})
    return frame

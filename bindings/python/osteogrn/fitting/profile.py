"""Profile likelihood: re-optimise the other parameters along steps in one parameter."""

from __future__ import annotations

from typing import Any, Dict, Mapping

import numpy as np

from ..errors import OptionError
from .objective import Evaluator, Problem

__all__ = ["profile_parameter", "threshold", "interval_from_profile"]


def threshold(level: float) -> float:
    """Cost increase that bounds a profile-likelihood interval: χ²₁(level) / 2.

    The cost is half the sum of squared weighted residuals, i.e. the negative
    log-likelihood up to a constant.
    """
    from scipy.stats import chi2
    if not 0 < level < 1:
        raise OptionError(f"level must lie in (0, 1), got {level!r}")
    return float(chi2.ppf(level, 1) / 2.0)


def profile_parameter(problem: Problem, z_best: np.ndarray, cost_best: float, k: int,
                      level: float, se: float, max_steps: int,
                      lsq_options: Mapping[str, Any]) -> Dict[str, Any]:
    """Walks z_k down and up from the optimum until the cost rises by more than the threshold.

    Returns a dict with the profile points (z_k, cost, other z) sorted by z_k and the
    number of simulations used.
    """
    from .fit import run_least_squares
    thr = threshold(level)
    lb, ub = problem.lb, problem.ub
    width = ub[k] - lb[k]
    step0 = 0.5 * se if np.isfinite(se) and se > 0 else 0.05 * width
    step0 = float(np.clip(step0, 1e-4 * width, 0.1 * width))
    points = [(float(z_best[k]), float(cost_best), np.delete(z_best, k))]
    n_sims = 0
    free = np.array([i for i in range(problem.n) if i != k], dtype=int)
    for direction in (-1.0, 1.0):
        zk, step = float(z_best[k]), step0
        x0 = np.delete(z_best, k)
        prev = 0.0
        for _ in range(int(max_steps)):
            if (direction < 0 and zk <= lb[k]) or (direction > 0 and zk >= ub[k]):
                break
            zk = float(np.clip(zk + direction * step, lb[k], ub[k]))
            ev = Evaluator(problem, fixed={k: zk})
            if len(free):
                x0 = np.clip(x0, lb[free], ub[free])
                rec = run_least_squares(ev, x0, lb[free], ub[free], lsq_options)
                n_sims += rec["n_sims"]
                if not np.isfinite(rec["cost"]):
                    break
                x0, cost = rec["z"], rec["cost"]
            else:
                r = ev.fun(np.array([]))
                n_sims += ev.n_sims
                cost = 0.5 * float(np.sum(r * r))
                if not np.isfinite(cost):
                    break
            points.append((zk, cost, x0.copy()))
            delta = cost - cost_best
            if delta > 1.1 * thr:
                break
            inc = delta - prev
            prev = delta
            if inc < 0.1 * thr:
                step = min(step * 1.5, 0.2 * width)
            elif inc > 0.4 * thr:
                step *= 0.5
    points.sort(key=lambda p: p[0])
    return {"z": np.array([p[0] for p in points]), "cost": np.array([p[1] for p in points]),
            "others": np.array([p[2] for p in points]), "n_sims": n_sims}


def interval_from_profile(z: np.ndarray, cost: np.ndarray, z_best: float, cost_ref: float,
                          level: float, lb: float, ub: float):
    """(lower, upper, lower_open, upper_open) in z by linear interpolation of the crossings."""
    thr = threshold(level)
    delta = cost - cost_ref
    i0 = int(np.argmin(np.abs(z - z_best)))

    def walk(indices):
        prev = i0
        for i in indices:
            if delta[i] > thr:
                d0, d1 = delta[prev], delta[i]
                frac = (thr - d0) / (d1 - d0) if d1 != d0 else 1.0
                return float(z[prev] + frac * (z[i] - z[prev])), False
            prev = i
        return float(z[prev]), True

    lower, lo_open = walk(range(i0 - 1, -1, -1))
    upper, up_open = walk(range(i0 + 1, len(z)))
    return lower, upper, lo_open, up_open

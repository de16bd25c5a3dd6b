"""og.fit: multi-start least squares with Latin-hypercube starts, in parallel threads."""

from __future__ import annotations

import math
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .._text import checks_text
from ..errors import (FitWarning, ModelError, OptionError, OsteogrnError, ProtocolError,
                      SolverError)
from ..model import Model
from ..simulation import SolverOptions, simulate, solver_options

if TYPE_CHECKING:
    from .result import FitResult
from .data import DataError, FitData
from .objective import GRADIENTS, Evaluator, Problem
from .observation import resolve_observations

__all__ = ["fit", "make_problem", "run_least_squares"]

#: Per-gradient overrides of SolverOptions() for fitting, tighter than og.simulate's: applied
#: when fit() gets no ``options`` object (keywords still override them). Forward differences
#: with step h in z carry an error ~ rtol / h, so they need rtol 1e-8 for a useful Jacobian;
#: sensitivities are accurate to the solver tolerance, and rtol 1e-7 already puts the cost
#: within ~1e-4 of its converged value (profile thresholds are ~1.9), at about half the cost
#: of rtol 1e-8.
FIT_SOLVER_DEFAULTS = {"sensitivities": {"rtol": 1e-7, "atol": 1e-11},
                       "fd": {"rtol": 1e-8, "atol": 1e-12}}
#: Methods for which the core computes forward sensitivities (CVODES).
SENSITIVITY_METHODS = ("cvode_bdf", "cvode_adams")
#: SolverOptions fields fit() does not take: it asks for sensitivities itself, never raises
#: on a failed simulation inside a start, and keeps no step logs.
_NOT_IN_FIT = ("sensitivities", "raise_on_failure", "record_steps")
_LSQ_DEFAULTS = {"ftol": 1e-8, "xtol": 1e-8, "gtol": 1e-8, "max_nfev": 200}
#: Inner re-optimisations of a profile start next to their optimum: looser tolerances suffice
#: (the cost must be right to ~1e-3 of the threshold χ²₁/2 ≈ 1.92).
_PROFILE_LSQ_DEFAULTS = {"ftol": 1e-6, "xtol": 1e-6, "gtol": 1e-8, "max_nfev": 100}


def _bounds(model: Model, estimate: Any) -> Dict[str, Tuple[float, float]]:
    table = model.parameter_table()
    if estimate is None or isinstance(estimate, str) or len(estimate) == 0:
        raise OptionError("estimate must name the parameters to fit: a list of names or a dict "
                          "name -> (lo, hi)")
    items = estimate.items() if isinstance(estimate, Mapping) else ((n, None) for n in estimate)
    out: Dict[str, Tuple[float, float]] = {}
    for name, b in items:
        name = str(name)
        if name not in table.index:
            raise OptionError(f"estimate names {name!r}, which is not a parameter of model "
                              f"{model.name!r}")
        if name in out:
            raise OptionError(f"estimate names {name!r} twice")
        pmin, pmax = float(table.loc[name, "min"]), float(table.loc[name, "max"])
        if b is None:
            lo, hi = pmin, pmax
        else:
            try:
                lo, hi = (float(v) for v in b)
            except (TypeError, ValueError):
                raise OptionError(f"estimate[{name!r}] must be (lo, hi), got {b!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise OptionError(f"estimate[{name!r}]: bounds must be finite with lo < hi, got "
                              f"({lo:g}, {hi:g})")
        if lo < pmin or hi > pmax:
            raise OptionError(f"estimate[{name!r}]: bounds ({lo:g}, {hi:g}) leave the model's "
                              f"range [{pmin:g}, {pmax:g}] for {name!r}")
        out[name] = (lo, hi)
    return out


def _choose_gradient(gradient: str, method: str) -> str:
    """"sensitivities" or "fd": "auto" takes sensitivities wherever the method has them."""
    if gradient not in GRADIENTS:
        raise OptionError(f"gradient must be one of {', '.join(GRADIENTS)}, got {gradient!r}")
    if gradient != "auto":
        if gradient == "sensitivities":
            if method not in SENSITIVITY_METHODS:
                raise OptionError(f"gradient='sensitivities' needs method "
                                  f"{' or '.join(map(repr, SENSITIVITY_METHODS))} (forward "
                                  f"sensitivities come from CVODES), got method={method!r}; "
                                  f"use gradient='fd' for it")
        return gradient
    return "sensitivities" if method in SENSITIVITY_METHODS else "fd"


def fit_solver_options(options: Any, gradient: str,
                       overrides: Mapping[str, Any]) -> Tuple[str, Dict[str, Any]]:
    """-> (gradient, keyword overrides for og.simulate) of a fit.

    The options are ``options`` (a SolverOptions, or None: ``SolverOptions()`` with
    :data:`FIT_SOLVER_DEFAULTS` for the chosen gradient), with ``overrides`` on top; every
    field but those in ``_NOT_IN_FIT`` is passed on, so each simulation runs with exactly
    these options.
    """
    allowed = [f for f in SolverOptions().to_dict() if f not in _NOT_IN_FIT]
    unknown = [k for k in overrides if k not in allowed]
    if unknown:
        raise OptionError(f"unknown option {unknown[0]!r}; fit passes {', '.join(allowed)} "
                          f"to og.simulate (or options=og.SolverOptions(...))")
    base = solver_options(options, **overrides)
    grad = _choose_gradient(gradient, base.method)
    if options is None:
        tighter = {k: v for k, v in FIT_SOLVER_DEFAULTS[grad].items() if k not in overrides}
        base = base.replace(**tighter)
    return grad, {k: v for k, v in base.to_dict().items() if k not in _NOT_IN_FIT}


def make_problem(model: Model, data: Any, protocols: Optional[Mapping[str, Any]], estimate: Any,
                 observations: Any, log_scale: Any, gradient: str, fd_step: float,
                 solver_options: Mapping[str, Any], options: Any = None) -> Problem:
    """Validates every input and builds the immutable :class:`Problem`."""
    if isinstance(model, (str, os.PathLike)):
        from ..library import load_model
        model = load_model(model)
    if not isinstance(model, Model):
        raise OptionError(f"model must be an og.Model or a model name, got {type(model).__name__}")
    grad, opts = fit_solver_options(options, gradient, solver_options)
    if not isinstance(log_scale, bool):
        try:
            log_scale = {str(n) for n in log_scale}
        except TypeError:
            raise OptionError(f"log_scale must be True/False or a list of parameter names, "
                              f"got {log_scale!r}") from None
    if not (isinstance(fd_step, (int, float)) and 0 < fd_step < 1):
        raise OptionError(f"fd_step must be in (0, 1), got {fd_step!r}")
    fdata = data if isinstance(data, FitData) and protocols is None else FitData(
        data, model, protocols)
    bounds = _bounds(model, estimate)
    obs = resolve_observations(observations, fdata.observables)
    # Bad solver options are the caller's error, not a failed start: one short run raises them
    # here (a SolverError at the file's parameter values says nothing about the fit's).
    proto = fdata.protocol(fdata.conditions[0])
    try:
        simulate(model, proto, t=[0.0], sensitivities=list(bounds)[:1] if grad ==
                 "sensitivities" else None, **opts)
    except SolverError:
        pass
    return Problem(model, fdata, obs, bounds, log_scale, opts, grad, fd_step)


def run_least_squares(ev: Evaluator, z0: np.ndarray, lb: np.ndarray, ub: np.ndarray,
                      options: Mapping[str, Any]) -> Dict[str, Any]:
    """One trust-region-reflective run; never raises for a failed start."""
    from scipy.optimize import least_squares
    t0 = time.perf_counter()
    rec: Dict[str, Any] = {}
    try:
        res = least_squares(ev.fun, z0, jac=ev.jac, bounds=(lb, ub), method="trf", **options)
        ok = res.status > 0 and np.isfinite(res.cost)
        rec.update(z=np.asarray(res.x, dtype=float), cost=float(res.cost) if ok else math.inf,
                   status="converged" if res.status > 0 else
                   ("max_evaluations" if res.status == 0 else "failed"),
                   message=str(res.message))
        if res.status == 0 and np.isfinite(res.cost):
            rec["cost"] = float(res.cost)
    except (OsteogrnError, ValueError, ArithmeticError, np.linalg.LinAlgError) as e:
        msg = f"{type(e).__name__}: {e}"
        if "not finite" in str(e):
            from .objective import diagnose
            msg += f" ({diagnose(ev.problem, ev.full(z0))})"
        rec.update(z=np.full(len(z0), np.nan), cost=math.inf, status="failed", message=msg)
    rec.update(n_evals=ev.n_fun, n_jac=ev.n_jac, n_sims=ev.n_sims,
               seconds=time.perf_counter() - t0)
    return rec


def latin_hypercube(lb: np.ndarray, ub: np.ndarray, n: int, seed: Any) -> np.ndarray:
    """n points in the box [lb, ub] by a scrambled Latin hypercube (scipy.stats.qmc)."""
    from scipy.stats import qmc
    u = qmc.LatinHypercube(d=len(lb), rng=np.random.default_rng(seed)).random(n)
    return lb + u * (ub - lb)


@checks_text(OptionError, model=ModelError, protocols=ProtocolError, data=DataError)
def fit(model: Union[Model, str, Any], data: Any = None,
        protocols: Optional[Mapping[str, Any]] = None,
        estimate: Union[Sequence[str], Mapping[str, Optional[Tuple[float, float]]], None] = None,
        *, observations: Any = None, log_scale: Any = True, n_starts: int = 20, seed: Any = 0,
        threads: Optional[int] = None, progress: bool = True, gradient: str = "auto",
        fd_step: float = 1e-4, optimizer_options: Optional[Mapping[str, Any]] = None,
        options: Any = None, starts: Any = None, **solver_options: Any) -> "FitResult":
    """Fits model parameters to a tidy table of marker measurements.

    Multi-start trust-region least squares (``scipy.optimize.least_squares``,
    method "trf", with bounds) from Latin-hypercube starts in the (log)
    bounds, with the Jacobian from forward sensitivities (chain rule for
    log-scaled parameters) or finite differences. Starts run in a thread pool
    (simulate releases the GIL); each start's result depends only on its start
    point, so a seed gives the same result for any number of threads.

    ``og.fit(petab_problem, n_starts=20, *, seed=0, threads=None, progress=True,
    starts=None, optimizer_options=None)`` fits an :class:`osteogrn.petab.Problem` with the same
    engine (docs/petab.md): its data, observation model, bounds and solver options are the
    problem's, so only these arguments apply.

    Parameters
    ----------
    model : Model, str or osteogrn.petab.Problem
    data : str, os.PathLike, pandas.DataFrame or FitData
        Columns ``condition, time, observable, value`` and optional ``sigma,
        reference_condition, reference_time, group, replicate, donor`` (see
        :class:`FitData`).
    protocols : mapping, optional
        Condition name -> Protocol (or protocol name/path). Other conditions
        must be built-in protocol names.
    estimate : list of names or dict name -> (lo, hi) or None
        Model parameters to fit. Bounds default to the parameter's min/max
        (``model.parameter_table()``) and must lie within them.
    observations : Observation, str or mapping observable -> Observation
        Observation models (default: identity, additive noise, sigma from the
        data, else estimated). Strings: "identity", "scale", "scale_offset",
        "fold_change", "lognormal". Observation parameters are per
        (observable, data ``group``); rows with ``reference_condition`` /
        ``reference_time`` are ratios, free of any scale or offset.
    log_scale : bool or collection of names
        Optimise log10 of these parameters (bounds must be > 0).
    n_starts : int
        Number of Latin-hypercube starts.
    seed : int or numpy Generator seed
        Seeds the Latin hypercube; the fit is deterministic for a seed.
    threads : int, optional
        Worker threads (default: number of CPUs, at most n_starts).
    progress : bool
        Show a tqdm progress bar over starts.
    gradient : {"auto", "sensitivities", "fd"}
        Jacobian source. "sensitivities": forward sensitivities from CVODES
        (one simulation per condition gives residuals and Jacobian; methods
        cvode_bdf/cvode_adams only). "fd": forward finite differences (one
        extra simulation per condition and parameter). "auto" (default):
        sensitivities for the CVODES methods, finite differences otherwise.
    fd_step : float
        Forward-difference step in the optimisation variables.
    optimizer_options : mapping, optional
        Extra keywords for ``least_squares`` (default ftol=xtol=gtol=1e-8,
        max_nfev=200).
    options : SolverOptions, optional
        Solver options of every simulation, used as given. Default:
        ``SolverOptions()`` with the fitting overrides :data:`FIT_SOLVER_DEFAULTS`
        (rtol=1e-7, atol=1e-11 with sensitivities; rtol=1e-8, atol=1e-12 with
        finite differences, whose Jacobian error grows like rtol / fd_step).
    starts : array_like, optional
        PEtab problems only: start points [n_starts, n_x] on the problem's parameter scale
        (``x_ids`` order), instead of the Latin hypercube; n_starts is their number.
    **solver_options
        ``method, rtol, atol, max_steps, max_step, linear_solver``: override the
        field of the options (as in :func:`osteogrn.simulate`).

    Returns
    -------
    FitResult

    Warns
    -----
    FitWarning
        Rows without sigma whose Observation gives none: their noise SD is
        estimated (``sigma_<observable>``, the maximum-likelihood way, with its
        log σ term in the cost) instead of assumed. Parameters that end within
        1 % of a bound (``FitResult.at_bounds``).

    Raises
    ------
    DataError
        The data table is invalid (names the column and value).
    OptionError
        Bad estimate, bounds, observation models or options.
    OsteogrnError
        Every start failed (the first failure's message is included).
    """
    if _is_petab_problem(model):
        return _fit_petab(model, data, protocols, estimate, observations, log_scale, n_starts,
                          seed, threads, progress, gradient, fd_step, optimizer_options,
                          options, starts, solver_options)
    if starts is not None:
        raise OptionError("starts= is for PEtab problems (og.petab.Problem); an ordinary fit "
                          "draws its starts from seed")
    from .result import FitResult
    problem = make_problem(model, data, protocols, estimate, observations, log_scale, gradient,
                           fd_step, solver_options, options)
    if problem.defaulted_sigma:
        names = ", ".join(f"sigma_{label}" for label in problem.defaulted_sigma)
        warnings.warn(FitWarning(
            f"the data give no sigma for {', '.join(map(repr, problem.defaulted_sigma))} "
            f"(no 'sigma' column, or empty cells) and the Observation none: estimating the noise "
            f"SD as {names} (maximum likelihood, one per observable and group). Give a 'sigma' "
            f"column or Observation(sigma=...) to fix it, or sigma='estimate' to silence this"),
            stacklevel=3)
    if isinstance(n_starts, bool) or not isinstance(n_starts, (int, np.integer)) or n_starts < 1:
        raise OptionError(f"n_starts must be a positive integer, got {n_starts!r}")
    if threads is None:
        threads = min(int(n_starts), os.cpu_count() or 1)
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise OptionError(f"threads must be a positive integer, got {threads!r}")
    lsq = dict(_LSQ_DEFAULTS)
    lsq.update(optimizer_options or {})
    z0s = latin_hypercube(problem.lb, problem.ub, int(n_starts), seed)
    records: List[Optional[Dict[str, Any]]] = [None] * int(n_starts)

    def run(i: int) -> Dict[str, Any]:
        return run_least_squares(Evaluator(problem), z0s[i], problem.lb, problem.ub, lsq)

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=int(n_starts), desc="fit starts", unit="start")
    t0 = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=int(threads)) as pool:
            futures = {pool.submit(run, i): i for i in range(int(n_starts))}
            for fut in as_completed(futures):
                records[futures[fut]] = fut.result()
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    result = FitResult._from_starts(problem, z0s, records, wall_seconds=wall)
    if result.at_bounds:
        where = ", ".join(f"{n} at its {side} bound ({result.parameters[n]:.4g})"
                          for n, side in result.at_bounds.items())
        warnings.warn(FitWarning(
            f"best fit ends within 1 % of a bound (of the log10 range for log-scaled "
            f"parameters): {where}; the optimum may lie beyond it — widen the bounds or treat "
            f"the value as a limit (FitResult.at_bounds)"), stacklevel=3)
    return result


def _is_petab_problem(obj: Any) -> bool:
    import sys
    mod = sys.modules.get("osteogrn.petab._problem")
    return mod is not None and isinstance(obj, mod.Problem)


def _fit_petab(problem: Any, data: Any, protocols: Any, estimate: Any, observations: Any,
               log_scale: Any, n_starts: int, seed: Any, threads: Optional[int],
               progress: bool, gradient: str, fd_step: float,
               optimizer_options: Optional[Mapping[str, Any]], options: Any, starts: Any,
               solver_options: Mapping[str, Any]) -> "FitResult":
    """og.fit(petab_problem): everything but the engine's settings comes from the problem."""
    given = {"data": data is not None, "protocols": protocols is not None,
             "estimate": estimate is not None, "observations": observations is not None,
             "log_scale": log_scale is not True, "gradient": gradient != "auto",
             "fd_step": fd_step != 1e-4, "options": options is not None}
    given.update({k: True for k in solver_options})
    bad = [k for k, v in given.items() if v]
    if bad:
        raise OptionError(f"og.fit of a PEtab problem takes n_starts, seed, threads, progress, "
                          f"starts and optimizer_options; {', '.join(bad)} come from the "
                          f"problem (solver options: og.petab.Problem.from_yaml(..., rtol=...))")
    from ..petab._fit import fit_problem
    return fit_problem(problem, n_starts, seed=seed, threads=threads, progress=progress,
                       starts=starts, optimizer_options=optimizer_options)

"""og.fit(petab_problem): the multi-start least-squares engine of osteogrn.fitting (Latin-hypercube
starts, trust-region-reflective ``least_squares`` in threads, FitResult with waterfall and
profiles) on a PEtab problem, through an adapter exposing the interface of
:class:`osteogrn.fitting.objective.Problem` that the Evaluator, ``run_least_squares``,
``FitResult`` and the profiles use."""

from __future__ import annotations

import math
import time
import types
from typing import Any, Callable, Dict, List, Mapping, Optional

import numpy as np

from ..errors import OptionError, SolverError
from ..fitting.objective import ScaledVector
from ..fitting.result import FitResult
from ._objective import predict, residuals_from
from ._problem import Problem

__all__ = ["fit_problem", "PetabFitProblem", "PetabFitResult"]

LN10 = math.log(10.0)


class PetabFitProblem(ScaledVector):
    """A PEtab :class:`Problem` as the fitting engine sees one.

    The optimisation vector ``z`` is the parameter-scale vector, except that ``log``
    (natural) parameters are carried as log10 (``z = x / ln 10``), since the engine's
    ``log`` flag means log10. Immutable, like the Problem it wraps.
    """

    def __init__(self, problem: Problem) -> None:
        self.petab = problem
        self.names = list(problem.x_ids)
        self.model_params = list(self.names)
        self.n_model = len(self.names)
        scales = np.array(problem.x_scales)
        self.log = scales != "lin"
        self._ln = scales == "log"
        self.lb = np.where(self._ln, problem.lb / LN10, problem.lb)
        self.ub = np.where(self._ln, problem.ub / LN10, problem.ub)
        self.p_lo = np.where(self.log, 10.0 ** self.lb, self.lb)
        self.p_hi = np.where(self.log, 10.0 ** self.ub, self.ub)
        self.gradient = "sensitivities"
        self.fd_step = 1e-4
        self.model = problem.model
        self.solver_options = dict(problem._opts)
        self.conditions = [s.key for s in problem.sims]
        self.n_rows = problem.n_rows
        self.n_res = problem.n_rows + int(problem.sigma_estimated.sum()) + len(
            [1 for _, kind, _ in problem.priors
             if kind not in ("uniform", "parameterScaleUniform")])
        self.groups: List[Any] = []          # no osteogrn observation groups
        self.sigma_terms: List[Any] = []
        self.observations: Dict[str, Any] = {}
        self.protocols: Dict[str, Any] = {}
        self.defaulted_sigma: List[str] = []
        self.data = types.SimpleNamespace(table=problem.petab_problem.measurement_df)
        params = set(problem.model.parameters)
        self._model_names = [n for n in self.names if n in params]

    @property
    def n(self) -> int:
        return len(self.names)

    # -- scales ------------------------------------------------------------------------------
    def to_x(self, z: np.ndarray) -> np.ndarray:
        """Optimisation vector -> PEtab parameter-scale vector."""
        z = np.asarray(z, dtype=float)
        return np.where(self._ln, z * LN10, z)

    def from_x(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return np.where(self._ln, x / LN10, x)

    def model_values(self, z: np.ndarray) -> Dict[str, float]:
        """Estimated parameters that are parameters of the augmented model, by name (the
        values FitResult.model carries; condition-specific ones are set per simulation)."""
        p = self.to_params(z)
        return {n: float(p[self.names.index(n)]) for n in self._model_names}

    # -- objective ---------------------------------------------------------------------------
    def simulate(self, z: np.ndarray, sens: bool, which: Optional[np.ndarray] = None):
        """((h, σ), (dh/dz, dσ/dz) or None, simulations). ``which`` is ignored: every
        sensitivity is computed."""
        x = self.to_x(z)
        h, sig, dh, ds = predict(self.petab, x, sens)
        S = None
        if sens:
            c = np.where(self._ln, LN10, 1.0)
            S = (dh * c[None, :], ds * c[None, :])
        return (h, sig), S, len(self.conditions)

    def residuals(self, z: np.ndarray, X, S):
        """(r, dr/dz or None, predictions h, {}) as the engine's Problem.residuals."""
        x = self.to_x(z)
        h, sig = X
        dh, ds = S if S is not None else (None, None)
        r, J = residuals_from(self.petab, x, h, sig, dh, ds)
        if J is not None:
            # dh, dσ were chained to z in simulate; the prior rows are d/dx: chain them too
            n_prior = J.shape[0] - (self.n_rows + int(self.petab.sigma_estimated.sum()))
            if n_prior:
                J[-n_prior:, self._ln] *= LN10
        return r, J, h, {}

    def row_sigma(self, z: np.ndarray) -> np.ndarray:
        try:
            return predict(self.petab, self.to_x(z), False)[1]
        except SolverError:
            return np.full(self.n_rows, np.nan)


class PetabFitResult(FitResult):
    """A :class:`~osteogrn.FitResult` of a PEtab problem: ``x`` (PEtab parameter scale) and
    ``log_likelihood``, the PEtab log-likelihood at the optimum (priors not included)."""

    @property
    def log_likelihood(self) -> float:
        """The PEtab log-likelihood at the best fit, with all constants."""
        if not hasattr(self, "_petab_llh"):
            self._petab_llh = self.problem.petab.log_likelihood(self.problem.to_x(self.x))
        return self._petab_llh

    @property
    def x_petab(self) -> np.ndarray:
        """The best fit on PEtab parameter scale, in ``x_ids`` order."""
        return self.problem.to_x(self.x)


#: L-BFGS-B defaults (scipy.optimize.minimize options) of a PEtab fit.
_LBFGSB_DEFAULTS = {"maxiter": 1000, "ftol": 1e-12, "gtol": 1e-8}
#: fides defaults (fides.Options names, lower case): fides' own, with its iteration limit.
_FIDES_DEFAULTS = {"maxiter": 1000}
OPTIMIZERS = ("fides", "lbfgsb", "trf")


def fides_options(options: Mapping[str, Any]) -> Dict[Any, Any]:
    """optimizer_options (lower-case fides.Options names) -> fides' option dict."""
    import fides
    try:
        return {getattr(fides.Options, k.upper()): v for k, v in options.items()}
    except AttributeError as e:
        raise OptionError(f"optimizer_options: {e.args[0]} is not a fides option") from None


def guarded(ev: Any, z0: np.ndarray, body: Callable[[], Dict[str, Any]]) -> Dict[str, Any]:
    """The record of one start: body()'s fields, or a failed start for an osteogrn or numerical
    error, plus the evaluation counts and the seconds taken. Never raises for a failed start."""
    from ..errors import OsteogrnError
    t0 = time.perf_counter()
    try:
        rec = body()
    except (OsteogrnError, ValueError, ArithmeticError, np.linalg.LinAlgError) as e:
        rec = dict(z=np.full(len(z0), np.nan), cost=math.inf, status="failed",
                   message=f"{type(e).__name__}: {e}")
    rec.update(n_evals=ev.n_fun, n_jac=ev.n_jac, n_sims=ev.n_sims,
               seconds=time.perf_counter() - t0)
    return rec


def _cost_and_gradient(ev: Any, z: np.ndarray):
    """(½ Σ r², Jᵀr, J) at z from one evaluation (cost inf where the simulation fails)."""
    r = ev.fun(z)
    J = ev.jac(z)
    c = 0.5 * float(r @ r)
    return (c if math.isfinite(c) else math.inf), J.T @ r, J


def run_fides(ev: Any, z0: np.ndarray, lb: np.ndarray, ub: np.ndarray,
              options: Mapping[str, Any]) -> Dict[str, Any]:
    """One fides run (trust-region Newton with reflective bounds) on the cost ½ Σ r², with the
    gradient Jᵀr and the Gauss-Newton Hessian JᵀJ (the Fisher information pyPESTO gives fides
    from AMICI's sensitivities), in fides' HybridFixed scheme as pyPESTO runs it: the Fisher
    information first, then BFGS updates once its steps stall. The record of
    :func:`osteogrn.fitting.fit.run_least_squares`; never raises for a failed start."""
    import logging

    import fides

    def fun(z: np.ndarray):
        c, g, J = _cost_and_gradient(ev, z)
        if not math.isfinite(c):  # a failed simulation: fides rejects the step
            return math.nan, np.full(len(z), math.nan), np.full((len(z), len(z)), math.nan)
        return c, g, J.T @ J

    def body() -> Dict[str, Any]:
        opt = fides.Optimizer(fun, ub=np.asarray(ub, float), lb=np.asarray(lb, float),
                              verbose=logging.ERROR, options=fides_options(options),
                              hessian_update=fides.HybridFixed())
        with np.errstate(all="ignore"):
            try:
                fval, z, _, _ = opt.minimize(np.asarray(z0, dtype=float))
            except RuntimeError as e:  # fides' refusal of a start whose cost is not finite
                return dict(z=np.full(len(z0), np.nan), cost=math.inf, status="failed",
                            message=f"fides: {e}")
        cost = float(fval) if np.isfinite(fval) else math.inf
        flag = opt.exitflag
        status = "converged" if int(flag) > 0 else (
            "max_evaluations" if flag == fides.ExitFlag.MAXITER else "failed")
        return dict(z=np.asarray(z, dtype=float), cost=cost,
                    status=status if math.isfinite(cost) else "failed",
                    message=f"fides: {flag.name}")

    return guarded(ev, z0, body)


def run_lbfgsb(ev: Any, z0: np.ndarray, lb: np.ndarray, ub: np.ndarray,
               options: Mapping[str, Any]) -> Dict[str, Any]:
    """One L-BFGS-B run on the cost ½ Σ r² (gradient Jᵀr from the same evaluation); the record
    of :func:`osteogrn.fitting.fit.run_least_squares`. Never raises for a failed start."""
    from scipy.optimize import minimize

    def f(z: np.ndarray):
        c, g, _ = _cost_and_gradient(ev, z)
        if not math.isfinite(c):
            # a failed simulation: a wall the line search backs off from
            return 1e300, np.zeros_like(z)
        return c, g

    def body() -> Dict[str, Any]:
        res = minimize(f, z0, jac=True, method="L-BFGS-B", bounds=list(zip(lb, ub)),
                       options=dict(options))
        cost = float(res.fun) if res.fun < 1e300 else math.inf
        # status 2 (the line search found no decrease, usually at the optimum, where the
        # cost is flat to the solver's accuracy) keeps its point and cost
        status = {0: "converged", 1: "max_evaluations", 2: "line_search_stopped"}.get(
            int(res.status), "failed")
        message = str(res.message)
        if not math.isfinite(cost):
            status = "failed"
            message = "the simulation fails at the start point" if res.nfev <= 1 else \
                "every point tried failed to simulate"
        return dict(z=np.asarray(res.x, dtype=float), cost=cost, status=status, message=message)

    return guarded(ev, z0, body)


def fit_problem(problem: Problem, n_starts: int = 20, *, seed: Any = 0,
                threads: Optional[int] = None, progress: bool = True, starts: Any = None,
                optimizer_options: Optional[Mapping[str, Any]] = None) -> PetabFitResult:
    """og.fit for a PEtab problem (see :func:`osteogrn.fit`)."""
    from ..fitting.fit import (_LSQ_DEFAULTS, check_n_starts, latin_hypercube,
                               run_least_squares, run_starts)
    from ..fitting.objective import Evaluator
    adapter = PetabFitProblem(problem)
    if starts is not None:
        z0s = np.array(starts, dtype=float)
        if z0s.ndim != 2 or z0s.shape[1] != adapter.n:
            raise OptionError(f"starts must be an array [n_starts, {adapter.n}] on parameter "
                              f"scale (x_ids order), got shape {z0s.shape}")
        if not np.all(np.isfinite(z0s)):
            raise OptionError("starts must be finite")
        if np.any(z0s < problem.lb - 1e-12) or np.any(z0s > problem.ub + 1e-12):
            i, j = np.argwhere((z0s < problem.lb - 1e-12) | (z0s > problem.ub + 1e-12))[0]
            raise OptionError(f"starts[{i}, {j}] = {z0s[i, j]:g} lies outside the bounds "
                              f"[{problem.lb[j]:g}, {problem.ub[j]:g}] of "
                              f"{problem.x_ids[j]!r} (parameter scale)")
        z0s = np.clip(adapter.from_x(z0s), adapter.lb, adapter.ub)
        n_starts = len(z0s)
    else:
        check_n_starts(n_starts)
        z0s = latin_hypercube(adapter.lb, adapter.ub, int(n_starts), seed)
    opts = dict(optimizer_options or {})
    method = opts.pop("method", "lbfgsb")
    if method not in OPTIMIZERS:
        raise OptionError(f"optimizer_options['method'] must be one of "
                          f"{', '.join(OPTIMIZERS)}, got {method!r}")
    settings = dict({"fides": _FIDES_DEFAULTS, "lbfgsb": _LBFGSB_DEFAULTS,
                     "trf": _LSQ_DEFAULTS}[method])
    settings.update(opts)
    if method == "fides":
        fides_options(settings)  # a bad option is the caller's error, not a failed start
    runner = {"fides": run_fides, "lbfgsb": run_lbfgsb, "trf": run_least_squares}[method]
    records, wall = run_starts(lambda i: runner(Evaluator(adapter), z0s[i], adapter.lb,
                                                adapter.ub, settings),
                               int(n_starts), threads, progress)
    return PetabFitResult._from_starts(adapter, z0s, records, wall_seconds=wall)

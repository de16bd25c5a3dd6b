"""FitResult: the best fit, every start, predictions, plots and profile-likelihood intervals."""

from __future__ import annotations

import math
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from ..errors import FitWarning, OptionError, OsteogrnError
from ..protocol import Protocol
from ..simulation import simulate
from .fisher import fisher_standard_errors
from .objective import Evaluator, Problem, obs_label
from .profile import interval_from_profile, profile_parameter, threshold

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ..result import Result

__all__ = ["FitResult"]


class FitResult:
    """The outcome of :func:`osteogrn.fit`.

    Attributes
    ----------
    parameters : dict
        Best-fit values of the estimated parameters (model parameters, then
        estimated ``scale_<obs>``/``offset_<obs>``/``sigma_<obs>``; ``<obs>[<group>]``
        for a data group), in linear units.
    cost : float
        Best cost, ½ Σ r² of the weighted residuals plus the ``N log σ`` terms
        of estimated sigmas (the negative log-likelihood up to a constant).
    at_bounds : dict
        Parameter name -> "lower" or "upper" for every estimated parameter
        that ends within 1 % of a bound (of the log10 range for log-scaled
        parameters, of the range otherwise). :func:`osteogrn.fit` warns
        (:class:`~osteogrn.FitWarning`) when it is not empty.
    standard_error_notes : dict
        Parameter name -> why :meth:`standard_errors` gives NaN for it.
    sigma : numpy.ndarray
        Noise SD of every data row used by the best fit (given or estimated).
    starts : pandas.DataFrame
        One row per start sorted by cost: start, cost, status, message,
        n_evals, n_jac, n_sims, seconds and the fitted parameters (cost is inf
        for a failed start). Plot with :meth:`plot_waterfall`.
    start_points : pandas.DataFrame
        The Latin-hypercube start values (linear units), by start.
    residuals : numpy.ndarray
        Weighted residuals of the best fit, in data-row order.
    predictions : numpy.ndarray
        Predicted assay values of the best fit, in data-row order.
    observation_parameters : dict
        Observable (``ALP``, or ``ALP[group]`` for a data group) -> {"scale",
        "offset", "sigma"} used by the best fit (analytic ones solved; sigma None
        where the data or the Observation give it).
    model : Model
        The model with the best-fit parameters.
    gradient : str
        "sensitivities" or "fd".
    n_simulations : int
        Simulations (one per condition per evaluation) used by all starts.
    wall_seconds : float
    """

    def __init__(self) -> None:  # built by _from_starts
        self._profiles: Dict[tuple, Dict[str, Any]] = {}

    @classmethod
    def _from_starts(cls, problem: Problem, z0s: np.ndarray, records: List[Dict[str, Any]],
                     wall_seconds: float) -> "FitResult":
        import pandas as pd
        self = cls()
        self.problem = problem
        self.gradient = problem.gradient
        self.wall_seconds = float(wall_seconds)
        order = sorted(range(len(records)), key=lambda i: (records[i]["cost"], i))
        rows = []
        for i in order:
            rec = records[i]
            row = {"start": i, "cost": rec["cost"], "status": rec["status"],
                   "message": rec["message"], "n_evals": rec["n_evals"], "n_jac": rec["n_jac"],
                   "n_sims": rec["n_sims"], "seconds": rec["seconds"]}
            p = problem.to_params(rec["z"]) if np.all(np.isfinite(rec["z"])) else \
                np.full(problem.n, np.nan)
            row.update(zip(problem.names, map(float, p)))
            rows.append(row)
        self.starts = pd.DataFrame(rows).reset_index(drop=True)
        start_values = np.array(z0s, dtype=float)
        start_values[:, problem.log] = 10.0 ** start_values[:, problem.log]
        self.start_points = pd.DataFrame(start_values, columns=problem.names)
        self.start_points.index.name = "start"
        self.n_simulations = int(sum(r["n_sims"] for r in records))
        best = records[order[0]]
        if not np.isfinite(best["cost"]):
            raise OsteogrnError(f"every one of the {len(records)} fit starts failed; first: "
                                f"{records[0]['message']}")
        self.x = np.asarray(best["z"], dtype=float)
        ev = Evaluator(problem)
        r, J, pred, solved = ev.evaluate(self.x, problem.gradient == "sensitivities")
        if J is None:
            J = ev._fd(self.x)
        self.jacobian = J
        self.residuals = r[: problem.n_rows]
        self.predictions = pred
        self.cost = float(0.5 * np.sum(r * r))
        p = problem.to_params(self.x)
        self.parameters = {name: float(v) for name, v in zip(problem.names, p)}
        self.observation_parameters = {k: {"scale": v[0], "offset": v[1],
                                           "sigma": self.parameters.get(f"sigma_{k}")}
                                       for k, v in solved.items()}
        self.sigma = problem.row_sigma(self.x)
        width = problem.ub - problem.lb
        self.at_bounds: Dict[str, str] = {}
        for k, name in enumerate(problem.names):
            if self.x[k] - problem.lb[k] <= 0.01 * width[k]:
                self.at_bounds[name] = "lower"
            elif problem.ub[k] - self.x[k] <= 0.01 * width[k]:
                self.at_bounds[name] = "upper"
        self._se, self.standard_error_notes = fisher_standard_errors(J, problem.names)
        self.model = problem.model.with_parameters(problem.model_values(self.x))
        return self

    # -- basic views -----------------------------------------------------------------
    @property
    def data(self) -> "pd.DataFrame":
        """The validated data table."""
        return self.problem.data.table

    def to_frame(self) -> "pd.DataFrame":
        """The data table with ``prediction`` and weighted ``residual`` columns."""
        df = self.problem.data.table.copy()
        df["prediction"] = self.predictions
        df["residual"] = self.residuals
        return df

    @property
    def log_likelihood(self) -> float:
        """The log-likelihood at the optimum with every constant, as PEtab defines it.

        ``sum_i [-1/2 ln(2 pi sigma_i^2) - 1/2 r_i^2]`` over the data rows, ``r_i`` the
        weighted residual and ``sigma_i`` the row's noise SD (estimated sigmas at their
        fitted values); rows with log-normal noise (residual on the natural-log scale) add
        ``-ln y_i``, the Jacobian of the log (PEtab's ``observableTransformation`` log).
        Unlike :attr:`cost` it has no free constant: the same number comes from any PEtab
        tool on :meth:`to_petab`'s problem.
        """
        pb = self.problem
        lognormal = np.zeros(pb.n_rows, dtype=bool)
        for g in pb.groups:
            lognormal[g.rows] = g.obs.noise == "lognormal"
        y = pb.data.table["value"].to_numpy(dtype=float)
        r, sigma = np.asarray(self.residuals, dtype=float), np.asarray(self.sigma, dtype=float)
        terms = -0.5 * np.log(2.0 * math.pi * sigma ** 2) - 0.5 * r ** 2
        return float(np.sum(terms) - np.sum(np.log(y[lognormal])))

    def to_petab(self, path: Any) -> str:
        """Writes the fit as a PEtab v1 problem; see :func:`osteogrn.petab.export`.

        The fitted values are the nominal values (of the SBML model and the parameter
        table); the estimated parameters keep their bounds and scales.

        Returns
        -------
        str
            The path of the problem's YAML file.
        """
        from ..petab._export import export_fit
        return export_fit(self, path)

    def standard_errors(self) -> Dict[str, float]:
        """Gauss-Newton (Fisher information) standard errors in the optimisation scale
        (log10 units for log-scaled parameters), where they exist.

        The Fisher information ``J^T J`` at the optimum is eigendecomposed; a
        parameter with a component of at least 0.01 along an eigenvector whose
        eigenvalue is below 1e-8 × the largest (a near-null, unidentifiable
        direction) gets NaN, and :attr:`standard_error_notes` says why; the
        others get ``sqrt(diag)`` of the inverse on the well-conditioned
        directions. Use :meth:`confidence_intervals` (profile likelihood) for
        intervals that hold beyond the local, linear approximation.

        Warns
        -----
        FitWarning
            Naming the parameters whose standard error is NaN.
        """
        if self.standard_error_notes:
            warnings.warn(FitWarning(
                "no standard error (NaN) for " + "; ".join(
                    f"{n}: {why}" for n, why in self.standard_error_notes.items())),
                stacklevel=2)
        return dict(zip(self.problem.names, map(float, self._se)))

    def sample(self, n: int, method: str = "fisher", seed: Any = None, *,
               walkers: Optional[int] = None, steps: int = 1000, burn: int = 300,
               threads: Optional[int] = None) -> "pd.DataFrame":
        """Parameter sets that represent the fit's uncertainty.

        Parameters
        ----------
        n : int
            Number of draws.
        method : {"fisher", "mcmc"}
            "fisher" (default): the Laplace approximation, a multivariate normal in
            the optimisation coordinates (log10 for log-scaled parameters) with
            covariance ``(Jᵀ J)⁻¹`` of the weighted residuals at the optimum,
            truncated to the bounds by rejection. It is the default because it
            needs no simulation (the fit holds J) and is accurate where the
            profiles are parabolic. A singular ``Jᵀ J`` is pseudo-inverted: the
            draws do not vary along its null directions, and a FitWarning names
            them. "mcmc": the posterior with a flat prior on the bounds (in the
            same coordinates), sampled with emcee's affine-invariant ensemble
            sampler, every walker step batched through ``simulate_batch``; use it
            when :meth:`confidence_intervals` reports open intervals or the
            profiles are far from parabolic.
        seed : None, int or numpy.random.Generator
            Same seed, same draws.
        walkers, steps, burn : int, optional
            MCMC only: ensemble size (default ``max(2 d + 2, 24)`` for d estimated
            parameters), steps kept per walker after ``burn`` burn-in steps. The
            chain is thinned by half the largest integrated autocorrelation time
            and n draws are picked from it at random (seeded); a chain shorter
            than 50 autocorrelation times gets a FitWarning.
        threads : int, optional
            MCMC only: threads of each ``simulate_batch`` (default all cores).

        Returns
        -------
        pandas.DataFrame
            n rows (index ``draw``), one column per estimated parameter
            (:attr:`parameters`' names, linear units, within the bounds).
            ``attrs``: ``method``, ``n`` and, for "fisher", ``acceptance`` (draws
            inside the bounds / drawn), ``reflected``, ``null_directions``; for
            "mcmc", ``walkers``, ``steps``, ``burn``, ``thin``, ``acceptance`` and
            ``autocorr_time`` (per parameter).

        Warns
        -----
        FitWarning
            A singular Fisher information (names the non-identifiable directions);
            fewer than 1 in 1000 Laplace draws inside the bounds (the rest are
            reflected into them); an MCMC chain shorter than 50 autocorrelation
            times.
        """
        from .sampling import sample
        return sample(self, n, method=method, seed=seed, walkers=walkers, steps=steps,
                      burn=burn, threads=threads)

    def __repr__(self) -> str:
        pars = ", ".join(f"{k}={v:.4g}" for k, v in self.parameters.items())
        ok = int((self.starts["status"] != "failed").sum())
        return (f"FitResult(cost={self.cost:.6g}, {pars}; {ok}/{len(self.starts)} starts ok, "
                f"gradient={self.gradient})")

    # -- predictions -----------------------------------------------------------------
    def _protocol(self, protocol: Union[str, Protocol]) -> Protocol:
        if isinstance(protocol, Protocol):
            return protocol
        if protocol in self.problem.protocols:
            return self.problem.protocols[protocol]
        return self.problem.data.protocol(str(protocol))

    def predict(self, protocol: Union[str, Protocol], t: Optional[Sequence[float]] = None,
                **solver_options: Any) -> "Result":
        """Simulates the fitted model under a protocol (a Protocol, a data condition or a
        built-in name); model outputs, before the observation models."""
        opts = dict(self.problem.solver_options)
        opts.update(solver_options)
        return simulate(self.model, self._protocol(protocol), t=t, **opts)

    def observe(self, condition: str, observable: str, t: Sequence[float],
                group: str = "") -> np.ndarray:
        """The fitted assay curve (observation model applied) of a condition at times t,
        with the scale and offset of a data group ("" without a ``group`` column)."""
        obs = self.problem.observations[observable]
        t = np.asarray(t, dtype=float)
        x = self.predict(condition, t=t)[observable]
        if obs.fold_change == "day0":
            x0 = self.predict(condition, t=[0.0])[observable][0]
            with np.errstate(divide="ignore", invalid="ignore"):
                x = x / x0
        elif obs.fold_change is not None:
            ref = self.predict(obs.fold_change, t=t)[observable]
            with np.errstate(divide="ignore", invalid="ignore"):
                x = x / ref
        so = self.observation_parameters.get(obs_label(observable, group),
                                             {"scale": 1.0, "offset": 0.0})
        return so["scale"] * x + so["offset"]

    # -- plots -----------------------------------------------------------------------
    def plot(self, figsize: Optional[Sequence[float]] = None, n_points: int = 200) -> "Figure":
        """Data (error bars: sigma, or ×exp(±sigma) for log-normal noise) and fitted curves,
        one panel per observable, one colour per condition."""
        from matplotlib import colormaps
        from .._units import model_units
        from ..plotting import new_figure
        units = model_units(self.problem.model)
        table = self.problem.data.table
        observables = list(self.problem.observations)
        conds = self.problem.data.conditions
        n = len(observables)
        fig = new_figure(figsize=tuple(figsize) if figsize else (4.2 * n, 3.4),
                         layout="constrained")
        axes = fig.subplots(1, n, squeeze=False)[0]
        cmap = colormaps["tab10"]
        ratio_rows = np.array([self.problem.data.reference(i) is not None
                               for i in range(len(table))], dtype=bool)
        groups = self.problem.data.groups
        for ax, oname in zip(axes, observables):
            obs = self.problem.observations[oname]
            sub = table[table["observable"] == oname]
            shown = [sub["value"].to_numpy(dtype=float)]  # the y range covers data and curves
            for ci, cond in enumerate(conds):
                d = sub[sub["condition"] == cond]
                if len(d) == 0:
                    continue
                color = cmap(ci % 10)
                idx = d.index.to_numpy()
                y = d["value"].to_numpy(dtype=float)
                s = self.sigma[idx]
                if obs.noise == "lognormal":
                    err = np.vstack([y - y * np.exp(-s), y * np.exp(s) - y])
                else:
                    err = s
                ax.errorbar(d["time"], y, yerr=err, fmt="o", color=color, ms=4, capsize=2,
                            label=cond)
                ratio = ratio_rows[idx]
                if ratio.any():  # ratio rows: the fitted ratio at each point (open squares)
                    ax.plot(d["time"].to_numpy()[ratio], self.predictions[idx][ratio], "s",
                            mfc="none", color=color, ms=6)
                if ratio.all():
                    continue
                group = str(groups[idx[~ratio][0]])
                end = self.problem.protocols[cond].duration
                tt = np.linspace(0.0, end, n_points)
                if obs.fold_change not in (None, "day0"):
                    tt = tt[tt <= self._protocol(obs.fold_change).duration]
                curve = self.observe(cond, oname, tt, group)
                ax.plot(tt, curve, "-", color=color, lw=1.5)
                shown.append(np.asarray(curve, dtype=float))
            if obs.noise == "lognormal":
                ax.set_yscale("log")
                values = np.concatenate(shown)
                values = values[np.isfinite(values) & (values > 0)]
                lo, hi = float(np.min(values)), float(np.max(values))
                ax.set_ylim(lo / 5.0, hi * 5.0)
            ax.set_xlabel(f"time [{self.problem.model.time_unit}]")
            # The model's unit holds only where no scale maps the model to the assay's units.
            unit = units.get(oname, "") if obs.scale is None else "data units"
            label = f"{oname} [{unit}]" if unit else oname
            if obs.fold_change is not None:
                label = f"{oname} fold change (vs {obs.fold_change})"
            ax.set_ylabel(label)
            ax.set_title(oname)
        # one entry per condition, from every panel: a condition measured only in a later panel
        # (notebook 02: mineral) is named too
        entries = {}
        for ax in axes:
            for handle, label in zip(*ax.get_legend_handles_labels()):
                entries.setdefault(label, handle)
        axes[0].legend(list(entries.values()), list(entries), fontsize="small")
        fig.suptitle(f"fit of {self.problem.model.name}: cost {self.cost:.4g}")
        return fig

    def plot_waterfall(self, figsize: Sequence[float] = (5, 3.5)) -> "Figure":
        """Sorted final costs of every start (pyPESTO's waterfall plot), as cost minus the best.

        The y axis is ``final cost - best`` (the best cost is in the title): the costs of
        starts that reach the same optimum differ in the 6th digit, which a log axis of the
        cost itself labelled ``7.11101×10¹`` at every tick. When the differences span more
        than two decades the axis is logarithmic, with the starts at the best cost (difference
        0) drawn as open markers at the bottom edge; otherwise linear. Tick labels are plain
        numbers (no offset, no ``×10^n``).
        """
        from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter
        from ..plotting import new_figure
        fig = new_figure(figsize=tuple(figsize), layout="constrained")
        ax = fig.subplots()
        ok = self.starts[np.isfinite(self.starts["cost"])]
        cost = np.sort(ok["cost"].to_numpy(dtype=float))
        best = float(cost[0]) if len(cost) else float(self.cost)
        delta = cost - best
        x = np.arange(1, len(delta) + 1)
        positive = delta[delta > 0]
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        if positive.size and positive.max() / positive.min() > 100.0:
            floor = positive.min() / 10.0
            at_best = delta <= 0
            ax.plot(x, np.maximum(delta, floor), "-", color="C0", lw=1)
            ax.plot(x[~at_best], delta[~at_best], "o", color="C0", ms=4)
            ax.plot(x[at_best], np.full(at_best.sum(), floor), "o", mfc="none", color="C0",
                    ms=5, label="at the best cost")
            ax.set_yscale("log")
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.legend(fontsize="small", loc="upper left")
        else:
            ax.plot(x, delta, "o-", ms=4)
        ax.yaxis.set_major_formatter(plain)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("start (sorted by cost)")
        ax.set_ylabel("final cost - best")
        n_fail = len(self.starts) - len(ok)
        ax.set_title(f"waterfall: {len(ok)} starts" + (f", {n_fail} failed" if n_fail else "")
                     + f"; best cost {best:.6g}")
        return fig

    # -- profile likelihood ----------------------------------------------------------
    def profile(self, name: str, level: float = 0.95, max_steps: int = 30,
                optimizer_options: Optional[Mapping[str, Any]] = None) -> "pd.DataFrame":
        """Profile likelihood of one estimated parameter.

        Steps the parameter (in its optimisation scale) down and up from the
        optimum, re-optimising every other parameter at each step, until the
        cost rises by more than χ²₁(level)/2 (or a bound / max_steps is reached).

        Returns
        -------
        pandas.DataFrame
            Columns: ``name`` value (linear), ``z``, ``cost``, ``delta`` (cost
            minus the best cost), ``ratio`` (likelihood ratio exp(-delta)) and
            the re-optimised other parameters; sorted by value.
        """
        import pandas as pd
        prof = self._profile(name, level, max_steps, optimizer_options)
        pb = self.problem
        k = pb.names.index(name)
        others = [n for n in pb.names if n != name]
        df = pd.DataFrame({name: pb.to_params_single(k, prof["z"]), "z": prof["z"],
                           "cost": prof["cost"]})
        df["delta"] = df["cost"] - min(self.cost, float(np.min(prof["cost"])))
        df["ratio"] = np.exp(-df["delta"])
        for j, other in enumerate(others):
            i = pb.names.index(other)
            df[other] = pb.to_params_single(i, prof["others"][:, j])
        return df

    def _profile(self, name: str, level: float, max_steps: int,
                 optimizer_options: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
        from .fit import _PROFILE_LSQ_DEFAULTS
        pb = self.problem
        if name not in pb.names:
            raise OptionError(f"cannot profile {name!r}: estimated parameters are "
                              f"{', '.join(pb.names)}")
        threshold(level)
        key = (name, float(level), int(max_steps))
        if key not in self._profiles:
            k = pb.names.index(name)
            lsq = dict(_PROFILE_LSQ_DEFAULTS)
            lsq.update(optimizer_options or {})
            se = self._se[k]
            self._profiles[key] = profile_parameter(pb, self.x, self.cost, k, level, se,
                                                    max_steps, lsq)
        return self._profiles[key]

    def confidence_intervals(self, level: float = 0.95, names: Optional[Sequence[str]] = None,
                             threads: Optional[int] = None, max_steps: int = 30
                             ) -> "pd.DataFrame":
        """Profile-likelihood confidence intervals.

        Parameters
        ----------
        level : float
            Confidence level; the bound is where the profile cost exceeds the
            best cost by χ²₁(level)/2.
        names : sequence of str, optional
            Parameters to profile (default: every estimated one).
        threads : int, optional
            Profiles computed in parallel (default: number of CPUs).

        Returns
        -------
        pandas.DataFrame
            Index ``parameter``; columns estimate, lower, upper, lower_open,
            upper_open (True where the profile reached a bound or max_steps
            without crossing the threshold: the interval is at least that wide,
            i.e. the parameter is not identifiable on that side; lower/upper are
            then the last profile point, the bound if it got there), open
            (either end open) and better_fit_found.

        Warns
        -----
        FitWarning
            Naming every parameter whose interval is open, and on which side.
        """
        return self._intervals(level, names, threads, max_steps, stacklevel=3)

    def _intervals(self, level: float, names: Optional[Sequence[str]], threads: Optional[int],
                   max_steps: int, stacklevel: int) -> "pd.DataFrame":
        import os

        import pandas as pd
        threshold(level)
        names = list(self.problem.names if names is None else names)
        todo = [n for n in names if (n, float(level), int(max_steps)) not in self._profiles]
        for n in todo:
            if n not in self.problem.names:
                raise OptionError(f"cannot profile {n!r}: estimated parameters are "
                                  f"{', '.join(self.problem.names)}")
        if todo:
            workers = threads or min(len(todo), os.cpu_count() or 1)
            with ThreadPoolExecutor(max_workers=int(workers)) as pool:
                list(pool.map(lambda n: self._profile(n, level, max_steps, None), todo))
        pb = self.problem
        rows = []
        for n in names:
            prof = self._profiles[(n, float(level), int(max_steps))]
            k = pb.names.index(n)
            ref = min(self.cost, float(np.min(prof["cost"])))
            lo, hi, lo_open, hi_open = interval_from_profile(prof["z"], prof["cost"], self.x[k],
                                                             ref, level, pb.lb[k], pb.ub[k])
            lo_p, hi_p = pb.to_params_single(k, np.array([lo, hi]))
            rows.append({"parameter": n, "estimate": self.parameters[n], "lower": float(lo_p),
                         "upper": float(hi_p), "lower_open": lo_open, "upper_open": hi_open,
                         "open": bool(lo_open or hi_open),
                         "better_fit_found": bool(ref < self.cost - 1e-6 * max(1.0, self.cost))})
        df = pd.DataFrame(rows).set_index("parameter")
        opened = []
        for n, r in df.iterrows():
            sides = [side for side in ("lower", "upper") if r[f"{side}_open"]]
            if sides:
                opened.append(f"{n} ({' and '.join(sides)})")
        if opened:
            warnings.warn(FitWarning(
                f"open {level:g} profile-likelihood interval for {', '.join(opened)}: the "
                f"profile stays below the threshold up to a bound or max_steps={max_steps}, so "
                f"the interval is at least as wide as reported (lower_open/upper_open); the "
                f"parameter is not identifiable on that side"), stacklevel=stacklevel)
        return df

    def plot_profiles(self, names: Optional[Sequence[str]] = None, level: float = 0.95,
                      figsize: Optional[Sequence[float]] = None) -> "Figure":
        """Profile likelihood ratio of each parameter, with the level's threshold."""
        from ..plotting import new_figure
        names = list(self.problem.names if names is None else names)
        self._intervals(level, names, None, 30, stacklevel=3)
        n = len(names)
        fig = new_figure(figsize=tuple(figsize) if figsize else (3.2 * n, 3.0),
                         layout="constrained")
        axes = fig.subplots(1, n, squeeze=False)[0]
        thr = math.exp(-threshold(level))
        for ax, name in zip(axes, names):
            df = self.profile(name, level=level)
            ax.plot(df[name], df["ratio"], "o-", ms=3)
            ax.axhline(thr, color="k", ls="--", lw=0.8)
            ax.axvline(self.parameters[name], color="C3", lw=0.8)
            ax.set_xlabel(name)
            ax.set_ylim(0, 1.05)
        axes[0].set_ylabel("likelihood ratio")
        return fig

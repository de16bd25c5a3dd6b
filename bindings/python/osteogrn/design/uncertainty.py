"""Predictions with uncertainty: ``og.predict`` (bands over parameter draws) and
``og.compare`` (the probability that a protocol beats a reference).

Both simulate every (parameter draw, protocol) pair with :func:`osteogrn.simulate_batch`, one
batch per distinct protocol duration. The draws come from :meth:`FitResult.sample` (an int),
are given as a DataFrame (one column per parameter), or are the model as it is (None with a
Model).
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import FitWarning, OptionError, OsteogrnError
from ..fitting.objective import obs_label
from ..fitting.result import FitResult
from ..fitting.sampling import as_generator, grid_outputs
from ..model import Model
from ..protocol import Protocol

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["predict", "compare", "DEFAULT_SAMPLES"]

#: Draws taken from a FitResult when ``samples`` is None.
DEFAULT_SAMPLES = 200
#: Spacing (days) of the default sample times of predict.
DEFAULT_DT = 0.1


# -- inputs ----------------------------------------------------------------------------------
def _source(model_or_fit: Any, where: str) -> Tuple[Model, Optional[FitResult]]:
    if isinstance(model_or_fit, FitResult):
        return model_or_fit.model, model_or_fit
    if isinstance(model_or_fit, Model):
        return model_or_fit, None
    if isinstance(model_or_fit, (str, os.PathLike)):
        from ..library import load_model
        return load_model(model_or_fit), None
    raise OptionError(f"{where} must be an og.FitResult, an og.Model or a model name, got "
                      f"{type(model_or_fit).__name__}")


def _load(item: Any, fit: Optional[FitResult]) -> Protocol:
    """A Protocol; a name is first looked up among the fit's conditions, then built-ins."""
    if isinstance(item, Protocol):
        return item
    if fit is not None and isinstance(item, str) and item in fit.problem.protocols:
        return fit.problem.protocols[item]
    from ..library import load_protocol
    return load_protocol(item)


def _protocol_list(protocols: Any, fit: Optional[FitResult] = None) -> List[Protocol]:
    if isinstance(protocols, (Protocol, str, os.PathLike)):
        protocols = [protocols]
    elif isinstance(protocols, Mapping):
        protocols = list(protocols.values())
    try:
        items = list(protocols)
    except TypeError:
        raise OptionError(f"protocols must be a Protocol, a name or a list of them, got "
                          f"{type(protocols).__name__}") from None
    if not items:
        raise OptionError("protocols is empty: give at least one Protocol or protocol name")
    out = [_load(p, fit) for p in items]
    names = [p.name for p in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise OptionError(f"protocol names must be unique (they label the rows); "
                          f"{', '.join(map(repr, dup))} appear(s) twice: rename with "
                          f"Protocol.with_name")
    return out


def _draws(model: Model, fit: Optional[FitResult], samples: Any, rng: np.random.Generator
           ) -> "pd.DataFrame":
    """The parameter draws as a DataFrame (one column per parameter, linear units)."""
    import pandas as pd
    if samples is None and fit is None:
        return pd.DataFrame(index=pd.RangeIndex(1, name="draw"))
    if samples is None or (isinstance(samples, (int, np.integer))
                           and not isinstance(samples, bool)):
        if fit is None:
            raise OptionError(f"samples={samples!r} draws from a fit: pass an og.FitResult "
                              f"(or a DataFrame of parameter sets with a Model)")
        n = DEFAULT_SAMPLES if samples is None else int(samples)
        return fit.sample(n, seed=rng)
    if not isinstance(samples, pd.DataFrame):
        raise OptionError(f"samples must be None, a number of draws or a DataFrame of "
                          f"parameter sets (one column per parameter), got "
                          f"{type(samples).__name__}")
    if len(samples) == 0:
        raise OptionError("samples is an empty DataFrame: give at least one parameter set")
    known = set(model.parameters) | (set(fit.problem.names) if fit is not None else set())
    for col in samples.columns:
        if col not in known:
            extra = " or an estimated parameter of the fit" if fit is not None else ""
            raise OptionError(f"samples has column {col!r}, which is not a parameter of model "
                              f"{model.name!r}{extra}")
        values = pd.to_numeric(samples[col], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(values)):
            row = int(np.flatnonzero(~np.isfinite(values))[0])
            raise OptionError(f"samples[{col!r}] has a missing or non-finite value in row "
                              f"{row} ({samples[col].iloc[row]!r})")
    return samples.reset_index(drop=True)


def _times(t: Any) -> Optional[np.ndarray]:
    if t is None:
        return None
    try:
        arr = np.asarray(t, dtype=float)
    except (TypeError, ValueError):
        raise OptionError(f"t must be an array of times (days), got {t!r}") from None
    arr = arr.reshape(-1) if arr.ndim <= 1 else None
    if arr is None or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise OptionError(f"t must be a non-empty one-dimensional array of finite times >= 0, "
                          f"got {t!r}")
    return np.unique(arr)


def _grid(t: Optional[np.ndarray], duration: float) -> np.ndarray:
    if t is None:
        n = int(np.floor(duration / DEFAULT_DT + 1e-9))
        grid = np.round(np.arange(n + 1) * DEFAULT_DT, 10)
        return np.unique(np.append(grid[grid <= duration], duration))
    return t[t <= duration]


def _run(model: Model, protocols: List[Protocol], draws: "pd.DataFrame",
         times: Mapping[str, np.ndarray], outputs: List[str], threads: Optional[int],
         solver: Mapping[str, Any]) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """Protocol name -> (sample times, values [n_draws, n_t, n_outputs]), one simulate_batch
    per distinct time grid; a failed task is NaN throughout (its draw is left out)."""
    from ..batch import simulate_batch
    names = [c for c in draws.columns if c in model.parameters]
    matrix = draws[names].to_numpy(dtype=float) if names else None
    n = max(len(draws), 1)
    groups: Dict[bytes, List[Protocol]] = {}
    for p in protocols:
        groups.setdefault(times[p.name].tobytes(), []).append(p)
    out: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
    failed_total = 0
    for group in groups.values():
        t = times[group[0].name]
        res = simulate_batch(model, group, parameters=matrix,
                             param_names=names if names else None, t=t, threads=threads,
                             outputs=outputs, **solver)
        values = np.array(res.values, dtype=float)          # [sets, protocols, t, outputs]
        failed = np.asarray(res.failed, dtype=bool)
        values[failed] = np.nan
        failed_total += int(failed.sum())
        if values.shape[0] != n:
            values = np.broadcast_to(values, (n,) + values.shape[1:])
        order = [res.output_names.index(o) for o in outputs]
        for j, p in enumerate(group):
            out[p.name] = (np.asarray(res.t, dtype=float), values[:, j][..., order])
    if failed_total:
        warnings.warn(FitWarning(
            f"{failed_total} of {n * len(protocols)} simulations (draw x protocol) failed and "
            f"are left out of the bands"), stacklevel=3)
    return out


def _solver(fit: Optional[FitResult], options: Any, overrides: Mapping[str, Any]
            ) -> Dict[str, Any]:
    if options is not None:
        from ..simulation import solver_options
        base = solver_options(options, **overrides).to_dict()
        return {k: v for k, v in base.items() if k not in ("record_steps", "raise_on_failure",
                                                            "sensitivities")}
    opts = dict(fit.problem.solver_options) if fit is not None else {}
    opts.update(overrides)
    return opts


# -- observation space -----------------------------------------------------------------------
def _observation_label(fit: FitResult, output: str, group: Optional[str]) -> str:
    pb = fit.problem
    plain = [g for g in pb.groups if g.name == output and not g.ratio]
    if not plain:
        if any(g.name == output for g in pb.groups):
            raise OptionError(f"noise=True: the fit saw {output!r} only as ratios "
                              f"(reference_condition/reference_time rows), which fix no scale "
                              f"for a new absolute measurement; predict it with noise=False")
        raise OptionError(f"noise=True needs the fit's observation model of every output, "
                          f"and the fit did not observe {output!r} (observed: "
                          f"{', '.join(pb.observations)}); pass outputs= or noise=False")
    groups = list(dict.fromkeys(g.group for g in plain))
    if group is None:
        if len(groups) > 1:
            raise OptionError(f"noise=True: the fit has a scale/offset/noise for {output!r} "
                              f"per data group ({', '.join(map(repr, groups))}); pass group= "
                              f"to say which assay the new observations come from")
        group = groups[0]
    elif group not in groups:
        raise OptionError(f"group={group!r}: the fit's data groups for {output!r} are "
                          f"{', '.join(map(repr, groups))}")
    return obs_label(output, group)


def _per_draw(fit: FitResult, draws: "pd.DataFrame", name: str) -> np.ndarray:
    if name in draws.columns:
        return draws[name].to_numpy(dtype=float)
    return np.full(max(len(draws), 1), fit.parameters[name])


def _analytic_values(fit: FitResult, draws: "pd.DataFrame", threads: Optional[int]
                     ) -> List[Dict[str, Tuple[float, float]]]:
    """Per draw: label -> (scale, offset) with the analytic ones solved on the fit's data at
    that draw's parameters (as the fit does at every evaluation)."""
    pb = fit.problem
    P = np.tile(pb.to_params(fit.x), (max(len(draws), 1), 1))
    for k, name in enumerate(pb.names):
        if name in draws.columns:
            P[:, k] = draws[name].to_numpy(dtype=float)
    Z = np.array([pb.to_z(p) for p in P])
    X = grid_outputs(pb, Z, threads)
    out = []
    for z, x in zip(Z, X):
        with np.errstate(all="ignore"):
            out.append(pb.residuals(z, x, None)[3])
    return out


def _observe(fit: FitResult, draws: "pd.DataFrame", outputs: List[str],
             runs: Dict[str, Tuple[np.ndarray, np.ndarray]], group: Optional[str],
             rng: np.random.Generator, threads: Optional[int]) -> None:
    """Replaces model outputs by new noisy measurements in the fit's observation space, in
    place: ``scale * h + offset`` (h the output, or its fold change vs day 0) with the fit's
    noise, per draw."""
    pb = fit.problem
    n = max(len(draws), 1)
    solved = None
    for j, output in enumerate(outputs):
        obs = pb.observations[output]
        label = _observation_label(fit, output, group)
        if obs.fold_change not in (None, "day0"):
            raise OptionError(f"noise=True: {output!r} is observed as a fold change relative to "
                              f"condition {obs.fold_change!r}; predict both protocols with "
                              f"noise=False and take the ratio, since the noise of a ratio "
                              f"needs the reference's draws too")
        coef = {}
        for which in ("scale", "offset"):
            mode = obs.mode(which)
            if mode == "estimate":
                coef[which] = _per_draw(fit, draws, f"{which}_{label}")
            elif mode == "analytic":
                if solved is None:
                    solved = _analytic_values(fit, draws, threads)
                i = 0 if which == "scale" else 1
                coef[which] = np.array([s.get(label, (np.nan, np.nan))[i] for s in solved])
            else:
                coef[which] = np.full(n, obs.fixed_value(which))
        segs = [g for g in pb.groups if g.label == label and not g.ratio]
        if any(g.k["sigma"] is not None for g in segs):
            sigma = _per_draw(fit, draws, f"sigma_{label}")
        elif obs.sigma_mode == "fixed":
            sigma = np.full(n, float(obs.sigma))
        else:  # every row gave its own sigma: the typical one stands for a new measurement
            sigma = np.full(n, float(np.median(np.concatenate([g.sigma for g in segs]))))
        for name, (t, values) in runs.items():
            h = values[..., j]
            if obs.fold_change == "day0":
                if t[0] != 0.0:
                    raise OptionError(f"noise=True: {output!r} is a fold change vs day 0; the "
                                      f"sample times t must include 0")
                with np.errstate(divide="ignore", invalid="ignore"):
                    h = h / h[:, :1]
            pred = coef["scale"][:, None] * h + coef["offset"][:, None]
            eps = rng.standard_normal(pred.shape)
            with np.errstate(invalid="ignore", over="ignore"):
                if obs.noise == "lognormal":
                    y = pred * np.exp(sigma[:, None] * eps)
                else:
                    y = pred + sigma[:, None] * eps
            values[..., j] = y


# -- quantiles -------------------------------------------------------------------------------
def _level(level: Any) -> Tuple[float, float]:
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise OptionError(f"level must lie in (0, 1), got {level!r}")
    return (1.0 - level) / 2.0, (1.0 + level) / 2.0


def _summaries(v: np.ndarray, lo: float, hi: float) -> Dict[str, np.ndarray]:
    """median, mean, lower, upper over axis 0 (NaN draws left out)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: NaN quietly
        q = np.nanquantile(v, [0.5, lo, hi], axis=0)
        mean = np.nanmean(v, axis=0)
    return {"median": q[0], "mean": mean, "lower": q[1], "upper": q[2]}


# -- public ----------------------------------------------------------------------------------
def predict(model_or_fit: Union[FitResult, Model, str], protocols: Any, samples: Any = None,
            t: Optional[Sequence[float]] = None, outputs: Optional[Sequence[str]] = None,
            level: float = 0.95, noise: bool = False, seed: Any = None,
            threads: Optional[int] = None, *, group: Optional[str] = None,
            options: Any = None, **solver_options: Any) -> "pd.DataFrame":
    """Predictions with uncertainty bands: quantiles over parameter draws.

    Parameters
    ----------
    model_or_fit : FitResult, Model or str
        With a FitResult the draws represent its uncertainty (see ``samples``)
        and its solver options are used.
    protocols : Protocol, str, or a list (or mapping) of them
        Protocols to predict; names must be unique. A name is one of the fit's
        data conditions, a built-in protocol or a path.
    samples : None, int or pandas.DataFrame
        An int: that many draws from ``fit.sample(n, seed=...)`` (the default
        method, the Laplace approximation). None: 200 draws with a FitResult; the
        model as it is (one run, so the band is a line) with a Model. A
        DataFrame: parameter sets, one column per parameter (model parameters,
        and with a FitResult also its estimated ``scale_``/``offset_``/``sigma_``
        parameters, e.g. the output of :meth:`FitResult.sample`); other model
        parameters keep the model's values.
    t : array_like, optional
        Sample times (days); each protocol keeps those up to its duration.
        Default: every 0.1 day to the end of each protocol.
    outputs : sequence of str, optional
        Species or observables. Default: the observables the fit observed
        (FitResult), or every observable (Model).
    level : float
        Central probability of the band: ``lower``/``upper`` are the
        ``(1 - level)/2`` and ``(1 + level)/2`` quantiles over the draws.
    noise : bool
        False (default): the band of the model outputs, i.e. the uncertainty of
        the mean response (a confidence band). True (FitResult only): a
        prediction interval for a new measurement in the fit's observation
        space: per draw ``scale * h + offset`` (h the output, or its fold change
        vs day 0 for a ``fold_change="day0"`` observable) with a noise draw of
        the fit's observation model (additive, or log-normal: ``× exp(σ ε)``).
        Estimated scale/offset/sigma come from the draw (or the best fit where a
        DataFrame lacks them); analytic ones are solved at each draw on the fit's
        data, as the fit does; a given sigma column of the data stands for new
        measurements by its median. Every output must be one the fit observed
        (a fold change against another condition, or ratio-only rows, raise
        OptionError: they do not say what one new measurement is).
    seed : None, int or numpy.random.Generator
        Seeds the draws and the noise: same seed, same frame.
    threads : int, optional
        Threads of each ``simulate_batch`` (default all cores).
    group : str, optional
        With noise=True and a fit whose data have several ``group`` values for
        an output: the group whose scale/offset/noise to use.
    options : SolverOptions, optional
    **solver_options
        Solver keywords as in :func:`osteogrn.simulate_batch` (override the
        fit's).

    Returns
    -------
    pandas.DataFrame
        One row per (protocol, time, output): columns ``protocol, time, output,
        median, mean, lower, upper``. ``attrs``: ``level``, ``noise``, ``space``
        ("model" or "observation"), ``n_samples``, ``method`` (of the draws:
        "fisher", "mcmc", "given" or "none").

    Raises
    ------
    OptionError
        Bad samples, times, outputs or level; noise=True without a fit or for an
        output the fit did not observe (see ``noise``).
    """
    import pandas as pd
    model, fit = _source(model_or_fit, "model_or_fit")
    protos = _protocol_list(protocols, fit)
    lo, hi = _level(level)
    if not isinstance(noise, bool):
        raise OptionError(f"noise must be True or False, got {noise!r}")
    if noise and fit is None:
        raise OptionError("noise=True adds a fit's observation noise: pass the og.FitResult, "
                          "not a Model")
    known = list(model.species) + list(model.observables)
    if outputs is None:
        outputs = list(fit.problem.observations) if fit is not None else \
            list(model.observables) or list(model.species)
    outputs = [outputs] if isinstance(outputs, str) else [str(o) for o in outputs]
    if not outputs:
        raise OptionError("outputs is empty; pass None for the default")
    for o in outputs:
        if o not in known:
            raise OptionError(f"outputs names {o!r}, which is not a species or observable of "
                              f"model {model.name!r}")
    if noise:
        for o in outputs:
            _observation_label(fit, o, group)
    rng = as_generator(seed)
    draws = _draws(model, fit, samples, rng)
    tt = _times(t)
    day0 = noise and any(fit.problem.observations[o].fold_change == "day0" for o in outputs)
    times = {}
    for p in protos:
        grid = _grid(tt, p.duration)
        if day0 and (grid.size == 0 or grid[0] != 0.0):
            grid = np.concatenate([[0.0], grid])
        if grid.size == 0:
            raise OptionError(f"no sample time lies within protocol {p.name!r} "
                              f"([0, {p.duration:g}] days)")
        times[p.name] = grid
    runs = _run(model, protos, draws, times, outputs, threads,
                _solver(fit, options, solver_options))
    if noise:
        _observe(fit, draws, outputs, runs, group, rng, threads)
    parts = []
    for p in protos:
        grid, values = runs[p.name]
        keep = np.ones(len(grid), dtype=bool) if tt is None else np.isin(grid, tt)
        s = _summaries(values[:, keep], lo, hi)           # each [n_t, n_outputs]
        n_t = int(keep.sum())
        frame = pd.DataFrame({"protocol": p.name,
                              "time": np.repeat(grid[keep], len(outputs)),
                              "output": np.tile(outputs, n_t)})
        for key, arr in s.items():
            frame[key] = arr.reshape(-1)
        parts.append(frame)
    out = pd.concat(parts, ignore_index=True)
    out.attrs.update({"level": float(level), "noise": noise,
                      "space": "observation" if noise else "model",
                      "n_samples": len(draws) if len(draws.columns) else 1,
                      "method": _method(draws, samples)})
    return out


def _method(draws: "pd.DataFrame", samples: Any) -> str:
    import pandas as pd
    if isinstance(samples, pd.DataFrame):
        return str(samples.attrs.get("method", "given"))
    return str(draws.attrs.get("method", "none"))


def compare(protocols: Any, readout: Any, samples: Any = None, reference: Any = None,
            model: Union[FitResult, Model, str, None] = None, level: float = 0.95,
            seed: Any = None, threads: Optional[int] = None, *, options: Any = None,
            **solver_options: Any) -> "pd.DataFrame":
    """The readout of each protocol over parameter draws, and the probability that it beats
    a reference protocol.

    Parameters
    ----------
    protocols : Protocol, str, or a list (or mapping) of them
    readout : str or Readout
        E.g. ``"mineral@21"``, ``"max(ALP)"`` (see :class:`osteogrn.Readout`).
        Larger is better.
    samples : None, int or pandas.DataFrame
        As in :func:`predict`: an int or None draws from the fit given as
        ``model``; a DataFrame gives the parameter sets.
    reference : Protocol or str, optional
        The protocol (one of ``protocols``, or a further one, which is then added)
        every protocol is compared with; default the first.
    model : FitResult, Model or str
        Required: the fit whose uncertainty the draws represent, or the model the
        DataFrame's parameter sets apply to.
    level : float
        Central probability of the band (``lower``/``upper``).
    seed, threads, options, **solver_options
        As in :func:`predict`.

    Returns
    -------
    pandas.DataFrame
        Index ``protocol`` (the reference included, first the given order);
        columns ``median, mean, lower, upper`` of the readout over the draws,
        ``p_better`` = P(readout(protocol) > readout(reference)) over the same
        (paired) draws, ties counting one half (so the reference's own row is
        0.5), and ``n`` = draws where both readouts are defined (failed
        simulations and undefined readouts, e.g. a ``time_to`` never reached,
        are left out). ``attrs``: ``readout``, ``reference``, ``level``,
        ``n_samples``.

    Raises
    ------
    OptionError
        No model, a bad readout (unknown output), an unknown reference, bad
        samples or level.
    """
    import pandas as pd

    from .readouts import Readout, sample_times
    if model is None:
        raise OptionError("compare needs model=: the og.FitResult whose uncertainty the draws "
                          "represent, or the og.Model (or name) the parameter sets apply to")
    mdl, fit = _source(model, "model")
    r = readout if isinstance(readout, Readout) else Readout(readout)
    r.check(mdl)
    protos = _protocol_list(protocols, fit)
    if reference is None:
        ref_name = protos[0].name
    else:
        ref = reference if isinstance(reference, Protocol) else None
        ref_name = reference.name if ref is not None else str(reference)
        if ref_name not in [p.name for p in protos]:
            if ref is None:
                try:
                    ref = _load(reference, fit)
                except (OsteogrnError, OSError):
                    raise OptionError(f"reference {reference!r} is neither one of the "
                                      f"protocols ({', '.join(p.name for p in protos)}) nor a "
                                      f"protocol name or path") from None
                ref_name = ref.name
            protos = [ref] + protos
    lo, hi = _level(level)
    rng = as_generator(seed)
    draws = _draws(mdl, fit, samples, rng)
    times = {p.name: sample_times([r], p.duration) for p in protos}
    runs = _run(mdl, protos, draws, times, list(r.outputs), threads,
                _solver(fit, options, solver_options))
    values = {}
    for p in protos:
        t, v = runs[p.name]
        values[p.name] = np.asarray(r.evaluate(t, {o: v[..., j] for j, o in
                                                   enumerate(r.outputs)}), dtype=float)
    base = values[ref_name]
    rows = []
    for p in protos:
        v = values[p.name]
        s = _summaries(v[:, None], lo, hi)
        ok = np.isfinite(v) & np.isfinite(base)
        n_ok = int(ok.sum())
        p_better = (float(np.mean(v[ok] > base[ok]) + 0.5 * np.mean(v[ok] == base[ok]))
                    if n_ok else float("nan"))
        rows.append({"protocol": p.name, **{k: float(a[0]) for k, a in s.items()},
                     "p_better": p_better, "n": n_ok})
    out = pd.DataFrame(rows).set_index("protocol")
    out.attrs.update({"readout": r.text, "reference": ref_name, "level": float(level),
                      "n_samples": len(draws) if len(draws.columns) else 1,
                      "method": _method(draws, samples)})
    return out

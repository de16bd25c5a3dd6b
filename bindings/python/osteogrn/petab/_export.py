"""An osteogrn fitting problem written as a PEtab v1 problem (the ``petab`` library's writers).

What goes where:

* **model**: ``Model.to_sbml(protocols=...)``: the model at the given (or fitted) parameter
  values, every data condition's protocol as events gated by a constant parameter
  ``condition_<c>`` (docs/sbml.md);
* **conditions**: one per protocol, setting its gate to 1 and the others to 0;
* **observables**: one per (observable, data group): ``scale * x + offset`` where ``x`` is the
  model output or, for a fold change relative to day 0, ``x / observableParameter1_<id>`` with
  the day-0 value of that condition in the measurement table; log-normal noise is
  ``observableTransformation`` log; the noise SD is ``noiseParameter1_<id>``, set per
  measurement to the row's sigma or to the estimated ``sigma_<label>``;
* **measurements**: every data row;
* **parameters**: the estimated model and observation parameters with bounds, scale (log10 where
  log-scaled) and the values as nominal values; an analytic scale or offset (solved in closed form
  by osteogrn) is a fixed parameter at its value, named as such.

Fold changes relative to another condition and ratio rows (``reference_condition`` /
``reference_time``) need a model output at another time or condition inside one observable,
which PEtab v1 cannot write: :class:`PetabExportError`.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from ..errors import FitWarning, OptionError, OsteogrnError

__all__ = ["export", "export_fit", "PetabExportError"]

#: File names inside the problem directory.
FILES = {"model": "model.xml", "conditions": "conditions.tsv", "measurements": "measurements.tsv",
         "observables": "observables.tsv", "parameters": "parameters.tsv"}


class PetabExportError(OsteogrnError, ValueError):
    """Part of a fitting problem that PEtab v1 cannot express.

    Attributes
    ----------
    observable : str
        The observable (with its data group, ``ALP[group]``) at fault.
    """

    observable: str

    def __init__(self, message: str = "", /, *, observable: str = "") -> None:
        super().__init__(message, observable=observable)


def export(model: Any, data: Any, protocols: Optional[Mapping[str, Any]], observations: Any,
           path: Any, *, estimate: Any = None, log_scale: Any = True,
           parameters: Optional[Mapping[str, float]] = None, options: Any = None,
           **solver_options: Any) -> str:
    """Writes a fitting problem of osteogrn as a PEtab v1 problem.

    The arguments mean what they mean for :func:`osteogrn.fit`; the written problem's
    log-likelihood is the one :attr:`osteogrn.FitResult.log_likelihood` reports.

    Parameters
    ----------
    model : Model or str
    data : str, os.PathLike, pandas.DataFrame or FitData
        The tidy measurement table (see :class:`osteogrn.FitData`).
    protocols : mapping, optional
        Condition name -> Protocol (or protocol name / path).
    observations : Observation, str or mapping observable -> Observation
    path : str or os.PathLike
        A directory (created; the YAML file is ``problem.yaml`` in it) or the path of the
        YAML file (``*.yaml``/``*.yml``; the tables go next to it).
    estimate : list of names or dict name -> (lo, hi), optional
        Model parameters to estimate (bounds as in :func:`osteogrn.fit`); default none.
    log_scale : bool or collection of names
        Estimated parameters written with ``parameterScale`` log10.
    parameters : mapping name -> value, optional
        Nominal values (linear) of model parameters and of estimated observation parameters
        (``scale_<obs>``, ``offset_<obs>``, ``sigma_<obs>``). Default: the model's values, and
        the middle of the (log10 where log-scaled) bounds for observation parameters.
    options : SolverOptions, optional
        Solver options as for :func:`osteogrn.fit` (default: its fitting defaults).
    **solver_options
        Solver options of the simulations the export needs (derived bounds, analytic scales
        and offsets, day-0 values of fold changes), exactly as for :func:`osteogrn.fit`; give
        the fit's to write the fit's numbers.

    Returns
    -------
    str
        The path of the YAML file.

    Raises
    ------
    PetabExportError
        A fold change relative to another condition or ratio rows (names the observable).
    OptionError, DataError
        Invalid arguments, as for :func:`osteogrn.fit`.
    """
    from ..fitting.data import FitData
    from ..fitting.fit import _bounds, fit_solver_options
    from ..fitting.objective import Evaluator, Problem
    from ..fitting.observation import resolve_observations
    from ..model import Model

    if isinstance(model, (str, os.PathLike)):
        from ..library import load_model
        model = load_model(model)
    if not isinstance(model, Model):
        raise OptionError(f"model must be an og.Model or a model name, got {type(model).__name__}")
    if not isinstance(log_scale, bool):
        log_scale = {str(n) for n in log_scale}
    fdata = data if isinstance(data, FitData) and protocols is None else FitData(
        data, model, protocols)
    bounds = _bounds(model, estimate) if estimate is not None and len(estimate) else {}
    obs = resolve_observations(observations, fdata.observables)
    grad, opts = fit_solver_options(options, "auto", solver_options)
    values = dict(parameters or {})
    # parameters that are not estimated are part of the model; the estimated ones are set
    # through z below, so that derived bounds come from the model's values as in og.fit
    fixed = {k: float(v) for k, v in values.items() if k in model.parameters and k not in bounds}
    if fixed:
        model = model.with_parameters(fixed)
    problem = Problem(model, fdata, obs, bounds, log_scale, opts, grad, 1e-4)
    unknown = [k for k in values if k not in model.parameters and k not in problem.names]
    if unknown:
        raise OptionError(f"parameters names {unknown[0]!r}, which is neither a parameter of "
                          f"model {model.name!r} nor an estimated observation parameter "
                          f"({', '.join(problem.names[problem.n_model:]) or 'none'})")
    z = 0.5 * (problem.lb + problem.ub)
    for k, name in enumerate(problem.names):
        v = values.get(name, model.parameters[name] if k < problem.n_model else None)
        if v is not None:
            z[k] = float(problem.to_z(np.array([v]))[0]) if problem.log[k] else v
            if not math.isfinite(z[k]):
                raise OptionError(f"parameters[{name!r}] = {v!r}: not a valid value")
    _check_expressible(problem)
    solved = Evaluator(problem).evaluate(z, False)[3]
    if not solved:
        raise OsteogrnError("PEtab export: the model fails to simulate at the given parameter "
                            "values, so analytic observation parameters and fold-change "
                            "references cannot be computed")
    return _write(problem, z, solved, path)


def export_fit(result: Any, path: Any) -> str:
    """:meth:`osteogrn.FitResult.to_petab`: the fit's problem at its optimum."""
    from ..fitting.objective import Problem
    problem = result.problem
    if not isinstance(problem, Problem):
        raise OptionError("FitResult.to_petab writes fits of og.fit(model, data, ...); this fit "
                          "is of a PEtab problem already (write its petab_problem's files with "
                          "the petab library)")
    _check_expressible(problem)
    solved = {k: (v["scale"], v["offset"]) for k, v in result.observation_parameters.items()}
    return _write(problem, np.asarray(result.x, dtype=float), solved, path)


def _check_expressible(problem: Any) -> None:
    for g in problem.groups:
        if g.ratio:
            raise PetabExportError(
                f"PEtab export: observable {g.label!r} has ratio rows (reference_condition / "
                "reference_time): a model output divided by its value at another time or "
                "condition has no PEtab v1 form; use Observation.fold('day0') for fold "
                "changes relative to day 0, or leave these rows out", observable=g.label)
        if g.obs.fold_change not in (None, "day0"):
            raise PetabExportError(
                f"PEtab export: observable {g.label!r} is a fold change relative to condition "
                f"{g.obs.fold_change!r}: an output of another condition has no PEtab v1 form",
                observable=g.label)


def _paths(path: Any) -> Tuple[str, str]:
    path = os.fspath(path)
    if path.endswith((".yaml", ".yml")):
        folder, yaml_name = os.path.dirname(path) or ".", os.path.basename(path)
    else:
        folder, yaml_name = path, "problem.yaml"
    os.makedirs(folder, exist_ok=True)
    return folder, yaml_name


def _write(problem: Any, z: np.ndarray, solved: Mapping[str, Tuple[float, float]],
           path: Any) -> str:
    """The PEtab tables and SBML of ``problem`` at ``z`` (analytic values ``solved``)."""
    import pandas as pd
    import petab.v1 as petab
    from petab.v1.models.sbml_model import SbmlModel

    from ..sbml._export import sbml_id, to_sbml_conditions

    data = problem.data
    table = data.table
    p = problem.to_params(z)
    model = problem.model.with_parameters(problem.model_values(z)) if problem.n_model else \
        problem.model
    conditions = data.conditions
    sbml, gate = to_sbml_conditions(model, {c: data.protocol(c) for c in conditions})
    taken = set(model.species) | set(model.parameters) | set(model.inputs) \
        | set(model.observables) | set(model.expressions) | set(gate.values())

    def new_id(base: str) -> str:
        cand, k = sbml_id(base), 1
        stem = cand
        while cand in taken:
            k += 1
            cand = f"{stem}_{k}"
        taken.add(cand)
        return cand

    cond_id = {c: new_id(c) for c in conditions}
    # estimated parameters keep their osteogrn names where these are identifiers
    par_id = {name: (name if k < problem.n_model else new_id(name))
              for k, name in enumerate(problem.names)}

    # -- conditions ---------------------------------------------------------------------------
    cond_df = pd.DataFrame({petab.CONDITION_ID: [cond_id[c] for c in conditions],
                            petab.CONDITION_NAME: conditions})
    for c in conditions:
        cond_df[gate[c]] = [1.0 if other == c else 0.0 for other in conditions]
    cond_df = cond_df.set_index(petab.CONDITION_ID)

    # -- observables and parameters of the observation models ---------------------------------
    par_rows: List[Dict[str, Any]] = []
    for k, name in enumerate(problem.names):
        par_rows.append({petab.PARAMETER_ID: par_id[name], petab.PARAMETER_NAME: name,
                         petab.PARAMETER_SCALE: petab.LOG10 if problem.log[k] else petab.LIN,
                         petab.LOWER_BOUND: float(problem.p_lo[k]),
                         petab.UPPER_BOUND: float(problem.p_hi[k]),
                         petab.NOMINAL_VALUE: float(p[k]), petab.ESTIMATE: 1})
    obs_rows: List[Dict[str, Any]] = []
    # (label, estimated sigma?) -> observable id. Rows whose sigma is estimated get an
    # observable whose noise formula is the sigma parameter; rows with a given sigma one with a
    # placeholder set per measurement, so that the noiseParameters column holds only numbers
    # (AMICI takes per-measurement noise only from a numeric column).
    obs_id: Dict[Tuple[str, bool], str] = {}
    fold_labels = set()
    for label, segs in problem._labels.items():
        g = segs[0]
        x = g.name
        kinds = [est for est in (False, True)
                 if any((sg.est.any() if est else (~sg.est).any()) for sg in segs)]
        for est in kinds:
            oid = new_id(f"obs_{label}" if len(kinds) == 1 or not est
                         else f"obs_{label}_sigma_estimated")
            obs_id[(label, est)] = oid
            h = x
            if g.obs.fold_change == "day0":
                h = f"{g.name} / observableParameter1_{oid}"
                fold_labels.add(label)
            terms: Dict[str, str] = {}
            for which in ("scale", "offset"):
                mode = g.mode(which)
                if mode == "estimate":
                    terms[which] = par_id[f"{which}_{label}"]
                elif mode == "analytic":
                    pid = f"{which}_{label}"
                    if pid not in par_id:
                        par_id[pid] = new_id(pid)
                        par_rows.append({
                            petab.PARAMETER_ID: par_id[pid],
                            petab.PARAMETER_NAME: f"{pid}: analytic in osteogrn (solved in "
                            "closed form at every evaluation), fixed here at its value at the "
                            "export",
                            petab.PARAMETER_SCALE: petab.LIN, petab.LOWER_BOUND: np.nan,
                            petab.UPPER_BOUND: np.nan,
                            petab.NOMINAL_VALUE: float(solved[label][0 if which == "scale"
                                                                     else 1]),
                            petab.ESTIMATE: 0})
                    terms[which] = par_id[pid]
                elif mode == "fixed":
                    v = g.fixed_value(which)
                    if v != (1.0 if which == "scale" else 0.0):
                        terms[which] = repr(v)
            formula = f"{terms['scale']} * {h}" if "scale" in terms else h
            if "offset" in terms:
                formula = f"{formula} + {terms['offset']}"
            obs_rows.append({petab.OBSERVABLE_ID: oid, petab.OBSERVABLE_NAME: label,
                             petab.OBSERVABLE_FORMULA: formula,
                             petab.OBSERVABLE_TRANSFORMATION:
                                 petab.LOG if g.obs.noise == "lognormal" else petab.LIN,
                             petab.NOISE_FORMULA: (par_id[f"sigma_{label}"] if est
                                                   else f"noiseParameter1_{oid}"),
                             petab.NOISE_DISTRIBUTION: petab.NORMAL})
    obs_df = pd.DataFrame(obs_rows).set_index(petab.OBSERVABLE_ID)
    par_df = pd.DataFrame(par_rows, columns=[
        petab.PARAMETER_ID, petab.PARAMETER_NAME, petab.PARAMETER_SCALE, petab.LOWER_BOUND,
        petab.UPPER_BOUND, petab.NOMINAL_VALUE, petab.ESTIMATE]).set_index(petab.PARAMETER_ID)

    # -- measurements ---------------------------------------------------------------------------
    n = problem.n_rows
    m_obs = np.empty(n, dtype=object)
    noise = np.full(n, np.nan)
    obs_par = np.full(n, np.nan)
    sigma = problem.row_sigma(z)
    X = S = None
    if fold_labels:
        X, S, _ = problem.simulate(z, problem.n_model > 0)
    for g in problem.groups:
        est = g.est if g.k["sigma"] is not None else np.zeros(len(g.rows), dtype=bool)
        for j, row in enumerate(g.rows):
            m_obs[row] = obs_id[(g.label, bool(est[j]))]
            if not est[j]:
                noise[row] = float(sigma[row])
        if g.label in fold_labels:
            obs_par[g.rows] = X[g.ridx, g.out]
            if S is not None and np.any(S[g.ridx, g.out, :] != 0.0):
                warnings.warn(FitWarning(
                    f"PEtab export: the day-0 value of {g.name!r}, the denominator of its fold "
                    "change, depends on estimated parameters; it is written as a number (its "
                    "value at the exported parameters) in the measurement table's "
                    "observableParameters"), stacklevel=3)
    meas = {petab.OBSERVABLE_ID: m_obs,
            petab.SIMULATION_CONDITION_ID: [cond_id[c] for c in table["condition"]],
            petab.TIME: table["time"].to_numpy(dtype=float),
            petab.MEASUREMENT: table["value"].to_numpy(dtype=float)}
    if not np.isnan(noise).all():
        meas[petab.NOISE_PARAMETERS] = noise
    if fold_labels:
        meas[petab.OBSERVABLE_PARAMETERS] = obs_par
    meas_df = pd.DataFrame(meas)

    sbml = _with_parameters(sbml, [(r[petab.PARAMETER_ID], r[petab.NOMINAL_VALUE],
                                     r[petab.PARAMETER_NAME]) for r in par_rows
                                    if r[petab.PARAMETER_ID] not in model.parameters])
    folder, yaml_name = _paths(path)
    files = {k: os.path.join(folder, v) for k, v in FILES.items()}
    yaml_path = os.path.join(folder, yaml_name)
    with warnings.catch_warnings():
        # petab's writers call pandas APIs that newer pandas deprecates (inplace=...): a matter
        # between those two libraries, not of the files written
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"petab\.")
        pp = petab.Problem(model=SbmlModel.from_string(sbml), condition_df=cond_df,
                           measurement_df=meas_df, observable_df=obs_df, parameter_df=par_df)
        pp.to_files(model_file=files["model"], condition_file=files["conditions"],
                    measurement_file=files["measurements"], observable_file=files["observables"],
                    parameter_file=files["parameters"], yaml_file=yaml_path,
                    relative_paths=True)
    return yaml_path


def _with_parameters(sbml: str, params: List[Tuple[str, float, str]]) -> str:
    """The SBML text with the observation parameters added as constant parameters.

    PEtab lets the observable and noise formulas name parameters of the parameter table that
    the model lacks; declaring them in the model too (at their nominal values) is equally
    valid and spares readers that map parameters through the model alone.
    """
    import libsbml
    doc = libsbml.readSBMLFromString(sbml)
    model = doc.getModel()
    for pid, value, name in params:
        par = model.createParameter()
        par.setId(pid)
        par.setName(name)
        par.setValue(float(value))
        par.setConstant(True)
    return libsbml.writeSBMLToString(doc)

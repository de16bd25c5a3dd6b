"""og.petab.Problem: a PEtab v1 problem read with the ``petab`` library and turned into an
augmented osteogrn model plus a plan of simulations (one per preequilibration, simulation
condition and placeholder values), with the log-likelihood, its gradient and least-squares
residuals (``_objective.py``)."""

from __future__ import annotations

import math
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from ..errors import ModelError, PetabError, UnsupportedSBMLError
from ..model import Model
from ..simulation import solver_options as _solver_options
from ._formula import FormulaError, to_expression

__all__ = ["Problem", "PETAB_SOLVER_DEFAULTS"]

#: Solver defaults of a PEtab problem (overridden by ``options`` / keywords of from_yaml):
#: tight enough that the nine benchmark problems' nominal log-likelihoods agree with the
#: reference values to well below 1e-3 (docs/petab.md, "Solver defaults").
PETAB_SOLVER_DEFAULTS = {"method": "cvode_bdf", "rtol": 1e-8, "atol": 1e-10}

_SCALES = ("lin", "log", "log10")
_TRANSFORMS = ("lin", "log", "log10")
_NOISE = ("normal", "laplace")
_PRIORS = ("uniform", "normal", "laplace", "logNormal", "logLaplace", "parameterScaleUniform",
           "parameterScaleNormal", "parameterScaleLaplace")
_WIDE = 1e300  # model-file bounds of every parameter: PEtab's bounds live in the parameter table


def _is_nan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


class _Sim:
    """One simulation: fixed parameter values, estimated ones (model name -> index into x),
    the sample times, and the rows it predicts."""

    def __init__(self, key: Tuple[Any, ...], preeq: Optional[str], cond: str) -> None:
        self.key = key
        self.preeq = preeq
        self.cond = cond
        self.fixed: Dict[str, float] = {}
        self.est: Dict[str, int] = {}            # model parameter -> x index
        self.pre_fixed: Dict[str, float] = {}   # preequilibration values (where preeq)
        self.pre_est: Dict[str, int] = {}
        self.times = np.zeros(0)
        self.rows = np.zeros(0, dtype=int)       # measurement-table positions
        self.tidx = np.zeros(0, dtype=int)
        self.ycol = np.zeros(0, dtype=int)       # observable column of h
        self.scol = np.zeros(0, dtype=int)       # observable column of sigma, -1: direct
        self.sens: List[str] = []                # sensitivity parameter names (x-mapped)


class Problem:
    """A PEtab v1 parameter-estimation problem as an osteogrn objective.

    Build with :meth:`from_yaml`. Immutable once built, so threads may evaluate it at once.

    Attributes
    ----------
    x_ids : list of str
        Estimated parameters (``estimate = 1``), in parameter-table order.
    x_nominal : ndarray
        Their nominal values on parameter scale.
    x_scales : list of str
        ``lin``, ``log`` or ``log10`` for each.
    lb, ub : ndarray
        Bounds on parameter scale.
    model : Model
        The augmented model: the SBML model plus one observable per PEtab observable
        (``petab_y_<id>``) and per noise formula (``petab_sigma_<id>``), and parameters for
        the placeholders (``observableParameter{n}_<id>``, ``noiseParameter{n}_<id>``) and for
        parameter-table parameters the formulas use that the SBML model lacks.
    petab_problem : petab.v1.Problem
        The problem as the petab library read it.
    """

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_yaml(cls, path: Union[str, "os.PathLike[str]"], *, options: Any = None,
                  **solver_options: Any) -> "Problem":
        """Reads a PEtab v1 problem (yaml file) with the ``petab`` library.

        Parameters
        ----------
        path : str or path-like
            The problem's yaml file.
        options : SolverOptions, optional
            Solver options of every simulation (default: ``SolverOptions()`` with
            :data:`PETAB_SOLVER_DEFAULTS`).
        **solver_options
            Override fields of the options (``method``, ``rtol``, ``atol``, ``max_steps``...).

        Returns
        -------
        Problem

        Raises
        ------
        PetabError
            An invalid problem, or a feature not supported (names file, table, column, value).
        """
        try:
            import petab.v1 as pv
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("og.petab.Problem needs the petab package: "
                              "pip install 'petab>=0.5'") from exc
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise PetabError(f"PEtab problem file {path!r} does not exist", file=path,
                             table="yaml")
        try:
            with _quiet():
                pp = pv.Problem.from_yaml(path)
        except (OSError, ValueError, KeyError, TypeError, AssertionError) as e:
            raise PetabError(f"{path}: petab cannot read the problem: {type(e).__name__}: {e}",
                             file=path, table="yaml") from None
        return cls(pp, path, options=options, **solver_options)

    def __init__(self, petab_problem: Any, source: str = "<petab>", *, options: Any = None,
                 **solver_options: Any) -> None:
        self.petab_problem = pp = petab_problem
        self.source = source
        self._dir = os.path.dirname(os.path.abspath(source)) if source != "<petab>" else ""
        base = _solver_options(options, **solver_options)
        if options is None:
            base = base.replace(**{k: v for k, v in PETAB_SOLVER_DEFAULTS.items()
                                   if k not in solver_options})
        self.options = base
        self._opts = {k: v for k, v in base.to_dict().items()
                      if k not in ("sensitivities", "raise_on_failure", "record_steps")}
        self._files = self._file_names()
        with _quiet():
            self._read_parameters()
            self._build_model()
            self._plan()
            self._read_priors()

    def _file_names(self) -> Dict[str, str]:
        """Table -> the file it came from (for messages), where the yaml says."""
        out = {t: self.source for t in ("parameter", "condition", "observable", "measurement",
                                        "yaml", "sbml")}
        try:
            import yaml
            with open(self.source) as f:
                cfg = yaml.safe_load(f)
            sub = (cfg.get("problems") or [{}])[0]
            if cfg.get("parameter_file"):
                out["parameter"] = os.path.join(self._dir, str(cfg["parameter_file"]))
            for table, key in (("condition", "condition_files"), ("observable", "observable_files"),
                               ("measurement", "measurement_files"), ("sbml", "sbml_files")):
                files = sub.get(key) or []
                if files:
                    out[table] = os.path.join(self._dir, str(files[0]))
        except Exception:  # noqa: BLE001 - only for messages; the petab library read it already
            pass
        return out

    def _err(self, message: str, table: str, column: str = "", row: Any = None,
             value: Any = None) -> PetabError:
        f = self._files.get(table, self.source)
        where = f"{os.path.basename(f)} ({table} table" + (f", column {column!r}" if column else "")
        where += (f", row {row!r}" if row is not None else "") + ")"
        return PetabError(f"{where}: {message}", file=f, table=table, column=column, row=row,
                          value=value)

    # -- parameter table ---------------------------------------------------------------------
    def _read_parameters(self) -> None:
        pdf = self.petab_problem.parameter_df
        if pdf is None:
            raise self._err("the problem has no parameter table", "parameter")
        for col in ("parameterScale", "lowerBound", "upperBound", "nominalValue", "estimate"):
            if col not in pdf.columns:
                raise self._err(f"column {col!r} is missing", "parameter", col)
        x_ids, scales, lb, ub, nom = [], [], [], [], []
        self.fixed_values: Dict[str, float] = {}
        for pid, row in pdf.iterrows():
            scale = row["parameterScale"]
            scale = "lin" if _is_nan(scale) else str(scale)
            if scale not in _SCALES:
                raise self._err(f"parameterScale {scale!r} is not one of {', '.join(_SCALES)}",
                                "parameter", "parameterScale", pid, scale)
            try:
                est = int(row["estimate"])
                value = float(row["nominalValue"])
            except (TypeError, ValueError):
                raise self._err("estimate must be 0 or 1 and nominalValue a number",
                                "parameter", "estimate", pid, row["estimate"]) from None
            if est not in (0, 1):
                raise self._err(f"estimate must be 0 or 1, got {est}", "parameter", "estimate",
                                pid, est)
            if est == 0:
                if not math.isfinite(value):
                    raise self._err("a fixed parameter needs a finite nominalValue",
                                    "parameter", "nominalValue", pid, value)
                self.fixed_values[str(pid)] = value
                continue
            lo, hi = float(row["lowerBound"]), float(row["upperBound"])
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
                raise self._err(f"bounds must be finite with lowerBound <= upperBound, got "
                                f"({lo:g}, {hi:g})", "parameter", "lowerBound", pid, lo)
            if scale != "lin" and lo <= 0:
                raise self._err(f"a {scale}-scaled parameter needs lowerBound > 0, got {lo:g}",
                                "parameter", "lowerBound", pid, lo)
            if not math.isfinite(value) or (scale != "lin" and value <= 0):
                raise self._err(f"nominalValue {value!r} cannot be put on {scale} scale",
                                "parameter", "nominalValue", pid, value)
            x_ids.append(str(pid))
            scales.append(scale)
            lb.append(_scale(lo, scale))
            ub.append(_scale(hi, scale))
            nom.append(_scale(value, scale))
        if not x_ids:
            raise self._err("no parameter is estimated (estimate = 1)", "parameter", "estimate")
        self.x_ids: List[str] = x_ids
        self.x_scales: List[str] = scales
        self.lb = np.array(lb, dtype=float)
        self.ub = np.array(ub, dtype=float)
        self.x_nominal = np.array(nom, dtype=float)
        self._x_index = {k: i for i, k in enumerate(x_ids)}
        self._log = np.array([s == "log" for s in scales])
        self._log10 = np.array([s == "log10" for s in scales])
        for arr in (self.lb, self.ub, self.x_nominal):
            arr.setflags(write=False)

    def _spec(self, value: Any, table: str, column: str, row: Any) -> Union[float, int, str]:
        """A table cell's value: a float, or ('x' index) as a str key 'x:<i>'."""
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            return float(value)
        s = str(value).strip()
        try:
            return float(s)
        except ValueError:
            pass
        if s in self._x_index:
            return f"x:{self._x_index[s]}"
        if s in self.fixed_values:
            return self.fixed_values[s]
        raise self._err(f"{s!r} is neither a number nor a parameter of the parameter table",
                        table, column, row, s)

    # -- model -------------------------------------------------------------------------------
    def _build_model(self) -> None:
        import petab.v1 as pv
        from petab.v1.math import sympify_petab
        from ..sbml import symbol_map, translate_sbml
        pp = self.petab_problem
        mdl = pp.model
        if mdl is None or not hasattr(mdl, "to_sbml_str"):
            raise self._err("the model must be one SBML model", "yaml", "sbml_files")
        try:
            tr = translate_sbml(mdl.to_sbml_str())
        except UnsupportedSBMLError as e:
            raise self._err(f"the SBML model uses something the SBML import does not support: "
                            f"{e}", "sbml") from None
        self._translation = tr
        doc = tr.document
        self._sym = {sid: s for sid, s in tr.symbols.items()}
        # what a formula symbol means: SBML symbols -> their model names
        names: Dict[str, str] = {}
        for sid, s in tr.symbols.items():
            if s.role == "undefined":
                continue
            names[sid] = s.column if s.kind == "species" and s.column else s.name
        used = set(doc.get("species", {})) | set(doc.get("parameters", {})) | \
            set(doc.get("expressions", {})) | set(doc.get("inputs", {}) or {})
        # imported observables (reaction rates, rule values) are not needed: fewer outputs,
        # fewer observable sensitivities to compute
        doc["observables"] = {}
        for p in doc.get("parameters", {}).values():
            p["min"], p["max"] = -_WIDE, _WIDE
        obs_df = pp.observable_df
        if obs_df is None or len(obs_df) == 0:
            raise self._err("the problem has no observables", "observable")
        params = doc.setdefault("parameters", {})

        def take(wanted: str) -> str:
            base = wanted if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", wanted) else \
                re.sub(r"\W", "_", wanted)
            n, i = base, 1
            from ..sbml import RESERVED
            while n in used or n in RESERVED:
                n, i = f"{base}_{i}", i + 1
            used.add(n)
            return n

        self._ph_name: Dict[str, str] = {}   # placeholder / extra parameter id -> model name
        #: model name -> parameter-table id of parameters the formulas use and the SBML lacks
        self._extra_params: Dict[str, str] = {}
        self._extra_users: Dict[str, set] = {}   # model name -> observables using it
        self.observable_ids: List[str] = []
        self._ycol: Dict[str, int] = {}
        self._scol: Dict[str, int] = {}
        self._direct_sigma: Dict[str, int] = {}   # obs id -> placeholder number of a bare sigma
        self._placeholders: Dict[str, Tuple[List[str], List[str]]] = {}
        self._transform: Dict[str, str] = {}
        self._noise: Dict[str, str] = {}
        observables: Dict[str, Any] = {}
        for oid, row in obs_df.iterrows():
            oid = str(oid)
            tf = row.get("observableTransformation", "lin")
            tf = "lin" if _is_nan(tf) or tf == "" else str(tf)
            if tf not in _TRANSFORMS:
                raise self._err(f"observableTransformation {tf!r} is not one of "
                                f"{', '.join(_TRANSFORMS)}", "observable",
                                "observableTransformation", oid, tf)
            nd = row.get("noiseDistribution", "normal")
            nd = "normal" if _is_nan(nd) or nd == "" else str(nd)
            if nd not in _NOISE:
                raise self._err(f"noiseDistribution {nd!r} is not supported (only "
                                f"{', '.join(_NOISE)})", "observable", "noiseDistribution",
                                oid, nd)
            self._transform[oid], self._noise[oid] = tf, nd
            ph = []
            for kind, col in (("observable", "observableFormula"), ("noise", "noiseFormula")):
                text = row.get(col)
                if _is_nan(text) or text is None or str(text).strip() == "":
                    raise self._err(f"{col} is empty", "observable", col, oid)
                ph.append(pv.observables.get_formula_placeholders(str(text), oid, kind))
            self._placeholders[oid] = (ph[0], ph[1])
            for pid in ph[0] + ph[1]:
                if pid not in self._ph_name:
                    self._ph_name[pid] = n = take(pid)
                    params[n] = {"value": 1.0, "min": -_WIDE, "max": _WIDE,
                                 "source": "assumed: PEtab placeholder, set per measurement"}
            exprs = []
            for col, kind in (("observableFormula", "observable"), ("noiseFormula", "noise")):
                text = str(row[col])
                try:
                    sym = sympify_petab(text)
                except Exception as e:  # noqa: BLE001 - the library's parse errors vary
                    raise self._err(f"cannot parse {text!r}: {e}", "observable", col, oid,
                                    text) from None
                if kind == "noise" and sym.is_Symbol and sym.name in ph[1]:
                    self._direct_sigma[oid] = ph[1].index(sym.name)
                    exprs.append(None)
                    continue

                def name(sid: str, col: str = col, oid: str = oid, text: str = text) -> str:
                    if sid in self._ph_name:
                        if self._ph_name[sid] in self._extra_params:
                            self._extra_users[self._ph_name[sid]].add(oid)
                        return self._ph_name[sid]
                    if sid in names:
                        return names[sid]
                    if sid in ("time", "t") and sid not in names:
                        return "t"
                    if sid in self._x_index or sid in self.fixed_values:
                        # a parameter-table parameter the SBML model lacks: a model parameter
                        self._ph_name[sid] = n = take(sid)
                        names[sid] = n
                        self._extra_params[n] = sid
                        self._extra_users[n] = {oid}
                        params[n] = {"value": self.fixed_values.get(sid, 1.0), "min": -_WIDE,
                                     "max": _WIDE,
                                     "source": "assumed: PEtab parameter table"}
                        return n
                    raise self._err(f"{text!r} names {sid!r}, which is neither a symbol of "
                                    f"the SBML model, a placeholder of {oid!r} nor a parameter "
                                    f"of the parameter table", "observable", col, oid, sid)
                try:
                    exprs.append(to_expression(sym, name))
                except FormulaError as e:
                    raise self._err(f"{text!r}: {e}", "observable", col, oid, text) from None
            yname = take(f"petab_y_{oid}")
            observables[yname] = {"expression": exprs[0],
                                  "description": f"PEtab observable {oid}"}
            self._ycol[oid] = len(observables) - 1
            if exprs[1] is not None:
                sname = take(f"petab_sigma_{oid}")
                observables[sname] = {"expression": exprs[1],
                                      "description": f"PEtab noise formula of {oid}"}
                self._scol[oid] = len(observables) - 1
            self.observable_ids.append(oid)
        doc["observables"] = observables
        # species whose initial value the condition table sets: initial expression
        # piecewise(petab_init_<s>, petab_set_<s> != 0, <the model's initial value>)
        self._species_override: Dict[str, Tuple[str, str]] = {}   # SBML id -> (init, set)
        cdf = pp.condition_df
        for col in ([] if cdf is None else cdf.columns):
            s = self._sym.get(col)
            if col == "conditionName" or s is None or s.kind != "species" or s.role != "state":
                continue
            sp = doc["species"][s.name]
            init, flag = take(f"petab_init_{s.name}"), take(f"petab_set_{s.name}")
            params[init] = {"value": 0.0, "min": -_WIDE, "max": _WIDE,
                            "source": "assumed: PEtab condition-table initial value"}
            params[flag] = {"value": 0.0, "min": -_WIDE, "max": _WIDE,
                            "source": "assumed: 1 where the condition table sets the initial "
                                      "value"}
            orig = sp["initial"]
            orig = repr(float(orig)) if not isinstance(orig, str) else f"({orig})"
            sp["initial"] = f"piecewise({init}, {flag} != 0, {orig})"
            self._species_override[col] = (init, flag)
        try:
            core = Model.from_json(doc, source=os.path.basename(self._files["sbml"]))
        except (ModelError,) as e:
            if self._species_override and "initial" in str(e):
                col = next(iter(self._species_override))
                raise self._err(f"overrides the initial value of species {col!r}, which needs "
                                f"initial values as expressions (this build of osteogrn has "
                                f"none): {e}", "condition", col) from None
            raise self._err(f"the augmented model does not load: {e}", "observable") from None
        sbml = symbol_map(tr)
        # keep only entries whose values live in the augmented model (its observables changed)
        outputs = set(core.species) | set(core.observables) | set(core.parameters)
        sbml = {k: v for k, v in sbml.items()
                if not v.get("column") or v.get("column") in outputs}
        self.model = Model(core._core, sbml=sbml)
        species = list(self.model.species)
        self._species_reset = [(species.index(self._sym[sid].name), init, flag)
                               for sid, (init, flag) in self._species_override.items()]
        self._names = names
        self._n_species = len(self.model.species)

    # -- simulations -------------------------------------------------------------------------
    def _condition_values(self, cond: str, is_preeq: bool, table_col: str
                          ) -> Tuple[Dict[str, float], Dict[str, int]]:
        """Model parameter values of a condition: (fixed name -> value, name -> x index)."""
        import petab.v1 as pv
        pp = self.petab_problem
        if pp.condition_df is None or cond not in pp.condition_df.index:
            raise self._err(f"condition {cond!r} is not in the condition table", "measurement",
                            table_col, None, cond)
        row = pp.condition_df.loc[cond]
        species_fixed: Dict[str, float] = {}
        species_est: Dict[str, int] = {}
        for col in pp.condition_df.columns:
            if col == "conditionName":
                continue
            s = self._sym.get(col)
            if col in self._species_override:
                init, flag = self._species_override[col]
                v = row[col]
                if _is_nan(v):
                    species_fixed[flag] = 0.0
                    continue
                species_fixed[flag] = 1.0
                spec = self._spec(v, "condition", col, cond)
                if isinstance(spec, str):
                    species_est[init] = int(spec[2:])
                else:
                    species_fixed[init] = float(spec)
                continue
            if s is None or s.kind != "parameter" or s.role != "constant":
                v = row[col]
                if _is_nan(v):
                    continue
                what = "a species" if s is not None and s.kind == "species" else \
                    ("a compartment" if s is not None and s.kind == "compartment" else
                     "not a constant parameter of the SBML model")
                raise self._err(f"overrides {col!r}, {what}: only parameter overrides are "
                                f"supported (species and compartment initial values per "
                                f"condition need initial-value expressions)", "condition", col,
                                cond, v)
        try:
            mapping, _ = pv.get_parameter_mapping_for_condition(
                condition_id=cond, is_preeq=is_preeq, cur_measurement_df=None,
                condition_df=pp.condition_df, parameter_df=pp.parameter_df, model=pp.model,
                warn_unmapped=False, scaled_parameters=False, fill_fixed_parameters=True)
        except (KeyError, ValueError, NotImplementedError, TypeError) as e:
            raise self._err(f"petab cannot map the parameters of condition {cond!r}: "
                            f"{type(e).__name__}: {e}", "condition", "", cond) from None
        fixed: Dict[str, float] = {}
        est: Dict[str, int] = {}
        current = self.model.parameters
        for sid, v in mapping.items():
            s = self._sym.get(sid)
            name = s.name if s is not None else sid
            if isinstance(v, str):
                if v not in self._x_index:
                    raise self._err(f"{sid!r} maps to {v!r}, which is not an estimated parameter",
                                    "condition", sid, cond, v)
                if name not in current:
                    raise self._err(f"{sid!r} is estimated but is not a parameter of the "
                                    f"imported model", "parameter", "estimate", sid, v)
                est[name] = self._x_index[v]
                continue
            v = float(v)
            if math.isnan(v):
                continue  # an output parameter of the SBML model: set by the measurements
            if name not in current:
                continue
            fixed[name] = v
        fixed.update(species_fixed)
        est.update(species_est)
        return fixed, est

    def _plan(self) -> None:
        import petab.v1 as pv
        pp = self.petab_problem
        mdf = pp.measurement_df
        if mdf is None or len(mdf) == 0:
            raise self._err("the problem has no measurements", "measurement")
        mdf = mdf.reset_index(drop=True)
        n = len(mdf)
        has_pre = "preequilibrationConditionId" in mdf.columns
        y = mdf["measurement"].to_numpy(dtype=float)
        t = mdf["time"].to_numpy(dtype=float)
        obs = mdf["observableId"].astype(str).to_numpy()
        for i in range(n):
            if obs[i] not in self._ycol:
                raise self._err(f"observableId {obs[i]!r} is not in the observable table",
                                "measurement", "observableId", i, obs[i])
            if not math.isfinite(t[i]) or t[i] < 0:
                raise self._err(f"time {t[i]!r} is not supported (finite times >= 0; "
                                f"steady-state measurements 'inf' are not)", "measurement",
                                "time", i, t[i])
            if not math.isfinite(y[i]):
                raise self._err(f"measurement {y[i]!r} is not finite", "measurement",
                                "measurement", i, y[i])
            if self._transform[obs[i]] != "lin" and y[i] <= 0:
                raise self._err(f"measurement {y[i]!r} of a {self._transform[obs[i]]}-"
                                f"transformed observable must be > 0", "measurement",
                                "measurement", i, y[i])
        self.y = y
        self.times = t
        self.row_observable = obs
        self.transform = np.array([self._transform[o] for o in obs])
        self.noise = np.array([self._noise[o] for o in obs])

        def cells(i: int, col: str, count: int) -> List[Union[float, str]]:
            raw = mdf[col].iloc[i] if col in mdf.columns else np.nan
            vals = pv.measurements.split_parameter_replacement_list(raw) if not (
                _is_nan(raw) or raw == "") else []
            if len(vals) != count:
                raise self._err(f"{obs[i]!r} has {count} {col[:-10]} placeholder(s), the row "
                                f"gives {len(vals)} value(s)", "measurement", col, i, raw)
            return [self._spec(v, "measurement", col, i) for v in vals]

        # sigma of rows whose noise formula is a bare placeholder: direct
        self._sigma_direct: List[Optional[Union[float, str]]] = [None] * n
        cond_rows: Dict[Tuple[Optional[str], str], List[int]] = {}
        ph_vals: List[Tuple[Any, ...]] = []
        for i in range(n):
            o = obs[i]
            ops, nps = self._placeholders[o]
            ov = cells(i, "observableParameters", len(ops))
            nv = cells(i, "noiseParameters", len(nps))
            if o in self._direct_sigma:
                self._sigma_direct[i] = nv[self._direct_sigma[o]]
                nv = [v if k != self._direct_sigma[o] else 0.0 for k, v in enumerate(nv)]
            ph_vals.append(tuple(zip(ops + nps, ov + nv)))
            pre = mdf["preequilibrationConditionId"].iloc[i] if has_pre else np.nan
            pre = None if _is_nan(pre) or pre == "" else str(pre)
            cond = str(mdf["simulationConditionId"].iloc[i])
            cond_rows.setdefault((pre, cond), []).append(i)

        sims: List[_Sim] = []
        cond_cache: Dict[Tuple[str, bool], Tuple[Dict[str, float], Dict[str, int]]] = {}

        def cvals(c: str, pre: bool, col: str):
            if (c, pre) not in cond_cache:
                cond_cache[(c, pre)] = self._condition_values(c, pre, col)
            return cond_cache[(c, pre)]

        self.row_sim = np.zeros(n, dtype=int)
        for (pre, cond), rows in cond_rows.items():
            fixed, est = cvals(cond, False, "simulationConditionId")
            pfixed, pest = ({}, {}) if pre is None else cvals(pre, True,
                                                              "preequilibrationConditionId")
            # placeholder values: simulation k takes each observable's k-th distinct assignment
            per_obs: Dict[str, List[Tuple[Any, ...]]] = {}
            which: Dict[int, int] = {}
            for i in rows:
                lst = per_obs.setdefault(obs[i], [])
                if ph_vals[i] not in lst:
                    lst.append(ph_vals[i])
                which[i] = lst.index(ph_vals[i])
            n_sub = max(len(v) for v in per_obs.values())
            for k in range(n_sub):
                sim = _Sim((pre, cond, k), pre, cond)
                sim.fixed, sim.est = dict(fixed), dict(est)
                sim.pre_fixed, sim.pre_est = dict(pfixed), dict(pest)
                measured = set(per_obs)
                for mname, pid in self._extra_params.items():
                    # only where an observable of this simulation uses it: every estimated
                    # name costs a sensitivity equation
                    if pid in self._x_index and self._extra_users[mname] & measured:
                        sim.est[mname] = sim.pre_est[mname] = self._x_index[pid]
                for o, lst in per_obs.items():
                    for pid, v in lst[min(k, len(lst) - 1)]:
                        mname = self._ph_name[pid]
                        if isinstance(v, str):
                            sim.est[mname] = int(v[2:])
                            sim.fixed.pop(mname, None)
                        else:
                            sim.fixed[mname] = float(v)
                for name, j in sim.pre_est.items():
                    if sim.est.get(name, -1) != j:
                        raise self._err(f"parameter {name!r} is the estimated parameter "
                                        f"{self.x_ids[j]!r} in preequilibration {pre!r} but not "
                                        f"in simulation {cond!r}: not supported", "condition",
                                        name, cond)
                sim.sens = sorted(set(sim.est) | set(sim.pre_est))
                srows = np.array([i for i in rows if which[i] == k], dtype=int)
                sim.times = np.unique(t[srows])
                sim.rows = srows
                sim.tidx = np.searchsorted(sim.times, t[srows])
                sim.ycol = np.array([self._ycol[obs[i]] for i in srows], dtype=int)
                sim.scol = np.array([self._scol.get(obs[i], -1) for i in srows], dtype=int)
                self.row_sim[srows] = len(sims)
                sims.append(sim)
        self.sims = sims
        self.n_rows = n
        #: rows whose σ depends on estimated parameters (a σ residual each, see residuals)
        self.sigma_estimated = np.array(
            [isinstance(self._sigma_direct[i], str) or
             (self._sigma_direct[i] is None and bool(self.sims[self.row_sim[i]].sens))
             for i in range(n)], dtype=bool)
        # a first check that every parameter value is accepted (initial-value dependencies)
        try:
            for sim in sims:
                vals = dict(sim.fixed)
                vals.update({k: _unscale(self.x_nominal[j], self.x_scales[j])
                             for k, j in sim.est.items()})
                self.model.with_parameters(vals)
        except ModelError as e:
            raise self._err(f"condition {sim.cond!r}: {e}", "condition", "", sim.cond) from None

    # -- priors --------------------------------------------------------------------------------
    def _read_priors(self) -> None:
        pdf = self.petab_problem.parameter_df
        self.priors: List[Tuple[int, str, Tuple[float, ...]]] = []
        if "objectivePriorType" not in pdf.columns:
            return
        for pid, row in pdf.iterrows():
            kind = row["objectivePriorType"]
            if _is_nan(kind) or kind == "":
                continue
            kind = str(kind)
            if kind not in _PRIORS:
                raise self._err(f"objectivePriorType {kind!r} is not one of "
                                f"{', '.join(_PRIORS)}", "parameter", "objectivePriorType", pid,
                                kind)
            if str(pid) not in self._x_index:
                continue  # a fixed parameter's prior is a constant
            raw = row.get("objectivePriorParameters")
            try:
                args = tuple(float(v) for v in str(raw).split(";"))
            except ValueError:
                raise self._err(f"objectivePriorParameters {raw!r} must be two numbers "
                                f"separated by ';'", "parameter", "objectivePriorParameters",
                                pid, raw) from None
            if len(args) != 2:
                raise self._err(f"objectivePriorParameters {raw!r} must be two numbers",
                                "parameter", "objectivePriorParameters", pid, raw)
            self.priors.append((self._x_index[str(pid)], kind, args))

    # -- parameter vectors -------------------------------------------------------------------
    def to_x(self, x: Any = None) -> np.ndarray:
        """The parameter-scale vector of ``x`` (None: nominal; array: as given; mapping id ->
        linear value: the nominal values with those replaced)."""
        if x is None:
            return self.x_nominal.copy()
        if isinstance(x, Mapping):
            out = self.x_nominal.copy()
            for k, v in x.items():
                if k not in self._x_index:
                    raise PetabError(f"{k!r} is not an estimated parameter of the problem "
                                     f"(x_ids)", value=k)
                j = self._x_index[k]
                out[j] = _scale(float(v), self.x_scales[j])
            return out
        arr = np.asarray(x, dtype=float)
        if arr.shape != (len(self.x_ids),):
            raise PetabError(f"x must have {len(self.x_ids)} values (x_ids order, parameter "
                             f"scale), got shape {arr.shape}", value=arr.shape)
        return arr.copy()

    def unscale(self, x: np.ndarray) -> np.ndarray:
        """Parameter scale -> linear values."""
        x = np.asarray(x, dtype=float)
        p = x.copy()
        p[self._log] = np.exp(x[self._log])
        p[self._log10] = 10.0 ** x[self._log10]
        return p

    def dp_dx(self, x: np.ndarray) -> np.ndarray:
        """d (linear value) / d (parameter-scale value) of each estimated parameter."""
        p = self.unscale(x)
        d = np.ones(len(x))
        d[self._log] = p[self._log]
        d[self._log10] = p[self._log10] * math.log(10.0)
        return d

    @property
    def n_x(self) -> int:
        return len(self.x_ids)

    # -- objective (implemented in _objective.py) ---------------------------------------------
    def log_likelihood(self, x: Any = None) -> float:
        """The PEtab log-likelihood at ``x`` (None: nominal), with all constants; priors are
        not included (see :meth:`log_prior`).

        Parameters
        ----------
        x : None, array or mapping
            None: nominal values; an array on parameter scale in ``x_ids`` order; or a mapping
            id -> linear value (others nominal).

        Returns
        -------
        float

        Raises
        ------
        SolverError
            A simulation fails (or its steady state is not found) at ``x``.
        """
        from ._objective import evaluate
        return evaluate(self, self.to_x(x), gradient=False)[0]

    def gradient(self, x: Any = None) -> np.ndarray:
        """d log_likelihood / d x on parameter scale, from forward sensitivities."""
        from ._objective import evaluate
        return evaluate(self, self.to_x(x), gradient=True)[1]

    def residuals(self, x: Any = None) -> np.ndarray:
        """Least-squares residuals r with ½ Σ r² = -(log_likelihood + log_prior) + const
        (see docs/petab.md, "Residuals")."""
        from ._objective import residuals
        return residuals(self, self.to_x(x), jacobian=False)[0]

    def log_prior(self, x: Any = None) -> float:
        """Sum of the log prior densities (objectivePriorType) of the estimated parameters."""
        from ._objective import log_prior
        return log_prior(self, self.to_x(x))[0]

    def __repr__(self) -> str:
        return (f"<og.petab.Problem {os.path.basename(self.source)!r}: {self.n_x} estimated, "
                f"{self.n_rows} measurements, {len(self.sims)} simulations>")


def _quiet():
    """The petab library's and pandas' deprecation chatter (about petab's own calls) silenced:
    it says nothing about the problem. Construction only; evaluations never call petab."""
    return _Quiet()


class _Quiet:
    def __enter__(self):
        import warnings
        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        for cat in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
            warnings.simplefilter("ignore", cat)
        try:
            from pandas.errors import Pandas4Warning
            warnings.simplefilter("ignore", Pandas4Warning)
        except ImportError:
            pass
        return self

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def _scale(v: float, scale: str) -> float:
    if scale == "log":
        return math.log(v)
    if scale == "log10":
        return math.log10(v)
    return v


def _unscale(v: float, scale: str) -> float:
    if scale == "log":
        return math.exp(v)
    if scale == "log10":
        return 10.0 ** v
    return v

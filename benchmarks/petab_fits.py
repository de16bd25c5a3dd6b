"""100-start fits of six PEtab benchmark problems: osteogrn against pyPESTO + AMICI (fides).

    python benchmarks/petab_fits.py [--problems Boehm_JProteomeRes2014,...] [--starts 100]
                                    [--workers 2] [--seed 0] [--out results/petab_fits.csv]

Per problem, both tools fit the PEtab problem in ``tests/data/petab/<problem>/`` from the same
starts: ``--starts`` points of a Latin hypercube (``scipy.stats.qmc.LatinHypercube``, seed
``--seed``) scaled into the estimated parameters' bounds on parameter scale (``log10`` bounds
for log10 parameters), in the parameter table's order of the estimated parameters.

* **osteogrn**: ``og.petab.Problem.from_yaml(yaml)`` (untimed), then the timed
  ``og.fit(problem, n_starts=N, starts=X0, threads=W, progress=False)`` with its defaults
  (for a PEtab problem: L-BFGS-B on ½ Σ r² with the exact gradient Jᵀr, J from CVODES forward
  sensitivities; starts in a thread pool). Per start: the start table of the FitResult
  (``FitResult.starts``: cost, status, seconds, fitted parameters).
* **pyPESTO + AMICI**: ``pypesto.petab.PetabImporter.from_yaml(yaml, output_folder=...)``
  and ``create_problem(x_guesses=X0)`` (untimed; the AMICI model is compiled once into
  ``$AMICI_CACHE/petab/<problem>``, see peers.amici_cache_dir), then the timed
  ``pypesto.optimize.minimize(problem, optimizer=pypesto.optimize.FidesOptimizer(),
  n_starts=N, engine=pypesto.engine.MultiThreadEngine(W), progress_bar=False)``:
  fides with pyPESTO's default ``hessian_update="default"`` — the objective provides a
  Hessian (the Fisher information matrix from AMICI's forward sensitivities), so fides runs
  its ``HybridFixed`` scheme (FIM first, then BFGS) — and fides' default options (maxiter
  1000, fatol 1e-8, frtol 1e-8, gatol 1e-6); AMICI's solver defaults as pyPESTO creates them.
  The x_guesses are the starts: pyPESTO samples no others. Per start: the OptimizerResult's
  fval, time and exitflag.

  The thread engine, not ``MultiProcessEngine``: pyPESTO pickles each task for its process
  engine, and pickling an ``AmiciObjective`` writes the AMICI solver settings to HDF5, which
  an AMICI built without HDF5 (as ``pip install amici`` builds it where no HDF5 library is
  installed, as here) refuses ("Pickling the AmiciObjective requires an AMICI installation
  with HDF5 support"). The thread engine deep-copies each task instead (``Model.clone``);
  AMICI's SWIG wrapper is built with ``-threads``, so a simulation releases the GIL and the
  two threads integrate in parallel, while fides' Python steps take turns.

Metrics per problem and tool (the table): wall time of the timed call, best negative
log-likelihood (nllh), the number of starts ending within 0.1 of the best nllh either tool
found ("converged" starts, the Benchmark collection's criterion), and the wall time per
converged start; the ratio pyPESTO+AMICI / osteogrn of the time per converged start is the
issue's figure (goal >= 2). The tools run one after the other inside each problem, the first
alternating from problem to problem, so that the load of the shared machine falls on both;
the load average is printed with each problem. CPU time (the process's own, plus its reaped
child processes for pyPESTO's workers) is printed beside the wall time.

Each start's nllh is evaluated with the tool's own objective at the parameters that start
ended at (osteogrn: ``-problem.log_likelihood(params)``; pyPESTO: its fval). The best point of
each tool is also evaluated with the other tool's objective, which shows that both minimise
the same function. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import peers  # noqa: E402

DATA = Path(os.environ.get("PETAB_PROBLEMS", ROOT / "tests" / "data" / "petab"))
PROBLEMS = ("Boehm_JProteomeRes2014", "Bruno_JExpBot2016", "Crauste_CellSystems2017",
            "Elowitz_Nature2000", "Sneyd_PNAS2002", "Borghans_BiophysChem1997")
# Reference log-likelihoods at the nominal parameters (tests/data/petab/reference_llh.tsv, from
# AMICI's benchmark test suite): each tool's objective is checked against them.
REFERENCE_LLH = {row.problem: float(row.reference_llh) for row in
                 pd.read_csv(DATA / "reference_llh.tsv", sep="\t").itertuples()}
# A tool whose objective misses the reference at the nominal parameters by more than this
# fits another function: it is not timed (the acceptance tolerance).
NOMINAL_AGREE = 1e-3
WITHIN = 0.1  # a start "converged" when its nllh is within this of the best nllh of either tool


def yaml_path(name: str) -> Path:
    return DATA / name / f"{name}.yaml"


def lhs_starts(lb: np.ndarray, ub: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` Latin-hypercube points in [lb, ub] (parameter scale), shape [n, len(lb)]."""
    from scipy.stats import qmc

    unit = qmc.LatinHypercube(d=len(lb), seed=seed).random(n)
    return qmc.scale(unit, lb, ub)


def _cpu_self_and_children() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


# ---------------------------------------------------------------------------------------------
def _quiet() -> None:
    """pyPESTO's and fides' loggers to warnings, AMICI's (which set their own levels, module
    by module) to critical: their INFO/DEBUG lines per start and per parameter mapping, and
    AMICI's ERROR line for every failed integration, which is a normal event in a fit (the
    optimizer gets an infinite value and steps back)."""
    import logging

    for name in list(logging.root.manager.loggerDict):
        top = name.split(".")[0]
        if top in ("pypesto", "fides"):
            logging.getLogger(name).setLevel(logging.WARNING)
        elif top == "amici":
            logging.getLogger(name).setLevel(logging.CRITICAL)


class PypestoSide:
    """pyPESTO + AMICI on one PEtab problem (import and compile untimed)."""

    label = "pyPESTO+AMICI"

    def __init__(self, name: str, workers: int):
        import amici
        import fides
        import pypesto
        import pypesto.petab

        self.name = name
        self.workers = workers
        self.versions = (f"pyPESTO {pypesto.__version__}, AMICI {amici.__version__}, "
                         f"fides {fides.__version__}")
        out = peers.amici_cache_dir() / "petab" / name
        self.importer = pypesto.petab.PetabImporter.from_yaml(
            str(yaml_path(name)), output_folder=str(out), model_name=name)
        self.problem = self.importer.create_problem(verbose=False)
        pp = self.importer.petab_problem
        self.x_ids = list(pp.x_free_ids)
        self.lb = np.asarray(self.problem.lb, float)
        self.ub = np.asarray(self.problem.ub, float)
        self.x_nominal = np.asarray(pp.x_nominal_free_scaled, float)
        _quiet()
        solver = self.problem.objective.amici_solver
        self.tolerances = (f"rtol {solver.get_relative_tolerance():g}, "
                           f"atol {solver.get_absolute_tolerance():g}")

    def nllh(self, x: np.ndarray) -> float:
        return float(self.problem.objective(np.asarray(x, float)))

    def run(self, X0: np.ndarray) -> Dict[str, object]:
        import logging

        import pypesto.engine
        import pypesto.optimize

        _quiet()
        self.problem.set_x_guesses(np.array(
            [self.problem.get_full_vector(x, self.problem.x_fixed_vals) for x in X0]))
        # verbose: fides logs every iteration at its default (INFO); printing is not fitting.
        optimizer = pypesto.optimize.FidesOptimizer(verbose=logging.WARNING)
        engine = pypesto.engine.MultiThreadEngine(n_threads=self.workers)
        c0, t0 = _cpu_self_and_children(), time.perf_counter()
        result = pypesto.optimize.minimize(problem=self.problem, optimizer=optimizer,
                                           n_starts=len(X0), engine=engine,
                                           progress_bar=False)
        wall = time.perf_counter() - t0
        cpu = _cpu_self_and_children() - c0
        rows = []
        for r in result.optimize_result.list:
            k = int(str(r.id))  # pyPESTO's start ids are "0".."N-1", in x_guesses order
            x0 = np.asarray(r.x0, float)[self.problem.x_free_indices]
            if not np.allclose(x0, X0[k], rtol=0, atol=1e-12):
                raise SystemExit(f"{self.name}: pyPESTO start {k} is not the given start")
            fval = float(r.fval) if r.fval is not None else np.inf
            x = np.asarray(r.x, float)[self.problem.x_free_indices] if r.x is not None \
                else np.full(len(self.x_ids), np.nan)
            rows.append(dict(start=k, nllh=fval if np.isfinite(fval) else np.inf,
                             seconds=float(r.time), optimizer_converged=int(r.exitflag) > 0,
                             status=str(r.exitflag), x=x))
        rows.sort(key=lambda row: row["start"])
        return dict(wall=wall, cpu=cpu, rows=rows)


class OsteogrnSide:
    """osteogrn on one PEtab problem (import untimed)."""

    label = "osteogrn"

    def __init__(self, name: str, workers: int, optimizer: Optional[str] = None):
        import osteogrn as og

        self.og = og
        # None: og.fit's default optimiser for PEtab problems
        self.optimizer_options = {"method": optimizer} if optimizer else None
        self.name = name
        self.workers = workers
        self.versions = f"osteogrn {og.__version__}"
        self.problem = og.petab.Problem.from_yaml(str(yaml_path(name)))
        self.x_ids = list(self.problem.x_ids)
        self.lb = np.asarray(self.problem.lb, float)
        self.ub = np.asarray(self.problem.ub, float)
        self.x_nominal = np.asarray(self.problem.x_nominal, float)
        opts = getattr(self.problem, "_opts", None) or {}  # printed only
        self.tolerances = (f"rtol {opts['rtol']:g}, atol {opts['atol']:g}"
                           if "rtol" in opts and "atol" in opts else "og.petab defaults")

    def nllh(self, x: np.ndarray) -> float:
        return -float(self.problem.log_likelihood(np.asarray(x, float)))

    def run(self, X0: np.ndarray) -> Dict[str, object]:
        og = self.og
        c0, t0 = time.process_time(), time.perf_counter()
        fit = og.fit(self.problem, n_starts=len(X0), starts=X0, threads=self.workers,
                     progress=False, optimizer_options=self.optimizer_options)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        scales = list(self.problem.x_scales)
        rows = []
        for _, s in fit.starts.iterrows():
            if all(i in s.index for i in self.x_ids) and np.isfinite(float(s["cost"])):
                lin = np.array([float(s[i]) for i in self.x_ids])
                x = np.array([_to_scale(v, sc) for v, sc in zip(lin, scales)])
                try:
                    nllh = self.nllh(x)
                except Exception:  # noqa: BLE001 - an optimum the objective cannot evaluate
                    nllh = np.inf
            else:
                x, nllh = np.full(len(self.x_ids), np.nan), np.inf
            rows.append(dict(start=int(s["start"]), nllh=nllh, seconds=float(s["seconds"]),
                             optimizer_converged=str(s["status"]) == "converged",
                             status=str(s["status"]), x=x))
        rows.sort(key=lambda row: row["start"])
        return dict(wall=wall, cpu=cpu, rows=rows, fit=fit)


def _to_scale(v: float, scale: str) -> float:
    if scale == "log10":
        return float(np.log10(v))
    if scale == "log":
        return float(np.log(v))
    return float(v)


# ---------------------------------------------------------------------------------------------
def _build(cls, name: str, workers: int, notes: List[str], *args):
    try:
        return cls(name, workers, *args)
    except Exception as e:  # noqa: BLE001 - reported under the table
        notes.append(f"{name}: {cls.label} left out: {type(e).__name__}: {e}".splitlines()[0])
        return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problems", default=",".join(PROBLEMS),
                    help="comma-separated problem folders under tests/data/petab")
    ap.add_argument("--starts", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2,
                    help="osteogrn threads = pyPESTO worker processes")
    ap.add_argument("--seed", type=int, default=0, help="Latin-hypercube seed")
    ap.add_argument("--tools", default="osteogrn,pypesto",
                    help="which tools to run (osteogrn, pypesto)")
    ap.add_argument("--og-optimizer", default=None, choices=["lbfgsb", "fides", "trf"],
                    help="osteogrn's optimizer_options method (default: og.fit's, L-BFGS-B)")
    ap.add_argument("--out", default="results/petab_fits.csv",
                    help="per-start CSV (problem, tool, start, nllh, seconds, ...)")
    args = ap.parse_args(argv)
    problems = [p.strip() for p in args.problems.split(",") if p.strip()]
    tools = [t.strip() for t in args.tools.split(",")]
    os.environ.setdefault("PATH", "")

    notes: List[str] = []
    versions: Dict[str, str] = {}
    table = []
    csv_rows = []
    for n, name in enumerate(problems):
        sides = {}
        if "pypesto" in tools:
            sides["pyPESTO+AMICI"] = _build(PypestoSide, name, args.workers, notes)
        if "osteogrn" in tools:
            sides["osteogrn"] = _build(OsteogrnSide, name, args.workers, notes,
                                       args.og_optimizer)
        sides = {k: v for k, v in sides.items() if v is not None}
        if not sides:
            continue
        ref = next(iter(sides.values()))
        bad: List[str] = []
        for k, side in sides.items():
            versions[k] = side.versions
            if side.x_ids != ref.x_ids:
                raise SystemExit(f"{name}: {k} estimates {side.x_ids}, not {ref.x_ids}")
            if not (np.allclose(side.lb, ref.lb) and np.allclose(side.ub, ref.ub)):
                raise SystemExit(f"{name}: {k}'s bounds differ from {ref.label}'s")
            nom = side.nllh(side.x_nominal)
            want = -REFERENCE_LLH.get(name, np.nan)
            print(f"{name}: {k} nllh at the nominal parameters {nom:.6f} "
                  f"(reference {want:.6f}, difference {nom - want:.2e}); "
                  f"solver {side.tolerances}", flush=True)
            if not abs(nom - want) <= NOMINAL_AGREE:
                notes.append(f"{name}: {k} left out: its nllh at the nominal parameters, "
                             f"{nom:.6f}, is not the reference {want:.6f}")
                bad.append(k)
        for k in bad:
            del sides[k]
        if not sides:
            continue
        X0 = lhs_starts(ref.lb, ref.ub, args.starts, args.seed)
        order = list(sides)
        if n % 2:
            order.reverse()
        runs = {}
        for k in order:
            load = os.getloadavg()
            print(f"{name}: {k} fitting {args.starts} starts on {args.workers} workers "
                  f"(load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})", flush=True)
            try:
                runs[k] = sides[k].run(X0)
                runs[k]["load"] = load[0]
            except Exception as e:  # noqa: BLE001 - reported under the table
                notes.append(f"{name}: {k} failed: {type(e).__name__}: {e}".splitlines()[0])
                continue
            print(f"{name}: {k} wall {runs[k]['wall']:.1f} s, CPU {runs[k]['cpu']:.1f} s",
                  flush=True)
        if not runs:
            continue
        best = min(min(r["nllh"] for r in run["rows"]) for run in runs.values())
        # Each tool's best point under the other's objective: the same function?
        for k, run in runs.items():
            i = int(np.argmin([r["nllh"] for r in run["rows"]]))
            xb = run["rows"][i]["x"]
            for other, side in sides.items():
                if other != k and np.all(np.isfinite(xb)):
                    try:
                        v = side.nllh(xb)
                    except Exception as e:  # noqa: BLE001
                        v = f"{type(e).__name__}"
                    print(f"{name}: {k}'s best point: nllh {run['rows'][i]['nllh']:.6f} "
                          f"({k}), {v if isinstance(v, str) else f'{v:.6f}'} ({other})",
                          flush=True)
        row = {"problem": name, "n_x": len(ref.x_ids), "best": best,
               "load": os.getloadavg()[0]}
        for k, run in runs.items():
            nllh = np.array([r["nllh"] for r in run["rows"]])
            conv = int(np.sum(nllh <= best + WITHIN))
            row[k] = dict(wall=run["wall"], cpu=run["cpu"], best=float(np.min(nllh)),
                          conv=conv, per_conv=run["wall"] / conv if conv else np.inf,
                          opt_conv=sum(r["optimizer_converged"] for r in run["rows"]),
                          failed=int(np.sum(~np.isfinite(nllh))),
                          mean_start=float(np.mean([r["seconds"] for r in run["rows"]])))
            for r in run["rows"]:
                csv_rows.append(dict(problem=name, tool=k, start=r["start"],
                                     nllh=r["nllh"], seconds=r["seconds"],
                                     within_0_1=bool(r["nllh"] <= best + WITHIN),
                                     optimizer_converged=r["optimizer_converged"],
                                     status=r["status"], run_wall_s=run["wall"],
                                     run_cpu_s=run["cpu"], load_before=run["load"]))
        table.append(row)
        print(_format_table([row], args), flush=True)
        _write_csv(args.out, csv_rows)  # after every problem: a long run keeps what it did

    print()
    print("Versions: " + "; ".join(versions.values()))
    print(f"{args.starts} Latin-hypercube starts (seed {args.seed}), {args.workers} workers; "
          f"converged = nllh within {WITHIN} of the best either tool found")
    print()
    print(_format_table(table, args))
    for note in notes:
        print(f"- {note}")
    if csv_rows:
        print(f"\nper-start results: {args.out}")
    return 0


def _write_csv(path: str, rows: List[dict]) -> None:
    if not rows:
        return
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def _fmt(v: float, spec: str) -> str:
    return "—" if not np.isfinite(v) else format(v, spec)


def _format_table(table, args) -> str:
    tools = ("osteogrn", "pyPESTO+AMICI")
    head = ["problem", "n_x", "best nllh"]
    for t in tools:
        head += [f"{t} wall s (CPU s)", f"{t} best", f"{t} converged",
                 f"{t} s / converged"]
    head += ["ratio pyPESTO+AMICI / osteogrn (s / converged)"]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for row in table:
        cells = [row["problem"], str(row["n_x"]), f"{row['best']:.4f}"]
        for t in tools:
            m = row.get(t)
            if m is None:
                cells += ["not run"] * 4
                continue
            cells += [f"{m['wall']:.1f} ({m['cpu']:.1f})", f"{m['best']:.4f}",
                      f"{m['conv']}/{args.starts}", _fmt(m["per_conv"], ".2f")]
        if all(t in row for t in tools):
            a, b = row["pyPESTO+AMICI"]["per_conv"], row["osteogrn"]["per_conv"]
            if np.isfinite(a) and np.isfinite(b):
                cells.append(f"{a / b:.2f}x")
            elif np.isfinite(b):
                # no pyPESTO start converged: had one, the ratio would be wall / osteogrn's
                cells.append(f"∞ (> {row['pyPESTO+AMICI']['wall'] / b:.2f}x)")
            elif np.isfinite(a):
                cells.append(f"0 (< {a / row['osteogrn']['wall']:.2f}x)")
            else:
                cells.append("—")
        else:
            cells.append("—")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

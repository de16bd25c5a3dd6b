"""Runs the SBML Test Suite's semantic cases through ``osteogrn.sbml`` and tabulates the outcome.

Each case is one of:

* ``pass``    every reported value satisfies |x - e| <= absolute + relative*|e| (the suite's rule);
* ``refused`` the import raised ``UnsupportedSBMLError`` (the message names element and feature);
* ``wrong``   the import succeeded but some value breaks the rule: a translation bug;
* ``error``   anything else (a solver failure, a model the loader rejects, a crash of the
  runner): also a bug to fix or to turn into a refusal.

Usage::

    python tests/sbml_suite/run_suite.py [--cases DIR] [--out results.csv]
                                         [--baseline tests/sbml_suite/results.csv] [ID ...]

Writes the table (case, tags, outcome, message) as CSV, and the totals, overall and per
component tag, to ``<out>_totals.txt`` and the terminal. Exits 1 if any case is ``wrong`` or
``error``. ``results.csv`` and ``results_totals.txt`` in this folder are the committed run.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

import osteogrn as og
from osteogrn.sbml import translate_sbml

HERE = Path(__file__).resolve().parent
# the suite sits in ../shared next to the checkout; SBML_TEST_SUITE_CASES names another copy
DEFAULT_CASES = Path(os.environ.get("SBML_TEST_SUITE_CASES",
                                    HERE.parents[2] / "shared" / "sbml-test-suite" / "cases"))

#: Solver settings for the suite: tight enough that the integration error is far below the
#: suite's tolerances (typically absolute 1e-7..1e-10, relative 1e-4..1e-5).
RTOL = 1e-10
ATOL = 1e-14
MAX_STEPS = 1_000_000


def read_settings(path: Path) -> Dict[str, str]:
    """The ``key: value`` lines of a case's settings file."""
    out = {}
    for line in path.read_text().splitlines():
        if ":" in line:
            key, _, val = line.partition(":")
            out[key.strip()] = val.strip()
    return out


def _list(text: str) -> List[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def read_tags(path: Path) -> Tuple[List[str], List[str], str]:
    """componentTags, testTags and testType of a case's description."""
    comp, test, kind = [], [], ""
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("componentTags:"):
            comp = _list(line.split(":", 1)[1])
        elif line.startswith("testTags:"):
            test = _list(line.split(":", 1)[1])
        elif line.startswith("testType:"):
            kind = line.split(":", 1)[1].strip()
    return comp, test, kind


def read_results(path: Path) -> Dict[str, np.ndarray]:
    """The expected values by variable. Read by hand, not with numpy's named columns: a
    variable may be called ``time`` (case 01820), which names the first column too."""
    with open(path, newline="") as fh:
        rows = [row for row in csv.reader(fh) if row]
    header = [h.strip() for h in rows[0]]
    data = np.array([[float(x) for x in row] for row in rows[1:]], dtype=float)
    return {name: data[:, j] for j, name in enumerate(header) if j > 0}


def case_model(case_dir: Path) -> Path:
    """The case's SBML file (the suite copy keeps one level/version per case)."""
    files = sorted(case_dir.glob(f"{case_dir.name}-sbml-l*v*.xml"))
    if not files:
        raise FileNotFoundError(f"no SBML file in {case_dir}")
    return files[-1]


def run_case(case_dir: Path) -> Tuple[str, str]:
    """Runs one case; returns (outcome, message)."""
    cid = case_dir.name
    settings = read_settings(case_dir / f"{cid}-settings.txt")
    _, _, kind = read_tags(case_dir / f"{cid}-model.m")
    try:
        tr = translate_sbml(case_model(case_dir))
        model = og.Model.from_json(tr.document, source=cid)
    except og.UnsupportedSBMLError as exc:
        return "refused", str(exc)
    if kind != "TimeCourse":
        # never reached for the flux-balance cases of the suite (their fbc package is refused
        # at import); kept so a new kind of case cannot be scored as a time course
        return "refused", f"test type {kind} is not a time course"

    start = float(settings["start"])
    duration = float(settings["duration"])
    steps = int(settings["steps"])
    times = start + np.arange(steps + 1) * (duration / steps)
    variables = _list(settings["variables"])
    amounts = set(_list(settings.get("amount", "")))
    concentrations = set(_list(settings.get("concentration", "")))
    abs_tol = float(settings["absolute"])
    rel_tol = float(settings["relative"])

    expected = read_results(case_dir / f"{cid}-results.csv")
    res = og.simulate(model, t=times, rtol=RTOL, atol=ATOL, max_steps=MAX_STEPS)
    worst = ""
    for var in variables:
        got = _reported(tr, model, res, var, var in amounts, var in concentrations, len(times))
        want = np.asarray(expected[var], dtype=float)
        bad = ~(np.abs(got - want) <= abs_tol + rel_tol * np.abs(want))
        # the suite writes NaN and infinities where the true value is one; equal ones match
        same = (np.isnan(got) & np.isnan(want)) | (np.isinf(want) & (got == want))
        bad &= ~same
        if bad.any():
            i = int(np.argmax(bad))
            worst = f"{var} at t={times[i]:g}: got {got[i]!r}, expected {want[i]!r}"
            return "wrong", worst
    return "pass", ""


def _reported(tr, model: "og.Model", res: "og.Result", var: str, as_amount: bool,
              as_concentration: bool, n: int) -> np.ndarray:
    """The time course of SBML symbol ``var`` as the case asks for it."""
    if var in tr.reactions:
        return np.asarray(res[tr.reactions[var]], dtype=float)
    sym = tr.symbols.get(var)
    if sym is None:
        raise KeyError(f"variable {var} is not a compartment, species or parameter")
    if sym.column:
        values = np.asarray(res[sym.column], dtype=float)
    else:
        values = np.full(n, model.parameters[sym.name])
    if sym.kind != "species":
        return values
    # the size only when a conversion needs it: a 0-D compartment has none
    if as_amount and not sym.amount:
        return values * _size(tr, model, res, sym.compartment, n)
    if as_concentration and sym.amount:
        return values / _size(tr, model, res, sym.compartment, n)
    return values


def _size(tr, model, res, comp: str, n: int) -> np.ndarray:
    csym = tr.symbols[comp]
    if csym.column:
        return np.asarray(res[csym.column], dtype=float)
    return np.full(n, model.parameters[csym.name])


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ids", nargs="*", help="case ids (default: all)")
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--out", type=Path, default=Path("sbml_suite_results.csv"))
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a previous table (e.g. tests/sbml_suite/results.csv): exit 1 if a "
                             "case that passed there no longer passes")
    args = parser.parse_args(argv)

    dirs = sorted(p for p in args.cases.iterdir() if p.is_dir() and p.name.isdigit())
    if args.ids:
        wanted = {i.zfill(5) for i in args.ids}
        dirs = [d for d in dirs if d.name in wanted]
    rows = []
    totals: Counter = Counter()
    per_tag: Dict[str, Counter] = defaultdict(Counter)
    t0 = time.perf_counter()
    for d in dirs:
        comp, test, _ = read_tags(d / f"{d.name}-model.m")
        try:
            outcome, message = run_case(d)
        except Exception as exc:  # noqa: BLE001 - every failure is tabulated, not fatal
            outcome, message = "error", f"{type(exc).__name__}: {exc}"
        message = " ".join(message.split())[:400]
        rows.append({"case": d.name, "component_tags": " ".join(comp),
                     "test_tags": " ".join(test), "outcome": outcome, "message": message})
        totals[outcome] += 1
        for tag in comp:
            per_tag[tag][outcome] += 1
        if outcome in ("wrong", "error"):
            print(f"{d.name} {outcome}: {message}", file=sys.stderr)
    with open(args.out, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["case"])
        writer.writeheader()
        writer.writerows(rows)
    kinds = ("pass", "refused", "wrong", "error")
    lines = [f"{len(rows)} cases: " + ", ".join(f"{k} {totals[k]}" for k in kinds),
             f"{'component tag':28s} " + " ".join(f"{k:>8s}" for k in kinds)]
    lines += [f"{tag:28s} " + " ".join(f"{per_tag[tag][k]:8d}" for k in kinds)
              for tag in sorted(per_tag)]
    # the totals also go next to the table, so a committed run keeps them with it
    totals_path = args.out.with_name(args.out.stem + "_totals.txt")
    totals_path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"{time.perf_counter() - t0:.0f} s; table: {args.out}, totals: {totals_path}")
    status = 1 if totals["wrong"] or totals["error"] else 0
    if args.baseline is not None:
        with open(args.baseline, newline="") as fh:
            before = {r["case"] for r in csv.DictReader(fh) if r["outcome"] == "pass"}
        now = {r["case"] for r in rows if r["outcome"] == "pass"}
        lost = sorted(before & {r["case"] for r in rows} - now)
        if lost:
            print(f"{len(lost)} cases passed in {args.baseline} and no longer do: "
                  + " ".join(lost))
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())

"""Runs the SBML Test Suite's semantic cases through ``osteogrn.sbml`` and tabulates the outcome.

Reads the copy of the suite in the repository (``tests/data/sbml_suite/cases``; refreshed by
``copy_suite.py``), or the folder given by ``--cases`` or ``$SBML_TEST_SUITE_CASES``.

Each case is one of:

* ``pass``    every reported value satisfies |x - e| <= absolute + relative*|e| (the suite's rule);
* ``refused`` the import raised ``UnsupportedSBMLError`` (the message names element and feature);
* ``wrong``   the import succeeded but some value breaks the rule: a translation bug;
* ``error``   anything else (a solver failure, a model the loader rejects, a crash of the
  runner): also a bug to fix or to turn into a refusal.

Usage::

    python tests/sbml_suite/run_suite.py [--cases DIR] [--out results.csv]
                                         [--baseline tests/sbml_suite/results.csv]
                                         [--passing tests/sbml_suite/passing.txt]
                                         [--write-passing] [ID ...]

Writes the table (case, tags, outcome, message) as CSV, and the totals, overall and per
component tag, to ``<out>_totals.txt`` and the terminal. Exits 1 if any case is ``wrong`` or
``error``, or (with ``--baseline`` / ``--passing``) if a case that passed there no longer
passes. ``--write-passing`` runs every case and writes the committed run of this folder:
``results.csv``, ``results_totals.txt`` and ``passing.txt`` (the ids of the passing cases,
which ``tests/python/test_sbml_suite.py`` holds the import to).
"""

from __future__ import annotations

import argparse
import csv
import functools
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

import osteogrn as og

HERE = Path(__file__).resolve().parent
# the copy in the repository (copy_suite.py); SBML_TEST_SUITE_CASES names another copy
DEFAULT_CASES = Path(os.environ.get("SBML_TEST_SUITE_CASES",
                                    HERE.parent / "data" / "sbml_suite" / "cases"))
#: The committed run: the table, its totals and the ids of the passing cases.
RESULTS = HERE / "results.csv"
PASSING = HERE / "passing.txt"

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


def case_tags(case_dir: Path) -> Tuple[List[str], List[str], str]:
    """componentTags, testTags and testType of a case: from its description
    (``NNNNN-model.m``) where the copy keeps it, else from the copy's ``index.csv``."""
    described = case_dir / f"{case_dir.name}-model.m"
    if described.is_file():
        return read_tags(described)
    row = _index(case_dir.parent).get(case_dir.name)
    if row is None:
        raise FileNotFoundError(f"{case_dir}: no {described.name} and no row in "
                                f"{case_dir.parent / 'index.csv'}")
    return row["component_tags"].split(), row["test_tags"].split(), row["test_type"]


@functools.lru_cache(maxsize=4)
def _index(cases: Path) -> Dict[str, Dict[str, str]]:
    path = cases / "index.csv"
    if not path.is_file():
        return {}
    with open(path, newline="") as fh:
        return {row["case"]: row for row in csv.DictReader(fh)}


def read_passing(path: Path) -> List[str]:
    """The case ids of a passing list (one per line; ``#`` starts a comment)."""
    ids = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            ids.append(line.zfill(5))
    return ids


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
    _, _, kind = case_tags(case_dir)
    try:
        model = og.import_sbml(case_model(case_dir))
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
        got = _reported(res, var, var in amounts, var in concentrations)
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


def _reported(res: "og.Result", var: str, as_amount: bool, as_concentration: bool
              ) -> np.ndarray:
    """The time course of SBML symbol ``var`` as the case asks for it: ``res[var]`` is what
    the symbol means; a species listed as an amount or a concentration converts (with its
    compartment's size only when a conversion is needed: a 0-D compartment has none)."""
    if res.sbml_symbols.get(var, {}).get("kind") == "species":
        if as_amount:
            return np.asarray(res.amount(var), dtype=float)
        if as_concentration:
            return np.asarray(res.concentration(var), dtype=float)
    return np.asarray(res[var], dtype=float)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ids", nargs="*", help="case ids (default: all)")
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--out", type=Path, default=Path("sbml_suite_results.csv"))
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a previous table (e.g. tests/sbml_suite/results.csv): exit 1 if a "
                             "case that passed there no longer passes")
    parser.add_argument("--passing", type=Path, default=None,
                        help="a list of case ids (e.g. tests/sbml_suite/passing.txt): exit 1 if "
                             "one of them no longer passes")
    parser.add_argument("--write-passing", action="store_true",
                        help="run every case and write the committed run: "
                             f"{RESULTS.name}, {RESULTS.stem}_totals.txt and {PASSING.name} "
                             f"in {HERE}")
    args = parser.parse_args(argv)
    if args.write_passing:
        if args.ids:
            parser.error("--write-passing runs every case: give no case ids")
        args.out = RESULTS

    dirs = sorted(p for p in args.cases.iterdir() if p.is_dir() and p.name.isdigit())
    if args.ids:
        wanted = {i.zfill(5) for i in args.ids}
        dirs = [d for d in dirs if d.name in wanted]
    rows = []
    totals: Counter = Counter()
    per_tag: Dict[str, Counter] = defaultdict(Counter)
    t0 = time.perf_counter()
    for d in dirs:
        comp, test, _ = case_tags(d)
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
    now = {r["case"] for r in rows if r["outcome"] == "pass"}
    ran = {r["case"] for r in rows}
    before: Dict[Path, set] = {}
    if args.baseline is not None:
        with open(args.baseline, newline="") as fh:
            before[args.baseline] = {r["case"] for r in csv.DictReader(fh)
                                     if r["outcome"] == "pass"}
    if args.passing is not None:
        before[args.passing] = set(read_passing(args.passing))
    for path, passed in before.items():
        lost = sorted(passed & ran - now)
        if lost:
            print(f"{len(lost)} cases passed in {path} and no longer do: " + " ".join(lost))
            status = 1
    if args.write_passing:
        PASSING.write_text(
            "# SBML Test Suite cases that pass (run_suite.py --write-passing); "
            "tests/python/test_sbml_suite.py fails if one of them stops passing\n"
            + "".join(f"{c}\n" for c in sorted(now)))
        print(f"{len(now)} passing cases written to {PASSING}")
    return status


if __name__ == "__main__":
    sys.exit(main())

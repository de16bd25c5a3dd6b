"""Imported SBML models: osteogrn (``og.import_sbml``) against libRoadRunner and AMICI on the
same SBML document, the same tolerances and the same output times.

Models:

* SBML Test Suite cases (``--suite-cases``, folders under the suite's ``cases``): the document
  as given, output at ``start + i·duration/steps`` of the case's settings file.
* PEtab benchmark problems (``--petab``, folders of the PEtab benchmark collection): the
  problem's SBML with the ``nominalValue`` of every parameter-table row that names an SBML
  parameter, and the values of the problem's first condition (condition-table columns naming
  SBML parameters, species or compartments; a cell naming a parameter-table row takes its
  nominal value) written into the document, so that all three tools read one file. Output
  at 0 and every finite measurement time of that condition. Pre-equilibration and the other
  conditions are not simulated: this is a per-simulation benchmark, not a likelihood.

Per model: first all three run at rtol 1e-10 / atol 1e-14 and must agree to ``TIGHT_AGREE``
(the largest relative difference, :func:`peers.rel_diff`, over all species and output
times), which shows they integrate the same equations; a model where they do not, or that a
tool refuses, is reported with the reason and not timed. Then each runs at the benchmark
tolerances; its difference from osteogrn's tight run is printed beside its median time.
With ``n_sens`` > 0, osteogrn and AMICI also run with forward sensitivities for the first
``n_sens`` estimated parameters (PEtab) or constant SBML parameters (suite) that no initial
assignment reads (see :func:`_in_initial_assignments`).
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

import peers

TIGHT = (1e-10, 1e-14)
TIGHT_AGREE = 1e-6


def _in_initial_assignments(m) -> set:
    """Ids the model's initial assignments read. osteogrn's import evaluates initial
    assignments once, so its sensitivities to these parameters miss the initial-value
    term (measured: d GFP / d init_GFP is 0 in osteogrn, 1 in AMICI on Elowitz); the
    benchmark differentiates with respect to other parameters."""
    import libsbml

    def walk(node, out):
        if node.getType() == libsbml.AST_NAME:
            out.add(node.getName())
        for i in range(node.getNumChildren()):
            walk(node.getChild(i), out)
        return out

    out: set = set()
    for ia in m.getListOfInitialAssignments():
        if ia.getMath() is not None:
            walk(ia.getMath(), out)
    return out


def _tsv(path: Path) -> List[Dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def petab_problem(folder: Path) -> Tuple[str, str, np.ndarray, List[str]]:
    """(name, SBML text with nominal values and the first condition, output times,
    estimated SBML parameter ids)."""
    import libsbml

    name = folder.name
    doc = libsbml.readSBMLFromFile(str(folder / f"model_{name}.xml"))
    m = doc.getModel()
    params = _tsv(folder / f"parameters_{name}.tsv")
    nominal = {r["parameterId"]: float(r["nominalValue"]) for r in params}
    in_ia = _in_initial_assignments(m)
    estimated = [r["parameterId"] for r in params
                 if r.get("estimate", "0").strip() == "1" and m.getParameter(r["parameterId"])
                 and r["parameterId"] not in in_ia]
    for pid, v in nominal.items():
        p = m.getParameter(pid)
        if p is not None:
            p.setValue(v)
    cond = _tsv(folder / f"experimentalCondition_{name}.tsv")[0]
    for col, cell in cond.items():
        if col in ("conditionId", "conditionName") or cell is None or not cell.strip():
            continue
        try:
            v = float(cell)
        except ValueError:
            if cell.strip() not in nominal:
                continue  # a parameter mapped per condition that the SBML does not hold
            v = nominal[cell.strip()]
        if math.isnan(v):
            continue
        if m.getInitialAssignment(col) is not None:
            m.removeInitialAssignment(col)
        if m.getParameter(col) is not None:
            m.getParameter(col).setValue(v)
        elif m.getSpecies(col) is not None:
            s = m.getSpecies(col)
            if s.getHasOnlySubstanceUnits():
                s.setInitialAmount(v)
            else:
                s.setInitialConcentration(v)
        elif m.getCompartment(col) is not None:
            m.getCompartment(col).setSize(v)
    meas = _tsv(folder / f"measurementData_{name}.tsv")
    times = {0.0} | {float(r["time"]) for r in meas
                     if r["simulationConditionId"] == cond["conditionId"]
                     and math.isfinite(float(r["time"]))}
    return name, libsbml.writeSBMLToString(doc), np.array(sorted(times)), estimated


def suite_case(folder: Path) -> Tuple[str, str, np.ndarray, List[str]]:
    """(name, SBML text, output times, the SBML parameters) of a test-suite case."""
    import libsbml

    case = folder.name
    xml = sorted(folder.glob(f"{case}-sbml-l*.xml"))[-1]
    settings = {}
    for line in (folder / f"{case}-settings.txt").read_text().splitlines():
        k, _, v = line.partition(":")
        settings[k.strip()] = v.strip()
    start, dur, steps = float(settings["start"]), float(settings["duration"]), int(settings["steps"])
    text = xml.read_text()
    m = libsbml.readSBMLFromString(text).getModel()
    in_ia = _in_initial_assignments(m)
    pids = [p.getId() for p in m.getListOfParameters() if p.getConstant() and p.getId() not in in_ia]
    return f"suite {case}", text, start + dur * np.arange(steps + 1) / steps, pids


# ---------------------------------------------------------------------------------------------
class OsteogrnRun:
    """osteogrn on an SBML document: ``og.import_sbml`` then ``og.simulate`` (cvode_bdf) at
    ``times``; values by SBML id through the translation's symbol map."""

    def __init__(self, sbml_text: str, ids: Sequence[str], times, rtol: float, atol: float,
                 sens: Sequence[str] = ()):
        import osteogrn as og
        from osteogrn.sbml import translate_sbml

        tr = translate_sbml(sbml_text)
        self.og = og
        self.model = og.import_sbml(sbml_text)
        self.cols = [tr.symbols[i].column for i in ids]
        self.sens = [tr.symbols[p].name for p in sens]
        self.times = np.asarray(times, float)
        self.kw = dict(rtol=rtol, atol=atol, method="cvode_bdf", max_steps=100_000)
        if self.sens:
            self.kw["sensitivities"] = self.sens


    def __call__(self):
        res = self.og.simulate(self.model, t=self.times, **self.kw)
        y = np.stack([np.asarray(res[c], float) for c in self.cols], axis=1)
        if not self.sens:
            return y
        k = [res.output_names.index(c) for c in self.cols]
        return y, np.asarray(res.sensitivities)[:, k, :]


def _try(label: str, make):
    try:
        return make(), None
    except Exception as e:  # a peer that refuses a model is reported, not fatal
        msg = f"{type(e).__name__}: {e}".splitlines()[0]
        return None, f"{label}: {msg[:160]}"


def compare(name: str, sbml_text: str, times, rtol: float, atol: float, reps: int,
            interleaved, sens: Sequence[str] = ()) -> dict:
    """Agreement check at tight tolerances, then interleaved timings at (rtol, atol).

    Returns a dict: name, n (species reported), agree (tight, largest relative difference of
    libRoadRunner and AMICI from osteogrn), times {tool: median s}, errors {tool: difference
    from osteogrn's tight run}, and with ``sens`` the same for the sensitivity runs;
    ``skipped`` holds the reasons a tool or the whole model was left out.
    """
    hosu = peers.species_ids(sbml_text)
    ids = list(hosu)
    conc = [i for i, amount in hosu.items() if not amount]
    safe = re.sub(r"\W", "_", name)
    row = {"name": name, "n": len(ids), "times": {}, "errors": {}, "skipped": [],
           "sens_times": {}, "sens_errors": {}, "n_sens": len(sens)}

    def makers(rt, at, s=()):
        out = {"osteogrn": lambda: OsteogrnRun(sbml_text, ids, times, rt, at, s),
               "AMICI": lambda: peers.AmiciRun(sbml_text, safe, ids, times, rt, at, s)}
        if not s:
            out["libRoadRunner"] = lambda: peers.RoadRunnerRun(sbml_text, ids, times, rt, at,
                                                               conc)
        return out

    tight = {}
    for tool, make in makers(*TIGHT).items():
        run, why = _try(tool, make)
        if run is not None:
            y, why = _try(tool, run)
            if why is None:
                tight[tool] = y
        if why:
            row["skipped"].append(why)
    if "osteogrn" not in tight:
        return row
    ref = tight["osteogrn"]
    row["agree"] = {k: peers.rel_diff(v, ref) for k, v in tight.items() if k != "osteogrn"}
    for k, d in list(row["agree"].items()):
        if not d <= TIGHT_AGREE:
            row["skipped"].append(f"{k}: differs from osteogrn by {d:.1e} at rtol 1e-10, "
                                  "not timed")
            tight.pop(k)

    runs = {}
    for tool, make in makers(rtol, atol).items():
        if tool in tight:
            runs[tool] = make()
    res = interleaved(runs, reps)
    for tool, (t, y) in res.items():
        row["times"][tool] = t
        row["errors"][tool] = peers.rel_diff(y, ref)

    if sens:
        sref, why = _try("osteogrn", lambda: OsteogrnRun(sbml_text, ids, times, *TIGHT, sens)())
        if why:
            row["skipped"].append(why)
            return row
        sruns = {}
        for tool, make in makers(rtol, atol, sens).items():
            if tool not in tight:
                continue
            run, why = _try(tool, make)
            if why:
                row["skipped"].append(why + " (sensitivities)")
            else:
                sruns[tool] = run
        res = interleaved(sruns, reps)
        for tool, (t, (y, s)) in res.items():
            row["sens_times"][tool] = t
            row["sens_errors"][tool] = peers.rel_diff(s, sref[1])
    return row

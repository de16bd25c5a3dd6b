"""Drivers for running one SBML document in osteogrn, libRoadRunner and AMICI the way each
tool's users run it, with the same tolerances and output times.

* :class:`RoadRunnerRun` — ``roadrunner.RoadRunner(sbml)``; a run is ``resetAll()`` and one
  ``simulate(times=...)``: events (media changes) are handled inside the integration, as
  libRoadRunner's users run a protocol.
* :class:`AmiciRun` — ``amici.importers.sbml.SbmlImporter(...).sbml2amici(...)`` compiles a
  model extension once into a cache directory outside the repository (``AMICI_CACHE``,
  default ``/work/cache/amici`` if writable, else ``~/.cache/osteogrn-bench/amici``), keyed by
  the AMICI version and a hash of the SBML text; a run is one ``run_simulation``. Plain runs set
  an empty parameter list (``set_parameter_list([])``) so that AMICI allocates no sensitivity
  arrays; sensitivity runs name their parameters by SBML id.
* :func:`rel_diff` — the agreement measure every comparison prints.

Every driver returns an array ``[time, id]`` of the values the SBML symbols mean
(concentrations, or amounts for ``hasOnlySubstanceUnits`` species), and for sensitivity runs
also ``[time, id, parameter]``.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Dict, Sequence

import numpy as np


def rel_diff(y, ref) -> float:
    """Largest relative difference of ``y`` from ``ref`` (arrays ``[time, id, ...]``), per id
    on the scale ``max(|ref|, 1e-6 max_t |ref_id|, 1e-12 max |ref|)``: an id that decays to ~0
    has no relative digits left, so it is compared on 1e-6 of its own largest value, and one
    that is zero throughout (a sensitivity to a parameter it does not depend on) on 1e-12 of
    the largest value of all."""
    y, ref = np.asarray(y, float), np.asarray(ref, float)
    peak = np.max(np.abs(ref), axis=0, keepdims=True)
    floor = max(1e-12 * float(np.max(np.abs(ref))), 1e-300)
    scale = np.maximum(np.abs(ref), np.maximum(1e-6 * peak, floor))
    return float(np.max(np.abs(y - ref) / scale))


def species_ids(sbml_text: str) -> Dict[str, bool]:
    """SBML id -> hasOnlySubstanceUnits, for every species no rule or reaction leaves constant
    (``constant="false"``); the ids the comparisons report."""
    import libsbml

    doc = libsbml.readSBMLFromString(sbml_text)
    m = doc.getModel()
    return {s.getId(): bool(s.getHasOnlySubstanceUnits()) for s in m.getListOfSpecies()
            if not s.getConstant()}


# ---------------------------------------------------------------------------------------------
class RoadRunnerRun:
    """libRoadRunner on an SBML document: CVODES BDF (its default integrator), the given
    scalar tolerances, output at ``times``; ``concentrations`` are the species ids reported as
    concentrations (the others as amounts or values)."""

    def __init__(self, sbml_text: str, ids: Sequence[str], times: Sequence[float],
                 rtol: float, atol: float, concentrations: Sequence[str] = (),
                 max_steps: int = 100_000):
        import roadrunner

        self.version = roadrunner.__version__
        self.rr = roadrunner.RoadRunner(sbml_text)
        integ = self.rr.integrator
        integ.relative_tolerance = rtol
        integ.absolute_tolerance = atol
        integ.setValue("maximum_num_steps", max_steps)
        # "[S]" is the concentration of species S, "S" its amount (or a parameter's value):
        # report what the SBML symbol means.
        conc = set(concentrations)
        self.rr.timeCourseSelections = ["time"] + [f"[{i}]" if i in conc else i for i in ids]
        self.times = np.asarray(times, float)

    def __call__(self) -> np.ndarray:
        # resetAll, not reset: an event that assigned a global parameter (an input's media
        # concentration) must be undone too.
        self.rr.resetAll()
        out = self.rr.simulate(times=self.times)
        return np.asarray(out, float)[:, 1:]

    def sensitivities(self, params: Sequence[str], ids: Sequence[str]):
        """A callable running libRoadRunner's forward sensitivity solver (CVODES, its
        ``"forward"`` sensitivity solver) on an evenly spaced grid from the first to the last
        output time; returns ``[time, id, parameter]``. libRoadRunner offers no other way to
        get sensitivities along a time course."""
        self.rr.setSensitivitySolver("forward")
        t = self.times
        grid = np.linspace(t[0], t[-1], len(t))
        if not np.allclose(grid, t, rtol=1e-12, atol=0):
            raise ValueError("libRoadRunner's timeSeriesSensitivities needs evenly spaced times")
        params, ids = list(params), list(ids)

        def run():
            self.rr.resetAll()
            out = self.rr.timeSeriesSensitivities(float(t[0]), float(t[-1]), len(t), params, ids)
            return np.transpose(np.asarray(out[1], float), (0, 2, 1))
        return run


# ---------------------------------------------------------------------------------------------
def amici_cache_dir() -> Path:
    """Where compiled AMICI models are kept between runs (outside the repository)."""
    env = os.environ.get("AMICI_CACHE")
    if env:
        return Path(env)
    work = Path("/work/cache/amici")
    try:
        work.mkdir(parents=True, exist_ok=True)
        return work
    except OSError:
        return Path.home() / ".cache" / "osteogrn-bench" / "amici"


def amici_module(sbml_text: str, name: str):
    """The compiled AMICI model module of ``sbml_text`` (compiled on first use, then taken
    from the cache). AMICI's defaults otherwise: conservation laws on, all species and
    assignment-rule targets as default observables."""
    import amici
    from amici.importers.sbml import SbmlImporter

    key = hashlib.sha1(sbml_text.encode()).hexdigest()[:10]
    mod_name = re.sub(r"\W", "_", f"{name}_{key}")
    out = amici_cache_dir() / amici.__version__ / mod_name
    done = out / ".compiled"  # written last: an interrupted compile is redone
    if not done.is_file():
        out.mkdir(parents=True, exist_ok=True)
        SbmlImporter(sbml_text, from_file=False).sbml2amici(mod_name, str(out))
        done.touch()
    return amici.import_model_module(mod_name, str(out))


class AmiciRun:
    """AMICI on an SBML document: CVODES BDF, the given scalar tolerances (sensitivities use
    the same ones, AMICI's default), AMICI's default linear solver, output at ``times``.

    ``sens`` names SBML parameters for first-order forward sensitivities; without it the
    parameter list is empty, so no sensitivity arrays are allocated.
    """

    def __init__(self, sbml_text: str, name: str, ids: Sequence[str], times: Sequence[float],
                 rtol: float, atol: float, sens: Sequence[str] = (), max_steps: int = 100_000):
        import amici
        import amici.sim.sundials as sd

        self.version = amici.__version__
        self.sd = sd
        self.model = amici_module(sbml_text, name).get_model()
        self.model.set_timepoints([float(t) for t in times])
        state_ids = list(self.model.get_state_ids())
        missing = [i for i in ids if i not in state_ids]
        if missing:
            raise KeyError(f"AMICI model has no state {missing[:5]}")
        self.cols = [state_ids.index(i) for i in ids]
        pids = list(self.model.get_free_parameter_ids())
        self.model.set_parameter_list([pids.index(p) for p in sens])
        self.solver = self.model.create_solver()
        self.solver.set_relative_tolerance(rtol)
        self.solver.set_absolute_tolerance(atol)
        self.solver.set_max_steps(max_steps)
        if sens:
            self.solver.set_sensitivity_method(sd.SensitivityMethod.forward)
            self.solver.set_sensitivity_order(sd.SensitivityOrder.first)
        else:
            self.solver.set_sensitivity_order(sd.SensitivityOrder.none)
        self.sens = bool(sens)

    def raw(self):
        rdata = self.sd.run_simulation(self.model, self.solver)
        if rdata.status != 0:
            raise RuntimeError(f"AMICI simulation failed with status {rdata.status}")
        return rdata

    def __call__(self):
        rdata = self.raw()
        x = np.asarray(rdata.x)[:, self.cols]
        if not self.sens:
            return x
        # sx is [time, parameter, state]: reorder to [time, id, parameter].
        return x, np.transpose(np.asarray(rdata.sx)[:, :, self.cols], (0, 2, 1))

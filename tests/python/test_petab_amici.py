"""pyPESTO with AMICI on an exported osteogrn fit reproduces FitResult.log_likelihood.

The fit of petab_export_case (SYNTHETIC data) is written with FitResult.to_petab, imported by
pyPESTO's PetabImporter (AMICI compiles the SBML: minutes; the compiled model lives in this
run's tmp directory), and AMICI's objective at the fitted parameters must be -log-likelihood.
Runs when amici and pypesto import (the CI stage ``amici`` installs them); skipped otherwise.

Tolerance: 1e-4 **absolute** in the log-likelihood. A log-likelihood difference is a log
likelihood ratio, so an absolute tolerance means the same for any number of data points
(1e-4: likelihood ratios agree to 0.01 %); here |llh| ~ 80, so it is also stricter than 1e-4
relative. Both sides solve with tight tolerances (rtol 1e-10 / 1e-12); the difference measured
is ~1e-7.
"""

from __future__ import annotations

import os
import shutil
import sys

import numpy as np
import pytest

amici = pytest.importorskip("amici", reason="needs AMICI (pip install amici; CI stage amici)")
pypesto_petab = pytest.importorskip("pypesto.petab",
                                    reason="needs pyPESTO (pip install pypesto; CI stage amici)")

import petab.v1 as petab  # noqa: E402

import petab_export_case as case  # noqa: E402

pytestmark = [pytest.mark.filterwarnings(r"ignore::DeprecationWarning:petab\."),
              # pyPESTO / AMICI warn about their own deprecations and unused settings
              pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning:pypesto")]


def test_pypesto_amici_reproduces_our_log_likelihood(tmp_path_factory, monkeypatch):
    if shutil.which("swig") is None:  # a venv's swig (pip install swig) next to its python
        monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep
                           + os.environ.get("PATH", ""))
    result = case.fit()
    yaml = result.to_petab(tmp_path_factory.mktemp("petab") / "problem.yaml")
    problem = petab.Problem.from_yaml(yaml)
    importer = pypesto_petab.PetabImporter(
        problem, output_folder=str(tmp_path_factory.mktemp("amici_model")),
        model_name="osteogrn_export")
    pproblem = importer.create_problem()
    objective = pproblem.objective
    objective.amici_solver.set_relative_tolerance(1e-12)
    objective.amici_solver.set_absolute_tolerance(1e-14)
    # the exported nominal values are the fit's; pyPESTO's free parameters are the estimated
    x = pproblem.get_reduced_vector(np.asarray(problem.x_nominal_scaled))
    assert list(np.asarray(pproblem.x_names)[pproblem.x_free_indices]) == \
        list(result.problem.names)
    llh_amici = -float(objective(x))
    print(f"pyPESTO+AMICI llh {llh_amici!r}, osteogrn {result.log_likelihood!r}, "
          f"difference {llh_amici - result.log_likelihood:.3g}")
    assert abs(llh_amici - result.log_likelihood) < 1e-4

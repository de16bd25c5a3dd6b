"""linear_solver="gmres" (CVODES with GMRES preconditioned by ILU(0) of the sparse Jacobian)
through the Python API: same trajectories and sensitivities as dense LU, in simulate and
simulate_batch, and refused (OptionError) with the odeint methods.

Tolerance: the runs use rtol 1e-10, atol 1e-12; GMRES solves each Newton system only to
CVODES' linear tolerance, so the two runs take different steps and agree to the integration
error, not to round-off: every entry within 1e3 (rtol |dense| + atol) = 1e-7 |dense| + 1e-9
(the C++ suite measured differences of about 1 % of that; see tests/cpp/test_gmres.cpp).
"""

import numpy as np
import pytest

import osteogrn as og

RTOL, ATOL = 1e-10, 1e-12


def assert_close(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    assert np.all(np.isfinite(a))
    assert np.all(np.abs(a - b) <= 1e3 * (RTOL * np.abs(b) + ATOL))


@pytest.fixture(scope="module")
def model():
    return og.load_model("osteogenic")


@pytest.fixture(scope="module")
def protocol():
    return og.load_protocol("osteogenic_medium")


def test_gmres_is_a_linear_solver():
    assert og.LinearSolver.gmres == "gmres"
    assert og.SolverOptions(linear_solver="gmres").linear_solver == "gmres"
    assert og.SolverOptions(linear_solver=og.LinearSolver.gmres).linear_solver == "gmres"


@pytest.mark.parametrize("method", ["cvode_bdf", "cvode_adams"])
def test_gmres_matches_dense(model, protocol, method):
    t = np.linspace(0, 21, 43)
    dense = og.simulate(model, protocol, t=t, method=method, rtol=RTOL, atol=ATOL)
    gmres = og.simulate(model, protocol, t=t, method=method, rtol=RTOL, atol=ATOL,
                        linear_solver="gmres")
    assert_close(gmres.species, dense.species)
    assert_close(gmres.observables, dense.observables)
    assert gmres.stats["jac_evals"] > 0  # preconditioner Jacobians are counted


def test_gmres_sensitivities_match_dense(model, protocol):
    names = ["d_runx2", "k_alp"]
    t = np.linspace(0, 21, 22)
    opts = og.SolverOptions(rtol=RTOL, atol=ATOL, sensitivities=names)
    dense = og.simulate(model, protocol, t=t, options=opts)
    gmres = og.simulate(model, protocol, t=t, options=opts.replace(linear_solver="gmres"))
    assert list(gmres.sensitivity_parameters) == names
    assert np.max(np.abs(dense.sensitivities)) > 1e-3
    assert_close(gmres.sensitivities, dense.sensitivities)


def test_gmres_in_a_batch_matches_serial_runs(model, protocol):
    d = model.parameters["d_runx2"]
    sets = np.array([[0.8 * d], [1.25 * d]])
    t = [0.0, 7.0, 21.0]
    batch = og.simulate_batch(model, protocol, sets, param_names=["d_runx2"], t=t, threads=2,
                              linear_solver="gmres", rtol=RTOL, atol=ATOL)
    assert not batch.failed.any()
    for i, (value,) in enumerate(sets):
        serial = og.simulate(model.with_parameters(d_runx2=value), protocol, t=t,
                             linear_solver="gmres", rtol=RTOL, atol=ATOL)
        n = serial.species.shape[1]
        np.testing.assert_array_equal(batch.values[i, 0, :, :n], serial.species)


@pytest.mark.parametrize("method", ["dopri5", "rosenbrock4"])
def test_gmres_with_an_odeint_method_is_an_option_error(model, protocol, method):
    with pytest.raises(og.OptionError, match="gmres") as e:
        og.simulate(model, protocol, method=method, linear_solver="gmres")
    assert method in str(e.value)

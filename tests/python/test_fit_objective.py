"""The objective: observation models (analytic scale/offset, fold changes, log-normal noise) and
the chain-rule Jacobian that turns output sensitivities into residual derivatives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import osteogrn as og
from osteogrn.fitting import Observation, simulate_data
from osteogrn.fitting.fit import make_problem


@pytest.fixture(scope="module")
def model() -> og.Model:
    return og.load_model("osteogenic")


PROTOS = {"osteogenic_medium": "osteogenic_medium", "om_bmp2": "om_bmp2"}


def problem(model, data, observations, estimate, gradient="fd"):
    return make_problem(model, data, None, estimate, observations, True, gradient, 1e-4, {})


def output_sensitivities(pb, z, h=1e-5):
    """d stacked outputs / d z_model by central differences of the simulations."""
    cols = []
    for i in range(pb.n_model):
        zp, zm = z.copy(), z.copy()
        zp[i] += h
        zm[i] -= h
        cols.append((pb.simulate(zp, False)[0] - pb.simulate(zm, False)[0]) / (2 * h))
    return np.stack(cols, axis=-1)


def test_chain_rule_jacobian_matches_finite_differences(model):
    data = pd.concat([
        simulate_data(model, PROTOS, [5, 10, 20], ["ALP", "OCN", "mineral"], cv=0.1, seed=1,
                      noise="additive"),
        simulate_data(model, {"om_bmp2": "om_bmp2"}, [3, 9], ["Runx2"], cv=0.1, seed=2),
    ], ignore_index=True)
    data.loc[data["observable"] == "ALP", "value"] *= 7.0
    obs = {"ALP": Observation(scale="analytic", offset="analytic"),
           "OCN": Observation(scale="analytic", noise="lognormal"),
           "mineral": Observation(fold_change="osteogenic_medium", offset="estimate",
                                  scale=1.3),
           "Runx2": Observation(fold_change="day0", scale="estimate", noise="lognormal")}
    pb = problem(model, data, obs, ["k_mat", "d_alp", "K_dex"])
    assert pb.names == ["k_mat", "d_alp", "K_dex", "offset_mineral", "scale_Runx2"]
    z = pb.to_z(np.array([0.3, 0.4, 20.0, 0.05, 1.5]))
    X, _, _ = pb.simulate(z, False)
    S = output_sensitivities(pb, z)
    r, J, pred, solved = pb.residuals(z, X, S)
    assert np.all(np.isfinite(r)) and J.shape == (len(data), 5)
    J_fd = np.empty_like(J)
    for i in range(pb.n):
        h = 1e-5
        zp, zm = z.copy(), z.copy()
        zp[i] += h
        zm[i] -= h
        rp = pb.residuals(zp, pb.simulate(zp, False)[0], None)[0]
        rm = pb.residuals(zm, pb.simulate(zm, False)[0], None)[0]
        J_fd[:, i] = (rp - rm) / (2 * h)
    scale = np.max(np.abs(J_fd), axis=0)
    np.testing.assert_allclose(J / scale, J_fd / scale, atol=2e-5)
    # The analytic ALP scale is the weighted least-squares optimum: perturbing it raises the cost.
    s_alp, o_alp = solved["ALP"]
    assert s_alp == pytest.approx(7.0, rel=0.2)
    rows = (data["observable"] == "ALP").to_numpy()
    x = pred[rows] / 1.0
    y, sig = data["value"].to_numpy()[rows], data["sigma"].to_numpy()[rows]
    h_alp = (x - o_alp) / s_alp
    G = np.column_stack([h_alp, np.ones_like(h_alp)])
    beta = np.linalg.lstsq(G / sig[:, None], y / sig, rcond=None)[0]
    np.testing.assert_allclose([s_alp, o_alp], beta, rtol=1e-8, atol=1e-12)
    assert solved["mineral"] == (1.3, pytest.approx(0.05))


def test_fold_change_relative_to_reference_condition(model):
    # Data = exact BMP2/OM ratios: the fit residuals vanish at the true parameters.
    om = og.simulate(model, "osteogenic_medium", t=[7, 14], rtol=1e-10, atol=1e-14)
    bmp = og.simulate(model, "om_bmp2", t=[7, 14], rtol=1e-10, atol=1e-14)
    ratio = bmp["OCN"] / om["OCN"]
    data = pd.DataFrame({"condition": "om_bmp2", "time": [7.0, 14.0], "observable": "OCN",
                         "value": ratio, "sigma": 0.1})
    pb = problem(model, data, {"OCN": Observation.fold("osteogenic_medium")}, ["k_mat"])
    # The reference condition is simulated although it has no rows of its own.
    assert pb.conditions == ["om_bmp2", "osteogenic_medium"]
    z = pb.to_z(np.array([model.parameters["k_mat"]]))
    r = pb.residuals(z, pb.simulate(z, False)[0], None)[0]
    np.testing.assert_allclose(r, 0.0, atol=1e-5)
    assert ratio[0] > 1.5  # BMP2 raises OCN: the test compares a real fold change


def test_day0_fold_change_and_lognormal_scale(model):
    res = og.simulate(model, "om_bmp2", t=[0, 2, 5], rtol=1e-10, atol=1e-14)
    fold = res["Runx2"][1:] / res["Runx2"][0]
    data = pd.DataFrame({"condition": "om_bmp2", "time": [2.0, 5.0], "observable": "Runx2",
                         "value": 4.0 * fold, "sigma": 0.1})
    pb = problem(model, data, {"Runx2": Observation.fold("day0", scale="analytic")}, ["k_mat"])
    assert list(pb.times["om_bmp2"]) == [0.0, 2.0, 5.0]
    z = pb.to_z(np.array([model.parameters["k_mat"]]))
    r, _, pred, solved = pb.residuals(z, pb.simulate(z, False)[0], None)
    assert solved["Runx2"][0] == pytest.approx(4.0, rel=1e-5)
    np.testing.assert_allclose(pred, 4.0 * fold, rtol=1e-5)


def test_fd_and_sensitivity_jacobians_agree_when_available(model):
    """With gradient="sensitivities" the Jacobian comes from res.sensitivities; where the core
    cannot provide them, asking for them explicitly is an OptionError, and "auto" falls back."""
    data = simulate_data(model, PROTOS, [7, 14], ["ALP", "OCN"], seed=3)
    try:
        pb = problem(model, data, "lognormal", ["k_mat", "d_alp"], gradient="sensitivities")
    except og.OptionError as e:
        assert "not available" in str(e)
        assert problem(model, data, "lognormal", ["k_mat"], gradient="auto").gradient == "fd"
        return
    z = pb.to_z(np.array([0.3, 0.4]))
    X, S, _ = pb.simulate(z, True)
    J = pb.residuals(z, X, S)[1]
    S_fd = output_sensitivities(pb, z)
    J_fd = pb.residuals(z, X, S_fd)[1]
    np.testing.assert_allclose(J, J_fd, rtol=1e-3, atol=1e-6 * np.abs(J_fd).max())

"""The objective: observation models (analytic scale/offset, fold changes, log-normal noise) and
the chain-rule Jacobian that turns output sensitivities into residual derivatives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import osteogrn as og
from osteogrn.fitting import Observation, simulate_data
from osteogrn.fitting.fit import make_problem
from osteogrn.fitting.objective import Evaluator


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
    # At the parameters that simulated the data, so that the analytic ALP scale is ~7.
    z = pb.to_z(np.array([model.parameters[k] for k in ("k_mat", "d_alp", "K_dex")]
                         + [0.05, 1.5]))
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
    ratio = bmp["mineral"] / om["mineral"]
    data = pd.DataFrame({"condition": "om_bmp2", "time": [7.0, 14.0], "observable": "mineral",
                         "value": ratio, "sigma": 0.1})
    pb = problem(model, data, {"mineral": Observation.fold("osteogenic_medium")}, ["k_mat"])
    # The reference condition is simulated although it has no rows of its own.
    assert pb.conditions == ["om_bmp2", "osteogenic_medium"]
    z = pb.to_z(np.array([model.parameters["k_mat"]]))
    r = pb.residuals(z, pb.simulate(z, False)[0], None)[0]
    np.testing.assert_allclose(r, 0.0, atol=1e-5)
    assert ratio[0] > 1.2  # BMP2 raises mineral: the test compares a real fold change


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


# -- the sensitivity Jacobian, every observation model, log / linear / mixed scale ----------------
O = Observation
# Each case gives every observable one observation model; together they cover identity, fixed,
# estimated and analytic scale and offset, fold change vs day 0 and vs a reference condition, and
# additive and log-normal noise. ("ref": observables measured in om_bmp2 only, as a fold change
# relative to osteogenic_medium.)
JAC_CASES = {
    "identity_fixed": {"ALP": O(), "OCN": O(noise="lognormal"),
                       "mineral": O(scale=2.0, offset=0.1), "Runx2": O(scale=0.5,
                                                                       noise="lognormal")},
    "estimated": {"ALP": O(scale="estimate", offset="estimate"),
                  "OCN": O(scale="estimate", noise="lognormal"),
                  "mineral": O(offset="estimate"),
                  "Sp7": O(scale="estimate", offset="estimate", noise="lognormal")},
    "analytic": {"ALP": O(scale="analytic", offset="analytic"),
                 "OCN": O(scale="analytic", noise="lognormal"),
                 "mineral": O(scale="analytic"), "Runx2": O(scale=1.5, offset="analytic"),
                 "Sp7": O(scale="analytic", offset="estimate")},
    "fold_change": {"Runx2": O(fold_change="day0", scale="estimate", noise="lognormal"),
                    "Ihh": O(fold_change="day0", scale="analytic"),
                    "OCN": O(fold_change="osteogenic_medium", scale="analytic",
                             noise="lognormal"),
                    "mineral": O(fold_change="osteogenic_medium", offset="estimate"),
                    "ALP": O(fold_change="osteogenic_medium", noise="lognormal")},
}
JAC_PARAMS = {"k_mat": 0.3, "d_alp": 0.4, "K_dex": 20.0, "w_smad": 10.0}
JAC_BOUNDS = {"k_mat": (0.025, 2.5), "d_alp": (0.05, 5.0), "K_dex": (1.0, 100.0), "w_smad": (3.0, 50.0)}
TIGHT = {"rtol": 1e-10, "atol": 1e-14}


def _jac_data(model, observations):
    truth = model.with_parameters(k_mat=0.2, d_alp=0.6, K_dex=15.0, w_smad=25.0)
    both = [o for o, ob in observations.items()
            if ob.fold_change in (None, "day0")]
    ref = [o for o in observations if o not in both]
    parts = [simulate_data(truth, PROTOS, [3, 7, 14], both, cv=0.1, seed=4, noise="additive")]
    if ref:
        parts.append(simulate_data(truth, {"om_bmp2": "om_bmp2"}, [3, 7, 14], ref, cv=0.1,
                                   seed=5, noise="additive"))
    data = pd.concat(parts, ignore_index=True)
    for o, ob in observations.items():  # values of the order of the prediction
        rows = data["observable"] == o
        if isinstance(ob.scale, str):
            data.loc[rows, ["value", "sigma"]] *= 3.0
        if ob.fold_change is not None:
            data.loc[rows, ["value", "sigma"]] /= data.loc[rows, "value"].min() / 2.0
    return data


def _central_jacobian(pb, z, rel=1e-4):
    cols = []
    for i in range(pb.n):
        h = rel * max(1.0, abs(z[i]))
        zp, zm = z.copy(), z.copy()
        zp[i] += h
        zm[i] -= h
        rp = pb.residuals(zp, pb.simulate(zp, False)[0], None)[0]
        rm = pb.residuals(zm, pb.simulate(zm, False)[0], None)[0]
        cols.append((rp - rm) / (2 * h))
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("log_scale", [True, False, {"k_mat", "K_dex"}],
                         ids=["log", "linear", "mixed"])
@pytest.mark.parametrize("case", list(JAC_CASES))
def test_sensitivity_jacobian_matches_finite_differences_of_residuals(model, case, log_scale):
    """The residual Jacobian built from res.sensitivities (chain rule through the observation
    model and the log10 reparametrisation) equals central differences of the residuals."""
    obs = JAC_CASES[case]
    data = _jac_data(model, obs)
    pb = make_problem(model, data, None, JAC_BOUNDS, obs, log_scale, "auto", 1e-4, TIGHT)
    assert pb.gradient == "sensitivities"
    n_obs_params = sum(ob.mode(w) == "estimate" for ob in obs.values()
                       for w in ("scale", "offset"))
    assert pb.n == len(JAC_PARAMS) + n_obs_params
    assert list(pb.log[:4]) == ([True] * 4 if log_scale is True else [False] * 4
                                if log_scale is False else [True, False, True, False])
    p = [*JAC_PARAMS.values()] + [1.7 if w == "scale" else 0.05 for _, w in pb.obs_params]
    z = pb.to_z(np.array(p))
    X, S, _ = pb.simulate(z, True)
    # The core's sensitivities, not a fallback: nonzero for every estimated model parameter.
    assert S.shape == X.shape + (len(JAC_PARAMS),)
    assert np.all(np.abs(S).max(axis=(0, 1)) > 0)
    r, J, _, _ = pb.residuals(z, X, S)
    assert np.all(np.isfinite(r)) and np.all(np.isfinite(J))
    J_fd = _central_jacobian(pb, z)
    col = np.abs(J_fd).max(axis=0)
    assert np.all(col > 0)  # every column carries information (compared relative to its max)
    np.testing.assert_allclose(J / col, J_fd / col, atol=1e-5, rtol=0)
    # Through the Evaluator (what least_squares calls): residuals and Jacobian from one
    # simulation per condition, and a profile's fixed column is neither simulated nor returned.
    ev = Evaluator(pb)
    np.testing.assert_array_equal(ev.fun(z), r)
    np.testing.assert_array_equal(ev.jac(z), J)
    assert ev.n_sims == len(pb.conditions)
    ev1 = Evaluator(pb, fixed={1: z[1]})
    free = np.delete(np.arange(pb.n), 1)
    ev1.fun(z[free])
    np.testing.assert_allclose(ev1.jac(z[free]), J[:, free], rtol=1e-6, atol=1e-9 * col.max())
    assert ev1._sim[1].shape[-1] == len(JAC_PARAMS) and not ev1._sim[1][..., 1].any()


def test_gradient_choice(model):
    data = simulate_data(model, PROTOS, [7, 14], ["ALP", "OCN"], seed=3)

    def grad(gradient, **opts):
        return make_problem(model, data, None, ["k_mat"], "lognormal", True, gradient, 1e-4,
                            opts).gradient

    assert grad("auto") == "sensitivities"
    assert grad("auto", method="cvode_adams") == "sensitivities"
    assert grad("auto", method="dopri5") == "fd"
    assert grad("fd") == "fd"
    with pytest.raises(og.OptionError, match="method='rosenbrock4'"):
        grad("sensitivities", method="rosenbrock4")
    # Solver defaults per gradient: finite differences need the tighter tolerance.
    pb_s = make_problem(model, data, None, ["k_mat"], None, True, "auto", 1e-4, {})
    pb_f = make_problem(model, data, None, ["k_mat"], None, True, "fd", 1e-4, {})
    assert pb_s.solver_options["rtol"] == 1e-7 and pb_f.solver_options["rtol"] == 1e-8

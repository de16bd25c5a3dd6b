"""og.fit tells the truth: a FitWarning and an estimated noise SD when the data give no sigma,
flags for parameters at a bound and open profile intervals, NaN standard errors for
non-identifiable parameters, and offset/scale bounds under which a log-normal fit never fails."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import osteogrn as og
from conftest import DATA
from osteogrn.fitting import Observation, simulate_data
from osteogrn.fitting.fisher import REL_EIGENVALUE, fisher_standard_errors

TRUTH = {"k_a": 1.2, "d_a": 0.4}
BOUNDS = {"k_a": (0.01, 10.0), "d_a": (0.05, 5.0)}
TIMES = np.linspace(1.0, 21.0, 40)


@pytest.fixture(scope="module")
def model() -> og.Model:
    # fit_basal: every observable > 0 at day 0; Z (driven by k_z) is observed by nothing.
    return og.load_model(DATA / "models" / "fit_basal.json")


@pytest.fixture(scope="module")
def protocols() -> dict:
    return {c: og.Protocol(c, 21, components={"dex": {"concentration": dex, "unit": "nM"}})
            for c, dex in (("ctrl", 0.0), ("dex", 100.0))}


def noisy(model, protocols, observables, sd, *, noise="additive", seed=1, reps=3,
          truth=TRUTH):
    """Exact model outputs at the truth plus Gaussian noise of SD sd (additive) or on ln value
    (log-normal); no sigma column."""
    d = simulate_data(model.with_parameters(truth), protocols, TIMES, observables, cv=0.0,
                      replicates=reps, noise="lognormal")
    eps = np.random.default_rng(seed).standard_normal(len(d))
    sds = d["observable"].map(sd).to_numpy() if isinstance(sd, dict) else sd
    if noise == "additive":
        d["value"] = d["value"] + sds * eps
    else:
        d["value"] = d["value"] * np.exp(sds * eps)
    return d.drop(columns="sigma")


def fit(model, data, protocols, **kw):
    args = dict(estimate=BOUNDS, n_starts=3, seed=0, threads=2, progress=False)
    args.update(kw)
    return og.fit(model, data, protocols, **args)


# -- sigma absent: warn and estimate it ---------------------------------------------------------
def test_missing_sigma_warns_and_estimates_the_noise_sd(model, protocols):
    data = noisy(model, protocols, ["ALP"], 0.05)
    assert len(data) == 240 and "sigma" not in data
    with pytest.warns(og.FitWarning, match=r"no sigma for 'ALP'.*sigma_ALP"):
        res = fit(model, data, protocols)
    assert res.problem.names == ["k_a", "d_a", "sigma_ALP"]
    # The maximum-likelihood noise SD of 240 points: within 20 % of the truth (it is ~3 %).
    assert res.parameters["sigma_ALP"] == pytest.approx(0.05, rel=0.2)
    np.testing.assert_allclose(res.sigma, res.parameters["sigma_ALP"])
    for name, truth in TRUTH.items():
        assert res.parameters[name] == pytest.approx(truth, rel=0.05)
    # It is the ML estimate: sqrt(RSS / N) of the best fit's raw residuals.
    raw = res.predictions - data["value"].to_numpy()
    assert res.parameters["sigma_ALP"] == pytest.approx(np.sqrt(np.mean(raw ** 2)), rel=1e-3)
    # Bounds derived from the data: [1e-3, 10] x RMS(data).
    rms = np.sqrt(np.mean(data["value"] ** 2))
    k = res.problem.names.index("sigma_ALP")
    assert res.problem.p_lo[k] == pytest.approx(1e-3 * rms)
    assert res.problem.p_hi[k] == pytest.approx(10 * rms)


def test_lognormal_sigma_per_observable(model, protocols):
    sd = {"ALP": 0.1, "calcium": 0.25}
    data = noisy(model, protocols, ["ALP", "calcium"], sd, noise="lognormal", seed=3)
    with pytest.warns(og.FitWarning, match=r"'ALP', 'calcium'.*sigma_ALP, sigma_calcium"):
        res = fit(model, data, protocols, observations="lognormal")
    for obs, true in sd.items():
        assert res.parameters[f"sigma_{obs}"] == pytest.approx(true, rel=0.2), obs
        assert res.observation_parameters[obs]["sigma"] == res.parameters[f"sigma_{obs}"]
    # Residuals are ln-differences over the estimated sigma of their observable.
    frame = res.to_frame()
    expect = (np.log(frame["prediction"]) - np.log(frame["value"])) / res.sigma
    np.testing.assert_allclose(frame["residual"], expect, rtol=1e-10)
    assert set(np.round(res.sigma, 12)) == {round(res.parameters["sigma_ALP"], 12),
                                            round(res.parameters["sigma_calcium"], 12)}


def test_explicit_sigma_choices_do_not_warn(model, protocols):
    data = noisy(model, protocols, ["ALP"], 0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("error", og.FitWarning)
        est = fit(model, data, protocols, observations=Observation(sigma="estimate"))
        fixed = fit(model, data, protocols, observations=Observation(sigma=0.05))
    assert "sigma_ALP" in est.parameters and "sigma_ALP" not in fixed.parameters
    np.testing.assert_allclose(fixed.sigma, 0.05)
    np.testing.assert_allclose(fixed.residuals,
                               (fixed.predictions - data["value"].to_numpy()) / 0.05)
    with pytest.raises(og.OptionError, match="sigma"):
        Observation(sigma="guess")


def test_rows_with_sigma_keep_it_and_each_group_gets_its_own(model, protocols):
    # Three labs: A and B report no sigma (true SDs 0.03 and 0.15, and B reports in units 20x
    # larger); C gives sigma = 0.1 on every row.
    parts = []
    for lab, sd, unit, seed in (("A", 0.03, 1.0, 4), ("B", 0.15, 20.0, 5), ("C", 0.1, 1.0, 6)):
        d = noisy(model, protocols, ["ALP"], sd / unit, seed=seed, reps=2)
        d["value"] *= unit
        d["group"] = lab
        d["sigma"] = 0.1 if lab == "C" else np.nan
        parts.append(d)
    data = pd.concat(parts, ignore_index=True)
    with pytest.warns(og.FitWarning, match=r"'ALP\[A\]', 'ALP\[B\]'"):
        res = fit(model, data, protocols, observations=Observation(scale="analytic"))
    assert res.problem.names == ["k_a", "d_a", "sigma_ALP[A]", "sigma_ALP[B]"]
    assert res.parameters["sigma_ALP[A]"] == pytest.approx(0.03, rel=0.2)
    assert res.parameters["sigma_ALP[B]"] == pytest.approx(0.15, rel=0.2)
    c = (data["group"] == "C").to_numpy()
    np.testing.assert_array_equal(res.sigma[c], 0.1)
    # The analytic scale is per (observable, group). (Every group has one, so k_a and the
    # scales share a direction: compare B's units with A's.)
    scales = {g: res.observation_parameters[f"ALP[{g}]"]["scale"] for g in "ABC"}
    assert scales["B"] / scales["A"] == pytest.approx(20.0, rel=0.01)
    assert scales["A"] == pytest.approx(1.0, rel=0.05)
    assert scales["C"] == pytest.approx(1.0, rel=0.05)
    assert res.observation_parameters["ALP[C]"]["sigma"] is None
    for name, truth in TRUTH.items():
        assert res.parameters[name] == pytest.approx(truth, rel=0.05)
    assert len(res.plot().axes) == 1


# -- parameters at a bound ------------------------------------------------------------------------
def test_parameter_at_a_bound_is_flagged(model, protocols):
    data = noisy(model, protocols, ["ALP"], 0.05).assign(sigma=0.05)
    with pytest.warns(og.FitWarning, match=r"k_a at its upper bound \(0.5\)"):
        res = fit(model, data, protocols, estimate={"k_a": (0.01, 0.5), "d_a": (0.05, 5.0)})
    assert res.at_bounds == {"k_a": "upper"}
    assert res.parameters["k_a"] == pytest.approx(0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", og.FitWarning)
        free = fit(model, data, protocols)
    assert free.at_bounds == {}


# -- identifiability: standard errors and profiles ------------------------------------------------
@pytest.fixture(scope="module")
def with_unobserved(model, protocols):
    """k_z drives Z, which no data row observes: not identifiable."""
    data = noisy(model, protocols, ["ALP"], 0.05, reps=1).assign(sigma=0.05)
    return fit(model, data, protocols, estimate={**BOUNDS, "k_z": (0.01, 100.0)})


def test_standard_error_of_a_parameter_without_effect_is_nan(with_unobserved):
    res = with_unobserved
    assert not res.jacobian[:, 2].any()  # k_z does not touch the residuals
    with pytest.warns(og.FitWarning, match="k_z: the residuals do not depend on it"):
        se = res.standard_errors()
    assert np.isnan(se["k_z"])
    assert set(res.standard_error_notes) == {"k_z"}
    # The identifiable parameters keep their Gauss-Newton standard errors (log10 units).
    J = res.jacobian[:, :2]
    expect = np.sqrt(np.diag(np.linalg.inv(J.T @ J)))
    np.testing.assert_allclose([se["k_a"], se["d_a"]], expect, rtol=1e-8)
    assert 0 < se["k_a"] < 0.05


def test_open_profile_interval_is_flagged(with_unobserved):
    with pytest.warns(og.FitWarning, match=r"open 0.95 profile-likelihood interval for k_z "
                                           r"\(lower and upper\)"):
        ci = with_unobserved.confidence_intervals(names=["k_z"], threads=1)
    row = ci.loc["k_z"]
    assert row["lower_open"] and row["upper_open"] and row["open"]
    assert row["lower"] == pytest.approx(0.01) and row["upper"] == pytest.approx(100.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", og.FitWarning)
        closed = with_unobserved.confidence_intervals(names=["k_a"], threads=1)
    assert not closed.loc["k_a", "open"]
    assert closed.loc["k_a", "lower"] < TRUTH["k_a"] < closed.loc["k_a", "upper"]


def test_fisher_standard_errors_on_constructed_jacobians():
    rng = np.random.default_rng(0)
    a, b, c = rng.standard_normal((3, 50))
    names = ["a", "b", "c"]
    # Well conditioned: the usual sqrt(diag((J^T J)^-1)).
    J = np.column_stack([a, b, c])
    se, notes = fisher_standard_errors(J, names)
    np.testing.assert_allclose(se, np.sqrt(np.diag(np.linalg.inv(J.T @ J))), rtol=1e-10)
    assert notes == {}
    # Two nearly collinear columns (the k_min): the pseudo-inverse gives a tiny,
    # meaningless number; here both get NaN with the reason, the third keeps its error.
    J = np.column_stack([a, a + 1e-9 * b, c])
    old = np.sqrt(np.abs(np.diag(np.linalg.pinv(J.T @ J))))
    assert np.all(np.isfinite(old[:2]))
    se, notes = fisher_standard_errors(J, names)
    assert np.isnan(se[0]) and np.isnan(se[1]) and np.isfinite(se[2])
    assert "near-null direction" in notes["a"] and "together with b" in notes["a"]
    assert f"threshold {REL_EIGENVALUE:g}" in notes["b"]
    se, notes = fisher_standard_errors(np.column_stack([a, np.zeros(50), c]), names)
    assert np.isnan(se[1]) and np.isfinite(se[[0, 2]]).all()
    assert "do not depend" in notes["b"]
    se, notes = fisher_standard_errors(np.full((5, 3), np.nan), names)
    assert np.isnan(se).all() and len(notes) == 3


# -- bounds of observation parameters: log-normal never fails from its defaults -------------------
def test_lognormal_with_estimated_offset_never_fails_from_defaults(model, protocols):
    # The issue: offset bounds (-1000, 1000) under log-normal noise made 6 of 8 starts fail with
    # "log-normal noise for 'ALP' needs positive predictions".
    data = noisy(model, protocols, ["ALP"], 0.1, noise="lognormal").assign(sigma=0.1)
    data["value"] = 5.0 * data["value"] + 2.0
    obs = Observation(scale="estimate", offset="estimate", noise="lognormal")
    res = fit(model, data, protocols, observations=obs, n_starts=8)
    assert (res.starts["status"] != "failed").all(), res.starts[["status", "message"]]
    assert np.isfinite(res.starts["cost"]).all()
    pb = res.problem
    ks, ko = pb.names.index("scale_ALP"), pb.names.index("offset_ALP")
    y = data["value"].to_numpy()
    # Offset in [1e-3 min(data), max(data)]: never negative; scale positive, spanning 10^+-3
    # around max|data| / max|model|, which contains the true scale 5.
    assert pb.p_lo[ko] == pytest.approx(1e-3 * y.min()) and pb.p_hi[ko] == pytest.approx(y.max())
    assert 0 < pb.p_lo[ks] < 5.0 < pb.p_hi[ks]
    assert pb.p_hi[ks] / pb.p_lo[ks] == pytest.approx(1e6)
    # (scale and k_a share a direction, so compare the fit, not the scale: residuals ~ N(0, 1).)
    assert np.sqrt(np.mean(res.residuals ** 2)) < 1.2
    # The old default bounds fail starts on the same problem (what the test guards against).
    old = Observation(scale="estimate", offset="estimate", noise="lognormal",
                      scale_bounds=(1e-3, 1e3), offset_bounds=(-1e3, 1e3))
    res_old = fit(model, data, protocols, observations=old, n_starts=8)
    assert (res_old.starts["status"] == "failed").sum() >= 2
    assert "needs positive predictions" in " ".join(res_old.starts["message"])


def test_additive_offset_and_scale_bounds(model, protocols):
    data = noisy(model, protocols, ["ALP"], 0.02).assign(sigma=0.02)
    data["value"] = 300.0 * data["value"] - 10.0
    data["sigma"] = 300.0 * 0.02
    obs = Observation(scale="estimate", offset="estimate")
    res = fit(model, data, protocols, observations=obs)
    pb = res.problem
    ymax = np.abs(data["value"]).max()
    ko, ks = pb.names.index("offset_ALP"), pb.names.index("scale_ALP")
    assert (pb.p_lo[ko], pb.p_hi[ko]) == (pytest.approx(-2 * ymax), pytest.approx(2 * ymax))
    assert pb.p_lo[ks] < 300.0 < pb.p_hi[ks]
    assert (res.starts["status"] != "failed").all()
    assert np.sqrt(np.mean(res.residuals ** 2)) < 1.2

"""Acceptance (issue 11): a fold-change-vs-day-0 fit of OCN, ALP and calcium with the default
osteogenic model runs without error on synthetic data and recovers the truth within 10 %, both as
reference_time = 0 rows and as Observation.fold("day0") (then with the noise SD estimated)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import osteogrn as og

MARKERS = ("ALP", "OCN", "calcium")
# One parameter acting on each marker: ALP turnover, the basal OCN expression of undifferentiated
# cells (what OCN's fold change over day 0 is measured against), the mineralisation rate.
TRUTH = {"d_alp": 0.35, "o_basal": 0.4, "k_min": 1.5}
BOUNDS = {"d_alp": (0.05, 5.0), "o_basal": (0.05, 3.0), "k_min": (0.1, 10.0)}
TIMES = [3.0, 7.0, 10.0, 14.0, 21.0]
CV = 0.05


@pytest.fixture(scope="module")
def model() -> og.Model:
    return og.load_model("osteogenic")


@pytest.fixture(scope="module")
def protocols() -> dict:
    return {"OM": og.load_protocol("osteogenic_medium"), "OM+BMP2": og.load_protocol("om_bmp2")}


@pytest.fixture(scope="module")
def fold_data(model, protocols) -> pd.DataFrame:
    """qPCR-style fold changes relative to day 0 of the same condition, triplicates with
    log-normal noise of SD 0.05 (the sigma column)."""
    truth = model.with_parameters(TRUTH)
    rng = np.random.default_rng(11)
    rows = []
    for cond, proto in protocols.items():
        res = og.simulate(truth, proto, t=[0.0, *TIMES], rtol=1e-10, atol=1e-14)
        for obs in MARKERS:
            x = res[obs]
            for t, fold in zip(TIMES, x[1:] / x[0]):
                for _ in range(3):
                    rows.append({"condition": cond, "time": t, "observable": obs,
                                 "value": float(fold * np.exp(CV * rng.standard_normal())),
                                 "sigma": CV, "reference_time": 0.0})
    return pd.DataFrame(rows)


def test_markers_are_positive_at_day0_and_the_truth_is_not_the_file(model, protocols):
    for cond, proto in protocols.items():
        res = og.simulate(model, proto, t=[0.0, 21.0])
        for obs in MARKERS:
            assert res[obs][0] > 0, (cond, obs)
            assert res[obs][1] / res[obs][0] > 1.5, (cond, obs)  # a real fold change
    for name, truth in TRUTH.items():
        assert abs(model.parameters[name] - truth) / truth > 0.15, name


def test_fold_change_vs_day0_rows_recover_the_truth(model, protocols, fold_data):
    with warnings.catch_warnings():
        warnings.simplefilter("error", og.FitWarning)  # nothing to warn about
        res = og.fit(model, fold_data, protocols, estimate=BOUNDS, observations="lognormal",
                     n_starts=4, seed=2, threads=2, progress=False)
    assert (res.starts["status"] != "failed").all()
    for name, truth in TRUTH.items():
        assert res.parameters[name] == pytest.approx(truth, rel=0.10), name
    assert res.at_bounds == {}
    se = res.standard_errors()
    assert all(np.isfinite(v) and v > 0 for v in se.values())


def test_observation_fold_day0_with_estimated_noise(model, protocols, fold_data):
    data = fold_data.drop(columns=["sigma", "reference_time"])
    with pytest.warns(og.FitWarning, match="sigma_ALP, sigma_OCN, sigma_calcium"):
        res = og.fit(model, data, protocols, estimate=BOUNDS,
                     observations=og.Observation.fold("day0"), n_starts=4, seed=2, threads=2,
                     progress=False)
    assert (res.starts["status"] != "failed").all()
    for name, truth in TRUTH.items():
        assert res.parameters[name] == pytest.approx(truth, rel=0.10), name
    for obs in MARKERS:  # 30 points each: the ML noise SD within 30 % of 0.05
        assert res.parameters[f"sigma_{obs}"] == pytest.approx(CV, rel=0.3), obs

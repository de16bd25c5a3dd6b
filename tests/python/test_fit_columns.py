"""The data-table columns reference_condition / reference_time (ratio rows, scale-free) and group
(observation parameters per observable and group): parsing, errors, the objective and its
Jacobian, and fold-change-vs-day-0 fits that run out of the box."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import osteogrn as og
from conftest import DATA
from osteogrn.fitting import DataError, FitData, Observation, simulate_data
from osteogrn.fitting.fit import make_problem

TIGHT = {"rtol": 1e-10, "atol": 1e-14}


@pytest.fixture(scope="module")
def model() -> og.Model:
    return og.load_model(DATA / "models" / "fit_basal.json")


def _proto(name, dex, duration=21):
    return og.Protocol(name, duration, components={"dex": {"concentration": dex, "unit": "nM"}})


@pytest.fixture(scope="module")
def protocols() -> dict:
    return {"ctrl": _proto("ctrl", 0.0), "dex": _proto("dex", 100.0),
            "short": _proto("short", 10.0, duration=10)}


def table() -> pd.DataFrame:
    return pd.DataFrame({"condition": ["dex", "dex", "ctrl", "dex"],
                         "time": [7.0, 14.0, 14.0, 21.0],
                         "observable": ["ALP", "ALP", "calcium", "RUNX"],
                         "value": [2.0, 3.0, 1.5, 0.8],
                         "reference_condition": [None, "ctrl", None, ""],
                         "reference_time": [0.0, None, None, None],
                         "group": ["s1", "s1", None, "s2"]})


# -- parsing and errors -------------------------------------------------------------------------
def test_reference_and_group_columns_parse(model, protocols):
    d = FitData(table(), model, protocols)
    assert d.reference(0) == ("dex", 0.0)       # reference_time only: same condition
    assert d.reference(1) == ("ctrl", 14.0)     # reference_condition only: same day
    assert d.reference(2) is None and d.reference(3) is None   # empty cells: plain rows
    assert list(d.groups) == ["s1", "s1", "", "s2"]
    assert d.conditions == ["dex", "ctrl"]
    # sigma may be empty for some rows; those rows have none.
    d = FitData(table().assign(sigma=[0.1, None, 0.2, None]), model, protocols)
    np.testing.assert_array_equal(np.isnan(d.sigma_values()), [False, True, False, True])
    assert not d.has_sigma


@pytest.mark.parametrize("edit, column, value, row", [
    (lambda d: d.assign(reference_condition=[None, "no_such", None, None]),
     "reference_condition", "no_such", 1),
    (lambda d: d.assign(reference_time=[0.0, -2.0, None, None]), "reference_time", -2.0, 1),
    (lambda d: d.assign(reference_time=[0.0, None, 30.0, None]), "reference_time", 30.0, 2),
    (lambda d: d.assign(reference_time=[0.0, "soon", None, None]), "reference_time", "soon", 1),
    # The reference day (the row's own, 14) lies beyond the 10-day reference condition.
    (lambda d: d.assign(reference_condition=[None, "short", None, None]),
     "reference_condition", "short", 1),
    (lambda d: d.assign(reference_condition=["short", None, None, None],
                        reference_time=[12.0, None, None, None]), "reference_time", 12.0, 0),
    (lambda d: d.assign(sigma=[0.1, "wide", None, None]), "sigma", "wide", 1),
    (lambda d: d.assign(sigma=[0.1, -1.0, None, None]), "sigma", -1.0, 1),
])
def test_bad_reference_columns_name_column_row_and_value(model, protocols, edit, column, value,
                                                         row):
    with pytest.raises(DataError) as info:
        FitData(edit(table()), model, protocols)
    err = info.value
    assert (err.column, err.row, err.value) == (column, row, value)
    assert repr(column) in str(err) and f"row {row}" in str(err)


# -- the objective -------------------------------------------------------------------------------
def test_ratio_rows_are_scale_free_and_exact_at_the_truth(model, protocols):
    """Plain rows in arbitrary units (x 7) with an analytic scale next to exact ratio rows: at the
    true parameters every residual vanishes, and the scale is the plain rows' alone."""
    res = {c: og.simulate(model, protocols[c], t=[0, 7, 14], **TIGHT) for c in ("ctrl", "dex")}
    alp = {c: r["ALP"] for c, r in res.items()}
    rows = [("dex", 7.0, 7.0 * alp["dex"][1], None, None),
            ("dex", 14.0, 7.0 * alp["dex"][2], None, None),
            ("dex", 14.0, alp["dex"][2] / alp["dex"][0], None, 0.0),       # vs day 0
            ("dex", 7.0, alp["dex"][1] / alp["ctrl"][1], "ctrl", None),    # vs ctrl, same day
            ("dex", 14.0, alp["dex"][2] / alp["ctrl"][0], "ctrl", 0.0)]    # vs ctrl day 0
    data = pd.DataFrame(rows, columns=["condition", "time", "value", "reference_condition",
                                       "reference_time"]).assign(observable="ALP", sigma=0.1)
    pb = make_problem(model, data, protocols, ["k_a"], Observation(scale="analytic"), True,
                      "fd", 1e-4, TIGHT)
    assert pb.names == ["k_a"]
    assert list(pb.times["ctrl"]) == [0.0, 7.0]     # the reference condition is simulated
    z = pb.to_z(np.array([model.parameters["k_a"]]))
    r, _, pred, solved = pb.residuals(z, pb.simulate(z, False)[0], None)
    np.testing.assert_allclose(r, 0.0, atol=1e-6)
    assert solved["ALP"][0] == pytest.approx(7.0, rel=1e-7)
    assert alp["dex"][2] / alp["dex"][0] > 2.0    # real fold changes, not 1
    # An estimated scale exists only for plain rows: a table of ratio rows has none.
    pb = make_problem(model, data.iloc[2:], protocols, ["k_a"], Observation(scale="estimate"),
                      True, "fd", 1e-4, TIGHT)
    assert pb.names == ["k_a"]


def _jacobian_data(model, protocols):
    truth = model.with_parameters(k_a=0.9, d_a=0.35, K_dex=20.0)
    d = simulate_data(truth, {"ctrl": protocols["ctrl"], "dex": protocols["dex"]},
                      [3, 7, 14, 21], ["ALP", "calcium", "RUNX"], cv=0.1, seed=7, replicates=2)
    d["group"] = np.where(d["replicate"] == 1, "lab1", "lab2")
    d.loc[d["group"] == "lab2", "value"] *= 5.0
    # Half of lab1's sigma is missing (estimated); lab2 has none; ratio rows for calcium.
    miss = (d["group"] == "lab2") | ((d["group"] == "lab1") & (d["time"] > 5))
    d.loc[miss, "sigma"] = np.nan
    cal = d["observable"] == "calcium"
    d["reference_time"] = np.where(cal & (d["condition"] == "dex"), 0.0, np.nan)
    d["reference_condition"] = np.where(cal & (d["condition"] == "ctrl"), "dex", None)
    return d


@pytest.mark.parametrize("case", ["additive", "lognormal"])
def test_jacobian_with_groups_ratio_rows_and_estimated_sigma(model, protocols, case):
    """The sensitivity Jacobian, including d/d sigma through the weights of an analytic scale
    where given and estimated sigmas mix, equals central differences of the residuals."""
    data = _jacobian_data(model, protocols)
    if case == "additive":
        obs = {"ALP": Observation(scale="analytic", offset="analytic"),
               "calcium": Observation(scale="estimate", sigma="estimate"),
               "RUNX": Observation(scale="estimate", offset="estimate")}
    else:
        obs = {"ALP": Observation(scale="analytic", noise="lognormal"),
               "calcium": Observation(noise="lognormal", sigma="estimate"),
               "RUNX": Observation(scale="estimate", offset="estimate", noise="lognormal")}
    pb = make_problem(model, data, protocols, {"k_a": (0.05, 5.0), "d_a": (0.05, 5.0),
                                               "K_dex": (1.0, 100.0)},
                      obs, True, "sensitivities", 1e-4, TIGHT)
    sig = [n for n in pb.names if n.startswith("sigma_")]
    assert sig == ["sigma_ALP[lab1]", "sigma_ALP[lab2]", "sigma_calcium[lab1]",
                   "sigma_calcium[lab2]", "sigma_RUNX[lab1]", "sigma_RUNX[lab2]"]
    # calcium has only ratio rows: scale-free, so no scale parameter even where one is asked for.
    assert not any(n.startswith("scale_calcium") for n in pb.names)
    assert "scale_RUNX[lab1]" in pb.names and "offset_RUNX[lab2]" in pb.names
    assert pb.n_res == len(data) + len(sig)
    p = []
    for n in pb.names:
        k = pb.names.index(n)
        p.append(np.sqrt(pb.p_lo[k] * pb.p_hi[k]) if pb.log[k] else
                 0.3 * pb.p_lo[k] + 0.7 * pb.p_hi[k])
    p[:3] = [0.7, 0.5, 15.0]
    z = pb.to_z(np.array(p))
    X, S, _ = pb.simulate(z, True)
    r, J, _, _ = pb.residuals(z, X, S)
    assert np.all(np.isfinite(r)) and np.all(np.isfinite(J))
    cols = []
    for i in range(pb.n):
        h = 1e-5 * max(1.0, abs(z[i]))
        zp, zm = z.copy(), z.copy()
        zp[i] += h
        zm[i] -= h
        cols.append((pb.residuals(zp, pb.simulate(zp, False)[0], None)[0]
                     - pb.residuals(zm, pb.simulate(zm, False)[0], None)[0]) / (2 * h))
    J_fd = np.stack(cols, axis=1)
    col = np.abs(J_fd).max(axis=0)
    assert np.all(col > 0)
    np.testing.assert_allclose(J / col, J_fd / col, atol=1e-5, rtol=0)
    # The extra residuals carry the N log(sigma) terms: 1/2 r^2 = N ln(sigma) + const.
    k = pb.names.index("sigma_ALP[lab2]")
    n = int(((data["observable"] == "ALP") & (data["group"] == "lab2")).sum())
    zp = z.copy()
    zp[k] += 1.0                                   # sigma x 10
    rp = pb.residuals(zp, X, None)[0]
    extra = len(data) + sig.index("sigma_ALP[lab2]")
    assert 0.5 * (rp[extra] ** 2 - r[extra] ** 2) == pytest.approx(n * np.log(10.0))


# -- fold change relative to day 0 fits out of the box --------------------------------------------
TRUTH = {"k_a": 1.2, "d_a": 0.4, "k_c": 0.3}
BOUNDS = {"k_a": (0.05, 10.0), "d_a": (0.05, 5.0), "k_c": (0.01, 5.0)}


@pytest.fixture(scope="module")
def fold_data(model, protocols):
    """Every observable as a fold change relative to day 0 of its condition, log-normal noise of
    SD 0.08, no sigma column (what a lab's qPCR table looks like)."""
    truth = model.with_parameters(TRUTH)
    sims = {c: og.simulate(truth, protocols[c], t=[0, 3, 7, 10, 14, 21], **TIGHT)
            for c in ("ctrl", "dex")}
    rng = np.random.default_rng(12)
    rows = []
    for c, res in sims.items():
        for obs in ("ALP", "calcium", "RUNX"):
            x = res[obs]
            for t, v in zip(res.t[1:], x[1:] / x[0]):
                for _ in range(3):
                    rows.append({"condition": c, "time": float(t), "observable": obs,
                                 "value": float(v * np.exp(0.08 * rng.standard_normal())),
                                 "reference_time": 0.0})
    return pd.DataFrame(rows)


def test_fold_change_vs_day0_rows_fit_out_of_the_box(model, protocols, fold_data):
    with pytest.warns(og.FitWarning, match="sigma_ALP, sigma_calcium, sigma_RUNX"):
        res = og.fit(model, fold_data, protocols, estimate=BOUNDS, observations="lognormal",
                     n_starts=4, seed=1, threads=2, progress=False)
    assert (res.starts["status"] != "failed").all()
    for name, truth in TRUTH.items():
        assert res.parameters[name] == pytest.approx(truth, rel=0.10), name
    for obs in ("ALP", "calcium", "RUNX"):
        assert res.parameters[f"sigma_{obs}"] == pytest.approx(0.08, rel=0.3), obs
    # The same fit through Observation.fold("day0") (no reference column) gives the same optimum.
    plain = fold_data.drop(columns="reference_time")
    with warnings.catch_warnings():
        warnings.simplefilter("error", og.FitWarning)
        res2 = og.fit(model, plain, protocols, estimate=BOUNDS,
                      observations=Observation.fold("day0", sigma="estimate"), n_starts=4,
                      seed=1, threads=2, progress=False)
    for name in res.parameters:
        assert res2.parameters[name] == pytest.approx(res.parameters[name], rel=1e-3), name
    assert len(res.plot().axes) == 3

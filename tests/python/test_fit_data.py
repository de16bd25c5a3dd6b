"""Bad data tables and bad fit options raise osteogrn errors naming the column and value."""

from __future__ import annotations

import pandas as pd
import pytest

import osteogrn as og
from conftest import DATA
from osteogrn.fitting import DataError, FitData


@pytest.fixture(scope="module")
def model() -> og.Model:
    return og.load_model("osteogenic")


def good() -> pd.DataFrame:
    return pd.DataFrame({"condition": ["osteogenic_medium", "om_bmp2", "osteogenic_medium"],
                         "time": [7.0, 14.0, 21.0], "observable": ["ALP", "OCN", "mineral"],
                         "value": [0.4, 2.0, 3.0], "sigma": [0.1, 0.2, 0.3]})


def test_good_table_parses(model, tmp_path):
    d = FitData(good(), model)
    assert d.conditions == ["osteogenic_medium", "om_bmp2"]
    assert d.observables == ["ALP", "OCN", "mineral"]
    assert d.protocols["om_bmp2"].name == "om_bmp2"
    path = tmp_path / "d.csv"
    good().to_csv(path, index=False)
    assert len(FitData(path, model)) == 3
    assert issubclass(DataError, og.OsteogrnError) and issubclass(DataError, ValueError)
    assert og.DataError is DataError


@pytest.mark.parametrize("edit, column, value", [
    (lambda d: d.drop(columns="value"), "value", None),
    (lambda d: d.drop(columns="condition"), "condition", None),
    (lambda d: d.assign(condition=["osteogenic_medium", "no_such_medium", "om_bmp2"]),
     "condition", "no_such_medium"),
    (lambda d: d.assign(observable=["ALP", "Alizarin", "OCN"]), "observable", "Alizarin"),
    (lambda d: d.assign(time=[7.0, -1.0, 3.0]), "time", -1.0),
    (lambda d: d.assign(time=[7.0, 14.0, 30.0]), "time", 30.0),
    (lambda d: d.assign(value=[0.4, float("nan"), 3.0]), "value", None),
    (lambda d: d.assign(value=[0.4, "high", 3.0]), "value", "high"),
    (lambda d: d.assign(time=[7.0, None, 3.0]), "time", None),
    (lambda d: d.assign(sigma=[0.1, 0.0, 0.3]), "sigma", 0.0),
    (lambda d: d.assign(condition=["osteogenic_medium", None, "om_bmp2"]), "condition", None),
])
def test_bad_tables_name_column_and_value(model, edit, column, value):
    with pytest.raises(DataError) as info:
        FitData(edit(good()), model)
    err = info.value
    assert err.column == column
    assert repr(column) in str(err)
    if value is not None:
        assert err.value == value
        assert f"{value:g}" in str(err) if isinstance(value, float) else repr(value) in str(err)


def test_empty_and_unreadable(model, tmp_path):
    with pytest.raises(DataError, match="empty"):
        FitData(good().iloc[:0], model)
    with pytest.raises(DataError, match="does not exist"):
        FitData(tmp_path / "missing.csv", model)
    with pytest.raises(DataError, match="CSV path or a pandas DataFrame"):
        FitData([1, 2, 3], model)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="not a readable CSV"):
        FitData(empty, model)


def test_protocol_mapping(model):
    om = og.load_protocol("osteogenic_medium")
    d = good().assign(condition=["mine", "mine", "om_bmp2"])
    data = FitData(d, model, protocols={"mine": om.with_duration(14)})
    assert data.protocols["mine"].duration == 14
    # Times beyond the mapped protocol's duration are caught for that protocol.
    with pytest.raises(DataError, match="beyond the 10-day duration of condition 'mine'"):
        FitData(d.assign(time=[7.0, 14.0, 7.0]), model, protocols={"mine": om.with_duration(10)})
    with pytest.raises(DataError, match="protocols\\['mine'\\]"):
        FitData(d, model, protocols={"mine": 42})


def _fit(model, **kw):
    args = dict(estimate=["k_mat"], n_starts=1, progress=False)
    args.update(kw)
    return og.fit(model, good(), **args)


@pytest.mark.parametrize("kw, match", [
    (dict(estimate=None), "estimate must name"),
    (dict(estimate=["k_nope"]), "'k_nope'"),
    (dict(estimate={"k_mat": (0.0001, 1.0)}), "leave the model's range"),
    (dict(estimate={"k_mat": (1.0, 0.5)}), "lo < hi"),
    (dict(estimate={"w_smad": None}), "'w_smad' has lower bound 0"),
    (dict(n_starts=0), "n_starts"),
    (dict(threads=0), "threads"),
    (dict(gradient="adjoint"), "gradient"),
    (dict(rtoll=1e-6), "'rtoll'"),
    (dict(method="rk45"), "unknown method 'rk45'"),
    (dict(gradient="sensitivities", method="dopri5"), "method='dopri5'"),
    (dict(rtol=-1.0), "rtol"),
    (dict(observations={"Runx2": "scale"}), "'Runx2'"),
    (dict(observations="cubic"), "cubic"),
    (dict(observations={"ALP": {"scale": "maybe"}}), "scale"),
    (dict(observations={"ALP": {"offset": "analytic", "noise": "lognormal"}}),
     "analytic offset"),
    (dict(observations={"ALP": {"noise": "poisson"}}), "poisson"),
    (dict(observations={"ALP": {"sigma": -1}}), "sigma"),
    (dict(observations={"ALP": {"shape": 2}}), "shape"),
    (dict(observations={"ALP": og.Observation(fold_change="no_such_medium")}),
     "no_such_medium"),
])
def test_bad_options(model, kw, match):
    with pytest.raises((og.OptionError, DataError), match=match):
        _fit(model, **kw)


def test_lognormal_needs_positive_values(model):
    with pytest.raises(DataError, match="row 1") as info:
        og.fit(model, good().assign(value=[0.4, -1.0, 3.0]), estimate=["k_mat"],
               observations="lognormal", n_starts=1, progress=False)
    assert info.value.column == "value" and info.value.value == -1.0


def test_fold_change_over_zero_is_explained():
    # P is 0 at day 0 in the test model: a day-0 fold change cannot be formed; every start fails
    # and the error says why (for an Observation fold change and for a reference_time row).
    model = og.load_model(DATA / "models" / "fit_basal.json")
    proto = {"c": og.Protocol("c", 10, components={"dex": {"concentration": 100,
                                                                   "unit": "nM"}})}
    d = pd.DataFrame({"condition": ["c"], "time": [5.0], "observable": ["P"], "value": [3.0],
                      "sigma": [0.1]})
    with pytest.raises(og.OsteogrnError, match="fold change of 'P'.*day 0"):
        og.fit(model, d, proto, estimate=["k_p"], observations="fold_change",
               n_starts=2, progress=False, threads=1)
    with pytest.raises(og.OsteogrnError, match="fold change of 'P'.*day 0 of 'c'.*reference"):
        og.fit(model, d.assign(reference_time=0.0), proto, estimate=["k_p"],
               observations="lognormal", n_starts=2, progress=False, threads=1)

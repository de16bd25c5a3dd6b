"""Results carry the model's units: to_frame (attrs and the tidy unit column), JSON, pickle,
batch frames, CSV headers and plot axes."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import osteogrn as og
from osteogrn._units import unit_label, with_unit_headers

# the units grn_small.json states (an entry without "unit" is unitless)
GRN_SMALL_UNITS = {"Runx2": "au", "Sp7": "au", "ALP_act": "", "ALP": "U/L",
                   "runx2_sp7_ratio": "", "dex": "nM"}


@pytest.fixture(scope="module")
def res(small_model, dex_protocol):
    return og.simulate(small_model, dex_protocol, t=[0, 1, 2.5, 14])


def test_result_units_are_the_model_files(res, small_model):
    assert res.units == GRN_SMALL_UNITS
    assert res.time_unit == small_model.time_unit == "day"
    table = og.load_model("osteogenic")
    osteo = og.simulate(table, "osteogenic_medium", t=[0, 21])
    for name, unit in table.observable_table()["unit"].items():
        assert osteo.units[name] == unit
    for name, unit in table.input_table()["unit"].items():
        assert osteo.units[name] == unit
    assert osteo.units["ALP"] == "au" and osteo.units["bgp"] == "mM"


def test_wide_frame_attrs_units(res):
    wide = res.to_frame()
    assert wide.attrs["units"] == {"t": "day", **GRN_SMALL_UNITS}
    assert list(wide.columns) == res.names  # the data columns are unchanged
    only = res.to_frame(kinds=["input"])
    assert only.attrs["units"] == {"t": "day", "dex": "nM"}


def test_tidy_frame_has_a_unit_column(res):
    tidy = res.to_frame(tidy=True)
    assert tidy.attrs["units"] == {"time": "day"}
    for name, unit in GRN_SMALL_UNITS.items():
        assert set(tidy[tidy.name == name].unit) == {unit}, name


def test_units_round_trip_through_json_and_pickle(res):
    for again in (og.Result.from_json(res.to_json()), pickle.loads(pickle.dumps(res))):
        assert again.units == res.units and again.time_unit == res.time_unit
        assert again.to_frame().attrs == res.to_frame().attrs
    assert json.loads(res.to_json())["units"]["ALP"] == "U/L"


def test_result_written_before_units_reads_without_them(res):
    data = json.loads(res.to_json())
    del data["units"], data["time_unit"]
    old = og.Result.from_json(json.dumps(data))
    assert old.units == {} and old.time_unit == "day"
    assert old.to_frame().attrs["units"]["ALP"] == ""
    state = dict(res.__dict__)
    del state["units"], state["time_unit"]
    unpickled = og.Result.__new__(og.Result)
    unpickled.__setstate__(state)  # what pickle does with a Result pickled before units
    assert unpickled.units == {} and unpickled.time_unit == "day"


def test_batch_frame_units(small_model, dex_protocol):
    batch = og.simulate_batch(small_model, dex_protocol, [{"k_alp": 0.2}, {"k_alp": 0.4}],
                              t=[0, 7, 14])
    assert batch.units == {n: GRN_SMALL_UNITS[n] for n in batch.output_names}
    frame = batch.to_frame()
    assert frame.attrs["units"] == {"time": "day"}
    for name in batch.output_names:
        assert set(frame[frame.name == name].unit) == {GRN_SMALL_UNITS[name]}, name
    assert len(frame) == 2 * 3 * len(batch.output_names)
    again = pickle.loads(pickle.dumps(batch))
    assert again.units == batch.units


def test_unit_headers():
    assert unit_label("ALP", "au") == "ALP [au]" and unit_label("ratio", "") == "ratio"
    import pandas as pd
    frame = pd.DataFrame({"ALP": [1.0], "ratio": [2.0]}, index=pd.Index([0.0], name="time"))
    frame.attrs["units"] = {"time": "day", "ALP": "au", "ratio": ""}
    out = with_unit_headers(frame)
    assert list(out.columns) == ["ALP [au]", "ratio"] and out.index.name == "time [day]"
    assert list(frame.columns) == ["ALP", "ratio"]  # a copy: the frame keeps its names


def _labels(fig):
    axes = [ax for ax in fig.axes if ax.get_visible()]
    return [(ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) for ax in axes]


def test_plot_axes_name_units(res, small_model, dex_protocol):
    assert _labels(res.plot(["ALP", "dex", "ALP_act"])) == [
        ("ALP", "time [day]", "ALP [U/L]"), ("dex", "time [day]", "dex [nM]"),
        ("ALP_act", "time [day]", "")]
    batch = og.simulate_batch(small_model, dex_protocol, [{"k_alp": 0.2}, {"k_alp": 0.4}])
    assert _labels(batch.plot_quantiles(["ALP", "Runx2"])) == [
        ("ALP", "time [day]", "ALP [U/L]"), ("Runx2", "time [day]", "Runx2 [au]")]


def test_fit_plot_axes_name_units(small_model, dex_protocol):
    import warnings
    from osteogrn.fitting import simulate_data
    data = simulate_data(small_model, {"dex": dex_protocol}, [3, 6, 9], ["ALP", "Runx2"],
                         cv=0.05, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", og.FitWarning)
        fit = og.fit(small_model, data, protocols={"dex": dex_protocol},
                     estimate={"k_alp": (0.1, 1.0)}, n_starts=1, progress=False)
    labels = _labels(fit.plot())
    assert labels == [("ALP", "time [day]", "ALP [U/L]"), ("Runx2", "time [day]", "Runx2 [au]")]
    assert np.isfinite(fit.cost)

"""og.sweep: grids of protocol edits and parameters, reduced to readouts, against direct runs."""

import numpy as np
import pandas as pd
import pytest

import osteogrn as og
from osteogrn.design.sweep import sweep

READOUTS = ["mineral@21", "max(ALP)", "argmax(ALP)", "time_to(mineral, 0.5)",
            "auc(OCN, 0, 21)"]


@pytest.fixture(scope="module")
def model():
    return og.load_model("osteogenic")


@pytest.fixture(scope="module")
def om_bmp2():
    return og.load_protocol("om_bmp2")


def _direct(model, protocol, t, readouts, parameters=None):
    """Readouts of one direct og.simulate run at the sweep's sample times."""
    res = og.simulate(model, protocol, t=t, parameters=parameters)
    out = {}
    for text in readouts:
        r = og.Readout(text)
        out[text] = float(r.evaluate(res.t, {o: res[o] for o in r.outputs}))
    return out


@pytest.fixture(scope="module")
def grid_20x3(model, om_bmp2):
    doses = np.geomspace(1.0, 1000.0, 20)
    return doses, sweep(model, om_bmp2, {"bmp2.concentration": doses,
                                         "media_changes.every": [2, 3, 4]},
                        readouts=READOUTS)


def test_20x3_sweep_equals_direct_runs(model, grid_20x3):
    doses, frame = grid_20x3
    assert len(frame) == 60
    assert list(frame.columns) == ["bmp2.concentration", "media_changes.every", "protocol",
                                   *READOUTS, "status", "message"]
    # product order: the last axis fastest
    np.testing.assert_array_equal(frame["bmp2.concentration"], np.repeat(doses, 3))
    np.testing.assert_array_equal(frame["media_changes.every"], np.tile([2, 3, 4], 20))
    assert (frame["status"] == "success").all() and (frame["message"] == "").all()
    assert frame["protocol"].is_unique
    assert frame["protocol"].iloc[4] == \
        f"om_bmp2[bmp2.concentration={doses[1]:.12g},media_changes.every=3]"
    t = frame.attrs["t"]
    assert 21.0 in t and np.allclose(np.diff(t), 0.1)   # the default 0.1-day grid
    for i, row in frame.iterrows():
        protocol = frame.attrs["protocols"][row["protocol"]]
        assert protocol.components["bmp2"]["concentration"] == row["bmp2.concentration"]
        assert protocol.media_changes == {"every": row["media_changes.every"]}
        direct = _direct(model, protocol, t, READOUTS)
        for text in READOUTS:
            np.testing.assert_allclose(row[text], direct[text], rtol=1e-12, atol=0,
                                       err_msg=f"row {i} {text}")
    # the sweep varies something: more BMP2 (fed every 3 days) gives more OCN in this model
    assert frame["auc(OCN, 0, 21)"].iloc[-2] > frame["auc(OCN, 0, 21)"].iloc[1]


def test_units_and_protocols_attrs(model, grid_20x3):
    _, frame = grid_20x3
    units = frame.attrs["units"]
    assert units["bmp2.concentration"] == "ng/mL"
    assert units["media_changes.every"] == "day"
    assert units["mineral@21"] == model.observable_table()["unit"]["mineral"]
    assert units["argmax(ALP)"] == "day"
    assert len(frame.attrs["protocols"]) == 60
    assert [r.text for r in frame.attrs["readouts"]] == READOUTS


def test_point_readouts_sample_only_their_days(model, om_bmp2):
    frame = sweep(model, om_bmp2, {"bmp2.concentration": [10, 100]},
                  readouts=["mineral@21", "ALP@7"])
    assert frame.attrs["t"].tolist() == [7.0, 21.0]
    for _, row in frame.iterrows():
        direct = _direct(model, frame.attrs["protocols"][row["protocol"]], [7.0, 21.0],
                         ["mineral@21", "ALP@7"])
        assert row["mineral@21"] == direct["mineral@21"] and row["ALP@7"] == direct["ALP@7"]


def test_zip_mode_with_mixed_axes(model, om_bmp2):
    doses = [3.0, 30.0, 300.0]
    k = model.parameters["k_commit"]
    ks = [k * 0.8, k, k * 1.25]
    frame = sweep(model, om_bmp2, {"bmp2.concentration": doses, "parameters.k_commit": ks},
                  readouts=["mineral@21", "max(ALP)"], mode="zip")
    assert len(frame) == 3
    assert frame["parameters.k_commit"].tolist() == ks
    # a parameter path does not rename the protocol
    assert frame["protocol"].iloc[0] == "om_bmp2[bmp2.concentration=3]"
    for _, row in frame.iterrows():
        direct = _direct(model, frame.attrs["protocols"][row["protocol"]], frame.attrs["t"],
                         ["mineral@21", "max(ALP)"],
                         parameters={"k_commit": row["parameters.k_commit"]})
        np.testing.assert_allclose(row["mineral@21"], direct["mineral@21"], rtol=1e-12)
        np.testing.assert_allclose(row["max(ALP)"], direct["max(ALP)"], rtol=1e-12)
    with pytest.raises(og.OptionError, match="equal length"):
        sweep(model, om_bmp2, {"bmp2.concentration": [1, 2], "parameters.k_commit": [k]},
              mode="zip", readouts="mineral@21")


def test_parameter_axis_is_one_protocol(model, om_bmp2):
    k = model.parameters["k_commit"]
    frame = sweep(model, om_bmp2, {"parameters.k_commit": [k * 0.5, k, k * 2]},
                  readouts="mineral@21")
    assert frame["protocol"].tolist() == ["om_bmp2"] * 3
    assert list(frame.attrs["protocols"]) == ["om_bmp2"]
    for _, row in frame.iterrows():
        res = og.simulate(model, om_bmp2, t=[21.0],
                          parameters={"k_commit": row["parameters.k_commit"]})
        assert row["mineral@21"] == res["mineral"][-1]
    assert frame["mineral@21"].nunique() == 3


def test_bad_points_give_nan_and_status_others_fine(model, om_bmp2):
    k = model.parameters["k_commit"]
    frame = sweep(model, om_bmp2, {"bmp2.concentration": [10.0, -5.0, 100.0]},
                  readouts=["mineral@21"])
    assert frame["status"].tolist() == ["success", "invalid", "success"]
    assert np.isnan(frame["mineral@21"].iloc[1])
    assert "concentration" in frame["message"].iloc[1]
    assert np.isfinite(frame["mineral@21"].iloc[[0, 2]]).all()
    lo = model.parameter_table().loc["k_commit", "min"]
    bad = lo - 1.0 if lo is not None and np.isfinite(lo) else float("nan")
    frame = sweep(model, om_bmp2, {"parameters.k_commit": [k, bad]}, readouts="mineral@21")
    assert frame["status"].tolist() == ["success", "invalid"]
    assert "parameters.k_commit" in frame["message"].iloc[1]
    assert np.isnan(frame["mineral@21"].iloc[1]) and np.isfinite(frame["mineral@21"].iloc[0])


def test_integration_failure_is_one_row(model, om_bmp2):
    # A step limit between the step counts of a 1-day and a 21-day run: the long run fails
    # with max_steps, alone.
    steps = [og.simulate(model, om_bmp2.with_duration(d), t=[1.0]).stats["steps"]
             for d in (1.0, 21.0)]
    assert steps[0] < steps[1]
    frame = sweep(model, om_bmp2, {"duration": [1.0, 21.0]}, readouts=["mineral@1"],
                  max_steps=(steps[0] + steps[1]) // 2)
    short, long_ = frame.iloc[0], frame.iloc[1]
    assert short["status"] == "success" and np.isfinite(short["mineral@1"])
    assert long_["status"] == "max_steps" and np.isnan(long_["mineral@1"])
    assert long_["message"] != ""


def test_unknown_path_and_readout_errors(model, om_bmp2):
    with pytest.raises(og.OptionError, match="unknown path 'bmp2.dose'"):
        sweep(model, om_bmp2, {"bmp2.dose": [1, 2]}, readouts="mineral@21")
    with pytest.raises(og.OptionError, match="no component 'bmp4'"):
        sweep(model, om_bmp2, {"bmp4.concentration": [1, 2]}, readouts="mineral@21")
    with pytest.raises(og.OptionError, match="no parameter 'k_nope'"):
        sweep(model, om_bmp2, {"parameters.k_nope": [1, 2]}, readouts="mineral@21")
    with pytest.raises(og.OptionError, match="no output 'minerl'"):
        sweep(model, om_bmp2, {"bmp2.concentration": [1]}, readouts="minerl@21")
    with pytest.raises(og.OptionError, match="outside every protocol"):
        sweep(model, om_bmp2, {"bmp2.concentration": [1]}, readouts="mineral@30")
    with pytest.raises(og.OptionError, match="mode must be"):
        sweep(model, om_bmp2, {"bmp2.concentration": [1]}, readouts="mineral@21",
              mode="grid")


def test_explicit_points_and_default_readouts(model, om_bmp2):
    points = pd.DataFrame({"bmp2.concentration": [50.0, 5.0], "bmp2.until": [7.0, 14.0]})
    frame = sweep(model, om_bmp2, points)
    assert len(frame) == 2
    assert [r.text for r in frame.attrs["readouts"]] == \
        [f"{o}@21" for o in model.observables]
    p = frame.attrs["protocols"][frame["protocol"].iloc[1]]
    assert p.components["bmp2"]["until"] == 14.0
    assert p.components["bmp2"]["concentration"] == 5.0


def test_duration_axis_samples_each_run(model, om_bmp2):
    frame = sweep(model, om_bmp2, {"duration": [14, 21]}, readouts=["max(ALP)", "mineral@21"])
    assert isinstance(frame.attrs["t"], dict) and sorted(frame.attrs["t"]) == [14.0, 21.0]
    assert np.isnan(frame["mineral@21"].iloc[0])          # day 21 is past a 14-day run
    assert np.isfinite(frame["mineral@21"].iloc[1])
    assert frame["status"].tolist() == ["success", "success"]


def test_zip_runs_no_wasted_tasks(model, om_bmp2, monkeypatch):
    # zip over a protocol path and a parameter path: 4 points are 4 tasks, not the 4 x 4
    # cross product of their protocols and parameter sets.
    import sys
    module = sys.modules["osteogrn.design.sweep"]
    tasks = []
    real = module.simulate_batch

    def counting(model_, protocols, parameters=None, **kw):
        n_sets = 1 if parameters is None else len(parameters)
        tasks.append(n_sets * len(protocols))
        return real(model_, protocols, parameters=parameters, **kw)

    monkeypatch.setattr(module, "simulate_batch", counting)
    k = model.parameters["k_commit"]
    frame = sweep(model, om_bmp2, {"bmp2.concentration": [1, 10, 100, 1000],
                                   "parameters.k_commit": [k, 1.1 * k, 1.2 * k, 1.3 * k]},
                  readouts="mineral@21", mode="zip")
    assert sum(tasks) == 4 and (frame["status"] == "success").all()
    tasks.clear()
    sweep(model, om_bmp2, {"bmp2.concentration": [1, 10], "parameters.k_commit": [k, 2 * k]},
          readouts="mineral@21")
    assert tasks == [4]                      # a product grid: one batch, 2 sets x 2 protocols


def test_protocol_the_model_cannot_run_is_one_invalid_point(model, om_bmp2):
    # noggin added in a molar unit without a molar mass cannot drive the model's ng/mL input:
    # the batch refuses that protocol before it starts; the sweep isolates it.
    frame = sweep(model, om_bmp2, {"noggin.concentration": [10.0],
                                   "noggin.unit": ["ng/mL", "nM"]}, readouts="mineral@21")
    assert frame["status"].tolist() == ["success", "invalid"]
    assert "noggin" in frame["message"].iloc[1] and "nM" in frame["message"].iloc[1]
    assert np.isfinite(frame["mineral@21"].iloc[0]) and np.isnan(frame["mineral@21"].iloc[1])
    with pytest.raises(og.ProtocolError, match="noggin"):
        sweep(model, om_bmp2, {"noggin.concentration": [10.0], "noggin.unit": ["nM"]},
              readouts="mineral@21")


def test_executor_additions_and_volume_paths(model, om_bmp2):
    # An executor gives the same values as the in-process batch; additions and medium volume are
    # paths like any other (the volume changes cost, not the simulation).
    import concurrent.futures
    spiked = og.Protocol.from_json({**om_bmp2.to_dict(), "medium": {"volume": 2, "unit": "mL"},
                                    "additions": [{"day": 5, "component": "bmp2",
                                                   "concentration": 50}]})
    spiked = spiked.with_component("bmp2", price={"value": 250, "per": 10, "unit": "ug"})
    grid = {"additions.0.day": [3.0, 9.0], "additions.0.concentration": [0.0, 200.0],
            "medium.volume": [1.0, 2.0]}
    local = sweep(model, spiked, grid, readouts=["OCN@14", "mineral@21"])
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        remote = sweep(model, spiked, grid, readouts=["OCN@14", "mineral@21"], executor=pool)
    assert len(local) == 8
    np.testing.assert_array_equal(local["mineral@21"].to_numpy(), remote["mineral@21"].to_numpy())
    for _, row in local.iterrows():
        p = local.attrs["protocols"][row["protocol"]]
        assert p.additions[0]["day"] == row["additions.0.day"]
        assert p.additions[0]["concentration"] == row["additions.0.concentration"]
        direct = og.simulate(model, p, t=[0, 14, 21])
        assert row["mineral@21"] == pytest.approx(direct["mineral"][-1], rel=1e-12)
        # 7 fills of 100 ng/mL plus the spike, in the well's volume: 250 per 10 ug
        ug = (7 * 100 + row["additions.0.concentration"]) * row["medium.volume"] / 1000
        assert p.cost() == pytest.approx(25 * ug, rel=1e-12)
    # the spike's size matters, the volume does not (it only scales what is used)
    same_volume = local.groupby(["additions.0.day", "additions.0.concentration"])["mineral@21"]
    assert (same_volume.nunique() == 1).all()
    assert local.loc[local["additions.0.concentration"] == 0, "OCN@14"].nunique() == 1

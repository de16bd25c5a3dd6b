"""og.simulate_batch and BatchResult: equal to serial og.simulate bit for bit, independent of the
thread count and of the executor; failures recorded per task; input errors raised up front."""

from __future__ import annotations

import io
import pickle
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

import osteogrn as og
from conftest import gil_released_during

T = [0, 0.5, 3, 3.0001, 7.25, 14, 20, 21]
NAMES = ["K_dex", "b_runx2", "K_pi"]
# Inside the bounds (K_dex [0.1, 1000], b_runx2 [0, 10], K_pi [0.1, 50]); row 0 = the model.
SETS = np.array([[10, 0.5, 3.0], [3, 0.2, 2.0], [30, 1.5, 4.5], [100, 0.0, 1.0]])

# y' = k y^2 with y(0) = 1 blows up at t = 1/k: k >= 0.5 fails inside two days.
BLOWUP = {
    "schema": "osteogrn-model/1", "name": "blowup", "time_unit": "day", "references": {},
    "species": {"y": {"initial": 1, "unit": "au"}},
    "parameters": {"k": {"value": 0.1, "unit": "1/day", "min": 0, "max": 10,
                         "source": "assumed: test"}},
    "odes": {"y": "k * y^2"},
    "observables": {"twice": {"expression": "2 * y", "unit": "au"}},
}
TWO_DAYS = og.Protocol("two_days", 2)


@pytest.fixture(scope="module")
def model() -> og.Model:
    return og.load_model("osteogenic")


@pytest.fixture(scope="module")
def protocols() -> list:
    return [og.load_protocol(n) for n in ("osteogenic_medium", "growth_medium", "om_bmp2")]


@pytest.fixture(scope="module")
def blowup() -> og.Model:
    return og.Model.from_json(BLOWUP)


def serial_outputs(res: og.Result) -> np.ndarray:
    """[n_t, n_outputs]: species then observables, as BatchResult.values."""
    return np.hstack([res.species, res.observables])


def test_batch_equals_serial_runs_bitwise(model, protocols):
    b1 = og.simulate_batch(model, protocols, SETS, param_names=NAMES, t=T, threads=1)
    b2 = og.simulate_batch(model, protocols, SETS, param_names=NAMES, t=T, threads=2)
    assert b1.values.shape == (4, 3, len(T), len(model.species) + len(model.observables))
    assert b1.output_names == model.species + model.observables
    assert b1.protocol_names == ["osteogenic_medium", "growth_medium", "om_bmp2"]
    np.testing.assert_array_equal(b1.t, T)
    assert np.array_equal(b1.values, b2.values)
    assert not b1.failed.any() and not b2.failed.any()
    assert (b1.messages == "").all()
    for s, row in enumerate(SETS):
        for k, proto in enumerate(protocols):
            res = og.simulate(model, proto, t=T, parameters=dict(zip(NAMES, row)))
            assert np.array_equal(b1.values[s, k], serial_outputs(res)), (s, proto.name)
    # The sets differ: a batch ignoring its parameters would differ from the serial runs.
    alp = b1["ALP"]
    assert alp.shape == (4, 3, len(T))
    assert alp[0, 0, -1] != alp[3, 0, -1]
    pd.testing.assert_frame_equal(
        b1.parameters, pd.DataFrame(SETS, columns=NAMES).rename_axis("set"))


def test_all_cores_is_the_default_and_agrees(model, protocols):
    a = og.simulate_batch(model, protocols[:1], SETS[:, :1], param_names=NAMES[:1], t=T)
    b = og.simulate_batch(model, protocols[0], SETS[:, 0], param_names=["K_dex"], t=T, threads=1)
    assert np.array_equal(a.values, b.values)


def test_list_of_dicts_takes_the_union_and_model_values(model):
    om = og.load_protocol("osteogenic_medium")
    sets = [{"K_dex": 3.0}, {"b_runx2": 1.5}, {"K_dex": 30.0, "b_runx2": 0.2}]
    res = og.simulate_batch(model, om, sets, t=T, threads=2)
    assert list(res.parameters.columns) == ["K_dex", "b_runx2"]
    full = np.array([[3.0, model.parameters["b_runx2"]],
                     [model.parameters["K_dex"], 1.5],
                     [30.0, 0.2]])
    np.testing.assert_array_equal(res.parameters.to_numpy(), full)
    same = og.simulate_batch(model, om, full, param_names=["K_dex", "b_runx2"], t=T)
    assert np.array_equal(res.values, same.values)
    # A DataFrame works the same way (its columns are the names).
    frame = og.simulate_batch(model, om, pd.DataFrame(full, columns=["K_dex", "b_runx2"]), t=T)
    assert np.array_equal(frame.values, same.values)
    # Without parameters: one run of the model as it is.
    single = og.simulate_batch(model, om, t=T)
    assert single.values.shape[0] == 1
    assert np.array_equal(single.values[0, 0], serial_outputs(og.simulate(model, om, t=T)))


def test_full_parameter_vector_without_names(model):
    om = og.load_protocol("osteogenic_medium")
    base = np.array(list(model.parameters.values()))
    sets = np.vstack([base, base])
    sets[1, list(model.parameters).index("b_runx2")] = 2.0
    res = og.simulate_batch(model, om, sets, t=T)
    assert list(res.parameters.columns) == list(model.parameters)
    assert np.array_equal(res.values[0, 0], serial_outputs(og.simulate(model, om, t=T)))
    assert np.array_equal(res.values[1, 0], serial_outputs(
        og.simulate(model, om, t=T, parameters={"b_runx2": 2.0})))


def test_failed_set_is_recorded_and_others_complete(blowup):
    ks = [0.1, 1.0, 0.0, 2.0, 0.3]
    res = og.simulate_batch(blowup, TWO_DAYS, ks, param_names=["k"], max_steps=5000, threads=2)
    assert res.failed[:, 0].tolist() == [False, True, False, True, False]
    for s, k in enumerate(ks):
        serial = og.simulate(blowup, TWO_DAYS, parameters={"k": k}, max_steps=5000,
                             raise_on_failure=False)
        assert serial.success == (not res.failed[s, 0])
        assert res.messages[s, 0] == ("" if serial.success else serial.message)
        assert res.codes[s, 0] is serial.status
        assert np.array_equal(res.values[s, 0], serial_outputs(serial), equal_nan=True)
    assert "t = 0.99" in res.messages[1, 0]  # fails near the blow-up at t = 1/k
    assert np.isfinite(res.values[1, 0, :10]).all() and np.isnan(res.values[1, 0, -1]).all()
    # Closed form for a set that completed: y(2) = 1 / (1 - 2k).
    assert res["y"][4, 0, -1] == pytest.approx(1 / (1 - 0.6), rel=1e-4)
    assert "2 failed" in repr(res)


def test_protocols_of_different_lengths_pad_with_nan(model):
    om, om28 = og.load_protocol("osteogenic_medium"), og.load_protocol("om_28d")
    res = og.simulate_batch(model, [om, om28], threads=2)
    np.testing.assert_array_equal(res.t, og.simulate(model, om28).t)
    short = og.simulate(model, om)
    n = len(short.t)
    assert np.array_equal(res.values[0, 0, :n], serial_outputs(short))
    assert np.isnan(res.values[0, 0, n:]).all()
    assert np.array_equal(res.values[0, 1], serial_outputs(og.simulate(model, om28)))
    with pytest.raises(og.OptionError, match="shortest protocol"):
        og.simulate_batch(model, [om, om28], t=[0, 25])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(parameters=SETS, param_names=NAMES[:2]), og.OptionError, r"shape \(4, 3\)"),
    (dict(parameters=SETS), og.OptionError, "one column per model parameter"),
    (dict(parameters=SETS, param_names=["K_dex", "nope", "K_pi"]), og.ModelError, "nope"),
    (dict(parameters=[{"nope": 1.0}]), og.ModelError, "unknown parameter 'nope'"),
    (dict(parameters=[{"K_dex": "x"}]), og.ModelError, "not a number"),
    (dict(parameters=[[10, np.nan, 3]], param_names=NAMES), og.ModelError,
     "parameter set 0: 'b_runx2' = nan is not finite"),
    (dict(parameters=[[10, 0.5, 3], [np.inf, 0.5, 3]], param_names=NAMES), og.ModelError,
     "parameter set 1: 'K_dex' = inf"),
    (dict(parameters=[[1e6, 0.5, 3]], param_names=NAMES), og.ModelError, "bounds"),
    (dict(parameters=SETS, param_names=["K_dex", "K_dex", "K_pi"]), og.OptionError, "twice"),
    (dict(parameters=SETS, param_names=NAMES, raise_on_failure=False), og.OptionError,
     "unsupported option"),
    (dict(parameters=SETS, param_names=NAMES, bogus=1), og.OptionError, "bogus"),
    (dict(parameters=SETS, param_names=NAMES, rtol=-1), og.OptionError, "rtol"),
    (dict(parameters=SETS, param_names=NAMES, method="euler"), og.OptionError, "euler"),
    (dict(parameters=SETS, param_names=NAMES, threads=0), og.OptionError, "threads"),
    (dict(parameters=SETS, param_names=NAMES, t=[0, 30]), og.OptionError, "t\\[1\\]"),
    (dict(parameters=SETS, param_names=NAMES, t=[5, 1]), og.OptionError, "sorted"),
    (dict(parameters=SETS, param_names=NAMES, outputs=["ALP", "nothing"]), og.ModelError,
     "nothing"),
    (dict(parameters="abc", param_names=NAMES), og.OptionError, "parameters"),
    (dict(param_names=NAMES), og.OptionError, "without parameters"),
    (dict(parameters=SETS, param_names=NAMES, progress="yes"), og.OptionError, "progress"),
])
def test_input_errors_raise_og_errors(model, kwargs, error, match):
    om = og.load_protocol("osteogenic_medium")
    with pytest.raises(error, match=match):
        og.simulate_batch(model, om, **kwargs)
    # The same checks hold when the batch would go to an executor (nothing is submitted).
    with ThreadPoolExecutor(1) as pool:
        with pytest.raises(error, match=match):
            og.simulate_batch(model, om, executor=pool, **kwargs)


def test_protocol_that_does_not_fit_raises_protocol_error(model):
    alien = og.Protocol("alien", 5, components={"unobtainium": {"concentration": 1,
                                                                "unit": "nM"}})
    with pytest.raises(og.ProtocolError, match="unobtainium"):
        og.simulate_batch(model, ["osteogenic_medium", alien], SETS, param_names=NAMES)
    with pytest.raises(og.OptionError, match="at least one protocol"):
        og.simulate_batch(model, [], SETS, param_names=NAMES)
    with pytest.raises(og.OptionError, match="unique"):
        og.simulate_batch(model, ["osteogenic_medium", "osteogenic_medium"], SETS,
                          param_names=NAMES)


def test_output_selection(model):
    full = og.simulate_batch(model, "osteogenic_medium", SETS, param_names=NAMES, t=T)
    some = og.simulate_batch(model, "osteogenic_medium", SETS, param_names=NAMES, t=T,
                             outputs=["mineral", "Runx2"])
    assert some.output_names == ["mineral", "Runx2"]
    assert np.array_equal(some.values[..., 0], full["mineral"])
    assert np.array_equal(some.values[..., 1], full["Runx2"])


@pytest.mark.parametrize("make", [lambda: ThreadPoolExecutor(2),
                                  lambda: ProcessPoolExecutor(2)], ids=["threads", "processes"])
def test_executor_equals_local_run(model, protocols, make, blowup):
    local = og.simulate_batch(model, protocols, SETS, param_names=NAMES, t=T, threads=2)
    seen = []
    with make() as pool:
        for chunk in (None, 1, 3, 100):
            res = og.simulate_batch(model, protocols, SETS, param_names=NAMES, t=T,
                                    executor=pool, chunk_size=chunk,
                                    progress=lambda d, n: seen.append((d, n)))
            assert np.array_equal(res.values, local.values), chunk
            assert np.array_equal(res.failed, local.failed)
            pd.testing.assert_frame_equal(res.parameters, local.parameters)
        assert seen[-1] == (12, 12)
        # Failures travel back from the workers too.
        ks = [0.1, 1.0, 0.3]
        here = og.simulate_batch(blowup, TWO_DAYS, ks, param_names=["k"], max_steps=5000)
        there = og.simulate_batch(blowup, TWO_DAYS, ks, param_names=["k"], max_steps=5000,
                                  executor=pool, chunk_size=1)
        assert np.array_equal(here.values, there.values, equal_nan=True)
        assert (here.messages == there.messages).all() and there.failed[1, 0]
        with pytest.raises(og.OptionError, match="chunk_size"):
            og.simulate_batch(model, protocols, SETS, param_names=NAMES, executor=pool,
                              chunk_size=0)
    with pytest.raises(og.OptionError, match="submit"):
        og.simulate_batch(model, protocols, SETS, param_names=NAMES, executor=object())


def test_model_and_protocol_pickle_small(model):
    size = len(pickle.dumps(model))
    assert size < 64_000, size  # JSON text, not compiled tapes
    assert len(pickle.dumps(og.load_protocol("osteogenic_medium"))) < 4_000


def test_to_frame_is_tidy(model, protocols):
    res = og.simulate_batch(model, protocols[:2], SETS[:2], param_names=NAMES, t=T)
    frame = res.to_frame()
    n_out = len(res.output_names)
    assert list(frame.columns) == ["set", "protocol", "time", "name", "value", "unit"]
    assert len(frame) == 2 * 2 * len(T) * n_out
    assert set(frame.loc[frame["name"] == "ALP", "unit"]) == {"au"}
    row = frame[(frame["set"] == 1) & (frame["protocol"] == "growth_medium")
                & (frame["time"] == 14) & (frame["name"] == "ALP")]
    assert row["value"].tolist() == [res["ALP"][1, 1, T.index(14)]]
    with_params = res.to_frame(parameters=True, names=["ALP", "OCN"])
    assert list(with_params.columns)[-3:] == NAMES
    assert len(with_params) == 2 * 2 * len(T) * 2
    assert (with_params.loc[with_params["set"] == 1, "K_dex"] == SETS[1, 0]).all()
    np.testing.assert_array_equal(
        with_params.loc[with_params["name"] == "OCN", "value"].to_numpy(),
        res["OCN"].reshape(-1))


def test_quantiles_leave_out_failed_sets(blowup):
    ks = np.linspace(0, 0.4, 9).tolist() + [1.0]  # the last one fails
    res = og.simulate_batch(blowup, TWO_DAYS, ks, param_names=["k"], max_steps=5000)
    assert res.failed[:, 0].tolist() == [False] * 9 + [True]
    q = res.quantiles(q=(0.1, 0.5, 0.9), names=["y"])
    assert list(q.columns) == [0.1, 0.5, 0.9, "n"]
    band = q.loc[("two_days", "y")]
    np.testing.assert_array_equal(band.index.to_numpy(), res.t)
    expect = np.quantile(res["y"][:9, 0, :], [0.1, 0.5, 0.9], axis=0)
    np.testing.assert_allclose(band[[0.1, 0.5, 0.9]].to_numpy().T, expect, rtol=0, atol=0)
    assert (band["n"] == 9).all()
    assert (band[0.1] <= band[0.5]).all() and (band[0.5] <= band[0.9]).all()
    with pytest.raises(og.OptionError):
        res.quantiles(q=(0.5, 2.0))
    with pytest.raises(KeyError, match="outputs: y, twice"):
        res.quantiles(names=["z"])


def test_plot_quantiles_and_pickle(model, protocols):
    from matplotlib.figure import Figure
    res = og.simulate_batch(model, protocols[:2], SETS, param_names=NAMES, t=T)
    fig = res.plot_quantiles()
    assert isinstance(fig, Figure)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == len(model.observables)
    assert [t.get_text() for t in visible[0].get_legend().get_texts()] == res.protocol_names
    fig.savefig(io.BytesIO(), format="png")
    back = pickle.loads(pickle.dumps(res))
    assert np.array_equal(back.values, res.values)
    assert np.array_equal(back.failed, res.failed)
    pd.testing.assert_frame_equal(back.parameters, res.parameters)
    assert back.output_names == res.output_names and back.protocol_names == res.protocol_names
    pd.testing.assert_frame_equal(back.quantiles(), res.quantiles())


def test_progress_reports_to_callable_and_stderr(model, capsys):
    calls = []
    og.simulate_batch(model, "osteogenic_medium", SETS, param_names=NAMES, t=T,
                      progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (4, 4)
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))
    og.simulate_batch(model, "osteogenic_medium", SETS, param_names=NAMES, t=T, progress=True)
    err = capsys.readouterr().err
    assert "simulate_batch" in err and "4/4" in err


def test_raising_progress_cancels(model):
    # Ctrl-C arrives the same way (PyErr_CheckSignals in the same callback); the C++ test
    # checks that the remaining tasks are not started.
    seen = []

    def stop(done, total):
        seen.append((done, total))
        raise KeyboardInterrupt

    sets = np.tile(SETS, (100, 1))
    with pytest.raises(KeyboardInterrupt):
        og.simulate_batch(model, "osteogenic_medium", sets, param_names=NAMES, threads=2,
                          progress=stop)
    assert len(seen) == 1 and seen[0][0] < seen[0][1] == 400


def test_gil_is_released_for_the_whole_batch(model):
    from osteogrn import _core
    om = og.load_protocol("osteogenic_medium")
    sets = np.tile(SETS, (10, 1))
    assert gil_released_during(
        lambda: _core.simulate_batch(model._core, [om._core], NAMES, sets, [],
                                     og.SolverOptions(), 1, []))


OOM_BATCH = """
import resource
import numpy as np
import osteogrn as og
n = 100
model = og.Model.from_json({"schema": "osteogrn-model/1", "name": "wide", "time_unit": "day",
    "species": {f"x{i}": {"initial": 1} for i in range(n)},
    "parameters": {"k": {"value": 1.0, "min": 0, "max": 10, "source": "assumed: test"}},
    "odes": {f"x{i}": f"-k * x{i}" for i in range(n)}})
t = np.linspace(0, 1, 2_000_000)  # one task's Result: 2e6 x 100 doubles = 1.6 GB
resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))
try:
    b = og.simulate_batch(model, og.Protocol("p", 1), [[1.0]], param_names=["k"], t=t,
                          outputs=["x0"], threads=1)
    print("recorded", b.messages[0, 0])
except MemoryError:
    print("MemoryError")
"""


def test_out_of_memory_in_a_task_is_not_a_task_failure():
    """std::bad_alloc inside a task is not the parameter set's fault: it stops the batch and
    surfaces as MemoryError (it used to be recorded as a failed task). The batch's own arrays
    are small (one output); each task's Result would need 1.6 GB under a 1.5 GB address-space
    limit."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", OOM_BATCH], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "MemoryError", out.stdout

"""og.ReturnCode on Result.status, SolverError.code and BatchResult.codes: the same codes for
every method, each with a hint in the message; Ctrl-C interrupts a single og.simulate; sample
grids and batches too large for memory are refused before anything is allocated."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import osteogrn as og
from osteogrn import _core

METHODS = list(og.METHODS)
CVODES = ("cvode_bdf", "cvode_adams")
# y' = y^2 with y(0) = 1 blows up at t = 1.
BLOWUP = {"schema": "osteogrn-model/1", "name": "blowup", "time_unit": "day",
          "species": {"y": {"initial": 1}},
          "parameters": {"k": {"value": 1.0, "min": 0, "max": 10, "source": "assumed: test"}},
          "odes": {"y": "k * y^2"}}
# x' = log(x - 2) from x = 1: NaN from the first evaluation.
NAN_MODEL = {"schema": "osteogrn-model/1", "name": "nan", "time_unit": "day",
             "species": {"x": {"initial": 1}},
             "parameters": {"k": {"value": 1.0, "source": "assumed: test"}},
             "odes": {"x": "k * log(x - 2)"}}
TWO_DAYS = og.Protocol("two_days", 2)


def test_members_match_cpp_and_every_failure_has_a_hint():
    assert [c.value for c in og.ReturnCode] == list(_core.ReturnCode.__members__)
    assert {"success", "max_steps", "step_too_small", "convergence_failure",
            "error_test_failure", "non_finite", "cancelled"} <= {c.value for c in og.ReturnCode}
    assert og.ReturnCode.success.hint == ""
    for code in og.ReturnCode:
        assert code == code.value and str(code) == code.value
        assert pickle.loads(pickle.dumps(code)) is code
        if code is not og.ReturnCode.success:
            assert len(code.hint) > 20, code
    assert "max_steps" in og.ReturnCode.max_steps.hint
    assert "cvode_bdf" in og.ReturnCode.max_steps.hint


@pytest.mark.parametrize("method", METHODS)
def test_max_steps_is_one_code_for_every_method(small_model, dex_protocol, method):
    with pytest.raises(og.SolverError) as info:
        og.simulate(small_model, dex_protocol, method=method, max_steps=5)
    e = info.value
    assert e.code is og.ReturnCode.max_steps
    assert e.flag == ("CV_TOO_MUCH_WORK" if method in CVODES else "TOO_MUCH_WORK")  # raw flag
    assert og.ReturnCode.max_steps.hint in str(e) and "maximum number of steps (5)" in e.reason
    assert 0 < e.time < 14
    res = og.simulate(small_model, dex_protocol, method=method, max_steps=5,
                      raise_on_failure=False)
    assert res.status is og.ReturnCode.max_steps and res.status == "max_steps"
    assert not res.success and res.message == str(e) and res.flag == e.flag
    assert res.failure_time == e.time


@pytest.mark.parametrize("method", METHODS)
def test_blow_up_is_a_step_size_or_error_test_failure(method):
    res = og.simulate(og.Model.from_json(BLOWUP), TWO_DAYS, method=method,
                      raise_on_failure=False)
    assert res.status in (og.ReturnCode.step_too_small, og.ReturnCode.error_test_failure,
                          og.ReturnCode.non_finite), res.message
    assert 0.99 < res.failure_time < 1.001
    assert res.status.hint in res.message


@pytest.mark.parametrize("method", METHODS)
def test_nan_model_is_non_finite(method):
    with pytest.raises(og.SolverError) as info:
        og.simulate(og.Model.from_json(NAN_MODEL), TWO_DAYS, method=method)
    assert info.value.code is og.ReturnCode.non_finite, str(info.value)
    assert og.ReturnCode.non_finite.hint in str(info.value)


def test_codes_survive_round_trips(small_model, dex_protocol):
    ok = og.simulate(small_model, dex_protocol)
    failed = og.simulate(small_model, dex_protocol, max_steps=5, raise_on_failure=False)
    assert ok.status is og.ReturnCode.success and ok.message == "" and ok.flag == ""
    for res in (ok, failed):
        for other in (pickle.loads(pickle.dumps(res)), og.Result.from_json(res.to_json())):
            assert other.status is res.status
            assert (other.message, other.flag) == (res.message, res.flag)
    assert json.loads(failed.to_json())["status"] == "max_steps"
    assert "status='max_steps'" in repr(failed)
    with pytest.raises(og.SolverError) as info:
        og.simulate(small_model, dex_protocol, max_steps=5)
    copy = pickle.loads(pickle.dumps(info.value))
    assert copy.code is og.ReturnCode.max_steps and copy.flag == info.value.flag


def test_batch_codes(small_model):
    blowup = og.Model.from_json(BLOWUP)
    b = og.simulate_batch(blowup, TWO_DAYS, [0.1, 1.0, 0.3], param_names=["k"], threads=2)
    assert b.codes.shape == b.failed.shape == (3, 1)
    assert b.codes[0, 0] is og.ReturnCode.success and b.codes[2, 0] is og.ReturnCode.success
    assert b.codes[1, 0] is og.simulate(blowup, TWO_DAYS, parameters={"k": 1.0},
                                        raise_on_failure=False).status
    np.testing.assert_array_equal(b.failed, b.codes != og.ReturnCode.success)
    assert pickle.loads(pickle.dumps(b)).codes[1, 0] is b.codes[1, 0]


def test_cancelling_a_batch_stops_running_tasks(small_model, dex_protocol):
    """The progress callback raises at its first call (~0.1 s): the running tasks, which would
    take minutes (max_step 1e-7), stop at their next step and the exception propagates."""
    def stop(done, total):
        raise RuntimeError("stop")
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="stop"):
        og.simulate_batch(small_model, dex_protocol, [[1.0]] * 4, param_names=["k_alp"],
                          threads=2, progress=stop, max_step=1e-7, max_steps=10**12)
    assert time.perf_counter() - start < 30  # generous; uncancelled it takes minutes


CTRL_C = textwrap.dedent("""
    import os, signal, sys, threading, time
    import osteogrn as og
    model = og.load_model("osteogenic")
    sent = []
    def interrupt():
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)
    threading.Timer(1.0, interrupt).start()
    start = time.perf_counter()
    try:
        og.simulate(model, "osteogenic_medium", method=sys.argv[1], max_step=1e-7,
                    max_steps=10**12)
        print("finished", time.perf_counter() - start)
    except KeyboardInterrupt:
        print("latency", time.perf_counter() - sent[0])
""")


@pytest.mark.parametrize("method", ["cvode_bdf", "dopri5"])
def test_ctrl_c_interrupts_a_single_simulate(method):
    """SIGINT 1 s into a run that would take minutes: KeyboardInterrupt within 0.2 s."""
    out = subprocess.run([sys.executable, "-c", CTRL_C, method], capture_output=True, text=True,
                         timeout=120, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    kind, seconds = out.stdout.split()
    assert kind == "latency", out.stdout
    assert float(seconds) < 0.2, f"KeyboardInterrupt {float(seconds):.3f} s after SIGINT"


def test_oversized_default_grid_is_an_option_error(small_model):
    for duration in (1e12, 1e18, 1e300):
        long = og.Protocol("long", duration)
        with pytest.raises(og.OptionError, match=r"pass the sample times you need as t="):
            og.simulate(small_model, long)
    res = og.simulate(small_model, og.Protocol("long", 1e12), t=[0, 1])
    assert res.success and len(res.t) == 2


def test_oversized_batch_is_an_option_error_before_allocating(small_model, dex_protocol):
    n_outputs = len(small_model.species) + len(small_model.observables)
    n_t = 141  # default grid of the 14-day protocol
    n_sets = og.MAX_RESULT_VALUES // (n_t * n_outputs) + 1
    sets = np.ones((n_sets, 1))
    with pytest.raises(og.OptionError, match=r"batch too large: .* more than the limit"):
        og.simulate_batch(small_model, dex_protocol, sets, param_names=["k_alp"])
    with pytest.raises(og.OptionError, match=r"batch too large"):
        og.simulate_batch(small_model, dex_protocol, sets, param_names=["k_alp"],
                          executor=object())

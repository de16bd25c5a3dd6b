"""Shared fixtures. Tests import the installed package `osteogrn` (pip install .), never _core
directly except to raise C++ errors on purpose."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")  # also for subprocesses started by the tests

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import pytest  # noqa: E402

import osteogrn as og  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def small_model() -> og.Model:
    """Runx2/Sp7/ALP network with one input (dex, nM) and a k_alp window in the file."""
    return og.load_model(DATA / "models" / "grn_small.json")


@pytest.fixture(scope="session")
def composed_model() -> og.Model:
    """comp_top: imports in a diamond, an explicit connect map."""
    return og.load_model(DATA / "models" / "comp_top.json")


def make_dex_protocol(**overrides) -> og.Protocol:
    """14 days, half-medium changes every 3 days, decaying dex supplied for the first week,
    a spike on day 10 and a Sp7 knockout window."""
    fields = dict(
        media_changes=3,
        replace_fraction=0.5,
        components={"dex": {"concentration": 100, "unit": "nM", "half_life": 2.0,
                            "from": 0, "until": 7}},
        additions=[{"day": 10, "component": "dex", "concentration": 50}],
        perturbations=[{"knockout": "Sp7", "from": 11, "until": 12.5}],
        description="test protocol for grn_small",
    )
    fields.update(overrides)
    return og.Protocol("dex_test", 14, **fields)


@pytest.fixture(scope="session")
def dex_protocol() -> og.Protocol:
    return make_dex_protocol()


@pytest.fixture(scope="session")
def minimal_protocol() -> og.Protocol:
    return og.load_protocol(DATA / "protocols" / "minimal.json")


def gil_released_during(call) -> bool:
    """True if `call()` releases the GIL while it runs.

    With a huge switch interval, a thread holding the GIL keeps it until it blocks. The main
    thread sleeps in short steps (releasing the GIL) and looks at a flag the worker sets just
    around the call: it can only see the flag up if the call released the GIL.
    """
    import sys
    import threading
    import time

    state = {"in_call": False, "seen": 0}
    done = threading.Event()

    def run():
        state["in_call"] = True
        call()
        state["in_call"] = False
        done.set()

    old = sys.getswitchinterval()
    sys.setswitchinterval(30.0)
    try:
        worker = threading.Thread(target=run)
        worker.start()
        while not done.is_set():
            time.sleep(0.001)
            state["seen"] += state["in_call"]
        worker.join()
    finally:
        sys.setswitchinterval(old)
    return state["seen"] > 0

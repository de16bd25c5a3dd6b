"""Python and C++ agree on a reference run: the C++ engine against scipy integrating the same
model's right-hand side (model.rhs) with the protocol's inputs computed here, independently,
from the rules of docs/formats/protocol.md (closed-form decay, partial media changes, a supply window, a spike,
and the model file's own parameter window)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import osteogrn as og
from conftest import DATA, make_dex_protocol

scipy_integrate = pytest.importorskip("scipy.integrate")

C_FRESH, HALF_LIFE, UNTIL, F = 100.0, 2.0, 7.0, 0.5  # as in make_dex_protocol
CHANGES, SPIKE_DAY, SPIKE = [3.0, 6.0, 9.0, 12.0], 10.0, 50.0
DURATION = 14.0


def dex_schedule():
    """(day, dex value just after the events of that day), in order."""
    k = math.log(2) / HALF_LIFE
    events = sorted(set(CHANGES + [SPIKE_DAY]))
    points = [(0.0, C_FRESH)]  # day 0 is fresh medium
    c, last = C_FRESH, 0.0
    for day in events:
        c *= math.exp(-k * (day - last))
        if day in CHANGES:
            c = (1 - F) * c + F * (C_FRESH if day < UNTIL else 0.0)
        if day == SPIKE_DAY:
            c += SPIKE
        points.append((day, c))
        last = day
    return points, k


def dex_at(t, points, k):
    start, value = [p for p in points if p[0] <= t][-1]
    return value * math.exp(-k * (t - start))


def _without_file_perturbations():
    doc = json.loads((DATA / "models" / "grn_small.json").read_text())
    del doc["perturbations"]
    return og.Model.from_json(doc)


def _reference(model, window, plain):
    """C++ result of `model` and the scipy solution for the dex protocol without knockouts.
    `window` is the parameter perturbation {"parameter", "scale", "from", "until"} that `model`
    carries; scipy integrates `plain` (the same model without it: Model.rhs applies a model's
    own overlays, so the reference applies the window itself, independently)."""
    proto = make_dex_protocol(perturbations=[])
    points, k = dex_schedule()
    breaks = sorted({0.0, DURATION, window["from"], window["until"]} | {p[0] for p in points})
    t_eval = np.round(np.arange(0, DURATION + 1e-9, 0.25), 10)

    res = og.simulate(model, proto, t=t_eval, rtol=1e-11, atol=1e-13, max_steps=1_000_000)

    y = plain.initial_state()
    out = np.full((len(t_eval), len(model.species)), np.nan)
    for a, b in zip(breaks[:-1], breaks[1:]):
        scale = window["scale"] if window["from"] <= a < window["until"] else 1.0
        m = plain.with_parameters(**{window["parameter"]: plain.parameters[window["parameter"]] * scale})
        sol = scipy_integrate.solve_ivp(
            lambda t, yy: m.rhs(t, yy, [dex_at(t, points, k)]), (a, b), y, method="Radau",
            rtol=1e-12, atol=1e-14, dense_output=True,
            jac=lambda t, yy: m.jacobian(t, yy, [dex_at(t, points, k)]))
        assert sol.success, sol.message
        inside = (t_eval >= a) & ((t_eval < b) | ((b == DURATION) & (t_eval <= b)))
        out[inside] = sol.sol(t_eval[inside]).T
        y = sol.y[:, -1]
    assert not np.isnan(out).any()
    return res, out, m, t_eval, points, k


def test_cpp_matches_scipy_on_the_reference_run(small_model):
    # The model without the k_alp window of its file: integration and schedule only.
    model = _without_file_perturbations()
    res, out, m, t_eval, points, k = _reference(
        model, {"parameter": "k_alp", "scale": 1.0, "from": 0, "until": DURATION}, model)
    np.testing.assert_allclose(res.species, out, rtol=1e-7, atol=1e-10)
    expected_dex = [dex_at(t, points, k) for t in t_eval]
    np.testing.assert_allclose(res["dex"], expected_dex, rtol=1e-12, atol=1e-12)
    expected_obs = np.array([m.observe(t, yy, [u]) for t, yy, u in
                             zip(t_eval, out, expected_dex)])
    np.testing.assert_allclose(res.observables, expected_obs, rtol=1e-7, atol=1e-10)
    # The run is not trivial: dex moves through every regime and ALP builds up.
    assert res["dex"].max() == pytest.approx(C_FRESH) and res["dex"][-1] < 30
    assert res["ALP"][-1] > 10 * res["ALP"][0] + 0.1


def test_a_windowed_perturbation_in_the_model_file_holds_only_in_its_window(small_model):
    # grn_small.json carries {"parameter": "k_alp", "scale": 0.5, "from": 2, "until": 5}:
    # docs/formats/protocol.md: perturbations hold for [from, until).
    (window,) = json.loads((DATA / "models" / "grn_small.json").read_text())["perturbations"]
    res, out, *_ = _reference(small_model, window, _without_file_perturbations())
    np.testing.assert_allclose(res.species, out, rtol=1e-7, atol=1e-10)

"""og.dose_response: Hill fits on synthetic readouts (made up here from known parameters,
not data), dose_for against the closed form, and the input errors."""

import math

import numpy as np
import pandas as pd
import pytest

import osteogrn as og
from osteogrn.design.dose_response import DoseResponse, dose_response, hill

# Synthetic truth: a Hill curve with these parameters (not from any paper; chosen to look like
# a BMP2 dose-response in ng/mL).
TRUE = dict(bottom=0.2, top=3.0, ec50=40.0, n=1.5)
DOSES = np.concatenate(([0.0], np.geomspace(1.0, 1000.0, 15)))


def _synthetic(noise_sd=0.0, seed=0, doses=DOSES, replicates=1, **true):
    p = dict(TRUE, **true)
    x = np.repeat(doses, replicates)
    y = hill(x, p["bottom"], p["top"], p["ec50"], p["n"])
    y = y + np.random.default_rng(seed).normal(0.0, noise_sd, size=x.size)
    frame = pd.DataFrame({"bmp2.concentration": x, "mineral@21": y})
    frame.attrs["units"] = {"bmp2.concentration": "ng/mL", "mineral@21": "au"}
    return frame


def test_recovers_ec50_within_2_percent_synthetic_noisy():
    frame = _synthetic(noise_sd=0.03, seed=3, replicates=3)
    fit = dose_response(frame, dose="bmp2.concentration", readout="mineral@21")
    assert isinstance(fit, DoseResponse)
    assert abs(fit.ec50 / TRUE["ec50"] - 1) < 0.02
    assert abs(fit.hill / TRUE["n"] - 1) < 0.05
    assert abs(fit.emax - (TRUE["top"] - TRUE["bottom"])) < 0.05
    iv = fit.intervals(0.95)
    for name, true in (("ec50", TRUE["ec50"]), ("hill", TRUE["n"]),
                       ("bottom", TRUE["bottom"]), ("top", TRUE["top"])):
        assert iv.loc[name, "lower"] < true < iv.loc[name, "upper"], name
    assert iv.loc["ec50", "lower"] > 0
    # a wider level gives a wider interval
    wide = fit.intervals(0.99)
    assert wide.loc["ec50", "lower"] < iv.loc["ec50", "lower"]
    assert fit.dose_unit == "ng/mL" and fit.unit == "au"


def test_exact_synthetic_and_dose_for_closed_form():
    fit = dose_response(_synthetic(), dose="bmp2.concentration", readout="mineral@21")
    assert fit.ec50 == pytest.approx(TRUE["ec50"], rel=1e-7)
    assert fit.hill == pytest.approx(TRUE["n"], rel=1e-7)
    assert fit.bottom == pytest.approx(TRUE["bottom"], rel=1e-7)
    for f in (0.1, 0.5, 0.9, 0.99):
        closed = TRUE["ec50"] * (f / (1 - f)) ** (1 / TRUE["n"])
        assert fit.dose_for(f) == pytest.approx(closed, rel=1e-6)
        # and it is the dose whose response is bottom + f * Emax
        assert fit.predict([fit.dose_for(f)])[0] == pytest.approx(
            fit.bottom + f * fit.emax, rel=1e-12)
    assert fit.dose_for(0.5) == pytest.approx(fit.ec50, rel=1e-12)
    assert fit.predict([0.0])[0] == fit.bottom                  # dose 0: no log 0
    with pytest.raises(og.OptionError, match="fraction"):
        fit.dose_for(1.0)


def test_dose_for_interval_contains_truth_and_is_positive():
    fit = dose_response(_synthetic(noise_sd=0.03, seed=5, replicates=3),
                        readout="mineral@21")
    lo, hi = fit.dose_for_interval(0.9)
    closed = TRUE["ec50"] * 9 ** (1 / TRUE["n"])
    assert 0 < lo < fit.dose_for(0.9) < hi
    assert lo < closed < hi


def test_decreasing_curve_and_hill3():
    down = _synthetic(bottom=5.0, top=1.0)
    fit = dose_response(down, readout="mineral@21")
    assert fit.emax == pytest.approx(-4.0, rel=1e-6)
    assert fit.ec50 == pytest.approx(TRUE["ec50"], rel=1e-6)
    zero = _synthetic(bottom=0.0)
    fit3 = dose_response(zero, readout="mineral@21", model="hill3")
    assert fit3.bottom == 0.0 and fit3.ec50 == pytest.approx(TRUE["ec50"], rel=1e-6)
    assert fit3.intervals().loc["bottom", "se"] == 0.0


def test_nan_rows_are_left_out():
    frame = _synthetic()
    frame.loc[3, "mineral@21"] = np.nan
    fit = dose_response(frame, readout="mineral@21")
    assert fit.n_dropped == 1 and fit.doses.size == len(DOSES) - 1
    assert fit.ec50 == pytest.approx(TRUE["ec50"], rel=1e-6)


def test_to_dict_repr_plot():
    fit = dose_response(_synthetic(noise_sd=0.02, seed=1), readout="mineral@21")
    d = fit.to_dict()
    assert d["ec50"] == fit.ec50 and d["intervals_95"]["ec50"][0] < fit.ec50
    assert d["dose_for_0.9"] == fit.dose_for(0.9)
    assert "EC50" in repr(fit) and "ng/mL" in repr(fit)
    fig = fit.plot()
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "bmp2.concentration (ng/mL)"


def test_errors():
    with pytest.raises(og.DataError, match="at least 4 distinct doses"):
        dose_response(_synthetic(doses=np.array([0.0, 1.0, 10.0])), readout="mineral@21")
    bell = _synthetic()
    bell["mineral@21"] = np.exp(-np.log(DOSES + 1) ** 2 / 8) * (DOSES > 0)
    with pytest.raises(og.DataError, match="not monotone"):
        dose_response(bell, readout="mineral@21")
    flat = _synthetic()
    flat["mineral@21"] = 1.0
    with pytest.raises(og.DataError, match="does not change"):
        dose_response(flat, readout="mineral@21")
    with pytest.raises(og.DataError, match="no column 'bmp4.concentration'"):
        dose_response(_synthetic(), dose="bmp4.concentration", readout="mineral@21")
    neg = _synthetic()
    neg.loc[2, "bmp2.concentration"] = -1.0
    with pytest.raises(og.DataError, match=">= 0"):
        dose_response(neg, readout="mineral@21")
    with pytest.raises(og.OptionError, match="model must be"):
        dose_response(_synthetic(), readout="mineral@21", model="logistic")


def test_on_a_sweep_frame():
    model = og.load_model("osteogenic")
    frame = og.sweep(model, "om_bmp2",
                     {"bmp2.concentration": [0, 1, 3, 10, 30, 100, 300, 1000],
                      "media_changes.every": [3, 4]}, readouts="OCN@21")
    with pytest.raises(og.DataError, match="media_changes.every vary too"):
        og.dose_response(frame)
    three = frame[frame["media_changes.every"] == 3]
    fit = og.dose_response(three)            # the only readout of the sweep
    assert fit.readout == "OCN@21" and fit.dose_unit == "ng/mL"
    resid = fit.predict(three["bmp2.concentration"]) - three["OCN@21"].to_numpy()
    assert np.max(np.abs(resid)) < 0.1 * abs(fit.emax)
    assert math.isfinite(fit.dose_for(0.9))


def test_small_rise_then_large_fall_is_not_monotone():
    # Shaped like mineral@21 against BMP2 in the osteogenic model with the hmsc parameter set,
    # fed every 3 days (rises ~5 %, then falls ~20 %):
    # neither a rising nor a falling Hill curve; refused unless the tolerance is raised.
    doses = np.array([0, 1, 3, 10, 30, 100, 300, 1000], dtype=float)
    y = np.array([1.003, 1.006, 1.012, 1.028, 1.050, 1.032, 0.939, 0.834])
    frame = pd.DataFrame({"bmp2.concentration": doses, "mineral@21": y})
    with pytest.raises(og.DataError, match="turns back by 22%"):
        dose_response(frame, readout="mineral@21")
    fit = dose_response(frame, readout="mineral@21", monotone_tolerance=0.5)
    assert fit.emax < 0                      # then fitted as a falling curve

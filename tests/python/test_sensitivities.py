"""Forward sensitivities: simulate(..., sensitivities=[...]) against central finite differences
on the composed osteogenic model (media changes, scale/value/knockout windows), exact results on a
small model, option errors, failed runs and round trips."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import osteogrn as og

# The acceptance protocol of issue #5: osteogenic medium (media change every 3 days), a scale
# window on one sensitivity parameter and a knockout window.
PERTURBATIONS = [{"parameter": "d_runx2", "scale": 0.5, "from": 5, "until": 9},
                 {"knockout": "Sp7", "from": 12, "until": 15}]
PARAMS = ["d_runx2", "k_alp", "TCF_total", "k_ract", "v_ihh"]
TIMES = np.arange(0, 21.0001, 0.25)


def _protocol(perturbations):
    data = og.load_protocol("osteogenic_medium").to_dict()
    data["perturbations"] = perturbations
    return og.Protocol.from_json(data)


def _outputs(res: og.Result) -> np.ndarray:
    return np.concatenate([res.species, res.observables], axis=1)


def _check_against_fd(model, proto, names):
    """Sensitivities (rtol 1e-10) vs central differences from runs at rtol 1e-12.

    The differences at θ(1 ± h) and θ(1 ± 2h), h = 1e-3, are combined as (4 D_h - D_2h) / 3
    (Richardson: the h² truncation error cancels; plain D_h is off by ~1e-4 relative where
    TCF_total drives steep Hill terms). Allowed: 1e-4 relative, plus a floor of
    1e-7 · max|output| / θ (10x the noise of the differences) so that outputs θ does not
    reach (exact 0, where the differences are pure noise) are checked too.
    """
    res = og.simulate(model, proto, TIMES, sensitivities=names, rtol=1e-10, atol=1e-13)
    assert res.sensitivities.shape == (len(TIMES), len(res.output_names), len(names))
    assert res.sensitivity_parameters == list(names)
    out = _outputs(res)
    h = 1e-3
    for j, name in enumerate(names):
        theta = model.parameters[name]
        run = {step: _outputs(og.simulate(model, proto, TIMES,
                                          parameters={name: theta * (1 + step)},
                                          rtol=1e-12, atol=1e-15))
               for step in (h, -h, 2 * h, -2 * h)}
        d1 = (run[h] - run[-h]) / (2 * h * theta)
        d2 = (run[2 * h] - run[-2 * h]) / (4 * h * theta)
        fd = (4 * d1 - d2) / 3
        floor = 1e-7 * np.abs(out).max(axis=0) / theta
        allowed = 1e-4 * np.abs(fd) + floor
        err = np.abs(res.sensitivities[:, :, j] - fd)
        bad = np.argwhere(err > allowed)
        assert bad.size == 0, [(name, res.output_names[o], TIMES[i], res.sensitivities[i, o, j],
                                fd[i, o]) for i, o in bad[:5]]
        # The check has teeth: the relative criterion decides many comparisons, not the floor.
        assert (np.abs(fd) > 1000 * floor).sum() > 200, name
    return res


def test_osteogenic_matches_central_differences():
    model = og.load_model("osteogenic")
    _check_against_fd(model, _protocol(PERTURBATIONS), PARAMS)


def test_value_window_on_a_sensitivity_parameter_matches_fd():
    model = og.load_model("osteogenic")
    proto = _protocol(PERTURBATIONS + [{"parameter": "k_alp", "value": 0.3, "from": 10,
                                        "until": 14}])
    _check_against_fd(model, proto, ["k_alp", "d_runx2"])


FEED = {
    "schema": "osteogrn-model/1", "name": "feed", "time_unit": "day",
    "inputs": {"u": {"default": 0, "unit": "nM"}},
    "species": {"x": {"initial": 0.3}},
    "parameters": {"k_in": {"value": 0.8, "max": 100, "source": "assumed: test"},
                   "k_out": {"value": 0.6, "max": 100, "source": "assumed: test"},
                   "g": {"value": 3.0, "source": "assumed: test"}},
    "odes": {"x": "k_in * u - k_out * x"},
    "observables": {"gx": "g * x"},
}


def _feed_protocol(perturbations):
    return og.Protocol.from_json({
        "schema": "osteogrn-protocol/1", "name": "feed", "duration": 12,
        "media_changes": {"every": 3},
        "components": {"u": {"concentration": 2, "unit": "nM", "half_life": 1.5}},
        "perturbations": perturbations})


def test_value_window_removes_direct_dependence():
    # Inside a "value" override on k_in, dx/dt no longer depends on k_in: ds/dt = -k_out s.
    model = og.Model.from_json(FEED)
    proto = _feed_protocol([{"parameter": "k_in", "value": 1.5, "from": 4, "until": 8}])
    t = np.arange(0, 12.001, 0.25)
    res = og.simulate(model, proto, t, sensitivities=["k_in", "g"], rtol=1e-10, atol=1e-13)
    s = res.sensitivities[:, res.output_names.index("x"), 0]
    inside = (t >= 4) & (t <= 8)
    s4 = s[t == 4][0]
    assert s4 > 0.1
    np.testing.assert_allclose(s[inside], s4 * np.exp(-0.6 * (t[inside] - 4)), rtol=1e-8)
    # d(g x)/dg = x, d(g x)/dk_in = g dx/dk_in.
    gx = res.output_names.index("gx")
    np.testing.assert_allclose(res.sensitivities[:, gx, 1], res["x"], rtol=1e-14)
    np.testing.assert_allclose(res.sensitivities[:, gx, 0], 3 * s, rtol=1e-12)


def test_shape_names_and_stats():
    model = og.load_model("osteogenic")
    res = og.simulate(model, "osteogenic_medium", sensitivities="k_alp")
    assert res.sensitivity_parameters == ["k_alp"]
    assert res.output_names == res.species_names + res.observable_names
    assert res.sensitivities.shape == (len(res.t), len(res.output_names), 1)
    assert np.all(np.isfinite(res.sensitivities))
    n_species = len(res.species_names)
    assert np.all(res.sensitivities[0, :n_species] == 0)  # initial values are not parameters
    # ...but a read-out may be: ALP at day 0 is the basal activity k_alp a0 N / d_alp, linear in k_alp.
    alp = res.output_names.index("ALP")
    assert res.sensitivities[0, alp, 0] == pytest.approx(res["ALP"][0] / model.parameters["k_alp"],
                                                         rel=1e-10)
    # ALP rises with its production rate k_alp.
    assert res.sensitivities[-1, res.output_names.index("ALP"), 0] > 0
    assert res.stats["sens_rhs_evals"] > 0
    plain = og.simulate(model, "osteogenic_medium")
    assert plain.sensitivities.shape == (len(plain.t), len(plain.output_names), 0)
    assert plain.stats["sens_rhs_evals"] == 0


def test_adams_agrees_with_bdf():
    model = og.load_model("osteogenic")
    proto = _protocol(PERTURBATIONS)
    a, b = (og.simulate(model, proto, TIMES, sensitivities=PARAMS[:3], method=m, rtol=1e-9,
                        atol=1e-12) for m in ("cvode_bdf", "cvode_adams"))
    scale = np.abs(a.sensitivities).max(axis=0, keepdims=True)
    assert np.all(np.abs(a.sensitivities - b.sensitivities) <= 1e-5 * scale + 1e-12)


def test_option_errors():
    model = og.load_model("osteogenic")
    with pytest.raises(og.OptionError, match=r"'k_nope'.*valid parameters: .*d_runx2"):
        og.simulate(model, "osteogenic_medium", sensitivities=["k_alp", "k_nope"])
    with pytest.raises(og.OptionError, match="k_nope"):
        og.simulate(model, "osteogenic_medium", sensitivities=["k_nope"], raise_on_failure=False)
    with pytest.raises(og.OptionError, match="'k_alp' is listed twice"):
        og.simulate(model, "osteogenic_medium", sensitivities=["k_alp", "d_alp", "k_alp"])
    for method in ("dopri5", "rosenbrock4"):
        with pytest.raises(og.OptionError, match=method):
            og.simulate(model, "osteogenic_medium", sensitivities=["k_alp"], method=method)
    with pytest.raises(og.OptionError):
        og.simulate(model, "osteogenic_medium", sensitivities=5)


BLOWUP = {"schema": "osteogrn-model/1", "name": "blowup", "time_unit": "day",
          "species": {"x": {"initial": 0.5}},
          "parameters": {"a": {"value": 1.0, "source": "assumed: test"}},
          "odes": {"x": "a * x^2"}, "observables": {"x3": "3 * x"}}


def _failed_run():
    # dx/dt = a x^2 from 0.5 blows up at t = 2; dx/da = t x^2 before.
    proto = og.Protocol.from_json({"schema": "osteogrn-protocol/1", "name": "p", "duration": 4})
    t = np.arange(0, 4.001, 0.25)
    return t, og.simulate(og.Model.from_json(BLOWUP), proto, t, sensitivities=["a"], rtol=1e-10,
                          atol=1e-13, raise_on_failure=False)


def test_sensitivities_with_raise_on_failure_false():
    t, res = _failed_run()
    assert not res.success and 1.9 < res.failure_time <= 2.0
    before, after = t < 1.9, t > 2.0
    x = 0.5 / (1 - 0.5 * t[before])
    np.testing.assert_allclose(res.sensitivities[before, 0, 0], t[before] * x**2, rtol=1e-7)
    np.testing.assert_allclose(res.sensitivities[before, 1, 0], 3 * t[before] * x**2, rtol=1e-7)
    assert np.all(np.isnan(res.sensitivities[after]))


def test_round_trips_keep_sensitivities():
    res = og.simulate("osteogenic", _protocol(PERTURBATIONS), sensitivities=PARAMS)
    _, failed = _failed_run()
    for r in (res, failed):
        for other in (pickle.loads(pickle.dumps(r)), og.Result.from_json(r.to_json()),
                      og.Result.from_json(json.dumps(json.loads(r.to_json())))):
            assert other.sensitivity_parameters == r.sensitivity_parameters
            assert other.output_names == r.output_names
            assert other.sensitivities.shape == r.sensitivities.shape
            assert np.array_equal(other.sensitivities, r.sensitivities, equal_nan=True)
            assert other.stats == r.stats

"""og.steady_state (Newton and integration paths, sensitivities) and the initial-state override of
og.simulate, against closed forms and finite differences; the Brannmark et al. (2010) insulin
model of the PEtab benchmark collection under its pre-equilibration condition."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import osteogrn as og

ROOT = Path(__file__).resolve().parents[2]
BRANNMARK = ROOT / "tests" / "data" / "petab" / "Brannmark_JBC2010"

# x' = a - b x, y' = c x - d y: x = a / b, y = c a / (b d).
LINEAR = {
    "schema": "osteogrn-model/1", "name": "linear", "time_unit": "day",
    "species": {"x": {"initial": 0.1}, "y": {"initial": 0.2}},
    "parameters": {n: {"value": v, "max": 100, "source": "assumed: test"}
                   for n, v in {"a": 0.8, "b": 0.5, "c": 1.5, "d": 0.25}.items()},
    "odes": {"x": "a - b * x", "y": "c * x - d * y"},
}

# A <-> B, A + B conserved (singular Jacobian): A = k2 T / (k1 + k2).
CONSERVED = {
    "schema": "osteogrn-model/1", "name": "conserved", "time_unit": "day",
    "species": {"A": {"initial": 1.0}, "B": {"initial": 0.5}},
    "parameters": {"k1": {"value": 2.0, "max": 100, "source": "assumed: test"},
                   "k2": {"value": 0.5, "max": 100, "source": "assumed: test"}},
    "odes": {"A": "-k1 * A + k2 * B", "B": "k1 * A - k2 * B"},
}


def test_newton_values_and_sensitivities_closed_form():
    model = og.Model.from_json(LINEAR)
    ss = og.steady_state(model, sensitivities=["a", "b", "c", "d"],
                         options=og.SolverOptions(rtol=1e-10, atol=1e-13))
    a, b, c, d = 0.8, 0.5, 1.5, 0.25
    assert isinstance(ss, og.SteadyState)
    assert ss.method == "newton" and ss.time == 0.0 and ss.newton_iterations >= 1
    assert ss.residual < 1
    assert list(ss.state.index) == ["x", "y"]
    np.testing.assert_allclose(ss.values, [a / b, c * a / (b * d)], rtol=1e-12)
    np.testing.assert_allclose(ss.state["y"], c * a / (b * d), rtol=1e-12)
    expected = np.array([[1 / b, -a / b**2, 0, 0],
                         [c / (b * d), -c * a / (b**2 * d), a / (b * d), -c * a / (b * d**2)]])
    assert ss.sensitivities.shape == (2, 4)
    np.testing.assert_allclose(ss.sensitivities, expected, rtol=1e-10, atol=1e-12)
    assert og.steady_state(model).sensitivities is None


def test_conserved_system_takes_the_integration_path():
    model = og.Model.from_json(CONSERVED)
    k1, k2, T = 2.0, 0.5, 1.5
    K = k1 + k2
    ss = og.steady_state(model, sensitivities=["k1", "k2"],
                         options=og.SolverOptions(rtol=1e-10, atol=1e-13))
    assert ss.method == "integration" and ss.time > 0
    np.testing.assert_allclose(ss.values, [k2 * T / K, k1 * T / K], atol=1e-8)
    dA = np.array([-k2 * T / K**2, k1 * T / K**2])
    np.testing.assert_allclose(ss.sensitivities, np.vstack([dA, -dA]), atol=1e-7)
    with pytest.raises(og.SolverError):
        og.steady_state(model, sensitivities=["k1"], method="newton")
    # the conserved total follows the start: a mapping overrides A only (B keeps 0.5)
    ss2 = og.steady_state(model, initial_state={"A": 2.5})
    np.testing.assert_allclose(ss2.values.sum(), 3.0, rtol=1e-8)


def test_no_steady_state_is_solver_error():
    model = og.Model.from_json({
        "schema": "osteogrn-model/1", "name": "growth", "time_unit": "day",
        "species": {"x": {"initial": 1.0}},
        "parameters": {"p": {"value": 1.0, "source": "assumed: test"}},
        "odes": {"x": "p"}})
    with pytest.raises(og.SolverError, match="wrms") as info:
        og.steady_state(model, max_time=1e4)
    assert info.value.time == 1e4


def test_bad_arguments_are_option_errors():
    model = og.Model.from_json(LINEAR)
    with pytest.raises(og.OptionError, match="initial_state"):
        og.steady_state(model, initial_state=[1.0, 2.0, 3.0])
    with pytest.raises(og.OptionError, match="no species 'z'"):
        og.steady_state(model, initial_state={"z": 1.0})
    with pytest.raises(og.OptionError, match="initial_sensitivities"):
        og.steady_state(model, sensitivities=["a"], initial_sensitivities=np.zeros((2, 2)))
    with pytest.raises(og.OptionError, match="method"):
        og.steady_state(model, method="bisection")
    with pytest.raises(og.OptionError, match="rtol"):
        og.steady_state(model, rtol=0.0)
    with pytest.raises(og.OptionError, match="max_steps"):
        og.steady_state(model, max_steps=0)
    with pytest.raises(og.OptionError, match="initial_state"):
        og.simulate(model, t=[0, 1], initial_state=[1.0])
    with pytest.raises(og.OptionError, match="not finite"):
        og.simulate(model, t=[0, 1], initial_state=[1.0, np.nan])
    with pytest.raises(og.OptionError, match="no sensitivities"):
        og.simulate(model, t=[0, 1], initial_sensitivities=np.zeros((2, 1)))



def test_simulate_from_initial_state_and_sensitivities_closed_form():
    # x' = -k x from x0 = 2 with dx0/dk = 0.3: x = x0 e^{-kt}, dx/dk = (s0 - t x0) e^{-kt}
    model = og.Model.from_json({
        "schema": "osteogrn-model/1", "name": "decay", "time_unit": "day",
        "species": {"x": {"initial": 1.0}, "z": {"initial": 3.0}},
        "parameters": {"k": {"value": 0.7, "max": 100, "source": "assumed: test"}},
        "odes": {"x": "-k * x", "z": "-z"}})
    t = np.array([0.0, 0.5, 1.0, 2.5, 5.0])
    k, x0, s0 = 0.7, 2.0, 0.3
    res = og.simulate(model, t=t, sensitivities=["k"], rtol=1e-10, atol=1e-13,
                      initial_state={"x": x0}, initial_sensitivities=[[s0], [0.0]])
    e = np.exp(-k * t)
    np.testing.assert_allclose(res["x"], x0 * e, rtol=1e-7)
    np.testing.assert_allclose(res["z"], 3.0 * np.exp(-t), rtol=1e-7)  # the model's
    np.testing.assert_allclose(res.sensitivities[:, 0, 0], (s0 - t * x0) * e, atol=1e-7)
    res2 = og.simulate(model, t=t, initial_state=np.array([x0, 1.0]), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(res2["z"], np.exp(-t), rtol=1e-7)


def _brannmark():
    """The Brannmark model at the PEtab problem's nominal parameters and its pre-equilibration
    condition (the one with insulin 0), read from the problem's own tables."""
    model = og.import_sbml(str(BRANNMARK / "model_Brannmark_JBC2010.xml"))
    parameters = pd.read_csv(BRANNMARK / "parameters_Brannmark_JBC2010.tsv", sep="\t",
                             index_col="parameterId")
    conditions = pd.read_csv(BRANNMARK / "experimentalCondition_Brannmark_JBC2010.tsv",
                             sep="\t", index_col="conditionId")
    measurements = pd.read_csv(BRANNMARK / "measurementData_Brannmark_JBC2010.tsv", sep="\t")
    (pre_id,) = measurements["preequilibrationConditionId"].dropna().unique()
    pre = conditions.loc[pre_id].drop("conditionName")
    assert pre["insulin_dose_1"] == 0 and pre["insulin_dose_2"] == 0
    values = {p: float(v) for p, v in parameters["nominalValue"].items() if p in model.parameters}
    values.update({p: float(v) for p, v in pre.items()})
    return model.with_parameters(values)


def test_brannmark_preequilibration_steady_state_and_sensitivities():
    model = _brannmark()
    names = ["k1a", "k1aBasic", "k21", "km2", "k3", "km3"]
    opts = og.SolverOptions(rtol=1e-10, atol=1e-14)
    ss = og.steady_state(model, sensitivities=names, options=opts, rtol=1e-10)
    # IR + IRins + IRp + IRiP + IRi, IRS + IRSiP and X + Xp are conserved: the Jacobian is
    # singular, so the integration path finds it
    assert ss.method == "integration"
    assert ss.residual < 1
    x = ss.values
    f = model.rhs(0.0, x)
    assert np.all(np.abs(f) <= 1e-10 * np.abs(x) + 1e-12)
    # the totals of the start are kept
    x0 = model.initial_state()
    i = {s: k for k, s in enumerate(model.species)}
    for group in (["IR", "IRins", "IRp", "IRiP", "IRi"], ["IRS", "IRSiP"], ["X", "Xp"]):
        idx = [i[s] for s in group]
        np.testing.assert_allclose(x[idx].sum(), x0[idx].sum(), rtol=1e-8)
    # sensitivities against central finite differences
    theta = model.parameters
    for j, name in enumerate(names):
        h = 1e-4 * theta[name]
        up = og.steady_state(model, parameters={name: theta[name] + h}, options=opts, rtol=1e-10)
        down = og.steady_state(model, parameters={name: theta[name] - h}, options=opts,
                               rtol=1e-10)
        fd = (up.values - down.values) / (2 * h)
        np.testing.assert_allclose(ss.sensitivities[:, j], fd, rtol=1e-4,
                                   atol=1e-6 * np.max(np.abs(fd)) + 1e-12,
                                   err_msg=f"d x_ss / d {name}")
    # and a simulation started there stays there
    res = og.simulate(model, t=[0.0, 10.0], initial_state=ss.values, options=opts)
    np.testing.assert_allclose(res.species[-1], x, rtol=1e-6, atol=1e-12)

"""Species initial values as expressions (docs/formats/model.md#species): the Python accessors,
values at the current parameters, forward sensitivities from d x0 / d θ against central
differences, batches, to_json / to_sbml round trips, errors; and SBML models whose initial
values depend on parameters (initial assignments, parameter-sized compartments)."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import osteogrn as og

ROOT = pathlib.Path(__file__).resolve().parents[2]
PETAB = ROOT / "tests" / "data" / "petab"

# x0 = 2 a, y0 = x0 + b^2 (x's initial value), z0 = 0.5.
MODEL = {
    "schema": "osteogrn-model/1", "name": "init", "time_unit": "day",
    "species": {"x": {"initial": "2 * a"}, "y": {"initial": "x + b^2"}, "z": {"initial": 0.5}},
    "parameters": {
        "a": {"value": 1.5, "max": 100, "source": "assumed: test"},
        "b": {"value": 0.7, "max": 100, "source": "assumed: test"},
        "k": {"value": 0.4, "max": 100, "source": "assumed: test"},
        "c": {"value": 0.9, "max": 100, "source": "assumed: test"},
    },
    "odes": {"x": "-k * x", "y": "k * x - c * y", "z": "c * y - k * z"},
    "observables": {"total": "x + y + z"},
}
T = np.linspace(0.0, 4.0, 9)
TIGHT = dict(rtol=1e-11, atol=1e-13)


def _model() -> og.Model:
    return og.Model.from_json(MODEL)


def test_accessors_show_the_expression_and_the_current_values():
    m = _model()
    assert m.initial_expressions == {"x": "2 * a", "y": "x + b^2"}
    table = m.species_table()
    assert table.loc["x", "initial_expression"] == "2 * a"
    assert table.loc["z", "initial_expression"] == ""
    assert table.loc["y", "initial"] == pytest.approx(3.49)
    m2 = m.with_parameters(a=4.0, b=2.0)
    np.testing.assert_allclose(m2.initial_state(), [8.0, 12.0, 0.5])
    assert m2.initial_values == pytest.approx({"x": 8.0, "y": 12.0, "z": 0.5})
    assert m2.species_table().loc["x", "initial"] == pytest.approx(3.0)  # the file's value
    res = og.simulate(m2, t=[0.0, 1.0])
    np.testing.assert_allclose(res.species[0], [8.0, 12.0, 0.5])


def test_initial_state_jacobian():
    m = _model()
    jac = m.initial_state_jacobian()
    assert jac.shape == (3, 4)
    np.testing.assert_allclose(jac, [[2, 0, 0, 0], [2, 1.4, 0, 0], [0, 0, 0, 0]])


def test_sensitivities_match_central_differences():
    m = _model()
    names = ["a", "b", "k"]
    res = og.simulate(m, t=T, sensitivities=names, **TIGHT)
    np.testing.assert_allclose(res.sensitivities[0, :3, :], m.initial_state_jacobian()[:, :3])
    out = np.concatenate([res.species, res.observables], axis=1)
    for j, name in enumerate(names):
        theta = m.parameters[name]
        h = 1e-4 * theta
        up = og.simulate(m.with_parameters({name: theta + h}), t=T, **TIGHT)
        dn = og.simulate(m.with_parameters({name: theta - h}), t=T, **TIGHT)
        fd = (np.concatenate([up.species, up.observables], axis=1)
              - np.concatenate([dn.species, dn.observables], axis=1)) / (2 * h)
        np.testing.assert_allclose(res.sensitivities[:, :, j], fd, rtol=1e-5,
                                   atol=1e-5 * np.abs(out).max())


def test_batch_columns_move_the_initial_values():
    batch = og.simulate_batch(_model(), [og.Protocol(name="plain", duration=1.0)],
                              [[0.5, 1.0], [2.0, 3.0]], param_names=["a", "b"], t=[0.0, 1.0])
    np.testing.assert_allclose(batch["x"][:, 0, 0], [1.0, 4.0])
    np.testing.assert_allclose(batch["y"][:, 0, 0], [2.0, 13.0])


def test_to_json_and_to_sbml_round_trips():
    m = _model().with_parameters(a=2.0)
    back = og.Model.from_json(m.to_json())
    assert json.loads(m.to_json())["species"]["y"]["initial"] == "x + b^2"
    np.testing.assert_allclose(back.initial_state(), m.initial_state())
    # SBML: initial expressions become initialAssignments, so the parameters stay free
    sbml = og.import_sbml(m.to_sbml())
    assert "initialAssignment" in m.to_sbml()
    np.testing.assert_allclose(sbml.initial_state(), m.initial_state())
    moved = sbml.with_parameters(a=3.0, b=1.0)
    np.testing.assert_allclose(moved.initial_state(),
                               m.with_parameters(a=3.0, b=1.0).initial_state())
    np.testing.assert_allclose(og.simulate(moved, t=T, **TIGHT).species,
                               og.simulate(m.with_parameters(a=3.0, b=1.0), t=T, **TIGHT).species,
                               rtol=1e-8)


def test_to_sbml_defines_hill_for_an_initial_expression():
    doc = json.loads(json.dumps(MODEL))
    doc["species"]["z"]["initial"] = "hill(a, b, 2)"
    m = og.Model.from_json(doc)
    back = og.import_sbml(m.to_sbml())
    np.testing.assert_allclose(back.initial_state(), m.initial_state())
    np.testing.assert_allclose(back.with_parameters(b=2.0).initial_state(),
                               m.with_parameters(b=2.0).initial_state())


@pytest.mark.parametrize("initial, message", [
    ("a + nope", "unknown name 'nope'"),
    ("a * t", "cannot use t"),
    ("y + 1", "cycle"),
    ("total", "observable"),
])
def test_errors_name_the_field(initial, message):
    doc = json.loads(json.dumps(MODEL))
    doc["species"]["y"]["initial"] = initial
    with pytest.raises(og.ModelError) as info:
        og.Model.from_json(doc)
    assert info.value.pointer == "/species/y/initial"
    assert message in str(info.value)


def test_a_non_finite_initial_value_is_refused_by_species():
    doc = json.loads(json.dumps(MODEL))
    doc["species"]["y"]["initial"] = "log(b)"
    m = og.Model.from_json(doc)
    with pytest.raises(og.ModelError) as info:
        m.with_parameters(b=0.0)
    assert info.value.pointer == "/species/y/initial" and "'y'" in str(info.value)


def _fd_check(model, species, parameter, t):
    res = og.simulate(model, t=t, sensitivities=[parameter], rtol=1e-10, atol=1e-12)
    theta = model.parameters[parameter]
    h = 1e-4 * abs(theta)
    up = og.simulate(model.with_parameters({parameter: theta + h}), t=t, rtol=1e-12, atol=1e-14)
    dn = og.simulate(model.with_parameters({parameter: theta - h}), t=t, rtol=1e-12, atol=1e-14)
    fd = (up[species] - dn[species]) / (2 * h)
    s = res.sensitivities[:, res.output_names.index(model.sbml_symbols[species]["column"]), 0]
    np.testing.assert_allclose(s, fd, rtol=1e-5, atol=1e-5 * np.abs(fd).max())
    assert np.abs(fd).max() > 0


def test_elowitz_gfp_sensitivity_to_its_initial_value_parameter():
    model = og.import_sbml(PETAB / "Elowitz_Nature2000" / "model_Elowitz_Nature2000.xml")
    assert "initial_of" not in model.sbml_symbols["init_GFP"]
    gfp = model.sbml_symbols["GFP"]["name"]
    assert "init_GFP" in model.initial_expressions[gfp]
    _fd_check(model, "GFP", "init_GFP", np.linspace(0.0, 10.0, 11))


@pytest.mark.parametrize("problem, parameters", [
    ("Boehm_JProteomeRes2014", ["ratio"]),
    ("Bruno_JExpBot2016", ["init_b10", "init_bcry", "init_zea"]),
    ("Lucarelli_CellSystems2018", None),
    ("Bachmann_MSB2011", None),
    ("Borghans_BiophysChem1997", None),
])
def test_benchmark_models_import_with_free_initial_parameters(problem, parameters):
    xml = next((PETAB / problem).glob("model_*.xml"))
    model = og.import_sbml(xml)
    refused = sorted(sid for sid, e in model.sbml_symbols.items() if e.get("initial_of"))
    assert refused == []
    assert model.initial_expressions
    for name in parameters or []:
        assert name in model.parameters
        assert any(name in text for text in model.initial_expressions.values()), name
    free = parameters or sorted({n for text in model.initial_expressions.values()
                                 for n in model.parameters if n in text})[:3]
    model.with_parameters({n: model.parameters[n] * 1.1 for n in free})

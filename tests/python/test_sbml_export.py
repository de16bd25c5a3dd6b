"""Model.to_sbml: SBML L3V2 export, checked against libRoadRunner, COPASI and our own import.

Peers run the exported file the way their users do: ``roadrunner.RoadRunner(sbml).simulate``
and basico's ``load_model_from_string`` + ``run_time_course``, with the protocol as events.
"""

import json

import numpy as np
import pytest

import osteogrn as og
from osteogrn.errors import ModelError, ProtocolError

libsbml = pytest.importorskip("libsbml")
roadrunner = pytest.importorskip("roadrunner")
basico = pytest.importorskip("basico")

RTOL = 1e-10  # integrator tolerance of every run
AGREE = 1e-5  # the acceptance bound, relative
READOUTS = ["ALP", "OCN", "mineral"]

roadrunner.Logger.setLevel(roadrunner.Logger.LOG_ERROR)  # CVODE notes at discontinuities


def _times(duration):
    return np.linspace(0.0, duration, int(round(duration * 4)) + 1)


def _max_rel(ours, theirs):
    ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
    floor = 1e-12 * max(np.max(np.abs(ours)), 1e-300)
    return float(np.max(np.abs(ours - theirs) / np.maximum(np.abs(ours), floor)))


def _roadrunner(sbml, times, columns):
    r = roadrunner.RoadRunner(sbml)
    r.integrator.relative_tolerance = RTOL
    r.integrator.absolute_tolerance = 1e-12
    r.timeCourseSelections = ["time"] + list(columns)
    out = r.simulate(times=times)
    np.testing.assert_allclose(out[:, 0], times, rtol=0, atol=1e-12)
    return {c: out[:, j + 1] for j, c in enumerate(columns)}


def _copasi(sbml, times):
    dm = basico.load_model_from_string(sbml)
    try:
        basico.set_task_settings(basico.T.TIME_COURSE, {"method": {
            "Relative Tolerance": RTOL, "Absolute Tolerance": 1e-12,
            "Max Internal Steps": 1000000}}, model=dm)
        tc = basico.run_time_course(start_time=0, duration=float(times[-1]),
                                    intervals=len(times) - 1, use_sbml_id=True, model=dm)
    finally:
        basico.remove_datamodel(dm)
    np.testing.assert_allclose(tc.index.to_numpy(), times, rtol=0, atol=1e-12)
    return tc


@pytest.fixture(scope="module")
def osteogenic():
    return og.load_model("osteogenic")


def _valid(sbml):
    doc = libsbml.readSBMLFromString(sbml)
    assert (doc.getLevel(), doc.getVersion()) == (3, 2)
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, False)
    doc.checkConsistency()
    errors = [doc.getError(i).getMessage() for i in range(doc.getNumErrors())
              if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
    assert errors == []
    return doc


@pytest.mark.parametrize("protocol", og.list_protocols())
def test_osteogenic_preset_agrees_with_roadrunner(osteogenic, protocol):
    p = og.load_protocol(protocol)
    t = _times(p.duration)
    ours = og.simulate(osteogenic, p, t=t, rtol=RTOL, atol=1e-12)
    sbml = osteogenic.to_sbml(protocol=p)
    _valid(sbml)
    theirs = _roadrunner(sbml, t, READOUTS)
    for name in READOUTS:
        assert _max_rel(ours[name], theirs[name]) < AGREE, name


@pytest.mark.parametrize("protocol", og.list_protocols())
def test_osteogenic_preset_agrees_with_copasi(osteogenic, protocol):
    p = og.load_protocol(protocol)
    t = _times(p.duration)
    ours = og.simulate(osteogenic, p, t=t, rtol=RTOL, atol=1e-12)
    tc = _copasi(osteogenic.to_sbml(protocol=p), t)
    for name in READOUTS:
        assert _max_rel(ours[name], tc[name].to_numpy()) < AGREE, name


def _busy_protocol(model):
    """Every schedule feature at once: listed media changes with partial replacement,
    component windows, decay, a mass unit converted through a molar mass, additions (one on a
    change day, one in another unit), a knockout window, an open clamp and two overlapping
    parameter perturbations (a scale, then a value that wins where both hold)."""
    sp, pa = model.species, list(model.parameters)
    return og.Protocol(
        name="busy", duration=20, media_changes=[2, 5.5, 9, 13, 17], replace_fraction=0.7,
        components={
            "dex": {"concentration": 100, "unit": "nM", "from": 3, "until": 12},
            "asc2p": {"concentration": 50, "unit": "uM", "half_life": 4.0},
            "bgp": {"concentration": 2.1604, "unit": "mg/mL", "molar_mass": 216.04, "until": 15},
            "bmp2": {"concentration": 100, "unit": "ng/mL", "half_life": 0.25, "until": 7}},
        additions=[{"day": 5.5, "component": "bmp2", "concentration": 0.05, "unit": "ug/mL"},
                   {"day": 10.25, "component": "asc2p", "concentration": 20}],
        perturbations=[{"knockout": sp[3], "from": 4, "until": 8},
                       {"clamp": sp[5], "value": 0.3, "from": 6.5},
                       {"parameter": pa[2], "scale": 0.5, "from": 3, "until": 11},
                       {"parameter": pa[2], "value": 0.1, "from": 8, "until": 14}])


@pytest.mark.parametrize("overlay", [False, True])
def test_every_schedule_feature_agrees_with_roadrunner(osteogenic, overlay):
    model = osteogenic.knockout(osteogenic.species[7]) if overlay else osteogenic
    p = _busy_protocol(model)
    t = _times(p.duration)
    ours = og.simulate(model, p, t=t, rtol=RTOL, atol=1e-12)
    columns = model.species + READOUTS + model.inputs
    theirs = _roadrunner(model.to_sbml(protocol=p), t, columns)
    worst = max(_max_rel(ours[c], theirs[c]) for c in columns)
    assert worst < AGREE
    # the perturbations really act: a knocked-out species is 0 inside its window (to the
    # peer's interpolation noise) and was not before it
    knocked = np.asarray(ours[model.species[3]])
    inside = (t >= 4) & (t < 8)
    assert np.all(knocked[inside] == 0.0) and knocked[inside.argmax() - 1] != 0.0
    assert np.max(np.abs(theirs[model.species[3]][inside])) < 1e-12 * np.max(np.abs(knocked))


def _protocol_for_inputs(model):
    """A protocol that drives every input of the model (decay on every other one, a window on
    every third), so that the round trip exercises the restored inputs and their units."""
    units = {i["name"]: i["unit"] for i in model._core.inputs}
    components = {}
    for k, name in enumerate(model.inputs):
        c = {"concentration": 10.0 * (k + 1), "unit": units[name]}
        if k % 2 == 0:
            c["half_life"] = 1.5
        if k % 3 == 1:
            c["from"] = 4
        components[name] = c
    return og.Protocol(name="drive_all", duration=14, media_changes=3, replace_fraction=0.5,
                       components=components)


@pytest.mark.parametrize("name", og.list_models())
def test_round_trip_every_builtin_model(name):
    model = og.load_model(name)
    sbml = model.to_sbml()
    _valid(sbml)
    imported = og.import_sbml(sbml)
    symbols = og.sbml.translate_sbml(sbml).symbols
    assert imported.inputs == model.inputs  # restored from the osteogrn annotation
    p = _protocol_for_inputs(model) if model.inputs else None
    t = np.linspace(0, 14, 57)
    a = og.simulate(model, p, t=t, rtol=RTOL, atol=1e-12)
    b = og.simulate(imported, p, t=t, rtol=RTOL, atol=1e-12)
    for column in model.species + model.observables:
        assert _max_rel(a[column], b[symbols[column].column]) < 1e-8, column


def test_round_trip_keeps_a_knockout(osteogenic):
    target = osteogenic.species[4]
    model = osteogenic.knockout(target)
    sbml = model.to_sbml()
    imported = og.import_sbml(sbml)
    p = og.load_protocol("om_bmp2")
    t = _times(p.duration)
    a = og.simulate(model, p, t=t, rtol=RTOL, atol=1e-12)
    b = og.simulate(imported, p, t=t, rtol=RTOL, atol=1e-12)
    assert np.all(np.asarray(b[target]) == 0.0)
    for name in READOUTS:
        assert _max_rel(a[name], b[name + "_value"]) < 1e-8
    # and the knockout changed the result (the overlay was exported, not dropped)
    plain = og.simulate(osteogenic, p, t=t, rtol=RTOL, atol=1e-12)
    assert _max_rel(plain["ALP"], a["ALP"]) > 1e-3


EVERY_FUNCTION = (
    "hill(x, 0.5, 2.5) - hill_rep(-x, 0.3, 1.7) + hill(x, 0.2, 1) + hill_rep(x, 0.4, 2)"
    " + (t > 1) * 0.1 + piecewise(0.2, x < 0 and t < 2, -0.1, not (x > 1) or t >= 3, 0.05)"
    " + min(x, 0.1, t) - max(x, -1, 0.5 * t) + 0.01 * log(2 + t) + 0.01 * ln(2 + t)"
    " + 0.01 * log10(3 + t) + 0.01 * sqrt(1 + t) + 0.02 * abs(x) + 0.01 * pow(1 + t, 0.5)"
    " + 0.001 * 2^-x^2 + 0.003 * ((x != 0) == 1) - 0.5 * x - -0.01 * +k")


def _function_model():
    return og.Model.from_json({
        "schema": "osteogrn-model/1", "name": "every_function",
        "species": {"x": {"initial": -0.5}, "y": {"initial": 1.0}},
        "parameters": {"k": {"value": 0.7, "source": "assumed: test value"}},
        "expressions": {"drive": EVERY_FUNCTION},
        "odes": {"x": "drive", "y": "-k * y * (t < 2.5) + hill(x, 0.3, 3)"},
        "observables": {"both": "x + y"}})


def test_every_function_and_operator_survives_the_round_trip_and_roadrunner():
    model = _function_model()
    sbml = model.to_sbml()
    _valid(sbml)
    t = np.linspace(0, 5, 51)
    a = og.simulate(model, t=t, rtol=RTOL, atol=1e-12)
    b = og.simulate(og.import_sbml(sbml), t=t, rtol=RTOL, atol=1e-12)
    rr = _roadrunner(sbml, t, ["x", "y", "both"])
    for c in ("x", "y"):
        assert _max_rel(a[c], b[c]) < 1e-8
        assert _max_rel(a[c], rr[c]) < AGREE
    assert _max_rel(a["both"], rr["both"]) < AGREE
    # x starts negative: the Hill terms must count it as 0 (a NaN would poison everything)
    assert np.all(np.isfinite(rr["x"]))


def test_writes_the_file_and_names_time_and_functions(tmp_path):
    path = tmp_path / "m.xml"
    text = _function_model().to_sbml(path)
    assert path.read_text(encoding="utf-8") == text
    doc = _valid(text)
    m = doc.getModel()
    assert {m.getFunctionDefinition(i).getId() for i in range(m.getNumFunctionDefinitions())} \
        == {"hill", "hill_rep"}
    assert "http://www.sbml.org/sbml/symbols/time" in text
    rules = {m.getRule(i).getVariable(): m.getRule(i) for i in range(m.getNumRules())}
    assert rules["x"].isRate() and rules["drive"].isAssignment() and rules["both"].isAssignment()
    assert m.getSpecies("x").getHasOnlySubstanceUnits()
    assert m.getCompartment(0).getSize() == 1.0


def test_inputs_become_events_and_rules_with_a_protocol(osteogenic):
    p = og.load_protocol("om_bmp2")
    m = libsbml.readSBMLFromString(osteogenic.to_sbml(protocol=p)).getModel()
    # bmp2 decays: an assignment rule from its level, reset by one event per media change
    assert m.getAssignmentRuleByVariable("bmp2") is not None
    triggers = sorted(libsbml.formulaToL3String(m.getEvent(i).getTrigger().getMath())
                      for i in range(m.getNumEvents()))
    assert triggers == sorted(f"time >= {d:g}" for d in p.media_change_days)
    # a protocol may be given by name, and the text does not depend on the run
    assert osteogenic.to_sbml(protocol="om_bmp2") == osteogenic.to_sbml(protocol=p)
    # without a protocol the inputs are constants and the annotation records them
    plain = libsbml.readSBMLFromString(osteogenic.to_sbml()).getModel()
    assert plain.getNumEvents() == 0 and plain.getParameter("bmp2").getConstant()


def test_errors_are_typed(osteogenic):
    with pytest.raises(ProtocolError, match="Protocol"):
        osteogenic.to_sbml(protocol={"name": "not a protocol"})
    stranger = og.Protocol(name="stranger", duration=5,
                           components={"nonsense": {"concentration": 1, "unit": "nM"}})
    with pytest.raises(ProtocolError, match="nonsense"):
        osteogenic.to_sbml(protocol=stranger)
    from osteogrn.sbml._export import _MathBuilder
    with pytest.raises(ModelError, match="piecewise"):
        _MathBuilder("hill", "hill_rep").math("piecewise(1, 2)", "the test")


@pytest.mark.parametrize("protocol", og.list_protocols() + ["busy", "busy+knockout"])
def test_import_of_model_with_protocol_simulates_like_the_protocol(osteogenic, protocol):
    """import_sbml(model.to_sbml(protocol=p)) carries the protocol as events: simulated without
    a protocol it reproduces og.simulate(model, p) (engine events, SBML import of events)."""
    model = osteogenic.knockout(osteogenic.species[7]) if protocol.endswith("knockout") \
        else osteogenic
    p = _busy_protocol(model) if protocol.startswith("busy") else og.load_protocol(protocol)
    t = _times(p.duration)
    sbml = model.to_sbml(protocol=p)
    imported = og.import_sbml(sbml)
    assert imported.inputs == []  # the protocol is in the events now
    symbols = og.sbml.translate_sbml(sbml).symbols
    a = og.simulate(model, p, t=t, rtol=RTOL, atol=1e-12)
    b = og.simulate(imported, t=t, rtol=RTOL, atol=1e-12)
    for name in READOUTS:
        assert _max_rel(a[name], b[symbols[name].column]) < 1e-7, name
    for name in model.species:  # integration noise on values near 0 counts against the peak
        x, y = np.asarray(a[name]), np.asarray(b[symbols[name].column])
        assert np.all(np.abs(x - y) <= 1e-7 * np.abs(x) + 1e-9 * np.max(np.abs(x))), name

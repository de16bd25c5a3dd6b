"""SBML events -> the model format's ``events`` (import side).

Small SBML models are built with libsbml's own API and formula parser (no hand-written XML);
the translated document is checked field by field, and simulations against closed forms.
"""

from __future__ import annotations

import math
from typing import Dict, Sequence, Tuple

import libsbml
import numpy as np
import pytest

import osteogrn as og
from osteogrn.sbml import translate_sbml


def _math(formula: str) -> "libsbml.ASTNode":
    ast = libsbml.parseL3Formula(formula)
    assert ast is not None, libsbml.getLastParseL3Error()
    return ast


def build(*, compartments: Dict[str, Tuple[float, bool]] = None,
          species: Dict[str, Tuple[str, float, bool]] = None,
          parameters: Dict[str, Tuple[float, bool]] = None,
          rate_rules: Dict[str, str] = None,
          assignment_rules: Dict[str, str] = None,
          reactions: Sequence[dict] = (),
          events: Sequence[dict] = ()) -> str:
    """SBML L3V2 text.

    compartments: id -> (size, constant); species: id -> (compartment, initial concentration,
    hasOnlySubstanceUnits) (non-constant, not boundary; the initial value is an amount when
    hasOnlySubstanceUnits); parameters: id -> (value, constant); reactions: dicts with id,
    reactants/products (lists of (species, stoichiometry, reference id or None)) and law;
    events: dicts with id (None: no id), trigger (None: no trigger math), assignments
    ({variable: formula or None}), optional delay, priority (formula, or "" for an element
    without math), persistent, initial_value, use_values_from_trigger_time.
    """
    doc = libsbml.SBMLDocument(3, 2)
    m = doc.createModel()
    m.setId("m")
    for cid, (size, constant) in (compartments or {"c": (1.0, True)}).items():
        c = m.createCompartment()
        c.setId(cid)
        c.setSize(size)
        c.setConstant(constant)
        c.setSpatialDimensions(3)
    for sid, (comp, x0, amount) in (species or {}).items():
        s = m.createSpecies()
        s.setId(sid)
        s.setCompartment(comp)
        if amount:
            s.setInitialAmount(x0)
        else:
            s.setInitialConcentration(x0)
        s.setHasOnlySubstanceUnits(amount)
        s.setBoundaryCondition(False)
        s.setConstant(False)
    for pid, (value, constant) in (parameters or {}).items():
        p = m.createParameter()
        p.setId(pid)
        p.setValue(value)
        p.setConstant(constant)
    for var, formula in (rate_rules or {}).items():
        r = m.createRateRule()
        r.setVariable(var)
        r.setMath(_math(formula))
    for var, formula in (assignment_rules or {}).items():
        r = m.createAssignmentRule()
        r.setVariable(var)
        r.setMath(_math(formula))
    for rx in reactions:
        r = m.createReaction()
        r.setId(rx["id"])
        r.setReversible(False)
        for create, refs in ((r.createReactant, rx.get("reactants", ())),
                             (r.createProduct, rx.get("products", ()))):
            for sid, stoich, ref_id in refs:
                ref = create()
                ref.setSpecies(sid)
                ref.setStoichiometry(stoich)
                ref.setConstant(ref_id is None)
                if ref_id:
                    ref.setId(ref_id)
        kl = r.createKineticLaw()
        kl.setMath(_math(rx["law"]))
    for spec in events:
        ev = m.createEvent()
        if spec.get("id"):
            ev.setId(spec["id"])
        ev.setUseValuesFromTriggerTime(spec.get("use_values_from_trigger_time", True))
        trig = ev.createTrigger()
        trig.setInitialValue(spec.get("initial_value", True))
        trig.setPersistent(spec.get("persistent", True))
        if spec.get("trigger") is not None:
            trig.setMath(_math(spec["trigger"]))
        for key, create in (("delay", ev.createDelay), ("priority", ev.createPriority)):
            if key in spec:
                element = create()
                if spec[key]:
                    element.setMath(_math(spec[key]))
        for var, formula in spec.get("assignments", {}).items():
            ea = ev.createEventAssignment()
            ea.setVariable(var)
            if formula is not None:
                ea.setMath(_math(formula))
    return libsbml.writeSBMLToString(doc)


def events_of(text: str, **kwargs) -> Dict[str, dict]:
    return translate_sbml(text, **kwargs).document.get("events", {})


# -- document: targets ------------------------------------------------------------------------

def test_parameter_target_becomes_a_state_and_the_event_carries_every_field():
    text = build(parameters={"p": (3.0, False), "k": (2.0, True)},
                 events=[{"id": "E0", "trigger": "time > 5.5", "assignments": {"p": "k + 1"},
                          "delay": "0.5", "priority": "k", "persistent": False,
                          "initial_value": False, "use_values_from_trigger_time": False}])
    tr = translate_sbml(text)
    doc = tr.document
    # p is assigned by an event: a species with ODE 0 whose initial value is the parameter's
    assert doc["species"]["p"]["initial"] == 3.0
    assert doc["odes"]["p"] == "0"
    assert "p" not in doc["parameters"]
    assert tr.symbols["p"].role == "state" and tr.symbols["p"].column == "p"
    # k is not assigned by any event: it stays a parameter
    assert doc["parameters"]["k"]["value"] == 2.0
    ev = doc["events"]["E0"]
    assert ev["trigger"] == "((t > 5.5))"
    assert ev["assignments"] == {"p": "(k + 1.0)"}
    assert ev["delay"] == "0.5"
    assert ev["priority"] == "k"
    assert ev["persistent"] is False
    assert ev["initial_value"] is False
    assert ev["use_values_from_trigger_time"] is False
    assert "E0" in ev["description"]


def test_defaults_are_written_out_and_absent_delay_and_priority_are_left_out():
    ev = events_of(build(parameters={"p": (1.0, False)},
                         events=[{"id": "E", "trigger": "time >= 1",
                                  "assignments": {"p": "2"}}]))["E"]
    assert ev["persistent"] is True and ev["initial_value"] is True
    assert ev["use_values_from_trigger_time"] is True
    assert "delay" not in ev and "priority" not in ev


def test_concentration_and_amount_species_are_assigned_as_their_state():
    text = build(compartments={"c": (2.0, True)},
                 species={"S": ("c", 1.0, False), "A": ("c", 3.0, True)},
                 events=[{"id": "E", "trigger": "S < 0.5", "assignments": {"S": "1", "A": "A / 2"}}])
    doc = translate_sbml(text).document
    # constant compartment: the concentration is the state, assigned directly; A is an amount
    assert doc["events"]["E"]["assignments"] == {"S": "1.0", "A": "(A / 2.0)"}
    assert doc["species"]["S"]["initial"] == 1.0 and doc["species"]["A"]["initial"] == 3.0


def test_compartment_target_keeps_amounts_of_the_species_in_it():
    text = build(compartments={"c": (2.0, False)},
                 species={"S": ("c", 1.5, False)},
                 parameters={"k": (0.1, True)},
                 reactions=[{"id": "R", "reactants": [("S", 1.0, None)], "law": "k * S * c"}],
                 events=[{"id": "grow", "trigger": "time > 1", "assignments": {"c": "2 * c"}}])
    tr = translate_sbml(text)
    doc = tr.document
    # the compartment is a state with ODE 0, changed by the event
    assert doc["species"]["c"]["initial"] == 2.0 and doc["odes"]["c"] == "0"
    # S's state is its amount (1.5 * 2), S itself the concentration amount / size
    assert doc["species"]["S_amount"]["initial"] == pytest.approx(3.0)
    assert doc["expressions"]["S"] == "(S_amount / c)"
    assert doc["odes"]["S_amount"] == "0 - (1.0 * R)"
    assert doc["events"]["grow"]["assignments"] == {"c": "(2.0 * c)"}


def test_concentration_in_a_resized_compartment_assigns_the_amount_at_the_old_size():
    # all of an event's values are computed before any assignment: assigning [S] = 5 sets the
    # amount to 5 * (size before the event) even when the same event resizes c (suite 01779)
    text = build(compartments={"c": (2.0, False)},
                 species={"S": ("c", 1.0, False)},
                 events=[{"id": "both", "trigger": "time > 1",
                          "assignments": {"S": "5", "c": "4"}},
                         {"id": "only_s", "trigger": "time > 2",
                          "assignments": {"S": "S + 1"}}])
    ev = events_of(text)
    assert ev["both"]["assignments"] == {"S_amount": "((5.0) * c)", "c": "4.0"}
    assert ev["only_s"]["assignments"] == {"S_amount": "(((S + 1.0)) * c)"}


def test_resizing_a_compartment_rescales_a_rate_ruled_concentration_in_it():
    # the amount is kept, so a concentration that is a state of its own (rate rule) is scaled
    # by old size / new size, from the value the same event gives it if any (suite 01505/01506)
    kwargs = dict(compartments={"c": (0.5, False)}, species={"S": ("c", 0.0, False)},
                  rate_rules={"S": "0.4", "c": "0.2"})
    ev = events_of(build(events=[{"id": "E", "trigger": "time >= 0.45",
                                  "assignments": {"c": "0.2"}}], **kwargs))
    assert ev["E"]["assignments"] == {"c": "0.2", "S": "((S) * c / (0.2))"}
    ev = events_of(build(events=[{"id": "E", "trigger": "time >= 0.45",
                                  "assignments": {"S": "0.2", "c": "0.2"}}], **kwargs))
    assert ev["E"]["assignments"] == {"c": "0.2", "S": "((0.2) * c / (0.2))"}


def test_species_reference_target_becomes_a_state_used_as_the_stoichiometry():
    text = build(species={"S": ("c", 10.0, False), "P": ("c", 0.0, False)},
                 reactions=[{"id": "R", "reactants": [("S", 1.0, "sr")],
                             "products": [("P", 1.0, None)], "law": "0.1 * S"}],
                 events=[{"id": "E", "trigger": "time > 1", "assignments": {"sr": "2"}}])
    doc = translate_sbml(text).document
    assert doc["species"]["sr"]["initial"] == 1.0 and doc["odes"]["sr"] == "0"
    assert "sr *" in doc["odes"]["S"]
    assert doc["events"]["E"]["assignments"] == {"sr": "2.0"}


def test_rate_ruled_parameter_keeps_its_rule_and_is_assigned():
    doc = translate_sbml(build(parameters={"x": (1.0, False)}, rate_rules={"x": "-x"},
                               events=[{"id": "E", "trigger": "x < 0.1",
                                        "assignments": {"x": "1"}}])).document
    assert doc["odes"]["x"] == "(-x)"
    assert doc["events"]["E"] == {"trigger": "((x < 0.1))", "assignments": {"x": "1.0"},
                                  "persistent": True, "initial_value": True,
                                  "use_values_from_trigger_time": True,
                                  "description": "SBML event E"}


def test_event_without_id_gets_a_generated_name():
    ev = events_of(build(parameters={"p": (1.0, False)},
                         events=[{"trigger": "time > 1", "assignments": {"p": "2"}}]))
    assert list(ev) == ["event_1"]


# -- document: missing math (SBML L3V2 allows it; then it has no effect) --------------------

def test_missing_trigger_math_drops_the_event():
    doc = translate_sbml(build(parameters={"p": (3.0, False)},
                               events=[{"id": "E", "trigger": None,
                                        "assignments": {"p": "2"}}])).document
    assert "events" not in doc


def test_missing_assignment_math_drops_the_assignment_and_an_empty_event():
    ev = events_of(build(parameters={"p": (3.0, False), "d": (5.0, False)},
                         events=[{"id": "E", "trigger": "time > 5.5",
                                  "assignments": {"d": None, "p": "5"}},
                                 {"id": "F", "trigger": "time > 1",
                                  "assignments": {"d": None}}]))
    assert list(ev) == ["E"]
    assert ev["E"]["assignments"] == {"p": "5.0"}


def test_missing_delay_and_priority_math_are_as_if_absent():
    ev = events_of(build(parameters={"p": (3.0, False)},
                         events=[{"id": "E", "trigger": "time > 5.5", "assignments": {"p": "5"},
                                  "delay": "", "priority": ""}]))["E"]
    assert "delay" not in ev and "priority" not in ev


# -- refusals -----------------------------------------------------------------------------------

def test_delay_csymbol_in_a_trigger_is_refused_naming_the_event():
    text = build(parameters={"p": (1.0, False)}, rate_rules={"p": "1"},
                 events=[{"id": "late", "trigger": "delay(p, 1) > 2",
                          "assignments": {"p": "0"}}])
    with pytest.raises(og.UnsupportedSBMLError) as info:
        translate_sbml(text)
    assert info.value.element == "late" and "delay()" in info.value.feature


def test_delay_csymbol_in_an_assignment_is_refused_naming_the_event():
    text = build(parameters={"p": (1.0, False), "q": (0.0, False)}, rate_rules={"p": "1"},
                 events=[{"id": "E2", "trigger": "time > 2",
                          "assignments": {"q": "delay(p, 1)"}}])
    with pytest.raises(og.UnsupportedSBMLError) as info:
        translate_sbml(text)
    assert info.value.element == "E2" and "delay()" in info.value.feature


def test_rate_ruled_concentration_in_a_compartment_an_event_resizes_through_a_rule_is_refused():
    text = build(compartments={"c": (1.0, False)}, species={"S": ("c", 1.0, False)},
                 parameters={"v": (1.0, False), "w": (1.0, False)},
                 rate_rules={"S": "1"}, assignment_rules={"c": "2 * w", "w": "v + 1"},
                 events=[{"id": "E", "trigger": "time > 1", "assignments": {"v": "3"}}])
    with pytest.raises(og.UnsupportedSBMLError) as info:
        translate_sbml(text)
    assert info.value.element == "E" and "'v'" in info.value.feature


def test_concentration_in_a_compartment_sized_by_a_rule_is_assigned_at_the_current_size():
    text = build(compartments={"c": (1.0, False)}, species={"S": ("c", 1.0, False)},
                 parameters={"v": (1.0, False)}, assignment_rules={"c": "2 * v"},
                 events=[{"id": "E", "trigger": "time > 1", "assignments": {"S": "2", "v": "3"}}])
    assert events_of(text)["E"]["assignments"] == {"S_amount": "((2.0) * c)", "v": "3.0"}


@pytest.mark.parametrize("target", ["S", "c"])
def test_delayed_trigger_time_event_needing_the_size_at_execution_is_refused(target):
    spec = {"id": "E", "trigger": "time > 1", "assignments": {target: "2"}, "delay": "1"}
    kwargs = dict(compartments={"c": (1.0, False)},
                  species={"S": ("c", 1.0, False), "R": ("c", 1.0, False)},
                  rate_rules={"R": "1", "c": "0.1"})
    with pytest.raises(og.UnsupportedSBMLError) as info:
        translate_sbml(build(events=[spec], **kwargs))
    assert info.value.element == "E" and "delayed" in info.value.feature
    # with values from the time of execution the size is the one at execution: translated
    ev = events_of(build(events=[dict(spec, use_values_from_trigger_time=False)], **kwargs))
    assert ev["E"]["assignments"] == ({"S_amount": "((2.0) * c)"} if target == "S" else
                                      {"c": "2.0", "R": "((R) * c / (2.0))"})


def test_assignment_to_an_assignment_rule_variable_is_refused():
    text = build(parameters={"p": (1.0, False)}, assignment_rules={"p": "time"},
                 events=[{"id": "E", "trigger": "time > 1", "assignments": {"p": "0"}}])
    with pytest.raises(og.UnsupportedSBMLError) as info:
        translate_sbml(text)
    assert info.value.element == "E"


def test_assignment_to_a_constant_parameter_is_an_invalid_document():
    text = build(parameters={"p": (1.0, True)},
                 events=[{"id": "E", "trigger": "time > 1", "assignments": {"p": "0"}}])
    with pytest.raises(og.ModelError, match="constant parameter 'p'"):
        translate_sbml(text)


def test_an_event_assigned_parameter_cannot_be_an_input():
    text = build(parameters={"p": (1.0, False)},
                 events=[{"id": "E", "trigger": "time > 1", "assignments": {"p": "0"}}])
    with pytest.raises(og.ModelError, match="events"):
        translate_sbml(text, inputs={"drive": "p"})


@pytest.mark.parametrize("formula, text", [
    ("p < 0.1 && q > 2", "(((p < 0.1)) and ((q > 2.0)))"),
    ("!(p < 1) || time >= 3", "((not ((p < 1.0))) or ((t >= 3.0)))"),
    # an operand that is a number keeps the general translation's comparison with 0
    ("p && q > 2", "((p != 0) and (((q > 2.0)) != 0))"),
])
def test_logical_triggers_combine_the_relations_themselves(formula, text):
    ev = events_of(build(parameters={"p": (1.0, False), "q": (0.0, False)},
                         events=[{"id": "E", "trigger": formula, "assignments": {"q": "1"}}]))
    assert ev["E"]["trigger"] == text


# -- simulation against closed forms ------------------------------------------------------------

TIGHT = dict(rtol=1e-10, atol=1e-13)


def simulate(text: str, times, **kwargs):
    """Imports and simulates; returns a function SBML id -> values (as the suite reads them)."""
    tr = translate_sbml(text)
    model = og.Model.from_json(tr.document, source="test")
    res = og.simulate(model, t=np.asarray(times, dtype=float), **TIGHT, **kwargs)

    def value(sbml_id: str) -> np.ndarray:
        sym = tr.symbols[sbml_id]
        if sym.column:
            return np.asarray(res[sym.column], dtype=float)
        return np.full(len(times), model.parameters[sym.name])

    return value


@pytest.mark.parametrize("method", ["cvode_bdf", "cvode_adams", "dopri5", "rosenbrock4"])
def test_decay_reset_at_a_threshold_follows_the_closed_form(method):
    # dx/dt = -k x from 1, reset to 1 whenever x falls below 0.1: x = exp(-k (t mod T)) with
    # period T = ln(10) / k
    k = 0.7
    text = build(parameters={"x": (1.0, False), "k": (k, True)}, rate_rules={"x": "-k * x"},
                 events=[{"id": "reset", "trigger": "x < 0.1", "assignments": {"x": "1"}}])
    period = math.log(10.0) / k
    times = np.linspace(0.0, 3.3 * period, 50)  # no sample at a reset (k T never on the grid)
    got = simulate(text, times, method=method)("x")
    np.testing.assert_allclose(got, np.exp(-k * np.mod(times, period)), rtol=1e-6)


def test_resizing_a_compartment_keeps_the_amount_and_assigned_concentrations_use_the_old_size():
    # suite 01779 in small: [S] = 2 in c = 0.5; at t >= 0.45 one event assigns [S] = 0.2 and
    # c = 0.2: the amount becomes 0.2 * 0.5 = 0.1, so [S] = 0.1 / 0.2 = 0.5 afterwards; a second
    # species only resized keeps its amount 3 * 0.5
    text = build(compartments={"c": (0.5, False)},
                 species={"S": ("c", 2.0, False), "U": ("c", 3.0, False)},
                 events=[{"id": "E", "trigger": "time >= 0.45",
                          "assignments": {"S": "0.2", "c": "0.2"}}])
    times = np.linspace(0.0, 1.0, 11)
    value = simulate(text, times)
    after = times > 0.45
    np.testing.assert_allclose(value("c"), np.where(after, 0.2, 0.5), rtol=1e-12)
    np.testing.assert_allclose(value("S"), np.where(after, 0.5, 2.0), rtol=1e-12)
    np.testing.assert_allclose(value("U"), np.where(after, 3.0 * 0.5 / 0.2, 3.0), rtol=1e-12)


def test_resizing_a_compartment_rescales_a_concentration_under_a_rate_rule():
    # suite 01505: d[S]/dt = 0.4, dc/dt = 0.2 from c = 0.5; at t = 0.45 c := 0.2, so [S] jumps
    # from 0.18 to 0.18 * 0.59 / 0.2 and then grows by 0.4 per unit time again
    text = build(compartments={"c": (0.5, False)}, species={"S": ("c", 0.0, False)},
                 rate_rules={"S": "0.4", "c": "0.2"},
                 events=[{"id": "E", "trigger": "time >= 0.45", "assignments": {"c": "0.2"}}])
    times = np.linspace(0.0, 1.0, 11)
    value = simulate(text, times)
    after = times > 0.45
    want_s = np.where(after, 0.18 * 0.59 / 0.2 + 0.4 * (times - 0.45), 0.4 * times)
    np.testing.assert_allclose(value("S"), want_s, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(value("c"), np.where(after, 0.2 + 0.2 * (times - 0.45),
                                                    0.5 + 0.2 * times), rtol=1e-9)


@pytest.mark.parametrize("from_trigger_time, want", [(True, 1.0), (False, 2.0)])
def test_delayed_assignment_takes_values_from_trigger_or_execution_time(from_trigger_time, want):
    # p = t; at t = 1 the event fires, at t = 2 it assigns q = p (1 from trigger time, else 2)
    text = build(parameters={"p": (0.0, False), "q": (0.0, False)}, rate_rules={"p": "1"},
                 events=[{"id": "E", "trigger": "time >= 1", "delay": "1",
                          "assignments": {"q": "p"},
                          "use_values_from_trigger_time": from_trigger_time}])
    times = np.linspace(0.0, 3.0, 13)
    np.testing.assert_allclose(simulate(text, times)("q"), np.where(times >= 2.0, want, 0.0),
                               rtol=1e-9)


def test_stoichiometry_changed_by_an_event():
    # S -> P at rate 0.1 (constant); from t = 1.1 the reaction consumes 2 S per event
    text = build(species={"S": ("c", 10.0, False), "P": ("c", 0.0, False)},
                 reactions=[{"id": "R", "reactants": [("S", 1.0, "sr")],
                             "products": [("P", 1.0, None)], "law": "0.1"}],
                 events=[{"id": "E", "trigger": "time > 1.1", "assignments": {"sr": "2"}}])
    times = np.linspace(0.0, 3.0, 13)
    value = simulate(text, times)
    want = np.where(times <= 1.1, 10.0 - 0.1 * times, 10.0 - 0.11 - 0.2 * (times - 1.1))
    np.testing.assert_allclose(value("S"), want, rtol=1e-9)
    np.testing.assert_allclose(value("P"), 0.1 * times, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(value("sr"), np.where(times > 1.1, 2.0, 1.0))


@pytest.mark.parametrize("first, from_trigger_time, want", [
    ("double", False, 3.0), ("increment", False, 4.0),
    # values from trigger time: both are computed before either executes, 2 * 1 and 1 + 1
    ("double", True, 2.0), ("increment", True, 2.0)])
def test_simultaneous_events_execute_by_priority(first, from_trigger_time, want):
    # both fire at t = 1; with values from execution time doubling then adding 1 gives 3, the
    # other order 4
    priority = {"double": "2", "increment": "1"} if first == "double" else \
        {"double": "1", "increment": "2"}
    text = build(parameters={"p": (1.0, False)},
                 events=[{"id": "double", "trigger": "time >= 1", "priority": priority["double"],
                          "assignments": {"p": "2 * p"},
                          "use_values_from_trigger_time": from_trigger_time},
                         {"id": "increment", "trigger": "time >= 1",
                          "priority": priority["increment"], "assignments": {"p": "p + 1"},
                          "use_values_from_trigger_time": from_trigger_time}])
    times = np.array([0.0, 0.5, 1.5, 2.0])
    np.testing.assert_allclose(simulate(text, times)("p"), [1.0, 1.0, want, want])


@pytest.mark.parametrize("initial_value, want", [(True, 0.0), (False, 5.0)])
def test_a_trigger_true_at_the_start_fires_only_without_initial_value(initial_value, want):
    text = build(parameters={"p": (0.0, False)},
                 events=[{"id": "E", "trigger": "time >= 0", "initial_value": initial_value,
                          "assignments": {"p": "5"}}])
    np.testing.assert_allclose(simulate(text, [0.0, 1.0])("p"), [want, want])


@pytest.mark.parametrize("persistent, want", [(True, 7.0), (False, 0.0)])
def test_a_non_persistent_event_is_cancelled_when_its_trigger_turns_false(persistent, want):
    # fires at t = 1, executes at t = 2 unless cancelled: the trigger turns false at t = 1.5
    text = build(parameters={"p": (0.0, False)},
                 events=[{"id": "E", "trigger": "time >= 1 && time < 1.5", "delay": "1",
                          "persistent": persistent, "assignments": {"p": "7"}}])
    np.testing.assert_allclose(simulate(text, [0.0, 1.0, 2.5, 3.0])("p"), [0.0, 0.0, want, want])


def test_missing_math_has_no_effect_in_a_simulation():
    # suite 01237/01243: the assignment without math is ignored, the other one made
    text = build(parameters={"p": (3.0, False), "d": (5.0, False)},
                 events=[{"id": "E", "trigger": "time > 5.5",
                          "assignments": {"d": None, "p": "5"}}])
    value = simulate(text, [0.0, 5.0, 6.0, 10.0])
    np.testing.assert_allclose(value("p"), [3.0, 3.0, 5.0, 5.0])
    np.testing.assert_allclose(value("d"), 5.0)

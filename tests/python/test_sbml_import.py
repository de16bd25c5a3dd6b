"""og.import_sbml: hand-written SBML with closed-form solutions, refusals naming element and
feature, simulation without a protocol, and cases of the SBML Test Suite (copied into
tests/data/sbml_suite with the suite's licence; the runner checks all 1821 in
tests/sbml_suite/run_suite.py)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import osteogrn as og
from conftest import DATA, REPO

T = np.linspace(0.0, 2.0, 11)
TIGHT = dict(rtol=1e-10, atol=1e-14)


def sbml(body: str, *, level: int = 3, version: int = 2, functions: str = "") -> str:
    """An SBML document around ``body`` (the inside of <model>)."""
    ns = f"http://www.sbml.org/sbml/level{level}/version{version}/core" if level == 3 else \
        f"http://www.sbml.org/sbml/level2/version{version}"
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<sbml xmlns="{ns}" level="{level}" '
            f'version="{version}"><model id="m">{functions}{body}</model></sbml>')


def ci(name: str) -> str:
    return f"<ci> {name} </ci>"


def mathml(inner: str) -> str:
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML">{inner}</math>'


def apply(op: str, *args: str) -> str:
    return f"<apply><{op}/>{''.join(args)}</apply>"


def cn(x: float) -> str:
    return f"<cn> {x!r} </cn>"


DECAY = sbml(
    '<listOfCompartments><compartment id="cell" size="2" constant="true"/></listOfCompartments>'
    '<listOfSpecies>'
    '<species id="A" compartment="cell" initialConcentration="1" hasOnlySubstanceUnits="false"'
    ' boundaryCondition="false" constant="false"/>'
    '<species id="B" compartment="cell" initialAmount="3" hasOnlySubstanceUnits="true"'
    ' boundaryCondition="false" constant="false"/>'
    '</listOfSpecies>'
    '<listOfParameters><parameter id="k" value="0.8" constant="true"/></listOfParameters>'
    '<listOfReactions>'
    '<reaction id="r1" reversible="false"><listOfReactants>'
    '<speciesReference species="A" stoichiometry="1" constant="true"/></listOfReactants>'
    f'<kineticLaw>{mathml(apply("times", ci("k"), ci("A")))}</kineticLaw></reaction>'
    '<reaction id="r2" reversible="false"><listOfReactants>'
    '<speciesReference species="B" stoichiometry="2" constant="true"/></listOfReactants>'
    f'<kineticLaw>{mathml(apply("times", ci("k"), ci("B")))}'
    '<listOfLocalParameters><localParameter id="k" value="0.25"/></listOfLocalParameters>'
    '</kineticLaw></reaction>'
    '</listOfReactions>')


def test_reactions_divide_by_the_compartment_for_concentrations_only():
    # A is a concentration: d[A]/dt = -k*[A]/V (the rate is in amount per time).
    # B is an amount: dB/dt = -2 * k_local * B, with the local k (0.25) shadowing the global one.
    model = og.import_sbml(DECAY)
    res = og.simulate(model, t=T, **TIGHT)
    np.testing.assert_allclose(res["A"], np.exp(-0.8 * T / 2), rtol=1e-8)
    np.testing.assert_allclose(res["B"], 3 * np.exp(-2 * 0.25 * T), rtol=1e-8)
    assert model.parameters["r2_k"] == 0.25 and model.parameters["k"] == 0.8
    assert model.species == ["A", "B"]


def test_import_from_a_file_and_the_model_name(tmp_path):
    path = tmp_path / "decay.xml"
    path.write_text(DECAY)
    assert og.import_sbml(path).name == "m"
    assert og.import_sbml(str(path), name="decay").name == "decay"


RULES = sbml(
    '<listOfFunctionDefinitions><functionDefinition id="twice">'
    + mathml('<lambda><bvar><ci> x </ci></bvar>' + apply("times", cn(2.0), ci("x")) + '</lambda>')
    + '</functionDefinition></listOfFunctionDefinitions>'
    '<listOfParameters>'
    '<parameter id="exp" value="0" constant="false"/>'          # a reserved word as an id
    '<parameter id="t" value="0" constant="false"/>'            # the grammar's time symbol
    '<parameter id="q" value="1.5" constant="true"/>'
    '<parameter id="p" constant="true"/>'                       # value from an initial assignment
    '<parameter id="y" value="5" constant="false"/>'
    '<parameter id="neg" value="-4" constant="true"/>'
    '</listOfParameters>'
    '<listOfInitialAssignments><initialAssignment symbol="p">'
    + mathml(apply("plus", apply("times", cn(2.0), ci("q")), ci("neg"))) +
    '</initialAssignment></listOfInitialAssignments>'
    '<listOfRules>'
    # d(exp)/dt = twice(1): exp(t) = 2t
    '<rateRule variable="exp">' + mathml("<apply><ci> twice </ci>" + cn(1.0) + "</apply>")
    + '</rateRule>'
    # t (a parameter) = the time when time < 1, else p (= 2*1.5 - 4 = -1)
    '<assignmentRule variable="t">'
    + mathml('<piecewise><piece><csymbol encoding="text" definitionURL='
             '"http://www.sbml.org/sbml/symbols/time"> time </csymbol>'
             + apply("lt", '<csymbol encoding="text" definitionURL='
                     '"http://www.sbml.org/sbml/symbols/time"> time </csymbol>', cn(1.0))
             + f'</piece><otherwise>{ci("p")}</otherwise></piecewise>') +
    '</assignmentRule>'
    # dy/dt = -y: y = 5 exp(-t)
    f'<rateRule variable="y">{mathml(apply("minus", ci("y")))}</rateRule>'
    '</listOfRules>')


def test_rules_functions_piecewise_time_and_reserved_names():
    model = og.import_sbml(RULES)
    # the ids 'exp' and 't' clash with the grammar: renamed with a trailing underscore
    assert "exp_" in model.species and "t_" in model.expressions
    assert model.parameters["p"] == pytest.approx(-1.0)
    res = og.simulate(model, t=T, **TIGHT)
    np.testing.assert_allclose(res["exp_"], 2 * T, atol=1e-9)
    np.testing.assert_allclose(res["y"], 5 * np.exp(-T), rtol=1e-8)
    np.testing.assert_allclose(res["t__value"], np.where(T < 1, T, -1.0), atol=1e-12)


def test_initial_assignment_of_a_species_in_amount_units_and_level_2():
    doc = sbml(
        '<listOfCompartments><compartment id="c" size="4"/></listOfCompartments>'
        '<listOfSpecies><species id="S" compartment="c" initialConcentration="1"'
        ' hasOnlySubstanceUnits="true"/></listOfSpecies>'
        '<listOfParameters><parameter id="k" value="0.5"/></listOfParameters>'
        '<listOfRules><rateRule variable="S">'
        + mathml(apply("times", apply("minus", ci("k")), ci("S"))) +
        '</rateRule></listOfRules>', level=2, version=4)
    # hasOnlySubstanceUnits: the symbol is the amount, initialConcentration 1 in size 4 -> 4
    res = og.simulate(og.import_sbml(doc), t=T, **TIGHT)
    np.testing.assert_allclose(res["S"], 4 * np.exp(-0.5 * T), rtol=1e-8)


def test_a_compartment_of_varying_size_dilutes_its_species():
    # V = 1 + t; S (a concentration) is made at 2 amount/time: n = 3 + 2t, [S] = n / V
    doc = sbml(
        '<listOfCompartments><compartment id="c" size="1" constant="false"/></listOfCompartments>'
        '<listOfSpecies><species id="S" compartment="c" initialConcentration="3"'
        ' hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/></listOfSpecies>'
        '<listOfRules><rateRule variable="c">' + mathml(cn(1.0)) + '</rateRule></listOfRules>'
        '<listOfReactions><reaction id="make" reversible="false"><listOfProducts>'
        '<speciesReference species="S" stoichiometry="1" constant="true"/></listOfProducts>'
        f'<kineticLaw>{mathml(cn(2.0))}</kineticLaw></reaction></listOfReactions>')
    model = og.import_sbml(doc)
    res = og.simulate(model, t=T, **TIGHT)
    np.testing.assert_allclose(res["S_value"], (3 + 2 * T) / (1 + T), rtol=1e-9)
    np.testing.assert_allclose(res["S_amount"], 3 + 2 * T, rtol=1e-9)
    np.testing.assert_allclose(res["make_rate"], 2.0)


def test_an_algebraic_rule_linear_in_its_variable_becomes_an_assignment():
    # 0 = S1 + 2*S2 - k: S2, determined by nothing else, is (k - S1) / 2 while dS1/dt = 1
    doc = sbml(
        '<listOfParameters><parameter id="k" value="3" constant="true"/>'
        '<parameter id="S1" value="0" constant="false"/>'
        '<parameter id="S2" value="7" constant="false"/></listOfParameters>'
        '<listOfRules><rateRule variable="S1">' + mathml(cn(1.0)) + '</rateRule>'
        '<algebraicRule>' + mathml(apply("minus", apply("plus", ci("S1"),
                                                         apply("times", cn(2.0), ci("S2"))),
                                         ci("k"))) + '</algebraicRule></listOfRules>')
    res = og.simulate(og.import_sbml(doc), t=T, **TIGHT)
    np.testing.assert_allclose(res["S2"], (3 - T) / 2, rtol=1e-12)


def test_a_rate_rule_gives_the_concentration_even_in_a_compartment_of_varying_size():
    # d[S]/dt = 1 is about the concentration itself: [S] = 3 + t while V = 1 + t
    doc = sbml(
        '<listOfCompartments><compartment id="c" size="1" constant="false"/></listOfCompartments>'
        '<listOfSpecies><species id="S" compartment="c" initialConcentration="3"'
        ' hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/></listOfSpecies>'
        '<listOfRules><rateRule variable="c">' + mathml(cn(1.0)) + '</rateRule>'
        '<rateRule variable="S">' + mathml(cn(1.0)) + '</rateRule></listOfRules>')
    res = og.simulate(og.import_sbml(doc), t=T, **TIGHT)
    np.testing.assert_allclose(res["S"], 3 + T, rtol=1e-10)
    np.testing.assert_allclose(res["c"], 1 + T, rtol=1e-10)


@pytest.mark.parametrize("body, element, feature", [
    ('<listOfParameters><parameter id="x" value="1" constant="false"/></listOfParameters>'
     '<listOfRules><rateRule variable="x">' + mathml("<infinity/>")
     + '</rateRule></listOfRules>', "x", "a non-finite number"),
    ('<listOfParameters><parameter id="x" value="1" constant="false"/></listOfParameters>'
     '<listOfRules><rateRule variable="x">' + mathml(
         '<apply><csymbol encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/delay">'
         ' delay </csymbol>' + ci("x") + cn(1.0) + '</apply>')
     + '</rateRule></listOfRules>', "x", "delay()"),
    ('<listOfParameters><parameter id="x" value="1" constant="false"/></listOfParameters>'
     '<listOfRules><algebraicRule>' + mathml(apply("minus", apply("times", ci("x"), ci("x")),
                                                   cn(1.0)))
     + '</algebraicRule></listOfRules>', "algebraic rule 1",
     "an algebraic rule that is not linear in 'x', the variable it determines (a DAE)"),
    ('<listOfParameters><parameter id="x" value="1" constant="false"/>'
     '<parameter id="y" value="1" constant="false"/></listOfParameters>'
     '<listOfRules><algebraicRule>' + mathml(apply("minus", ci("x"), ci("y")))
     + '</algebraicRule></listOfRules>', "algebraic rule 1",
     "algebraic rules that must be solved together (a system of algebraic equations)"),
    ('<listOfCompartments><compartment id="c" size="1" constant="false"/></listOfCompartments>'
     '<listOfSpecies><species id="S" compartment="c" initialAmount="1" hasOnlySubstanceUnits='
     '"false" boundaryCondition="true" constant="true"/></listOfSpecies>'
     '<listOfRules><rateRule variable="c">' + mathml(cn(1.0)) + '</rateRule></listOfRules>',
     "S", "a constant concentration in a compartment of varying size"),
])
def test_unsupported_features_are_refused_naming_element_and_feature(body, element, feature):
    with pytest.raises(og.UnsupportedSBMLError) as info:
        og.import_sbml(sbml(body))
    err = info.value
    assert isinstance(err, og.ModelError)
    assert (err.element, err.feature) == (element, feature)
    assert element in str(err) and feature in str(err)


def test_unreadable_sbml_is_a_model_error(tmp_path):
    with pytest.raises(og.ModelError, match="not a readable SBML document"):
        og.import_sbml("<sbml><model></sbml")
    with pytest.raises(og.ModelError, match="no such SBML file"):
        og.import_sbml(tmp_path / "missing.xml")


def test_inputs_map_protocol_components_to_parameters():
    doc = sbml('<listOfParameters><parameter id="L" value="0" constant="true"/>'
               '<parameter id="x" value="0" constant="false"/></listOfParameters>'
               f'<listOfRules><rateRule variable="x">{mathml(ci("L"))}</rateRule></listOfRules>')
    model = og.import_sbml(doc, inputs={"ligand": "L"})
    assert model.inputs == ["ligand"]
    # without a unit the input's unit is "" (no conversion: SBML unit definitions are not read)
    proto = og.Protocol("const", 2.0, components={"ligand": {"concentration": 3.0, "unit": ""}})
    res = og.simulate(model, proto, t=T, **TIGHT)
    np.testing.assert_allclose(res["x"], 3.0 * T, atol=1e-9)
    with pytest.raises(og.ModelError, match="not a parameter or a boundary species"):
        og.import_sbml(doc, inputs={"ligand": "x"})
    # with a unit, protocol concentrations convert: 0.003 uM drive the nM input with 3
    model = og.import_sbml(doc, inputs={"ligand": ("L", "nM")})
    proto = og.Protocol("const", 2.0, components={"ligand": {"concentration": 0.003, "unit": "uM"}})
    res = og.simulate(model, proto, t=T, **TIGHT)
    np.testing.assert_allclose(res["x"], 3.0 * T, atol=1e-9)


def test_simulate_without_a_protocol():
    model = og.import_sbml(DECAY)
    res = og.simulate(model, t=[0.0, 0.5, 1.0])
    assert list(res.t) == [0.0, 0.5, 1.0]
    with pytest.raises(og.OptionError, match="pass the sample times"):
        og.simulate(model)
    # a model with inputs needs its protocol: running it at the inputs' defaults by omission
    # would hide a forgotten protocol
    with pytest.raises(og.ProtocolError, match="has inputs"):
        og.simulate(og.load_model("osteogenic"), t=[0.0, 1.0])


# -- SBML Test Suite cases (copied with their licence) ----------------------------------------
SUITE = DATA / "sbml_suite"
_spec = importlib.util.spec_from_file_location("run_suite", REPO / "tests" / "sbml_suite" / "run_suite.py")
run_suite = importlib.util.module_from_spec(_spec)
sys.modules["run_suite"] = run_suite
_spec.loader.exec_module(run_suite)

PASSING = sorted(p.name for p in SUITE.iterdir() if p.is_dir() and p.name.isdigit()) \
    if SUITE.is_dir() else []


def test_the_copied_suite_cases_are_present():
    assert len(PASSING) >= 20, SUITE


@pytest.mark.parametrize("case", PASSING)
def test_suite_case(case):
    # each copied case says whether it passes or is refused (with a named feature); a case that
    # passes must keep passing, and a refused one must never turn into a wrong number
    outcome, message = run_suite.run_case(SUITE / case)
    expected = (SUITE / case / "expected_outcome.txt").read_text().strip()
    assert outcome == expected, message
    if outcome == "refused":
        assert "is not supported" in message


# -- the MathML function set: evaluator (initial values) and engine (rules) agree ------------
MATH_CASES = [
    ("log(2, 8)", 3.0), ("log10(1000)", 3.0), ("root(3, 27)", 3.0), ("sqrt(16)", 4.0),
    ("ln(exp(2))", 2.0), ("abs(-3)", 3.0), ("pow(2, 10)", 1024.0), ("2^-1", 0.5),
    ("max(1, 5, 3)", 5.0), ("min(4, -2)", -2.0), ("piecewise(1, 2 < 1, 7)", 7.0),
    ("piecewise(1, 2 > 1, 7)", 1.0), ("xor(true, false, true)", 0.0), ("and(1, 0)", 0.0),
    ("or(0, 2)", 1.0), ("lt(1, 3, 2)", 0.0), ("lt(1, 2, 3)", 1.0), ("neq(1, 2)", 1.0),
    ("not(0)", 1.0), ("pi", math.pi), ("exponentiale", math.e), ("avogadro", 6.02214179e23),
    ("f(2, 3)", 7.0), ("time + 1", 1.0), ("-(3) * 2", -6.0),
]


def _math_model() -> str:
    import libsbml

    def ml(formula: str) -> str:
        ast = libsbml.parseL3Formula(formula)
        assert ast is not None, (formula, libsbml.getLastParseL3Error())
        return libsbml.writeMathMLToString(ast).split("?>", 1)[-1]

    params, ias, rules = [], [], []
    for i, (formula, _) in enumerate(MATH_CASES):
        params.append(f'<parameter id="p{i}" constant="true"/>'
                      f'<parameter id="q{i}" constant="false"/>')
        ias.append(f'<initialAssignment symbol="p{i}">{ml(formula)}</initialAssignment>')
        rules.append(f'<assignmentRule variable="q{i}">{ml(formula)}</assignmentRule>')
    fdef = ('<listOfFunctionDefinitions><functionDefinition id="f">'
            + ml("lambda(x, y, x * y + 1)") + '</functionDefinition></listOfFunctionDefinitions>')
    return sbml(f'<listOfParameters>{"".join(params)}</listOfParameters>'
                f'<listOfInitialAssignments>{"".join(ias)}</listOfInitialAssignments>'
                f'<listOfRules>{"".join(rules)}</listOfRules>', functions=fdef)


def test_math_functions_agree_between_initial_values_and_the_engine():
    model = og.import_sbml(_math_model())
    res = og.simulate(model, t=[0.0, 0.5])
    for i, (formula, expected) in enumerate(MATH_CASES):
        assert model.parameters[f"p{i}"] == pytest.approx(expected, rel=1e-14), formula
        assert res[f"q{i}_value"][0] == pytest.approx(expected, rel=1e-14), formula


def test_invalid_documents_are_model_errors_not_crashes():
    # libsbml reads these without an error; the import checks what it relies on
    twice = sbml('<listOfParameters><parameter id="k" value="1" constant="true"/>'
                 '<parameter id="k" value="2" constant="true"/></listOfParameters>')
    with pytest.raises(og.ModelError, match="'k' is declared twice"):
        og.import_sbml(twice)
    nowhere = sbml('<listOfSpecies><species id="S" compartment="c" initialAmount="1"'
                   ' hasOnlySubstanceUnits="true" boundaryCondition="false" constant="false"/>'
                   '</listOfSpecies>')
    with pytest.raises(og.ModelError, match="undeclared compartment 'c'"):
        og.import_sbml(nowhere)
    assert og.import_sbml(DECAY.encode()).species == ["A", "B"]  # bytes are text too


def test_a_chain_deeper_than_the_recursion_limit_is_refused_not_a_crash():
    # p0 = p1 + 1, p1 = p2 + 1, ...: evaluating p0 at load walks the whole chain
    k = 1500
    params = "".join(f'<parameter id="p{i}" constant="false"/>' for i in range(k))
    rules = "".join(f'<assignmentRule variable="p{i}">'
                    + mathml(apply("plus", ci(f"p{i + 1}" if i < k - 1 else "base"), cn(1.0)))
                    + '</assignmentRule>' for i in range(k))
    doc = sbml(f'<listOfParameters>{params}<parameter id="base" value="1" constant="true"/>'
               f'</listOfParameters><listOfRules>{rules}</listOfRules>')
    with pytest.raises(og.UnsupportedSBMLError) as info:
        og.import_sbml(doc)
    assert info.value.element == "m" and "recursion limit" in info.value.feature


def test_load_model_recognises_sbml_by_content(tmp_path):
    path = tmp_path / "decay.model"  # no .xml: the content decides
    path.write_text(DECAY)
    model = og.load_model(path)
    assert model.species == ["A", "B"] and model.name == "m"


def test_a_constant_behind_an_initial_value_is_free():
    # S(0) = 2 k by an initial assignment: S's initial value is the expression 2 * k, so a new
    # k (a changed value, a batch column, a sensitivity, hence a fit) moves S(0) with it.
    doc = sbml(
        '<listOfCompartments><compartment id="c" size="1" constant="true"/></listOfCompartments>'
        '<listOfSpecies><species id="S" compartment="c" initialConcentration="0"'
        ' hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/></listOfSpecies>'
        '<listOfParameters><parameter id="k" value="1.5" constant="true"/>'
        '<parameter id="r" value="0.5" constant="true"/></listOfParameters>'
        '<listOfInitialAssignments><initialAssignment symbol="S">'
        + mathml(apply("times", cn(2.0), ci("k"))) + '</initialAssignment></listOfInitialAssignments>'
        '<listOfRules><rateRule variable="S">' + mathml(apply("times", cn(-1.0), ci("r"), ci("S")))
        + '</rateRule></listOfRules>')
    model = og.import_sbml(doc)
    assert model.initial_expressions == {"S": "(2.0 * k)"}
    assert "initial_of" not in model.sbml_symbols["k"]
    np.testing.assert_allclose(og.simulate(model, t=T, **TIGHT)["S"], 3.0 * np.exp(-0.5 * T),
                               rtol=1e-8)
    np.testing.assert_allclose(og.simulate(model.with_parameters(k=2.0), t=T, **TIGHT)["S"],
                               4.0 * np.exp(-0.5 * T), rtol=1e-8)
    batch = og.simulate_batch(model, [og.Protocol(name="plain", duration=2.0)],
                              [[2.0], [3.0]], param_names=["k"], t=T, **TIGHT)
    np.testing.assert_allclose(batch["S"][1, 0], 6.0 * np.exp(-0.5 * T), rtol=1e-8)
    res = og.simulate(model, t=T, sensitivities=["k", "r"], rtol=1e-10, atol=1e-12)
    s = res.output_names.index("S")
    np.testing.assert_allclose(res.sensitivities[:, s, 0], 2.0 * np.exp(-0.5 * T), rtol=1e-6)
    np.testing.assert_allclose(res.sensitivities[:, s, 1],
                               -T * 3.0 * np.exp(-0.5 * T), rtol=1e-6, atol=1e-9)


def test_a_constant_behind_a_constant_initial_assignment_still_cannot_change_silently():
    # S(0) = p2 and p2 = 2 k, both by initial assignments: p2 is a parameter whose value the
    # import evaluates once, so S's initial expression names p2 and a new k would leave p2 (and
    # S(0)) behind: k is refused, naming the parameter and the state. p2 itself is free.
    doc = sbml(
        '<listOfCompartments><compartment id="c" size="1" constant="true"/></listOfCompartments>'
        '<listOfSpecies><species id="S" compartment="c" initialConcentration="0"'
        ' hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/></listOfSpecies>'
        '<listOfParameters><parameter id="k" value="1.5" constant="true"/>'
        '<parameter id="p2" constant="true"/>'
        '<parameter id="r" value="0.5" constant="true"/></listOfParameters>'
        '<listOfInitialAssignments><initialAssignment symbol="S">' + mathml(ci("p2"))
        + '</initialAssignment><initialAssignment symbol="p2">'
        + mathml(apply("times", cn(2.0), ci("k"))) + '</initialAssignment></listOfInitialAssignments>'
        '<listOfRules><rateRule variable="S">' + mathml(apply("times", cn(-1.0), ci("r"), ci("S")))
        + '</rateRule></listOfRules>')
    model = og.import_sbml(doc)
    np.testing.assert_allclose(og.simulate(model, t=T, **TIGHT)["S"], 3.0 * np.exp(-0.5 * T),
                               rtol=1e-8)
    for attempt in (lambda: og.simulate(model, t=T, sensitivities=["k"]),
                    lambda: model.with_parameters(k=2.0),
                    lambda: og.simulate_batch(model, [og.Protocol(name="plain", duration=2.0)],
                                              [[2.0], [3.0]], param_names=["k"], t=T)):
        with pytest.raises(og.ModelError) as info:
            attempt()
        assert "'k'" in str(info.value) and "'S'" in str(info.value)
    assert model.with_parameters(k=1.5).parameters["k"] == 1.5  # the same value is fine
    np.testing.assert_allclose(og.simulate(model.with_parameters(p2=1.0), t=T, **TIGHT)["S"],
                               np.exp(-0.5 * T), rtol=1e-8)

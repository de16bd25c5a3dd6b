"""The MathML function set in og.import_sbml: trigonometric, hyperbolic, their inverses and
reciprocals, floor, ceiling, factorial, quotient, rem and implies. Values computed at load (initial assignments) and by
the engine (rules) agree with Python's math module; ODEs with closed-form solutions integrate to
them (the stiff solver uses the symbolic derivatives); the function names are reserved words."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import osteogrn as og

libsbml = pytest.importorskip("libsbml")

T = np.linspace(0.0, 2.0, 11)
TIGHT = dict(rtol=1e-10, atol=1e-14)


def sbml(body: str, functions: str = "") -> str:
    """An SBML Level 3 Version 2 document around ``body`` (the inside of <model>)."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<sbml xmlns="http://www.sbml.org/sbml/'
            'level3/version2/core" level="3" version="2"><model id="m">'
            f'{functions}{body}</model></sbml>')


def ml(formula: str) -> str:
    """MathML for an SBML L3 infix formula (libsbml's parser)."""
    ast = libsbml.parseL3Formula(formula)
    assert ast is not None, (formula, libsbml.getLastParseL3Error())
    return libsbml.writeMathMLToString(ast).split("?>", 1)[-1]


# formula, its value by Python's math module (the same C library functions the engine calls)
CASES = [
    ("sin(0.7)", math.sin(0.7)), ("cos(0.7)", math.cos(0.7)), ("tan(0.7)", math.tan(0.7)),
    ("arcsin(0.3)", math.asin(0.3)), ("arccos(0.3)", math.acos(0.3)),
    ("arctan(-2)", math.atan(-2)),
    ("sinh(1.3)", math.sinh(1.3)), ("cosh(1.3)", math.cosh(1.3)), ("tanh(1.3)", math.tanh(1.3)),
    ("arcsinh(-0.4)", math.asinh(-0.4)), ("arccosh(2.5)", math.acosh(2.5)),
    ("arctanh(0.6)", math.atanh(0.6)),
    ("sec(0.4)", 1 / math.cos(0.4)), ("csc(0.4)", 1 / math.sin(0.4)),
    ("cot(0.4)", 1 / math.tan(0.4)),
    ("sech(0.9)", 1 / math.cosh(0.9)), ("csch(0.9)", 1 / math.sinh(0.9)),
    ("coth(0.9)", 1 / math.tanh(0.9)),
    ("arcsec(3)", math.acos(1 / 3)), ("arccsc(3)", math.asin(1 / 3)),
    ("arccot(3)", math.atan(1 / 3)), ("arccot(-3)", math.atan(-1 / 3)),
    ("arcsech(0.5)", math.acosh(2)), ("arccsch(0.5)", math.asinh(2)),
    ("arccoth(2)", math.atanh(0.5)),
    ("floor(-2.5)", -3.0), ("floor(2.5)", 2.0), ("ceil(-2.5)", -2.0), ("ceil(2.5)", 3.0),
    ("factorial(0)", 1.0), ("factorial(5)", 120.0), ("factorial(18)", float(math.factorial(18))),
    ("quotient(9, 2)", 4.0), ("rem(9, 2)", 1.0), ("quotient(-7, 2)", -3.0), ("rem(-7, 2)", -1.0),
    ("quotient(7, -2)", -3.0), ("rem(7, -2)", 1.0), ("quotient(-8, -2)", 4.0), ("rem(-8, 3)", -2.0),
    ("implies(true, false)", 0.0), ("implies(false, false)", 1.0), ("implies(2, 0.5)", 1.0),
    ("implies(0.5, 0)", 0.0),
    ("sin(pi / 2) + cos(pi)", 0.0), ("g(0.5)", math.sin(0.5) ** 2 + math.cos(0.5) ** 2),
]


def _cases_model() -> str:
    params, ias, rules = [], [], []
    for i, (formula, _) in enumerate(CASES):
        params.append(f'<parameter id="p{i}" constant="true"/>'
                      f'<parameter id="q{i}" constant="false"/>')
        ias.append(f'<initialAssignment symbol="p{i}">{ml(formula)}</initialAssignment>')
        rules.append(f'<assignmentRule variable="q{i}">{ml(formula)}</assignmentRule>')
    fdef = ('<listOfFunctionDefinitions><functionDefinition id="g">'
            + ml("lambda(x, sin(x)^2 + cos(x)^2)") + '</functionDefinition>'
            '</listOfFunctionDefinitions>')
    return sbml(f'<listOfParameters>{"".join(params)}</listOfParameters>'
                f'<listOfInitialAssignments>{"".join(ias)}</listOfInitialAssignments>'
                f'<listOfRules>{"".join(rules)}</listOfRules>', functions=fdef)


def test_initial_values_and_the_engine_agree_with_the_math_module():
    model = og.import_sbml(_cases_model())
    res = og.simulate(model, t=[0.0, 0.5])
    for i, (formula, expected) in enumerate(CASES):
        assert model.parameters[f"p{i}"] == pytest.approx(expected, rel=1e-14, abs=1e-15), formula
        assert res[f"q{i}_value"][0] == pytest.approx(expected, rel=1e-14, abs=1e-15), formula


def _odes(rate_rules: dict, initial: dict, extra: str = "") -> str:
    params = "".join(f'<parameter id="{k}" value="{v!r}" constant="false"/>'
                     for k, v in initial.items())
    rules = "".join(f'<rateRule variable="{k}">{ml(f)}</rateRule>' for k, f in rate_rules.items())
    return sbml(f'<listOfParameters>{params}{extra}</listOfParameters>'
                f'<listOfRules>{rules}</listOfRules>')


def test_odes_with_trigonometric_right_hand_sides_integrate_to_their_solutions():
    doc = _odes({
        "a": "cos(time)",               # a = sin t
        "b": "-tan(b)",                 # sin b = sin(b0) e^-t
        "c": "sech(time)^2",            # c = tanh t
        "d": "1 / (1 + time^2)",        # d = arctan t (checked against the function itself)
        "e": "-sinh(e) / cosh(e)",      # sinh e = sinh(e0) e^-t
        "f": "arcsin(0.5) * cosh(0) + sec(0) - 1",  # f = pi/6 t
    }, {"a": 0.0, "b": 1.2, "c": 0.0, "d": 0.0, "e": 0.8, "f": 0.0})
    model = og.import_sbml(doc)
    res = og.simulate(model, t=T, **TIGHT)
    np.testing.assert_allclose(res["a"], np.sin(T), atol=1e-8)
    np.testing.assert_allclose(res["b"], np.arcsin(np.sin(1.2) * np.exp(-T)), rtol=1e-7)
    np.testing.assert_allclose(res["c"], np.tanh(T), atol=1e-8)
    np.testing.assert_allclose(res["d"], np.arctan(T), atol=1e-8)
    np.testing.assert_allclose(res["e"], np.arcsinh(np.sinh(0.8) * np.exp(-T)), rtol=1e-7)
    np.testing.assert_allclose(res["f"], math.pi / 6 * T, rtol=1e-8)


def test_floor_ceiling_and_factorial_in_rules_over_time():
    doc = sbml('<listOfParameters><parameter id="k" value="1.7" constant="true"/>'
               '<parameter id="lo" constant="false"/><parameter id="hi" constant="false"/>'
               '<parameter id="n" constant="false"/></listOfParameters><listOfRules>'
               f'<assignmentRule variable="lo">{ml("floor(k * time)")}</assignmentRule>'
               f'<assignmentRule variable="hi">{ml("ceiling(-k * time)")}</assignmentRule>'
               f'<assignmentRule variable="n">{ml("factorial(floor(2 * time))")}</assignmentRule>'
               '</listOfRules>')
    res = og.simulate(og.import_sbml(doc), t=T)
    np.testing.assert_array_equal(res["lo_value"], np.floor(1.7 * T))
    np.testing.assert_array_equal(res["hi_value"], np.ceil(-1.7 * T))
    np.testing.assert_array_equal(res["n_value"],
                                  [float(math.factorial(int(x))) for x in np.floor(2 * T)])


def test_initial_values_at_poles_and_outside_domains_are_those_of_the_engine():
    # the arguments of a function call are computed before its body, so the value its piecewise
    # does not take may be infinite or NaN; as in the engine, that does not spoil the result
    fdef = ('<listOfFunctionDefinitions><functionDefinition id="pick">'
            + ml("lambda(x, c, piecewise(x, c, 7))") + '</functionDefinition>'
            '</listOfFunctionDefinitions>')
    unusable = "arcsech(q) + cot(q) + arcsin(2) + cosh(1000) + floor(-cosh(1000))"
    doc = sbml('<listOfParameters><parameter id="p" constant="true"/>'
               '<parameter id="q" value="0" constant="true"/></listOfParameters>'
               f'<listOfInitialAssignments><initialAssignment symbol="p">'
               f'{ml(f"pick({unusable}, q > 0)")}'
               '</initialAssignment></listOfInitialAssignments>', functions=fdef)
    assert og.import_sbml(doc).parameters["p"] == 7.0
    # ... but an initial value that is itself not finite is refused
    for formula in ("factorial(2.5)", "csc(0)", "arccosh(0.5)"):
        doc = sbml('<listOfParameters><parameter id="p" constant="true"/></listOfParameters>'
                   f'<listOfInitialAssignments><initialAssignment symbol="p">{ml(formula)}'
                   '</initialAssignment></listOfInitialAssignments>')
        with pytest.raises(og.UnsupportedSBMLError) as info:
            og.import_sbml(doc)
        assert info.value.element == "p" and "non-finite" in info.value.feature, formula


def test_ids_that_are_function_names_are_renamed():
    # an SBML id may be 'cos' or 'floor'; in osteogrn those are reserved function names
    doc = _odes({"cos": "-sin(cos)", "floor": "floor(time + 0.5)"}, {"cos": 1.0, "floor": 0.0})
    model = og.import_sbml(doc)
    assert {"cos_", "floor_"} <= set(model.species)
    res = og.simulate(model, t=[0.0, 0.25], **TIGHT)
    # d(cos)/dt = -sin(cos): tan(cos/2) = tan(1/2) e^-t
    assert res["cos_"][-1] == pytest.approx(2 * math.atan(math.tan(0.5) * math.exp(-0.25)),
                                            rel=1e-7)
    assert res["floor_"][-1] == pytest.approx(0.0, abs=1e-12)  # floor(t + 0.5) = 0 for t < 0.5


@pytest.mark.parametrize("word", ["sin", "acosh", "floor", "ceil", "factorial"])
def test_a_model_may_not_declare_a_function_name(word):
    model = {"schema": "osteogrn-model/1", "name": "m",
             "species": {word: {"initial": 1.0}}, "odes": {word: "0"}}
    with pytest.raises(og.ModelError, match=f"'{word}' is a reserved word"):
        og.Model.from_json(json.dumps(model))


def test_quotient_and_rem_over_time():
    # quotient rounds toward zero and rem takes the sign of the dividend (MathML), here with
    # dividends of both signs as time passes
    doc = sbml('<listOfParameters><parameter id="q" constant="false"/>'
               '<parameter id="r" constant="false"/></listOfParameters><listOfRules>'
               f'<assignmentRule variable="q">{ml("quotient(floor(10 * time) - 9, 4)")}'
               '</assignmentRule>'
               f'<assignmentRule variable="r">{ml("rem(floor(10 * time) - 9, 4)")}</assignmentRule>'
               '</listOfRules>')
    res = og.simulate(og.import_sbml(doc), t=T)
    a = np.floor(10 * T) - 9
    np.testing.assert_array_equal(res["q_value"], np.trunc(a / 4))
    np.testing.assert_array_equal(res["r_value"], np.fmod(a, 4))


def test_a_function_with_the_wrong_number_of_arguments_is_refused_by_name():
    sin2 = ('<math xmlns="http://www.w3.org/1998/Math/MathML"><apply><sin/><cn> 1 </cn>'
            '<cn> 2 </cn></apply></math>')
    doc = sbml('<listOfParameters><parameter id="x" value="1" constant="false"/>'
               f'</listOfParameters><listOfRules><rateRule variable="x">{sin2}</rateRule>'
               '</listOfRules>')
    with pytest.raises(og.UnsupportedSBMLError) as info:
        og.import_sbml(doc)
    assert (info.value.element, info.value.feature) == ("x", "sin with 2 arguments")

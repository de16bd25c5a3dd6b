"""Results by SBML id: ``res[sbml_id]``, ``res.amount`` and ``res.concentration`` give what each
SBML symbol of an imported model means (checked against closed forms), and the symbol map
travels with the model (with_parameters, knockout, pickle, parameters=) and its results
(pickle, JSON, batches)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import osteogrn as og

pytest.importorskip("libsbml")

T = np.linspace(0.0, 2.0, 9)
TIGHT = dict(rtol=1e-10, atol=1e-14)
K = 0.7  # the decay rate of the test model
V = 2.0  # the size of compartment c


def mathml(formula: str) -> str:
    import libsbml
    ast = libsbml.parseL3Formula(formula)
    assert ast is not None, formula
    return libsbml.writeMathMLToString(ast).split("?>", 1)[-1]


def sbml(body: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<sbml xmlns="http://www.sbml.org/sbml/'
            f'level3/version2/core" level="3" version="2"><model id="m">{body}</model></sbml>')


def species(sid: str, comp: str, attrs: str) -> str:
    return (f'<species id="{sid}" compartment="{comp}" {attrs} boundaryCondition="false"'
            ' constant="false"/>')


# A -> 2 B in c (size 2): A a concentration, B an amount (hasOnlySubstanceUnits); the reaction
# rate k*A*c is an amount per time, so [A] = exp(-k t) and B = 2*c*(1 - exp(-k t)).
# p = 3*A (an assignment rule); g grows by rate rule dg/dt = 1; the species reference of B has
# the id sr (stoichiometry 2); S sits in w, whose size grows as 1 + t, with a fixed amount 1,
# so [S] = 1/(1 + t). `t` is an SBML parameter whose id the expression language reserves.
MODEL = sbml(
    '<listOfCompartments><compartment id="c" size="2" constant="true"/>'
    '<compartment id="w" size="1" constant="false"/></listOfCompartments>'
    '<listOfSpecies>'
    + species("A", "c", 'initialConcentration="1" hasOnlySubstanceUnits="false"')
    + species("B", "c", 'initialAmount="0" hasOnlySubstanceUnits="true"')
    + species("S", "w", 'initialAmount="1" hasOnlySubstanceUnits="false"')
    + '</listOfSpecies><listOfParameters>'
    f'<parameter id="k" value="{K}" constant="true"/>'
    '<parameter id="p" constant="false"/>'
    '<parameter id="g" value="5" constant="false"/>'
    '<parameter id="t" value="4.5" constant="true"/>'
    '</listOfParameters><listOfRules>'
    f'<assignmentRule variable="p">{mathml("3 * A")}</assignmentRule>'
    f'<rateRule variable="g">{mathml("1")}</rateRule>'
    f'<rateRule variable="w">{mathml("1")}</rateRule>'
    '</listOfRules><listOfReactions>'
    '<reaction id="R" reversible="false">'
    '<listOfReactants><speciesReference species="A" stoichiometry="1" constant="true"/>'
    '</listOfReactants><listOfProducts>'
    '<speciesReference id="sr" species="B" stoichiometry="2" constant="true"/>'
    f'</listOfProducts><kineticLaw>{mathml("k * A * c")}</kineticLaw></reaction>'
    '</listOfReactions>')


@pytest.fixture(scope="module")
def model():
    return og.import_sbml(MODEL)


@pytest.fixture(scope="module")
def res(model):
    return og.simulate(model, t=T, **TIGHT)


def closed(k: float = K):
    a = np.exp(-k * T)
    return {"A": a, "B": 2 * V * (1 - a), "S": 1 / (1 + T)}


def test_every_sbml_symbol_has_its_value(model, res):
    want = closed()
    assert set(model.sbml_symbols) == {"c", "w", "A", "B", "S", "k", "p", "g", "t", "sr", "R"}
    assert sorted(res.sbml_ids) == sorted(model.sbml_symbols)
    np.testing.assert_allclose(res["A"], want["A"], rtol=1e-8)          # a concentration
    np.testing.assert_allclose(res["B"], want["B"], rtol=1e-8, atol=1e-12)  # an amount
    np.testing.assert_allclose(res["S"], want["S"], rtol=1e-8)          # varying compartment
    np.testing.assert_allclose(res["w"], 1 + T, rtol=1e-10)
    np.testing.assert_allclose(res["p"], 3 * want["A"], rtol=1e-8)       # assignment rule
    np.testing.assert_allclose(res["g"], 5 + T, rtol=1e-10)              # rate rule
    np.testing.assert_allclose(res["R"], K * want["A"] * V, rtol=1e-8)  # reaction rate
    # constants: an array of the sample length
    for sid, value in (("c", V), ("k", K), ("sr", 2.0), ("t", 4.5)):
        assert res[sid].shape == T.shape
        assert np.all(res[sid] == value), sid
    assert "t_" in model.parameters  # the reserved id was renamed; res["t"] is still the id's


def test_amount_and_concentration(res):
    want = closed()
    np.testing.assert_allclose(res.amount("A"), want["A"] * V, rtol=1e-8)
    np.testing.assert_allclose(res.concentration("A"), want["A"], rtol=1e-8)
    np.testing.assert_allclose(res.amount("B"), want["B"], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(res.concentration("B"), want["B"] / V, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(res.amount("S"), np.ones_like(T), rtol=1e-8)
    np.testing.assert_allclose(res.concentration("S"), want["S"], rtol=1e-8)
    with pytest.raises(KeyError, match="not the id of an SBML species"):
        res.amount("k")


def test_osteogrn_names_still_work(res):
    # the columns the translation made stay readable by their own names
    np.testing.assert_allclose(res["p_value"], res["p"])
    np.testing.assert_allclose(res["R_rate"], res["R"])
    with pytest.raises(KeyError, match="SBML ids: .*sr"):
        res["nothing"]


def test_the_map_travels_with_the_model_and_its_results(model, res):
    faster = model.with_parameters(k=2 * K)
    for m in (faster, pickle.loads(pickle.dumps(faster))):
        r = og.simulate(m, t=T, **TIGHT)
        assert np.all(r["k"] == 2 * K)
        np.testing.assert_allclose(r["A"], closed(2 * K)["A"], rtol=1e-8)
    r = og.simulate(model, t=T, parameters={"k": 2 * K}, **TIGHT)
    assert np.all(r["k"] == 2 * K)
    r = og.simulate(model.knockout("A"), t=T, **TIGHT)
    assert np.all(r["A"] == 0) and np.all(r["p"] == 0)
    for copy in (pickle.loads(pickle.dumps(res)), og.Result.from_json(res.to_json())):
        for sid in res.sbml_ids:
            np.testing.assert_array_equal(copy[sid], res[sid])
        np.testing.assert_array_equal(copy.amount("A"), res.amount("A"))


def test_a_perturbed_constant_has_no_constant_value(model):
    protocol = og.Protocol("halve_k", 2.0, perturbations=[{"parameter": "k", "scale": 0.5,
                                                           "from": 1.0}])
    r = og.simulate(model, protocol, t=T, **TIGHT)
    with pytest.raises(KeyError, match="perturbation of protocol 'halve_k'"):
        r["k"]
    assert np.all(r["c"] == V)  # other constants are unaffected


def test_a_compartment_without_a_size_has_no_value():
    m = og.import_sbml(sbml(
        '<listOfCompartments><compartment id="nowhere" constant="true"/></listOfCompartments>'
        '<listOfSpecies>' + species("X", "nowhere", 'initialAmount="2" '
                                    'hasOnlySubstanceUnits="true"') + '</listOfSpecies>'))
    r = og.simulate(m, t=[0.0, 1.0])
    assert list(r["X"]) == [2.0, 2.0]
    with pytest.raises(KeyError, match="compartment 'nowhere' has no value"):
        r["nowhere"]
    with pytest.raises(KeyError, match="'nowhere'"):
        r.concentration("X")


def test_models_not_from_sbml_have_no_map():
    m = og.load_model("osteogenic")
    assert m.sbml_symbols == {}
    r = og.simulate(m, "osteogenic_medium", t=[0.0, 1.0])
    assert r.sbml_symbols == {} and r.sbml_ids == []
    with pytest.raises(KeyError, match="not imported from SBML"):
        r.amount("Runx2")


def test_batches_take_sbml_ids(model):
    batch = og.simulate_batch(model, _no_inputs_protocol(),
                              parameters=[{"k": K}, {"k": 2 * K}, {"t": 1.0}],
                              t=T, outputs=["A", "S"], rtol=1e-10, atol=1e-14)
    assert list(batch.parameters.columns) == ["k", "t"]
    np.testing.assert_allclose(batch["A"][0, 0], closed(K)["A"], rtol=1e-8)
    np.testing.assert_allclose(batch["A"][1, 0], closed(2 * K)["A"], rtol=1e-8)
    np.testing.assert_allclose(batch["S"][0, 0], closed()["S"], rtol=1e-8)
    assert batch.output_names == ["A", "S_value"]  # S is the observable of [S]
    frame = batch.to_frame(names=["S"])
    assert set(frame["name"]) == {"S_value"}
    pickled = pickle.loads(pickle.dumps(batch))
    np.testing.assert_array_equal(pickled["S"], batch["S"])


def _no_inputs_protocol():
    return og.Protocol("plain", float(T[-1]))

"""og.petab.export and FitResult.to_petab: an osteogrn fit written as a PEtab v1 problem.

FitResult.log_likelihood is checked against scipy's densities; the written problem passes
petab's linter; its SBML (every protocol in one document, gated per condition) simulates like
og.simulate under each protocol; and the log-likelihood computed from the written files alone
(the SBML through og.import_sbml, the observable formulas through petab's sympy parser, the
likelihood by petab.v1.calculate.calculate_llh) equals FitResult.log_likelihood to 1e-8. The fit
is petab_export_case's (SYNTHETIC data).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import petab.v1 as petab
import pytest
from petab.v1.calculate import calculate_llh
from petab.v1.math import sympify_petab
from scipy import stats

import osteogrn as og
import osteogrn.petab  # noqa: F401 - og.petab
import petab_export_case as case
from osteogrn.fitting import Observation

# petab's readers call pandas APIs that newer pandas deprecates; not this package's concern
pytestmark = pytest.mark.filterwarnings(r"ignore::DeprecationWarning:petab\.")


@pytest.fixture(scope="module")
def result() -> og.FitResult:
    return case.fit()


@pytest.fixture(scope="module")
def exported(result, tmp_path_factory) -> str:
    return result.to_petab(tmp_path_factory.mktemp("petab") / "fit.yaml")


@pytest.fixture(scope="module")
def problem(exported) -> petab.Problem:
    return petab.Problem.from_yaml(exported)


def test_log_likelihood_is_the_sum_of_the_densities(result):
    df = result.to_frame()
    y, pred, sd = df["value"].to_numpy(), df["prediction"].to_numpy(), result.sigma
    normal = (df["observable"] == "ALP").to_numpy()
    direct = (np.sum(stats.norm.logpdf(y[normal], loc=pred[normal], scale=sd[normal]))
              + np.sum(stats.lognorm.logpdf(y[~normal], s=sd[~normal], scale=pred[~normal])))
    assert result.log_likelihood == pytest.approx(direct, rel=1e-12)
    # the estimated SDs enter at their fitted values
    assert np.all(sd[(df["observable"] == "calcium").to_numpy()]
                  == result.parameters["sigma_calcium"])


def test_written_problem_passes_the_linter_and_says_what_was_fitted(result, problem):
    assert petab.lint_problem(problem) is False  # False: no errors
    cond = problem.condition_df
    assert list(cond["conditionName"]) == ["ctrl", "dex+", "dex week 1"]
    gates = cond.drop(columns="conditionName").to_numpy()
    np.testing.assert_array_equal(gates, np.eye(3))  # each condition switches on its protocol
    par = problem.parameter_df
    est = par[par["estimate"] == 1]
    assert list(est.index) == ["k_a", "d_a", "scale_ALP", "offset_ALP", "sigma_ALP",
                               "sigma_calcium"]
    assert list(est["parameterScale"]) == ["log10", "log10", "log10", "lin", "log10", "log10"]
    for pid, row in est.iterrows():
        assert row["nominalValue"] == pytest.approx(result.parameters[pid], rel=1e-15)
    assert est.loc["k_a", "lowerBound"] == 0.01 and est.loc["k_a", "upperBound"] == 10.0
    # the analytic scale: fixed at its fitted value, and named so
    assert par.loc["scale_RUNX", "estimate"] == 0
    assert par.loc["scale_RUNX", "nominalValue"] == pytest.approx(
        result.observation_parameters["RUNX"]["scale"], rel=1e-15)
    assert "analytic" in par.loc["scale_RUNX", "parameterName"]
    obs = problem.observable_df
    assert obs.loc["obs_ALP", "observableFormula"] == "scale_ALP * ALP + offset_ALP"
    assert obs.loc["obs_ALP", "observableTransformation"] == "lin"
    assert obs.loc["obs_calcium", "observableFormula"] == \
        "calcium / observableParameter1_obs_calcium"
    assert obs.loc["obs_calcium", "observableTransformation"] == "log"
    assert obs.loc["obs_calcium", "noiseFormula"] == "sigma_calcium"
    # ALP rows without a sigma (day 21) have an observable whose noise is sigma_ALP
    meas = problem.measurement_df
    day21 = (meas["time"] == 21.0) & meas["observableId"].str.startswith("obs_ALP")
    assert set(meas.loc[day21, "observableId"]) == {"obs_ALP_sigma_estimated"}
    assert obs.loc["obs_ALP_sigma_estimated", "noiseFormula"] == "sigma_ALP"
    assert meas["noiseParameters"].dtype == float  # numbers only: AMICI reads them per row
    # the observation parameters are declared in the model too, at their nominal values
    sbml_model = problem.model
    for pid in ("scale_ALP", "offset_ALP", "sigma_ALP", "sigma_calcium", "scale_RUNX"):
        # (libsbml writes 15 significant digits)
        assert sbml_model.get_parameter_value(pid) == pytest.approx(
            par.loc[pid, "nominalValue"], rel=1e-14)
    # the fold change's denominator: calcium at day 0 of each condition (C(0) of the model)
    ca = meas[meas["observableId"] == "obs_calcium"]
    np.testing.assert_allclose(ca["observableParameters"].astype(float), 0.05, rtol=1e-12)


def _simulations(problem: petab.Problem, folder: str) -> pd.DataFrame:
    """The measurement table with a ``simulation`` column computed from the written files:
    the SBML through og.import_sbml, each condition's table row as parameter values, the
    observable formulas evaluated with petab's sympy parser (not osteogrn's code)."""
    sbml = os.path.join(folder, "model.xml")
    imported = og.import_sbml(sbml)
    symbols = og.sbml.translate_sbml(sbml).symbols
    nominal = problem.parameter_df["nominalValue"].to_dict()
    meas = problem.measurement_df.copy()
    sims = np.empty(len(meas))
    for cid, row in problem.condition_df.iterrows():
        values = {symbols[k].name: float(v) for k, v in row.drop("conditionName").items()}
        rows = np.flatnonzero(meas["simulationConditionId"] == cid)
        t = np.unique(meas["time"].to_numpy()[rows])
        res = og.simulate(imported.with_parameters(values), t=t, **case.TOL)
        for i in rows:
            m = meas.iloc[i]
            formula = sympify_petab(problem.observable_df.loc[m["observableId"],
                                                              "observableFormula"])
            k = int(np.searchsorted(t, m["time"]))
            subs = {}
            for s in formula.free_symbols:
                name = str(s)
                if name.startswith("observableParameter"):
                    subs[s] = float(m["observableParameters"])
                elif name in nominal:
                    subs[s] = nominal[name]
                else:
                    subs[s] = float(res[symbols[name].column][k])
            sims[i] = float(formula.subs(subs))
    meas["simulation"] = sims
    return meas


def test_exported_sbml_simulates_every_protocol(result, problem, exported):
    """Each condition's gate switches on its protocol's events: the imported document
    reproduces og.simulate of the fitted model under that protocol."""
    sbml = os.path.join(os.path.dirname(exported), "model.xml")
    imported = og.import_sbml(sbml)
    symbols = og.sbml.translate_sbml(sbml).symbols
    t = np.linspace(0.0, 21.0, 85)
    for cid, row in problem.condition_df.iterrows():
        values = {symbols[k].name: float(v) for k, v in row.drop("conditionName").items()}
        ours = og.simulate(result.model, result.problem.protocols[row["conditionName"]], t=t,
                           **case.TOL)
        theirs = og.simulate(imported.with_parameters(values), t=t, **case.TOL)
        for name in result.model.species + result.model.observables:
            x, y = np.asarray(ours[name]), np.asarray(theirs[symbols[name].column])
            np.testing.assert_allclose(y, x, rtol=1e-8, atol=1e-12 * np.max(np.abs(x)),
                                       err_msg=f"{name} in {cid}")
    # dex week 1 really differs from dex+ after day 7 (the gates are not all the same events)
    r = {c: og.simulate(imported.with_parameters(
        {symbols[k].name: float(v) for k, v in problem.condition_df.loc[c].drop(
            "conditionName").items()}), t=[14.0], **case.TOL)[symbols["RUNX"].column][0]
         for c in ("dex_", "dex_week_1")}
    assert r["dex_week_1"] < 0.5 * r["dex_"]


def test_log_likelihood_of_the_written_files_is_the_fits(result, problem, exported):
    sim = _simulations(problem, os.path.dirname(exported))
    llh = calculate_llh(problem.measurement_df, sim, problem.observable_df,
                        problem.parameter_df)
    print(f"round trip: FitResult.log_likelihood {result.log_likelihood!r}, from the files "
          f"{llh!r}, relative difference {abs(llh / result.log_likelihood - 1):.3g}")
    assert llh == pytest.approx(result.log_likelihood, rel=1e-8)


@pytest.mark.skipif(not hasattr(og.petab, "Problem"),
                    reason="needs og.petab.Problem, the PEtab reader (branch h14-petab)")
def test_log_likelihood_read_back_is_the_fits(result, exported):
    """The acceptance round trip: og.petab.Problem reads the exported problem and its
    log-likelihood at the nominal values (the fit's) is FitResult.log_likelihood."""
    pb = og.petab.Problem.from_yaml(exported, **case.TOL)
    assert list(pb.x_ids) == list(result.problem.names)
    llh = pb.log_likelihood()
    print(f"read back: {llh!r} vs {result.log_likelihood!r}, relative difference "
          f"{abs(llh / result.log_likelihood - 1):.3g}")
    assert llh == pytest.approx(result.log_likelihood, rel=1e-8)


def test_export_function_writes_what_to_petab_writes(result, problem, tmp_path):
    m, protos = case.model(), case.protocols()
    path = og.petab.export(m, case.data(m, protos), protos, case.observations(), tmp_path,
                           estimate=case.BOUNDS, parameters=result.parameters, **case.TOL)
    assert path == os.path.join(str(tmp_path), "problem.yaml")
    again = petab.Problem.from_yaml(path)
    pd.testing.assert_frame_equal(again.measurement_df, problem.measurement_df, rtol=1e-9)
    pd.testing.assert_frame_equal(again.parameter_df, problem.parameter_df, rtol=1e-9)
    pd.testing.assert_frame_equal(again.observable_df, problem.observable_df)
    pd.testing.assert_frame_equal(again.condition_df, problem.condition_df)


def test_what_petab_v1_cannot_hold_is_a_typed_error(result, tmp_path):
    m, protos = case.model(), case.protocols()
    d = case.data(m, protos)
    with pytest.raises(og.petab.PetabExportError, match="'calcium'.*'ctrl'") as e:
        og.petab.export(m, d, protos, {"calcium": Observation.fold("ctrl", sigma=0.1)},
                        tmp_path, estimate=case.BOUNDS)
    assert e.value.observable == "calcium"
    ratio = d[d["observable"] == "RUNX"].assign(reference_condition="ctrl")
    with pytest.raises(og.petab.PetabExportError, match="'RUNX' has ratio rows") as e:
        og.petab.export(m, ratio, protos, None, tmp_path, estimate=case.BOUNDS)
    assert e.value.observable == "RUNX"
    assert not os.listdir(tmp_path)  # nothing written
    with pytest.raises(og.OptionError, match="'k_x'"):
        og.petab.export(m, d, protos, case.observations(), tmp_path, parameters={"k_x": 1.0})


def test_several_builtin_protocols_in_one_sbml_document():
    """The osteogenic model (four inputs, BMP2 decaying within hours) under three built-in
    protocols in one document: each gate reproduces og.simulate under its protocol."""
    model = og.load_model("osteogenic")
    protos = {name: og.load_protocol(name) for name in ("osteogenic_medium", "om_bmp2",
                                                         "om_dex_week1")}
    sbml = model.to_sbml(protocols=protos)
    imported = og.import_sbml(sbml)
    symbols = og.sbml.translate_sbml(sbml).symbols
    t = np.linspace(0.0, 21.0, 43)
    for name, proto in protos.items():
        gates = {symbols[f"condition_{other}"].name: float(other == name) for other in protos}
        ours = og.simulate(model, proto, t=t, **case.TOL)
        theirs = og.simulate(imported.with_parameters(gates), t=t, **case.TOL)
        for out in model.observables:
            x, y = np.asarray(ours[out]), np.asarray(theirs[symbols[out].column])
            np.testing.assert_allclose(y, x, rtol=1e-7, atol=1e-9 * np.max(np.abs(x)),
                                       err_msg=f"{out} under {name}")
    # the document alone (first gate 1) is the first protocol
    alone = og.simulate(imported, t=t, **case.TOL)
    first = og.simulate(model, protos["osteogenic_medium"], t=t, **case.TOL)
    out = model.observables[0]
    np.testing.assert_allclose(alone[symbols[out].column], first[out], rtol=1e-7)


def test_several_protocols_must_agree_on_day_0():
    model = case.model()
    ko = og.Protocol("ko", 21, components={"dex": {"concentration": 10, "unit": "nM"}},
                     perturbations=[{"knockout": "R", "from": 0}])
    with pytest.raises(og.ModelError, match="'R' is held from day 0 differently"):
        model.to_sbml(protocols={"ko": ko, "ctrl": case.protocols()["ctrl"]})
    with pytest.raises(og.ProtocolError, match="not both"):
        model.to_sbml(protocol=ko, protocols={"ko": ko})
    with pytest.raises(og.ProtocolError, match="non-empty mapping"):
        model.to_sbml(protocols={})


def test_initial_expressions_stay_free_in_the_several_protocol_document(tmp_path):
    """A species whose initial value is an expression of an estimated parameter: an
    initialAssignment in the document (the parameter stays free there), and a fold change over
    day 0 of it warns that its denominator is written at the exported value."""
    doc = json.loads(case.model().to_json())
    doc["species"]["A"]["initial"] = "b_a / d_a"  # assumed: A starts at its basal steady state
    m = og.Model.from_json(doc)
    protos = case.protocols()
    sbml = m.to_sbml(protocols=protos)
    assert "initialAssignment" in sbml
    back = og.import_sbml(sbml)
    moved = {"d_a": 0.8}
    theirs = dict(zip(back.species, back.with_parameters(moved).initial_state()))
    ours = dict(zip(m.species, m.with_parameters(moved).initial_state()))
    assert ours["A"] == pytest.approx(0.02 / 0.8, rel=1e-14)
    for name in m.species:
        assert theirs[name] == pytest.approx(ours[name], rel=1e-14), name
    d = case.data(m, protos)
    d = d[d["observable"] == "ALP"].assign(value=lambda x: x["value"] / 10.0, sigma=0.1)
    with pytest.warns(og.FitWarning, match="day-0 value of 'ALP'.*depends on estimated"):
        og.petab.export(m, d, protos, {"ALP": Observation.fold("day0")}, tmp_path,
                        estimate=case.BOUNDS, **case.TOL)

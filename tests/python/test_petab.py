"""og.petab.Problem on the nine PEtab benchmark problems in tests/data/petab
(Benchmark-Models-PEtab, BSD-3-Clause): the log-likelihood at the nominal parameters against the
reference values of tests/data/petab/README.md (AMICI's), gradients against finite differences,
residuals against the log-likelihood, og.fit of a PEtab problem, and PetabError for bad or
unsupported problems."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import osteogrn as og
from conftest import DATA

PETAB = DATA / "petab"

#: Reference log-likelihoods at the nominal parameters (AMICI's
#: tests/benchmark_models/benchmark_models.yaml; the table in tests/data/petab/README.md).
REFERENCE = {row.problem: float(row.reference_llh) for row in
             pd.read_csv(PETAB / "reference_llh.tsv", sep="\t").itertuples()}


def yaml_of(name: str) -> Path:
    return PETAB / name / f"{name}.yaml"


def test_readme_lists_the_reference_values():
    text = (PETAB / "README.md").read_text()
    for name, value in REFERENCE.items():
        assert name in text
        assert f"{abs(value)!r}"[:14] in text


@pytest.mark.parametrize("name", list(REFERENCE))
def test_nominal_log_likelihood_matches_reference(name):
    problem = og.petab.Problem.from_yaml(yaml_of(name))
    assert problem.log_likelihood() == pytest.approx(REFERENCE[name], abs=1e-3)


def _richardson(f, x, i, h):
    """Fourth-order central difference of f along coordinate i."""
    e = np.zeros_like(x)
    e[i] = h
    return (8.0 * (f(x + e) - f(x - e)) - (f(x + 2 * e) - f(x - 2 * e))) / (12.0 * h)


def _check_gradient(problem, x, h=1e-4):
    g = problem.gradient(x)
    fd = np.array([_richardson(problem.log_likelihood, x, i, h) for i in range(problem.n_x)])
    # 1e-4 relative per component; a component below 1e-3 of the largest is compared with
    # 1e-4 of that floor (finite differences cannot resolve it better)
    floor = 1e-3 * np.max(np.abs(fd))
    np.testing.assert_allclose(g, fd, rtol=1e-4, atol=1e-4 * floor)


def test_gradient_boehm_matches_finite_differences():
    problem = og.petab.Problem.from_yaml(yaml_of("Boehm_JProteomeRes2014"), rtol=1e-12,
                                         atol=1e-12)
    rng = np.random.default_rng(1)
    # away from the nominal point (an optimum: a gradient near zero is all finite-difference
    # noise)
    _check_gradient(problem, problem.x_nominal + 0.1 * rng.uniform(-1, 1, problem.n_x))


def test_gradient_crauste_matches_finite_differences():
    # At Crauste's nominal parameters the pathogen's P^2 growth is stopped just before it
    # diverges (near t = 10): the log-likelihood there changes in the 6th digit between
    # rtol 1e-8 and 1e-12 and no finite-difference step is both above the solver noise and
    # inside the linear range. With rho_P 0.2 lower (log10) the trajectory is well conditioned.
    problem = og.petab.Problem.from_yaml(yaml_of("Crauste_CellSystems2017"), rtol=1e-12,
                                         atol=1e-10)
    x = problem.x_nominal.copy()
    x[problem.x_ids.index("rho_P")] -= 0.2
    _check_gradient(problem, x)


def test_gradient_lucarelli_matches_finite_differences():
    problem = og.petab.Problem.from_yaml(yaml_of("Lucarelli_CellSystems2018"), rtol=1e-12,
                                         atol=1e-12)
    # away from the nominal point (an optimum, see the Boehm test)
    rng = np.random.default_rng(2)
    x = np.clip(problem.x_nominal + 0.1 * rng.uniform(-1, 1, problem.n_x), problem.lb,
                problem.ub)
    _check_gradient(problem, x)


def test_attributes_and_parameter_forms():
    problem = og.petab.Problem.from_yaml(yaml_of("Boehm_JProteomeRes2014"))
    pdf = problem.petab_problem.parameter_df
    est = pdf[pdf["estimate"] == 1]
    assert problem.x_ids == list(est.index)
    assert problem.x_scales == list(est["parameterScale"])
    lin = est["nominalValue"].to_numpy(dtype=float)
    scaled = np.where(est["parameterScale"] == "log10", np.log10(lin), lin)
    np.testing.assert_allclose(problem.x_nominal, scaled, rtol=1e-15)
    np.testing.assert_allclose(problem.unscale(problem.x_nominal), lin, rtol=1e-12)
    assert np.all(problem.lb < problem.ub)
    llh = problem.log_likelihood()
    assert problem.log_likelihood(problem.x_nominal) == llh
    # a mapping of linear values replaces those only
    k = problem.x_ids[0]
    changed = problem.log_likelihood({k: 2.0 * lin[0]})
    x = problem.x_nominal.copy()
    x[0] = math.log10(2.0 * lin[0])
    assert changed == pytest.approx(problem.log_likelihood(x), rel=1e-12)
    assert changed != llh
    # the augmented model carries one observable per PEtab observable and noise formula
    assert "petab_y_pSTAT5A_rel" in problem.model.observables
    with pytest.raises(og.PetabError, match="x must have"):
        problem.log_likelihood(np.zeros(3))
    with pytest.raises(og.PetabError, match="not an estimated parameter"):
        problem.log_likelihood({"nope": 1.0})


def test_residuals_reproduce_the_negative_log_likelihood():
    """½ Σ r² = -llh + const, with a constant that does not depend on x (sigma is estimated
    in Boehm, so the σ residuals carry its ln σ terms). Tight tolerances: residuals are
    computed with sensitivities, whose error control takes other steps than llh's run."""
    problem = og.petab.Problem.from_yaml(yaml_of("Boehm_JProteomeRes2014"), rtol=1e-12,
                                         atol=1e-12)
    rng = np.random.default_rng(3)
    consts = []
    for x in [problem.x_nominal] + [problem.x_nominal + 0.2 * rng.uniform(-1, 1, problem.n_x)
                                    for _ in range(2)]:
        r = problem.residuals(x)
        assert r.shape == (problem.n_rows + problem.n_rows,)  # every row's σ is estimated
        consts.append(0.5 * float(r @ r) + problem.log_likelihood(x))
    np.testing.assert_allclose(consts, consts[0], rtol=1e-9)


def test_residual_jacobian_matches_gradient():
    from osteogrn.petab._objective import residuals
    problem = og.petab.Problem.from_yaml(yaml_of("Boehm_JProteomeRes2014"))
    x = problem.x_nominal + 0.05
    r, J = residuals(problem, x, jacobian=True)
    # d(-llh)/dx = J^T r
    np.testing.assert_allclose(J.T @ r, -problem.gradient(x), rtol=1e-9, atol=1e-9)


def _copy(tmp_path: Path, name: str) -> Path:
    dst = tmp_path / name
    shutil.copytree(PETAB / name, dst)
    return dst


def _edit(path: Path, fn) -> None:
    df = pd.read_csv(path, sep="\t", dtype=object)
    fn(df)
    df.to_csv(path, sep="\t", index=False)


def test_unsupported_noise_distribution_names_file_column_and_value(tmp_path):
    d = _copy(tmp_path, "Boehm_JProteomeRes2014")
    obs = d / "observables_Boehm_JProteomeRes2014.tsv"
    _edit(obs, lambda df: df.__setitem__("noiseDistribution", "cauchy"))
    with pytest.raises(og.PetabError) as info:
        og.petab.Problem.from_yaml(d / "Boehm_JProteomeRes2014.yaml")
    e = info.value
    assert e.table == "observable" and e.column == "noiseDistribution" and e.value == "cauchy"
    assert e.file.endswith("observables_Boehm_JProteomeRes2014.tsv")
    assert "observables_Boehm_JProteomeRes2014.tsv" in str(e)


def test_unknown_symbol_in_formula(tmp_path):
    d = _copy(tmp_path, "Boehm_JProteomeRes2014")
    obs = d / "observables_Boehm_JProteomeRes2014.tsv"

    def change(df):
        df.loc[0, "observableFormula"] = "pApB + nothing_here"
    _edit(obs, change)
    with pytest.raises(og.PetabError, match="nothing_here") as info:
        og.petab.Problem.from_yaml(d / "Boehm_JProteomeRes2014.yaml")
    assert info.value.column == "observableFormula" and info.value.row == "pSTAT5A_rel"


def test_bad_parameter_scale_and_placeholder_count(tmp_path):
    d = _copy(tmp_path, "Boehm_JProteomeRes2014")
    par = d / "parameters_Boehm_JProteomeRes2014.tsv"
    _edit(par, lambda df: df.__setitem__("parameterScale", "ln"))
    with pytest.raises(og.PetabError, match="parameterScale") as info:
        og.petab.Problem.from_yaml(d / "Boehm_JProteomeRes2014.yaml")
    assert info.value.table == "parameter" and info.value.value == "ln"
    d2 = _copy(tmp_path / "b", "Boehm_JProteomeRes2014")
    meas = d2 / "measurementData_Boehm_JProteomeRes2014.tsv"
    _edit(meas, lambda df: df.__setitem__("noiseParameters", "sd_pSTAT5A_rel;1"))
    with pytest.raises(og.PetabError, match="placeholder") as info:
        og.petab.Problem.from_yaml(d2 / "Boehm_JProteomeRes2014.yaml")
    assert info.value.table == "measurement" and info.value.column == "noiseParameters"


def test_missing_file():
    with pytest.raises(og.PetabError, match="does not exist"):
        og.petab.Problem.from_yaml(PETAB / "nope.yaml")


def test_log10_noise_includes_the_jacobian_term(tmp_path):
    """Normal noise on log10 scale: the density of y itself carries -ln(y ln 10) per row."""
    from osteogrn.petab._objective import predict
    problem = og.petab.Problem.from_yaml(yaml_of("Elowitz_Nature2000"))
    h, sig, _, _ = predict(problem, problem.x_nominal, False)
    y = problem.y
    e = np.log10(y) - np.log10(h)
    expected = np.sum(-0.5 * np.log(2 * np.pi * sig ** 2) - 0.5 * (e / sig) ** 2
                      - np.log(y * np.log(10)))
    assert problem.log_likelihood() == pytest.approx(expected, rel=1e-12)


def test_laplace_noise(tmp_path):
    """noiseDistribution laplace: -ln(2σ) - |y - h|/σ per row."""
    from osteogrn.petab._objective import predict
    d = _copy(tmp_path, "Boehm_JProteomeRes2014")
    obs = d / "observables_Boehm_JProteomeRes2014.tsv"
    _edit(obs, lambda df: df.__setitem__("noiseDistribution", "laplace"))
    problem = og.petab.Problem.from_yaml(d / "Boehm_JProteomeRes2014.yaml", rtol=1e-12,
                                         atol=1e-12)
    h, sig, _, _ = predict(problem, problem.x_nominal, False)
    expected = np.sum(-np.log(2 * sig) - np.abs(problem.y - h) / sig)
    assert problem.log_likelihood() == pytest.approx(expected, rel=1e-12)
    x = problem.x_nominal + 0.05
    g = problem.gradient(x)
    fd = np.array([_richardson(problem.log_likelihood, x, i, 1e-4) for i in range(problem.n_x)])
    np.testing.assert_allclose(g, fd, rtol=1e-4, atol=1e-7 * np.max(np.abs(fd)))
    r = problem.residuals(x)
    r0 = problem.residuals(problem.x_nominal)
    # ½ Σ r² = -llh + const for laplace rows too
    assert 0.5 * r @ r + problem.log_likelihood(x) == pytest.approx(
        0.5 * r0 @ r0 + problem.log_likelihood(), rel=1e-9)


def test_priors_in_log_prior(tmp_path):
    d = _copy(tmp_path, "Boehm_JProteomeRes2014")
    par = d / "parameters_Boehm_JProteomeRes2014.tsv"

    def change(df):
        df["objectivePriorType"] = ""
        df["objectivePriorParameters"] = ""
        df.loc[0, "objectivePriorType"] = "parameterScaleNormal"
        df.loc[0, "objectivePriorParameters"] = "-1.5;0.5"
        df.loc[1, "objectivePriorType"] = "logNormal"
        df.loc[1, "objectivePriorParameters"] = "-11;2"
    _edit(par, change)
    problem = og.petab.Problem.from_yaml(d / "Boehm_JProteomeRes2014.yaml")
    x = problem.x_nominal
    p = problem.unscale(x)
    expected = (-0.5 * math.log(2 * math.pi * 0.25) - 0.5 * ((x[0] + 1.5) / 0.5) ** 2
                - 0.5 * math.log(2 * math.pi * 4) - math.log(p[1])
                - 0.5 * ((math.log(p[1]) + 11) / 2) ** 2)
    assert problem.log_prior() == pytest.approx(expected, rel=1e-12)
    # the log-likelihood is the reference's: priors are not in it
    assert problem.log_likelihood() == pytest.approx(
        REFERENCE["Boehm_JProteomeRes2014"], abs=1e-3)


def test_fit_boehm_reaches_the_nominal_log_likelihood():
    """The acceptance item: 20 starts of og.fit reach at least the log-likelihood of the
    published (nominal) parameters."""
    problem = og.petab.Problem.from_yaml(yaml_of("Boehm_JProteomeRes2014"))
    fit = og.fit(problem, n_starts=20, seed=0, progress=False)
    assert isinstance(fit, og.FitResult)
    assert fit.log_likelihood >= problem.log_likelihood() - 1e-6
    assert fit.log_likelihood == pytest.approx(problem.log_likelihood(fit.x_petab), abs=0)
    assert list(fit.parameters) == problem.x_ids
    assert len(fit.starts) == 20
    # waterfall and a profile work on it
    fig = fit.plot_waterfall()
    assert fig.axes
    prof = fit.profile("sd_pSTAT5A_rel")
    assert prof["delta"].min() == pytest.approx(0.0, abs=1e-6)
    assert prof["delta"].max() > 1.0


def test_fit_with_fides_reaches_a_stationary_point():
    """optimizer_options method 'fides': from the nominal point and a nearby start fides ends
    at least as well as it began, at a point where the gradient on the free parameters is
    small (bounds excepted)."""
    pytest.importorskip("fides")
    problem = og.petab.Problem.from_yaml(yaml_of("Boehm_JProteomeRes2014"))
    start = np.clip(problem.x_nominal + 0.3, problem.lb, problem.ub)
    fit = og.fit(problem, starts=start[None, :], progress=False, threads=1,
                 optimizer_options={"method": "fides"})
    assert fit.starts["status"].iloc[0] == "converged"
    assert fit.log_likelihood > problem.log_likelihood(start) + 1.0
    g = problem.gradient(fit.x_petab)
    inside = (fit.x_petab > problem.lb + 1e-3) & (fit.x_petab < problem.ub - 1e-3)
    assert np.max(np.abs(g[inside])) < 1e-2 * max(1.0, abs(fit.log_likelihood))
    with pytest.raises(og.OptionError, match="not a fides option"):
        og.fit(problem, starts=start[None, :], progress=False,
               optimizer_options={"method": "fides", "no_such_option": 1})


def test_fides_start_that_cannot_be_simulated_is_a_failed_start(monkeypatch):
    """fides raises RuntimeError for a start whose cost is not finite; that start fails, the
    fit does not (Elowitz's Latin-hypercube starts include such points)."""
    pytest.importorskip("fides")
    from osteogrn.petab import _fit
    problem = og.petab.Problem.from_yaml(yaml_of("Boehm_JProteomeRes2014"))
    real = _fit._cost_and_gradient
    bad = np.clip(problem.x_nominal + 0.2, problem.lb, problem.ub)

    def fails_at_bad(ev, z):
        c, g, J = real(ev, z)
        return (math.inf if np.allclose(z, bad) else c), g, J

    monkeypatch.setattr(_fit, "_cost_and_gradient", fails_at_bad)
    fit = og.fit(problem, starts=np.vstack([bad, problem.x_nominal]), progress=False,
                 threads=1, optimizer_options={"method": "fides"})
    assert list(fit.starts.sort_values("start")["status"])[0] == "failed"
    assert "non-finite" in fit.starts.sort_values("start")["message"].iloc[0]
    assert fit.log_likelihood >= problem.log_likelihood() - 1e-6


def test_fit_given_starts_and_refused_arguments():
    problem = og.petab.Problem.from_yaml(yaml_of("Boehm_JProteomeRes2014"))
    starts = np.vstack([problem.x_nominal,
                        np.clip(problem.x_nominal + 0.05, problem.lb, problem.ub)])
    fit = og.fit(problem, starts=starts, progress=False, threads=1)
    assert len(fit.starts) == 2
    # the start points are reported in linear values
    np.testing.assert_allclose(fit.start_points.iloc[0].to_numpy(),
                               problem.unscale(problem.x_nominal), rtol=1e-12)
    assert fit.log_likelihood >= problem.log_likelihood() - 1e-6
    with pytest.raises(og.OptionError, match="outside the bounds"):
        og.fit(problem, starts=starts + 100, progress=False)
    with pytest.raises(og.OptionError, match="come from the problem"):
        og.fit(problem, n_starts=2, rtol=1e-6, progress=False)


def test_condition_table_sets_a_species_initial_value(tmp_path):
    """A species column of the condition table sets its initial value; mapped to an estimated
    parameter, that parameter's gradient comes from the initial sensitivities."""
    name = "Boehm_JProteomeRes2014"
    base = og.petab.Problem.from_yaml(yaml_of(name), rtol=1e-12, atol=1e-12)
    stat5a = float(base.model.initial_state()[base.model.species.index("STAT5A")])
    d = _copy(tmp_path, name)
    _edit(d / f"experimentalCondition_{name}.tsv",
          lambda df: df.__setitem__("STAT5A", "STAT5A_0"))

    def add(df):
        df.loc[len(df)] = {"parameterId": "STAT5A_0", "parameterName": "STAT5A_0",
                           "parameterScale": "lin", "lowerBound": "100", "upperBound": "200",
                           "nominalValue": repr(stat5a), "estimate": "1"}
    _edit(d / f"parameters_{name}.tsv", add)
    problem = og.petab.Problem.from_yaml(d / f"{name}.yaml", rtol=1e-12, atol=1e-12)
    assert problem.x_ids[-1] == "STAT5A_0"
    x = problem.x_nominal
    assert problem.log_likelihood() == pytest.approx(base.log_likelihood(), abs=1e-9)
    assert problem.log_likelihood({"STAT5A_0": 160.0}) != pytest.approx(
        base.log_likelihood(), abs=1e-3)
    g = problem.gradient(x)
    fd = _richardson(problem.log_likelihood, x, len(x) - 1, 1e-2)
    assert g[-1] == pytest.approx(fd, rel=1e-4)


def test_problem_is_shared_between_threads():
    from concurrent.futures import ThreadPoolExecutor
    problem = og.petab.Problem.from_yaml(yaml_of("Sneyd_PNAS2002"))
    rng = np.random.default_rng(4)
    xs = [problem.x_nominal + 0.05 * rng.uniform(-1, 1, problem.n_x) for _ in range(6)]
    serial = [problem.log_likelihood(x) for x in xs]
    with ThreadPoolExecutor(3) as pool:
        parallel = list(pool.map(problem.log_likelihood, xs))
    assert parallel == serial


def test_exported_fit_read_back_gives_its_log_likelihood(tmp_path):
    """An osteogrn fit written by og.petab.export and read by og.petab.Problem: the same
    log-likelihood at the optimum (the fit of petab_export_case, SYNTHETIC data)."""
    import petab_export_case as case
    result = case.fit()
    path = result.to_petab(tmp_path / "fit.yaml")
    problem = og.petab.Problem.from_yaml(path, **case.TOL)
    assert problem.log_likelihood() == pytest.approx(result.log_likelihood, rel=1e-8)

"""FitResult.sample, og.predict and og.compare: parameter draws that represent a fit's
uncertainty, bands that cover new observations, paired protocol comparisons.

All data here are synthetic: simulated from tests/data/models/grn_small.json with known
parameter values (TRUTH) and known log-normal noise (CV), never measurements.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import osteogrn as og
from osteogrn.fitting import simulate_data

# Synthetic truth (differs from the file's K_dex 50, d_runx2 1.2, k_alp 0.3) and noise.
TRUTH = {"K_dex": 30.0, "d_runx2": 1.5, "k_alp": 0.4}
BOUNDS = {"K_dex": (1.0, 1000.0), "d_runx2": (0.1, 10.0), "k_alp": (0.01, 5.0)}
CV = 0.1                    # SD of ln(value) of the synthetic log-normal noise
FIT_TIMES = [1, 2, 3, 4, 6, 7, 8, 10, 12, 14]
HELD_TIMES = [1.5, 2.5, 5, 9, 11, 13]   # times never used in a fit
OBSERVED = ["ALP", "Runx2"]
LOGNORMAL = og.Observation(noise="lognormal", sigma="estimate")


def dex(name: str, nM: float) -> og.Protocol:
    return og.Protocol(name, 14, media_changes=3,
                       components={"dex": {"concentration": nM, "unit": "nM"}})


FIT_PROTOCOLS = {"dex10": dex("dex10", 10), "dex100": dex("dex100", 100)}
# Held-back conditions: doses no fit sees.
HELD_PROTOCOLS = {"dex3": dex("dex3", 3), "dex30": dex("dex30", 30)}


@pytest.fixture(scope="module")
def model(small_model) -> og.Model:
    return small_model


def synthetic_fit(model: og.Model, data_seed: int, fit_seed: int) -> og.FitResult:
    data = simulate_data(model.with_parameters(TRUTH), FIT_PROTOCOLS, FIT_TIMES, OBSERVED,
                         noise="lognormal", cv=CV, replicates=4, seed=data_seed)
    data = data.drop(columns="sigma")  # the noise SD is estimated (sigma_ALP, sigma_Runx2)
    return og.fit(model, data, protocols=FIT_PROTOCOLS, estimate=BOUNDS,
                  observations=LOGNORMAL, n_starts=2, seed=fit_seed, threads=2,
                  progress=False)


@pytest.fixture(scope="module")
def fitted(model) -> og.FitResult:
    return synthetic_fit(model, 1000, 0)


def coverage(pred: pd.DataFrame, new: pd.DataFrame) -> float:
    joined = new.merge(pred, left_on=["condition", "time", "observable"],
                       right_on=["protocol", "time", "output"], validate="many_to_one")
    assert len(joined) == len(new)
    return float(((joined["value"] >= joined["lower"]) &
                  (joined["value"] <= joined["upper"])).mean())


# -- acceptance: 95 % prediction bands cover >= 90 % of held-back observations ----------------
def test_prediction_bands_cover_held_back_observations(model, fitted):
    # Ten independent synthetic experiments (seeds fixed in advance, not chosen): each is
    # fitted, sampled (Laplace, 1000 draws) and predicted with noise=True for two doses and
    # six days that no fit saw; fresh noisy observations (3 replicates) of those are
    # checked against the 95 % bands. Pooled over experiments, the coverage must be >= 90 %,
    # and not near 100 % (bands much wider than needed would also "cover").
    inside, n_obs = 0.0, 0
    truth = model.with_parameters(TRUTH)
    protocols = list(HELD_PROTOCOLS.values())
    for exp in range(10):
        fit = fitted if exp == 0 else synthetic_fit(model, 1000 + exp, exp)
        new = simulate_data(truth, HELD_PROTOCOLS, HELD_TIMES, OBSERVED, noise="lognormal",
                            cv=CV, replicates=3, seed=2000 + exp)
        band = og.predict(fit, protocols, samples=500, t=HELD_TIMES, noise=True, level=0.95,
                          seed=exp)
        assert band.attrs["space"] == "observation" and band.attrs["method"] == "fisher"
        inside += coverage(band, new) * len(new)
        n_obs += len(new)
        if exp == 0:
            # Without the observation noise the band is that of the mean response: far too
            # narrow for single new observations (fails if noise=True added no noise).
            mean_band = og.predict(fit, protocols, samples=500, t=HELD_TIMES, seed=exp)
            assert mean_band.attrs["space"] == "model"
            assert coverage(mean_band, new) < 0.6
    assert n_obs == 10 * 2 * len(HELD_TIMES) * len(OBSERVED) * 3
    assert 0.90 <= inside / n_obs <= 0.99


def test_mean_band_covers_the_true_curve(model, fitted):
    truth = simulate_data(model.with_parameters(TRUTH), HELD_PROTOCOLS, HELD_TIMES, OBSERVED,
                          noise="lognormal", cv=1e-12, seed=0)
    band = og.predict(fitted, HELD_PROTOCOLS, samples=500, t=HELD_TIMES, seed=1)
    assert list(band.columns) == ["protocol", "time", "output", "median", "mean", "lower",
                                  "upper"]
    assert len(band) == 2 * len(HELD_TIMES) * len(OBSERVED)
    assert (band["lower"] <= band["median"]).all() and (band["median"] <= band["upper"]).all()
    assert coverage(band, truth) >= 0.9
    # The median follows the best fit's prediction.
    best = fitted.predict(HELD_PROTOCOLS["dex30"], t=HELD_TIMES)
    med = band[(band["protocol"] == "dex30") & (band["output"] == "ALP")]["median"]
    np.testing.assert_allclose(med.to_numpy(), best["ALP"], rtol=0.02)
    # A data condition's name stands for its protocol.
    pd.testing.assert_frame_equal(og.predict(fitted, "dex10", samples=20, t=[7], seed=0),
                                  og.predict(fitted, FIT_PROTOCOLS["dex10"], samples=20, t=[7],
                                             seed=0))


# -- FitResult.sample -------------------------------------------------------------------------
def test_fisher_samples_reproduce_and_centre_on_the_optimum(fitted):
    s = fitted.sample(2000, seed=5)
    assert s.attrs["method"] == "fisher" and s.attrs["null_directions"] == []
    assert list(s.columns) == list(fitted.parameters) and len(s) == 2000
    pd.testing.assert_frame_equal(s, fitted.sample(2000, seed=5))
    assert not s.equals(fitted.sample(2000, seed=6))
    z = np.log10(s.to_numpy())  # every parameter here is log-scaled
    assert np.all(np.abs(z.mean(axis=0) - fitted.x) < 4 * z.std(axis=0) / np.sqrt(2000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        se = fitted.standard_errors()
    # Model parameters: the spread is the Gauss-Newton standard error.
    for k, name in enumerate(TRUTH):
        assert z[:, k].std() == pytest.approx(se[name], rel=0.1)
    # Estimated noise SD: N rows of log-normal noise give SD(ln sigma) ~ 1/sqrt(2N).
    n_rows = int((fitted.data["observable"] == "ALP").sum())
    sd_ln_sigma = np.log(s["sigma_ALP"]).std()
    assert sd_ln_sigma == pytest.approx(1 / np.sqrt(2 * n_rows), rel=0.15)
    v = s.to_numpy()
    assert np.all((v >= fitted.problem.p_lo) & (v <= fitted.problem.p_hi))


def test_singular_fisher_warns_and_names_the_direction(model):
    # Runx2 does not depend on k_alp (ALP_act acts on Sp7 only): fitting Runx2 data alone
    # leaves k_alp unidentifiable, its Jacobian column zero.
    data = simulate_data(model.with_parameters(TRUTH), FIT_PROTOCOLS, FIT_TIMES, ["Runx2"],
                         noise="lognormal", cv=CV, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", og.FitWarning)  # at_bounds: k_alp goes anywhere
        fit = og.fit(model, data, protocols=FIT_PROTOCOLS,
                     estimate={"K_dex": BOUNDS["K_dex"], "k_alp": BOUNDS["k_alp"]},
                     observations="lognormal", n_starts=2, seed=0, threads=2, progress=False)
    with pytest.warns(og.FitWarning, match=r"not identifiable.*log10 k_alp"):
        s = fit.sample(100, seed=0)
    assert len(s.attrs["null_directions"]) == 1
    assert s["k_alp"].nunique() == 1 and s["K_dex"].nunique() == 100


def test_mcmc_samples_reproduce_and_agree_with_the_optimum(fitted):
    short = dict(method="mcmc", walkers=12, steps=10, burn=5, threads=2)
    with pytest.warns(og.FitWarning, match="autocorrelation"):  # a deliberately short chain
        first = fitted.sample(50, seed=3, **short)
    with pytest.warns(og.FitWarning):
        pd.testing.assert_frame_equal(first, fitted.sample(50, seed=3, **short))
    with pytest.warns(og.FitWarning):
        assert not first.equals(fitted.sample(50, seed=4, **short))
    with pytest.warns(og.FitWarning, match="autocorrelation"):
        s = fitted.sample(200, seed=3, method="mcmc", walkers=12, steps=60, burn=40, threads=2)
    assert s.attrs["method"] == "mcmc" and s.attrs["walkers"] == 12
    assert 0.1 < s.attrs["acceptance"] < 0.9
    laplace = np.log10(fitted.sample(2000, seed=1).to_numpy()).std(axis=0)
    z = np.log10(s.to_numpy())
    # The posterior of this well-identified fit is close to its Laplace approximation.
    assert np.all(np.abs(z.mean(axis=0) - fitted.x) < 1.0 * laplace)
    assert np.all((z.std(axis=0) > 0.5 * laplace) & (z.std(axis=0) < 2.0 * laplace))


# -- predict details --------------------------------------------------------------------------
def test_predict_with_model_and_parameter_sets_equals_simulate(model):
    sets = pd.DataFrame({"K_dex": [20.0, 40.0], "k_alp": [0.3, 0.5]})
    band = og.predict(model, [HELD_PROTOCOLS["dex3"]], samples=sets, t=[0, 7, 14],
                      outputs=["ALP"], level=0.5)
    runs = np.array([og.simulate(model, HELD_PROTOCOLS["dex3"], t=[0, 7, 14],
                                 parameters=dict(row))["ALP"] for _, row in sets.iterrows()])
    np.testing.assert_allclose(band["median"], runs.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(band["mean"], runs.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(band["lower"], np.quantile(runs, 0.25, axis=0), rtol=1e-10)
    assert band.attrs["space"] == "model" and band.attrs["n_samples"] == 2
    one = og.predict(model, HELD_PROTOCOLS["dex3"], t=[14], outputs="ALP")
    assert one["lower"].iloc[0] == one["upper"].iloc[0] == pytest.approx(
        og.simulate(model, HELD_PROTOCOLS["dex3"], t=[14])["ALP"][0], rel=1e-10)


def test_noise_in_observation_space_uses_the_solved_scale(model):
    # An arbitrary-unit assay: data = 5 x ALP. The fit solves the scale analytically; the
    # noisy prediction is in the assay's units, the plain one in the model's.
    data = simulate_data(model.with_parameters(TRUTH), FIT_PROTOCOLS, FIT_TIMES, ["ALP"],
                         noise="lognormal", cv=CV, replicates=2, seed=7)
    data["value"] *= 5.0
    # k_alp at its true value: ALP is proportional to it, so scale and k_alp would be one
    # direction; K_dex and d_runx2 leave the scale identifiable.
    fit = og.fit(model.with_parameters({"k_alp": TRUTH["k_alp"]}), data,
                 protocols=FIT_PROTOCOLS,
                 estimate={k: BOUNDS[k] for k in ("K_dex", "d_runx2")},
                 observations=og.Observation(scale="analytic", noise="lognormal", sigma=CV),
                 n_starts=2, seed=0, threads=2, progress=False)
    assert fit.observation_parameters["ALP"]["scale"] == pytest.approx(5.0, rel=0.05)
    kw = dict(samples=400, t=[7, 14], seed=2)
    plain = og.predict(fit, HELD_PROTOCOLS["dex30"], **kw)
    noisy = og.predict(fit, HELD_PROTOCOLS["dex30"], noise=True, **kw)
    ratio = noisy["median"].to_numpy() / plain["median"].to_numpy()
    np.testing.assert_allclose(ratio, fit.observation_parameters["ALP"]["scale"], rtol=0.03)
    # log-normal noise with sigma = CV: the 95 % band spans about exp(2 x 1.96 CV) x.
    width = np.log(noisy["upper"] / noisy["lower"]).to_numpy()
    assert np.all((width > 0.9 * 2 * 1.96 * CV) & (width < 1.3 * 2 * 1.96 * CV))


def test_noise_for_a_fold_change_vs_day0(model):
    # qPCR-style data: Runx2 relative to day 0 of the same condition, log-normal noise.
    truth = model.with_parameters(TRUTH)
    data = simulate_data(truth, FIT_PROTOCOLS, FIT_TIMES, ["Runx2"], noise="lognormal", cv=CV,
                         replicates=2, seed=9)
    x0 = {c: og.simulate(truth, p, t=[0.0])["Runx2"][0] for c, p in FIT_PROTOCOLS.items()}
    data["value"] /= data["condition"].map(x0)
    fit = og.fit(model, data, protocols=FIT_PROTOCOLS,
                 estimate={k: BOUNDS[k] for k in ("K_dex", "d_runx2")},
                 observations=og.Observation.fold("day0", sigma=CV), n_starts=2, seed=0,
                 threads=2, progress=False)
    kw = dict(samples=400, t=[5, 9], seed=3)   # t without 0: added for the denominator
    plain = og.predict(fit, HELD_PROTOCOLS["dex30"], **kw)
    noisy = og.predict(fit, HELD_PROTOCOLS["dex30"], noise=True, **kw)
    assert list(noisy["time"]) == [5.0, 9.0]
    day0 = og.predict(fit, HELD_PROTOCOLS["dex30"], samples=400, t=[0], seed=3)
    np.testing.assert_allclose(noisy["median"], plain["median"] / day0["median"].iloc[0],
                               rtol=0.03)
    assert plain["median"].iloc[0] / day0["median"].iloc[0] > 2   # a fold change, not a level


# -- compare ----------------------------------------------------------------------------------
def test_compare_probability_of_beating_the_reference(fitted):
    low, high = HELD_PROTOCOLS["dex3"], dex("dex300", 300)
    twin = dex("dex3_again", 3)
    table = og.compare([low, high, twin], "ALP@14", samples=200, model=fitted, seed=4)
    assert list(table.index) == ["dex3", "dex300", "dex3_again"]
    assert table.attrs["reference"] == "dex3" and table.attrs["readout"] == "ALP@14"
    assert table.loc["dex300", "p_better"] == 1.0          # far more dex, far more ALP
    assert table.loc["dex3", "p_better"] == 0.5            # the reference against itself
    assert table.loc["dex3_again", "p_better"] == 0.5      # the same protocol renamed
    assert (table["n"] == 200).all()
    assert table.loc["dex300", "lower"] > table.loc["dex3", "upper"]
    # Reversed: the low dose never beats the high one.
    rev = og.compare([low, high], "ALP@14", samples=200, model=fitted, seed=4,
                     reference="dex300")
    assert rev.loc["dex3", "p_better"] == 0.0
    # Same draws, same numbers.
    pd.testing.assert_frame_equal(
        table, og.compare([low, high, twin], "ALP@14", samples=200, model=fitted, seed=4))
    # A reference outside the list is added first.
    extra = og.compare([high], "max(ALP)", samples=50, model=fitted, seed=1, reference=low)
    assert list(extra.index) == ["dex3", "dex300"] and extra.loc["dex300", "p_better"] == 1.0


# -- bad input --------------------------------------------------------------------------------
def test_bad_input_errors(model, fitted):
    p = HELD_PROTOCOLS["dex3"]
    with pytest.raises(og.OptionError, match="method must be one of"):
        fitted.sample(10, method="profile-ish")
    with pytest.raises(og.OptionError, match="n must be a positive integer"):
        fitted.sample(0)
    with pytest.raises(og.OptionError, match="seed must be"):
        fitted.sample(10, seed="abc")
    with pytest.raises(og.OptionError, match="noise=True adds a fit's observation noise"):
        og.predict(model, p, noise=True)
    with pytest.raises(og.OptionError, match="draws from a fit"):
        og.predict(model, p, samples=10)
    with pytest.raises(og.OptionError, match="column 'k_nothing'"):
        og.predict(model, p, samples=pd.DataFrame({"k_nothing": [1.0]}))
    with pytest.raises(og.OptionError, match=r"samples\['K_dex'\] has a missing"):
        og.predict(model, p, samples=pd.DataFrame({"K_dex": [1.0, np.nan]}))
    with pytest.raises(og.OptionError, match="'Osx'.*not a species or observable"):
        og.predict(model, p, outputs=["Osx"])
    with pytest.raises(og.OptionError, match="level must lie in"):
        og.predict(fitted, p, samples=5, level=1.5)
    with pytest.raises(og.OptionError, match="did not observe 'Sp7'"):
        og.predict(fitted, p, samples=5, outputs=["Sp7"], noise=True)
    with pytest.raises(og.OptionError, match="unique"):
        og.predict(model, [p, p])
    with pytest.raises(og.OptionError, match="compare needs model="):
        og.compare([p], "ALP@14")
    with pytest.raises(og.OptionError, match="Osx"):
        og.compare([p], "Osx@14", model=fitted, samples=5)
    with pytest.raises(og.OptionError, match="reference 'nowhere'"):
        og.compare([p], "ALP@14", model=fitted, samples=5, reference="nowhere")

"""The fit that the PEtab export tests write out (test_petab_export.py, test_petab_amici.py).

SYNTHETIC data: the test model fit_basal (tests/data/models) simulated at assumed parameter
values with seeded log-normal noise (osteogrn.fitting.simulate_data); no measured data. It
exercises every observation model PEtab v1 can hold: an assay scale and offset estimated
(ALP, additive noise, the sigma column given except on day 21, where it is estimated), a fold
change over day 0 with log-normal noise and an estimated SD (calcium), an analytic scale under
log-normal noise with a given SD (RUNX); three protocols with media changes every 3 days and a
decaying dexamethasone, one of them with dex in week 1 only.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

import osteogrn as og
from conftest import DATA
from osteogrn.fitting import Observation, simulate_data

#: assumed: the "true" values of the synthetic data (test model, no source)
TRUTH = {"k_a": 1.2, "d_a": 0.4}
BOUNDS = {"k_a": (0.01, 10.0), "d_a": (0.05, 5.0)}
TIMES = [1.0, 3.0, 7.0, 10.0, 14.0, 21.0]
#: assumed: ALP assay units per model unit of the synthetic data
ALP_UNITS = 50.0
#: Tight tolerances for every simulation, so that llh differences measure the export.
TOL = {"rtol": 1e-10, "atol": 1e-14}


def model() -> og.Model:
    return og.load_model(DATA / "models" / "fit_basal.json")


def protocols() -> dict:
    def dex(name, conc, **window):
        return og.Protocol(name, 21, media_changes={"every": 3}, components={
            "dex": {"concentration": conc, "unit": "nM", "half_life": 2.0, **window}})
    return {"ctrl": dex("ctrl", 0.0), "dex+": dex("dex+", 100.0),
            "dex week 1": dex("dex week 1", 100.0, until=7)}


def data(m: og.Model, protos: dict) -> pd.DataFrame:
    """SYNTHETIC (see the module docstring)."""
    d = simulate_data(m.with_parameters(TRUTH), protos, TIMES, ["ALP", "calcium", "RUNX"],
                      cv=0.1, noise="lognormal", seed=1)
    alp = d["observable"] == "ALP"
    d.loc[alp, "value"] *= ALP_UNITS
    d.loc[alp, "sigma"] = 0.1 * d.loc[alp, "value"]
    d.loc[alp & (d["time"] == 21.0), "sigma"] = np.nan
    ca = d["observable"] == "calcium"
    d.loc[ca, "value"] /= float(m.species_table().loc["C", "initial"])  # fold over day 0
    d.loc[ca, "sigma"] = np.nan
    return d


def observations() -> dict:
    return {"ALP": Observation(scale="estimate", offset="estimate", sigma="estimate"),
            "calcium": Observation.fold("day0", sigma="estimate"),
            "RUNX": Observation(scale="analytic", noise="lognormal")}


def fit() -> "og.FitResult":
    m, protos = model(), protocols()
    with warnings.catch_warnings():
        # a parameter near a bound is no concern of the export: it writes whatever was fitted
        warnings.simplefilter("ignore", og.FitWarning)
        return og.fit(m, data(m, protos), protos, estimate=BOUNDS, observations=observations(),
                      n_starts=2, seed=0, threads=1, progress=False, **TOL)

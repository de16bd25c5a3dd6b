"""The model library: every built-in model and preset loads, validates and simulates; every module
also simulates alone under a relevant preset and responds to it in the documented direction."""
from __future__ import annotations

import json

import numpy as np
import pytest

import osteogrn as og

MODULES = ["bmp2_smad", "wnt_betacatenin", "ihh_gli", "runx2_osterix"]


def fitted(protocol, model):
    """The preset with every component the module has no input for marked optional (the module
    alone sees only its own inputs; docs/formats/protocol.md makes unused components an error otherwise)."""
    for name in protocol.components:
        if name not in model.inputs:
            protocol = protocol.with_component(name, optional=True)
    return protocol


def run(model_name, preset, **kw):
    model = og.load_model(model_name)
    return og.simulate(model, fitted(og.load_protocol(preset), model), **kw)


def test_the_library_lists_every_module_and_preset():
    assert set(MODULES + ["osteogenic"]) <= set(og.list_models())
    assert {"growth_medium", "osteogenic_medium", "om_28d", "om_no_bgp", "om_no_asc",
            "om_dex_week1", "om_bmp2", "bmp2_only", "om_bmp2_noggin", "om_bmp2_ldn", "om_wnt3a",
            "om_dkk1", "om_purmorphamine", "om_cyclopamine", "om_fgf2"} <= set(og.list_protocols())


@pytest.mark.parametrize("preset", og.list_protocols())
def test_every_preset_simulates_the_composed_model(preset):
    res = og.simulate(og.load_model("osteogenic"), og.load_protocol(preset))
    assert res.success
    assert np.all(np.isfinite(res.species))
    assert res.t[-1] == og.load_protocol(preset).duration


@pytest.mark.parametrize("name", MODULES + ["osteogenic"])
def test_every_parameter_names_its_source(name):
    model = og.load_model(name)
    table = model.parameter_table()
    refs = set()
    for module in set(table["module"]):
        refs |= set(json.loads(og.load_model(module).to_json()).get("references", {}))
    for pname, row in table.iterrows():
        src = row["source"]
        assert src.startswith("assumed:") or src.split(":")[0].split(",")[0].strip() in refs, \
            f"{name}: {pname} has source {src!r}"


def test_bmp2_smad_alone():
    bmp = run("bmp2_smad", "bmp2_only")
    nog = run("bmp2_smad", "om_bmp2_noggin")
    ldn = run("bmp2_smad", "om_bmp2_ldn")
    # pSmad peaks within hours of each feed and returns near baseline as rhBMP2 decays.
    i = int(np.argmax(bmp["pSmad"][:30]))
    assert bmp.t[i] < 1.0
    assert bmp["pSmad"].max() > 5 * bmp["pSmad"][29]
    assert nog["pSmad"].max() < 0.2 * bmp["pSmad"].max()
    assert ldn["pSmad"].max() < 0.5 * bmp["pSmad"].max()


def test_wnt_betacatenin_alone():
    wnt = run("wnt_betacatenin", "om_wnt3a")
    dkk = run("wnt_betacatenin", "om_dkk1")
    base = run("wnt_betacatenin", "osteogenic_medium")
    # Lee et al. 2003: beta-catenin rises severalfold under Wnt; DKK1 removes autocrine Wnt.
    assert wnt["beta_catenin"].max() > 2.5 * base["beta_catenin"][-1]
    assert dkk["beta_catenin"][-1] < base["beta_catenin"][-1]
    assert 30 < base["beta_catenin"][-1] < 100


def test_ihh_gli_alone():
    purm = run("ihh_gli", "om_purmorphamine")
    cyc = run("ihh_gli", "om_cyclopamine")
    base = run("ihh_gli", "osteogenic_medium")
    assert purm["Gli_activity"][-1] > 1.5 * base["Gli_activity"][-1]
    assert cyc["Gli_activity"][-1] < 0.2 * base["Gli_activity"][-1]
    assert purm["PTHrP"][-1] > base["PTHrP"][-1] > cyc["PTHrP"][-1]


def test_runx2_osterix_alone():
    om = run("runx2_osterix", "osteogenic_medium")
    gm = run("runx2_osterix", "growth_medium")
    nobgp = run("runx2_osterix", "om_no_bgp")
    assert om["ALP"].max() > 3 * gm["ALP"].max()
    assert om["mineral"][-1] > 10 * nobgp["mineral"][-1]
    assert om["OCN"][-1] > om["OCN"][70]  # still rising at day 21

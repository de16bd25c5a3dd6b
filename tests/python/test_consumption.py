"""Reagent use and cost (Protocol.consumption, Protocol.cost) against hand counts, mass <->
molar conversion through molar_mass (in the simulation too), and the reagent table.

Hand counts follow docs/formats/protocol.md: per well, the day-0 fill c·V, f·c·V at every media
change inside the component's window [from, until) and strictly before the end, plus every
addition strictly before the end · V."""

import math

import numpy as np
import pytest

import osteogrn as og

V_ML = 2.0  # medium per well in the protocols below


def protocol(**kw):
    """21 days, fed every 3 days, 2 mL per well, 100 nM dex unless overridden."""
    fields = dict(media_changes=3, medium=(V_ML, "mL"),
                  components={"dex": {"concentration": 100, "unit": "nM"}})
    fields.update(kw)
    return og.Protocol("p", 21, **fields)


def row(p, component):
    return p.consumption().set_index("component").loc[component]


def test_full_changes_every_3_days_over_21_days():
    p = protocol()
    # Changes on 3, 6, 9, 12, 15, 18 (21 is the end): 1 fill + 6 changes = 7 volumes of medium.
    assert p.media_change_days.tolist() == [3, 6, 9, 12, 15, 18]
    expected_nmol = 7 * 100e-9 * (V_ML * 1e-3) * 1e9  # 7 x 100 nM x 2 mL = 1.4 nmol
    r = row(p, "dex")
    assert r["unit"] == "nmol"
    assert math.isclose(r["amount"], expected_nmol, rel_tol=1e-12)
    assert math.isclose(r["moles_nmol"], 1.4, rel_tol=1e-12)
    assert math.isnan(r["mass_ug"]) and math.isnan(r["cost"])  # no molar mass, no price


def test_partial_changes_count_the_replaced_fraction():
    p = protocol(replace_fraction=0.5)
    # 1 fill + 0.5 x 6 changes = 4 volumes.
    assert math.isclose(row(p, "dex")["moles_nmol"], 4 * 0.2, rel_tol=1e-12)
    none = protocol(replace_fraction=0.0)
    assert math.isclose(row(none, "dex")["moles_nmol"], 0.2, rel_tol=1e-12)  # the fill only


def test_windows_count_only_the_feeds_inside_from_until():
    comps = {"dex": {"concentration": 100, "unit": "nM"},
             # from 2 until 10: not in the day-0 fill; changes 3, 6, 9 supply it.
             "bmp2": {"concentration": 100, "unit": "ng/mL", "from": 2, "until": 10},
             # from 3 (inclusive) until 9 (exclusive): changes 3 and 6.
             "noggin": {"concentration": 50, "unit": "ng/mL", "from": 3, "until": 9},
             # until 7 from day 0: the fill and the changes on 3 and 6.
             "ldn": {"concentration": 100, "unit": "nM", "until": 7}}
    p = protocol(components=comps)
    assert math.isclose(row(p, "bmp2")["mass_ug"], 3 * 100e-3 * V_ML, rel_tol=1e-12)
    # amount in the largest unit in which it is >= 1: 0.6 ug -> 600 ng
    assert row(p, "bmp2")["unit"] == "ng"
    assert math.isclose(row(p, "bmp2")["amount"], 600, rel_tol=1e-12)
    assert math.isclose(row(p, "noggin")["mass_ug"], 2 * 50e-3 * V_ML, rel_tol=1e-12)
    assert math.isclose(row(p, "ldn")["moles_nmol"], 3 * 100e-9 * V_ML * 1e-3 * 1e9,
                        rel_tol=1e-12)
    # The same windows with half changes: the fill counts fully, each change half.
    half = protocol(components=comps, replace_fraction=0.5)
    assert math.isclose(row(half, "bmp2")["mass_ug"], 1.5 * 100e-3 * V_ML, rel_tol=1e-12)
    assert math.isclose(row(half, "ldn")["moles_nmol"], 2 * 0.2, rel_tol=1e-12)


def test_additions_add_their_concentration_times_the_volume():
    comps = {"bmp2": {"concentration": 100, "unit": "ng/mL", "until": 7}}
    adds = [{"day": 5, "component": "bmp2", "concentration": 50},
            {"day": 10, "component": "bmp2", "concentration": 0.1, "unit": "ug/mL"},
            {"day": 21, "component": "bmp2", "concentration": 1000}]  # the last day: no effect
    p = protocol(components=comps, additions=adds)
    # Feeds: fill + changes 3, 6 = 3 x 100 ng/mL; additions 50 + 100 ng/mL; all x 2 mL.
    expected_ug = (3 * 100 + 50 + 100) * 1e-3 * V_ML
    assert math.isclose(row(p, "bmp2")["mass_ug"], expected_ug, rel_tol=1e-12)
    # A media change listed on the last day is not counted either (it affects nothing).
    last = protocol(media_changes=[3, 21], components=comps)
    assert math.isclose(row(last, "bmp2")["mass_ug"], 2 * 100e-3 * V_ML, rel_tol=1e-12)


def test_decay_does_not_change_what_was_added():
    stable = protocol(components={"bmp2": {"concentration": 100, "unit": "ng/mL"}})
    decaying = stable.with_component("bmp2", half_life=0.25)
    assert row(stable, "bmp2")["mass_ug"] == row(decaying, "bmp2")["mass_ug"]


def test_a_mass_price_of_a_molar_component_goes_through_its_molar_mass():
    comps = {"bgp": {"concentration": 10, "unit": "mM", "molar_mass": 216.04,
                     "price": {"value": 50, "per": 100, "unit": "g"}},
             "bmp2": {"concentration": 100, "unit": "ng/mL", "molar_mass": 26000,
                      "price": {"value": 250, "per": 10, "unit": "ug"}},
             "ldn": {"concentration": 100, "unit": "nM", "molar_mass": 406.49,
                     "price": {"value": 100, "per": 5, "unit": "mg"}},
             "dex": {"concentration": 100, "unit": "nM", "molar_mass": 392.47}}
    p = protocol(components=comps)
    bgp = row(p, "bgp")
    moles = 7 * 10e-3 * V_ML * 1e-3          # 7 x 10 mM x 2 mL = 140 umol
    grams = moles * 216.04                    # = 30.2456 mg
    assert bgp["unit"] == "umol" and math.isclose(bgp["amount"], 140, rel_tol=1e-12)
    assert math.isclose(bgp["mass_ug"], grams * 1e6, rel_tol=1e-12)
    assert math.isclose(bgp["cost"], grams * 50 / 100, rel_tol=1e-12)
    bmp2 = row(p, "bmp2")
    ug = 7 * 100e-3 * V_ML                     # 1.4 ug
    assert math.isclose(bmp2["cost"], ug * 250 / 10, rel_tol=1e-12)
    assert math.isclose(bmp2["moles_nmol"], ug * 1e-6 / 26000 * 1e9, rel_tol=1e-12)
    ldn_mg = 7 * 100e-9 * V_ML * 1e-3 * 406.49 * 1e3
    assert math.isclose(row(p, "ldn")["cost"], ldn_mg * 100 / 5, rel_tol=1e-12)
    assert math.isnan(row(p, "dex")["cost"])  # unpriced: no cost, and not in the sum
    assert math.isclose(p.cost(), grams * 0.5 + ug * 25 + ldn_mg * 20, rel_tol=1e-12)


def test_a_molar_price_of_a_mass_component_goes_through_its_molar_mass():
    p = protocol(components={"bmp2": {"concentration": 100, "unit": "ng/mL",
                                      "molar_mass": 26000,
                                      "price": {"value": 7, "per": 1, "unit": "pmol"}}})
    pmol = 7 * 100e-9 * V_ML / 26000 * 1e12    # g / (g/mol) -> pmol
    assert math.isclose(p.cost(), 7 * pmol, rel_tol=1e-12)


def test_pricing_across_mass_and_moles_needs_the_molar_mass():
    p = protocol(components={"bgp": {"concentration": 10, "unit": "mM",
                                     "price": {"value": 50, "per": 100, "unit": "g"}}})
    # Loading is fine; cost() says what to add, with the component's field.
    with pytest.raises(og.ProtocolError) as info:
        p.cost()
    assert info.value.pointer == "/components/bgp/molar_mass"
    assert "molar_mass" in str(info.value) and "'g'" in str(info.value)
    with pytest.raises(og.ProtocolError):
        p.consumption()
    unitless = protocol(components={"x": {"concentration": 1, "unit": "au",
                                          "price": {"value": 1, "per": 1, "unit": "g"}}})
    with pytest.raises(og.ProtocolError) as info:
        unitless.cost()
    assert info.value.pointer == "/components/x/unit"


def test_missing_medium_or_prices_name_the_field():
    p = og.Protocol("p", 21, media_changes=3,
                    components={"dex": {"concentration": 100, "unit": "nM"}})
    for call in (p.consumption, p.cost):
        with pytest.raises(og.ProtocolError) as info:
            call()
        assert info.value.pointer == "/medium"
    with pytest.raises(og.ProtocolError) as info:
        protocol().cost()
    assert info.value.pointer == "/components" and "price" in str(info.value)


def test_medium_units_convert():
    small = protocol(medium=(500, "uL"))
    assert math.isclose(row(small, "dex")["moles_nmol"], 7 * 100e-9 * 500e-6 * 1e9,
                        rel_tol=1e-12)
    assert math.isclose(row(protocol(medium=(0.002, "L")), "dex")["moles_nmol"], 1.4,
                        rel_tol=1e-12)


def test_mass_dose_drives_a_molar_model_input_like_the_equivalent_molar_dose():
    model = og.load_model("osteogenic")
    om = og.load_protocol("osteogenic_medium")
    assert om.components["bgp"]["unit"] == "mM" and om.components["bgp"]["concentration"] == 10
    # 10 mM of the anhydrous disodium salt (216.04 g/mol) = 2.1604 mg/mL.
    mass = om.with_component("bgp", concentration=10 * 216.04 / 1000, unit="mg/mL")
    assert mass.components["bgp"]["molar_mass"] == 216.04  # from the preset
    a = og.simulate(model, om)
    b = og.simulate(model, mass)
    j = a.input_names.index("bgp")
    np.testing.assert_allclose(b.inputs[:, j], a.inputs[:, j], rtol=1e-12)
    np.testing.assert_allclose(b.species, a.species, rtol=1e-8, atol=1e-12)
    # Without the molar mass the mass dose is refused, and the message says what to add.
    bare = mass.with_component("bgp", molar_mass=None)
    with pytest.raises(og.ProtocolError) as info:
        og.simulate(model, bare)
    assert info.value.pointer == "/components/bgp/unit"
    assert "molar_mass" in str(info.value)


def test_convert_unit_with_a_molar_mass():
    from osteogrn import _core
    assert math.isclose(_core.convert_unit(2.1604, "mg/mL", "mM", 216.04), 10, rel_tol=1e-14)
    assert math.isclose(_core.convert_unit(10, "mM", "mg/mL", molar_mass=216.04), 2.1604,
                        rel_tol=1e-14)
    with pytest.raises(og.ProtocolError, match="molar_mass"):
        _core.convert_unit(1, "mg/mL", "mM")


# -- the reagent table --------------------------------------------------------------------------
def test_reagent_table_covers_the_model_inputs_with_sources():
    from osteogrn.reagents import molar_mass, reagent
    table = og.reagents()
    assert list(table.columns) == ["input", "name", "molar_mass", "form", "source"]
    assert set(table["input"]) == set(og.load_model("osteogenic").inputs)
    assert (table["molar_mass"] > 0).all()
    assert table["form"].str.len().gt(0).all() and table["source"].str.len().gt(0).all()
    assert table.attrs["units"] == {"molar_mass": "g/mol"}
    assert molar_mass("bgp") == 216.04 and reagent("bmp2")["molar_mass"] == 26000
    with pytest.raises(og.OptionError, match="no reagent 'bgp2'"):
        molar_mass("bgp2")
    # Small-molecule values are computed from their formula; spot-check two by hand with the
    # IUPAC standard atomic weights the table names.
    w = {"C": 12.011, "H": 1.008, "N": 14.007, "O": 15.999, "F": 18.998, "P": 30.974,
         "Na": 22.990}
    assert math.isclose(molar_mass("dex"), 22 * w["C"] + 29 * w["H"] + w["F"] + 5 * w["O"],
                        abs_tol=0.005)
    assert math.isclose(molar_mass("bgp"), 3 * w["C"] + 7 * w["H"] + 2 * w["Na"] + 6 * w["O"]
                        + w["P"], abs_tol=0.005)


def test_built_in_presets_state_the_molar_masses_of_the_table():
    table = og.reagents().set_index("input")["molar_mass"]
    seen = 0
    for name in og.list_protocols():
        for comp, fields in og.load_protocol(name).components.items():
            assert fields["molar_mass"] == table[comp], (name, comp)
            seen += 1
    assert seen > 20

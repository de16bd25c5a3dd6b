"""Protocol edits: with_name, with_component (derived names), without_component,
with_media_changes, with_duration (the documented rule for a shorter run), and the reagent
fields medium/molar_mass/price. Every edited protocol must round-trip through JSON and pickle
and be valid for the C++ reader; bad input names its field."""

import json
import math
import pickle

import numpy as np
import pytest

import osteogrn as og


@pytest.fixture(scope="module")
def om():
    return og.load_protocol("osteogenic_medium")


@pytest.fixture(scope="module")
def rich():
    """A protocol with every kind of day: windows, additions, perturbations, listed changes."""
    return og.Protocol(
        "rich", 28, media_changes=[3, 7, 10, 14, 21, 24], replace_fraction=0.5,
        medium={"volume": 2, "unit": "mL"},
        components={"dex": {"concentration": 100, "unit": "nM", "molar_mass": 392.47},
                    "bmp2": {"concentration": 100, "unit": "ng/mL", "half_life": 0.25,
                             "from": 2, "until": 18, "molar_mass": 26000,
                             "price": {"value": 250, "per": 10, "unit": "ug"}},
                    "ldn": {"concentration": 100, "unit": "nM", "from": 22}},
        additions=[{"day": 5, "component": "bmp2", "concentration": 50},
                   {"day": 23, "component": "dex", "concentration": 10}],
        perturbations=[{"knockout": "Sp7", "from": 12, "until": 26},
                       {"parameter": "k", "scale": 2, "from": 25},
                       {"clamp": "Runx2", "value": 1}])


def assert_round_trips(p: og.Protocol) -> None:
    text = p.to_json()
    back = og.Protocol.from_json(text)
    assert back == p and back.name == p.name
    assert back.to_json() == text
    assert og.Protocol.from_json(json.loads(text)) == p
    unpickled = pickle.loads(pickle.dumps(p))
    assert unpickled == p and unpickled.to_json() == text


def edits(p: og.Protocol):
    return {
        "with_name": p.with_name("renamed"),
        "with_component new": p.with_component("noggin", concentration=100, unit="ng/mL",
                                               molar_mass=46860, price=(300, 20, "ug")),
        "with_component conc": p.with_component("dex", concentration=10),
        "with_component window": p.with_component("dex", from_=1, until=9),
        "without_component": p.without_component("ldn") if "ldn" in p.components
        else p.without_component("dex"),
        "with_media_changes every": p.with_media_changes(every=2),
        "with_media_changes days": p.with_media_changes(days=[2, 4, 6]),
        "with_media_changes never": p.with_media_changes(),
        "with_duration shorter": p.with_duration(11),
        "with_duration longer": p.with_duration(35),
    }


@pytest.mark.parametrize("which", ["om", "rich"])
def test_every_edit_round_trips_through_json_and_pickle(which, request):
    base = request.getfixturevalue(which)
    for label, p in edits(base).items():
        assert_round_trips(p)
        assert p.name != base.name, label
    chained = (base.with_component("dex", concentration=10).with_media_changes(every=4)
               .with_duration(12).with_name("chained"))
    assert_round_trips(chained)
    assert chained.name == "chained" and chained.duration == 12


def test_with_name_changes_only_the_name(om):
    p = om.with_name("mine")
    assert p.name == "mine"
    assert {**p.to_dict(), "name": om.name} == om.to_dict()
    with pytest.raises(og.ProtocolError, match="/name"):
        om.with_name("")


def test_derived_names_are_readable_unique_and_deterministic(om):
    assert om.with_component("bmp2", concentration=100, unit="ng/mL").name == \
        "osteogenic_medium+bmp2=100ng/mL"
    assert om.with_component("dex", concentration=10).name == "osteogenic_medium+dex=10nM"
    assert om.with_component("dex", until=7).name == "osteogenic_medium+dex[until=7]"
    assert om.without_component("dex").name == "osteogenic_medium-dex"
    assert om.with_media_changes(every=2).name == "osteogenic_medium+media_changes.every=2"
    assert om.with_media_changes(days=[3, 7.5]).name == \
        "osteogenic_medium+media_changes.days=3,7.5"
    assert om.with_media_changes().name == "osteogenic_medium+media_changes=never"
    assert om.with_duration(14).name == "osteogenic_medium+duration=14"
    # The same edit, the same name; an explicit name wins.
    assert om.with_component("dex", concentration=10).name == \
        om.with_component("dex", concentration=10.0).name
    assert om.with_component("dex", concentration=10, name="low dex").name == "low dex"
    # A grid of edits (the sweep of the issue: doses x feeding intervals) gets distinct names,
    # including doses that differ in the 12th digit, and simulate_batch accepts them together.
    doses = list(np.linspace(1, 200, 200)) + [0.1, 0.1 + 1e-12, 1e-7, 1.0000000000001]
    grid = [om.with_component("bmp2", concentration=d, unit="ng/mL").with_media_changes(every=k)
            for d in doses for k in (2, 3, 4)]
    names = [p.name for p in grid]
    assert len(set(names)) == len(names)
    other_fields = [om.with_component("dex", half_life=h) for h in (1, 2)] + \
        [om.with_component("dex", concentration=100, unit="nM"),
         om.with_component("dex", concentration=0.1, unit="uM"),
         om.with_component("dex", molar_mass=392.47),
         om.with_component("dex", price=(1, 1, "mg")),
         om.with_component("dex", price=(1, 2, "mg")),
         om.with_component("dex", optional=True),
         om.with_component("dex", half_life=None)]
    assert len({p.name for p in other_fields}) == len(other_fields)


def test_derived_names_let_a_batch_run(small_model, dex_protocol):
    ps = [dex_protocol.with_component("dex", concentration=c) for c in (10, 20, 40)]
    batch = og.simulate_batch(small_model, ps, t=[0, 7, 14])
    assert batch.protocol_names == [p.name for p in ps]
    assert batch.n_protocols == 3 and not np.asarray(batch.failed).any()


def test_with_component_takes_reagent_fields(om):
    p = om.with_component("bmp2", concentration=100, unit="ng/mL", molar_mass=26000,
                          price={"value": 250, "per": 10, "unit": "ug"})
    assert p.components["bmp2"]["molar_mass"] == 26000
    assert p.components["bmp2"]["price"] == {"value": 250, "per": 10, "unit": "ug"}
    assert p.with_component("bmp2", price=(300, 1, "nmol")).components["bmp2"]["price"] == \
        {"value": 300, "per": 1, "unit": "nmol"}
    cleared = p.with_component("bmp2", price=None, molar_mass=None)
    assert cleared.components["bmp2"]["price"] is None
    assert cleared.components["bmp2"]["molar_mass"] is None
    assert_round_trips(p)


def test_medium_keyword_and_property():
    p = og.Protocol("m", 7, medium=(500, "uL"))
    assert p.medium == {"volume": 500, "unit": "uL"}
    assert og.Protocol("m", 7, medium={"volume": 2, "unit": "mL"}).medium["volume"] == 2
    assert og.Protocol("m", 7).medium is None
    assert_round_trips(p)


@pytest.mark.parametrize("kwargs, pointer", [
    ({"medium": {"volume": 0, "unit": "mL"}}, "/medium/volume"),
    ({"medium": {"volume": 2, "unit": "mg"}}, "/medium/unit"),
    ({"medium": {"volume": 2}}, "/medium"),
    ({"components": {"b": {"concentration": 1, "unit": "ng/mL", "molar_mass": 0}}},
     "/components/b/molar_mass"),
    ({"components": {"b": {"concentration": 1, "unit": "ng/mL",
                           "price": {"value": -1, "per": 1, "unit": "ug"}}}},
     "/components/b/price/value"),
    ({"components": {"b": {"concentration": 1, "unit": "ng/mL",
                           "price": {"value": 1, "per": 0, "unit": "ug"}}}},
     "/components/b/price/per"),
    ({"components": {"b": {"concentration": 1, "unit": "ng/mL",
                           "price": (1, 1, "ng/mL")}}}, "/components/b/price/unit"),
])
def test_bad_reagent_fields_name_their_field(kwargs, pointer):
    with pytest.raises(og.ProtocolError) as info:
        og.Protocol("bad", 7, **kwargs)
    assert info.value.pointer == pointer
    assert pointer in str(info.value)


def test_bad_edits_name_their_field(om):
    with pytest.raises(og.ProtocolError) as info:
        om.with_media_changes(every=2, days=[3])
    assert info.value.pointer == "/media_changes"
    with pytest.raises(og.ProtocolError) as info:
        om.with_media_changes(every=-1)
    assert info.value.pointer == "/media_changes/every"
    with pytest.raises(og.ProtocolError) as info:
        om.with_media_changes(days=[5, 3])
    assert info.value.pointer == "/media_changes/days/1"
    for bad in (0, -3, float("nan"), float("inf"), "long"):
        with pytest.raises(og.ProtocolError) as info:
            om.with_duration(bad)
        assert info.value.pointer == "/duration"
    with pytest.raises(og.ProtocolError) as info:
        om.with_component("dex", molar_mass=-1)
    assert info.value.pointer == "/components/dex/molar_mass"
    with pytest.raises(og.ProtocolError, match="unknown field"):
        om.with_component("dex", molar_weight=1)
    with pytest.raises(og.ProtocolError, match="no component 'bmp2'"):
        om.without_component("bmp2")


def test_with_duration_shorter_follows_the_documented_rule(rich):
    d = 11
    p = rich.with_duration(d)
    data = p.to_dict()
    assert p.duration == d
    # media-change days after d dropped (10 kept), additions after d dropped (5 kept)
    assert data["media_changes"] == {"days": [3.0, 7.0, 10.0]}
    assert [(a["day"], a["component"]) for a in p.additions] == [(5.0, "bmp2")]
    comps = data["components"]
    # a window reaching past d is clipped to d; one without until stays open
    assert comps["bmp2"]["from"] == 2 and comps["bmp2"]["until"] == d
    assert "until" not in comps["dex"]
    # a component starting at or after d is kept but never supplied: window [d, end)
    assert comps["ldn"]["from"] == d and "until" not in comps["ldn"]
    assert p.consumption().set_index("component").loc["ldn", "amount"] == 0
    # perturbations: starting at or after d dropped; windows clipped; open ones stay open
    assert data["perturbations"] == [{"clamp": "Runx2", "value": 1.0}]
    q = rich.with_duration(13)
    assert [x for x in q.to_dict()["perturbations"] if "knockout" in x] == \
        [{"knockout": "Sp7", "from": 12.0, "until": 13.0}]
    # an `every` rule needs nothing: it already stops strictly before the end
    assert og.load_protocol("osteogenic_medium").with_duration(10).media_change_days.tolist() \
        == [3, 6, 9]
    # a day exactly at the new end is kept (it is allowed and has no effect)
    assert rich.with_duration(10).to_dict()["media_changes"]["days"] == [3.0, 7.0, 10.0]


def test_with_duration_shorter_then_simulated_matches_the_long_run(small_model, dex_protocol):
    long = dex_protocol.with_component("dex", until=10).with_media_changes(days=[3, 6, 9, 12])
    short = long.with_duration(8)
    t = np.linspace(0, 8, 17)
    a = og.simulate(small_model, long, t=t).species
    b = og.simulate(small_model, short, t=t).species
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_with_duration_longer_changes_only_the_duration(rich):
    p = rich.with_duration(40)
    assert {**p.to_dict(), "name": rich.name, "duration": rich.duration} == rich.to_dict()
    assert p.media_change_days.tolist() == rich.media_change_days.tolist()


def test_with_media_changes_forms(om):
    assert om.with_media_changes(every=2).media_changes == {"every": 2}
    assert om.with_media_changes(days=[2, 9]).media_change_days.tolist() == [2, 9]
    never = om.with_media_changes()
    assert never.media_changes == {} and len(never.media_change_days) == 0
    assert om.with_media_changes(days=[]).media_changes == {}
    assert math.isclose(om.with_media_changes(every=2.5).media_change_days[-1], 20)

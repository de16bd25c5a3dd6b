"""Every public function and property of the API on small test models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import osteogrn as og
from conftest import DATA, gil_released_during


def test_all_names_exist():
    for name in og.__all__:
        assert hasattr(og, name), name
    for name in ("simulate", "load_model", "load_protocol", "list_models", "list_protocols",
                 "Model", "Protocol", "Result"):
        assert getattr(og, name).__doc__, f"{name} has no docstring"


# -- library -------------------------------------------------------------------------------
def test_list_models_and_protocols_match_the_builtin_folders():
    models = og.list_models()
    protocols = og.list_protocols()
    assert models == sorted(p.stem for p in og.models_dir().glob("*.json"))
    assert protocols == sorted(p.stem for p in og.protocols_dir().glob("*.json"))


def test_every_builtin_model_and_protocol_loads_by_name_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in og.list_models():
        model = og.load_model(name)
        assert isinstance(model, og.Model) and model.species
    for name in og.list_protocols():
        proto = og.load_protocol(name)
        assert isinstance(proto, og.Protocol) and proto.duration > 0


def test_builtin_run_from_elsewhere(tmp_path, monkeypatch):
    # Built-ins load by name from a folder without any model file: the composed model runs
    # under every built-in protocol (what `osteogrn compare` does).
    monkeypatch.chdir(tmp_path)
    model = og.load_model("osteogenic")
    protocols = og.list_protocols()
    assert "osteogenic_medium" in protocols and len(protocols) >= 10
    for name in protocols:
        proto = og.load_protocol(name)
        res = og.simulate(model, proto)
        assert res.success, name
        assert res.t[-1] == proto.duration and np.isfinite(res.species).all(), name


def test_load_by_path_str_and_pathlib(small_model):
    path = DATA / "models" / "grn_small.json"
    assert og.load_model(str(path)).to_json() == small_model.to_json()
    assert og.load_model(path).to_json() == small_model.to_json()
    proto = og.load_protocol(DATA / "protocols" / "minimal.json")
    assert proto.name == "minimal" and proto.duration == 1.5


def test_unknown_names_list_what_exists():
    with pytest.raises(og.ModelError, match="unknown model 'no_such_model'.*built-in models"):
        og.load_model("no_such_model")
    with pytest.raises(og.ProtocolError, match="unknown protocol 'nope'"):
        og.load_protocol("nope")
    with pytest.raises(og.ModelError):
        og.load_model("/nonexistent/dir/model.json")
    with pytest.raises(og.ProtocolError):
        og.load_protocol("/nonexistent/dir/protocol.json")


def test_imports_resolve_from_the_files_directory(composed_model):
    assert composed_model.modules[-1] == "comp_top"
    assert {"comp_left", "comp_right", "comp_base"} <= set(composed_model.modules)
    assert "D" in composed_model.species


# -- Model ---------------------------------------------------------------------------------
def test_model_properties(small_model):
    m = small_model
    assert m.name == "grn_small"
    assert "Runx2/Sp7" in m.description
    assert m.time_unit == "day"
    assert sorted(m.species) == ["ALP_act", "Runx2", "Sp7"]
    assert m.inputs == ["dex"]
    assert sorted(m.observables) == ["ALP", "runx2_sp7_ratio"]
    assert m.parameters["d_runx2"] == 1.2 and len(m.parameters) == 10
    assert m.initial_values["Runx2"] == 0.05
    assert set(m.expressions) == {"dex_drive", "sp7_drive"}
    assert "komori1997" in m.references
    np.testing.assert_array_equal(m.initial_state(), [m.initial_values[s] for s in m.species])
    assert "grn_small" in repr(m) and "3 species" in repr(m)


def test_tables(small_model):
    table = small_model.parameter_table()
    assert isinstance(table, pd.DataFrame)
    assert {"value", "unit", "min", "max", "source"} <= set(table.columns)
    assert table.loc["K_dex", "unit"] == "nM"
    assert table.loc["K_dex", "min"] == 1 and table.loc["K_dex", "max"] == 1000
    assert table.loc["v_runx2", "source"] == "komori1997"
    assert list(small_model.species_table().index) == small_model.species
    assert small_model.input_table().loc["dex", "unit"] == "nM"
    assert small_model.observable_table().loc["ALP", "unit"] == "U/L"


def test_with_parameters_returns_a_new_model(small_model):
    changed = small_model.with_parameters(d_runx2=0.8, K_dex=20)
    assert changed.parameters["d_runx2"] == 0.8 and changed.parameters["K_dex"] == 20
    assert small_model.parameters["d_runx2"] == 1.2  # the original is untouched
    assert small_model.with_parameters({"d_runx2": 0.8}).parameters == \
        small_model.with_parameters(d_runx2=0.8).parameters
    with pytest.raises(og.ModelError, match="no_such"):
        small_model.with_parameters(no_such=1.0)
    with pytest.raises(og.ModelError, match="d_runx2"):
        small_model.with_parameters(d_runx2=1000.0)  # max is 100
    with pytest.raises(og.ModelError):
        small_model.with_parameters(d_runx2=float("nan"))
    with pytest.raises(og.ModelError, match="not a number"):
        small_model.with_parameters(d_runx2="fast")


def test_rhs_matches_the_equations_in_the_file(small_model):
    m = small_model
    y = {"Runx2": 0.7, "Sp7": 0.3, "ALP_act": 0.9}
    dex = 80.0
    p = m.parameters
    hill = lambda x, K, n: x**n / (K**n + x**n)  # noqa: E731
    hill_rep = lambda x, K, n: K**n / (K**n + x**n)  # noqa: E731
    expected = {
        "Runx2": p["v_runx2"] * (p["b_runx2"] + dex / (p["K_dex"] + dex)) - p["d_runx2"] * 0.7,
        "Sp7": p["v_sp7"] * hill(0.7, p["K_runx2"], p["n_sp7"]) * hill_rep(0.9, p["K_rep"], 2)
        - p["d_sp7"] * 0.3,
        "ALP_act": p["k_alp"] * 0.3 - 0.1 * 0.9,
    }
    state = [y[s] for s in m.species]
    f = m.rhs(0.0, state, [dex])
    np.testing.assert_allclose(f, [expected[s] for s in m.species], rtol=1e-12)
    g = dict(zip(m.observables, m.observe(0.0, state, [dex])))
    assert g["ALP"] == pytest.approx(9.0)
    assert g["runx2_sp7_ratio"] == pytest.approx(0.7 / 0.31)
    # Jacobian against central differences.
    jac = m.jacobian(0.0, state, [dex])
    assert jac.shape == (3, 3)
    for j in range(3):
        h = 1e-6
        up, dn = list(state), list(state)
        up[j] += h
        dn[j] -= h
        fd = (m.rhs(0.0, up, [dex]) - m.rhs(0.0, dn, [dex])) / (2 * h)
        np.testing.assert_allclose(jac[:, j], fd, rtol=1e-6, atol=1e-8)
    assert m.parameter_jacobian(0.0, state, [dex]).shape == (3, len(m.parameters))
    with pytest.raises(og.OptionError, match="species"):
        m.rhs(0.0, [1.0], [dex])


def test_knockout_holds_the_species_at_zero(small_model, dex_protocol):
    ko = small_model.knockout("Sp7")
    assert ko.knockouts == ["Sp7"] and small_model.knockouts == []
    res = og.simulate(ko, dex_protocol)
    assert np.all(res["Sp7"] == 0.0)
    assert np.any(og.simulate(small_model, dex_protocol)["Sp7"][1:] > 0)
    with pytest.raises(og.ModelError, match="Osx"):
        small_model.knockout("Osx")


# -- Protocol ------------------------------------------------------------------------------
def test_protocol_from_keywords(dex_protocol):
    p = dex_protocol
    assert p.name == "dex_test" and p.duration == 14
    assert p.description == "test protocol for grn_small"
    np.testing.assert_array_equal(p.media_change_days, [3, 6, 9, 12])
    assert p.media_changes == {"every": 3.0}
    assert p.replace_fraction == 0.5
    dex = p.components["dex"]
    assert dex["concentration"] == 100 and dex["unit"] == "nM" and dex["half_life"] == 2.0
    assert dex["from"] == 0 and dex["until"] == 7
    assert p.additions[0]["day"] == 10 and p.additions[0]["component"] == "dex"
    assert p.perturbations[0]["kind"] == "knockout" and p.perturbations[0]["target"] == "Sp7"
    assert "dex_test" in repr(p) and "14 days" in repr(p)
    assert og.Protocol("days", 10, media_changes=[2, 5]).media_change_days.tolist() == [2, 5]
    # components as read (None = absent) are accepted back
    copy = og.Protocol("copy", 14, media_changes=3, components=p.components)
    assert copy.components == p.components
    assert len(og.Protocol("never", 10).media_change_days) == 0


def test_protocol_keywords_are_validated_in_cpp():
    with pytest.raises(og.ProtocolError, match="duration"):
        og.Protocol("bad", -1)
    with pytest.raises(og.ProtocolError, match="NaN or infinite"):
        og.Protocol("bad", float("nan"))
    with pytest.raises(og.ProtocolError, match="/components/dex"):
        og.Protocol("bad", 5, components={"dex": {"concentration": 1, "unit": "nM",
                                                  "colour": "red"}})


def test_with_component_adds_or_replaces_only_given_fields(dex_protocol):
    p2 = dex_protocol.with_component("dex", concentration=10)
    assert p2.components["dex"]["concentration"] == 10
    assert p2.components["dex"]["unit"] == "nM" and p2.components["dex"]["half_life"] == 2.0
    assert dex_protocol.components["dex"]["concentration"] == 100  # unchanged original
    p3 = dex_protocol.with_component("bmp2", concentration=100, unit="ng/mL", half_life=0.25,
                                     from_=1, optional=True)
    assert list(p3.components) == ["dex", "bmp2"]
    assert p3.components["bmp2"]["from"] == 1 and p3.components["bmp2"]["optional"] is True
    stable = dex_protocol.with_component("dex", half_life=None, until=None)
    assert stable.components["dex"]["half_life"] is None
    assert stable.components["dex"]["until"] is None
    with pytest.raises(og.ProtocolError, match="unknown field"):
        dex_protocol.with_component("dex", colour="red")
    with pytest.raises(og.ProtocolError):
        dex_protocol.with_component("new", unit="nM")  # no concentration
    shorter = og.Protocol("s", 14, components={"dex": {"concentration": 1, "unit": "nM"}})
    assert shorter.with_duration(7).duration == 7
    assert shorter.without_component("dex").components == {}


def test_protocol_equality_and_dict(dex_protocol):
    assert og.Protocol.from_json(dex_protocol.to_dict()) == dex_protocol
    assert dex_protocol != dex_protocol.with_component("dex", concentration=1)


# -- simulate and Result -------------------------------------------------------------------
def test_simulate_default_times_and_shapes(small_model, dex_protocol):
    res = og.simulate(small_model, dex_protocol)
    np.testing.assert_allclose(res.t, np.linspace(0, 14, 141), atol=1e-12)
    assert res.species.shape == (141, 3)
    assert res.observables.shape == (141, 2)
    assert res.inputs.shape == (141, 1)
    assert res.species_names == small_model.species
    assert res.observable_names == small_model.observables
    assert res.input_names == ["dex"]
    assert res.output_names == small_model.species + small_model.observables
    assert res.success and res.status == "success"
    assert res.model_name == "grn_small" and res.protocol_name == "dex_test"
    assert res.method == "cvode_bdf"
    np.testing.assert_array_equal(res.media_change_days, [3, 6, 9, 12])
    # grn_small.json carries a k_alp window [2, 5): its ends are breakpoints too
    assert {0.0, 2.0, 3.0, 5.0, 6.0, 9.0, 10.0, 11.0, 12.0, 12.5, 14.0} == set(res.breakpoints.tolist())
    for key in ("steps", "rhs_evals", "jac_evals", "restarts", "wall_seconds"):
        assert key in res.stats
    assert res.stats["steps"] > 0 and res.stats["restarts"] >= 5
    assert len(res) == 141 and "ALP" in res and "nothing" not in res
    assert "grn_small" in repr(res)


def test_getitem_species_observables_inputs(small_model, dex_protocol):
    res = og.simulate(small_model, dex_protocol)
    i = res.species_names.index("Runx2")
    np.testing.assert_array_equal(res["Runx2"], res.species[:, i])
    np.testing.assert_array_equal(res["ALP"], res.observables[:, res.observable_names.index("ALP")])
    np.testing.assert_allclose(res["ALP"], 10 * res["ALP_act"], rtol=1e-12)
    np.testing.assert_array_equal(res["dex"], res.inputs[:, 0])
    assert res["dex"][0] == pytest.approx(100.0)  # day 0 is fresh medium
    with pytest.raises(KeyError, match="valid names: .*Runx2.*ALP.*dex"):
        res["Osx"]


def test_to_frame_wide_and_tidy(small_model, dex_protocol):
    res = og.simulate(small_model, dex_protocol, t=[0, 1, 2.5, 14])
    wide = res.to_frame()
    assert wide.index.name == "t" and list(wide.index) == [0, 1, 2.5, 14]
    assert list(wide.columns) == res.species_names + res.observable_names + res.input_names
    np.testing.assert_array_equal(wide["ALP"].to_numpy(), res["ALP"])
    tidy = res.to_frame(tidy=True)
    assert list(tidy.columns) == ["time", "name", "kind", "value", "unit"]
    assert len(tidy) == 4 * (3 + 2 + 1)
    row = tidy[(tidy.name == "Sp7") & (tidy.time == 2.5)]
    assert row.kind.item() == "species" and row.value.item() == res["Sp7"][2]
    assert set(tidy.kind) == {"species", "observable", "input"}
    assert list(res.to_frame(kinds=["observable"]).columns) == res.observable_names
    with pytest.raises(ValueError):
        res.to_frame(kinds=["bogus"])


def test_plot_one_panel_per_observable_with_media_changes(small_model, dex_protocol, tmp_path):
    res = og.simulate(small_model, dex_protocol)
    fig = res.plot()
    assert isinstance(fig, Figure)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == res.observable_names
    for ax in visible:
        xs = [line.get_xdata() for line in ax.get_lines()]
        vertical = [x for x in xs if len(x) == 2 and x[0] == x[1]]
        assert sorted(v[0] for v in vertical) == [3, 6, 9, 12]
    fig2 = res.plot(["Runx2", "dex"])
    assert [ax.get_title() for ax in fig2.axes if ax.get_visible()] == ["Runx2", "dex"]
    fig.savefig(tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(KeyError):
        res.plot(["Osx"])


def test_parameters_argument_equals_with_parameters(small_model, dex_protocol):
    a = og.simulate(small_model, dex_protocol, parameters={"d_runx2": 0.5})
    b = og.simulate(small_model.with_parameters(d_runx2=0.5), dex_protocol)
    np.testing.assert_array_equal(a.species, b.species)
    c = og.simulate(small_model, dex_protocol)
    assert not np.array_equal(a.species, c.species)


def test_simulate_accepts_names_and_paths(small_model):
    path = DATA / "models" / "grn_small.json"
    res = og.simulate(str(path), DATA / "protocols" / "minimal.json")
    ref = og.simulate(small_model, og.load_protocol(DATA / "protocols" / "minimal.json"))
    np.testing.assert_array_equal(res.species, ref.species)


@pytest.mark.parametrize("method", og.METHODS)
def test_methods_agree(small_model, dex_protocol, method):
    ref = og.simulate(small_model, dex_protocol, rtol=1e-10, atol=1e-12)
    res = og.simulate(small_model, dex_protocol, method=method, rtol=1e-9, atol=1e-11)
    assert res.method == method
    np.testing.assert_allclose(res.species, ref.species, rtol=1e-5, atol=1e-8)


def test_bad_options(small_model, dex_protocol):
    with pytest.raises(og.OptionError, match="cvode_bdf"):
        og.simulate(small_model, dex_protocol, method="euler")
    with pytest.raises(og.OptionError):
        og.simulate(small_model, dex_protocol, rtol=-1)
    with pytest.raises(og.OptionError):
        og.simulate(small_model, dex_protocol, max_steps=0)
    with pytest.raises(og.OptionError):
        og.simulate(small_model, dex_protocol, t=[3, 1, 2])
    with pytest.raises(og.OptionError):
        og.simulate(small_model, dex_protocol, t=[0, 20])  # beyond the duration
    with pytest.raises(og.OptionError):
        og.simulate(small_model, dex_protocol, t=np.zeros((2, 2)))
    with pytest.raises(og.OptionError):
        og.simulate(small_model, dex_protocol, t=["a", "b"])
    with pytest.raises(og.OptionError):
        og.simulate(small_model, dex_protocol, rtol="tight")
    with pytest.raises(TypeError):
        og.simulate(small_model, dex_protocol, colour="red")


def test_protocol_that_does_not_fit_the_model(small_model):
    proto = og.load_protocol(DATA / "protocols" / "osteogenic_medium.json")
    with pytest.raises(og.ProtocolError, match="asc2p|bgp|bmp2"):
        og.simulate(small_model, proto)
    optional = og.Protocol("opt", 5, components={
        "bmp2": {"concentration": 1, "unit": "ng/mL", "optional": True}})
    assert og.simulate(small_model, optional).success


def test_failure_without_raising(small_model, dex_protocol):
    res = og.simulate(small_model, dex_protocol, max_steps=5, raise_on_failure=False)
    assert not res.success and res.status != "success"
    assert 0 <= res.failure_time < 14
    after = res.t > res.failure_time
    assert after.any() and np.isnan(res.species[after]).all()
    with pytest.raises(og.SolverError) as info:
        og.simulate(small_model, dex_protocol, max_steps=5)
    assert info.value.time == pytest.approx(res.failure_time)
    assert info.value.reason and "max_steps" in str(info.value)


def test_threads_give_identical_results(small_model, dex_protocol):
    from concurrent.futures import ThreadPoolExecutor
    serial = [og.simulate(small_model.with_parameters(d_runx2=d), dex_protocol).species
              for d in (0.5, 1.0, 1.5, 2.0)]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(
            lambda d: og.simulate(small_model.with_parameters(d_runx2=d), dex_protocol).species,
            (0.5, 1.0, 1.5, 2.0)))
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a, b)


def test_gil_is_released_during_simulate(small_model, dex_protocol):
    from osteogrn import _core
    t = np.linspace(0, 14, 200_001).tolist()
    assert gil_released_during(lambda: _core.simulate(
        small_model._core, dex_protocol._core, t,
        og.SolverOptions(method="dopri5", rtol=1e-12, atol=1e-14)))


def test_parse_expression():
    # Printed back with the parentheses the grammar needs, and only those.
    assert og.parse_expression("1 + 2 * x") == "1 + 2 * x"
    assert og.parse_expression("(1+2)*x") == "(1 + 2) * x"
    assert og.parse_expression("a - (b - c)") == "a - (b - c)"
    assert og.parse_expression("hill(x, K, 2)") == "hill(x, K, 2)"
    with pytest.raises(og.ParseError) as info:
        og.parse_expression("a + * b")
    assert info.value.position == 4


def test_package_ships_type_stubs():
    pkg = Path(og.__file__).parent
    assert (pkg / "py.typed").exists() and (pkg / "_core.pyi").exists()

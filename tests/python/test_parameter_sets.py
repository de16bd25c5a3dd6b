"""Cell-type parameter sets (osteogrn-parameter-set/1): loading, the default rule,
parameter_set=False, errors naming file and JSON pointer, and --parameter-set on the command line."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import osteogrn as og
from osteogrn import parameter_sets as ps
from conftest import DATA

SMALL = DATA / "models" / "grn_small.json"  # a test model whose names do not change


def small_set(**overrides):
    """A valid set for grn_small; `overrides` replace top-level fields."""
    doc = {
        "schema": "osteogrn-parameter-set/1",
        "name": "small_cells",
        "model": "grn_small",
        "description": "test cells",
        "cells": "none in particular",
        "references": {"test2020": "A. Test (2020) J Tests 1:1"},
        "parameters": {
            "d_runx2": {"value": 2.5, "source": "test2020: Runx2 half-life of 6.7 h"},
            "k_alp": {"value": 0.6, "source": "assumed: twice the module value"},
        },
        "initial": {
            "Sp7": {"value": 0.3, "source": "calibrated: to nothing, a test"},
        },
    }
    doc.update(overrides)
    return doc


def write(folder, doc, name="set.json"):
    path = folder / name
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


# -- loading and applying ---------------------------------------------------------------------

def test_set_from_a_path_applies_parameters_and_initial_values(tmp_path, dex_protocol):
    path = write(tmp_path, small_set())
    pset = og.load_parameter_set(path)
    assert (pset.name, pset.model, pset.cells) == ("small_cells", "grn_small", "none in particular")
    assert dict(pset.parameters) == {"d_runx2": 2.5, "k_alp": 0.6}
    assert dict(pset.initial) == {"Sp7": 0.3}
    assert pset.sources["Sp7"] == "calibrated: to nothing, a test"
    assert pset.default is False and pset.path == str(path)
    with pytest.raises(Exception):
        pset.parameters["d_runx2"] = 1.0  # frozen
    with pytest.raises(Exception):
        pset.name = "other"
    again = pickle.loads(pickle.dumps(pset))  # e.g. sent to a worker process
    assert again == pset and again.apply(og.load_model(SMALL)).parameters == \
        pset.apply(og.load_model(SMALL)).parameters

    base = og.load_model(SMALL)
    model = og.load_model(SMALL, parameter_set=path)
    assert model.name == "grn_small" and model.parameter_set == "small_cells"
    assert "parameter set 'small_cells'" in repr(model)
    assert base.parameter_set is None and "parameter set" not in repr(base)
    expected = dict(base.parameters, d_runx2=2.5, k_alp=0.6)
    assert model.parameters == expected
    assert model.initial_values == dict(base.initial_values, Sp7=0.3)
    # the same as applying by hand, and as pset.apply
    by_hand = og.Model.from_json(
        json.loads(base.to_json()) | {"species": {**json.loads(base.to_json())["species"],
                                                  "Sp7": {"initial": 0.3}}}
    ).with_parameters(d_runx2=2.5, k_alp=0.6)
    for other in (by_hand, pset.apply(base), og.load_model(SMALL, parameter_set=pset)):
        assert other.parameters == model.parameters
        np.testing.assert_array_equal(other.initial_state(), model.initial_state())
    ours, theirs = og.simulate(model, dex_protocol), og.simulate(by_hand, dex_protocol)
    np.testing.assert_allclose(ours["ALP_act"], theirs["ALP_act"], rtol=1e-12)
    assert ours["Sp7"][0] == 0.3
    assert not np.allclose(ours["ALP_act"], og.simulate(base, dex_protocol)["ALP_act"])


def test_label_survives_edits_and_pickle(tmp_path):
    model = og.load_model(SMALL, parameter_set=write(tmp_path, small_set()))
    assert model.with_parameters(K_dex=20).parameter_set == "small_cells"
    assert model.knockout("Sp7").parameter_set == "small_cells"
    again = pickle.loads(pickle.dumps(model))
    assert again.parameter_set == "small_cells" and again.parameters == model.parameters
    np.testing.assert_array_equal(again.initial_state(), model.initial_state())


def test_default_set_false_and_named_sets_for_the_builtin_model():
    names = og.list_parameter_sets()
    assert {"hmsc", "mc3t3_e1"} <= set(names)
    assert og.list_parameter_sets("osteogenic") == [n for n in names
                                                    if og.load_parameter_set(n).model
                                                    == "osteogenic"]
    assert og.list_parameter_sets("no_such_model") == []
    defaults = [n for n in og.list_parameter_sets("osteogenic") if og.load_parameter_set(n).default]
    assert defaults == ["hmsc"]

    plain = og.load_model("osteogenic", parameter_set=False)
    assert plain.parameter_set is None
    hmsc = og.load_parameter_set("hmsc")
    default = og.load_model("osteogenic")
    assert default.name == "osteogenic" and default.parameter_set == "hmsc"
    assert default.parameters == dict(plain.parameters, **hmsc.parameters)
    assert default.initial_values == dict(plain.initial_values, **hmsc.initial)
    assert og.load_model("osteogenic", parameter_set=None).parameters == default.parameters

    mc3t3 = og.load_parameter_set("mc3t3_e1")
    assert mc3t3.cells and mc3t3.description and not mc3t3.default
    mouse = og.load_model("osteogenic", parameter_set="mc3t3_e1")
    assert mouse.parameter_set == "mc3t3_e1"
    # a named set is applied to the module values, not on top of the default set
    assert mouse.parameters == dict(plain.parameters, **mc3t3.parameters)
    assert mouse.initial_values == dict(plain.initial_values, **mc3t3.initial)
    assert mouse.initial_values != default.initial_values or mouse.parameters != default.parameters
    # every value of every built-in set has a source
    for name in names:
        pset = og.load_parameter_set(name)
        assert set(pset.sources) == set(pset.parameters) | set(pset.initial)
        assert all(s.strip() for s in pset.sources.values())


def test_a_model_from_a_path_gets_no_set_unless_asked(tmp_path):
    path = og.models_dir() / "osteogenic.json"
    assert og.load_model(path).parameter_set is None
    assert og.load_model(path, parameter_set="hmsc").parameter_set == "hmsc"


def test_builtin_sets_are_installed_with_the_package():
    folder = ps.parameter_sets_dir()
    assert folder == og.models_dir() / "parameter_sets"
    assert (folder / "hmsc.json").is_file() and (folder / "mc3t3_e1.json").is_file()


# -- errors ----------------------------------------------------------------------------------

def entry(value, source="assumed: test"):
    return {"value": value, "source": source}


@pytest.mark.parametrize("doc, pointer, words", [
    (small_set(schema="osteogrn-parameter-set/2"), "/schema", ["unknown schema"]),
    (small_set(parameters={"k_nope": entry(1.0)}), "/parameters/k_nope",
     ["no parameter 'k_nope'"]),
    (small_set(parameters={"d_runx": entry(1.0)}), "/parameters/d_runx",
     ["did you mean 'd_runx2'"]),
    (small_set(initial={"Osx": entry(1.0)}), "/initial/Osx", ["no species 'Osx'"]),
    (small_set(parameters={"d_runx2": entry(1000.0)}), "/parameters/d_runx2/value",
     ["outside the bounds [0.01, 100]"]),
    (small_set(parameters={"d_runx2": entry(0.001)}), "/parameters/d_runx2/value",
     ["outside the bounds"]),
    (small_set(parameters={"d_runx2": {"value": 1.0}}), "/parameters/d_runx2", ["missing source"]),
    (small_set(parameters={"d_runx2": entry(1.0, "")}), "/parameters/d_runx2/source",
     ["non-empty"]),
    (small_set(parameters={"d_runx2": entry(1.0, "assumed:")}), "/parameters/d_runx2/source",
     ["needs a reason"]),
    (small_set(parameters={"d_runx2": entry(1.0, "nobody2001: said so")}),
     "/parameters/d_runx2/source", ["unknown reference key 'nobody2001'"]),
    (small_set(parameters={"d_runx2": entry("1.0")}), "/parameters/d_runx2/value",
     ["must be a number"]),
    (small_set(parameters={"d_runx2": entry(True)}), "/parameters/d_runx2/value",
     ["must be a number"]),
    (small_set(parameters={"d_runx2": {"value": 1.0, "source": "assumed: x", "unit": "1/d"}}),
     "/parameters/d_runx2/unit", ["unknown key 'unit'"]),
    (small_set(model="osteogenic"), "/model",
     ["for model 'osteogenic', not for model 'grn_small'"]),
    (small_set(default="yes"), "/default", ["true or false"]),
    (small_set(colour="blue"), "/colour", ["unknown key 'colour'"]),
    ({k: v for k, v in small_set().items() if k != "description"}, "", ["'description'"]),
])
def test_invalid_sets_name_file_and_pointer(tmp_path, doc, pointer, words):
    path = write(tmp_path, doc)
    with pytest.raises(og.ModelError) as info:
        og.load_model(SMALL, parameter_set=path)
    err = info.value
    assert err.file == str(path) and err.pointer == pointer, str(err)
    assert str(err).startswith(f"{path}: ")
    for word in words:
        assert word in str(err)


@pytest.mark.parametrize("text, words", [
    ('{"schema": "osteogrn-parameter-set/1", "name": "a", "name": "b"}', ["duplicate key 'name'"]),
    ('{"schema": "osteogrn-parameter-set/1", "x": NaN}', ["NaN", "finite"]),
    ('{"schema": "osteogrn-parameter-set/1", "x": 1e999}', ["beyond a double"]),
    ('{"schema": "osteogrn-parameter-set/1",', ["invalid JSON at line 1"]),
    ("[1, 2]", ["a JSON object"]),
    ("[" * 100 + "]" * 100, ["nesting deeper than 64"]),
])
def test_malformed_json(tmp_path, text, words):
    path = write(tmp_path, text)
    with pytest.raises(og.ModelError) as info:
        og.load_parameter_set(path)
    assert info.value.file == str(path)
    for word in words:
        assert word in str(info.value)


def test_files_that_cannot_be_read(tmp_path, monkeypatch):
    with pytest.raises(og.ModelError, match="cannot read"):
        og.load_parameter_set(tmp_path / "missing.json")
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(og.ModelError, match="not a regular file"):
        og.load_parameter_set(tmp_path / "dir.json")
    path = write(tmp_path, small_set())
    monkeypatch.setenv("OSTEOGRN_MAX_FILE_BYTES", "100")
    with pytest.raises(og.ModelError, match="over the limit of 100"):
        og.load_parameter_set(path)
    (tmp_path / "latin1.json").write_bytes(b'{"name": "caf\xe9"}')
    monkeypatch.delenv("OSTEOGRN_MAX_FILE_BYTES")
    with pytest.raises(og.ModelError, match="not UTF-8"):
        og.load_parameter_set(tmp_path / "latin1.json")


def test_unknown_name_and_set_for_another_model(tmp_path):
    with pytest.raises(og.ModelError, match="unknown parameter set 'nope'.*hmsc"):
        og.load_model("osteogenic", parameter_set="nope")
    with pytest.raises(og.ModelError, match="unknown parameter set"):
        og.load_parameter_set("nope")
    with pytest.raises(og.ModelError, match="parameter_set=True"):
        og.load_model("osteogenic", parameter_set=True)
    pset = og.load_parameter_set(write(tmp_path, small_set()))
    with pytest.raises(og.ModelError) as info:
        pset.apply(og.load_model("osteogenic", parameter_set=False))
    assert info.value.pointer == "/model"
    assert "for model 'grn_small', not for model 'osteogenic'" in str(info.value)


def test_two_defaults_for_one_model_are_an_error(tmp_path, monkeypatch):
    for name in ("one", "two"):
        write(tmp_path, {"schema": "osteogrn-parameter-set/1", "name": name, "model": "osteogenic",
                         "default": True, "description": name}, f"{name}.json")
    monkeypatch.setattr(ps, "parameter_sets_dir", lambda: tmp_path)
    assert og.list_parameter_sets("osteogenic") == ["one", "two"]
    with pytest.raises(og.ModelError) as info:
        og.load_model("osteogenic")
    assert info.value.pointer == "/default" and info.value.file == str(tmp_path / "two.json")
    assert "two default parameter sets for model 'osteogenic'" in str(info.value)
    # asking for a set by name (or for none) does not need the default
    assert og.load_model("osteogenic", parameter_set="one").parameter_set == "one"
    assert og.load_model("osteogenic", parameter_set=False).parameter_set is None


def test_builtin_set_name_must_match_its_file(tmp_path, monkeypatch):
    write(tmp_path, {"schema": "osteogrn-parameter-set/1", "name": "other", "model": "osteogenic",
                     "description": "x"}, "mine.json")
    monkeypatch.setattr(ps, "parameter_sets_dir", lambda: tmp_path)
    with pytest.raises(og.ModelError, match="must be in a file named 'other.json'") as info:
        og.load_parameter_set("mine")
    assert info.value.pointer == "/name"


# -- command line ----------------------------------------------------------------------------

def run(*args, cwd=None):
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "osteogrn", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_lists_and_shows_sets():
    out = run("parameter-sets")
    assert out.returncode == 0, out.stderr
    assert "hmsc" in out.stdout and "mc3t3_e1" in out.stdout and "default" in out.stdout
    out = run("list")
    assert out.returncode == 0 and "parameter sets" in out.stdout and "mc3t3_e1" in out.stdout
    out = run("parameter-sets", "--show", "mc3t3_e1")
    assert out.returncode == 0, out.stderr
    for name, source in og.load_parameter_set("mc3t3_e1").sources.items():
        assert name in out.stdout and source in out.stdout


def test_cli_parameter_set_flag(tmp_path, dex_protocol):
    path = write(tmp_path, small_set())
    csv = tmp_path / "run.csv"
    proto = tmp_path / "dex.json"
    proto.write_text(dex_protocol.to_json())
    out = run("simulate", SMALL, proto, "--parameter-set", path, "-o", csv)
    assert out.returncode == 0, out.stderr
    assert "model 'grn_small' (parameter set 'small_cells')" in out.stdout
    import pandas as pd
    frame = pd.read_csv(csv, index_col=0)
    assert frame.index.name == "time [day]"  # headers carry units
    expected = og.simulate(og.load_model(SMALL, parameter_set=path), og.load_protocol(proto))
    # a column is "name [unit]", or the bare name when the model gives no unit
    columns = {c.split(" [")[0]: c for c in frame.columns}
    np.testing.assert_allclose(frame[columns["ALP_act"]], expected["ALP_act"], rtol=1e-10)
    assert frame[columns["Sp7"]].iloc[0] == pytest.approx(0.3)

    out = run("simulate", "osteogenic", "osteogenic_medium", "--parameter-set", "no_such_set")
    assert out.returncode == 1
    assert out.stderr.startswith("error: unknown parameter set 'no_such_set'")
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr

    out = run("simulate", "osteogenic", "osteogenic_medium")
    assert "(parameter set 'hmsc')" in out.stdout
    out = run("simulate", "osteogenic", "osteogenic_medium", "--parameter-set", "none")
    assert out.returncode == 0 and "parameter set" not in out.stdout

    out = run("validate", path)  # its model is not built in: checked only with --model
    assert out.returncode == 0 and "not checked against it" in out.stdout
    out = run("validate", path, "--model", SMALL)
    assert out.returncode == 0 and "fits model 'grn_small'" in out.stdout, out.stderr
    neg = write(tmp_path, small_set(parameters={"k_alp": entry(-1.0)}), "neg.json")
    out = run("validate", neg, "--model", SMALL)
    assert out.returncode == 1 and "/parameters/k_alp/value" in out.stderr
    out = run("validate", og.models_dir() / "parameter_sets" / "mc3t3_e1.json")
    assert out.returncode == 0 and "OK: parameter set 'mc3t3_e1'" in out.stdout
    bad = write(tmp_path, small_set(model="osteogenic", parameters={"n_sp7": entry(3.0)}),
                "bad.json")  # n_sp7 is a grn_small parameter, not an osteogenic one
    out = run("validate", bad)
    assert out.returncode == 1 and "/parameters/n_sp7" in out.stderr

    out = run("compare", "--model", "osteogenic", "--protocols", "osteogenic_medium",
              "--parameter-set", "mc3t3_e1", "-o", tmp_path / "cmp")
    assert out.returncode == 0, out.stderr
    assert "model 'osteogenic' (parameter set 'mc3t3_e1')" in out.stdout

"""Every error class, raised from Python, with its message and attributes."""

from __future__ import annotations

import json
import pickle

import pytest

import osteogrn as og
from osteogrn import _core
from conftest import DATA


def test_hierarchy():
    for cls in (og.ParseError, og.ModelError, og.ProtocolError, og.OptionError):
        assert issubclass(cls, og.OsteogrnError) and issubclass(cls, ValueError)
    assert issubclass(og.SolverError, og.OsteogrnError)
    assert issubclass(og.SolverError, RuntimeError)
    assert not issubclass(og.SolverError, ValueError)
    assert issubclass(og.OsteogrnError, Exception)


def test_each_cpp_class_maps_with_message_and_attributes():
    with pytest.raises(og.ParseError) as e:
        _core._raise_for_test("ParseError", "unexpected '*'")
    assert e.value.position == 4 and e.value.text == "a + * b"
    assert e.value.file == "file.json" and e.value.pointer == "/odes/x"
    assert e.value.message == "unexpected '*'"
    assert str(e.value).startswith("file.json: /odes/x: unexpected '*' at position 4 in 'a + * b'")

    with pytest.raises(og.ModelError) as e:
        _core._raise_for_test("ModelError", "bad species")
    assert str(e.value) == "model.json: /species/X: bad species"
    assert (e.value.file, e.value.pointer, e.value.message) == ("model.json", "/species/X",
                                                                "bad species")
    with pytest.raises(ValueError):  # catchable as ValueError
        _core._raise_for_test("ModelError", "x")

    with pytest.raises(og.ProtocolError) as e:
        _core._raise_for_test("ProtocolError", "must be > 0")
    assert str(e.value) == "proto.json: /duration: must be > 0"
    assert e.value.pointer == "/duration"

    with pytest.raises(og.OptionError, match="^rtol must be positive$"):
        _core._raise_for_test("OptionError", "rtol must be positive")

    with pytest.raises(og.SolverError) as e:
        _core._raise_for_test("SolverError", "too much work; raise max_steps")
    assert e.value.time == 2.5 and e.value.flag == "CV_TOO_MUCH_WORK"
    assert e.value.reason == "too much work; raise max_steps"
    assert str(e.value) == "solver failed at t = 2.5 (CV_TOO_MUCH_WORK): too much work; raise max_steps"
    with pytest.raises(RuntimeError):
        _core._raise_for_test("SolverError", "x")

    for kind in ("Error", "std", "bad_alloc"):
        with pytest.raises(og.OsteogrnError) as e:
            _core._raise_for_test(kind, "some message")
        assert type(e.value) is og.OsteogrnError
        if kind != "bad_alloc":
            assert str(e.value) == "some message"


def test_messages_with_invalid_utf8_do_not_break_translation():
    with pytest.raises(og.ModelError) as e:
        _core._raise_for_test("ModelError", b"half a character: \xc3")
    assert "half a character" in str(e.value)


def test_errors_pickle():
    with pytest.raises(og.SolverError) as e:
        _core._raise_for_test("SolverError", "reason")
    again = pickle.loads(pickle.dumps(e.value))
    assert type(again) is og.SolverError and again.time == 2.5 and str(again) == str(e.value)
    with pytest.raises(og.ParseError) as e:
        _core._raise_for_test("ParseError", "msg")
    again = pickle.loads(pickle.dumps(e.value))
    assert again.position == 4 and str(again) == str(e.value)


def test_parse_error_from_an_expression():
    with pytest.raises(og.ParseError) as e:
        og.parse_expression("k * (x + 1")
    assert e.value.position == len("k * (x + 1")
    with pytest.raises(og.ParseError) as e:
        og.parse_expression("2 $ 3")
    assert e.value.position == 2


def test_parse_error_in_a_model_names_file_and_pointer(tmp_path):
    model = json.loads((DATA / "models" / "grn_small.json").read_text())
    model["odes"]["Sp7"] = "v_sp7 * * sp7_drive"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(model))
    with pytest.raises(og.ParseError) as e:
        og.load_model(path)
    assert e.value.pointer == "/odes/Sp7" and e.value.file.endswith("broken.json")
    assert e.value.position == len("v_sp7 * ")
    assert "/odes/Sp7" in str(e.value)


def _bad_model_cases():
    expected = json.loads((DATA / "bad_models" / "expected.json").read_text())
    return sorted(expected.items())


def _bad_protocol_cases():
    expected = json.loads((DATA / "bad_protocols" / "expected.json").read_text())
    return sorted(expected.items())


@pytest.mark.parametrize("name,want", _bad_model_cases(), ids=[n for n, _ in _bad_model_cases()])
def test_bad_models(name, want):
    cls = getattr(og, want["type"])
    with pytest.raises(cls) as e:
        og.Model.from_file(DATA / "bad_models" / name, search_paths=[DATA / "bad_models" / "lib"])
    assert isinstance(e.value, og.OsteogrnError) and isinstance(e.value, ValueError)
    assert e.value.pointer == want["pointer"]
    assert e.value.file.endswith(want.get("file", name))  # an import names its own file
    for text in want["contains"]:
        assert text in str(e.value)


@pytest.mark.parametrize("name,want", _bad_protocol_cases(),
                         ids=[n for n, _ in _bad_protocol_cases()])
def test_bad_protocols(name, want):
    cls = getattr(og, want["error"])
    with pytest.raises(cls) as e:
        og.load_protocol(DATA / "bad_protocols" / name)
    assert e.value.pointer == want["field"]
    assert want["contains"] in str(e.value)
    assert name in e.value.file


def test_solver_error_from_a_simulation(small_model, dex_protocol):
    with pytest.raises(og.SolverError) as e:
        og.simulate(small_model, dex_protocol, max_steps=3)
    assert 0 <= e.value.time < dex_protocol.duration
    assert e.value.reason and e.value.flag is not None
    assert str(e.value).startswith("solver failed at t = ")


def test_protocol_error_for_a_pairing(small_model):
    proto = og.Protocol("p", 5, perturbations=[{"knockout": "Osx"}])
    with pytest.raises(og.ProtocolError) as e:
        og.simulate(small_model, proto)
    assert "Osx" in str(e.value) and e.value.pointer.startswith("/perturbations/0")
    proto = og.Protocol("p", 5, components={"dex": {"concentration": 1, "unit": "ng/mL"}})
    with pytest.raises(og.ProtocolError, match="nM"):
        og.simulate(small_model, proto)

"""Every error class, raised from Python, with its message and attributes."""

from __future__ import annotations

import json
import os
import pickle

import pytest

import osteogrn as og
from osteogrn import _core
from conftest import DATA


def test_hierarchy():
    for cls in (og.ParseError, og.ModelError, og.ProtocolError, og.OptionError):
        assert issubclass(cls, og.OsteogrnError) and issubclass(cls, ValueError)
        assert not issubclass(cls, og.InternalError)
    for cls in (og.SolverError, og.InternalError):
        assert issubclass(cls, og.OsteogrnError) and issubclass(cls, RuntimeError)
        assert not issubclass(cls, ValueError)
    assert not issubclass(og.SolverError, og.InternalError)
    assert issubclass(og.OsteogrnError, Exception)
    assert "bug" in og.InternalError.__doc__ and "report" in og.InternalError.__doc__


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
    assert e.value.code is og.ReturnCode.max_steps
    assert str(e.value) == ("solver failed at t = 2.5 (max_steps, CV_TOO_MUCH_WORK): too much "
                            "work; raise max_steps; " + og.ReturnCode.max_steps.hint)
    with pytest.raises(RuntimeError):
        _core._raise_for_test("SolverError", "x")

    # osteogrn's own base class raised on purpose: a plain OsteogrnError, message intact.
    with pytest.raises(og.OsteogrnError) as e:
        _core._raise_for_test("Error", "some message")
    assert type(e.value) is og.OsteogrnError and str(e.value) == "some message"


@pytest.mark.parametrize("kind, cpp_type", [("std", "std::out_of_range"),
                                            ("InternalError", "osteogrn::InternalError"),
                                            ("int", "unknown C++ exception")])
def test_anything_else_from_cpp_is_an_internal_error_naming_the_cpp_type(kind, cpp_type):
    # A bug must never look like a user error (og.ModelError, og.OptionError, ...).
    with pytest.raises(og.InternalError) as e:
        _core._raise_for_test(kind, "some message")
    assert type(e.value) is og.InternalError
    assert e.value.cpp_type == cpp_type
    assert "a bug" in str(e.value) and "report" in str(e.value) and cpp_type in str(e.value)
    if kind != "int":
        assert str(e.value).endswith(f"{cpp_type}: some message")
    assert not isinstance(e.value, ValueError)


def test_bad_alloc_stays_a_memory_error():
    with pytest.raises(MemoryError) as e:
        _core._raise_for_test("bad_alloc", "")
    assert not isinstance(e.value, og.OsteogrnError)


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


# -- strings with no UTF-8 form (a lone surrogate) -------------------------------------------
# pybind11 answered these with a bare TypeError ("incompatible function arguments"); each entry
# point now raises its own osteogrn error naming the argument.
def _surrogate_calls(model, proto):
    from pathlib import Path
    return [
        ("parse_expression", og.ParseError, lambda: og.parse_expression("x\udc00")),
        ("load_model path", og.ModelError, lambda: og.load_model("/tmp/\ud800.json")),
        ("load_model pathlib", og.ModelError, lambda: og.load_model(Path("/tmp/\udcff.json"))),
        ("load_protocol path", og.ProtocolError, lambda: og.load_protocol("/tmp/\ud800.json")),
        ("Model.from_json text", og.ModelError, lambda: og.Model.from_json('{"name": "\ud800"}')),
        ("Model.from_json source", og.ModelError, lambda: og.Model.from_json("{}", source="\ud800")),
        ("Model.from_json dict", og.ModelError, lambda: og.Model.from_json({"name": "\ud800"})),
        ("with_parameters", og.ModelError, lambda: model.with_parameters(**{"k\ud800": 1.0})),
        ("with_parameters mapping", og.ModelError,
         lambda: model.with_parameters({"k\udfff": 1.0})),
        ("knockout", og.ModelError, lambda: model.knockout("R\ud800")),
        ("Protocol name", og.ProtocolError, lambda: og.Protocol(name="\ud800", duration=3)),
        ("Protocol component", og.ProtocolError, lambda: og.Protocol(
            name="a", duration=3, components={"d\ud800": {"concentration": 1, "unit": "nM"}})),
        ("Protocol perturbation", og.ProtocolError, lambda: og.Protocol(
            name="a", duration=3, perturbations=[{"knockout": "R\ud800"}])),
        ("Protocol.from_json", og.ProtocolError, lambda: og.Protocol.from_json('{"name":"\ud800"}')),
        ("with_component", og.ProtocolError,
         lambda: proto.with_component("\ud800", concentration=1, unit="nM")),
        ("without_component", og.ProtocolError, lambda: proto.without_component("\ud800")),
        ("simulate method", og.OptionError, lambda: og.simulate(model, proto, method="\ud800")),
        ("simulate sensitivities", og.OptionError,
         lambda: og.simulate(model, proto, sensitivities=["\ud800"])),
        ("simulate parameters", og.ModelError,
         lambda: og.simulate(model, proto, parameters={"\ud800": 1.0})),
        ("simulate_batch param_names", og.ModelError,
         lambda: og.simulate_batch(model, proto, [[1.0]], param_names=["\ud800"])),
        ("simulate_batch outputs", og.OptionError,
         lambda: og.simulate_batch(model, proto, outputs=["\ud800"])),
    ]


@pytest.mark.parametrize("index", range(21))
def test_a_lone_surrogate_is_a_typed_error_naming_the_argument(index, small_model, dex_protocol):
    calls = _surrogate_calls(small_model, dex_protocol)
    assert len(calls) == 21
    what, cls, call = calls[index]
    with pytest.raises(cls) as e:
        call()
    assert type(e.value) is cls, what
    assert "lone surrogate U+D" in str(e.value) and "argument '" in str(e.value), what
    assert isinstance(e.value, ValueError)


def test_a_surrogate_in_an_expression_gives_its_position():
    with pytest.raises(og.ParseError) as e:
        og.parse_expression("a + b\ud800")
    assert e.value.position == 5 and e.value.text == "a + b?"


def test_the_command_line_reports_an_undecodable_file_name(tmp_path, capsys):
    from osteogrn.cli import main
    # sys.argv holds undecodable bytes of a file name as surrogates (surrogateescape).
    name = tmp_path / "bad\udcff.json"
    with open(os.fsencode(name), "wb") as f:
        f.write((DATA / "models" / "grn_small.json").read_bytes())
    assert main(["validate", str(name)]) == 1
    assert "lone surrogate U+DCFF" in capsys.readouterr().err

"""osteogrn validate on protocols: every problem in one run, checked against the default model
when no --model is given, with "did you mean" hints."""

from __future__ import annotations

import json

from conftest import DATA
from test_cli import MODEL, run

import osteogrn as og
from osteogrn._validate import check_protocol


def _write(tmp_path, doc, name="p.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _protocol(**fields):
    doc = {"schema": "osteogrn-protocol/1", "name": "typos", "duration": 21,
           "media_changes": {"every": 3},
           "components": {"dex": {"concentration": 100, "unit": "nM"},
                          "asc2p": {"concentration": 50, "unit": "uM"}}}
    doc.update(fields)
    return doc


def _errors(out):
    return [line for line in out.stderr.splitlines() if line.startswith("error: ")]


def test_the_issue_example_reports_both_problems_with_hints(tmp_path):
    # a unit 'nm' and a component 'acs2p': both reported in one run, without --model
    path = _write(tmp_path, _protocol(components={
        "dex": {"concentration": 100, "unit": "nm"},
        "acs2p": {"concentration": 50, "unit": "uM"}}))
    out = run("validate", path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    errors = _errors(out)
    assert len(errors) == 3, out.stderr  # two problems and the count
    unit = [e for e in errors if "/components/dex/unit" in e]
    name = [e for e in errors if "/components/acs2p" in e]
    assert len(unit) == 1 and "unknown unit 'nm'" in unit[0] and "did you mean 'nM'?" in unit[0]
    assert len(name) == 1 and "no input 'acs2p'" in name[0] and "did you mean 'asc2p'?" in name[0]
    for line in unit + name:
        assert line.startswith(f"error: {path}: /components/")
    assert errors[-1].startswith(f"error: 2 problems in {path}")
    assert "model 'osteogenic'" in errors[-1] and "default model" in errors[-1]
    assert out.stdout == ""


def test_without_model_a_good_protocol_is_checked_against_the_default_model(tmp_path):
    out = run("validate", DATA.parent.parent / "models" / "protocols" / "om_bmp2.json")
    assert out.returncode == 0, out.stderr
    assert "OK: protocol 'om_bmp2'" in out.stdout
    assert "OK: fits model 'osteogenic'" in out.stdout and "default model" in out.stdout
    # an optional component the default model lacks: said, not silently passed
    path = _write(tmp_path, _protocol(components={
        "dex": {"concentration": 100, "unit": "nM"},
        "tgfb1": {"concentration": 5, "unit": "ng/mL", "optional": True}}))
    out = run("validate", path)
    assert out.returncode == 0, out.stderr
    assert "optional component 'tgfb1' is not an input of model 'osteogenic'" in out.stderr
    assert "not checked" in out.stderr


def test_given_model_replaces_the_default(tmp_path):
    path = _write(tmp_path, _protocol(components={"dex": {"concentration": 100, "unit": "uM"}},
                                      perturbations=[{"knockout": "sp7"}]))
    out = run("validate", path, "--model", MODEL)
    assert out.returncode == 1
    errors = _errors(out)
    assert len(errors) == 2 and "/perturbations/0/knockout" in errors[0]
    assert "did you mean 'Sp7'?" in errors[0] and "grn_small" in errors[-1]
    assert "default model" not in out.stderr
    good = _write(tmp_path, _protocol(components={"dex": {"concentration": 100, "unit": "uM"}}),
                  "ok.json")
    ok = run("validate", good, "--model", MODEL)
    assert ok.returncode == 0 and "OK: fits model 'grn_small'" in ok.stdout


def test_every_format_error_in_one_run_with_file_pointers(tmp_path):
    # parse errors (format) and model errors (binding) together; pointers name the entries as
    # they are in the file, although the reader sorts additions by day
    doc = _protocol(
        replace_fraction=1.5,
        components={"dex": {"concentration": 100, "unit": "nM", "half_life": -1},
                    "asc2p": {"concentration": -5, "unit": "uM"},
                    "bgp": {"concentration": 10, "unit": "mM", "colour": "red"},
                    "bmp2": {"concentration": 100, "unit": "ng/ml"}},
        additions=[{"day": 30, "component": "dex", "concentration": 5},
                   {"day": 4, "component": "dex", "concentration": 5, "unit": "mg/mL"},
                   {"day": 2, "component": "bgp", "concentration": 1}],
        perturbations=[{"knockout": "Sp7", "from": 9, "until": 3},
                       {"parameter": "k_comit", "scale": 2}])
    path = _write(tmp_path, doc)
    check = check_protocol(path, og.load_model("osteogenic"))
    found = {p.pointer: p.message for p in check.problems}
    assert set(found) == {"/replace_fraction", "/components/dex/half_life",
                          "/components/asc2p/concentration", "/components/bgp/colour",
                          "/components/bmp2/unit", "/additions/0/day", "/additions/1/unit",
                          "/perturbations/0/until", "/perturbations/1/parameter"}, found
    # listed in the order of the file, not in the order found (model problems come last)
    assert [p.pointer for p in check.problems] == [
        "/components/dex/half_life", "/components/asc2p/concentration", "/components/bgp/colour",
        "/components/bmp2/unit", "/replace_fraction", "/additions/0/day", "/additions/1/unit",
        "/perturbations/0/until", "/perturbations/1/parameter"]
    assert "did you mean 'ng/mL'?" in found["/components/bmp2/unit"]
    assert "did you mean 'k_commit'" in found["/perturbations/1/parameter"]
    assert all(p.file == str(path) for p in check.problems)
    assert check.protocol is None
    # each is a real problem: the file with all of them fixed passes
    fixed = dict(doc, replace_fraction=1.0, components={
        "dex": {"concentration": 100, "unit": "nM", "half_life": 1},
        "asc2p": {"concentration": 5, "unit": "uM"},
        "bgp": {"concentration": 10, "unit": "mM"},
        "bmp2": {"concentration": 100, "unit": "ng/mL"}},
        additions=[{"day": 20, "component": "dex", "concentration": 5},
                   {"day": 4, "component": "dex", "concentration": 5, "unit": "uM"},
                   {"day": 2, "component": "bgp", "concentration": 1}],
        perturbations=[{"knockout": "Sp7", "from": 3, "until": 9},
                       {"parameter": "k_commit", "scale": 2}])
    good = check_protocol(_write(tmp_path, fixed, "fixed.json"), og.load_model("osteogenic"))
    assert good.problems == [] and good.protocol is not None
    out = run("validate", path)
    assert out.returncode == 1 and len(_errors(out)) == len(found) + 1


def test_a_bad_duration_does_not_hide_the_rest(tmp_path):
    path = _write(tmp_path, _protocol(duration="21", components={
        "dex": {"concentration": 100, "unit": "nm"}}))
    out = run("validate", path)
    errors = _errors(out)
    assert out.returncode == 1 and len(errors) == 3
    assert "/duration" in errors[0] and "/components/dex/unit" in errors[1]
    assert "not checked against the duration" in out.stderr


def test_single_problem_files_keep_their_message(tmp_path):
    # the fixtures of the reader: the first problem is the reader's error, at its pointer
    expected = json.loads((DATA / "bad_protocols" / "expected.json").read_text())
    for name, want in expected.items():
        path = DATA / "bad_protocols" / name
        check = check_protocol(path)
        assert check.problems, name
        first = check.problems[0]
        assert first.pointer == want["field"] and want["contains"] in first.message, (name, first)


def test_unreadable_files_give_one_error(tmp_path):
    for text in ("", "{", "[1, 2]"):
        path = tmp_path / "x.json"
        path.write_text(text)
        check = check_protocol(path)
        assert len(check.problems) <= 1
    out = run("validate", DATA / "bad_protocols" / "invalid_json.json")
    assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1


def test_stops_after_max_problems(tmp_path):
    from osteogrn._validate import MAX_PROBLEMS
    comps = {f"x{i}": {"concentration": 1, "unit": "nM"} for i in range(MAX_PROBLEMS + 10)}
    check = check_protocol(_write(tmp_path, _protocol(components=comps)),
                           og.load_model("osteogenic"))
    assert len(check.problems) == MAX_PROBLEMS
    assert any(f"stopped after {MAX_PROBLEMS}" in n for n in check.notes)

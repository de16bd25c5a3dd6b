"""Every semantic case of the SBML Test Suite, run from the copy in the repository
(tests/data/sbml_suite/cases, with the suite's licence) by tests/sbml_suite/run_suite.py and
scored with the suite's own rule.

Fails on any case scored ``wrong`` (a value outside the suite's tolerance: the import must
refuse rather than return a wrong number) or ``error``, and on any case of the committed list
tests/sbml_suite/passing.txt that no longer passes. The totals go to the terminal summary.
After a change that makes more cases pass, regenerate the list with
``python tests/sbml_suite/run_suite.py --write-passing``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("libsbml")

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("run_suite",
                                               REPO / "tests" / "sbml_suite" / "run_suite.py")
run_suite = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("run_suite", run_suite)
_spec.loader.exec_module(run_suite)

CASES = REPO / "tests" / "data" / "sbml_suite" / "cases"
#: The number of semantic cases of the SBML Test Suite 3.3.0.
N_CASES = 1821


class _Totals:
    """Prints the totals in pytest's terminal summary (shown without ``-s``)."""

    def __init__(self, lines):
        self.lines = lines

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.section("SBML Test Suite")
        for line in self.lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def outcomes(request):
    """case id -> (outcome, message) for every case of the copy."""
    dirs = sorted(p for p in CASES.iterdir() if p.is_dir() and p.name.isdigit())
    out = {}
    for d in dirs:
        try:
            out[d.name] = run_suite.run_case(d)
        except Exception as exc:  # noqa: BLE001 - tabulated like the runner does
            out[d.name] = ("error", f"{type(exc).__name__}: {exc}")
    totals = Counter(o for o, _ in out.values())
    line = (f"{len(out)} cases: " + ", ".join(f"{k} {totals[k]}" for k in
                                                 ("pass", "refused", "wrong", "error")))
    print(line)
    request.config.pluginmanager.register(_Totals([line]), "sbml_suite_totals")
    return out


def test_the_copy_holds_every_case():
    dirs = [p for p in CASES.iterdir() if p.is_dir() and p.name.isdigit()]
    assert len(dirs) == N_CASES
    for d in dirs:
        assert (d / f"{d.name}-settings.txt").is_file()
        assert (d / f"{d.name}-results.csv").is_file()
        assert run_suite.case_model(d).is_file()
    assert (CASES.parent / "LICENSE.txt").is_file()


def test_no_case_is_wrong_or_an_error(outcomes):
    bad = {c: o for c, o in outcomes.items() if o[0] in ("wrong", "error")}
    assert not bad, "\n".join(f"{c} {o}: {m}" for c, (o, m) in sorted(bad.items()))


def test_every_refusal_names_the_sbml_element(outcomes):
    for case, (outcome, message) in outcomes.items():
        assert outcome in ("pass", "refused", "wrong", "error"), case
        if outcome == "refused":
            # an UnsupportedSBMLError: "SBML element '<id>': <feature> ..."
            assert message.startswith("SBML element '"), (case, message)


def test_no_case_of_the_passing_list_stopped_passing(outcomes):
    passing = run_suite.read_passing(run_suite.PASSING)
    assert len(passing) == len(set(passing))
    unknown = sorted(set(passing) - set(outcomes))
    assert not unknown, f"{run_suite.PASSING} lists cases that are not in the copy: {unknown}"
    lost = sorted(c for c in passing if outcomes[c][0] != "pass")
    assert not lost, ("cases of the passing list that no longer pass:\n"
                      + "\n".join(f"{c} {outcomes[c][0]}: {outcomes[c][1]}" for c in lost))


def test_the_runner_checks_a_passing_list(tmp_path, capsys):
    # 00001 passes; 01186 (flux balance) is refused: a list naming it must fail the run
    out = tmp_path / "table.csv"
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text("# comment\n00001\n")
    bad.write_text("1\n1186\n")
    assert run_suite.main(["--out", str(out), "--passing", str(good), "1", "1186"]) == 0
    assert (tmp_path / "table_totals.txt").read_text().startswith(
        "2 cases: pass 1, refused 1, wrong 0, error 0")
    assert run_suite.main(["--out", str(out), "--passing", str(bad), "1", "1186"]) == 1
    assert "1 cases passed in" in capsys.readouterr().out

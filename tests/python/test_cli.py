"""The command line end to end, in subprocesses: exit codes, files written, --help."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig

import pandas as pd
import pytest

import osteogrn as og
from conftest import DATA

MODEL = str(DATA / "models" / "grn_small.json")


def run(*args, cwd=None):
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "osteogrn", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture()
def protocol_file(tmp_path, dex_protocol):
    path = tmp_path / "dex.json"
    path.write_text(dex_protocol.to_json())
    return path


def test_help_explains_each_command():
    top = run("--help")
    assert top.returncode == 0
    for command in ("list", "validate", "simulate", "compare"):
        assert command in top.stdout
    for command, words in {"list": ["built-in"], "validate": ["schema", "exit status"],
                           "simulate": ["-o", "--plot", "--method", "--rtol"],
                           "compare": ["--model", "--protocols", "compare.csv", "compare.png"]
                           }.items():
        out = run(command, "--help")
        text = " ".join(out.stdout.split())
        assert out.returncode == 0, out.stderr
        for word in words:
            assert word in text, (command, word)


def test_console_script_is_installed():
    # pip puts the console script in this interpreter's scripts folder (a venv's bin/ too).
    script = shutil.which("osteogrn", path=sysconfig.get_path("scripts"))
    assert script is not None, f"no osteogrn script in {sysconfig.get_path('scripts')}"
    out = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("osteogrn ")


@pytest.mark.parametrize("args", [[], ["frobnicate"], ["simulate", MODEL],
                                  ["simulate", MODEL, "x.json", "--rtol", "tight"],
                                  ["simulate", MODEL, "x.json", "--method", "euler"]])
def test_bad_usage_exits_2_with_one_line(args):
    out = run(*args)
    assert out.returncode == 2
    if args:
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
        assert "Traceback" not in out.stderr


def test_list_names_every_builtin():
    out = run("list")
    assert out.returncode == 0, out.stderr
    for name in og.list_models() + og.list_protocols():
        assert name in out.stdout


def test_validate_good_and_bad(tmp_path, protocol_file):
    out = run("validate", MODEL)
    assert out.returncode == 0 and out.stdout.startswith("OK: model 'grn_small'")
    assert "3 species" in out.stdout
    out = run("validate", protocol_file, "--model", MODEL)
    assert out.returncode == 0 and "OK: protocol 'dex_test'" in out.stdout
    assert "fits model 'grn_small'" in out.stdout
    out = run("validate", DATA / "protocols" / "osteogenic_medium.json", "--model", MODEL)
    assert out.returncode == 1 and out.stderr.startswith("error: ")
    bad = DATA / "bad_models" / "param_out_of_bounds.json"
    out = run("validate", bad)
    assert out.returncode == 1
    assert out.stderr.startswith("error: ") and "param_out_of_bounds.json" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    out = run("validate", DATA / "bad_protocols" / "duration_zero.json")
    assert out.returncode == 1 and "/duration" in out.stderr
    out = run("validate", DATA / "bad_models" / "parse_error.json")
    assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1
    out = run("validate", tmp_path / "missing.json")
    assert out.returncode == 1 and "no such file" in out.stderr


def test_simulate_writes_csv_and_png(tmp_path, protocol_file, small_model, dex_protocol):
    csv, png = tmp_path / "out" / "run.csv", tmp_path / "out" / "run.png"
    out = run("simulate", MODEL, protocol_file, "-o", csv, "--plot", png)
    assert out.returncode == 0, out.stderr
    frame = pd.read_csv(csv, index_col="time [day]")
    ref = og.simulate(small_model, dex_protocol).to_frame()
    units = ref.attrs["units"]  # the headers name each column's unit: "ALP [U/L]"
    assert list(frame.columns) == [f"{c} [{units[c]}]" if units[c] else c for c in ref.columns]
    assert {"ALP [U/L]", "dex [nM]", "Runx2 [au]", "ALP_act"} <= set(frame.columns)
    frame.columns, frame.index.name = ref.columns, ref.index.name
    pd.testing.assert_frame_equal(frame, ref, check_exact=False, rtol=1e-12, atol=0)
    assert png.read_bytes()[:4] == b"\x89PNG"
    for word in ("grn_small", "dex_test", "success", "ALP", "peak"):
        assert word in out.stdout
    out = run("simulate", MODEL, protocol_file, "--dt", "0.5", "--method", "rosenbrock4",
              "-o", csv)
    assert out.returncode == 0, out.stderr
    assert len(pd.read_csv(csv)) == 29


def test_simulate_invalid_input_exits_1(tmp_path, protocol_file):
    out = run("simulate", MODEL, DATA / "protocols" / "osteogenic_medium.json")
    assert out.returncode == 1 and out.stderr.startswith("error: ")
    out = run("simulate", MODEL, protocol_file, "--max-steps", "3")
    assert out.returncode == 1 and "solver failed" in out.stderr
    out = run("simulate", MODEL, protocol_file, "--rtol", "-1")
    assert out.returncode == 1 and out.stderr.startswith("error: ")
    out = run("simulate", "no_such_model", protocol_file)
    assert out.returncode == 1 and "unknown model" in out.stderr
    assert "Traceback" not in out.stderr


def test_compare_given_protocols(tmp_path, protocol_file, dex_protocol):
    second = tmp_path / "high.json"
    second.write_text(dex_protocol.with_component("dex", concentration=500, name="dex_high")
                      .to_json())
    out_dir = tmp_path / "cmp"
    out = run("compare", "--model", MODEL, "--protocols", protocol_file, second, "-o", out_dir)
    assert out.returncode == 0, out.stderr
    frame = pd.read_csv(out_dir / "compare.csv")
    assert list(frame.columns) == ["protocol", "time [day]", "name", "kind", "value", "unit"]
    assert set(frame[frame.name == "dex"].unit) == {"nM"}
    assert set(frame.protocol) == {"dex_test", "dex_high"}
    assert (out_dir / "compare.png").read_bytes()[:4] == b"\x89PNG"
    assert "peak" in out.stdout and "dex_high" in out.stdout and "ALP" in out.stdout
    high = frame[(frame.protocol == "dex_high") & (frame.name == "dex")].value.max()
    assert high == pytest.approx(500)


def test_compare_without_arguments_is_the_main_job(tmp_path):
    # The README's first command ends with this: the osteogenic model under every preset.
    out = run("compare", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    frame = pd.read_csv(tmp_path / "results" / "compare.csv")
    assert set(frame.protocol) == set(og.list_protocols())
    assert (tmp_path / "results" / "compare.png").stat().st_size > 10_000
    assert "relative to 'osteogenic_medium'" in out.stdout
    header = next(line for line in out.stdout.splitlines() if "ALP peak day" in line)
    for column in ("ALP peak (rel)", "OCN day 21 (rel)", "mineral day 21 (rel)"):
        assert column in header
    rows = {line.split()[0]: line.split()[1:] for line in out.stdout.splitlines()
            if line.split() and line.split()[0] in og.list_protocols()}
    assert [float(v) for v in rows["osteogenic_medium"][1:]] == [1.0, 1.0, 1.0]
    assert float(rows["om_no_bgp"][3]) < 0.1  # no beta-glycerophosphate, no mineral

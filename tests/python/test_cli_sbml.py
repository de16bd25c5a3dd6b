"""The command line with SBML files: validate, simulate (with or without a protocol) and
compare read SBML (recognised by content), --input maps protocol components to SBML ids, and
an unsupported SBML feature is one line and exit status 1 (a model error), never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import osteogrn as og
from osteogrn.cli import main
from conftest import DATA

pytest.importorskip("libsbml")

K = 0.5
# A -> B in c (size 1), rate k*A: A = exp(-k t), B = 1 - exp(-k t); X is made at rate L (a
# constant parameter a protocol may drive through --input) and decays at rate d*X.
SBML = f"""<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">
<model id="decay">
<listOfCompartments><compartment id="c" size="1" constant="true"/></listOfCompartments>
<listOfSpecies>
<species id="A" compartment="c" initialConcentration="1" hasOnlySubstanceUnits="false"
 boundaryCondition="false" constant="false"/>
<species id="B" compartment="c" initialConcentration="0" hasOnlySubstanceUnits="false"
 boundaryCondition="false" constant="false"/>
<species id="X" compartment="c" initialAmount="0" hasOnlySubstanceUnits="true"
 boundaryCondition="false" constant="false"/>
</listOfSpecies>
<listOfParameters>
<parameter id="k" value="{K}" constant="true"/>
<parameter id="L" value="0" constant="true"/>
<parameter id="d" value="2" constant="true"/>
</listOfParameters>
<listOfReactions>
<reaction id="R" reversible="false">
<listOfReactants><speciesReference species="A" stoichiometry="1" constant="true"/></listOfReactants>
<listOfProducts><speciesReference species="B" stoichiometry="1" constant="true"/></listOfProducts>
<kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML">
<apply><times/><ci> k </ci><ci> A </ci><ci> c </ci></apply></math></kineticLaw></reaction>
<reaction id="make" reversible="false">
<listOfProducts><speciesReference species="X" stoichiometry="1" constant="true"/></listOfProducts>
<kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML"><ci> L </ci></math></kineticLaw>
</reaction>
<reaction id="lose" reversible="false">
<listOfReactants><speciesReference species="X" stoichiometry="1" constant="true"/></listOfReactants>
<kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML">
<apply><times/><ci> d </ci><ci> X </ci></apply></math></kineticLaw></reaction>
</listOfReactions>
</model></sbml>
"""

# a flux-balance case of the SBML Test Suite: the fbc package is refused at import
FBC = DATA / "sbml_suite" / "cases" / "01186" / "01186-sbml-l3v2.xml"


@pytest.fixture()
def sbml_file(tmp_path):
    # no .xml extension: SBML is recognised by its content
    path = tmp_path / "decay.model"
    path.write_text(SBML)
    return path


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_reads_sbml(capsys, sbml_file):
    code, out, err = cli(capsys, "validate", sbml_file)
    assert code == 0, err
    assert out.startswith("OK: model 'decay'") and "3 species" in out


def test_validate_with_inputs(capsys, sbml_file):
    code, out, err = cli(capsys, "validate", sbml_file, "--input", "bmp2=L:ng/mL")
    assert code == 0, err
    assert "1 inputs (bmp2)" in out


def test_an_unsupported_feature_is_a_model_error(capsys):
    for args in (["validate", FBC], ["simulate", FBC, "-t", "1"],
                 ["compare", "--model", FBC, "--protocols", "growth_medium"]):
        code, out, err = cli(capsys, *args)
        assert code == 1, args
        assert err.startswith("error: SBML element ") and "fbc" in err and "not supported" in err
        assert len(err.strip().splitlines()) == 1
        assert "Traceback" not in err + out


def test_a_subprocess_prints_one_line_and_no_traceback():
    env = dict(os.environ, MPLBACKEND="Agg")
    out = subprocess.run([sys.executable, "-m", "osteogrn", "simulate", str(FBC), "-t", "1"],
                         capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 1
    assert out.stderr.startswith("error: SBML element ") and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_simulate_without_a_protocol(capsys, sbml_file, tmp_path):
    csv = tmp_path / "out.csv"
    code, out, err = cli(capsys, "simulate", sbml_file, "-t", "4", "--dt", "0.5",
                         "--rtol", "1e-10", "--atol", "1e-14", "-o", csv)
    assert code == 0, err
    assert "without a protocol (0 to 4" in out
    # the summary is by SBML id: species, not reaction rates
    names = [line.split()[0] for line in out.splitlines()[3:] if line.strip()][:3]
    assert names == ["A", "B", "X"]
    frame = pd.read_csv(csv)
    t = frame["time [day]"].to_numpy()
    np.testing.assert_allclose(t, np.arange(9) * 0.5)
    np.testing.assert_allclose(frame["A"], np.exp(-K * t), rtol=1e-7)
    np.testing.assert_allclose(frame["B"], 1 - np.exp(-K * t), rtol=1e-7, atol=1e-12)
    assert np.all(frame["X"] == 0)  # L = 0 without a protocol driving it


def test_simulate_default_samples_and_bad_usage(capsys, sbml_file, tmp_path):
    csv = tmp_path / "out.csv"
    assert cli(capsys, "simulate", sbml_file, "-t", "2", "-o", csv)[0] == 0
    assert len(pd.read_csv(csv)) == 101  # END/100 by default
    code, _, err = cli(capsys, "simulate", sbml_file)
    assert code == 2 and "-t END" in err
    code, _, err = cli(capsys, "simulate", sbml_file, "growth_medium", "-t", "2")
    assert code == 2 and "without a protocol" in err
    code, _, err = cli(capsys, "simulate", sbml_file, "-t", "0")
    assert code == 2 and "positive" in err
    code, _, err = cli(capsys, "simulate", sbml_file, "-t", "2", "--input", "bmp2")
    assert code == 2 and "COMPONENT=SBML_ID" in err
    # --input is for SBML files, and a model with inputs needs its protocol
    code, _, err = cli(capsys, "simulate", DATA / "models" / "grn_small.json", "x.json",
                       "--input", "dex=k")
    assert code == 2 and "not an SBML file" in err
    code, _, err = cli(capsys, "simulate", sbml_file, "-t", "2", "--input", "bmp2=L")
    assert code == 1 and "has inputs" in err


def test_simulate_under_a_protocol_through_input(capsys, sbml_file, tmp_path):
    csv = tmp_path / "out.csv"
    code, out, err = cli(capsys, "simulate", sbml_file, "bmp2_only", "--input", "bmp2=L:ng/mL",
                         "--dt", "0.5", "-o", csv)
    assert code == 0, err
    assert "under protocol 'bmp2_only'" in out
    frame = pd.read_csv(csv)
    model = og.import_sbml(str(sbml_file), inputs={"bmp2": ("L", "ng/mL")})
    res = og.simulate(model, "bmp2_only", t=frame["time [day]"].to_numpy())
    assert frame["bmp2 [ng/mL]"].iloc[0] == pytest.approx(100.0)  # the protocol's dose
    np.testing.assert_allclose(frame["X"], res["X"], rtol=1e-12)
    np.testing.assert_allclose(res["L"], res.inputs[:, 0])  # the SBML id reads the input
    assert res["X"].max() > 1  # the protocol drives X


def test_compare_sbml(capsys, sbml_file, tmp_path):
    code, out, err = cli(capsys, "compare", "--model", sbml_file, "--input", "bmp2=L:ng/mL",
                         "--protocols", "bmp2_only", "growth_medium", "-o", tmp_path)
    assert code == 0, err
    assert "'decay' under 2 protocols" in out and "A peak" in out
    frame = pd.read_csv(tmp_path / "compare.csv")
    assert set(frame["protocol"]) == {"bmp2_only", "growth_medium"}
    assert (tmp_path / "compare.png").is_file()
    # without --input no built-in protocol that supplies a component fits; the hint says why
    code, _, err = cli(capsys, "compare", "--model", sbml_file, "--protocols", "bmp2_only",
                       "-o", tmp_path)
    assert code == 1 and "bmp2" in err

"""The protocol-design commands: osteogrn sweep and osteogrn fit (optimize: test_optimize.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import osteogrn as og
from osteogrn.cli import main
from osteogrn.cli_design import CliUsageError, parse_constraint, parse_free, parse_values

DATA = Path(__file__).resolve().parents[1] / "data"
TOY = DATA / "models" / "dose_toy.json"


def toy_protocol(concentration=10.0):
    return og.Protocol(name="toy", duration=21, media_changes=7,
                       components={"drug": {"concentration": concentration, "unit": "nM"}})


def test_value_syntax():
    assert parse_values("1,10,100") == [1, 10, 100]
    assert parse_values("lin:0:10:3") == [0.0, 5.0, 10.0]
    assert np.allclose(parse_values("log:1:100:3"), [1, 10, 100])
    assert parse_values("[[3,7],[2,5,9]]") == [[3, 7], [2, 5, 9]]
    assert parse_free("bmp2.concentration=1:300:log") == ("bmp2.concentration", (1.0, 300.0, "log"))
    assert parse_free("media_changes.every=[2,3,4]") == ("media_changes.every", [2, 3, 4])
    assert parse_constraint("cost<=100") == ("cost", "<= 100")
    assert parse_constraint("ALP@14 >= 2.5") == ("ALP@14", ">= 2.5")
    for bad in ("log:0:10:3", "1,,x", "lin:1:2"):
        with pytest.raises(CliUsageError):
            parse_values(bad)
    with pytest.raises(CliUsageError):
        parse_free("bmp2.concentration=1-300")
    with pytest.raises(CliUsageError):
        parse_constraint("cost about 3")


def test_sweep_command_matches_the_api(tmp_path, capsys):
    proto = tmp_path / "toy.json"
    proto.write_text(toy_protocol().to_json())
    out = tmp_path / "sweep.csv"
    code = main(["sweep", str(TOY), str(proto), "--grid", "drug.concentration=10,50,250",
                 "--grid", "parameters.K=20,40", "--readout", "signal@21",
                 "--readout", "max(response)", "-o", str(out)])
    assert code == 0, capsys.readouterr()
    table = pd.read_csv(out)
    assert len(table) == 6
    assert "signal@21 [au]" in table.columns  # units in the header
    model = og.Model.from_file(TOY)
    api = og.sweep(model, toy_protocol(), {"drug.concentration": [10, 50, 250],
                                           "parameters.K": [20, 40]},
                   readouts=["signal@21", "max(response)"])
    assert np.allclose(table["signal@21 [au]"], api["signal@21"], rtol=1e-12)
    assert np.allclose(table["max(response) [au]"], api["max(response)"], rtol=1e-12)


def test_sweep_command_usage_errors(tmp_path, capsys):
    proto = tmp_path / "toy.json"
    proto.write_text(toy_protocol().to_json())
    assert main(["sweep", str(TOY), str(proto), "--grid", "drug.concentration",
                 "--readout", "signal@21"]) == 2
    assert "PATH=VALUES" in capsys.readouterr().err
    assert main(["sweep", str(TOY), str(proto), "--grid", "drug.colour=1,2",
                 "--readout", "signal@21"]) == 1
    assert "drug.colour" in capsys.readouterr().err


def test_fit_command_recovers_a_parameter(tmp_path, capsys):
    # Synthetic, noise-free data from the toy model with K = 40 (its file value); the fit starts
    # from Latin-hypercube points within K's bounds [1, 1000].
    model = og.Model.from_file(TOY)
    rows = []
    for name, c in (("low", 10.0), ("high", 100.0)):
        proto = toy_protocol(c).with_name(name)
        (tmp_path / f"{name}.json").write_text(proto.to_json())
        res = og.simulate(model, proto, t=[3, 7, 14, 21])
        rows += [{"condition": name, "time": t, "observable": "signal", "value": v,
                  "sigma": 0.01} for t, v in zip(res.t, res["signal"])]
    data = tmp_path / "data.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    starts = tmp_path / "starts.csv"
    code = main(["fit", str(data), "--model", str(TOY), "--estimate", "K",
                 "--protocol", f"low={tmp_path / 'low.json'}",
                 "--protocol", f"high={tmp_path / 'high.json'}",
                 "--starts", "4", "-o", str(starts)])
    text = capsys.readouterr().out
    assert code == 0, text
    fitted = pd.read_csv(starts).iloc[0]["K"]
    assert fitted == pytest.approx(40.0, rel=1e-4)
    assert "K" in text and "SE" in text


def test_fit_command_bad_input(tmp_path, capsys):
    data = tmp_path / "data.csv"
    data.write_text("condition,time,observable,value\nosteogenic_medium,7,ALP,1\n")
    assert main(["fit", str(data), "--estimate", "no_such_parameter", "--starts", "1"]) == 1
    assert "no_such_parameter" in capsys.readouterr().err
    assert main(["fit", str(data), "--estimate", "k_alp=abc", "--starts", "1"]) == 2

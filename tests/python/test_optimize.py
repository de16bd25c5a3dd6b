"""optimize_protocol on constructed problems whose optimum is known in closed form.

The model (tests/data/models/dose_toy.json, synthetic) has a response a·c·exp(-c/D0)/d at steady
state, maximal at c = D0, and a saturating signal (c/(K+c))/d·(1 - exp(-d·t)). The drug is stable
and fully replaced at each change, so its concentration is constant and the schedule changes only
what the drug costs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import osteogrn as og

DATA = Path(__file__).resolve().parents[1] / "data"
D0, K, D = 50.0, 40.0, 0.5


@pytest.fixture(scope="module")
def model():
    return og.Model.from_file(DATA / "models" / "dose_toy.json")


def protocol(every=7, price=True):
    component = {"concentration": 10, "unit": "nM"}
    if price:
        # 1 currency unit per pmol: one fill of c nM in 1 mL is c pmol, so costs c.
        component["price"] = {"value": 1, "per": 1, "unit": "pmol"}
    return og.Protocol(name="toy", duration=21, media_changes=every,
                       medium={"volume": 1, "unit": "mL"}, components={"drug": component})


def signal(c, t=21.0):
    return c / (K + c) / D * (1 - math.exp(-D * t))


def test_interior_optimum_of_a_continuous_dose(model):
    best = og.optimize_protocol(model, protocol(price=False),
                                free={"drug.concentration": (1.0, 500.0, "log")},
                                objective="response@14", seed=3)
    assert best.values["drug.concentration"] == pytest.approx(D0, rel=0.01)
    assert best.protocol.components["drug"]["concentration"] == pytest.approx(D0, rel=0.01)
    assert len(best.pareto) == 0  # nothing priced: no cost axis
    assert best.n_evaluations == len(best.history) > 20


def test_budget_with_a_discrete_schedule(model):
    # Every 7 days over 21: fills on days 0, 7, 14 (3c); every 3 days: days 0, 3, ..., 18 (7c).
    # The signal grows with c, so the best use of a budget of 300 is every 7 days at c = 100.
    assert protocol(every=7).with_component("drug", concentration=100).cost() == \
        pytest.approx(300)
    assert protocol(every=3).with_component("drug", concentration=100).cost() == \
        pytest.approx(700)
    best = og.optimize_protocol(model, protocol(),
                                free={"drug.concentration": (1.0, 400.0),
                                      "media_changes.every": [3, 7]},
                                objective="signal@21", constraints={"cost": ("<=", 300)},
                                seed=1, max_generations=60)
    assert best.values["media_changes.every"] == 7
    assert best.values["drug.concentration"] == pytest.approx(100, rel=0.01)
    assert best.values["drug.concentration"] <= 100 * (1 + 1e-9)  # never over budget
    assert best.cost <= 300 * (1 + 1e-9)
    assert best.objective == pytest.approx(signal(100), rel=0.01)
    # The best protocol is a real protocol: it simulates to the objective and round-trips.
    res = og.simulate(model, best.protocol, t=[0, 21])
    assert res["signal"][-1] == pytest.approx(best.objective, rel=1e-9)
    assert og.Protocol.from_json(best.protocol.to_json()) == best.protocol
    # Pareto front: cost up, objective up, every point within the evaluated history.
    front = best.pareto
    assert len(front) >= 2
    assert np.all(np.diff(front["cost"].to_numpy()) >= 0)
    assert np.all(np.diff(front["signal@21"].to_numpy()) > 0)
    assert set(front["evaluation"]) <= set(best.history["evaluation"])


def test_cheapest_protocol_that_reaches_a_level(model):
    # Minimise cost subject to signal@21 >= 1.0: c/(K+c) = 1.0·d/(1 - e^{-21 d}) -> c* in closed
    # form, every 7 days (3 fills): cost 3 c*.
    target = 1.0
    h = target * D / (1 - math.exp(-21 * D))
    c_star = K * h / (1 - h)
    best = og.optimize_protocol(model, protocol(),
                                free={"drug.concentration": (1.0, 400.0),
                                      "media_changes.every": [3, 7]},
                                objective="cost", maximize=False,
                                constraints={"signal@21": ">= 1.0"}, seed=2, max_generations=60)
    assert best.values["media_changes.every"] == 7
    assert best.values["drug.concentration"] == pytest.approx(c_star, rel=0.01)
    assert best.cost == pytest.approx(3 * c_star, rel=0.01)
    assert best.history.loc[best.best_index, "signal@21"] >= target


def test_grid_method_and_reproducibility(model):
    kw = dict(free={"drug.concentration": (10.0, 90.0)}, objective="response@14")
    grid = og.optimize_protocol(model, protocol(price=False), method="grid", grid_points=9, **kw)
    assert len(grid.history) == 9
    assert grid.values["drug.concentration"] == pytest.approx(50.0)  # 10, 20, ..., 90
    a = og.optimize_protocol(model, protocol(price=False), seed=5, max_generations=5, **kw)
    b = og.optimize_protocol(model, protocol(price=False), seed=5, max_generations=5, **kw)
    assert a.values == b.values
    assert a.history.equals(b.history)


def test_infeasible_problem_reports_no_protocol(model):
    best = og.optimize_protocol(model, protocol(), free={"drug.concentration": (1.0, 10.0)},
                                objective="signal@21", constraints={"signal@21": ">= 100"},
                                seed=0, max_generations=3)
    assert best.protocol is None
    assert not best.history["feasible"].any()
    assert "no evaluated point" in best.message


@pytest.mark.parametrize("kwargs, match", [
    (dict(free={}), "non-empty"),
    (dict(free={"drug.concentration": (5, 1)}), "lo < hi"),
    (dict(free={"drug.concentration": (0, 1, "log")}), "lo > 0"),
    (dict(free={"drug.concentration": []}), "empty list"),
    (dict(free={"drug.concentration": "1-10"}), "tuple"),
    (dict(constraints={"signal@21": 3}), "say which way"),
    (dict(constraints={"cost": "about 3"}), "'<= 50'"),
    (dict(method="bayes"), "method must be"),
])
def test_bad_arguments_are_option_errors(model, kwargs, match):
    args = dict(free={"drug.concentration": (1.0, 10.0)}, objective="signal@21")
    args.update(kwargs)
    with pytest.raises(og.OptionError, match=match):
        og.optimize_protocol(model, protocol(), **args)


def test_cost_constraint_needs_a_price(model):
    with pytest.raises(og.ProtocolError):
        og.optimize_protocol(model, protocol(price=False),
                             free={"drug.concentration": (1.0, 10.0)}, objective="signal@21",
                             constraints={"cost": 10})


def test_cli_optimize(tmp_path, capsys):
    from osteogrn.cli import main
    proto = tmp_path / "toy.json"
    proto.write_text(protocol().to_json())
    out = tmp_path / "best.json"
    hist = tmp_path / "history.csv"
    code = main([
        "optimize", str(DATA / "models" / "dose_toy.json"), str(proto),
        "--free", "drug.concentration=1:400", "--free", "media_changes.every=[3,7]",
        "--objective", "signal@21", "--constraint", "cost<=300", "--seed", "1",
        "--generations", "60", "-o", str(out), "--history", str(hist)])
    text = capsys.readouterr().out
    assert code == 0, text
    best = og.Protocol.from_file(out)
    assert best.media_changes == {"every": 7.0}
    assert best.components["drug"]["concentration"] == pytest.approx(100, rel=0.01)
    assert "Pareto front" in text
    assert hist.read_text().count("\n") > 20
    assert json.loads(out.read_text())["name"] == "toy[optimised]"


def test_plot_of_the_front(model):
    best = og.optimize_protocol(model, protocol(), free={"drug.concentration": (1.0, 400.0)},
                                objective="signal@21", constraints={"cost": 300}, seed=0,
                                max_generations=5)
    fig = best.plot()
    ax = fig.axes[0]
    assert ax.get_ylabel() == "signal@21 [au]"
    assert ax.get_xlabel().startswith("cost per well")
    labels = ax.get_legend_handles_labels()[1]
    assert labels[:2] == ["infeasible", "feasible"] and "optimum" in labels
    assert fig._repr_png_()[:4] == b"\x89PNG"
    unpriced = og.optimize_protocol(model, protocol(price=False),
                                    free={"drug.concentration": (1.0, 400.0)},
                                    objective="signal@21", seed=0, max_generations=2)
    with pytest.raises(og.OsteogrnError, match="no cost axis"):
        unpriced.plot()

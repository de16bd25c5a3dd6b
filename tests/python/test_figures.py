"""osteogrn's figures show inline in Jupyter (IPython renders them as PNG), once, without pyplot."""

from __future__ import annotations

import pickle
import warnings

import matplotlib.pyplot as plt
import pytest
from IPython.core.formatters import DisplayFormatter
from matplotlib.figure import Figure

import osteogrn as og
from osteogrn.plotting import new_figure

PNG = b"\x89PNG"


def shown(fig) -> dict:
    """What Jupyter shows for `fig` as a cell's value: IPython's formatters."""
    data, _ = DisplayFormatter().format(fig)
    return data


@pytest.fixture(scope="module")
def results(small_model, dex_protocol):
    return {"dex": og.simulate(small_model, dex_protocol),
            "faster": og.simulate(small_model.with_parameters(k_alp=0.6), dex_protocol)}


def test_figures_render_as_png_without_pyplot(results, small_model, dex_protocol):
    before = plt.get_fignums()
    batch = og.simulate_batch(small_model, [dex_protocol],
                              [{"k_alp": 0.2}, {"k_alp": 0.4}])
    figures = [results["dex"].plot(), og.plot_results(results, ["ALP_act"], title="t"),
               batch.plot_quantiles(), new_figure(figsize=(2, 2))]
    for fig in figures:
        assert isinstance(fig, Figure)
        data = shown(fig)
        assert data["image/png"][:4] == PNG
        assert "Figure size" in data["text/plain"]
    assert plt.get_fignums() == before  # nothing registered with pyplot: scripts stay headless


def _png_size(png: bytes):
    # PNG header: width and height in pixels, big-endian, at bytes 16-24
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_figure_png_follows_the_figure_size_and_dpi():
    sizes = []
    for dpi in (50, 100):
        fig = new_figure(figsize=(4, 3), dpi=dpi, layout="constrained")
        fig.subplots().plot([0, 1], [0, 1])
        sizes.append(_png_size(fig._repr_png_()))
    (w1, h1), (w2, h2) = sizes
    # 4 x 3 in at 50 dpi, trimmed to the drawn area plus matplotlib's 0.1 in padding
    assert 180 <= w1 <= 210 and 130 <= h1 <= 160, (w1, h1)
    assert w2 == pytest.approx(2 * w1, rel=0.05) and h2 == pytest.approx(2 * h1, rel=0.05)


def test_figures_pickle(results):
    fig = results["dex"].plot()
    again = pickle.loads(pickle.dumps(fig))
    assert type(again) is type(fig) and shown(again)["image/png"][:4] == PNG


def test_fit_plot_names_every_condition_and_shows_every_curve(small_model, dex_protocol):
    # Sp7 measured only under dex_test, ALP_act only under a second protocol: each panel has one
    # condition, and the legend names both. The data sit 100-fold above the model (a fit that is
    # far off), so a y range set from the data alone would hide the curves.
    import numpy as np
    from osteogrn.fitting import simulate_data
    high = dex_protocol.with_component("dex", concentration=500)
    data = simulate_data(small_model, {"dex": dex_protocol, "high": high}, [3, 6, 9],
                         ["Sp7", "ALP_act"], cv=0.05, seed=1)
    data = data[((data.condition == "dex") & (data.observable == "Sp7"))
                | ((data.condition == "high") & (data.observable == "ALP_act"))].copy()
    data["value"] *= 100.0
    with warnings.catch_warnings():  # k_alp ends at its bound: that is the point here
        warnings.simplefilter("ignore", og.FitWarning)
        fit = og.fit(small_model, data, protocols={"dex": dex_protocol, "high": high},
                     estimate={"k_alp": (0.29, 0.31)}, observations="lognormal", n_starts=1,
                     progress=False)
    fig = fit.plot()
    assert shown(fig)["image/png"][:4] == PNG
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == ["dex", "high"]
    for ax in axes:
        low, high_y = ax.get_ylim()
        for line in ax.get_lines():
            y = np.asarray(line.get_ydata(), dtype=float)
            y = y[np.isfinite(y) & (y > 0)]
            assert y.size == 0 or (low <= y.min() and y.max() <= high_y), ax.get_title()

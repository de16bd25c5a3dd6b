"""Comparison plots keep many lines apart and make the reference stand out; the waterfall plot
has readable tick labels."""

from __future__ import annotations

import itertools
import warnings

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest

import osteogrn as og
from osteogrn.plotting import REFERENCE_STYLE, run_styles


@pytest.fixture(scope="module")
def fourteen(small_model, dex_protocol):
    """14 protocols of grn_small: dex doses 10..140 nM."""
    return {f"dex_{10 * (i + 1)}": og.simulate(
        small_model, dex_protocol.with_component("dex", concentration=10.0 * (i + 1)), t=[0, 7, 14])
        for i in range(14)}


def _data_lines(ax):
    """The time-course lines of a panel (not the vertical media-change lines)."""
    return [line for line in ax.get_lines() if len(line.get_xdata()) > 2]


def _style(line):
    return (mcolors.to_hex(line.get_color()), line.get_linestyle())


def test_run_styles_are_pairwise_distinct_and_never_black():
    styles = run_styles(36)
    assert len(set(styles)) == 36
    colors = {mcolors.to_hex(c) for c, _ in styles}
    assert mcolors.to_hex("black") not in colors
    # no grey either: greys are what a reader would take for the (black) reference
    assert all(len({round(v, 2) for v in mcolors.to_rgb(c)}) > 1 for c in colors)
    # neighbours in the legend differ in hue
    assert all(a[0] != b[0] for a, b in zip(styles, styles[1:]))


def test_fourteen_lines_are_distinguishable(fourteen):
    fig = og.plot_results(fourteen, ["ALP", "Runx2"])
    for ax in [ax for ax in fig.axes if ax.get_visible()]:
        lines = _data_lines(ax)
        assert len(lines) == 14
        styles = [_style(line) for line in lines]
        for a, b in itertools.combinations(styles, 2):
            assert a != b
    legend = fig.legends[0]  # 14 entries: beside the panels, not over the curves
    assert [t.get_text() for t in legend.get_texts()] == list(fourteen)


def test_reference_stands_out(fourteen):
    reference = "dex_70"
    fig = og.plot_results(fourteen, ["ALP", "Runx2"], reference=reference)
    for ax in [ax for ax in fig.axes if ax.get_visible()]:
        lines = _data_lines(ax)
        ref = [line for line in lines if line.get_label() == f"{reference} (reference)"]
        assert len(ref) == 1
        ref = ref[0]
        others = [line for line in lines if line is not ref]
        assert mcolors.to_hex(ref.get_color()) == mcolors.to_hex(REFERENCE_STYLE["color"]) \
            == "#000000"
        assert all(mcolors.to_hex(line.get_color()) != "#000000" for line in others)
        assert ref.get_linewidth() > max(line.get_linewidth() for line in others)
        assert ref.get_zorder() > max(line.get_zorder() for line in others)
        assert ref.get_zorder() > max(line.get_zorder() for line in ax.get_lines()
                                      if line is not ref)
        # the other 13 stay pairwise distinct
        assert len({_style(line) for line in others}) == 13
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[0] == "dex_70 (reference)" and len(labels) == 14
    with pytest.raises(KeyError, match="dex_999"):
        og.plot_results(fourteen, ["ALP"], reference="dex_999")


def test_compare_plot_draws_the_reference(tmp_path, monkeypatch, small_model, dex_protocol):
    # osteogrn compare in this process, keeping the figure it draws
    from conftest import DATA
    from osteogrn import cli, plotting
    drawn = []
    real = plotting.plot_results
    monkeypatch.setattr(plotting, "plot_results",
                        lambda *a, **k: drawn.append(real(*a, **k)) or drawn[-1])
    files = []
    for name, dose in (("low", 20.0), ("mid", 100.0), ("high", 500.0)):
        proto = og.Protocol.from_json(dex_protocol.with_component("dex", concentration=dose)
                                      .to_dict() | {"name": name})
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(proto.to_json())
    argv = ["compare", "--model", str(DATA / "models" / "grn_small.json"), "--protocols",
            *map(str, files), "--reference", "mid", "-o", str(tmp_path / "out"), "--dt", "1"]
    assert cli.main(argv) == 0
    ax = [ax for ax in drawn[0].axes if ax.get_visible()][0]
    ref = [line for line in _data_lines(ax) if line.get_label() == "mid (reference)"]
    assert len(ref) == 1 and mcolors.to_hex(ref[0].get_color()) == "#000000"
    assert ref[0].get_zorder() == max(line.get_zorder() for line in ax.get_lines())


def _fit_result(costs, best):
    """A FitResult whose starts ended at `costs` (only what plot_waterfall reads)."""
    from osteogrn.fitting.result import FitResult
    fit = FitResult.__new__(FitResult)
    fit.starts = pd.DataFrame({"cost": costs})
    fit.cost = best
    return fit


def _tick_texts(fig):
    fig.canvas.draw()
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.get_yticklabels() + ax.get_xticklabels()
             + ax.yaxis.get_minorticklabels()]
    return texts, ax.yaxis.get_offset_text().get_text(), ax.xaxis.get_offset_text().get_text()


@pytest.mark.parametrize("costs", [
    # 20 starts at one optimum, differing in the 6th digit (what labelled every tick 7.11101×10¹)
    71.1101 + np.linspace(0.0, 3e-5, 20),
    # local optima over many decades above the best one, and a failed start
    [71.1101, 71.1101, 71.1101 + 1e-4, 72.0, 150.0, 3.2e4, np.nan],
])
def test_waterfall_ticks_are_plain_numbers(costs):
    costs = np.asarray(costs, dtype=float)
    fig = _fit_result(costs, float(np.nanmin(costs))).plot_waterfall()
    texts, y_offset, x_offset = _tick_texts(fig)
    assert texts and y_offset == "" and x_offset == ""
    for text in texts:
        assert "×10" not in text and "\\times" not in text and "10^" not in text, text
    labels = [t for t in texts if t]
    # every label is a plain number: float() reads it
    for text in labels:
        float(text.replace("\u2212", "-"))
    assert "best cost 71.1101" in fig.axes[0].get_title()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no log-of-zero warnings: the best start is drawn too
        fig.canvas.draw()
    ys = np.concatenate([np.asarray(line.get_ydata(), dtype=float)
                         for line in fig.axes[0].get_lines()])
    assert np.all(np.isfinite(ys))

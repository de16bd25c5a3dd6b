"""Matplotlib figures of results: one panel per observable, a line per run, media changes marked.

Figures are built with :class:`matplotlib.figure.Figure` directly (not pyplot), so plotting
keeps no global state, works without a display and from several threads, and a script or the
command line never accumulates open pyplot figures. In Jupyter a figure returned as the value of
a cell is shown inline, once, as PNG: :func:`new_figure` makes figures that render themselves
(``_repr_png_``), whatever matplotlib backend the kernel has.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Mapping, Optional, Sequence, Tuple

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .result import Result

__all__ = ["plot_results", "panel_grid", "run_colors", "run_styles", "new_figure",
           "REFERENCE_STYLE"]

_FIGURE_CLASS = None


def _figure_class():
    """A matplotlib Figure that IPython displays as PNG (made on first use: matplotlib is
    imported only when something is plotted)."""
    global _FIGURE_CLASS
    if _FIGURE_CLASS is None:
        from matplotlib.figure import Figure as MatplotlibFigure

        class Figure(MatplotlibFigure):
            """A :class:`matplotlib.figure.Figure` that Jupyter shows inline as PNG."""

            def _repr_png_(self) -> bytes:
                # What matplotlib's inline backend draws: the figure's dpi, tight bounding box.
                buffer = io.BytesIO()
                self.savefig(buffer, format="png", bbox_inches="tight")
                return buffer.getvalue()

        Figure.__module__ = __name__  # pickles as osteogrn.plotting.Figure (__getattr__)
        Figure.__qualname__ = "Figure"
        _FIGURE_CLASS = Figure
    return _FIGURE_CLASS


def __getattr__(name: str):
    if name == "Figure":
        return _figure_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def new_figure(**kwargs) -> "Figure":
    """A new figure, not attached to pyplot, that Jupyter shows inline when it is a cell's value.

    Parameters
    ----------
    **kwargs
        Passed to :class:`matplotlib.figure.Figure` (``figsize``, ``layout``...).

    Returns
    -------
    matplotlib.figure.Figure
        Save it with ``fig.savefig(path)``; in a notebook, make it the last expression of the
        cell (or call ``IPython.display.display(fig)``) to show it.
    """
    return _figure_class()(**kwargs)


def panel_grid(n_panels: int, ncols: int = 3,
               figsize: Optional[Sequence[float]] = None) -> Tuple["Figure", np.ndarray]:
    """A figure with `n_panels` axes in rows of `ncols` (4 x 3 inches each by default); the
    unused cells of the last row are hidden. Returns (figure, flat array of the used axes)."""
    ncols = max(1, min(int(ncols), n_panels))
    nrows = math.ceil(n_panels / ncols)
    if figsize is None:
        figsize = (4.0 * ncols, 3.0 * nrows)
    fig = new_figure(figsize=tuple(figsize), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes[:n_panels]


#: How the reference run of a comparison is drawn: black (no palette colour is black or grey),
#: thicker, above every other line, and named "(reference)" in the legend.
REFERENCE_STYLE = {"color": "black", "linewidth": 2.6, "zorder": 10}
#: Line width and z-order of the other runs.
_RUN_WIDTH, _RUN_ZORDER = 1.5, 2

# Why hues x line styles: tab20 (what a comparison of more than ten runs used) pairs each hue with
# a pale copy of itself, so 14 protocols gave 7 pairs of near-identical colours, and its pinks and
# greys are hard to tell from each other. Instead every run gets a distinct (colour, line style):
# the 9 saturated hues of tab10 (its grey left out: the reference is black), cycling the hue
# first, so that runs next to each other in the legend always differ in hue, and a new line style
# for every further 9 runs (solid, dashed, dotted, dash-dot): 36 distinguishable lines. Grouping
# by protocol "family" was rejected: families would be guessed from names.
_HUES = ("C0", "C1", "C2", "C3", "C4", "C5", "C6", "C8", "C9")
_LINESTYLES = ("-", "--", ":", "-.")


def run_styles(n_runs: int) -> list:
    """A distinct (colour, line style) per run, for up to 36 runs (then they repeat).

    Parameters
    ----------
    n_runs : int
        Number of runs (lines) to tell apart.

    Returns
    -------
    list of (str, str)
        Matplotlib colour and line style of each run: the 9 non-grey tab10 hues in turn, the
        line style changing every 9 runs. None is black, which marks a reference run.
    """
    n_hues = len(_HUES)
    return [(_HUES[i % n_hues], _LINESTYLES[(i // n_hues) % len(_LINESTYLES)])
            for i in range(n_runs)]


def run_colors(n_runs: int) -> list:
    """The colour of each run in :func:`run_styles` (combine with its line styles to keep more
    than nine runs apart)."""
    return [color for color, _ in run_styles(n_runs)]


def _axis_unit(results: Sequence["Result"], name: str) -> str:
    """The unit of `name` in the first result that states one ("" if none)."""
    for res in results:
        unit = getattr(res, "units", {}).get(name, "")
        if unit:
            return unit
    return ""


def _default_names(results: Sequence["Result"]) -> list:
    first = results[0]
    names = list(first.observable_names) or list(first.species_names)
    return names


def plot_results(results: Mapping[str, "Result"], names: Optional[Sequence[str]] = None, *,
                 ncols: int = 3, figsize: Optional[Sequence[float]] = None,
                 title: Optional[str] = None, reference: Optional[str] = None) -> "Figure":
    """One panel per name, one line per result, media changes as vertical lines.

    Every run has its own (colour, line style) (:func:`run_styles`), so 14 or more runs stay
    apart; the reference run is drawn black, thicker and on top, and listed first in the
    legend as ``<label> (reference)``. Axes are labelled with units (``time [day]``, the unit
    of each name). Media changes every run shares are grey dotted lines; those of only some
    runs take the runs' colours.

    Parameters
    ----------
    results : mapping of str to Result
        Label -> result (e.g. one per protocol).
    names : sequence of str, optional
        Species, observables or inputs to plot; default: the observables of the
        first result (its species if it has none). A result without a name is
        left out of that panel.
    ncols : int, optional
        Panels per row.
    figsize : (float, float), optional
        Figure size in inches (default 4 x 3 per panel).
    title : str, optional
        Figure title.
    reference : str, optional
        Label (key of ``results``) of the run the others are compared with.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    KeyError
        If a name is in none of the results, or ``reference`` is not a label of them.
    ValueError
        If there is nothing to plot.
    """
    runs = list(results.items())
    if not runs:
        raise ValueError("plot_results: no results to plot")
    names = list(names) if names is not None else _default_names([r for _, r in runs])
    if not names:
        raise ValueError("plot_results: the model has neither observables nor species to plot")
    for name in names:
        if not any(name in r for _, r in runs):
            runs[0][1][name]  # raises KeyError listing the valid names
    if reference is not None and reference not in results:
        raise KeyError(f"plot_results: reference {reference!r} is not among the results "
                       f"({', '.join(results)})")
    fig, axes = panel_grid(len(names), ncols, figsize)
    others = [label for label, _ in runs if label != reference]
    style = dict(zip(others, ({"color": c, "linestyle": ls, "linewidth": _RUN_WIDTH,
                               "zorder": _RUN_ZORDER} for c, ls in run_styles(len(others)))))
    if reference is not None:
        style[reference] = dict(REFERENCE_STYLE, linestyle="-")
    shared = set.intersection(*(set(np.round(r.media_change_days, 9).tolist())
                                for _, r in runs))
    time_unit = getattr(runs[0][1], "time_unit", "day")
    for ax, name in zip(axes, names):
        for day in sorted(shared):
            ax.axvline(day, color="0.6", linestyle=":", linewidth=0.7, zorder=0)
        for label, res in runs:
            if name not in res:
                continue
            ax.plot(res.t, res[name], label=f"{label} (reference)" if label == reference
                    else label, **style[label])
            for day in res.media_change_days:
                if round(float(day), 9) not in shared:
                    ax.axvline(day, color=style[label]["color"], linestyle=":", linewidth=0.7,
                               alpha=0.5, zorder=0)
        ax.set_title(name)
        ax.set_xlabel(f"time [{time_unit}]")
        unit = _axis_unit([r for _, r in runs], name)
        if unit:
            ax.set_ylabel(f"{name} [{unit}]")
    handles, labels = axes[0].get_legend_handles_labels()
    if reference is not None and f"{reference} (reference)" in labels:  # the reference first
        first = labels.index(f"{reference} (reference)")
        handles.insert(0, handles.pop(first))
        labels.insert(0, labels.pop(first))
    if labels and (len(runs) > 1 or labels[0]):
        if len(runs) > 5:  # a long legend would hide the curves: put it beside the panels
            fig.legend(handles, labels, fontsize="small", loc="outside right upper")
        else:
            axes[0].legend(handles, labels, fontsize="small")
    if title:
        fig.suptitle(title)
    return fig

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

__all__ = ["plot_results", "panel_grid", "run_colors", "new_figure"]

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


def run_colors(n_runs: int) -> list:
    """One colour per run: tab10 up to ten runs, else tab20 (a protocol comparison often has more
    than ten, e.g. the 14 presets), cycling beyond twenty."""
    if n_runs <= 10:
        return [f"C{i}" for i in range(n_runs)]
    from matplotlib import colormaps
    cmap = colormaps["tab20"]
    return [cmap(i % 20) for i in range(n_runs)]


def _default_names(results: Sequence["Result"]) -> list:
    first = results[0]
    names = list(first.observable_names) or list(first.species_names)
    return names


def plot_results(results: Mapping[str, "Result"], names: Optional[Sequence[str]] = None, *,
                 ncols: int = 3, figsize: Optional[Sequence[float]] = None,
                 title: Optional[str] = None) -> "Figure":
    """One panel per name, one line per result, media changes as vertical lines.

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

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    KeyError
        If a name is in none of the results.
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
    fig, axes = panel_grid(len(names), ncols, figsize)
    colors = run_colors(len(runs))
    styles = ["-", "--", "-.", ":"]
    for ax, name in zip(axes, names):
        for j, ((label, res), color) in enumerate(zip(runs, colors)):
            if name not in res:
                continue
            ax.plot(res.t, res[name], color=color, label=label,
                    linestyle=styles[(j // 20) % len(styles)])
            for day in res.media_change_days:
                ax.axvline(day, color=color, linestyle=":", linewidth=0.7, alpha=0.5)
        ax.set_title(name)
        ax.set_xlabel("time (day)")
    handles, labels = axes[0].get_legend_handles_labels()
    if labels and (len(runs) > 1 or labels[0]):
        if len(runs) > 5:  # a long legend would hide the curves: put it beside the panels
            fig.legend(handles, labels, fontsize="small", loc="outside right upper")
        else:
            axes[0].legend(handles, labels, fontsize="small")
    if title:
        fig.suptitle(title)
    return fig

"""Every notebook under notebooks/ executes top to bottom without an error (nbclient, python3
kernel), and every cell that draws shows its figure inline, once."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))

# A cell draws if its code calls a plotting function (res.plot(), fit.plot_profiles(),
# og.plot_results(...), plt.anything) or if any output is a figure's text form.
DRAWS = re.compile(r"\.plot\w*\s*\(|\bplot_\w+\s*\(|\bplt\.|\bpyplot\b")
FIGURE_TEXT = re.compile(r"<(matplotlib\.figure\.)?Figure size \d")


def _images(cell) -> list:
    return [o["data"]["image/png"] for o in cell.get("outputs", [])
            if o.get("output_type") in ("display_data", "execute_result")
            and "image/png" in o.get("data", {})]


def _code(cell) -> str:
    # comments do not draw
    return "\n".join(line.split("#", 1)[0] for line in cell.source.splitlines())


def figure_problems(nb) -> list:
    """Cells that draw but show no PNG, that show a figure's text form without its image, or that
    show the same image twice."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        images = _images(cell)
        as_text = [o for o in cell.get("outputs", [])
                   if FIGURE_TEXT.search(o.get("data", {}).get("text/plain", ""))
                   and "image/png" not in o.get("data", {})]
        if (DRAWS.search(_code(cell)) or as_text) and not images:
            problems.append(f"cell {i} draws but has no image/png output: {cell.source[:60]!r}")
        elif as_text:
            problems.append(f"cell {i} shows a figure as text only")
        if len(set(images)) < len(images):
            problems.append(f"cell {i} shows the same figure more than once")
    return problems


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found"


def test_the_figure_rule_sees_a_missing_figure():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("fit.plot_profiles()", outputs=[
            nbformat.v4.new_output("execute_result",
                                   {"text/plain": "<Figure size 640x480 with 2 Axes>"},
                                   execution_count=1)]),
        nbformat.v4.new_code_cell("x = og.plot_results(r)  # a figure, not shown", outputs=[]),
        nbformat.v4.new_code_cell("x = 1  # no res.plot() here", outputs=[]),
        nbformat.v4.new_code_cell("res.plot()", outputs=[
            nbformat.v4.new_output("execute_result", {"text/plain": "<Figure size 640x480>",
                                                      "image/png": "iVBOR"}, execution_count=2)]),
        nbformat.v4.new_code_cell("res.plot(); res.plot()", outputs=[
            nbformat.v4.new_output("display_data", {"image/png": "iVBOR"}),
            nbformat.v4.new_output("display_data", {"image/png": "iVBOR"})]),
    ])
    problems = figure_problems(nb)
    assert [p.split(" ", 2)[1] for p in problems] == ["0", "1", "4"], problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes_and_shows_its_figures(path, tmp_path, monkeypatch):
    # The kernel gets Jupyter's own matplotlib backend (ipykernel's inline backend), as a
    # scientist's notebook does: the test suite's Agg setting would hide pyplot figures.
    monkeypatch.delenv("MPLBACKEND", raising=False)
    # Notebooks run in a scratch folder; this tells them where the repository's data/ is.
    monkeypatch.setenv("OSTEOGRN_REPO", str(path.parents[1]))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    assert not figure_problems(nb)
    assert any(_images(c) for c in nb.cells if c.cell_type == "code"), "no figure at all"

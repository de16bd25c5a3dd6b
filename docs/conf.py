# Sphinx configuration of the osteogrn documentation.
#
# Build (from the repository root, with the package installed: the API reference is read from
# the installed module's numpydoc docstrings):
#     pip install ".[docs]" && sphinx-build -W --keep-going -b html docs build/docs
# The notebooks under notebooks/ (linked into docs/tutorials/) are rendered as they are stored,
# without executing them: executing them is the test suite's job (tests/python/test_notebooks.py).
from __future__ import annotations

import osteogrn

project = "osteogrn"
author = "the osteogrn developers"
copyright = "the osteogrn developers"
release = osteogrn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_nb",  # Markdown pages (MyST) and the notebooks
    "sphinxarg.ext",  # the command line, read from osteogrn.cli.build_parser()
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
root_doc = "index"

# MyST: $...$ maths, ::: fences, definition lists and heading anchors for cross-links.
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath"]
myst_heading_anchors = 4

# Notebooks are shown as stored; the test suite executes them.
nb_execution_mode = "off"

# autodoc/numpydoc: the public API of the osteogrn package.
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc sections carry the types
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# Checked on every documented object (a failure is a warning, so -W fails the build): it has a
# docstring (GL08), documents no parameter the signature lacks and none twice out of order
# (PR02, PR03), and a generator documents what it yields (YD01). Style checks (GL01, SS05, RT03,
# ...) are left out: they judge wording, not correctness.
numpydoc_validation_checks = {"GL08", "PR02", "PR03", "YD01"}
# Private names and dunders are not documented. SolverOptions is a pybind11 class whose
# constructor has no Python signature (**kwargs), so PR02 could not check its parameters.
numpydoc_validation_exclude = {r"\._[a-z]", r"\.__[a-z]+__$", r"^osteogrn\.SolverOptions$"}

intersphinx_mapping = {}  # no network access during builds: references stay local

nitpicky = False

html_theme = "furo"
html_title = f"osteogrn {release}"
html_static_path = []

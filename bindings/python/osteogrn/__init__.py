"""osteogrn: gene-regulatory-network models of osteogenic differentiation under media protocols.

A fast C++ core (expression compiler, CVODES/odeint integrators) behind a small
Python API::

    import osteogrn as og
    model = og.load_model("osteogenic")
    proto = og.load_protocol("osteogenic_medium")
    res = og.simulate(model, proto)
    res.to_frame(); res.plot()

See ``help(og.simulate)``, :class:`Model`, :class:`Protocol`, :class:`Result`.
"""

from __future__ import annotations

from . import _core
from .batch import BatchResult, simulate_batch
from ._text import checks_text
from .errors import (FitWarning, InternalError, ModelError, OptionError, OsteogrnError,
                     ParseError, PetabError, ProtocolError, SolverError, UnsupportedSBMLError)
from .fitting import DataError, FitData, FitResult, Observation, fit
from .design.uncertainty import compare, predict
from .design.dose_response import DoseResponse, dose_response
from .design.readouts import Readout
from .design.sweep import sweep
from .design.optimize import ProtocolOptimization, optimize_protocol
from .library import (list_models, list_protocols, load_model, load_protocol, models_dir,
                      protocols_dir)
from .model import Model
from .parameter_sets import ParameterSet, list_parameter_sets, load_parameter_set
from .plotting import plot_results
from .protocol import Protocol
from .reagents import reagents
from .result import Result, ReturnCode
from .simulation import METHODS, LinearSolver, Method, SolverOptions, simulate
from .steady_state import SteadyState, steady_state

__version__ = "0.1.0"


def import_sbml(path_or_text, inputs=None, name=None):  # noqa: D103 - docstring copied below
    # imported on first use: python-libsbml is an optional dependency, and `import osteogrn`
    # must work without it
    from .sbml import import_sbml as _import_sbml
    return _import_sbml(path_or_text, inputs=inputs, name=name)


def _sbml_doc() -> str:
    try:
        from .sbml import import_sbml as _import_sbml
    except ImportError:
        return ("Imports an SBML Level 2/3 model (needs python-libsbml: "
                "pip install python-libsbml); see osteogrn.sbml.import_sbml.")
    return _import_sbml.__doc__ or ""


import_sbml.__doc__ = _sbml_doc()


def __getattr__(name: str):
    # og.petab is imported on first use: the petab package is an optional dependency
    if name == "petab":
        import importlib
        return importlib.import_module(".petab", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: Most values one Result or one batch may hold (C++ kMaxResultValues); larger requests are an
#: OptionError raised before anything is allocated.
MAX_RESULT_VALUES: int = _core.MAX_RESULT_VALUES

__all__ = [
    "__version__",
    "simulate",
    "simulate_batch",
    "steady_state",
    "SteadyState",
    "BatchResult",
    "load_model",
    "load_protocol",
    "list_models",
    "list_protocols",
    "list_parameter_sets",
    "load_parameter_set",
    "ParameterSet",
    "models_dir",
    "protocols_dir",
    "parse_expression",
    "Model",
    "Protocol",
    "reagents",
    "Result",
    "ReturnCode",
    "SolverOptions",
    "Method",
    "LinearSolver",
    "MAX_RESULT_VALUES",
    "METHODS",
    "plot_results",
    "OsteogrnError",
    "ParseError",
    "ModelError",
    "UnsupportedSBMLError",
    "PetabError",
    "import_sbml",
    "ProtocolError",
    "OptionError",
    "SolverError",
    "InternalError",
    "fit",
    "FitResult",
    "FitData",
    "Observation",
    "DataError",
    "FitWarning",
    "predict",
    "compare",
    "sweep",
    "dose_response",
    "DoseResponse",
    "Readout",
    "optimize_protocol",
    "ProtocolOptimization",
]


@checks_text(ParseError)
def parse_expression(text: str) -> str:
    """Parses an expression of the model grammar and prints it back normalised.

    Parameters
    ----------
    text : str
        E.g. ``"v * hill(Runx2, K, n) - d * Osx"``.

    Returns
    -------
    str
        The expression as the C++ compiler reads it (fully parenthesised where
        needed).

    Raises
    ------
    ParseError
        With ``position``, the 0-based offset of the offending character.
    """
    return _core.parse_expression(str(text)).to_string()

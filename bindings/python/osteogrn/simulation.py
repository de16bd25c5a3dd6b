"""simulate(): the one entry point joining a model, a protocol and solver options."""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from . import _core
from ._text import checks_text
from .errors import ModelError, OptionError, ProtocolError
from .model import Model
from .protocol import Protocol
from .result import Result

__all__ = ["simulate", "METHODS"]

#: Integration methods (DESIGN.md "Integration").
METHODS = ("cvode_bdf", "cvode_adams", "dopri5", "rosenbrock4")


def _times(t: Any) -> list:
    if t is None:
        return []
    try:
        arr = np.asarray(t, dtype=float)
    except (TypeError, ValueError):
        raise OptionError(f"t must be an array of numbers, got {type(t).__name__}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise OptionError(f"t must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise OptionError("t is empty; pass None for the default sample times")
    return arr.tolist()


@checks_text(OptionError, model=ModelError, protocol=ProtocolError, parameters=ModelError)
def simulate(model: Union[Model, str, "os.PathLike[str]"],
             protocol: Union[Protocol, str, "os.PathLike[str]"],
             t: Optional[Sequence[float]] = None,
             parameters: Optional[Mapping[str, float]] = None, *,
             method: str = "cvode_bdf", rtol: float = 1e-6, atol: float = 1e-9,
             max_steps: int = 100_000, raise_on_failure: bool = True,
             max_step: float = 0.0, linear_solver: str = "dense",
             sensitivities: Optional[Sequence[str]] = None,
             record_steps: bool = False) -> Result:
    """Simulates a model under a protocol.

    The C++ integrator runs without the GIL, so several threads can simulate at
    once. Every media change, addition and perturbation boundary is a
    breakpoint where the integrator stops and restarts.

    Parameters
    ----------
    model : Model or str
        A model, or a built-in name / path passed to :func:`load_model`.
    protocol : Protocol or str
        A protocol, or a built-in name / path passed to :func:`load_protocol`.
    t : array_like, optional
        Sorted sample times in [0, duration] (days). Default: every 0.1 day.
    parameters : mapping, optional
        Parameter values for this run only (as :meth:`Model.with_parameters`).
    method : {"cvode_bdf", "cvode_adams", "dopri5", "rosenbrock4"}, optional
        Integrator (default CVODES BDF, the choice for stiff networks).
    rtol, atol : float, optional
        Relative and absolute tolerances.
    max_steps : int, optional
        Most accepted steps over the whole run.
    raise_on_failure : bool, optional
        True: a failed integration raises :class:`SolverError`. False: return a
        Result with ``success=False``, ``status`` set and NaN after the failure.
    max_step : float, optional
        Largest step in days (0 = unlimited).
    linear_solver : {"dense", "klu"}, optional
        Linear solver of the CVODES methods.
    sensitivities : sequence of str, optional
        Parameter names θ for forward sensitivities (``cvode_bdf`` / ``cvode_adams``
        only): ``Result.sensitivities[i, k, j]`` is d output_k / d θ_j at ``t[i]``,
        outputs in the order of ``Result.output_names`` (species, then observables).
        Computed by CVODES from the symbolic ∂f/∂y and ∂f/∂p, under error control with
        tolerances rtol and ``atol / |θ_j|``, and carried through every media change and
        perturbation window (a "value" override of θ_j cuts the direct dependence inside
        its window, a "scale" s multiplies it by s; a clamped species has sensitivity 0).
    record_steps : bool, optional
        Keep every accepted step in ``Result.step_log``.

    Returns
    -------
    Result

    Raises
    ------
    OptionError
        Bad options or sample times.
    ModelError, ProtocolError
        The protocol does not fit the model, or bad ``parameters``.
    SolverError
        The integration failed (with ``raise_on_failure=True``).
    """
    if not isinstance(model, Model):
        from .library import load_model
        model = load_model(model)
    if not isinstance(protocol, Protocol):
        from .library import load_protocol
        protocol = load_protocol(protocol)
    if parameters:
        model = model.with_parameters(dict(parameters))
    if isinstance(sensitivities, str):
        sensitivities = [sensitivities]
    try:
        options = dict(method=str(method), rtol=float(rtol), atol=float(atol),
                       max_steps=int(max_steps), max_step=float(max_step),
                       linear_solver=str(linear_solver), record_steps=bool(record_steps),
                       raise_on_failure=bool(raise_on_failure),
                       sensitivities=[str(s) for s in (sensitivities or [])])
    except (TypeError, ValueError, OverflowError) as e:
        raise OptionError(f"invalid solver option: {e}") from None
    if not 0 < options["max_steps"] < 2**62:
        raise OptionError(f"max_steps must be a positive integer below 2**62, got {max_steps}")
    core = _core.simulate(model._core, protocol._core, _times(t), **options)
    return Result._from_core(core)

"""steady_state(): where a model comes to rest under a protocol's t = 0 conditions (PEtab
pre-equilibration), with the sensitivities of that state."""

from __future__ import annotations

import os
from typing import Any, List, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _core
from ._sbml_ids import check_free_parameters
from ._text import checks_text
from .errors import ModelError, OptionError, ProtocolError
from .model import Model
from .protocol import Protocol
from .simulation import _no_protocol, initial_conditions, solver_options

__all__ = ["steady_state", "SteadyState"]


class SteadyState:
    """A steady state found by :func:`steady_state`.

    Attributes
    ----------
    state : pandas.Series
        The steady state, indexed by species name.
    values : numpy.ndarray
        The same values as an array, in ``model.species`` order.
    sensitivities : numpy.ndarray or None
        d x_ss / d θ, shape [n_species, n_sensitivities] (columns in the order of
        ``sensitivity_parameters``); None without sensitivities.
    sensitivity_parameters : list of str
        The parameters θ of the sensitivities.
    method : str
        ``"newton"`` or ``"integration"``: the path that found it.
    time : float
        Model time integrated (0 for Newton).
    residual : float
        wrms norm of dx/dt at the result, weights ``1 / (atol + rtol * abs(x))`` (below 1).
    newton_iterations : int
        Newton iterations taken (also when Newton failed and integration followed).
    """

    def __init__(self, species: Sequence[str], core: Mapping[str, Any],
                 sensitivity_parameters: Sequence[str]) -> None:
        self.values = np.asarray(core["state"], dtype=float)
        self.state = pd.Series(self.values, index=list(species), name="steady_state")
        self.sensitivity_parameters: List[str] = list(sensitivity_parameters)
        m = len(self.sensitivity_parameters)
        self.sensitivities: Optional[np.ndarray] = (
            np.asarray(core["sensitivities"], dtype=float).reshape(len(species), m)
            if m else None)
        self.method: str = core["method"]
        self.time: float = float(core["time"])
        self.residual: float = float(core["residual"])
        self.newton_iterations: int = int(core["newton_iterations"])

    def __repr__(self) -> str:
        return (f"SteadyState(method={self.method!r}, time={self.time:g}, "
                f"residual={self.residual:.3g}, newton_iterations={self.newton_iterations}, "
                f"n_species={self.values.size})")


@checks_text(OptionError, model=ModelError, protocol=ProtocolError, parameters=ModelError)
def steady_state(model: Union[Model, str, "os.PathLike[str]"],
                 protocol: Union[Protocol, str, "os.PathLike[str]", None] = None, *,
                 sensitivities: Optional[Sequence[str]] = None, method: str = "auto",
                 rtol: float = 1e-8, atol: float = 1e-12, max_time: float = 1e9,
                 max_newton_iterations: int = 100,
                 initial_state: Union[Sequence[float], Mapping[str, float], None] = None,
                 initial_sensitivities: Optional[Any] = None,
                 parameters: Optional[Mapping[str, float]] = None,
                 options: Optional[Any] = None, **solver_options_: Any) -> SteadyState:
    """The steady state of a model, dx/dt = 0, under a protocol's conditions at t = 0.

    The inputs keep their values at t = 0 of ``protocol``, held constant; the protocol's
    parameter overrides, clamps and knockouts at t = 0 and the model's overlays apply; time in
    the equations stays 0. Model events are not processed. ``method="auto"`` tries a damped
    Newton iteration (dense LU of the Jacobian) and, if it fails or the Jacobian is singular
    (conservation laws), integrates from the initial state (CVODES, or the method of
    ``options``) over doubling horizons until dx/dt vanishes. Converged when
    wrms(dx/dt) < 1 with weights ``1 / (atol + rtol * abs(x))``.

    Parameters
    ----------
    model : Model or str
        A model, or a built-in name / path passed to :func:`load_model`.
    protocol : Protocol or str, optional
        Its t = 0 conditions are held. May be omitted for a model without inputs.
    sensitivities : sequence of str, optional
        Parameters θ for d x_ss / d θ: by Newton, S = -J⁻¹ ∂f/∂θ; on the integration path,
        forward sensitivities integrated with the state until they converge too (from
        ``initial_sensitivities``, by default the model's d x0 / d θ).
    method : {"auto", "newton", "integration"}
        How to find it (see above). ``"newton"`` raises instead of integrating.
    rtol, atol : float
        Convergence tolerances of the steady state (not the integrator's: those are in
        ``options`` / ``**solver_options``).
    max_time : float
        The integration gives up at this time (a :class:`SolverError`).
    max_newton_iterations : int
        Most Newton iterations.
    initial_state : array_like or mapping, optional
        Where to start (as in :func:`simulate`); matters for the integration path and for
        systems with conservation laws.
    initial_sensitivities : array_like, optional
        d x(0) / d θ, shape [n_species, len(sensitivities)].
    parameters : mapping, optional
        Parameter values for this call only (as :meth:`Model.with_parameters`).
    options : SolverOptions, optional
        Options of the integrator of the integration path.
    **solver_options_
        Fields of :class:`SolverOptions` other than ``method``, ``rtol``, ``atol`` and
        ``sensitivities`` (e.g. ``max_steps``), applied on top of ``options``.

    Returns
    -------
    SteadyState

    Raises
    ------
    OptionError
        Bad options, an ``initial_state`` / ``initial_sensitivities`` of the wrong shape or
        with an unknown species (names the argument), an unknown sensitivity parameter.
    ModelError, ProtocolError
        Bad ``parameters``; the protocol does not fit the model.
    SolverError
        No steady state found: Newton failed (``method="newton"``), or the integration did
        not converge by ``max_time`` or failed; ``time`` is the time reached, the message
        gives the residual.

    Examples
    --------
    >>> ss = og.steady_state(model, sensitivities=["k1"])
    >>> res = og.simulate(model, protocol, t, sensitivities=["k1"],
    ...                   initial_state=ss.values, initial_sensitivities=ss.sensitivities)
    """
    if not isinstance(model, Model):
        from .library import load_model
        model = load_model(model)
    if protocol is None:
        protocol = _no_protocol(model, [1.0])
    elif not isinstance(protocol, Protocol):
        from .library import load_protocol
        protocol = load_protocol(protocol)
    if parameters:
        model = model.with_parameters(dict(parameters))
    opts = solver_options(options, sensitivities=sensitivities, **solver_options_)
    if not isinstance(method, str):
        raise OptionError(f"steady_state: method must be a str, got {type(method).__name__}")
    numbers = {"rtol": rtol, "atol": atol, "max_time": max_time}
    for name, value in numbers.items():
        if isinstance(value, (bool, str)) or not isinstance(value, (int, float, np.number)):
            raise OptionError(f"steady_state: {name} must be a number, got {value!r}")
    if isinstance(max_newton_iterations, bool) or not isinstance(max_newton_iterations,
                                                                 (int, np.integer)):
        raise OptionError("steady_state: max_newton_iterations must be an int, got "
                          f"{max_newton_iterations!r}")
    if sensitivities:
        check_free_parameters(model, sensitivities, "sensitivities")
    x0, s0 = initial_conditions(model, initial_state, initial_sensitivities,
                                len(opts.sensitivities))
    core = _core.steady_state(model._core, protocol._core, opts, method, float(rtol), float(atol),
                              int(max_newton_iterations), float(max_time), x0, s0)
    return SteadyState(model.species, core, opts.sensitivities)

"""simulate(): the one entry point joining a model, a protocol and solver options."""

from __future__ import annotations

import enum
import functools
import os
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._text import checks_text
from .errors import ModelError, OptionError, ProtocolError
from .model import Model
from .protocol import Protocol
from ._units import model_units
from .result import Result
from ._sbml_ids import check_free_parameters, resolve

__all__ = ["simulate", "METHODS", "Method", "LinearSolver", "SolverOptions", "solver_options"]


def _str_enum(name: str, core_enum: Any, doc: str) -> Any:
    """A Python enum mirroring a C++ enum of ``_core``: same member names (taken from the
    binding, so they are stated once, in C++), each equal to its name as a string, printing as
    the name, pickling by name."""
    cls = enum.Enum(name, [(n, n) for n in core_enum.__members__], type=str,
                    module=__name__, qualname=name)
    cls.__str__ = lambda self: self.value  # type: ignore[method-assign]
    cls.__format__ = lambda self, spec: format(self.value, spec)  # type: ignore[method-assign]
    cls.__doc__ = doc
    return cls


#: Integration methods (docs/integration.md): cvode_bdf, cvode_adams, dopri5, rosenbrock4.
Method = _str_enum("Method", _core.Method, "Integration method; equal to its name as a str.")
#: Linear solvers of the CVODES methods: dense, klu, gmres.
LinearSolver = _str_enum("LinearSolver", _core.LinearSolver,
                         "Linear solver of the CVODES methods; equal to its name as a str.")
#: Names of the integration methods.
METHODS = tuple(m.value for m in Method)

#: The solver options (C++ ``osteogrn::SolverOptions``): keyword construction with the C++
#: defaults, read-only fields, ``replace(**changes)``, ``to_dict()``, equality, repr, pickle.
#: Bad values raise :class:`OptionError` naming the field. See :func:`solver_options`.
SolverOptions = _core.SolverOptions
SolverOptions.__module__ = "osteogrn"
SolverOptions.__doc__ = """Solver options of :func:`simulate`, :func:`simulate_batch` and :func:`fit`.

    Immutable; every field is a keyword of the constructor, and defaults to the value of the
    C++ ``osteogrn::SolverOptions`` (the one place the defaults are stated;
    ``og.SolverOptions()`` shows them).

    Parameters
    ----------
    method : {"cvode_bdf", "cvode_adams", "dopri5", "rosenbrock4"} or Method
        Integrator (default CVODES BDF, the choice for stiff networks).
    rtol, atol : float
        Relative and absolute tolerances.
    max_steps : int
        Most accepted steps over the whole run.
    max_step : float
        Largest step in days (0 = unlimited).
    linear_solver : {"dense", "klu", "gmres"} or LinearSolver
        Linear solver of the CVODES methods (klu: sparse LU, for large networks; gmres:
        Krylov with an ILU(0) preconditioner, for thousands of genes, where LU fills in).
    record_steps : bool
        Keep every accepted step in ``Result.step_log`` (not in a batch).
    raise_on_failure : bool
        True: a failed integration raises :class:`SolverError`. False: return a Result
        with ``success=False``, ``status`` (a :class:`ReturnCode`) and ``message`` set and
        NaN after the failure (a batch always records failures).
    sensitivities : sequence of str
        Parameter names θ for forward sensitivities (``cvode_bdf`` / ``cvode_adams`` only):
        ``Result.sensitivities[i, k, j]`` is d output_k / d θ_j at ``t[i]``, outputs in the
        order of ``Result.output_names`` (species, then observables). Computed by CVODES from
        the symbolic ∂f/∂y and ∂f/∂p, under error control with tolerances rtol and
        ``atol / |θ_j|``, and carried through every media change and perturbation window (a
        "value" override of θ_j cuts the direct dependence inside its window, a "scale" s
        multiplies it by s; a clamped species has sensitivity 0). Not in a batch.

    Raises
    ------
    OptionError
        An unknown field, a value of the wrong type or out of range (names the field).

    Examples
    --------
    >>> opts = og.SolverOptions(method="dopri5", rtol=1e-8)
    >>> opts.replace(max_steps=10**6).max_steps
    1000000
    """


def solver_options(options: Any = None, **changes: Any) -> Any:
    """The :class:`SolverOptions` a call runs with: ``options`` (a SolverOptions, a mapping of
    fields, or None for the defaults) with every keyword that is not None applied on top.

    Raises
    ------
    OptionError
        ``options`` of the wrong type, or a bad field (named).
    """
    if options is None:
        base = SolverOptions()
    elif isinstance(options, SolverOptions):
        base = options
    elif isinstance(options, Mapping):
        base = SolverOptions(**{str(k): v for k, v in options.items()})
    else:
        raise OptionError(f"options must be an og.SolverOptions (or a dict of its fields), "
                          f"got {type(options).__name__}")
    given = {k: v for k, v in changes.items() if v is not None}
    return base.replace(**given) if given else base

def initial_conditions(model: Model, initial_state: Any, initial_sensitivities: Any,
                       n_sensitivities: int) -> Tuple[List[float], List[float]]:
    """``initial_state`` / ``initial_sensitivities`` as the core takes them (flat lists, empty =
    the model's own), checked.

    Raises
    ------
    OptionError
        A wrong shape, a non-number or non-finite value, an unknown species, or
        sensitivities without sensitivity parameters; names the argument.
    """
    species = model.species
    n = len(species)
    state: List[float] = []
    if initial_state is not None:
        if isinstance(initial_state, Mapping):
            x = model.initial_state().astype(float)
            index = {name: i for i, name in enumerate(species)}
            for name, value in initial_state.items():
                if name not in index:
                    raise OptionError(
                        f"initial_state: model '{model.name}' has no species {name!r}; "
                        f"species: {', '.join(species)}")
                try:
                    x[index[name]] = float(value)
                except (TypeError, ValueError):
                    raise OptionError(f"initial_state[{name!r}] must be a number, got "
                                      f"{value!r}") from None
        else:
            try:
                x = np.asarray(initial_state, dtype=float)
            except (TypeError, ValueError):
                raise OptionError("initial_state must be an array of numbers or a mapping "
                                  f"species -> value, got {type(initial_state).__name__}") from None
            if x.shape != (n,):
                raise OptionError(f"initial_state must have shape ({n},) (one value per species "
                                  f"of model '{model.name}'), got {x.shape}")
        bad = np.flatnonzero(~np.isfinite(x))
        if bad.size:
            raise OptionError(f"initial_state of species '{species[bad[0]]}' is not finite "
                              f"({x[bad[0]]})")
        state = x.tolist()
    sens: List[float] = []
    if initial_sensitivities is not None:
        if n_sensitivities == 0:
            raise OptionError("initial_sensitivities given, but no sensitivities are requested "
                              "(pass sensitivities=[...])")
        try:
            s = np.asarray(initial_sensitivities, dtype=float)
        except (TypeError, ValueError):
            raise OptionError("initial_sensitivities must be an array of numbers, got "
                              f"{type(initial_sensitivities).__name__}") from None
        if s.shape != (n, n_sensitivities):
            raise OptionError(f"initial_sensitivities must have shape ({n}, {n_sensitivities}) "
                              f"(species x sensitivity parameters), got {s.shape}")
        if not np.all(np.isfinite(s)):
            i, j = np.argwhere(~np.isfinite(s))[0]
            raise OptionError(f"initial_sensitivities[{i}, {j}] (species '{species[i]}') is "
                              "not finite")
        sens = s.ravel().tolist()
    return state, sens


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


def _no_protocol(model: Model, times: list) -> Protocol:
    """The protocol of a run without one: nothing in the medium, lasting to the last sample.

    Only for models without inputs: a model with inputs simulated without a protocol would
    silently run with every input at its default, which is almost never what was meant.
    """
    if model.inputs:
        raise ProtocolError(
            f"model '{model.name}' has inputs ({', '.join(model.inputs)}): pass a protocol "
            "(only a model without inputs simulates without one)")
    if not times:
        raise OptionError("without a protocol, pass the sample times t (they fix the duration)")
    last = max(times)
    # a protocol's duration must be > 0: samples at t = 0 alone still need a (short) run
    return _empty_protocol(last if last > 0 else 1.0)


@functools.lru_cache(maxsize=64)
def _empty_protocol(duration: float) -> Protocol:
    """The empty protocol of a given duration, built once: protocols are immutable, and building
    one (validation in C++) was a fifth of a small imported model's simulate() call."""
    return Protocol("no_protocol", duration, description="no protocol: a model without inputs")


@checks_text(OptionError, model=ModelError, protocol=ProtocolError, parameters=ModelError)
def simulate(model: Union[Model, str, "os.PathLike[str]"],
             protocol: Union[Protocol, str, "os.PathLike[str]", None] = None,
             t: Optional[Sequence[float]] = None,
             parameters: Optional[Mapping[str, float]] = None, *,
             options: Optional[Any] = None,
             method: Optional[str] = None, rtol: Optional[float] = None,
             atol: Optional[float] = None, max_steps: Optional[int] = None,
             raise_on_failure: Optional[bool] = None, max_step: Optional[float] = None,
             linear_solver: Optional[str] = None,
             sensitivities: Optional[Sequence[str]] = None,
             record_steps: Optional[bool] = None,
             initial_state: Union[Sequence[float], Mapping[str, float], None] = None,
             initial_sensitivities: Optional[Any] = None) -> Result:
    """Simulates a model under a protocol.

    The C++ integrator runs without the GIL, so several threads can simulate at
    once; on the main thread Ctrl-C interrupts it (within about 10 ms of wall
    time, raising KeyboardInterrupt). Every media change, addition and
    perturbation boundary is a breakpoint where the integrator stops and restarts.

    Parameters
    ----------
    model : Model or str
        A model, or a built-in name / path passed to :func:`load_model`.
    protocol : Protocol or str, optional
        A protocol, or a built-in name / path passed to :func:`load_protocol`. May be
        omitted (None) for a model without inputs (an imported SBML model, say): the
        run then lasts until the last sample time, and ``t`` is required.
    t : array_like, optional
        Sorted sample times in [0, duration] (days). Default: every 0.1 day (an
        OptionError if that would exceed ``MAX_RESULT_VALUES``: pass ``t``).
        Required without a protocol.
    parameters : mapping, optional
        Parameter values for this run only (as :meth:`Model.with_parameters`).
    options : SolverOptions, optional
        Solver options (default ``SolverOptions()``).
    method, rtol, atol, max_steps, raise_on_failure, max_step, linear_solver, sensitivities, record_steps : optional
        Override the field of the same name of ``options`` (see
        :class:`SolverOptions`); None (the default) keeps the field.
    initial_state : array_like or mapping, optional
        Start from this state instead of the model's initial values: n_species values in
        ``model.species`` order, or a mapping species name -> value (the others keep the
        model's). The protocol's t = 0 perturbations and knockouts still apply on top.
        Typically a :func:`steady_state` (pre-equilibration).
    initial_sensitivities : array_like, optional
        d x(0) / d θ, shape [n_species, len(sensitivities)] (needs ``sensitivities``).
        Default: the model's own (those of its initial values).

    Returns
    -------
    Result

    Raises
    ------
    OptionError
        Bad options or sample times; an ``initial_state`` / ``initial_sensitivities`` of the
        wrong shape, with a non-finite value or an unknown species (names the argument).
    ModelError, ProtocolError
        The protocol does not fit the model, or bad ``parameters``; a ProtocolError
        when the protocol is omitted for a model that has inputs.
    SolverError
        The integration failed (unless ``raise_on_failure=False``); ``code`` is the
        :class:`ReturnCode`.
    KeyboardInterrupt
        Ctrl-C during the integration.
    """
    if not isinstance(model, Model):
        from .library import load_model
        model = load_model(model)
    times = _times(t)
    if protocol is None:
        protocol = _no_protocol(model, times)
    elif not isinstance(protocol, Protocol):
        from .library import load_protocol
        protocol = load_protocol(protocol)
    units = model_units(model)  # of the model given: parameter values do not change them
    if parameters:
        model = model.with_parameters(dict(parameters))
    opts = solver_options(options, method=method, rtol=rtol, atol=atol, max_steps=max_steps,
                          raise_on_failure=raise_on_failure, max_step=max_step,
                          linear_solver=linear_solver, sensitivities=sensitivities,
                          record_steps=record_steps)
    if sensitivities:
        check_free_parameters(model, sensitivities, "sensitivities")
    x0, s0 = initial_conditions(model, initial_state, initial_sensitivities,
                                len(opts.sensitivities))
    core = _core.simulate(model._core, protocol._core, times, opts, x0, s0)
    return Result._from_core(core, units, model.time_unit, resolve(model, protocol))

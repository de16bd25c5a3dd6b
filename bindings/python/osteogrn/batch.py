"""simulate_batch(): many parameter sets x several protocols, on all cores or on a cluster.

The C++ batch runner (``core/src/batch.cpp``) runs every (set, protocol) task as one
:func:`osteogrn.simulate` call on a fixed pool of threads, with the GIL released for the
whole batch, so the results are bit-for-bit those of serial runs. With ``executor=`` the
sets are cut into chunks, each chunk runs the same C++ batch in a worker (any
:class:`concurrent.futures.Executor`, or a ``dask.distributed.Client``), and the chunks
are put back together in order.
"""

from __future__ import annotations

import functools
import os
import warnings
from typing import (TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence,
                    Tuple, Union)

import numpy as np

from . import _core
from ._text import checks_text
from .errors import ModelError, OptionError, ProtocolError
from ._sbml_ids import check_free_parameters
from .model import Model
from .protocol import Protocol
from .result import return_codes
from .simulation import SolverOptions, solver_options

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["simulate_batch", "BatchResult"]

#: Fields of SolverOptions a batch does not take (every task records its failure; step logs
#: and sensitivities need osteogrn.simulate).
_NOT_IN_BATCH = ("record_steps", "raise_on_failure", "sensitivities")


# -- argument handling ------------------------------------------------------------------
def _solver_options(options: Any, overrides: Mapping[str, Any]) -> Any:
    allowed = [f for f in SolverOptions().to_dict() if f not in _NOT_IN_BATCH]
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise OptionError(f"simulate_batch: unknown or unsupported option(s) "
                          f"{', '.join(unknown)}; solver options of a batch: "
                          f"{', '.join(allowed)} (a failed task is always recorded, "
                          f"never raised; step logs and sensitivities need osteogrn.simulate)")
    return solver_options(options, **overrides)


def _threads(threads: Any) -> int:
    if threads is None:
        return 0  # C++: std::thread::hardware_concurrency()
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise OptionError(f"threads must be a positive integer or None (all cores), "
                          f"got {threads!r}")
    return min(int(threads), 4096)


def _protocols(protocols: Any) -> List[Protocol]:
    from .library import load_protocol
    if isinstance(protocols, (Protocol, str, os.PathLike)):
        protocols = [protocols]
    try:
        items = list(protocols)
    except TypeError:
        raise OptionError(f"protocols must be a Protocol, a name or a list of them, "
                          f"got {type(protocols).__name__}") from None
    if not items:
        raise OptionError("simulate_batch needs at least one protocol")
    return [p if isinstance(p, Protocol) else load_protocol(p) for p in items]


def _as_float(value: Any, name: str, row: int) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ModelError(f"parameter set {row}: '{name}' = {value!r} is not a number",
                         pointer=f"/parameters/{name}") from None


def _parameter_matrix(model: Model, parameters: Any,
                      param_names: Optional[Sequence[str]]) -> Tuple[List[str], np.ndarray]:
    """-> (names, float matrix [n_sets, len(names)]). See simulate_batch for the forms."""
    model_values = model.parameters
    if param_names is not None:
        if isinstance(param_names, str):
            param_names = [param_names]
        param_names = [str(n) for n in param_names]
    if parameters is None:  # one run with the model's own values
        if param_names:
            raise OptionError("param_names given without parameters")
        return [], np.empty((1, 0))

    if hasattr(parameters, "columns") and hasattr(parameters, "to_numpy"):  # a DataFrame
        names = param_names if param_names is not None else [str(c) for c in parameters.columns]
        frame = parameters[names] if param_names is not None else parameters
        try:
            return names, np.asarray(frame.to_numpy(dtype=float), dtype=float).reshape(
                len(frame), len(names))
        except (TypeError, ValueError) as e:
            raise ModelError(f"parameters: a value is not a number ({e})") from None

    if isinstance(parameters, Mapping):
        parameters = [parameters]
    if isinstance(parameters, (list, tuple)) and parameters and all(
            isinstance(row, Mapping) for row in parameters):
        # Names: param_names, else the union of the keys in first-seen order. A set that
        # leaves a name out takes the model's current value for it.
        if param_names is None:
            seen: Dict[str, None] = {}
            for row in parameters:
                for key in row:
                    seen.setdefault(str(key), None)
            names = list(seen)
        else:
            names = param_names
        # an imported model's constants are also named by their SBML ids
        model_values = {**{sid: model_values[e["name"]] for sid, e in model.sbml_symbols.items()
                           if not e["column"] and e["name"] in model_values}, **model_values}
        for name in names:
            if name not in model_values:
                raise ModelError(f"unknown parameter '{name}' in the parameter sets (model "
                                 f"'{model.name}' has {len(model_values)} parameters; "
                                 f"Model.parameters lists them)", pointer=f"/parameters/{name}")
        allowed = set(names)
        matrix = np.empty((len(parameters), len(names)))
        for i, row in enumerate(parameters):
            extra = sorted(str(k) for k in row if str(k) not in allowed)
            if extra:
                raise OptionError(f"parameter set {i} names {', '.join(extra)}, which are not "
                                  f"in param_names")
            for j, name in enumerate(names):
                matrix[i, j] = _as_float(row[name], name, i) if name in row else model_values[name]
        return names, matrix

    try:
        matrix = np.array(parameters, dtype=float)
    except (TypeError, ValueError):
        raise OptionError(f"parameters must be an [n_sets x n_params] array, a DataFrame or a "
                          f"list of dicts, got {type(parameters).__name__}") from None
    names = param_names if param_names is not None else list(model_values)
    if matrix.ndim == 1 and len(names) == 1:
        matrix = matrix.reshape(-1, 1)  # one parameter: a plain vector of values
    if matrix.ndim != 2 or matrix.shape[1] != len(names):
        hint = ("" if param_names is not None else
                f" (without param_names, one column per model parameter in Model.parameters "
                f"order: {len(names)})")
        raise OptionError(f"parameters has shape {matrix.shape}; expected (n_sets, "
                          f"{len(names)}){hint}")
    return names, matrix


def _times(t: Any) -> List[float]:
    if t is None:
        return []
    try:
        arr = np.asarray(t, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise OptionError(f"t must be an array of numbers, got {type(t).__name__}") from None
    if np.ndim(t) > 1:
        raise OptionError(f"t must be one-dimensional, got shape {np.shape(t)}")
    if arr.size == 0:
        raise OptionError("t is empty; pass None for the default sample times")
    return arr.tolist()


def _outputs(outputs: Any) -> List[str]:
    if outputs is None:
        return []
    if isinstance(outputs, str):
        return [outputs]
    names = [str(o) for o in outputs]
    if not names:
        raise OptionError("outputs is empty; pass None for every species and observable")
    return names


# -- progress -------------------------------------------------------------------------
def _progress_callback(progress: Any) -> Tuple[Optional[Callable[[int, int], None]],
                                                Callable[[], None]]:
    """-> (callback(done, total) or None, close())."""
    if progress is False or progress is None:
        return None, lambda: None
    if callable(progress):
        return progress, lambda: None
    if progress is not True:
        raise OptionError(f"progress must be True, False or a callable (done, total), "
                          f"got {progress!r}")
    from tqdm.auto import tqdm  # a dependency of the package (also used by og.fit)

    bar = tqdm(total=0, desc="simulate_batch", unit="task")

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar.close


# -- execution ------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _model_from_text(text: str) -> Model:
    # A worker compiles a model once per process, not once per chunk.
    return Model.from_json(text, source="<simulate_batch>")


@functools.lru_cache(maxsize=64)
def _protocol_from_text(text: str) -> Protocol:
    return Protocol.from_json(text, source="<simulate_batch>")


def _run_chunk(model_json: str, protocol_jsons: Sequence[str], names: Sequence[str],
               matrix: np.ndarray, t: Sequence[float], options: Any,
               threads: int, outputs: Sequence[str]
               ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """One chunk of a batch in a worker: small, picklable arguments (JSON text, an array,
    SolverOptions)."""
    model = _model_from_text(model_json)
    protocols = [_protocol_from_text(p) for p in protocol_jsons]
    values, failed, codes, messages, _, _ = _core.simulate_batch(
        model._core, [p._core for p in protocols], list(names), matrix, list(t), options,
        threads, list(outputs))
    return values, failed, codes, messages


def _executor_workers(executor: Any) -> int:
    nthreads = getattr(executor, "nthreads", None)  # dask.distributed.Client
    if callable(nthreads):
        try:
            return max(1, sum(dict(nthreads()).values()))
        except Exception:  # noqa: BLE001 - a client without workers yet: fall through
            pass
    workers = getattr(executor, "_max_workers", None)  # concurrent.futures pools
    if isinstance(workers, int) and workers > 0:
        return workers
    return os.cpu_count() or 1


def _run_on_executor(executor: Any, model: Model, protocols: List[Protocol], names: List[str],
                     matrix: np.ndarray, t: List[float], options: Any, threads: int,
                     outputs: List[str], chunk_size: Optional[int],
                     progress: Optional[Callable[[int, int], None]]
                     ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    if not callable(getattr(executor, "submit", None)):
        raise OptionError(f"executor must have submit() (a concurrent.futures.Executor or a "
                          f"dask.distributed.Client), got {type(executor).__name__}")
    n_sets = matrix.shape[0]
    if chunk_size is None:
        chunk_size = max(1, n_sets // (4 * _executor_workers(executor)))
    elif isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) \
            or chunk_size < 1:
        raise OptionError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    model_json = model.to_json()
    protocol_jsons = [p.to_json() for p in protocols]
    starts = range(0, n_sets, int(chunk_size))
    futures = [executor.submit(_run_chunk, model_json, protocol_jsons, names,
                               matrix[s:s + chunk_size], t, options, threads, outputs)
               for s in starts]
    parts = []
    done = 0
    try:
        for start, future in zip(starts, futures):
            parts.append(future.result())
            done = min(n_sets, start + chunk_size) * len(protocols)
            if progress:
                progress(done, n_sets * len(protocols))
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    values = np.concatenate([p[0] for p in parts], axis=0)
    failed = np.concatenate([p[1] for p in parts], axis=0)
    codes = np.concatenate([p[2] for p in parts], axis=0)
    messages = [m for p in parts for m in p[3]]
    return values, failed, codes, messages


@checks_text(OptionError, model=ModelError, protocols=ProtocolError, parameters=ModelError,
             param_names=ModelError)
def simulate_batch(model: Union[Model, str, "os.PathLike[str]"],
                   protocols: Any,
                   parameters: Any = None,
                   param_names: Optional[Sequence[str]] = None,
                   t: Optional[Sequence[float]] = None,
                   threads: Optional[int] = None,
                   progress: Union[bool, Callable[[int, int], None]] = False,
                   executor: Any = None, *,
                   chunk_size: Optional[int] = None,
                   outputs: Optional[Sequence[str]] = None,
                   options: Optional[Any] = None,
                   **solver_overrides: Any) -> "BatchResult":
    """Simulates many parameter sets under one or several protocols, on all cores.

    Every (set, protocol) pair is one task, run by C++ threads with the GIL
    released; each task is exactly :func:`osteogrn.simulate` with those
    parameters, so the values equal serial runs bit for bit, whatever the
    number of threads or workers. A task whose integration fails is recorded
    in ``failed``/``messages`` (values NaN from the failure on) and the others
    complete.

    Parameters
    ----------
    model : Model or str
        A model, or a built-in name / path.
    protocols : Protocol, str, or a sequence of them
        One protocol or several (built-in names or paths are loaded).
    parameters : array_like, DataFrame, dict or list of dicts, optional
        The parameter sets. An ``[n_sets x n_params]`` array whose columns are
        ``param_names`` (without ``param_names``: every model parameter, in
        :attr:`Model.parameters` order); a 1-D array if there is one name; a
        DataFrame (columns are the names); or a list of dicts name -> value,
        where the names are the union of the keys (or ``param_names``) and a
        set that leaves a name out takes the model's current value. None: one
        run of the model as it is.
    param_names : sequence of str, optional
        Names of the varied parameters.
    t : array_like, optional
        Sample times shared by all protocols; they must lie within the shortest
        protocol. Default: every 0.1 day up to the longest protocol; a shorter
        protocol has NaN after its end.
    threads : int, optional
        C++ worker threads; None = every core (``hardware_concurrency``). With
        an ``executor``: threads per chunk (default 1, one per worker slot).
    progress : bool or callable, optional
        True: a tqdm progress bar on stderr. A
        callable gets ``(done, total)`` tasks about every 0.1 s. Ctrl-C, or an
        exception raised by the callable, cancels the batch.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Run chunks of parameter sets through ``executor.submit``; the model and
        protocols travel as JSON text.
    chunk_size : int, optional
        Parameter sets per chunk with an ``executor``; default
        ``max(1, n_sets // (4 * workers))``.
    outputs : sequence of str, optional
        Species/observables to keep (default all species, then all observables);
        fewer outputs mean less memory for large batches.
    options : SolverOptions, optional
        Solver options of every task (default ``SolverOptions()``); its
        ``raise_on_failure`` is ignored (failures are recorded), ``record_steps``
        and ``sensitivities`` must be off.
    **solver_overrides
        ``method``, ``rtol``, ``atol``, ``max_steps``, ``max_step``,
        ``linear_solver``: override the field of ``options`` (as in
        :func:`osteogrn.simulate`).

    Returns
    -------
    BatchResult

    Raises
    ------
    OptionError
        Bad options, shapes, sample times, or unknown keyword options; a batch whose
        results would hold more than ``osteogrn.MAX_RESULT_VALUES`` values (n_sets x
        n_protocols x n_t x n_outputs), raised before anything is allocated.
    MemoryError
        The results fit that limit but not in memory (the message gives the sizes and
        how to shrink them).
    KeyboardInterrupt
        Ctrl-C (running tasks stop at their next step).
    ModelError
        Unknown parameter names, non-finite values, values outside the
        parameters' bounds (the message names the set).
    ProtocolError
        A protocol that does not fit the model.
    """
    if not isinstance(model, Model):
        from .library import load_model
        model = load_model(model)
    protocol_list = _protocols(protocols)
    seen_names = [p.name for p in protocol_list]
    if len(set(seen_names)) != len(seen_names):
        raise OptionError(f"protocol names must be unique in a batch (they label the results), "
                          f"got {', '.join(seen_names)}")
    names, matrix = _parameter_matrix(model, parameters, param_names)
    check_free_parameters(model, names, "simulate_batch",
                          {n: matrix[:, k] for k, n in enumerate(names)})
    times = _times(t)
    opts = _solver_options(options, solver_overrides)
    n_threads = _threads(threads)
    output_names_requested = _outputs(outputs)
    # a model imported from SBML also takes SBML ids: of constants for parameters, of symbols
    # with a result column for outputs (the frame of parameters keeps the names given)
    sbml = model.sbml_symbols
    user_names, names = names, [sbml[n]["name"] if n in sbml and not sbml[n]["column"] else n
                                for n in names]
    output_names_requested = [sbml[o]["column"] if o in sbml and sbml[o]["column"] else o
                              for o in output_names_requested]
    callback, close = _progress_callback(progress)
    cores = [p._core for p in protocol_list]
    try:
        if executor is None:
            values, failed, codes, messages, grid, output_names = _core.simulate_batch(
                model._core, cores, names, matrix, times, opts, n_threads,
                output_names_requested, progress=callback)
        else:
            # Validate everything here so that input errors raise before any chunk is sent.
            grid, output_names = _core.check_batch(model._core, cores, names, matrix, times,
                                                   opts, n_threads, output_names_requested)
            values, failed, codes, messages = _run_on_executor(
                executor, model, protocol_list, names, matrix, times, opts,
                n_threads if threads is not None else 1, output_names_requested, chunk_size,
                callback)
    finally:
        close()
    n_sets, n_protocols = failed.shape
    import pandas as pd
    frame = pd.DataFrame(matrix, columns=user_names)
    frame.index.name = "set"
    return BatchResult(values=values, failed=np.asarray(failed, dtype=bool),
                       codes=return_codes(codes),
                       messages=np.array(messages, dtype=object).reshape(n_sets, n_protocols),
                       t=np.asarray(grid, dtype=float), parameters=frame,
                       protocol_names=[p.name for p in protocol_list],
                       output_names=list(output_names), model_name=model.name,
                       observable_names=[o for o in model.observables if o in output_names],
                       solver_options=opts, units=_output_units(model, output_names),
                       time_unit=model.time_unit,
                       sbml_outputs={sid: e["column"] for sid, e in sbml.items()
                                     if e["column"] in output_names})


def _output_units(model: Model, output_names: Sequence[str]) -> Dict[str, str]:
    from ._units import model_units
    units = model_units(model)
    return {name: units.get(name, "") for name in output_names}


def _as_solver_options(options: Any) -> Any:
    return solver_options(options)


class BatchResult:
    """The results of :func:`simulate_batch`.

    Attributes
    ----------
    values : numpy.ndarray
        Shape ``[n_sets, n_protocols, n_t, n_outputs]``; outputs are the species
        then the observables (``output_names``). NaN after a failure and after
        the end of a protocol shorter than ``t``.
    failed : numpy.ndarray of bool
        ``[n_sets, n_protocols]``: True where the task failed.
    codes : numpy.ndarray of ReturnCode
        ``[n_sets, n_protocols]`` (object array): how each task ended,
        ``ReturnCode.success`` where it succeeded; compare with ``==``, e.g.
        ``res.codes == og.ReturnCode.max_steps``.
    messages : numpy.ndarray of str
        ``[n_sets, n_protocols]``: the failure message, ``""`` where it succeeded.
    t : numpy.ndarray
        Sample times (days), shared by all protocols.
    parameters : pandas.DataFrame
        One row per set (index ``set``), one column per varied parameter.
    protocol_names, output_names : list of str
    model_name : str
    solver_options : SolverOptions
    units : dict of str to str
        Output name -> unit, as the model file states it (empty for a result built
        without them).
    time_unit : str
        Unit of ``t`` (the model's time unit, ``"day"``).
    sbml_outputs : dict of str to str
        For a model imported from SBML: SBML id -> its output (``res[sbml_id]``, and the
        ``names`` of :meth:`to_frame` and :meth:`quantiles`, accept the id); empty otherwise.
    """

    def __init__(self, *, values: np.ndarray, failed: np.ndarray, messages: np.ndarray,
                 codes: Optional[np.ndarray] = None,
                 t: np.ndarray, parameters: "pd.DataFrame", protocol_names: List[str],
                 output_names: List[str], model_name: str = "",
                 observable_names: Sequence[str] = (),
                 solver_options: Optional[Any] = None,
                 units: Optional[Mapping[str, str]] = None, time_unit: str = "day",
                 sbml_outputs: Optional[Mapping[str, str]] = None) -> None:
        self.values = values
        self.failed = failed
        # Without codes (a result built by hand): success, or other where it failed.
        self.codes = codes if codes is not None else return_codes(
            np.where(np.asarray(failed, dtype=bool), int(_core.ReturnCode.other), 0))
        self.messages = messages
        self.t = t
        self.parameters = parameters
        self.protocol_names = list(protocol_names)
        self.output_names = list(output_names)
        self.model_name = model_name
        self.observable_names = list(observable_names)
        self.solver_options = _as_solver_options(solver_options)
        self.units = {str(k): str(v) for k, v in (units or {}).items()}
        self.time_unit = str(time_unit)
        self.sbml_outputs = {str(k): str(v) for k, v in (sbml_outputs or {}).items()}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        # a BatchResult pickled before batch results carried units
        state.setdefault("units", {})
        state.setdefault("time_unit", "day")
        state.setdefault("sbml_outputs", {})
        self.__dict__.update(state)

    @property
    def n_sets(self) -> int:
        """Number of parameter sets."""
        return self.values.shape[0]

    @property
    def n_protocols(self) -> int:
        """Number of protocols."""
        return self.values.shape[1]

    def _output(self, name: str) -> int:
        name = self.sbml_outputs.get(name, name)  # an SBML id first, as Result does
        try:
            return self.output_names.index(name)
        except ValueError:
            raise KeyError(f"no output '{name}'; outputs: {', '.join(self.output_names)}") \
                from None

    def _protocol(self, name: str) -> int:
        try:
            return self.protocol_names.index(name)
        except ValueError:
            raise KeyError(f"no protocol '{name}'; protocols: "
                           f"{', '.join(self.protocol_names)}") from None

    def __getitem__(self, name: str) -> np.ndarray:
        """Values of one output (or of the SBML id of one), shape
        ``[n_sets, n_protocols, n_t]``."""
        return self.values[..., self._output(name)]

    def to_frame(self, parameters: bool = False,
                 names: Optional[Sequence[str]] = None) -> "pd.DataFrame":
        """A tidy table: one row per (set, protocol, time, output).

        Parameters
        ----------
        parameters : bool, optional
            Add one column per varied parameter (the set's value).
        names : sequence of str, optional
            Outputs to include (default all).

        Returns
        -------
        pandas.DataFrame
            Columns ``set``, ``protocol``, ``time``, ``name``, ``value``, ``unit`` (the
            unit of the row's output; then the parameters); ``protocol``, ``name`` and
            ``unit`` are categorical. ``frame.attrs["units"]`` gives the unit of ``time``.
            Failed tasks keep their rows (NaN after the failure); see ``failed``.
        """
        import pandas as pd
        cols = [self._output(n) for n in names] if names is not None else \
            list(range(len(self.output_names)))
        out_names = [self.output_names[c] for c in cols]
        v = self.values[..., cols]
        n_s, n_p, n_t, n_o = v.shape
        inner = n_p * n_t * n_o
        out_units = [self.units.get(n, "") for n in out_names]
        unit_names = sorted(set(out_units))
        frame = pd.DataFrame({
            "set": np.repeat(np.arange(n_s), inner),
            "protocol": pd.Categorical.from_codes(
                np.tile(np.repeat(np.arange(n_p), n_t * n_o), n_s), self.protocol_names),
            "time": np.tile(np.repeat(self.t, n_o), n_s * n_p),
            "name": pd.Categorical.from_codes(np.tile(np.arange(n_o), n_s * n_p * n_t),
                                              out_names),
            "value": v.reshape(-1),
            "unit": pd.Categorical.from_codes(
                np.tile([unit_names.index(u) for u in out_units], n_s * n_p * n_t),
                unit_names),
        })
        frame.attrs["units"] = {"time": self.time_unit}
        if parameters:
            for column in self.parameters.columns:
                frame[column] = np.repeat(self.parameters[column].to_numpy(), inner)
        return frame

    def quantiles(self, q: Sequence[float] = (0.05, 0.5, 0.95),
                  names: Optional[Sequence[str]] = None) -> "pd.DataFrame":
        """Quantiles over the parameter sets, for plotting bands.

        Failed tasks are left out; so are times after a protocol's end (NaN).

        Parameters
        ----------
        q : sequence of float
            Quantiles in [0, 1].
        names : sequence of str, optional
            Outputs (default all).

        Returns
        -------
        pandas.DataFrame
            Index (``protocol``, ``name``, ``time``), one column per quantile
            (the float q), and ``n``: the number of sets that contributed.
        """
        import pandas as pd
        qs = np.atleast_1d(np.asarray(q, dtype=float))
        if qs.ndim != 1 or qs.size == 0 or not np.all((qs >= 0) & (qs <= 1)):
            raise OptionError(f"q must be quantiles in [0, 1], got {q!r}")
        cols = [self._output(n) for n in names] if names is not None else \
            list(range(len(self.output_names)))
        v = self.values[..., cols].copy()
        v[self.failed] = np.nan
        with warnings.catch_warnings():  # all-NaN columns (no set succeeded) give NaN quietly
            warnings.simplefilter("ignore", RuntimeWarning)
            quant = np.nanquantile(v, qs, axis=0) if v.shape[0] else \
                np.full((qs.size,) + v.shape[1:], np.nan)
        count = np.sum(~np.isnan(v), axis=0)  # [n_p, n_t, n_o]
        # Levels in batch order (not sorted), so that the index is lexsorted and .loc is fast.
        n_p, n_t, n_o = count.shape
        times, time_codes = np.unique(self.t, return_inverse=True)
        index = pd.MultiIndex(
            levels=[self.protocol_names, [self.output_names[c] for c in cols], times],
            codes=[np.repeat(np.arange(n_p), n_o * n_t),
                   np.tile(np.repeat(np.arange(n_o), n_t), n_p),
                   np.tile(time_codes.reshape(-1), n_p * n_o)],
            names=["protocol", "name", "time"])
        # [.., n_p, n_t, n_o] -> rows in (protocol, name, time) order
        data = {float(x): quant[i].transpose(0, 2, 1).reshape(-1) for i, x in enumerate(qs)}
        data["n"] = count.transpose(0, 2, 1).reshape(-1)
        return pd.DataFrame(data, index=index)

    def plot_quantiles(self, names: Optional[Sequence[str]] = None,
                       q: Sequence[float] = (0.05, 0.5, 0.95), *, ncols: int = 3,
                       figsize: Optional[Sequence[float]] = None,
                       title: Optional[str] = None) -> "Figure":
        """One panel per output: per protocol, the band between the lowest and highest
        quantile and a line at the middle one (the median by default).

        Parameters
        ----------
        names : sequence of str, optional
            Outputs; default the observables (all outputs if there are none).
        q : sequence of float
            Quantiles; the first and last bound the band, the middle one is drawn.
        ncols : int, optional
            Panels per row.
        figsize : (float, float), optional
        title : str, optional

        Returns
        -------
        matplotlib.figure.Figure
            Built without pyplot.
        """
        from .plotting import panel_grid, run_styles

        qs = sorted(float(x) for x in np.atleast_1d(q))
        if names is None:
            names = [n for n in self.observable_names if n in self.output_names] or \
                list(self.output_names)
        names = list(names)
        if not names:
            raise ValueError("plot_quantiles: nothing to plot")
        table = self.quantiles(qs, names)
        fig, axes = panel_grid(len(names), ncols, figsize)
        styles = run_styles(len(self.protocol_names))
        mid = qs[len(qs) // 2]
        for ax, name in zip(axes, names):
            for protocol, (color, linestyle) in zip(self.protocol_names, styles):
                part = table.loc[(protocol, name)]
                if len(qs) > 1:
                    ax.fill_between(part.index, part[qs[0]], part[qs[-1]], color=color,
                                    alpha=0.25, linewidth=0)
                ax.plot(part.index, part[mid], color=color, linestyle=linestyle,
                        label=protocol)
            ax.set_title(name)
            ax.set_xlabel(f"time [{self.time_unit}]")
            if self.units.get(name):
                ax.set_ylabel(f"{name} [{self.units[name]}]")
        axes[0].legend(fontsize="small")
        band = f"{qs[0]:g}-{qs[-1]:g} quantiles, line {mid:g}"
        fig.suptitle(title or f"{self.model_name}: {self.n_sets} parameter sets ({band})")
        return fig

    def __repr__(self) -> str:
        return (f"<osteogrn.BatchResult '{self.model_name}': {self.n_sets} sets x "
                f"{self.n_protocols} protocols x {len(self.t)} times x "
                f"{len(self.output_names)} outputs, {int(self.failed.sum())} failed>")

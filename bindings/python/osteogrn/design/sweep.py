"""og.sweep(): a grid of protocol edits and parameter values, reduced to readouts, one row
per point.

The grid is turned into distinct protocols (one per combination of protocol paths) and
distinct parameter sets (one per combination of ``parameters.*`` paths), and run through
:func:`osteogrn.simulate_batch`, which runs sets x protocols as a cross product:

- when the points are the full cross product of their protocols and parameter sets (any
  ``mode="product"`` grid), that is one batch with no wasted task;
- otherwise (``mode="zip"`` over protocol and parameter paths, explicit points) the points
  are grouped by protocol, or by parameter set if that makes fewer groups, and each group
  runs as its own batch, the groups in parallel on a thread pool (the batch releases the GIL).

Readouts are evaluated on the whole batch at once (numpy over the set and protocol axes).
"""

from __future__ import annotations

import concurrent.futures
import itertools
import math
import os
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..batch import simulate_batch
from ..errors import ModelError, OptionError, OsteogrnError, ProtocolError
from ..model import Model
from ..protocol import Protocol
from . import paths as _paths
from .readouts import Readout, readouts as _readouts, sample_times

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["sweep"]

#: A cross-product batch is used when it runs at most this fraction more tasks than there
#: are distinct points (otherwise points are grouped; see the module docstring).
_WASTE = 0.10


def _axis(path: str, values: Any) -> List[Any]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        return [values]
    # numpy arrays become Python numbers (hashable keys, plain values in the frame)
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if not items:
        raise OptionError(f"grid['{path}'] is empty; give at least one value")
    return items


def _points(grid: Any, mode: str) -> Tuple[List[str], List[Tuple[Any, ...]]]:
    """-> (paths, one tuple of values per point)."""
    if hasattr(grid, "columns") and hasattr(grid, "itertuples"):  # a DataFrame: explicit points
        names = [str(c) for c in grid.columns]
        return names, [tuple(row) for row in grid.itertuples(index=False, name=None)]
    if isinstance(grid, Sequence) and grid and all(isinstance(p, Mapping) for p in grid):
        names = list(dict.fromkeys(str(k) for p in grid for k in p))
        missing = [i for i, p in enumerate(grid) if set(map(str, p)) != set(names)]
        if missing:
            raise OptionError(f"grid point {missing[0]} does not set every path "
                              f"({', '.join(names)})")
        return names, [tuple(p[n] for n in names) for p in grid]
    if not isinstance(grid, Mapping):
        raise OptionError(f"grid must map paths to values (or be a DataFrame / list of dicts "
                          f"of points), got {type(grid).__name__}")
    if not grid:
        raise OptionError("grid is empty; give at least one path, e.g. "
                          "{'bmp2.concentration': [0, 10, 100]}")
    names = [str(k) for k in grid]
    axes = [_axis(n, v) for n, v in zip(names, grid.values())]
    if mode == "product":
        return names, list(itertools.product(*axes))
    if mode == "zip":
        lengths = {n: len(a) for n, a in zip(names, axes)}
        if len(set(lengths.values())) > 1:
            raise OptionError(f"mode='zip' needs axes of equal length, got "
                              f"{', '.join(f'{n}: {k}' for n, k in lengths.items())}")
        return names, list(zip(*axes))
    raise OptionError(f"mode must be 'product' or 'zip', got {mode!r}")


def _key(value: Any) -> Any:
    """A hashable, exact key for a grid value (lists of days become tuples)."""
    if type(value) is float or type(value) is int:
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(_key(v) for v in value)
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def _fmt(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ",".join(_fmt(v) for v in value) + "]"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"{float(value):.12g}"
    return str(value)


def _label_part(cache: Dict[Tuple[int, Any], str], path: str, column: int, key: Any) -> str:
    text = cache.get((column, key))
    if text is None:
        text = cache[(column, key)] = f"{path}={_fmt(key)}"
    return text


def _parameter_problems(table: Mapping[str, Tuple[Optional[float], Optional[float]]],
                        names: Sequence[str], row: Sequence[float]) -> str:
    """'' if the values are finite and within the parameters' bounds (``table``, from
    _parameter_bounds), else why not (one point's parameters are checked here so that a bad
    one does not stop the batch)."""
    for name, x in zip(names, row):
        if not math.isfinite(x):
            return f"parameters.{name} = {x!r} is not finite"
        lo, hi = table.get(name, (None, None))
        if lo is not None and x < lo:
            return f"parameters.{name} = {x:g} is below its lower bound {lo:g}"
        if hi is not None and x > hi:
            return f"parameters.{name} = {x:g} is above its upper bound {hi:g}"
    return ""


def _parameter_bounds(model: Model) -> Dict[str, Tuple[Optional[float], Optional[float]]]:
    out = {}
    for row in model._core.parameters:
        lo, hi = row.get("min"), row.get("max")
        out[row["name"]] = (None if lo is None else float(lo), None if hi is None else float(hi))
    return out


class _Plan:
    """Distinct protocols and parameter sets of the valid points, and the batches to run."""

    def __init__(self) -> None:
        self.protocols: List[Protocol] = []          # distinct protocols (unique names)
        self.sets: List[Tuple[float, ...]] = []      # distinct parameter rows
        self.point_protocol: List[int] = []          # per point: index in protocols, -1 invalid
        self.point_set: List[int] = []               # per point: index in sets, -1 invalid


def sweep(model: Union[Model, str], protocol: Union[Protocol, str], grid: Any,
          t: Optional[Sequence[float]] = None, readouts: Any = None, *,
          mode: str = "product", threads: Optional[int] = None, executor: Any = None,
          options: Any = None, **solver: Any) -> "pd.DataFrame":
    """Simulates a grid of protocol edits and parameter values; one row of readouts per point.

    Parameters
    ----------
    model : Model or str
        A model, or a built-in name / path.
    protocol : Protocol or str
        The template protocol that the grid edits.
    grid : mapping path -> values, DataFrame, or list of dicts
        Paths (see :mod:`osteogrn.design.paths`): ``"bmp2.concentration"``,
        ``"bmp2.until"``, ``"media_changes.every"``, ``"duration"``, ``"parameters.k_commit"``,
        ... mapped to the values to try. A DataFrame (columns are paths) or a list of dicts
        gives the points explicitly (``mode`` is then ignored).
    t : array_like, optional
        Sample times for every point. Default: only what the readouts need — the days they
        read (``@d``, window ends) and, if a readout looks at the whole course (max, argmax,
        time_to, auc, mean), a grid every 0.1 day (``readouts.DEFAULT_DT``) over each
        protocol's run.
    readouts : str, Readout or a sequence of them, optional
        E.g. ``["mineral@21", "max(ALP)", "time_to(mineral, 1.0)"]``; default: every
        observable at the end of the run (``X@duration``).
    mode : {"product", "zip"}
        Full factorial over the axes, or the i-th values of all axes together.
    threads : int, optional
        C++ threads (None: every core).
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Passed to :func:`osteogrn.simulate_batch`.
    options : SolverOptions or dict, optional
    **solver
        Solver options (as in :func:`osteogrn.simulate_batch`).

    Returns
    -------
    pandas.DataFrame
        One row per grid point, in grid order (the last axis fastest in ``"product"``
        mode): one column per path (named by the path), ``protocol`` (the unique name of
        the point's protocol, e.g. ``osteogenic_medium[bmp2.concentration=100]``), one
        column per readout (named by its text), ``status`` (``"success"``, a
        :class:`ReturnCode` name if the integration failed, or ``"invalid"`` if the point's
        protocol or parameters are not valid) and ``message`` (``""`` on success). A point
        that is invalid or fails has NaN readouts; the other points are unaffected.
        ``attrs``: ``units`` (column -> unit), ``protocols`` (name -> Protocol), ``t`` (the
        sample times; a dict duration -> times when the grid varies the duration),
        ``readouts`` (list of Readout).

    Raises
    ------
    OptionError
        An unknown path, component or parameter; a readout that does not parse or names an
        unknown output; a readout day past the end of every protocol; bad solver options.
    OsteogrnError
        When every point is invalid, the first point's error (usually a mistake in the
        template or the grid rather than one bad value).

    Notes
    -----
    Each point's values are those of ``og.simulate`` with that protocol, those parameters
    and the same sample times (``frame.attrs["t"]``): the batch runs the same integration.
    A readout needing a day past a point's run (when ``duration`` varies) is NaN there.

    Examples
    --------
    >>> frame = og.sweep("osteogenic", "om_bmp2",
    ...                  {"bmp2.concentration": [0, 10, 30, 100, 300],
    ...                   "media_changes.every": [2, 3, 4]},
    ...                  readouts=["mineral@21", "max(ALP)"])   # doctest: +SKIP
    """
    import pandas as pd

    if not isinstance(model, Model):
        from ..library import load_model
        model = load_model(model)
    if not isinstance(protocol, Protocol):
        from ..library import load_protocol
        protocol = load_protocol(protocol)
    names, points = _points(grid, mode)
    parsed = _paths.check(names, protocol, model)
    protocol_cols = [i for i, p in enumerate(parsed) if not p.is_parameter]
    param_cols = [i for i, p in enumerate(parsed) if p.is_parameter]
    param_names = [parsed[i].target for i in param_cols]
    if len(set(names)) != len(names):
        raise OptionError(f"grid names a path twice: {', '.join(names)}")

    if readouts is None:
        readouts = [f"{o}@{protocol.duration:g}" for o in model.observables]
    rs = _readouts(readouts)
    for r in rs:
        r.check(model)
    outputs = list(dict.fromkeys(o for r in rs for o in r.outputs))

    # -- distinct protocols and parameter sets --------------------------------------------
    n = len(points)
    status = np.full(n, "success", dtype=object)
    message = np.full(n, "", dtype=object)
    point_names = np.empty(n, dtype=object)
    plan = _Plan()
    protocol_index: Dict[Any, int] = {}
    set_index: Dict[Any, int] = {}
    bad_protocols: Dict[Any, Tuple[str, str]] = {}
    first_error: Optional[BaseException] = None
    used_names: Dict[str, Any] = {}
    bounds = _parameter_bounds(model) if param_cols else {}
    template = _paths.Template(protocol)
    labels: List[str] = []   # the name of each distinct protocol
    base_name = protocol.name
    parts: Dict[Tuple[int, Any], str] = {}   # (column, value key) -> "path=value", formatted once
    build = template.builder([names[i] for i in protocol_cols]) if protocol_cols else None
    for point in points:
        pkey = tuple(_key(point[i]) for i in protocol_cols)
        if pkey in protocol_index:
            p_idx = protocol_index[pkey]
            point_names[len(plan.point_protocol)] = labels[p_idx]
        elif pkey in bad_protocols:
            p_idx = -1
            point_names[len(plan.point_protocol)], why = bad_protocols[pkey]
            message[len(plan.point_protocol)] = why
        else:
            label = base_name
            if protocol_cols:
                label += "[" + ",".join(_label_part(parts, names[i], i, pkey[j])
                                        for j, i in enumerate(protocol_cols)) + "]"
            if label in used_names:  # two values that print alike (12 significant digits)
                label += f"#{len(plan.protocols) + len(bad_protocols)}"
            used_names[label] = pkey
            try:
                edited = None
                if build is not None:
                    try:
                        edited = build([point[i] for i in protocol_cols], label)
                    except (ValueError, TypeError) as e:
                        if isinstance(e, OsteogrnError):
                            raise
                if edited is None:  # other paths, or a value apply() explains
                    edited, _ = template.apply({names[i]: point[i] for i in protocol_cols},
                                               name=label if protocol_cols else None)
            except OsteogrnError as e:
                first_error = first_error or e
                bad_protocols[pkey] = (label, str(e))
                p_idx = -1
                point_names[len(plan.point_protocol)] = label
                message[len(plan.point_protocol)] = str(e)
            else:
                p_idx = protocol_index[pkey] = len(plan.protocols)
                labels.append(label)
                plan.protocols.append(edited)
                point_names[len(plan.point_protocol)] = label
        s_idx = -1
        if p_idx >= 0:
            try:
                row = tuple(float(_paths._number(names[i], point[i])) for i in param_cols)
            except OsteogrnError as e:
                first_error = first_error or e
                row, why = None, str(e)
            else:
                why = _parameter_problems(bounds, param_names, row)
            if why:
                message[len(plan.point_protocol)] = why
                if first_error is None:
                    first_error = OptionError(why)
            else:
                s_idx = set_index.setdefault(row, len(plan.sets))
                if s_idx == len(plan.sets):
                    plan.sets.append(row)
        if p_idx < 0 or s_idx < 0:
            status[len(plan.point_protocol)] = "invalid"
        plan.point_protocol.append(p_idx if s_idx >= 0 else -1)
        plan.point_set.append(s_idx if p_idx >= 0 else -1)
    valid = np.array(plan.point_protocol) >= 0
    if not valid.any():
        assert first_error is not None
        raise first_error

    # -- sample times, per duration when the grid changes it ----------------------------------
    durations = sorted({p.duration for p in plan.protocols})
    longest = durations[-1]
    for r in rs:
        late = [x for x in r.times if x > longest or x < 0]
        if late:
            raise OptionError(f"readout '{r.text}' reads day {late[0]:g}, outside every "
                              f"protocol's run (longest: {longest:g} days)")
    if t is not None:
        times_for = {d: np.asarray(t, dtype=float).reshape(-1) for d in durations}
    else:
        times_for = {d: _times_or_end(rs, d) for d in durations}

    # -- batches ----------------------------------------------------------------------------
    values = {r.text: np.full(n, np.nan) for r in rs}
    pp = np.array(plan.point_protocol)
    ss = np.array(plan.point_set)
    batch_kw = dict(threads=threads, executor=executor, options=options, **solver)
    jobs = []  # (protocol indices, set indices, point indices)
    for d in durations:
        in_d = np.flatnonzero(valid & np.isin(pp, [i for i, p in enumerate(plan.protocols)
                                                    if p.duration == d]))
        jobs.extend(_group(pp[in_d], ss[in_d], in_d))
    results = _run(jobs, model, plan, param_names, times_for, outputs, batch_kw, threads,
                   executor)
    for (p_ids, s_ids, point_ids, rows, cols), batch in results:
        if isinstance(batch, BaseException):   # a protocol the model cannot run
            first_error = first_error or batch
            status[point_ids] = "invalid"
            message[point_ids] = str(batch)
            continue
        courses = {o: batch.values[..., batch.output_names.index(o)] for o in outputs}
        t_b = batch.t
        for r in rs:
            out = r.evaluate(t_b, courses)           # [n_sets, n_protocols]
            values[r.text][point_ids] = out[rows, cols]
        failed = batch.failed[rows, cols]
        if failed.any():
            idx = point_ids[failed]
            codes = batch.codes[rows, cols][failed]
            msgs = batch.messages[rows, cols][failed]
            for k, code, msg in zip(idx, codes, msgs):
                status[k] = str(code)
                message[k] = str(msg)
                for r in rs:
                    values[r.text][k] = np.nan
    if (status == "invalid").all():
        assert first_error is not None
        raise first_error

    # -- the frame -----------------------------------------------------------------------
    data: Dict[str, Any] = {}
    for j, name in enumerate(names):
        column = [pt[j] for pt in points]
        if parsed[j].kind == "media_changes" and parsed[j].field == "days":
            data[name] = pd.Series(column, dtype=object)
        else:
            data[name] = column
    data["protocol"] = point_names
    for r in rs:
        data[r.text] = values[r.text]
    data["status"] = status
    data["message"] = message
    frame = pd.DataFrame(data)
    units = {name: _paths.unit(name, protocol, model) for name in names}
    units.update({r.text: r.unit(model) for r in rs})
    frame.attrs["units"] = units
    frame.attrs["protocols"] = {p.name: p for p in plan.protocols}
    frame.attrs["t"] = times_for[durations[0]] if len(durations) == 1 else times_for
    frame.attrs["readouts"] = rs
    return frame


def _times_or_end(rs: Sequence[Readout], duration: float) -> np.ndarray:
    try:
        return sample_times(rs, duration)
    except OptionError:  # every day the readouts read lies past this run: they are NaN here
        return np.array([float(duration)])


def _group(pp: np.ndarray, ss: np.ndarray, points: np.ndarray) -> List[Tuple[Any, ...]]:
    """Batches for points with protocol indices pp and set indices ss.

    Each batch is (protocol ids, set ids, point ids, row of each point in the batch's sets,
    column of each point in the batch's protocols)."""
    if points.size == 0:
        return []
    p_u = np.unique(pp)
    s_u = np.unique(ss)
    pairs = np.unique(pp.astype(np.int64) * (s_u.max() + 1) + ss)
    if p_u.size * s_u.size <= (1 + _WASTE) * pairs.size:
        return [(p_u, s_u, points, np.searchsorted(s_u, ss), np.searchsorted(p_u, pp))]
    jobs = []
    by_protocol = p_u.size <= s_u.size
    for g in (p_u if by_protocol else s_u):
        mask = (pp == g) if by_protocol else (ss == g)
        jobs.extend(_group(pp[mask], ss[mask], points[mask]))
    return jobs


def _run(jobs: List[Tuple[Any, ...]], model: Model, plan: _Plan, param_names: List[str],
         times_for: Mapping[float, np.ndarray], outputs: List[str], batch_kw: Dict[str, Any],
         threads: Optional[int], executor: Any) -> List[Any]:
    def one(job: Tuple[Any, ...], n_threads: Optional[int]) -> Any:
        p_ids, s_ids = job[0], job[1]
        protocols = [plan.protocols[i] for i in p_ids]
        matrix = np.array([plan.sets[i] for i in s_ids], dtype=float).reshape(
            len(s_ids), len(param_names))
        kw = dict(batch_kw, threads=n_threads)
        return simulate_batch(model, protocols,
                              parameters=matrix if param_names else None,
                              param_names=param_names if param_names else None,
                              t=times_for[protocols[0].duration], outputs=outputs, **kw)

    def guarded(job: Tuple[Any, ...], n_threads: Optional[int]) -> List[Tuple[Any, Any]]:
        # A protocol the model cannot run (e.g. a unit of another dimension than the input's)
        # stops a whole batch before it starts: run that batch's protocols one by one, so the
        # error lands on the points of the protocol at fault.
        try:
            return [(job, one(job, n_threads))]
        except (ProtocolError, ModelError) as error:
            p_ids, s_ids, points, rows, cols = job
            if len(p_ids) == 1:
                return [(job, error)]
            out = []
            for c, p in enumerate(p_ids):
                mask = cols == c
                out.extend(guarded((p_ids[c:c + 1], s_ids, points[mask], rows[mask],
                                    np.zeros(int(mask.sum()), dtype=int)), n_threads))
            return out

    if len(jobs) <= 1 or executor is not None:
        return [pair for job in jobs for pair in guarded(job, threads)]
    # Many small batches: run them side by side, one C++ thread each (the GIL is released).
    workers = threads or os.cpu_count() or 1
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return [pair for pairs in pool.map(lambda job: guarded(job, 1), jobs) for pair in pairs]

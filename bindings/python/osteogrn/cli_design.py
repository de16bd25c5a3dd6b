"""The protocol-design commands of the ``osteogrn`` command line: sweep, fit, optimize.

Kept apart from ``cli.py`` (list, validate, simulate, compare) because they parse grids, ranges
and constraints, which the simulation commands do not need. ``cli.py`` registers them with
:func:`add_parsers` and dispatches to :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import ast
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

__all__ = ["add_parsers", "COMMANDS", "parse_values", "parse_free", "parse_constraint"]

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


class CliUsageError(Exception):
    """Bad usage of a design command (exit status 2)."""


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        raise CliUsageError(f"cannot read {text!r} as a number or a list") from None


def parse_values(text: str) -> List[Any]:
    """The values of one ``--grid PATH=VALUES`` axis.

    ``1,10,100`` (a list), ``lin:0:10:11`` (11 evenly spaced values), ``log:1:1000:7`` (7 values
    evenly spaced in log10), or a Python list literal such as ``[[3,7],[2,5,9]]`` for paths whose
    value is itself a list (``media_changes.days``).
    """
    text = text.strip()
    m = re.fullmatch(rf"(lin|log):({_NUMBER}):({_NUMBER}):(\d+)", text)
    if m:
        lo, hi, n = float(m.group(2)), float(m.group(3)), int(m.group(4))
        if n < 1:
            raise CliUsageError(f"{text!r}: the number of values must be at least 1")
        if m.group(1) == "log":
            if lo <= 0 or hi <= 0:
                raise CliUsageError(f"{text!r}: a log range needs positive ends")
            return [float(v) for v in np.logspace(np.log10(lo), np.log10(hi), n)]
        return [float(v) for v in np.linspace(lo, hi, n)]
    if text.startswith("["):
        value = _literal(text)
        if not isinstance(value, list) or not value:
            raise CliUsageError(f"{text!r}: expected a non-empty list")
        return value
    return [_literal(part) for part in text.split(",") if part.strip()]


def _split_assignment(text: str, option: str) -> Tuple[str, str]:
    if "=" not in text:
        raise CliUsageError(f"{option} {text!r}: expected PATH=VALUES, e.g. "
                            f"bmp2.concentration=log:1:300:10")
    path, values = text.split("=", 1)
    if not path.strip():
        raise CliUsageError(f"{option} {text!r}: the path is empty")
    return path.strip(), values


def parse_free(text: str) -> Tuple[str, Any]:
    """One ``--free`` option: ``PATH=LO:HI``, ``PATH=LO:HI:log`` or ``PATH=[a,b,c]``."""
    path, spec = _split_assignment(text, "--free")
    spec = spec.strip()
    if spec.startswith("["):
        return path, list(_literal(spec))
    m = re.fullmatch(rf"({_NUMBER}):({_NUMBER})(?::(log|lin))?", spec)
    if not m:
        raise CliUsageError(f"--free {text!r}: expected PATH=LO:HI, PATH=LO:HI:log or "
                            f"PATH=[choice,...]")
    rng = (float(m.group(1)), float(m.group(2)))
    return path, rng + ((m.group(3),) if m.group(3) else ())


def parse_constraint(text: str) -> Tuple[str, str]:
    """One ``--constraint``: ``cost<=100`` or ``ALP@14>=2`` -> (key, "<= 100")."""
    m = re.fullmatch(rf"\s*(.+?)\s*(<=|>=|<|>)\s*({_NUMBER})\s*", text)
    if not m:
        raise CliUsageError(f"--constraint {text!r}: expected READOUT<=LIMIT or READOUT>=LIMIT, "
                            f"e.g. cost<=100 or ALP@14>=2")
    return m.group(1), f"{m.group(2)} {m.group(3)}"


# -- parsers ------------------------------------------------------------------------------
def add_parsers(sub: Any, add_solver_options: Callable, add_parameter_set: Callable) -> None:
    """Adds sweep, fit and optimize to the ``osteogrn`` sub-command parser."""
    p = sub.add_parser(
        "sweep", help="run a protocol over a grid of doses, schedules or parameters",
        description="Run MODEL under PROTOCOL at every point of a grid and print one row per "
                    "point with the readouts (or write them as CSV). Paths: "
                    "COMPONENT.concentration|half_life|from|until, media_changes.every, "
                    "media_changes.days, duration, replace_fraction, medium.volume, "
                    "parameters.NAME. Readouts: OUTPUT@DAY, max(X), min(X), argmax(X), "
                    "argmin(X), time_to(X, LEVEL), auc(X, A, B), mean(X, A, B).")
    p.add_argument("model", metavar="MODEL", help="built-in model name or model JSON path")
    p.add_argument("protocol", metavar="PROTOCOL", help="built-in protocol name or JSON path")
    p.add_argument("--grid", metavar="PATH=VALUES", action="append", required=True,
                   help="an axis: VALUES is 1,10,100 or lin:LO:HI:N or log:LO:HI:N or a list "
                        "literal; repeat for more axes")
    p.add_argument("--readout", metavar="READOUT", action="append", required=True,
                   help="what to report per point, e.g. mineral@21 or 'max(ALP)'; repeatable")
    p.add_argument("--zip", action="store_true",
                   help="pair the axes point by point (equal lengths) instead of every "
                        "combination")
    p.add_argument("-o", "--output", metavar="CSV", help="write the table as CSV")
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: all)")
    add_parameter_set(p)
    add_solver_options(p)

    p = sub.add_parser(
        "fit", help="fit model parameters to a tidy CSV of marker measurements",
        description="Fit parameters of MODEL to DATA (CSV with columns condition, time, "
                    "observable, value and optional sigma, reference_condition, "
                    "reference_time, group). Conditions are built-in protocol names, or map "
                    "them with --protocol CONDITION=FILE. Prints the best parameters with "
                    "standard errors and any warning; writes the fit as CSV/PNG on request.")
    p.add_argument("data", metavar="DATA.csv", help="the measurements")
    p.add_argument("--model", metavar="MODEL", default="osteogenic",
                   help="model name or path (default: %(default)s)")
    p.add_argument("--estimate", metavar="NAME", nargs="+", required=True,
                   help="model parameters to fit (bounds: the parameter's min/max, or "
                        "NAME=LO:HI)")
    p.add_argument("--protocol", metavar="CONDITION=PROTOCOL", action="append", default=[],
                   help="the protocol of a condition (a name or JSON path); repeatable")
    p.add_argument("--observation", metavar="OBSERVABLE=KIND", action="append", default=[],
                   help="observation model per observable: identity, scale, scale_offset, "
                        "fold_change or lognormal (default identity)")
    p.add_argument("--starts", type=int, default=20, help="multi-start count (default 20)")
    p.add_argument("--seed", type=int, default=0, help="Latin-hypercube seed (default 0)")
    p.add_argument("-o", "--output", metavar="CSV",
                   help="write the starts table (cost and parameters per start) as CSV")
    p.add_argument("--plot", metavar="PNG", help="write the fit against the data")
    add_parameter_set(p)

    p = sub.add_parser(
        "optimize", help="find the protocol that maximises a readout under constraints",
        description="Differential evolution over the free paths of PROTOCOL (doses, windows, "
                    "feeding interval, ...), every generation one batch of simulations. "
                    "Prints the best protocol's values, its objective and cost, and the "
                    "Pareto front of objective against cost when the protocol is priced.")
    p.add_argument("model", metavar="MODEL", help="built-in model name or model JSON path")
    p.add_argument("protocol", metavar="PROTOCOL", help="built-in protocol name or JSON path")
    p.add_argument("--free", metavar="PATH=RANGE", action="append", required=True,
                   help="PATH=LO:HI, PATH=LO:HI:log or PATH=[choice,...]; repeatable")
    p.add_argument("--objective", metavar="READOUT", required=True,
                   help="the readout to optimise, e.g. mineral@21")
    p.add_argument("--minimize", action="store_true", help="minimise instead of maximise")
    p.add_argument("--constraint", metavar="READOUT<=LIMIT", action="append", default=[],
                   help="e.g. cost<=100 or ALP@14>=2; repeatable")
    p.add_argument("--method", dest="search", choices=["differential_evolution", "grid"],
                   default="differential_evolution", help="search (default: %(default)s)")
    p.add_argument("--generations", type=int, default=40,
                   help="most generations of differential evolution (default %(default)d)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("-o", "--output", metavar="JSON", help="write the best protocol as JSON")
    p.add_argument("--history", metavar="CSV", help="write every evaluation as CSV")
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: all)")
    add_parameter_set(p)


# -- commands -------------------------------------------------------------------------------
def _print_frame(frame: Any) -> None:
    import pandas as pd
    with pd.option_context("display.max_rows", 60, "display.width", 160,
                           "display.max_columns", 30):
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.6g}"))


def cmd_sweep(args: argparse.Namespace, load: Callable) -> int:
    from .design import sweep
    model = load(args.model, args)
    grid: Dict[str, List[Any]] = {}
    for item in args.grid:
        path, values = _split_assignment(item, "--grid")
        grid[path] = parse_values(values)
    t = None
    if args.dt is not None:
        from .library import load_protocol
        duration = max(load_protocol(args.protocol).duration, 0.0)
        t = list(np.arange(0.0, duration + 0.5 * args.dt, args.dt))
    from .cli import _solver_kwargs  # the same solver flags as simulate and compare
    frame = sweep(model, args.protocol, grid, t=t, readouts=args.readout,
                  mode="zip" if args.zip else "product", threads=args.threads,
                  **_solver_kwargs(args))
    if args.output:
        units = frame.attrs.get("units", {})
        out = frame.rename(columns={c: f"{c} [{units[c]}]" for c in frame.columns
                                    if units.get(c)})
        out.to_csv(args.output, index=False)
        print(f"wrote {len(frame)} rows to {args.output}")
    else:
        _print_frame(frame.drop(columns=[c for c in ("message",) if c in frame]))
    failed = int((frame["status"] != "success").sum()) if "status" in frame else 0
    if failed:
        print(f"{failed} of {len(frame)} points failed (status column)")
    return 0


def _bounds_of(spec: str) -> Tuple[str, Optional[Tuple[float, float]]]:
    if "=" not in spec:
        return spec, None
    name, rng = spec.split("=", 1)
    m = re.fullmatch(rf"({_NUMBER}):({_NUMBER})", rng.strip())
    if not m:
        raise CliUsageError(f"--estimate {spec!r}: expected NAME or NAME=LO:HI")
    return name, (float(m.group(1)), float(m.group(2)))


def cmd_fit(args: argparse.Namespace, load: Callable) -> int:
    import warnings

    from .fitting import fit
    model = load(args.model, args)
    estimate = dict(_bounds_of(s) for s in args.estimate)
    protocols = dict(_split_assignment(s, "--protocol") for s in args.protocol)
    observations = dict(_split_assignment(s, "--observation") for s in args.observation)
    if args.starts < 1:
        raise CliUsageError(f"--starts must be at least 1, got {args.starts}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit(model, args.data, protocols=protocols or None, estimate=estimate,
                     observations=observations or None, n_starts=args.starts, seed=args.seed,
                     progress=False)
    se = result.standard_errors()
    print(f"best cost {result.cost:.6g} after {len(result.starts)} starts "
          f"({result.n_simulations} simulations, {result.wall_seconds:.1f} s)")
    width = max(len(k) for k in result.parameters)
    for name, value in result.parameters.items():
        err = se.get(name, float("nan"))
        print(f"  {name:<{width}}  {value:.6g}  (SE {err:.3g})")
    for w in caught:
        print(f"warning: {w.message}")
    if args.output:
        result.starts.to_csv(args.output, index=False)
        print(f"wrote the starts to {args.output}")
    if args.plot:
        result.plot().savefig(args.plot, dpi=120, bbox_inches="tight")
        print(f"wrote {args.plot}")
    return 0


def cmd_optimize(args: argparse.Namespace, load: Callable) -> int:
    from .design import optimize_protocol
    model = load(args.model, args)
    free = dict(parse_free(s) for s in args.free)
    constraints = dict(parse_constraint(s) for s in args.constraint)
    best = optimize_protocol(model, args.protocol, free, args.objective,
                             maximize=not args.minimize, constraints=constraints or None,
                             method=args.search, seed=args.seed,
                             max_generations=args.generations, threads=args.threads)
    print(best)
    if best.protocol is None:
        print("no evaluated point satisfies every constraint")
        return 1
    if len(best.pareto):
        print("Pareto front (objective against cost):")
        cols = [c for c in best.pareto.columns
                if c not in ("evaluation", "generation", "status", "feasible")]
        _print_frame(best.pareto[cols])
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(best.protocol.to_json())
        print(f"wrote the best protocol to {args.output}")
    if args.history:
        best.history.to_csv(args.history, index=False)
        print(f"wrote {len(best.history)} evaluations to {args.history}")
    return 0


COMMANDS = {"sweep": cmd_sweep, "fit": cmd_fit, "optimize": cmd_optimize}


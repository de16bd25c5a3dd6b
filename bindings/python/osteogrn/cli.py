"""The ``osteogrn`` command line: list, validate, simulate, compare, parameter-sets (and sweep,
fit, optimize from ``cli_design.py``).

Exit status: 0 success, 1 invalid input (the message names the file and field),
2 bad usage. Errors print one line ``error: <message>``, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, NoReturn, Optional, Sequence

from . import __version__, cli_design
from ._units import with_unit_headers
from .errors import OsteogrnError
from .library import list_models, list_protocols, load_model, load_protocol, models_dir, \
    protocols_dir
from .parameter_sets import SCHEMA as PARAMETER_SET_SCHEMA
from .parameter_sets import list_parameter_sets, load_parameter_set, parameter_sets_dir
from .simulation import METHODS, SolverOptions, simulate

__all__ = ["main", "build_parser"]


class _UsageError(Exception):
    """Bad command-line usage (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    # argparse prints the usage and exits itself; we want one line and our exit codes.
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _add_solver_options(p: argparse.ArgumentParser) -> None:
    defaults = SolverOptions()  # the C++ defaults, stated once in simulate.hpp
    p.add_argument("--method", choices=METHODS, default=defaults.method,
                   help="integrator (default: %(default)s)")
    p.add_argument("--rtol", type=float, default=defaults.rtol,
                   help="relative tolerance (default: %(default)g)")
    p.add_argument("--atol", type=float, default=defaults.atol,
                   help="absolute tolerance (default: %(default)g)")
    p.add_argument("--max-steps", type=int, default=defaults.max_steps,
                   help="most integrator steps per run (default: %(default)d)")
    p.add_argument("--dt", type=float, default=None,
                   help="sample every DT days (default: 0.1)")


def _add_parameter_set(p: argparse.ArgumentParser) -> None:
    p.add_argument("--parameter-set", metavar="SET", default=None,
                   help="cell-type parameter set to apply: a name from 'osteogrn parameter-sets' "
                        "or a JSON path; 'none' for the module files' own values (default: the "
                        "built-in model's default set, e.g. hmsc for osteogenic; none for a "
                        "model given as a path)")


def _add_sbml_inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", metavar="COMPONENT=SBML_ID[:UNIT]", action="append", default=None,
                   help="for an SBML model: the protocol component COMPONENT drives the SBML "
                        "parameter or boundary species SBML_ID, whose value is in UNIT (protocol "
                        "concentrations convert to it; default: no unit, no conversion); "
                        "repeatable; as og.import_sbml(inputs=...)")


def _sbml_inputs(args: argparse.Namespace) -> Dict[str, object]:
    """--input COMPONENT=SBML_ID[:UNIT] as import_sbml's ``inputs`` mapping (an SBML id has no
    ':', so the first one starts the unit)."""
    out: Dict[str, object] = {}
    for item in getattr(args, "input", None) or []:
        comp, sep, target = item.partition("=")
        sid, colon, unit = target.partition(":")
        comp, sid, unit = comp.strip(), sid.strip(), unit.strip()
        if not sep or not comp or not sid or (colon and not unit):
            raise _UsageError(f"--input {item!r}: give COMPONENT=SBML_ID or "
                              "COMPONENT=SBML_ID:UNIT")
        if comp in out:
            raise _UsageError(f"--input: component '{comp}' given twice")
        out[comp] = (sid, unit) if colon else sid
    return out


def _model(spec: str, args: argparse.Namespace):
    """The model `spec` with the --parameter-set asked for (and for an SBML file, the
    protocol inputs of --input)."""
    choice = getattr(args, "parameter_set", None)
    inputs = _sbml_inputs(args)
    try:
        if inputs:
            from .library import _is_xml
            if not _is_xml(spec):
                raise _UsageError(f"--input is for SBML models; '{spec}' is not an SBML file")
            from .sbml import import_sbml
            model = import_sbml(spec, inputs=inputs)
            if choice not in (None, "none"):
                model = load_parameter_set(choice).apply(model)
            return model
        return load_model(spec, parameter_set=False if choice == "none" else choice)
    except ImportError as e:  # python-libsbml missing: an SBML file cannot be read
        raise OsteogrnError(f"{spec}: {e}") from None


def _label(model) -> str:
    """"model 'osteogenic' (parameter set 'hmsc')" for messages."""
    pset = f" (parameter set '{model.parameter_set}')" if model.parameter_set else ""
    return f"model '{model.name}'{pset}"


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``osteogrn`` command (documented by ``--help``)."""
    parser = _Parser(
        prog="osteogrn",
        description="Simulate gene-regulatory-network models of osteogenic differentiation "
                    "under cell-culture media protocols.",
        epilog="Exit status: 0 ok, 1 invalid input, 2 bad usage. "
               "'osteogrn COMMAND --help' explains each command.")
    parser.add_argument("--version", action="version", version=f"osteogrn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    sub.add_parser("list", help="list the built-in models, parameter sets and protocols",
                   description="List the built-in models, parameter sets and protocols with their "
                               "descriptions; each name works wherever a MODEL, SET or PROTOCOL "
                               "is asked for.")

    p = sub.add_parser("parameter-sets", help="list the built-in cell-type parameter sets",
                       description="List the built-in parameter sets (models/parameter_sets/): "
                                   "name, model, whether it is the model's default, and the "
                                   "cells; with --show SET, every value of that set and its "
                                   "source.")
    p.add_argument("--model", metavar="MODEL", help="only the sets for this model name")
    p.add_argument("--show", metavar="SET", help="print the values and sources of SET (a name "
                                                 "or a JSON path)")

    p = sub.add_parser("validate", help="check a model, protocol or parameter-set file",
                       description="Check a model, protocol or parameter-set JSON file (chosen by "
                                   "its 'schema' field; a parameter set is also checked against "
                                   "its model, a protocol against --model or else the default "
                                   "built-in model: component names, units, perturbation "
                                   "targets). Prints OK and a summary, or the error with the "
                                   "file and JSON pointer of the field; for a protocol every "
                                   "problem, one line each, with 'did you mean' hints; exit "
                                   "status 1 if invalid.")
    p.add_argument("file", metavar="FILE", help="a model, protocol or parameter-set JSON file")
    p.add_argument("--model", metavar="MODEL",
                   help="for a protocol or a parameter set: check that it fits this model "
                        "(name or path; default for a protocol: the default built-in model)")
    _add_parameter_set(p)
    _add_sbml_inputs(p)

    p = sub.add_parser("simulate", help="simulate a model under a protocol",
                       description="Simulate MODEL under PROTOCOL (built-in names or JSON paths; "
                                   "MODEL may be an SBML file). Prints a summary of each "
                                   "observable (final value, peak and its day; for an SBML "
                                   "model, of each SBML species and varying symbol, by SBML "
                                   "id) and the solver statistics. A model without inputs (an "
                                   "SBML model, say) runs without a protocol until -t END.")
    p.add_argument("model", metavar="MODEL",
                   help="built-in model name, model JSON path or SBML file")
    p.add_argument("protocol", metavar="PROTOCOL", nargs="?", default=None,
                   help="built-in protocol name or JSON path (optional for a model without "
                        "inputs; then give -t)")
    p.add_argument("-t", "--until", metavar="END", type=float, default=None,
                   help="without a protocol: simulate from 0 to END (in the model's time "
                        "unit), sampled every --dt (default END/100)")
    p.add_argument("-o", "--output", metavar="CSV",
                   help="write the time courses as CSV: a column 'time [day]', then one per "
                        "species, observable and input, headed with its unit, e.g. 'ALP [au]'")
    p.add_argument("--plot", metavar="PNG", help="write a figure, one panel per observable")
    _add_parameter_set(p)
    _add_sbml_inputs(p)
    _add_solver_options(p)

    p = sub.add_parser("compare", help="run one model under several protocols",
                       description="Run MODEL under each protocol and compare: writes "
                                   "DIR/compare.csv (columns protocol, 'time [day]', name, kind, "
                                   "value, unit) and DIR/compare.png (a panel per observable, a "
                                   "line per protocol, the reference in black on top, media "
                                   "changes marked), and prints a table: the first "
                                   "observable's peak day and peak, and the others on the "
                                   "read-out day, relative to the reference protocol. With no "
                                   "arguments: the 'osteogenic' model under every built-in "
                                   "protocol.")
    p.add_argument("--model", metavar="MODEL",
                   help="model name, JSON path or SBML file (default: 'osteogenic' if built "
                        "in, else the first built-in model)")
    p.add_argument("--protocols", metavar="PROTOCOL", nargs="+",
                   help="protocol names or paths (default: every built-in protocol that fits "
                        "the model)")
    p.add_argument("-o", "--output-dir", metavar="DIR", default="results",
                   help="output folder (default: %(default)s)")
    p.add_argument("--observables", metavar="NAME", nargs="+",
                   help="what to plot and tabulate (default: ALP, OCN and mineral where the "
                        "model has them, else all its observables); the first is summarised by "
                        "its peak and peak day, the others by their value on --day")
    p.add_argument("--reference", metavar="PROTOCOL",
                   help="protocol the table is relative to (default: osteogenic_medium if "
                        "compared, else none: absolute values)")
    p.add_argument("--day", type=float, default=21.0,
                   help="read-out day for the table (default: %(default)g; a protocol shorter "
                        "than that is read at its end)")
    _add_parameter_set(p)
    _add_sbml_inputs(p)
    _add_solver_options(p)

    cli_design.add_parsers(sub, _add_solver_options, _add_parameter_set)
    return parser


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else message


def _times(duration: float, dt: Optional[float]) -> Optional[List[float]]:
    if dt is None:
        return None
    if not dt > 0:
        raise _UsageError(f"--dt must be positive, got {dt}")
    n = int(duration / dt + 1e-9)
    times = [i * dt for i in range(n + 1)]
    if duration - times[-1] > 1e-9 * max(1.0, duration):
        times.append(duration)
    return [min(x, duration) for x in times]


def _solver_kwargs(args: argparse.Namespace) -> Dict[str, object]:
    return dict(method=args.method, rtol=args.rtol, atol=args.atol, max_steps=args.max_steps)


def _description(path: Path) -> str:
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("description", ""))
    except (OSError, ValueError, AttributeError):
        return "(unreadable)"


def _cmd_list(args: argparse.Namespace) -> int:
    models, protocols = list_models(), list_protocols()
    print(f"models ({models_dir()}):")
    for name in models:
        print(f"  {name:<28} {_description(models_dir() / (name + '.json'))}")
    if not models:
        print("  (none)")
    _print_parameter_sets(None)
    print(f"protocols ({protocols_dir()}):")
    for name in protocols:
        print(f"  {name:<28} {_description(protocols_dir() / (name + '.json'))}")
    if not protocols:
        print("  (none)")
    return 0


def _print_parameter_sets(model: Optional[str]) -> None:
    names = list_parameter_sets(model)
    print(f"parameter sets ({parameter_sets_dir()}):")
    for name in names:
        pset = load_parameter_set(name)
        flag = ", default" if pset.default else ""
        print(f"  {name:<28} for '{pset.model}'{flag}: {pset.cells or pset.description}")
    if not names:
        print("  (none)")


def _cmd_parameter_sets(args: argparse.Namespace) -> int:
    if args.show:
        pset = load_parameter_set(args.show)
        flag = " (the model's default)" if pset.default else ""
        print(f"parameter set '{pset.name}' for model '{pset.model}'{flag} ({pset.path})")
        print(f"  {pset.description}")
        if pset.cells:
            print(f"  cells: {pset.cells}")
        for section, values in (("parameters", pset.parameters), ("initial", pset.initial)):
            print(f"{section}:")
            for name, value in values.items():
                print(f"  {name:<20} {value:<12g} {pset.sources[name]}")
            if not values:
                print("  (none)")
        return 0
    _print_parameter_sets(args.model)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise OsteogrnError(f"{path}: no such file")
    try:
        schema = json.loads(path.read_text(encoding="utf-8")).get("schema", "")
    except (ValueError, AttributeError, UnicodeDecodeError):
        schema = ""  # let the model loader report what is wrong with it
    if str(schema).startswith("osteogrn-protocol"):
        return _validate_protocol(path, args)
    if schema == PARAMETER_SET_SCHEMA:
        pset = load_parameter_set(path)
        if args.model or pset.model in list_models():
            model = load_model(args.model or pset.model, parameter_set=False)
            pset.apply(model)
            fits = f", fits model '{model.name}'"
        else:
            fits = (f" (model '{pset.model}' is not built in: not checked against it; give "
                    f"--model PATH to check)")
        print(f"OK: parameter set '{pset.name}' ({path}) for model '{pset.model}': "
              f"{len(pset.parameters)} parameters, {len(pset.initial)} initial values{fits}")
        return 0
    model = _model(str(path), args)
    print(f"OK: {_label(model)} ({path}): {len(model.species)} species, "
          f"{len(model.parameters)} parameters, {len(model.inputs)} inputs "
          f"({', '.join(model.inputs) or 'none'}), {len(model.observables)} observables "
          f"({', '.join(model.observables) or 'none'}), modules: {', '.join(model.modules)}")
    return 0


def _validate_protocol(path: Path, args: argparse.Namespace) -> int:
    """Every problem of a protocol file, one line each (file, JSON pointer, problem); checked
    against --model, else against the default built-in model, else only on its own (said)."""
    from ._validate import check_protocol
    if args.model:
        model, against = _model(args.model, args), ""
    elif list_models():
        model = _model(_default_model(), args)
        against = "; the default model: give --model to check against another"
    else:
        model, against = None, ""
    check = check_protocol(path, model)
    for problem in check.problems:
        print(f"error: {problem}", file=sys.stderr)
    for note in check.notes:
        print(f"note: {note}", file=sys.stderr)
    if model is None:
        print("note: component names, units and perturbation targets were not checked: no "
              "built-in model; give --model MODEL", file=sys.stderr)
    if check.problems:
        checked = f"checked against {_label(model)}{against}" if model is not None else \
            "checked without a model"
        n = len(check.problems)
        print(f"error: {n} problem{'s' if n != 1 else ''} in {path} ({checked})",
              file=sys.stderr)
        return 1
    proto = check.protocol
    days = ", ".join(f"{d:g}" for d in proto.media_change_days) or "none"
    print(f"OK: protocol '{proto.name}' ({path}): {proto.duration:g} days, "
          f"{len(proto.components)} components ({', '.join(proto.components) or 'none'}), "
          f"media changes on days {days}, {len(proto.perturbations)} perturbations, "
          f"{len(proto.additions)} additions")
    if model is not None:
        print(f"OK: fits {_label(model)}{against}")
    return 0


def _summary_rows(label: str, res) -> List[Dict[str, object]]:
    import numpy as np
    rows = []
    # an SBML model is summarised by SBML id: its species and the symbols that vary (the
    # translation's observables are mostly reaction rates)
    names = [sid for sid, e in res.sbml_symbols.items()
             if e.get("column") and e.get("kind") != "reaction"] \
        or res.observable_names or res.species_names
    for name in names:
        y = res[name]
        finite = np.isfinite(y)
        i = int(np.nanargmax(np.where(finite, y, -np.inf))) if finite.any() else 0
        rows.append({"protocol": label, "name": name, "final": float(y[-1]),
                     "peak": float(y[i]), "peak_day": float(res.t[i])})
    return rows


def _cmd_simulate(args: argparse.Namespace) -> int:
    import pandas as pd
    if args.protocol is None and args.until is None:
        raise _UsageError("give a PROTOCOL, or -t END for a model without inputs")
    if args.protocol is not None and args.until is not None:
        raise _UsageError("-t END is for a run without a protocol: the protocol's duration "
                          "ends the run")
    model = _model(args.model, args)
    if args.protocol is None:
        if not args.until > 0:
            raise _UsageError(f"-t END must be positive, got {args.until:g}")
        times = _times(args.until, args.dt if args.dt is not None else args.until / 100)
        res = simulate(model, None, t=times, **_solver_kwargs(args))
        proto = None
    else:
        proto = load_protocol(args.protocol)
        res = simulate(model, proto, t=_times(proto.duration, args.dt), **_solver_kwargs(args))
    if args.output:
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        frame = res.to_frame().rename_axis("time")
        # headers name the unit: "time [day]", "ALP [au]" (docs/cli.md)
        with_unit_headers(frame, {**frame.attrs["units"], "time": res.time_unit}).to_csv(out)
    if args.plot:
        out = Path(args.plot)
        out.parent.mkdir(parents=True, exist_ok=True)
        res.plot().savefig(out, dpi=120)
    s = res.stats
    if proto is None:
        print(f"{_label(model)} without a protocol (0 to {args.until:g} {model.time_unit}), "
              f"method {res.method}: {res.status}")
    else:
        print(f"{_label(model)} under protocol '{proto.name}' ({proto.duration:g} days, "
              f"media changes on {len(proto.media_change_days)} days), method {res.method}: "
              f"{res.status}")
    print(f"solver: {s['steps']} steps, {s['rhs_evals']} rhs evaluations, {s['jac_evals']} "
          f"Jacobians, {s['restarts']} restarts, {s['wall_seconds'] * 1e3:.1f} ms")
    table = pd.DataFrame(_summary_rows(res.protocol_name, res)).drop(columns="protocol")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for label, path in (("time courses", args.output), ("figure", args.plot)):
        if path:
            print(f"wrote {label}: {path}")
    return 0


def _default_model() -> str:
    models = list_models()
    if not models:
        raise OsteogrnError("no built-in models installed; pass --model PATH")
    return "osteogenic" if "osteogenic" in models else models[0]


def _cmd_compare(args: argparse.Namespace) -> int:
    import pandas as pd

    from . import _core
    from .errors import ProtocolError
    from .plotting import plot_results

    model = _model(args.model or _default_model(), args)
    if args.protocols:
        protocols = [load_protocol(p) for p in args.protocols]
    else:
        protocols = []
        for name in list_protocols():
            proto = load_protocol(name)
            try:
                _core.Schedule(proto._core, model._core)  # does it fit the model?
            except ProtocolError as e:
                print(f"note: skipping protocol '{name}': {_first_line(str(e))}", file=sys.stderr)
                continue
            protocols.append(proto)
        if not protocols:
            hint = " (or map protocol components to SBML ids with --input)" \
                if model.sbml_symbols and not model.inputs else ""
            raise OsteogrnError(f"no built-in protocol fits model '{model.name}'; "
                                f"pass --protocols{hint}")
    results = {}
    for proto in protocols:
        label = proto.name
        while label in results:
            label += "'"
        results[label] = simulate(model, proto, t=_times(proto.duration, args.dt),
                                  **_solver_kwargs(args))
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = []
    for label, res in results.items():
        frame = res.to_frame(tidy=True)
        frame.insert(0, "protocol", label)
        frames.append(frame)
    with_unit_headers(pd.concat(frames, ignore_index=True), {"time": model.time_unit}).to_csv(
        out_dir / "compare.csv", index=False)
    names = args.observables or _default_observables(results)
    reference = args.reference or ("osteogenic_medium" if "osteogenic_medium" in results else None)
    if reference is not None and reference not in results:
        raise _UsageError(f"--reference '{reference}' is not among the compared protocols "
                          f"({', '.join(results)})")
    fig = plot_results(results, names, title=f"{_label(model)[6:]}: {len(results)} protocols",
                       reference=reference)
    fig.savefig(out_dir / "compare.png", dpi=120)
    table = _comparison_table(results, names, args.day, reference)
    rel = f", relative to '{reference}'" if reference else ""
    print(f"{_label(model)} under {len(results)} protocols{rel}:")
    print(table.to_string(float_format=lambda v: f"{v:.3g}"))
    print(f"wrote {out_dir / 'compare.csv'} and {out_dir / 'compare.png'}")
    return 0


def _default_observables(results) -> List[str]:
    first = next(iter(results.values()))
    markers = [n for n in ("ALP", "OCN", "mineral") if n in first.observable_names]
    # an SBML model: its species and varying symbols by SBML id, as `simulate` summarises
    sbml = [sid for sid, e in first.sbml_symbols.items()
            if e.get("column") and e.get("kind") != "reaction"]
    return markers or sbml or list(first.observable_names) or list(first.species_names)


def _comparison_table(results, names: Sequence[str], day: float, reference: Optional[str]):
    """One row per protocol: peak day and peak of names[0], the others on `day` (or at the end of
    a shorter protocol), divided by the reference protocol's values when one is given."""
    import numpy as np
    import pandas as pd

    def values(res) -> Dict[str, float]:
        y0 = np.where(np.isfinite(res[names[0]]), res[names[0]], -np.inf)
        i = int(np.argmax(y0))
        j = int(np.argmin(np.abs(res.t - min(day, res.t[-1]))))
        out = {f"{names[0]} peak": float(res[names[0]][i])}
        out.update({f"{n} day {res.t[j]:g}": float(res[n][j]) for n in names[1:]})
        return out, float(res.t[i])

    rows = {}
    ref_vals = values(results[reference])[0] if reference else None
    for label, res in results.items():
        vals, peak_day = values(res)
        row = {f"{names[0]} peak day": peak_day}
        for (key, v), ref in zip(vals.items(), (ref_vals or vals).values()):
            row[key + (" (rel)" if ref_vals else "")] = v / ref if ref_vals and ref != 0 else v
        rows[label] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "protocol"
    return table


_COMMANDS = {"list": _cmd_list, "validate": _cmd_validate, "simulate": _cmd_simulate,
             "compare": _cmd_compare, "parameter-sets": _cmd_parameter_sets}
_COMMANDS.update({name: (lambda args, cmd=cmd: cmd(args, _model))
                  for name, cmd in cli_design.COMMANDS.items()})


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command line; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 success, 1 invalid input, 2 bad usage.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            return 2
        return _COMMANDS[args.command](args)
    except (_UsageError, cli_design.CliUsageError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (OsteogrnError, OSError) as e:
        print(f"error: {_first_line(str(e))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # never a traceback at the command line
        print(f"error: unexpected {type(e).__name__}: {_first_line(str(e))} (please report)",
              file=sys.stderr)
        return 1

"""Cell-type parameter sets: parameter and initial values for a model, as data.

A parameter set is an ``osteogrn-parameter-set/1`` JSON file (format in
``docs/formats/parameter_set.md``) that names a model and gives new values for
some of its parameters and species' initial values, each with its source. The
built-in sets live in ``models/parameter_sets/<name>.json``; at most one set per
model says ``"default": true`` and is applied by :func:`osteogrn.load_model`
unless another set (or ``parameter_set=False``) is asked for.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from .errors import ModelError
from .model import Model

__all__ = ["SCHEMA", "ParameterSet", "parameter_sets_dir", "list_parameter_sets",
           "load_parameter_set", "default_parameter_set"]

#: The format name every parameter-set file carries in its ``schema`` field.
SCHEMA = "osteogrn-parameter-set/1"

PathLike = Union[str, "os.PathLike[str]"]

_TOP_KEYS = ("schema", "name", "model", "default", "description", "cells", "references",
             "parameters", "initial")
_ENTRY_KEYS = ("value", "source")
# Same limits as the C++ reader of model and protocol files (docs/formats/model.md, JSON rules).
_DEFAULT_MAX_BYTES = 64 << 20
_MAX_DEPTH = 64
# A source: "assumed: why", "calibrated: how", or reference keys ("a; b, c") with an optional
# ": note" -- the model format's rule (docs/formats/model.md, Sources) plus "calibrated:".
_KEYWORDS = ("assumed", "calibrated")
_KEY_LIST = re.compile(r"^\s*([A-Za-z0-9_.\-]+(?:\s*[,;]\s*[A-Za-z0-9_.\-]+)*)\s*(?::(.*))?$",
                       re.DOTALL)


def _pointer(*parts: str) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _fail(file: str, pointer: str, problem: str) -> "ModelError":
    where = f"{file}: {pointer}: " if pointer else f"{file}: "
    return ModelError(where + problem, file=file, pointer=pointer, message=problem)


def _max_bytes(file: str) -> int:
    text = os.environ.get("OSTEOGRN_MAX_FILE_BYTES")
    if text is None:
        return _DEFAULT_MAX_BYTES
    if not text.strip().isdigit() or int(text) <= 0:
        raise _fail(file, "", f"OSTEOGRN_MAX_FILE_BYTES must be a positive whole number of "
                              f"bytes, got {text!r}")
    return int(text)


def _read_json(path: Path) -> Any:
    """The parsed document, with the checks the C++ reader makes on model files: a regular
    file within the size limit, UTF-8, no duplicate keys, finite numbers, bounded nesting."""
    file = str(path)
    try:
        st = path.stat()
    except OSError as e:
        raise _fail(file, "", f"cannot read parameter-set file: {e.strerror or e}") from None
    import stat
    if not stat.S_ISREG(st.st_mode):
        raise _fail(file, "", "not a regular file (a parameter-set file is a JSON file)")
    limit = _max_bytes(file)
    if st.st_size > limit:
        raise _fail(file, "", f"parameter-set file is {st.st_size} bytes, over the limit of "
                              f"{limit} (OSTEOGRN_MAX_FILE_BYTES)")
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise _fail(file, "", f"cannot read parameter-set file: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise _fail(file, "", f"not UTF-8 (byte {e.start})") from None

    def pairs(items: List[Tuple[str, Any]]) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise ValueError(f"duplicate key '{key}'")
            out[key] = value
        return out

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON (numbers must be finite)")

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"number {text} is beyond a double")
        return value

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant,
                          parse_float=number)
    except json.JSONDecodeError as e:
        raise _fail(file, "", f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") \
            from None
    except ValueError as e:
        raise _fail(file, "", f"invalid JSON: {e}") from None
    except RecursionError:
        raise _fail(file, "", f"nesting deeper than {_MAX_DEPTH} levels") from None


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _check_keys(file: str, pointer: str, obj: Mapping[str, Any], allowed: Tuple[str, ...]) -> None:
    for key in obj:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise _fail(file, pointer + _pointer(key),
                        f"unknown key '{key}'{hint}; allowed: {', '.join(allowed)}")


def _string(file: str, doc: Mapping[str, Any], key: str, required: bool,
            allow_empty: bool = True) -> str:
    if key not in doc:
        if required:
            raise _fail(file, "", f"missing required key '{key}'")
        return ""
    value = doc[key]
    if not isinstance(value, str):
        raise _fail(file, _pointer(key), f"'{key}' must be a string, got {json.dumps(value)}")
    if not allow_empty and not value.strip():
        raise _fail(file, _pointer(key), f"'{key}' must not be empty")
    return value


def _source_problem(source: str, references: Mapping[str, str]) -> Optional[str]:
    """Why `source` is not a valid source given the known reference keys, or None."""
    head, sep, rest = source.partition(":")
    if head.strip() in _KEYWORDS:
        return None if sep and rest.strip() else f"'{head.strip()}:' needs a reason after the colon"
    match = _KEY_LIST.match(source)
    if not match:
        return ("a source is 'assumed: <why>', 'calibrated: <how>' or reference keys "
                "('key1; key2: note')")
    keys = [k for k in re.split(r"\s*[,;]\s*", match.group(1).strip()) if k]
    unknown = [k for k in keys if k not in references]
    if unknown:
        known = ", ".join(sorted(references)) or "none"
        return (f"unknown reference key '{unknown[0]}' (keys of this set's and the model's "
                f"references: {known})")
    return None


@dataclass(frozen=True)
class ParameterSet:
    """Parameter and initial values of a model for one cell type, each with its source.

    Create with :func:`osteogrn.load_parameter_set`; apply with :meth:`apply` or through
    ``osteogrn.load_model(name, parameter_set=...)``.

    Attributes
    ----------
    name : str
        The set's name (for a built-in set, its file name without ``.json``).
    model : str
        Name of the model the set is for (``Model.name``).
    description : str
        What the set is.
    cells : str
        The cells it describes (species, line, donor, culture).
    parameters : mapping
        Parameter name -> value.
    initial : mapping
        Species name -> initial value.
    sources : mapping
        Parameter or species name -> where its value comes from.
    references : mapping
        Reference key -> citation, for the keys the sources use.
    default : bool
        Whether :func:`osteogrn.load_model` applies this set to its model by default.
    path : str
        The file the set was read from.
    """

    name: str
    model: str
    description: str
    cells: str
    parameters: Mapping[str, float]
    initial: Mapping[str, float]
    sources: Mapping[str, str]
    references: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    default: bool = False
    path: str = ""

    def check(self, model: Model) -> None:
        """Checks the set against ``model``: its name, every parameter and species name, each
        parameter value within the parameter's [min, max], and each source's reference keys.

        Raises
        ------
        ModelError
            Naming the set's file and the JSON pointer of the offending field.
        """
        file = self.path or self.name
        if model.name != self.model:
            raise _fail(file, "/model", f"the set is for model '{self.model}', not for model "
                                        f"'{model.name}'")
        table = {p["name"]: p for p in model._core.parameters}
        species = set(model.species)
        references = dict(model.references)
        references.update(self.references)
        for section, names, known in (("parameters", self.parameters, table),
                                      ("initial", self.initial, species)):
            kind = "parameter" if section == "parameters" else "species"
            for name in names:
                if name not in known:
                    close = difflib.get_close_matches(name, list(known), n=1)
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    raise _fail(file, _pointer(section, name),
                                f"model '{model.name}' has no {kind} '{name}'{hint}")
                problem = _source_problem(self.sources[name], references)
                if problem:
                    raise _fail(file, _pointer(section, name, "source"), problem)
        for name, value in self.parameters.items():
            low, high = table[name]["min"], table[name]["max"]
            if value < low or (high is not None and value > high):
                bounds = f"[{low:g}, {'inf' if high is None else f'{high:g}'}]"
                raise _fail(file, _pointer("parameters", name, "value"),
                            f"value {value:g} is outside the bounds {bounds} of parameter "
                            f"'{name}'")

    def apply(self, model: Model) -> Model:
        """A new model with this set's initial and parameter values.

        Parameters
        ----------
        model : Model
            A model named :attr:`model` (e.g. ``og.load_model("osteogenic", parameter_set=False)``).

        Returns
        -------
        Model
            Same name; ``Model.parameter_set`` is this set's name. Parameters the set does not
            name keep ``model``'s values.

        Raises
        ------
        ModelError
            See :meth:`check`.
        """
        self.check(model)
        base = model
        if self.initial:
            # The compiled model has no setter for initial values: edit its self-contained JSON
            # (imports flattened, current values, knockouts) and compile that.
            doc = json.loads(model.to_json())
            for name, value in self.initial.items():
                doc["species"][name]["initial"] = value
            try:
                base = Model.from_json(doc, source=f"{self.path or self.name} applied to "
                                                   f"'{model.name}'")
            except ModelError as e:
                raise _fail(self.path or self.name, "/initial", str(e)) from None
        out = base.with_parameters(dict(self.parameters)) if self.parameters else base
        return Model(out._core, parameter_set=self.name, sbml=model.sbml_symbols)

    def to_frame(self):
        """The set as a table: one row per value (``section``, ``name``, ``value``, ``source``).

        Returns
        -------
        pandas.DataFrame
        """
        import pandas as pd
        rows = [{"section": section, "name": n, "value": v, "source": self.sources[n]}
                for section, values in (("parameters", self.parameters),
                                        ("initial", self.initial))
                for n, v in values.items()]
        return pd.DataFrame(rows, columns=["section", "name", "value", "source"])

    def __reduce__(self):  # read-only mappings do not pickle: rebuild from plain dicts
        fields = {k: dict(v) if isinstance(v, Mapping) else v for k, v in self.__dict__.items()}
        return (_from_fields, (fields,))

    def __repr__(self) -> str:
        flag = ", default" if self.default else ""
        return (f"<osteogrn.ParameterSet '{self.name}' for model '{self.model}'{flag}: "
                f"{len(self.parameters)} parameters, {len(self.initial)} initial values>")


def _from_fields(fields: Dict[str, Any]) -> ParameterSet:
    return ParameterSet(**{k: MappingProxyType(dict(v)) if isinstance(v, dict) else v
                           for k, v in fields.items()})


def parameter_sets_dir() -> Path:
    """The folder of the built-in parameter sets (``models/parameter_sets``)."""
    from .library import models_dir
    return models_dir() / "parameter_sets"


def _entries(file: str, doc: Mapping[str, Any], section: str, kind: str
             ) -> Tuple[Dict[str, float], Dict[str, str]]:
    values: Dict[str, float] = {}
    sources: Dict[str, str] = {}
    block = doc.get(section, {})
    if not isinstance(block, dict):
        raise _fail(file, _pointer(section), f"'{section}' must be an object of {kind} name -> "
                                             f"{{\"value\", \"source\"}}")
    for name, entry in block.items():
        where = _pointer(section, name)
        if not name:
            raise _fail(file, where, f"empty {kind} name")
        if not isinstance(entry, dict):
            raise _fail(file, where, f"must be an object {{\"value\": number, \"source\": "
                                     f"string}}, got {json.dumps(entry)}")
        _check_keys(file, where, entry, _ENTRY_KEYS)
        if "value" not in entry:
            raise _fail(file, where, "missing required key 'value'")
        value = entry["value"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(file, where + "/value", f"value must be a number, got {json.dumps(value)}")
        if not math.isfinite(float(value)):
            raise _fail(file, where + "/value", f"value {value} is not finite")
        if "source" not in entry:
            raise _fail(file, where, "missing source: every value says where it comes from "
                                     "('<reference key>: why', 'assumed: why' or "
                                     "'calibrated: how')")
        source = entry["source"]
        if not isinstance(source, str) or not source.strip():
            raise _fail(file, where + "/source", "source must be a non-empty string")
        values[name] = float(value)
        sources[name] = source
    return values, sources


def _parse(path: Path, builtin: bool) -> ParameterSet:
    file = str(path)
    doc = _read_json(path)
    if _depth(doc) > _MAX_DEPTH:
        raise _fail(file, "", f"nesting deeper than {_MAX_DEPTH} levels")
    if not isinstance(doc, dict):
        raise _fail(file, "", "a parameter-set file is a JSON object")
    schema = doc.get("schema")
    if schema != SCHEMA:
        problem = "missing 'schema'" if schema is None else f"unknown schema {json.dumps(schema)}"
        raise _fail(file, _pointer("schema") if schema is not None else "",
                    f"{problem}; expected \"{SCHEMA}\"")
    _check_keys(file, "", doc, _TOP_KEYS)
    name = _string(file, doc, "name", required=True, allow_empty=False)
    if builtin and name != path.stem:
        raise _fail(file, "/name", f"built-in set '{name}' must be in a file named "
                                   f"'{name}.json' (it is in '{path.name}')")
    model = _string(file, doc, "model", required=True, allow_empty=False)
    description = _string(file, doc, "description", required=True, allow_empty=False)
    cells = _string(file, doc, "cells", required=False)
    default = doc.get("default", False)
    if not isinstance(default, bool):
        raise _fail(file, "/default", f"'default' must be true or false, got "
                                      f"{json.dumps(default)}")
    references = doc.get("references", {})
    if not isinstance(references, dict):
        raise _fail(file, "/references", "'references' must be an object of key -> citation")
    for key, citation in references.items():
        if not isinstance(citation, str) or not citation.strip():
            raise _fail(file, _pointer("references", key), "a citation is a non-empty string")
    parameters, p_sources = _entries(file, doc, "parameters", "parameter")
    initial, i_sources = _entries(file, doc, "initial", "species")
    both = set(parameters) & set(initial)
    if both:
        raise _fail(file, _pointer("initial", sorted(both)[0]),
                    f"'{sorted(both)[0]}' is both a parameter and a species")
    return ParameterSet(name=name, model=model, description=description, cells=cells,
                        parameters=MappingProxyType(parameters),
                        initial=MappingProxyType(initial),
                        sources=MappingProxyType({**p_sources, **i_sources}),
                        references=MappingProxyType(dict(references)), default=default,
                        path=file)


def _builtin_files() -> List[Path]:
    folder = parameter_sets_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.json") if p.is_file())


def _builtin_sets() -> List[ParameterSet]:
    return [_parse(p, builtin=True) for p in _builtin_files()]


def list_parameter_sets(model: Optional[str] = None) -> List[str]:
    """Names of the built-in parameter sets, sorted.

    Parameters
    ----------
    model : str, optional
        Only the sets for the model of this name (e.g. ``"osteogenic"``).

    Returns
    -------
    list of str
        Each name loads with :func:`load_parameter_set` and works as
        ``load_model(..., parameter_set=name)``.

    Raises
    ------
    ModelError
        A built-in set file is invalid.
    """
    if model is None:
        return [p.stem for p in _builtin_files()]
    return [s.name for s in _builtin_sets() if s.model == str(model)]


def default_parameter_set(model: str) -> Optional[ParameterSet]:
    """The built-in set marked ``"default": true`` for the model named ``model``, or None.

    Raises
    ------
    ModelError
        Two built-in sets claim to be the default of the same model (naming both files).
    """
    defaults = [s for s in _builtin_sets() if s.model == str(model) and s.default]
    if len(defaults) > 1:
        raise _fail(defaults[1].path, "/default",
                    f"two default parameter sets for model '{model}': '{defaults[0].name}' "
                    f"({defaults[0].path}) and '{defaults[1].name}'; exactly one may say "
                    f"\"default\": true")
    return defaults[0] if defaults else None


def _read_set(name_or_path: PathLike) -> ParameterSet:
    """The set, checked as a file only (ParameterSet.apply checks it against the model)."""
    from .library import _locate
    path, builtin = _locate(name_or_path, parameter_sets_dir(), "parameter set",
                            list_parameter_sets(), ModelError)
    return _parse(Path(os.fspath(path)), builtin=builtin)


def load_parameter_set(name_or_path: PathLike) -> ParameterSet:
    """Loads a parameter set by built-in name or from a JSON file.

    Parameters
    ----------
    name_or_path : str or path-like
        A name from :func:`list_parameter_sets`, or the path of an
        ``osteogrn-parameter-set/1`` JSON file.

    Returns
    -------
    ParameterSet
        Checked as a file here; checked against its model by :meth:`ParameterSet.apply`
        (and here too when its model is a built-in model).

    Raises
    ------
    ModelError
        Unknown name, unreadable or invalid file, or values that do not fit the model; the
        message names the file and the JSON pointer of the field.
    """
    from .library import _is_builtin, list_models, load_model, models_dir
    pset = _read_set(name_or_path)
    if _is_builtin(models_dir(), pset.model) and pset.model in list_models():
        base = load_model(pset.model, parameter_set=False)
        if base.name == pset.model:
            pset.check(base)
    return pset

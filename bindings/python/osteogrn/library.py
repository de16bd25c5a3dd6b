"""Finding models and protocols: built-in names or paths.

Built-in models live in the ``models/`` folder shipped inside the package
(``models/*.json``) and protocols in ``models/protocols/*.json``. In a source
checkout without an installed package, the repository's ``models/`` folder is
used instead.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional, Tuple, Union

from .errors import ModelError, ProtocolError
from .model import Model
from .protocol import Protocol

if TYPE_CHECKING:
    from .parameter_sets import ParameterSet

__all__ = ["models_dir", "protocols_dir", "list_models", "list_protocols", "load_model",
           "load_protocol"]

PathLike = Union[str, "os.PathLike[str]"]


def models_dir() -> Path:
    """The folder of the built-in models.

    Returns
    -------
    pathlib.Path
        ``<package>/models`` when installed; the repository's ``models/`` in a
        source checkout.
    """
    here = Path(__file__).resolve().parent
    installed = here / "models"
    if installed.is_dir():
        return installed
    checkout = here.parents[2] / "models"  # bindings/python/osteogrn -> repository root
    return checkout if checkout.is_dir() else installed


def protocols_dir() -> Path:
    """The folder of the built-in protocols (``models/protocols``)."""
    return models_dir() / "protocols"


def _names(folder: Path) -> List[str]:
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if p.is_file())


def list_models() -> List[str]:
    """Names of the built-in models, sorted.

    Returns
    -------
    list of str
        Each name loads with :func:`load_model`.
    """
    return _names(models_dir())


def list_protocols() -> List[str]:
    """Names of the built-in protocols, sorted.

    Returns
    -------
    list of str
        Each name loads with :func:`load_protocol`.
    """
    return _names(protocols_dir())


def _looks_like_path(name: str) -> bool:
    # os.path.isfile answers False (it does not raise) for a name the OS cannot even look up:
    # one over 255 bytes (ENAMETOOLONG), one with a NUL. Such a name is then reported as an
    # unknown built-in, or by the C++ reader if it looks like a path.
    return name.endswith(".json") or os.sep in name or "/" in name or os.path.isfile(name)


def _is_builtin(folder: Path, name: str) -> bool:
    try:
        return (folder / f"{name}.json").is_file()
    except (OSError, ValueError):  # a name the OS cannot look up is no built-in
        return False


def _locate(name_or_path: PathLike, folder: Path, kind: str, known: List[str],
            error: type) -> Tuple[PathLike, bool]:
    """(the file to read, whether it is a built-in) for a built-in name or a path; an unknown
    name raises ``error`` listing the built-in ``kind`` names."""
    if isinstance(name_or_path, os.PathLike) or _looks_like_path(str(name_or_path)):
        return name_or_path, False
    name = str(name_or_path)
    if not _is_builtin(folder, name):
        raise error(f"unknown {kind} '{name}': no built-in {kind} or file named so; built-in "
                    f"{kind}s: {', '.join(known) or '(none installed)'}; or give the path of a "
                    f"JSON file", file=name)
    return folder / f"{name}.json", True


def _is_xml(path: Union[str, "os.PathLike[str]"]) -> bool:
    """Whether a file starts like an XML document (after a byte-order mark and white space);
    a JSON model starts with ``{``."""
    # Only a regular file is opened: a FIFO would block, and a name with a NUL or a lone
    # surrogate, a directory or a device must reach the JSON reader, whose errors name them.
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as fh:
            head = fh.read(256)
    except (OSError, ValueError, UnicodeError):
        return False
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def load_model(name_or_path: PathLike,
               parameter_set: Union[None, bool, str, "os.PathLike[str]", "ParameterSet"] = None
               ) -> Model:
    """Loads a model by built-in name, from a JSON file or from an SBML file.

    Parameters
    ----------
    name_or_path : str or path-like
        A name from :func:`list_models`, or the path of an ``osteogrn-model/1``
        JSON file (imports are looked up in the file's directory, then among
        the built-in models), or of an SBML file, recognised by its content and
        read with :func:`osteogrn.import_sbml`.
    parameter_set : None, False, str, path-like or ParameterSet, optional
        Which cell-type parameter set (``docs/formats/parameter_set.md``) to apply.
        None (the default): for a built-in model, its default set if one is
        marked ``"default": true`` (``"osteogenic"`` gets ``hmsc``); for a model
        loaded from a path, none. False: none, the module files' own values. A
        name from :func:`osteogrn.list_parameter_sets`, the path of a set file,
        or a :class:`~osteogrn.ParameterSet`: that set. ``Model.parameter_set``
        says which set was applied.

    Returns
    -------
    Model

    Raises
    ------
    ModelError
        Unknown name, missing file, a path that is not a regular file (a
        directory, a device, a FIFO), a file over the size limit (environment
        variable ``OSTEOGRN_MAX_FILE_BYTES``, default 64 MiB), or an invalid
        model (the message names the file and the JSON pointer of the field);
        an unknown or invalid parameter set, or one for another model.
    UnsupportedSBMLError
        An SBML file using a feature the import does not support.
    ParseError
        An expression in the model does not parse.
    """
    from .parameter_sets import ParameterSet, _read_set, default_parameter_set
    if parameter_set is True:
        raise ModelError("parameter_set=True is not a set: give None (the default set), False "
                         "(none), a set name or a path", file=str(name_or_path))
    path, builtin = _locate(name_or_path, models_dir(), "model", list_models(), ModelError)
    if not builtin and _is_xml(path):
        # SBML is recognised by content (an XML document), not by the file's extension
        from .sbml import import_sbml
        model = import_sbml(path)
    else:
        model = Model.from_file(path, search_paths=[str(models_dir())])
    if parameter_set is False:
        return model
    if parameter_set is None:
        pset = default_parameter_set(model.name) if builtin else None
    elif isinstance(parameter_set, ParameterSet):
        pset = parameter_set
    else:
        pset = _read_set(parameter_set)  # apply() checks it against this model
    return pset.apply(model) if pset is not None else model


def load_protocol(name_or_path: PathLike) -> Protocol:
    """Loads a protocol by built-in name or from a JSON file.

    Parameters
    ----------
    name_or_path : str or path-like
        A name from :func:`list_protocols`, or the path of an
        ``osteogrn-protocol/1`` JSON file.

    Returns
    -------
    Protocol

    Raises
    ------
    ProtocolError
        Unknown name, missing file, a path that is not a regular file, a file
        over the size limit (as for :func:`load_model`), or an invalid protocol.
    """
    path, _ = _locate(name_or_path, protocols_dir(), "protocol", list_protocols(), ProtocolError)
    return Protocol.from_file(path)

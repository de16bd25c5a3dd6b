"""The error classes of osteogrn.

Every error that osteogrn raises on purpose derives from :class:`OsteogrnError`.
Errors about bad input also derive from :class:`ValueError`, and a failed
integration also derives from :class:`RuntimeError`, so ordinary ``except``
clauses keep working. The C++ core raises the same classes (see
``bindings/bind_errors.cpp``); the message is the C++ message, unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .result import ReturnCode

__all__ = [
    "OsteogrnError",
    "ParseError",
    "ModelError",
    "UnsupportedSBMLError",
    "ProtocolError",
    "OptionError",
    "SolverError",
    "InternalError",
    "PetabError",
    "FitWarning",
]


class OsteogrnError(Exception):
    """Base class of every error osteogrn raises on purpose.

    Parameters
    ----------
    message : str
        The full message (what ``str(error)`` returns).
    **attributes
        Extra fields set as attributes (``file``, ``pointer``, ``time``...).
    """

    def __init__(self, message: str = "", /, **attributes: object) -> None:
        super().__init__(message)
        for key, value in attributes.items():
            setattr(self, key, value)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class _Located(OsteogrnError):
    """An error in a file: carries ``file`` and ``pointer`` (a JSON pointer)."""

    file: str
    pointer: str
    message: str

    def __init__(self, message: str = "", /, *, file: str = "", pointer: str = "",
                 **attributes: object) -> None:
        attributes.setdefault("message", message)
        super().__init__(message, file=file, pointer=pointer, **attributes)


class ParseError(_Located, ValueError):
    """An expression that does not parse.

    Attributes
    ----------
    position : int
        0-based character offset of the offending character in ``text``.
    text : str
        The expression text.
    file, pointer : str
        Where the expression is (file path and JSON pointer; empty if unknown).
    message : str
        The bare message without location.
    """

    position: int
    text: str

    def __init__(self, message: str = "", /, *, position: int = 0, text: str = "",
                 **attributes: object) -> None:
        super().__init__(message, position=position, text=text, **attributes)


class ModelError(_Located, ValueError):
    """An invalid model file or model edit.

    Attributes
    ----------
    file : str
        The model file ("<string>" for JSON text).
    pointer : str
        JSON pointer of the offending field, e.g. ``/odes/Runx2``.
    message : str
        The bare message without location.
    """


class UnsupportedSBMLError(ModelError):
    """An SBML model uses a feature the import does not support.

    Raised by :func:`osteogrn.import_sbml` at import, never later: a model that imports
    simulates what the SBML means, and anything it could not reproduce exactly is refused.

    Attributes
    ----------
    element : str
        The id of the SBML element using the feature (a reaction, species, rule variable...).
    feature : str
        What is not supported, e.g. ``fast reactions`` or ``delay()``.
    """

    element: str
    feature: str

    def __init__(self, message: str = "", /, *, element: str = "", feature: str = "",
                 **attributes: object) -> None:
        super().__init__(message, element=element, feature=feature, **attributes)


class ProtocolError(_Located, ValueError):
    """A protocol that is invalid, or that does not fit the model it is used with.

    Attributes
    ----------
    file : str
        The protocol file ("<string>" for JSON text).
    pointer : str
        JSON pointer of the offending field, e.g. ``/components/dex/unit``.
    message : str
        The bare message without location.
    """


class OptionError(OsteogrnError, ValueError):
    """Invalid solver options or call arguments (unknown method, rtol <= 0, bad times...)."""


class SolverError(OsteogrnError, RuntimeError):
    """The integrator failed.

    Attributes
    ----------
    time : float
        Model time (days) at which it failed.
    reason : str
        What went wrong and, where known, how to fix it.
    flag : str
        The solver's raw flag name, e.g. ``CV_TOO_MUCH_WORK`` (may be empty).
    code : ReturnCode
        What happened, the same codes for every method (``osteogrn.ReturnCode``);
        the message ends with the code's hint.
    """

    time: float
    reason: str
    flag: str
    code: "ReturnCode"

    def __init__(self, message: str = "", /, *, time: float = float("nan"), reason: str = "",
                 flag: str = "", code: str = "other", **attributes: object) -> None:
        from .result import ReturnCode  # the result module needs _core; errors must not
        super().__init__(message, time=time, reason=reason, flag=flag,
                         code=ReturnCode(str(code)), **attributes)


class InternalError(OsteogrnError, RuntimeError):
    """A bug in osteogrn, never a user error: please report it with the message.

    Raised for any failure inside osteogrn that is not one of the typed errors
    above (a broken invariant, an unexpected exception from the C++ standard
    library or a dependency). Running out of memory is a :class:`MemoryError`,
    not an InternalError.

    Attributes
    ----------
    cpp_type : str
        The C++ exception type, e.g. ``std::length_error`` (empty if unknown).
    """

    cpp_type: str

    def __init__(self, message: str = "", /, *, cpp_type: str = "",
                 **attributes: object) -> None:
        super().__init__(message, cpp_type=cpp_type, **attributes)


class PetabError(OsteogrnError, ValueError):
    """A PEtab problem that is invalid, or uses something :mod:`osteogrn.petab` does not support.

    Attributes
    ----------
    file : str
        The PEtab file at fault (the yaml file, a table or the SBML model; "" if none).
    table : str
        ``parameter``, ``condition``, ``observable``, ``measurement`` or ``yaml`` ("" if none).
    column : str
        The offending column ("" if not one column).
    row : object
        The row (the table's id, or its 0-based position) at fault, or None.
    value : object
        The offending value (None if not one value).
    """

    file: str
    table: str
    column: str
    row: object
    value: object

    def __init__(self, message: str = "", /, *, file: str = "", table: str = "",
                 column: str = "", row: object = None, value: object = None) -> None:
        super().__init__(message, file=file, table=table, column=column, row=row, value=value)


class FitWarning(UserWarning):
    """A fit ran, but something about it deserves a look (a warning, not an error).

    Issued by :func:`osteogrn.fit` and :class:`osteogrn.FitResult` when the noise SD
    had to be estimated because the data give none, when parameters end within
    1 % of a bound, when Fisher-information standard errors are undefined
    (non-identifiable directions) and when profile-likelihood intervals are open.
    Turn into errors with ``warnings.simplefilter("error", og.FitWarning)``.
    """

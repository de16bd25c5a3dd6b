"""Text arguments that cannot reach the C++ core become typed osteogrn errors.

The core takes UTF-8. A Python ``str`` holding a lone surrogate (``"\\ud800"``;
also what ``errors="surrogateescape"`` makes of undecodable bytes, e.g. in
``sys.argv`` or ``os.listdir``) has no UTF-8 form, and pybind11 answers it with
a bare ``TypeError: incompatible function arguments``. :func:`checks_text`
looks at every string in a public function's arguments (dict keys and values,
list and tuple items, recursively) before the call and raises the function's
own error class instead, naming the argument and the character.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
from typing import Any, Callable, Iterator, Optional, Tuple, Type, TypeVar

from .errors import OsteogrnError, ParseError

__all__ = ["checks_text", "find_unencodable"]

F = TypeVar("F", bound=Callable[..., Any])

_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_DEPTH = 64  # arguments nested deeper are left to the core's own checks


def _strings(value: Any, where: str, depth: int = 0) -> Iterator[Tuple[str, str]]:
    """(where, string) for every string inside ``value``."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, os.PathLike):
        yield from _strings(os.fspath(value), where, depth + 1)
    elif depth >= _MAX_DEPTH:
        return
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield f"a key of {where}", key
            yield from _strings(item, f"{where}[{key!r}]", depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for i, item in enumerate(value):
            yield from _strings(item, f"{where}[{i}]", depth + 1)


def find_unencodable(value: Any, where: str) -> Optional[Tuple[str, str, int]]:
    """The first string in ``value`` with no UTF-8 form: (where, the string, index of the lone
    surrogate), or None."""
    for place, text in _strings(value, where):
        if text.isascii():
            continue
        match = _SURROGATE.search(text)
        if match:
            return place, text, match.start()
    return None


def checks_text(error: Type[OsteogrnError],
                **per_argument: Type[OsteogrnError]) -> Callable[[F], F]:
    """Decorator: the function raises ``error`` when any string in its arguments has a lone
    surrogate (ParseError also gets ``position`` and ``text``).

    Parameters
    ----------
    error : type
        The osteogrn error class the function raises for bad input of this kind.
    **per_argument : type
        Another class for some arguments, e.g. ``model=ModelError`` on a function whose
        other arguments are options.
    """

    def decorate(func: F) -> F:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # The usual case, nothing to report, needs no names: binding the arguments to the
            # signature cost a quarter of a small model's simulate() call.
            if all(find_unencodable(v, "") is None for v in (*args, *kwargs.values())) and \
                    not any(_SURROGATE.search(k) for k in kwargs):
                return func(*args, **kwargs)
            bound = signature.bind_partial(*args, **kwargs)
            for name, value in bound.arguments.items():
                if name in ("self", "cls"):
                    continue
                found = find_unencodable(value, f"argument '{name}'")
                if found is not None:
                    where = func.__qualname__.replace(".__init__", "")
                    raise _error(per_argument.get(name, error), where, *found)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _error(cls: Type[OsteogrnError], function: str, place: str, text: str,
           index: int) -> OsteogrnError:
    message = (f"{function}: {place} is not valid text: lone surrogate U+{ord(text[index]):04X} "
               f"at character {index} (a string with no UTF-8 form, e.g. undecodable bytes read "
               "with errors='surrogateescape')")
    if issubclass(cls, ParseError):
        return cls(message, position=index,
                   text=text.encode("utf-8", errors="replace").decode("utf-8"))
    return cls(message)

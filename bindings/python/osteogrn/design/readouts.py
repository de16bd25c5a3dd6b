"""Readouts: small expressions that reduce a time course to one number, e.g. ``"mineral@21"``.

Grammar (``X`` a species or observable of the model, ``d``, ``a``, ``b``, ``level`` numbers;
white space is free)::

    readout  := term [ "/" term ]              ratio of two readouts
    term     := X "@" d                        value at day d
              | max(X [, a, b]) | min(X [, a, b])          extreme over [a, b] (default: the run)
              | argmax(X [, a, b]) | argmin(X [, a, b])    the day of the extreme (first one)
              | time_to(X, level)              first day X reaches level (see below)
              | auc(X [, a, b])                area under X over [a, b] (trapezoid rule)
              | mean(X [, a, b])               auc / (b - a)

Values between sample times are linear interpolations of the neighbouring samples; window
end points ``a``, ``b`` and ``d`` are interpolated the same way (they are exact when they are
sample times, as :func:`sample_times` makes them). ``time_to(X, level)`` is the first time the
course reaches ``level`` from the side it starts on (upwards if ``X(0) < level``, downwards
if ``X(0) > level``; 0 if it starts there), linearly interpolated between the two samples
around the crossing; NaN if it never does. Every readout is NaN where a value it uses is NaN.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, List, Mapping, Optional, Tuple

import numpy as np

from ..errors import OptionError

__all__ = ["Readout", "sample_times", "DEFAULT_DT"]

#: Default spacing of the sample grid for readouts that look at the whole course (days).
DEFAULT_DT = 0.1

# function name -> allowed numbers of numeric arguments after the output name
_FUNCTIONS = {"max": (0, 2), "min": (0, 2), "argmax": (0, 2), "argmin": (0, 2),
              "time_to": (1,), "auc": (0, 2), "mean": (0, 2)}

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[@(),/])
""", re.VERBOSE)


def _error(text: str, position: int, message: str) -> OptionError:
    caret = " " * (position + 2) + "^"
    return OptionError(f"readout '{text}': {message} at position {position}\n  {text}\n{caret}",
                       position=position, text=text)


@dataclass(frozen=True)
class _Token:
    kind: str
    value: str
    position: int


def _tokenize(text: str) -> List[_Token]:
    tokens = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise _error(text, pos, f"unexpected character {text[pos]!r}")
        if m.lastgroup != "space":
            tokens.append(_Token(m.lastgroup or "", m.group(), pos))
        pos = m.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


# -- the parsed terms --------------------------------------------------------------------
@dataclass(frozen=True)
class _Term:
    function: str          # "at" or a key of _FUNCTIONS
    output: str
    args: Tuple[float, ...]


class _Parser:
    """Recursive descent over the token list (one token of look-ahead)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self, kind: str, value: Optional[str] = None, what: str = "") -> _Token:
        tok = self.peek()
        if tok.kind != kind or (value is not None and tok.value != value):
            found = "the end" if tok.kind == "end" else repr(tok.value)
            raise _error(self.text, tok.position, f"expected {what or value or kind}, "
                                                  f"found {found}")
        self.i += 1
        return tok

    def number(self, what: str) -> float:
        tok = self.take("number", what=what)
        x = float(tok.value)
        if not math.isfinite(x):
            raise _error(self.text, tok.position, f"{what} must be finite")
        return x

    def readout(self) -> Tuple[_Term, Optional[_Term]]:
        if self.peek().kind == "end":
            raise _error(self.text, 0, "empty readout; e.g. 'mineral@21' or 'max(ALP)'")
        num = self.term()
        den = None
        if self.peek().kind == "punct" and self.peek().value == "/":
            self.i += 1
            den = self.term()
        tok = self.peek()
        if tok.kind != "end":
            raise _error(self.text, tok.position, f"unexpected {tok.value!r} (a readout is one "
                                                  f"term or a ratio of two)")
        return num, den

    def term(self) -> _Term:
        tok = self.take("name", what="an output name or a function (max, min, argmax, "
                                     "argmin, time_to, auc, mean)")
        nxt = self.peek()
        if nxt.kind == "punct" and nxt.value == "@":
            self.i += 1
            return _Term("at", tok.value, (self.number("a day after '@'"),))
        if nxt.kind == "punct" and nxt.value == "(":
            if tok.value not in _FUNCTIONS:
                raise _error(self.text, tok.position,
                             f"unknown function '{tok.value}' (functions: "
                             f"{', '.join(_FUNCTIONS)})")
            self.i += 1
            output = self.take("name", what="an output name").value
            args: List[float] = []
            while self.peek().kind == "punct" and self.peek().value == ",":
                self.i += 1
                args.append(self.number("a number"))
            close = self.take("punct", ")", what="')' or ','")
            if len(args) not in _FUNCTIONS[tok.value]:
                forms = {"time_to": "time_to(X, level)"}.get(
                    tok.value, f"{tok.value}(X) or {tok.value}(X, a, b)")
                raise _error(self.text, close.position,
                             f"{tok.value} takes {forms}, got {len(args) + 1} argument(s)")
            if len(args) == 2 and tok.value != "time_to" and not args[0] < args[1]:
                raise _error(self.text, close.position,
                             f"the window [{args[0]:g}, {args[1]:g}] is empty (a < b needed)")
            return _Term(tok.value, output, tuple(args))
        raise _error(self.text, nxt.position,
                     f"expected '@' and a day, or '(' after '{tok.value}' "
                     f"(e.g. '{tok.value}@21' or 'max({tok.value})')")


# -- vectorised evaluation ----------------------------------------------------------------
def _column(t: np.ndarray, v: np.ndarray, s: float) -> np.ndarray:
    """v at time s, linearly interpolated along the last axis; exact at a sample time,
    NaN outside [t[0], t[-1]]."""
    n = t.size
    i = int(np.searchsorted(t, s, side="left"))
    if i < n and t[i] == s:
        return v[..., i]
    if i == 0 or i == n:
        return np.full(v.shape[:-1], np.nan)
    w = (s - t[i - 1]) / (t[i] - t[i - 1])
    return v[..., i - 1] + w * (v[..., i] - v[..., i - 1])


def _window(t: np.ndarray, v: np.ndarray, a: Optional[float], b: Optional[float]
            ) -> Tuple[np.ndarray, np.ndarray]:
    """The samples within [a, b], with interpolated end points where a or b are not sample
    times. NaN-filled if the window is not inside [t[0], t[-1]]."""
    if a is None:
        return t, v
    if a < t[0] or b > t[-1]:
        return np.array([a, b]), np.full(v.shape[:-1] + (2,), np.nan)
    inside = (t > a) & (t < b)
    tw = np.concatenate(([a], t[inside], [b]))
    vw = np.concatenate((_column(t, v, a)[..., None], v[..., inside],
                         _column(t, v, b)[..., None]), axis=-1)
    return tw, vw


def _nan_rows(v: np.ndarray) -> np.ndarray:
    return np.isnan(v).any(axis=-1)


def _extreme(t: np.ndarray, v: np.ndarray, function: str) -> np.ndarray:
    bad = _nan_rows(v)
    if function in ("max", "min"):
        out = v.max(axis=-1) if function == "max" else v.min(axis=-1)
    else:
        index = v.argmax(axis=-1) if function == "argmax" else v.argmin(axis=-1)
        out = t[index].astype(float)
    out = np.asarray(out, dtype=float)
    out[bad] = np.nan
    return out


def _trapezoid(t: np.ndarray, v: np.ndarray) -> np.ndarray:
    dt = np.diff(t)
    return ((v[..., 1:] + v[..., :-1]) * 0.5 * dt).sum(axis=-1)


def _time_to(t: np.ndarray, v: np.ndarray, level: float) -> np.ndarray:
    start = v[..., 0]
    upward = start < level
    reached = np.where(upward[..., None], v >= level, v <= level)
    found = reached.any(axis=-1)
    j = reached.argmax(axis=-1)          # first sample at or past the level
    jm = np.maximum(j - 1, 0)
    v1 = np.take_along_axis(v, j[..., None], axis=-1)[..., 0]
    v0 = np.take_along_axis(v, jm[..., None], axis=-1)[..., 0]
    t1, t0 = t[j], t[jm]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(v1 != v0, (level - v0) / (v1 - v0), 0.0)
    out = np.where(j == 0, t[0], t0 + frac * (t1 - t0))
    out = np.asarray(out, dtype=float)
    out[~found | np.isnan(start)] = np.nan
    # A NaN before the crossing (a failure) makes the time unknown.
    before = np.arange(v.shape[-1]) <= j[..., None]
    out[(np.isnan(v) & before).any(axis=-1)] = np.nan
    return out


def _evaluate_term(term: _Term, t: np.ndarray, v: np.ndarray) -> np.ndarray:
    if term.function == "at":
        return np.asarray(_column(t, v, term.args[0]), dtype=float)
    if term.function == "time_to":
        return _time_to(t, v, term.args[0])
    a, b = (term.args[0], term.args[1]) if len(term.args) == 2 else (None, None)
    tw, vw = _window(t, v, a, b)
    if term.function in ("max", "min", "argmax", "argmin"):
        return _extreme(tw, vw, term.function)
    area = _trapezoid(tw, vw)
    if term.function == "auc":
        return area
    return area / (tw[-1] - tw[0])  # mean


class Readout:
    """A readout expression, parsed once and evaluated on many time courses at once.

    Parameters
    ----------
    text : str
        E.g. ``"mineral@21"``, ``"max(ALP)"``, ``"argmax(ALP, 0, 14)"``,
        ``"time_to(mineral, 1.0)"``, ``"auc(OCN, 0, 21)"``, ``"mean(ALP, 7, 14)"``,
        ``"mineral@21 / auc(ALP)"``; the grammar is in the module docstring.

    Attributes
    ----------
    text : str
        The text as given (stripped); it names the readout's column in a sweep.
    outputs : list of str
        The model outputs (species or observables) it needs, in order of appearance.
    times : list of float
        Times it needs exactly (``@d`` days, window ends), sorted.
    needs_grid : bool
        True if it looks at the whole course (``max``, ``time_to``, ``auc``, ...), which
        needs a fine sample grid; False if it only reads values at ``times``.

    Raises
    ------
    OptionError
        Text that does not parse; ``position`` is the 0-based offset of the offending
        character, ``text`` the readout, and the message points at it.

    Examples
    --------
    >>> r = og.Readout("max(ALP)")
    >>> r.evaluate(res.t, {"ALP": res["ALP"]})          # doctest: +SKIP
    """

    __slots__ = ("text", "_num", "_den")

    def __init__(self, text: str) -> None:
        if isinstance(text, Readout):
            text = text.text
        if not isinstance(text, str):
            raise OptionError(f"a readout must be a string such as 'mineral@21', got {text!r}")
        self.text = text.strip()
        self._num, self._den = _Parser(self.text).readout()

    def _terms(self) -> List[_Term]:
        return [self._num] + ([self._den] if self._den is not None else [])

    @property
    def outputs(self) -> List[str]:
        seen: List[str] = []
        for term in self._terms():
            if term.output not in seen:
                seen.append(term.output)
        return seen

    @property
    def times(self) -> List[float]:
        out = set()
        for term in self._terms():
            if term.function == "at" or (term.function != "time_to" and term.args):
                out.update(term.args)
        return sorted(out)

    @property
    def needs_grid(self) -> bool:
        return any(term.function != "at" for term in self._terms())

    def check(self, model: Any) -> None:
        """Checks that every output is a species or observable of ``model``.

        Raises
        ------
        OptionError
            Naming the readout, the unknown output and its position.
        """
        known = list(model.species) + list(model.observables)
        for term in self._terms():
            if term.output not in known:
                import difflib
                close = difflib.get_close_matches(term.output, known, n=3)
                hint = f"did you mean {', '.join(close)}? " if close else ""
                position = _find_name(self.text, term.output)
                raise _error(self.text, position,
                             f"model '{model.name}' has no output '{term.output}' ({hint}"
                             f"observables: {', '.join(model.observables)}; or a species)")

    def unit(self, model: Any) -> str:
        """The readout's unit, from the units of the model's observables and species.

        Returns
        -------
        str
            The output's unit for ``@``, max, min and mean; the model's time unit for
            argmax, argmin and time_to; ``unit*time`` for auc; ``num/den`` for a ratio
            (``1`` if the units are equal). ``""`` where an output has no unit.
        """
        units = _output_units(model)
        time = model.time_unit or "day"

        def one(term: _Term) -> str:
            u = units.get(term.output, "")
            if term.function in ("argmax", "argmin", "time_to"):
                return time
            if term.function == "auc":
                return f"{u}*{time}" if u and u != "1" else time
            return u

        num = one(self._num)
        if self._den is None:
            return num
        den = one(self._den)
        if num == den:
            return "1"
        wrap = (lambda u: f"({u})" if any(c in u for c in "*/") else u)
        return f"{wrap(num or '1')}/{wrap(den or '1')}"

    def evaluate(self, t: Any, values: Mapping[str, Any]) -> np.ndarray:
        """Evaluates the readout on time courses, vectorised over leading axes.

        Parameters
        ----------
        t : array_like, shape (n_t,)
            Sample times, increasing.
        values : mapping output -> array_like, shape (..., n_t)
            The courses of at least :attr:`outputs`; all with the same leading shape.

        Returns
        -------
        numpy.ndarray
            Shape ``(...)``: one value per course (a 0-d array for 1-D courses).

        Raises
        ------
        OptionError
            A missing output, a shape that does not end in ``n_t``, or ``t`` not increasing.
        """
        t = np.asarray(t, dtype=float).reshape(-1)
        if t.size == 0 or (t.size > 1 and not np.all(np.diff(t) > 0)):
            raise OptionError(f"readout '{self.text}': t must be non-empty and increasing")

        def course(name: str) -> np.ndarray:
            if name not in values:
                raise OptionError(f"readout '{self.text}' needs output '{name}'; given: "
                                  f"{', '.join(map(str, values))}")
            v = np.asarray(values[name], dtype=float)
            if v.shape[-1:] != (t.size,):
                raise OptionError(f"readout '{self.text}': '{name}' has shape {v.shape}; the "
                                  f"last axis must be the {t.size} sample times")
            return v

        num = _evaluate_term(self._num, t, course(self._num.output))
        if self._den is None:
            return num
        den = _evaluate_term(self._den, t, course(self._den.output))
        with np.errstate(divide="ignore", invalid="ignore"):
            return num / den

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Readout) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"Readout({self.text!r})"

    def __str__(self) -> str:
        return self.text


def _find_name(text: str, name: str) -> int:
    m = re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", text)
    return m.start() if m else 0


def _output_units(model: Any) -> dict:
    units = {}
    for table in (model.species_table(), model.observable_table()):
        if "unit" in getattr(table, "columns", ()):
            for name, u in table["unit"].items():
                units[str(name)] = "" if u is None or (isinstance(u, float) and math.isnan(u)) \
                    else str(u)
    return units


def readouts(items: Any) -> List[Readout]:
    """A readout, a text, or a sequence of them -> a list of distinct :class:`Readout`."""
    if isinstance(items, (str, Readout)):
        items = [items]
    out: List[Readout] = []
    for item in items:
        r = Readout(item)
        if r not in out:
            out.append(r)
    if not out:
        raise OptionError("readouts is empty; give at least one, e.g. 'mineral@21'")
    return out


def sample_times(items: Iterable[Any], duration: float, dt: float = DEFAULT_DT) -> np.ndarray:
    """Sample times for a set of readouts over a run of ``duration`` days.

    Parameters
    ----------
    items : iterable of Readout or str
    duration : float
        The run's length (days).
    dt : float, optional
        Spacing of the uniform grid from 0 to ``duration`` used when a readout looks at the
        whole course (default 0.1 day).

    Returns
    -------
    numpy.ndarray
        Sorted, distinct times in [0, duration]: every time a readout needs exactly
        (``@d``, window ends), plus the uniform grid if any readout needs it. Times a
        readout needs past ``duration`` (or before 0) are left out: that readout is NaN
        for this run.
    """
    rs = readouts(list(items))
    if not (isinstance(dt, (int, float)) and dt > 0 and math.isfinite(dt)):
        raise OptionError(f"dt must be a positive number of days, got {dt!r}")
    duration = float(duration)
    exact = [x for r in rs for x in r.times if 0.0 <= x <= duration]
    parts = [np.asarray(exact, dtype=float)]
    if any(r.needs_grid for r in rs):
        n = int(math.floor(duration / dt + 1e-9))
        # Rounded so that grid days such as 0.3 or 21.0 are the decimal numbers themselves.
        grid = np.round(np.arange(n + 1) * dt, 10)
        parts.append(grid[grid <= duration])
        parts.append(np.array([0.0, duration]))
    times = np.unique(np.concatenate(parts))
    if times.size == 0:
        raise OptionError(f"no readout time lies within the run [0, {duration:g}] "
                          f"({', '.join(r.text for r in rs)})")
    return times

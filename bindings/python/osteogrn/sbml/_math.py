"""MathML (libsbml AST) to osteogrn expression text, and a small evaluator.

Both walk the same libsbml AST with the same rules, so a value computed at load
(initial assignments) and the value the engine computes from the translated text
agree. Anything the expression grammar cannot express raises
:class:`~osteogrn.errors.UnsupportedSBMLError` naming the element and the feature.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import libsbml
import numpy as np

from ..errors import UnsupportedSBMLError

#: The value SBML Level 3 gives the ``avogadro`` csymbol (L3V1 and L3V2 specifications).
AVOGADRO = 6.02214179e23


def _factorial(x: float) -> float:
    """n! as the engine computes it (``factorial`` in docs/formats/model.md): the product
    1*2*...*n in that order for an integer n >= 0, inf beyond 170, NaN otherwise."""
    if math.isinf(x) and x > 0:
        return math.inf
    if not x >= 0 or x != math.floor(x):
        return math.nan
    if x > 170:
        return math.inf
    out = 1.0
    k = 2.0
    while k <= x:
        out *= k
        k += 1.0
    return out


def _ieee(exact: Callable[[float], float], fallback: Callable) -> Callable[[float], float]:
    """``exact`` (the math module: the C library functions the engine calls), or where it raises
    for a pole, an overflow or an argument outside the domain, ``fallback`` on a numpy double:
    the inf or NaN the engine computes there. A value in a piecewise branch that is not taken
    (or a function argument it ignores) may be such a value without spoiling the result."""
    def value(x: float) -> float:
        try:
            return float(exact(x))
        except (ValueError, OverflowError, ZeroDivisionError):
            with np.errstate(all="ignore"):
                return float(fallback(np.float64(x)))
    return value


# MathML functions of one argument: libsbml AST type name -> (expression text with {} for the
# argument, the same function in Python for values computed at load, its numpy form for the
# arguments where Python raises). The reciprocal functions have no function of their own in the
# grammar and are written through their definitions (sec x = 1/cos x, arcsec x = arccos(1/x),
# ...), as the MathML and SBML specifications define them (arccot x = arctan(1/x), with values
# in (-pi/2, pi/2]).
_ONE_ARGUMENT_SPEC = {
    "SIN": ("sin({})", math.sin, np.sin), "COS": ("cos({})", math.cos, np.cos),
    "TAN": ("tan({})", math.tan, np.tan),
    "ARCSIN": ("asin({})", math.asin, np.arcsin), "ARCCOS": ("acos({})", math.acos, np.arccos),
    "ARCTAN": ("atan({})", math.atan, np.arctan),
    "SINH": ("sinh({})", math.sinh, np.sinh), "COSH": ("cosh({})", math.cosh, np.cosh),
    "TANH": ("tanh({})", math.tanh, np.tanh), "ARCSINH": ("asinh({})", math.asinh, np.arcsinh),
    "ARCCOSH": ("acosh({})", math.acosh, np.arccosh),
    "ARCTANH": ("atanh({})", math.atanh, np.arctanh),
    "SEC": ("(1 / cos({}))", lambda x: 1.0 / math.cos(x), lambda x: 1.0 / np.cos(x)),
    "CSC": ("(1 / sin({}))", lambda x: 1.0 / math.sin(x), lambda x: 1.0 / np.sin(x)),
    "COT": ("(1 / tan({}))", lambda x: 1.0 / math.tan(x), lambda x: 1.0 / np.tan(x)),
    "SECH": ("(1 / cosh({}))", lambda x: 1.0 / math.cosh(x), lambda x: 1.0 / np.cosh(x)),
    "CSCH": ("(1 / sinh({}))", lambda x: 1.0 / math.sinh(x), lambda x: 1.0 / np.sinh(x)),
    "COTH": ("(1 / tanh({}))", lambda x: 1.0 / math.tanh(x), lambda x: 1.0 / np.tanh(x)),
    "ARCSEC": ("acos(1 / {})", lambda x: math.acos(1.0 / x), lambda x: np.arccos(1.0 / x)),
    "ARCCSC": ("asin(1 / {})", lambda x: math.asin(1.0 / x), lambda x: np.arcsin(1.0 / x)),
    "ARCCOT": ("atan(1 / {})", lambda x: math.atan(1.0 / x), lambda x: np.arctan(1.0 / x)),
    "ARCSECH": ("acosh(1 / {})", lambda x: math.acosh(1.0 / x), lambda x: np.arccosh(1.0 / x)),
    "ARCCSCH": ("asinh(1 / {})", lambda x: math.asinh(1.0 / x), lambda x: np.arcsinh(1.0 / x)),
    "ARCCOTH": ("atanh(1 / {})", lambda x: math.atanh(1.0 / x), lambda x: np.arctanh(1.0 / x)),
    "FLOOR": ("floor({})", math.floor, np.floor), "CEILING": ("ceil({})", math.ceil, np.ceil),
    "FACTORIAL": ("factorial({})", _factorial, _factorial),
}
_ONE_ARGUMENT: Dict[int, "tuple[str, str, Callable[[float], float]]"] = {}
for _name, (_template, _exact, _fallback) in _ONE_ARGUMENT_SPEC.items():
    _code = getattr(libsbml, "AST_FUNCTION_" + _name, None)
    if _code is not None:
        _ONE_ARGUMENT[_code] = (_name.lower(), _template, _ieee(_exact, _fallback))

# MathML quotient and rem (SBML L3V2), defined on integers: quotient(a, b) is a/b rounded
# toward zero, rem(a, b) = a - b quotient(a, b) (the sign of a). Written through floor and ceil
# of the double a/b; for integer a and b (|a| < 2^53) every step is exact.
_QUOTIENT = getattr(libsbml, "AST_FUNCTION_QUOTIENT", None)
_IMPLIES = getattr(libsbml, "AST_LOGICAL_IMPLIES", None)  # SBML L3V2: (not a) or b
_REM = getattr(libsbml, "AST_FUNCTION_REM", None)


def _quotient_text(a: str, b: str) -> str:
    return f"piecewise(floor({a} / {b}), {a} / {b} >= 0, ceil({a} / {b}))"


def _quotient(a: float, b: float) -> float:
    """As the engine computes _quotient_text: floor or ceil of the double a / b."""
    q = a / b
    return float(math.floor(q) if q >= 0 else math.ceil(q))


# libsbml AST types of MathML functions with no counterpart in the expression grammar: named so
# the refusal says which function, not just "unsupported".
_REFUSED_FUNCTIONS: Dict[int, str] = {}
for _name, _feature in (("AST_FUNCTION_DELAY", "delay()"), ("AST_FUNCTION_RATE_OF", "rateOf()"),
                        ("AST_LAMBDA", "lambda outside a function definition"),
                        ("AST_CONSTANT_INFINITY", "the constant infinity"),
                        ("AST_CONSTANT_NAN", "the constant NaN (notanumber)")):
    _code = getattr(libsbml, _name, None)
    if _code is not None and _feature:
        _REFUSED_FUNCTIONS[_code] = _feature

_RELATIONS = {
    libsbml.AST_RELATIONAL_EQ: "==", libsbml.AST_RELATIONAL_NEQ: "!=",
    libsbml.AST_RELATIONAL_LT: "<", libsbml.AST_RELATIONAL_LEQ: "<=",
    libsbml.AST_RELATIONAL_GT: ">", libsbml.AST_RELATIONAL_GEQ: ">=",
}

_UNARY = {
    libsbml.AST_FUNCTION_EXP: "exp", libsbml.AST_FUNCTION_LN: "ln",
    libsbml.AST_FUNCTION_ABS: "abs",
}


def _number_text(x: float) -> str:
    """A finite double as grammar text that reads back exactly (a negative in parentheses)."""
    if not math.isfinite(x):
        raise ValueError(x)
    text = repr(float(x))
    if "inf" in text or "nan" in text:  # pragma: no cover - excluded above
        raise ValueError(x)
    return f"(-{text[1:]})" if text.startswith("-") else text


def _ast_number(node: "libsbml.ASTNode") -> float:
    """The numeric value of a number node (integer, real, e-notation or rational)."""
    kind = node.getType()
    if kind == libsbml.AST_INTEGER:
        return float(node.getInteger())
    if kind == libsbml.AST_RATIONAL:
        return node.getNumerator() / node.getDenominator()
    return float(node.getReal())


_NUMBER_TYPES = (libsbml.AST_INTEGER, libsbml.AST_REAL, libsbml.AST_REAL_E, libsbml.AST_RATIONAL)


class MathTranslator:
    """Translates libsbml ASTs into expression text and evaluates them.

    Parameters
    ----------
    functions : mapping
        Function definition id -> (argument names, body AST).

    Attributes
    ----------
    element : str
        The SBML element being translated, named in refusals (set by the importer).
    """

    def __init__(self, functions: Mapping[str, "tuple[List[str], libsbml.ASTNode]"]) -> None:
        self.functions = dict(functions)
        self.element = ""
        #: SBML id -> text of its time derivative, for rateOf (set by the importer; None
        #: refuses rateOf)
        self.rate_of: Optional[Callable[[str], str]] = None
        #: SBML id -> value of its time derivative at t = 0, for rateOf in initial values
        self.rate_value: Optional[Callable[[str], float]] = None
        #: ids of the local parameters in scope (a kinetic law's): constant, so rateOf is 0
        self.local_ids: frozenset = frozenset()

    # -- refusals -----------------------------------------------------------------
    def refuse(self, feature: str) -> "UnsupportedSBMLError":
        """An UnsupportedSBMLError for ``feature`` in the current element."""
        return UnsupportedSBMLError(
            f"SBML element '{self.element}': {feature} is not supported",
            element=self.element, feature=feature)

    # -- what translation and evaluation share -------------------------------------
    def _rate_of_target(self, kids: List["libsbml.ASTNode"], env: Mapping[str, Any]
                        ) -> Optional[str]:
        """The SBML id of ``rateOf(id)``, or None for a local parameter (it shadows the
        global id and never changes, so its rate is 0)."""
        if len(kids) != 1 or kids[0].getType() != libsbml.AST_NAME or kids[0].getName() in env:
            raise self.refuse("rateOf() of anything but a model symbol")
        name = kids[0].getName()
        return None if name in self.local_ids else name

    def _definition(self, node: "libsbml.ASTNode", n_args: int, depth: int
                    ) -> Tuple[List[str], "libsbml.ASTNode"]:
        """(arguments, body) of the function definition ``node`` calls with ``n_args``
        arguments; refuses undefined, recursive (inlined more than 50 deep) and mis-called
        functions."""
        fid = node.getName()
        if fid not in self.functions:
            raise self.refuse(f"call of undefined function '{fid}'")
        if depth > 50:
            raise self.refuse(f"recursive function definition '{fid}'")
        args, body = self.functions[fid]
        if len(args) != n_args:
            raise self.refuse(f"call of '{fid}' with {n_args} arguments ({len(args)} expected)")
        return args, body

    # -- translation --------------------------------------------------------------
    def to_text(self, node: "libsbml.ASTNode", names: Callable[[str], str],
                env: Optional[Mapping[str, str]] = None, depth: int = 0) -> str:
        """Expression text for ``node``.

        Parameters
        ----------
        node : libsbml.ASTNode
        names : callable
            SBML id -> expression name (raises for an unknown id).
        env : mapping, optional
            Bound variables of an inlined function definition -> their text.
        depth : int
            Function-inlining depth (guards against recursive definitions).

        Returns
        -------
        str
            Fully parenthesised text, so precedence never depends on context.
        """
        if node is None:
            raise self.refuse("empty math")
        kind = node.getType()
        env = env or {}
        kids = [node.getChild(i) for i in range(node.getNumChildren())]

        def sub(child: "libsbml.ASTNode") -> str:
            return self.to_text(child, names, env, depth)

        if kind in _NUMBER_TYPES:
            value = _ast_number(node)
            if not math.isfinite(value):
                raise self.refuse("a non-finite number")
            return _number_text(value)
        if kind == libsbml.AST_NAME:
            name = node.getName()
            if name in env:
                return env[name]
            return names(name)
        if kind == libsbml.AST_NAME_TIME:
            return "t"
        if kind == libsbml.AST_NAME_AVOGADRO:
            return _number_text(AVOGADRO)
        if kind == libsbml.AST_CONSTANT_E:
            return _number_text(math.e)
        if kind == libsbml.AST_CONSTANT_PI:
            return _number_text(math.pi)
        if kind == libsbml.AST_CONSTANT_TRUE:
            return "1"
        if kind == libsbml.AST_CONSTANT_FALSE:
            return "0"
        if kind == getattr(libsbml, "AST_FUNCTION_RATE_OF", -1) and self.rate_of is not None:
            target = self._rate_of_target(kids, env)
            return "0" if target is None else f"({self.rate_of(target)})"
        if kind in _REFUSED_FUNCTIONS:
            raise self.refuse(_REFUSED_FUNCTIONS[kind])
        if kind == libsbml.AST_PLUS:
            return "(" + " + ".join(sub(k) for k in kids) + ")" if kids else "0"
        if kind == libsbml.AST_TIMES:
            return "(" + " * ".join(sub(k) for k in kids) + ")" if kids else "1"
        if kind == libsbml.AST_MINUS:
            if len(kids) == 1:
                return f"(-{sub(kids[0])})"
            if len(kids) != 2:
                raise self.refuse(f"minus with {len(kids)} arguments")
            return f"({sub(kids[0])} - {sub(kids[1])})"
        if kind == libsbml.AST_DIVIDE:
            if len(kids) != 2:
                raise self.refuse(f"divide with {len(kids)} arguments")
            return f"({sub(kids[0])} / {sub(kids[1])})"
        if kind in (libsbml.AST_POWER, libsbml.AST_FUNCTION_POWER):
            if len(kids) != 2:
                raise self.refuse(f"power with {len(kids)} arguments")
            return f"({sub(kids[0])} ^ {sub(kids[1])})"
        if kind in (_QUOTIENT, _REM):
            fname = "quotient" if kind == _QUOTIENT else "rem"
            if len(kids) != 2:
                raise self.refuse(f"{fname} with {len(kids)} arguments")
            a, b = sub(kids[0]), sub(kids[1])
            q = _quotient_text(a, b)
            return f"({q})" if kind == _QUOTIENT else f"({a} - {b} * {q})"
        if kind in _UNARY:
            if len(kids) != 1:
                raise self.refuse(f"{_UNARY[kind]} with {len(kids)} arguments")
            return f"{_UNARY[kind]}({sub(kids[0])})"
        if kind in _ONE_ARGUMENT:
            fname, template, _ = _ONE_ARGUMENT[kind]
            if len(kids) != 1:
                raise self.refuse(f"{fname} with {len(kids)} arguments")
            return template.format(sub(kids[0]))
        if kind == libsbml.AST_FUNCTION_LOG:
            # libsbml gives log its base as the first of two children (the base defaults to 10)
            if len(kids) == 1:
                return f"log10({sub(kids[0])})"
            if len(kids) != 2:
                raise self.refuse(f"log with {len(kids)} arguments")
            return f"(ln({sub(kids[1])}) / ln({sub(kids[0])}))"
        if kind == libsbml.AST_FUNCTION_ROOT:
            if len(kids) == 1:
                return f"sqrt({sub(kids[0])})"
            if len(kids) != 2:
                raise self.refuse(f"root with {len(kids)} arguments")
            return f"({sub(kids[1])} ^ (1 / {sub(kids[0])}))"
        if kind in (getattr(libsbml, "AST_FUNCTION_MAX", -1), getattr(libsbml, "AST_FUNCTION_MIN", -1)):
            fname = "max" if kind == getattr(libsbml, "AST_FUNCTION_MAX", -1) else "min"
            if not kids:
                raise self.refuse(f"{fname} without arguments")
            if len(kids) == 1:
                return sub(kids[0])
            return f"{fname}(" + ", ".join(sub(k) for k in kids) + ")"
        if kind in _RELATIONS:
            op = _RELATIONS[kind]
            if len(kids) < 2:
                # a relation of fewer than two arguments is vacuously true in MathML
                return "1"
            if op == "!=" and len(kids) != 2:
                raise self.refuse("neq with more than two arguments")
            texts = [sub(k) for k in kids]
            parts = [f"({a} {op} {b})" for a, b in zip(texts, texts[1:])]
            return "(" + " and ".join(parts) + ")"
        if kind == libsbml.AST_LOGICAL_AND:
            return "(" + " and ".join(f"({sub(k)} != 0)" for k in kids) + ")" if kids else "1"
        if kind == libsbml.AST_LOGICAL_OR:
            return "(" + " or ".join(f"({sub(k)} != 0)" for k in kids) + ")" if kids else "0"
        if kind == libsbml.AST_LOGICAL_XOR:
            if not kids:
                return "0"
            text = f"({sub(kids[0])} != 0)"
            for k in kids[1:]:
                text = f"({text} != ({sub(k)} != 0))"
            return text
        if kind == libsbml.AST_LOGICAL_NOT:
            if len(kids) != 1:
                raise self.refuse(f"not with {len(kids)} arguments")
            return f"(not {sub(kids[0])})"
        if kind == _IMPLIES:
            if len(kids) != 2:
                raise self.refuse(f"implies with {len(kids)} arguments")
            return f"((not ({sub(kids[0])} != 0)) or ({sub(kids[1])} != 0))"
        if kind == libsbml.AST_FUNCTION_PIECEWISE:
            if not kids:
                raise self.refuse("piecewise without pieces")
            texts = [sub(k) for k in kids]
            if len(texts) % 2 == 0:
                # no <otherwise>: SBML leaves the value undefined when no piece holds. NaN makes
                # such a state visible (the integrator fails) instead of inventing a number.
                texts.append("(0 / 0)")
            if len(texts) == 1:
                return texts[0]
            return "piecewise(" + ", ".join(texts) + ")"
        if kind == libsbml.AST_FUNCTION:
            args, body = self._definition(node, len(kids), depth)
            bound = {a: sub(k) for a, k in zip(args, kids)}
            # a function body sees only its own arguments (SBML: no free variables), so the
            # caller's bindings are not passed on
            return self.to_text(body, names, bound, depth + 1)
        raise self.refuse(f"the MathML construct '{node.getName() or libsbml.formulaToL3String(node)}'"
                          f" (libsbml AST type {kind})")

    # -- evaluation -----------------------------------------------------------------
    def evaluate(self, node: "libsbml.ASTNode", value: Callable[[str], float],
                 env: Optional[Mapping[str, float]] = None, depth: int = 0) -> float:
        """The value of ``node`` at t = 0, with ``value`` giving each SBML id's value.

        Mirrors :meth:`to_text` construct by construct (same refusals); used for initial
        assignments, which are evaluated once at load.
        """
        if node is None:
            raise self.refuse("empty math")
        kind = node.getType()
        env = env or {}
        kids = [node.getChild(i) for i in range(node.getNumChildren())]

        def ev(child: "libsbml.ASTNode") -> float:
            return self.evaluate(child, value, env, depth)

        def truth(x: float) -> bool:
            return x != 0  # as the engine: any value other than 0 (NaN too) counts as true

        if kind in _NUMBER_TYPES:
            x = _ast_number(node)
            if not math.isfinite(x):
                raise self.refuse("a non-finite number")
            return x
        if kind == libsbml.AST_NAME:
            name = node.getName()
            return env[name] if name in env else value(name)
        if kind == libsbml.AST_NAME_TIME:
            return 0.0
        if kind == libsbml.AST_NAME_AVOGADRO:
            return AVOGADRO
        if kind == libsbml.AST_CONSTANT_E:
            return math.e
        if kind == libsbml.AST_CONSTANT_PI:
            return math.pi
        if kind == libsbml.AST_CONSTANT_TRUE:
            return 1.0
        if kind == libsbml.AST_CONSTANT_FALSE:
            return 0.0
        if kind == getattr(libsbml, "AST_FUNCTION_RATE_OF", -1) and self.rate_value is not None:
            target = self._rate_of_target(kids, env)
            return 0.0 if target is None else self.rate_value(target)
        if kind in _REFUSED_FUNCTIONS:
            raise self.refuse(_REFUSED_FUNCTIONS[kind])
        try:
            if kind == libsbml.AST_PLUS:
                return math.fsum(ev(k) for k in kids) if kids else 0.0
            if kind == libsbml.AST_TIMES:
                out = 1.0
                for k in kids:
                    out *= ev(k)
                return out
            if kind == libsbml.AST_MINUS:
                if len(kids) == 1:
                    return -ev(kids[0])
                if len(kids) != 2:
                    raise self.refuse(f"minus with {len(kids)} arguments")
                return ev(kids[0]) - ev(kids[1])
            if kind == libsbml.AST_DIVIDE:
                if len(kids) != 2:
                    raise self.refuse(f"divide with {len(kids)} arguments")
                a, b = ev(kids[0]), ev(kids[1])
                if b == 0:
                    raise self.refuse("division by zero in an initial value")
                return a / b
            if kind in (_QUOTIENT, _REM):
                fname = "quotient" if kind == _QUOTIENT else "rem"
                if len(kids) != 2:
                    raise self.refuse(f"{fname} with {len(kids)} arguments")
                a, b = ev(kids[0]), ev(kids[1])
                if b == 0:
                    raise self.refuse(f"{fname} by zero in an initial value")
                q = _quotient(a, b)
                return q if kind == _QUOTIENT else a - b * q
            if kind in (libsbml.AST_POWER, libsbml.AST_FUNCTION_POWER):
                if len(kids) != 2:
                    raise self.refuse(f"power with {len(kids)} arguments")
                return _pow(ev(kids[0]), ev(kids[1]))
            if kind == libsbml.AST_FUNCTION_EXP:
                return math.exp(ev(kids[0]))
            if kind == libsbml.AST_FUNCTION_LN:
                return math.log(ev(kids[0]))
            if kind == libsbml.AST_FUNCTION_ABS:
                return abs(ev(kids[0]))
            if kind in _ONE_ARGUMENT:
                fname, _, fn = _ONE_ARGUMENT[kind]
                if len(kids) != 1:
                    raise self.refuse(f"{fname} with {len(kids)} arguments")
                return float(fn(ev(kids[0])))
            if kind == libsbml.AST_FUNCTION_LOG:
                if len(kids) == 1:
                    return math.log10(ev(kids[0]))
                return math.log(ev(kids[1])) / math.log(ev(kids[0]))
            if kind == libsbml.AST_FUNCTION_ROOT:
                if len(kids) == 1:
                    return math.sqrt(ev(kids[0]))
                return _pow(ev(kids[1]), 1.0 / ev(kids[0]))
            if kind == getattr(libsbml, "AST_FUNCTION_MAX", -1):
                return max(ev(k) for k in kids)
            if kind == getattr(libsbml, "AST_FUNCTION_MIN", -1):
                return min(ev(k) for k in kids)
        except UnsupportedSBMLError:
            raise  # a refusal from below (also a ValueError): keep its element and feature
        except (ValueError, OverflowError, ZeroDivisionError) as exc:
            raise self.refuse(f"an initial value that cannot be computed ({exc})") from None
        if kind in _RELATIONS:
            if len(kids) < 2:
                return 1.0
            xs = [ev(k) for k in kids]
            op = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
                  "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
                  ">=": lambda a, b: a >= b}[_RELATIONS[kind]]
            return float(all(op(a, b) for a, b in zip(xs, xs[1:])))
        if kind == libsbml.AST_LOGICAL_AND:
            return float(all([truth(ev(k)) for k in kids]))
        if kind == libsbml.AST_LOGICAL_OR:
            return float(any([truth(ev(k)) for k in kids]))
        if kind == libsbml.AST_LOGICAL_XOR:
            return float(sum(truth(ev(k)) for k in kids) % 2 == 1)
        if kind == libsbml.AST_LOGICAL_NOT:
            return float(not truth(ev(kids[0])))
        if kind == _IMPLIES:
            if len(kids) != 2:
                raise self.refuse(f"implies with {len(kids)} arguments")
            a, b = truth(ev(kids[0])), truth(ev(kids[1]))  # both, as the engine evaluates both
            return float(not a or b)
        if kind == libsbml.AST_FUNCTION_PIECEWISE:
            for i in range(0, len(kids) - 1, 2):
                if truth(ev(kids[i + 1])):
                    return ev(kids[i])
            if len(kids) % 2 == 1:
                return ev(kids[-1])
            raise self.refuse("piecewise with no true piece and no otherwise in an initial value")
        if kind == libsbml.AST_FUNCTION:
            args, body = self._definition(node, len(kids), depth)
            return self.evaluate(body, value, {a: ev(k) for a, k in zip(args, kids)}, depth + 1)
        raise self.refuse(f"the MathML construct '{node.getName() or libsbml.formulaToL3String(node)}'"
                          f" (libsbml AST type {kind})")


def _pow(a: float, b: float) -> float:
    """a^b with IEEE semantics where Python raises (negative base, fractional exponent)."""
    try:
        return math.pow(a, b)
    except ValueError:
        return float("nan")

"""PEtab formulas (sympy expressions from ``petab.v1.math.sympify_petab``) printed into the
osteogrn expression grammar (docs/formats/model.md), so that the engine compiles them and
differentiates them for sensitivities like any other observable."""

from __future__ import annotations

from typing import Callable

import sympy as sp

__all__ = ["to_expression", "FormulaError"]


class FormulaError(ValueError):
    """A formula the grammar cannot express, or a symbol that has no model name."""


_FUNCS = {
    sp.exp: "exp", sp.Abs: "abs", sp.sin: "sin", sp.cos: "cos", sp.tan: "tan",
    sp.asin: "asin", sp.acos: "acos", sp.atan: "atan", sp.sinh: "sinh", sp.cosh: "cosh",
    sp.tanh: "tanh", sp.asinh: "asinh", sp.acosh: "acosh", sp.atanh: "atanh",
    sp.floor: "floor", sp.ceiling: "ceil", sp.factorial: "factorial",
}
_REL = {sp.StrictLessThan: "<", sp.LessThan: "<=", sp.StrictGreaterThan: ">",
        sp.GreaterThan: ">=", sp.Equality: "==", sp.Unequality: "!="}


def _num(x: float) -> str:
    # repr keeps every bit of the double; a negative number is a unary minus in the grammar
    v = float(x)
    if v != v or v in (float("inf"), float("-inf")):
        raise FormulaError(f"the number {v} has no form in the expression grammar")
    return f"({v!r})" if v < 0 else repr(v)


def to_expression(expr: sp.Basic, name: Callable[[str], str]) -> str:
    """The osteogrn expression text of a sympy expression.

    Parameters
    ----------
    expr : sympy.Basic
        A formula as ``petab.v1.math.sympify_petab`` returns it.
    name : callable
        PEtab/SBML symbol name -> osteogrn name; raises FormulaError for an unknown one.

    Returns
    -------
    str
        Fully parenthesised text (the parser simplifies it anyway).
    """
    def p(e: sp.Basic) -> str:
        if isinstance(e, sp.Symbol):
            return name(e.name)
        if e is sp.true or isinstance(e, sp.logic.boolalg.BooleanTrue):
            return "1"
        if e is sp.false or isinstance(e, sp.logic.boolalg.BooleanFalse):
            return "0"
        if e is sp.pi:
            return repr(float(sp.pi))
        if e is sp.E:
            return repr(float(sp.E))
        if isinstance(e, sp.Integer):
            return _num(int(e))
        if isinstance(e, sp.Rational):
            return f"({_num(e.p)} / {_num(e.q)})"
        if isinstance(e, sp.Number):
            return _num(float(e))
        if isinstance(e, sp.Add):
            return "(" + " + ".join(p(a) for a in e.args) + ")"
        if isinstance(e, sp.Mul):
            return "(" + " * ".join(p(a) for a in e.args) + ")"
        if isinstance(e, sp.Pow):
            base, ex = e.args
            if ex == sp.Rational(1, 2):
                return f"sqrt({p(base)})"
            if ex == -1:
                return f"(1 / {p(base)})"
            return f"({p(base)} ^ {p(ex)})"
        if isinstance(e, sp.log):
            if len(e.args) == 1:
                return f"ln({p(e.args[0])})"
            return f"(ln({p(e.args[0])}) / ln({p(e.args[1])}))"
        if isinstance(e, (sp.Min, sp.Max)):
            fn = "min" if isinstance(e, sp.Min) else "max"
            return f"{fn}({', '.join(p(a) for a in e.args)})"
        if isinstance(e, sp.Piecewise):
            parts = []
            pieces = list(e.args)
            otherwise = "0"
            if pieces and (pieces[-1].cond is sp.true):
                otherwise = p(pieces[-1].expr)
                pieces = pieces[:-1]
            if not pieces:
                return otherwise
            for pc in pieces:
                parts += [p(pc.expr), p(pc.cond)]
            # no `otherwise` piece: PEtab leaves the value undefined there; NaN says so loudly
            if not (e.args[-1].cond is sp.true):
                otherwise = "(0 / 0)"
            return f"piecewise({', '.join(parts)}, {otherwise})"
        for cls, op in _REL.items():
            if isinstance(e, cls):
                return f"({p(e.args[0])} {op} {p(e.args[1])})"
        if isinstance(e, sp.And):
            return "(" + " and ".join(p(a) for a in e.args) + ")"
        if isinstance(e, sp.Or):
            return "(" + " or ".join(p(a) for a in e.args) + ")"
        if isinstance(e, sp.Not):
            return f"(not {p(e.args[0])})"
        if isinstance(e, sp.Xor):
            a, b = e.args[0], sp.Xor(*e.args[1:]) if len(e.args) > 2 else e.args[1]
            return f"(({p(a)} != 0) != ({p(b)} != 0))"
        for cls, fn in _FUNCS.items():
            if isinstance(e, cls):
                return f"{fn}({', '.join(p(a) for a in e.args)})"
        raise FormulaError(f"{type(e).__name__} ({e}) has no counterpart in the expression "
                           f"grammar")

    return p(expr)

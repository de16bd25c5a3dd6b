"""SBML algebraic rules that determine one variable explicitly.

An algebraic rule ``0 = f(...)`` determines a variable that nothing else determines (not
constant, no other rule, not changed by reactions or events). When ``f`` is linear in that
variable, the rule is the assignment rule ``v = -f(v=0) / (df/dv)``: an ordinary ODE model, no
DAE solver needed. The linear solve is done by SymPy on the rule's formula (names renamed to
plain symbols first, so SBML ids never collide with SymPy's own names). Everything else — a
variable that occurs non-linearly, rules that share their candidates, a variable that reactions
change (a true DAE) — is refused with :class:`~osteogrn.errors.UnsupportedSBMLError`.
"""

from __future__ import annotations

from typing import Callable, Dict, Iterable, List, Set, Tuple

import libsbml

from ..errors import UnsupportedSBMLError


def _names(ast: "libsbml.ASTNode") -> Set[str]:
    """SBML ids the formula refers to (names, not functions or csymbols)."""
    out: Set[str] = set()
    todo = [ast]
    while todo:
        node = todo.pop()
        if node.getType() == libsbml.AST_NAME:
            out.add(node.getName())
        todo.extend(node.getChild(i) for i in range(node.getNumChildren()))
    return out


def _solve_linear(ast: "libsbml.ASTNode", var: str, element: str,
                  refuse: Callable[[str, str], UnsupportedSBMLError]) -> "libsbml.ASTNode":
    """The AST of ``var`` solved from ``0 = ast``, when ``ast`` is linear in ``var``."""
    import sympy

    ids = sorted(_names(ast))
    plain = {sid: f"v{i}" for i, sid in enumerate(ids)}
    renamed = ast.deepCopy()
    for sid, new in plain.items():
        renamed.renameSIdRefs(sid, new)
    text = libsbml.formulaToL3String(renamed)
    symbols = {new: sympy.Symbol(new, real=True) for new in plain.values()}
    try:
        expr = sympy.sympify(text.replace("^", "**"), locals=symbols)
    except (sympy.SympifyError, SyntaxError, TypeError, ValueError) as exc:
        raise refuse(element, f"an algebraic rule whose formula SymPy cannot read ({exc})")
    v = symbols[plain[var]]
    slope = sympy.simplify(sympy.diff(expr, v))
    if slope.has(v) or slope == 0:
        raise refuse(element, f"an algebraic rule that is not linear in '{var}', the variable "
                     "it determines (a DAE)")
    solution = sympy.simplify(-expr.subs(v, 0) / slope)
    back = {new: sid for sid, new in plain.items()}
    formula = sympy.sstr(solution).replace("**", "^")
    out = libsbml.parseL3Formula(formula)
    if out is None:
        raise refuse(element, f"an algebraic rule whose solution for '{var}' ({formula}) "
                     "libsbml cannot read back")
    for new, sid in back.items():
        out.renameSIdRefs(new, sid)
    return out


def solve_algebraic_rules(rules: Iterable[Tuple[str, "libsbml.ASTNode"]],
                          determined: Set[str], candidates: Set[str],
                          refuse: Callable[[str, str], UnsupportedSBMLError]
                          ) -> Dict[str, "libsbml.ASTNode"]:
    """Algebraic rules as assignment rules.

    Parameters
    ----------
    rules
        (element name for messages, math) of each algebraic rule.
    determined
        SBML ids something else determines (reactions, rules, events, constants).
    candidates
        SBML ids an algebraic rule may determine (non-constant symbols not in ``determined``).
    refuse
        Builds the refusal for (element, feature).

    Returns
    -------
    dict
        variable -> AST of its assignment rule.
    """
    pending: List[Tuple[str, "libsbml.ASTNode", Set[str]]] = []
    for element, ast in rules:
        free = {n for n in _names(ast) if n in candidates and n not in determined}
        pending.append((element, ast, free))
    out: Dict[str, "libsbml.ASTNode"] = {}
    # Repeatedly take a rule with exactly one free variable left (the rules form a triangular
    # system); anything else is a coupled algebraic system, refused.
    while pending:
        for k, (element, ast, free) in enumerate(pending):
            left = free - set(out)
            if len(left) == 1:
                var = next(iter(left))
                out[var] = _solve_linear(ast, var, element, refuse)
                del pending[k]
                break
            if not left:
                raise refuse(element, "an algebraic rule that determines no variable (every "
                             "symbol in it is determined otherwise: an over-determined model)")
        else:
            element = pending[0][0]
            raise refuse(element, "algebraic rules that must be solved together (a system of "
                         "algebraic equations)")
    return out

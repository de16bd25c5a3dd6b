"""Translates an osteogrn-model/1 model (flattened: ``Model.to_json()``) for the peers.

* :func:`python_rhs` — a generated Python/numpy right-hand side for scipy's ``solve_ivp``
  (parameters inlined as literals, named expressions as locals, inputs in closed form:
  ``u = c0 * exp(-k (t - t0))`` per segment, as osteogrn's Schedule computes them).
* :func:`sbml` — the same model as SBML Level 3 (states as parameters with rate rules,
  expressions and inputs as assignment rules, optionally the media changes as events) for
  libRoadRunner and AMICI.

Expressions are parsed with the grammar of docs/formats/model.md by a small Pratt parser.
"""

from __future__ import annotations

import re
from typing import Dict, List, Sequence, Tuple

_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_]\w*)"
                    r"|(<=|>=|==|!=|[-+*/^(),<>]))")


def parse(text: str):
    """Expression text -> AST: ('num', v) ('name', s) ('neg', a) ('not', a)
    ('bin', op, a, b) ('call', f, [args])."""
    toks: List[Tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"cannot tokenise {text!r} at {pos}")
        num, name, op = m.groups()
        toks.append(("num", num) if num else ("name", name) if name else ("op", op))
        pos = m.end()
    toks.append(("end", ""))
    i = 0

    def peek():
        return toks[i]

    def take():
        nonlocal i
        i += 1
        return toks[i - 1]

    def expect(v):
        if take()[1] != v:
            raise ValueError(f"expected {v!r} in {text!r}")

    def or_():
        a = and_()
        while peek() == ("name", "or"):
            take()
            a = ("bin", "or", a, and_())
        return a

    def and_():
        a = not_()
        while peek() == ("name", "and"):
            take()
            a = ("bin", "and", a, not_())
        return a

    def not_():
        if peek() == ("name", "not"):
            take()
            return ("not", not_())
        return cmp_()

    def cmp_():
        a = add()
        while peek()[0] == "op" and peek()[1] in ("<", "<=", ">", ">=", "==", "!="):
            a = ("bin", take()[1], a, add())
        return a

    def add():
        a = mul()
        while peek()[0] == "op" and peek()[1] in "+-":
            a = ("bin", take()[1], a, mul())
        return a

    def mul():
        a = unary()
        while peek()[0] == "op" and peek()[1] in "*/":
            a = ("bin", take()[1], a, unary())
        return a

    def unary():  # ^ binds tighter than unary minus: -x^2 = -(x^2)
        if peek() == ("op", "-"):
            take()
            return ("neg", unary())
        if peek() == ("op", "+"):
            take()
            return unary()
        return power()

    def power():
        a = primary()
        if peek() == ("op", "^"):
            take()
            return ("bin", "^", a, unary())  # right-associative
        return a

    def primary():
        kind, v = take()
        if kind == "num":
            return ("num", float(v))
        if kind == "name":
            if peek() == ("op", "("):
                take()
                args = [or_()]
                while peek() == ("op", ","):
                    take()
                    args.append(or_())
                expect(")")
                return ("call", v, args)
            return ("name", v)
        if v == "(":
            a = or_()
            expect(")")
            return a
        raise ValueError(f"unexpected {v!r} in {text!r}")

    tree = or_()
    if peek()[0] != "end":
        raise ValueError(f"trailing input in {text!r}")
    return tree


def _names(node, out: set) -> set:
    """Every name an AST refers to (calls' function names excluded)."""
    if node[0] == "name":
        out.add(node[1])
    elif node[0] in ("neg", "not"):
        _names(node[1], out)
    elif node[0] == "bin":
        _names(node[2], out), _names(node[3], out)
    elif node[0] == "call":
        for a in node[2]:
            _names(a, out)
    return out


def ordered_expressions(model: dict) -> List[Tuple[str, object]]:
    """[(name, AST)] of the named expressions, each after the expressions it uses.

    docs/formats/model.md lets an expression use others declared later in the file, so the file
    order cannot be emitted as is (a local or an assignment rule would be read before it is set).
    A depth-first walk in file order keeps that order wherever it is already valid; the model
    loader has rejected cycles before we see the flattened JSON.
    """
    exprs = {e: parse(text) for e, text in model.get("expressions", {}).items()}
    done: Dict[str, object] = {}

    def visit(e):
        if e in done:
            return
        for dep in sorted(_names(exprs[e], set()) & exprs.keys()):
            visit(dep)
        done[e] = exprs[e]

    for e in exprs:
        visit(e)
    return list(done.items())


# ---------------------------------------------------------------------------------------------
# Python

_PY_PRELUDE = '''
import math
import numpy as np
_exp = math.exp
def _pos(x): return x if x > 0.0 else 0.0
def _h1(x, k):
    x = _pos(x); return x / (k + x)
def _h2(x, k):
    x = _pos(x); x = x * x; return x / (k * k + x)
def _hn(x, k, n):
    x = math.pow(_pos(x), n); return x / (math.pow(k, n) + x)
def _hr1(x, k): return k / (k + _pos(x))
def _hr2(x, k):
    x = _pos(x); k = k * k; return k / (k + x * x)
def _hrn(x, k, n):
    k = math.pow(k, n); return k / (k + math.pow(_pos(x), n))
def _pow(a, b): return a * a if b == 2.0 else math.pow(a, b)
def _b(c): return 1.0 if c else 0.0
'''


def _py(node, env: Dict[str, str]) -> str:
    kind = node[0]
    if kind == "num":
        return repr(node[1])
    if kind == "name":
        if node[1] == "t":
            return "t"
        return env[node[1]]
    if kind == "neg":
        return f"(-{_py(node[1], env)})"
    if kind == "not":
        return f"_b({_py(node[1], env)} == 0.0)"
    if kind == "bin":
        op, a, b = node[1], _py(node[2], env), _py(node[3], env)
        if op in "+-*/":
            return f"({a} {op} {b})"
        if op == "^":
            return f"({a} * {a})" if node[3] == ("num", 2.0) else f"_pow({a}, {b})"
        if op in ("and", "or"):
            return f"_b(({a} != 0.0) {op} ({b} != 0.0))"
        return f"_b({a} {op} {b})"
    f, args = node[1], node[2]
    a = [_py(x, env) for x in args]
    if f in ("hill", "hill_rep"):
        stem = "_h" if f == "hill" else "_hr"
        if args[2] in (("num", 1.0), ("num", 2.0)):
            return f"{stem}{int(args[2][1])}({a[0]}, {a[1]})"
        return f"{stem}n({a[0]}, {a[1]}, {a[2]})"
    if f == "piecewise":
        out = a[-1]
        for v, c in reversed(list(zip(a[0:-1:2], a[1:-1:2]))):
            out = f"({v} if {c} != 0.0 else {out})"
        return out
    fn = {"exp": "math.exp", "log": "math.log", "ln": "math.log", "log10": "math.log10",
          "sqrt": "math.sqrt", "abs": "abs", "min": "min", "max": "max", "pow": "_pow"}[f]
    return f"{fn}({', '.join(a)})"


def python_rhs(model: dict, decay_rates: Sequence[float]):
    """Returns (rhs, source): ``rhs(t, y, c0, t0)`` with c0 the inputs at the segment start
    t0 and ``decay_rates`` (1/day, one per input, 0 = stable) baked in."""
    species = list(model["species"])
    params = {k: v["value"] for k, v in model["parameters"].items()}
    inputs = list(model.get("inputs", {}))
    env: Dict[str, str] = {}
    lines = ["def rhs(t, y, c0, t0):"]
    lines.append("    " + ", ".join(f"s_{i}" for i in range(len(species))) + ", = y")
    for i, s in enumerate(species):
        env[s] = f"s_{i}"
    for p, v in params.items():
        env[p] = repr(float(v))
    for j, (u, k) in enumerate(zip(inputs, decay_rates)):
        env[u] = f"u_{j}"
        lines.append(f"    u_{j} = c0[{j}] * _exp({-k!r} * (t - t0))" if k else
                     f"    u_{j} = c0[{j}]")
    for e, tree in ordered_expressions(model):
        lines.append(f"    e_{len(env)} = {_py(tree, env)}")
        env[e] = f"e_{len(env)}"
    outs = [_py(parse(model["odes"][s]), env) for s in species]
    lines.append("    return np.array([" + ",\n        ".join(outs) + "])")
    src = _PY_PRELUDE + "\n".join(lines) + "\n"
    ns: dict = {}
    exec(compile(src, f"<generated rhs of {model.get('name', 'model')}>", "exec"), ns)
    return ns["rhs"], src


# ---------------------------------------------------------------------------------------------
# SBML (Level 3 formula syntax, parsed by libsbml)

def _sb(node) -> str:
    kind = node[0]
    if kind == "num":
        return repr(node[1])
    if kind == "name":
        return "time" if node[1] == "t" else node[1]
    if kind == "neg":
        return f"(-{_sb(node[1])})"
    if kind == "not":
        return f"piecewise(1, {_sb(node[1])} == 0, 0)"
    if kind == "bin":
        op, a, b = node[1], _sb(node[2]), _sb(node[3])
        if op in "+-*/^":
            return f"({a} {op} {b})"
        if op in ("and", "or"):
            sym = "&&" if op == "and" else "||"
            return f"piecewise(1, ({a} != 0) {sym} ({b} != 0), 0)"
        return f"piecewise(1, {a} {op} {b}, 0)"
    f, args = node[1], node[2]
    a = [_sb(x) for x in args]
    if f in ("hill", "hill_rep"):
        x = f"max({a[0]}, 0)"
        xn, kn = f"({x})^({a[2]})", f"({a[1]})^({a[2]})"
        num = xn if f == "hill" else kn
        return f"({num} / ({kn} + {xn}))"
    if f == "piecewise":
        parts = []
        for v, c in zip(a[0:-1:2], a[1:-1:2]):
            parts += [v, f"({c}) != 0"]
        return "piecewise(" + ", ".join(parts + [a[-1]]) + ")"
    fn = {"log": "ln", "pow": "pow"}.get(f, f)
    return f"{fn}({', '.join(a)})"


def sbml(model: dict, decay_rates: Sequence[float], segments=None) -> str:
    """SBML L3V2 text: states are parameters with rate rules; input j is the assignment
    ``c0_j * exp(-k_j (time - t0))``, with c0_j and t0 parameters set per segment.

    With ``segments`` ([(t0, t1, c0)], as ``run.segments`` returns them) the protocol is in
    the document: c0 and t0 start at the first segment's values, and every later segment
    start is an event ``time >= t0`` that assigns its c0 and t0 (a media change), so one
    ``simulate`` runs the whole protocol. Without, the caller sets c0 and t0 per segment.
    """
    import libsbml

    doc = libsbml.SBMLDocument(3, 2)
    m = doc.createModel()
    m.setId(re.sub(r"\W", "_", model.get("name", "model")))
    comp = m.createCompartment()
    comp.setId("cell"), comp.setSize(1.0), comp.setConstant(True)

    def param(pid, value, constant):
        p = m.createParameter()
        p.setId(pid), p.setValue(float(value)), p.setConstant(constant)

    def rule(kind, var, text):
        ast = libsbml.parseL3Formula(text)
        if ast is None:
            raise ValueError(f"libsbml cannot parse {text!r}: {libsbml.getLastParseL3Error()}")
        r = m.createRateRule() if kind == "rate" else m.createAssignmentRule()
        r.setVariable(var), r.setMath(ast)

    for k, v in model["parameters"].items():
        param(k, v["value"], True)
    inputs = list(model.get("inputs", {}))
    first = segments[0][2] if segments else [0.0] * len(inputs)
    param("t0", segments[0][0] if segments else 0.0, not segments)
    for j, (u, k) in enumerate(zip(inputs, decay_rates)):
        param(f"c0_{u}", float(first[j]), not segments)
        param(u, 0.0, False)
        rule("assign", u, f"c0_{u} * exp({-k!r} * (time - t0))" if k else f"c0_{u}")
    for e, tree in ordered_expressions(model):
        param(e, 0.0, False)
        rule("assign", e, _sb(tree))
    for s, info in model["species"].items():
        param(s, info["initial"], False)
        rule("rate", s, _sb(parse(model["odes"][s])))
    for n, (t0, _, c0) in enumerate((segments or [])[1:], start=1):
        ev = m.createEvent()
        ev.setId(f"segment_{n}"), ev.setUseValuesFromTriggerTime(True)
        trig = ev.createTrigger()
        trig.setMath(libsbml.parseL3Formula(f"time >= {float(t0)!r}"))
        trig.setPersistent(True), trig.setInitialValue(True)
        for var, val in [("t0", t0)] + [(f"c0_{u}", c) for u, c in zip(inputs, c0)]:
            a = ev.createEventAssignment()
            a.setVariable(var), a.setMath(libsbml.parseL3Formula(repr(float(val))))
    text = libsbml.writeSBMLToString(doc)
    if doc.getNumErrors(libsbml.LIBSBML_SEV_ERROR):
        raise ValueError(doc.getErrorLog().toString())
    return text


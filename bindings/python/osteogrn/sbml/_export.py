"""SBML Level 3 Version 2 export of an osteogrn model, optionally with a protocol as events.

The document is built with python-libsbml (``SBMLDocument``, ``ASTNode``, ``XMLNode``): no XML
is written by hand. How the osteogrn model maps onto SBML:

* every species -> an SBML species with ``hasOnlySubstanceUnits="true"`` in one compartment
  ``cell`` of size 1, with a **rate rule** equal to our ODE right-hand side. Rate rules rather than
  reactions, because an ODE of the format is one expression per species, not a sum of fluxes with
  stoichiometries: a rate rule reproduces it term for term, and with amounts in a compartment of
  size 1 no reader divides by a volume;
* every parameter -> a constant SBML parameter;
* every named expression and every observable -> an SBML parameter (``constant="false"``) with an
  **assignment rule**;
* every unbound input -> an SBML parameter: constant (its default) without a protocol; with a
  protocol, an input the protocol drives follows the schedule (below);
* ``t`` -> the MathML ``time`` csymbol; ``hill``/``hill_rep`` -> the function definitions
  ``hill``/``hill_rep`` (suffixed if taken) whose bodies count x <= 0 as 0 exactly like the
  engine; ``log`` -> ``ln``; ``log10`` -> ``log`` with ``logbase`` 10; comparisons, ``and``/``or``/``not``
  -> MathML relations and logic, turned into 1/0 with ``piecewise`` where the format uses them
  as numbers.

**Protocols as events.** The engine integrates between breakpoints (media changes, additions,
perturbation window ends) and evaluates every input in closed form on each segment:
``u(t) = u0 * exp(-k (t - t0))`` with ``u0`` the value just after the segment's start ``t0`` and
``k = ln 2 / half_life``. The export writes exactly that: a driven input ``u`` is a parameter
with the assignment rule ``u_level * exp(-u_decay * (time - u_t0))`` (a stable component:
``u_level`` alone), and each breakpoint after day 0 becomes one SBML event with the trigger
``time >= d`` that sets ``u_level`` (the value after that day's media change and additions, in
the input's unit, from the engine's own schedule) and ``u_t0 = d``. Parameter perturbations set
the parameter (then ``constant="false"``) to its value on each segment; a held species
(knockout, clamp) gets a flag ``<species>_held`` set by the events, its rate rule becomes
``piecewise(0, <species>_held != 0, ode)`` and the event that starts the hold sets the species to
the held value. Model overlays (``Model.knockout``, a model file's ``perturbations``) are written
the same way, with or without a protocol.

Numbers are written by libsbml with 15 significant digits (a relative change below 5e-16).
An osteogrn annotation on the model lists the inputs (component, SBML id, unit) so that
:func:`osteogrn.import_sbml` restores them as model inputs; see :func:`annotated_inputs`.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import re
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple, Union

import libsbml

from ..errors import ModelError, ProtocolError

__all__ = ["to_sbml", "annotated_inputs", "ANNOTATION_NS"]

#: XML namespace of the osteogrn annotation (an identifier, not a web address to fetch).
ANNOTATION_NS = "urn:osteogrn:sbml-export:1"
_PREFIX = "osteogrn"


# -- the expression grammar of docs/formats/model.md, parsed into a small tree ----------------

_TOKEN = re.compile(r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_]\w*)"
                    r"|(?P<op><=|>=|==|!=|[-+*/^<>(),]))")
_CMP = {"<": libsbml.AST_RELATIONAL_LT, "<=": libsbml.AST_RELATIONAL_LEQ,
        ">": libsbml.AST_RELATIONAL_GT, ">=": libsbml.AST_RELATIONAL_GEQ,
        "==": libsbml.AST_RELATIONAL_EQ, "!=": libsbml.AST_RELATIONAL_NEQ}
_ARITH = {"+": libsbml.AST_PLUS, "-": libsbml.AST_MINUS, "*": libsbml.AST_TIMES,
          "/": libsbml.AST_DIVIDE, "^": libsbml.AST_POWER}
_UNARY_FN = {"exp": libsbml.AST_FUNCTION_EXP, "log": libsbml.AST_FUNCTION_LN,
             "ln": libsbml.AST_FUNCTION_LN, "abs": libsbml.AST_FUNCTION_ABS}

Tree = Tuple[Any, ...]  # ("num", v) | ("name", n) | ("op", op, args) | ("call", f, args)


class _Parser:
    """Recursive descent over the grammar's precedence levels (loosest first)."""

    def __init__(self, text: str, where: str) -> None:
        self.where = where
        self.tokens: List[Tuple[str, str]] = []
        pos, text = 0, text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                raise self.error(f"cannot read {text[pos:pos + 10]!r}")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0

    def error(self, what: str) -> ModelError:
        return ModelError(f"SBML export: expression of {self.where}: {what}")

    def peek(self) -> Optional[Tuple[str, str]]:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: Optional[str] = None) -> Tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise self.error(f"expected {value or 'more'}")
        self.i += 1
        return tok

    def accept(self, *values: str) -> Optional[str]:
        tok = self.peek()
        if tok is not None and tok[0] in ("op", "name") and tok[1] in values:
            self.i += 1
            return tok[1]
        return None

    def parse(self) -> Tree:
        tree = self.or_()
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return tree

    def or_(self) -> Tree:
        left = self.and_()
        while self.accept("or"):
            left = ("op", "or", [left, self.and_()])
        return left

    def and_(self) -> Tree:
        left = self.not_()
        while self.accept("and"):
            left = ("op", "and", [left, self.not_()])
        return left

    def not_(self) -> Tree:
        if self.accept("not"):
            return ("op", "not", [self.not_()])
        left = self.add()
        op = self.accept(*_CMP)
        return ("op", op, [left, self.add()]) if op else left

    def add(self) -> Tree:
        left = self.mul()
        while True:
            op = self.accept("+", "-")
            if not op:
                return left
            left = ("op", op, [left, self.mul()])

    def mul(self) -> Tree:
        left = self.unary()
        while True:
            op = self.accept("*", "/")
            if not op:
                return left
            left = ("op", op, [left, self.unary()])

    def unary(self) -> Tree:
        op = self.accept("-", "+")
        if op:
            inner = self.unary()
            return ("op", "neg", [inner]) if op == "-" else inner
        return self.power()

    def power(self) -> Tree:
        base = self.atom()
        if self.accept("^"):
            return ("op", "^", [base, self.unary()])  # right-associative, a sign allowed
        return base

    def atom(self) -> Tree:
        kind, value = self.take()
        if kind == "num":
            return ("num", float(value))
        if kind == "name":
            if self.accept("("):
                args = [self.or_()]
                while self.accept(","):
                    args.append(self.or_())
                self.take(")")
                return ("call", value, args)
            return ("name", value)
        if value == "(":
            inner = self.or_()
            self.take(")")
            return inner
        raise self.error(f"unexpected {value!r}")


# -- trees to MathML ASTs ----------------------------------------------------------------------

def _ast(kind: int, *children: "libsbml.ASTNode") -> "libsbml.ASTNode":
    node = libsbml.ASTNode(kind)
    for child in children:
        node.addChild(child)
    return node


def _number(v: float) -> "libsbml.ASTNode":
    if v.is_integer() and abs(v) < 2 ** 31:
        node = libsbml.ASTNode(libsbml.AST_INTEGER)
        node.setValue(int(v))
    else:
        node = libsbml.ASTNode(libsbml.AST_REAL)
        node.setValue(v)
    return node


def _name(n: str) -> "libsbml.ASTNode":
    node = libsbml.ASTNode(libsbml.AST_NAME)
    node.setName(n)
    return node


def _time() -> "libsbml.ASTNode":
    node = libsbml.ASTNode(libsbml.AST_NAME_TIME)
    node.setName("time")
    return node


class _MathBuilder:
    """Builds libsbml ASTs from expression trees, keeping numbers and truth values apart: the
    format's comparisons are numbers (1/0), MathML's are booleans."""

    def __init__(self, hill: str, hill_rep: str, where: str = "") -> None:
        self.hill, self.hill_rep, self.where = hill, hill_rep, where
        self.used_functions: Set[str] = set()

    def number(self, tree: Tree) -> "libsbml.ASTNode":
        node, boolean = self.build(tree)
        if boolean:  # a truth value used as a number: 1 or 0
            return _ast(libsbml.AST_FUNCTION_PIECEWISE, _number(1.0), node, _number(0.0))
        return node

    def truth(self, tree: Tree) -> "libsbml.ASTNode":
        node, boolean = self.build(tree)
        if not boolean:  # any value other than 0 is true (NaN too, as in the engine)
            return _ast(libsbml.AST_RELATIONAL_NEQ, node, _number(0.0))
        return node

    def build(self, tree: Tree) -> Tuple["libsbml.ASTNode", bool]:
        kind = tree[0]
        if kind == "num":
            return _number(tree[1]), False
        if kind == "name":
            return (_time() if tree[1] == "t" else _name(tree[1])), False
        if kind == "op":
            op, args = tree[1], tree[2]
            if op == "neg":
                return _ast(libsbml.AST_MINUS, self.number(args[0])), False
            if op in _ARITH:
                return _ast(_ARITH[op], *(self.number(a) for a in args)), False
            if op in _CMP:
                return _ast(_CMP[op], *(self.number(a) for a in args)), True
            logic = {"and": libsbml.AST_LOGICAL_AND, "or": libsbml.AST_LOGICAL_OR,
                     "not": libsbml.AST_LOGICAL_NOT}[op]
            return _ast(logic, *(self.truth(a) for a in args)), True
        fname, args = tree[1], tree[2]
        arity = {"exp": 1, "log": 1, "ln": 1, "log10": 1, "sqrt": 1, "abs": 1, "pow": 2,
                 "hill": 3, "hill_rep": 3}
        if fname in arity and len(args) != arity[fname]:
            raise ModelError(f"SBML export: {self.where}: {fname}() takes {arity[fname]} "
                             f"arguments, got {len(args)}")
        if fname in _UNARY_FN:
            return _ast(_UNARY_FN[fname], self.number(args[0])), False
        if fname == "log10":  # <log/> with an explicit <logbase> 10 (libsbml's form)
            return _ast(libsbml.AST_FUNCTION_LOG, _number(10.0), self.number(args[0])), False
        if fname == "sqrt":  # MathML <root/> without <degree> is the square root
            return _ast(libsbml.AST_FUNCTION_ROOT, self.number(args[0])), False
        if fname == "pow":
            return _ast(libsbml.AST_POWER, *(self.number(a) for a in args)), False
        if fname in ("min", "max") and len(args) >= 2:
            kind_ = libsbml.AST_FUNCTION_MIN if fname == "min" else libsbml.AST_FUNCTION_MAX
            return _ast(kind_, *(self.number(a) for a in args)), False
        if fname in ("hill", "hill_rep"):
            fid = self.hill if fname == "hill" else self.hill_rep
            self.used_functions.add(fname)
            node = _ast(libsbml.AST_FUNCTION, *(self.number(a) for a in args))
            node.setName(fid)
            return node, False
        if fname == "piecewise" and len(args) >= 3 and len(args) % 2 == 1:
            kids: List["libsbml.ASTNode"] = []
            for j in range(0, len(args) - 1, 2):
                kids += [self.number(args[j]), self.truth(args[j + 1])]
            kids.append(self.number(args[-1]))
            return _ast(libsbml.AST_FUNCTION_PIECEWISE, *kids), False
        raise ModelError(f"SBML export: {self.where}: the function {fname}() with {len(args)} "
                         "arguments has no SBML equivalent")

    def math(self, text: str, where: str) -> "libsbml.ASTNode":
        self.where = where
        return self.number(_Parser(text, where).parse())


def _hill_body(repressing: bool) -> "libsbml.ASTNode":
    """lambda(x, K, n): hill or hill_rep with x <= 0 counted as 0 (engine: hill_fn).

    max(x, 0) rather than piecewise(x, x > 0, 0): the same value, and tools that turn each
    piecewise condition into a switch fixed at t0 (AMICI 1.0 with a species starting at exactly
    0) mis-evaluate the piecewise form."""
    x_pos = _ast(libsbml.AST_FUNCTION_MAX, _name("x"), _number(0.0))
    xn = _ast(libsbml.AST_POWER, x_pos, _name("n"))
    kn = _ast(libsbml.AST_POWER, _name("K"), _name("n"))
    top = kn.deepCopy() if repressing else xn.deepCopy()
    body = _ast(libsbml.AST_DIVIDE, top, _ast(libsbml.AST_PLUS, kn, xn))
    lam = libsbml.ASTNode(libsbml.AST_LAMBDA)
    for arg in ("x", "K", "n"):  # a lambda's children before the body are its bvars
        lam.addChild(_name(arg))
    lam.addChild(body)
    return lam


# -- the schedule: segments, inputs and perturbations per segment ------------------------------

class _Segments:
    """The breakpoints of a run and which perturbations hold on each segment, computed as the
    engine's schedule does (core/src/protocol/schedule.cpp: ``Breakpoints::index``)."""

    def __init__(self, times: List[float], duration: float) -> None:
        self.times, self.duration = times, duration
        self.tol = 1e-12 * duration if math.isfinite(duration) else 0.0
        # with a protocol the last breakpoint is the end of the run; without, every one starts
        # a segment that may last forever
        self.count = len(times) - 1 if math.isfinite(duration) else len(times)

    def index(self, t: Optional[float]) -> int:
        if t is None or not (t < self.duration + self.tol):
            return self.count
        return bisect.bisect_right(self.times, t + self.tol) - 1


def _check(status: int, what: str) -> None:
    if status != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise ModelError(f"SBML export: libsbml refused {what}: "
                         f"{libsbml.OperationReturnValue_toString(status)}")


# -- what the one- and several-protocol exports share -----------------------------------------

class _Plan:
    """One run's schedule as the export uses it: segments, the inputs' values on each, the holds
    (knockouts, clamps) and parameter overrides on each.

    Parameters
    ----------
    perts : list of dict
        The perturbations in force (the model's overlays first, then the protocol's).
    segs : _Segments
    parameters : dict
        The model's parameters, as its JSON document has them.
    levels : list of list of float
        The inputs' values at the start of each segment (empty without a protocol).
    drives : dict
        Driven input -> decay rate (1/day).
    where : str
        Appended to the subject of an error (e.g. `` in condition 'c'``).
    species : iterable of str
        The model's species names.
    """

    def __init__(self, perts: List[Dict[str, Any]], segs: _Segments, parameters: Dict[str, Any],
                 levels: List[List[float]], drives: Dict[str, float], where: str,
                 species: Any) -> None:
        for p in perts:
            if p["kind"] == "parameter" and p["target"] not in parameters:
                raise ModelError(f"SBML export: perturbation of {p['target']!r}{where}: "
                                 "not a parameter")
            if p["kind"] != "parameter" and p["target"] not in species:
                raise ModelError(f"SBML export: {p['kind']} of {p['target']!r}{where}: "
                                 "not a species")
        self.perts, self.segs, self.levels, self.drives = perts, segs, levels, drives
        self.held: List[Dict[str, float]] = []
        self.overrides: List[Dict[str, float]] = []
        for s in range(segs.count):
            held: Dict[str, float] = {}
            over: Dict[str, float] = {}
            for p in perts:
                if not segs.index(p["from"]) <= s < segs.index(p["until"]):
                    continue
                if p["kind"] == "parameter":
                    base = float(parameters[p["target"]]["value"])
                    over[p["target"]] = base * p["value"] if p["scale"] else float(p["value"])
                else:
                    held[p["target"]] = 0.0 if p["kind"] == "knockout" else float(p["value"])
            self.held.append(held)
            self.overrides.append(over)

    @classmethod
    def of_protocol(cls, core_model: Any, pcore: Any, parameters: Dict[str, Any],
                    inputs: Dict[str, Any], input_names: List[str], where: str,
                    species: Any) -> "_Plan":
        """The plan of a protocol run (the engine's schedule gives the segments and inputs)."""
        from .. import _core
        schedule = _core.Schedule(pcore, core_model)  # binds and checks units and targets
        perts = list(core_model.overlays) + list(pcore.perturbations)
        drives = {cname: (math.log(2.0) / c["half_life"] if c["half_life"] else 0.0)
                  for cname, c in pcore.components.items() if cname in inputs}
        segs = _Segments(list(schedule.breakpoints), pcore.duration)
        levels = [list(schedule.inputs_at(t, len(input_names))) for t in segs.times[:segs.count]]
        return cls(perts, segs, parameters, levels, drives, where, species)


class _Writer:
    """One SBML document of a model, built step by step; the steps both exports share.

    Parameters
    ----------
    model : Model
    """

    def __init__(self, model: Any) -> None:
        doc_json: Dict[str, Any] = json.loads(model.to_json())
        self.doc_json = doc_json
        self.core_model = model._core
        self.species: Dict[str, Any] = doc_json.get("species", {})
        self.parameters: Dict[str, Any] = doc_json.get("parameters", {})
        self.inputs: Dict[str, Any] = doc_json.get("inputs", {})
        self.expressions: Dict[str, str] = doc_json.get("expressions", {})
        self.observables: Dict[str, Any] = doc_json.get("observables", {})
        self.odes: Dict[str, str] = doc_json.get("odes", {})
        self.used: Set[str] = set(self.species) | set(self.parameters) | set(self.inputs) \
            | set(self.expressions) | set(self.observables)
        self.input_names = [i["name"] for i in self.core_model.inputs]

    def fresh(self, base: str) -> str:
        """An id starting with `base` that no symbol of the document has yet (reserved)."""
        cand, i = base, 1
        while cand in self.used:
            i += 1
            cand = f"{base}_{i}"
        self.used.add(cand)
        return cand

    def begin(self) -> None:
        """The document, its model, the time unit (day) and the one compartment."""
        name = self.doc_json["name"]
        self.doc = libsbml.SBMLDocument(3, 2)
        sm = self.sm = self.doc.createModel()
        _check(sm.setId(name), f"the model id {name!r}")
        if self.doc_json.get("description"):
            sm.setName(self.doc_json["description"])
        day = sm.createUnitDefinition()
        day_id = self.fresh("day")
        day.setId(day_id)
        unit = day.createUnit()
        unit.setKind(libsbml.UNIT_KIND_SECOND)
        unit.setExponent(1)
        unit.setScale(0)
        unit.setMultiplier(86400)
        sm.setTimeUnits(day_id)
        self.hill_id, self.hill_rep_id = self.fresh("hill"), self.fresh("hill_rep")
        self.builder = _MathBuilder(self.hill_id, self.hill_rep_id)
        comp = sm.createCompartment()
        self.comp_id = self.fresh("cell")
        comp.setId(self.comp_id)
        comp.setSize(1.0)
        comp.setSpatialDimensions(3)
        comp.setConstant(True)

    def model_rules(self, held: Callable[[str], Optional["libsbml.ASTNode"]]
                    ) -> Tuple[List[Tuple[str, "libsbml.ASTNode", bool]],
                               Dict[str, "libsbml.ASTNode"]]:
        """The rules of the ODEs, expressions and observables, the math of the initial
        expressions, and the function definitions they use.

        `held(species)` is the math that is non-zero while the species is held (its ODE is then
        0), or None if it is never held. Returns the rules as (variable, math, is rate rule) and
        species -> initial math."""
        builder = self.builder
        rules: List[Tuple[str, "libsbml.ASTNode", bool]] = []
        for sname, text in self.odes.items():
            math_ = builder.math(text, f"the ODE of {sname}")
            flag = held(sname)
            if flag is not None:
                cond = _ast(libsbml.AST_RELATIONAL_NEQ, flag, _number(0.0))
                math_ = _ast(libsbml.AST_FUNCTION_PIECEWISE, _number(0.0), cond, math_)
            rules.append((sname, math_, True))
        for ename, text in self.expressions.items():
            rules.append((ename, builder.math(text, f"the expression {ename}"), False))
        for oname, obs in self.observables.items():
            text = obs["expression"] if isinstance(obs, dict) else obs
            rules.append((oname, builder.math(text, f"the observable {oname}"), False))
        # initial expressions (written as initialAssignments later) may call hill too
        initial_math = {sname: builder.math(sp["initial"], f"the initial value of {sname}")
                        for sname, sp in self.species.items() if isinstance(sp["initial"], str)}
        for fname, fid in (("hill", self.hill_id), ("hill_rep", self.hill_rep_id)):
            if fname in builder.used_functions:
                fd = self.sm.createFunctionDefinition()
                fd.setId(fid)
                _check(fd.setMath(_hill_body(fname == "hill_rep")), f"the function {fid}")
        return rules, initial_math

    def parameter(self, pid: str, value: Optional[float], constant: bool, what: str = "") -> None:
        """A parameter (value None: set by a rule)."""
        p = self.sm.createParameter()
        _check(p.setId(pid), f"the parameter id {pid!r}")
        if value is not None:
            if not math.isfinite(value):
                raise ModelError(f"SBML export: {pid}: the value {value} is not finite")
            p.setValue(value)
        p.setConstant(constant)
        if what:
            p.setName(what)

    def species_and_parameters(self, held0: Dict[str, float], overrides0: Dict[str, float],
                               initial_math: Dict[str, "libsbml.ASTNode"],
                               ever_overridden: List[str]) -> None:
        """The species (held0: held from day 0) and the model's parameters (overrides0: their
        values from day 0; those in ever_overridden are not constant)."""
        sm = self.sm
        x0 = dict(zip(self.species, self.core_model.initial_state()))  # at current parameters
        for sname, sp in self.species.items():
            s = sm.createSpecies()
            _check(s.setId(sname), f"the species id {sname!r}")
            s.setCompartment(self.comp_id)
            s.setInitialAmount(held0[sname] if sname in held0 else float(x0[sname]))
            if sname in initial_math and sname not in held0:
                # an initial expression: an initialAssignment, so its parameters stay free
                ia = sm.createInitialAssignment()
                ia.setSymbol(sname)
                _check(ia.setMath(initial_math[sname]), f"the initial assignment of {sname}")
            s.setHasOnlySubstanceUnits(True)
            s.setBoundaryCondition(False)
            s.setConstant(False)
            if sp.get("description"):
                s.setName(sp["description"])
        for pname, p in self.parameters.items():
            value = overrides0.get(pname, float(p["value"]))
            self.parameter(pname, value, pname not in ever_overridden, p.get("description", ""))

    def decaying(self, lvl: str, t0: str, decay: str) -> "libsbml.ASTNode":
        """level * exp(-decay * (time - t0)), the engine's Schedule::inputs term for term."""
        exponent = _ast(libsbml.AST_TIMES, _ast(libsbml.AST_MINUS, _name(decay)),
                        _ast(libsbml.AST_MINUS, _time(), _name(t0)))
        return _ast(libsbml.AST_TIMES, _name(lvl), _ast(libsbml.AST_FUNCTION_EXP, exponent))

    def write_rules(self, rules: List[Tuple[str, "libsbml.ASTNode", bool]]) -> None:
        """The parameters the expressions and observables are, then every rule."""
        expressions, observables = self.expressions, self.observables
        for oname in list(expressions) + list(observables):
            self.parameter(oname, None, False, observables[oname].get("description", "")
                           if isinstance(observables.get(oname), dict) else "")
        for var, math_, rate_rule in rules:
            rule = self.sm.createRateRule() if rate_rule else self.sm.createAssignmentRule()
            rule.setVariable(var)
            _check(rule.setMath(math_), f"the math of the rule for {var}")

    def assignments(self, plan: _Plan, s: int,
                    level_ids: Callable[[str], Optional[Tuple[str, str]]],
                    ever_overridden: List[str], ever_held: List[str],
                    held_flag: Callable[[str], str]) -> List[Tuple[str, "libsbml.ASTNode"]]:
        """What changes at the start of segment s > 0 of `plan`: input levels (and the day of
        the change, for a decaying input), overridden parameters, held flags and values.
        `level_ids(input)` is its (level, t0) ids or None; `held_flag(species)` its flag id."""
        d, levels = plan.segs.times[s], plan.levels
        held, overrides = plan.held, plan.overrides
        assign: List[Tuple[str, "libsbml.ASTNode"]] = []
        for k, iname in enumerate(self.input_names):
            ids = level_ids(iname)
            if ids is None:
                continue
            lvl, t0 = ids
            if plan.drives[iname] != 0.0:
                assign += [(lvl, _number(levels[s][k])), (t0, _number(d))]
            elif levels[s][k] != levels[s - 1][k]:
                assign.append((lvl, _number(levels[s][k])))
        for pname in ever_overridden:
            now = overrides[s].get(pname, float(self.parameters[pname]["value"]))
            before = overrides[s - 1].get(pname, float(self.parameters[pname]["value"]))
            if now != before:
                assign.append((pname, _number(now)))
        for sname in ever_held:
            on, was = sname in held[s], sname in held[s - 1]
            if on != was:
                assign.append((held_flag(sname), _number(1.0 if on else 0.0)))
            if on and (not was or held[s][sname] != held[s - 1][sname]):
                assign.append((sname, _number(held[s][sname])))
        return assign

    def event(self, event_id: str, when: "libsbml.ASTNode", d: float,
              assign: List[Tuple[str, "libsbml.ASTNode"]], where: str = "") -> None:
        """An event firing once `when` >= d, making the assignments; `where` ends the error
        messages (e.g. `` in condition c``)."""
        ev = self.sm.createEvent()
        ev.setId(event_id)
        ev.setUseValuesFromTriggerTime(True)
        trig = ev.createTrigger()
        trig.setInitialValue(True)
        trig.setPersistent(True)
        _check(trig.setMath(_ast(libsbml.AST_RELATIONAL_GEQ, when, _number(d))),
               f"the trigger of day {d}{where}")
        for var, value in assign:
            ea = ev.createEventAssignment()
            ea.setVariable(var)
            _check(ea.setMath(value), f"the assignment to {var} on day {d}{where}")

    def text(self) -> str:
        """The SBML text; a ModelError naming libsbml's first errors if it finds any."""
        doc = self.doc
        errors = [doc.getError(i) for i in range(doc.getNumErrors())
                  if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
        if errors:
            raise ModelError("SBML export: "
                             + "; ".join(e.getMessage().strip() for e in errors[:3]))
        return libsbml.writeSBMLToString(doc)


def to_sbml(model: Any, path: Union[None, str, "os.PathLike[str]"] = None,
            protocol: Any = None, protocols: Optional[Dict[str, Any]] = None) -> str:
    """The model (and optionally a protocol, or several) as SBML Level 3 Version 2 text.

    See :meth:`osteogrn.Model.to_sbml`, which calls this.
    """
    if protocols is not None:
        if protocol is not None:
            raise ProtocolError("SBML export: give protocol= or protocols=, not both")
        text, _ = to_sbml_conditions(model, protocols)
        if path is not None:
            with open(os.fspath(path), "w", encoding="utf-8") as f:
                f.write(text)
        return text
    from .. import _core  # the engine's schedule gives the inputs per segment

    w = _Writer(model)
    species, parameters, inputs = w.species, w.parameters, w.inputs
    fresh, parameter = w.fresh, w.parameter
    w.begin()

    # -- perturbations (model overlays first, then the protocol's) and segments -------------
    if isinstance(protocol, (str, os.PathLike)):  # a built-in name or a file, as og.simulate
        from ..library import load_protocol
        protocol = load_protocol(protocol)
    if protocol is not None:
        pcore = getattr(protocol, "_core", protocol)
        if not isinstance(pcore, _core.Protocol):
            raise ProtocolError(f"SBML export: protocol must be an osteogrn Protocol, got "
                                f"{type(protocol).__name__}")
        plan = _Plan.of_protocol(w.core_model, pcore, parameters, inputs, w.input_names, "",
                                 species)
    else:
        perts: List[Dict[str, Any]] = list(w.core_model.overlays)
        bounds = {0.0}
        for p in perts:
            for t in (p["from"], p["until"]):
                if t is not None and math.isfinite(t) and t > 0:
                    bounds.add(float(t))
        plan = _Plan(perts, _Segments(sorted(bounds), math.inf), parameters, [], {}, "", species)
    segs, held, overrides, drives, levels = (plan.segs, plan.held, plan.overrides, plan.drives,
                                             plan.levels)
    ever_held = [s for s in species if any(s in h for h in held)]
    ever_overridden = [p for p in parameters if any(p in o for o in overrides)]
    input_names = w.input_names

    # -- rules and function definitions (only those used are kept) ----------------------------
    held_flag = {s: fresh(f"{s}_held") for s in ever_held}
    rules, initial_math = w.model_rules(
        lambda s: _name(held_flag[s]) if s in held_flag else None)

    # -- symbols ------------------------------------------------------------------------------
    w.species_and_parameters(held[0], overrides[0], initial_math, ever_overridden)
    for sname, flag in held_flag.items():
        parameter(flag, 1.0 if sname in held[0] else 0.0, False,
                  f"1 while {sname} is held (knockout or clamp), else 0")
    level_ids: Dict[str, Tuple[str, str]] = {}
    annotated: List[Tuple[str, str, str]] = []
    for k, iname in enumerate(input_names):
        info = inputs[iname]
        if iname not in drives:
            parameter(iname, float(info.get("default", 0.0)), True, info.get("description", ""))
            if protocol is None:
                annotated.append((iname, iname, info.get("unit", "")))
            continue
        lvl, t0 = fresh(f"{iname}_level"), fresh(f"{iname}_t0")
        level_ids[iname] = (lvl, t0)
        parameter(iname, None, False, info.get("description", ""))
        parameter(lvl, levels[0][k], False, f"{iname} just after the last media change or "
                  "addition, in " + (info.get("unit") or "its unit"))
        rate = drives[iname]
        if rate == 0.0:
            rules.append((iname, _name(lvl), False))
            continue
        parameter(t0, 0.0, False, f"day of the last event that set {lvl}")
        decay = fresh(f"{iname}_decay")
        parameter(decay, rate, True, "ln 2 / half-life (1/day)")
        rules.append((iname, w.decaying(lvl, t0, decay), False))
    w.write_rules(rules)

    # -- events: one per breakpoint after day 0 ------------------------------------------------
    for s in range(1, segs.count):
        d = segs.times[s]
        assign = w.assignments(plan, s, level_ids.get, ever_overridden, ever_held,
                               held_flag.__getitem__)
        if not assign:
            continue
        w.event(fresh(f"day_{format(d, '.15g').replace('.', '_').replace('-', '_')}"), _time(),
                d, assign)

    if annotated:
        _check(w.sm.setAnnotation(_inputs_annotation(annotated)), "the osteogrn annotation")

    text = w.text()
    if path is not None:
        with open(os.fspath(path), "w", encoding="utf-8") as f:
            f.write(text)
    return text


# -- the inputs annotation ---------------------------------------------------------------------

def _inputs_annotation(entries: Sequence[Tuple[str, str, str]]) -> "libsbml.XMLNode":
    """<annotation><osteogrn:inputs><osteogrn:input component= id= unit=/>...</...>"""
    ns = libsbml.XMLNamespaces()
    ns.add(ANNOTATION_NS, _PREFIX)
    top = libsbml.XMLNode(libsbml.XMLTriple("inputs", ANNOTATION_NS, _PREFIX),
                          libsbml.XMLAttributes(), ns)
    for component, sbml_id, unit in entries:
        attrs = libsbml.XMLAttributes()
        attrs.add("component", component)
        attrs.add("id", sbml_id)
        attrs.add("unit", unit)
        top.addChild(libsbml.XMLNode(libsbml.XMLTriple("input", ANNOTATION_NS, _PREFIX), attrs))
    ann = libsbml.XMLNode(libsbml.XMLTriple("annotation", "", ""), libsbml.XMLAttributes())
    ann.addChild(top)
    return ann


def annotated_inputs(model: "libsbml.Model") -> Dict[str, Tuple[str, str]]:
    """The inputs an osteogrn export recorded in the model's annotation.

    Parameters
    ----------
    model : libsbml.Model

    Returns
    -------
    dict
        Protocol component -> (SBML id, unit), the ``inputs`` argument of
        :func:`osteogrn.import_sbml`; empty when the model carries no osteogrn annotation.
    """
    out: Dict[str, Tuple[str, str]] = {}
    ann = model.getAnnotation() if model.isSetAnnotation() else None
    if ann is None:
        return out
    for i in range(ann.getNumChildren()):
        node = ann.getChild(i)
        if node.getURI() != ANNOTATION_NS or node.getName() != "inputs":
            continue
        for j in range(node.getNumChildren()):
            child = node.getChild(j)
            if child.getURI() != ANNOTATION_NS or child.getName() != "input":
                continue
            attrs = child.getAttributes()
            out[attrs.getValue("component")] = (attrs.getValue("id"), attrs.getValue("unit"))
    return out


# -- several protocols in one document, each gated by a condition parameter --------------------

def sbml_id(name: str) -> str:
    """A valid SBML / PEtab identifier from a name (``OM+BMP2`` -> ``OM_BMP2``)."""
    out = re.sub(r"\W", "_", str(name), flags=re.ASCII) or "_"
    return out if not out[0].isdigit() else f"_{out}"


def to_sbml_conditions(model: Any, protocols: Any) -> Tuple[str, Dict[str, str]]:
    """Several protocols in one SBML document, for PEtab (one condition per protocol).

    Every condition ``c`` gets a constant **gate** parameter ``condition_<c>`` (1 for the first
    condition, 0 for the others; a PEtab condition table sets it to 1 in its condition and 0
    elsewhere). What the one-protocol export writes per protocol is written per condition with
    the condition's suffix: a driven input ``u`` is the assignment rule
    ``sum_c condition_c * u_level_c * exp(-u_decay_c * (time - u_t0_c))`` (``u_level_c`` alone
    for a stable component, the input's value if ``c`` does not drive it), a held species' flag
    is ``<species>_held_c``, and the events of condition ``c`` have the trigger
    ``condition_c * time >= d``, so they fire only in their condition. Species held and
    parameters perturbed from day 0 must agree between the conditions (a ModelError otherwise):
    their initial values are one number in the document.

    Parameters
    ----------
    model : Model
    protocols : mapping
        Condition name -> Protocol (or a built-in protocol name / path).

    Returns
    -------
    (str, dict)
        The SBML text and condition name -> gate parameter id.
    """
    from .. import _core
    from collections.abc import Mapping

    if not isinstance(protocols, Mapping) or len(protocols) == 0:
        raise ProtocolError("SBML export: protocols must be a non-empty mapping condition name "
                            f"-> Protocol, got {type(protocols).__name__}")
    w = _Writer(model)
    species, parameters, inputs = w.species, w.parameters, w.inputs
    fresh, parameter = w.fresh, w.parameter

    input_names = w.input_names
    plans: Dict[str, _Plan] = {}
    for cond, prot in protocols.items():
        if isinstance(prot, (str, os.PathLike)):
            from ..library import load_protocol
            prot = load_protocol(prot)
        pcore = getattr(prot, "_core", prot)
        if not isinstance(pcore, _core.Protocol):
            raise ProtocolError(f"SBML export: protocols[{cond!r}] must be an osteogrn Protocol, "
                                f"got {type(prot).__name__}")
        plans[str(cond)] = _Plan.of_protocol(w.core_model, pcore, parameters, inputs, input_names,
                                             f" in condition {str(cond)!r}", species)

    w.begin()

    conds = list(plans)
    suffix: Dict[str, str] = {}
    for cond in conds:  # distinct suffixes even where two names map to the same identifier
        base, k = sbml_id(cond), 1
        cand = base
        while cand in suffix.values():
            k += 1
            cand = f"{base}_{k}"
        suffix[cond] = cand
    gate = {cond: fresh(f"condition_{suffix[cond]}") for cond in conds}
    ever_held = [s for s in species if any(s in h for pl in plans.values() for h in pl.held)]
    ever_overridden = [p for p in parameters
                       if any(p in o for pl in plans.values() for o in pl.overrides)]
    # day 0 is one initial value in the document: the conditions must agree on it
    for s in ever_held:
        at0 = {c: plans[c].held[0].get(s) for c in conds}
        if len(set(at0.values())) > 1:
            raise ModelError(f"SBML export: species {s!r} is held from day 0 differently in "
                             f"the conditions ({at0}): its initial value would differ; export "
                             "these protocols separately")
    for pname in ever_overridden:
        base = float(parameters[pname]["value"])
        at0 = {c: plans[c].overrides[0].get(pname, base) for c in conds}
        if len(set(at0.values())) > 1:
            raise ModelError(f"SBML export: parameter {pname!r} is perturbed from day 0 "
                             f"differently in the conditions ({at0}); export these protocols "
                             "separately")

    def gated_sum(terms: List[Tuple[str, "libsbml.ASTNode"]]) -> "libsbml.ASTNode":
        prods = [_ast(libsbml.AST_TIMES, _name(gate[c]), t) for c, t in terms]
        return prods[0] if len(prods) == 1 else _ast(libsbml.AST_PLUS, *prods)

    held_flag: Dict[Tuple[str, str], str] = {}
    for s in ever_held:
        for c in conds:
            if any(s in h for h in plans[c].held):
                held_flag[(s, c)] = fresh(f"{s}_held_{suffix[c]}")

    def held_math(sname: str) -> Optional["libsbml.ASTNode"]:
        flags = [(c, _name(f)) for (s, c), f in held_flag.items() if s == sname]
        return gated_sum(flags) if flags else None

    rules, initial_math = w.model_rules(held_math)

    first = conds[0]
    # held and overridden from day 0: the same in every condition (checked above)
    w.species_and_parameters(plans[first].held[0], plans[first].overrides[0], initial_math,
                             ever_overridden)
    for cond in conds:
        parameter(gate[cond], 1.0 if cond == first else 0.0, True,
                  f"1 in condition {cond}, else 0")
    for (sname, cond), flag in held_flag.items():
        parameter(flag, 1.0 if sname in plans[cond].held[0] else 0.0, False,
                  f"1 while {sname} is held in condition {cond}, else 0")
    level_ids: Dict[Tuple[str, str], Tuple[str, str]] = {}
    for k, iname in enumerate(input_names):
        info = inputs[iname]
        if not any(iname in plans[c].drives for c in conds):
            parameter(iname, float(info.get("default", 0.0)), True, info.get("description", ""))
            continue
        parameter(iname, None, False, info.get("description", ""))
        terms: List[Tuple[str, "libsbml.ASTNode"]] = []
        for c in conds:
            plan = plans[c]
            if iname not in plan.drives:
                terms.append((c, _number(float(plan.levels[0][k]))))
                continue
            lvl, t0 = fresh(f"{iname}_level_{suffix[c]}"), fresh(f"{iname}_t0_{suffix[c]}")
            level_ids[(iname, c)] = (lvl, t0)
            parameter(lvl, plan.levels[0][k], False, f"{iname} just after the last media change "
                      f"or addition in condition {c}, in " + (info.get("unit") or "its unit"))
            rate = plan.drives[iname]
            if rate == 0.0:
                terms.append((c, _name(lvl)))
                continue
            parameter(t0, 0.0, False, f"day of the last event that set {lvl}")
            decay = fresh(f"{iname}_decay_{suffix[c]}")
            parameter(decay, rate, True, "ln 2 / half-life (1/day)")
            terms.append((c, w.decaying(lvl, t0, decay)))
        rules.append((iname, gated_sum(terms), False))
    w.write_rules(rules)

    # -- events: per condition, one per breakpoint after day 0, firing only in it ---------------
    for c in conds:
        plan = plans[c]
        for s in range(1, plan.segs.count):
            d = plan.segs.times[s]
            assign = w.assignments(plan, s, lambda i: level_ids.get((i, c)), ever_overridden,
                                   ever_held, lambda sname: held_flag[(sname, c)])
            if not assign:
                continue
            day_txt = format(d, '.15g').replace('.', '_').replace('-', '_')
            gated_time = _ast(libsbml.AST_TIMES, _name(gate[c]), _time())
            w.event(fresh(f"{suffix[c]}_day_{day_txt}"), gated_time, d, assign,
                    f" in condition {c}")

    return w.text(), gate

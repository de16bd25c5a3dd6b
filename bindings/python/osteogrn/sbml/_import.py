"""SBML Level 2/3 -> ``osteogrn-model/1`` translation.

Every SBML symbol (compartment, species, parameter, species reference) is classified by what
determines its value over time:

* a rate rule -> a species of the osteogrn model whose ODE is the rule;
* an assignment rule -> a named expression (and an observable, so results report it);
* a species changed by reactions -> a species whose ODE is the sum of its reaction terms;
* a symbol an event assigns -> a species (ODE ``0`` unless a rate rule or reactions give one)
  that the model's ``events`` change;
* anything else -> constant: a parameter, or for SBML species a species with ODE ``0`` (so the
  species stays a column of the results).

A species' state is the value its SBML symbol means: its concentration unless
``hasOnlySubstanceUnits``, then its amount. With constant compartments the ODE of a
concentration is the sum of stoich·rate divided by the compartment size (SBML semantics).
Initial values (attributes, unit conversions, initial assignments and assignment rules at t = 0)
are evaluated at load by :class:`~._math.MathTranslator`; a state's initial value that depends on
constants is written as an initial expression of their parameters (docs/sbml.md).

Whatever the translation cannot reproduce exactly raises
:class:`~osteogrn.errors.UnsupportedSBMLError` naming the SBML element and the feature.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Set, Tuple, Union

import libsbml

from ..errors import ModelError, UnsupportedSBMLError
from ._algebraic import solve_algebraic_rules
from ._math import MathTranslator

#: Words of the expression language that cannot be declared (docs/formats/model.md).
RESERVED = frozenset({"t", "and", "or", "not", "exp", "log", "ln", "log10", "sqrt", "abs", "min",
                      "max", "pow", "hill", "hill_rep", "piecewise", "sin", "cos", "tan", "asin",
                      "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "floor",
                      "ceil", "factorial"})

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SOURCE = "assumed: value from the imported SBML file"
_MOST_NEGATIVE = -1.7976931348623157e308  # explicit lower bound: the format defaults min to 0


@dataclasses.dataclass
class Symbol:
    """One SBML symbol and how the osteogrn model represents it.

    Attributes
    ----------
    sbml_id : str
    kind : str
        ``compartment``, ``species``, ``parameter`` or ``speciesReference``.
    name : str
        The osteogrn name (the SBML id, renamed if it clashes with the grammar).
    role : str
        ``state`` (osteogrn species), ``expression`` (assignment rule), ``constant``
        (osteogrn parameter) or ``input`` (osteogrn input driven by a protocol).
    column : str
        Name of the result column holding the symbol's value over time ('' for a constant).
    compartment : str
        For species: the SBML id of its compartment.
    amount : bool
        For species: True if the symbol means an amount (``hasOnlySubstanceUnits``).
    """

    sbml_id: str
    kind: str
    name: str
    role: str = "constant"
    column: str = ""
    compartment: str = ""
    amount: bool = False


@dataclasses.dataclass
class Translation:
    """The result of :func:`translate_sbml`.

    Attributes
    ----------
    document : dict
        The ``osteogrn-model/1`` document.
    symbols : dict
        SBML id -> :class:`Symbol` for every compartment, species, parameter and species
        reference with an id.
    initial_values : dict
        SBML id -> value at t = 0 of the symbol (what the SBML symbol means).
    reactions : dict
        Reaction id -> name of the observable holding its rate (SBML: a reaction id in math
        means its rate, and tools report it as the reaction's flux).
    """

    document: Dict[str, Any]
    symbols: Dict[str, Symbol]
    initial_values: Dict[str, float]
    reactions: Dict[str, str] = dataclasses.field(default_factory=dict)
    #: SBML id of a constant -> SBML ids of the states whose initial value was computed from it
    #: at import and is held as a number (what an initial expression cannot hold: time, rateOf,
    #: reaction rates or inputs at t = 0, a constant set by an initial assignment), so changing
    #: such a constant would not move them. Constants an initial expression names are free.
    initial_dependencies: Dict[str, List[str]] = dataclasses.field(default_factory=dict)


class _Names:
    """Allocates osteogrn names: SBML ids kept where legal, renamed where they would clash."""

    def __init__(self) -> None:
        self.used: Set[str] = set()

    def take(self, wanted: str) -> str:
        base = wanted if _NAME.match(wanted) else re.sub(r"\W", "_", wanted) or "x"
        if base[0].isdigit():
            base = "_" + base
        if base in RESERVED:
            base = base + "_"
        name, i = base, 1
        while name in self.used or name in RESERVED:
            i += 1
            name = f"{base}_{i}"
        self.used.add(name)
        return name


def _read_document(path_or_text: Union[str, "os.PathLike[str]"]) -> Tuple["libsbml.SBMLDocument", str]:
    """Reads SBML from a path or from XML text; returns the document and a label for messages."""
    reader = libsbml.SBMLReader()
    text = os.fspath(path_or_text)
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="surrogateescape")
    if text.lstrip().startswith("<"):
        doc, label = reader.readSBMLFromString(text), "<string>"
    else:
        if not os.path.isfile(text):
            raise ModelError(f"{text}: no such SBML file", file=text)
        doc, label = reader.readSBMLFromFile(text), text
    fatal = [doc.getError(i) for i in range(doc.getNumErrors())
             if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
    if fatal or doc.getModel() is None:
        detail = "; ".join(f"line {e.getLine()}: {e.getMessage().strip()}" for e in fatal[:5])
        raise ModelError(f"{label}: not a readable SBML document: {detail or 'no model'}",
                         file=label)
    return doc, label


class _Indexed:
    """A libsbml Model whose look-ups of species, reactions and compartments by id are dict
    look-ups: libsbml searches its lists linearly, which made imports quadratic in size."""

    def __init__(self, model: "libsbml.Model") -> None:
        self._model = model
        self._species = {s.getId(): s for s in model.getListOfSpecies()}
        self._reaction_list = list(model.getListOfReactions())
        self._reactions = {r.getId(): r for r in self._reaction_list}
        self._compartments = {c.getId(): c for c in model.getListOfCompartments()}

    def getSpecies(self, key: Union[int, str]) -> "libsbml.Species":
        return self._species.get(key) if isinstance(key, str) else self._model.getSpecies(key)

    def getReaction(self, key: Union[int, str]) -> "libsbml.Reaction":
        if isinstance(key, str):
            return self._reactions.get(key)
        return self._reaction_list[key] if 0 <= key < len(self._reaction_list) else None

    def getCompartment(self, key: Union[int, str]) -> "libsbml.Compartment":
        return (self._compartments.get(key) if isinstance(key, str)
                else self._model.getCompartment(key))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def _refuse(element: str, feature: str) -> UnsupportedSBMLError:
    return UnsupportedSBMLError(f"SBML element '{element}': {feature} is not supported",
                                element=element, feature=feature)


def translate_sbml(path_or_text: Union[str, "os.PathLike[str]"],
                   inputs: Optional[Mapping[str, str]] = None,
                   name: Optional[str] = None) -> Translation:
    """Translates an SBML Level 2/3 model into an ``osteogrn-model/1`` document.

    Parameters
    ----------
    path_or_text : str or path-like
        An SBML file, or SBML XML text (recognised by a leading ``<``).
    inputs : mapping, optional
        Protocol component name -> SBML id of a constant parameter or of a boundary species
        without rules, or -> a pair (SBML id, unit); that symbol becomes a model input of the
        component's name, driven by the protocol (its SBML value is the input's default).
        The unit (default ``""``) is what protocol concentrations are converted to, e.g.
        ``"nM"``: the value's SBML units are not read.
    name : str, optional
        The model's name (default: the SBML model id, else ``sbml_model``).

    Returns
    -------
    Translation

    Raises
    ------
    UnsupportedSBMLError
        A feature the translation does not support, naming the element and the feature.
    ModelError
        An unreadable document, or a bad ``inputs`` mapping.
    """
    where = {"element": "model"}
    try:
        return _translate(path_or_text, inputs, name, where)
    except RecursionError:
        # math or chains of rules and initial assignments nested deeper than Python's
        # recursion limit: refused, never a crash
        raise _refuse(where["element"], "math or a chain of rules and initial assignments "
                      "nested deeper than the translator's recursion limit") from None


def _translate(path_or_text: Union[str, "os.PathLike[str]"],
               inputs: Optional[Mapping[str, str]], name: Optional[str],
               where: Dict[str, str]) -> Translation:
    """The body of :func:`translate_sbml` (which guards it against deep recursion); sets
    ``where["element"]`` to the model's id for that refusal."""
    doc, label = _read_document(path_or_text)
    model = doc.getModel()
    where["element"] = model.getId() or label
    level = doc.getLevel()
    if level < 2:
        raise _refuse(model.getId() or label, f"SBML Level {level} (Levels 2 and 3 are supported)")
    if doc.isPackageEnabled("comp"):
        doc = _flatten_comp(doc, model.getId() or label)
        model = doc.getModel()
    model = _Indexed(model)
    for i in range(doc.getNumPlugins()):
        package = doc.getPlugin(i).getPackageName()
        # l3v2extendedmath is libsbml's name for the MathML that L3V2 core allows (rem, max,
        # rateOf, ...), translated or refused function by function; layout and render only
        # draw the model. Every other package changes what the model means (comp, fbc, qual,
        # distrib, ...), so it is refused rather than ignored.
        if package and package not in ("core", "l3v2extendedmath", "layout", "render") \
                and doc.isPackageEnabled(package):
            raise _refuse(model.getId() or label, f"the SBML package '{package}'")

    # -- features refused outright (each names its element) --------------------------------
    for i in range(model.getNumReactions()):
        rx = model.getReaction(i)
        if rx.isSetFast() and rx.getFast():
            raise _refuse(rx.getId(), "fast reactions")
        if not rx.isSetKineticLaw() or not rx.getKineticLaw().isSetMath():
            raise _refuse(rx.getId(), "a reaction without a kinetic law")

    # -- function definitions ---------------------------------------------------------------
    functions: Dict[str, Tuple[List[str], "libsbml.ASTNode"]] = {}
    for i in range(model.getNumFunctionDefinitions()):
        fd = model.getFunctionDefinition(i)
        if fd.getMath() is None or fd.getBody() is None:
            raise _refuse(fd.getId(), "a function definition without a body")
        functions[fd.getId()] = ([fd.getArgument(j).getName() for j in range(fd.getNumArguments())],
                                 fd.getBody())
    math_ = MathTranslator(functions)

    # -- symbols ----------------------------------------------------------------------------
    names = _Names()

    class _Symbols(dict):
        """SBML id -> Symbol; an id declared twice is an invalid document, not a silent
        overwrite (libsbml reads such a file without an error)."""

        def __setitem__(self, key: str, sym: Symbol) -> None:
            if key in self or not key:
                raise ModelError(f"{label}: SBML id {key!r} is declared "
                                 f"{'twice' if key else 'empty'} ({sym.kind})", file=label)
            super().__setitem__(key, sym)

    symbols: Dict[str, Symbol] = _Symbols()
    for i in range(model.getNumCompartments()):
        c = model.getCompartment(i)
        symbols[c.getId()] = Symbol(c.getId(), "compartment", "")
    for i in range(model.getNumSpecies()):
        s = model.getSpecies(i)
        comp = model.getCompartment(s.getCompartment())
        if comp is None:
            raise ModelError(f"{label}: species {s.getId()!r} is in the undeclared compartment "
                             f"{s.getCompartment()!r}", file=label)
        # in a 0-dimensional compartment without a size there is no concentration: the species
        # symbol is its amount whatever hasOnlySubstanceUnits says (the suite's 0D-Compartment
        # cases)
        point = (comp is not None and comp.getSpatialDimensionsAsDouble() == 0
                 and not comp.isSetSize())
        symbols[s.getId()] = Symbol(s.getId(), "species", "", compartment=s.getCompartment(),
                                    amount=bool(s.getHasOnlySubstanceUnits()) or point)
    for i in range(model.getNumParameters()):
        p = model.getParameter(i)
        symbols[p.getId()] = Symbol(p.getId(), "parameter", "")
    for i in range(model.getNumReactions()):
        rx = model.getReaction(i)
        for ref in _references(rx):
            if ref.isSetId() and ref.getId():
                symbols[ref.getId()] = Symbol(ref.getId(), "speciesReference", "")
            if level == 2 and ref.isSetStoichiometryMath() and \
                    ref.getStoichiometryMath().getMath() is None:
                raise _refuse(ref.getId() or f"{rx.getId()}/{ref.getSpecies()}",
                              "a stoichiometryMath without math")
    reaction_ids = [model.getReaction(i).getId() for i in range(model.getNumReactions())]
    seen: Set[str] = set()
    for rid in reaction_ids:
        if not rid or rid in symbols or rid in seen:
            raise ModelError(f"{label}: reaction id {rid!r} is empty or declared twice",
                             file=label)
        seen.add(rid)

    rate_rules: Dict[str, "libsbml.ASTNode"] = {}
    assignment_rules: Dict[str, "libsbml.ASTNode"] = {}
    for i in range(model.getNumRules()):
        rule = model.getRule(i)
        if rule.getMath() is None or rule.isAlgebraic():
            continue  # L3V2 makes math optional: a rule without it has no effect (suite: NoMathML);
            # algebraic rules are solved below
        var = rule.getVariable()
        if var not in symbols:
            raise _refuse(var or f"rule {i + 1}", "a rule whose variable is not a compartment, "
                          "species, parameter or species reference")
        (rate_rules if rule.isRate() else assignment_rules)[var] = rule.getMath()
    initial_assignments: Dict[str, "libsbml.ASTNode"] = {}
    for i in range(model.getNumInitialAssignments()):
        ia = model.getInitialAssignment(i)
        sym = ia.getSymbol()
        if sym not in symbols:
            raise _refuse(sym, "an initial assignment to something other than a compartment, "
                          "species, parameter or species reference")
        if ia.getMath() is None:
            continue  # as for rules: an initial assignment without math has no effect
        initial_assignments[sym] = ia.getMath()

    events = _read_events(model, symbols, assignment_rules, level, label)
    # SBML id -> labels of the events that assign it: such a symbol changes over time, so it is a
    # state (an osteogrn species, ODE "0" unless a rate rule gives one) and never a constant
    event_targets: Dict[str, List[str]] = {}
    for ev in events:
        for var, _ in ev.assignments:
            event_targets.setdefault(var, []).append(ev.label)

    # species changed by reactions: species id -> [(reference id or None, sign, stoichiometry,
    # reaction index, L2 stoichiometryMath AST or None)]
    terms: Dict[str, List[Tuple[Optional[str], float, float, int, Any]]] = {}
    for r, rx in enumerate(model.getReaction(i) for i in range(model.getNumReactions())):
        for ref, sign in [(rx.getReactant(j), -1.0) for j in range(rx.getNumReactants())] + \
                         [(rx.getProduct(j), 1.0) for j in range(rx.getNumProducts())]:
            sid = ref.getSpecies()
            if sid not in symbols or symbols[sid].kind != "species":
                raise _refuse(rx.getId(), f"a reference to the unknown species '{sid}'")
            sp = model.getSpecies(sid)
            if sp.getBoundaryCondition():
                continue  # boundary species are not changed by reactions (SBML semantics)
            if sp.getConstant():
                raise _refuse(sid, "a constant non-boundary species changed by a reaction")
            ref_id = ref.getId() if ref.isSetId() and ref.getId() else None
            if ref_id is None and level == 3 and not ref.isSetStoichiometry():
                raise _refuse(f"{rx.getId()}/{sid}", "a species reference without a stoichiometry")
            # an id-less reference carries its number; one with an id is a symbol of its own
            # (it may have an initial assignment or an assignment rule)
            stoich_math = (ref.getStoichiometryMath().getMath()
                           if level == 2 and ref.isSetStoichiometryMath() else None)
            terms.setdefault(sid, []).append((ref_id, sign, float(ref.getStoichiometry()), r,
                                              stoich_math))

    # algebraic rules that determine one variable explicitly become its assignment rule
    # (_algebraic.py); anything else they need (a DAE) is refused there
    algebraic = [(model.getRule(i).getId() or model.getRule(i).getMetaId()
                  or f"algebraic rule {i + 1}", model.getRule(i).getMath())
                 for i in range(model.getNumRules())
                 if model.getRule(i).isAlgebraic() and model.getRule(i).getMath() is not None]
    if algebraic:
        determined = set(rate_rules) | set(assignment_rules) | set(terms) | set(event_targets)
        candidates = {sid for sid, sym in symbols.items() if not _declared_constant(model, sym)}
        assignment_rules.update(solve_algebraic_rules(algebraic, determined, candidates, _refuse))

    # component -> SBML id, or -> (SBML id, unit): the unit protocol concentrations convert to
    # (SBML unit definitions are not translated, so the caller says which unit the value is in)
    input_units: Dict[str, str] = {}
    if inputs is None:  # an osteogrn export records its inputs (component -> (id, unit))
        from ._export import annotated_inputs
        inputs = annotated_inputs(model)
    inputs = dict(inputs or {})
    for comp, target in list(inputs.items()):
        if isinstance(target, (tuple, list)) and len(target) == 2 \
                and all(isinstance(x, str) for x in target):
            inputs[comp], input_units[comp] = target[0], target[1]
        elif not isinstance(target, str):
            raise ModelError(f"inputs: {comp!r} maps to {target!r}: give an SBML id or a pair "
                             "(SBML id, unit)", pointer="/inputs")
    input_of = {sbml_id: comp for comp, sbml_id in inputs.items()}
    if len(input_of) != len(inputs):
        raise ModelError("inputs: two components map to the same SBML id", pointer="/inputs")
    for comp, sbml_id in inputs.items():
        if not isinstance(comp, str) or not _NAME.match(comp) or comp in RESERVED:
            raise ModelError(f"inputs: {comp!r} is not a valid input name", pointer="/inputs")
        sym = symbols.get(sbml_id)
        ok = sym is not None and sbml_id not in rate_rules and sbml_id not in assignment_rules \
            and sbml_id not in terms and sbml_id not in event_targets and (
                sym.kind == "parameter" or
                (sym.kind == "species" and model.getSpecies(sbml_id).getBoundaryCondition()))
        if not ok:
            raise ModelError(f"inputs: {comp!r} maps to {sbml_id!r}, which is not a parameter or a "
                             "boundary species without rules or events in the SBML model",
                             pointer="/inputs")

    # roles and names; input names are taken first so an SBML id cannot steal them
    names.used.update(inputs)  # validated above: identifiers, not reserved, distinct
    for sid, sym in symbols.items():
        if sid in input_of:
            sym.name, sym.role = input_of[sid], "input"
            continue
        sym.name = names.take(sid)
        if sym.kind == "compartment" and sid not in rate_rules and sid not in assignment_rules \
                and sid not in initial_assignments and not _has_size(model.getCompartment(sid), level):
            # a compartment without a size is fine as long as nothing needs its size (species in
            # it that are amounts); anything that does is refused where it asks
            sym.role = "undefined"
        elif sid in rate_rules:
            sym.role = "state"
        elif sid in assignment_rules:
            sym.role = "expression"
        elif sym.kind == "species" or sid in event_targets:
            # a species is a column of the results even when constant (ODE 0); a symbol an
            # event assigns is a state with ODE 0 that the events change
            sym.role = "state"
        else:
            sym.role = "constant"
    rx_names = {rid: names.take(rid) for rid in reaction_ids}

    # compartments whose size changes over time; species in them keep their amount as state (an
    # event that changes a compartment's size keeps the amounts in it: SBML semantics)
    varying = {sid for sid, sym in symbols.items()
               if sym.kind == "compartment" and (sid in rate_rules or sid in assignment_rules
                                                 or sid in event_targets)}

    def _diluted(sym: Symbol) -> bool:
        """A concentration whose state is the amount (in a compartment of varying size)."""
        return (sym.kind == "species" and not sym.amount and sym.compartment in varying
                and sym.sbml_id not in rate_rules and sym.sbml_id not in assignment_rules)

    for sid, sym in symbols.items():
        if sym.kind == "species" and not sym.amount and sid in rate_rules \
                and sym.compartment in assignment_rules:
            # an event that changes what the size's rule reads changes the size at once, which
            # keeps the amount and so changes [S]: that jump is not translated
            reads = _reads(assignment_rules[sym.compartment], assignment_rules, model)
            for var, labels in event_targets.items():
                if var in reads:
                    raise _refuse(labels[0], f"an event assignment to '{var}', which changes the "
                                  f"size of the compartment '{sym.compartment}' (an assignment "
                                  f"rule) holding the species '{sid}' whose concentration a rate "
                                  "rule determines")
        if sid in rate_rules and sid in terms:
            raise _refuse(sid, "a species with a rate rule that reactions also change")
        if sid in assignment_rules and sid in terms:
            raise _refuse(sid, "a species with an assignment rule that reactions also change")
        if _diluted(sym):
            # the amount is the state (below), except under a rule, which gives the
            # concentration (or its derivative) directly. A constant concentration in a changing
            # volume is ambiguous between holding the amount and holding the concentration.
            if model.getSpecies(sid).getConstant():
                raise _refuse(sid, "a constant concentration in a compartment of varying size")

    # -- name lookup for math ---------------------------------------------------------------
    def global_name(sbml_id: str) -> str:
        if sbml_id in symbols and symbols[sbml_id].role == "undefined":
            raise _refuse(sbml_id, "a compartment without a size")
        if sbml_id in symbols:
            return symbols[sbml_id].name
        if sbml_id in rx_names:
            return rx_names[sbml_id]
        raise math_.refuse(f"a reference to '{sbml_id}', which is not a symbol of the model")

    def text_of(element: str, ast: "libsbml.ASTNode",
                lookup: Callable[[str], str] = global_name) -> str:
        math_.element = element
        return math_.to_text(ast, lookup)

    # -- initial values (what each SBML symbol means at t = 0) ---------------------------------
    values: Dict[str, float] = {}
    busy: Set[str] = set()
    local_values: Dict[str, Dict[str, float]] = {}

    # which symbols each initial value was computed from (initial assignments, rules, unit
    # conversions): a constant read this way fixes a state's initial value once, at import
    reads: Dict[str, Set[str]] = {}
    evaluating: List[str] = []

    def value(sid: str) -> float:
        if evaluating:
            reads.setdefault(evaluating[-1], set()).add(sid)
        if sid in values:
            return values[sid]
        if sid in busy:
            raise _refuse(sid, "a cycle among initial assignments and assignment rules")
        busy.add(sid)
        evaluating.append(sid)
        saved = math_.element
        try:
            if sid in rx_names:
                rx = model.getReaction(sid)
                locals_ = local_values[sid]
                math_.element = sid
                saved_locals, math_.local_ids = math_.local_ids, frozenset(locals_)
                try:
                    x = math_.evaluate(rx.getKineticLaw().getMath(),
                                       lambda n: locals_[n] if n in locals_ else value(n))
                finally:
                    math_.local_ids = saved_locals
            elif sid not in symbols:
                raise math_.refuse(f"a reference to '{sid}', which is not a symbol of the model")
            elif sid in assignment_rules:
                math_.element = sid
                x = math_.evaluate(assignment_rules[sid], value)
            elif sid in initial_assignments:
                math_.element = sid
                x = math_.evaluate(initial_assignments[sid], value)
            else:
                x = _attribute_value(model, symbols[sid], value, level)
        finally:
            math_.element = saved
            busy.discard(sid)
            evaluating.pop()
        if not math.isfinite(x):
            raise _refuse(sid, f"a non-finite initial value ({x})")
        values[sid] = x
        return x

    # local parameters: renamed uniquely, each a parameter of the osteogrn model
    local_names: Dict[str, Dict[str, str]] = {}
    parameters: Dict[str, Any] = {}
    for rid in reaction_ids:
        kl = model.getReaction(rid).getKineticLaw()
        local_names[rid], local_values[rid] = {}, {}
        plist = kl.getListOfLocalParameters() if level == 3 else kl.getListOfParameters()
        for j in range(plist.size()):
            lp = plist.get(j)
            if not lp.isSetValue():
                raise _refuse(f"{rid}/{lp.getId()}", "a local parameter without a value")
            local_names[rid][lp.getId()] = names.take(f"{rid}_{lp.getId()}")
            local_values[rid][lp.getId()] = lp.getValue()

    def rate_value(sid: str) -> float:
        """rateOf(sid) at t = 0 (for initial assignments and rules evaluated at load)."""
        sym = symbols.get(sid)
        if sym is None:
            raise math_.refuse(f"rateOf() of '{sid}', which is not a symbol of the model")
        if sym.role in ("constant", "input"):
            return 0.0
        if sym.role in ("expression", "undefined") or _diluted(sym):
            raise math_.refuse(f"rateOf() of '{sid}', whose value is an expression (an assignment"
                               " rule, or amount / size in a compartment of varying size)")
        if sid in rate_rules:
            saved = math_.element
            math_.element = sid
            try:
                return math_.evaluate(rate_rules[sid], value)
            finally:
                math_.element = saved
        if sid not in terms:
            return 0.0
        total = 0.0
        saved = math_.element
        try:
            for ref_id, sign, number, r, stoich_math in terms[sid]:
                rid = model.getReaction(r).getId()
                if stoich_math is not None:
                    math_.element = ref_id or f"{rid}/{sid}"
                    stoich = math_.evaluate(stoich_math, value)
                else:
                    stoich = value(ref_id) if ref_id else number
                total += sign * stoich * value(rid)
        finally:
            math_.element = saved
        factor = _conversion_factor(model, sid, level)
        if factor:
            total *= value(factor)
        if not sym.amount:
            total /= value(sym.compartment)
        return total

    math_.rate_value = rate_value

    for sid, sym in symbols.items():
        if sym.role != "undefined":
            value(sid)

    # -- time derivatives (ODEs, and rateOf in math) -------------------------------------------
    derivatives: Dict[str, str] = {}
    deriving: List[str] = []

    def ode_text(sid: str) -> str:
        """d(symbol)/dt as text: its rate rule, its reaction terms, or 0."""
        if sid in derivatives:
            return derivatives[sid]
        if sid in deriving:
            raise _refuse(sid, "rateOf() in a cycle of derivatives ("
                          + " -> ".join(deriving[deriving.index(sid):] + [sid]) + ")")
        deriving.append(sid)
        saved = math_.element
        try:
            if sid in rate_rules:
                text = text_of(sid, rate_rules[sid])
            elif sid in terms:
                text = _reaction_ode(model, symbols[sid], terms[sid], text_of, symbols,
                                     rx_names, values, level)
            else:
                text = "0"
        finally:
            math_.element = saved
            deriving.pop()
        derivatives[sid] = text
        return text

    def rate_of(sid: str) -> str:
        """The text of rateOf(sid): the derivative of what the SBML symbol means."""
        sym = symbols.get(sid)
        if sym is None:
            raise math_.refuse(f"rateOf() of '{sid}', which is not a symbol of the model")
        if sym.role == "constant" or sym.role == "input":
            return "0"
        if sym.role == "expression" or _diluted(sym):
            # the derivative of an assignment rule (or of n / V) would need symbolic
            # differentiation of SBML math here
            raise math_.refuse(f"rateOf() of '{sid}', whose value is an expression (an assignment"
                               " rule, or amount / size in a compartment of varying size)")
        if sym.role == "undefined":
            raise _refuse(sid, "a compartment without a size")
        return ode_text(sid)

    math_.rate_of = rate_of

    # -- initial values as expressions of the constants --------------------------------------
    # A state whose initial value was computed from constants (initial assignments, assignment
    # rules at t = 0, amount/concentration conversions with a parameter-sized compartment)
    # gets an initial expression over those constants' parameters, so that changing them moves
    # it. What the expression grammar cannot hold at t = 0 (time, rateOf, reaction rates,
    # inputs) keeps the number computed above; its constants stay refused (initial_of).
    initial_texts: Dict[str, Optional[Tuple[str, bool]]] = {}

    class _NotExpressible(Exception):
        pass

    def _no_rate(sid: str) -> str:
        raise _NotExpressible(sid)

    def initial_text(sid: str) -> Optional[Tuple[str, bool]]:
        """(text, depends on a constant) of sid's value at t = 0, or None if the model
        format cannot express it (then the number in values[sid] stands)."""
        if sid in initial_texts:
            return initial_texts[sid]
        initial_texts[sid] = None  # a cycle (refused by value() already) expresses nothing
        sym = symbols.get(sid)
        out: Optional[Tuple[str, bool]] = None
        if sym is None or sym.role in ("input", "undefined"):
            out = None
        elif sym.role == "constant":
            out = (sym.name, True)
        else:
            ast = assignment_rules.get(sid)
            if ast is None:
                ast = initial_assignments.get(sid)
            if ast is not None:
                used = [False]

                def lookup(n: str) -> str:
                    r = initial_text(n)
                    if r is None:
                        raise _NotExpressible(n)
                    used[0] = used[0] or r[1]
                    return r[0] if _NAME.match(r[0]) else f"({r[0]})"

                saved = (math_.element, math_.rate_of)
                math_.element, math_.rate_of = sid, _no_rate
                try:
                    text = math_.to_text(ast, lookup)
                    out = None if re.search(r"\bt\b", text) else (text, used[0])
                except (_NotExpressible, UnsupportedSBMLError):
                    out = None
                finally:
                    math_.element, math_.rate_of = saved
            elif sym.kind == "species":
                s = model.getSpecies(sid)
                comp = initial_text(s.getCompartment()) if (
                    (s.isSetInitialAmount() and not sym.amount)
                    or (s.isSetInitialConcentration() and sym.amount)) else ("1", False)
                if comp is None:
                    out = None
                elif not comp[1]:
                    out = (repr(values[sid]), False)
                elif s.isSetInitialAmount():
                    out = (f"{s.getInitialAmount()!r} / ({comp[0]})", True)
                else:
                    out = (f"{s.getInitialConcentration()!r} * ({comp[0]})", True)
            else:
                out = (repr(values[sid]), False)
        if out is not None and not out[1]:
            out = (repr(values[sid]), False)  # no constant behind it: the number itself
        initial_texts[sid] = out
        return out

    def initial_entry(sid: str, x: float) -> Any:
        """The "initial" of a state: an expression where constants determine it, else x."""
        r = initial_text(sid)
        return r[0] if r is not None and r[1] else x

    # -- the document -----------------------------------------------------------------------
    doc_species: Dict[str, Any] = {}
    odes: Dict[str, str] = {}
    expressions: Dict[str, str] = {}
    observables: Dict[str, Any] = {}
    doc_inputs: Dict[str, Any] = {}

    def add_parameter(pname: str, x: float, description: str) -> None:
        entry: Dict[str, Any] = {"value": x, "source": _SOURCE, "description": description}
        if x < 0:
            entry["min"] = _MOST_NEGATIVE
        parameters[pname] = entry

    for rid in reaction_ids:
        for lid, lname in local_names[rid].items():
            add_parameter(lname, local_values[rid][lid], f"local parameter {lid} of reaction {rid}")

    amount_names: Dict[str, str] = {}  # SBML id of a diluted species -> its amount state
    rate_columns: Dict[str, str] = {}
    for rid in reaction_ids:
        kl = model.getReaction(rid).getKineticLaw()
        lmap = local_names[rid]
        math_.local_ids = frozenset(lmap)
        try:
            expressions[rx_names[rid]] = text_of(
                rid, kl.getMath(), lambda n, lmap=lmap: lmap[n] if n in lmap else global_name(n))
        finally:
            math_.local_ids = frozenset()
        rate_columns[rid] = names.take(f"{rx_names[rid]}_rate")
        observables[rate_columns[rid]] = {"expression": rx_names[rid],
                                          "description": f"rate of SBML reaction {rid}"}

    for sid, sym in symbols.items():
        what = f"SBML {sym.kind} {sid}"
        if sym.role == "input":
            doc_inputs[sym.name] = {"default": values[sid], "description": what,
                                    "unit": input_units.get(sym.name, "")}
            sym.column = sym.name
        elif sym.role == "undefined":
            continue
        elif sym.role == "constant":
            add_parameter(sym.name, values[sid], what)
        elif sym.role == "expression":
            expressions[sym.name] = text_of(sid, assignment_rules[sid])
            sym.column = names.take(f"{sym.name}_value")
            observables[sym.column] = {"expression": sym.name, "description": f"value of {what}"}
        elif _diluted(sym):
            # a concentration in a compartment of varying size: the amount n is the state,
            # dn/dt = sum of stoich*rate, and the SBML symbol is the expression n / V
            comp = symbols[sym.compartment]
            sym.role = "expression"
            amount_name = names.take(f"{sym.name}_amount")
            amount_names[sid] = amount_name
            conc, size = initial_text(sid), initial_text(sym.compartment)
            doc_species[amount_name] = {
                "initial": (f"({conc[0]}) * ({size[0]})"
                            if conc is not None and size is not None and (conc[1] or size[1])
                            else values[sid] * values[sym.compartment]),
                "description": f"amount of {what}"}
            odes[amount_name] = (_reaction_ode(model, sym, terms[sid], text_of, symbols,
                                               rx_names, values, level, divide=False)
                                 if sid in terms else "0")
            expressions[sym.name] = f"({amount_name} / {comp.name})"
            sym.column = names.take(f"{sym.name}_value")
            observables[sym.column] = {"expression": sym.name,
                                       "description": f"concentration of {what}"}
        else:  # state
            doc_species[sym.name] = {"initial": initial_entry(sid, values[sid]),
                                     "description": what}
            sym.column = sym.name
            odes[sym.name] = ode_text(sid)

    doc_events: Dict[str, Any] = {}
    for ev in events:
        doc_events[names.take(ev.sbml_id or ev.label.replace(" ", "_"))] = _translate_event(
            ev, symbols, amount_names, rate_rules, text_of)

    if not doc_species:
        # the format needs at least one species; a model of parameters and rules alone gets
        # a constant placeholder that nothing reads
        doc_species[names.take("sbml_no_state")] = {
            "initial": 0.0, "description": "placeholder: the SBML model has no state"}
        odes[next(reversed(doc_species))] = "0"

    model_name = name or (model.getId() if model.isSetId() else "") or "sbml_model"
    if not _NAME.match(model_name):
        model_name = re.sub(r"\W", "_", model_name)
        if model_name[0].isdigit():
            model_name = "_" + model_name
    document: Dict[str, Any] = {
        "schema": "osteogrn-model/1",
        "name": model_name,
        "description": (f"imported from SBML Level {level} Version {doc.getVersion()}"
                        f" ({label})"),
        "species": doc_species,
        "parameters": parameters,
        "expressions": expressions,
        "odes": odes,
        "observables": observables,
    }
    if doc_inputs:
        document["inputs"] = doc_inputs
    if doc_events:
        document["events"] = doc_events
    # constants behind each state's initial value (through the chain of symbols it was read from)
    initial_dependencies: Dict[str, List[str]] = {}
    for sid, sym in symbols.items():
        if sym.role != "state" and not (sym.role == "expression" and sym.kind == "species"
                                        and sid not in assignment_rules):
            continue
        seen: Set[str] = set()
        r = initial_text(sid)
        if sym.role == "expression":  # a diluted species: its amount's initial value
            conc, size = r, initial_text(sym.compartment)
            expressed = conc is not None and size is not None
        else:
            expressed = r is not None
        todo = list(reads.get(sid, ()))
        if expressed:
            # an initial expression follows the constants it reaches; only what lies behind
            # those (a constant's own initial assignment) is still fixed at import
            behind: List[str] = []
            passed: Set[str] = set()
            while todo:
                x = todo.pop()
                if x in passed:
                    continue
                passed.add(x)
                if x in symbols and symbols[x].role == "constant":
                    behind.extend(reads.get(x, ()))
                else:
                    todo.extend(reads.get(x, ()))
            todo = behind
        while todo:
            x = todo.pop()
            if x in seen:
                continue
            seen.add(x)
            todo.extend(reads.get(x, ()))
        for x in seen:
            if x in symbols and symbols[x].role == "constant":
                initial_dependencies.setdefault(x, []).append(sid)
    return Translation(document, symbols, dict(values), rate_columns, initial_dependencies)


@dataclasses.dataclass
class _Event:
    """An SBML event as read, before translation (math still libsbml ASTs).

    Attributes
    ----------
    sbml_id : str
        The event's id ('' if it has none).
    label : str
        How messages name it: its id, else ``event N`` (N counts from 1 in document order).
    trigger : libsbml.ASTNode
    assignments : list
        (SBML id of the variable, math) in document order; assignments without math are left
        out (SBML L3V2: they have no effect).
    delay, priority : libsbml.ASTNode or None
        None when absent or without math (L3V2: then as if absent).
    persistent, initial_value, use_values_from_trigger_time : bool
    """

    sbml_id: str
    label: str
    trigger: Any
    assignments: List[Tuple[str, Any]]
    delay: Any = None
    priority: Any = None
    persistent: bool = True
    initial_value: bool = True
    use_values_from_trigger_time: bool = True


def _read_events(model: "libsbml.Model", symbols: Mapping[str, Symbol],
                 assignment_rules: Mapping[str, Any], level: int, label: str) -> List[_Event]:
    """The model's events that can have an effect, in document order.

    An event without a trigger or whose trigger has no math never fires, and one whose
    assignments all lack math changes nothing (SBML L3V2 allows both; the suite's NoMathML
    cases expect them ignored): neither is returned.

    Raises
    ------
    UnsupportedSBMLError
        An assignment to something that is not a compartment, species, parameter or species
        reference, or to a symbol an assignment rule determines (names the event).
    ModelError
        An assignment to a symbol declared constant (an invalid document).
    """
    events: List[_Event] = []
    for i in range(model.getNumEvents()):
        ev = model.getEvent(i)
        eid = ev.getId() if ev.isSetId() else ""
        where = eid or f"event {i + 1}"
        trigger = ev.getTrigger() if ev.isSetTrigger() else None
        if trigger is None or trigger.getMath() is None:
            continue
        assignments: List[Tuple[str, Any]] = []
        for j in range(ev.getNumEventAssignments()):
            ea = ev.getEventAssignment(j)
            var = ea.getVariable()
            if ea.getMath() is None:
                continue
            sym = symbols.get(var)
            if sym is None:
                raise _refuse(where, f"an event assignment to '{var}', which is not a "
                              "compartment, species, parameter or species reference")
            if var in assignment_rules:
                raise _refuse(where, f"an event assignment to '{var}', which an assignment "
                              "rule determines")
            if any(var == v for v, _ in assignments):
                raise ModelError(f"{label}: event {where!r} assigns {var!r} twice", file=label)
            element = {"compartment": model.getCompartment, "species": model.getSpecies,
                       "parameter": model.getParameter}.get(sym.kind)
            # L2 species references have no constant attribute; L3 ones must be non-constant
            if (element is not None and element(var).getConstant()) or \
                    (sym.kind == "speciesReference" and level == 3
                     and model.getSpeciesReference(var).getConstant()):
                raise ModelError(f"{label}: event {where!r} assigns the constant {sym.kind} "
                                 f"{var!r}", file=label)
            assignments.append((var, ea.getMath()))
        if not assignments:
            continue
        delay = ev.getDelay() if ev.isSetDelay() else None
        priority = ev.getPriority() if ev.isSetPriority() else None
        events.append(_Event(
            eid, where, trigger.getMath(), assignments,
            delay=delay.getMath() if delay is not None else None,
            priority=priority.getMath() if priority is not None else None,
            persistent=bool(trigger.getPersistent()),
            initial_value=bool(trigger.getInitialValue()),
            use_values_from_trigger_time=bool(ev.getUseValuesFromTriggerTime())))
    return events


def _translate_event(ev: _Event, symbols: Mapping[str, Symbol], amount_names: Mapping[str, str],
                     rate_rules: Mapping[str, Any],
                     text_of: Callable[[str, Any], str]) -> Dict[str, Any]:
    """One entry of the document's ``events``: every expression translated with the event as
    the element refusals name.

    All of an event's assignments are evaluated before any is made (SBML), and a compartment's
    new size keeps the amounts in it (the suite's cases 01505, 01506 and 01779 spell this out):

    * an assignment to a concentration whose state is the amount (in a compartment of varying
      size) assigns the amount: the new concentration times the size *before* the event, even
      when the same event resizes the compartment;
    * an assignment to a compartment also rescales each concentration in it that is a state of
      its own (a rate rule gives its derivative) by old size / new size, applied to the
      concentration the same event assigns, if it does.

    Raises
    ------
    UnsupportedSBMLError
        Math the expression language cannot express, or a delayed event with values from
        trigger time that needs a compartment's size at execution (names the event).
    """
    where = ev.label
    texts = {var: text_of(where, ast) for var, ast in ev.assignments}
    # the size at execution is not known at trigger time, when the engine evaluates the values
    late = ev.delay is not None and ev.use_values_from_trigger_time
    assignments: Dict[str, str] = {}
    for var, _ in ev.assignments:
        sym = symbols[var]
        if sym.role == "undefined":
            raise _refuse(where, f"an event assignment to the compartment '{var}' without a size")
        if var in amount_names:
            if late:
                raise _refuse(where, "a delayed event with values from trigger time assigning "
                              f"the concentration of '{var}' in the compartment "
                              f"'{sym.compartment}' of varying size")
            assignments[amount_names[var]] = f"(({texts[var]}) * {symbols[sym.compartment].name})"
        elif sym.kind == "species" and not sym.amount and sym.compartment in texts \
                and var in rate_rules:
            continue  # rescaled with its compartment below
        else:
            assignments[sym.name] = texts[var]
    for comp in texts:
        if symbols[comp].kind != "compartment":
            continue
        for sid, sym in symbols.items():
            if sym.kind == "species" and sym.compartment == comp and not sym.amount \
                    and sid in rate_rules:
                if late:
                    raise _refuse(where, "a delayed event with values from trigger time resizing"
                                  f" the compartment '{comp}', which holds the species '{sid}' "
                                  "whose concentration a rate rule determines")
                conc = texts.get(sid, sym.name)
                assignments[sym.name] = (f"(({conc}) * {symbols[comp].name}"
                                         f" / ({texts[comp]}))")
    entry: Dict[str, Any] = {"trigger": _trigger_text(ev.trigger, lambda n: text_of(where, n)),
                             "assignments": assignments}
    if ev.delay is not None:
        entry["delay"] = text_of(where, ev.delay)
    if ev.priority is not None:
        entry["priority"] = text_of(where, ev.priority)
    entry["persistent"] = ev.persistent
    entry["initial_value"] = ev.initial_value
    entry["use_values_from_trigger_time"] = ev.use_values_from_trigger_time
    entry["description"] = f"SBML event {where}"
    return entry


_LOGICAL = {libsbml.AST_LOGICAL_AND: " and ", libsbml.AST_LOGICAL_OR: " or "}
_BOOLEAN = frozenset({libsbml.AST_RELATIONAL_EQ, libsbml.AST_RELATIONAL_NEQ,
                      libsbml.AST_RELATIONAL_LT, libsbml.AST_RELATIONAL_LEQ,
                      libsbml.AST_RELATIONAL_GT, libsbml.AST_RELATIONAL_GEQ,
                      libsbml.AST_LOGICAL_AND, libsbml.AST_LOGICAL_OR, libsbml.AST_LOGICAL_NOT,
                      libsbml.AST_LOGICAL_XOR, libsbml.AST_CONSTANT_TRUE,
                      libsbml.AST_CONSTANT_FALSE})


def _trigger_text(node: Any, text: Callable[[Any], str]) -> str:
    """A trigger as text whose and / or / not combine the relations themselves.

    The general translation writes each operand of a logical operator as ``(x != 0)`` (MathML
    allows numbers there); an operand that is already a relation or a logical value needs no
    such comparison, and leaving it out gives the engine the relations to locate by root
    finding. Anything else is translated as usual.
    """
    kind = node.getType()
    kids = [node.getChild(i) for i in range(node.getNumChildren())]
    if kids and all(k.getType() in _BOOLEAN for k in kids):
        if kind in _LOGICAL:
            return "(" + _LOGICAL[kind].join(_trigger_text(k, text) for k in kids) + ")"
        if kind == libsbml.AST_LOGICAL_NOT and len(kids) == 1:
            return f"(not {_trigger_text(kids[0], text)})"
    return text(node)


def _reads(ast: Any, assignment_rules: Mapping[str, Any], model: "libsbml.Model") -> Set[str]:
    """The SBML ids ``ast`` reads, directly or through assignment rules and reaction rates
    (function bodies have no free variables, so their calls add only their arguments)."""
    out: Set[str] = set()
    stack = [ast]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        if node.getType() == libsbml.AST_NAME and node.getName() not in out:
            name = node.getName()
            out.add(name)
            if name in assignment_rules:
                stack.append(assignment_rules[name])
            rx = model.getReaction(name)
            if rx is not None and rx.isSetKineticLaw():
                stack.append(rx.getKineticLaw().getMath())
        stack.extend(node.getChild(i) for i in range(node.getNumChildren()))
    return out


def _declared_constant(model: "libsbml.Model", sym: Symbol) -> bool:
    """The symbol's ``constant`` attribute (species references of Level 2 have none: False)."""
    if sym.kind == "compartment":
        return bool(model.getCompartment(sym.sbml_id).getConstant())
    if sym.kind == "species":
        return bool(model.getSpecies(sym.sbml_id).getConstant())
    if sym.kind == "parameter":
        return bool(model.getParameter(sym.sbml_id).getConstant())
    ref = model.getSpeciesReference(sym.sbml_id)
    return bool(ref is not None and ref.isSetConstant() and ref.getConstant())


def _references(rx: "libsbml.Reaction") -> List["libsbml.SpeciesReference"]:
    return ([rx.getReactant(j) for j in range(rx.getNumReactants())]
            + [rx.getProduct(j) for j in range(rx.getNumProducts())])


def _flatten_comp(doc: "libsbml.SBMLDocument", element: str) -> "libsbml.SBMLDocument":
    """A hierarchical (comp) model flattened into one plain model by libsbml's own converter
    (submodels instantiated, replacements and deletions applied, external definitions read
    relative to the file); refused if libsbml cannot flatten it."""
    props = libsbml.ConversionProperties()
    props.addOption("flatten comp", True)
    props.addOption("leave_ports", False)
    status = doc.convert(props)
    if status != libsbml.LIBSBML_OPERATION_SUCCESS or doc.getModel() is None:
        errors = [doc.getError(i) for i in range(doc.getNumErrors())
                  if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
        detail = "; ".join(e.getMessage().strip() for e in errors[:3])
        raise _refuse(element, "a hierarchical (comp) model that libsbml cannot flatten"
                      + (f" ({detail})" if detail else ""))
    return doc


def _conversion_factor(model: "libsbml.Model", sid: str, level: int) -> str:
    """The id of the conversion factor of species ``sid`` ('' if none): its own, else the
    model's (SBML Level 3)."""
    if level != 3:
        return ""
    species = model.getSpecies(sid)
    if species.isSetConversionFactor():
        return species.getConversionFactor()
    if model.isSetConversionFactor():
        return model.getConversionFactor()
    return ""


def _has_size(c: "libsbml.Compartment", level: int) -> bool:
    """Whether a compartment's size attribute gives it a size (L2 defaults it to 1 in 1-3 D)."""
    return c.isSetSize() or (level == 2 and c.getSpatialDimensions() != 0)


def _attribute_value(model: "libsbml.Model", sym: Symbol, value: Callable[[str], float],
                     level: int) -> float:
    """The initial value of a symbol without initial assignment or assignment rule."""
    sid = sym.sbml_id
    if sym.kind == "compartment":
        c = model.getCompartment(sid)
        if c.isSetSize():
            return c.getSize()
        if level == 2 and c.getSpatialDimensions() != 0:
            return 1.0  # SBML Level 2: a compartment's size defaults to 1
        raise _refuse(sid, "a compartment without a size")
    if sym.kind == "parameter":
        p = model.getParameter(sid)
        if p.isSetValue():
            return p.getValue()
        raise _refuse(sid, "a parameter without a value")
    if sym.kind == "speciesReference":
        ref = model.getSpeciesReference(sid)
        if ref is not None and (ref.isSetStoichiometry() or level == 2):
            return ref.getStoichiometry()
        raise _refuse(sid, "a species reference without a stoichiometry")
    s = model.getSpecies(sid)
    size = None
    if s.isSetInitialAmount() and s.isSetInitialConcentration():
        raise _refuse(sid, "both initialAmount and initialConcentration")
    if s.isSetInitialAmount():
        if sym.amount:
            return s.getInitialAmount()
        size = value(s.getCompartment())
        if size == 0:
            raise _refuse(sid, "a concentration in a compartment of size 0")
        return s.getInitialAmount() / size
    if s.isSetInitialConcentration():
        if not sym.amount:
            return s.getInitialConcentration()
        return s.getInitialConcentration() * value(s.getCompartment())
    raise _refuse(sid, "a species without an initial value")


def _reaction_ode(model: "libsbml.Model", sym: Symbol,
                  terms: List[Tuple[Optional[str], float, float, int, Any]],
                  text_of: Callable[[str, Any], str],
                  symbols: Mapping[str, Symbol], rx_names: Mapping[str, str],
                  values: Mapping[str, float], level: int, divide: bool = True) -> str:
    """The ODE of a species changed by reactions: sum of ±stoichiometry·rate, over the
    compartment size for a concentration, times the conversion factor if there is one."""
    sid = sym.sbml_id
    parts = []
    for ref_id, sign, number, r, stoich_math in terms:
        rx = model.getReaction(r)
        rate = rx_names[rx.getId()]
        if stoich_math is not None:
            # L2 stoichiometryMath: the stoichiometry is an expression, evaluated at every time
            stoich = text_of(ref_id or f"{rx.getId()}/{sid}", stoich_math)
        elif ref_id:
            stoich = symbols[ref_id].name
        else:
            if not math.isfinite(number):
                raise _refuse(f"{rx.getId()}/{sid}", "a non-finite stoichiometry")
            stoich = repr(number)
        term = f"{stoich} * {rate}"
        parts.append(f"+ ({term})" if sign > 0 else f"- ({term})")
    text = " ".join(parts)
    text = text[2:] if text.startswith("+ ") else "0 " + text
    factor = _conversion_factor(model, sid, level)
    if factor:
        if factor not in symbols:
            raise _refuse(sid, f"the unknown conversion factor '{factor}'")
        text = f"({text}) * {symbols[factor].name}"
    if not sym.amount and divide:
        comp = symbols[sym.compartment]
        if comp.role == "undefined":
            raise _refuse(sid, f"a concentration in the compartment '{comp.sbml_id}' without a size")
        if values[sym.compartment] == 0:
            raise _refuse(sid, "a concentration in a compartment of size 0")
        text = f"({text}) / {comp.name}"
    return text

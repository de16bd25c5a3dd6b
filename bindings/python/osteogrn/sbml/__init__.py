"""SBML import: Level 2/3 models as ordinary osteogrn models.

:func:`import_sbml` reads an SBML file (or XML text) with python-libsbml, translates it into an
``osteogrn-model/1`` document and loads it: the result is a :class:`~osteogrn.Model` like any
other (compiled tapes, Jacobians, sensitivities, batch, fitting). :func:`translate_sbml` returns
the document and the map from SBML ids to model names, for tools that report values by SBML id
(the test-suite runner). What the translation cannot reproduce exactly is refused at import with
:class:`~osteogrn.errors.UnsupportedSBMLError` naming the SBML element and the feature.

python-libsbml is an optional dependency (``pip install python-libsbml``); importing this
subpackage without it raises ImportError saying so.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional, Union

try:
    import libsbml  # noqa: F401  (checked here so the message names the missing package)
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("osteogrn.sbml needs python-libsbml: pip install python-libsbml") from exc

from .._sbml_ids import symbol_entry
from ..model import Model
from ._import import RESERVED, Symbol, Translation, translate_sbml

__all__ = ["import_sbml", "translate_sbml", "symbol_map", "Translation", "Symbol", "RESERVED"]


def import_sbml(path_or_text: Union[str, "os.PathLike[str]"],
                inputs: Optional[Mapping[str, str]] = None,
                name: Optional[str] = None) -> Model:
    """Imports an SBML Level 2/3 model.

    Parameters
    ----------
    path_or_text : str or path-like
        An SBML file, or SBML XML text (recognised by a leading ``<``).
    inputs : mapping, optional
        Protocol component name -> SBML id of a constant parameter or boundary species that the
        protocol drives (it becomes a model input of that name; its SBML value is the default),
        or -> a pair (SBML id, unit), the unit protocol concentrations convert to (default
        ``""``: no conversion; SBML unit definitions are not read).
    name : str, optional
        The model's name (default: the SBML model id).

    Returns
    -------
    Model
        Species are the SBML species (their concentration, or their amount when
        ``hasOnlySubstanceUnits``) and the symbols changed by rate rules; parameters are the
        constant compartments and parameters and the reactions' local parameters (renamed
        ``<reaction>_<parameter>``); assignment rules and reaction rates are named expressions;
        each assignment-rule variable is also an observable ``<id>_value``, and each reaction's
        rate an observable ``<reaction id>_rate``. An SBML id that is
        a reserved word of the expression language gets a trailing ``_``.
        ``Model.sbml_symbols`` keeps the map from SBML ids to these, so that results answer
        ``res[sbml_id]`` (the value the SBML symbol means), ``res.amount(sbml_id)`` and
        ``res.concentration(sbml_id)`` for every compartment, species, parameter, species
        reference and reaction id (docs/sbml.md, "Results by SBML id").

    Raises
    ------
    UnsupportedSBMLError
        The model uses a feature the import does not support (algebraic rules, fast
        reactions, delay, rateOf, varying compartments, functions the expression grammar lacks
        such as trigonometry, ...); names the SBML element and the feature.
    ModelError
        An unreadable SBML document or a bad ``inputs`` mapping.

    Examples
    --------
    >>> model = og.import_sbml("decay.xml")            # doctest: +SKIP
    >>> res = og.simulate(model, t=[0, 1, 2])            # doctest: +SKIP
    """
    translation = translate_sbml(path_or_text, inputs=inputs, name=name)
    model = Model.from_json(translation.document, source=str(path_or_text)[:200]
                            if not str(path_or_text).lstrip().startswith("<") else "<sbml>")
    return Model(model._core, sbml=symbol_map(translation))


def symbol_map(translation: Translation) -> Dict[str, Dict[str, Any]]:
    """SBML id -> where its value lives in a simulation (the map ``res[sbml_id]`` reads; see
    :attr:`osteogrn.Model.sbml_symbols`): every compartment, species, parameter and species
    reference of ``translation``, and every reaction (its rate)."""
    out: Dict[str, Dict[str, Any]] = {}
    for sid, sym in translation.symbols.items():
        # role "undefined" (a compartment without a size) keeps no column and no parameter:
        # resolve() reports it as unavailable
        out[sid] = symbol_entry(sym.kind, sym.name, sym.column, sym.compartment, sym.amount)
    for rid, column in translation.reactions.items():
        out.setdefault(rid, symbol_entry("reaction", column, column))
    # a constant behind an initial value held as a number (not an initial expression):
    # changing it (with_parameters, a batch, a fit, a sensitivity) is refused, since the
    # initial values would not follow
    for sid, states in translation.initial_dependencies.items():
        out[sid]["initial_of"] = sorted(states)
    return out

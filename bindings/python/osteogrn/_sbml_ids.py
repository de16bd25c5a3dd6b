"""Values by SBML id: how a model imported from SBML reports what each SBML symbol means.

An imported model keeps, for every SBML compartment, species, parameter, species reference and
reaction id, where its value lives in a simulation (:func:`osteogrn.import_sbml` builds the map
from the translation). A simulation resolves that map against the model and protocol it ran
with (:func:`resolve`): each id then names a result column, or holds a constant value, or says
why it has no value. :class:`~osteogrn.Result` and :class:`~osteogrn.BatchResult` answer
``res[sbml_id]`` from the resolved map.

No libsbml here: a result or a pickled model must load where python-libsbml is not installed.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

import numpy as np

__all__ = ["symbol_entry", "resolve"]

#: Fields of one entry of a model's map (plain values, so the map pickles and goes into JSON).
#: kind: compartment, species, parameter, speciesReference or reaction; name: the osteogrn
#: name (a parameter name for a constant); column: the result column holding the value over
#: time ('' for a constant); compartment and amount: for species, the SBML id of the
#: compartment and whether the symbol means an amount (hasOnlySubstanceUnits).
FIELDS = ("kind", "name", "column", "compartment", "amount")


def symbol_entry(kind: str, name: str, column: str = "", compartment: str = "",
                 amount: bool = False) -> Dict[str, Any]:
    """One entry of a model's SBML map."""
    return {"kind": str(kind), "name": str(name), "column": str(column),
            "compartment": str(compartment), "amount": bool(amount)}


def check_free_parameters(model: Any, names: Any, what: str,
                          values: Optional[Mapping[str, Any]] = None) -> None:
    """ModelError if one of the parameter ``names`` of an SBML-imported model is a constant that
    initial values held as numbers were computed from at import (what an initial expression
    cannot hold, docs/sbml.md; the map's ``initial_of``): a changed value, a sensitivity or a
    fitted value would silently leave them behind. Constants named by initial expressions are
    free and never listed.

    ``values`` (name -> new value, or an array of them): only names whose value differs from
    the model's current one count; a name the model does not hold by that name (an SBML id)
    always counts. Nothing is computed for a model that did not come from SBML."""
    sbml = getattr(model, "_sbml", None)
    if not sbml:
        return
    if values is not None:
        current = model.parameters
        names = [n for n in names if n not in current or np.any(np.asarray(values[n]) != current[n])]
    wanted = {str(n) for n in names}
    for sid, entry in sbml.items():
        states = entry.get("initial_of")
        if states and (entry.get("name") in wanted or sid in wanted):
            from .errors import ModelError
            raise ModelError(
                f"{what}: parameter '{entry['name']}' (SBML {entry.get('kind', 'symbol')} "
                f"'{sid}') sets the initial value of {', '.join(map(repr, states[:5]))}"
                f"{' ...' if len(states) > 5 else ''} through SBML initial assignments that "
                "the import evaluates once (an initial expression cannot hold them, see "
                "docs/sbml.md): the initial values would not follow a new value. Change the "
                "SBML model (or import it with the value you want)",
                pointer=f"/parameters/{entry['name']}")


def _parameter_targets(model: Any, protocol: Any) -> Dict[str, str]:
    """Parameter name -> who perturbs it (the model's own overlays, the protocol's
    perturbations): a constant under a perturbation window is not constant."""
    out: Dict[str, str] = {}
    for p in model._core.overlays:
        if p.get("kind") == "parameter":
            out[str(p["target"])] = "a perturbation of the model"
    if protocol is not None:
        for p in protocol.perturbations:
            if p.get("kind") == "parameter":
                out[str(p["target"])] = f"a perturbation of protocol '{protocol.name}'"
    return out


def resolve(model: Any, protocol: Any = None,
            sbml: Optional[Mapping[str, Mapping[str, Any]]] = None) -> Dict[str, Dict[str, Any]]:
    """The map of ``model`` (an imported model's ``sbml_symbols``) resolved for one run.

    Parameters
    ----------
    model : Model
        The model as simulated (its current parameter values).
    protocol : Protocol, optional
        The protocol it ran under (its parameter perturbations make a constant vary).
    sbml : mapping, optional
        The map (default ``model.sbml_symbols``).

    Returns
    -------
    dict
        SBML id -> the entry with, in addition, exactly one of ``column`` (non-empty: the
        result column), ``value`` (a constant's value in this run) or ``unavailable`` (why the
        symbol has no value, e.g. a compartment without a size). Empty for a model not
        imported from SBML.
    """
    # the model's own map, read only (sbml_symbols would copy it on every simulation)
    sbml = model._sbml if sbml is None else sbml
    if not sbml:
        return {}
    parameters = model.parameters
    perturbed = _parameter_targets(model, protocol)
    out: Dict[str, Dict[str, Any]] = {}
    for sid, entry in sbml.items():
        e = dict(entry)
        if not e.get("column"):
            name = e.get("name", "")
            if name in perturbed:
                e["unavailable"] = (f"its parameter '{name}' is changed by {perturbed[name]}, "
                                    "so it is not a constant; read the parameter's windows "
                                    "from the protocol")
            elif name in parameters:
                e["value"] = float(parameters[name])
            else:
                e["unavailable"] = (f"the SBML {e.get('kind', 'symbol')} has no value in the "
                                    "model (e.g. a compartment without a size)")
        out[str(sid)] = e
    return out

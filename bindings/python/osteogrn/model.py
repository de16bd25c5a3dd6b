"""The Model class: what the cells are (species, parameters, inputs, ODEs, observables)."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import numpy as np

from . import _core
from ._sbml_ids import check_free_parameters
from ._text import checks_text
from .errors import ModelError

if TYPE_CHECKING:  # pandas is imported only when a table is asked for
    import pandas as pd

__all__ = ["Model"]


def _as_text(text_or_dict: Union[str, bytes, Mapping[str, Any]]) -> str:
    if isinstance(text_or_dict, Mapping):
        return json.dumps(text_or_dict)
    if isinstance(text_or_dict, bytes):
        return text_or_dict.decode("utf-8", errors="replace")
    return str(text_or_dict)


class Model:
    """A compiled osteogrn-model/1 model.

    Immutable: :meth:`with_parameters` and :meth:`knockout` return new models
    that share the compiled code. Safe to simulate from several threads.
    Create with :func:`osteogrn.load_model`, :meth:`from_file` or
    :meth:`from_json`.

    Examples
    --------
    >>> model = og.load_model("osteogenic")              # doctest: +SKIP
    >>> slow = model.with_parameters(d_runx2=0.8)         # doctest: +SKIP
    """

    __slots__ = ("_core", "_parameter_set", "_sbml")

    def __init__(self, core: "_core.Model", parameter_set: Optional[str] = None,
                 sbml: Optional[Mapping[str, Mapping[str, Any]]] = None) -> None:
        if not isinstance(core, _core.Model):
            raise TypeError("use osteogrn.load_model, Model.from_file or Model.from_json")
        self._core = core
        self._parameter_set = parameter_set
        # SBML id -> where its value lives (osteogrn._sbml_ids); empty unless imported from SBML
        self._sbml: Dict[str, Dict[str, Any]] = {str(k): dict(v) for k, v in (sbml or {}).items()}

    # -- construction ---------------------------------------------------------------
    @classmethod
    @checks_text(ModelError)
    def from_file(cls, path: Union[str, "os.PathLike[str]"],
                  search_paths: Sequence[str] = ()) -> "Model":
        """Loads a model file and its imports.

        Parameters
        ----------
        path : str or path-like
            An ``osteogrn-model/1`` JSON file.
        search_paths : sequence of str, optional
            Folders searched for imports after the file's own directory.

        Returns
        -------
        Model
        """
        return cls(_core.Model.from_file(os.fspath(path), [str(p) for p in search_paths]))

    @classmethod
    @checks_text(ModelError)
    def from_json(cls, text: Union[str, bytes, Mapping[str, Any]], source: str = "<string>",
                  search_paths: Sequence[str] = ()) -> "Model":
        """Builds a model from JSON text (or an already parsed dict).

        Parameters
        ----------
        text : str, bytes or dict
            The model in ``osteogrn-model/1`` format.
        source : str, optional
            Names the text in error messages.
        search_paths : sequence of str, optional
            Folders searched for imports. By default the built-in models.

        Returns
        -------
        Model
        """
        if not search_paths:
            from .library import models_dir
            search_paths = [str(models_dir())]
        return cls(_core.Model.from_json(_as_text(text), source, [str(p) for p in search_paths]))

    # -- description ----------------------------------------------------------------
    @property
    def name(self) -> str:
        """The model's name."""
        return self._core.name

    @property
    def parameter_set(self) -> Optional[str]:
        """Name of the parameter set applied to this model (see
        :func:`osteogrn.load_parameter_set`), or None: the module files' own values. Kept by
        :meth:`with_parameters` and :meth:`knockout`."""
        return self._parameter_set

    @property
    def sbml_symbols(self) -> Dict[str, Dict[str, Any]]:
        """For a model imported from SBML: SBML id -> where the symbol's value lives (``kind``,
        ``name``, ``column``, ``compartment``, ``amount``; see :mod:`osteogrn._sbml_ids`), for
        every compartment, species, parameter, species reference and reaction id. Results
        answer ``res[sbml_id]`` with it. Empty for other models; kept by
        :meth:`with_parameters`, :meth:`knockout` and pickling."""
        return {k: dict(v) for k, v in self._sbml.items()}

    @property
    def description(self) -> str:
        """One-line description from the file."""
        return self._core.description

    @property
    def time_unit(self) -> str:
        """Unit of time (``"day"``)."""
        return self._core.time_unit

    @property
    def modules(self) -> List[str]:
        """Names of the modules composed into this model, the model itself last."""
        return list(self._core.modules)

    @property
    def references(self) -> Dict[str, str]:
        """Literature references of all modules (key -> citation)."""
        return dict(self._core.references)

    @property
    def species(self) -> List[str]:
        """Species (state) names, in state-vector order."""
        return [s["name"] for s in self._core.species]

    @property
    def initial_values(self) -> Dict[str, float]:
        """Initial value of each species at the current parameter values (a species whose
        ``initial`` is an expression is evaluated with :attr:`parameters`)."""
        return dict(zip(self.species, self._core.initial_state()))

    @property
    def initial_expressions(self) -> Dict[str, str]:
        """Species whose initial value is an expression (name -> expression text)."""
        return {s["name"]: s["initial_expression"] for s in self._core.species
                if s["initial_expression"]}

    @property
    def parameters(self) -> Dict[str, float]:
        """Current parameter values (name -> value), in parameter-vector order.

        See :meth:`parameter_table` for units, bounds and sources.
        """
        return {p["name"]: p["value"] for p in self._core.parameters}

    @property
    def inputs(self) -> List[str]:
        """Inputs driven by the protocol (or their defaults), in input order."""
        return [u["name"] for u in self._core.inputs]

    @property
    def observables(self) -> List[str]:
        """Observable names."""
        return [o["name"] for o in self._core.observables]

    @property
    def events(self) -> List[Dict[str, Any]]:
        """The model's events (docs/formats/model.md#events), in file order: each a dict with
        ``name``, ``trigger``, ``assignments`` (species -> expression), ``delay`` and
        ``priority`` ('' when absent), ``persistent``, ``initial_value``,
        ``use_values_from_trigger_time``, ``description`` and ``module``."""
        return list(self._core.events)

    @property
    def expressions(self) -> Dict[str, str]:
        """Named expressions (name -> text), in dependency order."""
        return {e["name"]: e["text"] for e in self._core.expressions}

    @property
    def knockouts(self) -> List[str]:
        """Species knocked out by :meth:`knockout` (held at 0 in every simulation)."""
        return [p["target"] for p in self._core.overlays if p["kind"] == "knockout"]

    def _table(self, rows: Iterable[Dict[str, Any]]) -> "pd.DataFrame":
        import pandas as pd
        frame = pd.DataFrame(list(rows))
        return frame.set_index("name") if "name" in frame.columns else frame

    def species_table(self) -> "pd.DataFrame":
        """Species with initial value, initial expression, unit, description and module.

        Returns
        -------
        pandas.DataFrame
            Indexed by species name. ``initial`` is the value at the file's parameter values,
            ``initial_expression`` the expression it comes from ('' for a number).
        """
        return self._table(self._core.species)

    def parameter_table(self) -> "pd.DataFrame":
        """Parameters with current value, file value, unit, bounds and source.

        Returns
        -------
        pandas.DataFrame
            Indexed by parameter name; ``max`` is None when unbounded.
        """
        return self._table(self._core.parameters)

    def input_table(self) -> "pd.DataFrame":
        """Inputs with default, unit, description and module (a DataFrame by name)."""
        return self._table(self._core.inputs)

    def observable_table(self) -> "pd.DataFrame":
        """Observables with expression, unit, description and module (a DataFrame by name)."""
        return self._table(self._core.observables)

    # -- edits (new models) ---------------------------------------------------------
    @checks_text(ModelError)
    def with_parameters(self, values: Optional[Mapping[str, float]] = None,
                        **kwargs: float) -> "Model":
        """A new model with some parameter values changed.

        Parameters
        ----------
        values : mapping, optional
            name -> value (for names that are not Python identifiers).
        **kwargs : float
            name=value.

        Returns
        -------
        Model

        Raises
        ------
        ModelError
            Unknown name, non-finite value, a value outside [min, max], or a species initial
            expression that is not finite at the new values (pointer
            ``/species/<name>/initial``).
        """
        merged: Dict[str, Any] = dict(values or {})
        merged.update(kwargs)
        numbers: Dict[str, float] = {}
        for key, value in merged.items():
            try:
                numbers[str(key)] = float(value)
            except (TypeError, ValueError):
                raise ModelError(f"parameter '{key}': value {value!r} is not a number",
                                 pointer=f"/parameters/{key}") from None
        check_free_parameters(self, list(numbers), "with_parameters", numbers)
        return Model(self._core.with_parameters(numbers), self._parameter_set, self._sbml)

    @checks_text(ModelError)
    def knockout(self, species: str) -> "Model":
        """A new model whose every simulation holds ``species`` at 0.

        Parameters
        ----------
        species : str
            A species name.

        Returns
        -------
        Model

        Raises
        ------
        ModelError
            If the model has no such species.
        """
        return Model(self._core.knockout(str(species)), self._parameter_set, self._sbml)

    # -- evaluation -----------------------------------------------------------------
    def _u(self, u: Optional[Sequence[float]]) -> List[float]:
        if u is None:
            return [v["default"] for v in self._core.inputs]
        return [float(x) for x in np.asarray(u, dtype=float).ravel()]

    def rhs(self, t: float, y: Sequence[float], u: Optional[Sequence[float]] = None) -> np.ndarray:
        """dy/dt at time t, state y and inputs u (default: the inputs' defaults).

        The model's overlays (:meth:`knockout`, and perturbations written in the model file)
        that hold at ``t`` apply as in :func:`osteogrn.simulate`: a knocked-out or clamped
        species takes its held value whatever ``y`` says, and its derivative is 0; parameter
        overrides replace or scale the parameter.

        Parameters
        ----------
        t : float
            Time (days).
        y : array_like
            One value per species.
        u : array_like, optional
            One value per input.

        Returns
        -------
        numpy.ndarray
            One derivative per species.
        """
        return self._core.rhs(float(t), list(np.asarray(y, dtype=float).ravel()), self._u(u))

    def jacobian(self, t: float, y: Sequence[float],
                 u: Optional[Sequence[float]] = None) -> np.ndarray:
        """The analytic Jacobian d(dy/dt)/dy of :meth:`rhs`, shape (n_species, n_species).

        Rows and columns of species held by an overlay at ``t`` are 0.
        """
        return self._core.jacobian(float(t), list(np.asarray(y, dtype=float).ravel()), self._u(u))

    def parameter_jacobian(self, t: float, y: Sequence[float],
                           u: Optional[Sequence[float]] = None) -> np.ndarray:
        """d(dy/dt)/dp of :meth:`rhs`, shape (n_species, n_parameters).

        The derivative is taken with respect to the model's parameter values (what
        :meth:`with_parameters` sets), through the overlays active at ``t``: 0 for a
        parameter under a value override, scaled under a scale override.
        """
        return self._core.parameter_jacobian(float(t), list(np.asarray(y, dtype=float).ravel()),
                                             self._u(u))

    def observe(self, t: float, y: Sequence[float],
                u: Optional[Sequence[float]] = None) -> np.ndarray:
        """Observable values at (t, y, u), one per observable (overlays applied as in
        :meth:`rhs`)."""
        return self._core.observe(float(t), list(np.asarray(y, dtype=float).ravel()), self._u(u))

    def initial_state(self) -> np.ndarray:
        """Initial species values at the current parameter values, as an array (state-vector
        order)."""
        return np.asarray(self._core.initial_state(), dtype=float)

    def initial_state_jacobian(self) -> np.ndarray:
        """d :meth:`initial_state` / d parameters at the current parameter values.

        Returns
        -------
        numpy.ndarray
            Shape (n_species, n_parameters), columns in :attr:`parameters` order; total
            derivatives through the species an initial expression names; all zero when every
            initial value is a number.
        """
        return np.asarray(self._core.initial_state_jacobian(), dtype=float)

    # -- serialisation --------------------------------------------------------------
    def to_json(self) -> str:
        """Self-contained ``osteogrn-model/1`` JSON (imports flattened, current values,
        knockouts). ``Model.from_json(m.to_json())`` simulates identically."""
        return self._core.to_json()

    def to_sbml(self, path: Union[None, str, "os.PathLike[str]"] = None,
                protocol: Any = None, *, protocols: Any = None) -> str:
        """The model as SBML Level 3 Version 2 (needs python-libsbml).

        Species become SBML species (amounts in one compartment of size 1) with rate rules
        equal to their ODEs; named expressions and observables become parameters with
        assignment rules; inputs become parameters. With a protocol, its media changes,
        additions, decay and perturbation windows become SBML events and rules, so that
        another SBML tool reproduces ``og.simulate(model, protocol)``; knockouts and other
        model overlays are exported the same way. See ``docs/sbml.md`` (Export).

        Parameters
        ----------
        path : str or path-like, optional
            Also write the text to this file.
        protocol : Protocol or str, optional
            The protocol to write as events, or a built-in name / path passed to
            :func:`osteogrn.load_protocol` (default: none; inputs keep their defaults and an
            annotation lets :func:`osteogrn.import_sbml` restore them as inputs).
        protocols : mapping, optional
            Condition name -> Protocol: several protocols in one document, each condition's
            events gated by a constant parameter ``condition_<name>`` that is 1 in it and 0
            otherwise (the first condition's is 1 in the document); how PEtab export writes
            one condition per protocol. Not with ``protocol``.

        Returns
        -------
        str
            The SBML text.

        Raises
        ------
        ModelError
            Something that has no exact SBML form.
        ProtocolError
            The protocol does not bind to the model (as in ``og.simulate``).
        """
        from .sbml._export import to_sbml  # libsbml is optional: imported on use

        return to_sbml(self, path=path, protocol=protocol, protocols=protocols)

    def __reduce__(self):  # pickle through JSON: the compiled tapes are rebuilt on load
        return (_model_from_json, (self.to_json(), self._parameter_set, self._sbml))

    def __repr__(self) -> str:
        pset = f", parameter set '{self._parameter_set}'" if self._parameter_set else ""
        return (f"<osteogrn.Model '{self.name}'{pset}: {len(self._core.species)} species, "
                f"{len(self._core.parameters)} parameters, {len(self._core.inputs)} inputs, "
                f"{len(self._core.observables)} observables>")


def _model_from_json(text: str, parameter_set: Optional[str] = None,
                     sbml: Optional[Mapping[str, Mapping[str, Any]]] = None) -> Model:
    return Model(Model.from_json(text, source="<pickle>")._core, parameter_set, sbml)

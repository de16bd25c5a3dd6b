"""PEtab problems in and out (https://petab.readthedocs.io): the ``petab`` extra.

:class:`Problem` reads a PEtab v1 problem with the ``petab`` library (its SBML model through
:func:`osteogrn.import_sbml`'s translation) and evaluates the PEtab log-likelihood, its gradient
from forward sensitivities, and least-squares residuals; :func:`osteogrn.fit` fits it (see
docs/petab.md). :func:`export` writes an osteogrn fit as a PEtab problem (docs/petab_export.md).

The ``petab`` package is an optional dependency (``pip install osteogrn[petab]``);
:meth:`Problem.from_yaml` without it raises ImportError saying so.
"""

from ..errors import PetabError
from ._export import PetabExportError, export
from ._problem import PETAB_SOLVER_DEFAULTS, Problem

__all__ = ["Problem", "PetabError", "PETAB_SOLVER_DEFAULTS", "export", "PetabExportError"]

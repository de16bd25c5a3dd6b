"""PEtab: parameter-estimation problems in the format of the field (https://petab.readthedocs.io).

:class:`Problem` reads a PEtab v1 problem with the ``petab`` library (its SBML model through
:func:`osteogrn.import_sbml`'s translation) and evaluates the PEtab log-likelihood, its gradient
from forward sensitivities, and least-squares residuals; :func:`osteogrn.fit` fits it. See
docs/petab.md.

The ``petab`` package is an optional dependency (``pip install osteogrn[petab]``); importing this
subpackage without it raises ImportError saying so.
"""

from __future__ import annotations

try:
    import petab.v1  # noqa: F401  (checked here so the message names the missing package)
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("osteogrn.petab needs the petab package: pip install 'petab>=0.5'") from exc

from ..errors import PetabError
from ._problem import PETAB_SOLVER_DEFAULTS, Problem

__all__ = ["Problem", "PetabError", "PETAB_SOLVER_DEFAULTS"]

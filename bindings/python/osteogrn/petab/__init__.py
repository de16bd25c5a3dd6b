"""PEtab problems in and out (https://petab.readthedocs.io): the ``petab`` extra."""

from ._export import PetabExportError, export

__all__ = ["export", "PetabExportError"]

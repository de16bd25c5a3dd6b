"""Protocol design: sweeps over doses and schedules, readouts, dose-response fits.

Public names are exported here and from the top-level package (``og.sweep``,
``og.dose_response``, ``og.Readout``).
"""

from __future__ import annotations

from .dose_response import DoseResponse, dose_response
from .readouts import Readout
from .sweep import sweep
from .uncertainty import compare, predict

__all__ = ["predict", "compare", "Readout", "sweep", "dose_response", "DoseResponse"]

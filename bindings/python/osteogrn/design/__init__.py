"""Protocol design: sweeps over doses and schedules, readouts, dose-response fits,
optimisation under constraints, predictions with uncertainty.

Public names are exported here and from the top-level package (``og.sweep``,
``og.dose_response``, ``og.Readout``, ``og.optimize_protocol``, ``og.predict``,
``og.compare``).
"""

from __future__ import annotations

from .dose_response import DoseResponse, dose_response
from .readouts import Readout
from .sweep import sweep
from .optimize import ProtocolOptimization, optimize_protocol
from .uncertainty import compare, predict

__all__ = ["predict", "compare", "Readout", "sweep", "dose_response", "DoseResponse",
           "optimize_protocol", "ProtocolOptimization"]

"""Fitting models to marker data: tidy data, observation models, multi-start least squares,
profile likelihood (``og.fit``)."""

from __future__ import annotations

from .data import DataError, FitData, simulate_data
from .fit import fit
from .observation import Observation
from .result import FitResult

__all__ = ["fit", "FitResult", "FitData", "DataError", "Observation", "simulate_data"]

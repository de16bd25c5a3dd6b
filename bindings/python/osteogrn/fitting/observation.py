"""Observation models: how a model output becomes an assay reading.

``prediction = scale * h + offset`` where ``h`` is the model output, or its
fold change relative to day 0 of the same condition or to a reference
condition at the same day (qPCR ΔΔCt style). Noise is additive Gaussian
(``residual = (prediction - value) / sigma``) or log-normal
(``residual = (ln prediction - ln value) / sigma``, sigma the SD of ln value).
Rows of the data table with ``reference_condition``/``reference_time`` are
ratios and take no scale or offset (see :class:`~osteogrn.FitData`); sigma is
the row's, the Observation's, or estimated (see docs/api/fitting.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from ..errors import OptionError

__all__ = ["Observation"]

_MODES = ("estimate", "analytic")
_NOISE = ("additive", "lognormal")


@dataclass(frozen=True)
class Observation:
    """The observation model of one observable.

    Parameters
    ----------
    scale : None, float, "estimate" or "analytic"
        None: 1. A number: fixed. "estimate": an extra fit parameter
        ``scale_<observable>`` within ``scale_bounds``. "analytic": solved in
        closed form for the optimum at every objective evaluation
        (hierarchical optimisation as in pyPESTO).
    offset : None, float, "estimate" or "analytic"
        Same for an additive offset (default 0). "analytic" needs additive noise.
    fold_change : None, "day0" or a condition name
        None: h is the output itself. "day0": ``h = x(t) / x(0)`` in the same
        condition. A condition name: ``h = x(t, condition) / x(t, reference)``.
    noise : "additive" or "lognormal"
    sigma : None, float or "estimate"
        Noise SD for rows without a ``sigma`` value. A number: that SD.
        "estimate": an extra fit parameter ``sigma_<observable>`` (one per
        observable and data ``group``). None (default): "estimate", with a
        :class:`~osteogrn.FitWarning` from :func:`osteogrn.fit` naming the
        observables whose noise had to be estimated. Rows with a ``sigma``
        value always keep it.
    scale_bounds, offset_bounds, sigma_bounds : (float, float), optional
        Bounds of estimated scale/offset/sigma parameters. None (default):
        derived from the data and the model (docs/api/fitting.md): scale
        ``[1e-3, 1e3] x max|data| / max|model|``; offset ``[-2, 2] x max|data|``
        under additive noise and
        ``[1e-3 x min(data), max(data)]`` under log-normal noise (so that a
        log-normal prediction is never negative); sigma ``[1e-3, 10] x`` the
        root mean square of the data (additive) or ``[1e-3, 10 x max(SD of
        ln data, 0.3)]`` (log-normal).
    """

    scale: Union[None, float, str] = None
    offset: Union[None, float, str] = None
    fold_change: Optional[str] = None
    noise: str = "additive"
    sigma: Union[None, float, str] = None
    scale_bounds: Optional[Tuple[float, float]] = None
    offset_bounds: Optional[Tuple[float, float]] = None
    sigma_bounds: Optional[Tuple[float, float]] = None

    def __post_init__(self) -> None:
        for name in ("scale", "offset"):
            v = getattr(self, name)
            if v is None or v in _MODES:
                continue
            try:
                float(v)
            except (TypeError, ValueError):
                raise OptionError(f"Observation.{name} must be None, a number, 'estimate' or "
                                  f"'analytic', got {v!r}") from None
        if self.noise not in _NOISE:
            raise OptionError(f"Observation.noise must be 'additive' or 'lognormal', got "
                              f"{self.noise!r}")
        if self.noise == "lognormal" and self.offset == "analytic":
            raise OptionError("Observation: an analytic offset needs additive noise (no closed "
                              "form under log-normal noise); use offset='estimate'")
        if self.noise == "lognormal" and self.scale == "analytic" and self.offset not in (None, 0,
                                                                                         0.0):
            raise OptionError("Observation: an analytic scale under log-normal noise needs "
                              "offset None/0")
        if self.sigma is not None and self.sigma != "estimate":
            try:
                ok = float(self.sigma) > 0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise OptionError(f"Observation.sigma must be > 0, None or 'estimate', got "
                                  f"{self.sigma!r}")
        for field, positive in (("scale_bounds", True), ("offset_bounds", False),
                                ("sigma_bounds", True)):
            b = getattr(self, field)
            if b is None:
                continue
            try:
                lo, hi = (float(v) for v in b)
            except (TypeError, ValueError):
                raise OptionError(f"Observation.{field} must be (lo, hi), got {b!r}") from None
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi and
                    (lo > 0 or not positive)):
                need = "0 < lo < hi" if positive else "lo < hi"
                raise OptionError(f"Observation.{field} must be finite with {need}, got {b!r}")

    # -- convenience constructors ------------------------------------------------------
    @classmethod
    def identity(cls, noise: str = "additive", sigma: Union[None, float, str] = None
                 ) -> "Observation":
        """The output itself."""
        return cls(noise=noise, sigma=sigma)

    @classmethod
    def scaled(cls, scale: Union[float, str] = "analytic", offset: Union[None, float, str] = None,
               noise: str = "additive", sigma: Union[None, float, str] = None
               ) -> "Observation":
        """An arbitrary-unit assay: ``scale * x + offset``."""
        return cls(scale=scale, offset=offset, noise=noise, sigma=sigma)

    @classmethod
    def fold(cls, reference: str = "day0", noise: str = "lognormal",
             sigma: Union[None, float, str] = None, scale: Union[None, float, str] = None
             ) -> "Observation":
        """A fold change relative to day 0 or to a reference condition."""
        return cls(fold_change=reference, noise=noise, sigma=sigma, scale=scale)

    @property
    def sigma_mode(self) -> str:
        """"fixed" (a number) or "estimate" (explicitly or by default)."""
        return "estimate" if self.sigma is None or self.sigma == "estimate" else "fixed"

    def mode(self, which: str) -> str:
        """"none", "fixed", "estimate" or "analytic" for "scale"/"offset"."""
        v = getattr(self, which)
        if v is None:
            return "none"
        if isinstance(v, str) and v in _MODES:
            return v
        return "fixed"

    def fixed_value(self, which: str) -> float:
        v = getattr(self, which)
        if v is None or (isinstance(v, str) and v in _MODES):
            return 1.0 if which == "scale" else 0.0
        return float(v)


_STRINGS = {
    "identity": Observation(),
    "scale": Observation(scale="analytic"),
    "scale_offset": Observation(scale="analytic", offset="analytic"),
    "fold_change": Observation(fold_change="day0", noise="lognormal"),
    "lognormal": Observation(noise="lognormal"),
}


def resolve_observations(spec: Any, observables: list) -> Dict[str, Observation]:
    """One Observation per observable from None, an Observation, a string or a mapping."""
    def one(v: Any, where: str) -> Observation:
        if v is None:
            return Observation()
        if isinstance(v, Observation):
            return v
        if isinstance(v, str) and v in _STRINGS:
            return _STRINGS[v]
        if isinstance(v, Mapping):
            try:
                return Observation(**dict(v))
            except TypeError as e:
                raise OptionError(f"observations{where}: {e}") from None
        raise OptionError(f"observations{where} must be an og.Observation, a mapping of its "
                          f"fields or one of {', '.join(_STRINGS)}; got {v!r}")

    if spec is None or isinstance(spec, (Observation, str)):
        o = one(spec, "")
        return {name: o for name in observables}
    if not isinstance(spec, Mapping):
        raise OptionError(f"observations must be an Observation, a string or a mapping "
                          f"observable -> Observation, got {type(spec).__name__}")
    unknown = [k for k in spec if k not in observables]
    if unknown:
        raise OptionError(f"observations names {unknown[0]!r}, which is not an observable in "
                          f"the data ({', '.join(observables)})")
    return {name: one(spec.get(name), f"[{name!r}]") for name in observables}


"""Observation models: how a model output becomes an assay reading.

``prediction = scale * h + offset`` where ``h`` is the model output, or its
fold change relative to day 0 of the same condition or to a reference
condition at the same day (qPCR ΔΔCt style). Noise is additive Gaussian
(``residual = (prediction - value) / sigma``) or log-normal
(``residual = (ln prediction - ln value) / sigma``, sigma the SD of ln value).
"""

from __future__ import annotations

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
    sigma : float, optional
        Noise SD for rows without a ``sigma`` value (default 1).
    scale_bounds, offset_bounds : (float, float)
        Bounds of estimated scale/offset parameters.
    """

    scale: Union[None, float, str] = None
    offset: Union[None, float, str] = None
    fold_change: Optional[str] = None
    noise: str = "additive"
    sigma: Optional[float] = None
    scale_bounds: Tuple[float, float] = (1e-3, 1e3)
    offset_bounds: Tuple[float, float] = (-1e3, 1e3)

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
        if self.sigma is not None and not float(self.sigma) > 0:
            raise OptionError(f"Observation.sigma must be > 0, got {self.sigma!r}")
        lo, hi = self.scale_bounds
        if self.scale == "estimate" and not 0 < lo < hi:
            raise OptionError(f"Observation.scale_bounds must satisfy 0 < lo < hi, got "
                              f"{self.scale_bounds!r}")
        lo, hi = self.offset_bounds
        if self.offset == "estimate" and not lo < hi:
            raise OptionError(f"Observation.offset_bounds must satisfy lo < hi, got "
                              f"{self.offset_bounds!r}")

    # -- convenience constructors ------------------------------------------------------
    @classmethod
    def identity(cls, noise: str = "additive", sigma: Optional[float] = None) -> "Observation":
        """The output itself."""
        return cls(noise=noise, sigma=sigma)

    @classmethod
    def scaled(cls, scale: Union[float, str] = "analytic", offset: Union[None, float, str] = None,
               noise: str = "additive", sigma: Optional[float] = None) -> "Observation":
        """An arbitrary-unit assay: ``scale * x + offset``."""
        return cls(scale=scale, offset=offset, noise=noise, sigma=sigma)

    @classmethod
    def fold(cls, reference: str = "day0", noise: str = "lognormal",
             sigma: Optional[float] = None, scale: Union[None, float, str] = None
             ) -> "Observation":
        """A fold change relative to day 0 or to a reference condition."""
        return cls(fold_change=reference, noise=noise, sigma=sigma, scale=scale)

    @property
    def default_sigma(self) -> float:
        return 1.0 if self.sigma is None else float(self.sigma)

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


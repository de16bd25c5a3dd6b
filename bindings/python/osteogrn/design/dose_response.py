"""og.dose_response(): a Hill curve fitted to a readout against a dose, with EC50, Emax, the
Hill coefficient, their confidence intervals, and the dose that reaches a fraction of the
effect.

The model (``"hill4"``)::

    y(x) = bottom + (top - bottom) * x^n / (x^n + EC50^n),     y(0) = bottom

fitted by :func:`scipy.optimize.least_squares` (trust-region reflective) on the parameters
``bottom, top, log(EC50), n`` — EC50 on the log scale because doses span decades and the
fit is better conditioned there; ``n`` is kept in [0.05, 20]. ``"hill3"`` fixes ``bottom``
at 0. A dose of 0 contributes ``bottom`` directly (no log of 0 is taken).

Confidence intervals are Wald intervals from the covariance at the optimum,
``s^2 (J^T J)^-1`` with ``s^2`` the residual variance and ``J`` the Jacobian of the
residuals, using Student's t with ``m - p`` degrees of freedom; for EC50 and dose_for the
interval is computed on the log scale and transformed back (so it is asymmetric and
positive).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

import numpy as np

from ..errors import OptionError
from ..fitting.data import DataError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["dose_response", "DoseResponse", "hill"]

_MODELS = ("hill4", "hill3")
_N_BOUNDS = (0.05, 20.0)
#: A data set is refused as non-monotone when its mean response per dose turns back by more
#: than this fraction of its range (against the direction in which it turns back least).
#: Sweep readouts carry no noise, so a reversal is real; 10 % leaves room for noisy means.
MONOTONE_TOLERANCE = 0.10
_PARAMS = ("bottom", "top", "ec50", "hill")


def hill(dose: Any, bottom: float, top: float, ec50: float, n: float) -> np.ndarray:
    """The Hill curve ``bottom + (top - bottom) x^n / (x^n + EC50^n)``; ``bottom`` at dose 0.

    Parameters
    ----------
    dose : array_like
        Doses (>= 0).
    bottom, top, ec50, n : float
        EC50 > 0, n > 0.

    Returns
    -------
    numpy.ndarray
    """
    x = np.asarray(dose, dtype=float)
    return bottom + (top - bottom) * _fraction(x, math.log(ec50), n)


def _fraction(x: np.ndarray, log_ec50: float, n: float) -> np.ndarray:
    """x^n / (x^n + EC50^n) = 1 / (1 + (EC50/x)^n), computed in logs; 0 at x = 0."""
    pos = x > 0
    out = np.zeros_like(x, dtype=float)
    z = n * (log_ec50 - np.log(x[pos]))
    out[pos] = 1.0 / (1.0 + np.exp(np.clip(z, -700.0, 700.0)))
    return out


class DoseResponse:
    """A fitted Hill curve (see :func:`dose_response`).

    Attributes
    ----------
    bottom, top : float
        Response at dose 0 and at saturation.
    emax : float
        ``top - bottom``: the maximal effect above the response without the dose.
    ec50 : float
        Dose of half the effect.
    hill : float
        Hill coefficient n.
    dose, readout : str
        Column names that were fitted.
    doses, responses : numpy.ndarray
        The points fitted (rows with NaN responses left out).
    n_dropped : int
        Rows left out because the response was NaN (failed or invalid sweep points).
    covariance : numpy.ndarray
        Covariance of (bottom, top, log EC50, n) (``hill3``: without bottom).
    residual_sd : float
        Standard deviation of the residuals (``sqrt(SSR / (m - p))``).
    dose_unit, unit : str
        Units of the dose and the readout (from the sweep's ``attrs["units"]``, or ``""``).
    model : str
        ``"hill4"`` or ``"hill3"``.
    """

    def __init__(self, *, params: np.ndarray, covariance: np.ndarray, residual_sd: float,
                 dof: int, model: str, dose: str, readout: str, doses: np.ndarray,
                 responses: np.ndarray, n_dropped: int, dose_unit: str = "",
                 unit: str = "") -> None:
        self._p = np.asarray(params, dtype=float)   # bottom, top, log ec50, n
        self.covariance = covariance
        self.residual_sd = float(residual_sd)
        self.dof = int(dof)
        self.model = model
        self.dose = dose
        self.readout = readout
        self.doses = doses
        self.responses = responses
        self.n_dropped = int(n_dropped)
        self.dose_unit = dose_unit
        self.unit = unit

    # -- estimates --------------------------------------------------------------------
    @property
    def bottom(self) -> float:
        """Response at dose 0."""
        return float(self._p[0])

    @property
    def top(self) -> float:
        """Response at saturation."""
        return float(self._p[1])

    @property
    def emax(self) -> float:
        """``top - bottom``: the maximal effect (negative for a falling curve)."""
        return self.top - self.bottom

    @property
    def ec50(self) -> float:
        """Dose of half the effect (> 0)."""
        return float(math.exp(self._p[2]))

    @property
    def hill(self) -> float:
        """Hill coefficient n."""
        return float(self._p[3])

    def _cov_full(self) -> np.ndarray:
        """Covariance over (bottom, top, log ec50, n); bottom fixed (0 variance) in hill3."""
        if self.model == "hill4":
            return self.covariance
        full = np.zeros((4, 4))
        full[1:, 1:] = self.covariance
        return full

    def _t(self, level: float) -> float:
        if not 0 < level < 1:
            raise OptionError(f"level must lie in (0, 1), got {level!r}")
        from scipy import stats
        return float(stats.t.ppf(0.5 + level / 2, max(self.dof, 1)))

    def intervals(self, level: float = 0.95) -> "pd.DataFrame":
        """Wald confidence intervals from the covariance at the optimum (EC50 on the log
        scale, then transformed back).

        Parameters
        ----------
        level : float
            Confidence level in (0, 1).

        Returns
        -------
        pandas.DataFrame
            Index ``bottom, top, emax, ec50, hill``; columns ``estimate, lower, upper, se``
            (``se`` of log EC50 for ``ec50``). ``hill3``: bottom is fixed (se 0).
        """
        import pandas as pd
        q = self._t(level)
        cov = self._cov_full()
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
        var_emax = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
        se_emax = math.sqrt(max(var_emax, 0.0))
        rows = {
            "bottom": (self.bottom, self.bottom - q * se[0], self.bottom + q * se[0], se[0]),
            "top": (self.top, self.top - q * se[1], self.top + q * se[1], se[1]),
            "emax": (self.emax, self.emax - q * se_emax, self.emax + q * se_emax, se_emax),
            "ec50": (self.ec50, math.exp(self._p[2] - q * se[2]),
                     math.exp(self._p[2] + q * se[2]), se[2]),
            "hill": (self.hill, self.hill - q * se[3], self.hill + q * se[3], se[3]),
        }
        frame = pd.DataFrame.from_dict(rows, orient="index",
                                       columns=["estimate", "lower", "upper", "se"])
        frame.attrs["level"] = level
        frame.attrs["method"] = "wald (covariance at the optimum; ec50 on the log scale)"
        return frame

    # -- use ----------------------------------------------------------------------------
    def predict(self, doses: Any) -> np.ndarray:
        """The fitted curve at ``doses`` (``bottom`` at 0)."""
        x = np.asarray(doses, dtype=float)
        if np.any(x < 0):
            raise OptionError("doses must be >= 0")
        return self.bottom + self.emax * _fraction(x, self._p[2], self.hill)

    @staticmethod
    def _check_fraction(fraction: float) -> float:
        f = float(fraction)
        if not 0 < f < 1:
            raise OptionError(f"fraction must lie in (0, 1) (the dose for 0 is 0, and 1 is "
                              f"reached at no finite dose), got {fraction!r}")
        return f

    def dose_for(self, fraction: float = 0.9) -> float:
        """The smallest dose whose response reaches ``bottom + fraction * (top - bottom)``.

        Closed form ``EC50 * (f / (1 - f))^(1/n)``: the curve is monotone, so this is the
        smallest such dose.

        Parameters
        ----------
        fraction : float
            In (0, 1); 0.5 gives EC50.

        Returns
        -------
        float
        """
        f = self._check_fraction(fraction)
        return float(math.exp(self._p[2] + math.log(f / (1 - f)) / self.hill))

    def dose_for_interval(self, fraction: float = 0.9,
                          level: float = 0.95) -> Tuple[float, float]:
        """Wald interval of :meth:`dose_for` (delta method on the log dose, from the
        covariance of log EC50 and n).

        Returns
        -------
        (float, float)
            Lower and upper bound.
        """
        f = self._check_fraction(fraction)
        logit = math.log(f / (1 - f))
        log_dose = self._p[2] + logit / self.hill
        cov = self._cov_full()[2:, 2:]
        grad = np.array([1.0, -logit / self.hill ** 2])
        se = math.sqrt(max(float(grad @ cov @ grad), 0.0))
        q = self._t(level)
        return float(math.exp(log_dose - q * se)), float(math.exp(log_dose + q * se))

    def to_dict(self) -> Dict[str, Any]:
        """Estimates, 95 % intervals, and fit details as a JSON-ready dict."""
        iv = self.intervals(0.95)
        return {
            "model": self.model, "dose": self.dose, "readout": self.readout,
            "dose_unit": self.dose_unit, "unit": self.unit,
            **{k: float(iv.loc[k, "estimate"]) for k in iv.index},
            "intervals_95": {k: [float(iv.loc[k, "lower"]), float(iv.loc[k, "upper"])]
                             for k in iv.index},
            "interval_method": iv.attrs["method"],
            "dose_for_0.9": self.dose_for(0.9),
            "residual_sd": self.residual_sd, "n_points": int(self.doses.size),
            "n_dropped": self.n_dropped,
        }

    def plot(self, ax: Any = None, *, log: Optional[bool] = None,
             fraction: Optional[float] = 0.9) -> "Figure":
        """The points and the fitted curve, EC50 and (optionally) dose_for(fraction) marked.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Draw into it (default a new figure).
        log : bool, optional
            Log dose axis (default: when the positive doses span more than a decade); a
            dose of 0 is drawn at the left edge, marked ``0``.
        fraction : float or None
            Mark dose_for(fraction); None for no mark.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from ..plotting import new_figure
        if ax is None:
            fig = new_figure(figsize=(5.0, 3.6), layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = ax.figure
        x = self.doses
        pos = x[x > 0]
        if log is None:
            log = pos.size > 0 and pos.max() / pos.min() > 10
        lo = pos.min() if pos.size else 1.0
        hi = x.max() if x.size else 1.0
        if log:
            zero_at = lo / 3
            grid = np.geomspace(zero_at, hi * 1.5, 200)
            shown = np.where(x > 0, x, zero_at)
            ax.set_xscale("log")
        else:
            grid = np.linspace(0, hi * 1.05, 200)
            shown = x
        ax.plot(shown, self.responses, "o", color="0.3", label="points")
        ax.plot(grid, self.predict(grid), "-", color="C0", label=f"Hill (n={self.hill:.2g})")
        ax.axvline(self.ec50, color="C1", ls="--", lw=1, label=f"EC50 {self.ec50:.3g}")
        if fraction is not None:
            d = self.dose_for(fraction)
            ax.axvline(d, color="C2", ls=":", lw=1,
                       label=f"{fraction:.0%} of effect: {d:.3g}")
        du = f" ({self.dose_unit})" if self.dose_unit else ""
        ru = f" ({self.unit})" if self.unit else ""
        ax.set_xlabel(f"{self.dose}{du}")
        ax.set_ylabel(f"{self.readout}{ru}")
        ax.legend(fontsize="small")
        return fig

    def __repr__(self) -> str:
        iv = self.intervals(0.95)
        du = f" {self.dose_unit}" if self.dose_unit else ""

        def ci(k: str) -> str:
            return f"[{iv.loc[k, 'lower']:.4g}, {iv.loc[k, 'upper']:.4g}]"

        return (f"<osteogrn.DoseResponse {self.readout} vs {self.dose} ({self.model}, "
                f"{self.doses.size} points): EC50 {self.ec50:.4g}{du} {ci('ec50')}, "
                f"Emax {self.emax:.4g} {ci('emax')}, n {self.hill:.3g} {ci('hill')}, "
                f"bottom {self.bottom:.4g}; 95% Wald>")


def _monotone_check(x: np.ndarray, y: np.ndarray, readout: str, tolerance: float) -> None:
    doses = np.unique(x)
    means = np.array([y[x == d].mean() for d in doses])
    span = means.max() - means.min()
    if not span > 0:
        raise DataError(f"dose_response: '{readout}' does not change with the dose (range 0); "
                        f"there is no curve to fit", column=readout)
    rise = np.max(means - np.minimum.accumulate(means))   # largest rise after a low point
    fall = np.max(np.maximum.accumulate(means) - means)   # largest fall after a peak
    back = min(rise, fall)
    if back > tolerance * span:
        peak = doses[int(np.argmax(means))] if fall > rise else doses[int(np.argmin(means))]
        raise DataError(f"dose_response: '{readout}' is not monotone in the dose: its mean "
                        f"turns back by {back / span:.0%} of its range (around dose {peak:g}); "
                        f"a Hill curve does not describe it (narrow the dose range, or pass "
                        f"monotone_tolerance=)", column=readout)


def _initial(x: np.ndarray, y: np.ndarray, model: str) -> np.ndarray:
    doses = np.unique(x)
    means = np.array([y[x == d].mean() for d in doses])
    bottom = 0.0 if model == "hill3" else float(means[0])
    top = float(means[-1])
    pos = doses > 0
    # EC50: the geometric middle of the doses around half the effect.
    frac = (means - bottom) / (top - bottom) if top != bottom else np.zeros_like(means)
    above = np.flatnonzero(pos & (frac >= 0.5))
    if above.size:
        i = above[0]
        j = max(i - 1, int(np.flatnonzero(pos)[0]))
        ec50 = math.sqrt(doses[i] * doses[j])
    else:
        ec50 = float(doses[pos].max())
    return np.array([bottom, top, math.log(ec50), 1.0])


def dose_response(frame: "pd.DataFrame", dose: str = "bmp2.concentration",
                  readout: Optional[str] = None, *, model: str = "hill4",
                  monotone_tolerance: float = MONOTONE_TOLERANCE) -> DoseResponse:
    """Fits a Hill curve to a readout against a dose (e.g. the frame of :func:`osteogrn.sweep`).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per point; rows whose readout is NaN (failed points) are left out.
    dose : str
        Dose column (>= 0; 0 is allowed and fits ``bottom``).
    readout : str, optional
        Response column; default the only readout of a sweep frame.
    model : {"hill4", "hill3"}
        Four parameters, or three with ``bottom = 0``.
    monotone_tolerance : float
        See ``MONOTONE_TOLERANCE``.

    Returns
    -------
    DoseResponse

    Raises
    ------
    DataError
        A missing column, negative or non-finite doses, fewer distinct doses than
        parameters + 1, a flat or non-monotone response, or other columns of a sweep that
        vary (a dose-response curve is fitted at one setting of everything else; select
        the rows first, e.g. ``frame[frame["media_changes.every"] == 3]``).
    OptionError
        An unknown model.
    """
    from scipy.optimize import least_squares

    if model not in _MODELS:
        raise OptionError(f"model must be one of {', '.join(_MODELS)}, got {model!r}")
    if not hasattr(frame, "columns"):
        raise DataError(f"dose_response takes a DataFrame (e.g. from og.sweep), got "
                        f"{type(frame).__name__}")
    readouts = [getattr(r, "text", str(r)) for r in frame.attrs.get("readouts", [])]
    if readout is None:
        if len(readouts) != 1:
            raise DataError(f"dose_response: say which readout to fit (readout=...); "
                            f"readouts: {', '.join(readouts) or '(none recorded)'}")
        readout = readouts[0]
    for column in (dose, readout):
        if column not in frame.columns:
            raise DataError(f"dose_response: no column '{column}' (columns: "
                            f"{', '.join(map(str, frame.columns))})", column=column)
    skip = {dose, readout, "protocol", "status", "message", *readouts}
    varying = [c for c in frame.columns if c not in skip and c in frame.attrs.get("units", {})
               and frame[c].astype(str).nunique() > 1]
    if varying:
        raise DataError(f"dose_response: column(s) {', '.join(varying)} vary too; fit one "
                        f"setting at a time (select its rows first)", column=varying[0])
    x_all = np.asarray(frame[dose], dtype=float)
    y_all = np.asarray(frame[readout], dtype=float)
    keep = ~np.isnan(y_all)
    x, y = x_all[keep], y_all[keep]
    if np.any(~np.isfinite(x)) or np.any(x < 0):
        bad = int(np.flatnonzero(~np.isfinite(x_all) | (x_all < 0))[0])
        raise DataError(f"dose_response: dose '{dose}' must be finite and >= 0, got "
                        f"{x_all[bad]!r}", column=dose, row=bad, value=x_all[bad])
    n_params = 4 if model == "hill4" else 3
    if np.unique(x).size < n_params or x.size <= n_params or np.count_nonzero(np.unique(x)) < 2:
        raise DataError(f"dose_response: {model} has {n_params} parameters and needs at least "
                        f"{n_params} distinct doses (2 of them > 0) and more than {n_params} "
                        f"points; got {np.unique(x).size} distinct doses, {x.size} points"
                        f"{f' ({(~keep).sum()} NaN left out)' if (~keep).any() else ''}",
                        column=dose)
    _monotone_check(x, y, readout, monotone_tolerance)

    p0 = _initial(x, y, model)
    scale = max(float(np.max(np.abs(y))), 1e-300)

    def full(q: np.ndarray) -> np.ndarray:
        return q if model == "hill4" else np.concatenate(([0.0], q))

    def residuals(q: np.ndarray) -> np.ndarray:
        p = full(q)
        return (p[0] + (p[1] - p[0]) * _fraction(x, p[2], p[3]) - y) / scale

    q0 = p0 if model == "hill4" else p0[1:]
    pos = x[x > 0]
    log_lo, log_hi = math.log(pos.min()) - 10.0, math.log(pos.max()) + 10.0
    q0[-2] = min(max(q0[-2], log_lo + 1e-9), log_hi - 1e-9)
    lower = [-np.inf] * (n_params - 2) + [log_lo, _N_BOUNDS[0]]
    upper = [np.inf] * (n_params - 2) + [log_hi, _N_BOUNDS[1]]
    fit = least_squares(residuals, q0, bounds=(lower, upper), method="trf",
                        x_scale="jac", xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=20000)
    q = fit.x
    dof = x.size - n_params
    ssr = float(np.sum((fit.fun * scale) ** 2))
    s2 = ssr / dof
    jac = fit.jac * scale
    try:
        cov = np.linalg.pinv(jac.T @ jac) * s2
    except np.linalg.LinAlgError:
        cov = np.full((n_params, n_params), np.nan)
    units = frame.attrs.get("units", {})
    return DoseResponse(params=full(q), covariance=cov, residual_sd=math.sqrt(s2), dof=dof,
                        model=model, dose=dose, readout=readout, doses=x, responses=y,
                        n_dropped=int((~keep).sum()), dose_unit=str(units.get(dose, "")),
                        unit=str(units.get(readout, "")))

"""Fisher-information (Gauss-Newton) standard errors that say when they do not exist.

``J^T J`` at the optimum approximates the Fisher information in the optimisation
variables z. Its inverse is the asymptotic covariance only where it is well
conditioned: a parameter with a component along a (near-)null eigenvector is not
locally identifiable, and ``pinv`` would report a tiny, meaningless standard
error for it (the issue's 3.5e-10 for a parameter whose profile was open at
both ends). Here such parameters get NaN and a note saying why.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import numpy as np

__all__ = ["fisher_standard_errors", "REL_EIGENVALUE", "LOADING"]

#: An eigenvalue of J^T J below REL_EIGENVALUE x the largest marks a near-null direction
#: (a condition number above 1e8 of the Fisher information, 1e4 of J).
REL_EIGENVALUE = 1e-8
#: A parameter whose component in a near-null eigenvector reaches LOADING (in absolute value;
#: eigenvectors have unit length) has no standard error.
LOADING = 0.01


def fisher_standard_errors(J: Optional[np.ndarray], names: Sequence[str]
                           ) -> Tuple[np.ndarray, Dict[str, str]]:
    """Standard errors in z from the Jacobian at the optimum, NaN where undefined.

    Parameters
    ----------
    J : numpy.ndarray or None
        Jacobian of the weighted residuals with respect to z, shape (rows, n).
    names : sequence of str
        The n parameter names (for the notes).

    Returns
    -------
    se : numpy.ndarray
        ``sqrt(diag(F^+))`` restricted to the well-conditioned eigen-directions of
        ``F = J^T J``; NaN for every parameter loading on a near-null direction.
    notes : dict
        Parameter name -> why its standard error is NaN.
    """
    n = len(names)
    if J is None or J.shape[1] != n or not np.all(np.isfinite(J)):
        why = "the Jacobian at the optimum is not available or not finite"
        return np.full(n, np.nan), {name: why for name in names}
    F = J.T @ J
    lam, V = np.linalg.eigh(F)
    lmax = float(lam.max()) if n else 0.0
    if not lmax > 0:
        why = "the residuals do not depend on any estimated parameter (J^T J = 0)"
        return np.full(n, np.nan), {name: why for name in names}
    null = lam < REL_EIGENVALUE * lmax
    keep = ~null
    var = (V[:, keep] ** 2 / lam[keep]).sum(axis=1)
    se = np.sqrt(var)
    notes: Dict[str, str] = {}
    col = np.sqrt(np.sum(J * J, axis=0))
    for j, name in enumerate(names):
        hits = np.flatnonzero(null & (np.abs(V[j]) >= LOADING))
        if not len(hits):
            continue
        se[j] = np.nan
        if col[j] <= REL_EIGENVALUE ** 0.5 * np.sqrt(lmax):
            notes[name] = ("the residuals do not depend on it (its Jacobian column is "
                           f"{col[j]:.2g}, vs {np.sqrt(lmax):.2g} for the best-determined "
                           "direction): not identifiable from these data")
        else:
            i = hits[np.argmax(np.abs(V[j, hits]))]
            partners = [names[k] for k in np.argsort(-np.abs(V[:, i]))
                        if k != j and abs(V[k, i]) >= 0.1][:4]
            with_ = f" together with {', '.join(partners)}" if partners else ""
            notes[name] = (f"it loads ({abs(V[j, i]):.2f}) on a near-null direction of the "
                           f"Fisher information J^T J (eigenvalue {lam[i]:.2g} = "
                           f"{max(lam[i], 0.0) / lmax:.1g} x the largest, threshold "
                           f"{REL_EIGENVALUE:g}){with_}: not locally identifiable")
    return se, notes

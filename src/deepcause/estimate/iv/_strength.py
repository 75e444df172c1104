"""Instrument strength shared by the IV estimators: the weak-instrument warning and a
cross-fitted first-stage F statistic for learned (nonlinear) first stages.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> t = rng.normal(size=500)
>>> f = partial_f(t, t + rng.normal(size=500), np.empty((500, 0)))
>>> bool(f > 100)
True
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from ...exceptions import WeakInstrumentWarning

__all__ = ["partial_f", "warn_weak_instruments"]


def partial_f(t: np.ndarray, t_hat: np.ndarray, X: np.ndarray) -> float:
    """F statistic (1 numerator df) of ``t_hat`` in the regression of ``t`` on ``[1, X, t_hat]``.

    With ``t_hat`` an out-of-sample (cross-fitted) prediction of the treatment from the
    instruments, this is the first-stage F of 2SLS with ``t_hat`` as the single instrument: it
    follows F(1, n - k) when the instruments are irrelevant, whatever the learner.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> t, noise = rng.normal(size=(2, 2000))
    >>> bool(partial_f(t, noise, np.empty((2000, 0))) < 10)
    True
    """
    exog = np.column_stack([np.ones(len(t)), X])
    proj = np.linalg.lstsq(exog, np.column_stack([t, t_hat]), rcond=None)[0]
    tr, hr = (np.column_stack([t, t_hat]) - exog @ proj).T
    hh = float(hr @ hr)
    if hh <= 1e-12 * max(float(tr @ tr), 1e-300):
        return 0.0  # the prediction is a function of the covariates alone: no excluded signal
    g = float(hr @ tr) / hh
    e = tr - g * hr
    dof = len(t) - exog.shape[1] - 1
    return float(g * g * hh / max(float(e @ e) / dof, 1e-300))


def warn_weak_instruments(
    f_by_treatment: Mapping[str, float], threshold: float, method: str, stacklevel: int = 5
) -> None:
    """``WeakInstrumentWarning`` naming every treatment whose first-stage F is below ``threshold``.

    Examples
    --------
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_weak_instruments({"d": 2.5}, 10.0, "KernelIV")
    >>> caught[0].category.__name__
    'WeakInstrumentWarning'
    """
    weak = {k: v for k, v in f_by_treatment.items() if v < threshold}
    if weak:
        shown = ", ".join(f"{k!r}: F = {v:.2f}" for k, v in weak.items())
        warnings.warn(
            f"weak instrument(s) for {shown} (below {threshold:g}); {method} is biased towards "
            "OLS and its confidence intervals are unreliable. Find stronger instruments or use "
            "weak-IV-robust inference (Anderson-Rubin).",
            WeakInstrumentWarning,
            stacklevel=stacklevel,
        )

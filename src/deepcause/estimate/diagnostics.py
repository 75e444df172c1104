"""Overlap, balance and effective-sample-size diagnostics attached to every back-door fit.

>>> import numpy as np
>>> t = np.array([0, 0, 1, 1]); e = np.array([0.2, 0.4, 0.6, 0.8])
>>> w = implied_weights(e, t, "ATE")
>>> w.round(3).tolist()
[1.25, 1.667, 1.667, 1.25]
>>> overlap_summary(e, t)["n_extreme"]
0
>>> round(effective_sample_size(w, t)["treated"], 3)
1.96
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._plots import plot_balance, plot_overlap
from ..exceptions import PositivityWarning
from ..results import Diagnostics

__all__ = [
    "implied_weights",
    "overlap_summary",
    "standardized_differences",
    "balance_table",
    "effective_sample_size",
    "backdoor_diagnostics",
    "warn_positivity",
    "plot_overlap",
    "plot_balance",
]

EXTREME = 0.01  # propensity scores below this or above 1 - this count as extreme


def implied_weights(e: np.ndarray, t: np.ndarray, quantity: str) -> np.ndarray:
    """Per-unit weights that make each arm look like the target population of ``quantity``.

    ATE: 1/e (treated), 1/(1-e) (controls); ATT: 1, e/(1-e); ATC: (1-e)/e, 1;
    ATO (overlap weights, Li, Morgan & Zaslavsky 2018): 1-e, e.

    Examples
    --------
    >>> implied_weights(np.array([0.5, 0.25]), np.array([1, 0]), "ATT").tolist()
    [1.0, 0.3333333333333333]
    """
    t1 = t == 1
    if quantity == "ATE":
        return np.where(t1, 1.0 / e, 1.0 / (1.0 - e))
    if quantity == "ATT":
        return np.where(t1, 1.0, e / (1.0 - e))
    if quantity == "ATC":
        return np.where(t1, (1.0 - e) / e, 1.0)
    if quantity == "ATO":
        return np.where(t1, 1.0 - e, e)
    raise ValueError(f"quantity must be ATE, ATT, ATC or ATO, got {quantity!r}")


def overlap_summary(e: np.ndarray, t: np.ndarray, eps: float = EXTREME) -> dict[str, Any]:
    """Counts of extreme scores (< eps or > 1-eps) and min/max of the scores in each arm.

    Examples
    --------
    >>> e, t = np.array([0.01, 0.5, 0.6, 0.995]), np.array([0, 0, 1, 1])
    >>> s = overlap_summary(e, t, eps=0.02)
    >>> s["n_extreme"], s["treated"]["n_above"], s["control"]["n_below"]
    (2, 1, 1)
    """
    out: dict[str, Any] = {"threshold": eps}
    low, high = e < eps, e > 1 - eps
    for arm, name in ((1, "treated"), (0, "control")):
        g = t == arm
        eg = e[g]
        out[name] = {
            "n": int(g.sum()),
            "min": float(eg.min()),
            "max": float(eg.max()),
            "n_below": int((low & g).sum()),
            "n_above": int((high & g).sum()),
        }
    out["n_extreme"] = int((low | high).sum())
    out["share_extreme"] = float((low | high).mean())
    return out


def _weighted_moments(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    return (w @ X) / w.sum()


def standardized_differences(
    X: np.ndarray, t: np.ndarray, w: np.ndarray | None = None
) -> np.ndarray:
    """Standardized mean differences (treated - control) / pooled unweighted s.d., per column.

    Examples
    --------
    >>> X, t = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
    >>> standardized_differences(X, t).round(3).tolist()
    [2.828]
    """
    t1 = t == 1
    X1, X0 = X[t1], X[~t1]
    sd = np.sqrt((X1.var(axis=0, ddof=1) + X0.var(axis=0, ddof=1)) / 2.0)
    sd[sd == 0] = 1.0
    if w is None:
        diff = X1.mean(axis=0) - X0.mean(axis=0)
    else:
        diff = _weighted_moments(X1, w[t1]) - _weighted_moments(X0, w[~t1])
    return diff / sd


def balance_table(
    X: np.ndarray, t: np.ndarray, names: Sequence[str], w: np.ndarray | None
) -> pd.DataFrame:
    """SMD of every covariate before and after weighting (``w`` = None: unweighted only).

    Examples
    --------
    >>> X, t = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
    >>> balance_table(X, t, ["age"], None).columns.tolist()[:1]
    ['smd_before']
    """
    table = pd.DataFrame(
        {"smd_before": standardized_differences(X, t)},
        index=pd.Index(list(names), name="covariate"),
    )
    table["smd_after"] = standardized_differences(X, t, w) if w is not None else np.nan
    return table


def effective_sample_size(w: np.ndarray, t: np.ndarray) -> dict[str, float]:
    """Kish effective sample size (sum w)^2 / sum w^2 of each arm.

    Examples
    --------
    >>> effective_sample_size(np.array([1.0, 1.0, 1.0, 3.0]), np.array([0, 0, 1, 1]))
    {'treated': 1.6, 'control': 2.0}
    """
    out = {}
    for arm, name in ((1, "treated"), (0, "control")):
        wg = w[t == arm]
        ssq = float(wg @ wg)
        out[name] = float(wg.sum() ** 2 / ssq) if ssq > 0 else 0.0
    return out


def backdoor_diagnostics(
    X: np.ndarray,
    t: np.ndarray,
    names: Sequence[str],
    e: np.ndarray | None,
    w: np.ndarray | None,
    notes: Sequence[str] = (),
    **extra: Any,
) -> Diagnostics:
    """The typed :class:`~deepcause.results.Diagnostics` of a back-door fit.

    Overlap of the propensity scores ``e`` (if any), the balance table and largest absolute
    standardized mean differences before/after weighting with ``w``, the Kish effective sample
    size per arm; ``notes`` become numbered notes of ``summary()``, ``extra`` goes to
    ``Diagnostics.extra``.

    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); t = np.array([0, 0, 1, 1])
    >>> d = backdoor_diagnostics(X, t, ["x"], None, np.ones(4))
    >>> round(d.max_abs_smd_before, 3), d.ess["treated"]
    (2.828, 2.0)
    """
    fields: dict[str, Any] = {"notes": tuple(notes), "extra": extra}
    if e is not None:
        fields.update(overlap=overlap_summary(e, t), propensity=e, treatment=t)
    if X.shape[1]:
        table = balance_table(X, t, names, w)
        fields["balance"] = table
        fields["max_abs_smd_before"] = float(np.abs(table["smd_before"]).max())
        if w is not None:
            fields["max_abs_smd_after"] = float(np.abs(table["smd_after"]).max())
    if w is not None:
        fields.update(ess=effective_sample_size(w, t), weights=w)
        if e is None:
            fields["treatment"] = t
    return Diagnostics(**fields)


def warn_positivity(
    e: np.ndarray, t: np.ndarray, quantity: str, estimator: str, handling: str, stacklevel: int = 5
) -> int:
    """Warn when units relevant to ``quantity`` have extreme scores; return their number.

    ATT needs controls for every treated unit, so scores near 1 matter; ATC needs the reverse
    (scores near 0); the ATE needs both. Overlap-weighted targets (ATO) never warn.

    Examples
    --------
    >>> warn_positivity(np.array([0.5, 0.6]), np.array([0, 1]), "ATE", "IPW", "")
    0
    """
    if quantity == "ATO":
        return 0
    parts = []
    total = 0
    sides = {"ATE": ("below", "above"), "ATT": ("above",), "ATC": ("below",)}[quantity]
    for side in sides:
        bad = e < EXTREME if side == "below" else e > 1 - EXTREME
        for arm, name in ((1, "treated"), (0, "control")):
            k = int((bad & (t == arm)).sum())
            if k:
                total += k
                bound = f"< {EXTREME}" if side == "below" else f"> {1 - EXTREME}"
                parts.append(f"{k} {name} unit(s) with propensity {bound}")
    if total:
        warnings.warn(
            f"{estimator} {quantity}: limited overlap — {'; '.join(parts)} "
            f"({total} of {len(e)} units). {handling}",
            PositivityWarning,
            stacklevel=stacklevel,
        )
    return total

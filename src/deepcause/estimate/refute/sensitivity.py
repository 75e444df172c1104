"""E-values (VanderWeele & Ding 2017) and Rosenbaum bounds for matched pairs.

The **E-value** is the minimum strength of association, on the risk-ratio scale, that an
unmeasured confounder would need with both the treatment and the outcome (conditional on the
measured covariates) to explain away an observed risk ratio: ``E = RR + sqrt(RR (RR - 1))``
for ``RR >= 1`` (``1/RR`` first when ``RR < 1``). The E-value of the confidence-interval limit
closer to the null says how strong confounding must be to move the interval to include it.
Other scales are converted to an approximate risk ratio first:

* odds ratio: ``RR = OR`` for a rare outcome (< 15%), ``RR = sqrt(OR)`` otherwise;
* hazard ratio: ``RR = HR`` for a rare outcome, else ``(1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))``;
* a difference in means of a continuous outcome: the standardized difference
  ``d = difference / sd(Y)`` gives ``RR = exp(0.91 d)`` with interval
  ``exp(0.91 d ± 1.78 se(d))`` (VanderWeele & Ding 2017, section "Continuous outcomes"; an
  approximation that assumes a roughly normal outcome).

**Rosenbaum bounds**: in matched pairs where hidden bias may multiply the odds of treatment
by at most ``Γ``, the one-sided p-value of the sign test or Wilcoxon's signed-rank test lies
between two bounds; the study is insensitive up to the largest ``Γ`` whose upper bound is
still below ``alpha``.

>>> round(evalue(3.9, lower=1.8, upper=8.7).point, 2)   # VanderWeele & Ding's example
7.26
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..._summary import Summary
from ...exceptions import DataValidationError
from ...results import EffectEstimate

__all__ = ["EValueResult", "evalue", "RosenbaumResult", "rosenbaum_bounds"]

_SCALES = ("RR", "OR", "HR", "difference")


def _evalue_rr(rr: float) -> float:
    rr = 1.0 / rr if rr < 1 else rr
    return float(rr + math.sqrt(rr * (rr - 1.0)))


def _to_rr(x: float, scale: str, rare: bool) -> float:
    if scale == "OR" and not rare:
        return math.sqrt(x)
    if scale == "HR" and not rare:
        return (1 - 0.5 ** math.sqrt(x)) / (1 - 0.5 ** math.sqrt(1 / x))
    return x


@dataclass(frozen=True)
class EValueResult:
    """E-values of an estimate and of its confidence-interval limit closer to the null.

    Parameters
    ----------
    point : float
        E-value of the point estimate.
    limit : float or None
        E-value of the interval limit closer to the null (1 when the interval includes it;
        ``None`` without an interval).
    rr, rr_lower, rr_upper : float
        The (approximate) risk ratio and its interval on which the E-values are computed.
    scale : str
        The scale of the input (``"RR"``, ``"OR"``, ``"HR"`` or ``"difference"``).
    null : float
        The risk ratio taken as "no effect" (default 1).
    notes : tuple of str
        The conversion used.

    Examples
    --------
    >>> r = evalue(0.8, lower=0.71, upper=0.91)
    >>> round(r.point, 2), round(r.limit, 2)
    (1.81, 1.43)
    """

    point: float
    limit: float | None
    rr: float
    rr_lower: float | None
    rr_upper: float | None
    scale: str
    null: float = 1.0
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form."""
        return {
            "evalue": self.point,
            "evalue_limit": self.limit,
            "rr": self.rr,
            "rr_lower": self.rr_lower,
            "rr_upper": self.rr_upper,
            "scale": self.scale,
            "null": self.null,
        }

    def summary(self) -> Summary:
        """A :class:`~deepcause.results.Summary` with the E-values and what they mean."""
        ci = "—" if self.rr_lower is None else f"[{self.rr_lower:.4g}, {self.rr_upper:.4g}]"
        limit = "—" if self.limit is None else f"{self.limit:.4g}"
        rows = [
            ("scale", self.scale),
            ("risk ratio", f"{self.rr:.4g} {ci}"),
            ("E-value (estimate)", f"{self.point:.4g}"),
            ("E-value (interval limit)", limit),
        ]
        meaning = (
            f"an unmeasured confounder associated with both treatment and outcome by a risk "
            f"ratio of {self.point:.3g} each, above the measured covariates, could explain away "
            "the estimate; weaker confounding could not"
        )
        return Summary("E-value", rows, pd.DataFrame(), [meaning, *self.notes])


def _diff_to_rr(
    value: float, se: float | None, sd: float | None
) -> tuple[float, float | None, float | None]:
    if sd is None or not sd > 0:
        raise DataValidationError(
            "an E-value for a difference in means needs sd=, the outcome's standard deviation"
        )
    d = value / sd
    if se is None:
        return math.exp(0.91 * d), None, None
    sd_d = se / sd
    return math.exp(0.91 * d), math.exp(0.91 * d - 1.78 * sd_d), math.exp(0.91 * d + 1.78 * sd_d)


def evalue(
    estimate: float | EffectEstimate,
    lower: float | None = None,
    upper: float | None = None,
    *,
    scale: str = "RR",
    rare: bool = True,
    sd: float | None = None,
    se: float | None = None,
    null: float = 1.0,
) -> EValueResult:
    """E-value of an estimate (and of its confidence limit), VanderWeele & Ding (2017).

    Parameters
    ----------
    estimate : float or EffectEstimate
        A risk ratio, odds ratio or hazard ratio (``scale``), or a difference in means
        (``scale="difference"``; an :class:`~deepcause.results.EffectEstimate` is read as one,
        with its standard error).
    lower, upper : float, optional
        Confidence limits on the same scale (for a difference, give ``se=`` instead).
    scale : {"RR", "OR", "HR", "difference"}
        The scale of ``estimate``.
    rare : bool, default True
        Whether the outcome is rare (< 15%), for odds and hazard ratios.
    sd : float, optional
        Standard deviation of the outcome, needed for a difference in means.
    se : float, optional
        Standard error of a difference in means.
    null : float, default 1
        The risk ratio to be reached (1: no effect).

    Returns
    -------
    EValueResult

    Examples
    --------
    >>> round(evalue(3.9, 1.8, 8.7).limit, 2)
    3.0
    >>> round(evalue(0.5, scale="difference", sd=1.0, se=0.1).point, 3)
    2.529
    """
    if isinstance(estimate, EffectEstimate):
        scale, se = "difference", estimate.std_error if se is None else se
        estimate = estimate.value
    if scale not in _SCALES:
        raise DataValidationError(f"scale must be one of {list(_SCALES)}, got {scale!r}")
    notes: list[str] = []
    if scale == "difference":
        rr, lo, hi = _diff_to_rr(float(estimate), se, sd)
        notes.append("difference in means converted by RR ≈ exp(0.91 d), d = difference / sd(Y)")
    else:
        values = [v for v in (estimate, lower, upper) if v is not None]
        if any(not v > 0 for v in values):
            raise DataValidationError(f"{scale} values must be positive, got {values}")
        rr = _to_rr(float(estimate), scale, rare)
        lo = None if lower is None else _to_rr(float(lower), scale, rare)
        hi = None if upper is None else _to_rr(float(upper), scale, rare)
        if scale != "RR":
            notes.append(
                f"{scale} converted to a risk ratio assuming a {'rare' if rare else 'common'} outcome"
            )
    if not null > 0:
        raise DataValidationError(f"null must be a positive risk ratio, got {null!r}")
    point = 1.0 if rr == null else _evalue_rr(rr / null)
    limit = None
    if rr > null and lo is not None:
        limit = 1.0 if lo <= null else _evalue_rr(lo / null)
    elif rr < null and hi is not None:
        limit = 1.0 if hi >= null else _evalue_rr(hi / null)
    elif rr == null and (lo is not None or hi is not None):
        limit = 1.0
    return EValueResult(point, limit, rr, lo, hi, scale, null, tuple(notes))


# --------------------------------------------------------------------------- Rosenbaum bounds
_TESTS = ("signrank", "sign")


def _pair_differences(treated: Any, control: Any) -> np.ndarray:
    if control is None:
        d = np.asarray(treated, dtype=float).ravel()
    else:
        t, c = np.asarray(treated, dtype=float).ravel(), np.asarray(control, dtype=float).ravel()
        if t.shape != c.shape:
            raise DataValidationError(
                f"treated and control must have one value per pair, got {t.size} and {c.size}"
            )
        d = t - c
    if not np.isfinite(d).all():
        raise DataValidationError("the pair differences contain NaN or infinite values")
    d = d[d != 0]
    if d.size < 2:
        raise DataValidationError("Rosenbaum bounds need at least two pairs with a difference")
    return d


def _p_bounds(d: np.ndarray, gamma: np.ndarray, test: str) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) bounds of the one-sided p-value for H0: no effect, vs a positive one."""
    p_plus, p_minus = gamma / (1 + gamma), 1 / (1 + gamma)
    if test == "sign":
        s, pos = d.size, int((d > 0).sum())
        return stats.binom.sf(pos - 1, s, p_minus), stats.binom.sf(pos - 1, s, p_plus)
    ranks = stats.rankdata(np.abs(d))
    t_obs = float(ranks[d > 0].sum())
    r1, r2 = ranks.sum(), (ranks**2).sum()
    var = r2 * p_plus * p_minus
    upper = stats.norm.sf((t_obs - r1 * p_plus) / np.sqrt(var))
    lower = stats.norm.sf((t_obs - r1 * p_minus) / np.sqrt(var))
    return lower, upper


@dataclass(frozen=True, eq=False)
class RosenbaumResult:
    """Bounds on the one-sided p-value of a matched-pairs test over the bias ``Γ``.

    Parameters
    ----------
    table : DataFrame
        Columns ``gamma, p_lower, p_upper``.
    test : str
        ``"signrank"`` (Wilcoxon, normal approximation) or ``"sign"`` (exact binomial).
    statistic : float
        The observed statistic (sum of positive ranks, or number of positive differences).
    n_pairs : int
        Pairs with a non-zero difference.
    alpha : float
        The level for ``gamma_threshold``.
    gamma_threshold : float
        The ``Γ`` at which the upper bound reaches ``alpha`` (``inf`` if never up to 1e6;
        ``1`` when the test is not significant even without hidden bias).

    Examples
    --------
    >>> r = rosenbaum_bounds([5, 6, 7, 8, 9, 10], [1, 2, 3, 4, 5, 6], test="sign")
    >>> round(float(r.table["p_upper"].iloc[0]), 4)
    0.0156
    """

    table: pd.DataFrame
    test: str
    statistic: float
    n_pairs: int
    alpha: float
    gamma_threshold: float

    def summary(self) -> Summary:
        """A :class:`~deepcause.results.Summary`: the bounds over ``Γ`` and the threshold."""
        name = "Wilcoxon signed-rank" if self.test == "signrank" else "sign"
        rows = [
            ("test", f"{name} (one-sided, treated > control)"),
            ("pairs (non-zero differences)", str(self.n_pairs)),
            ("statistic", f"{self.statistic:g}"),
            (f"Γ where the upper p-value reaches {self.alpha:g}", f"{self.gamma_threshold:.4g}"),
        ]
        meaning = (
            "Γ bounds how much an unmeasured confounder could multiply the odds of treatment "
            "within a pair; the conclusion holds at level alpha for every bias up to the "
            "threshold Γ"
        )
        return Summary("Rosenbaum bounds", rows, self.table.set_index("gamma"), [meaning])

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form."""
        return {
            "test": self.test,
            "statistic": self.statistic,
            "n_pairs": self.n_pairs,
            "alpha": self.alpha,
            "gamma_threshold": self.gamma_threshold,
            "table": self.table.to_dict(orient="list"),
        }


def rosenbaum_bounds(
    treated: Any,
    control: Any = None,
    *,
    gammas: Sequence[float] = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0),
    test: str = "signrank",
    alpha: float = 0.05,
) -> RosenbaumResult:
    """Rosenbaum's sensitivity bounds for matched pairs (Rosenbaum 2002, chapter 4).

    Parameters
    ----------
    treated, control : array-like
        Outcomes of the treated and of the control unit of each pair (same order); or only
        ``treated`` holding the treated-minus-control differences. Zero differences are
        dropped.
    gammas : sequence of float
        The values of ``Γ >= 1`` to tabulate.
    test : {"signrank", "sign"}
        Wilcoxon's signed-rank statistic (normal approximation, average ranks for ties, as in
        R's ``rbounds::psens``) or the sign test (exact binomial).
    alpha : float, default 0.05
        Level for the threshold ``Γ``.

    Returns
    -------
    RosenbaumResult

    Examples
    --------
    >>> trt = [38, 23, 41, 18, 37, 36, 23, 62, 31, 34, 24, 14, 21, 17, 16, 20, 15, 10, 45,
    ...        39, 22, 35, 49, 48, 44, 35, 43, 39, 34, 13, 73, 25, 27]
    >>> ctl = [16, 18, 18, 24, 19, 11, 10, 15, 16, 18, 18, 13, 19, 10, 16, 16, 24, 13, 9,
    ...        14, 21, 19, 7, 18, 19, 12, 11, 22, 25, 16, 13, 11, 13]
    >>> r = rosenbaum_bounds(trt, ctl, gammas=[1, 2, 3])
    >>> r.table["p_upper"].round(4).tolist(), 4 < r.gamma_threshold < 5
    ([0.0, 0.0018, 0.0131], True)
    """
    if test not in _TESTS:
        raise DataValidationError(f"test must be one of {list(_TESTS)}, got {test!r}")
    if not 0 < alpha < 1:
        raise DataValidationError(f"alpha must be in (0, 1), got {alpha!r}")
    g = np.asarray(gammas, dtype=float).ravel()
    if g.size == 0 or not (np.isfinite(g).all() and (g >= 1).all()):
        raise DataValidationError(f"gammas must be finite numbers >= 1, got {list(gammas)}")
    d = _pair_differences(treated, control)
    lower, upper = _p_bounds(d, g, test)
    if test == "sign":
        statistic = float((d > 0).sum())
    else:
        statistic = float(stats.rankdata(np.abs(d))[d > 0].sum())

    def gap(log_gamma: float) -> float:
        return float(_p_bounds(d, np.array([math.exp(log_gamma)]), test)[1][0]) - alpha

    if gap(0.0) >= 0:
        threshold = 1.0
    elif gap(math.log(1e6)) < 0:
        threshold = math.inf
    else:
        threshold = math.exp(optimize.brentq(gap, 0.0, math.log(1e6), xtol=1e-10))
    table = pd.DataFrame({"gamma": g, "p_lower": lower, "p_upper": upper})
    return RosenbaumResult(table, test, statistic, int(d.size), float(alpha), threshold)

"""Result objects of refutation and sensitivity analysis: frozen, each with ``summary()``.

A :class:`RefutationResult` holds the original estimate, the estimates the refuter produced,
what passing means and the rule that gave the verdict.

>>> import numpy as np
>>> from deepcause.results import EffectEstimate
>>> res = RefutationResult(
...     refuter="placebo treatment", original=EffectEstimate(2.0, 0.1, method="IPW", n=500),
...     estimates=np.array([0.05, -0.02, 0.01]), std_errors=np.array([0.1, 0.1, 0.1]),
...     reference=0.0,
...     expectation="the effect of a randomly permuted treatment is 0")
>>> res.passed
True
>>> print(res.summary().as_text().splitlines()[0])
Refutation: placebo treatment
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..._summary import Summary
from ...results import EffectEstimate

__all__ = ["RefutationResult"]


def _fmt(x: float | None) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.4g}"


@dataclass(frozen=True, eq=False)
class RefutationResult:
    """What one refuter did to an estimate, and whether the estimate survived it.

    The verdict compares the refuter's new estimates with a reference value (0 for refuters
    that remove the effect, the original estimate for refuters that should leave it
    unchanged) by the rule ``scale`` names (see :attr:`rule`).

    Parameters
    ----------
    refuter : str
        The refuter's name, e.g. ``"placebo treatment"``.
    original : EffectEstimate
        The estimate on the data as given.
    estimates : array
        The estimates the refuter produced (one per simulation).
    reference : float
        What the new estimates should be close to: ``0.0`` or the original value.
    expectation : str
        What passing means, in words.
    std_errors : array, optional
        Standard errors of the new estimates (used as the scale with one simulation).
    scale : {"standardized", "spread"}
        ``"standardized"`` (refuters whose answer is known, usually 0): each new estimate is
        compared with its own standard error, ``sum(((new_i - reference) / se_i)^2)`` against
        the chi-square(k) quantile — the test that every new estimate is the reference up to
        noise. ``"spread"`` (refuters that should leave the estimate unchanged):
        ``|mean(new) - reference| <= t * sqrt(1 + 1/k) * sd(new)`` with ``t`` the Student
        quantile on ``k - 1`` degrees of freedom: the reference lies inside the refits'
        prediction interval (with few refits ``sd(new)`` is itself noisy, which a normal
        quantile ignores).
    alpha : float
        Level of the check (default 0.05).
    notes : tuple of str
        Facts about the run (number of simulations, failures, the column used, ...).

    Examples
    --------
    >>> import numpy as np
    >>> from deepcause.results import EffectEstimate
    >>> res = RefutationResult("data subsets", EffectEstimate(2.0, 0.1), np.array([1.2, 1.3, 1.25]),
    ...                        reference=2.0, expectation="refits on subsets agree",
    ...                        scale="spread")
    >>> res.passed, res.to_dict()["verdict"]
    (False, 'fail')
    """

    refuter: str
    original: EffectEstimate
    estimates: np.ndarray
    reference: float
    expectation: str
    std_errors: np.ndarray | None = None
    scale: str = "standardized"
    alpha: float = 0.05
    notes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        est = np.array(self.estimates, dtype=float, copy=True).ravel()
        est.flags.writeable = False
        object.__setattr__(self, "estimates", est)
        if self.std_errors is not None:
            se = np.array(self.std_errors, dtype=float, copy=True).ravel()
            se.flags.writeable = False
            object.__setattr__(self, "std_errors", se)
        if self.scale not in ("standardized", "spread"):
            raise ValueError(f"scale must be 'standardized' or 'spread', got {self.scale!r}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        object.__setattr__(self, "notes", tuple(self.notes))

    # ---------------------------------------------------------------- the check
    @property
    def new_value(self) -> float:
        """Mean of the refuter's estimates."""
        finite = self.estimates[np.isfinite(self.estimates)]
        return float(finite.mean()) if finite.size else math.nan

    def _standard_errors(self) -> np.ndarray:
        fallback = math.nan if self.original.std_error is None else self.original.std_error
        if self.std_errors is None:
            return np.full(self.estimates.shape, fallback)
        return np.where(np.isfinite(self.std_errors), self.std_errors, fallback)

    @property
    def statistic(self) -> float:
        """The check's statistic (see :attr:`rule`)."""
        ok = np.isfinite(self.estimates)
        if self.scale == "standardized":
            se = self._standard_errors()[ok]
            if not (se > 0).all():
                return math.inf
            return float(np.sum(((self.estimates[ok] - self.reference) / se) ** 2))
        finite = self.estimates[ok]
        scale = float(np.std(finite, ddof=1)) if finite.size >= 2 else self._standard_errors()[0]
        if not math.isfinite(scale) or scale <= 0:
            return 0.0 if self.new_value == self.reference else math.inf
        return abs(self.new_value - self.reference) / scale

    @property
    def critical_value(self) -> float:
        """The largest passing statistic: a chi-square or a normal quantile."""
        k = int(np.isfinite(self.estimates).sum())
        if self.scale == "standardized":
            return float(stats.chi2.ppf(1 - self.alpha, max(k, 1)))
        if k < 2:  # one refit: its own standard error is the scale
            return float(stats.norm.ppf(1 - self.alpha / 2))
        # the reference inside the refits' (1 - alpha) prediction interval: sd(new) is
        # estimated from k refits, hence Student's t with k - 1 degrees of freedom
        return float(stats.t.ppf(1 - self.alpha / 2, k - 1) * math.sqrt(1 + 1 / k))

    @property
    def passed(self) -> bool:
        """True when the new estimates are within the tolerance of ``reference``."""
        return bool(self.statistic <= self.critical_value)

    @property
    def rule(self) -> str:
        """The verdict's rule in words."""
        ref = _fmt(self.reference)
        if self.scale == "standardized":
            k = int(np.isfinite(self.estimates).sum())
            return (
                f"pass if sum over the k={k} new estimates of ((new - {ref}) / its standard "
                f"error)^2 <= {self.critical_value:.3g}, the chi-square({k}) {1 - self.alpha:g} "
                "quantile (each new estimate is within its own noise of the reference)"
            )
        if self.estimates.size < 2:
            return (
                f"pass if |new - {ref}| <= {self.critical_value:.3g} x the new estimate's "
                f"standard error (alpha = {self.alpha:g})"
            )
        return (
            f"pass if |mean(new) - {ref}| <= {self.critical_value:.3g} x sd(new): {ref} lies "
            f"in the refits' {1 - self.alpha:g} prediction interval (t quantile with k - 1 "
            "degrees of freedom times sqrt(1 + 1/k))"
        )

    # ---------------------------------------------------------------- output
    def to_dict(self) -> dict[str, Any]:
        """Plain-Python (JSON-serialisable) form of the result."""
        finite = self.estimates[np.isfinite(self.estimates)]
        return {
            "refuter": self.refuter,
            "expectation": self.expectation,
            "original": self.original.value,
            "original_std_error": self.original.std_error,
            "new_value": self.new_value,
            "new_sd": float(np.std(finite, ddof=1)) if finite.size >= 2 else None,
            "n_simulations": int(self.estimates.size),
            "reference": self.reference,
            "statistic": self.statistic if math.isfinite(self.statistic) else None,
            "rule": self.rule,
            "verdict": "pass" if self.passed else "fail",
            "notes": list(self.notes),
        }

    def summary(self) -> Summary:
        """A :class:`~deepcause.results.Summary`: what passing means, the estimates, verdict."""
        finite = self.estimates[np.isfinite(self.estimates)]
        sd = float(np.std(finite, ddof=1)) if finite.size >= 2 else None
        if sd is None and self.std_errors is not None and self.std_errors.size:
            sd = float(self.std_errors[0])
        table = pd.DataFrame(
            {
                "estimate": [self.original.value, self.new_value],
                "std_error": [
                    math.nan if self.original.std_error is None else self.original.std_error,
                    math.nan if sd is None else sd,
                ],
            },
            index=["original", f"refuted (k={self.estimates.size})"],
        )
        rows = [
            ("query", self.original.query or self.original.quantity),
            ("method", self.original.method),
            ("passing means", self.expectation),
            ("rule", self.rule),
            ("statistic", _fmt(self.statistic)),
            ("verdict", "PASS" if self.passed else "FAIL"),
        ]
        return Summary(f"Refutation: {self.refuter}", rows, table, list(self.notes))

    def __str__(self) -> str:
        return self.summary().as_text()

    def __repr__(self) -> str:
        verdict = "pass" if self.passed else "fail"
        return (
            f"RefutationResult({self.refuter!r}, original={self.original.value:.4g}, "
            f"new={self.new_value:.4g}, {verdict})"
        )

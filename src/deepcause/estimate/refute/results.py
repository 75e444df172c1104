"""Result objects of refutation and sensitivity analysis: frozen, each with ``summary()``.

A :class:`RefutationResult` holds the original estimate, the estimates the refuter produced,
what passing means and the rule that gave the verdict.

>>> import numpy as np
>>> from deepcause.results import EffectEstimate
>>> res = RefutationResult(
...     refuter="placebo treatment", original=EffectEstimate(2.0, 0.1, method="IPW", n=500),
...     estimates=np.array([0.05, -0.02, 0.01]), reference=0.0,
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

    The verdict compares the mean of the refuter's new estimates with a reference value (0 for
    refuters that remove the effect, the original estimate for refuters that should leave it
    unchanged): the estimate passes when ``|mean(new) - reference| <= z_{1-alpha/2} * scale``.

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
    scale : {"mean", "spread"}
        ``"mean"``: the tolerance is the standard error of the mean of the new estimates (their
        standard deviation over ``sqrt(k)``; with one simulation its own standard error) — the
        test that the new estimates are centred on ``reference``. ``"spread"``: the tolerance
        is the standard deviation of the new estimates — the check that ``reference`` lies
        inside their distribution.
    alpha : float
        Level of the check (default 0.05).
    notes : tuple of str
        Facts about the run (number of simulations, failures, the column used, ...).

    Examples
    --------
    >>> import numpy as np
    >>> from deepcause.results import EffectEstimate
    >>> res = RefutationResult("data subsets", EffectEstimate(2.0, 0.1), np.array([1.2, 1.3]),
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
    scale: str = "mean"
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
        if self.scale not in ("mean", "spread"):
            raise ValueError(f"scale must be 'mean' or 'spread', got {self.scale!r}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        object.__setattr__(self, "notes", tuple(self.notes))

    # ---------------------------------------------------------------- the check
    @property
    def new_value(self) -> float:
        """Mean of the refuter's estimates."""
        finite = self.estimates[np.isfinite(self.estimates)]
        return float(finite.mean()) if finite.size else math.nan

    @property
    def tolerance_scale(self) -> float:
        """The scale the distance to ``reference`` is measured in (see the class docstring)."""
        finite = self.estimates[np.isfinite(self.estimates)]
        k = finite.size
        if k >= 2:
            sd = float(np.std(finite, ddof=1))
            return sd / math.sqrt(k) if self.scale == "mean" else sd
        if self.std_errors is not None and np.isfinite(self.std_errors).any():
            return float(np.nanmean(self.std_errors))
        return math.nan if self.original.std_error is None else float(self.original.std_error)

    @property
    def statistic(self) -> float:
        """``|mean(new) - reference| / scale``."""
        scale = self.tolerance_scale
        if not math.isfinite(scale) or scale <= 0:
            return 0.0 if self.new_value == self.reference else math.inf
        return abs(self.new_value - self.reference) / scale

    @property
    def critical_value(self) -> float:
        """``z_{1-alpha/2}``."""
        return float(stats.norm.ppf(1 - self.alpha / 2))

    @property
    def passed(self) -> bool:
        """True when the new estimates are within the tolerance of ``reference``."""
        return bool(self.statistic <= self.critical_value)

    @property
    def rule(self) -> str:
        """The verdict's rule in words."""
        what = "sd(new)/sqrt(k)" if self.scale == "mean" else "sd(new)"
        if self.estimates.size < 2:
            what = "the new estimate's standard error"
        return (
            f"pass if |mean(new) - {_fmt(self.reference)}| <= {self.critical_value:.3g} x "
            f"{what} (alpha = {self.alpha:g})"
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

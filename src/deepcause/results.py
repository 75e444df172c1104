"""Result objects: frozen, with ``summary()`` for people and ``to_frame()`` for pipelines.

>>> est = EffectEstimate(value=2.0, std_error=0.5, quantity="ATE", method="AIPW", n=100)
>>> lo, hi = est.conf_int(0.05)
>>> round(lo, 3), round(hi, 3)
(1.02, 2.98)
>>> est.to_dict()["value"]
2.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["EffectEstimate"]


def _freeze_array(values: Any) -> np.ndarray | None:
    if values is None:
        return None
    arr = np.array(values, dtype=float, copy=True).ravel()
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class EffectEstimate:
    """A causal effect estimate with its uncertainty.

    Parameters
    ----------
    value : the point estimate.
    std_error : standard error (analytic, e.g. from the influence function, or the bootstrap
        standard deviation). ``None`` when no standard error is available.
    quantity : what was estimated, e.g. ``"ATE"``, ``"ATT"``, ``"ATC"``, ``"E[Y|do(T=1)]"``.
    method : the estimator's name, e.g. ``"AIPW"``.
    n : number of units used.
    estimand : the identified :class:`~deepcause.identification.estimand.Estimand`, when there is one.
    bootstrap : bootstrap replicates of the estimate; when given, ``conf_int`` uses
        percentile intervals (``ci_method="percentile"``) unless ``ci_method="normal"``.
    ci_method : ``"normal"`` (value ± z·se), ``"percentile"`` (bootstrap), or ``"t"`` with
        ``dof`` degrees of freedom.
    dof : degrees of freedom for ``ci_method="t"``.
    diagnostics : free-form read-only mapping (overlap, balance tables, effective sample size,
        first-stage F, ...).
    """

    value: float
    std_error: float | None = None
    quantity: str = "ATE"
    method: str = ""
    n: int = 0
    estimand: Any = None
    bootstrap: np.ndarray | None = None
    ci_method: str | None = None
    dof: float | None = None
    diagnostics: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", float(self.value))
        if self.std_error is not None:
            object.__setattr__(self, "std_error", float(self.std_error))
        object.__setattr__(self, "bootstrap", _freeze_array(self.bootstrap))
        if self.ci_method is None:
            method = "percentile" if self.bootstrap is not None else "normal"
            object.__setattr__(self, "ci_method", method)
        if self.ci_method not in {"normal", "percentile", "t"}:
            raise ValueError(
                f"ci_method must be 'normal', 'percentile' or 't', got {self.ci_method!r}"
            )
        if self.ci_method == "percentile" and self.bootstrap is None:
            raise ValueError("ci_method='percentile' needs bootstrap replicates")
        object.__setattr__(self, "diagnostics", MappingProxyType(dict(self.diagnostics)))

    # ------------------------------------------------------------------ inference
    def conf_int(self, alpha: float = 0.05) -> tuple[float, float]:
        """Two-sided ``1 - alpha`` confidence interval ``(lower, upper)``.

        Returns ``(nan, nan)`` when the estimate carries no uncertainty information.
        """
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        if self.ci_method == "percentile":
            assert self.bootstrap is not None
            boot = self.bootstrap[np.isfinite(self.bootstrap)]
            lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
            return float(lo), float(hi)
        se = self.std_error
        if se is None or not math.isfinite(se):
            return math.nan, math.nan
        if self.ci_method == "t" and self.dof is not None:
            crit = float(stats.t.ppf(1 - alpha / 2, self.dof))
        else:
            crit = float(stats.norm.ppf(1 - alpha / 2))
        return self.value - crit * se, self.value + crit * se

    @property
    def pvalue(self) -> float:
        """Two-sided p-value for the null of no effect (normal or t approximation)."""
        se = self.std_error
        if se is None or not math.isfinite(se) or se == 0:
            return math.nan
        z = abs(self.value / se)
        if self.ci_method == "t" and self.dof is not None:
            return float(2 * stats.t.sf(z, self.dof))
        return float(2 * stats.norm.sf(z))

    # ------------------------------------------------------------------ output
    def to_dict(self, alpha: float = 0.05) -> dict[str, Any]:
        """Plain-Python summary (JSON-serialisable) of the estimate."""
        lo, hi = self.conf_int(alpha)
        return {
            "quantity": self.quantity,
            "method": self.method,
            "value": self.value,
            "std_error": self.std_error,
            "ci_lower": lo,
            "ci_upper": hi,
            "alpha": alpha,
            "ci_method": self.ci_method,
            "pvalue": self.pvalue,
            "n": self.n,
            "estimand": None if self.estimand is None else str(self.estimand),
        }

    def to_frame(self, alpha: float = 0.05) -> pd.DataFrame:
        """One-row tidy DataFrame of the estimate."""
        return pd.DataFrame([self.to_dict(alpha)])

    def summary(self, alpha: float = 0.05) -> str:
        """Readable multi-line table."""
        d = self.to_dict(alpha)
        level = f"{100 * (1 - alpha):g}% CI"
        se = "—" if d["std_error"] is None else f"{d['std_error']:.4g}"
        rows = [
            ("quantity", d["quantity"]),
            ("method", d["method"]),
            ("estimate", f"{d['value']:.6g}"),
            ("std. error", se),
            (f"{level} ({d['ci_method']})", f"[{d['ci_lower']:.6g}, {d['ci_upper']:.6g}]"),
            ("p-value", f"{d['pvalue']:.3g}"),
            ("n", str(d["n"])),
        ]
        if d["estimand"]:
            rows.append(("estimand", d["estimand"]))
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        lo, hi = self.conf_int()
        return (
            f"EffectEstimate({self.quantity}={self.value:.6g}, 95% CI [{lo:.6g}, {hi:.6g}], "
            f"method={self.method!r}, n={self.n})"
        )

"""The :class:`Bounds` result: an interval for a causal quantity that the data cannot pin down."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..._summary import Summary
from ...results import _freeze_array as _frozen

__all__ = ["Bounds"]


@dataclass(frozen=True, eq=False)
class Bounds:
    """Lower and upper bounds on a causal quantity, with bootstrap intervals for the endpoints.

    Parameters
    ----------
    lower, upper : the bounds computed on the data (for samples: on the empirical distribution).
    quantity : ``"probability"``, ``"ate"``, ``"pns"``, ``"pn"`` or ``"ps"``.
    query : readable text of the query, e.g. ``"P(Y=1 | do(X=1))"``.
    method : ``"lp"``, ``"natural"``, ``"balke-pearl"``, ``"tian-pearl"``, ``"monotonicity"`` or
        ``"ncm"`` (neural causal models: an inner approximation, never sharp).
    sharp : whether no narrower interval is compatible with the graph and the data (the
        tightest possible), as opposed to merely valid.
    lower_boot, upper_boot : bootstrap replicates of the endpoints (``None`` for a probability
        table, which has no sampling error).
    alpha : level of the default confidence intervals.
    n : sample size (``None`` for a probability table).
    misfit : L1 distance from the data to the nearest distribution the graph allows (the LP
        bounds then hold for that nearest distribution); 0 when the data fit the graph. For
        ``"ncm"``: the larger L1 distance of the two neural models' distributions to the data
        (discrete data; 0 for continuous data, whose fit is reported in the notes).
    notes : caveats, printed by :meth:`summary`.

    The percentile bootstrap of an endpoint that is a max/min of several expressions is only
    approximately valid near ties; treat the intervals as a guide to the sampling error.

    Examples
    --------
    >>> b = Bounds(-0.2, 0.3, quantity="ate", query="P(Y=1 | do(X=1)) - P(Y=1 | do(X=0))",
    ...            method="lp", sharp=True)
    >>> b.width, b.conf_int()
    (0.5, (-0.2, 0.3))
    >>> print(b)  # doctest: +NORMALIZE_WHITESPACE
    Bounds on P(Y=1 | do(X=1)) - P(Y=1 | do(X=0))
    =============================================
    quantity  ate
    method    lp (sharp)
    width     0.5
    <BLANKLINE>
           bound
    lower  -0.2
    upper  0.3
    """

    lower: float
    upper: float
    quantity: str
    query: str
    method: str
    sharp: bool
    lower_boot: np.ndarray | None = None
    upper_boot: np.ndarray | None = None
    alpha: float = 0.05
    n: int | None = None
    misfit: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lower", float(self.lower))
        object.__setattr__(self, "upper", float(self.upper))
        object.__setattr__(self, "lower_boot", _frozen(self.lower_boot))
        object.__setattr__(self, "upper_boot", _frozen(self.upper_boot))
        object.__setattr__(self, "notes", tuple(self.notes))

    @property
    def width(self) -> float:
        return self.upper - self.lower

    def _quantiles(self, boot: np.ndarray | None, alpha: float, point: float) -> tuple:
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        if boot is None or not np.isfinite(boot).any():
            return (point, point) if self.n is None else (math.nan, math.nan)
        lo, hi = np.quantile(boot[np.isfinite(boot)], [alpha / 2, 1 - alpha / 2])
        return float(lo), float(hi)

    def lower_ci(self, alpha: float | None = None) -> tuple[float, float]:
        """Percentile bootstrap ``1 - alpha`` interval of the lower bound."""
        return self._quantiles(self.lower_boot, self.alpha if alpha is None else alpha, self.lower)

    def upper_ci(self, alpha: float | None = None) -> tuple[float, float]:
        """Percentile bootstrap ``1 - alpha`` interval of the upper bound."""
        return self._quantiles(self.upper_boot, self.alpha if alpha is None else alpha, self.upper)

    def conf_int(self, alpha: float | None = None) -> tuple[float, float]:
        """An interval covering the whole bounded set with probability about ``1 - alpha``:
        the lower end of :meth:`lower_ci` and the upper end of :meth:`upper_ci`."""
        return self.lower_ci(alpha)[0], self.upper_ci(alpha)[1]

    def to_dict(self, alpha: float | None = None) -> dict[str, Any]:
        """Plain-Python (JSON-serialisable) fields."""
        a = self.alpha if alpha is None else alpha
        (ll, lh), (ul, uh) = self.lower_ci(a), self.upper_ci(a)
        return {
            "query": self.query, "quantity": self.quantity, "lower": self.lower,
            "upper": self.upper, "width": self.width, "method": self.method,
            "sharp": self.sharp, "alpha": a, "lower_ci_low": ll, "lower_ci_high": lh,
            "upper_ci_low": ul, "upper_ci_high": uh, "n": self.n, "misfit": self.misfit,
            "notes": list(self.notes),
        }  # fmt: skip

    def to_frame(self, alpha: float | None = None) -> pd.DataFrame:
        """One-row DataFrame of :meth:`to_dict` (notes joined by ``"; "``)."""
        d = self.to_dict(alpha)
        d["notes"] = "; ".join(d["notes"])
        return pd.DataFrame([d])

    def summary(self, alpha: float | None = None) -> Summary:
        """A :class:`~deepcause._summary.Summary` (text, Markdown, HTML, LaTeX): the bounds,
        the bootstrap intervals of the endpoints (samples only) and the caveats as notes.

        >>> b = Bounds(0.1, 0.6, quantity="probability", query="P(Y=1 | do(X=1))",
        ...            method="lp", sharp=True)
        >>> print(b.summary().as_markdown().splitlines()[0])
        **Bounds on P(Y=1 | do(X=1))**
        """
        d = self.to_dict(alpha)
        rows = [("quantity", self.quantity),
                ("method", f"{self.method} ({self._kind()})"),
                ("width", f"{self.width:.6g}")]  # fmt: skip
        if self.n is not None:
            rows.append(("n", str(self.n)))
        if self.misfit > 0:
            rows.append(("misfit", f"{self.misfit:.3g}"))
        table = pd.DataFrame({"bound": [self.lower, self.upper]}, index=["lower", "upper"])
        if self.n is not None and self.lower_boot is not None:
            level = f"{100 * (1 - d['alpha']):g}%"
            table[f"ci_lower ({level})"] = [d["lower_ci_low"], d["upper_ci_low"]]
            table[f"ci_upper ({level})"] = [d["lower_ci_high"], d["upper_ci_high"]]
        return Summary(f"Bounds on {self.query}", rows, table, list(self.notes))

    def _kind(self) -> str:
        if self.sharp:
            return "sharp"
        return "inner approximation, not sharp" if self.method == "ncm" else "valid, not sharp"

    def __str__(self) -> str:
        return self.summary().as_text()

    def __repr__(self) -> str:
        return (
            f"Bounds({self.query}: [{self.lower:.6g}, {self.upper:.6g}], method={self.method!r}, "
            f"sharp={self.sharp})"
        )

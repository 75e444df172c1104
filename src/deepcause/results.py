"""Result objects: frozen, with ``summary()`` for people and ``to_frame()`` for pipelines.

>>> est = EffectEstimate(value=2.0, std_error=0.5, quantity="ATE", method="AIPW", n=100,
...                      query="E[y | do(t=1)] − E[y | do(t=0)]")
>>> lo, hi = est.conf_int(0.05)
>>> round(lo, 3), round(hi, 3)
(1.02, 2.98)
>>> est.coef_table().columns.tolist()
['estimate', 'std_error', 'ci_lower', 'ci_upper', 'p_value']
>>> print(est.summary().as_text().splitlines()[0])
AIPW
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._html import Report, estimate_report
from ._summary import Summary

__all__ = ["EffectEstimate", "Diagnostics", "Summary", "coef_table", "query_label", "POPULATIONS"]

#: population keyword of ``effect``/``mean`` -> short name of the effect
POPULATIONS: Mapping[str, str] = MappingProxyType(
    {"all": "ATE", "treated": "ATT", "controls": "ATC", "overlap": "ATO"}
)
_CONDITION = {"all": "", "treated": "{t}={t1}", "controls": "{t}={t0}", "overlap": "overlap"}
COEF_COLUMNS = ("estimate", "std_error", "ci_lower", "ci_upper", "p_value")


def _freeze_array(values: Any) -> np.ndarray | None:
    if values is None:
        return None
    arr = np.array(values, dtype=float, copy=True).ravel()
    arr.flags.writeable = False
    return arr


_UNSAFE = object()


def _json_safe(value: Any) -> Any:
    """``value`` as plain JSON types, or the ``_UNSAFE`` marker."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        items = {str(k): _json_safe(v) for k, v in value.items()}
        return _UNSAFE if any(v is _UNSAFE for v in items.values()) else items
    if isinstance(value, list | tuple):
        items = [_json_safe(v) for v in value]
        return _UNSAFE if any(v is _UNSAFE for v in items) else items
    return _UNSAFE


def query_label(
    outcome: str, treatment: str, t1: Any = 1, t0: Any = None, population: str = "all"
) -> str:
    """The causal query in words: ``E[y | do(t=1)] − E[y | do(t=0)]``, or a mean with ``t0=None``.

    >>> query_label("y", "t", 1, 0)
    'E[y | do(t=1)] − E[y | do(t=0)]'
    >>> query_label("y", "t", 1, 0, population="treated")
    'E[y | do(t=1), t=1] − E[y | do(t=0), t=1]'
    >>> query_label("re78", "treat", 1)
    'E[re78 | do(treat=1)]'
    """
    cond = _CONDITION.get(population, population).format(t=treatment, t1=1, t0=0)
    cond = f", {cond}" if cond else ""
    mean = f"E[{outcome} | do({treatment}={t1}){cond}]"
    return mean if t0 is None else f"{mean} − E[{outcome} | do({treatment}={t0}){cond}]"


def coef_table(
    estimates: Sequence[float] | np.ndarray,
    std_errors: Sequence[float | None] | np.ndarray,
    index: Sequence[str],
    alpha: float = 0.05,
    dof: float | None = None,
) -> pd.DataFrame:
    """The one coefficient table: ``estimate, std_error, ci_lower, ci_upper, p_value``.

    Normal intervals and p-values, or Student-t ones with ``dof`` degrees of freedom.

    >>> coef_table([2.0], [0.5], ["ATE"]).round(3).iloc[0].tolist()
    [2.0, 0.5, 1.02, 2.98, 0.0]
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    est = np.asarray(estimates, dtype=float)
    se = np.array([np.nan if s is None else s for s in std_errors], dtype=float)
    dist = stats.t(dof) if dof is not None else stats.norm()
    crit = float(dist.ppf(1 - alpha / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, 2 * dist.sf(np.abs(est / se)), np.nan)
    table = np.column_stack([est, se, est - crit * se, est + crit * se, p])
    return pd.DataFrame(table, index=list(index), columns=list(COEF_COLUMNS))


@dataclass(frozen=True)
class Diagnostics:
    """What a fit says about its own reliability (typed; every field optional).

    Parameters
    ----------
    overlap : mapping, optional
        Propensity-score overlap per arm (counts of extreme scores, min/max, share extreme).
    propensity, treatment, weights : arrays, optional
        Estimated propensity scores, the treatment indicator and the implied weights (plots).
    balance : DataFrame, optional
        Standardized mean differences before/after weighting, one row per covariate.
    max_abs_smd_before, max_abs_smd_after : float, optional
        Largest absolute standardized mean difference before/after weighting.
    ess : mapping, optional
        Kish effective sample size per arm.
    first_stage_f : float, optional
        Weak-instrument first-stage F statistic (below 10: weak).
    notes : tuple of str
        Caveats printed as numbered notes in ``summary()`` (e.g. an exclusion warning).
    extra : mapping
        Family-specific facts (instruments used, solver iterations, ...).

    Examples
    --------
    >>> d = Diagnostics.from_mapping({"first_stage_f": 4.2, "instruments": ["z"]})
    >>> d.first_stage_f, d.extra["instruments"]
    (4.2, ['z'])
    >>> d.messages()[0]
    'weak instrument: first-stage F = 4.2 (below 10); the interval may be far too narrow'
    """

    overlap: Mapping[str, Any] | None = None
    propensity: np.ndarray | None = None
    treatment: np.ndarray | None = None
    weights: np.ndarray | None = None
    balance: pd.DataFrame | None = None
    max_abs_smd_before: float | None = None
    max_abs_smd_after: float | None = None
    ess: Mapping[str, float] | None = None
    first_stage_f: float | None = None
    notes: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("propensity", "treatment", "weights"):
            object.__setattr__(self, name, _freeze_array(getattr(self, name)))
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | Diagnostics | None) -> Diagnostics:
        """Sort a mapping's known keys into fields; the rest go to ``extra``."""
        if isinstance(mapping, Diagnostics):
            return mapping
        known = {f.name for f in fields(cls)} - {"extra"}
        items = dict(mapping or {})
        extra = {k: v for k, v in items.items() if k not in known}
        return cls(**{k: v for k, v in items.items() if k in known}, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-serialisable facts: overlap, balance, ESS, SMD, first-stage F, notes.

        Per-unit arrays (propensity, weights) are left out; ``extra`` keeps its JSON-safe
        entries (numbers, strings, lists and mappings of them).

        >>> Diagnostics(first_stage_f=25.0, extra={"k": 2, "model": object()}).to_dict()
        {'first_stage_f': 25.0, 'notes': ['first-stage F = 25'], 'extra': {'k': 2}}
        """
        out: dict[str, Any] = {}
        for name in ("overlap", "max_abs_smd_before", "max_abs_smd_after", "ess"):
            value = getattr(self, name)
            if value is not None:
                out[name] = _json_safe(value)
        if self.first_stage_f is not None:
            out["first_stage_f"] = float(self.first_stage_f)
        if self.balance is not None and len(self.balance):
            out["balance"] = {
                str(k): {c: _json_safe(v) for c, v in row.items()}
                for k, row in self.balance.iterrows()
            }
        out["notes"] = self.messages()
        extra = {k: _json_safe(v) for k, v in self.extra.items()}
        out["extra"] = {k: v for k, v in extra.items() if v is not _UNSAFE}
        return out

    def messages(self) -> list[str]:
        """The diagnostics as sentences, for ``summary()``'s numbered notes."""
        out: list[str] = []
        if self.first_stage_f is not None:
            f = self.first_stage_f
            out.append(
                f"weak instrument: first-stage F = {f:.3g} (below 10); the interval may be far "
                "too narrow"
                if f < 10
                else f"first-stage F = {f:.3g}"
            )
        if self.overlap is not None and self.overlap.get("n_extreme"):
            ov = self.overlap
            out.append(
                f"limited overlap: {ov['n_extreme']} units ({100 * ov['share_extreme']:.1f}%) "
                f"have propensity below {ov['threshold']} or above {1 - ov['threshold']}"
            )
        if self.max_abs_smd_before is not None:
            after = self.max_abs_smd_after
            tail = "" if after is None else f", after weighting {after:.3f}"
            out.append(
                f"max |standardized mean difference| before {self.max_abs_smd_before:.3f}{tail}"
            )
        if self.ess:
            parts = ", ".join(f"{k} {v:.1f}" for k, v in self.ess.items())
            out.append(f"effective sample size: {parts}")
        return out + list(self.notes)


@dataclass(frozen=True, eq=False)
class EffectEstimate:
    """A causal effect (or potential-outcome mean) estimate with its uncertainty.

    Parameters
    ----------
    value : float
        The point estimate.
    std_error : float, optional
        Standard error (analytic, e.g. from the influence function, or the bootstrap standard
        deviation). ``None`` when the estimator has no valid one (then no interval is claimed).
    quantity : str
        Short name of what was estimated: ``"ATE"``, ``"ATT"``, ``"ATC"``, ``"ATO"``, ``"mean"``,
        ``"CATE"``, ``"effect"``.
    method : str
        The estimator's name, e.g. ``"AIPW"``.
    n : int
        Number of units used.
    estimand : Estimand, optional
        The identified estimand, when there is one.
    bootstrap : array, optional
        Bootstrap replicates; then ``conf_int`` uses percentile intervals unless
        ``ci_method="normal"``.
    ci_method : {"normal", "percentile", "t"}
        How the interval is formed (``"t"`` uses ``dof`` degrees of freedom).
    dof : float, optional
        Degrees of freedom for ``ci_method="t"``.
    diagnostics : Diagnostics or mapping
        Overlap, balance, effective sample size, first-stage F, notes (a mapping is converted).
    query : str
        The query in words, e.g. ``E[y | do(t=1)] − E[y | do(t=0)]``.

    Examples
    --------
    >>> e = EffectEstimate(1.0, 0.1, quantity="ATT", method="IPW", n=50)
    >>> e.pvalue < 1e-10, e.to_frame()["quantity"].item()
    (True, 'ATT')
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
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    query: str = ""

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
        object.__setattr__(self, "diagnostics", Diagnostics.from_mapping(self.diagnostics))

    # ------------------------------------------------------------------ inference
    def conf_int(self, alpha: float = 0.05) -> tuple[float, float]:
        """Two-sided ``1 - alpha`` confidence interval ``(lower, upper)``.

        Returns ``(nan, nan)`` when the estimate carries no uncertainty information.
        """
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        if self.ci_method == "percentile" and self.bootstrap is not None:
            boot = self.bootstrap[np.isfinite(self.bootstrap)]
            lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
            return float(lo), float(hi)
        row = self.coef_table(alpha).iloc[0]
        return float(row["ci_lower"]), float(row["ci_upper"])

    @property
    def pvalue(self) -> float:
        """Two-sided p-value for the null of no effect (normal or t approximation)."""
        return float(self.coef_table().iloc[0]["p_value"])

    def coef_table(self, alpha: float = 0.05) -> pd.DataFrame:
        """One-row table ``estimate, std_error, ci_lower, ci_upper, p_value`` (index: quantity)."""
        se = (
            self.std_error if self.std_error is not None and math.isfinite(self.std_error) else None
        )
        dof = self.dof if self.ci_method == "t" else None
        table = coef_table([self.value], [se], [self.quantity], alpha, dof)
        if self.ci_method == "percentile" and self.bootstrap is not None:
            boot = self.bootstrap[np.isfinite(self.bootstrap)]
            table[["ci_lower", "ci_upper"]] = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
        return table

    # ------------------------------------------------------------------ output
    def to_dict(self, alpha: float = 0.05) -> dict[str, Any]:
        """Plain-Python summary (JSON-serialisable) of the estimate."""
        row = self.coef_table(alpha).iloc[0]
        clean = {k: (None if not math.isfinite(v) else float(v)) for k, v in row.items()}
        return {
            "quantity": self.quantity,
            "query": self.query,
            "method": self.method,
            "value": self.value,
            "std_error": self.std_error,
            "ci_lower": clean["ci_lower"],
            "ci_upper": clean["ci_upper"],
            "alpha": alpha,
            "ci_method": self.ci_method,
            "p_value": clean["p_value"],
            "n": self.n,
            "estimand": None if self.estimand is None else str(self.estimand),
            "notes": self.diagnostics.messages(),
            "diagnostics": self.diagnostics.to_dict(),
        }

    def to_frame(self, alpha: float = 0.05) -> pd.DataFrame:
        """One-row tidy DataFrame of the estimate."""
        d = self.to_dict(alpha)
        d["notes"] = "; ".join(d["notes"])
        del d["diagnostics"]
        return pd.DataFrame([d])

    def summary(self, alpha: float = 0.05) -> Summary:
        """A :class:`~deepcause.results.Summary` (text, Markdown, HTML, LaTeX) with notes."""
        rows = [("query", self.query or self.quantity), ("method", self.method), ("n", str(self.n))]
        if self.estimand is not None:
            rows.append(("estimand", str(self.estimand)))
        target = self.diagnostics.extra.get("interval_target") if self.bootstrap is None else None
        interval = f"{100 * (1 - alpha):g}% CI ({self.ci_method})"
        rows.append(("interval", interval + (f" {target}" if target else "")))
        notes = self.diagnostics.messages()
        if self.std_error is None and self.bootstrap is None:
            notes.append(
                f"{self.method or 'this estimator'} reports no valid standard error; call "
                "bootstrap() for an interval"
            )
        return Summary(self.method or "EffectEstimate", rows, self.coef_table(alpha), notes)

    def report(
        self,
        path: str | Path | None = None,
        *,
        alpha: float = 0.05,
        title: str | None = None,
        code: str | None = None,
    ) -> Report:
        """A self-contained HTML report of this estimate; written to ``path`` when given.

        The estimate-only parts: the estimand drawn as mathematics, the estimate table, the
        diagnostics with overlap and balance plots, and ``code`` (how it was made). A result
        does not keep its data or estimator, so the graph, refutations and sensitivity
        analysis come from :func:`deepcause.report.build_report` (or ``deepcause report``).

        Parameters
        ----------
        path : str or Path, optional
            Where to write the HTML file (overwritten if it exists).
        alpha : float, default 0.05
            Level of the confidence interval shown.
        title : str, optional
            The report's title (default: the quantity and the method).
        code : str, optional
            The code that produced the estimate, shown verbatim.

        Returns
        -------
        deepcause.report.Report
            ``.html`` is the document, ``.save(path)`` writes it.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> est = EffectEstimate(2.0, 0.5, quantity="ATE", method="AIPW", n=100)
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "estimate.html"
        >>> est.report(out, code="est = AIPW().fit(df, ...).effect()").titles
        ['Estimand', 'Estimate', 'Diagnostics', 'Reproduce']
        >>> "AIPW().fit(df" in out.read_text(encoding="utf-8")
        True
        """
        rep = estimate_report(self, alpha=alpha, title=title, code=code)
        if path is not None:
            rep.save(path)
        return rep

    def __str__(self) -> str:
        return self.summary().as_text()

    def __repr__(self) -> str:
        lo, hi = self.conf_int()
        return (
            f"EffectEstimate({self.quantity}={self.value:.6g}, 95% CI [{lo:.6g}, {hi:.6g}], "
            f"method={self.method!r}, n={self.n})"
        )

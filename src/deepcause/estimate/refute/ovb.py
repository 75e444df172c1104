"""Omitted-variable bias for linear regression (Cinelli & Hazlett 2020, "Making sense of sensitivity").

For the OLS coefficient of a treatment ``D`` in ``Y ~ D + X``, an omitted confounder ``Z`` with
partial R² ``R²_{D~Z|X}`` with the treatment and ``R²_{Y~Z|D,X}`` with the outcome changes the
estimate by at most ``|bias| = se * sqrt(dof) * sqrt(R²_{Y~Z|D,X} R²_{D~Z|X} / (1 - R²_{D~Z|X}))``.
The summary statistics are the partial R² of the treatment with the outcome ``R²_{Y~D|X}``
(an extreme confounder explaining all the residual outcome variance must explain this much
of the treatment) and the robustness value ``RV_q``: confounders explaining ``RV_q`` of the
residual variance of both treatment and outcome reduce the estimate by ``100 q``%
(``RV_{q,α}``: make it insignificant at level ``α``). A confounder ``k`` times as strong as an
observed covariate ``X_j`` gives the bounds of section 6.1 of the paper.

>>> rv = robustness_value(t_value=4.18445, dof=783)
>>> round(rv, 3)
0.139
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..._plots import _pyplot
from ..._summary import Summary
from ..._validation import require_columns, require_dataframe
from ...exceptions import DataValidationError

__all__ = [
    "OVBResult",
    "ovb_sensitivity",
    "robustness_value",
    "partial_r2",
    "bias_adjusted",
    "benchmark_bounds",
]


def partial_r2(t_value: Any, dof: float) -> Any:
    """Partial R² of a regressor from its t-value: ``t² / (t² + dof)``.

    Examples
    --------
    >>> round(float(partial_r2(4.18445, 783)), 4)
    0.0219
    """
    t2 = np.square(t_value)
    return t2 / (t2 + dof)


def robustness_value(
    t_value: float, dof: float, q: float = 1.0, alpha: float | None = None
) -> float:
    """Robustness value ``RV_q`` (``alpha=None``) or ``RV_{q,alpha}`` (Cinelli & Hazlett 2020).

    Examples
    --------
    >>> round(robustness_value(4.18445, 783, q=1, alpha=0.05), 3)
    0.076
    """
    if not q > 0:
        raise DataValidationError(f"q must be positive, got {q!r}")
    fq = q * abs(t_value) / math.sqrt(dof)
    if alpha is None:
        return float(0.5 * (math.sqrt(fq**4 + 4 * fq**2) - fq**2))
    if not 0 < alpha < 1:
        raise DataValidationError(f"alpha must be in (0, 1), got {alpha!r}")
    f_crit = abs(stats.t.ppf(alpha / 2, dof - 1)) / math.sqrt(dof - 1)
    fqa = fq - f_crit
    if fqa < 0:
        return 0.0
    if fq > 1 / f_crit:
        return float((fq**2 - f_crit**2) / (1 + fq**2))
    return float(0.5 * (math.sqrt(fqa**4 + 4 * fqa**2) - fqa**2))


def bias_adjusted(
    estimate: float,
    std_error: float,
    dof: float,
    r2dz_x: Any,
    r2yz_dx: Any,
    reduce: bool = True,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Estimate, standard error, t and interval adjusted for a confounder of given strength.

    ``r2dz_x`` is ``R²_{D~Z|X}``, ``r2yz_dx`` is ``R²_{Y~Z|D,X}`` (scalars or arrays); the
    bias is taken against the estimate (towards zero) with ``reduce=True``.

    Examples
    --------
    >>> t = bias_adjusted(0.09731582, 0.02325654, 783, 0.05, 0.05)
    >>> round(float(t["adjusted_t"].iloc[0]), 4)
    2.7472
    """
    r2d = np.atleast_1d(np.asarray(r2dz_x, dtype=float))
    r2y = np.atleast_1d(np.asarray(r2yz_dx, dtype=float))
    if ((r2d < 0) | (r2d >= 1)).any() or ((r2y < 0) | (r2y > 1)).any():
        raise DataValidationError("partial R² values must be in [0, 1) for D and [0, 1] for Y")
    bias = std_error * math.sqrt(dof) * np.sqrt(r2y * r2d / (1 - r2d))
    sign = 1.0 if estimate >= 0 else -1.0
    adj = sign * (abs(estimate) - bias) if reduce else sign * (abs(estimate) + bias)
    se = np.sqrt((1 - r2y) / (1 - r2d)) * std_error * math.sqrt(dof / (dof - 1))
    crit = abs(stats.t.ppf(alpha / 2, dof))
    with np.errstate(divide="ignore", invalid="ignore"):  # R²_{Y~Z|D,X} = 1: se = 0
        t_adj = adj / se
    return pd.DataFrame(
        {
            "r2dz_x": r2d + 0 * r2y,
            "r2yz_dx": r2y + 0 * r2d,
            "adjusted_estimate": adj,
            "adjusted_se": se,
            "adjusted_t": t_adj,
            "adjusted_lower": adj - crit * se,
            "adjusted_upper": adj + crit * se,
        }
    )


def benchmark_bounds(
    r2dxj_x: float, r2yxj_dx: float, kd: Any = 1.0, ky: Any = None
) -> pd.DataFrame:
    """Bounds on a confounder ``kd`` (``ky``) times as strong as a covariate ``X_j``.

    ``r2dxj_x`` is the partial R² of ``X_j`` with the treatment given the other covariates,
    ``r2yxj_dx`` that with the outcome given the treatment and the other covariates
    (Cinelli & Hazlett 2020, section 6.1 and appendix B).

    Examples
    --------
    >>> b = benchmark_bounds(partial_r2(-2.680, 783), partial_r2(-9.789, 783), kd=[1, 2])
    >>> b.round(3).values.tolist()
    [[1.0, 1.0, 0.009, 0.125], [2.0, 2.0, 0.018, 0.249]]
    """
    kd = np.atleast_1d(np.asarray(kd, dtype=float))
    ky = kd if ky is None else np.atleast_1d(np.asarray(ky, dtype=float))
    if kd.shape != ky.shape or (kd <= 0).any() or (ky <= 0).any():
        raise DataValidationError("kd and ky must be positive and of the same length")
    r2dz_x = kd * r2dxj_x / (1 - r2dxj_x)
    r2zxj_xd = kd * r2dxj_x**2 / ((1 - kd * r2dxj_x) * (1 - r2dxj_x))
    if (r2dz_x >= 1).any() or (r2zxj_xd >= 1).any():
        raise DataValidationError(
            f"kd = {kd.tolist()} implies a confounder explaining all of the treatment; use "
            "a smaller kd"
        )
    r2yz_dx = ((np.sqrt(ky) + np.sqrt(r2zxj_xd)) / np.sqrt(1 - r2zxj_xd)) ** 2 * (
        r2yxj_dx / (1 - r2yxj_dx)
    )
    return pd.DataFrame({"kd": kd, "ky": ky, "r2dz_x": r2dz_x, "r2yz_dx": np.minimum(r2yz_dx, 1.0)})


# --------------------------------------------------------------------------- OLS
def _design(df: pd.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, list[list[int]]]:
    """Numeric matrix of ``columns`` (categoricals one-hot, first level dropped) and, for each
    column, the positions of its design columns."""
    blocks, groups, pos = [], [], 0
    for c in columns:
        s = df[c]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            block = s.to_numpy(dtype=float)[:, None]
        else:
            block = pd.get_dummies(s.astype("category"), drop_first=True).to_numpy(dtype=float)
        blocks.append(block)
        groups.append(list(range(pos, pos + block.shape[1])))
        pos += block.shape[1]
    X = np.column_stack(blocks) if blocks else np.empty((len(df), 0))
    return X, groups


def _rss(y: np.ndarray, X: np.ndarray) -> tuple[float, np.ndarray, int]:
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    return float(resid @ resid), coef, int(np.linalg.matrix_rank(X))


def _group_r2(y: np.ndarray, X: np.ndarray, drop: Sequence[int]) -> float:
    """Partial R² of the columns ``drop`` of ``X`` in the regression of ``y`` on ``X``."""
    full, _, _ = _rss(y, X)
    restricted, _, _ = _rss(y, np.delete(X, drop, axis=1))
    return 1.0 - full / restricted


def _ols_treatment(y: np.ndarray, Z: np.ndarray) -> tuple[float, float, int]:
    """Coefficient, standard error and residual dof of column 1 (after the intercept)."""
    rss, coef, rank = _rss(y, Z)
    dof = len(y) - rank
    if rank < Z.shape[1] or dof < 2:
        raise DataValidationError(
            "the regression design is rank deficient or has too few rows; drop collinear covariates"
        )
    cov = rss / dof * np.linalg.inv(Z.T @ Z)
    return float(coef[1]), float(math.sqrt(cov[1, 1])), dof


@dataclass(frozen=True, eq=False)
class OVBResult:
    """Cinelli–Hazlett sensitivity of an OLS treatment coefficient to omitted confounders.

    Parameters
    ----------
    treatment, outcome : str
        The regression's treatment and outcome.
    estimate, std_error : float
        The OLS coefficient of the treatment and its (classical) standard error.
    dof : int
        Residual degrees of freedom.
    q, alpha : float
        The share of the estimate to be explained away and the significance level.
    reduce : bool
        Whether confounding is taken to reduce the absolute estimate (default) or increase it.
    bounds : DataFrame
        One row per benchmark (``label, kd, ky, r2dz_x, r2yz_dx`` and the adjusted estimate,
        standard error, t and interval); empty without benchmarks.

    Examples
    --------
    >>> r = OVBResult("d", "y", 0.09731582, 0.02325654, 783)
    >>> round(r.t_value, 2), round(r.rv_q, 3), round(r.rv_qa, 3)
    (4.18, 0.139, 0.076)
    """

    treatment: str
    outcome: str
    estimate: float
    std_error: float
    dof: int
    q: float = 1.0
    alpha: float = 0.05
    reduce: bool = True
    bounds: pd.DataFrame | None = None

    @property
    def t_value(self) -> float:
        """t statistic of the treatment coefficient."""
        return self.estimate / self.std_error

    @property
    def partial_r2_yd(self) -> float:
        """``R²_{Y~D|X}``, the partial R² of the treatment with the outcome."""
        return float(partial_r2(self.t_value, self.dof))

    @property
    def rv_q(self) -> float:
        """Robustness value ``RV_q`` for bringing the estimate to ``(1 - q)`` times itself."""
        return robustness_value(self.t_value, self.dof, self.q)

    @property
    def rv_qa(self) -> float:
        """Robustness value ``RV_{q,alpha}`` for losing significance at level ``alpha``."""
        return robustness_value(self.t_value, self.dof, self.q, self.alpha)

    def adjusted(self, r2dz_x: Any, r2yz_dx: Any) -> pd.DataFrame:
        """The estimate adjusted for confounders of the given partial R² (see
        :func:`bias_adjusted`)."""
        return bias_adjusted(
            self.estimate, self.std_error, self.dof, r2dz_x, r2yz_dx, self.reduce, self.alpha
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form."""
        bounds = [] if self.bounds is None else self.bounds.to_dict(orient="records")
        return {
            "treatment": self.treatment,
            "outcome": self.outcome,
            "estimate": self.estimate,
            "std_error": self.std_error,
            "t_value": self.t_value,
            "dof": self.dof,
            "partial_r2_yd": self.partial_r2_yd,
            "q": self.q,
            "alpha": self.alpha,
            "rv_q": self.rv_q,
            "rv_qa": self.rv_qa,
            "bounds": bounds,
        }

    def summary(self) -> Summary:
        """A :class:`~deepcause.results.Summary`: the minimal report and the benchmark bounds."""
        q, a = f"{self.q:g}", f"{self.alpha:g}"
        rows = [
            ("treatment", self.treatment),
            ("outcome", self.outcome),
            ("estimate (s.e.)", f"{self.estimate:.4g} ({self.std_error:.4g})"),
            ("t-value", f"{self.t_value:.4g}"),
            ("partial R² of treatment with outcome", f"{100 * self.partial_r2_yd:.2f}%"),
            (f"robustness value RV (q={q})", f"{100 * self.rv_q:.2f}%"),
            (f"robustness value RV (q={q}, alpha={a})", f"{100 * self.rv_qa:.2f}%"),
        ]
        notes = [
            f"confounders explaining {100 * self.rv_q:.1f}% of the residual variance of both "
            f"the treatment and the outcome would reduce the estimate by {100 * self.q:.0f}%; "
            "weaker ones could not",
            f"confounders explaining {100 * self.rv_qa:.1f}% of both would make it "
            f"insignificant at level {a}",
        ]
        table = pd.DataFrame() if self.bounds is None else self.bounds.set_index("label")
        return Summary("Sensitivity to omitted variables (Cinelli & Hazlett)", rows, table, notes)

    def plot(self, ax: Any = None, lim: float | None = None, levels: int = 12) -> Any:
        """Contour plot of the adjusted estimate over ``(R²_{D~Z|X}, R²_{Y~Z|D,X})``.

        The red dashed contour is where the estimate is explained away (``(1 - q)`` times
        itself); benchmarks are marked with their labels. Needs matplotlib. Returns the Axes.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> ax = OVBResult("d", "y", 0.0973, 0.0233, 783).plot()
        >>> ax.get_xlabel()
        'partial R² of confounder(s) with the treatment'
        """
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 5))
        top = lim
        if top is None:
            marks = [] if self.bounds is None else list(self.bounds[["r2dz_x", "r2yz_dx"]].max())
            top = min(0.99, max([0.4, *(1.25 * m for m in marks)]))
        grid = np.linspace(0, top, 101)
        gx, gy = np.meshgrid(grid, grid)
        z = self.adjusted(gx.ravel(), gy.ravel())["adjusted_estimate"].to_numpy()
        z = z.reshape(gx.shape)
        contours = ax.contour(gx, gy, z, levels=levels, colors="0.35", linewidths=0.8)
        ax.clabel(contours, fontsize=7)
        target = (1 - self.q) * self.estimate
        if z.min() < target < z.max() or z.min() > target > z.max():
            ax.contour(gx, gy, z, levels=[target], colors="red", linestyles="--", linewidths=1.4)
        ax.plot([0], [0], marker="^", color="black")
        ax.annotate(
            f"unadjusted ({self.estimate:.3g})",
            (0, 0),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize=8,
        )
        if self.bounds is not None:
            for _, row in self.bounds.iterrows():
                ax.plot(row["r2dz_x"], row["r2yz_dx"], marker="D", color="red")
                ax.annotate(
                    f"{row['label']} ({row['adjusted_estimate']:.3g})",
                    (row["r2dz_x"], row["r2yz_dx"]),
                    xytext=(4, 4),
                    textcoords="offset points",
                    fontsize=8,
                    color="red",
                )
        ax.set_xlabel("partial R² of confounder(s) with the treatment")
        ax.set_ylabel("partial R² of confounder(s) with the outcome")
        ax.set_title(f"adjusted estimate of {self.treatment}")
        return ax


def _benchmark_table(
    y: np.ndarray,
    d: np.ndarray,
    X: np.ndarray,
    groups: dict[str, list[int]],
    benchmarks: Sequence[str],
    kd: Any,
    ky: Any,
) -> pd.DataFrame:
    ones = np.ones((len(y), 1))
    full = np.column_stack([ones, d, X])
    parts = []
    for name in benchmarks:
        cols = groups[name]
        r2y = _group_r2(y, full, [2 + c for c in cols])
        r2d = _group_r2(d, np.column_stack([ones, X]), [1 + c for c in cols])
        b = benchmark_bounds(r2d, r2y, kd, ky)
        b.insert(0, "label", [f"{k:g}x {name}" for k in b["kd"]])
        parts.append(b)
    return pd.concat(parts, ignore_index=True)


def _check_inputs(
    data: Any, treatment: str, outcome: str, covariates: list[str], benchmark_covariates: Any
) -> tuple[pd.DataFrame, list[str]]:
    """The regression's columns (validated) and the benchmark names."""
    df = require_dataframe(data)
    benchmarks = (
        [benchmark_covariates]
        if isinstance(benchmark_covariates, str)
        else list(benchmark_covariates or [])
    )
    require_columns(df, [treatment, outcome], role="variable")
    require_columns(df, covariates, role="covariate")
    missing = [b for b in benchmarks if b not in covariates]
    if missing:
        raise DataValidationError(
            f"benchmark covariate(s) {missing} must be among the covariates {covariates}"
        )
    used = df[[treatment, outcome, *covariates]]
    if used.isna().any().any():
        raise DataValidationError("the regression variables contain missing values; drop them")
    return used, benchmarks


def ovb_sensitivity(
    data: pd.DataFrame,
    *,
    treatment: str,
    outcome: str,
    covariates: Sequence[str] = (),
    benchmark_covariates: Sequence[str] | str | None = None,
    kd: Any = (1, 2, 3),
    ky: Any = None,
    q: float = 1.0,
    alpha: float = 0.05,
    reduce: bool = True,
) -> OVBResult:
    """Cinelli & Hazlett (2020) sensitivity analysis of the OLS regression ``Y ~ 1 + D + X``.

    Parameters
    ----------
    data : DataFrame
        The data; non-numeric covariates enter as dummies (first level dropped), as in an R or
        statsmodels formula.
    treatment, outcome : str
        Column names (the treatment may be binary or continuous).
    covariates : list of str
        The regression's covariates ``X``.
    benchmark_covariates : str or list of str, optional
        Covariates whose strength bounds the confounder's (a categorical one as a group).
    kd, ky : float or list of float
        Multiples of the benchmark's partial R² with the treatment (``kd``) and the outcome
        (``ky``, default ``kd``).
    q : float, default 1
        Share of the estimate to explain away for the robustness value.
    alpha : float, default 0.05
        Significance level of ``RV_{q,alpha}`` and of the adjusted intervals.
    reduce : bool, default True
        Confounding pulls the estimate towards zero (``False``: away from it).

    Returns
    -------
    OVBResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(2000); d = x + rng.standard_normal(2000)
    >>> df = pd.DataFrame({"x": x, "d": d, "y": 0.2 * d + 0.5 * x + rng.standard_normal(2000)})
    >>> r = ovb_sensitivity(df, treatment="d", outcome="y", covariates=["x"],
    ...                     benchmark_covariates="x", kd=1)
    >>> round(r.estimate, 1), bool(r.rv_q > 0.15)
    (0.2, True)
    """
    covariates = list(covariates)
    used, benchmarks = _check_inputs(data, treatment, outcome, covariates, benchmark_covariates)
    y = used[outcome].to_numpy(dtype=float)
    d = used[treatment].to_numpy(dtype=float)
    X, cols = _design(used, covariates)
    design = np.column_stack([np.ones(len(y)), d, X])
    est, se, dof = _ols_treatment(y, design)
    result = OVBResult(treatment, outcome, est, se, dof, float(q), float(alpha), bool(reduce))
    if not benchmarks:
        return result
    table = _benchmark_table(y, d, X, dict(zip(covariates, cols)), benchmarks, kd, ky)
    adjusted = result.adjusted(table["r2dz_x"], table["r2yz_dx"]).drop(
        columns=["r2dz_x", "r2yz_dx"]
    )
    bounds = pd.concat([table, adjusted], axis=1)
    return OVBResult(treatment, outcome, est, se, dof, float(q), float(alpha), bool(reduce), bounds)

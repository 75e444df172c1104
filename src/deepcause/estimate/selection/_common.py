"""Shared pieces of the selection estimators: roles, input checks, probit, logistic, sandwich.

Convention for every estimator in :mod:`deepcause.estimate.selection`: the data hold one row
per unit of the *target population*; ``selection`` is a 0/1 column (1 = outcome observed). The
outcome of unselected rows is **ignored** (it may be NaN or anything else: it is never read),
while a selected row with a missing outcome is an error.

Roles (by keyword, as in every estimator of the library): ``outcome``, ``selection``,
``covariates`` (the outcome equation's, or those making selection ignorable), ``treatment``
(optional, binary for the weighting estimators) and ``instruments`` (Heckman: the
selection-only variables of the exclusion restriction; shadow variable: the shadow variable).

>>> from deepcause.simulate import make_selection
>>> df = make_selection(500, "mar", random_state=0).data
>>> d = resolve_selection_data(df, outcome="y", selection="s", covariates=["x"],
...                            treatment="t", instruments=["z"])
>>> d.n, d.covariate_names, d.instrument_names, int(d.s.sum()) == int(df["y"].notna().sum())
(500, ('x',), ('z',), True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit, log_ndtr

from ..._parameters import check_is_fitted
from ..._validation import (
    check_binary,
    check_finite,
    check_not_constant,
    numeric_covariates,
    require_columns,
    require_dataframe,
)
from ...exceptions import DataValidationError, DeepCauseWarning, EstimandNotSupportedError
from ...results import Diagnostics, EffectEstimate, Summary
from .._contract import EffectEstimator

__all__ = [
    "SelectionData",
    "ExclusionRestrictionWarning",
    "resolve_selection_data",
    "probit_fit",
    "mills_ratio",
    "logistic_fit",
    "sandwich",
    "central_jacobian",
]


class ExclusionRestrictionWarning(DeepCauseWarning):
    """The selection equation has no variable excluded from the outcome equation.

    Examples
    --------
    >>> import warnings
    >>> from deepcause.estimate.selection import HeckmanSelection
    >>> from deepcause.simulate import make_selection
    >>> df = make_selection(800, random_state=0).data
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = HeckmanSelection().fit(df, outcome="y", selection="s", covariates=["x", "z"])
    >>> caught[0].category.__name__
    'ExclusionRestrictionWarning'
    """


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


@dataclass(frozen=True)
class SelectionData:
    """Validated arrays of a selection problem: all rows, ``y`` valid where ``s == 1``.

    ``C`` is the intercept and the (numeric, one-hot encoded) covariates, ``t`` the treatment
    (or None) and ``Z`` the instrument columns (possibly none).

    Examples
    --------
    >>> import numpy as np
    >>> d = SelectionData(np.array([1, 0, 1]), np.array([2.0, np.nan, 3.0]), np.ones((3, 1)),
    ...                   (), "y", "s")
    >>> d.n, d.take(np.array([0, 2])).y.tolist()
    (3, [2.0, 3.0])
    """

    s: np.ndarray  # (n,) int 0/1
    y: np.ndarray  # (n,) float, NaN where s == 0
    C: np.ndarray  # (n, 1 + k): intercept and covariates
    covariate_names: tuple[str, ...]
    outcome: str
    selection: str
    t: np.ndarray | None = None
    treatment: str | None = None
    Z: np.ndarray | None = None
    instrument_names: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        """Number of units (selected or not)."""
        return len(self.s)

    def take(self, index: np.ndarray) -> SelectionData:
        """Rows ``index`` (for the bootstrap)."""
        return replace(
            self,
            s=self.s[index],
            y=self.y[index],
            C=self.C[index],
            t=None if self.t is None else self.t[index],
            Z=None if self.Z is None else self.Z[index],
        )


def _check_roles(outcome: str, selection: str, roles: dict[str, list[str]]) -> None:
    seen = {outcome: "outcome", selection: "selection"}
    if outcome == selection:
        raise DataValidationError(f"{outcome!r} is given as both outcome and selection")
    for role, names in roles.items():
        for name in names:
            if name in seen:
                raise DataValidationError(
                    f"column {name!r} is given both as {seen[name]} and as {role}; each column "
                    "can play one role."
                )
            seen[name] = role


def _selection_and_outcome(df: pd.DataFrame, outcome: str, selection: str) -> tuple:
    s = check_binary(df[selection].to_numpy(), name=f"selection indicator {selection!r}")
    if s.sum() < 2 or (s == 0).sum() < 1:
        raise DataValidationError(
            f"selection indicator {selection!r} has {int(s.sum())} selected and "
            f"{int((s == 0).sum())} unselected rows; both groups are needed (keep the "
            "unselected units in the data with their covariates)"
        )
    if not pd.api.types.is_numeric_dtype(df[outcome]):
        raise DataValidationError(f"outcome {outcome!r} must be numeric; encode it")
    y = df[outcome].to_numpy(dtype=float, na_value=np.nan)
    bad = (s == 1) & ~np.isfinite(y)
    if bad.any():
        raise DataValidationError(
            f"outcome {outcome!r} is missing for {int(bad.sum())} selected rows "
            f"({selection} == 1); the outcome must be observed exactly when {selection} == 1 "
            "(values of unselected rows are ignored). Fix the selection indicator or drop "
            "those rows."
        )
    return s, np.where(s == 1, y, np.nan)


def resolve_selection_data(
    data: object,
    *,
    outcome: str | None,
    selection: str | None,
    covariates: Sequence[str] | None = None,
    treatment: str | None = None,
    instruments: Sequence[str] | None = None,
) -> SelectionData:
    """Check the columns and the outcome/selection convention; return :class:`SelectionData`.

    Every role is a column name (or a list of them); categorical covariates are one-hot
    encoded; a column may play one role only.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1.0, None, 2.0, 3.0], "s": [1, 0, 1, 1], "x": [0, 1, 2, 3]})
    >>> d = resolve_selection_data(df, outcome="y", selection="s", covariates=["x"])
    >>> d.C.shape, d.y.tolist()[:2]
    ((4, 2), [1.0, nan])
    >>> resolve_selection_data(df, outcome="y", selection="s", covariates=["s"])
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: column 's' is given both as selection and as covariate; each column can play one role.
    """
    df = require_dataframe(data)
    if outcome is None or selection is None:
        raise DataValidationError("a selection estimator needs outcome= and selection= columns")
    covs, zs = _names(covariates), _names(instruments)
    ts = _names(treatment)
    if len(ts) > 1:
        raise DataValidationError(f"give one treatment column, got {ts}")
    _check_roles(outcome, selection, {"treatment": ts, "covariate": covs, "instrument": zs})
    require_columns(df, [outcome], role="outcome")
    require_columns(df, [selection], role="selection indicator")
    require_columns(df, [*ts, *covs, *zs], role="covariate")
    check_finite(df, [selection, *ts, *covs, *zs])
    s, y = _selection_and_outcome(df, outcome, selection)
    C, names = design(df, covs, "covariate")
    Z = design(df, zs, "instrument")[0][:, 1:] if zs else None
    t = None
    if ts:
        check_not_constant(df, ts, role="treatment")
        if not pd.api.types.is_numeric_dtype(df[ts[0]]):
            raise DataValidationError(f"treatment {ts[0]!r} must be numeric; encode it")
        t = df[ts[0]].to_numpy(dtype=float)
    return SelectionData(
        s, y, C, tuple(names[1:]), outcome, selection, t, ts[0] if ts else None, Z, tuple(zs)
    )


def design(df: pd.DataFrame, columns: Sequence[str], role: str) -> tuple[np.ndarray, list[str]]:
    """Intercept + numeric covariates (categoricals one-hot encoded)."""
    cols = list(columns)
    if cols:
        check_not_constant(df, cols, role=role)
        X, names = numeric_covariates(df, cols)
    else:
        X, names = np.empty((len(df), 0)), []
    return np.column_stack([np.ones(len(df)), X]), ["const", *names]


class SelectionEstimator(EffectEstimator):
    """Base of the selection estimators: roles, ``mean()`` = E[Y], ``summary()``.

    ``mean()`` with no treatment is the population mean ``E[Y]`` over every row, selected or
    not; ``mean(treatment=t)`` is ``E[Y | do(T=t)]`` (estimators fitted with ``treatment=``).
    Subclasses implement ``_prepare``/``_fit_prepared`` and ``_mean_estimate(t)`` and
    ``_effect_estimate(t1, t0)`` returning ``(value, variance)``.

    Examples
    --------
    >>> from deepcause.estimate.selection import SelectionIPW
    >>> from deepcause.simulate import make_selection
    >>> df = make_selection(3000, "mar", random_state=2).data
    >>> est = SelectionIPW().fit(df, outcome="y", selection="s", covariates=["x", "z"],
    ...                          treatment="t")
    >>> [est.mean(treatment=t).query for t in (None, 1)]
    ['E[y]', 'E[y | do(t=1)]']
    >>> print(est.summary().as_text().splitlines()[0])
    IPSW
    """

    _roles: ClassVar[tuple[str, ...]] = (
        "treatment",
        "outcome",
        "covariates",
        "instruments",
        "selection",
    )
    _populations: ClassVar[tuple[str, ...]] = ("all",)
    method_name: ClassVar[str] = ""

    def _refuse_estimand(self, estimand: Any) -> None:
        if estimand is not None:
            raise EstimandNotSupportedError(
                f"{type(self).__name__} takes its roles by keyword (outcome=, selection=, "
                "covariates=, ...), not an estimand"
            )

    def _query_names(self) -> tuple[str, str]:
        return self.data_.outcome, str(self.data_.treatment)

    def _need_treatment(self) -> None:
        if self.data_.t is None:
            raise EstimandNotSupportedError(
                f"{type(self).__name__} was fitted without a treatment; pass treatment= to fit"
            )

    def _mean_estimate(self, t: Any) -> tuple[float, float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _effect_estimate(self, t1: Any, t0: Any) -> tuple[float, float]:  # pragma: no cover
        raise NotImplementedError

    def _diagnostics(self) -> dict[str, Any]:
        return {"n_selected": int(self.data_.s.sum())}

    def _estimate(self, value: float, var: float, quantity: str, query: str = "") -> EffectEstimate:
        return EffectEstimate(
            value=value,
            std_error=float(np.sqrt(max(var, 0.0))),
            quantity=quantity,
            method=self.method_name,
            n=self.data_.n,
            diagnostics=self._diagnostics(),
            query=query,
        )

    def _effect(self, *, treatment: Any, control: Any, population: str, X: Any) -> EffectEstimate:
        self._need_treatment()
        if X is not None:
            raise EstimandNotSupportedError(
                f"{type(self).__name__} estimates population effects; X= is not supported"
            )
        return self._estimate(*self._effect_estimate(treatment, control), "ATE")

    def _mean(self, *, treatment: Any, population: str) -> EffectEstimate:
        if treatment is None:
            value, se = self._mean_estimate(None)
            return self._estimate(value, se, "mean", f"E[{self.data_.outcome}]")
        self._need_treatment()
        return self._estimate(*self._mean_estimate(treatment), "mean")

    def mean(self, *, treatment: Any = None, population: str = "all") -> EffectEstimate:
        """``E[Y]`` over the whole population, or ``E[Y | do(T=treatment)]``.

        Unlike the other families the default is no intervention: ``mean()`` is the
        selection-corrected mean of the outcome over every unit, selected or not.

        Examples
        --------
        >>> from deepcause.estimate.selection import ShadowVariableEstimator
        >>> from deepcause.simulate import make_selection
        >>> ds = make_selection(3000, "outcome", random_state=0)
        >>> m = ShadowVariableEstimator().fit(ds.data, outcome="y", selection="s",
        ...                                   instruments=["w"], covariates=["x"]).mean()
        >>> bool(abs(m.value - ds.truth["E[Y]"]) < 3 * m.std_error)
        True
        """
        return super().mean(treatment=treatment, population=population)

    def _summary_rows(self) -> list[tuple[str, str]]:
        return []

    def _summary_table(self, alpha: float) -> pd.DataFrame:
        rows = [self.mean().coef_table(alpha).rename(index={"mean": f"E[{self.data_.outcome}]"})]
        if self.data_.t is not None:
            rows.append(self.effect().coef_table(alpha))
        return pd.concat(rows)

    def _summary_notes(self) -> list[str]:
        return Diagnostics.from_mapping(self._diagnostics()).messages()

    def summary(self, alpha: float = 0.05) -> Summary:
        """A :class:`~deepcause.results.Summary` with the roles, a table and numbered notes."""
        check_is_fitted(self)
        d = self.data_
        rows = [
            ("outcome", d.outcome),
            ("selection", f"{d.selection} ({int(d.s.sum())} of {d.n} selected)"),
            ("covariates", ", ".join(d.covariate_names) or "none"),
        ]
        if d.treatment is not None:
            rows.append(("treatment", d.treatment))
        rows += self._summary_rows()
        rows.append(("interval", f"{100 * (1 - alpha):g}%"))
        return Summary(self.method_name, rows, self._summary_table(alpha), self._summary_notes())


def mills_ratio(a: np.ndarray) -> np.ndarray:
    """Inverse Mills ratio phi(a) / Phi(a), computed stably for large negative ``a``."""
    return np.exp(-0.5 * a * a - 0.5 * np.log(2 * np.pi) - log_ndtr(a))


def probit_fit(
    W: np.ndarray, s: np.ndarray, max_iter: int = 100, tol: float = 1e-10
) -> tuple[np.ndarray, np.ndarray]:
    """Probit maximum likelihood by Newton's method; returns (gamma, covariance = -H^-1)."""
    gamma = np.zeros(W.shape[1])
    q = 2.0 * s - 1.0
    for _ in range(max_iter):
        a = q * (W @ gamma)
        lam = mills_ratio(a)  # phi(qa)/Phi(qa)
        grad = W.T @ (q * lam)
        weight = lam * (lam + a)
        hess = -(W * weight[:, None]).T @ W
        step = np.linalg.solve(hess, grad)
        gamma = gamma - step
        if np.max(np.abs(step)) < tol:
            break
    else:  # pragma: no cover - probit Newton converges in a few steps unless separated
        raise DataValidationError(
            "the selection probit did not converge (perfect prediction of selection by a "
            "covariate?); drop or coarsen covariates that determine selection exactly"
        )
    a = q * (W @ gamma)
    lam = mills_ratio(a)
    hess = -(W * (lam * (lam + a))[:, None]).T @ W
    return gamma, np.linalg.inv(-hess)


def logistic_fit(X: np.ndarray, s: np.ndarray, ridge: float = 0.0) -> np.ndarray:
    """Logistic regression coefficients (intercept column included in ``X``) by L-BFGS."""

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        eta = X @ beta
        val = np.sum(np.logaddexp(0.0, eta) - s * eta) + 0.5 * ridge * beta[1:] @ beta[1:]
        grad = X.T @ (expit(eta) - s)
        grad[1:] += ridge * beta[1:]
        return float(val), grad

    res = optimize.minimize(
        loss,
        np.zeros(X.shape[1]),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 1000, "gtol": 1e-10},
    )
    return res.x


def central_jacobian(
    fun: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """Jacobian of the vector function ``fun`` at ``theta`` by central differences.

    >>> J = central_jacobian(lambda v: np.array([v[0] * v[1], v[1] ** 2]), np.array([2.0, 3.0]))
    >>> np.round(J, 6).tolist()
    [[3.0, 2.0], [0.0, 6.0]]
    """
    columns = []
    for j in range(len(theta)):
        step = eps * max(1.0, abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] += step
        down[j] -= step
        columns.append((np.asarray(fun(up)) - np.asarray(fun(down))) / (2 * step))
    return np.column_stack(columns)


def sandwich(
    psi: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """M-estimation covariance ``A^-1 B A^-T / n`` of stacked estimating functions.

    ``psi(theta)`` returns the (n, k) per-unit estimating functions whose mean is zero at the
    estimate; ``A`` (mean Jacobian) is taken by central differences.
    """
    base = psi(theta)
    n = base.shape[0]
    A = central_jacobian(lambda th: psi(th).mean(0), theta, eps)
    B = base.T @ base / n
    A_inv = np.linalg.inv(A)
    return A_inv @ B @ A_inv.T / n

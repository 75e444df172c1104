"""Shared pieces of the selection estimators: input checks, probit, logistic, sandwich.

Convention for every estimator in :mod:`deepcause.estimate.selection`: the data hold one row
per unit of the *target population*; ``selection`` is a 0/1 column (1 = outcome observed). The
outcome of unselected rows is **ignored** (it may be NaN or anything else: it is never read),
while a selected row with a missing outcome is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit, log_ndtr

from ..._validation import (
    check_binary,
    check_finite,
    check_not_constant,
    numeric_covariates,
    require_columns,
    require_dataframe,
)
from ...exceptions import DataValidationError, DeepCauseWarning

__all__ = [
    "SelectionData",
    "ExclusionRestrictionWarning",
    "resolve_selection_data",
    "probit_fit",
    "mills_ratio",
    "logistic_fit",
    "sandwich",
]


class ExclusionRestrictionWarning(DeepCauseWarning):
    """The selection equation has no variable excluded from the outcome equation."""


@dataclass(frozen=True)
class SelectionData:
    """Validated arrays: all rows for the selection part, ``y`` valid where ``s == 1``."""

    s: np.ndarray  # (n,) int 0/1
    y: np.ndarray  # (n,) float, NaN where s == 0
    outcome: str
    selection: str


def resolve_selection_data(
    data: object, outcome: str, selection: str, used: Sequence[str]
) -> tuple[pd.DataFrame, SelectionData]:
    """Check columns and the outcome/selection convention; return the frame and arrays."""
    df = require_dataframe(data)
    require_columns(df, [outcome], role="outcome")
    require_columns(df, [selection], role="selection indicator")
    require_columns(df, list(used), role="covariate")
    check_finite(df, [selection, *used])
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
    y = np.where(s == 1, y, np.nan)
    return df, SelectionData(s=s, y=y, outcome=outcome, selection=selection)


def design(df: pd.DataFrame, columns: Sequence[str], role: str) -> tuple[np.ndarray, list[str]]:
    """Intercept + numeric covariates (categoricals one-hot encoded)."""
    cols = list(columns)
    if cols:
        check_not_constant(df, cols, role=role)
        X, names = numeric_covariates(df, cols)
    else:
        X, names = np.empty((len(df), 0)), []
    return np.column_stack([np.ones(len(df)), X]), ["const", *names]


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


def sandwich(
    psi: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """M-estimation covariance ``A^-1 B A^-T / n`` of stacked estimating functions.

    ``psi(theta)`` returns the (n, k) per-unit estimating functions whose mean is zero at the
    estimate; ``A`` (mean Jacobian) is taken by central differences.
    """
    base = psi(theta)
    n, k = base.shape
    A = np.empty((k, k))
    for j in range(k):
        step = eps * max(1.0, abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] += step
        down[j] -= step
        A[:, j] = (psi(up).mean(0) - psi(down).mean(0)) / (2 * step)
    B = base.T @ base / n
    A_inv = np.linalg.inv(A)
    return A_inv @ B @ A_inv.T / n

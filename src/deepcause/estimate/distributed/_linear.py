"""Exact linear and logistic fits from sufficient statistics reduced across partitions.

The user passes scikit-learn's ``LinearRegression``, ``Ridge`` or ``LogisticRegression``; the
Dask engine reads its hyper-parameters (:func:`linear_spec`) and minimizes the same objective:

* ``LinearRegression``: least squares (minimum-norm solution when rank deficient), from the
  Gram matrix of ``[1, X, y]``;
* ``Ridge(alpha)``: ``||y - X w - b||^2 + alpha ||w||^2`` (intercept unpenalized);
* ``LogisticRegression(C, l1_ratio=0)``: ``C * sum(log-loss) + ||w||^2 / 2`` (``C=inf`` or
  ``penalty=None``: no penalty), by Newton's method (iteratively reweighted least squares)
  with one pass over the data per iteration, run to machine precision.

>>> import numpy as np
>>> from sklearn.linear_model import Ridge
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(50, 2)); y = X @ [1.0, -2.0] + 0.5 + rng.normal(size=50)
>>> A = np.column_stack([np.ones(50), X, y])
>>> coef = solve_gram(A.T @ A, linear_spec(Ridge(alpha=3.0), "outcome_model"))
>>> bool(np.allclose(coef, np.r_[Ridge(alpha=3.0).fit(X, y).intercept_,
...                               Ridge(alpha=3.0).fit(X, y).coef_]))
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

from ...exceptions import DataValidationError

__all__ = ["LinearSpec", "linear_spec", "solve_gram", "newton_step", "sigmoid"]


@dataclass(frozen=True)
class LinearSpec:
    """What the engine fits: ``kind`` ``"ols"``, ``"ridge"`` or ``"logistic"``.

    ``penalty`` is Ridge's ``alpha`` or ``1 / C`` for the logistic regression (0: none).
    """

    kind: str
    penalty: float
    fit_intercept: bool


def _refuse(model: Any, role: str) -> DataValidationError:
    boosted = ", or XGBoost's XGBRegressor/XGBClassifier (or their Dask classes)"
    if role in ("model", "control_model"):  # the T-learner: both arms linear or both XGBoost
        boosted = ", or XGBRegressor for both arms"
    return DataValidationError(
        f"the Dask engine fits {role} exactly from distributed sufficient statistics and takes "
        f"LinearRegression or Ridge (outcomes) and LogisticRegression with an L2 penalty "
        f"(propensity){boosted}, got {model!r}; pass one of those, or compute() a sample and "
        "use the in-memory path"
    )


def linear_spec(model: Any, role: str) -> LinearSpec:
    """The :class:`LinearSpec` of a scikit-learn linear model, or a one-line refusal.

    >>> from sklearn.linear_model import LogisticRegression
    >>> linear_spec(LogisticRegression(C=0.5), "propensity_model")
    LinearSpec(kind='logistic', penalty=2.0, fit_intercept=True)
    """
    params = model.get_params(deep=False) if hasattr(model, "get_params") else {}
    if type(model) is LinearRegression and not params["positive"]:
        return LinearSpec("ols", 0.0, bool(params["fit_intercept"]))
    if type(model) is Ridge and not params["positive"] and np.isscalar(params["alpha"]):
        return LinearSpec("ridge", float(params["alpha"]), bool(params["fit_intercept"]))
    if type(model) is LogisticRegression and params.get("class_weight") is None:
        penalty = params.get("penalty", "deprecated")
        l1_ratio = params.get("l1_ratio")
        if penalty in ("l2", "deprecated") and l1_ratio in (0, 0.0, None):
            C = float(params["C"])
            return LinearSpec("logistic", 0.0 if np.isinf(C) else 1.0 / C, params["fit_intercept"])
        if penalty is None:
            return LinearSpec("logistic", 0.0, bool(params["fit_intercept"]))
    raise _refuse(model, role)


def _penalty_matrix(spec: LinearSpec, size: int) -> np.ndarray:
    """Penalty on the coefficients of ``[1, X]`` (never on the intercept)."""
    diag = np.full(size, spec.penalty)
    diag[0] = 0.0
    return np.diag(diag)


def solve_gram(gram: np.ndarray, spec: LinearSpec) -> np.ndarray:
    """Coefficients ``[b, w]`` of a linear fit from the Gram matrix of ``[1, X, y]``.

    Without an intercept ``b`` is 0. Centring happens on the Gram matrix (as scikit-learn
    centres the data) and the centred system is solved by least squares, which gives
    ``LinearRegression``'s minimum-norm solution when the covariates are collinear.
    """
    p = gram.shape[0] - 2
    n = gram[0, 0]
    XX, Xy = gram[1 : p + 1, 1 : p + 1], gram[1 : p + 1, p + 1]
    sx, sy = gram[0, 1 : p + 1], gram[0, p + 1]
    if spec.fit_intercept:
        XX = XX - np.outer(sx, sx) / n
        Xy = Xy - sx * sy / n
    w = np.linalg.lstsq(XX + spec.penalty * np.eye(p), Xy, rcond=None)[0]
    b = (sy - sx @ w) / n if spec.fit_intercept else 0.0
    return np.r_[b, w]


def sigmoid(eta: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function."""
    out = np.empty_like(eta, dtype=float)
    pos = eta >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-eta[pos]))
    z = np.exp(eta[~pos])
    out[~pos] = z / (1.0 + z)
    return out


def newton_step(
    beta: np.ndarray, score: np.ndarray, info: np.ndarray, spec: LinearSpec
) -> np.ndarray:
    """Newton step of the penalized logistic objective ``sum(log-loss) + penalty ||w||^2 / 2``.

    ``score = sum x (t - p)`` and ``info = sum p (1 - p) x x'`` over ``[1, X]`` at ``beta``;
    without an intercept the first coefficient stays 0.
    """
    size = len(beta)
    P = _penalty_matrix(spec, size)
    grad = score - P @ beta
    hess = info + P
    if not spec.fit_intercept:
        grad, hess = grad[1:], hess[1:, 1:]
        return np.r_[0.0, np.linalg.solve(hess, grad)]
    return np.linalg.solve(hess, grad)

"""Pieces shared by the stable-learning weightings and regressors: input checks, the effective
sample size, the weighting base class and the test of a linear model's specification."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..exceptions import DataValidationError, NotFittedError
from ._features import BoundedPolynomialFeatures

__all__ = [
    "BaseWeights",
    "check_X",
    "default_nonlinear_regressor",
    "effective_sample_size",
    "misspecification_pvalue",
]


def effective_sample_size(weights: Any) -> float:
    """Kish effective sample size ``(sum w)^2 / sum w^2``.

    >>> effective_sample_size([1.0, 1.0, 1.0, 1.0]), effective_sample_size([1.0, 0.0, 0.0, 0.0])
    (4.0, 1.0)
    """
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / np.sum(w * w))


def check_X(X: Any, minimum_columns: int = 2) -> np.ndarray:
    """``X`` as a finite 2-d float array with at least 10 rows and no constant column.

    >>> check_X([[1, 2]] * 12)
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: X columns [0, 1] are constant; drop them
    """
    arr = np.asarray(X, dtype=float)
    if arr.ndim != 2 or arr.shape[0] < 10 or arr.shape[1] < minimum_columns:
        raise DataValidationError(
            f"X must be a 2-d array with at least 10 rows and {minimum_columns} columns; got "
            f"shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise DataValidationError("X contains NaN or infinite values; impute or drop them")
    sd = arr.std(0)
    if np.any(sd == 0):
        raise DataValidationError(
            f"X columns {np.flatnonzero(sd == 0).tolist()} are constant; drop them"
        )
    return arr


class BaseWeights(BaseEstimator):
    """Base of the weightings: ``_store`` sets ``weights_`` (mean 1) and their ESS.

    >>> class Uniform(BaseWeights):
    ...     def fit(self, X, y=None):
    ...         self._store(np.full(len(X), 2.0))
    ...         return self
    >>> Uniform().fit_weights(np.zeros((3, 2))).tolist(), Uniform().fit(np.zeros((3, 2))).ess_
    ([1.0, 1.0, 1.0], 3.0)
    """

    def _store(self, w: np.ndarray) -> None:
        w = np.asarray(w, dtype=float)
        self.weights_ = w / w.mean()
        self.effective_sample_size_ = effective_sample_size(self.weights_)

    def fit_weights(self, X: Any) -> np.ndarray:
        """``fit(X).weights_``."""
        return self.fit(X).weights_

    @property
    def ess_(self) -> float:
        """The effective sample size of the fitted weights."""
        if not hasattr(self, "weights_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit() first")
        return self.effective_sample_size_


def default_nonlinear_regressor() -> Any:
    """Ridge (``alpha=10``) on the standardized degree-3 polynomial (at most 2,000 columns).

    >>> default_nonlinear_regressor().steps[-1][0]
    'ridge'
    """
    return make_pipeline(BoundedPolynomialFeatures(3), StandardScaler(), Ridge(alpha=10.0))


def misspecification_pvalue(
    X: np.ndarray, y: np.ndarray, regressor: Any, n_folds: int, random_state: Any
) -> float:
    """One-sided p-value of H0: the linear model of ``y`` on ``X`` is correctly specified.

    The OLS residuals are predicted from ``X`` by ``regressor`` out of fold; under H0 the
    out-of-fold predictions are independent noise, so their correlation with the residuals
    is zero (t test of the slope of the residual on the prediction).

    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2))
    >>> reg = default_nonlinear_regressor()
    >>> misspecification_pvalue(X, X[:, 0] ** 2 + rng.normal(size=400), reg, 2, 0) < 1e-6
    True
    """
    from scipy import stats

    resid = y - LinearRegression().fit(X, y).predict(X)
    folds = KFold(int(n_folds), shuffle=True, random_state=random_state)
    pred = cross_val_predict(clone(regressor), X, resid, cv=folds)
    pred = pred - pred.mean()
    if not np.any(pred):
        return 1.0
    slope = float(pred @ resid / (pred @ pred))
    e = resid - slope * pred
    se = float(np.sqrt(e @ e / (len(y) - 2) / (pred @ pred)))
    return float(stats.norm.sf(slope / se))

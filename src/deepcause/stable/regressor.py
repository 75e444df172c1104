"""Any scikit-learn regressor trained on decorrelation-weighted samples."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import LinearRegression

from ..exceptions import DataValidationError, NotFittedError
from .weights import NonlinearDecorrelationWeights

__all__ = ["StableRegressor"]


class StableRegressor(RegressorMixin, BaseEstimator):
    """Fit ``estimator`` with ``sample_weight`` from a decorrelation ``weighting``.

    ``weighting`` is any object with ``fit(X)`` setting ``weights_`` (default
    :class:`~deepcause.stable.NonlinearDecorrelationWeights`); ``estimator`` any regressor
    whose ``fit`` accepts ``sample_weight`` (default ``LinearRegression``). Fitted attributes:
    ``estimator_``, ``weighting_``, ``weights_``, ``effective_sample_size_``, and ``coef_`` /
    ``intercept_`` when the estimator has them.

    >>> from deepcause.stable import DWRWeights, make_selection_bias
    >>> X, y, info = make_selection_bias(300, p=10, r=2.5, random_state=0)
    >>> model = StableRegressor(weighting=DWRWeights()).fit(X, y)
    >>> model.predict(X[:2]).shape, model.effective_sample_size_ <= 300
    ((2,), True)
    """

    def __init__(self, estimator: Any = None, weighting: Any = None) -> None:
        self.estimator = estimator
        self.weighting = weighting

    def fit(self, X: Any, y: Any) -> StableRegressor:
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float).ravel()
        if len(X) != len(y):
            raise DataValidationError(f"X has {len(X)} rows but y has {len(y)} values")
        if not np.all(np.isfinite(y)):
            raise DataValidationError("y contains NaN or infinite values")
        weighting = (
            NonlinearDecorrelationWeights() if self.weighting is None else clone(self.weighting)
        )
        self.weighting_ = weighting.fit(X)
        self.weights_ = np.asarray(self.weighting_.weights_, dtype=float)
        self.effective_sample_size_ = float(self.weights_.sum() ** 2 / np.sum(self.weights_**2))
        est = LinearRegression() if self.estimator is None else clone(self.estimator)
        try:
            est.fit(X, y, sample_weight=self.weights_)
        except TypeError as exc:
            raise DataValidationError(
                f"{type(est).__name__}.fit does not accept sample_weight; use an estimator "
                "that does (LinearRegression, Ridge, Lasso, gradient boosting, ...)"
            ) from exc
        self.estimator_ = est
        for attr in ("coef_", "intercept_"):
            if hasattr(est, attr):
                setattr(self, attr, getattr(est, attr))
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: Any) -> np.ndarray:
        if not hasattr(self, "estimator_"):
            raise NotFittedError("StableRegressor is not fitted yet; call fit() first")
        return self.estimator_.predict(np.asarray(X, dtype=float))

"""Any scikit-learn regressor trained on decorrelation-weighted samples."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import LinearRegression

from ..exceptions import DataValidationError, NotFittedError
from .weights import NonlinearDecorrelationWeights

__all__ = ["StableRegressor"]


def _misspecification_pvalue(
    X: np.ndarray, y: np.ndarray, regressor: Any, n_folds: int, random_state: Any
) -> float:
    """One-sided p-value of H0: the linear model is correctly specified.

    The OLS residuals are predicted from ``X`` by ``regressor`` out of fold; under H0 the
    out-of-fold predictions are independent noise, so their correlation with the residuals
    is zero (t test of the slope of the residual on the prediction).
    """
    from scipy import stats
    from sklearn.model_selection import KFold, cross_val_predict

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


def _default_nonlinear_regressor() -> Any:
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    return make_pipeline(
        PolynomialFeatures(3, include_bias=False), StandardScaler(), Ridge(alpha=10.0)
    )


class StableRegressor(RegressorMixin, BaseEstimator):
    """Fit ``estimator`` with ``sample_weight`` from a decorrelation ``weighting``.

    ``weighting`` is any object with ``fit(X)`` setting ``weights_`` (default
    :class:`~deepcause.stable.NonlinearDecorrelationWeights`); ``estimator`` any regressor
    whose ``fit`` accepts ``sample_weight`` (default ``LinearRegression``). Fitted attributes:
    ``estimator_``, ``weighting_``, ``weights_`` and ``effective_sample_size_`` (of the
    weights actually used in the fit), and ``coef_`` / ``intercept_`` when the estimator has
    them.

    ``do_no_harm=True`` (linear least squares only) first tests whether the linear model is
    misspecified: reweighting only buys stability when it is (Kuang et al. 2020); when it is
    correctly specified, unweighted least squares is unbiased in every environment and more
    efficient. The OLS residuals are predicted out of fold by ``nonlinear_regressor``
    (default: ridge on a degree-3 polynomial); if the predictions do not correlate with the
    residuals (one-sided test at level ``alpha``) the unweighted fit is kept and no weights are
    computed. Sets ``misspecification_pvalue_`` and ``used_weights_``.

    >>> from deepcause.stable import DWRWeights, make_selection_bias
    >>> X, y, info = make_selection_bias(300, p=10, r=2.5, random_state=0)
    >>> model = StableRegressor(weighting=DWRWeights()).fit(X, y)
    >>> model.predict(X[:2]).shape, model.effective_sample_size_ <= 300
    ((2,), True)
    """

    def __init__(
        self,
        estimator: Any = None,
        weighting: Any = None,
        do_no_harm: bool = False,
        alpha: float = 0.01,
        nonlinear_regressor: Any = None,
        random_state: int | None = 0,
    ) -> None:
        self.estimator = estimator
        self.weighting = weighting
        self.do_no_harm = do_no_harm
        self.alpha = alpha
        self.nonlinear_regressor = nonlinear_regressor
        self.random_state = random_state

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
        est = LinearRegression() if self.estimator is None else clone(self.estimator)
        self.used_weights_ = True
        if self.do_no_harm:
            if not isinstance(est, LinearRegression):
                raise DataValidationError(
                    "do_no_harm=True compares weighted and unweighted least squares; use "
                    "estimator=None or LinearRegression()"
                )
            reg = (
                _default_nonlinear_regressor()
                if self.nonlinear_regressor is None
                else self.nonlinear_regressor
            )
            self.misspecification_pvalue_ = _misspecification_pvalue(
                X, y, reg, 2, self.random_state
            )
            self.used_weights_ = self.misspecification_pvalue_ < float(self.alpha)
        if self.used_weights_:
            self.weighting_ = weighting.fit(X)
            sample_weight = np.asarray(self.weighting_.weights_, dtype=float)
        else:  # correctly specified: the weights are not needed and not computed
            self.weighting_ = weighting
            sample_weight = np.ones(len(y))
        self.weights_ = sample_weight
        self.effective_sample_size_ = float(sample_weight.sum() ** 2 / np.sum(sample_weight**2))
        try:
            est.fit(X, y, sample_weight=sample_weight)
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

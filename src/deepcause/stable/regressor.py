"""Any scikit-learn regressor trained on decorrelation-weighted samples, or refitted on the
stable variables found by :class:`StableVariableSelector`."""

from __future__ import annotations

from inspect import signature
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.feature_selection import SelectorMixin
from sklearn.linear_model import LinearRegression

from ..exceptions import DataValidationError, NotFittedError
from ._base import check_X, default_nonlinear_regressor, misspecification_pvalue
from ._features import check_fitted_X
from .weights import NonlinearDecorrelationWeights, _poly_ridge_drop_one_predictions

__all__ = ["StableRegressor", "StableVariableSelector"]


class StableVariableSelector(SelectorMixin, BaseEstimator):
    """Select the variables ``y`` depends on given all the others (its Markov blanket).

    Stable learning assumes ``P(y | S)`` is the same in every environment and the unstable
    variables ``V`` carry no information on ``y`` beyond ``S`` (``y`` independent of ``V``
    given ``S``): ``V`` predicts ``y`` in the training data only through its dependence on
    ``S``, which changes between environments. ``S`` is then the Markov blanket of ``y``
    among the columns and can be found from training data alone, by testing
    ``y _||_ x_j | x_{-j}`` for every ``j``.

    Test: generalised covariance measure (Shah and Peters 2020). ``y`` and ``x_j`` are both
    predicted from the other active columns out of fold (``n_folds`` cross-fitting; ridge
    regression, ``ridge_alpha``, on their standardized polynomial of ``degree``), and the
    mean of the product of the two residuals is tested against zero (normal approximation).
    The test needs both regressions to have little bias (their errors multiply), hence a
    lighter ridge penalty than the decorrelation weights use.
    Backward elimination: the variables that are clearly independent (p-value above 0.5)
    and the least dependent one are dropped while any p-value exceeds ``alpha / p``
    (Bonferroni over the ``p`` columns, so that a variable independent of ``y`` is kept
    with probability at most about ``alpha``), and the tests are redone on the remaining
    columns (the fewer the columns, the better the nonlinear regressions).

    The linear model refitted on the selected columns without weights keeps the full
    sample size (see ``StableRegressor(select_variables=True)``). Caveat: a variable that is
    an effect of ``y`` is in its Markov blanket and would be kept.

    Fitted: ``support_`` (mask of the selected columns; ``get_support()``, ``transform``),
    ``statistics_`` and ``pvalues_`` (of the last test of each column), ``n_rounds_``.

    >>> from deepcause.simulate import make_covariate_shift
    >>> ds = make_covariate_shift(1000, p=10, r=2.5, random_state=0)
    >>> X, y = ds.data[list(ds.covariates)].to_numpy(), ds.data["y"].to_numpy()
    >>> sel = StableVariableSelector().fit(X, y)
    >>> bool((sel.support_ == ds.truth["stable"]).all()), sel.transform(X).shape
    (True, (1000, 5))
    """

    def __init__(
        self,
        alpha: float = 0.01,
        degree: int = 3,
        ridge_alpha: float = 1.0,
        n_folds: int = 5,
        random_state: int | None = None,
    ) -> None:
        self.alpha = alpha
        self.degree = degree
        self.ridge_alpha = ridge_alpha
        self.n_folds = n_folds
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> StableVariableSelector:
        from scipy import stats

        X = check_X(X, minimum_columns=1)
        y = np.asarray(y, dtype=float).ravel()
        if len(X) != len(y):
            raise DataValidationError(f"X has {len(X)} rows but y has {len(y)} values")
        if not np.all(np.isfinite(y)):
            raise DataValidationError("y contains NaN or infinite values")
        if not 0 < float(self.alpha) < 1:
            raise DataValidationError(f"alpha must be in (0, 1); got {self.alpha!r}")
        if isinstance(self.n_folds, bool) or int(self.n_folds) < 2:
            raise DataValidationError(f"n_folds must be an integer >= 2; got {self.n_folds!r}")
        n, p = X.shape
        active = np.arange(p)
        statistics = np.zeros(p)
        pvalues = np.ones(p)
        rounds = 0
        while active.size:
            rounds += 1
            Xa = X[:, active]
            targets = [np.column_stack([y, Xa[:, j]]) for j in range(active.size)]
            preds = _poly_ridge_drop_one_predictions(
                Xa,
                targets,
                degree=int(self.degree),
                alpha=float(self.ridge_alpha),
                n_folds=int(self.n_folds),
                random_state=self.random_state,
            )
            prod = np.column_stack([np.prod(t - g, axis=1) for t, g in zip(targets, preds)])
            sd = prod.std(0)
            stat = np.sqrt(n) * prod.mean(0) / np.where(sd > 0, sd, np.inf)
            pval = 2.0 * stats.norm.sf(np.abs(stat))
            statistics[active], pvalues[active] = stat, pval
            if pval.max() <= float(self.alpha) / p:
                break
            drop = pval > 0.5
            drop[np.argmax(pval)] = True
            active = active[~drop]
        self.support_ = np.zeros(p, dtype=bool)
        self.support_[active] = True
        self.statistics_, self.pvalues_, self.n_rounds_ = statistics, pvalues, rounds
        self.n_features_in_ = p
        return self

    def _get_support_mask(self) -> np.ndarray:
        if not hasattr(self, "support_"):
            raise NotFittedError("StableVariableSelector is not fitted yet; call fit() first")
        return self.support_


class StableRegressor(RegressorMixin, BaseEstimator):
    """Fit ``estimator`` with ``sample_weight`` from a decorrelation ``weighting``.

    ``weighting`` is any object with ``fit(X)`` setting ``weights_`` (default
    :class:`~deepcause.stable.NonlinearDecorrelationWeights`; when its ``fit`` takes ``y``
    and ``do_no_harm`` is off it gets ``fit(X, y)``, which lets
    :class:`~deepcause.stable.SRDOWeights` warn where it cannot help); ``estimator`` any regressor
    whose ``fit`` accepts ``sample_weight`` (default ``LinearRegression``). Fitted attributes:
    ``estimator_``, ``weighting_``, ``weights_`` and ``effective_sample_size_`` (of the
    weights actually used in the fit), and ``coef_`` / ``intercept_`` when the estimator has
    them.

    ``do_no_harm=True`` (linear least squares only) first tests whether the linear model is
    misspecified: reweighting only buys stability when it is (Kuang et al. 2020); when it is
    correctly specified, unweighted least squares is unbiased in every environment and more
    efficient. The OLS residuals are predicted out of fold by ``nonlinear_regressor``
    (default: ridge on a degree-3 polynomial, bounded to 2,000 columns); if the predictions do not correlate with the
    residuals (one-sided test at level ``alpha``) the unweighted fit is kept and no weights are
    computed. Sets ``misspecification_pvalue_`` and ``used_weights_``.

    ``select_variables=True`` replaces the weighting by variable selection: ``selector``
    (default :class:`StableVariableSelector` with this ``random_state``) keeps the variables
    ``y`` depends on given the others, and ``estimator`` is fitted without weights on them
    (full effective sample size; ``coef_`` is zero for the dropped columns). In the linear
    case the dropped variables have true coefficient zero, so this does no harm. Sets
    ``selector_``; ``support_`` marks the columns used (all of them without selection).

    >>> from deepcause.simulate import make_covariate_shift
    >>> from deepcause.stable import DWRWeights
    >>> ds = make_covariate_shift(300, p=10, r=2.5, random_state=0)
    >>> X, y = ds.data[list(ds.covariates)].to_numpy(), ds.data["y"].to_numpy()
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
        select_variables: bool = False,
        selector: Any = None,
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.weighting = weighting
        self.do_no_harm = do_no_harm
        self.alpha = alpha
        self.nonlinear_regressor = nonlinear_regressor
        self.select_variables = select_variables
        self.selector = selector
        self.random_state = random_state

    def _fit_selected(self, X: np.ndarray, y: np.ndarray, est: Any) -> StableRegressor:
        from sklearn.dummy import DummyRegressor

        if self.do_no_harm:
            raise DataValidationError(
                "select_variables=True and do_no_harm=True are alternatives: the refit on the "
                "selected variables is unweighted already; set one of them"
            )
        selector = (
            StableVariableSelector(random_state=self.random_state)
            if self.selector is None
            else clone(self.selector)
        )
        self.selector_ = selector.fit(X, y)
        self.support_ = np.asarray(selector.get_support(), dtype=bool)
        self.used_weights_ = False
        self.weights_ = np.ones(len(y))
        self.effective_sample_size_ = float(len(y))
        self.n_features_in_ = X.shape[1]
        if not self.support_.any():  # nothing predicts y: predict its mean
            self.estimator_ = DummyRegressor().fit(X, y)
            self.coef_, self.intercept_ = np.zeros(X.shape[1]), float(y.mean())
            return self
        self.estimator_ = est.fit(X[:, self.support_], y)
        if hasattr(est, "coef_"):
            coef = np.zeros(X.shape[1])
            coef[self.support_] = np.ravel(est.coef_)
            self.coef_ = coef
        if hasattr(est, "intercept_"):
            self.intercept_ = est.intercept_
        return self

    def fit(self, X: Any, y: Any) -> StableRegressor:
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float).ravel()
        if len(X) != len(y):
            raise DataValidationError(f"X has {len(X)} rows but y has {len(y)} values")
        if not np.all(np.isfinite(y)):
            raise DataValidationError("y contains NaN or infinite values")
        weighting = (
            NonlinearDecorrelationWeights(random_state=self.random_state)
            if self.weighting is None
            else clone(self.weighting)
        )
        est = LinearRegression() if self.estimator is None else clone(self.estimator)
        if self.select_variables:
            return self._fit_selected(X, y, est)
        self.support_ = np.ones(X.shape[1], dtype=bool)
        self.used_weights_ = True
        if self.do_no_harm:
            if not isinstance(est, LinearRegression):
                raise DataValidationError(
                    "do_no_harm=True compares weighted and unweighted least squares; use "
                    "estimator=None or LinearRegression()"
                )
            reg = (
                default_nonlinear_regressor()
                if self.nonlinear_regressor is None
                else self.nonlinear_regressor
            )
            self.misspecification_pvalue_ = misspecification_pvalue(X, y, reg, 2, self.random_state)
            self.used_weights_ = self.misspecification_pvalue_ < float(self.alpha)
        if self.used_weights_:
            # y lets a weighting check that it can help (SRDO warns on a correct linear
            # model); do_no_harm has made that check already
            passes_y = not self.do_no_harm and "y" in signature(weighting.fit).parameters
            self.weighting_ = weighting.fit(X, y) if passes_y else weighting.fit(X)
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
        X = check_fitted_X(self, X, "estimator_")
        if self.support_.any():  # all columns, unless variables were selected
            X = X[:, self.support_]
        return self.estimator_.predict(X)

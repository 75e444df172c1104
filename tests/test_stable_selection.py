"""Stable variable selection: ground truth of the selection-bias simulation, exactness of the
shared polynomial ridge, reproducibility and errors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from deepcause.exceptions import DataValidationError, NotFittedError
from deepcause.simulate import make_covariate_shift
from deepcause.stable import (
    NonlinearDecorrelationWeights,
    StableRegressor,
    StableVariableSelector,
)
from deepcause.stable.weights import _poly_ridge_drop_one_predictions


def _draw(*args, **kwargs):
    """``make_covariate_shift`` as arrays: covariates X, outcome y and the truth."""
    ds = make_covariate_shift(*args, **kwargs)
    return ds.data[list(ds.covariates)].to_numpy(), ds.data[ds.outcome].to_numpy(), ds.truth


def _beta_error(model, info):
    return float(np.abs(model.coef_[info["stable"]] - info["beta_s"]).sum())


def test_shared_polynomial_ridge_equals_the_sklearn_pipeline():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    y = X[:, 0] * X[:, 1] + rng.normal(size=120)
    targets = [np.column_stack([y, X[:, j]]) for j in range(5)]
    fast = _poly_ridge_drop_one_predictions(X, targets, degree=3, alpha=2.0, n_folds=3)
    reg = make_pipeline(PolynomialFeatures(3, include_bias=False), StandardScaler(), Ridge(2.0))
    folds = KFold(3, shuffle=True, random_state=0)
    for j in (0, 4):
        slow = cross_val_predict(reg, np.delete(X, j, 1), targets[j], cv=folds)
        np.testing.assert_allclose(fast[j], slow, atol=1e-9)
    # a single column: nothing to regress on, the prediction is the training-fold mean
    only = _poly_ridge_drop_one_predictions(X[:, :1], [y[:, None]], n_folds=3)[0]
    assert np.ptp(only) < np.ptp(y) and np.isfinite(only).all()


def test_selector_finds_the_stable_variables_and_drops_the_spurious_one():
    X, y, info = _draw(1000, p=10, r=2.5, kind="poly", random_state=1)
    # the biased V_b is strongly predictive in the training data...
    assert abs(LinearRegression().fit(X, y).coef_[-1]) > 0.3
    sel = StableVariableSelector(random_state=0).fit(X, y)
    # ...but independent of y given S: the selection is exactly S
    np.testing.assert_array_equal(sel.support_, info["stable"])
    assert np.all(sel.pvalues_[info["stable"]] < 1e-6)
    assert sel.transform(X).shape == (1000, 5) and sel.n_rounds_ >= 2


def test_selection_refit_beats_ols_and_reweighting_on_beta_and_stability():
    X, y, info = _draw(1000, p=10, r=2.5, kind="poly", random_state=2)
    tests = [
        _draw(1000, p=10, r=r, random_state=70 + k) for k, r in enumerate((-3.0, -1.5, 1.5, 3.0))
    ]

    def rmse(model):
        return np.array([np.sqrt(np.mean((model.predict(Xt) - yt) ** 2)) for Xt, yt, _ in tests])

    ols = LinearRegression().fit(X, y)
    ours = StableRegressor(random_state=0, select_variables=True).fit(X, y)
    weighted = StableRegressor(
        random_state=0, weighting=NonlinearDecorrelationWeights(n_folds=2, random_state=0)
    ).fit(X, y)
    assert _beta_error(ours, info) < 0.5 * _beta_error(ols, info)
    assert _beta_error(ours, info) < _beta_error(weighted, info)
    assert rmse(ours).std() < 0.5 * rmse(ols).std()
    assert rmse(ours).mean() < min(rmse(ols).mean(), rmse(weighted).mean())
    assert ours.effective_sample_size_ == 1000 and not ours.used_weights_
    assert np.all(ours.coef_[~info["stable"]] == 0)


def test_selection_does_no_harm_in_the_linear_case():
    X, y, info = _draw(800, p=10, r=2.5, kind="linear", random_state=3)
    ours = StableRegressor(random_state=0, select_variables=True).fit(X, y)
    ols = LinearRegression().fit(X, y)
    np.testing.assert_array_equal(ours.support_, info["stable"])
    assert _beta_error(ours, info) <= _beta_error(ols, info) + 0.01
    np.testing.assert_allclose(
        ours.coef_[info["stable"]], LinearRegression().fit(X[:, :5], y).coef_
    )


def test_selection_is_reproducible_and_depends_on_random_state():
    X, y, _ = _draw(400, p=10, r=2.5, random_state=4)
    a = StableVariableSelector(n_folds=2, random_state=5).fit(X, y)
    b = clone(a).fit(X, y)
    c = StableVariableSelector(n_folds=2, random_state=6).fit(X, y)
    np.testing.assert_array_equal(a.statistics_, b.statistics_)
    assert not np.array_equal(a.statistics_, c.statistics_)


def test_selector_with_no_signal_selects_nothing_and_regressor_predicts_the_mean():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 3))
    y = rng.normal(size=300)
    model = StableRegressor(
        random_state=0,
        select_variables=True,
        selector=StableVariableSelector(n_folds=3, random_state=0),
    )
    model.fit(X, y)
    assert not model.support_.any()
    np.testing.assert_allclose(model.predict(X[:4]), y.mean())
    assert np.all(model.coef_ == 0)


def test_selection_errors_are_clear():
    X, y, _ = _draw(200, p=10, r=2.5, random_state=8)
    with pytest.raises(NotFittedError):
        StableVariableSelector().get_support()
    with pytest.raises(DataValidationError, match="rows"):
        StableVariableSelector().fit(X, y[:-1])
    with pytest.raises(DataValidationError, match="alpha"):
        StableVariableSelector(alpha=1.5).fit(X, y)
    with pytest.raises(DataValidationError, match="n_folds"):
        StableVariableSelector(n_folds=1).fit(X, y)
    with pytest.raises(DataValidationError, match="alternatives"):
        StableRegressor(random_state=0, select_variables=True, do_no_harm=True).fit(X, y)
    fitted = StableRegressor(random_state=0, select_variables=True).fit(X, y)
    with pytest.raises(DataValidationError, match="10 columns"):
        fitted.predict(X[:, :4])

"""Bounded polynomial features of the stable-learning regressions (issue 12, item 7)."""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import PolynomialFeatures

from deepcause.stable import StableRegressor
from deepcause.stable._features import BoundedPolynomialFeatures
from deepcause.stable.weights import _poly_ridge_drop_one_predictions


def test_exact_degree_three_up_to_the_bound():
    X = np.random.default_rng(0).normal(size=(50, 20))
    ours = BoundedPolynomialFeatures(3).fit(X)
    ref = PolynomialFeatures(3, include_bias=False).fit(X)
    assert np.array_equal(ours.powers_, ref.powers_)  # 1,770 columns: unchanged results
    assert np.array_equal(ours.transform(X), ref.transform(X))


def test_reduced_tiers_keep_low_order_terms_and_stay_bounded():
    rng = np.random.default_rng(1)
    for p, cols, top_cross in [(40, 40 * 3 + 780, 2), (100, 300, 1)]:
        X = rng.normal(size=(30, p))
        f = BoundedPolynomialFeatures(3).fit(X)
        assert len(f.powers_) == cols <= 2000
        assert (f.powers_ > 0).sum(1).max() == top_cross  # no cubic cross terms / none at all
        Phi = f.transform(X)
        k = int(np.flatnonzero((f.powers_[:, 0] == 2) & (f.powers_.sum(1) == 2))[0])
        assert np.allclose(Phi[:, k], X[:, 0] ** 2)


def test_drop_one_predictions_at_p_100_use_the_additive_basis():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(400, 1))
    X = np.hstack([z**2 + 0.1 * rng.normal(size=(400, 1)), z, rng.normal(size=(400, 98))])
    pred = _poly_ridge_drop_one_predictions(X, [X[:, [0]]], columns=[0], alpha=1.0)[0][:, 0]
    assert np.corrcoef(pred, X[:, 0])[0, 1] > 0.9  # x0 = z^2 found through z's square


def test_stable_regressor_with_100_columns_recovers_the_coefficients():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 100))  # additive basis: 300 columns
    y = X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=300)
    model = StableRegressor(random_state=0).fit(X, y)
    assert np.abs(model.coef_[:2] - [1, -1]).max() < 0.3

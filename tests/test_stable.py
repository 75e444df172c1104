"""Stable learning: weights decorrelate, gradients are exact, regressors are stable."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import check_grad
from scipy.special import softmax
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, Ridge

from deepcause.exceptions import DataValidationError, NotFittedError
from deepcause.simulate import TEST_RATES, beta_stable, make_covariate_shift
from deepcause.stable import (
    DWRWeights,
    GlobalBalancingWeights,
    NonlinearDecorrelationWeights,
    SRDOWeights,
    StableRegressor,
    effective_sample_size,
)
from deepcause.stable.weights import _covariance_loss


def _draw(*args, **kwargs):
    """``make_covariate_shift`` as arrays: covariates X, outcome y and the truth."""
    ds = make_covariate_shift(*args, **kwargs)
    return ds.data[list(ds.covariates)].to_numpy(), ds.data[ds.outcome].to_numpy(), ds.truth


def _corr_offdiag(X, w=None):
    c = np.cov(X.T, aweights=w)
    d = np.sqrt(np.diag(c))
    r = c / np.outer(d, d)
    return np.abs(r[~np.eye(len(r), dtype=bool)]).max()


@pytest.fixture(scope="module")
def correlated():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(400, 1))
    return np.hstack([z + 0.7 * rng.normal(size=(400, 3)), rng.normal(size=(400, 1))])


def test_simulation_matches_its_description():
    X, y, info = _draw(3000, p=10, r=2.5, kind="linear", random_state=0)
    S, V = X[:, :5], X[:, 5:]
    np.testing.assert_allclose(info["beta_s"], [1 / 3, -2 / 3, 1, -1 / 3, 2 / 3])
    assert np.allclose(beta_stable(8)[6:], [1 / 3, -2 / 3])
    # residual noise variance 0.3 around f(S) = S beta_S
    assert np.var(y - S @ info["beta_s"]) == pytest.approx(0.3, rel=0.1)
    # V_b tracks f(S) for r > 0 and -f(S) for r < 0; unbiased V stay independent of S
    assert np.corrcoef(V[:, -1], info["f"])[0, 1] > 0.8
    Xn, _, infon = _draw(3000, p=10, r=-2.5, kind="linear", random_state=0)
    assert np.corrcoef(Xn[:, -1], infon["f"])[0, 1] < -0.8
    assert np.abs(np.corrcoef(np.column_stack([S, V[:, :-1]]).T)[5:, :5]).max() < 0.1
    # S_j = 0.8 Z_j + 0.2 Z_{j+1}: neighbours correlate 0.16 / 0.68 before selection
    Xw, _, _ = _draw(3000, p=10, r=1.0001, kind="linear", random_state=0)
    assert np.corrcoef(Xw[:, 0], Xw[:, 1])[0, 1] == pytest.approx(0.16 / 0.68, abs=0.05)
    X20, _, info20 = _draw(100, p=20, random_state=1)
    assert X20.shape == (100, 20) and info20["biased"].sum() == 2
    assert len(TEST_RATES) == 10
    a = _draw(50, random_state=3)[1]
    b = _draw(50, random_state=3)[1]
    np.testing.assert_array_equal(a, b)
    for bad in ({"p": 15}, {"r": 1.0}, {"kind": "cubic"}, {"n": 0}):
        with pytest.raises(DataValidationError):
            _draw(**{"n": 10, **bad})


def test_covariance_loss_gradient_is_exact():
    rng = np.random.default_rng(1)
    F = rng.normal(size=(40, 4))
    mask = (1.0 - np.eye(4)) * np.array([1.0, 2.0, 0.5, 3.0])  # non-binary pair weights
    lg = _covariance_loss(F, mask)
    p0 = softmax(rng.normal(size=40))
    err = check_grad(lambda p: lg(p)[0], lambda p: lg(p)[1], p0)
    assert err < 1e-5 * np.linalg.norm(lg(p0)[1])


def test_gbr_gradient_is_exact():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 3))
    captured = {}
    import deepcause.stable.weights as W

    orig = W._optimize_weights

    def spy(loss_grad, n, pen, it):
        captured["lg"] = loss_grad
        return orig(loss_grad, n, pen, 1)

    W._optimize_weights = spy
    try:
        GlobalBalancingWeights().fit(X)
    finally:
        W._optimize_weights = orig
    lg = captured["lg"]
    p0 = softmax(rng.normal(size=60))
    err = check_grad(lambda p: lg(p)[0], lambda p: lg(p)[1], p0)
    assert err < 1e-5 * np.linalg.norm(lg(p0)[1])


@pytest.mark.parametrize(
    "weighting",
    [
        DWRWeights(ess_penalty=1e-4),
        GlobalBalancingWeights(ess_penalty=1e-4),
        NonlinearDecorrelationWeights(ess_penalty=1e-3, random_state=0),
        SRDOWeights(random_state=0),
    ],
    ids=["DWR", "GBR", "ours", "SRDO"],
)
def test_weights_reduce_dependence(weighting, correlated):
    w = clone(weighting).fit(correlated).weights_
    assert w.shape == (400,) and np.all(w >= 0) and w.mean() == pytest.approx(1.0)
    assert _corr_offdiag(correlated, w) < 0.6 * _corr_offdiag(correlated)


def test_ess_penalty_controls_effective_sample_size(correlated):
    loose = DWRWeights(ess_penalty=1e-5).fit(correlated)
    tight = DWRWeights(ess_penalty=1.0).fit(correlated)
    assert tight.effective_sample_size_ > loose.effective_sample_size_
    assert tight.effective_sample_size_ > 300
    assert effective_sample_size(tight.weights_) == pytest.approx(tight.effective_sample_size_)
    capped = SRDOWeights(random_state=0, clip=3.0).fit(correlated).weights_
    assert capped.max() <= 3.0 + 1e-9


def test_nonlinear_dependence_is_removed_where_linear_decorrelation_is_blind():
    rng = np.random.default_rng(3)
    s = rng.normal(size=(500, 2))
    v = s[:, 0] * s[:, 1] + 0.3 * rng.normal(size=500)  # uncorrelated with s, dependent
    X = np.column_stack([s, v])

    def dep(w):
        return abs(np.cov(v, s[:, 0] * s[:, 1], aweights=w)[0, 1])

    ours = NonlinearDecorrelationWeights(ess_penalty=1e-3, random_state=0).fit(X).weights_
    dwr = DWRWeights(ess_penalty=1e-3).fit(X).weights_
    assert dep(ours) < 0.3 * dep(np.ones(500))
    assert dep(dwr) > 0.5 * dep(np.ones(500))


def test_reweighting_is_more_stable_than_ols_under_selection_bias():
    X, y, info = _draw(1000, p=10, r=2.5, random_state=4)
    tests = [
        _draw(1000, p=10, r=r, random_state=50 + k) for k, r in enumerate((-3.0, -1.5, 1.5, 3.0))
    ]

    def scores(model):
        rmse = [np.sqrt(np.mean((model.predict(Xt) - yt) ** 2)) for Xt, yt, _ in tests]
        return np.mean(rmse), np.std(rmse), abs(model.coef_[-1])

    ols = scores(LinearRegression().fit(X, y))
    ours = scores(
        StableRegressor(
            random_state=0, weighting=NonlinearDecorrelationWeights(n_folds=2, random_state=0)
        ).fit(X, y)
    )
    # OLS leans on the spurious V_b (coefficient ~0.6); reweighting shrinks it and is more
    # stable across environments (margins well above seed noise, see benchmarks)
    assert ols[2] > 0.35 and ours[2] < ols[2] - 0.1
    assert ours[1] < ols[1] - 0.05 and ours[0] < ols[0]


def test_regressor_contract_and_errors(correlated):
    y = correlated[:, 0] + np.random.default_rng(5).normal(size=400)
    m = StableRegressor(random_state=0, estimator=Ridge(alpha=1.0), weighting=DWRWeights()).fit(
        correlated, y
    )
    m2 = clone(m).fit(correlated, y)
    np.testing.assert_array_equal(m.weights_, m2.weights_)  # deterministic
    assert m.get_params()["estimator__alpha"] == 1.0
    assert m.coef_.shape == (4,) and 0 < m.effective_sample_size_ <= 400
    with pytest.raises(NotFittedError):
        StableRegressor(random_state=0).predict(correlated)
    with pytest.raises(DataValidationError, match="rows"):
        StableRegressor(random_state=0).fit(correlated, y[:10])
    with pytest.raises(DataValidationError, match="NaN"):
        DWRWeights().fit(np.where(np.eye(400, 4) == 1, np.nan, correlated))
    with pytest.raises(DataValidationError, match="constant"):
        DWRWeights().fit(np.column_stack([correlated, np.ones(400)]))

    class NoWeights:
        def fit(self, X, y):
            return self

        def get_params(self, deep=True):
            return {}

    with pytest.raises(DataValidationError, match="sample_weight"):
        StableRegressor(random_state=0, estimator=NoWeights(), weighting=DWRWeights()).fit(
            correlated, y
        )


def test_do_no_harm_keeps_ols_when_linear_model_is_right():
    X, y, _ = _draw(800, p=10, r=2.5, kind="linear", random_state=6)
    m = StableRegressor(random_state=0, do_no_harm=True).fit(X, y)
    assert not m.used_weights_ and m.misspecification_pvalue_ > 0.01
    np.testing.assert_allclose(m.coef_, LinearRegression().fit(X, y).coef_)
    Xp, yp, _ = _draw(800, p=10, r=2.5, kind="poly", random_state=6)
    fast = NonlinearDecorrelationWeights(n_folds=2, random_state=0)
    mp = StableRegressor(random_state=0, weighting=fast, do_no_harm=True).fit(Xp, yp)
    assert mp.used_weights_ and mp.misspecification_pvalue_ < 0.01
    with pytest.raises(DataValidationError, match="least squares"):
        StableRegressor(random_state=0, estimator=Ridge(), do_no_harm=True).fit(X, y)


def test_misspecification_test_has_nominal_size():
    from deepcause.stable._base import default_nonlinear_regressor, misspecification_pvalue

    rng = np.random.default_rng(7)
    pvals = []
    for _ in range(40):
        X = rng.normal(size=(300, 3))
        y = X @ [1.0, -1.0, 0.5] + rng.normal(size=300)
        pvals.append(misspecification_pvalue(X, y, default_nonlinear_regressor(), 2, 0))
    # under H0 the p-values are roughly uniform: few below 0.05, median near 0.5
    assert np.mean(np.array(pvals) < 0.05) <= 0.15
    assert 0.25 < np.median(pvals) < 0.75


def test_do_no_harm_reports_the_weights_it_used():
    X, y, _ = _draw(600, p=10, r=2.5, kind="linear", random_state=6)
    m = StableRegressor(random_state=0, do_no_harm=True).fit(X, y)
    assert not m.used_weights_
    assert m.effective_sample_size_ == 600 and np.all(m.weights_ == 1)
    assert not hasattr(m.weighting_, "weights_")  # not computed when not needed


def test_ensemble_nonlinear_regressor_is_accepted():
    """An ensemble (which defines __len__) must not be mistaken for 'no model given'."""
    from sklearn.ensemble import RandomForestRegressor

    from deepcause.stable import StableRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = X[:, 0] + X[:, 1] * X[:, 2] + 0.1 * rng.normal(size=300)
    reg = StableRegressor(
        random_state=0,
        do_no_harm=True,
        nonlinear_regressor=RandomForestRegressor(n_estimators=10, random_state=0),
    )
    reg.fit(X, y)
    assert np.isfinite(reg.predict(X)).all()

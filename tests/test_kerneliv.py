"""KernelIV recovers known nonlinear structural functions where regression is confounded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.kernel_ridge import KernelRidge
from threadpoolctl import threadpool_limits

from deepcause.estimate.iv import KernelIV, TwoStageLeastSquares
from deepcause.exceptions import (
    DataValidationError,
    InvalidParameterError,
    NotFittedError,
    WeakInstrumentWarning,
)
from deepcause.simulate.iv import demand_test_points, make_demand, make_linear_iv


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Small dense problems: one BLAS thread per test worker avoids oversubscription."""
    with threadpool_limits(limits=1):
        yield


def _sine_iv(n: int, seed: int) -> tuple[pd.DataFrame, callable]:
    """y = h(t) + 2u with t = z + u + noise; h(t) = 2 sin(t) + t/2; u unobserved."""
    rng = np.random.default_rng(seed)
    z = 1.5 * rng.normal(size=n)
    u = rng.normal(size=n)
    t = z + u + 0.3 * rng.normal(size=n)
    h = lambda t: 2 * np.sin(t) + t / 2  # noqa: E731
    y = h(t) + 2 * u + 0.3 * rng.normal(size=n)
    return pd.DataFrame({"z": z, "t": t, "y": y}), h


def test_kiv_recovers_nonlinear_h_where_regression_is_biased():
    df, h = _sine_iv(1500, 0)
    # prediction of h: the lengthscale search and the validated ridge (no undersmoothing)
    kiv = KernelIV(
        n_components=120,
        lengthscales="auto",
        lengthscale_grid=(0.25, 0.5, 1.0),
        undersmooth=1.0,
        random_state=0,
    )
    kiv.fit(df, treatment="t", outcome="y", instruments=["z"])
    grid = np.linspace(-2.5, 2.5, 200)
    err_kiv = np.mean((kiv.predict(grid) - h(grid)) ** 2)
    naive = KernelRidge(alpha=1.0, kernel="rbf", gamma=0.5).fit(
        df[["t"]].to_numpy(), df["y"].to_numpy()
    )
    err_naive = np.mean((naive.predict(grid[:, None]) - h(grid)) ** 2)
    lin = TwoStageLeastSquares().fit(df, treatment="t", outcome="y", instruments=["z"])
    err_lin = np.mean((lin.predict(grid) - h(grid)) ** 2)
    # regression is biased by 2 cov(u, t) / var(t) ~ 0.6 per unit of t
    assert err_naive > 0.5 and err_lin > 0.5
    assert err_kiv < 0.1
    assert err_kiv < err_naive / 5 and err_kiv < err_lin / 5
    assert set(kiv.lengthscales_) == {"t", "z"}
    assert kiv.search_path_ and np.isfinite(kiv.validation_loss_)
    # the average effect of moving t from -1 to 1 on the population
    eff = kiv.effect(treatment=1.0, control=-1.0)
    assert eff.value == pytest.approx(h(1.0) - h(-1.0), abs=0.5)
    assert eff.method == "KernelIV" and 0 < eff.std_error < 1  # influence, hyper-parameters fixed
    assert eff.query == "E[y | do(t=1)] − E[y | do(t=-1)]"
    # E[y | do(t)] is the structural function itself here (no covariates)
    assert kiv.mean(treatment=1.0).value == pytest.approx(float(kiv.predict([1.0])[0]))
    text = kiv.summary().as_text()
    assert "no valid standard error" not in text and kiv.first_stage_f_["t"] > 10


def test_kiv_demand_beats_linear_2sls():
    ds = make_demand(2000, rho=0.5, random_state=0)
    test = demand_test_points(1000, random_state=1)
    kw = dict(treatment="p", outcome="y", instruments=["c"], covariates=["t", "s"])
    kiv = KernelIV(n_components=250, lengthscales=[2.0, 0.35, 2.0, 1.0], random_state=0)
    kiv.fit(ds.data, **kw)
    lin = TwoStageLeastSquares().fit(ds.data, **kw)
    mse_kiv = np.mean((kiv.predict(test[["p"]], test[["t", "s"]]) - test["h"]) ** 2)
    mse_lin = np.mean((lin.predict(test[["p"]], test[["t", "s"]]) - test["h"]) ** 2)
    assert mse_kiv < mse_lin / 2.5
    assert kiv.lengthscales_ == {"p": 2.0, "t": 0.35, "s": 2.0, "c": 1.0}


def test_kiv_random_features_and_determinism():
    df, h = _sine_iv(800, 1)
    est = KernelIV(approximation="rff", n_components=150, lengthscales=0.5, random_state=3).fit(
        df, treatment="t", outcome="y", instruments=["z"]
    )
    grid = np.linspace(-2, 2, 50)
    assert np.mean((est.predict(grid) - h(grid)) ** 2) < 0.2
    again = clone(est).fit(df, treatment="t", outcome="y", instruments=["z"])
    np.testing.assert_array_equal(est.predict(grid), again.predict(grid))
    arrays = clone(est).fit_arrays(Z=df[["z"]], t=df["t"].to_numpy(), y=df["y"].to_numpy())
    np.testing.assert_array_equal(est.predict(grid), arrays.predict(grid))
    other = KernelIV(approximation="rff", n_components=150, lengthscales=0.5, random_state=4)
    other.fit(df, treatment="t", outcome="y", instruments=["z"])
    assert not np.array_equal(est.predict(grid), other.predict(grid))


def test_kiv_errors():
    df, _ = _sine_iv(100, 2)
    kw = dict(treatment="t", outcome="y", instruments=["z"])
    with pytest.raises(InvalidParameterError, match="approximation"):
        KernelIV(approximation="exact").fit(df, **kw)
    with pytest.raises(InvalidParameterError, match="one per column"):
        KernelIV(lengthscales=[1.0, 2.0, 3.0]).fit(df, **kw)
    with pytest.raises(InvalidParameterError, match="'lengthscales' parameter"):
        KernelIV(lengthscales="mean").fit(df, **kw)
    with pytest.raises(InvalidParameterError, match="undersmooth"):
        KernelIV(undersmooth=0.5).fit(df, **kw)
    with pytest.raises(InvalidParameterError, match="random_state"):
        KernelIV(random_state="seed").fit(df, **kw)
    with pytest.raises(DataValidationError, match="at least one instrument"):
        KernelIV().fit(df, treatment="t", outcome="y")
    with pytest.raises(DataValidationError, match="constant"):
        KernelIV().fit(df.assign(z=0.0), **kw)
    with pytest.raises(DataValidationError, match="at least 20 rows"):
        KernelIV().fit(df.head(10), **kw)
    with pytest.raises(NotFittedError):
        KernelIV().predict(np.ones(3))


def test_kiv_bootstrap_keeps_chosen_lengthscales():
    df, h = _sine_iv(600, 5)
    kiv = KernelIV(n_components=80, lengthscales="auto", lengthscale_grid=(0.5, 1.0))
    kiv.set_params(undersmooth=1.0, random_state=0).fit(
        df, treatment="t", outcome="y", instruments=["z"]
    )
    boot = kiv.bootstrap(n_boot=20, random_state=1, treatment=1.0, control=-1.0)
    lo, hi = boot.conf_int()
    assert lo < boot.value < hi and boot.std_error > 0
    assert lo < h(1.0) - h(-1.0) + 0.5 and hi > h(1.0) - h(-1.0) - 0.5
    assert kiv._bootstrap_params() == {"lengthscales": list(kiv.lengthscales_.values())}


def test_kiv_irrelevant_instrument_warns_with_a_small_first_stage_f():
    """Issue 12: KernelIV with an irrelevant instrument warned nothing and gave no interval."""
    rng = np.random.default_rng(0)
    z, u, w = rng.normal(size=(3, 800))
    df = pd.DataFrame({"z": z, "t": u + w, "y": np.sin(u + w) + 2 * u})
    kiv = KernelIV(n_components=80, lengthscales=0.5, random_state=0)
    with pytest.warns(WeakInstrumentWarning, match="KernelIV"):
        kiv.fit(df, treatment="t", outcome="y", instruments=["z"])
    eff = kiv.effect(treatment=1.0, control=-1.0)
    assert kiv.first_stage_f_["t"] < 10 and eff.diagnostics.first_stage_f < 10
    assert np.isfinite(eff.std_error) and "weak instrument" in kiv.summary().as_text()


def test_kiv_default_interval_tracks_the_spread_of_the_estimate():
    """Issue 12: the default fit's standard error matches the estimate's sampling spread and
    its 95% interval covers the truth (slope of h, by intervention on the SCM). The old
    sandwich (stage 1 held fixed, validated ridge) covered about 4 in 10 here."""
    est, se, truth = [], [], []
    for seed in range(30):
        ds = make_linear_iv(600, random_state=100 + seed)
        kiv = KernelIV(n_components=80, random_state=seed).fit(
            ds.data, treatment="d", outcome="y", instruments=["z1", "z2"], covariates=["x1", "x2"]
        )
        eff = kiv.effect(treatment=1.0, control=0.0)
        est.append(eff.value)
        se.append(eff.std_error)
        truth.append(ds.truth["effect"])
    est, se, truth = map(np.asarray, (est, se, truth))
    covered = np.abs(est - truth) <= 1.96 * se
    assert covered.mean() >= 0.85, covered.mean()
    assert 0.7 < se.mean() / est.std() < 1.5, (se.mean(), est.std())
    assert abs(est.mean() - truth.mean()) < 2 * est.std() / np.sqrt(len(est))  # no visible bias

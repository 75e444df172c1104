"""Neural IV estimators (DFIV, DeepIV, CB-IV) recover known structural functions.

The simulation has an unobserved confounder ``u`` of treatment and outcome, so regression of
``y`` on ``t`` is biased; the truth ``h`` is the simulator's structural equation. Data are small
and epochs few to keep the suite fast; the demand-design numbers are in benchmarks/bench_iv.py.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

pytest.importorskip("torch")

from deepcause.estimate.iv.dfiv import DFIV  # noqa: E402
from deepcause.estimate.registry import get_estimator_class  # noqa: E402
from deepcause.exceptions import DataValidationError, NotFittedError  # noqa: E402


def h_true(t: np.ndarray) -> np.ndarray:
    return 2.0 * np.sin(t) + 0.5 * t


def _sine_iv(n: int, seed: int) -> pd.DataFrame:
    """t = z + u + noise, y = h(t) + 2u + noise with u unobserved (confounded)."""
    rng = np.random.default_rng(seed)
    z = 1.5 * rng.normal(size=n)
    u = rng.normal(size=n)
    t = z + u + 0.3 * rng.normal(size=n)
    y = h_true(t) + 2.0 * u + 0.3 * rng.normal(size=n)
    return pd.DataFrame({"z": z, "t": t, "y": y})


GRID = np.linspace(-2.5, 2.5, 101)
ROLES = dict(treatment="t", outcome="y", instruments=["z"])


@pytest.fixture(scope="module")
def sine() -> pd.DataFrame:
    return _sine_iv(1200, 0)


@pytest.fixture(scope="module")
def naive_mse(sine: pd.DataFrame) -> float:
    """MSE of a flexible regression of y on t (ignores the instrument): confounded."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    reg = HistGradientBoostingRegressor(max_iter=100, random_state=0)
    reg.fit(sine[["t"]].to_numpy(), sine["y"].to_numpy())
    return float(np.mean((reg.predict(GRID[:, None]) - h_true(GRID)) ** 2))


def _mse(est, grid=GRID) -> float:
    return float(np.mean((est.predict(grid) - h_true(grid)) ** 2))


def _small_dfiv(**kw) -> DFIV:
    params = dict(
        treatment_hidden=(32,),
        treatment_features=8,
        instrument_hidden=(32, 16),
        n_epochs=50,
        stage1_steps=5,
        stage1_ridge=0.01,
        stage2_ridge=0.001,
        learning_rate=3e-3,
        random_state=0,
        verbose=False,
    )
    return DFIV(**(params | kw))


# ---------------------------------------------------------------------- DFIV
@pytest.fixture(scope="module")
def dfiv(sine: pd.DataFrame) -> DFIV:
    return _small_dfiv().fit(sine, **ROLES)


def test_dfiv_beats_confounded_regression(dfiv: DFIV, naive_mse: float):
    # regression is biased by 2 cov(u, t)/var(t) ~ 0.6 per unit of t: MSE well above 0.5
    assert naive_mse > 0.5
    err = _mse(dfiv)
    assert err < 0.25 and err < naive_mse / 4
    # average effect of t: -1 -> 1, truth h(1) - h(-1) = 4 sin(1) + 1 = 4.37
    # (regression's slope bias of ~0.6 per unit of t would put it 1.2 off)
    eff = dfiv.effect(-1.0, 1.0)
    assert eff.value == pytest.approx(h_true(1.0) - h_true(-1.0), abs=0.8)
    assert eff.value == pytest.approx(float(np.diff(dfiv.predict([-1.0, 1.0]))[0]))
    assert eff.method == "DFIV" and eff.std_error is not None and eff.std_error > 0
    lo, hi = eff.conf_int()
    assert lo < eff.value < hi
    assert len(dfiv.stage1_loss_) == 50 and np.isfinite(dfiv.stage2_loss_).all()


def test_dfiv_is_deterministic(sine: pd.DataFrame, dfiv: DFIV):
    quick = clone(dfiv).set_params(n_epochs=3)
    first, again = (clone(quick).fit(sine, **ROLES).predict(GRID) for _ in range(2))
    assert np.array_equal(first, again)
    other = clone(quick).set_params(random_state=1).fit(sine, **ROLES)
    assert not np.array_equal(other.predict(GRID), first)


def test_dfiv_with_controls_demand():
    from deepcause.estimate.iv import TwoStageLeastSquares
    from deepcause.simulate_iv import demand_test_points, make_demand

    ds = make_demand(1500, rho=0.5, random_state=0)
    kw = dict(treatment="p", outcome="y", instruments=["c"], controls=["t", "s"])
    est = DFIV(
        n_epochs=40,
        stage1_steps=5,
        stage1_ridge=0.01,
        stage2_ridge=0.001,
        random_state=0,
        learning_rate=3e-3,
        verbose=False,
    ).fit(ds.data, **kw)
    test = demand_test_points(800, random_state=1)
    pred = est.predict(test[["p"]], test[["t", "s"]])
    lin = TwoStageLeastSquares().fit(ds.data, **kw).predict(test[["p"]], test[["t", "s"]])
    mse, mse_lin = (np.mean((p - test["h"]) ** 2) for p in (pred, lin))
    assert mse < mse_lin / 2
    # a DataFrame holding treatment and controls works too
    assert np.allclose(est.predict(test[["p", "t", "s"]]), pred)


def test_dfiv_errors(sine: pd.DataFrame):
    with pytest.raises(NotFittedError):
        DFIV().predict(GRID)
    with pytest.raises(ValueError, match="stage1_ridge"):
        DFIV(stage1_ridge=-1.0).fit(sine, **ROLES)
    with pytest.raises(ValueError, match="split"):
        DFIV(split=0.99).fit(sine, **ROLES)
    with pytest.raises(DataValidationError, match="at least 20 rows"):
        DFIV().fit(sine.head(10), **ROLES)
    with pytest.raises(DataValidationError, match="instrument"):
        DFIV().fit(sine, treatment="t", outcome="y")
    with pytest.raises(DataValidationError, match="column"):
        DFIV().fit(sine, treatment="t", outcome="y", instruments=["zz"])


# ---------------------------------------------------------------------- shared
def test_registry_and_lazy_torch():
    assert get_estimator_class("dfiv") is DFIV
    code = "import sys, deepcause.estimate, deepcause.estimate.iv; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

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

from deepcause.estimate.iv.cbiv import CBIV  # noqa: E402
from deepcause.estimate.iv.deepiv import DeepIV  # noqa: E402
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
        treatment_hidden_sizes=(32,),
        treatment_features=8,
        instrument_hidden_sizes=(32, 16),
        max_epochs=50,
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


def test_dfiv_beats_confounded_regression(dfiv: DFIV, sine: pd.DataFrame, naive_mse: float):
    # regression is biased by 2 cov(u, t)/var(t) ~ 0.6 per unit of t: MSE well above 0.5
    assert naive_mse > 0.5
    # this small DFIV varies with the seed (MSE 0.09 to 0.49 over seeds 0-5): judge the
    # median of three seeds rather than one seed's luck
    fits = [dfiv, *(_small_dfiv(random_state=s).fit(sine, **ROLES) for s in (1, 2))]
    errs = [_mse(f) for f in fits]
    assert np.median(errs) < 0.25 and np.median(errs) < naive_mse / 4
    # average effect of t: -1 -> 1, truth h(1) - h(-1) = 4 sin(1) + 1 = 4.37
    # (regression's slope bias of ~0.6 per unit of t would put it 1.2 off)
    median_fit = fits[int(np.argsort(errs)[1])]
    eff = median_fit.effect(treatment=1.0, control=-1.0)
    assert eff.value == pytest.approx(h_true(1.0) - h_true(-1.0), abs=0.8)
    assert eff.value == pytest.approx(float(np.diff(median_fit.predict([-1.0, 1.0]))[0]))
    assert eff.method == "DFIV" and eff.std_error is not None and eff.std_error > 0
    lo, hi = eff.conf_int()
    assert lo < eff.value < hi
    assert len(dfiv.stage1_loss_) == 50 and np.isfinite(dfiv.stage2_loss_).all()


def test_dfiv_is_deterministic(sine: pd.DataFrame, dfiv: DFIV):
    quick = clone(dfiv).set_params(max_epochs=3)
    first, again = (clone(quick).fit(sine, **ROLES).predict(GRID) for _ in range(2))
    assert np.array_equal(first, again)
    other = clone(quick).set_params(random_state=1).fit(sine, **ROLES)
    assert not np.array_equal(other.predict(GRID), first)


def test_dfiv_with_controls_demand():
    from deepcause.estimate.iv import TwoStageLeastSquares
    from deepcause.simulate.iv import demand_test_points, make_demand

    ds = make_demand(1500, rho=0.5, random_state=0)
    kw = dict(treatment="p", outcome="y", instruments=["c"], covariates=["t", "s"])
    est = DFIV(
        max_epochs=40,
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


# ---------------------------------------------------------------------- DeepIV
def _small_deepiv(**kw) -> DeepIV:
    params = dict(
        n_components=5,
        treatment_hidden_sizes=(32,),
        response_hidden_sizes=(32, 32),
        max_epochs=20,
        random_state=0,
        verbose=False,
    )
    return DeepIV(**(params | kw))


def test_deepiv_beats_confounded_regression(sine: pd.DataFrame, naive_mse: float):
    est = _small_deepiv().fit(sine, **ROLES)
    err = _mse(est)
    assert err < naive_mse / 1.5 and err < 0.8
    assert est.epochs_[0] <= 20 and len(est.second_stage_loss_) == est.epochs_[1]
    eff = est.effect(treatment=1.0, control=-1.0)
    assert eff.method == "DeepIV" and eff.std_error is None
    assert eff.diagnostics.extra["gradient"] == "two_sample"


def test_deepiv_deterministic_and_averaged(sine: pd.DataFrame):
    quick = _small_deepiv(max_epochs=2)
    first, again = (clone(quick).fit(sine, **ROLES).predict(GRID) for _ in range(2))
    assert np.array_equal(first, again)
    other = clone(quick).set_params(gradient="averaged", n_samples=3).fit(sine, **ROLES)
    assert np.isfinite(other.predict(GRID)).all()
    assert not np.array_equal(other.predict(GRID), first)


def test_deepiv_errors(sine: pd.DataFrame):
    with pytest.raises(ValueError, match="gradient"):
        DeepIV(gradient="one").fit(sine, **ROLES)
    with pytest.raises(ValueError, match="n_components"):
        DeepIV(n_components=0).fit(sine, **ROLES)
    with pytest.raises(ValueError, match="validation_fraction"):
        DeepIV(validation_fraction=0.7).fit(sine, **ROLES)
    with pytest.raises(NotFittedError):
        DeepIV().effect()


# ---------------------------------------------------------------------- CB-IV
def _hetero_iv(n: int, seed: int) -> tuple[pd.DataFrame, callable]:
    """Effect of t varies with x1; u confounds t and y; h(t, x) = (1 + x1/2) t + sin(2 x2)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    z, u = rng.normal(size=n), rng.normal(size=n)
    t = z + 0.5 * x[:, 0] + u + 0.3 * rng.normal(size=n)

    def h(t, x1, x2):
        return (1 + 0.5 * np.asarray(x1)) * np.asarray(t) + np.sin(2 * np.asarray(x2))

    y = h(t, x[:, 0], x[:, 1]) + 2 * u + 0.3 * rng.normal(size=n)
    return pd.DataFrame({"z": z, "x1": x[:, 0], "x2": x[:, 1], "t": t, "y": y}), h


def test_cbiv_recovers_heterogeneous_linear_effect():
    from sklearn.ensemble import HistGradientBoostingRegressor

    df, h = _hetero_iv(1200, 0)
    kw = dict(treatment="t", outcome="y", instruments=["z"], covariates=["x1", "x2"])
    est = CBIV(max_epochs=30, alpha=0.01, random_state=0, verbose=False).fit(df, **kw)
    rng = np.random.default_rng(1)
    test = pd.DataFrame({"t": 1.5 * rng.normal(size=400), "x1": rng.normal(size=400)})
    test["x2"] = rng.normal(size=400)
    truth = h(test["t"], test["x1"], test["x2"])
    err = np.mean((est.predict(test[["t"]], test[["x1", "x2"]]) - truth) ** 2)
    naive = HistGradientBoostingRegressor(max_iter=100, random_state=0)
    naive.fit(df[["t", "x1", "x2"]], df["y"])
    err_naive = np.mean((naive.predict(test[["t", "x1", "x2"]]) - truth) ** 2)
    assert err_naive > 1.0  # slope bias ~ 2 cov(u, t) / var(t | x) ~ 0.9
    assert err < err_naive / 2
    assert len(est.loss_) == 30 and np.all(np.isfinite(est.balance_))
    assert est.treatment_hat_.shape == (1200,)
    # average effect of t: 0 -> 1 is E[1 + x1/2] over the data
    eff = est.effect(treatment=1.0, control=0.0)
    assert eff.value == pytest.approx(1 + 0.5 * df["x1"].mean(), abs=0.4)


def test_cbiv_deterministic_binary_and_errors(sine: pd.DataFrame):
    df, _ = _hetero_iv(300, 2)
    kw = dict(treatment="t", outcome="y", instruments=["z"], covariates=["x1", "x2"])
    quick = CBIV(max_epochs=2, cv=2, random_state=3, verbose=False)
    first, again = (clone(quick).fit(df, **kw).predict(df[["t"]], df[["x1", "x2"]]) for _ in (0, 1))
    assert np.array_equal(first, again)
    binary = df.assign(t=(df["t"] > 0).astype(float))
    est = clone(quick).fit(binary, **kw)
    assert ((est.treatment_hat_ >= 0) & (est.treatment_hat_ <= 1)).all()
    no_balance = clone(quick).set_params(alpha=0.0).fit(df, **kw)
    assert no_balance.balance_ == [0.0, 0.0]
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(DataValidationError, match="not binary"):
        clone(quick).set_params(first_stage=LogisticRegression()).fit(df, **kw)
    with pytest.raises(ValueError, match="alpha"):
        CBIV(alpha=-1).fit(df, **kw)
    with pytest.raises(DataValidationError, match="one treatment"):
        CBIV().fit(
            df.assign(t2=df["x1"] + df["z"]),
            **(kw | {"treatment": ["t", "t2"], "instruments": ["z", "x2"], "covariates": ["x1"]}),
        )


# ---------------------------------------------------------------------- shared
def test_registry_and_lazy_torch():
    assert get_estimator_class("dfiv") is DFIV
    assert get_estimator_class("deepiv") is DeepIV
    assert get_estimator_class("cbiv") is CBIV
    code = "import sys, deepcause.estimate, deepcause.estimate.iv; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("cls", "params", "match"),
    [
        (DeepIV, {"max_epochs": 0}, "max_epochs"),
        (DFIV, {"max_epochs": 0}, "max_epochs"),
        (CBIV, {"max_epochs": 0}, "max_epochs"),
        (DeepIV, {"treatment_hidden_sizes": 32}, "treatment_hidden_sizes"),
        (DFIV, {"instrument_hidden_sizes": ()}, "instrument_hidden_sizes"),
        (CBIV, {"outcome_hidden_sizes": (16, -1)}, "outcome_hidden_sizes"),
        (CBIV, {"learning_rate": 0.0}, "learning_rate"),
        (DFIV, {"random_state": -1}, "random_state"),
        (DeepIV, {"activation": "swish"}, "activation"),
        (CBIV, {"device": "gpu"}, "device"),
        (DFIV, {"device": 3}, "device"),
    ],
)
def test_declared_parameter_constraints(cls, params, match, sine: pd.DataFrame):
    from deepcause.exceptions import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=match):
        cls(**params, verbose=False).fit(sine, **ROLES)

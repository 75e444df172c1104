"""Regression-based FrontDoor against interventional truth from the simulator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import LinearRegression

from deepcause.estimate.frontdoor import FrontDoor
from deepcause.exceptions import DataValidationError, EstimandNotSupportedError
from deepcause.graph import CausalGraph
from deepcause.identification.algorithm import identify


def _smoking_table():
    # P(S,T) = .475/.025/.025/.475, P(C=1|S,T) = .10/.90/.05/.85 for (S,T) = 00, 10, 01, 11
    s = np.repeat([0, 1, 0, 1], [1900, 100, 100, 1900])
    t = np.repeat([0, 0, 1, 1], [1900, 100, 100, 1900])
    ones = np.repeat([190, 90, 5, 1615], 1)
    c = np.concatenate(
        [np.r_[np.ones(k), np.zeros(m - k)] for k, m in zip(ones, [1900, 100, 100, 1900])]
    )
    return pd.DataFrame({"S": s, "T": t, "C": c.astype(int)})


def _linear_fd(n, rng, do_x=None, levels=2):
    """Latent U confounds X and Y; X -> M -> Y. E[Y | do(x)] = 1.5 * 2 * x (+ E[2U] = 0)."""
    u = rng.normal(size=n)
    if do_x is None:
        x = np.clip(np.floor((u + rng.normal(size=n)) * levels / 3 + levels / 2), 0, levels - 1)
    else:
        x = np.full(n, float(do_x))
    m = 2 * x + rng.normal(size=n)
    y = 1.5 * m + 2 * u + 0.5 * m**2 / 10 + rng.normal(size=n)
    return pd.DataFrame({"X": x.astype(int), "M": m, "Y": y})


def _truth(do_x, levels=2):
    # E[Y | do(x)] = 1.5 E[M] + 0.05 E[M^2] with M ~ N(2x, 1)
    mu = 2.0 * do_x
    return 1.5 * mu + 0.05 * (mu**2 + 1)


def test_linear_front_door_recovers_ate_and_naive_fails():
    rng = np.random.default_rng(0)
    df = _linear_fd(4000, rng)
    est = identify(CausalGraph("X -> M -> Y; X <-> Y"), "X", "Y")
    fd = FrontDoor(outcome_model=LinearRegression(), random_state=0).fit(df, est)
    r = fd.bootstrap(100, random_state=0)
    truth = _truth(1) - _truth(0)
    assert abs(r.value - truth) < 4 * r.std_error + 0.02
    lo, hi = r.conf_int(0.01)
    assert lo < truth < hi
    naive = df.groupby("X")["Y"].mean().diff().iloc[-1]
    assert abs(naive - truth) > 1.0
    for x in (0, 1):
        m = fd.bootstrap(100, random_state=0, treatment=x, control=None)
        assert m.query == f"E[Y | do(X={x})]"
        assert abs(m.value - _truth(x)) < 4 * m.std_error + 0.02


def test_three_level_treatment_with_default_model():
    rng = np.random.default_rng(1)
    df = _linear_fd(6000, rng, levels=3)
    fd = FrontDoor().fit(df, treatment="X", outcome="Y", mediators=["M"])
    assert fd.data_.levels.tolist() == [0, 1, 2]
    r = fd.bootstrap(60, random_state=0, treatment=2, control=0)
    assert r.query == "E[Y | do(X=2)] − E[Y | do(X=0)]"
    truth = _truth(2) - _truth(0)
    assert abs(r.value - truth) < 4 * r.std_error + 0.02


def test_nonlinear_outcome_model_matches_monte_carlo_truth():
    rng = np.random.default_rng(2)
    n = 3000
    u = rng.normal(size=n)
    x = (u + rng.normal(size=n) > 0).astype(int)
    m = x + rng.normal(size=n)
    y = np.tanh(2 * m) + u + 0.3 * rng.normal(size=n)
    df = pd.DataFrame({"X": x, "M": m, "Y": y})
    mc = np.random.default_rng(9).normal(size=1_000_000)
    truth = np.mean(np.tanh(2 * (1 + mc))) - np.mean(np.tanh(2 * mc))
    model = GradientBoostingRegressor(n_estimators=60, max_depth=2)
    fd = FrontDoor(outcome_model=model, random_state=0)
    r = fd.fit(df, treatment="X", outcome="Y", mediators=["M"]).bootstrap(25, random_state=0)
    assert abs(r.value - truth) < 4 * r.std_error + 0.02


def test_discrete_mediator_reproduces_smoking_numbers():
    df = _smoking_table()
    est = identify(CausalGraph("S -> T -> C; S <-> C"), "S", "C")
    fd = FrontDoor().fit(df, est)
    assert fd.data_.discrete
    assert fd.mean(treatment=1).value == pytest.approx(0.4525, abs=1e-12)
    assert fd.mean(treatment=0).value == pytest.approx(0.4975, abs=1e-12)


def test_refuses_back_door_estimand_and_bad_input():
    rng = np.random.default_rng(3)
    df = _linear_fd(300, rng)
    backdoor = identify(CausalGraph("M -> X -> Y; M -> Y"), "X", "Y")
    with pytest.raises(EstimandNotSupportedError, match="AIPW"):
        FrontDoor().fit(df, backdoor)
    with pytest.raises(DataValidationError, match="mediators"):
        FrontDoor().fit(df, treatment="X", outcome="Y")
    fd = FrontDoor().fit(df, treatment="X", outcome="Y", mediators=["M"])
    assert fd.ate().std_error is None
    with pytest.raises(DataValidationError, match="treatment value 7"):
        fd.mean(treatment=7)
    with pytest.raises(EstimandNotSupportedError, match="population"):
        fd.effect(population="treated")


def test_deterministic():
    df = _linear_fd(500, np.random.default_rng(4))
    a = FrontDoor().fit(df, treatment="X", outcome="Y", mediators=["M"])
    b = FrontDoor().fit(df, treatment="X", outcome="Y", mediators=["M"])
    np.testing.assert_array_equal(
        a.bootstrap(20, random_state=1).bootstrap, b.bootstrap(20, random_state=1).bootstrap
    )

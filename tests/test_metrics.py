"""Metrics on hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest

from deepcause import metrics as M
from deepcause.exceptions import DataValidationError
from deepcause.results import EffectEstimate


def test_ate_error_and_pehe():
    assert M.ate_error(EffectEstimate(value=3.0), 4.0) == 1.0
    assert M.pehe([1, 2, 3, 4], [1, 2, 3, 6]) == pytest.approx(1.0)
    assert M.pehe([0, 0], mu0=[1, 1], mu1=[4, 5]) == pytest.approx(np.sqrt((9 + 16) / 2))
    with pytest.raises(DataValidationError, match="same length"):
        M.pehe([1, 2], [1, 2, 3])
    with pytest.raises(DataValidationError, match="mu0"):
        M.pehe([1, 2])


def test_policy_risk_hand_example():
    # policy treats units 0, 1, 2; on e == 1 units: 0..5
    tau = np.array([1, 1, 1, -1, -1, -1, 5.0])
    t = np.array([1, 1, 0, 0, 0, 1, 1])
    y = np.array([1, 0, 1, 1, 1, 0, 0])
    e = np.array([1, 1, 1, 1, 1, 1, 0])
    # P(pi=1) = 1/2; treated & pi=1: units 0,1 -> mean 0.5; control & pi=0: units 3,4 -> 1
    assert M.policy_risk(tau, t, y, e) == pytest.approx(1 - (0.5 * 0.5 + 0.5 * 1.0))
    assert M.policy_risk(tau[:6], t[:6], y[:6]) == pytest.approx(0.25)
    with pytest.raises(DataValidationError, match="e == 1"):
        M.policy_risk(tau, t, y, np.zeros(7))


def test_replication_summary():
    s = M.replication_summary([1.0, 3.0, 5.0, 7.0], [2.0, 2.0, 2.0, 2.0])
    assert s["bias"] == pytest.approx(2.0)
    assert s["mae"] == pytest.approx((1 + 1 + 3 + 5) / 4)
    assert s["rmse"] == pytest.approx(np.sqrt((1 + 1 + 9 + 25) / 4))
    assert s["sd"] == pytest.approx(np.std([1, 3, 5, 7], ddof=1))
    assert s["se_mean"] == pytest.approx(s["sd"] / 2)
    assert s["median_estimate"] == 4.0 and s["median_abs_error"] == 2.0
    assert s["max_abs_error"] == 5.0
    ests = [EffectEstimate(value=v, std_error=1.0) for v in (0.0, 1.0, 5.0)]
    cov = M.replication_summary(ests, 0.5)
    assert cov["coverage"] == pytest.approx(2 / 3)


def test_mmd_rbf_same_vs_shifted_and_bandwidth():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    same = [M.mmd_rbf(x, rng.normal(size=(400, 3))) for _ in range(5)]
    shifted = M.mmd_rbf(x, rng.normal(0.5, 1.0, size=(400, 3)))
    assert max(abs(v) for v in same) < 0.01 and shifted > 0.05
    assert M.mmd_rbf(x, x, unbiased=False) == pytest.approx(0.0, abs=1e-12)
    # hand computation for two single points at distance 1 with h = 1 (biased)
    assert M.mmd_rbf([[0.0], [0.0]], [[1.0], [1.0]], bandwidth=1.0, unbiased=False) == (
        pytest.approx(2 - 2 * np.exp(-0.5))
    )
    big = M.mmd_rbf(rng.normal(size=(5000, 1)), rng.normal(size=(5000, 1)), max_samples=500)
    assert abs(big) < 0.02
    with pytest.raises(DataValidationError, match="columns"):
        M.mmd_rbf(x, x[:, :2])


def test_wasserstein_interventional_counterfactual():
    assert M.wasserstein_1d([0, 0, 1], [1, 1, 2]) == pytest.approx(1.0)
    assert M.interventional_mean_error([2.0, 4.0], 2.0, scale=4.0) == pytest.approx(0.25)
    with pytest.raises(DataValidationError, match="scale"):
        M.interventional_mean_error([2.0], 1.0)
    assert M.counterfactual_rmse([[1.0, 2.0]], [[1.0, 4.0]]) == pytest.approx(np.sqrt(2))
    with pytest.raises(DataValidationError, match="shape"):
        M.counterfactual_rmse([1.0], [1.0, 2.0])

"""Honest intervals: meta-learners report influence-function intervals; DCB's does not collapse."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from deepcause.estimate import AIPW, DCB, SLearner, TLearner, XLearner
from deepcause.simulate import make_confounded_binary


def test_xlearner_has_an_interval_by_default():
    ds = make_confounded_binary(400, random_state=0, population_truth=False)
    res = XLearner(random_state=0).fit(ds.data, treatment="t", outcome="y").effect()
    lo, hi = res.conf_int()
    assert res.std_error is not None and 0 < res.std_error < 1
    assert np.isfinite(lo) and np.isfinite(hi)
    assert any("influence function" in note for note in res.diagnostics.notes)


@pytest.mark.parametrize("cls", [SLearner, TLearner])
def test_plugin_learners_say_they_have_no_valid_interval(cls):
    ds = make_confounded_binary(300, random_state=0, population_truth=False)
    res = cls(random_state=0).fit(ds.data, treatment="t", outcome="y").effect()
    assert res.std_error is None and np.isnan(res.conf_int()[0])
    assert any("no valid interval" in note for note in res.summary().notes)


def test_xlearner_interval_covers_over_seeds():
    covered, ses = [], []
    for seed in range(20):
        ds = make_confounded_binary(300, random_state=100 + seed, population_truth=False)
        est = XLearner(LinearRegression(), propensity_model=LogisticRegression(), random_state=0)
        est.fit(ds.data, treatment="t", outcome="y")
        res = est.effect()
        lo, hi = res.conf_int()
        covered.append(lo <= ds.truth["ATE"] <= hi)
        ses.append(res.std_error)
    assert np.mean(covered) >= 0.8  # 95% nominal; 20 seeds
    assert np.mean(ses) > 0.05


def test_xlearner_interval_has_aipw_width_around_its_own_estimate():
    # the score's nuisances are AIPW's (same folds, clipping), refitted with the data
    small = make_confounded_binary(300, random_state=3, population_truth=False).data
    ds = make_confounded_binary(400, random_state=2, population_truth=False)
    xl = XLearner(random_state=0)
    se_small = xl.fit(small, treatment="t", outcome="y").effect().std_error
    res = xl.fit(ds.data, treatment="t", outcome="y").effect()
    ref = AIPW(random_state=0).fit(ds.data, treatment="t", outcome="y").effect()
    assert res.std_error == pytest.approx(ref.std_error, rel=1e-9)
    assert res.std_error != pytest.approx(se_small, rel=1e-3)  # not the first fit's cache
    assert res.value != pytest.approx(ref.value, rel=1e-6)  # centred at the X-learner


def test_dcb_standard_error_does_not_collapse_on_wide_data():
    # issue 12: n = 60, p = 100 gave 2.652 +- 0.0013 (truth 2)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 100))
    t = rng.binomial(1, 1 / (1 + np.exp(-X[:, 0])))
    y = X[:, 0] + 2 * t + rng.normal(size=60)
    res = DCB().fit_arrays(X=X, t=t, y=y).att()
    assert res.std_error > 0.1
    lo, hi = res.conf_int()
    assert lo <= 2.0 <= hi


def test_dcb_interval_covers_on_a_small_design():
    covered = []
    for seed in range(12):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(80, 8))
        t = rng.binomial(1, 1 / (1 + np.exp(-X[:, 0])))
        y = X[:, 0] + 2 * t + rng.normal(size=80)
        lo, hi = DCB().fit_arrays(X=X, t=t, y=y).att().conf_int()
        covered.append(lo <= 2.0 <= hi)
    assert np.mean(covered) >= 0.75  # 95% nominal; 12 seeds

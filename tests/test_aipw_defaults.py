"""AIPW's super-learner defaults (issue #12 item 8) against simulator truth."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression

from deepcause.estimate import AIPW
from deepcause.estimate._stacking import outcome_stack_weights, propensity_stack_weights
from deepcause.exceptions import DataValidationError
from deepcause.simulate import make_confounded_binary
from deepcause.simulate.ihdp import make_ihdp


def _fit(est, ds):
    return est.fit(ds.data, treatment=ds.treatment, outcome=ds.outcome, covariates=ds.covariates)


def test_default_aipw_on_generated_ihdp_b_is_near_truth_with_stack_weights():
    ds = make_ihdp("B", random_state=7)
    est = _fit(AIPW(random_state=0), ds)
    res = est.ate()
    truth = ds.truth["ATE"]
    assert abs(res.value - truth) < 0.4
    lo, hi = res.conf_int()
    assert lo < truth < hi
    w_out = np.asarray(res.diagnostics.extra["outcome_stack_weights"])
    w_ps = np.asarray(res.diagnostics.extra["propensity_stack_weights"])
    assert w_out.shape == (2, 2) and np.allclose(w_out.sum(axis=1), 1) and (w_out >= 0).all()
    assert w_ps.shape == (2,) and np.isclose(w_ps.sum(), 1)
    assert res.diagnostics.extra["clip_bounds"] == (0.05, 0.95)


def test_default_att_uses_the_treated_score():
    ds = make_confounded_binary(1500, random_state=3, population_truth=False)
    res = _fit(AIPW(random_state=0), ds).att()
    assert res.quantity == "ATT"
    assert abs(res.value - ds.truth["ATT"]) < 4 * res.std_error


def test_stack_weights_pick_the_right_candidate():
    rng = np.random.default_rng(0)
    x = rng.normal(size=500)
    y = 3 * x + rng.normal(scale=0.1, size=500)
    w = outcome_stack_weights(np.column_stack([3 * x, np.zeros(500), x**2]), y)
    assert w[0] > 0.95
    t = (rng.random(500) < 1 / (1 + np.exp(-2 * x))).astype(int)
    good = 1 / (1 + np.exp(-2 * x))
    w = propensity_stack_weights(np.column_stack([np.full(500, t.mean()), good]), t)
    assert w[1] > 0.9 and np.isclose(w.sum(), 1)


def test_user_lists_are_stacked_and_bad_lists_refused():
    ds = make_confounded_binary(600, random_state=1, population_truth=False)
    est = AIPW(
        propensity_model=[LogisticRegression(), DummyClassifier()],
        outcome_model=[LinearRegression(), DummyRegressor()],
        n_folds=3,
        random_state=0,
    )
    _fit(est, ds)
    assert est.outcome_weights_.shape == (2, 2)
    assert est.outcome_weights_[:, 0].min() > 0.5  # the informative model dominates
    with pytest.raises(DataValidationError, match="empty list"):
        _fit(AIPW(outcome_model=[]), ds)
    with pytest.raises(DataValidationError, match="no fit/predict_proba"):
        _fit(AIPW(propensity_model=[LinearRegression()]), ds)

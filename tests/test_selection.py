"""Selection-bias estimators: Heckman (Mroz textbook numbers), IPSW and shadow variable
against simulations whose truth comes from intervening on the simulator."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from deepcause.datasets import load_mroz
from deepcause.estimate.selection import (
    ExclusionRestrictionWarning,
    HeckmanSelection,
    SelectionIPW,
    ShadowVariableEstimator,
    selection_graph,
)
from deepcause.exceptions import DataValidationError, NotFittedError
from deepcause.simulate import make_selection


@pytest.fixture(scope="module")
def mroz():
    return load_mroz()


def _heckit(mroz, method="twostep"):
    return HeckmanSelection(method=method).fit(
        mroz.data, "lwage", "inlf", mroz.controls, mroz.selection_covariates
    )


def test_mroz_heckit_matches_wooldridge_17_5(mroz):
    h = _heckit(mroz)
    assert h.coef_["educ"] == pytest.approx(0.10907, abs=5e-6)
    assert h.coef_["lambda"] == pytest.approx(0.03226, abs=5e-6)
    # textbook standard errors (corrected for the generated regressor), to 3 decimals
    assert round(h.std_errors_["educ"], 3) == 0.016
    assert round(h.std_errors_["lambda"], 3) == 0.134
    # uncorrected OLS standard errors differ, so the correction is really applied
    sel = mroz.data["inlf"] == 1
    assert h.n_selected_ == int(sel.sum()) == 428 and h.n_ == 753
    assert set(h.excluded_) == {"nwifeinc", "age", "kidslt6", "kidsge6"}
    est = h.coefficient("educ")
    assert est.std_error == pytest.approx(h.std_errors_["educ"])
    lo, hi = est.conf_int()
    assert lo < 0.10907 < hi


def test_mroz_mle_close_to_two_step_and_at_optimum(mroz):
    two, mle = _heckit(mroz), _heckit(mroz, "mle")
    assert mle.coef_["educ"] == pytest.approx(two.coef_["educ"], abs=0.003)
    assert abs(mle.rho_) < 0.3 and mle.sigma_ == pytest.approx(two.sigma_, rel=0.02)
    assert mle.std_errors_["educ"] == pytest.approx(0.015, abs=0.002)
    assert np.isfinite(mle.loglik_)


def test_mle_gradient_is_exact():
    ds = make_selection(400, "unobservables", random_state=3)
    h = HeckmanSelection(method="mle")
    h.fit(ds.data, "y", "s", ["x", "t"], ["x", "z", "t"])
    # re-create the objective at a perturbed point and compare with finite differences
    from scipy.optimize import check_grad

    captured = {}
    orig = __import__("scipy").optimize.minimize

    def spy(fun, x0, **kw):
        captured["f"] = fun
        return orig(fun, x0, **kw)

    import deepcause.estimate.selection.heckman as mod

    mod.optimize.minimize = spy
    try:
        HeckmanSelection(method="mle").fit(ds.data, "y", "s", ["x", "t"], ["x", "z", "t"])
    finally:
        mod.optimize.minimize = orig
    f = captured["f"]
    x0 = np.array([0.1, 0.8, 0.9, 0.4, 1.1, 0.9, 2.1, -0.1, 0.5])
    err = check_grad(lambda v: f(v)[0], lambda v: f(v)[1], x0)
    assert err < 1e-4 * np.linalg.norm(f(x0)[1])


def test_graph_roles_and_exclusion_warning(mroz):
    g = selection_graph("lwage", "inlf", mroz.controls, mroz.selection_covariates)
    a = HeckmanSelection().fit(mroz.data, "lwage", "inlf", graph=g)
    pd.testing.assert_series_equal(a.coef_, _heckit(mroz).coef_)
    with pytest.warns(ExclusionRestrictionWarning, match="excluded"):
        HeckmanSelection().fit(mroz.data, "lwage", "inlf", ["educ", "exper"], ["educ", "exper"])


def test_bad_inputs(mroz):
    df = mroz.data.copy()
    df["inlf2"] = df["inlf"] * 2
    with pytest.raises(DataValidationError, match="binary"):
        HeckmanSelection().fit(df, "lwage", "inlf2", ["educ"], ["educ", "age"])
    df2 = mroz.data.copy()
    df2.loc[0, "lwage"] = np.nan  # a selected woman without wage
    with pytest.raises(DataValidationError, match="missing for 1 selected"):
        HeckmanSelection().fit(df2, "lwage", "inlf", ["educ"], ["educ", "age"])
    with pytest.raises(DataValidationError, match="method"):
        HeckmanSelection(method="ml").fit(mroz.data, "lwage", "inlf", ["educ"], ["age"])
    with pytest.raises(DataValidationError, match="educc"):
        HeckmanSelection().fit(mroz.data, "lwage", "inlf", ["educc"], ["age"])
    with pytest.raises(NotFittedError):
        HeckmanSelection().summary()
    with pytest.raises(DataValidationError, match="shadow"):
        ShadowVariableEstimator().fit(mroz.data, "lwage", "inlf", "educ", ["educ"])


def test_unselected_outcomes_are_ignored(mroz):
    df = mroz.data.copy()
    df.loc[df["inlf"] == 0, "lwage"] = 1e6
    a = HeckmanSelection().fit(df, "lwage", "inlf", mroz.controls, mroz.selection_covariates)
    pd.testing.assert_series_equal(a.coef_, _heckit(mroz).coef_)


def test_heckman_recovers_truth_when_selection_on_unobservables():
    ds = make_selection(6000, "unobservables", rho=0.7, random_state=11)
    d = ds.data
    sel = d[d.s == 1]
    X = np.column_stack([np.ones(len(sel)), sel["x"], sel["t"]])
    beta, res, *_ = np.linalg.lstsq(X, sel["y"], rcond=None)
    se_x = np.sqrt(res[0] / (len(sel) - 3) * np.linalg.inv(X.T @ X)[1, 1])
    assert abs(beta[1] - ds.truth["coef_x"]) > 4 * se_x  # naive OLS is biased
    for method in ("twostep", "mle"):
        h = HeckmanSelection(method=method).fit(d, "y", "s", ["x", "t"], ["x", "z", "t"])
        for name in ("x", "t", "const"):
            err = abs(h.coef_[name] - ds.truth[f"coef_{name}"])
            assert err < 3 * h.std_errors_[name], (method, name)
        assert h.rho_ == pytest.approx(0.7, abs=0.15)
        eff = h.effect("t")
        assert abs(eff.value - ds.truth["ATE"]) < 3 * eff.std_error


def test_estimate_effect_takes_heckman_selection_covariates_from_the_graph():
    from deepcause.estimate.api import estimate_effect

    ds = make_selection(3000, "unobservables", random_state=0)
    # w = y + noise is a descendant of the outcome: not a cause of selection
    graph = "x -> t; x -> y; t -> y; x -> s; z -> s; t -> s; s <-> y; y -> w"
    res = estimate_effect(ds.data, graph, "t", "y", method="heckman")
    model = res.diagnostics["estimator"].model_
    assert sorted(model.selection_coef_.index.drop("const")) == ["t", "x", "z"]
    assert list(model.excluded_) == ["z"]
    assert abs(res.value - ds.truth["ATE"]) < 4 * res.std_error


def test_three_regimes_side_by_side():
    truth = {}
    for mech in ("mar", "outcome"):
        ds = make_selection(6000, mech, random_state=5)
        d = ds.data
        t_mean = ds.truth["E[Y]"]
        naive = d.loc[d.s == 1, "y"].mean()
        ipsw = SelectionIPW().fit(d, "y", "s", ["x", "z", "t"]).mean_outcome()
        shadow = ShadowVariableEstimator().fit(d, "y", "s", "w", ["x"]).mean_outcome()
        truth[mech] = (naive, ipsw, shadow, t_mean)
        assert abs(naive - t_mean) > 0.3
    naive, ipsw, shadow, t_mean = truth["mar"]
    assert abs(ipsw.value - t_mean) < 3 * ipsw.std_error
    naive, ipsw, shadow, t_mean = truth["outcome"]
    assert abs(shadow.value - t_mean) < 3 * shadow.std_error
    assert abs(ipsw.value - t_mean) > 5 * ipsw.std_error  # MAR weighting fails under MNAR


def test_effects_with_treatment():
    ds = make_selection(6000, "outcome", random_state=8)
    sh = ShadowVariableEstimator().fit(ds.data, "y", "s", "w", ["x"], treatment="t")
    eff = sh.effect()
    assert abs(eff.value - ds.truth["ATE"]) < 3 * eff.std_error
    m0, m1 = sh.potential_outcome_means()
    assert m1.value - m0.value == pytest.approx(eff.value)
    assert sh.mean_outcome().value == pytest.approx(ds.truth["E[Y]"], abs=0.15)
    assert 0 < sh.effective_sample_size_ <= sh.n_selected_
    mar = make_selection(6000, "mar", random_state=8)
    ip = SelectionIPW().fit(mar.data, "y", "s", ["x", "z"], treatment="t")
    eff = ip.effect()
    assert abs(eff.value - mar.truth["ATE"]) < 3 * eff.std_error
    with pytest.raises(DataValidationError, match="without a treatment"):
        SelectionIPW().fit(mar.data, "y", "s", ["x", "z"]).effect()


def test_shadow_standard_errors_are_calibrated():
    values, ses = [], []
    for seed in range(25):
        ds = make_selection(1500, "outcome", random_state=100 + seed)
        m = ShadowVariableEstimator().fit(ds.data, "y", "s", "w", ["x"]).mean_outcome()
        values.append(m.value)
        ses.append(m.std_error)
    sd = np.std(values, ddof=1)
    assert 0.6 < np.mean(ses) / sd < 1.6  # 25 replications: sd itself is +-15% noisy
    assert abs(np.mean(values) - 2.0) < 3 * sd / 5


def test_weak_shadow_is_refused():
    ds = make_selection(2000, "outcome", random_state=1)
    d = ds.data.assign(noise=np.random.default_rng(0).normal(size=len(ds.data)))
    with pytest.raises(DataValidationError, match="not associated"):
        ShadowVariableEstimator().fit(d, "y", "s", "noise", ["x"])


def test_deterministic():
    ds = make_selection(1000, "outcome", random_state=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = ShadowVariableEstimator().fit(ds.data, "y", "s", "w", ["x"]).mean_outcome()
        b = ShadowVariableEstimator().fit(ds.data, "y", "s", "w", ["x"]).mean_outcome()
    assert a.value == b.value and a.std_error == b.std_error

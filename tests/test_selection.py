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
from deepcause.exceptions import (
    DataValidationError,
    EstimandNotSupportedError,
    InvalidParameterError,
    NotFittedError,
)
from deepcause.results import Summary
from deepcause.simulate import make_selection

#: Wooldridge Example 17.5: wage equation and the variables excluded from it
MROZ_ROLES = dict(
    outcome="lwage",
    selection="inlf",
    covariates=["educ", "exper", "expersq"],
    instruments=["nwifeinc", "age", "kidslt6", "kidsge6"],
)
#: make_selection: outcome y observed when s = 1; z moves selection only; w is a shadow
SIM = dict(outcome="y", selection="s")


@pytest.fixture(scope="module")
def mroz():
    return load_mroz()


def _heckit(mroz, method="twostep"):
    return HeckmanSelection(method=method).fit(mroz.data, **MROZ_ROLES)


def test_mroz_heckit_matches_wooldridge_17_5(mroz):
    h = _heckit(mroz)
    assert h.coef_["educ"] == pytest.approx(0.10907, abs=5e-6)
    assert h.coef_["lambda"] == pytest.approx(0.03226, abs=5e-6)
    # textbook standard errors (corrected for the generated regressor), to 3 decimals
    assert round(h.std_error_["educ"], 3) == 0.016
    assert round(h.std_error_["lambda"], 3) == 0.134
    # uncorrected OLS standard errors differ, so the correction is really applied
    sel = mroz.data["inlf"] == 1
    assert h.n_selected_ == int(sel.sum()) == 428 and h.data_.n == 753
    est = h.coefficient("educ")
    assert est.std_error == pytest.approx(h.std_error_["educ"])
    lo, hi = est.conf_int()
    assert lo < 0.10907 < hi
    table = h.coef_table()
    assert list(table.columns) == ["estimate", "std_error", "ci_lower", "ci_upper", "p_value"]
    assert table.loc["educ", "estimate"] == pytest.approx(0.10907, abs=5e-6)
    summary = h.summary()
    assert isinstance(summary, Summary)
    assert "nwifeinc, age, kidslt6, kidsge6" in summary.as_text()


def test_mroz_mle_close_to_two_step_and_at_optimum(mroz):
    two, mle = _heckit(mroz), _heckit(mroz, "mle")
    assert mle.coef_["educ"] == pytest.approx(two.coef_["educ"], abs=0.003)
    assert abs(mle.rho_) < 0.3 and mle.sigma_ == pytest.approx(two.sigma_, rel=0.02)
    assert mle.std_error_["educ"] == pytest.approx(0.015, abs=0.002)
    assert np.isfinite(mle.loglik_)


def test_mle_gradient_is_exact():
    ds = make_selection(400, "unobservables", random_state=3)
    roles = dict(SIM, covariates=["x", "t"], instruments=["z"])
    HeckmanSelection(method="mle").fit(ds.data, **roles)
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
        HeckmanSelection(method="mle").fit(ds.data, **roles)
    finally:
        mod.optimize.minimize = orig
    f = captured["f"]
    x0 = np.array([0.1, 0.8, 0.9, 0.4, 1.1, 0.9, 2.1, -0.1, 0.5])
    err = check_grad(lambda v: f(v)[0], lambda v: f(v)[1], x0)
    assert err < 1e-4 * np.linalg.norm(f(x0)[1])


def test_graph_roles_and_exclusion_warning(mroz):
    g = selection_graph("lwage", "inlf", MROZ_ROLES["covariates"], MROZ_ROLES["instruments"])
    a = HeckmanSelection().fit(mroz.data, outcome="lwage", selection="inlf", graph=g)
    pd.testing.assert_series_equal(a.coef_, _heckit(mroz).coef_)
    assert a.data_.instrument_names == tuple(MROZ_ROLES["instruments"])
    with pytest.warns(ExclusionRestrictionWarning, match="excluded"):
        h = HeckmanSelection().fit(
            mroz.data, outcome="lwage", selection="inlf", covariates=["educ", "exper"]
        )
    assert "normality assumption alone" in h.summary().as_text()


def test_bad_inputs(mroz):
    df = mroz.data.copy()
    df["inlf2"] = df["inlf"] * 2
    roles = dict(outcome="lwage", covariates=["educ"], instruments=["age"])
    with pytest.raises(DataValidationError, match="binary"):
        HeckmanSelection().fit(df, selection="inlf2", **roles)
    df2 = mroz.data.copy()
    df2.loc[0, "lwage"] = np.nan  # a selected woman without wage
    with pytest.raises(DataValidationError, match="missing for 1 selected"):
        HeckmanSelection().fit(df2, selection="inlf", **roles)
    with pytest.raises(InvalidParameterError, match="method"):
        HeckmanSelection(method="ml").fit(mroz.data, selection="inlf", **roles)
    with pytest.raises(DataValidationError, match="educc"):
        HeckmanSelection().fit(
            mroz.data, outcome="lwage", selection="inlf", covariates=["educc"], instruments=["age"]
        )
    with pytest.raises(DataValidationError, match="both as covariate and as instrument"):
        HeckmanSelection().fit(
            mroz.data, outcome="lwage", selection="inlf", covariates=["age"], instruments=["age"]
        )
    with pytest.raises(NotFittedError):
        HeckmanSelection().summary()
    with pytest.raises(TypeError):
        HeckmanSelection().fit(mroz.data, "lwage", "inlf")  # roles go by keyword
    with pytest.raises(DataValidationError, match="one shadow variable"):
        ShadowVariableEstimator().fit(mroz.data, outcome="lwage", selection="inlf")
    with pytest.raises(DataValidationError, match="does not take instruments"):
        SelectionIPW().fit(mroz.data, outcome="lwage", selection="inlf", instruments=["age"])


def test_unselected_outcomes_are_ignored(mroz):
    df = mroz.data.copy()
    df.loc[df["inlf"] == 0, "lwage"] = 1e6
    a = HeckmanSelection().fit(df, **MROZ_ROLES)
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
        h = HeckmanSelection(method=method).fit(
            d, **SIM, treatment="t", covariates=["x"], instruments=["z"]
        )
        for name in ("x", "t", "const"):
            err = abs(h.coef_[name] - ds.truth[f"coef_{name}"])
            assert err < 3 * h.std_error_[name], (method, name)
        assert h.rho_ == pytest.approx(0.7, abs=0.15)
        eff = h.effect(treatment=1, control=0)
        assert abs(eff.value - ds.truth["ATE"]) < 3 * eff.std_error
        assert eff.query == "E[y | do(t=1)] − E[y | do(t=0)]"
        assert h.coefficient("t").value == eff.value
        # E[Y] and E[Y | do(t)] over the whole population, selected or not
        m = h.mean()
        assert abs(m.value - ds.truth["E[Y]"]) < 3 * m.std_error and m.query == "E[y]"
        m1 = h.mean(treatment=1)
        truth1 = ds.truth["coef_const"] + ds.truth["coef_t"] + ds.truth["coef_x"] * d["x"].mean()
        assert abs(m1.value - truth1) < 3 * m1.std_error
        assert m1.value - h.mean(treatment=0).value == pytest.approx(eff.value)


def test_estimate_effect_takes_heckman_selection_covariates_from_the_graph():
    from deepcause.estimate.api import estimate_effect

    ds = make_selection(3000, "unobservables", random_state=0)
    # w = y + noise is a descendant of the outcome: not a cause of selection
    graph = "x -> t; x -> y; t -> y; x -> s; z -> s; t -> s; s <-> y; y -> w"
    res = estimate_effect(ds.data, graph, "t", "y", method="heckman")
    assert res.method == "Heckman (twostep)" and res.diagnostics.extra["excluded"] == ("z",)
    assert abs(res.value - ds.truth["ATE"]) < 4 * res.std_error
    # the same fit by hand: estimand + graph
    from deepcause.graph import CausalGraph
    from deepcause.identification.algorithm import identify

    g = CausalGraph(graph)
    model = HeckmanSelection().fit(ds.data, identify(g, "t", "y"), graph=g)
    assert sorted(model.selection_coef_.index.drop("const")) == ["t", "x", "z"]
    assert model.effect().value == res.value


def test_three_regimes_side_by_side():
    truth = {}
    for mech in ("mar", "outcome"):
        ds = make_selection(6000, mech, random_state=5)
        d = ds.data
        t_mean = ds.truth["E[Y]"]
        naive = d.loc[d.s == 1, "y"].mean()
        ipsw = SelectionIPW().fit(d, **SIM, covariates=["x", "z", "t"]).mean()
        shadow = ShadowVariableEstimator().fit(d, **SIM, instruments="w", covariates=["x"]).mean()
        truth[mech] = (naive, ipsw, shadow, t_mean)
        assert abs(naive - t_mean) > 0.3
    naive, ipsw, shadow, t_mean = truth["mar"]
    assert abs(ipsw.value - t_mean) < 3 * ipsw.std_error
    naive, ipsw, shadow, t_mean = truth["outcome"]
    assert abs(shadow.value - t_mean) < 3 * shadow.std_error
    assert abs(ipsw.value - t_mean) > 5 * ipsw.std_error  # MAR weighting fails under MNAR


def test_effects_with_treatment():
    ds = make_selection(6000, "outcome", random_state=8)
    sh = ShadowVariableEstimator().fit(
        ds.data, **SIM, instruments=["w"], covariates=["x"], treatment="t"
    )
    eff = sh.effect(treatment=1, control=0)
    assert abs(eff.value - ds.truth["ATE"]) < 3 * eff.std_error
    m0, m1 = sh.mean(treatment=0), sh.mean(treatment=1)
    assert m1.value - m0.value == pytest.approx(eff.value)
    assert m1.query == "E[y | do(t=1)]"
    assert sh.mean().value == pytest.approx(ds.truth["E[Y]"], abs=0.15)
    assert 0 < sh.effective_sample_size_ <= int(ds.data["s"].sum())
    assert "effective sample size" in sh.summary().as_text()
    mar = make_selection(6000, "mar", random_state=8)
    ip = SelectionIPW().fit(mar.data, **SIM, covariates=["x", "z"], treatment="t")
    eff = ip.effect(treatment=1, control=0)
    assert abs(eff.value - mar.truth["ATE"]) < 3 * eff.std_error
    assert ip.effect(treatment=0, control=1).value == pytest.approx(-eff.value)
    with pytest.raises(DataValidationError, match="must be 0 or 1"):
        ip.effect(treatment=2, control=0)
    with pytest.raises(EstimandNotSupportedError, match="without a treatment"):
        SelectionIPW().fit(mar.data, **SIM, covariates=["x", "z"]).effect()


def test_shadow_standard_errors_are_calibrated():
    values, ses = [], []
    for seed in range(25):
        ds = make_selection(1500, "outcome", random_state=100 + seed)
        m = ShadowVariableEstimator().fit(ds.data, **SIM, instruments=["w"], covariates=["x"])
        m = m.mean()
        values.append(m.value)
        ses.append(m.std_error)
    sd = np.std(values, ddof=1)
    assert 0.6 < np.mean(ses) / sd < 1.6  # 25 replications: sd itself is +-15% noisy
    assert abs(np.mean(values) - 2.0) < 3 * sd / 5


def test_weak_shadow_is_refused():
    ds = make_selection(2000, "outcome", random_state=1)
    d = ds.data.assign(noise=np.random.default_rng(0).normal(size=len(ds.data)))
    with pytest.raises(DataValidationError, match="not associated"):
        ShadowVariableEstimator().fit(d, **SIM, instruments=["noise"], covariates=["x"])


def test_deterministic():
    ds = make_selection(1000, "outcome", random_state=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        roles = dict(SIM, instruments=["w"], covariates=["x"])
        a = ShadowVariableEstimator().fit(ds.data, **roles).mean()
        b = ShadowVariableEstimator().fit(ds.data, **roles).mean()
    assert a.value == b.value and a.std_error == b.std_error


def test_heckman_without_covariates_or_rank_deficient_is_refused():
    ds = make_selection(1000, "unobservables", random_state=4)
    with (
        pytest.raises(DataValidationError, match="needs selection covariates"),
        pytest.warns(ExclusionRestrictionWarning),
    ):
        HeckmanSelection().fit(ds.data, **SIM)
    collinear = ds.data.assign(x2=2 * ds.data["x"])
    with pytest.raises(DataValidationError, match="rank-deficient"):
        HeckmanSelection().fit(collinear, **SIM, covariates=["x", "x2"], instruments=["z"])


def test_bootstrap_through_the_base_covers_the_truth():
    ds = make_selection(2000, "unobservables", random_state=7)
    h = HeckmanSelection().fit(ds.data, **SIM, treatment="t", covariates=["x"], instruments=["z"])
    boot = h.bootstrap(n_boot=40, random_state=0)
    lo, hi = boot.conf_int()
    assert lo < ds.truth["ATE"] < hi and boot.ci_method == "percentile"
    assert boot.std_error == pytest.approx(h.effect().std_error, rel=0.4)
    again = h.bootstrap(n_boot=40, random_state=0)
    np.testing.assert_array_equal(boot.bootstrap, again.bootstrap)
    mar = make_selection(2000, "mar", random_state=7)
    ip = SelectionIPW().fit(mar.data, **SIM, covariates=["x", "z"], treatment="t")
    boot = ip.bootstrap(n_boot=30, random_state=0)
    assert boot.std_error == pytest.approx(ip.effect().std_error, rel=0.4)

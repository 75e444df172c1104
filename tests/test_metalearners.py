"""Meta-learners recover known effects on data simulated from a known SCM."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression

from deepcause.estimate import AIPW
from deepcause.estimate.metalearners import DRLearner, SLearner, TLearner, XLearner
from deepcause.exceptions import DataValidationError, EstimandNotSupportedError, NotFittedError
from deepcause.identification.estimand import Estimand, P, Product, Sum
from deepcause.simulate import make_confounded_binary, make_limited_overlap

POP = {"ATE": "all", "ATT": "treated", "ATC": "controls"}


@pytest.fixture(scope="module")
def constant():
    return make_confounded_binary(
        2000, effect="constant", confounding_strength=1.5, population_truth=False, random_state=3
    )


@pytest.fixture(scope="module")
def hetero():
    return make_confounded_binary(
        3000, effect="heterogeneous", population_truth=False, random_state=4
    )


def _fit(est, ds):
    return est.fit(ds.data, treatment=ds.treatment, outcome=ds.outcome, covariates=ds.covariates)


LINEAR = {
    "S": lambda: SLearner(LinearRegression()),
    "T": lambda: TLearner(LinearRegression()),
    "X": lambda: XLearner(LinearRegression()),
    "DR": lambda: DRLearner(LinearRegression(), final_model=LinearRegression(), random_state=0),
}


@pytest.mark.parametrize("name", sorted(LINEAR))
@pytest.mark.parametrize("quantity", ["ATE", "ATT"])
def test_recovers_effect_within_standard_errors(constant, name, quantity):
    truth = constant.truth[quantity]  # intervention on the simulator (mu1 - mu0)
    naive = constant.data.groupby("t")["y"].mean().diff().iloc[-1]
    assert abs(naive - truth) > 1.0  # confounding is strong: a test that can fail
    est = _fit(LINEAR[name](), constant)
    result = (
        est.bootstrap(population=POP[quantity], n_boot=25, random_state=1)
        if name != "DR"
        else est.effect(population=POP[quantity])
    )
    assert result.std_error is not None and 0 < result.std_error < 0.3
    assert abs(result.value - truth) < 4 * result.std_error + 0.02
    lo, hi = result.conf_int(0.01)
    assert lo < truth < hi


def test_dr_learner_standard_error_matches_sampling_spread():
    # the influence-function standard error agrees with the spread over fresh samples
    values, ses = [], []
    for seed in range(10):
        ds = make_confounded_binary(600, population_truth=False, random_state=100 + seed)
        r = _fit(DRLearner(LinearRegression(), random_state=0, n_folds=2), ds).ate()
        values.append(r.value - ds.truth["ATE"])
        ses.append(r.std_error)
    ratio = np.std(values, ddof=1) / np.mean(ses)
    assert 0.5 < ratio < 1.6
    assert abs(np.mean(values)) < 3 * np.mean(ses) / np.sqrt(10)


def _gbr():
    return GradientBoostingRegressor(n_estimators=30, max_depth=3, subsample=0.8)


@pytest.mark.parametrize(
    "make, threshold",
    [
        (lambda: TLearner(random_state=0), 0.75),
        (lambda: XLearner(random_state=0), 0.45),
        (lambda: DRLearner(n_folds=2, random_state=0), 0.70),
    ],
)
def test_cate_learners_on_heterogeneous_effect(hetero, make, threshold):
    tau = hetero.mu1 - hetero.mu0  # tau(x) = 2 + x1 + (x2^2 - 1) / 2
    est = _fit(make(), hetero)
    cate = est.predict_cate(hetero.data)
    pehe = float(np.sqrt(np.mean((cate - tau) ** 2)))
    assert pehe < threshold
    # a constant-effect fit (the ATE everywhere) is much worse: sqrt PEHE = sd(tau) ~ 1.2
    assert pehe < 0.6 * np.std(tau)
    # columns are selected by name: another order gives the same numbers
    reordered = hetero.data[list(hetero.covariates)[::-1]].iloc[:5]
    np.testing.assert_array_equal(est.predict_cate(reordered), est.predict_cate(hetero.data[:5]))
    # the effect at given covariate values averages the CATE over those rows
    at = est.effect(treatment=1, control=0, X=hetero.data.iloc[:5])
    assert at.quantity == "CATE" and at.value == pytest.approx(cate[:5].mean())


def test_linear_s_learner_has_no_heterogeneity(hetero):
    # documents the S-learner's known bias towards a constant effect with an additive model
    est = _fit(SLearner(LinearRegression()), hetero)
    assert np.ptp(est.predict_cate(hetero.data)) < 1e-8


def test_deterministic_under_seed(hetero):
    small = make_confounded_binary(500, population_truth=False, random_state=9)
    a = _fit(DRLearner(_gbr(), n_folds=2, random_state=5), small)
    b = _fit(DRLearner(_gbr(), n_folds=2, random_state=5), small)
    assert a.ate().value == b.ate().value
    np.testing.assert_array_equal(a.cate_, b.cate_)


def test_array_signature_and_errors(constant):
    X = constant.data[list(constant.covariates)].to_numpy()
    t, y = constant.data["t"].to_numpy(), constant.data["y"].to_numpy()
    est = TLearner(LinearRegression()).fit_arrays(X=X, t=t, y=y)
    assert est.predict_cate(X).shape == (len(X),)
    with pytest.raises(DataValidationError, match="columns"):
        est.predict_cate(X[:, :2])
    fitted = _fit(TLearner(LinearRegression()), constant)
    with pytest.raises(DataValidationError, match="x1"):
        fitted.predict_cate(constant.data.drop(columns="x1"))
    with pytest.raises(DataValidationError, match="by name"):
        fitted.predict_cate(X)  # fitted on a DataFrame: an array has no column names
    with pytest.raises(NotFittedError):
        TLearner().ate()


def test_refuses_frontdoor_estimand_naming_the_right_estimator(constant):
    e = Sum("M", Product((P("M", "t"), Sum("t", Product((P("y", ["M", "t"]), P("t")))))))
    fd = Estimand(e, ("t",), ("y",), kind="frontdoor", mediators=("M",))
    with pytest.raises(EstimandNotSupportedError, match="FrontDoor"):
        TLearner().fit(constant.data, fd)


@pytest.mark.filterwarnings("ignore::deepcause.exceptions.PositivityWarning")
def test_drlearner_under_limited_overlap_is_aipw_and_says_it_may_under_cover():
    # the previous defaults (per-arm gradient boosting, logistic propensity, clip 0.01) missed
    # the truth by 0.66 on average on this design (bench_coverage, 70 datasets, 5 folds); with
    # 2 folds by 0.55 and 0.11 on these two (mean 0.33; now 0.07 and 0.18): the outcome
    # models' extrapolation into the sparse arm, amplified by weights up to 100
    errors = []
    for seed in (1000, 1001):
        ds = make_limited_overlap(500, random_state=seed, population_truth=False)
        dr = _fit(DRLearner(n_folds=2, random_state=0), ds).ate()
        errors.append(abs(dr.value - ds.truth["ATE"]))
        notes = " ".join(dr.diagnostics.notes)
        assert "may under-cover" in notes and "85.7%" in notes
    assert np.mean(errors) < 0.25
    aipw = _fit(AIPW(n_folds=2, random_state=0), ds).ate()  # same nuisances and clipping
    assert dr.value == pytest.approx(aipw.value, abs=1e-10)
    assert dr.std_error == pytest.approx(aipw.std_error, abs=1e-10)
    # full overlap: no under-coverage caveat
    full = make_confounded_binary(500, random_state=1000, population_truth=False)
    res = _fit(DRLearner(LinearRegression(), LogisticRegression(), n_folds=2), full).ate()
    assert not any("under-cover" in n for n in res.diagnostics.notes)

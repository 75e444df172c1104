"""AIPW's two intervals (issue #12 item 2): population vs sample (conditional) effect.

The simulator's truth is hidden from the estimators: ``make_confounded_binary`` with a
heterogeneous effect ``2 + x1 + (x2^2 - 1) / 2`` has population ATE 2 and a sample ATE (the
mean of ``mu1(x_i) - mu0(x_i)`` over the drawn units) that varies around it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures

from deepcause.estimate import AIPW, IPW, DRLearner
from deepcause.estimate.doubly_robust import aipw_arm_means
from deepcause.estimate.weighting import contrast_se
from deepcause.exceptions import DeepCauseError, DeepCauseWarning
from deepcause.simulate import make_confounded_binary, make_limited_overlap

C = np.array([-1.0, 1.0])


def _quadratic() -> object:
    return make_pipeline(PolynomialFeatures(2), LinearRegression())


def _aipw(**kw: object) -> AIPW:
    return AIPW(LogisticRegression(), _quadratic(), n_folds=2, **kw)


def _heterogeneous(seed: int, n: int = 500):  # noqa: ANN202
    return make_confounded_binary(
        n, effect="heterogeneous", noise=0.5, random_state=seed, population_truth=False
    )


def test_sample_scores_are_the_weighted_residuals():
    ds = make_confounded_binary(400, effect="heterogeneous", random_state=0, population_truth=False)
    y, t = ds.data["y"].to_numpy(), ds.data["t"].to_numpy()
    e, mu0, mu1 = ds.extras["propensity"], ds.extras["mu0"], ds.extras["mu1"]
    m, psi_p = aipw_arm_means(y, t, e, mu0, mu1, "ATE", normalize=False)
    _, psi_s = aipw_arm_means(y, t, e, mu0, mu1, "ATE", normalize=False, interval="sample")
    resid = t * (y - mu1) / e - (1 - t) * (y - mu0) / (1 - e)
    assert np.allclose(psi_s @ C, resid)
    assert np.allclose(psi_p @ C - psi_s @ C, (mu1 - mu0) - m @ C)  # the heterogeneity term
    assert contrast_se(psi_s, C) < contrast_se(psi_p, C)
    # ATT: the treated arm contributes its residuals y - mu1 instead of y - mean(y | treated)
    _, psi_att = aipw_arm_means(y, t, e, mu0, mu1, "ATT", interval="sample")
    n, n1 = len(t), t.sum()
    assert np.allclose(psi_att[:, 1], n / n1 * np.where(t == 1, y - mu1, 0.0))


def test_sample_interval_is_narrower_under_heterogeneity_and_labelled():
    ds = _heterogeneous(3, n=1000)
    est = _aipw(random_state=0).fit(ds.data, treatment="t", outcome="y")
    pop = est.ate()
    sample = est.set_params(interval="sample").ate()
    assert sample.value == pop.value
    assert sample.std_error < 0.8 * pop.std_error
    assert abs(sample.value - ds.truth["ATE"]) < 3 * sample.std_error
    assert "for the population ATE" in pop.summary().as_text()
    assert "for the sample ATE" in sample.summary().as_text()
    assert sample.diagnostics.extra["interval"] == "sample"
    assert "for the sample ATT" in est.att().summary().as_text()
    # a constant effect: nothing to drop, the two intervals nearly agree
    flat = make_confounded_binary(1000, noise=0.5, random_state=3, population_truth=False)
    est = _aipw(random_state=0).fit(flat.data, treatment="t", outcome="y")
    ratio = (
        est.set_params(interval="sample").ate().std_error
        / est.set_params(interval="population").ate().std_error
    )
    assert 0.85 < ratio < 1.05


def test_drlearner_takes_the_interval_and_bad_values_are_refused():
    ds = _heterogeneous(5)
    kw = dict(final_model=LinearRegression(), n_folds=2, random_state=0)
    est = DRLearner(_quadratic(), LogisticRegression(), **kw).fit(
        ds.data, treatment="t", outcome="y"
    )
    pop = est.ate()
    sample = est.set_params(interval="sample").ate()
    assert sample.value == pop.value and sample.std_error < pop.std_error
    assert "for the sample ATE" in sample.summary().as_text()
    with pytest.raises(DeepCauseError, match="interval") as err:
        AIPW(interval="conditional").fit(ds.data, treatment="t", outcome="y")
    assert "population" in str(err.value) and "\n" not in str(err.value)


def test_dask_engine_refuses_the_sample_interval():
    dd = pytest.importorskip("dask.dataframe")
    ds = _heterogeneous(6)
    frame = dd.from_pandas(ds.data, npartitions=2)
    with pytest.raises(DeepCauseError, match="interval='sample' is not available on the Dask"):
        AIPW(LogisticRegression(), LinearRegression(), interval="sample").fit(
            frame, treatment="t", outcome="y"
        )


def test_ipw_default_clip_is_the_tuned_level_and_beats_the_old_clip_under_limited_overlap():
    ds = make_limited_overlap(2000, random_state=4, population_truth=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeepCauseWarning)
        est = IPW().fit(ds.data, treatment="t", outcome="y")
        new = est.ate()
        old = est.set_params(clip="auto").ate()
    assert new.diagnostics.extra["clip_bounds"] == (0.02, 0.98)
    truth = ds.truth["ATE"]
    assert abs(new.value - truth) < 0.7 * abs(old.value - truth)  # still biased: clip 0.02


@pytest.mark.slow
def test_each_interval_covers_its_own_estimand_about_95_percent():
    """200 draws: the population interval covers the population ATE (2), the sample interval
    the sample ATE and the sample ATT; the sample interval is too narrow for the population
    ATE (so these checks can tell the two apart)."""
    hits = {"pop/pop": [], "sample/sample": [], "sample/pop": [], "att sample": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeepCauseWarning)
        for seed in range(200):
            ds = _heterogeneous(seed)
            est = _aipw(random_state=seed).fit(ds.data, treatment="t", outcome="y")
            pop = est.ate().conf_int()
            est.set_params(interval="sample")
            sample, att = est.ate().conf_int(), est.att().conf_int()
            hits["pop/pop"].append(pop[0] <= 2.0 <= pop[1])
            hits["sample/sample"].append(sample[0] <= ds.truth["ATE"] <= sample[1])
            hits["sample/pop"].append(sample[0] <= 2.0 <= sample[1])
            hits["att sample"].append(att[0] <= ds.truth["ATT"] <= att[1])
    rate = {k: float(np.mean(v)) for k, v in hits.items()}
    assert 0.91 <= rate["pop/pop"] <= 0.985, rate
    assert 0.91 <= rate["sample/sample"] <= 0.985, rate
    assert 0.90 <= rate["att sample"] <= 0.985, rate
    assert rate["sample/pop"] < 0.92, rate

"""The shared overlap check: refusals without overlap, warnings with limited overlap, labels."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from deepcause.estimate import (
    AIPW,
    DCB,
    IPW,
    Matching,
    SLearner,
    TLearner,
    XLearner,
)
from deepcause.estimate.overlap import check_overlap
from deepcause.exceptions import OverlapError, PositivityWarning
from deepcause.simulate import make_confounded_binary, make_limited_overlap


def _frame(X: np.ndarray, t: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    df = pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(X.shape[1])])
    df["t"], df["y"] = t.astype(int), y
    return df


def _deterministic(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    t = X[:, 0] > 0
    return _frame(X, t, X[:, 0] + 2 * t + rng.normal(size=n))


def _fit(est, df: pd.DataFrame):  # noqa: ANN001, ANN202
    return est.fit(df, treatment="t", outcome="y")


@pytest.mark.parametrize("est", [AIPW(), Matching(), DCB(), TLearner(), SLearner(), XLearner()])
def test_deterministic_assignment_is_refused_in_fit(est):
    # issue 12: t = (x > 0) gave AIPW 1.536 with a tight CI, Matching/DCB/TLearner ~0 (truth 2)
    with pytest.raises(OverlapError) as info:
        _fit(est, _deterministic())
    message = str(info.value)
    assert "\n" not in message
    assert "x1 separates the arms" in message
    assert "allow_no_overlap=True" in message and "narrower question" in message


def test_linear_separation_names_the_covariates():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 3))
    t = X[:, 0] + X[:, 1] > 0  # no single covariate separates the arms
    with pytest.raises(OverlapError, match="linear function of the covariates .*x1"):
        _fit(AIPW(), _frame(X, t, X[:, 0] + 2 * t))


def test_region_without_controls_refuses_the_populations_that_need_them():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(1000, 3))
    t = np.where(X[:, 0] > 0.84, 1, rng.binomial(1, 0.5, 1000))
    df = _frame(X, t, X[:, 0] + 2 * t + rng.normal(size=1000))
    est = _fit(AIPW(), df)  # the controls have overlap: fit works, the ATC can be answered
    with pytest.raises(OverlapError, match=r"treated .* have x1 > 0\.8.*no controls"):
        est.effect()
    with pytest.raises(OverlapError, match="population='controls'"):
        est.effect(population="treated")
    atc = est.effect(population="controls")
    assert abs(atc.value - 2.0) < 4 * atc.std_error
    assert atc.diagnostics.extra["overlap_check"]["sides"] == ["treated"]


def test_propensities_at_zero_for_a_share_of_the_controls():
    rng = np.random.default_rng(3)
    n = 1500
    X = rng.normal(size=(n, 2))
    # controls far out in x1 + x2 (a combined region) have no treated units near them
    score = 6 * (X[:, 0] + X[:, 1])
    t = rng.binomial(1, 1 / (1 + np.exp(-np.clip(score, -50, 8))))
    report = check_overlap(X, t, ["a", "b"])
    assert report.status == "none"
    assert "controls" in report.sides


def test_limited_overlap_warns_with_share_and_ess():
    ds = make_limited_overlap(2000, random_state=0, population_truth=False)
    with pytest.warns(PositivityWarning, match=r"% of the 2000 units .* effective sample size"):
        est = _fit(IPW(), ds.data)
    assert est.overlap_.status == "limited"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PositivityWarning)
        res = est.effect()
    assert any("limited overlap (overlap check)" in note for note in res.diagnostics.notes)


def test_good_overlap_is_silent():
    ds = make_confounded_binary(500, random_state=0, population_truth=False)
    est = _fit(IPW(), ds.data)  # filterwarnings=error: any warning fails
    assert est.overlap_.status == "ok"
    assert est.effect().diagnostics.extra["overlap_check"]["status"] == "ok"


def test_allow_no_overlap_labels_the_result_extrapolated():
    res = _fit(TLearner(allow_no_overlap=True), _deterministic()).effect()
    assert res.diagnostics.extra["extrapolated"] is True
    assert any("EXTRAPOLATED" in note for note in res.summary().notes)


def test_overlap_population_works_for_ipw():
    df = _deterministic(2000)
    est = _fit(IPW(), df)  # IPW can target the overlap population: no refusal in fit
    with pytest.raises(OverlapError, match="population='overlap'"):
        est.effect()
    res = est.effect(population="overlap")
    assert res.quantity == "ATO" and np.isfinite(res.std_error)
    assert "extrapolated" not in res.diagnostics.extra
    assert abs(res.value - 2.0) < 1.0  # the effect at the threshold (constant effect 2)


def test_allow_no_overlap_is_validated():
    with pytest.raises(ValueError, match="allow_no_overlap"):
        _fit(AIPW(allow_no_overlap="yes"), _deterministic(200))


def test_small_random_samples_are_not_refused():
    rng = np.random.default_rng(4)
    for n, p in ((60, 100), (20, 3), (8, 2)):
        X = rng.normal(size=(n, p))
        t = np.r_[np.ones(n // 2), np.zeros(n - n // 2)]
        assert check_overlap(X, t, [f"x{j}" for j in range(p)]).status != "none"

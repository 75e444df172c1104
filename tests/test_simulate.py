"""Simulators: truth by intervention, reproducibility, the knobs do what they say."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepcause.exceptions import DataValidationError
from deepcause.simulate import (
    make_confounded_binary,
    make_frontdoor,
    make_limited_overlap,
    make_nonlinear_confounded,
)


def test_reproducible_and_seed_sensitive():
    a = make_confounded_binary(300, effect="heterogeneous", random_state=3)
    b = make_confounded_binary(300, effect="heterogeneous", random_state=3)
    c = make_confounded_binary(300, effect="heterogeneous", random_state=4)
    pd.testing.assert_frame_equal(a.data, b.data)
    assert dict(a.truth) == dict(b.truth)
    assert not a.data.equals(c.data)


def test_sample_truth_is_mean_of_potential_outcomes():
    ds = make_confounded_binary(4000, effect="heterogeneous", random_state=0)
    t = ds.data["t"].to_numpy()
    tau = ds.mu1 - ds.mu0
    assert ds.truth["ATE"] == pytest.approx(tau.mean())
    assert ds.truth["ATT"] == pytest.approx(tau[t == 1].mean())
    assert ds.truth["ATC"] == pytest.approx(tau[t == 0].mean())
    # observed y is the potential outcome of the received arm plus unit-variance noise
    resid = ds.data["y"].to_numpy() - np.where(t == 1, ds.mu1, ds.mu0)
    assert abs(resid.mean()) < 4 / np.sqrt(len(t)) and resid.std() == pytest.approx(1, abs=0.05)
    # sample truth agrees with the population truth within sampling error (sd(tau) ~ 1.2)
    se = tau.std() / np.sqrt(len(tau))
    assert abs(ds.truth["ATE"] - ds.truth["ATE_pop"]) < 4 * se
    assert ds.truth["ATE_pop"] == pytest.approx(2.0, abs=0.02)  # E[2 + x1 + (x2^2-1)/2] = 2
    assert ds.truth["ATT_pop"] > ds.truth["ATE_pop"] > ds.truth["ATC_pop"]


def test_confounding_biases_naive_and_regression_adjustment_recovers():
    ds = make_confounded_binary(5000, random_state=1)
    d = ds.data
    naive = d.loc[d.t == 1, "y"].mean() - d.loc[d.t == 0, "y"].mean()
    assert naive - ds.truth["ATE"] > 1.0
    X = np.column_stack([np.ones(len(d)), d["t"], d[list(ds.covariates)]])
    beta = np.linalg.lstsq(X, d["y"].to_numpy(), rcond=None)[0]
    assert beta[1] == pytest.approx(ds.truth["ATE"], abs=0.12)  # se ~ 0.035
    none = make_confounded_binary(5000, confounding_strength=0.0, random_state=1)
    n0 = none.data
    diff = n0.loc[n0.t == 1, "y"].mean() - n0.loc[n0.t == 0, "y"].mean()
    assert diff == pytest.approx(2.0, abs=0.15)  # randomized: se ~ 0.04


def test_overlap_and_variants():
    good = make_confounded_binary(3000, random_state=0, population_truth=False)
    bad = make_limited_overlap(3000, random_state=0, population_truth=False)
    extreme = lambda e: np.mean((e < 0.02) | (e > 0.98))  # noqa: E731
    assert extreme(good.extras["propensity"]) < 0.01 < 0.2 < extreme(bad.extras["propensity"])
    nl = make_nonlinear_confounded(3000, random_state=0, population_truth=False)
    assert "nonlinear" in nl.description and nl.truth["ATT"] != nl.truth["ATC"]
    assert nl.graph.parents("y") == frozenset({"t", *nl.covariates})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n": 1},
        {"n": 10, "effect": "big"},
        {"n": 10, "overlap": 0},
        {"n": 10, "outcome": "x"},
        {"n": 10, "n_covariates": 1},
        {"n": 10, "confounding_strength": -1},
    ],
)
def test_bad_arguments(kwargs):
    with pytest.raises(DataValidationError):
        make_confounded_binary(**kwargs)


def test_frontdoor_truth_and_formula():
    ds = make_frontdoor(20000, random_state=0)
    assert ds.truth["ATE"] == pytest.approx(1.2, abs=1e-9)
    d = ds.data
    naive = np.polyfit(d["X"], d["Y"], 1)[0]
    assert naive > 2.0
    # front-door by two regressions: slope(M ~ X) * slope(Y ~ M + X)
    a = np.polyfit(d["X"], d["M"], 1)[0]
    b = np.linalg.lstsq(np.column_stack([np.ones(len(d)), d["M"], d["X"]]), d["Y"], rcond=None)[0][
        1
    ]
    assert a * b == pytest.approx(ds.truth["ATE"], abs=0.06)
    assert set(ds.graph.bidirected_edges) == {("X", "Y")}


def test_frontdoor_binary_matches_frontdoor_formula():
    ds = make_frontdoor(60000, binary=True, random_state=2)
    d = ds.data
    p_m_x = d.groupby("X")["M"].mean()
    p_x = d["X"].value_counts(normalize=True)
    p_y_mx = d.groupby(["M", "X"])["Y"].mean()

    def do(x):
        total = 0.0
        for m in (0, 1):
            pm = p_m_x[x] if m == 1 else 1 - p_m_x[x]
            total += pm * sum(p_y_mx[(m, xp)] * p_x[xp] for xp in (0, 1))
        return total

    assert do(1) == pytest.approx(ds.truth["E[Y|do(X=1)]"], abs=0.02)
    assert do(0) == pytest.approx(ds.truth["E[Y|do(X=0)]"], abs=0.02)
    naive = d.loc[d.X == 1, "Y"].mean() - d.loc[d.X == 0, "Y"].mean()
    assert naive - ds.truth["ATE"] > 0.1

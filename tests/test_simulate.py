"""Simulators: truth by intervention, reproducibility, the knobs do what they say."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepcause.datasets import CausalDataset
from deepcause.exceptions import DataValidationError
from deepcause.simulate import (
    SCM,
    beta_stable,
    make_confounded_binary,
    make_covariate_shift,
    make_demand,
    make_frontdoor,
    make_limited_overlap,
    make_linear_iv,
    make_nonlinear_confounded,
    make_selection,
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


# ----------------------------------------------------------------- truth = intervention on the SCM
N_CHECK = 200_000


def _do_mean(scm, do, column, seed=7):
    """Mean and standard error of ``column`` under ``do`` on fresh units of the SCM."""
    v = scm.sample(N_CHECK, do=do, random_state=seed)[column].to_numpy(dtype=float)
    return v.mean(), v.std() / np.sqrt(len(v))


@pytest.mark.parametrize("effect", ["constant", "heterogeneous"])
def test_backdoor_truth_is_the_scm_under_intervention(effect):
    ds = make_confounded_binary(3000, effect=effect, outcome="nonlinear", random_state=5)
    scm = ds.scm
    # the data are the SCM's own draw for this seed
    rng = np.random.default_rng(5)
    pd.testing.assert_frame_equal(
        scm.sample(3000, random_state=rng)[list(ds.data.columns)], ds.data, check_dtype=False
    )
    # sample truth: the units' own counterfactuals under do(t=1) and do(t=0) (same noise)
    noise = scm.sample_noise(3000, random_state=5)
    _, y1 = scm.counterfactual(noise, do={"t": 1})
    _, y0 = scm.counterfactual(noise, do={"t": 0})
    tau = (y1["y"] - y0["y"]).to_numpy()
    t = ds.data["t"].to_numpy()
    assert ds.truth["ATE"] == pytest.approx(tau.mean(), abs=1e-9)
    assert ds.truth["ATT"] == pytest.approx(tau[t == 1].mean(), abs=1e-9)
    np.testing.assert_allclose(ds.tau, tau, atol=1e-9)
    # population truth: fresh units, other seed
    m1, s1 = _do_mean(scm, {"t": 1}, "y")
    m0, _ = _do_mean(scm, {"t": 0}, "y")
    assert abs(ds.truth["ATE_pop"] - (m1 - m0)) < 0.02 + 4 * s1 * (effect != "constant")


@pytest.mark.parametrize("binary", [False, True])
def test_frontdoor_truth_is_the_scm_under_intervention(binary):
    ds = make_frontdoor(500, binary=binary, random_state=3)
    for x in (0, 1):
        m, se = _do_mean(ds.scm, {"X": x}, "Y")
        assert abs(ds.truth[f"E[Y|do(X={x})]"] - m) < 4 * se * np.sqrt(2)
    assert ds.truth["ATE"] == pytest.approx(
        ds.truth["E[Y|do(X=1)]"] - ds.truth["E[Y|do(X=0)]"], abs=1e-12
    )


@pytest.mark.parametrize("mechanism", ["mar", "unobservables", "outcome"])
def test_selection_truth_is_the_scm_under_intervention(mechanism):
    ds = make_selection(500, mechanism, random_state=1)
    scm = ds.scm
    m, se = _do_mean(scm, {}, "y")
    assert abs(ds.truth["E[Y]"] - m) < 4 * se * np.sqrt(2)
    share, se_s = _do_mean(scm, {}, "s")
    assert abs(ds.truth["selected_share"] - share) < 4 * se_s * np.sqrt(2)
    # structural coefficients: the same units under do(t, x) at unit points (noise cancels)
    a = scm.sample(1000, do={"t": 0, "x": 0.0}, random_state=2)["y"]
    b = scm.sample(1000, do={"t": 1, "x": 0.0}, random_state=2)["y"]
    c = scm.sample(1000, do={"t": 0, "x": 1.0}, random_state=2)["y"]
    np.testing.assert_allclose(b - a, ds.truth["coef_t"])
    np.testing.assert_allclose(c - a, ds.truth["coef_x"])
    assert abs(a.mean() - ds.truth["coef_const"]) < 4 / np.sqrt(1000)
    assert ds.truth["ATE"] == pytest.approx(ds.truth["coef_t"], abs=1e-9)
    # y is masked exactly where s == 0; the latent outcome is kept in extras
    s = ds.data["s"] == 1
    assert ds.data.loc[~s, "y"].isna().all()
    np.testing.assert_array_equal(ds.data.loc[s, "y"], ds.extras["y_latent"][s.to_numpy()])


def test_iv_structural_function_is_the_scm_under_intervention():
    ds = make_demand(500, rho=0.9, random_state=0)
    rows = pd.DataFrame({"p": [12.0, 20.0, 24.0], "t": [1.0, 5.0, 8.5], "s": [2.0, 7.0, 4.0]})
    h = ds.structural(rows)
    for i, row in rows.iterrows():
        m, se = _do_mean(ds.scm, dict(row), "y", seed=i)
        assert abs(h[i] - m) < 4 * se
    with pytest.raises(DataValidationError, match="lacks"):
        ds.structural(rows[["p", "t"]])
    lin = make_linear_iv(300, effect=1.5, n_controls=2, random_state=0)
    do0 = {"d": 0.0, "x": np.zeros(2)}
    base = lin.scm.sample(1000, do=do0, random_state=4)["y"]
    shifted = lin.scm.sample(1000, do={**do0, "d": 1.0}, random_state=4)["y"]
    np.testing.assert_allclose(shifted - base, lin.truth["effect"])
    for j in range(2):
        xj = lin.scm.sample(1000, do={**do0, "x": np.eye(2)[j]}, random_state=4)["y"]
        np.testing.assert_allclose(xj - base, lin.truth["gamma"][j])
    assert lin.truth["effect"] == 1.5
    # heteroskedastic: x moves the noise scale through z, the mean stays structural
    het = make_linear_iv(300, effect=1.5, n_controls=2, heteroskedastic=True, random_state=0)
    point = pd.DataFrame({"d": [1.0], "x1": [2.0], "x2": [-1.0]})
    m, se = _do_mean(het.scm, {"d": 1.0, "x": np.array([2.0, -1.0])}, "y")
    assert abs(het.structural(point)[0] - m) < 4 * se


def test_covariate_shift_truth_is_the_scm_under_intervention():
    ds = make_covariate_shift(400, p=10, r=2.5, kind="poly", random_state=0)
    scm, p_s = ds.scm, ds.extras["p_s"]
    for j in range(p_s):
        e = np.eye(p_s)[j]
        up = scm.sample(1000, do={"S": e}, random_state=1)["y"]
        down = scm.sample(1000, do={"S": -e}, random_state=1)["y"]
        np.testing.assert_allclose((up - down) / 2, ds.truth["beta_s"][j], atol=1e-12)
    np.testing.assert_allclose(ds.truth["beta_s"], beta_stable(p_s))
    # f is each unit's outcome without its noise: E[y | do(S = S_i)]
    s_cols = list(scm.nodes["S"].columns)
    unit = ds.data.loc[0, s_cols].to_numpy(dtype=float)
    m, se = _do_mean(scm, {"S": unit}, "y")
    assert abs(ds.truth["f"][0] - m) < 4 * se
    assert list(np.array(ds.covariates)[ds.truth["stable"]]) == s_cols
    assert sorted(ds.graph.parents("y")) == sorted(s_cols)


def _all_simulated():
    yield make_confounded_binary(200, random_state=0, population_truth=False)
    yield make_nonlinear_confounded(200, random_state=0, population_truth=False)
    yield make_limited_overlap(200, random_state=0, population_truth=False)
    yield make_frontdoor(200, random_state=0)
    yield make_frontdoor(200, binary=True, random_state=0)
    for mech in ("mar", "unobservables", "outcome"):
        yield make_selection(200, mech, random_state=0)
    yield make_demand(200, random_state=0)
    yield make_linear_iv(200, random_state=0)
    yield make_linear_iv(200, n_controls=0, n_instruments=1, random_state=0)
    yield make_covariate_shift(200, random_state=0)


def test_every_simulator_returns_a_causal_dataset_with_valid_roles():
    for ds in _all_simulated():
        assert isinstance(ds, CausalDataset)
        assert isinstance(ds.scm, SCM)
        assert ds.roles and ds.outcome in ds.data.columns
        for role, cols in ds.roles.items():
            assert set(cols) <= set(ds.data.columns), (ds.description, role)
        assert set(ds.graph.nodes) >= {c for cols in ds.roles.values() for c in cols}
        assert ds.truth and ds.description
        with pytest.raises(TypeError):
            ds.roles["outcome"] = ("x",)  # type: ignore[index]


def test_selection_and_iv_roles():
    ds = make_selection(300, "unobservables", random_state=0)
    assert (ds.treatment, ds.outcome, ds.selection) == ("t", "y", "s")
    assert ds.selection_covariates == ("x", "z", "t") and ds.roles["shadows"] == ("w",)
    assert {frozenset(e) for e in ds.graph.bidirected_edges} == {frozenset({"y", "s"})}
    out = make_selection(300, "outcome", random_state=0)
    assert out.selection_covariates == ("x",) and "y" in out.graph.parents("s")
    iv = make_demand(300, random_state=0)
    assert (iv.treatment, iv.instruments, iv.covariates) == ("p", ("c",), ("t", "s"))
    assert "c" in iv.graph.parents("p") and "c" not in iv.graph.parents("y")
    with pytest.raises(DataValidationError, match="rho"):
        make_demand(10, rho=1.0)
    with pytest.raises(DataValidationError, match="mechanism"):
        make_selection(10, "random")

"""DCB (Kuang et al. KDD 2017) and D²VD (Kuang et al. AAAI 2017) against simulated truth."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import optimize

from deepcause.estimate.d2vd import D2VD, DecompositionError, DecompositionWarning
from deepcause.estimate.dcb import DCB, _w_step, dcb_weights
from deepcause.exceptions import PositivityWarning
from deepcause.simulate import make_confounded_binary, make_lalonde_style

POP = {"ATE": "all", "ATT": "treated", "ATC": "controls"}


def _high_dim(n, p, seed, effect=1.0):
    """Confounders x0..x3 drive T; the outcome uses x0, x1 (confounders) and x4 (adjustment)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    t = rng.binomial(1, 1 / (1 + np.exp(-(X[:, 0] + X[:, 1] + X[:, 2] + X[:, 3]))))
    y = 2 * X[:, 0] + X[:, 1] + X[:, 4] + effect * t + rng.normal(size=n)
    return X, t, y


@pytest.mark.parametrize("quantity", ["ATT", "ATE"])
def test_dcb_recovers_effect(quantity):
    X, t, y = _high_dim(1000, 30, 0)
    naive = y[t == 1].mean() - y[t == 0].mean()
    assert abs(naive - 1.0) > 1.5
    est = DCB().fit_arrays(X=X, t=t, y=y)
    r = est.effect(population=POP[quantity])
    assert abs(r.value - 1.0) < 4 * r.std_error
    assert 0 < r.std_error < 0.3
    # DCB balances the outcome-relevant direction s = 2 x0 + x1 + x4, not every covariate
    s = 2 * X[:, 0] + X[:, 1] + X[:, 4]
    w, c = est.weights(POP[quantity]), t == 0
    target = s[t == 1].mean() if quantity == "ATT" else s.mean()
    assert abs(target - w[c] @ s[c]) < 0.1 * s.std() < abs(target - s[c].mean())
    assert r.diagnostics.ess["control"] > 20


def test_dcb_standard_error_is_not_anticonservative():
    errors, ses = [], []
    for seed in range(10):
        X, t, y = _high_dim(600, 20, 50 + seed)
        r = DCB().fit_arrays(X=X, t=t, y=y).att()
        errors.append(r.value - 1.0)
        ses.append(r.std_error)
    assert np.std(errors, ddof=1) < 1.3 * np.mean(ses)
    assert abs(np.mean(errors)) < 3 * np.mean(ses) / np.sqrt(10) + 0.03


def test_dcb_objective_decreases_and_weights_on_simplex():
    X, t, y = _high_dim(400, 10, 2)
    Xc = (X - X.mean(0)) / X.std(0)
    W, beta, trace = dcb_weights(Xc[t == 0], y[t == 0] - y.mean(), Xc[t == 1].mean(0))
    assert np.all(np.diff(trace) <= 1e-10)
    assert W.min() >= 0 and abs(W.sum() - 1) < 1e-12
    # the confounder weights single out the outcome-relevant variables x0, x1 and x4
    assert set(np.argsort(-np.abs(beta))[:3].tolist()) == {0, 1, 4}


def test_dcb_weight_step_is_exact():
    rng = np.random.default_rng(0)
    v, q, c, delta = rng.normal(size=30), rng.uniform(0, 0.1, 30), 0.7, 0.01
    W = _w_step(v, q, c, delta)

    def f(w):
        return (c - v @ w) ** 2 + q @ w + delta * w @ w

    ref = optimize.minimize(
        f,
        np.full(30, 1 / 30),
        bounds=[(0, None)] * 30,
        method="SLSQP",
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
        options={"ftol": 1e-15, "maxiter": 500},
    )
    assert f(W) <= ref.fun + 1e-9
    np.testing.assert_allclose(W, ref.x, atol=1e-4)


def _decomposable(n, seed, hetero=False):
    rng = np.random.default_rng(seed)
    U = rng.normal(size=(n, 8))
    t = rng.binomial(1, 1 / (1 + np.exp(-U[:, 0] - U[:, 1])))
    tau = 1.0 + (U[:, 4] if hetero else 0.0)
    y = U[:, 0] + 2 * U[:, 2] + 2 * U[:, 3] + tau * t + rng.normal(size=n)
    return U, t, y, tau


def test_d2vd_separates_variables_and_recovers_ate():
    U, t, y, _ = _decomposable(3000, 1)
    est = D2VD().fit_arrays(X=U, t=t, y=y)
    assert est.confounders_ == ("x0", "x1")
    assert est.adjustment_variables_ == ("x2", "x3")
    assert set(est.irrelevant_variables_) == {"x4", "x5", "x6", "x7"}
    r = est.ate()
    assert abs(r.value - 1.0) < 4 * r.std_error
    att = est.att()
    assert abs(att.value - 1.0) < 4 * att.std_error
    # adjustment variables reduce the variance of the transformed outcome: compare with the
    # same propensity model and no outcome adjustment
    plain = D2VD(outcome_penalty=1e6).fit_arrays(X=U, t=t, y=y)
    assert plain.adjustment_variables_ == ()
    assert r.std_error < 0.6 * plain.ate().std_error


def test_d2vd_effect_modifier_in_gamma():
    U, t, y, tau = _decomposable(4000, 2, hetero=True)
    est = D2VD().fit_arrays(X=U, t=t, y=y)
    assert np.argmax(np.abs(est.effect_coef_)) == 4
    cate = est.predict_cate(U)  # an array after fit_arrays (columns in fit order)
    assert np.corrcoef(cate, tau)[0, 1] > 0.8


def test_d2vd_deterministic():
    U, t, y, _ = _decomposable(800, 3)
    a, b = D2VD().fit_arrays(X=U, t=t, y=y).ate(), D2VD().fit_arrays(X=U, t=t, y=y).ate()
    assert a.value == b.value


@pytest.mark.parametrize("seed", [11, 12])
def test_d2vd_is_valid_on_a_design_it_is_for(seed):
    # linear-logistic treatment, good overlap: the decomposition holds, no warning
    ds = make_confounded_binary(2000, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = D2VD().fit(ds.data, treatment="t", outcome="y")
        for quantity in ("ATE", "ATT"):
            r = est.effect(population=POP[quantity])
            lo, hi = r.conf_int()
            assert lo <= ds.truth[quantity] <= hi
            assert abs(r.value - ds.truth[quantity]) < 0.25
            assert abs(r.diagnostics.extra["decomposition_z"]) < 2
    assert max(abs(z) for z in est.decomposition_z_.values()) < 2


def test_d2vd_refuses_where_its_decomposition_fails():
    # LaLonde-style earnings: skewed confounders that drive the outcome, limited overlap; the
    # forced estimate misses the truth, so fit refuses and names the fix
    ds = make_lalonde_style(random_state=0)
    kw = {"treatment": ds.treatment, "outcome": ds.outcome, "covariates": list(ds.covariates)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PositivityWarning)
        with pytest.raises(DecompositionError, match="use AIPW") as info:
            D2VD().fit(ds.data, **kw)
        forced = D2VD(decomposition_check=None).fit(ds.data, **kw)
    assert "\n" not in str(info.value) and isinstance(info.value, ValueError)
    lo, hi = forced.att().conf_int()
    assert not lo <= ds.truth["ATT"] <= hi
    assert abs(forced.decomposition_z_["ATT"]) > 3


def test_d2vd_refuses_only_the_failing_population():
    U, t, y, _ = _decomposable(3000, 1)
    est = D2VD().fit_arrays(X=U, t=t, y=y)
    est.decomposition_z_ = {"ATE": 5.0, "ATT": 0.5, "ATC": 2.5}  # as if the ATE check failed
    with pytest.raises(DecompositionError, match=r"\(ATE\)"):
        est.ate()
    assert np.isfinite(est.att().value)
    with pytest.warns(DecompositionWarning, match="borderline for the ATC"):
        est.atc()

"""PlugIn evaluates identified estimands on discrete samples; truth by intervention."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepcause.datasets import load_kidney_stones
from deepcause.estimate.plugin import PlugIn
from deepcause.exceptions import DataValidationError, EstimandNotSupportedError
from deepcause.graph import CausalGraph
from deepcause.identification.algorithm import identify


def smoking_table() -> pd.DataFrame:
    """4000 rows with exactly P(S,T) = .475/.025/.025/.475 and P(C=1|S,T) = .10/.90/.05/.85."""
    cells = [  # (S, T, rows, rows with C = 1)
        (0, 0, 1900, 190),
        (1, 0, 100, 90),
        (0, 1, 100, 5),
        (1, 1, 1900, 1615),
    ]
    parts = [
        pd.DataFrame({"S": s, "T": t, "C": np.r_[np.ones(k, int), np.zeros(m - k, int)]})
        for s, t, m, k in cells
    ]
    return pd.concat(parts, ignore_index=True)


def test_kidney_stones_back_door():
    ds = load_kidney_stones()
    g = CausalGraph("stone_size -> treatment -> success; stone_size -> success")
    est = identify(g, "treatment", "success")
    assert est.kind == "backdoor"
    plug = PlugIn().fit(ds.data, est)
    a, b = plug.mean(treatment={"treatment": "A"}), plug.mean(treatment={"treatment": "B"})
    assert round(a.value, 5) == 0.83255 and round(b.value, 5) == 0.77888
    assert a.value == pytest.approx(ds.truth["P(success|do(A))"], abs=1e-12)
    assert a.std_error is None and a.query == "E[success | do(treatment=A)]"
    a = plug.bootstrap(100, random_state=0, treatment={"treatment": "A"}, control=None)
    assert 0 < a.std_error < 0.05
    lo, hi = a.conf_int()
    assert lo < 0.83255 < hi
    diff = plug.effect(treatment={"treatment": "A"}, control={"treatment": "B"})
    assert diff.value == pytest.approx(0.05367, abs=1e-5)
    naive = ds.data.groupby("treatment")["success"].mean()
    assert naive["A"] < naive["B"]  # Simpson's paradox: the crude comparison points the other way
    p = plug.probability(treatment={"treatment": "B"}, outcome={"success": 1})
    assert p.value == pytest.approx(b.value)


def test_smoking_front_door():
    df = smoking_table()
    est = identify(CausalGraph("S -> T -> C; S <-> C"), "S", "C")
    assert est.kind == "frontdoor"
    plug = PlugIn().fit(df, est)
    p1 = plug.probability(treatment={"S": 1}, outcome={"C": 1})
    p0 = plug.probability(treatment={"S": 0}, outcome={"C": 1})
    assert p1.value == pytest.approx(0.4525, abs=1e-12)
    assert p0.value == pytest.approx(0.4975, abs=1e-12)
    assert 0 < plug.bootstrap(50, random_state=0).std_error < 0.05
    ate = plug.ate()
    assert ate.quantity == "ATE" and ate.value == pytest.approx(-0.045, abs=1e-12)
    dist = plug.distribution(treatment={"S": 1})
    assert dist.sum() == pytest.approx(1.0)
    # the naive association says smoking is harmful (0.85 vs 0.10-ish); the front-door says not
    assert df.groupby("S")["C"].mean().diff().iloc[-1] > 0.7


def _napkin_sample(n, rng, do_x=None):
    """Binary napkin SCM: W1 -> W2 -> X -> Y, latent U1 -> {W1, X}, latent U2 -> {W1, Y}."""
    u1, u2 = rng.random(n) < 0.5, rng.random(n) < 0.4
    w1 = rng.random(n) < 0.1 + 0.2 * u1 + 0.6 * u2
    w2 = rng.random(n) < 0.1 + 0.8 * w1
    x = rng.random(n) < 0.05 + 0.6 * w2 + 0.3 * u1 if do_x is None else np.full(n, do_x, bool)
    y = rng.random(n) < 0.05 + 0.3 * x + 0.6 * u2
    return pd.DataFrame({"W1": w1, "W2": w2, "X": x, "Y": y}).astype(int)


def test_napkin_matches_intervention_truth():
    rng = np.random.default_rng(0)
    truth = {x: _napkin_sample(1_000_000, rng, do_x=x)["Y"].mean() for x in (0, 1)}
    df = _napkin_sample(30_000, rng)
    est = identify(CausalGraph("W1 -> W2 -> X -> Y; W1 <-> X; W1 <-> Y"), "X", "Y")
    assert est.kind == "general"
    plug = PlugIn().fit(df, est)
    for x in (0, 1):
        r = plug.bootstrap(50, random_state=0, treatment={"X": x}, control=None)
        assert abs(r.value - truth[x]) < 4 * r.std_error + 0.002
    naive = df.groupby("X")["Y"].mean()
    assert abs(naive[1] - naive[0] - (truth[1] - truth[0])) > 0.05


def _two_treatments(n, rng, do=None):
    z = rng.random(n) < 0.5
    x1 = rng.random(n) < 0.2 + 0.6 * z if do is None else np.full(n, do[0], bool)
    x2 = rng.random(n) < 0.1 + 0.4 * z + 0.4 * x1 if do is None else np.full(n, do[1], bool)
    y = rng.random(n) < 0.05 + 0.3 * x1 + 0.2 * x2 + 0.4 * z * (1 - x2)
    return pd.DataFrame({"Z": z, "X1": x1, "X2": x2, "Y": y}).astype(int)


def test_multi_treatment_and_conditional_queries():
    rng = np.random.default_rng(1)
    df = _two_treatments(20_000, rng)
    g = CausalGraph("Z -> X1 -> Y; Z -> X2 -> Y; Z -> Y; X1 -> X2")
    est = identify(g, ["X1", "X2"], "Y")
    plug = PlugIn().fit(df, est)
    r = plug.bootstrap(50, random_state=0, treatment={"X1": 1, "X2": 0}, control=None)
    truth = 0.05 + 0.3 + 0.4 * 0.5  # exact under do(X1=1, X2=0)
    assert abs(r.value - truth) < 4 * r.std_error
    # conditional (IDC) query P(Y | do(X1, X2), Z = 1): truth 0.05 + 0.3 + 0.4
    cond = identify(g, ["X1", "X2"], "Y", given=["Z"])
    plug_c = PlugIn().fit(df, cond)
    rc = plug_c.bootstrap(
        50, random_state=0, treatment={"X1": 1, "X2": 0}, control=None, given={"Z": 1}
    )
    assert abs(rc.value - 0.75) < 4 * rc.std_error


def test_rejects_continuous_columns_and_points_to_estimators():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"Z": rng.normal(size=500), "X": rng.integers(0, 2, 500), "Y": rng.integers(0, 2, 500)}
    )
    est = identify(CausalGraph("Z -> X -> Y; Z -> Y"), "X", "Y")
    with pytest.raises(DataValidationError, match="'Z'.*EntropyBalancing"):
        PlugIn().fit(df, est)
    fd = identify(CausalGraph("X -> Z -> Y; X <-> Y"), "X", "Y")
    with pytest.raises(DataValidationError, match="FrontDoor"):
        PlugIn().fit(df, fd)


def test_errors_and_determinism():
    df = smoking_table()
    est = identify(CausalGraph("S -> T -> C; S <-> C"), "S", "C")
    with pytest.raises(DataValidationError, match="Estimand"):
        PlugIn().fit(df, "S -> C")
    a = PlugIn().fit(df, est).bootstrap(20, random_state=3)
    b = PlugIn().fit(df, est).bootstrap(20, random_state=3)
    np.testing.assert_array_equal(a.bootstrap, b.bootstrap)
    multi = identify(CausalGraph("Z -> X1 -> Y; Z -> X2 -> Y; Z -> Y"), ["X1", "X2"], "Y")
    with pytest.raises(EstimandNotSupportedError, match="mapping"):
        PlugIn().fit(_two_treatments(200, np.random.default_rng(0)), multi).ate()
    with pytest.raises(DataValidationError, match="estimand or roles"):
        PlugIn().fit(df, est, treatment="S")


def test_probability_table_input():
    table = pd.DataFrame(
        {
            "S": [0, 1, 0, 1] * 2,
            "T": [0, 0, 1, 1] * 2,
            "C": [1] * 4 + [0] * 4,
            "probability": [
                0.475 * 0.10,
                0.025 * 0.90,
                0.025 * 0.05,
                0.475 * 0.85,
                0.475 * 0.90,
                0.025 * 0.10,
                0.025 * 0.95,
                0.475 * 0.15,
            ],
        }
    )
    est = identify(CausalGraph("S -> T -> C; S <-> C"), "S", "C")
    r = PlugIn().fit(table, est).probability(treatment={"S": 1}, outcome={"C": 1})
    assert r.value == pytest.approx(0.4525, abs=1e-12) and r.std_error is None
    with pytest.raises(EstimandNotSupportedError, match="probability table"):
        PlugIn().fit(table, est).bootstrap(10)


def test_fit_by_roles_or_graph_matches_the_estimand():
    ds = load_kidney_stones()
    graph = "stone_size -> treatment -> success; stone_size -> success"
    by_graph = PlugIn().fit(ds.data, graph=graph, treatment="treatment", outcome="success")
    by_roles = PlugIn().fit(
        ds.data, treatment="treatment", outcome="success", covariates=["stone_size"]
    )
    for plug in (by_graph, by_roles):
        assert round(plug.mean(treatment="A").value, 5) == 0.83255

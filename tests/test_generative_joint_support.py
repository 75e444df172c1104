"""Counterfactuals whose parents leave their joint support in the training data warn.

Truth from simulators the model cannot see: ``Z -> X``, ``(X, Z) -> Y`` with ``X`` following
``Z`` closely (``do(X = 2)`` puts the units of low ``Z`` where no training row was) or
independent of it (the same query stays on the support).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from deepcause.exceptions import PositivityWarning
from deepcause.generative import CausalGenerativeModel, load_model
from deepcause.generative._support import JointSupport
from deepcause.simulate.scm import SCM, Node, gaussian


def _scm(dependent: bool) -> SCM:
    def x_fn(pa, u):  # noqa: ANN001, ANN202
        return 0.9 * pa["Z"] + u if dependent else u

    def y_fn(pa, u):  # noqa: ANN001, ANN202
        return np.tanh(pa["X"]) + 0.5 * pa["Z"] + 0.4 * pa["X"] * pa["Z"] + u

    return SCM(
        [
            Node("Z", noise=gaussian(1.0)),
            Node("X", ("Z",), x_fn, gaussian(0.3 if dependent else 1.0)),
            Node("Y", ("X", "Z"), y_fn, gaussian(0.3)),
        ]
    )


def _fit(scm: SCM) -> CausalGenerativeModel:
    df = scm.to_frame(scm.propagate(scm.sample_noise(3000, random_state=0)))
    return CausalGenerativeModel(
        "Z -> X; Z -> Y; X -> Y", mechanisms="additive", max_epochs=30, random_state=0
    ).fit(df)


def test_units_pushed_off_the_joint_support_warn_and_are_the_ones_the_model_gets_wrong(tmp_path):
    scm = _scm(dependent=True)
    model = _fit(scm)
    noise = scm.sample_noise(1000, random_state=5)
    factual = scm.to_frame(scm.propagate(noise))
    assert 1.9 < 2.0 < factual["X"].max()  # inside X's own range: the range rule is silent
    with pytest.warns(PositivityWarning, match=r"parents \(Z, X\) of 'Y' off their joint") as rec:
        cf = model.counterfactual(factual, do={"X": 2.0})
    assert len(rec) == 1 and "units (" in str(rec[0].message)  # one line, with the share
    off = cf.attrs["off_support"]["Y"]
    assert off["units"].shape == (1000,) and off["share"] == pytest.approx(off["units"].mean())
    true_y = scm.to_frame(scm.propagate(noise, {"X": 2.0}))["Y"].to_numpy()
    err = np.abs(cf["Y"].to_numpy() - true_y)
    low_z = factual["Z"].to_numpy() < 0.5
    assert off["units"][low_z].mean() > 0.9 and off["units"][~low_z].mean() < off["share"]
    assert np.sqrt((err[off["units"]] ** 2).mean()) > 2 * np.sqrt((err[~off["units"]] ** 2).mean())
    # a query on the support stays silent (filterwarnings = error): the units' own values
    plain = model.counterfactual(factual, do={"X": factual["X"].to_numpy() + 0.05})
    assert "off_support" not in plain.attrs
    # beyond X's own range: the range rule warns, once; the joint rule leaves those units to it
    with pytest.warns(PositivityWarning, match="outside the observed range") as rec:
        model.counterfactual(factual, do={"X": float(factual["X"].max()) + 1.0})
    assert len(rec) == 1
    # saved models keep the reference rows: a loaded model flags the same units
    again = load_model(model.save(tmp_path / "m"))
    with pytest.warns(PositivityWarning, match="off their joint"):
        back = again.counterfactual(factual, do={"X": 2.0})
    assert (back.attrs["off_support"]["Y"]["units"] == off["units"]).all()


def test_the_same_query_on_independent_parents_does_not_warn():
    scm = _scm(dependent=False)
    model = _fit(scm)
    factual = scm.to_frame(scm.propagate(scm.sample_noise(1000, random_state=5)))
    for value in (2.0, 0.5, -1.0):  # filterwarnings = error: a warning fails the test
        cf = model.counterfactual(factual, do={"X": value})
        assert "off_support" not in cf.attrs


def test_fresh_draws_of_the_training_distribution_rarely_warn():
    # false alarms: at most one query in a thousand for fresh units (FRESH_DRAW_ALPHA); here
    # 40 replicates over three shapes of joint support (curved, skewed, discrete-by-continuous)
    g = torch.Generator().manual_seed(1)
    alarms, shares = 0, []
    for rep in range(40):
        n = 1500 + 1000 * (rep % 3)
        z = torch.randn(n + 1000, 1, generator=g)
        e = torch.randn(n + 1000, 1, generator=g)
        kind = rep % 3
        if kind == 0:
            x = torch.sin(2 * z) + 0.2 * e  # curved
        elif kind == 1:
            x = torch.exp(0.7 * z + 0.3 * e)  # skewed
        else:
            x = (z > 0.3).float()  # a binary parent
        ctx = torch.cat([x, z, 0.5 * z + e], 1)
        sup = JointSupport.fit(ctx[:n], random_state=rep)
        off = sup.off_support(ctx[n:])
        shares.append(float(off.float().mean()))
        alarms += sup.message("Y", ["X", "Z", "W"], off) is not None
    assert alarms <= 1 and max(shares) < 0.03, (alarms, shares)


def test_no_check_without_parents_with_few_rows_or_with_wide_contexts():
    assert JointSupport.fit(torch.zeros(500, 0)) is None
    assert JointSupport.fit(torch.randn(500, 1)) is None  # one parent: the range rule's
    assert JointSupport.fit(torch.randn(150, 2)) is None
    assert JointSupport.fit(torch.randn(500, 65)) is None  # image parents: no check
    x = np.arange(300.0)
    df = pd.DataFrame({"X": x, "W": np.sin(x), "Y": x % 7 + 0.5})
    model = CausalGenerativeModel("X -> W; X -> Y; W -> Y", mechanisms="additive", max_epochs=2)
    model.fit(df)
    assert model.mechanisms_["X"].joint_support_ is None  # a root node
    assert model.mechanisms_["W"].joint_support_ is None  # one parent
    assert isinstance(model.mechanisms_["Y"].joint_support_, JointSupport)


def test_a_count_parents_counterfactual_between_counts_is_not_called_off_support():
    """X -> N -> Y, X -> Y with N a Poisson count of 25-30 levels (a continuous node whose
    values are whole numbers): N's counterfactual lies between counts, which is no
    extrapolation; the check reads it rounded (and since the column is int64, so does the
    output and Y's mechanism). Without that, 40-60% of the units were flagged
    (bench_generative.md, run 5: fresh_count) although their error is the others'."""
    from scipy import stats

    scm = SCM(
        [
            Node("X", noise=gaussian(1.0)),
            Node(
                "N",
                ("X",),
                lambda pa, u: stats.poisson.ppf(u, np.exp(1.6 + 0.5 * pa["X"])).astype(np.int64),
                lambda rng, n: rng.uniform(size=n),
                discrete=True,
            ),
            Node("Y", ("X", "N"), lambda pa, u: 0.8 * np.sqrt(pa["N"]) + 0.4 * pa["X"] + u),
        ]
    )
    df = scm.sample(3000, random_state=0)
    assert df["N"].nunique() > 20  # continuous to the model
    model = CausalGenerativeModel(
        "X -> N; X -> Y; N -> Y", mechanisms="additive", max_epochs=30, random_state=0
    ).fit(df)
    assert model.specs_["N"].integer and not model.specs_["X"].integer
    noise = scm.sample_noise(1000, random_state=5)
    factual = scm.to_frame(scm.propagate(noise))
    for value in (-1.0, 1.0):  # filterwarnings = error: a warning fails the test
        cf = model.counterfactual(factual, do={"X": value})
        assert "off_support" not in cf.attrs
        # an integer column comes back as counts (children read the rounded count too)
        assert cf["N"].dtype == df["N"].dtype == np.int64
        truth = scm.to_frame(scm.propagate(noise, {"X": value}))
        assert np.mean(np.abs(cf["N"] - truth["N"]) <= 1) > 0.8
        err = (cf["Y"] - truth["Y"]).to_numpy() / df["Y"].std()
        assert np.sqrt(np.mean(err**2)) < 0.25  # true mechanisms at the mid-quantile: 0.14, 0.10

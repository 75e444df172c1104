"""Tests of the ground-truth SCM simulator (deepcause.simulate.scm)."""

from __future__ import annotations

import numpy as np
import pytest

from deepcause.exceptions import CycleError, DataValidationError, GraphError, UnknownNodeError
from deepcause.simulate.scm import SCM, Node, gaussian, laplace, no_noise


def _linear() -> SCM:
    return SCM(
        [
            Node("Z", noise=gaussian(1.0)),
            Node("X", ("Z",), lambda pa, u: 0.8 * pa["Z"] + u, gaussian(0.5)),
            Node("Y", ("X", "Z"), lambda pa, u: 2.0 * pa["X"] - pa["Z"] + u, laplace(0.3)),
        ]
    )


def test_observational_moments_match_the_equations():
    df = _linear().sample(40_000, random_state=0)
    assert list(df.columns) == ["Z", "X", "Y"]
    # Var X = 0.64 + 0.25; Cov(X, Y) = 2 Var X - 0.8
    assert df["X"].var() == pytest.approx(0.89, rel=0.03)
    assert np.cov(df["X"], df["Y"])[0, 1] == pytest.approx(2 * 0.89 - 0.8, rel=0.03)


def test_hard_array_and_shift_interventions():
    scm = _linear()
    n = 20_000
    hard = scm.sample(n, do={"X": 1.0}, random_state=1)
    assert np.all(hard["X"] == 1.0)
    assert hard["Y"].mean() == pytest.approx(2.0, abs=0.03)  # E[2 - Z]
    per_unit = np.linspace(-1, 1, n)
    arr = scm.sample(n, do={"X": per_unit}, random_state=1)
    np.testing.assert_array_equal(arr["X"].to_numpy(), per_unit)
    base = scm.sample(n, random_state=2)
    shifted = scm.sample(n, do={"X": lambda x: x + 1.0}, random_state=2)
    np.testing.assert_allclose(shifted["X"] - base["X"], 1.0)
    np.testing.assert_allclose(shifted["Y"] - base["Y"], 2.0)  # same noise: unit-level shift
    np.testing.assert_array_equal(shifted["Z"], base["Z"])


def test_do_returns_an_equivalent_scm():
    scm = _linear()
    a = scm.do({"X": 0.5}).sample(500, random_state=3)
    b = scm.sample(500, do={"X": 0.5}, random_state=3)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy())
    assert scm.do({"X": 0.5}).nodes["X"].parents == ()
    c = scm.do({"X": lambda x: 2 * x}).sample(500, random_state=3)
    d = scm.sample(500, do={"X": lambda x: 2 * x}, random_state=3)
    np.testing.assert_allclose(c.to_numpy(), d.to_numpy())
    with pytest.raises(DataValidationError, match="per-unit"):
        scm.do({"X": np.zeros(10)})


def test_counterfactual_uses_the_same_noise():
    scm = _linear()
    factual, cf = scm.counterfactual(1000, do={"X": 0.0}, random_state=4)
    np.testing.assert_allclose(cf["Y"] - factual["Y"], -2.0 * factual["X"], atol=1e-12)
    np.testing.assert_array_equal(cf["Z"], factual["Z"])
    noise = scm.sample_noise(10, random_state=5)
    f2, _ = scm.counterfactual(noise, do={"X": 1.0})
    np.testing.assert_allclose(f2.to_numpy(), scm.to_frame(scm.propagate(noise)).to_numpy())


def test_vector_and_latent_nodes():
    scm = SCM(
        [
            Node("U", latent=True),
            Node("img", ("U",), lambda pa, u: pa["U"][:, None] + u, dim=4),
            Node("Y", ("img", "U"), lambda pa, u: pa["img"].sum(1) + pa["U"] + u),
        ]
    )
    df = scm.sample(300, random_state=0)
    assert list(df.columns) == ["img_0", "img_1", "img_2", "img_3", "Y"]
    assert scm.node_columns == {"img": ["img_0", "img_1", "img_2", "img_3"], "Y": ["Y"]}
    full = scm.sample(300, random_state=0, include_latent=True)
    assert "U" in full.columns
    np.testing.assert_allclose(full["Y"], df["Y"])
    hard = scm.sample(5, do={"img": np.arange(4.0)}, random_state=0)
    np.testing.assert_array_equal(hard[["img_0", "img_3"]].to_numpy()[0], [0.0, 3.0])
    with pytest.raises(DataValidationError, match="img"):
        scm.sample(5, do={"img": np.zeros(3)})
    g = scm.graph
    assert set(g.nodes) == {"img", "Y"}
    assert g.bidirected_edges == (("Y", "img"),) or g.bidirected_edges == (("img", "Y"),)


def test_determinism_and_discrete_nodes():
    scm = SCM(
        [
            Node("X", fn=lambda pa, u: (u > 0).astype(float), discrete=True),
            Node("Y", ("X",), lambda pa, u: pa["X"] + u),
        ]
    )
    a, b = scm.sample(50, random_state=9), scm.sample(50, random_state=9)
    assert a.equals(b)
    assert a["X"].dtype == np.int64
    assert not a.equals(scm.sample(50, random_state=10))


def test_errors_name_the_problem():
    with pytest.raises(UnknownNodeError, match="did you mean 'X'"):
        SCM([Node("X"), Node("Y", ("Xx",))])
    with pytest.raises(CycleError):
        SCM([Node("A", ("B",)), Node("B", ("A",))])
    with pytest.raises(GraphError, match="more than once"):
        SCM([Node("A"), Node("A")])
    with pytest.raises(GraphError, match="itself"):
        Node("A", ("A",))
    with pytest.raises(UnknownNodeError, match="not a node"):
        _linear().sample(5, do={"W": 1.0})
    with pytest.raises(DataValidationError, match="shape"):
        _linear().sample(5, do={"X": np.zeros(3)})
    with pytest.raises(DataValidationError, match="positive integer"):
        _linear().sample(0)
    bad = SCM([Node("A", fn=lambda pa, u: np.zeros(3))])
    with pytest.raises(DataValidationError, match="shape"):
        bad.sample(5)


def test_definition_order_is_kept_when_parents_allow():
    # a root listed after a child of the first root is still simulated in the listed order
    scm = SCM([Node("A"), Node("B", ("A",)), Node("C"), Node("D", ("C", "B"))])
    assert scm.order == ("A", "B", "C", "D")
    # so its noise is drawn in that order: B's noise comes before C's
    noise = scm.sample_noise(3, random_state=0)
    rng = np.random.default_rng(0)
    for name in ("A", "B", "C", "D"):
        np.testing.assert_array_equal(noise[name], rng.standard_normal(3))
    assert SCM([Node("Y", ("X",)), Node("X")]).order == ("X", "Y")


def test_column_names_no_noise_and_column_graph():
    scm = SCM(
        [
            Node("x", dim=2, column_names=("age", "income")),
            Node("t", ("x",), lambda pa, u: pa["x"].sum(1), no_noise()),
            Node("y", ("t", "x"), lambda pa, u: pa["t"] + u),
        ]
    )
    df = scm.sample(50, random_state=0)
    assert list(df.columns) == ["age", "income", "t", "y"]
    np.testing.assert_allclose(df["t"], df["age"] + df["income"])  # no noise on t
    g = scm.column_graph
    assert g.parents("y") == frozenset({"t", "age", "income"})
    assert g.parents("t") == frozenset({"age", "income"})
    assert set(scm.graph.nodes) == {"x", "t", "y"}
    hard = scm.sample(4, do={"x": np.array([1.0, 2.0])}, random_state=0)
    assert hard["t"].tolist() == [3.0] * 4
    with pytest.raises(GraphError, match="distinct"):
        Node("x", dim=2, column_names=("a",))
    one = SCM([Node("z", column_names=("zz",)), Node("w", ("z",))])
    assert list(one.sample(3, random_state=0).columns) == ["zz", "w"]
    assert str(one.column_graph) == "zz -> w"

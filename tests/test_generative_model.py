"""CausalGenerativeModel against ground truth from the SCM simulator (deepcause.simulate.scm)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepcause.exceptions import (
    DataValidationError,
    DeepCauseWarning,
    GraphError,
    NotFittedError,
    NotIdentifiableError,
    PositivityWarning,
    UnknownNodeError,
)
from deepcause.generative import CausalGenerativeModel, LatentConfoundingError
from deepcause.metrics import counterfactual_rmse, interventional_mean_error, mmd_rbf
from deepcause.simulate.scm import SCM, Node, gaussian, gumbel, laplace

N_TRAIN, N_SAMPLE, EPOCHS = 1500, 2000, 60


def _scm(name: str) -> SCM:
    """Small nonlinear SCMs with non-Gaussian noise; every one has a confounded do() query."""
    if name == "chain":
        return SCM(
            [
                Node("X", noise=gaussian(1.0)),
                Node("M", ("X",), lambda pa, u: np.tanh(pa["X"]) * 2 + u, laplace(0.3)),
                Node("Y", ("M",), lambda pa, u: 0.5 * pa["M"] ** 2 + u, gaussian(0.4)),
            ]
        )
    if name == "fork":  # X <- Z -> Y: X has no effect on Y
        return SCM(
            [
                Node("Z", noise=gaussian(1.0)),
                Node("X", ("Z",), lambda pa, u: pa["Z"] + u, gaussian(0.5)),
                Node("Y", ("Z",), lambda pa, u: np.sin(2 * pa["Z"]) + pa["Z"] + u, gumbel(0.3)),
            ]
        )
    if name == "collider":  # X -> C <- Y: intervening on C changes nothing upstream
        return SCM(
            [
                Node("X", noise=gaussian(1.0)),
                Node("Y", noise=laplace(0.7)),
                Node("C", ("X", "Y"), lambda pa, u: pa["X"] + pa["Y"] + u, gaussian(0.3)),
            ]
        )
    if name == "diamond":  # Z -> X -> M -> Y, Z -> Y: confounding by the observed Z
        return SCM(
            [
                Node("Z", noise=gaussian(1.0)),
                Node("X", ("Z",), lambda pa, u: 1.5 * np.tanh(pa["Z"]) + u, gaussian(0.6)),
                Node("M", ("X",), lambda pa, u: 0.8 * pa["X"] + u, laplace(0.4)),
                Node("Y", ("M", "Z"), lambda pa, u: pa["M"] + 2 * np.sin(pa["Z"]) + u, gumbel(0.4)),
            ]
        )
    raise KeyError(name)


QUERIES = {"chain": ("X", 1.0), "fork": ("X", 2.0), "collider": ("C", 2.5), "diamond": ("X", 1.0)}


def _fit(graph, df: pd.DataFrame, **kw) -> CausalGenerativeModel:  # noqa: ANN001
    kw.setdefault("max_epochs", EPOCHS)
    return CausalGenerativeModel(graph, random_state=0, **kw).fit(df)


def _conditioning_graph(scm: SCM, node: str) -> str:
    """A complete DAG with ``node`` first: do(node) on it equals conditioning on node."""
    order = [node] + [v for v in scm.observed if v != node]
    return "; ".join(f"{a} -> {b}" for i, a in enumerate(order) for b in order[i + 1 :])


@pytest.fixture(scope="module")
def diamond():
    scm = _scm("diamond")
    df = scm.sample(N_TRAIN, random_state=0)
    return scm, df, _fit(scm.graph, df)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_interventional_samples_match_the_simulator(name, diamond):
    scm = _scm(name)
    df = scm.sample(N_TRAIN, random_state=0)
    model = diamond[2] if name == "diamond" else _fit(scm.graph, df)
    node, value = QUERIES[name]
    truth = scm.sample(N_SAMPLE, do={node: value}, random_state=1)
    samples = model.sample(N_SAMPLE, do={node: value}, random_state=2)
    assert np.all(samples[node] == value)
    rest = [v for v in scm.observed if v != node]
    # MMD of two samples of 2000 from the same law is ~1e-3; a wrong answer is 0.02 or more.
    mmd = mmd_rbf(samples[rest], truth[rest])
    outcome = rest[-1]
    err = interventional_mean_error(samples[outcome], truth[outcome])
    assert mmd < 0.01 and err < 0.1, (name, mmd, err)
    if name == "chain":
        return  # do(X) = conditioning on X in a chain: no wrong answer to contrast with
    wrong = _fit(_conditioning_graph(scm, node), df, mechanisms="additive")
    bad = wrong.sample(N_SAMPLE, do={node: value}, random_state=2)
    assert mmd_rbf(bad[rest], truth[rest]) > 3 * max(mmd, 0.005), name


@pytest.mark.parametrize("mech", ["additive", "flow", "diffusion"])  # the invertible ones
def test_counterfactuals_recover_the_unit_level_answer(mech):
    scm = _scm("diamond")
    df = scm.sample(N_TRAIN, random_state=0)
    factual, truth = scm.counterfactual(500, do={"X": lambda x: x + 1.0}, random_state=3)
    do_truth = scm.sample(N_SAMPLE, do={"X": 1.0}, random_state=1)
    model = _fit(scm.graph, df, mechanisms=mech, max_epochs=None if mech == "diffusion" else EPOCHS)
    samples = model.sample(N_SAMPLE, do={"X": 1.0}, random_state=2)
    assert interventional_mean_error(samples["Y"], do_truth["Y"]) < 0.1, mech
    with pytest.warns(PositivityWarning, match=r"the shift do\(X\) sets 41 of 500"):
        # x + 1 (0.8 s.d.) moves 8% of the units above every training X (fresh units: 0.1%)
        cf = model.counterfactual(factual, do={"X": lambda x: x + 1.0})
    assert list(cf.columns) == list(factual.columns) and cf.index.equals(factual.index)
    np.testing.assert_allclose(cf["Z"], factual["Z"])  # non-descendants keep their values
    np.testing.assert_allclose(cf["X"], factual["X"] + 1.0, atol=1e-5)
    rmse = counterfactual_rmse(cf["Y"], truth["Y"], scale=truth["Y"].std())
    assert rmse < 0.1, (mech, rmse)
    if mech == "additive":  # hard intervention, with per-unit values
        values = factual["X"].to_numpy() - 0.5
        cf2 = model.counterfactual(factual, do={"X": values})
        _, truth2 = scm.counterfactual(500, do={"X": values}, random_state=3)
        assert counterfactual_rmse(cf2["Y"], truth2["Y"], scale=truth2["Y"].std()) < 0.1


def test_flow_counterfactuals_are_unit_accurate_on_a_heteroscedastic_scm():
    """Y = f(X) + g(X) * h(u): the noise scale depends on the parent, so additive noise fails."""

    def het(pa: dict, u: np.ndarray) -> np.ndarray:
        s = pa["X"]
        return 1.5 * np.tanh(s) + 0.3 * s + (0.25 + 0.5 / (1 + np.exp(-s))) * (u + 0.2 * u**3)

    scm = SCM([Node("X", noise=gaussian(1.0)), Node("Y", ("X",), het, gaussian(1.0))])
    df = scm.sample(3000, random_state=0)
    factual, truth = scm.counterfactual(1000, do={"X": lambda x: x + 1.0}, random_state=3)
    scale = df["Y"].std()
    rmse = {}
    for mech in ("flow", "additive"):
        model = _fit("X -> Y", df, mechanisms=mech, max_epochs=None)
        with pytest.warns(PositivityWarning, match="20 of 1000 values"):  # x + 1 s.d.: 2% of
            cf = model.counterfactual(factual, do={"X": lambda x: x + 1.0})  # units above all x
        rmse[mech] = counterfactual_rmse(cf["Y"], truth["Y"], scale=scale)
    assert model.mechanisms_["Y"].name == "additive"
    assert rmse["flow"] < 0.1 < rmse["additive"], rmse


def test_shift_and_per_unit_interventions(diamond):
    scm, _, model = diamond
    n = 2000
    values = np.linspace(-2, 2, n)
    s = model.sample(n, do={"X": values}, random_state=0)
    np.testing.assert_allclose(s["X"], values, atol=1e-5)
    truth = scm.sample(n, do={"X": values}, random_state=1)
    assert interventional_mean_error(s["Y"], truth["Y"]) < 0.1
    # x + 0.8 s.d.: 6% of the model's units end beyond the data (119 of its X draws since auto's
    # candidates are cross-fitted below 2,000 rows; 117 with one split and weight averaging,
    # 120 before: X's fitted mechanism moved)
    with pytest.warns(PositivityWarning, match="119 of 2000 values"):
        shifted = model.sample(n, do={"X": lambda x: x + 1.0}, random_state=0)
    truth = scm.sample(n, do={"X": lambda x: x + 1.0}, random_state=1)
    assert interventional_mean_error(shifted["Y"], truth["Y"]) < 0.1
    natural = model.sample(n, random_state=0)  # same seed, same noise: the shift moves X by 1
    np.testing.assert_allclose(shifted["X"] - natural["X"], 1.0, atol=1e-4)


def test_determinism_and_save_load(diamond, tmp_path):
    scm, df, model = diamond
    a = model.sample(300, do={"X": 0.5}, random_state=11)
    b = model.sample(300, do={"X": 0.5}, random_state=11)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(model.sample(300, do={"X": 0.5}, random_state=12))
    again = _fit(scm.graph, df)
    pd.testing.assert_frame_equal(
        again.sample(300, random_state=4), model.sample(300, random_state=4)
    )
    # the model's own random stream is reproducible too, and survives save/load
    model.save(tmp_path / "m")
    loaded = CausalGenerativeModel.load(tmp_path / "m")
    pd.testing.assert_frame_equal(loaded.sample(200), model.sample(200))
    pd.testing.assert_frame_equal(
        loaded.sample(50, do={"X": 1.0}, random_state=3),
        model.sample(50, do={"X": 1.0}, random_state=3),
    )
    np.testing.assert_allclose(loaded.log_prob(df.head(20)), model.log_prob(df.head(20)), rtol=1e-6)
    assert loaded.get_params()["max_epochs"] == EPOCHS


def test_log_prob_matches_the_true_density():
    scm = SCM(
        [
            Node("X", noise=gaussian(1.0)),
            Node("Y", ("X",), lambda pa, u: 2 * pa["X"] + u, gaussian(0.5)),
        ]
    )
    df = scm.sample(N_TRAIN, random_state=0)
    test = scm.sample(500, random_state=1)
    true_lp = (
        -0.5 * test["X"] ** 2
        - 0.5 * np.log(2 * np.pi)
        - 0.5 * ((test["Y"] - 2 * test["X"]) / 0.5) ** 2
        - np.log(0.5)
        - 0.5 * np.log(2 * np.pi)
    ).mean()
    for mech in ("flow", "additive"):
        lp = _fit("X -> Y", df, mechanisms=mech).log_prob(test)
        assert lp.shape == (500,)
        assert lp.mean() == pytest.approx(true_lp, abs=0.1), mech  # nats per row
    with pytest.raises(NotImplementedError, match="log"):
        _fit("X -> Y", df.head(200), mechanisms="diffusion", max_epochs=1).log_prob(test)


def test_vector_and_discrete_nodes():
    scm = SCM(
        [
            Node("T", fn=lambda pa, u: (u > 0.3).astype(float), discrete=True),
            Node(
                "img",
                ("T",),
                lambda pa, u: pa["T"][:, None] * np.arange(4.0) + u,
                gaussian(0.3, 4),
                dim=4,
            ),
            Node(
                "Y",
                ("img", "T"),
                lambda pa, u: (pa["img"].sum(1) + u > 3).astype(float),
                discrete=True,
            ),
        ]
    )
    df = scm.sample(N_TRAIN, random_state=0)
    df["Y"] = df["Y"].map({0: "no", 1: "yes"})
    model = _fit(scm.graph, df, node_columns=scm.node_columns)
    assert model.mechanisms_["Y"].name == "categorical" and model.mechanisms_["T"].discrete
    assert model.mechanisms_["img"].dim == 4
    s = model.sample(4000, do={"T": 1}, random_state=0)
    assert list(s.columns) == list(df.columns)
    truth = scm.sample(4000, do={"T": 1}, random_state=1)
    assert set(s["Y"]) <= {"no", "yes"}
    assert (s["Y"] == "yes").mean() == pytest.approx((truth["Y"] == 1).mean(), abs=0.04)
    np.testing.assert_allclose(s.filter(like="img").mean(), [0, 1, 2, 3], atol=0.1)
    v = model.sample(100, do={"img": np.array([0.0, 0.0, 0.0, 5.0])}, random_state=0)
    assert np.all(v["img_3"] == 5.0)
    with pytest.raises(UnknownNodeError, match="vector node 'img'"):
        model.sample(5, do={"img_0": 1.0})
    with pytest.raises(DataValidationError, match="shape"):
        model.sample(5, do={"img": np.zeros(3)})
    with pytest.raises(DataValidationError, match="not a level"):
        model.sample(5, do={"T": 7})


def test_remove_edges_generates_data_without_the_edge(diamond):
    _, _, model = diamond
    s = model.sample(3000, random_state=0, remove_edges=[("X", "M")])
    assert abs(np.corrcoef(s["X"], s["M"])[0, 1]) < 0.06
    kept = model.sample(3000, random_state=0)
    assert np.corrcoef(kept["X"], kept["M"])[0, 1] > 0.5
    with pytest.raises(GraphError, match="no such edge"):
        model.sample(5, remove_edges=[("Y", "X")])


def test_errors_are_clear(diamond):
    scm, df, model = diamond
    with pytest.raises(NotFittedError, match="fit"):
        CausalGenerativeModel("X -> Y").sample(5)
    with pytest.raises(UnknownNodeError, match="did you mean 'X'"):
        model.sample(5, do={"XX": 1.0})
    with pytest.raises(DataValidationError, match="shape"):
        model.sample(5, do={"X": np.zeros(3)})
    with pytest.raises(DataValidationError, match="NaN"):
        model.sample(5, do={"X": np.nan})
    with pytest.raises(DataValidationError, match="same shape"):
        model.sample(5, do={"X": lambda x: x[:2]})
    with pytest.raises(DataValidationError, match="positive integer"):
        model.sample(0)
    with pytest.raises(DataValidationError, match="'W'.*bidirected"):
        CausalGenerativeModel("Z -> X; W -> X").fit(df)
    with pytest.raises(DataValidationError, match="non-empty do"):
        model.counterfactual(df.head(3), do={})
    with pytest.raises(DataValidationError, match="'M'"):
        model.counterfactual(df.drop(columns="M").head(3), do={"X": 0.0})
    with pytest.raises(LatentConfoundingError, match="bidirected"):
        CausalGenerativeModel("X -> Y; X <-> Y", latent_strategy="none").fit(df)
    with pytest.raises(DataValidationError, match="categorical"):
        CausalGenerativeModel("X -> Y", mechanisms="categorical").fit(df)
    with pytest.raises(UnknownNodeError):
        CausalGenerativeModel("X -> Y", mechanisms={"Q": "flow"}).fit(df)
    with pytest.raises(ValueError, match="unknown mechanism"):
        CausalGenerativeModel("X -> Y", mechanisms="gan").fit(df)
    with pytest.raises(DataValidationError, match="missing or infinite"):
        CausalGenerativeModel("X -> Y").fit(df.assign(Y=np.where(df.index == 3, np.nan, df["Y"])))
    with pytest.raises(GraphError):
        CausalGenerativeModel(42).fit(df)


def test_district_strategy_plumbing(tmp_path):
    """A toy strategy class (shared Gaussian latent appended to the parents) exercises the contract."""
    import torch

    from deepcause.generative import AdditiveNoiseMechanism, DistrictStrategy

    class SharedNoise(DistrictStrategy):
        latent_dim = 1

        def fit(self, model, data, random_state):  # noqa: ANN001
            gen = torch.Generator().manual_seed(random_state % 2**31)
            latent = self.sample_latent(len(next(iter(data.values()))), gen)
            for v in self.district:
                ctx = model.context(v, data, {v: latent})
                mech = AdditiveNoiseMechanism(noise="gaussian", max_epochs=3)
                model.mechanisms_[v] = mech.fit(data[v], ctx, random_state=random_state)

        def sample_latent(self, n, generator):  # noqa: ANN001
            return torch.randn((n, self.latent_dim), generator=generator)

    scm = _scm("diamond")
    df = scm.sample(300, random_state=0)
    model = _fit("Z -> X -> M -> Y; Z -> Y; X <-> Y", df, latent_strategy=SharedNoise)
    assert [s.district for s in model.districts_] == [("X", "Y")]
    assert model.mechanisms_["Y"].context_dim == 3  # parents M, Z + one latent
    s = model.sample(50, random_state=0)
    pd.testing.assert_frame_equal(s, model.sample(50, random_state=0))
    assert model.sample(5, do={"X": 0.0}).attrs["identified"]  # front-door: identifiable
    with pytest.raises(DataValidationError, match="cannot save"):  # a saved model names no code
        model.save(tmp_path / "toy")
    # front door: P(M_x, Y_x | Z, X) is identified (ID*), drawn with the strategy's latent
    assert (model.counterfactual(df.head(3), do={"X": 0.0})["X"] == 0.0).all()
    with pytest.raises(LatentConfoundingError, match="log_prob"):
        model.log_prob(df)
    bow = _fit("X -> Y; X <-> Y", df[["X", "Y"]], latent_strategy=SharedNoise)
    with pytest.raises(NotIdentifiableError):
        bow.sample(5, do={"X": 0.0})
    with pytest.raises(LatentConfoundingError, match="not identifiable"):
        bow.counterfactual(df.head(3), do={"X": 0.0})
    with pytest.warns(DeepCauseWarning, match="unidentified"):
        assert not bow.sample(5, do={"X": 0.0}, allow_unidentified=True).attrs["identified"]
    assert len(bow.sample(5)) == 5  # observational sampling needs no identification


def test_column_types_and_index_are_preserved():
    from sklearn.base import clone

    rng = np.random.default_rng(0)
    n = 600
    a = rng.random(n) < 0.4
    g = pd.Categorical(np.where(a, "x", np.where(rng.random(n) < 0.5, "y", "z")))
    df = pd.DataFrame({"A": a, "G": g, "Y": a * 2.0 + rng.normal(size=n)}, index=np.arange(n) + 7)
    model = _fit("A -> G -> Y; A -> Y", df, max_epochs=10)
    s = model.sample(50, do={"A": True}, random_state=0)
    assert s["A"].dtype == bool and s["Y"].dtype == np.float64
    assert list(s["G"].cat.categories) == ["x", "y", "z"]
    cf = model.counterfactual(df.head(4), do={"A": False})
    assert cf.index.equals(df.index[:4]) and not cf.isna().any().any()
    assert not cf["A"].any()
    assert clone(model).get_params() == model.get_params()

"""Latent confounders in CausalGenerativeModel: district-wise joint training vs simulator truth."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepcause.exceptions import DataValidationError, DeepCauseWarning, NotIdentifiableError
from deepcause.generative import CausalGenerativeModel, LatentConfoundingError
from deepcause.generative.districts import JointDistrictStrategy
from deepcause.graph import CausalGraph
from deepcause.simulate.suite import SimulatorCase, get_case

N_TRAIN, N_SAMPLE, EPOCHS = 2000, 4000, 40
# one initialisation per district (restarts: test_district_restarts.py; these tests run 40
# epochs, not the defaults): |E - truth| 0.010 / 0.086 -> 0.049 / 0.005 s.d. (front door /
# napkin, bound 0.2), the joint fits' CPU 22 -> 11 s
pytestmark = pytest.mark.usefixtures("one_district_init")


def _effect(sample_fn, case: SimulatorCase) -> float:
    """E[Y | do(X = hi)] - E[Y | do(X = lo)] from a sampler."""
    lo, hi = case.do_values
    return float(sample_fn(hi)[case.outcome].mean() - sample_fn(lo)[case.outcome].mean())


def _no_latent(case: SimulatorCase) -> CausalGraph:
    g = case.graph
    return CausalGraph.from_edges(g.directed_edges, nodes=g.nodes)


@pytest.fixture(scope="module", params=["frontdoor", "napkin"])
def fitted(request):
    case = get_case(request.param)
    df = case.sample(N_TRAIN, random_state=0)
    joint = CausalGenerativeModel(case.graph, max_epochs=EPOCHS, random_state=0).fit(df)
    naive = CausalGenerativeModel(_no_latent(case), max_epochs=EPOCHS, random_state=0).fit(df)
    return case, df, joint, naive


def test_identifiable_effect_matches_truth_naive_model_does_not(fitted) -> None:
    case, df, joint, naive = fitted
    t = case.treatment
    truth = _effect(lambda v: case.truth(200_000, v, random_state=1), case)
    est = _effect(lambda v: joint.sample(N_SAMPLE, do={t: v}, random_state=2), case)
    bad = _effect(lambda v: naive.sample(N_SAMPLE, do={t: v}, random_state=2), case)
    sd = float(df[case.outcome].std())
    # sampling s.e. of a difference of two means of 4000 draws is <= sd * sqrt(2 / 4000) = 0.022 sd;
    # the rest of the allowance is estimation error of a 2000-row fit.
    assert abs(est - truth) < 0.2 * sd, (case.name, est, truth, sd)
    assert abs(bad - truth) > 0.3 * sd, (case.name, bad, truth, sd)
    assert abs(bad - truth) > 2 * abs(est - truth)


def test_identified_samples_are_labelled_and_observational_fit(fitted) -> None:
    case, df, joint, _ = fitted
    s = joint.sample(N_SAMPLE, do={case.treatment: 1.0}, random_state=0)
    assert s.attrs["identified"] is True
    assert np.all(s[case.treatment] == 1.0)
    obs = joint.sample(N_SAMPLE, random_state=0)
    assert "identified" not in obs.attrs
    # the observational fit reproduces the correlations (s.e. of a correlation ~ 1/sqrt(2000) = 0.022)
    diff = (obs.corr() - df.corr()).abs().to_numpy().max()
    assert diff < 0.08


def _partial_cov(d, a: str, b: str, given: str) -> float:
    """cov(a, b) after a linear regression of both on ``given``."""
    g = np.c_[np.ones(len(d)), d[given].to_numpy()]
    res = [d[c].to_numpy() - g @ np.linalg.lstsq(g, d[c].to_numpy(), rcond=None)[0] for c in (a, b)]
    return float(np.cov(*res)[0, 1])


def test_napkin_reproduces_the_moment_that_identifies_the_effect(fitted) -> None:
    """The napkin's effect is pinned down by how Y moves with W2 given W1 (W2 -> X -> Y); a
    clique-block model stopped short of the fit (step size 3e-3, 40 epochs) had cov(Y, W2 | W1)
    -0.012 against the data's 0.060 and the effect 0.91 against 2.68."""
    case, df, joint, _ = fitted
    if case.name != "napkin":
        pytest.skip("the napkin's identifying moment")
    obs = joint.sample(20_000, random_state=3)
    # s.e. of the data's partial covariance ~ sd(W2 | W1) sd(Y | W1) / sqrt(2000) ~ 0.006
    assert abs(_partial_cov(obs, "Y", "W2", "W1") - _partial_cov(df, "Y", "W2", "W1")) < 0.03


def test_sampling_is_deterministic(fitted) -> None:
    case, _, joint, _ = fitted
    a = joint.sample(500, do={case.treatment: 0.5}, random_state=7)
    b = joint.sample(500, do={case.treatment: 0.5}, random_state=7)
    c = joint.sample(500, do={case.treatment: 0.5}, random_state=8)
    assert a.equals(b)
    assert not a.equals(c)


@pytest.fixture(scope="module")
def bow():
    case = get_case("bow")
    df = case.sample(400, random_state=0)
    return case, df, CausalGenerativeModel(case.graph, max_epochs=3, random_state=0).fit(df)


def test_fit_is_deterministic(bow) -> None:
    case, df, model = bow
    again = CausalGenerativeModel(case.graph, max_epochs=3, random_state=0).fit(df)
    a = model.sample(300, random_state=1)
    assert a.equals(again.sample(300, random_state=1))


def test_not_identifiable_query_raises(bow) -> None:
    _, _, model = bow
    with pytest.raises(NotIdentifiableError, match="not identifiable"):
        model.sample(100, do={"X": 1.0})
    with pytest.raises(NotIdentifiableError):
        model.sample(100, do={"X": lambda x: x + 1})  # shift interventions too


def test_allow_unidentified_warns_and_labels(bow) -> None:
    _, _, model = bow
    with pytest.warns(DeepCauseWarning, match="unidentified"):
        s = model.sample(100, do={"X": 1.0}, allow_unidentified=True)
    assert s.attrs["identified"] is False
    assert len(s) == 100


def test_counterfactual_on_confounded_nodes_is_refused(bow) -> None:
    _, df, model = bow
    with pytest.raises(LatentConfoundingError, match="not identifiable"):
        model.counterfactual(df.head(5), do={"X": 0.0})


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("latent_blocks", "latent_blocks must be 'cliques' or 'district', got 'edges'"),
        ("posterior", "posterior must be 'full' or 'diagonal', got 'edges'"),
    ],
)
def test_unknown_district_keyword_value_is_refused_in_one_line(bow, key, message) -> None:
    case, df, _ = bow

    class Edges(JointDistrictStrategy):
        def __init__(self, model, district):  # noqa: ANN001
            super().__init__(model, district, **{key: "edges"})

    model = CausalGenerativeModel(case.graph, max_epochs=1, latent_strategy=Edges)
    with pytest.raises(DataValidationError) as info:
        model.fit(df)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


def test_full_posterior_draws_through_a_cholesky_factor(bow) -> None:
    """``z = mu + L eps`` with ``L`` lower-triangular, ``log |det L|`` from its diagonal; a
    config saved before ``posterior`` existed loads with the diagonal one."""
    _, _, model = bow
    (district,) = model.districts_
    assert district.posterior == "full" and district.latent_dim == 2
    feats = torch.randn(5, 2)
    eps = torch.randn(3, 5, 2)
    with torch.no_grad():
        z, log_det = district.posterior_draw(feats, eps)
        out = district.encoder(feats)
    sd = out[:, 2:4].clamp(-7.0, 3.0).exp()
    expected = out[:, :2] + torch.stack(
        [sd[:, 0] * eps[..., 0], out[:, 4] * eps[..., 0] + sd[:, 1] * eps[..., 1]], -1
    )
    assert torch.allclose(z, expected, atol=1e-6)
    assert torch.allclose(log_det, sd.log().sum(1), atol=1e-6)
    config = {k: v for k, v in district.get_config().items() if k != "posterior"}
    old = JointDistrictStrategy(model, district.district, **{**district.legacy_config, **config})
    assert old.posterior == "diagonal" and old.encoder[-1].out_features == 4


def test_save_load_round_trip(bow, tmp_path) -> None:
    _, _, model = bow
    model.save(str(tmp_path / "m"))
    loaded = CausalGenerativeModel.load(str(tmp_path / "m"))
    assert model.sample(200, random_state=3).equals(loaded.sample(200, random_state=3))

"""Node mechanisms recover known conditionals and pass the conformance checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from deepcause.exceptions import InvalidParameterError
from deepcause.generative import (
    AdditiveNoiseMechanism,
    CategoricalMechanism,
    DiffusionMechanism,
    FlowMechanism,
    NotInvertibleError,
)
from deepcause.generative.io import load_mechanism, save_mechanism
from deepcause.generative.mechanisms import make_mechanism, mechanism_from_config
from deepcause.testing.mechanisms import check_mechanism

EULER = 0.5772156649


def _linear_data(n: int, noise: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Y = (2 X + e) / 2 with X ~ N(0, 1): about the standardised scale used inside the model."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1))
    e = rng.normal(size=(n, 1)) * 0.5 if noise == "gauss" else rng.gumbel(size=(n, 1)) - EULER
    y = (2 * x + e) / 2.0  # roughly unit variance, like the standardised data a model passes
    return torch.tensor(y, dtype=torch.float32), torch.tensor(x, dtype=torch.float32)


def _conditional_samples(mech, x0: float, n: int = 3000) -> np.ndarray:  # noqa: ANN001
    ctx = torch.full((n, 1), x0)
    return mech.sample_from_noise(n, ctx, torch.Generator().manual_seed(7)).numpy()[:, 0]


CONTINUOUS = {
    "additive-gaussian": lambda: AdditiveNoiseMechanism(noise="gaussian", max_epochs=80),
    "additive-empirical": lambda: AdditiveNoiseMechanism(max_epochs=80),
    "flow": lambda: FlowMechanism(max_epochs=80),
    "diffusion": lambda: DiffusionMechanism(max_epochs=150, steps=50, hidden_sizes=(64, 64)),
}


@pytest.mark.parametrize("kind", sorted(CONTINUOUS))
def test_continuous_mechanisms_recover_a_linear_gaussian_conditional(kind):
    y, x = _linear_data(1500, "gauss")
    mech = CONTINUOUS[kind]().fit(y, x, random_state=0, verbose=False)
    for x0 in (-1.0, 0.0, 1.0):
        s = _conditional_samples(mech, x0)
        assert s.mean() == pytest.approx(x0, abs=0.08), (kind, x0)  # E[Y | x0] = 2 x0 / 2
        assert s.std() == pytest.approx(0.25, rel=0.2), (kind, x0)


@pytest.mark.parametrize("kind", ["additive-empirical", "flow"])
def test_flexible_noise_captures_skew_where_gaussian_noise_cannot(kind):
    y, x = _linear_data(2000, "gumbel", seed=1)
    truth = (2.0 + np.random.default_rng(5).gumbel(size=3000) - EULER) / 2.0
    flexible = CONTINUOUS[kind]().fit(y, x, random_state=0, verbose=False)
    s = _conditional_samples(flexible, 1.0)
    assert s.mean() == pytest.approx(1.0, abs=0.08)
    assert stats.skew(s) > 0.6  # Gumbel skewness 1.14

    def shape_ks(a: np.ndarray) -> float:  # KS distance of the centred shapes
        return stats.ks_2samp(a - a.mean(), truth - truth.mean()).statistic

    gaussian = CONTINUOUS["additive-gaussian"]().fit(y, x, random_state=0, verbose=False)
    g = _conditional_samples(gaussian, 1.0)
    assert abs(stats.skew(g)) < 0.2
    assert shape_ks(s) < 0.065 < shape_ks(g)  # Gaussian noise: about 0.1


def test_categorical_mechanism_recovers_probabilities_and_counterfactual_marginals():
    rng = np.random.default_rng(0)
    n = 3000
    pa = rng.normal(size=(n, 1))
    logits = np.hstack([np.zeros((n, 1)), 1.5 * pa, -pa])
    x = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
    ctx = torch.tensor(pa, dtype=torch.float32)
    mech = CategoricalMechanism(max_epochs=80).fit(torch.tensor(x), ctx, random_state=0)
    with torch.no_grad():
        probe = torch.tensor([[-1.0], [0.0], [1.0]])
        p_hat = mech(probe).probs.numpy()
    raw = np.array([[0, 1.5 * v, -v] for v in (-1.0, 0.0, 1.0)])
    p_true = np.exp(raw) / np.exp(raw).sum(1, keepdims=True)
    np.testing.assert_allclose(p_hat, p_true, atol=0.06)

    # Gumbel-max posterior: abducting noise from the factual level and decoding under a new
    # context must give the joint law of (factual, counterfactual) that shared Gumbel noise gives
    # (computed here with the same learned logits, so only the abduction is tested).
    m = 40_000
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        c0, c1 = torch.full((m, 1), -1.0), torch.full((m, 1), 1.0)
        shared = mech.sample_noise(m, gen)
        joint_true = np.zeros((3, 3))
        np.add.at(joint_true, (mech.decode(shared, c0).numpy(), mech.decode(shared, c1).numpy()), 1)
        fact = mech.sample_from_noise(m, c0, gen)
        u = mech.abduct(fact, c0, gen)
        assert torch.equal(mech.decode(u, c0), fact)
        joint = np.zeros((3, 3))
        np.add.at(joint, (fact.numpy(), mech.decode(u, c1).numpy()), 1)
        p0 = mech(c0[:1]).probs.numpy()[0]
        p1 = mech(c1[:1]).probs.numpy()[0]
    np.testing.assert_allclose(joint / m, joint_true / m, atol=0.01)
    independent = np.outer(p0, p1)  # what independent noise (no abduction) would give
    assert np.abs(joint / m - independent).max() > 0.05


ALL = {
    "additive-gaussian": lambda: AdditiveNoiseMechanism(noise="gaussian", max_epochs=5),
    "additive-empirical": lambda: AdditiveNoiseMechanism(max_epochs=5),
    "flow-nsf": lambda: FlowMechanism(max_epochs=5),
    "flow-conditional": lambda: FlowMechanism(conditional=True, max_epochs=5),
    "flow-maf": lambda: FlowMechanism(flow="maf", max_epochs=5),
    "diffusion": lambda: DiffusionMechanism(max_epochs=20, steps=30, hidden_sizes=(32, 32)),
    "categorical": lambda: CategoricalMechanism(max_epochs=5),
}


@pytest.mark.parametrize("kind", sorted(ALL))
def test_every_mechanism_passes_the_conformance_checks(kind):
    check_mechanism(ALL[kind]())


@pytest.mark.slow  # about 12 s: two flows trained on two designs
def test_flow_keeps_the_parent_dependent_flow_only_when_the_data_need_it(tmp_path):
    rng = np.random.default_rng(0)
    pa = rng.normal(size=(3000, 1))
    u = rng.normal(size=(3000, 1))
    location_scale = 0.5 * pa + (0.3 + 0.2 * np.tanh(pa)) * (u + 0.2 * u**3)
    skew_flips = np.sign(pa) * (np.exp(0.8 * u) - np.exp(0.32))  # skewness changes sign with pa
    ctx = torch.tensor(pa, dtype=torch.float32)
    for y, want in ((location_scale, False), (skew_flips, True)):
        m = FlowMechanism(max_epochs=60).fit(
            torch.tensor(y, dtype=torch.float32), ctx, random_state=0
        )
        assert m.selection_["conditional"] is want, m.selection_
        assert bool(m.uses_context) is want
    path = tmp_path / "flow"  # the decision is part of the saved state
    save_mechanism(m, path)
    back = load_mechanism(path)
    assert bool(back.uses_context)
    torch.testing.assert_close(back.encode(ctx[:50], ctx[:50]), m.encode(ctx[:50], ctx[:50]))
    assert FlowMechanism(dim=1, context_dim=2, conditional=False).context_flow is None
    with pytest.raises(InvalidParameterError, match="conditional"):
        FlowMechanism(conditional="yes").build(1, 2)


def test_vector_nodes_and_root_nodes():
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(size=(400, 3)) * [1.0, 2.0, 0.5], dtype=torch.float32)
    for mech in (FlowMechanism(max_epochs=30), AdditiveNoiseMechanism(max_epochs=30)):
        mech.fit(x, None, random_state=0)
        assert mech.context_dim == 0 and mech.dim == 3
        s = mech.sample_from_noise(2000, torch.zeros(2000, 0), torch.Generator().manual_seed(0))
        np.testing.assert_allclose(s.std(0).numpy(), [1.0, 2.0, 0.5], rtol=0.2)
        z = mech.encode(x[:10], torch.zeros(10, 0))
        assert torch.allclose(mech.decode(z, torch.zeros(10, 0)), x[:10], atol=1e-3)


def test_diffusion_has_no_density_and_errors_are_clear():
    mech = DiffusionMechanism(dim=1, context_dim=1, steps=10)
    with pytest.raises(NotInvertibleError, match="log"):
        mech(torch.zeros(2, 1)).log_prob(torch.zeros(2, 1))
    with pytest.raises(NotImplementedError):  # NotInvertibleError is a NotImplementedError
        mech.log_prob(torch.zeros(2, 1), torch.zeros(2, 1))
    with pytest.raises(NotInvertibleError, match="abduct"):
        CategoricalMechanism(context_dim=1, n_classes=2).encode(torch.zeros(2), torch.zeros(2, 1))
    with pytest.raises(ValueError, match="unknown mechanism"):
        make_mechanism("gan")
    with pytest.raises(InvalidParameterError, match="noise"):
        AdditiveNoiseMechanism(noise="cauchy").build(1, 1)
    with pytest.raises(ValueError, match="n_classes"):
        CategoricalMechanism(context_dim=1, n_classes=1)
    with pytest.raises(ValueError, match="continuous"):
        FlowMechanism().build(1, 1, n_classes=3)
    with pytest.raises(ValueError, match="unknown mechanism type"):
        mechanism_from_config({"type": "os.system"})
    with pytest.raises(AttributeError, match="fit"):
        FlowMechanism().decode(torch.zeros(1, 1), torch.zeros(1, 1))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: AdditiveNoiseMechanism(max_epochs=0), "max_epochs"),
        (lambda: AdditiveNoiseMechanism(hidden_sizes=64), "hidden_sizes"),
        (lambda: CategoricalMechanism(hidden_sizes=(8, 0)), "hidden_sizes"),
        (lambda: FlowMechanism(learning_rate=0.0), "learning_rate"),
        (lambda: FlowMechanism(flow="realnvp"), "flow"),
        (lambda: DiffusionMechanism(steps=1), "steps"),
        (lambda: DiffusionMechanism(batch_size=0), "batch_size"),
    ],
)
def test_declared_parameter_constraints_are_checked_before_training(make, match):
    x = torch.randn(60, 1)
    with pytest.raises(InvalidParameterError, match=match):
        make().fit(x, torch.randn(60, 1), random_state=0)

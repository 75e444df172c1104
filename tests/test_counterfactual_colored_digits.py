"""Counterfactual images on the back-door coloured digits against the simulator's exact truth.

``confounded_digit_label``: a colour group ``C`` sets the digit's colour (palette colour ``C``
with probability 0.6) and its digit (``3 C + {0, 1, 2}`` with probability 0.7); the render
is deterministic given the unit's noise, so the true counterfactual image of every test unit
under ``do(C = C + 1 mod 3)`` is known. Before issue 14's fix the abducted image latent carried
the colour group (read off it with 61-80% accuracy), the decoder ignored ``C`` and the
counterfactual images kept the factual colour: colour effectiveness 0.34-0.41, at the level of
keeping the factual image (0.40), and pixel RMSE equal to the fresh-noise baseline's. The
parents' moments of the latent (:mod:`deepcause.generative.mechanisms._noise_moments`) take
the parents' share (mean and variance) out of the noise.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from deepcause.generative import CausalGenerativeModel, load_model
from deepcause.generative.mechanisms import ImageHVAEMechanism, ImageVAEMechanism
from deepcause.generative.mechanisms._noise_moments import ParentMoments
from deepcause.metrics import counterfactual_pixel_error, effectiveness
from deepcause.simulate import confounded_digit_label, train_attribute_readers


# --------------------------------------------------------------------------- the moments (fast)
def _one_hot(n: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.nn.functional.one_hot(torch.randint(0, 3, (n,), generator=gen), 3).float()


def test_parent_moments_identity_until_fitted_and_exact_round_trip():
    moments, pa = ParentMoments(3, 4), _one_hot(4000, 0)
    z = torch.randn(4000, 4, generator=torch.Generator().manual_seed(1))
    assert torch.equal(moments.standardise(z, pa), z)  # identity before fitting
    z = z * 0.5 + pa @ torch.tensor([[2.0, 0, 0, 0], [0, -1.0, 0, 0], [0, 0, 0, 0]])
    moments.fit(z, torch.full_like(z, 0.75), pa)
    e = moments.standardise(z, pa)
    torch.testing.assert_close(moments.restore(e, pa), z, atol=1e-5, rtol=1e-5)
    for level in range(3):  # per level: mean 0; variance of the means 0.25 over a total of 1
        rows = pa[:, level] == 1
        assert e[rows].mean(0).abs().max() < 1e-3  # up to the small ridge
        torch.testing.assert_close(e[rows].var(0), torch.full((4,), 0.25), atol=0.03, rtol=0)


def test_parent_moments_without_parents_standardise_the_latent():
    moments = ParentMoments(0, 2)
    z = 3.0 + 2.0 * torch.randn(1000, 2, generator=torch.Generator().manual_seed(3))
    moments.fit(z, torch.zeros_like(z), z[:, :0])
    e = moments.standardise(z, z[:, :0])
    torch.testing.assert_close(e.mean(0), torch.zeros(2), atol=1e-3, rtol=0)
    torch.testing.assert_close(e.std(0), torch.ones(2), atol=1e-2, rtol=0)


def test_parent_moments_load_without_buffers():
    """Mechanisms saved before the moments existed load with the identity moments."""
    m = ImageVAEMechanism(dim=48, context_dim=3, image_shape=(3, 4, 4), latent_dim=2)
    state = {k: v for k, v in m.state_dict().items() if "noise_moments" not in k}
    back = ImageVAEMechanism(dim=48, context_dim=3, image_shape=(3, 4, 4), latent_dim=2)
    back.load_state_dict(state)
    z = torch.randn(5, 2)
    assert torch.equal(back.noise_moments.restore(z, _one_hot(5, 2)), z)
    with pytest.raises(RuntimeError, match="decoder"):  # other keys are still checked
        back.load_state_dict({k: v for k, v in state.items() if "decoder" not in k})


# --------------------------------------------------------------------------- exact truth (slow)
N_TRAIN, N_TEST = 1500, 300


@pytest.fixture(scope="module")
def colored(scm_split):
    scm = confounded_digit_label(16)
    train, test, unit_noise = scm_split(scm, N_TRAIN, N_TEST)
    train, test = ({k: d[k] for k in scm.graph.nodes} for d in (train, test))
    do = {"C": (test["C"] + 1) % 3}
    _, truth = scm.counterfactual(unit_noise, do=do, include_latent=True, as_arrays=True)
    mech = ImageHVAEMechanism()  # its own 60 epochs with early stopping; Y gets max_epochs
    model = CausalGenerativeModel(
        scm.graph, mechanisms={"X": mech}, max_epochs=15, random_state=0, verbose=False
    )
    reader = train_attribute_readers(scm, n=1500, random_state=0)
    return model.fit(train), test, do, truth, reader


@pytest.mark.slow
def test_noise_free_of_the_parent_and_counterfactual_against_truth(colored):
    m, test, do, truth, reader = colored
    with torch.no_grad():
        enc = m.encode(test)
        noise = m.mechanisms_["X"].abduct(enc["X"], m.context("X", enc)).numpy()
    read_c = cross_val_score(LogisticRegression(max_iter=3000), noise, test["C"], cv=3).mean()
    cf = m.counterfactual(test, do=do)
    fresh = m.sample(N_TEST, do=do, random_state=5)["X"]
    factual_colour = reader.predict(test["X"])["color"]
    kept = effectiveness(cf["X"], factual_colour, reader, "color")
    err = counterfactual_pixel_error(cf["X"], truth["X"])
    base = counterfactual_pixel_error(fresh, truth["X"])
    # measured (1,500 units; before -> after the parents' moments, same fit): C read off the
    # noise 0.610 -> 0.380 (chance 1/3); the counterfactual keeps the factual colour 0.793 ->
    # 0.210; pixel RMSE 0.273 -> 0.240 against 0.253 for fresh noise (0.271 before); keeping
    # the factual image 0.282. Colour effectiveness 0.323 -> 0.347 is still at chance at this
    # budget (0.515 with image_hvae at 3,000 units, bench_counterfactual_images.md), so it is
    # not asserted here.
    assert read_c < 0.45
    assert kept < 0.5
    assert err < 0.97 * base
    assert counterfactual_pixel_error(test["X"], truth["X"]) > 1.1 * err  # the image must change


@pytest.mark.slow
def test_null_intervention_and_persistence(colored, tmp_path, mechanism_null):
    m, test, _, _, reader = colored
    fact = {k: v[:50] for k, v in test.items()}
    np.testing.assert_array_equal(m.counterfactual(fact, do={"C": fact["C"]})["X"], fact["X"])
    null = mechanism_null(m, fact, "X")  # the mechanism's abduction and decoding
    # measured 1.000: the reconstruction keeps the factual colour
    assert effectiveness(null, reader.predict(fact["X"])["color"], reader, "color") > 0.95
    back = load_model(m.save(tmp_path / "colored"))
    do = {"C": (fact["C"] + 2) % 3}
    np.testing.assert_array_equal(
        back.counterfactual(fact, do=do)["X"], m.counterfactual(fact, do=do)["X"]
    )


# ------------------------------------------------------------ counterfactual training (slow)
@pytest.fixture(scope="module")
def colored_pair(colored, scm_split):
    """The fit above and the same fit with counterfactual training (``cf_weight=1``)."""
    m0, test, do, truth, reader = colored
    scm = confounded_digit_label(16)
    train = scm_split(scm, N_TRAIN, N_TEST)[0]
    train = {k: train[k] for k in scm.graph.nodes}
    mech = ImageHVAEMechanism(cf_weight=1.0)
    m1 = CausalGenerativeModel(
        scm.graph, mechanisms={"X": mech}, max_epochs=15, random_state=0, verbose=False
    ).fit(train)
    return m0, m1, test, do, truth, reader


@pytest.mark.slow
def test_counterfactual_training_makes_the_counterfactual_follow_the_new_colour(colored_pair):
    """Counterfactual training (``cf_weight=1``) makes the decoder render the intervened ``C``
    more often instead of the colour the abducted noise carries; it does not (at this budget)
    bring the counterfactual closer to the simulator's: the true counterfactual keeps the
    factual colour on the units whose colour did not follow ``C`` (0.4 of them, one in three
    by chance on ``C + 1``'s colour), which a model obeying ``C`` gets wrong."""
    m0, m1, test, do, truth, reader = colored_pair
    cf0, cf1 = (m.counterfactual(test, do=do)["X"] for m in (m0, m1))
    obey0, obey1 = (effectiveness(cf, do["C"], reader, "color") for cf in (cf0, cf1))
    factual = reader.predict(test["X"])["color"]
    kept0, kept1 = (effectiveness(cf, factual, reader, "color") for cf in (cf0, cf1))
    err0, err1 = (counterfactual_pixel_error(cf, truth["X"]) for cf in (cf0, cf1))
    # measured (1,500 units, image_hvae, off -> on): palette colour of the new C 0.523 ->
    # 0.613, factual colour kept 0.200 -> 0.143, colour effectiveness against the truth
    # 0.540 -> 0.533, pixel RMSE 0.181 -> 0.193 (fresh noise 0.234-0.243)
    assert obey1 > obey0 + 0.05
    assert kept1 < kept0
    assert err1 < 1.12 * err0

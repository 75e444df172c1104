"""The coloured-digits napkin (image ``X`` and ``Y``, hidden confounders) through both routes.

``W1 -> W2 -> X -> Y``, ``W1 <-> X``, ``W1 <-> Y`` (:func:`deepcause.simulate.images.
colored_digits_napkin`): ``P(Y | do(X = x))`` is identified by the napkin formula but differs
from ``P(Y | X = x)``. Fast tests check the structure (a confounded image node gets an image
mechanism conditioned on its parents *and* the district latent; the mixture prior's noise
round trip; the refusals) and the noise floor of the score; the slow tests fit both routes and
compare the attribute TV of their ``do()`` samples (digit x colour read by the attribute
readers) with the simulator's truth and with the conditioning baseline ``P(Y | X = x)``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepcause.exceptions import DataValidationError
from deepcause.generative import CausalGenerativeModel, LatentConfoundingError
from deepcause.generative.mechanisms import ImageHVAEMechanism, ImageVAEMechanism
from deepcause.metrics import attribute_tv
from deepcause.simulate._readers import train_attribute_readers
from deepcause.simulate.images import make_colored_digits_napkin

# slow truth tests: the budget of benchmarks/results/bench_images.md's napkin rows and bounds
# set from what was measured there (mean attribute TV over the four reference queries)
SLOW_N, SLOW_EPOCHS = 3000, 20
SLOW_BOUND = {"joint": 0.5, "idgen": 0.5}


@pytest.fixture(scope="module")
def tiny():
    return make_colored_digits_napkin(160, truth_n=10, random_state=0)


def test_confounded_image_nodes_get_image_mechanisms_with_the_latent(tiny):
    m = CausalGenerativeModel(tiny.graph, max_epochs=1, random_state=0, verbose=False)
    m.fit(tiny.data)
    (district,) = m.districts_
    assert district.district == ("W1", "X", "Y")
    for v, parent_width in (("X", 10), ("Y", 3 * 16 * 16)):  # W2 one-hot; X's pixels
        mech = m.mechanisms_[v]
        assert isinstance(mech, ImageVAEMechanism) and mech.prior_modes > 0
        assert mech.context_dim == parent_width + district.latent_dim
    ref = tiny.extras["x_reference"][1]
    a, b = (m.sample(6, do={"X": ref}, random_state=3) for _ in range(2))
    assert a["Y"].shape == (6, 3, 16, 16) and np.array_equal(a["Y"], b["Y"])
    assert a["Y"].min() >= 0.0 and a["Y"].max() <= 1.0


def test_confounded_image_node_needs_a_likelihood_bound(tiny):
    m = CausalGenerativeModel(
        tiny.graph, mechanisms={"Y": "image_gan"}, max_epochs=1, random_state=0, verbose=False
    )
    with pytest.raises(LatentConfoundingError, match="'Y' has hidden confounders.*image_vae"):
        m.fit(tiny.data)


def test_mixture_prior_noise_round_trip():
    """Abducted noise decodes to the posterior-mean reconstruction; the Gumbel part picks
    the component, so two units with the same noise and parents get the same image."""
    m = ImageVAEMechanism(dim=3 * 8 * 8, context_dim=2, image_shape=(3, 8, 8), prior_modes=4)
    gen = torch.Generator().manual_seed(0)
    ctx = torch.randn(5, 2, generator=gen)
    x = m.sample_from_noise(5, ctx, gen)
    noise = m.abduct(x, ctx, gen)
    assert noise.shape == (5, 4 + m.latent_dim)
    feats = m.context_encoder(ctx)
    with torch.no_grad():
        z = m._posterior(x, feats)[0]
        recon = (2.0 * torch.sigmoid(m._logits(z, feats)) - 1.0).flatten(1)
        assert torch.allclose(m.decode(noise, ctx), recon, atol=1e-4)
    with pytest.raises(DataValidationError, match="prior_modes must be 0"):
        ImageHVAEMechanism(dim=64, context_dim=0, image_shape=(1, 8, 8), prior_modes=2)


def test_score_noise_floor_between_truth_samples():
    """Two independent truth samples (1,000 vs 2,000) differ by about 0.06-0.09 in attribute
    TV: the floor under the issue's 0.10 target (and far below the conditioning baseline)."""
    ds = make_colored_digits_napkin(10, truth_n=10, random_state=0)
    reader = train_attribute_readers(ds.scm, n=1500, random_state=0)
    ref = ds.extras["x_reference"][2]
    a = ds.scm.sample(2000, do={"X": ref}, random_state=1, as_arrays=True)["Y"]
    b = ds.scm.sample(1000, do={"X": ref}, random_state=2, as_arrays=True)["Y"]
    assert 0.02 < attribute_tv(b, a, reader) < 0.1


# --------------------------------------------------------------------------- truth (slow)
def _nearest(ds, ref, k=100):
    """The conditioning baseline P(Y | X = x): outcomes of the k nearest training images."""
    x = ds.data["X"].reshape(len(ds.data["X"]), -1)
    d = ((x - ref.reshape(1, -1)) ** 2).sum(1)
    return ds.data["Y"][np.argsort(d, kind="stable")[:k]]


@pytest.fixture(scope="module")
def napkin():
    ds = make_colored_digits_napkin(SLOW_N, truth_n=10, random_state=0)
    return ds, train_attribute_readers(ds.scm, n=2000, random_state=0)


@pytest.mark.slow
@pytest.mark.parametrize("route", ["joint", "idgen"])
def test_napkin_do_matches_truth_and_beats_conditioning(napkin, route):
    ds, reader = napkin
    m = CausalGenerativeModel(
        ds.graph, latent_strategy=route, max_epochs=SLOW_EPOCHS, random_state=0, verbose=False
    ).fit(ds.data)
    model_tv, cond_tv = [], []
    for qi, ref in enumerate(ds.extras["x_reference"]):
        true = ds.scm.sample(2000, do={"X": ref}, random_state=100 + qi, as_arrays=True)["Y"]
        gen = m.sample(1000, do={"X": ref}, random_state=qi)["Y"]
        model_tv.append(attribute_tv(gen, true, reader))
        cond_tv.append(attribute_tv(_nearest(ds, ref), true, reader))
    # measured: see SLOW_BOUND; two truth samples differ by 0.06-0.09 (the floor)
    assert np.mean(model_tv) < SLOW_BOUND[route]
    assert np.mean(cond_tv) > 1.5 * np.mean(model_tv)

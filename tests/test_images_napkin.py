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

import functools

import numpy as np
import pytest
import torch

from deepcause.examples.images import nearest_outcomes
from deepcause.exceptions import DataValidationError
from deepcause.generative import CausalGenerativeModel, LatentConfoundingError
from deepcause.generative.mechanisms import ImageHVAEMechanism, ImageVAEMechanism
from deepcause.metrics import attribute_tv
from deepcause.simulate._readers import train_attribute_readers
from deepcause.simulate.images import make_colored_digits_napkin

# slow truth tests: the budgets and seeds of the napkin rows of
# benchmarks/results/bench_images.md (runs 4-5), bounds from what was measured there (mean
# attribute TV over the four reference queries; two truth samples differ by 0.06-0.08)
SLOW = {
    # 3,000 units, 40 epochs (run 7b, bench_images.md): one latent block per hidden
    # confounder (W1 <-> X, W1 <-> Y; before, one latent shared by W1, X and Y let X and Y share
    # a confounder the graph rules out), a 12-mode mixture prior per block, colour statistics
    # in the inference network. Measured mean TV 0.309 (model seed 0) and 0.306 (seed 1);
    # conditioning 0.509 (1.65x worse). Command: `python benchmarks/study_napkin_joint.py 3000
    # 40 SEED` (the _route_scores below with model seed SEED), load 3.4-3.9 on 2 cores; this test
    # (seed 0): 311 s. At 20 epochs: 0.388 (seed 0; the one-latent model 0.402, 0.409 in run 6).
    # The bound sits 0.09 above both seeds (two truth samples differ by 0.06-0.08); the
    # one-latent model with the same prior and statistics, 40 epochs, fails it (0.525, seed 0).
    "joint": {"n": 3000, "max_epochs": 40, "mechanisms": "auto", "bound": 0.40},
    # 4,000 units, image VAEs (KL weight 4) with their own epochs (early stopping). Measured
    # through this _route_scores (data seed 0, model seed 0; bench_images.md run 7): 0.221
    # (queries 0.120 / 0.435 / 0.228 / 0.102; conditioning 0.469, 2.1x); 0.346 at 2,000 units
    # (conditioning 0.584), 0.166 at 8,000 (0.395, 2.4x; data seed 1 through bench_images:
    # 0.182, conditioning 0.448). Run 6 (resampled-row tabular stage, KL weight 1, 2,000 units):
    # 0.445 / 0.443 at seeds 0 / 1. The bound is 0.06 above the measured 0.221. Run 9 (the
    # tabular stage reads X's colour statistics): 0.193 (0.116 / 0.353 / 0.206 / 0.096;
    # conditioning 0.469, 2.4x), the same seeds, one run.
    "idgen": {"n": 4000, "max_epochs": 30, "mechanisms": "vae", "bound": 0.28},
}


@pytest.fixture(scope="module")
def tiny():
    return make_colored_digits_napkin(160, truth_n=10, random_state=0)


def test_confounded_image_nodes_get_image_mechanisms_with_the_latent(tiny):
    m = CausalGenerativeModel(tiny.graph, max_epochs=1, random_state=0, verbose=False)
    m.fit(tiny.data)
    (district,) = m.districts_
    assert district.district == ("W1", "X", "Y")
    # one latent block per hidden confounder (W1 <-> X, W1 <-> Y): X and Y share none
    assert district.cliques == [("W1", "X"), ("W1", "Y")]
    assert district.latent_dim == 2 * district.block_dim
    assert m.mechanisms_["W1"].context_dim == 2 * district.block_dim
    z = district.sample_latent(4, torch.Generator().manual_seed(0))
    parts = district.node_latents(z)
    assert torch.equal(parts["X"], z[:, : district.block_dim])
    assert torch.equal(parts["Y"], z[:, district.block_dim :])
    for v, parent_width in (("X", 10), ("Y", 3 * 16 * 16)):  # W2 one-hot; X's pixels
        mech = m.mechanisms_[v]
        assert isinstance(mech, ImageVAEMechanism) and mech.prior_modes > 0
        assert mech.context_dim == parent_width + district.block_dim
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
@functools.cache
def _fitted(route):
    """The route's model fitted at its slow budget, with the data and the readers (one fit per
    route and session: the joint route's two slow tests share it)."""
    cfg = SLOW[route]
    ds = make_colored_digits_napkin(cfg["n"], truth_n=10, random_state=0)
    reader = train_attribute_readers(ds.scm, n=3000)
    mechs = cfg["mechanisms"]
    if mechs == "vae":  # instances keep their own training budget (max_epochs 60, patience)
        mechs = {"X": ImageVAEMechanism(beta=4.0), "Y": ImageVAEMechanism(beta=4.0)}
    m = CausalGenerativeModel(ds.graph, mechanisms=mechs, latent_strategy=route,
                              max_epochs=cfg["max_epochs"], random_state=0, verbose=False)  # fmt: skip
    return m.fit(ds.data), ds, reader


def _route_scores(route):
    """Mean attribute TV of the route's do() samples and of the conditioning baseline."""
    m, ds, reader = _fitted(route)
    model_tv, cond_tv = [], []
    for qi, ref in enumerate(ds.extras["x_reference"]):
        true = ds.scm.sample(2000, do={"X": ref}, random_state=100 + qi, as_arrays=True)["Y"]
        gen = m.sample(1000, do={"X": ref}, random_state=qi)["Y"]
        model_tv.append(attribute_tv(gen, true, reader))
        cond_tv.append(
            attribute_tv(nearest_outcomes(ds.data["X"], ds.data["Y"], ref, 100), true, reader)
        )  # P(Y | X ~ x)
    return float(np.mean(model_tv)), float(np.mean(cond_tv))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:sample.* returns X, Y only")  # W1, W2 left out (tested)
def test_napkin_idgen_do_matches_truth_and_beats_conditioning():
    tv, cond = _route_scores("idgen")
    assert tv < SLOW["idgen"]["bound"]
    assert cond > 1.5 * tv  # measured 2.1x


@pytest.mark.slow
def test_napkin_joint_do_against_truth():
    """The district-joint model, with one latent block per hidden confounder, beats the
    conditioning baseline (0.31 vs 0.51, run 7b). Still missing: ``Y`` copies the reference's
    colour in 10-28% of the samples against 41-43% in truth (the observational copy share
    is 0.20 in the model, 0.42 in the data), so the colour TV stays at 0.17-0.31 per query."""
    tv, cond = _route_scores("joint")
    assert tv < SLOW["joint"]["bound"]
    assert cond > 1.2 * tv


def _colour_links(reader, d):  # noqa: ANN001
    """Shares of units whose ``Y`` colour equals ``X``'s colour and equals ``W1``."""
    x, y = reader.predict(d["X"]), reader.predict(d["Y"])
    w1 = np.asarray(d["W1"]).astype(int)
    return float(np.mean(y["color"] == x["color"])), float(np.mean(y["color"] == w1))


def test_colour_links_of_the_data_are_far_from_chance():
    """The links the joint route's strict xfail compares are real in the data (chance 1/6)."""
    ds = make_colored_digits_napkin(1500, truth_n=10, random_state=0)
    reader = train_attribute_readers(ds.scm, n=1500, random_state=0)
    copy, w1 = _colour_links(reader, ds.data)
    assert 0.36 < copy < 0.48 and 0.45 < w1 < 0.57


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="joint route: Y's colour follows its latent block only (copy share 0.18-0.20 "
    "against the data's 0.42); bench_images.md run 10b",
)
def test_napkin_joint_reproduces_the_observed_colour_links():
    """Matching the observed law is what pins down ``P(Y | do(X))`` for the joint route. Two
    links carry the query's colour: ``Y``'s colour equals ``X``'s (the copy: 0.42 in the data
    with chance matches) and equals ``W1`` (through the hidden ``U2``: 0.51). Measured on the
    joint test's fit (bench_images.md runs 9b, 10b): copy 0.199, ``W1`` 0.468 against 0.415 and
    0.505 — ``Y``'s colour is a function of the ``W1 <-> Y`` latent block alone at the image KL
    weight 4; weight 1 raises the copy to 0.29-0.32 through the confounded ``X``-digit path and
    loses the ``W1`` link. Both within 0.08 (a share's binomial s.d. from 2,000 samples is
    ~0.01); strict xfail until the route reproduces them."""
    model, ds, reader = _fitted("joint")
    data = _colour_links(reader, ds.data)
    fitted = _colour_links(reader, model.sample(2000, random_state=7))
    assert abs(fitted[0] - data[0]) < 0.08, (fitted, data)  # the copy X -> Y
    assert abs(fitted[1] - data[1]) < 0.08, (fitted, data)  # W1 <-> Y through U2

"""The district bound encodes each image once per unit, not once per importance sample.

``JointDistrictStrategy._iwae`` scores ``k`` importance samples of the district latent per unit.
The image of a district node and its image parents are the same in all ``k`` copies (only the
district latent differs), so the image VAEs encode them once per unit
(``elbo(x, context, repeats=k)``, ``ContextEncoder(context, repeats=k)``) and repeat the
features. That must be the same computation: the bound and its gradients are checked against
a straightforward reference that repeats every input ``k`` times and encodes every row (the
code before the change), with the same random draws. The training runs in
``cpu_conv_speedups`` (channels-last conv weights, subnormals flushed), which must restore the
thread's state and the weights' layout afterwards.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from deepcause.generative import CausalGenerativeModel
from deepcause.generative._training import cpu_conv_speedups, flushing_subnormals
from deepcause.generative.mechanisms import ImageHVAEMechanism, ImageVAEMechanism
from deepcause.generative.mechanisms._conv import ContextEncoder
from deepcause.simulate import make_colored_digits_napkin


def _reference_iwae(strategy, model, mechs, values, gen):  # noqa: ANN001, ANN202
    """The bound as first written: every input repeated ``k`` times, every row encoded."""
    bs, k = next(iter(values.values())).shape[0], strategy.n_importance
    feats = torch.cat([model.specs_[v].one_hot(values[v]) for v in strategy.inputs], dim=1)
    eps = torch.randn((k, bs, strategy.latent_dim), generator=gen)
    z, log_det = strategy.posterior_draw(feats, eps)
    log_w = strategy._log_prior(z) + 0.5 * eps.pow(2).sum(-1) + log_det
    rep = {v: t.repeat(k, *([1] * (t.ndim - 1))) for v, t in values.items()}
    latents = strategy.node_latents(z.reshape(k * bs, strategy.latent_dim))
    for v, mech in mechs.items():
        ctx = model.context(v, rep, latents, n=k * bs)
        image = getattr(mech, "image_node", False)
        ll = mech.elbo(rep[v], ctx) if image else mech.log_prob(rep[v], ctx)
        log_w = log_w + ll.reshape(k, bs)
    return (torch.logsumexp(log_w, dim=0) - math.log(k)).mean()


def _loss_and_grads(fn, params, seed):  # noqa: ANN001, ANN202
    torch.manual_seed(seed)  # the image VAEs draw their own latents from the global generator
    loss = fn()
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return loss.detach(), [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]


def _assert_same(a, b):  # noqa: ANN001, ANN202
    (loss_a, grads_a), (loss_b, grads_b) = a, b
    torch.testing.assert_close(loss_a, loss_b, rtol=1e-5, atol=1e-4)
    scale = max(float(g.abs().max()) for g in grads_b)
    assert scale > 0
    for ga, gb in zip(grads_a, grads_b):
        torch.testing.assert_close(ga, gb, rtol=1e-4, atol=1e-5 * scale)


@pytest.fixture(scope="module")
def napkin_fit():
    """The coloured-digits napkin: its district ``{W1, X, Y}`` has image nodes and ``Y`` an
    image parent (``X``), so both the image encoder and the parent encoder are shared."""
    ds = make_colored_digits_napkin(150, truth_n=10, random_state=0)
    model = CausalGenerativeModel(ds.graph, max_epochs=1, random_state=0, verbose=False)
    return ds, model.fit(ds.data)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_district_bound_and_gradients_match_the_repeated_reference(napkin_fit, k):
    ds, model = napkin_fit
    (strategy,) = model.districts_
    mechs = {v: model.mechanisms_[v] for v in strategy.district}
    images = [m for m in mechs.values() if getattr(m, "image_node", False)]
    assert any(len(m.context_encoder.convs) for m in images)  # an image parent
    values = {v: t[:24] for v, t in model.encode(ds.data).items()}
    params = [p for m in (strategy, *mechs.values()) for p in m.parameters()]
    old_k = strategy.n_importance
    strategy.n_importance = k
    try:
        for m in (strategy, *mechs.values()):
            m.train()
        new = _loss_and_grads(
            lambda: strategy._iwae(model, mechs, values, torch.Generator().manual_seed(3)),
            params,
            seed=7,
        )
        ref = _loss_and_grads(
            lambda: _reference_iwae(
                strategy, model, mechs, values, torch.Generator().manual_seed(3)
            ),
            params,
            seed=7,
        )
    finally:
        strategy.n_importance = old_k
        for m in (strategy, *mechs.values()):
            m.eval()
    _assert_same(new, ref)


@pytest.mark.parametrize(
    "mech",
    [
        ImageVAEMechanism(latent_dim=4, features=8, width=8, discrete_noise=3, decoder_dropout=0.3),
        ImageVAEMechanism(latent_dim=4, features=8, width=8, prior_modes=0),
        ImageHVAEMechanism(latent_dim=4, features=8, width=8),
    ],
    ids=["vae-discrete-dropout", "vae-normal-prior", "hvae"],
)
def test_image_elbo_with_repeats_is_the_elbo_of_the_repeated_images(mech):
    """An image node with an image parent and a tabular one, three importance samples: the
    same values and gradients (random draws included: dropout, the latent, in the same
    order) as the ELBO of every row."""
    mech.image_shape, mech.context_shapes = (1, 8, 8), [(3, 8, 8), 1]
    mech = mech.build(64, 3 * 64 + 1 + 2)  # parents, then a 2-wide district latent
    mech.train()
    gen = torch.Generator().manual_seed(0)
    n, k = 5, 3
    x = torch.rand((n, 64), generator=gen) * 2 - 1
    parents = torch.rand((n, 3 * 64 + 1), generator=gen) * 2 - 1
    ctx = torch.cat([parents.repeat(k, 1), torch.randn((k * n, 2), generator=gen)], dim=1)
    params = list(mech.parameters())
    new = _loss_and_grads(lambda: mech.elbo(x, ctx, repeats=k).sum(), params, seed=1)
    ref = _loss_and_grads(lambda: mech.elbo(x.repeat(k, 1), ctx).sum(), params, seed=1)
    _assert_same(new, ref)
    torch.manual_seed(1)
    assert mech.elbo(x, ctx, repeats=k).shape == (k * n,)


def test_context_encoder_repeats_share_the_image_parents():
    enc = ContextEncoder([(3, 8, 8), 2], context_dim=3 * 64 + 2 + 2, features=6, stats=True)
    gen = torch.Generator().manual_seed(0)
    parents = torch.rand((4, 3 * 64 + 2), generator=gen)
    ctx = torch.cat([parents.repeat(3, 1), torch.randn((12, 2), generator=gen)], dim=1)
    torch.testing.assert_close(enc(ctx, repeats=3), enc(ctx), rtol=1e-5, atol=1e-6)


def test_cpu_conv_speedups_restore_the_layout_and_the_flush_mode():
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU cannot flush subnormals")
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Linear(2, 2))
    assert not flushing_subnormals()
    tiny = torch.tensor(torch.finfo(torch.float32).tiny / 4)
    assert float(tiny) > 0.0
    with cpu_conv_speedups([net], "cpu"):
        assert net[0].weight.is_contiguous(memory_format=torch.channels_last)
        assert float(tiny * 1.0) == 0.0  # subnormals flushed inside
    assert net[0].weight.is_contiguous() and not flushing_subnormals()
    assert float(tiny * 1.0) > 0.0
    torch.set_flush_denormal(True)  # a caller that flushes keeps flushing
    try:
        with cpu_conv_speedups([net], "cpu"):
            pass
        assert flushing_subnormals()
    finally:
        torch.set_flush_denormal(False)
    x = torch.randn(2, 1, 4, 4)
    with cpu_conv_speedups([net[0]], "cpu"):
        inside = net[0](x)
    np.testing.assert_allclose(inside.detach().numpy(), net[0](x).detach().numpy(), atol=1e-6)

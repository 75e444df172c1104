"""Conformance checks every :class:`~deepcause.generative.Mechanism` must pass.

``check_mechanism(mech)`` trains a copy of ``mech`` briefly on a small synthetic conditional
(``x = sin(pa_1) + 0.5 pa_2 + noise`` for continuous mechanisms, a softmax of the parents for
discrete ones) and checks: ``forward`` returns a ``torch.distributions.Distribution`` whose
samples have the node's shape; training and sampling are deterministic under a seed; for
invertible mechanisms ``decode(encode(x)) == x`` within ``inverse_atol``; ``abduct`` then
``decode`` reproduces discrete observations exactly; ``log_prob`` has shape ``(n,)`` (or raises
:class:`~deepcause.generative.NotInvertibleError` when ``has_log_prob`` is false); and a
save/load round trip reproduces samples bit for bit. Raises ``AssertionError`` naming the
failed property.

>>> from deepcause.generative import AdditiveNoiseMechanism
>>> check_mechanism(AdditiveNoiseMechanism(noise="gaussian", hidden_sizes=(8,), max_epochs=2))
"""

from __future__ import annotations

import tempfile

import numpy as np
import torch
from torch.distributions import Distribution

__all__ = ["check_mechanism"]


def _data(discrete: bool, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    pa = rng.normal(size=(n, 2))
    if discrete:
        logits = np.stack([np.zeros(n), 2 * pa[:, 0], pa[:, 1] - 1], axis=1)
        g = rng.gumbel(size=logits.shape)
        x = torch.as_tensor(np.argmax(logits + g, axis=1))
    else:
        x = np.sin(pa[:, :1]) + 0.5 * pa[:, 1:] + 0.3 * rng.normal(size=(n, 1))
        x = torch.as_tensor(x, dtype=torch.float32)
    return x, torch.as_tensor(pa, dtype=torch.float32)


def _sample(mech, ctx: torch.Tensor, seed: int) -> torch.Tensor:  # noqa: ANN001
    return mech.sample_from_noise(ctx.shape[0], ctx, torch.Generator().manual_seed(seed))


def check_mechanism(mech, n: int = 300, random_state: int = 0) -> None:  # noqa: ANN001
    """Run the conformance checks on (copies of) ``mech``; raise ``AssertionError`` on failure."""
    from ..generative.io import load_mechanism, save_mechanism
    from ..generative.mechanisms import Mechanism, NotInvertibleError

    assert isinstance(mech, Mechanism), f"{type(mech).__name__} is not a Mechanism"
    name = type(mech).__name__
    x, ctx = _data(mech.discrete, n, random_state)
    a = mech.clone_unbuilt().fit(x, ctx, random_state=random_state, verbose=False)
    b = mech.clone_unbuilt().fit(x, ctx, random_state=random_state, verbose=False)
    for (k, ta), tb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(ta, tb), f"{name}: training is not deterministic under a seed ({k})"

    with torch.no_grad():
        dist = a(ctx[:7])
        assert isinstance(dist, Distribution), f"{name}.forward must return a Distribution"
        want = (7,) if a.discrete else (7, a.dim)
        got = tuple(dist.sample().shape)
        assert got == want, f"{name}: forward(context).sample() has shape {got}, expected {want}"
        s1, s2 = _sample(a, ctx[:50], 1), _sample(a, ctx[:50], 1)
        assert torch.equal(s1, s2), f"{name}: sampling is not deterministic under a seed"
        assert tuple(s1.shape) == ((50,) if a.discrete else (50, a.dim)), f"{name}: sample shape"
        assert not torch.equal(s1, _sample(a, ctx[:50], 2)), f"{name}: the seed has no effect"

        if a.invertible:
            z = a.encode(x[:100], ctx[:100])
            assert tuple(z.shape) == (100, *a.noise_shape()), (
                f"{name}: encode shape {tuple(z.shape)}"
            )
            err = float((a.decode(z, ctx[:100]) - x[:100]).abs().max())
            assert err <= a.inverse_atol, (
                f"{name}: decode(encode(x)) differs from x by {err:.3g} > {a.inverse_atol}"
            )
        u = a.abduct(x[:100], ctx[:100], torch.Generator().manual_seed(3))
        back = a.decode(u, ctx[:100])
        if a.discrete:
            assert torch.equal(back, x[:100]), f"{name}: decode(abduct(x)) does not give back x"

        if a.has_log_prob:
            lp = a.log_prob(x[:20], ctx[:20])
            assert tuple(lp.shape) == (20,) and bool(torch.isfinite(lp).all()), f"{name}: log_prob"
        else:
            try:
                a.log_prob(x[:20], ctx[:20])
            except NotInvertibleError:
                pass
            else:
                raise AssertionError(f"{name}: has_log_prob is False but log_prob did not raise")

        with tempfile.TemporaryDirectory() as tmp:
            save_mechanism(a, tmp)
            c = load_mechanism(tmp)
        assert type(c) is type(a), f"{name}: load_mechanism returned {type(c).__name__}"
        assert torch.equal(_sample(c, ctx[:50], 1), s1), f"{name}: save/load changes samples"

"""Counterfactual training of the image VAEs: the decoder made to obey intervened parents.

An image VAE fitted by its ELBO alone may spell out in the latent what the parents set (a
digit's colour when the colour group is a parent) and decode it from there: the abducted noise
then carries the factual parent, and a counterfactual ``decode(abduct(x, pa), pa*)`` keeps the
factual attribute (issue #14: on the back-door coloured digits the counterfactual kept the
factual colour on 84% of the units). Counterfactual training (De Sousa Ribeiro, Xia, Monteiro,
Pawlowski & Glocker 2023, section 3.3) asks the counterfactual itself to show the new parents:

1. anti-causal predictors ``q(pa | x)`` of the image's tabular parents (:class:`ParentPredictor`,
   a small conv net: cross-entropy for a one-hot parent, a unit-variance Gaussian for a
   continuous one) are fitted on the factual training images, then frozen;
2. the mechanism is fine-tuned on ``-ELBO + weight * (-log q(pa* | x*))`` with, per batch,
   counterfactual parents ``pa*`` (the batch's parent rows permuted: draws of the parents'
   joint law) and ``x* = decode(abduct(x, pa), pa*)`` formed differentiably through the same
   abduction and decoding a counterfactual uses. The gradient reaches the decoder (render what
   ``pa*`` says) and the encoder (noise that does not carry ``pa``).

Image parents are left out of the predictors (they stay in ``pa*``, which permutes whole parent
rows, but no term asks the counterfactual to show them); so is a district latent appended to
the context. Not used in a district's joint fit, which trains the ELBO only.

>>> import torch
>>> g = torch.Generator().manual_seed(0)
>>> level = torch.randint(0, 3, (6,), generator=g)
>>> ctx = torch.cat([torch.nn.functional.one_hot(level, 3).float(), torch.randn(6, 1)], 1)
>>> parent_groups([3, 1, (1, 8, 8)], ctx)  # one-hot, continuous; the image parent left out
[(0, 3, True), (3, 4, False)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..._torch import nn, torch
from ._conv import conv_encoder

__all__ = ["ParentPredictor", "counterfactual_finetune", "parent_groups"]

_BATCH = 64


def parent_groups(shapes: Sequence[Any], context: torch.Tensor) -> list[tuple[int, int, bool]]:
    """The tabular parents' columns of ``context``: ``(start, stop, one_hot)`` per parent.

    ``shapes`` is the context layout (a width per tabular parent, ``(C, H, W)`` per image
    parent, skipped); a parent is one-hot (categorical) when it spans two or more columns and
    every row holds 0s and a single 1.
    """
    groups, start = [], 0
    for s in shapes:
        width = s if isinstance(s, int) else int(s[0]) * int(s[1]) * int(s[2])
        if isinstance(s, int):
            block = context[:, start : start + width]
            binary = bool(((block == 0) | (block == 1)).all())
            one_hot = width >= 2 and binary and bool((block.sum(1) == 1).all())
            groups.append((start, start + width, one_hot))
        start += width
    return groups


class ParentPredictor(nn.Module):
    """``q(pa | x)``: a conv net reading an image's tabular parents off it.

    ``groups`` as :func:`parent_groups`; :meth:`nll` is each unit's negative log-likelihood of
    the parents (cross-entropy per one-hot parent, ``0.5 * squared error`` per continuous
    column: a Gaussian of unit variance on the standardised parent).

    >>> import torch
    >>> q = ParentPredictor((1, 8, 8), [(0, 2, True), (2, 3, False)])
    >>> x, pa = torch.zeros(4, 64), torch.tensor([[1.0, 0.0, 0.5]]).repeat(4, 1)
    >>> tuple(q.nll(x, pa).shape)
    (4,)
    """

    def __init__(self, image_shape: Sequence[int], groups: list[tuple[int, int, bool]]) -> None:
        super().__init__()
        c, h, w = (int(v) for v in image_shape)
        self.image_shape, self.groups = (c, h, w), groups
        out = sum(stop - start for start, stop, _ in groups)
        self.net = nn.Sequential(conv_encoder(c, 16, 64), nn.SiLU(), nn.Linear(64, out))

    def nll(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """``-log q(pa | x)`` per unit, ``(n,)``; ``x`` flattened images in ``[-1, 1]``."""
        pred = self.net(x.reshape(x.shape[0], *self.image_shape))
        total, at = pred.new_zeros(x.shape[0]), 0
        for start, stop, one_hot in self.groups:
            out, target = pred[:, at : at + stop - start], context[:, start:stop]
            at += stop - start
            if one_hot:
                total = total + nn.functional.cross_entropy(out, target.argmax(1), reduction="none")
            else:
                total = total + 0.5 * (out - target).pow(2).sum(1)
        return total

    def fit(self, x: torch.Tensor, context: torch.Tensor, epochs: int) -> ParentPredictor:
        """Fit on factual images and their parents (Adam, batches of 64; the global torch
        random stream, seeded by the caller), then freeze."""
        opt = torch.optim.Adam(self.parameters(), lr=2e-3)
        self.train()
        for _ in range(epochs):
            for idx in torch.randperm(x.shape[0]).split(_BATCH):
                opt.zero_grad(set_to_none=True)
                self.nll(x[idx], context[idx]).mean().backward()
                opt.step()
        self.eval()
        self.requires_grad_(False)
        return self


def counterfactual_finetune(
    mech: Any, x: torch.Tensor, context: torch.Tensor, weight: float, epochs: int
) -> ParentPredictor | None:
    """Fine-tune an image VAE mechanism in place with counterfactual training (module doc).

    ``x`` and ``context`` are the training units; ``mech`` has ``abduct``, ``decode``,
    ``loss``, ``image_shape``, ``context_shapes`` and ``learning_rate``. The predictor is
    fitted for ``epochs`` epochs, the mechanism fine-tuned for as many. Returns the frozen
    predictor, or None (nothing done) without tabular parents.
    """
    groups = parent_groups(mech.context_shapes, context)
    if not groups or x.shape[0] < 2:
        return None
    predictor = ParentPredictor(mech.image_shape, groups).to(x.device)
    predictor.fit(x, context, epochs)
    opt = torch.optim.Adam(mech.parameters(), lr=float(mech.learning_rate) / 2)
    mech.train()
    for _ in range(epochs):
        for idx in torch.randperm(x.shape[0]).split(_BATCH):
            if idx.shape[0] < 2:
                continue
            xb, cb = x[idx], context[idx]
            cf_ctx = cb[torch.randperm(idx.shape[0])]  # pa*: draws of the parents' joint law
            x_cf = mech.decode(mech.abduct(xb, cb), cf_ctx)
            aux = predictor.nll(x_cf, cf_ctx).mean()
            opt.zero_grad(set_to_none=True)
            (mech.loss(xb, cb) + weight * aux).backward()
            opt.step()
    mech.eval()
    return predictor

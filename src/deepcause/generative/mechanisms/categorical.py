"""Categorical mechanism for discrete nodes, written as a Gumbel-max structural equation.

``x = argmax_k(logits_k(parents) + g_k)`` with independent standard Gumbel noise ``g``. The
node's values are level indices ``0 .. n_classes-1``. Counterfactuals use Gumbel-max posterior
sampling (Oberst & Sontag 2019): ``abduct`` draws ``g`` conditioned on the factual value being
the argmax (top-down truncated Gumbels), so the counterfactual keeps the unit's "luck".

>>> import torch
>>> m = CategoricalMechanism(context_dim=1, n_classes=3)
>>> pa = torch.randn(4, 1)
>>> x = m.sample_from_noise(4, pa, torch.Generator().manual_seed(0))
>>> g = m.abduct(x, pa, torch.Generator().manual_seed(1))
>>> bool((m.decode(g, pa) == x).all())
True
"""

from __future__ import annotations

from typing import Any

from torch.distributions import Categorical, Distribution

from ..._torch import torch
from .additive import ContextNet
from .base import Mechanism

__all__ = ["CategoricalMechanism", "posterior_gumbel"]

_TINY = 1e-12


def _gumbel(
    shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    u = torch.rand(shape, generator=generator, device=device).clamp(_TINY, 1 - 1e-7)
    return -torch.log(-torch.log(u))


def posterior_gumbel(
    logits: torch.Tensor, idx: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Gumbel noise ``g`` drawn from its posterior given ``argmax(logits + g) == idx``
    (top-down truncated Gumbels), shape ``logits.shape``.

    >>> logits = torch.tensor([[0.0, 1.0, -1.0]])
    >>> g = posterior_gumbel(logits, torch.tensor([2]), torch.Generator().manual_seed(0))
    >>> int(torch.argmax(logits + g))
    2
    """
    n, k = logits.shape
    top = torch.logsumexp(logits, dim=-1, keepdim=True) + _gumbel((n, 1), generator, logits.device)
    others = logits + _gumbel((n, k), generator, logits.device)
    truncated = -torch.logaddexp(-top, -others)  # Gumbel(logit_j) truncated below ``top``
    winner = torch.nn.functional.one_hot(idx, k).bool()
    return torch.where(winner, top.expand(n, k), truncated) - logits


class CategoricalMechanism(Mechanism):
    """Softmax classifier over the node's levels, sampled with the Gumbel-max trick.

    Examples
    --------
    >>> import torch
    >>> c, y = torch.randn(200, 2), torch.randint(0, 3, (200, 1)).float()
    >>> m = CategoricalMechanism(max_epochs=2).build(1, 2, n_classes=3)
    >>> _ = m.fit(y, c, random_state=0, verbose=False)
    >>> m(c).sample().shape
    torch.Size([200])
    """

    name = "categorical"
    discrete = True
    # the plain 15% held out: the small-data floor (_training.validation_split) was measured on
    # auto's continuous candidates only
    small_data_validation = False
    invertible = False
    inverse_atol = 0.0
    _size_parameters = ("hidden_sizes",)

    def __init__(
        self,
        dim: int | None = None,
        context_dim: int | None = None,
        n_classes: int | None = None,
        *,
        hidden_sizes: tuple[int, ...] = (64, 64),
        **train: Any,
    ) -> None:
        super().__init__(dim, context_dim, n_classes, **train)
        self.hidden_sizes = hidden_sizes
        self._maybe_build()

    def hyperparameters(self) -> dict[str, Any]:
        return {**super().hyperparameters(), "hidden_sizes": self.hidden_sizes}

    def _build(self) -> None:
        self.logits = ContextNet(
            int(self.context_dim), int(self.n_classes), tuple(self.hidden_sizes)
        )

    def forward(self, context: torch.Tensor) -> Distribution:
        self._require_built()
        return Categorical(logits=self.logits(context))

    @staticmethod
    def _index(x: torch.Tensor) -> torch.Tensor:
        return (x[:, 0] if x.ndim == 2 else x).long()

    def loss(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(self.logits(context), self._index(x))

    def log_prob(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        return self(context).log_prob(self._index(x))

    def noise_shape(self) -> tuple[int, ...]:
        self._require_built()
        return (int(self.n_classes),)

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        device = next(self.parameters()).device
        return _gumbel((n, int(self.n_classes)), generator, device)

    def decode(self, noise: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        self._require_built()
        return torch.argmax(self.logits(context) + noise, dim=-1)

    def abduct(
        self, x: torch.Tensor, context: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Gumbel noise from its posterior given that level ``x`` won the argmax."""
        self._require_built()
        return posterior_gumbel(self.logits(context), self._index(x), generator)

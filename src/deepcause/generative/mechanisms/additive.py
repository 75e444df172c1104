"""Additive-noise mechanism: ``x = f(parents) + e`` with a learned noise distribution.

``f`` is an MLP; the noise ``e`` is either Gaussian with a learned scale per component
(``noise="gaussian"``) or a small unconditional normalizing flow (``noise="flow"``, the default,
so skewed or heavy-tailed noise is captured). Abduction is exact: ``e = x - f(parents)``.

>>> import torch
>>> torch.manual_seed(0) and None
>>> pa = torch.randn(500, 1)
>>> x = 2 * pa + 0.5 * torch.randn(500, 1)
>>> m = AdditiveNoiseMechanism(noise="gaussian", max_epochs=60).fit(x, pa, random_state=0)
>>> round(float(m.decode(torch.zeros(1, 1), torch.ones(1, 1)).detach()), 0)
2.0
"""

from __future__ import annotations

from typing import Any

import torch
import zuko
from torch import nn
from torch.distributions import AffineTransform, Distribution

from .base import Mechanism, mlp

__all__ = ["AdditiveNoiseMechanism", "ContextNet"]


class ContextNet(nn.Module):
    """An MLP from the context to ``d_out`` outputs; a learned constant when there is no context."""

    def __init__(self, context_dim: int, d_out: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        self.d_out = d_out
        if context_dim > 0:
            self.net: nn.Module | None = mlp(context_dim, d_out, hidden)
            self.const = None
        else:
            self.net = None
            self.const = nn.Parameter(torch.zeros(d_out))

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        if self.net is not None:
            return self.net(context)
        return self.const.expand(context.shape[0], self.d_out)


class AdditiveNoiseMechanism(Mechanism):
    """``x = f(parents) + e``: MLP mean plus a learned noise distribution (``gaussian``/``flow``)."""

    name = "additive"
    invertible = True
    inverse_atol = 1e-3

    def __init__(
        self,
        dim: int | None = None,
        context_dim: int | None = None,
        *,
        hidden: tuple[int, ...] = (64, 64),
        noise: str = "flow",
        flow_transforms: int = 2,
        flow_hidden: tuple[int, ...] = (16, 16),
        **train: Any,
    ) -> None:
        super().__init__(dim, context_dim, **train)
        if noise not in ("gaussian", "flow"):
            raise ValueError(f"noise must be 'gaussian' or 'flow', got {noise!r}")
        self.hidden = tuple(int(h) for h in hidden)
        self.noise = noise
        self.flow_transforms = int(flow_transforms)
        self.flow_hidden = tuple(int(h) for h in flow_hidden)
        self._maybe_build()

    def hyperparameters(self) -> dict[str, Any]:
        return {
            **super().hyperparameters(),
            "hidden": list(self.hidden),
            "noise": self.noise,
            "flow_transforms": self.flow_transforms,
            "flow_hidden": list(self.flow_hidden),
        }

    def _build(self) -> None:
        d = int(self.dim)
        self.mean = ContextNet(int(self.context_dim), d, self.hidden)
        if self.noise == "gaussian":
            self.log_scale = nn.Parameter(torch.zeros(d))
        else:
            self.noise_flow = zuko.flows.NSF(
                features=d,
                context=0,
                transforms=self.flow_transforms,
                hidden_features=self.flow_hidden,
            )

    # ------------------------------------------------------------------ noise <-> residual
    def _residual_to_noise(self, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Standard-normal noise and log|det| of the map residual -> noise."""
        if self.noise == "gaussian":
            z = e * torch.exp(-self.log_scale)
            return z, (-self.log_scale).sum().expand(e.shape[0])
        return self.noise_flow.transform().call_and_ladj(e)

    def _noise_to_residual(self, z: torch.Tensor) -> torch.Tensor:
        if self.noise == "gaussian":
            return z * torch.exp(self.log_scale)
        return self.noise_flow.transform().inv(z)

    # ------------------------------------------------------------------ Mechanism API
    def forward(self, context: torch.Tensor) -> Distribution:
        self._require_built()
        f = self.mean(context)
        shift = AffineTransform(-f, torch.ones_like(f), event_dim=1)
        if self.noise == "gaussian":
            scale = AffineTransform(
                torch.zeros_like(f), torch.exp(-self.log_scale).expand_as(f), event_dim=1
            )
            transform = zuko.transforms.ComposedTransform(shift, scale)
        else:
            transform = zuko.transforms.ComposedTransform(shift, self.noise_flow.transform())
        base = zuko.distributions.DiagNormal(torch.zeros_like(f), torch.ones_like(f))
        return zuko.distributions.NormalizingFlow(transform, base)

    def loss(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        z, ladj = self._residual_to_noise(x - self.mean(context))
        return (0.5 * z.pow(2).sum(-1) - ladj).mean()

    def encode(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        self._require_built()
        return self._residual_to_noise(x - self.mean(context))[0]

    def decode(self, noise: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        self._require_built()
        return self.mean(context) + self._noise_to_residual(noise)

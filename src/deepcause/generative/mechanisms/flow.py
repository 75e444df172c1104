"""Conditional normalizing-flow mechanism (zuko NSF or MAF with the parents as context).

A conditional location-scale layer (an MLP of the parents) standardises the node, then the
flow maps it to standard-normal noise: ``z = T_pa((x - mu(pa)) / sigma(pa))``; ``encode`` applies
``T_pa`` and ``decode`` its inverse, so counterfactuals are exact up to the spline inversion
(as in deep structural causal models, Pawlowski et al. 2020).

>>> import torch
>>> torch.manual_seed(0) and None
>>> pa = torch.randn(300, 2)
>>> m = FlowMechanism(dim=1, context_dim=2)
>>> x = torch.randn(5, 1)
>>> bool(torch.allclose(m.decode(m.encode(x, pa[:5]), pa[:5]), x, atol=1e-4))
True
"""

from __future__ import annotations

from typing import Any

import torch
import zuko
from torch import nn
from torch.distributions import AffineTransform, Distribution

from .additive import ContextNet
from .base import Mechanism

__all__ = ["FlowMechanism"]

_FLOWS = {"nsf": zuko.flows.NSF, "maf": zuko.flows.MAF}


class FlowMechanism(Mechanism):
    """``x = mu(pa) + sigma(pa) * T_pa^{-1}(z)``, ``z ~ N(0, I)``, ``T`` a zuko NSF or MAF."""

    name = "flow"
    invertible = True
    inverse_atol = 1e-3

    def __init__(
        self,
        dim: int | None = None,
        context_dim: int | None = None,
        *,
        flow: str = "nsf",
        transforms: int = 3,
        hidden: tuple[int, ...] = (64, 64),
        bins: int = 8,
        **train: Any,
    ) -> None:
        super().__init__(dim, context_dim, **train)
        if flow not in _FLOWS:
            raise ValueError(f"flow must be one of {sorted(_FLOWS)}, got {flow!r}")
        self.flow_type = flow
        self.transforms = int(transforms)
        self.hidden = tuple(int(h) for h in hidden)
        self.bins = int(bins)
        self._maybe_build()

    def hyperparameters(self) -> dict[str, Any]:
        return {
            **super().hyperparameters(),
            "flow": self.flow_type,
            "transforms": self.transforms,
            "hidden": list(self.hidden),
            "bins": self.bins,
        }

    def _build(self) -> None:
        kwargs: dict[str, Any] = {
            "features": int(self.dim),
            "context": int(self.context_dim),
            "transforms": self.transforms,
            "hidden_features": self.hidden,
        }
        if self.flow_type == "nsf":
            kwargs["bins"] = self.bins
        self.flow = _FLOWS[self.flow_type](**kwargs)
        d = int(self.dim)
        # conditional location-scale layer in front of the flow (splines shift mass slowly);
        # the log-scale offset is multiplied by 10 so Adam moves it as fast as the weights
        self.affine = ContextNet(int(self.context_dim), 2 * d, self.hidden)
        self.log_scale_raw = nn.Parameter(torch.zeros(d))

    def _transform(self, context: torch.Tensor):  # noqa: ANN202 - a zuko Transform
        d = int(self.dim)
        out = self.affine(context)
        loc, log_scale = out[:, :d], out[:, d:] + 10.0 * self.log_scale_raw
        inv_scale = torch.exp(-log_scale)
        standardise = AffineTransform(-loc * inv_scale, inv_scale, event_dim=1)
        flow = self.flow.transform(context if self.context_dim else None)
        return zuko.transforms.ComposedTransform(standardise, flow)

    def forward(self, context: torch.Tensor) -> Distribution:
        self._require_built()
        n, d = context.shape[0], int(self.dim)
        zeros = torch.zeros((n, d), dtype=torch.float32, device=context.device)
        base = zuko.distributions.DiagNormal(zeros, torch.ones_like(zeros))
        return zuko.distributions.NormalizingFlow(self._transform(context), base)

    def loss(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        z, ladj = self._transform(context).call_and_ladj(x)
        return (0.5 * z.pow(2).sum(-1) - ladj).mean()

    def encode(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        self._require_built()
        return self._transform(context)(x)

    def decode(self, noise: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        self._require_built()
        return self._transform(context).inv(noise)

"""Additive-noise mechanism: ``x = f(parents) + e`` with a learned noise distribution.

``f`` is an MLP fitted with a Gaussian likelihood (learned scale per component). The noise
``e`` is then modelled as

* ``noise="empirical"`` (default): the training residuals ``x - f(parents)``, resampled (rows
  jointly for vector nodes), so any noise shape is captured exactly; densities use a Gaussian
  kernel estimate on (at most 1000 of) the residuals;
* ``noise="gaussian"``: Gaussian with the learned scale.

(For non-additive or heteroscedastic mechanisms use :class:`FlowMechanism`.)

Abduction is exact in every case: ``e = x - f(parents)``.

>>> import torch
>>> torch.manual_seed(0) and None
>>> pa = torch.randn(500, 1)
>>> x = 2 * pa + 0.5 * torch.randn(500, 1)
>>> m = AdditiveNoiseMechanism(noise="gaussian", max_epochs=60).fit(x, pa, random_state=0)
>>> round(float(m.decode(torch.zeros(1, 1), torch.ones(1, 1)).detach()), 0)
2.0
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch.distributions import (
    Categorical,
    Distribution,
    Independent,
    MixtureSameFamily,
    Normal,
)

from ..._parameters import StrOptions
from ..._torch import mlp, nn, torch
from ...exceptions import NotFittedError
from .base import Mechanism

__all__ = ["AdditiveNoiseMechanism", "kernel_points"]

_NOISES = ("empirical", "gaussian")


def kernel_points(residuals: torch.Tensor, max_points: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The residuals a kernel density is centred on (every ``m // max_points``-th) and their
    per-dimension bandwidth by Silverman's rule.

    >>> pts, bw = kernel_points(torch.arange(10.0)[:, None], 5)
    >>> pts.shape, round(float(bw), 3)
    (torch.Size([5, 1]), 2.429)
    """
    pts = residuals[:: max(1, residuals.shape[0] // max_points)]
    bw = 1.06 * pts.std(0).clamp_min(1e-6) * pts.shape[0] ** (-0.2)
    return pts, bw


class ContextNet(nn.Module):
    """An MLP from the context to ``d_out`` outputs; a learned constant when there is no context."""

    def __init__(self, context_dim: int, d_out: int, hidden_sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.d_out = d_out
        if context_dim > 0:
            self.net: nn.Module | None = mlp(context_dim, hidden_sizes, d_out, activation="silu")
            self.const = None
        else:
            self.net = None
            self.const = nn.Parameter(torch.zeros(d_out))

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        if self.net is not None:
            return self.net(context)
        return self.const.expand(context.shape[0], self.d_out)


class AdditiveNoiseMechanism(Mechanism):
    """``x = f(parents) + e``: MLP mean plus ``empirical`` (default) or ``gaussian`` noise.

    Examples
    --------
    >>> import torch
    >>> x, c = torch.randn(200, 1), torch.randn(200, 2)
    >>> m = AdditiveNoiseMechanism(max_epochs=2).build(1, 2)
    >>> _ = m.fit(x, c, random_state=0, verbose=False)
    >>> bool(torch.allclose(m.decode(m.encode(x, c), c), x, atol=1e-4))  # exact abduction
    True
    >>> m(c).sample().shape
    torch.Size([200, 1])
    """

    name = "additive"
    invertible = True
    inverse_atol = 1e-3
    _KDE_POINTS = 1000
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **Mechanism._parameter_constraints,
        "noise": [StrOptions(set(_NOISES))],
    }
    _size_parameters = ("hidden_sizes",)

    def __init__(
        self,
        dim: int | None = None,
        context_dim: int | None = None,
        *,
        hidden_sizes: tuple[int, ...] = (64, 64),
        noise: str = "empirical",
        **train: Any,
    ) -> None:
        super().__init__(dim, context_dim, **train)
        self.hidden_sizes = hidden_sizes
        self.noise = noise
        self._maybe_build()

    def hyperparameters(self) -> dict[str, Any]:
        return {
            **super().hyperparameters(),
            "hidden_sizes": self.hidden_sizes,
            "noise": self.noise,
        }

    def _build(self) -> None:
        d = int(self.dim)
        self.mean = ContextNet(int(self.context_dim), d, tuple(self.hidden_sizes))
        # log-scale = 10 * raw: preconditioning so Adam moves the scale as fast as the weights
        self.log_scale_raw = nn.Parameter(torch.zeros(d))
        self.register_buffer("residuals", torch.zeros((0, d)))

    @property
    def log_scale(self) -> torch.Tensor:
        return 10.0 * self.log_scale_raw

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        key = prefix + "residuals"
        if key in state_dict and self.is_built:  # the residual table's length is data-dependent
            self.residuals = torch.zeros_like(state_dict[key], device=self.residuals.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def after_training(self, x: torch.Tensor, context: torch.Tensor) -> None:
        if self.noise == "empirical":
            with torch.no_grad():
                self.residuals = (x - self.mean(context)).detach().clone()

    def _require_residuals(self) -> None:
        self._require_built()
        if self.noise == "empirical" and self.residuals.shape[0] == 0:
            raise NotFittedError(
                "the empirical noise distribution is empty; fit the mechanism first"
            )

    # ------------------------------------------------------------------ noise <-> residual
    def _residual_to_noise(self, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Standard-normal noise and log|det| of the map residual -> noise (Gaussian noise)."""
        z = e * torch.exp(-self.log_scale)
        return z, (-self.log_scale).sum().expand(e.shape[0])

    def _noise_to_residual(self, z: torch.Tensor) -> torch.Tensor:
        return z if self.noise == "empirical" else z * torch.exp(self.log_scale)

    # ------------------------------------------------------------------ Mechanism API
    def forward(self, context: torch.Tensor) -> Distribution:
        self._require_residuals()
        f = self.mean(context)
        if self.noise == "empirical":
            pts, bw = kernel_points(self.residuals, self._KDE_POINTS)
            k = pts.shape[0]
            comp = Independent(Normal(f[:, None, :] + pts[None], bw.expand(f.shape[0], k, -1)), 1)
            weights = Categorical(logits=torch.zeros(f.shape[0], k, device=f.device))
            return MixtureSameFamily(weights, comp)
        return Independent(Normal(f, torch.exp(self.log_scale).expand_as(f)), 1)

    def loss(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        z, ladj = self._residual_to_noise(x - self.mean(context))
        return (0.5 * z.pow(2).sum(-1) - ladj).mean()

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.noise != "empirical":
            return super().sample_noise(n, generator)
        self._require_residuals()
        device = self.residuals.device
        idx = torch.randint(0, self.residuals.shape[0], (n,), generator=generator, device=device)
        return self.residuals[idx]

    def encode(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        self._require_built()
        e = x - self.mean(context)
        return e if self.noise == "empirical" else self._residual_to_noise(e)[0]

    def decode(self, noise: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        self._require_built()
        return self.mean(context) + self._noise_to_residual(noise)

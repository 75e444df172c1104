"""Latent priors of the image VAE mechanisms (:mod:`.image_vae`), conditioned on the parents'
features: a Gaussian mixture whose component choice is a Gumbel-max of the parents' logits
(:class:`MixturePrior`), and a categorical own-noise variable fed to the decoder
(:class:`CategoricalNoise`). Both take the parents' features and return noise that
``decode``-style maps turn into latents, so sampling and abduction share one noise layout.
"""

from __future__ import annotations

from ..._torch import mlp, nn, torch
from .categorical import _gumbel, posterior_gumbel

__all__ = ["CategoricalNoise", "MixturePrior", "normal_log_prob"]

_LOG_2PI = 1.8378770664093453


def normal_log_prob(z: torch.Tensor, mean: torch.Tensor, log_sd: torch.Tensor) -> torch.Tensor:
    """Diagonal Gaussian log-density summed over the last axis."""
    return (-0.5 * ((z - mean) * (-log_sd).exp()).pow(2) - log_sd - 0.5 * _LOG_2PI).sum(-1)


def _with_ones(feats: torch.Tensor) -> torch.Tensor:
    """``feats`` with a column of ones (a prior network's input even when there are no parents)."""
    ones = torch.ones((feats.shape[0], 1), device=feats.device, dtype=feats.dtype)
    return torch.cat([feats, ones], dim=1)


class MixturePrior(nn.Module):
    """Conditional mixture of ``k`` diagonal Gaussians ``p(z | features)`` over ``dim`` values.

    Examples
    --------
    >>> prior = MixturePrior(features=3, k=4, dim=2)
    >>> f = torch.zeros(5, 3)
    >>> z = prior.decode(prior.sample_noise(5, f, torch.Generator().manual_seed(0)), f)
    >>> tuple(z.shape), tuple(prior.log_prob(z, f).shape)
    ((5, 2), (5,))
    >>> g = prior.abduct(z, f, torch.Generator().manual_seed(1))
    >>> bool(torch.allclose(prior.decode(g, f), z, atol=1e-4))
    True
    """

    def __init__(self, features: int, k: int, dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.k, self.dim = int(k), int(dim)
        self.net = mlp(int(features) + 1, (hidden,), self.k * (1 + 2 * self.dim), activation="silu")

    def forward(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Component logits ``(n, k)``, means and log-scales ``(n, k, dim)``."""
        out = self.net(_with_ones(feats))
        logits, rest = out[:, : self.k], out[:, self.k :].reshape(-1, self.k, 2, self.dim)
        return logits, rest[:, :, 0], rest[:, :, 1].clamp(-5.0, 2.0)

    def _components(self, z: torch.Tensor, feats: torch.Tensor) -> tuple[torch.Tensor, ...]:
        logits, mean, log_sd = self(feats)
        joint = torch.log_softmax(logits, -1) + normal_log_prob(z[:, None], mean, log_sd)
        return joint, logits, mean, log_sd

    def log_prob(self, z: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        """``log p(z | features)``, shape ``(n,)``."""
        return torch.logsumexp(self._components(z, feats)[0], dim=-1)

    def sample_noise(
        self, n: int, feats: torch.Tensor, generator: torch.Generator | None
    ) -> torch.Tensor:
        """Noise ``(g, e)``: ``k`` Gumbels then ``dim`` standard normals per unit."""
        g = _gumbel((n, self.k), generator, feats.device)
        e = torch.randn((n, self.dim), generator=generator, device=feats.device)
        return torch.cat([g, e], dim=1)

    def decode(self, noise: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        """``z = mu_c + sigma_c e`` with ``c = argmax(logits + g)``."""
        logits, mean, log_sd = self(feats)
        c = torch.argmax(logits + noise[:, : self.k], dim=-1)
        pick = c[:, None, None].expand(-1, 1, self.dim)
        mu, ls = mean.gather(1, pick)[:, 0], log_sd.gather(1, pick)[:, 0]
        return mu + ls.exp() * noise[:, self.k :]

    def abduct(
        self, z: torch.Tensor, feats: torch.Tensor, generator: torch.Generator | None
    ) -> torch.Tensor:
        """Noise ``(g, e)`` that decodes to ``z``: the most responsible component, a posterior
        Gumbel draw that makes it win and the standardised residual."""
        joint, logits, mean, log_sd = self._components(z, feats)
        c = torch.argmax(joint, dim=-1)
        pick = c[:, None, None].expand(-1, 1, self.dim)
        e = (z - mean.gather(1, pick)[:, 0]) * (-log_sd.gather(1, pick)[:, 0]).exp()
        return torch.cat([posterior_gumbel(logits, c, generator), e], dim=1)


class CategoricalNoise(nn.Module):
    """A categorical own-noise variable ``c`` in ``{0, ..., k-1}`` with a learned prior
    ``pi(c | features)``, written as Gumbel-max noise (as the categorical mechanism).

    Examples
    --------
    >>> switch = CategoricalNoise(features=3, k=4)
    >>> f = torch.zeros(5, 3)
    >>> c = switch.pick(switch.sample_noise(5, f, torch.Generator().manual_seed(0)), f)
    >>> tuple(c.shape), bool(((c >= 0) & (c < 4)).all())
    ((5,), True)
    >>> g = switch.abduct(c, f, torch.Generator().manual_seed(1))
    >>> bool(torch.equal(switch.pick(g, f), c))
    True
    """

    def __init__(self, features: int, k: int, hidden: int = 64) -> None:
        super().__init__()
        self.k = int(k)
        self.net = mlp(int(features) + 1, (hidden,), self.k, activation="silu")

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """Prior logits ``(n, k)``."""
        return self.net(_with_ones(feats))

    def sample_noise(
        self, n: int, feats: torch.Tensor, generator: torch.Generator | None
    ) -> torch.Tensor:
        """``k`` standard Gumbels per unit."""
        return _gumbel((n, self.k), generator, feats.device)

    def pick(self, noise: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        """The level ``c = argmax(logits + g)``, shape ``(n,)``."""
        return torch.argmax(self(feats) + noise, dim=-1)

    def abduct(
        self, c: torch.Tensor, feats: torch.Tensor, generator: torch.Generator | None
    ) -> torch.Tensor:
        """Gumbel noise drawn from its posterior given that it picks ``c``."""
        return posterior_gumbel(self(feats), c, generator)

"""An image mechanism that copies from its parents or draws on its own: a two-component mixture.

``p(x | pa) = pi(pa) p_A(x | pa) + (1 - pi(pa)) p_B(x)``: ``A`` is the conditional VAE of
:class:`~deepcause.generative.mechanisms.ImageVAEMechanism` (its encoder, mixture prior and
decoder), ``B`` a parent-free VAE of the same kind (the image's own law, no parents), and the
gate ``pi(pa)`` a learned function of the parents' features. It is the structural form of an
image whose content is set by its parents most of the time and, by an event of its own noise,
drawn regardless of them on the rest (a digit copied from an image parent with probability 0.9,
else drawn at random): a conditional VAE with a KL weight above 1 does not carry such a rare
event in its latent and generates the copy on every unit, while ``B`` generates it by design.

Training: each component is fitted to every image by its own ELBO (``A`` as the conditional
VAE alone, ``B`` as the image's marginal law; neither can starve) and the gate by the mixture's
exact likelihood ``log(pi e^{ELBO_A} + (1 - pi) e^{ELBO_B})`` with both ELBOs held fixed: a
unit that ``A`` explains worse than ``B`` (a digit that is not the image parent's) pulls the
gate towards ``B``. (Letting the mixture's responsibilities train ``A`` starved it on the
napkin: ``B``, free of the parents' encoder, fits faster, and the gate chose ``B`` on most
units.) ``elbo`` is the mixture's, a lower bound of ``log p(x | pa)`` when ``beta = 1``.

Noise: ``A``'s noise, then ``B``'s, then two Gumbels that pick the component (Gumbel-max on the
gate's logits). Abduction: both components' noise (their posterior means) and a posterior
Gumbel draw that picks the component whose decoded posterior mean, weighted by the gate,
explains the image better (Bernoulli likelihood of the pixels).
"""

from __future__ import annotations

from ..._torch import torch
from ...exceptions import DataValidationError
from ._image_priors import CategoricalNoise
from .image_vae import ImageVAEMechanism

__all__ = ["ImageVAEMixtureMechanism"]


class ImageVAEMixtureMechanism(ImageVAEMechanism):
    """Mixture of a conditional image VAE and a parent-free one, with a gate on the parents.

    Takes :class:`~deepcause.generative.mechanisms.ImageVAEMechanism`'s keywords; the
    parent-free component ``free_`` shares ``latent_dim``, ``beta``, ``prior_modes`` and
    ``width``. ``decoder_dropout``, ``discrete_noise`` and ``noise_modes`` are refused (the
    mixture has its own ELBO and noise layout). See the module doc. On a child block in its
    parent's quadrant on 70% of units, elsewhere on 30% (``tests/test_image_vae_latent.py``,
    ``beta=4``), prior samples leave the parent's quadrant on 0.21-0.23 of units (0.00 with
    ``image_vae``). As ID-GEN's image factor of the coloured-digits napkin (8,000 units,
    ``beta=4``) it drew ``Y``'s 10% random digits at data seed 0 (digit TV 0.098 -> 0.041) but
    ``B``'s marginal colour cost more (mean TV 0.150 -> 0.183), and at seed 1 the gate sent too
    many units to ``B`` (0.159 -> 0.224), at twice the training cost
    (``benchmarks/results/bench_images.md``, run 17): not a default.

    Examples
    --------
    >>> import torch
    >>> m = ImageVAEMixtureMechanism(dim=64, context_dim=2, image_shape=(1, 8, 8),
    ...                              latent_dim=4, prior_modes=2)
    >>> m.noise_shape()   # A's 2 + 4, B's 2 + 4, the gate's 2 Gumbels
    (14,)
    >>> x = m.sample_from_noise(3, torch.zeros(3, 2), torch.Generator().manual_seed(0))
    >>> tuple(x.shape), bool(x.abs().max() <= 1)
    ((3, 64), True)
    >>> tuple(m.abduct(x, torch.zeros(3, 2), torch.Generator().manual_seed(1)).shape)
    (3, 14)
    >>> ImageVAEMixtureMechanism(dim=64, context_dim=2, image_shape=(1, 8, 8), noise_modes=4,
    ...                          prior_modes=0)
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: ImageVAEMixtureMechanism draws fresh noise from its components' priors; set noise_modes=0
    """

    name = "image_vae_mixture"

    def _build(self) -> None:
        if self.noise_modes:
            raise DataValidationError(
                f"{type(self).__name__} draws fresh noise from its components' priors; "
                "set noise_modes=0"
            )
        super()._build()
        self.free_ = ImageVAEMechanism(
            int(self.dim),
            0,
            image_shape=self.image_shape,
            latent_dim=int(self.latent_dim),
            beta=self.beta,
            prior_modes=int(self.prior_modes),
            width=self.width,
        )
        self.gate = CategoricalNoise(self.context_encoder.out_dim, 2)

    def _sizes(self) -> tuple[int, int]:
        """Widths of ``A``'s and ``B``'s noise."""
        return super().noise_shape()[0], self.free_.noise_shape()[0]

    def noise_shape(self) -> tuple[int, ...]:
        self._require_built()
        return (sum(self._sizes()) + 2,)

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``A``'s noise, ``B``'s noise, the gate's two Gumbels."""
        own = super().sample_noise(n, generator)[:, : self._sizes()[0]]  # (N(0, I): too wide)
        free = self.free_.sample_noise(n, generator)
        return torch.cat([own, free, self.gate.sample_noise(n, own[:, :0], generator)], dim=1)

    def _none(self, rows: int, like: torch.Tensor) -> torch.Tensor:
        return like.new_zeros((rows, 0))

    def _mixture(
        self, own: torch.Tensor, free: torch.Tensor, context: torch.Tensor, repeats: int
    ) -> torch.Tensor:
        """``log(pi e^{own} + (1 - pi) e^{free})`` per row."""
        logw = torch.log_softmax(self.gate(self.context_encoder(context, repeats)), -1)
        return torch.logsumexp(torch.stack([logw[:, 0] + own, logw[:, 1] + free], -1), -1)

    def elbo(self, x: torch.Tensor, context: torch.Tensor, repeats: int = 1) -> torch.Tensor:
        """The mixture's one-sample ELBO of each image given its parents (see the module doc),
        shape ``(n,)`` (``repeats``: as :meth:`ImageVAEMechanism.elbo`)."""
        own = super().elbo(x, context, repeats)
        free = self.free_.elbo(x, self._none(x.shape[0], x))
        free = free.repeat(repeats) if repeats > 1 else free
        return self._mixture(own, free, context, repeats)

    def loss(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Each component's own ELBO on every unit plus the mixture's with both held fixed
        (it fits the gate; see the module doc)."""
        own, free = super().elbo(x, context), self.free_.elbo(x, self._none(x.shape[0], x))
        mix = self._mixture(own.detach(), free.detach(), context, 1)
        return -(mix.mean() + own.mean() + free.mean()) / int(self.dim)

    def after_training(
        self, x: torch.Tensor, context: torch.Tensor, train_rows: torch.Tensor | None = None
    ) -> None:
        super().after_training(x, context, train_rows)
        self.free_.after_training(x, self._none(x.shape[0], x), train_rows)

    def _both(self, noise: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Both components' images (pixel means in ``[-1, 1]``) from their parts of ``noise``."""
        a, b = self._sizes()
        own = super().decode(noise[:, :a], context)
        return own, self.free_.decode(noise[:, a : a + b], self._none(noise.shape[0], noise))

    def decode(self, noise: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """``A``'s image where the gate's Gumbels pick ``A``, ``B``'s elsewhere."""
        self._require_built()
        own, free = self._both(noise, context)
        c = self.gate.pick(noise[:, -2:], self.context_encoder(context))
        return torch.where((c == 0)[:, None], own, free)

    def abduct(
        self, x: torch.Tensor, context: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Both components' abducted noise and a posterior Gumbel draw picking the component
        that explains ``x`` better (see the module doc)."""
        self._require_built()
        own = super().abduct(x, context, generator)
        free = self.free_.abduct(x, self._none(x.shape[0], x), generator)
        noise = torch.cat([own, free], dim=1)
        target = (self._image(x) + 1.0) / 2.0
        feats = self.context_encoder(context)
        fits = [
            -torch.nn.functional.binary_cross_entropy(
                self._image((img + 1.0) / 2.0).clamp(1e-6, 1 - 1e-6), target, reduction="none"
            ).sum((1, 2, 3))
            for img in self._both(noise, context)
        ]
        joint = torch.log_softmax(self.gate(feats), -1) + torch.stack(fits, -1)
        c = torch.argmax(joint, dim=-1)
        return torch.cat([noise, self.gate.abduct(c, feats, generator)], dim=1)

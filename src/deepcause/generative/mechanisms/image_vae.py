"""Conditional VAE mechanism for image nodes (the VAE mechanism of deep SCMs).

The structural equation of an image node is ``x = g(z, pa)``: a conv decoder ``g`` from a
latent ``z ~ N(0, I)`` (the node's exogenous noise, ``latent_dim`` values) and the encoded
parents (tabular parents as they are, image parents through a conv encoder) to the pixel means.
Training maximises the ELBO with a Bernoulli likelihood on pixels scaled to ``[0, 1]`` and an
encoder ``q(z | x, pa)``; abduction (:meth:`ImageVAEMechanism.abduct`) is the encoder's
posterior mean, so a counterfactual keeps the unit's style and changes what the parents
change (Pawlowski, Castro & Glocker 2020). The noise is that latent standardised under the
parents' moments of the latent, fitted after training, so that it is independent of the
parents as in an SCM (:mod:`deepcause.generative.mechanisms._noise_moments`). Node tensors
are flattened images scaled to ``[-1, 1]`` (see :mod:`deepcause.generative._encoding`); densities are not available.

>>> import torch
>>> m = ImageVAEMechanism(dim=64, context_dim=2, image_shape=(1, 8, 8), latent_dim=4)
>>> x = m.sample_from_noise(3, torch.zeros(3, 2), torch.Generator().manual_seed(0))
>>> tuple(x.shape), bool(x.abs().max() <= 1)
((3, 64), True)
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

from torch.distributions import Distribution

from ..._parameters import Interval
from ..._torch import mlp, torch
from ._conv import (
    ENCODER_CONSTRAINTS,
    ContextEncoder,
    check_image_shape,
    conv_decoder,
    conv_encoder,
    normalise_shapes,
)
from ._noise_moments import ParentAdversary, ParentMoments
from .base import ImplicitDistribution, Mechanism

__all__ = ["ImageMechanism", "ImageVAEMechanism"]


class ImageMechanism(Mechanism):
    """Shared set-up of image mechanisms: ``image_shape``, the parents' layout
    (``context_shapes``), the parent encoder (``features`` per image parent, ``width``
    channels), sampling-only distributions.

    Examples
    --------
    >>> from deepcause.generative.mechanisms import ImageVAEMechanism
    >>> ImageVAEMechanism.__mro__[1].__name__, ImageVAEMechanism.image_node
    ('ImageMechanism', True)
    """

    invertible = False
    has_log_prob = False
    image_node = True
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **Mechanism._parameter_constraints,
        **ENCODER_CONSTRAINTS,
    }
    _train_defaults: ClassVar[dict[str, Any]] = {}  # training settings a subclass changes

    def __init__(
        self,
        dim: int | None = None,
        context_dim: int | None = None,
        *,
        image_shape: Sequence[int] | None = None,
        context_shapes: Sequence[Any] = (),
        features: int = 32,
        width: int = 16,
        **train: Any,
    ) -> None:
        super().__init__(dim, context_dim, **{**self._train_defaults, **train})
        self.image_shape = None if image_shape is None else tuple(int(v) for v in image_shape)
        self.context_shapes = normalise_shapes(context_shapes)
        self.features = features
        self.width = width

    def hyperparameters(self) -> dict[str, Any]:
        return {
            **super().hyperparameters(),
            "image_shape": None if self.image_shape is None else list(self.image_shape),
            "context_shapes": [list(s) if isinstance(s, tuple) else s for s in self.context_shapes],
            "features": self.features,
            "width": self.width,
        }

    def _build_context(self) -> tuple[tuple[int, int, int], int]:
        """Check the shapes, build ``self.context_encoder``; the image shape and feature width."""
        shape = check_image_shape(self, int(self.dim))
        self.context_encoder = ContextEncoder(
            self.context_shapes, int(self.context_dim), self.features, max(8, self.width // 2)
        )
        return shape, self.context_encoder.out_dim

    def _image(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.image_shape)

    def forward(self, context: torch.Tensor) -> Distribution:
        self._require_built()
        return ImplicitDistribution(self, context)


class ImageVAEMechanism(ImageMechanism):
    """Conditional VAE: conv encoder ``q(z | x, pa)``, conv decoder ``x = g(z, pa)``.

    ``latent_dim`` is the size of the exogenous noise ``z``; ``beta`` weighs the KL term;
    ``independence`` weighs an adversary that reads the parents off the noise (default 0, off;
    see :class:`~deepcause.generative.mechanisms._noise_moments.ParentAdversary`).

    Examples
    --------
    Used through :class:`~deepcause.generative.CausalGenerativeModel` for image nodes:

    >>> from deepcause.generative import CausalGenerativeModel
    >>> from deepcause.simulate import make_confounded_digit_label
    >>> ds = make_confounded_digit_label(100, truth_n=200, random_state=0)
    >>> m = CausalGenerativeModel(ds.graph, mechanisms={"X": "image_vae"}, max_epochs=1,
    ...                           random_state=0, verbose=False).fit(ds.data)
    >>> type(m.mechanisms_["X"]).__name__, m.sample(2, random_state=0)["X"].shape
    ('ImageVAEMechanism', (2, 3, 16, 16))
    """

    name = "image_vae"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **ImageMechanism._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="neither")],
        "independence": [Interval(Real, 0, None, closed="left")],
    }
    _train_defaults: ClassVar[dict[str, Any]] = {
        "max_epochs": 60,
        "batch_size": 64,
        "learning_rate": 2e-3,
        "patience": 8,
    }

    def __init__(
        self,
        dim: int | None = None,
        context_dim: int | None = None,
        *,
        latent_dim: int = 16,
        beta: float = 1.0,
        independence: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(dim, context_dim, **kwargs)
        self.latent_dim = latent_dim
        self.beta = beta
        self.independence = independence  # weight of the noise's adversary (_noise_moments)
        self._maybe_build()

    def hyperparameters(self) -> dict[str, Any]:
        extra = {"latent_dim": self.latent_dim, "beta": self.beta}
        return {**super().hyperparameters(), **extra, "independence": self.independence}

    def _build(self) -> None:
        shape, c_out = self._build_context()
        self.image_encoder = conv_encoder(shape[0], self.width, 128)
        self.posterior = mlp(128 + c_out, (128,), 2 * self.latent_dim, activation="silu")
        self.decoder = conv_decoder(self.latent_dim + c_out, shape, self.width)
        self.noise_moments = ParentMoments(c_out, int(self.latent_dim))  # noise independent of pa
        self.adversary = ParentAdversary(int(self.latent_dim), c_out)

    def noise_shape(self) -> tuple[int, ...]:
        self._require_built()
        return (int(self.latent_dim),)

    def _posterior(self, x: torch.Tensor, feats: torch.Tensor) -> tuple[torch.Tensor, ...]:
        h = self.image_encoder(self._image(x))
        mu, log_var = self.posterior(torch.cat([h, feats], dim=1)).chunk(2, dim=1)
        return mu, log_var.clamp(-10.0, 5.0)

    def _latent(self, x: torch.Tensor, feats: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Posterior mean and variance of the latent, before the parents' moments."""
        mu, log_var = self._posterior(x, feats)
        return mu, log_var.exp()

    def after_training(self, x: torch.Tensor, context: torch.Tensor) -> None:
        """Fit the parents' moments of the latent (:mod:`._noise_moments`)."""
        with torch.no_grad():
            feats = self.context_encoder(context)
            parts = [self._latent(a, f) for a, f in zip(x.split(512), feats.split(512))]
            self.noise_moments.fit(*(torch.cat(p) for p in zip(*parts)), feats)

    def _logits(self, z: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([z, feats], dim=1))

    def loss(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        feats = self.context_encoder(context)
        mu, log_var = self._posterior(x, feats)
        z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
        target = (self._image(x) + 1.0) / 2.0
        rec = torch.nn.functional.binary_cross_entropy_with_logits(
            self._logits(z, feats), target, reduction="none"
        ).sum((1, 2, 3))
        kl = 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var).sum(1)
        adv = self.independence * self.adversary(mu, feats)  # the noise must not carry pa
        return (rec + self.beta * kl).mean() / int(self.dim) + adv

    def decode(self, noise: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Pixel means ``g(z, pa)`` in ``[-1, 1]``, flattened; ``z = m(pa) + s(pa) noise``."""
        self._require_built()
        feats = self.context_encoder(context)
        logits = self._logits(self.noise_moments.restore(noise, feats), feats)  # see _latent
        return (2.0 * torch.sigmoid(logits) - 1.0).flatten(1)

    def abduct(
        self, x: torch.Tensor, context: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The posterior mean of ``z`` given the observed image and its parents, standardised
        under the parents' moments of the latent (the noise ``(z - m(pa)) / s(pa)``)."""
        self._require_built()
        feats = self.context_encoder(context)
        return self.noise_moments.standardise(self._latent(x, feats)[0], feats)

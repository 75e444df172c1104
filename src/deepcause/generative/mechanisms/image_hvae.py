"""Hierarchical VAE mechanism for image nodes: a top latent and a spatial lower latent.

After the hierarchical VAE mechanisms of deep SCMs (Pawlowski, Castro & Glocker 2020) and of
De Sousa Ribeiro, Xia, Monteiro, Pawlowski & Glocker (2023, "High fidelity image
counterfactuals with probabilistic causal models"), in a small CPU version with two levels:

* a top latent ``z1 ~ N(0, I)`` (``latent_dim`` values) that, with the encoded parents, sets a
  quarter-resolution feature grid ``h = f(z1, pa)`` (the input stage of the conv decoder);
* a spatial lower latent ``z2`` (``spatial_channels`` maps on that grid) with a conditional
  prior ``p(z2 | z1, pa) = N(mu(h), sigma(h)^2)``; the decoder renders ``x = g(h + W z2)``.

Inference is top-down (ladder style): ``q(z1 | x, pa)`` from the conv encoder's pooled features
and ``q(z2 | x, z1, pa)`` from its spatial features together with the top-down grid ``h``.
Training maximises the ELBO (Bernoulli pixels in ``[0, 1]``, both KL terms weighed by
``beta``). The exogenous noise of a unit is ``(z1, e2)`` with ``e2 = (z2 - mu) / sigma`` the
standardised lower latent under its prior: abduction (:meth:`ImageHVAEMechanism.abduct`) takes
the posterior means of both levels given the factual image and parents and standardises
``z2`` under the factual prior; the counterfactual decodes ``(z1, e2)`` under the new parents,
so the lower latent moves with the parents through its prior while the unit keeps its
residual detail. As for the VAE, ``(z1, e2)`` is then standardised under the parents' moments
fitted after training (:mod:`deepcause.generative.mechanisms._noise_moments`). Node tensors
are flattened images in ``[-1, 1]``; densities are not available.

Fresh noise (``sample``, ``do()``) is drawn from a Gaussian mixture fitted after training to
the training units' abducted noise (``noise_modes`` components,
:class:`~deepcause.generative.mechanisms._noise_moments.NoiseMixture`), not from the standard
normal: abduction keeps posterior means, whose values over the units fill a few directions of
the noise with bounded or multi-modal laws, and standard normal draws decoded there leave the
image's law (discs cut by the frame, blended colours). ``decode`` and ``abduct`` are the same
either way, so counterfactuals do not change.

>>> import torch
>>> m = ImageHVAEMechanism(dim=64, context_dim=2, image_shape=(1, 8, 8), latent_dim=4)
>>> m.noise_shape()  # 4 top values + 2 maps of 2x2
(12,)
>>> x = m.sample_from_noise(3, torch.zeros(3, 2), torch.Generator().manual_seed(0))
>>> tuple(x.shape), bool(x.abs().max() <= 1)
((3, 64), True)
"""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

from ..._parameters import Interval
from ..._torch import nn, torch
from ...exceptions import DataValidationError
from ._conv import ParentMaps
from ._noise_moments import NoiseMixture, ParentAdversary, ParentMoments
from .image_vae import ImageVAEMechanism, _repeat

__all__ = ["ImageHVAEMechanism"]

_SPATIAL = 6  # conv_encoder layers before its pooling: the quarter-resolution feature maps


def _gaussian_kl(
    mu_q: torch.Tensor, lv_q: torch.Tensor, mu_p: torch.Tensor, lv_p: torch.Tensor
) -> torch.Tensor:
    """``KL(N(mu_q, e^lv_q) || N(mu_p, e^lv_p))`` summed over all but the first axis."""
    kl = 0.5 * (lv_p - lv_q + (lv_q.exp() + (mu_q - mu_p).pow(2)) / lv_p.exp() - 1.0)
    return kl.flatten(1).sum(1)


class ImageHVAEMechanism(ImageVAEMechanism):
    """Two-level conditional hierarchical VAE: top latent ``z1``, spatial latent ``z2``.

    ``latent_dim`` is the size of the top latent, ``spatial_channels`` the number of latent
    maps at a quarter of the image resolution, ``beta`` the weight of both KL terms (default
    0.5: on morpho digits at 28x28 it took the counterfactual pixel RMSE from 2.95x to 3.6x below
    the fresh-noise baseline, ``benchmarks/results/bench_counterfactual_images_morpho_hvae_beta05.md``).
    ``noise_modes`` (default 16; 0 for the standard normal) is the number of components of the
    mixture that fresh noise is drawn from (see the module doc; measured in
    ``benchmarks/results/bench_images_fresh.md``, run 2).
    ``parent_maps`` (default on): the top latent and the parents, with the pixel coordinates,
    enter every stage of the decoder (:class:`~deepcause.generative.mechanisms._conv.ParentMaps`)
    instead of only the flat map to the quarter-size grid. A parent that moves something (a
    cross's column) can then place it at every resolution; without them, on a 3x28x28 cross
    whose column a root sets (run 12 of ``benchmarks/results/bench_images_fresh.md``), 20-48%
    of the model's samples and counterfactuals under ``do(P)`` were dim smudges (none in the
    truth), with them 0-3%; the pixel RMSE did not improve (the abducted noise still carries
    the factual column). Configs saved before it existed load without them
    (``legacy_config``).
    The other keywords are those of :class:`~deepcause.generative.mechanisms.ImageVAEMechanism`.

    Examples
    --------
    Used through :class:`~deepcause.generative.CausalGenerativeModel` for image nodes:

    >>> from deepcause.generative import CausalGenerativeModel
    >>> from deepcause.simulate import make_morpho_digits
    >>> ds = make_morpho_digits(100, size=16, truth_n=200, random_state=0)
    >>> m = CausalGenerativeModel(ds.graph, mechanisms={"image": "image_hvae"}, max_epochs=1,
    ...                           random_state=0, verbose=False).fit(ds.data)
    >>> type(m.mechanisms_["image"]).__name__
    'ImageHVAEMechanism'
    >>> cf = m.counterfactual({k: v[:3] for k, v in ds.data.items()}, do={"thickness": 3.0})
    >>> cf["image"].shape
    (3, 1, 16, 16)

    Fresh noise comes from the mixture fitted to the abducted noise of the training units;
    ``noise_modes=0`` draws it from the standard normal (the counterfactuals are the same):

    >>> mech = m.mechanisms_["image"]
    >>> mech.noise_modes, bool(mech.noise_mixture.fitted)
    (16, True)
    >>> mech.sample_noise(5, torch.Generator().manual_seed(0)).shape == (5, *mech.noise_shape())
    True
    """

    name = "image_hvae"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **ImageVAEMechanism._parameter_constraints,
        "spatial_channels": [Interval(Integral, 1, None, closed="left")],
        "parent_maps": ["boolean"],
    }
    legacy_config: ClassVar[dict[str, Any]] = {"parent_maps": False}  # saved before it existed

    def __init__(
        self,
        dim: int | None = None,
        context_dim: int | None = None,
        *,
        spatial_channels: int = 2,
        noise_modes: int = 16,
        parent_maps: bool = True,
        **kwargs: Any,
    ) -> None:
        self.spatial_channels = spatial_channels
        self.parent_maps = parent_maps
        kwargs.setdefault("beta", 0.5)  # KL weight: 0.5 keeps more of the unit in its latents
        kwargs.setdefault("prior_modes", 0)  # its own conditional prior on the lower level
        super().__init__(dim, context_dim, noise_modes=noise_modes, **kwargs)

    def hyperparameters(self) -> dict[str, Any]:
        return {
            **super().hyperparameters(),
            "spatial_channels": self.spatial_channels,
            "parent_maps": self.parent_maps,
        }

    def _build(self) -> None:
        if self.prior_modes:
            raise DataValidationError(
                "image_hvae has no mixture prior (prior_modes must be 0); use "
                "ImageVAEMechanism(prior_modes=k) for a multi-modal latent prior"
            )
        super()._build()  # image encoder, top posterior, decoder (its input stage makes h)
        k, w2 = int(self.spatial_channels), 2 * self.width
        size = int(self.latent_dim) + k * self.decoder.grid[0] * self.decoder.grid[1]
        self.noise_moments = ParentMoments(self.context_encoder.out_dim, size)  # of (z1, e2)
        self.adversary = ParentAdversary(size, self.context_encoder.out_dim)
        self.noise_mixture = NoiseMixture(int(self.noise_modes), size) if self.noise_modes else None
        self.prior2 = nn.Sequential(
            nn.SiLU(), nn.Conv2d(w2, w2, 3, padding=1), nn.SiLU(), nn.Conv2d(w2, 2 * k, 1)
        )
        self.posterior2 = nn.Sequential(
            nn.Conv2d(2 * w2, w2, 3, padding=1), nn.SiLU(), nn.Conv2d(w2, 2 * k, 1)
        )
        self.lift2 = nn.Conv2d(k, w2, 3, padding=1)
        self.maps = (
            ParentMaps(
                int(self.latent_dim) + self.context_encoder.out_dim,
                (w2, self.width, self.width),
                self.decoder.grid,
            )
            if self.parent_maps
            else None
        )

    def noise_shape(self) -> tuple[int, ...]:
        self._require_built()
        gh, gw = self.decoder.grid
        return (int(self.latent_dim) + int(self.spatial_channels) * gh * gw,)

    # ----------------------------------------------------------------- the two levels
    def _bottom_up(
        self, x: torch.Tensor, feats: torch.Tensor, repeats: int = 1
    ) -> tuple[torch.Tensor, ...]:
        """Spatial encoder features on the decoder's grid and ``q(z1 | x, pa)``; ``feats``
        may hold ``repeats`` stacked copies of ``x``'s units (the image is encoded once)."""
        spatial = self.image_encoder[:_SPATIAL](self._image(x))
        h = _repeat(self.image_encoder[_SPATIAL:](spatial), repeats)
        mu, log_var = self.posterior(torch.cat([h, feats], dim=1)).chunk(2, dim=1)
        spatial = _repeat(nn.functional.adaptive_avg_pool2d(spatial, self.decoder.grid), repeats)
        return spatial, mu, log_var.clamp(-10.0, 5.0)

    def _top_down(self, z1: torch.Tensor, feats: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The grid ``h = f(z1, pa)`` and the prior mean and log-variance of ``z2``."""
        dec = self.decoder
        h = dec.inp(torch.cat([z1, feats], dim=1)).view(z1.shape[0], 2 * dec.width, *dec.grid)
        mu, log_var = self.prior2(h).chunk(2, dim=1)
        return h, mu, log_var.clamp(-8.0, 4.0)

    def _posterior2(self, spatial: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, ...]:
        mu, log_var = self.posterior2(torch.cat([spatial, h], dim=1)).chunk(2, dim=1)
        return mu, log_var.clamp(-10.0, 5.0)

    def _render(self, h: torch.Tensor, z2: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Pixel logits from the grid ``h``, the lower latent and ``cond = (z1, pa)``, which
        with ``parent_maps`` enters every stage of the decoder with the pixel coordinates."""
        _, height, width = self.image_shape
        a = h + self.lift2(z2)
        if self.maps is None:
            return self.decoder.up(a)[:, :, :height, :width]
        for k, stage in enumerate(self.decoder.stages()):
            a = stage(a + self.maps(cond, k))
        return a[:, :, :height, :width]

    # ----------------------------------------------------------------- training and noise
    def elbo(self, x: torch.Tensor, context: torch.Tensor, repeats: int = 1) -> torch.Tensor:
        """One-sample ELBO of each image given its parents (both levels), shape ``(n,)``;
        ``repeats`` as :meth:`ImageVAEMechanism.elbo` (``k`` stacked copies of the parents,
        ``k n`` values, the image and its image parents encoded once)."""
        self._require_built()
        feats = self.context_encoder(context, repeats)
        spatial, mu1, lv1 = self._bottom_up(x, feats, repeats)
        z1 = mu1 + torch.randn_like(mu1) * (0.5 * lv1).exp()
        h, mu_p, lv_p = self._top_down(z1, feats)
        mu2, lv2 = self._posterior2(spatial, h)
        z2 = mu2 + torch.randn_like(mu2) * (0.5 * lv2).exp()
        target = _repeat((self._image(x) + 1.0) / 2.0, repeats)
        rec = nn.functional.binary_cross_entropy_with_logits(
            self._render(h, z2, torch.cat([z1, feats], dim=1)), target, reduction="none"
        ).sum((1, 2, 3))
        kl1 = _gaussian_kl(mu1, lv1, torch.zeros_like(mu1), torch.zeros_like(lv1))
        kl = kl1 + _gaussian_kl(mu2, lv2, mu_p, lv_p)
        return -(rec + self.beta * kl)

    def loss(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        loss = -self.elbo(x, context).mean() / int(self.dim)
        if self.independence:  # the noise (z1, e2) must not carry pa (_noise_moments)
            feats = self.context_encoder(context)
            noise = self._latent(x, feats)[0]
            loss = loss + self.independence * self.adversary(noise, feats)
        return loss

    def _latent(self, x: torch.Tensor, feats: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Posterior means and variances of ``(z1, e2)`` given the image and its parents, the
        lower level standardised under its prior given ``z1`` and the parents."""
        spatial, mu1, lv1 = self._bottom_up(x, feats)
        h, mu_p, lv_p = self._top_down(mu1, feats)
        mu2, lv2 = self._posterior2(spatial, h)
        e2 = ((mu2 - mu_p) * (-0.5 * lv_p).exp()).flatten(1)
        return torch.cat([mu1, e2], dim=1), torch.cat([lv1.exp(), (lv2 - lv_p).exp().flatten(1)], 1)

    def _logits(self, z: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        """Pixel logits of ``(z1, e2)``: ``z2 = mu + sigma e2`` under the prior given ``z1``."""
        top = int(self.latent_dim)
        h, mu_p, lv_p = self._top_down(z[:, :top], feats)
        z2 = mu_p + (0.5 * lv_p).exp() * z[:, top:].reshape(mu_p.shape)
        return self._render(h, z2, torch.cat([z[:, :top], feats], dim=1))

"""Conditional VAE mechanism for image nodes (the VAE mechanism of deep SCMs).

The structural equation of an image node is ``x = g(z, pa)``: a conv decoder ``g`` from a
latent ``z ~ N(0, I)`` (the node's exogenous noise, ``latent_dim`` values) and the encoded
parents (tabular parents as they are, image parents through a conv encoder) to the pixel means.
Training maximises the ELBO with a Bernoulli likelihood on pixels scaled to ``[0, 1]`` and an
encoder ``q(z | x, pa)``; abduction (:meth:`ImageVAEMechanism.abduct`) is the encoder's
posterior mean, so a counterfactual keeps the unit's style and changes what the parents
change (Pawlowski, Castro & Glocker 2020). With the standard normal prior
(``prior_modes=0``) the noise is that latent standardised under the parents' moments of the
latent, fitted after training, so that it is independent of the parents as in an SCM
(:mod:`deepcause.generative.mechanisms._noise_moments`). Node tensors are flattened images
scaled to ``[-1, 1]`` (see :mod:`deepcause.generative._encoding`); densities are not available
(:meth:`ImageVAEMechanism.elbo`, a lower bound of each image's log-likelihood, stands in for
them where a likelihood is needed: the district-joint training of
:mod:`deepcause.generative.districts`).

Discrete modes (``prior_modes=K``): with a standard normal prior, a decoder whose law given
the parents has several separated modes (a digit in one of six colours) needs the prior's
mass spread over all of them, and samples drawn between the encoder's clusters decode to
blends (a green-yellow no colour reader recognises). ``prior_modes=K`` learns instead a
mixture of ``K`` Gaussians ``p(z | pa) = sum_k pi_k(pa) N(mu_k(pa), sigma_k(pa)^2)`` (a
mixture-of-Gaussians VAE prior, trained in the ELBO by a one-sample estimate of the KL
term), so samples land on the modes. The exogenous noise is then ``(g, e)``: Gumbel noise
``g`` picks the component (Gumbel-max, as the categorical mechanism) and ``e ~ N(0, I)``
places ``z = mu_k + sigma_k e``; abduction takes the posterior mean of ``z``, its most
responsible component, the standardised ``e`` and a posterior Gumbel draw, so a
counterfactual keeps the unit's component "luck" and residual style.

Discrete own noise (``discrete_noise=K``): a categorical variable ``c`` in ``{0..K-1}``,
independent of ``z``, enters the decoder one-hot, ``x = g(z, c, pa)``, with a learned prior
``pi(c | pa)`` (:class:`CategoricalNoise`). The ELBO sums ``c`` out exactly,
``log sum_c pi(c | pa) p(x | z, c, pa)`` (``K`` decoder passes per unit): that is the ELBO with
the exact posterior ``p(c | x, z, pa)`` and ``c``'s KL at weight 1, whatever ``beta`` weighs
on ``z``'s KL. A random event of the image's own noise (a digit drawn at random instead of
copied from an image parent) can then be carried by ``c`` at its information's price, which
the continuous latent at ``beta > 1`` does not pay. The noise gains ``K`` Gumbels (Gumbel-max
draws ``c`` from ``pi``); abduction takes the level most responsible for the image at the
posterior mean of ``z`` and a posterior Gumbel draw that picks it.

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

from ..._parameters import Interval, Options
from ..._torch import mlp, torch
from ...exceptions import DataValidationError
from ._cf_training import counterfactual_finetune
from ._conv import (
    ENCODER_CONSTRAINTS,
    ContextEncoder,
    check_image_shape,
    conv_decoder,
    conv_encoder,
    normalise_shapes,
)
from ._image_priors import CategoricalNoise, MixturePrior, normal_log_prob
from ._noise_moments import NoiseMixture, ParentAdversary, ParentMoments
from .base import ImplicitDistribution, Mechanism

__all__ = ["ImageMechanism", "ImageVAEMechanism"]


def _conv_columns(encoder: ContextEncoder, features: int) -> torch.Tensor:
    """``(1, out_dim)`` mask of the encoder's outputs that are conv features of image parents
    (not their colour statistics, not tabular parents)."""
    mask: list[bool] = []
    for width, shape in encoder.parts:
        if shape is None:  # a tabular parent's columns
            mask += [False] * width
        else:  # an image parent: its conv features, then its colour statistics (if any)
            mask += [True] * features + [False] * (3 * shape[0] * encoder.stats)
    return torch.tensor(mask, dtype=torch.bool).reshape(1, -1)


def _repeat(t: torch.Tensor, repeats: int) -> torch.Tensor:
    """``repeats`` stacked copies of ``t`` along the first axis (``t`` itself for one)."""
    return t.repeat(repeats, *([1] * (t.ndim - 1))) if repeats > 1 else t


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
    patience_in_steps = False  # image mechanisms count patience in plain epochs
    small_data_validation = False  # and hold out a plain 15% (_training.validation_split)
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **Mechanism._parameter_constraints,
        **ENCODER_CONSTRAINTS,
    }
    _train_defaults: ClassVar[dict[str, Any]] = {}  # training settings a subclass changes
    _parent_width_divisor: ClassVar[int] = 2  # channels of the image parents' conv encoders

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
            self.context_shapes,
            int(self.context_dim),
            self.features,
            max(8, self.width // self._parent_width_divisor),
            stats=bool(getattr(self, "parent_stats", False)),
        )
        return shape, self.context_encoder.out_dim

    def _image(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.image_shape)

    def forward(self, context: torch.Tensor) -> Distribution:
        self._require_built()
        return ImplicitDistribution(self, context)


class ImageVAEMechanism(ImageMechanism):
    """Conditional VAE: conv encoder ``q(z | x, pa)``, conv decoder ``x = g(z, pa)``.

    ``latent_dim`` is the size of the latent ``z``; ``beta`` weighs the KL term;
    ``prior_modes`` the number of components of a learned mixture prior ``p(z | pa)`` that
    keeps discrete modes of the image's law apart (0: the standard normal prior; see the
    module doc). Measured on the coloured-digits napkin's ``Y`` given ``X`` (3,000 units, 20
    epochs, attribute TV of samples given held-out ``X`` against their true ``Y``): 0.33 with
    the standard normal prior (colours blended towards green-yellow), 0.15-0.18 with 12
    modes.
    ``independence`` weighs an adversary that reads the parents off the noise (default 0, off;
    see :class:`~deepcause.generative.mechanisms._noise_moments.ParentAdversary`).
    Image parents are read by a conv encoder (``width`` channels, ``features`` outputs) and,
    with ``parent_stats`` (default), their colour statistics
    (:func:`~deepcause.generative.mechanisms._conv.colour_stats`): on ideal napkin pairs
    (``Y | X`` with ``Y`` drawn from the true ``P(Y | do(X = x))``, 2,000 pairs) the attribute
    TV fell 0.40 -> 0.30 with the statistics and -> 0.26 with 16 channels and 64 features
    instead of 8 and 32 (``benchmarks/results/bench_images.md``, run 5).
    ``decoder_dropout`` (default 0, off): in training, the decoder sees the image parents' conv
    features zeroed on this share of the units (their colour statistics, the tabular parents,
    the encoder and the prior see everything; Bowman et al. 2016's word dropout), so the latent
    must carry the image's content, including what the image parents do not determine. On the
    coloured-digits napkin's ``Y | X, W1, W2`` (3,000 units, ``beta=1``; run 10 of
    ``bench_images.md``) the reconstructions keep ``Y``'s digit where it differs from ``X``'s
    on 45% of such units with 0.25 (11% without); prior samples then copy ``X``'s digit 88%
    (data 89%), but the whole ID-GEN sampler did not improve (mean TV 0.166 against 0.155 at data seed 0, 0.237 at seed 1).
    The latent then also holds content the parents carry, so a counterfactual that changes an
    image parent may keep the factual content: meant for sampling. No effect without an image
    parent.
    ``noise_modes`` (default 0, off; needs ``prior_modes=0``): fresh noise (``sample``,
    ``do()``) is drawn from a Gaussian mixture of that many components fitted after training
    to the training units' abducted noise
    (:class:`~deepcause.generative.mechanisms._noise_moments.NoiseMixture`, as
    ``image_hvae`` does), not from the standard normal; ``decode`` and ``abduct`` do not
    change. (A node trained in a district's joint fit keeps the standard normal.) It matters
    with a KL weight below 1, at which the latent carries details the image's own noise sets:
    on the fresh front door's 20x20 bar (centre x uniform over 2 px by its own noise) the
    latent at ``beta=1`` does not carry the centre (reconstructions keep 10% of its s.d.,
    whatever the prior), at ``beta=0.1`` it does (all of it), and standard normal draws spread
    the samples too wide (centre x W1 0.13-0.32 s.d., brightness 0.48-0.57). With
    ``beta=0.1, prior_modes=0, noise_modes=16`` the bar's centre x under ``do(T)`` is W1
    0.07-0.13 s.d. from the simulator (default 0.81-0.84), its brightness 0.18-0.36
    (0.55-0.70), but the length, which ``T`` sets, is no better (0.11-0.28 against 0.12-0.27)
    and the confounded ``Y`` worse through the joint route (0.06-0.16 against 0.04-0.07;
    mixed through ``latent_strategy="idgen"``): the latent then holds part of what the parent
    sets, and the mixture is not conditional on the parents
    (``benchmarks/results/bench_images_fresh.md``, run 8). Not the default.
    ``discrete_noise`` (default 0, off; else ``K >= 2``): a categorical own-noise variable fed
    to the decoder, summed out exactly in training (``K`` decoder passes per unit; see the module
    doc). On a child block that sits in its parent block's quadrant on 70% of the units and in
    another on 30% (8x8 images, 800 units, ``beta=4``; ``tests/test_image_vae_latent.py``),
    prior samples leave the parent's quadrant on 0.00 of units at six model seeds without it
    and on 0.26-0.37 with ``discrete_noise=4`` (truth 0.30). On the coloured-digits napkin's
    ``Y | W1, W2, X`` it did not bring back ``Y``'s 10% random digits (4 or 11 levels), and
    ID-GEN's mean TV with 4 levels was 0.202 / 0.172 against 0.150 / 0.162 (data seeds 0 / 1;
    run 14 of ``bench_images.md``), at ``K`` times the decoder's training cost.
    ``cf_weight`` (default 0, off) and ``cf_epochs`` (default 10): counterfactual training
    after the ELBO fit (:mod:`~deepcause.generative.mechanisms._cf_training`; De Sousa
    Ribeiro et al. 2023): predictors of the tabular parents fitted on the training images, then
    ``cf_epochs`` epochs of fine-tuning on the ELBO plus ``cf_weight`` times the predictors'
    negative log-likelihood of permuted parents ``pa*`` on ``decode(abduct(x, pa), pa*)``, so
    that a counterfactual shows the parents it is given rather than those the abducted noise
    carries (+25-40% fit CPU on the coloured digits). Image parents are not predicted; a
    district's joint fit does not use it. Not the default: in run 16 of
    ``benchmarks/results/bench_counterfactual_images.md`` (weight 1) ``image_hvae``'s
    counterfactuals showed the intervened colour more often (0.52 -> 0.61 of units) but were
    no closer to the simulator's, blurrier (round-trip L1 doubled) and, on the morpho digits,
    missed two of issue #14's targets they met without it (thickness MAE 0.21 -> 0.34, pixel
    RMSE 3.5x -> 2.4x below fresh noise).

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

    Decoder dropout acts on the image parents' conv features only (here 64 of 73 features: the
    9 colour statistics stay); a share outside ``[0, 1)`` is refused:

    >>> m = ImageVAEMechanism(dim=64, context_dim=192, image_shape=(1, 8, 8),
    ...                       context_shapes=[(3, 8, 8)], decoder_dropout=0.25)
    >>> m.context_encoder.out_dim, int(m._conv_columns.sum())
    (73, 64)
    >>> ImageVAEMechanism(dim=64, context_dim=192, image_shape=(1, 8, 8),
    ...                   context_shapes=[(3, 8, 8)], decoder_dropout=1.0)
    Traceback (most recent call last):
    ...
    deepcause.exceptions.InvalidParameterError: ImageVAEMechanism: the 'decoder_dropout' parameter of ImageVAEMechanism must be a float in the range [0.0, 1.0). Got 1.0 instead.

    Fresh noise from the mixture of the abducted noise (fitted when the node is trained):

    >>> m = CausalGenerativeModel(ds.graph, mechanisms={"X": ImageVAEMechanism(
    ...     beta=0.1, prior_modes=0, noise_modes=4)}, max_epochs=1, random_state=0,
    ...     verbose=False).fit(ds.data)
    >>> bool(m.mechanisms_["X"].noise_mixture.fitted), m.sample(2, random_state=0)["X"].shape
    (True, (2, 3, 16, 16))

    Discrete own noise adds ``K`` Gumbels to each unit's noise (after the mixture prior's
    ``prior_modes + latent_dim`` values); ``K = 1`` would be no choice and is refused:

    >>> m = ImageVAEMechanism(dim=64, context_dim=2, image_shape=(1, 8, 8), latent_dim=4,
    ...                       discrete_noise=3)
    >>> m.noise_shape(), tuple(m.elbo(torch.zeros(5, 64), torch.zeros(5, 2)).shape)
    ((19,), (5,))
    >>> x = m.sample_from_noise(4, torch.zeros(4, 2), torch.Generator().manual_seed(0))
    >>> tuple(m.abduct(x, torch.zeros(4, 2), torch.Generator().manual_seed(1)).shape)
    (4, 19)
    >>> ImageVAEMechanism(dim=64, context_dim=2, image_shape=(1, 8, 8), discrete_noise=1)
    Traceback (most recent call last):
    ...
    deepcause.exceptions.InvalidParameterError: ImageVAEMechanism: the 'discrete_noise' parameter of ImageVAEMechanism must be a int among {0} or an int in the range [2, inf). Got 1 instead.

    Counterfactual training after the ELBO fit (one epoch of each here; the predictor reads
    the colour group ``C``):

    >>> m = CausalGenerativeModel(ds.graph, mechanisms={"X": ImageVAEMechanism(
    ...     cf_weight=1.0, cf_epochs=1)}, max_epochs=1, random_state=0, verbose=False
    ...     ).fit(ds.data)
    >>> m.counterfactual({k: v[:2] for k, v in ds.data.items()}, do={"C": 2})["X"].shape
    (2, 3, 16, 16)
    """

    name = "image_vae"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **ImageMechanism._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="neither")],
        "independence": [Interval(Real, 0, None, closed="left")],
        "prior_modes": [Interval(Integral, 0, None, closed="left")],
        "parent_stats": ["boolean"],
        "decoder_dropout": [Interval(Real, 0, 1, closed="left")],
        "noise_modes": [Interval(Integral, 0, None, closed="left")],
        "discrete_noise": [Options(Integral, {0}), Interval(Integral, 2, None, closed="left")],
        "cf_weight": [Interval(Real, 0, None, closed="left")],
        "cf_epochs": [Interval(Integral, 1, None, closed="left")],
    }
    _train_defaults: ClassVar[dict[str, Any]] = {
        "max_epochs": 60,
        "batch_size": 64,
        "learning_rate": 2e-3,
        "patience": 8,
    }
    _parent_width_divisor: ClassVar[int] = 1

    def __init__(
        self,
        dim: int | None = None,
        context_dim: int | None = None,
        *,
        latent_dim: int = 16,
        features: int = 64,
        beta: float = 1.0,
        independence: float = 0.0,
        prior_modes: int = 12,
        parent_stats: bool = True,
        decoder_dropout: float = 0.0,
        noise_modes: int = 0,
        discrete_noise: int = 0,
        cf_weight: float = 0.0,
        cf_epochs: int = 10,
        **kwargs: Any,
    ) -> None:
        self.parent_stats = parent_stats  # read by _build_context
        self.noise_modes = noise_modes
        super().__init__(dim, context_dim, features=features, **kwargs)
        self.latent_dim = latent_dim
        self.beta = beta
        self.independence = independence  # weight of the noise's adversary (_noise_moments)
        self.prior_modes = prior_modes
        self.decoder_dropout = decoder_dropout
        self.discrete_noise = discrete_noise
        self.cf_weight = cf_weight  # counterfactual training (_cf_training)
        self.cf_epochs = cf_epochs
        self._maybe_build()

    def hyperparameters(self) -> dict[str, Any]:
        return {
            **super().hyperparameters(),
            "latent_dim": self.latent_dim,
            "beta": self.beta,
            "independence": self.independence,
            "prior_modes": self.prior_modes,
            "parent_stats": self.parent_stats,
            "decoder_dropout": self.decoder_dropout,
            "noise_modes": self.noise_modes,
            "discrete_noise": self.discrete_noise,
            "cf_weight": self.cf_weight,
            "cf_epochs": self.cf_epochs,
        }

    def _build(self) -> None:
        for key in ("decoder_dropout", "discrete_noise"):
            if getattr(self, key) and type(self).elbo is not ImageVAEMechanism.elbo:
                raise DataValidationError(
                    f"{type(self).__name__} has its own ELBO without {key.replace('_', ' ')}; "
                    f"set {key}=0 or use ImageVAEMechanism"
                )
        if self.noise_modes and (self.prior_modes or self.discrete_noise):
            raise DataValidationError(
                f"{type(self).__name__}: noise_modes (fresh noise from a mixture of the abducted "
                "noise) needs the standard normal prior and no discrete noise; set "
                "prior_modes=0 and discrete_noise=0, or noise_modes=0"
            )
        shape, c_out = self._build_context()
        k = int(self.discrete_noise)
        self.image_encoder = conv_encoder(shape[0], self.width, 128)
        self.posterior = mlp(128 + c_out, (128,), 2 * self.latent_dim, activation="silu")
        self.decoder = conv_decoder(self.latent_dim + k + c_out, shape, self.width)
        self.switch = CategoricalNoise(c_out, k) if k else None
        self.prior = (
            MixturePrior(c_out, int(self.prior_modes), int(self.latent_dim))
            if self.prior_modes
            else None
        )
        self.noise_moments = ParentMoments(c_out, int(self.latent_dim))  # noise independent of pa
        mask = _conv_columns(self.context_encoder, int(self.features))
        self.register_buffer("_conv_columns", mask, persistent=False)  # decoder_dropout's
        self.adversary = ParentAdversary(int(self.latent_dim), c_out)
        self.noise_mixture = (
            NoiseMixture(int(self.noise_modes), int(self.latent_dim)) if self.noise_modes else None
        )

    def noise_shape(self) -> tuple[int, ...]:
        self._require_built()
        return (int(self.latent_dim) + int(self.prior_modes) + int(self.discrete_noise),)

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Fresh noise: from the mixture fitted to the training units' abducted noise
        (``noise_modes > 0``, :class:`~._noise_moments.NoiseMixture`), from the mixture prior's
        ``(g, e)`` (``prior_modes > 0``) and the discrete noise's Gumbels
        (``discrete_noise > 0``), else standard normal."""
        if self.noise_mixture is not None:
            return self.noise_mixture.sample(n, generator)
        if self.prior is None and self.switch is None:
            return super().sample_noise(n, generator)
        device = next(self.parameters()).device
        none = torch.zeros((n, 0), device=device)
        if self.prior is None:
            noise = torch.randn((n, int(self.latent_dim)), generator=generator, device=device)
        else:
            noise = self.prior.sample_noise(n, none, generator)
        if self.switch is None:
            return noise
        return torch.cat([noise, self.switch.sample_noise(n, none, generator)], dim=1)

    def _posterior(
        self, x: torch.Tensor, feats: torch.Tensor, repeats: int = 1
    ) -> tuple[torch.Tensor, ...]:
        """``q(z | x, pa)``'s mean and log-variance; ``feats`` may hold ``repeats`` stacked
        copies of ``x``'s units (:meth:`elbo`), whose image is encoded once."""
        h = _repeat(self.image_encoder(self._image(x)), repeats)
        mu, log_var = self.posterior(torch.cat([h, feats], dim=1)).chunk(2, dim=1)
        return mu, log_var.clamp(-10.0, 5.0)

    def _latent(self, x: torch.Tensor, feats: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Posterior mean and variance of the latent, before the parents' moments."""
        mu, log_var = self._posterior(x, feats)
        return mu, log_var.exp()

    def after_training(
        self, x: torch.Tensor, context: torch.Tensor, train_rows: torch.Tensor | None = None
    ) -> None:
        """With ``cf_weight > 0``, counterfactual training on the training rows
        (:mod:`._cf_training`; the parents' moments fitted before it, so that it trains the
        counterfactual a user gets); then fit the parents' moments of the latent
        (:mod:`._noise_moments`; with a mixture prior the noise is already relative to the
        parents and the moments stay the identity) and, with ``noise_modes > 0``, the mixture
        of the training units' abducted noise."""
        if self.cf_weight:
            rows = slice(None) if train_rows is None else train_rows
            self._fit_moments(x[rows], context[rows])
            counterfactual_finetune(
                self, x[rows], context[rows], float(self.cf_weight), int(self.cf_epochs)
            )
        self._fit_moments(x, context)
        if self.noise_mixture is None:
            return
        with torch.no_grad():
            noise = torch.cat([self.abduct(a, c) for a, c in zip(x.split(512), context.split(512))])
        seed = int(torch.randint(0, 2**31 - 1, ()))  # the mechanism's seeded stream
        self.noise_mixture.fit(noise, random_state=seed)

    @torch.no_grad()
    def _fit_moments(self, x: torch.Tensor, context: torch.Tensor) -> None:
        """The parents' moments of the latent (not with a mixture prior)."""
        if getattr(self, "prior", None) is not None:
            return
        feats = self.context_encoder(context)
        parts = [self._latent(a, f) for a, f in zip(x.split(512), feats.split(512))]
        self.noise_moments.fit(*(torch.cat(p) for p in zip(*parts)), feats)

    def _logits(self, z: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([z, feats], dim=1))

    def _level_log_liks(
        self, z: torch.Tensor, shown: torch.Tensor, target: torch.Tensor
    ) -> torch.Tensor:
        """``log p(x | z, c, pa)`` at every level ``c`` of the discrete noise, ``(n, k)``: one
        decoder pass per level (the level enters the decoder one-hot, after ``z``)."""
        n, k = z.shape[0], int(self.discrete_noise)
        levels = torch.eye(k, device=z.device, dtype=z.dtype).repeat_interleave(n, dim=0)
        logits = self._logits(torch.cat([z.repeat(k, 1), levels], dim=1), shown.repeat(k, 1))
        rec = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, target.repeat(k, 1, 1, 1), reduction="none"
        ).sum((1, 2, 3))
        return -rec.reshape(k, n).T

    def elbo(self, x: torch.Tensor, context: torch.Tensor, repeats: int = 1) -> torch.Tensor:
        """One-sample ELBO of each image given its parents (nats, ``beta``-weighted KL),
        shape ``(n,)``: a lower bound of ``log p(x | pa)`` when ``beta = 1``. In training
        mode the decoder sees zeroed parent features on a ``decoder_dropout`` share of the
        units (the encoder and the prior see them all).

        ``repeats = k > 1``: ``x`` holds ``n`` images and ``context`` ``k n`` rows, ``k``
        stacked copies of their parents (``pa.repeat(k, 1)``, as a district's importance
        samples, which differ only in the district latent); the result is the ELBO of
        ``x.repeat(k, 1)`` given ``context`` (``k n`` values, the same random draws), with
        the image and its image parents encoded once per unit instead of ``k`` times.
        """
        rec, kl = self._elbo_terms(x, context, repeats)
        return -(rec + self.beta * kl)

    def _elbo_terms(
        self, x: torch.Tensor, context: torch.Tensor, repeats: int = 1
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`elbo`'s reconstruction loss and KL estimate (nats, one sample each),
        unweighted."""
        self._require_built()
        feats = self.context_encoder(context, repeats)
        mu, log_var = self._posterior(x, feats, repeats)
        z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
        shown = feats
        if self.training and self.decoder_dropout:  # drop the image parents' conv features
            drop = torch.rand((feats.shape[0], 1), device=feats.device) < self.decoder_dropout
            shown = feats.masked_fill(drop & self._conv_columns, 0.0)
        target = _repeat((self._image(x) + 1.0) / 2.0, repeats)
        if self.switch is None:
            rec = torch.nn.functional.binary_cross_entropy_with_logits(
                self._logits(z, shown), target, reduction="none"
            ).sum((1, 2, 3))
        else:  # the discrete noise summed out exactly: -log sum_c pi(c | pa) p(x | z, c, pa)
            joint = torch.log_softmax(self.switch(feats), -1) + self._level_log_liks(
                z, shown, target
            )
            rec = -torch.logsumexp(joint, dim=-1)
        if self.prior is None:
            kl = 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var).sum(1)
        else:  # one-sample estimate of KL(q || mixture prior)
            kl = normal_log_prob(z, mu, 0.5 * log_var) - self.prior.log_prob(z, feats)
        return rec, kl

    def loss(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        loss = -self.elbo(x, context).mean() / int(self.dim)
        if self.independence:  # the noise must not carry pa (_noise_moments.ParentAdversary)
            feats = self.context_encoder(context)
            loss = loss + self.independence * self.adversary(self._posterior(x, feats)[0], feats)
        return loss

    def decode(self, noise: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Pixel means ``g(z, pa)`` in ``[-1, 1]``, flattened: ``z = m(pa) + s(pa) noise`` under
        the parents' moments of the latent, or drawn from the mixture prior by the noise when
        ``prior_modes > 0``."""
        self._require_built()
        feats = self.context_encoder(context)
        k = int(self.discrete_noise)
        own = noise[:, : noise.shape[1] - k]
        if self.prior is None:
            z = self.noise_moments.restore(own, feats)  # see _latent
        else:
            z = self.prior.decode(own, feats)
        if self.switch is not None:
            c = self.switch.pick(noise[:, own.shape[1] :], feats)
            z = torch.cat([z, torch.nn.functional.one_hot(c, k).to(z.dtype)], dim=1)
        return (2.0 * torch.sigmoid(self._logits(z, feats)) - 1.0).flatten(1)

    def abduct(
        self, x: torch.Tensor, context: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The posterior mean of ``z`` given the observed image and its parents, standardised
        under the parents' moments of the latent (the noise ``(z - m(pa)) / s(pa)``); with a
        mixture prior, the noise ``(g, e)`` that decodes to it (see the module doc)."""
        self._require_built()
        feats = self.context_encoder(context)
        if self.prior is None:
            mu = self._latent(x, feats)[0]
            noise = self.noise_moments.standardise(mu, feats)
        else:
            mu = self._posterior(x, feats)[0]
            noise = self.prior.abduct(mu, feats, generator)
        if self.switch is None:
            return noise
        # (discrete noise is ImageVAEMechanism's only, where _latent's mean is _posterior's)
        joint = torch.log_softmax(self.switch(feats), -1) + self._level_log_liks(
            mu, feats, (self._image(x) + 1.0) / 2.0
        )  # the level most responsible for the image at the posterior mean of z
        c = torch.argmax(joint, dim=-1)
        return torch.cat([noise, self.switch.abduct(c, feats, generator)], dim=1)

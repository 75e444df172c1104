"""Conditional GAN mechanism for image nodes: an implicit generator, no abduction.

The structural equation of an image node is ``x = clip(g(z, pa))``: the conv decoder of
:mod:`~deepcause.generative.mechanisms._conv` (the one the VAE uses) from a latent
``z ~ N(0, I)`` (``latent_dim`` values, the node's exogenous noise) and the encoded parents
(tabular parents as they are, image parents through the conv parent encoder), clipped to
the node's ``[-1, 1]`` pixel scale. It is trained adversarially, as the
generators of CausalGAN (Kocaoglu et al. 2018) and of GAN-based neural causal models (Xia et
al. 2023): a critic ``D(x, pa)`` (the conv encoder with spectral normalisation on every layer,
Miyato et al. 2018, and a projection of the encoded parents onto its features, Miyato &
Koyama 2018) is trained with the hinge loss against the generator's non-saturating loss; the
generator kept is an exponential moving average of its weights (``ema``). Only the generator
is part of the fitted mechanism (and of a saved model); the critic exists during ``fit``.

A GAN has no encoder and no likelihood: sampling (``sample``, ``sample(do=...)``) works,
abduction does not, so counterfactuals through an ``image_gan`` node are refused with the
reason (:class:`~deepcause.generative.NotInvertibleError`), and so are densities.

>>> import torch
>>> m = ImageGANMechanism(dim=64, context_dim=2, image_shape=(1, 8, 8), latent_dim=4)
>>> x = m.sample_from_noise(3, torch.zeros(3, 2), torch.Generator().manual_seed(0))
>>> tuple(x.shape), bool(x.abs().max() <= 1)
((3, 64), True)
"""

from __future__ import annotations

import copy
import math
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from ..._parameters import Interval
from ..._progress import Verbose, progress
from ..._torch import nn, seed_from, seeded, torch
from ._conv import ContextEncoder, conv_decoder, conv_encoder
from .base import NotInvertibleError
from .image_vae import ImageMechanism

__all__ = ["ImageGANMechanism"]

_SN = nn.utils.parametrizations.spectral_norm


def _spectral(module: nn.Module) -> nn.Module:
    """Spectral normalisation on every conv and linear layer of ``module`` (in place)."""
    for layer in list(module.modules()):
        if isinstance(layer, nn.Conv2d | nn.Linear):
            _SN(layer)
    return module


class _Critic(nn.Module):
    """Projection critic ``D(x, pa) = w' [h(x), s] + <V f(pa), h(x)>`` with spectral norm;
    ``s`` is the batch's mean per-pixel standard deviation (the minibatch-std feature of
    Karras et al. 2018), which lets the critic see a generator that collapsed to few modes."""

    def __init__(self, mech: ImageGANMechanism) -> None:
        super().__init__()
        c = mech.image_shape[0]
        hidden = 4 * mech.width
        self.body = _spectral(conv_encoder(c, mech.width, hidden))
        self.context = ContextEncoder(
            mech.context_shapes, int(mech.context_dim), mech.features, max(8, mech.width // 2)
        )
        self.out = _SN(nn.Linear(hidden + 1, 1))
        c_out = self.context.out_dim
        self.embed = _SN(nn.Linear(c_out, hidden, bias=False)) if c_out else None

    def forward(self, image: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        h = nn.functional.silu(self.body(image))
        spread = image.std(0).mean().expand(image.shape[0], 1) if len(image) > 1 else h[:, :1] * 0
        score = self.out(torch.cat([h, spread], dim=1)).squeeze(1)
        if self.embed is not None:
            score = score + (self.embed(self.context(context)) * h).sum(1)
        return score


class ImageGANMechanism(ImageMechanism):
    """Conditional GAN: generator ``x = clip(g(z, pa))``, spectral-norm projection critic.

    ``latent_dim`` is the size of the exogenous noise ``z``; ``critic_steps`` critic updates
    per generator update; ``ema`` the decay of the generator's weight average (0: keep the last
    weights). Training runs ``max_epochs`` epochs of Adam (``learning_rate``, betas 0.5 and
    0.999) on both networks; there is no held-out loss to stop early on, so ``patience`` is
    not used. ``training_history_`` holds the mean critic and generator losses per epoch.

    Examples
    --------
    Used through :class:`~deepcause.generative.CausalGenerativeModel` for image nodes:

    >>> from deepcause.generative import CausalGenerativeModel
    >>> from deepcause.simulate import make_confounded_digit_label
    >>> ds = make_confounded_digit_label(100, truth_n=200, random_state=0)
    >>> m = CausalGenerativeModel(ds.graph, mechanisms={"X": "image_gan"}, max_epochs=1,
    ...                           random_state=0, verbose=False).fit(ds.data)
    >>> type(m.mechanisms_["X"]).__name__, m.sample(2, do={"C": 1}, random_state=0)["X"].shape
    ('ImageGANMechanism', (2, 3, 16, 16))
    """

    name = "image_gan"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **ImageMechanism._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "critic_steps": [Interval(Integral, 1, None, closed="left")],
        "ema": [Interval(Real, 0, 1, closed="left")],
    }
    _train_defaults: ClassVar[dict[str, Any]] = {
        "max_epochs": 60,
        "batch_size": 64,
        "learning_rate": 2e-4,
    }

    def __init__(
        self,
        dim: int | None = None,
        context_dim: int | None = None,
        *,
        latent_dim: int = 32,
        critic_steps: int = 1,
        ema: float = 0.995,
        **kwargs: Any,
    ) -> None:
        super().__init__(dim, context_dim, **kwargs)
        self.latent_dim = latent_dim
        self.critic_steps = critic_steps
        self.ema = ema
        self.training_history_: dict[str, list[float]] = {"critic": [], "generator": []}
        self._maybe_build()

    def hyperparameters(self) -> dict[str, Any]:
        return {
            **super().hyperparameters(),
            "latent_dim": self.latent_dim,
            "critic_steps": self.critic_steps,
            "ema": self.ema,
        }

    def _build(self) -> None:
        shape, c_out = self._build_context()
        self.decoder = conv_decoder(self.latent_dim + c_out, shape, self.width)

    def noise_shape(self) -> tuple[int, ...]:
        self._require_built()
        return (int(self.latent_dim),)

    def _generate(self, noise: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """The generator's raw output: the critic sees it unclipped while training (a ``tanh``
        saturates on the mostly-dark backgrounds and stops the gradient); samples are clipped."""
        feats = self.context_encoder(context)
        return self.decoder(torch.cat([noise, feats], dim=1))

    def decode(self, noise: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """The generated image ``g(z, pa)`` clipped to ``[-1, 1]``, flattened."""
        self._require_built()
        return self._generate(noise, context).clamp(-1.0, 1.0).flatten(1)

    def loss(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Not defined: a GAN is trained by a two-player game (:meth:`fit`)."""
        raise NotInvertibleError(
            "image_gan has no likelihood loss; it is trained adversarially by fit()"
        )

    def abduct(
        self, x: torch.Tensor, context: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Refused: a GAN has no encoder, so a unit's noise cannot be recovered."""
        raise NotInvertibleError(
            "image_gan is an implicit generator without an encoder: a unit's exogenous noise "
            "cannot be abducted from its image, so counterfactuals through this node are "
            "refused; use mechanisms={node: 'image_hvae'} (the default), 'image_vae' or "
            "'image_diffusion' for counterfactuals (interventional sampling works with image_gan)"
        )

    # ----------------------------------------------------------------- training
    def fit(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        *,
        random_state: int | np.random.Generator | None = None,
        verbose: Verbose = "auto",
        desc: str = "",
    ) -> ImageGANMechanism:
        """Build (fresh, seeded weights) and train adversarially on ``x`` given ``context``."""
        self._validate_params()
        n = x.shape[0]
        if context is None:
            context = torch.zeros((n, 0), dtype=torch.float32, device=x.device)
        seed = seed_from(random_state)
        with seeded(seed, x.device):
            self.build(x.shape[1], context.shape[1])
            self.to(x.device)
            critic = _Critic(self).to(x.device)
            self._adversarial(critic, x, context, verbose, desc)
        self.eval()
        return self

    def _adversarial(
        self,
        critic: _Critic,
        x: torch.Tensor,
        context: torch.Tensor,
        verbose: Verbose,
        desc: str,
    ) -> None:
        """Hinge-loss critic against the non-saturating generator, with a weight average."""
        betas = (0.5, 0.999)
        opt_g = torch.optim.Adam(self.parameters(), lr=self.learning_rate, betas=betas)
        opt_d = torch.optim.Adam(critic.parameters(), lr=self.learning_rate, betas=betas)
        average = copy.deepcopy(self.state_dict()) if self.ema > 0 else None
        n = x.shape[0]
        bs = max(1, min(self.batch_size, n))
        history: dict[str, list[float]] = {"critic": [], "generator": []}
        step = 0
        for _epoch in progress(range(self.max_epochs), verbose=verbose, desc=desc or self.name):
            order = torch.randperm(n, device=x.device)
            sums = [0.0, 0.0]
            for b in range(math.ceil(n / bs)):
                idx = order[b * bs : (b + 1) * bs]
                real, ctx = self._image(x[idx]), context[idx]
                for _ in range(self.critic_steps):
                    fake = self._generate(self.sample_noise(len(idx)), ctx).detach()
                    d_loss = (
                        nn.functional.relu(1.0 - critic(real, ctx)).mean()
                        + nn.functional.relu(1.0 + critic(fake, ctx)).mean()
                    )
                    opt_d.zero_grad(set_to_none=True)
                    d_loss.backward()
                    opt_d.step()
                g_loss = nn.functional.softplus(
                    -critic(self._generate(self.sample_noise(len(idx)), ctx), ctx)
                ).mean()
                opt_g.zero_grad(set_to_none=True)
                g_loss.backward()
                opt_g.step()
                step += 1
                if average is not None:  # the average warms up: decay (1 + t) / (10 + t)
                    self._update_average(average, min(self.ema, (1.0 + step) / (10.0 + step)))
                sums[0] += float(d_loss.detach())
                sums[1] += float(g_loss.detach())
            history["critic"].append(sums[0] / math.ceil(n / bs))
            history["generator"].append(sums[1] / math.ceil(n / bs))
            if not all(math.isfinite(v[-1]) for v in history.values()):
                raise FloatingPointError(
                    f"adversarial training of the image_gan mechanism{' for ' + desc if desc else ''}"
                    " diverged (non-finite loss); lower learning_rate"
                )
        if average is not None:
            self.load_state_dict(average)
        self.training_history_ = history

    @torch.no_grad()
    def _update_average(self, average: dict[str, torch.Tensor], decay: float) -> None:
        for key, value in self.state_dict().items():
            if value.dtype.is_floating_point:
                average[key].mul_(decay).add_(value, alpha=1.0 - decay)
            else:
                average[key].copy_(value)

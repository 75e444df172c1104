"""Conditional diffusion mechanism for image nodes: a small U-Net, DDPM training, DDIM.

After diffusion-based causal models (Chao, Blöbaum & Kasiviswanathan 2023) and the diffusion
generators of ID-GEN (Rahman, Jordan & Kocaoglu 2024): a U-Net ``eps(x_t, t, pa)`` (two
resolutions, residual blocks; the time embedding plus the encoded parents shift every block's
features and, with ``film`` (default), also scale and shift its normalised features, FiLM /
AdaGN as in Dhariwal & Nichol 2021; tabular parents as they are, image parents through a conv
encoder) is trained with the
v-prediction loss (Salimans & Ho 2022; ``v = sqrt(ab) eps - sqrt(1 - ab) x_0``) over ``steps``
DDPM noise levels. With the epsilon-prediction loss the network learns ``eps ~ x_t`` at high
noise, where the parents' effect on the target is scaled by ``sqrt(ab) ~ 0``, so samples from
fresh noise ignored the parents (interventional sampling failed while counterfactuals, exact
by inversion, did not); ``v`` targets ``-x_0`` there, which depends on the parents. The node's exogenous noise is the
image-shaped ``x_T ~ N(0, I)``; :meth:`~ImageDiffusionMechanism.decode` runs the deterministic
DDIM update (Song, Meng & Ermon 2021) over ``sample_steps`` of the levels down to ``x_0``, and
abduction runs it upwards from the observed image (DDIM inversion) with a fixed-point
refinement of every move, so that the sampler returns the observed image (the null
intervention reproduces the factual; the predicted image is clipped only at the end, which
keeps every move invertible). The exact inversion is not the more accurate counterfactual
under a real intervention: one refinement (default) measured better than two or more, see
``inversion_iters`` in :class:`ImageDiffusionMechanism`.
Densities are not available.

>>> import torch
>>> m = ImageDiffusionMechanism(dim=64, context_dim=1, image_shape=(1, 8, 8), width=8,
...                             sample_steps=4)
>>> x = m.sample_from_noise(2, torch.zeros(2, 1), torch.Generator().manual_seed(0))
>>> tuple(x.shape)
(2, 64)
>>> g = ImageDiffusionMechanism(dim=64, context_dim=1, image_shape=(1, 8, 8), width=8,
...                             sample_steps=4, guidance=2.0, p_uncond=0.1)
>>> u = g.encode(x, torch.zeros(2, 1))  # guided inversion: one conditional, one unconditional
>>> tuple(g.decode(u, torch.zeros(2, 1)).shape)
(2, 64)
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any, ClassVar

from ..._parameters import Interval, StrOptions
from ..._torch import mlp, nn, torch
from ...exceptions import InvalidParameterError
from .image_vae import ImageMechanism

__all__ = ["ImageDiffusionMechanism"]


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(8, channels), channels)


def _film_optional(module: nn.Module, incompatible: Any) -> None:
    """Load hook: blocks saved before FiLM existed load with it at zero (the plain shift)."""
    missing = incompatible.missing_keys
    for k in [k for k in missing if k.rsplit(".", 2)[-2] == "film"]:
        missing.remove(k)


class _ResBlock(nn.Module):
    """Residual block; the conditioning vector shifts the first conv's output and, with
    ``film``, scales and shifts the normalised features of the second (FiLM / AdaGN, zero at
    initialisation, so that a block saved without it loads with the plain shift)."""

    def __init__(
        self, c_in: int, c_out: int, cond: int, film: bool = False, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.drop = nn.Dropout(dropout)  # before the second conv, as in DDPM (no weights)
        self.block1 = nn.Sequential(_norm(c_in), nn.SiLU(), nn.Conv2d(c_in, c_out, 3, padding=1))
        self.cond = nn.Linear(cond, c_out)
        self.block2 = nn.Sequential(_norm(c_out), nn.SiLU(), nn.Conv2d(c_out, c_out, 3, padding=1))
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.film = nn.Linear(cond, 2 * c_out) if film else None
        if self.film is not None:
            nn.init.zeros_(self.film.weight)
            nn.init.zeros_(self.film.bias)
            self.register_load_state_dict_post_hook(_film_optional)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.block2[0](self.block1(x) + self.cond(emb)[:, :, None, None])
        if self.film is not None:
            scale, shift = self.film(emb)[:, :, None, None].chunk(2, dim=1)
            h = h * (1.0 + scale) + shift
        return self.block2[2](self.drop(self.block2[1](h))) + self.skip(x)


class _UNet(nn.Module):
    """Two-level U-Net noise predictor conditioned on a vector ``emb`` in every block."""

    def __init__(
        self, channels: int, width: int, cond: int, film: bool = False, dropout: float = 0.0
    ) -> None:
        super().__init__()
        w = width

        def block(c_in: int, c_out: int) -> _ResBlock:
            return _ResBlock(c_in, c_out, cond, film, dropout)

        self.inp = nn.Conv2d(channels, w, 3, padding=1)
        self.down1, self.pool1 = block(w, w), nn.Conv2d(w, w, 3, stride=2, padding=1)
        self.down2 = block(w, 2 * w)
        self.pool2 = nn.Conv2d(2 * w, 2 * w, 3, stride=2, padding=1)
        self.mid = block(2 * w, 2 * w)
        self.up2, self.up1 = block(4 * w, 2 * w), block(3 * w, w)
        self.out = nn.Sequential(_norm(w), nn.SiLU(), nn.Conv2d(w, channels, 3, padding=1))

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h1 = self.down1(self.inp(x), emb)
        h2 = self.down2(self.pool1(h1), emb)
        h = self.mid(self.pool2(h2), emb)
        h = nn.functional.interpolate(h, size=h2.shape[-2:], mode="nearest")
        h = self.up2(torch.cat([h, h2], dim=1), emb)
        h = nn.functional.interpolate(h, size=h1.shape[-2:], mode="nearest")
        return self.out(self.up1(torch.cat([h, h1], dim=1), emb))


class ImageDiffusionMechanism(ImageMechanism):
    """DDPM-trained conditional U-Net, sampled with DDIM and inverted by DDIM inversion.

    ``steps`` noise levels (linear betas ``beta_min .. beta_max``), ``sample_steps`` of them
    used by DDIM, ``width`` U-Net channels at full resolution. ``inversion_iters`` fixed-point
    refinements of every DDIM inversion move (0: the plain inversion; each adds one network
    evaluation per move; default 1, see below), ``ema`` the decay of the moving average of the
    weights used after training (0: the last / best weights). ``p_uncond``: the share of
    training rows whose parents are dropped (to learn the unconditional noise too);
    ``guidance``: the classifier-free guidance weight of sampling and inversion (1: the
    conditional model; above 1 strengthens the parents' effect on the image, and needs
    ``p_uncond > 0``).
    ``prediction``: what the network predicts, ``"v"`` (default) or ``"eps"`` (the parents are
    then lost at high noise, see the module doc); sampling and inversion use the implied noise.
    ``film``: the conditioning also scales and shifts each block's normalised features (zero at
    initialisation; a model saved before it existed loads with it at zero, the plain shift).
    ``dropout``: the share of features dropped before each block's second conv while training
    (DDPM's regulariser; no weights, so any saved model loads). On the morpho digits' validation
    split a wider U-Net (``width=24``) read thickness better but lost more of the units' style,
    and dropout 0.1 recovered only part of it (``bench_counterfactual_images_diffusion_s7.md``);
    the default stays 0.
    ``noise_schedule``: ``"linear"`` betas, or ``"cosine"`` spacing of the same first and last
    levels (measured worse on the morpho digits, see ``bench_counterfactual_images.md``).

    More refinements bring the decoded abducted noise closer to the observed image but made
    the counterfactuals under a real intervention worse on every fit measured (run 13 of
    ``bench_counterfactual_images.md``; same fit, ``inversion_iters`` 1 / 2 / 0): on the
    morpho digits at 28x28 (15 epochs) under ``do(thickness)`` pixel RMSE 0.103 / 0.106 /
    0.096 on the benchmark's units and 0.110 / 0.114 / 0.105 and 0.122 / 0.125 / 0.117 on two
    validation splits, the units' glyph and shift kept in 80% / 78% / 80%, null-intervention
    L1 0.002 / 0.001 / 0.011, thickness MAE 0.375 / 0.376 / 0.361 on the benchmark's units
    (1 against 2: within 0.011 on every split); on the pendulum pixel RMSE 0.018 / 0.019 /
    0.017, realism (Fréchet distance) 0.039 / 0.043 / 0.141; counterfactual time 0.7 / 1 /
    0.5 of the time with two refinements. The plain
    inversion (0) is the most accurate on the 28x28 morpho digits but loses realism and, on
    small fits, the null intervention (L1 0.08 on 16x16 digits after 3 epochs; 0.023 with
    one refinement, 0.007 with two). The converged inversion's noise is closer to white
    (its standard deviation 0.95 / 0.99 / 0.82 with 1 / 2 / 0 refinements, 1.02 with 8).

    ``residual`` (default off): the counterfactual adds back the factual reconstruction's
    residual ``x - decode(abduct(x, pa), pa)`` (one more decoding), so the null intervention
    returns the factual image by construction and composition no longer measures the
    inversion. With ``inversion_iters=0`` it was the best variant measured in run 13 (same
    fits): morpho 28x28 pixel RMSE 0.096 / 0.105 / 0.116 on the benchmark's and two
    validation splits (default 0.103 / 0.110 / 0.122), thickness MAE 0.361 / 0.346 / 0.357
    (0.375 / 0.368 / 0.372), realism FD 0.27 / 0.32 / 0.77 (0.29 / 0.37 / 0.80); pendulum
    pixel RMSE 0.016 (0.018), FD 0.026 (0.039); not the default because it hides the
    reconstruction error from the composition check and was measured on one fit per split.

    Limits: DDIM abduction keeps a unit's style only where the sampler's map from noise to
    image puts it in the same mode under the new parents. On the morpho digits (a finite set of
    glyphs x shifts per parent value) the exact noise predictor keeps the unit's glyph and shift
    in 78% of the counterfactuals under ``do(thickness)``, pixel RMSE 0.072 against 0.103 for
    this network at the benchmark's budget (``benchmarks/study_ddim_ceiling.py``).

    Examples
    --------
    Used through :class:`~deepcause.generative.CausalGenerativeModel` for image nodes:

    >>> from deepcause.generative import CausalGenerativeModel
    >>> from deepcause.simulate import make_confounded_digit_label
    >>> ds = make_confounded_digit_label(100, truth_n=200, random_state=0)
    >>> m = CausalGenerativeModel(ds.graph, mechanisms={"X": "image_diffusion"}, max_epochs=1,
    ...                           random_state=0, verbose=False).fit(ds.data)
    >>> type(m.mechanisms_["X"]).__name__, m.sample(2, random_state=0)["X"].shape
    ('ImageDiffusionMechanism', (2, 3, 16, 16))
    """

    name = "image_diffusion"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **ImageMechanism._parameter_constraints,
        "steps": [Interval(Integral, 2, None, closed="left")],
        "sample_steps": [Interval(Integral, 1, None, closed="left")],
        "beta_min": [Interval(Real, 0, 1, closed="neither")],
        "beta_max": [Interval(Real, 0, 1, closed="neither")],
        "inversion_iters": [Interval(Integral, 0, None, closed="left")],
        "ema": [Interval(Real, 0, 1, closed="left")],
        "guidance": [Interval(Real, 0, None, closed="left")],
        "p_uncond": [Interval(Real, 0, 1, closed="left")],
        "prediction": [StrOptions({"v", "eps"})],
        "film": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "noise_schedule": [StrOptions({"linear", "cosine"})],
        "residual": ["boolean"],
    }
    _train_defaults: ClassVar[dict[str, Any]] = {
        "max_epochs": 150,
        "batch_size": 16,
        "learning_rate": 1e-3,
        "patience": 20,
    }

    def __init__(
        self,
        dim: int | None = None,
        context_dim: int | None = None,
        *,
        steps: int = 200,
        sample_steps: int = 25,
        beta_min: float = 5e-4,
        beta_max: float = 0.1,
        inversion_iters: int = 1,
        ema: float = 0.995,
        guidance: float = 1.0,
        p_uncond: float = 0.0,
        prediction: str = "v",
        film: bool = True,
        dropout: float = 0.0,
        noise_schedule: str = "linear",
        residual: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(dim, context_dim, **kwargs)
        self.steps = steps
        self.sample_steps = sample_steps
        self.beta_min = beta_min
        self.beta_max = beta_max
        self.inversion_iters = inversion_iters
        self.ema = ema
        self.guidance = guidance
        self.p_uncond = p_uncond
        self.prediction = prediction
        self.film = film
        self.dropout = dropout
        self.noise_schedule = noise_schedule
        self.residual = residual
        self._ema_state: dict[str, torch.Tensor] | None = None
        self._maybe_build()

    def hyperparameters(self) -> dict[str, Any]:
        return {
            **super().hyperparameters(),
            "steps": self.steps,
            "sample_steps": self.sample_steps,
            "beta_min": self.beta_min,
            "beta_max": self.beta_max,
            "inversion_iters": self.inversion_iters,
            "ema": self.ema,
            "guidance": self.guidance,
            "p_uncond": self.p_uncond,
            "prediction": self.prediction,
            "film": self.film,
            "dropout": self.dropout,
            "noise_schedule": self.noise_schedule,
            "residual": self.residual,
        }

    def _build(self) -> None:
        if self.guidance != 1.0 and self.p_uncond == 0:
            raise InvalidParameterError(
                f"guidance={self.guidance} needs the unconditional noise: set p_uncond > 0 "
                "(e.g. 0.1) or guidance=1"
            )
        shape, c_out = self._build_context()
        cond = 4 * self.width
        self.time_net = mlp(32, (cond,), cond, activation="silu")
        self.context_net = nn.Linear(c_out, cond) if c_out else None
        self.unet = _UNet(shape[0], self.width, cond, bool(self.film), float(self.dropout))
        self.register_buffer("alpha_bar", self._alpha_bar().float(), persistent=False)
        # time features sin/cos(t / steps * f), f from 1 to 1000: smooth in t at low f
        freqs = torch.exp(torch.linspace(0.0, math.log(1000.0), 16)) / self.steps
        self.register_buffer("freqs", freqs.float(), persistent=False)
        # DDIM's subsequence of noise levels, from the last one down
        ts = torch.linspace(self.steps - 1, 0, min(self.sample_steps, self.steps)).round().long()
        self.register_buffer("schedule", torch.unique_consecutive(ts), persistent=False)
        self._ema_state = None

    def _alpha_bar(self) -> torch.Tensor:
        """The signal share ``alpha_bar_t`` of every level: the product of the linear betas'
        ``1 - beta``; ``"cosine"`` keeps its first and last values and spaces the levels
        between them as ``cos^2`` of evenly spaced angles (Nichol & Dhariwal 2021), fewer of
        them at near-pure noise."""
        betas = torch.linspace(self.beta_min, self.beta_max, self.steps, dtype=torch.float64)
        linear = torch.cumprod(1.0 - betas, dim=0)
        if self.noise_schedule == "linear":
            return linear
        ends = torch.stack([linear[0], linear[-1]]).sqrt().arccos()
        return torch.linspace(float(ends[0]), float(ends[1]), self.steps).double().cos() ** 2

    def _eps(
        self,
        x_t: torch.Tensor,
        t: torch.Tensor,
        feats: torch.Tensor,
        keep: torch.Tensor | None = None,
        raw: bool = False,
    ) -> torch.Tensor:
        """The predicted noise (``raw``: the network's output, ``v`` or ``eps``); ``keep``
        (0/1 per row) drops the parents' conditioning."""
        angle = t.float()[:, None] * self.freqs[None, :]
        emb = self.time_net(torch.cat([torch.sin(angle), torch.cos(angle)], dim=1))
        if self.context_net is not None:
            cond = self.context_net(feats)
            emb = emb + (cond if keep is None else cond * keep[:, None])
        out = self.unet(self._image(x_t), nn.functional.silu(emb)).flatten(1)
        if raw or self.prediction == "eps":
            return out
        ab = self.alpha_bar[t][:, None]  # v = sqrt(ab) eps - sqrt(1 - ab) x_0
        return (1.0 - ab).sqrt() * x_t + ab.sqrt() * out

    def _guided(self, x: torch.Tensor, t: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        """The noise the sampler and its inversion use at level ``t``: conditional, or with
        ``guidance != 1`` classifier-free guided ``eps_u + guidance * (eps_c - eps_u)``."""
        t = t.expand(x.shape[0])
        if self.guidance == 1.0 or self.context_net is None:
            return self._eps(x, t, feats)
        keep = torch.cat([torch.ones_like(t), torch.zeros_like(t)]).float()
        both = self._eps(x.repeat(2, 1), t.repeat(2), feats.repeat(2, 1), keep)
        cond, uncond = both.chunk(2)
        return uncond + self.guidance * (cond - uncond)

    def _update_ema(self) -> None:
        """Move the exponential moving average of the weights towards the current ones
        (called once per training step; warm-up decay ``min(ema, (1 + k) / (10 + k))``)."""
        params = {k: v.detach() for k, v in self.named_parameters()}
        if self._ema_state is None:
            self._ema_state = {k: v.clone() for k, v in params.items()}
            self._ema_steps = 0
        self._ema_steps += 1
        decay = min(self.ema, (1.0 + self._ema_steps) / (10.0 + self._ema_steps))
        for k, v in params.items():
            self._ema_state[k].lerp_(v, 1.0 - decay)

    def after_training(
        self, x: torch.Tensor, context: torch.Tensor, train_rows: torch.Tensor | None = None
    ) -> None:
        """Load the moving average of the weights (if ``ema > 0``)."""
        if self.ema > 0 and self._ema_state is not None:
            with torch.no_grad():
                for k, v in self.named_parameters():
                    v.copy_(self._ema_state[k])
        self._ema_state = None

    def loss(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        if self.training and self.ema > 0:
            self._update_ema()
        feats = self.context_encoder(context)
        t = torch.randint(0, self.steps, (x.shape[0],), device=x.device)
        eps = torch.randn_like(x)
        ab = self.alpha_bar[t][:, None]
        x_t = ab.sqrt() * x + (1.0 - ab).sqrt() * eps
        keep = None
        if self.training and self.p_uncond > 0:  # learn the unconditional noise too
            keep = (torch.rand(x.shape[0], device=x.device) >= self.p_uncond).float()
        if self.prediction == "v":  # the target weighs x_0 at high noise, where eps is ~x_t
            eps = ab.sqrt() * eps - (1.0 - ab).sqrt() * x
        return (self._eps(x_t, t, feats, keep, raw=True) - eps).pow(2).mean()

    @staticmethod
    def _move(
        x: torch.Tensor, eps: torch.Tensor, ab_from: torch.Tensor, ab_to: torch.Tensor
    ) -> torch.Tensor:
        """The deterministic DDIM move of ``x`` from noise level ``ab_from`` to ``ab_to``
        with the noise estimate ``eps``."""
        x0 = (x - (1.0 - ab_from).sqrt() * eps) / ab_from.sqrt()
        return ab_to.sqrt() * x0 + (1.0 - ab_to).sqrt() * eps

    def decode(self, noise: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """DDIM sampling from ``x_T = noise`` to the image (flattened, in ``[-1, 1]``)."""
        self._require_built()
        feats = self.context_encoder(context)
        x, sched, ab = noise, self.schedule, self.alpha_bar
        one = torch.ones((), device=noise.device)
        for i, t in enumerate(sched):
            ab_to = ab[sched[i + 1]] if i + 1 < len(sched) else one
            x = self._move(x, self._guided(x, t, feats), ab[t], ab_to)
        return x.clamp(-1.0, 1.0)  # clipped once at the end: the moves stay invertible

    def encode(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """DDIM inversion: from the image up to its latent ``x_T``.

        Each upward move starts from the noise predicted at the lower level (the usual
        approximation), then ``inversion_iters`` fixed-point steps re-predict it at the upper
        level and point, where :meth:`decode` will evaluate it, so that decoding the latent
        returns the image (exactly at convergence)."""
        self._require_built()
        feats = self.context_encoder(context)
        sched = self.schedule.flip(0)
        ab_from = torch.ones((), device=x.device)
        for i, t in enumerate(sched):
            ab_to = self.alpha_bar[t]
            x_up = self._move(x, self._guided(x, sched[i - 1] if i else t, feats), ab_from, ab_to)
            for _ in range(self.inversion_iters):
                x_up = self._move(x, self._guided(x_up, t, feats), ab_from, ab_to)
            x, ab_from = x_up, ab_to
        return x

    def abduct(
        self, x: torch.Tensor, context: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Noise by DDIM inversion of the observed image."""
        return self.encode(x, context)

    def counterfactual(
        self,
        x: torch.Tensor,
        context: torch.Tensor,
        new_context: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """The abducted noise decoded at ``new_context``; with ``residual``, plus what decoding
        it at the factual ``context`` misses of ``x`` (the null intervention then returns
        ``x`` by construction)."""
        u = self.abduct(x, context, generator)
        out = self.decode(u, new_context)
        if not self.residual:
            return out
        return (out + x - self.decode(u, context)).clamp(-1.0, 1.0)

"""An image mechanism that copies from its parents or draws on its own: a two-component mixture.

``p(x | pa) = pi(pa) p_A(x | pa) + (1 - pi(pa)) p_B(x | s(pa))``: ``A`` is the conditional VAE
of :class:`~deepcause.generative.mechanisms.ImageVAEMechanism` (its encoder, mixture prior and
decoder), ``B`` a VAE of the same kind that does not see the parents' content (the image's own
law; with ``free_stats=True`` it sees only ``s(pa)``, the stroke colour of each image parent),
and the gate ``pi(pa)`` a learned function of the parents' features (``gate_input="parents"``)
or one learned constant (``gate_input="constant"``). It is the structural form of an image whose
content is set by its parents most of the time and, by an event of its own noise, drawn
regardless of them on the rest (a digit copied from an image parent with probability 0.9, else
drawn at random): a conditional VAE with a KL weight above 1 does not carry such a rare event in
its latent and generates the copy on every unit, while ``B`` generates it by design.

Training: each component is fitted to every image by its own ``beta``-weighted ELBO (``A`` as
the conditional VAE alone, ``B`` as the image's own law; neither can starve) and the gate by the
mixture's exact likelihood ``log(pi e^{L_A} + (1 - pi) e^{L_B})`` with both bounds held fixed: a
unit that ``A`` explains worse than ``B`` (a digit that is not the image parent's) pulls the
gate towards ``B``. The bounds ``L`` the gate weighs have the KL weight ``gate_beta`` (default:
``beta``, the components' training objectives; ``gate_beta=1`` weighs their likelihood bounds).
The gate is the maximum-likelihood mixing weight *given* the two bounds, so it is biased by
whatever else than the parents' content separates them: at ``gate_beta = beta > 1`` ``B`` pays
``beta`` times for the content it carries in its latent, and at any weight a component whose
latent underfits the style (``beta > 1``) loses nats that are no evidence of the event. On a
design with exact truth (``tests/test_image_vae_latent.py``) ``gate_beta`` 1 or 4 gave the same
share; on the coloured-digits napkin ``gate_beta=1`` sent more units to ``B`` than the truth
(run 18 of ``benchmarks/results/bench_images.md``). ``free_beta`` sets ``B``'s own KL weight
(default ``beta``; at 1 ``B`` fits the style better than ``A`` at 4 and the gate sends nearly
every unit to ``B``). (Letting the mixture's responsibilities train ``A`` starved it on the
napkin: ``B``, free of the parents' encoder, fits faster, and the gate chose ``B`` on most
units.) ``elbo`` is the mixture of the gate's bounds, a lower bound of ``log p(x | pa)`` when
``gate_beta = free_beta = beta = 1``.

Options, general and off by default: ``free_stats`` lets ``B`` keep the part of the image's law
that its image parents' colour sets (the stroke colour, the per-channel mean intensity over each
parent's lit pixels; not their conv features, not the tabular parents), for a child whose
own-noise event redraws its content but not its colour; ``gate_input="constant"`` makes the
event's probability one learned constant (a gate on conv features can learn a share that swings
on rare parents).

Noise: ``A``'s noise, then ``B``'s, then two Gumbels that pick the component (Gumbel-max on the
gate's logits). Abduction: both components' noise (their posterior means) and a posterior
Gumbel draw that picks the component whose decoded posterior mean, weighted by the gate,
explains the image better (Bernoulli likelihood of the pixels).
"""

from __future__ import annotations

from numbers import Real
from typing import Any, ClassVar

from ..._parameters import Interval, StrOptions
from ..._torch import torch
from ...exceptions import DataValidationError
from ._conv import colour_stats
from ._image_priors import CategoricalNoise
from .image_vae import ImageVAEMechanism

__all__ = ["ImageVAEMixtureMechanism"]


class ImageVAEMixtureMechanism(ImageVAEMechanism):
    """Mixture of a conditional image VAE and a parent-free one, with a gate on the parents.

    Takes :class:`~deepcause.generative.mechanisms.ImageVAEMechanism`'s keywords; the
    parent-free component ``free_`` shares ``latent_dim``, ``beta``, ``prior_modes`` and
    ``width``. ``decoder_dropout``, ``discrete_noise`` and ``noise_modes`` are refused (the
    mixture has its own ELBO and noise layout). Own keywords (see the module doc):
    ``gate_beta`` (KL weight of the bounds the gate weighs, default ``beta``), ``free_beta``
    (``B``'s KL weight, default ``beta``), ``free_stats`` (``B`` sees its image parents' stroke
    colour, default off) and ``gate_input`` (``"parents"``, the default, or ``"constant"``).
    On a child block in its parent's quadrant on 70% of units, elsewhere on 30%
    (``tests/test_image_vae_latent.py``, ``beta=4``), prior samples leave the parent's quadrant
    on 0.21-0.23 of units with ``gate_beta=4`` (run 17; 0.00 with ``image_vae``), 0.22-0.23
    with ``gate_beta=1`` or a constant gate. As ID-GEN's image factor of the coloured-digits
    napkin (8,000 units, ``beta=4``) it draws ``Y``'s random digits but
    the gate overshoots them, and the mean TV stays above ``image_vae``'s at both data seeds
    (0.166 / 0.189 with ``free_stats`` and a constant gate, against 0.150 / 0.159), at about
    twice the training cost (``benchmarks/results/bench_images.md``, runs 17-18): not a default.

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
    >>> c = ImageVAEMixtureMechanism(dim=48, context_dim=48 + 1, image_shape=(3, 4, 4),
    ...     context_shapes=[(3, 4, 4), 1], latent_dim=2, free_stats=True, gate_input="constant")
    >>> c.free_.context_dim, c.gate.net[0].in_features   # B: 3 colours; the gate: a constant
    (3, 1)
    >>> ImageVAEMixtureMechanism(dim=64, context_dim=2, image_shape=(1, 8, 8), noise_modes=4,
    ...                          prior_modes=0)
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: ImageVAEMixtureMechanism draws fresh noise from its components' priors; set noise_modes=0
    """

    name = "image_vae_mixture"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **ImageVAEMechanism._parameter_constraints,
        "gate_beta": [Interval(Real, 0, None, closed="neither"), None],
        "free_beta": [Interval(Real, 0, None, closed="neither"), None],
        "free_stats": ["boolean"],
        "gate_input": [StrOptions({"parents", "constant"})],
    }

    def __init__(
        self,
        dim: int | None = None,
        context_dim: int | None = None,
        *,
        gate_beta: float | None = None,
        free_beta: float | None = None,
        free_stats: bool = False,
        gate_input: str = "parents",
        **kwargs: Any,
    ) -> None:
        self.gate_beta = gate_beta  # read by _build (through super().__init__)
        self.free_beta = free_beta
        self.free_stats = free_stats
        self.gate_input = gate_input
        super().__init__(dim, context_dim, **kwargs)

    def hyperparameters(self) -> dict[str, Any]:
        return {
            **super().hyperparameters(),
            "gate_beta": self.gate_beta,
            "free_beta": self.free_beta,
            "free_stats": self.free_stats,
            "gate_input": self.gate_input,
        }

    def _build(self) -> None:
        if self.noise_modes:
            raise DataValidationError(
                f"{type(self).__name__} draws fresh noise from its components' priors; "
                "set noise_modes=0"
            )
        super()._build()
        images = [s for _, s in self.context_encoder.parts if s is not None]
        self.free_ = ImageVAEMechanism(
            int(self.dim),
            sum(s[0] for s in images) if self.free_stats else 0,
            image_shape=self.image_shape,
            latent_dim=int(self.latent_dim),
            beta=self.beta if self.free_beta is None else self.free_beta,
            prior_modes=int(self.prior_modes),
            width=self.width,
        )
        constant = self.gate_input == "constant"
        self.gate = CategoricalNoise(0 if constant else self.context_encoder.out_dim, 2)

    def _gate_beta(self) -> float:
        """The KL weight of the bounds the gate weighs (``gate_beta``, else ``beta``)."""
        return float(self.beta if self.gate_beta is None else self.gate_beta)

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

    def _free_context(self, context: torch.Tensor) -> torch.Tensor:
        """``B``'s context: nothing, or (``free_stats``) each image parent's stroke colour."""
        out, start = [], 0
        for w, s in self.context_encoder.parts:
            if s is not None and self.free_stats:
                image = context[:, start : start + w].reshape(-1, *s)
                out.append(colour_stats(image)[:, 2 * s[0] :])  # the stroke colour's columns
            start += w
        return torch.cat(out, dim=1) if out else context[:, :0]

    def _gate_feats(self, context: torch.Tensor, repeats: int = 1) -> torch.Tensor:
        """The gate's input: the parents' features, or none (``gate_input="constant"``)."""
        if self.gate_input == "constant":
            return context[:, :0]
        return self.context_encoder(context, repeats)

    def _mixture(
        self, own: torch.Tensor, free: torch.Tensor, context: torch.Tensor, repeats: int
    ) -> torch.Tensor:
        """``log(pi e^{own} + (1 - pi) e^{free})`` per row."""
        logw = torch.log_softmax(self.gate(self._gate_feats(context, repeats)), -1)
        return torch.logsumexp(torch.stack([logw[:, 0] + own, logw[:, 1] + free], -1), -1)

    def _terms(
        self, x: torch.Tensor, context: torch.Tensor, repeats: int = 1
    ) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
        """``A``'s and ``B``'s (reconstruction loss, KL) per row (``repeats``: as
        :meth:`ImageVAEMechanism.elbo`; ``B`` has no image parents, so its context is not
        stacked)."""
        own = super()._elbo_terms(x, context, repeats)
        units = context.shape[0] // repeats
        free = self.free_._elbo_terms(x, self._free_context(context[:units]))
        if repeats > 1:
            free = tuple(t.repeat(repeats) for t in free)
        return own, free

    def elbo(self, x: torch.Tensor, context: torch.Tensor, repeats: int = 1) -> torch.Tensor:
        """The mixture of both components' one-sample bounds at the KL weight ``gate_beta``
        (see the module doc), shape ``(n,)`` (``repeats``: as :meth:`ImageVAEMechanism.elbo`)."""
        (ra, ka), (rb, kb) = self._terms(x, context, repeats)
        g = self._gate_beta()
        return self._mixture(-(ra + g * ka), -(rb + g * kb), context, repeats)

    def loss(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Each component's own ``beta``-weighted ELBO on every unit plus the mixture's at the
        KL weight ``gate_beta`` with both bounds held fixed (it fits the gate; module doc)."""
        (ra, ka), (rb, kb) = self._terms(x, context)
        b, f, g = self.beta, self.free_.beta, self._gate_beta()
        mix = self._mixture(-(ra + g * ka).detach(), -(rb + g * kb).detach(), context, 1)
        return -(mix.mean() - (ra + b * ka).mean() - (rb + f * kb).mean()) / int(self.dim)

    def after_training(
        self, x: torch.Tensor, context: torch.Tensor, train_rows: torch.Tensor | None = None
    ) -> None:
        super().after_training(x, context, train_rows)
        self.free_.after_training(x, self._free_context(context), train_rows)

    def _both(self, noise: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Both components' images (pixel means in ``[-1, 1]``) from their parts of ``noise``."""
        a, b = self._sizes()
        own = super().decode(noise[:, :a], context)
        return own, self.free_.decode(noise[:, a : a + b], self._free_context(context))

    def decode(self, noise: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """``A``'s image where the gate's Gumbels pick ``A``, ``B``'s elsewhere."""
        self._require_built()
        own, free = self._both(noise, context)
        c = self.gate.pick(noise[:, -2:], self._gate_feats(context))
        return torch.where((c == 0)[:, None], own, free)

    def abduct(
        self, x: torch.Tensor, context: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Both components' abducted noise and a posterior Gumbel draw picking the component
        that explains ``x`` better (see the module doc)."""
        self._require_built()
        own = super().abduct(x, context, generator)
        free = self.free_.abduct(x, self._free_context(context), generator)
        noise = torch.cat([own, free], dim=1)
        target = (self._image(x) + 1.0) / 2.0
        feats = self._gate_feats(context)
        fits = [
            -torch.nn.functional.binary_cross_entropy(
                self._image((img + 1.0) / 2.0).clamp(1e-6, 1 - 1e-6), target, reduction="none"
            ).sum((1, 2, 3))
            for img in self._both(noise, context)
        ]
        joint = torch.log_softmax(self.gate(feats), -1) + torch.stack(fits, -1)
        c = torch.argmax(joint, dim=-1)
        return torch.cat([noise, self.gate.abduct(c, feats, generator)], dim=1)

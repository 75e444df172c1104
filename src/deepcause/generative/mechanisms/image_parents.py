"""Tabular nodes with image parents: a conv encoder in front of a tabular mechanism.

:class:`ImageParentMechanism` wraps any tabular mechanism (the *head*: categorical, additive,
flow, diffusion): its context, the parents' flattened tensors, goes through a
:class:`~deepcause.generative.mechanisms._conv.ContextEncoder` (a small conv net per image
parent; tabular parents unchanged) and the head models the node given those features. Encoder
and head are trained together on the head's loss; noise, abduction and log-densities are the
head's, so a label caused by an image keeps the Gumbel-max counterfactuals of the categorical
mechanism, a continuous node the exact abduction of the additive one.
:class:`~deepcause.generative.CausalGenerativeModel` wraps a tabular node's mechanism this way
whenever one of its parents is an image.

>>> import torch
>>> m = ImageParentMechanism(head="categorical", context_shapes=[(1, 8, 8)], max_epochs=2)
>>> m = m.build(1, 64, 2)
>>> x = m.sample_from_noise(5, torch.rand(5, 64), torch.Generator().manual_seed(0))
>>> tuple(x.shape), m.discrete
((5,), True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from torch.distributions import Distribution

from ..._torch import torch
from . import make_mechanism, mechanism_from_config  # defined before the registry imports us
from ._conv import ENCODER_CONSTRAINTS, ContextEncoder, normalise_shapes
from .base import Mechanism

__all__ = ["ImageParentMechanism"]

_TRAIN_KEYS = ("max_epochs", "batch_size", "learning_rate", "weight_decay", "patience")


def _head(head: Any) -> Mechanism:
    if isinstance(head, Mapping):
        return mechanism_from_config({**head, "dim": None})
    return make_mechanism(head)


class ImageParentMechanism(Mechanism):
    """A tabular ``head`` mechanism (name, instance or saved config) reading image parents
    through a conv encoder (``features`` outputs per image parent, ``width`` channels) and,
    with ``parent_stats``, their colour statistics (default off; ID-GEN's napkin tabular stage
    turns it on, see :mod:`deepcause.generative.idgen`).

    Examples
    --------
    Used through :class:`~deepcause.generative.CausalGenerativeModel` for image nodes:

    >>> from deepcause.generative import CausalGenerativeModel
    >>> from deepcause.simulate import make_confounded_digit_label
    >>> ds = make_confounded_digit_label(100, truth_n=200, random_state=0)
    >>> m = CausalGenerativeModel(ds.graph, mechanisms={"X": "image_vae"}, max_epochs=1,
    ...                           random_state=0, verbose=False).fit(ds.data)
    >>> type(m.mechanisms_["Y"]).__name__, m.sample(2, random_state=0)["X"].shape
    ('ImageParentMechanism', (2, 3, 16, 16))
    """

    name = "image_parents"
    # the plain 15% held out: the small-data floor (_training.validation_split) was measured
    # on auto's tabular candidates only
    small_data_validation = False
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **Mechanism._parameter_constraints,
        **ENCODER_CONSTRAINTS,
        "parent_stats": ["boolean"],
    }

    def __init__(
        self,
        dim: int | None = None,
        context_dim: int | None = None,
        n_classes: int | None = None,
        *,
        head: Any = "additive",
        context_shapes: Sequence[Any] = (),
        features: int = 32,
        width: int = 16,
        parent_stats: bool = False,
        **train: Any,
    ) -> None:
        head_mech = _head(head)
        base = head_mech.hyperparameters()
        train = {**{k: base[k] for k in _TRAIN_KEYS}, "batch_size": 128, **train}
        super().__init__(dim, context_dim, n_classes, **train)
        self.head = head_mech
        self.context_shapes = normalise_shapes(context_shapes)
        self.features = features
        self.width = width
        self.parent_stats = parent_stats
        self.discrete = head_mech.discrete
        self.invertible = head_mech.invertible
        self.has_log_prob = head_mech.has_log_prob
        self.inverse_atol = head_mech.inverse_atol
        self._maybe_build()

    def hyperparameters(self) -> dict[str, Any]:
        head = self.head.get_config()
        return {
            **super().hyperparameters(),
            "head": {"type": head["type"], "hyperparameters": head["hyperparameters"]},
            "context_shapes": [list(s) if isinstance(s, tuple) else s for s in self.context_shapes],
            "features": self.features,
            "width": self.width,
            "parent_stats": self.parent_stats,
        }

    def _build(self) -> None:
        self.encoder = ContextEncoder(
            self.context_shapes,
            int(self.context_dim),
            self.features,
            self.width,
            stats=bool(getattr(self, "parent_stats", False)),
        )
        self.head.build(int(self.dim), self.encoder.out_dim, self.n_classes)

    def after_training(
        self, x: torch.Tensor, context: torch.Tensor, train_rows: torch.Tensor | None = None
    ) -> None:
        with torch.no_grad():
            feats = torch.cat([self.encoder(c) for c in context.split(512)])
        self.head.after_training(x, feats, train_rows)

    def forward(self, context: torch.Tensor) -> Distribution:
        return self.head(self.encoder(context))

    def loss(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        return self.head.loss(x, self.encoder(context))

    def log_prob(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        return self.head.log_prob(x, self.encoder(context))

    def noise_shape(self) -> tuple[int, ...]:
        return self.head.noise_shape()

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.head.sample_noise(n, generator)

    def decode(self, noise: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        return self.head.decode(noise, self.encoder(context))

    def encode(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        return self.head.encode(x, self.encoder(context))

    def abduct(
        self, x: torch.Tensor, context: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        return self.head.abduct(x, self.encoder(context), generator)

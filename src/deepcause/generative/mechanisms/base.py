"""The :class:`Mechanism` contract: a conditional distribution of one node given its parents.

A mechanism is an ``nn.Module`` whose ``forward(context)`` returns a
``torch.distributions.Distribution`` over the node (a *lazy distribution*). ``context`` is the
encoded parents, a float tensor of shape ``(n, context_dim)`` (``context_dim`` may be 0); a node
value is a float tensor ``(n, dim)`` for continuous nodes or an integer tensor ``(n,)`` of level
indices for categorical ones.

Every mechanism is also written as a deterministic function of exogenous noise,
``x = decode(noise, context)``, with ``noise ~ sample_noise(n)`` (standard Gaussian for continuous
mechanisms, Gumbel for categorical ones). This gives reproducible sampling with a
``torch.Generator`` and counterfactuals by abduction: ``abduct(x, context)`` returns noise
consistent with the observed ``x`` (``encode`` for invertible mechanisms, posterior sampling
otherwise), which ``decode`` turns into the counterfactual under a new context.

Mechanisms are built lazily: hyper-parameters go to ``__init__``; the layers are created by
``build(dim, context_dim, n_classes)`` once the data's shapes are known (``__init__`` builds at
once when ``dim`` and ``context_dim`` are given).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from numbers import Integral, Real
from typing import Any, ClassVar

from torch.distributions import Distribution, constraints

from ..._parameters import Interval, ParameterValidationMixin
from ..._torch import check_hidden_sizes, nn, torch
from ...exceptions import DeepCauseError, NotFittedError
from .._training import train_mechanism

__all__ = ["Mechanism", "NotInvertibleError", "ImplicitDistribution"]


class NotInvertibleError(DeepCauseError, NotImplementedError):
    """The mechanism cannot map observations back to noise (or cannot evaluate densities).

    Examples
    --------
    >>> from deepcause.exceptions import DeepCauseError
    >>> issubclass(NotInvertibleError, DeepCauseError)
    True
    """


class Mechanism(ParameterValidationMixin, nn.Module, ABC):
    """Base class of node mechanisms. Subclasses set the class flags and implement the hooks.

    Class flags: ``discrete`` (node values are level indices), ``invertible`` (``encode`` exists
    and ``decode(encode(x)) == x`` up to ``inverse_atol``), ``has_log_prob`` (``log_prob`` of the
    distribution is available), ``average_weights`` (training keeps a moving average of the
    weights, see :mod:`deepcause.generative._training`). Training hyper-parameters (``max_epochs``, ``batch_size``,
    ``learning_rate``, ``weight_decay``, ``patience``) and each subclass's own (``hidden_sizes``,
    ...) are checked against ``_parameter_constraints`` when the layers are built. ``patience``
    (epochs without a better held-out loss before training stops) counts, for tabular
    mechanisms, epochs of at least 16 optimiser steps: on small data sets, whose epochs have
    fewer batches, training waits ``16 * patience`` steps (``_training.patience_epochs``).

    Examples
    --------
    >>> import torch
    >>> from deepcause.generative.mechanisms import AdditiveNoiseMechanism
    >>> m = AdditiveNoiseMechanism(max_epochs=1).build(1, 2)  # a subclass; Mechanism is abstract
    >>> _ = m.fit(torch.randn(50, 1), torch.randn(50, 2), random_state=0, verbose=False)
    >>> m(torch.zeros(3, 2)).sample().shape  # forward(parents) is a torch Distribution
    torch.Size([3, 1])
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left")],
    }
    _size_parameters: ClassVar[tuple[str, ...]] = ()

    discrete: ClassVar[bool] = False
    invertible: ClassVar[bool] = True
    has_log_prob: ClassVar[bool] = True
    inverse_atol: ClassVar[float] = 1e-4
    name: ClassVar[str] = "mechanism"
    average_weights: bool = False
    patience_in_steps: ClassVar[bool] = True  # see _training.patience_epochs
    small_data_validation: ClassVar[bool] = True  # see _training.validation_split

    def __init__(
        self,
        dim: int | None = None,
        context_dim: int | None = None,
        n_classes: int | None = None,
        *,
        max_epochs: int = 200,
        batch_size: int = 256,
        learning_rate: float = 3e-3,
        weight_decay: float = 0.0,
        patience: int = 20,
    ) -> None:
        super().__init__()
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.patience = patience
        self.dim: int | None = None
        self.context_dim: int | None = None
        self.n_classes: int | None = None
        self._init_dims = (dim, context_dim, n_classes)

    def _maybe_build(self) -> None:
        """Call at the end of subclass ``__init__``: build now if the shapes were given."""
        dim, context_dim, n_classes = self._init_dims
        if context_dim is not None and (dim is not None or n_classes is not None):
            self.build(1 if dim is None else dim, context_dim, n_classes)

    # ----------------------------------------------------------------- construction
    def build(self, dim: int, context_dim: int, n_classes: int | None = None) -> Mechanism:
        """Create the layers for a node of ``dim`` components with ``context_dim`` inputs."""
        self._validate_params()
        if self.discrete and (n_classes is None or n_classes < 2):
            raise ValueError(f"{type(self).__name__} needs n_classes >= 2, got {n_classes}")
        if not self.discrete and n_classes is not None:
            raise ValueError(
                f"{type(self).__name__} models continuous nodes; use CategoricalMechanism for a "
                f"discrete node with {n_classes} levels"
            )
        self.dim, self.context_dim, self.n_classes = int(dim), int(context_dim), n_classes
        self._build()
        return self

    @abstractmethod
    def _build(self) -> None:
        """Create the sub-modules (``self.dim``, ``self.context_dim``, ``self.n_classes`` are set)."""

    @property
    def is_built(self) -> bool:
        return self.dim is not None

    def _require_built(self) -> None:
        if not self.is_built:
            raise NotFittedError(
                f"{type(self).__name__} has no layers yet; call build(dim, context_dim) or fit it"
            )

    def _validate_params(self) -> None:
        super()._validate_params()
        check_hidden_sizes(self, *self._size_parameters)

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """The hyper-parameters (as :meth:`hyperparameters`), scikit-learn style."""
        return self.hyperparameters()

    def hyperparameters(self) -> dict[str, Any]:
        """JSON-serialisable hyper-parameters (the ``__init__`` keywords except the shapes)."""
        return {
            "max_epochs": self.max_epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "patience": self.patience,
        }

    def get_config(self) -> dict[str, Any]:
        """Everything needed to rebuild an untrained copy: class name, shapes, hyper-parameters."""
        return {
            "type": self.name,
            "dim": self.dim,
            "context_dim": self.context_dim,
            "n_classes": self.n_classes,
            "hyperparameters": self.hyperparameters(),
        }

    def clone_unbuilt(self) -> Mechanism:
        """A fresh, unbuilt mechanism with the same hyper-parameters."""
        return type(self)(**self.hyperparameters())

    def after_training(
        self, x: torch.Tensor, context: torch.Tensor, train_rows: torch.Tensor | None = None
    ) -> None:
        """Hook run once training ends (e.g. to store residuals) on every row, with
        ``train_rows`` the rows training used (``None``: all); nothing by default."""

    # ----------------------------------------------------------------- the distribution
    @abstractmethod
    def forward(self, context: torch.Tensor) -> Distribution:
        """The conditional distribution of the node given encoded parents ``context``."""

    def loss(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Training loss (mean negative log-likelihood unless a subclass says otherwise)."""
        return -self(context).log_prob(x).mean()

    def log_prob(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Log-density (or log-probability) of ``x`` given ``context``, shape ``(n,)``."""
        if not self.has_log_prob:
            raise NotInvertibleError(f"{type(self).__name__} does not provide log-densities")
        return self(context).log_prob(x)

    # ----------------------------------------------------------------- noise view
    def noise_shape(self) -> tuple[int, ...]:
        """Shape of one unit's exogenous noise."""
        self._require_built()
        return (int(self.dim),)

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Exogenous noise for ``n`` units (standard Gaussian unless overridden)."""
        device = next(self.parameters()).device
        return torch.randn((n, *self.noise_shape()), generator=generator, device=device)

    @abstractmethod
    def decode(self, noise: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Node values from noise and context (deterministic)."""

    def encode(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Noise from node values and context (invertible mechanisms only)."""
        raise NotInvertibleError(
            f"{type(self).__name__} is not invertible: it has no encode(); use abduct() to draw "
            "noise from its posterior"
        )

    def abduct(
        self, x: torch.Tensor, context: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Noise consistent with the observed ``x`` (``encode`` for invertible mechanisms)."""
        return self.encode(x, context)

    def counterfactual(
        self,
        x: torch.Tensor,
        context: torch.Tensor,
        new_context: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """The unit's values under the parents ``new_context``: the noise abducted from ``x``
        at its factual parents ``context``, decoded at the new ones."""
        return self.decode(self.abduct(x, context, generator), new_context)

    @torch.no_grad()
    def sample_from_noise(
        self, n: int, context: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Reproducible samples: ``decode(sample_noise(n, generator), context)``."""
        return self.decode(self.sample_noise(n, generator), context)

    # ----------------------------------------------------------------- training
    def fit(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        *,
        random_state: int | None = None,
        verbose: bool | str = "auto",
        desc: str = "",
        held_out: torch.Tensor | None = None,
    ) -> Mechanism:
        """Build (if needed) and train on ``x`` given ``context``; returns ``self``.
        ``held_out``: the rows (indices) early stopping validates on, instead of a random split
        (one fold of a cross-fit)."""
        self._validate_params()
        n = x.shape[0]
        if context is None:
            context = torch.zeros((n, 0), dtype=torch.float32, device=x.device)
        if not self.is_built:
            if self.discrete:
                n_classes = int(x.max().item()) + 1
                self.build(1, context.shape[1], max(n_classes, 2))
            else:
                self.build(x.shape[1], context.shape[1])
            self.to(x.device)
        train_mechanism(
            self, x, context, random_state=random_state, verbose=verbose, desc=desc,
            held_out=held_out,
        )  # fmt: skip
        return self

    def extra_repr(self) -> str:
        return f"dim={self.dim}, context_dim={self.context_dim}" + (
            f", n_classes={self.n_classes}" if self.n_classes else ""
        )


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """Sum over the last axis of the standard normal log-density."""
    return (-0.5 * z.pow(2) - 0.5 * math.log(2 * math.pi)).sum(-1)


class ImplicitDistribution(Distribution):
    """The law of ``mechanism.decode(noise, context)`` with ``noise ~ sample_noise``: sampling
    only (``log_prob`` raises :class:`~deepcause.generative.NotInvertibleError`).

    Examples
    --------
    >>> from deepcause.generative.mechanisms import DiffusionMechanism
    >>> m = DiffusionMechanism(dim=1, context_dim=1, steps=5, hidden_sizes=(8,))
    >>> d = m(torch.zeros(2, 1))
    >>> isinstance(d, ImplicitDistribution), tuple(d.sample((3,)).shape)
    (True, (3, 2, 1))
    """

    arg_constraints: dict[str, constraints.Constraint] = {}
    has_rsample = False
    _fix = " (an implicit image model); use a tabular mechanism when you need log_prob"

    def __init__(self, mechanism: Any, context: torch.Tensor) -> None:
        self.mechanism = mechanism
        self.context = context
        super().__init__(
            batch_shape=torch.Size([context.shape[0]]),
            event_shape=torch.Size([int(mechanism.dim)]),
            validate_args=False,
        )

    @torch.no_grad()
    def sample(self, sample_shape: torch.Size | tuple[int, ...] = ()) -> torch.Tensor:
        shape = torch.Size(sample_shape)
        reps = math.prod(shape) if shape else 1
        n = self.context.shape[0]
        ctx = self.context.repeat(reps, 1)
        x = self.mechanism.decode(self.mechanism.sample_noise(reps * n), ctx)
        return x.reshape(*shape, n, int(self.mechanism.dim))

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        raise NotInvertibleError(
            f"{type(self.mechanism).__name__} has no tractable log-density{self._fix}"
        )

"""DragonNet (Shi, Blei & Veitch 2019): outcome heads and a propensity head on one representation.

The propensity head forces the representation to keep what predicts treatment — the
information needed for adjustment — and *targeted regularization* adds a learned ``epsilon``
and the term ``beta * mean((y - Q(t, x) - epsilon * h(t, x))^2)`` with the clever covariate
``h = t / g(x) - (1 - t) / (1 - g(x))``. At a stationary point the perturbed outcome model
``Q + epsilon * h`` solves the efficient-score equation, so its plug-in ATE is (asymptotically)
the targeted-maximum-likelihood estimate. Effects use the perturbed heads when
``targeted_regularization=True``.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np

from ..._parameters import Interval, StrOptions
from ..._progress import Verbose
from ..._torch import nn, torch
from ._base import NeuralEffectEstimator
from ._training import Batch
from .tarnet import TwoHeadNet

F = nn.functional

__all__ = ["DragonNet"]


class DragonHeads(TwoHeadNet):
    """TARNet's ``x -> phi(x) -> (Q0, Q1)`` plus ``logit g`` and the targeted-regularization
    ``epsilon``; the arguments are :class:`TwoHeadNet`'s (without ``normalize``)."""

    def __init__(self, n_features: int, representation: Sequence[int], *layers: Any) -> None:
        super().__init__(n_features, representation, *layers)
        self.g = nn.Linear(representation[-1], 1)
        self.epsilon = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r, q0, q1 = super().forward(x)
        return q0, q1, self.g(r)[:, 0]


def _bounded(logit: torch.Tensor, margin: float) -> torch.Tensor:
    """Propensity squeezed into ``[margin, 1 - margin]`` so ``h`` stays bounded."""
    return margin + (1.0 - 2.0 * margin) * torch.sigmoid(logit)


class DragonNet(NeuralEffectEstimator):
    """Three-headed network with optional targeted regularization.

    Parameters
    ----------
    representation_hidden_sizes, head_hidden_sizes : layer widths of the shared
        representation and of each outcome head (the propensity head is linear on the
        representation, as in the paper).
    alpha : weight of the propensity (cross-entropy) loss.
    targeted_regularization : add the targeted-regularization term and use the perturbed
        heads for effects.
    beta : weight of the targeted-regularization term.
    propensity_margin : the propensity used in ``h`` is kept in ``[m, 1 - m]``.
    population_estimate : ``"aipw"`` (default) — population effects are the augmented
        inverse-propensity (doubly robust) score of the outcome heads and a propensity;
        ``"plugin"`` — the mean of the heads' unit-level effects.
    propensity : the propensity of the AIPW score: ``"head"`` (each member's propensity
        head), ``"overlap_check"`` (the cross-fitted score of the overlap check) or
        ``"stack"`` (AIPW's cross-fitted propensity super learner, as in CFR).
    Other parameters as in :class:`~deepcause.estimate.neural.TARNet`, with the same defaults
    (chosen on generated data, ``benchmarks/results/study_neural_defaults.md``; there the
    AIPW score with the propensity head beat the plug-in and the overlap check's propensity).

    Examples
    --------
    >>> import numpy as np
    >>> from deepcause.estimate.neural import DragonNet
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3)); t = rng.binomial(1, 0.5, 300)
    >>> y = X[:, 0] + 2.0 * t + rng.normal(scale=0.1, size=300)
    >>> est = DragonNet(representation_hidden_sizes=(32, 32), head_hidden_sizes=(16,), n_members=2,
    ...                 max_epochs=60, random_state=0).fit_arrays(X=X, t=t, y=y)
    >>> abs(est.effect(treatment=1, control=0).value - 2.0) < 0.3
    True
    """

    method_name = "DragonNet"
    _parameter_constraints = {
        **NeuralEffectEstimator._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "targeted_regularization": ["boolean"],
        "propensity_margin": [Interval(Real, 0, 0.5, closed="left")],
        "propensity": [StrOptions({"head", "overlap_check", "stack"})],
    }
    _size_parameters = ("representation_hidden_sizes", "head_hidden_sizes")

    def __init__(
        self,
        representation_hidden_sizes: tuple[int, ...] = (100, 100),
        head_hidden_sizes: tuple[int, ...] = (50,),
        alpha: float = 1.0,
        targeted_regularization: bool = True,
        beta: float = 1.0,
        propensity_margin: float = 0.01,
        activation: str = "elu",
        dropout: float = 0.0,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int | None = 128,
        max_epochs: int = 300,
        patience: int = 20,
        validation_fraction: float = 0.2,
        n_members: int = 3,
        uncertainty: str | None = None,
        population_estimate: str = "aipw",
        propensity: str = "head",
        allow_no_overlap: bool = False,
        device: str = "auto",
        random_state: int | None = None,
        verbose: Verbose = "auto",
    ) -> None:
        self.representation_hidden_sizes = representation_hidden_sizes
        self.head_hidden_sizes = head_hidden_sizes
        self.alpha = alpha
        self.targeted_regularization = targeted_regularization
        self.beta = beta
        self.propensity_margin = propensity_margin
        self.activation = activation
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.n_members = n_members
        self.uncertainty = uncertainty
        self.population_estimate = population_estimate
        self.propensity = propensity
        self.allow_no_overlap = allow_no_overlap
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _build(self, n_features: int) -> nn.Module:
        return DragonHeads(
            n_features,
            self.representation_hidden_sizes,
            self.head_hidden_sizes,
            self.activation,
            float(self.dropout),
        )

    def _loss(self, net: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        x, t, y = batch[:3]
        q0, q1, logit = net(x)
        q = torch.where(t > 0.5, q1, q0)
        loss = torch.mean((y - q) ** 2)
        loss = loss + float(self.alpha) * F.binary_cross_entropy_with_logits(logit, t)
        if self.targeted_regularization:
            g = _bounded(logit, float(self.propensity_margin))
            h = t / g - (1.0 - t) / (1.0 - g)
            loss = loss + float(self.beta) * torch.mean((y - q - net.epsilon * h) ** 2)
        return loss, loss

    def _potential_outcomes(
        self, net: nn.Module, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        q0, q1, logit = net(x)
        if self.targeted_regularization:
            g = _bounded(logit, float(self.propensity_margin))
            q0, q1 = q0 - net.epsilon / (1.0 - g), q1 + net.epsilon / g
        return q0, q1

    def _member_propensity(self, X: np.ndarray) -> np.ndarray:
        """Each member's propensity head on the rows ``X``: shape (n_members, n)."""
        x = self._tensor(self.x_scaler_.transform(X))
        with torch.no_grad():
            g = torch.stack([torch.sigmoid(net(x)[2]) for net in self.networks_])
        return g.cpu().double().numpy()

    def _train_propensity(self) -> np.ndarray:
        if self.propensity == "head":
            return self._member_propensity(self.data_.X)
        return super()._train_propensity()

    def predict_propensity(self, data: Any) -> np.ndarray:
        """Estimated ``P(T = 1 | x)`` averaged over the members, for the rows of ``data``.

        ``data`` holds the covariates used in ``fit`` (selected by name).
        """
        return self._member_propensity(self._rows(data)).mean(axis=0)

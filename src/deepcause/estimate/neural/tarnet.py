"""TARNet (Shalit, Johansson & Sontag 2017): a shared representation and one head per arm.

The representation ``phi(x)`` is learned from both arms; the head for arm ``t`` predicts
``E[Y | x, T=t]`` and is trained only on that arm's rows (the factual loss). The effect of a
unit is the difference of its two heads.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real

import numpy as np

from ..._parameters import Interval, StrOptions
from ..._progress import Verbose
from ..._torch import mlp, nn, torch
from ._base import NeuralEffectEstimator
from ._training import Batch

__all__ = ["TARNet"]  # TwoHeadNet is TARNet's internal torch module


class TwoHeadNet(nn.Module):
    """``x -> phi(x) -> (h0(phi), h1(phi))``."""

    def __init__(
        self,
        n_features: int,
        representation: Sequence[int],
        heads: Sequence[int],
        activation: str,
        dropout: float,
        normalize: bool = False,
    ) -> None:
        super().__init__()
        self.phi = mlp(n_features, representation, None, activation, dropout)
        width = representation[-1]
        self.h0 = mlp(width, heads, 1, activation, dropout)
        self.h1 = mlp(width, heads, 1, activation, dropout)
        self.normalize = normalize

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r = self.phi(x)
        if self.normalize:
            r = r / torch.sqrt((r * r).sum(dim=1, keepdim=True) + 1e-8)
        return r, self.h0(r)[:, 0], self.h1(r)[:, 0]


class TARNet(NeuralEffectEstimator):
    """Treatment-agnostic representation network with an ensemble interval.

    The defaults (two 100-unit representation layers, one 50-unit layer per head, three
    members trained on the data minus a 20% validation split, AIPW population effects) were
    chosen on generated data only (IHDP-A/B response surfaces and the ACIC-2016-style design;
    ``benchmarks/study_neural_defaults.py``, results in
    ``benchmarks/results/study_neural_defaults.md``).

    Parameters
    ----------
    representation_hidden_sizes, head_hidden_sizes : layer widths of the shared
        representation (its last width is the representation size) and of each arm's head.
    activation : ``"elu"`` (default), ``"relu"`` or ``"tanh"``.
    dropout : dropout rate in every hidden layer.
    reweight : weight the factual loss so both arms count equally (``t/2u + (1-t)/2(1-u)``
        with ``u`` the treated share, as in Shalit et al.).
    learning_rate, weight_decay, batch_size : Adam settings; ``batch_size=None`` is full-batch.
    max_epochs, patience : early stopping on the validation loss, best weights restored.
    validation_fraction : share of each arm held out for early stopping when ``uncertainty=None``
        (with the bootstrap, the out-of-bag rows are the validation set).
    n_members : networks in the ensemble; predictions are their average (default 3).
    uncertainty : ``None`` (default) — members fit the data minus a validation split;
        ``"bootstrap"`` — members fit bootstrap resamples drawn within each arm
        (early-stopped on their out-of-bag rows). With ``population_estimate="plugin"`` the
        interval is the bootstrap one (the members' spread, t on ``n_members - 1`` degrees
        of freedom) and ``None`` gives no standard error.
    population_estimate : how population effects (ATE/ATT/ATC and ``mean``) average the
        heads. ``"aipw"`` (default): the augmented inverse-propensity score of the heads with
        the propensity chosen by ``propensity``, clipped to
        ``[propensity_clip, 1 - propensity_clip]``; its interval is normal with
        ``se^2 = var(influence function) / n + var(members)``.
        ``"plugin"``: the mean of the heads' unit-level effects (Shalit et al.).
        ``predict_cate`` and ``effect(X=...)`` always use the heads (``effect(X=...)`` has an
        interval only with ``uncertainty="bootstrap"``).
    propensity : the propensity of the AIPW score: ``"overlap_check"`` (default; the
        cross-fitted spline-logistic score of the overlap check) or ``"stack"`` (AIPW's
        default propensity super learner, cross-fitted over 5 folds:
        :func:`~deepcause.estimate.neural._base.stacked_propensity`).
    propensity_clip : bounds of the AIPW score's propensity (default 0.01; CFR 0.05).
    allow_no_overlap : estimate even where the overlap check
        (:mod:`deepcause.estimate.overlap`) finds a region without comparison units; the
        result is labelled extrapolated. Default: refuse with
        :class:`~deepcause.exceptions.OverlapError`.
    device : ``"auto"`` (GPU when available), ``"cpu"``, ``"cuda"``...
    random_state : seed; the same seed gives the same numbers on CPU.
    verbose : progress bar over members (``"auto"``: only on a terminal).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from deepcause.estimate.neural import TARNet
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3)); t = rng.binomial(1, 0.5, 300)
    >>> y = X[:, 0] + 2.0 * t + rng.normal(scale=0.1, size=300)
    >>> df = pd.DataFrame(X, columns=["x1", "x2", "x3"]).assign(t=t, y=y)
    >>> est = TARNet(representation_hidden_sizes=(32, 32), head_hidden_sizes=(16,), n_members=2,
    ...              max_epochs=60, random_state=0)
    >>> est = est.fit(df, treatment="t", outcome="y", covariates=["x1", "x2", "x3"])
    >>> abs(est.effect(treatment=1, control=0).value - 2.0) < 0.3
    True
    """

    method_name = "TARNet"
    _parameter_constraints = {
        **NeuralEffectEstimator._parameter_constraints,
        "reweight": ["boolean"],
        "propensity": [StrOptions({"overlap_check", "stack"})],
        "propensity_clip": [Interval(Real, 0, 0.5, closed="left")],
    }
    _size_parameters = ("representation_hidden_sizes", "head_hidden_sizes")

    def __init__(
        self,
        representation_hidden_sizes: tuple[int, ...] = (100, 100),
        head_hidden_sizes: tuple[int, ...] = (50,),
        activation: str = "elu",
        dropout: float = 0.0,
        reweight: bool = True,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int | None = 128,
        max_epochs: int = 300,
        patience: int = 20,
        validation_fraction: float = 0.2,
        n_members: int = 3,
        uncertainty: str | None = None,
        population_estimate: str = "aipw",
        propensity: str = "overlap_check",
        propensity_clip: float = 0.01,
        allow_no_overlap: bool = False,
        device: str = "auto",
        random_state: int | None = None,
        verbose: Verbose = "auto",
    ) -> None:
        self.representation_hidden_sizes = representation_hidden_sizes
        self.head_hidden_sizes = head_hidden_sizes
        self.activation = activation
        self.dropout = dropout
        self.reweight = reweight
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
        self.propensity_clip = propensity_clip
        self.allow_no_overlap = allow_no_overlap
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _normalized(self) -> bool:
        """Whether the representation is scaled to unit length (CFR's option)."""
        return False

    def _build(self, n_features: int) -> nn.Module:
        return TwoHeadNet(
            n_features,
            self.representation_hidden_sizes,
            self.head_hidden_sizes,
            self.activation,
            float(self.dropout),
            normalize=self._normalized(),
        )

    def _learn_settings(self, data) -> None:  # noqa: ANN001 - BackdoorData
        self.treated_share_ = float(np.mean(data.t))

    def _extra_config(self) -> dict:
        return {"treated_share": self.treated_share_}

    def _load_extra_config(self, extra: dict) -> None:
        self.treated_share_ = float(extra["treated_share"])

    def _factual_loss(self, y0: torch.Tensor, y1: torch.Tensor, batch: Batch) -> torch.Tensor:
        _, t, y = batch[:3]
        pred = torch.where(t > 0.5, y1, y0)
        sq = (y - pred) ** 2
        if not self.reweight:
            return sq.mean()
        u = self.treated_share_
        w = t / (2.0 * u) + (1.0 - t) / (2.0 * (1.0 - u))
        return (w * sq).mean()

    def _penalty(self, r: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return r.new_zeros(())

    def _loss(self, net: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        r, y0, y1 = net(batch[0])
        factual = self._factual_loss(y0, y1, batch)
        return factual + self._penalty(r, batch[1]), factual

    def _potential_outcomes(
        self, net: nn.Module, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        _, y0, y1 = net(x)
        return y0, y1

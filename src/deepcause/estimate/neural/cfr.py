"""CFR, counterfactual regression (Shalit, Johansson & Sontag 2017).

TARNet plus a penalty ``alpha * IPM(phi(x) | T=1, phi(x) | T=0)`` that pulls the treated and
control representations together, so each head extrapolates less. Three distances are offered
(:mod:`deepcause.estimate.neural._ipm`): ``"wasserstein"`` (Sinkhorn, the default), ``"mmd_rbf"`` and
``"mmd_linear"``. The defaults are TARNet's (chosen on generated data,
``benchmarks/results/study_neural_defaults.md``) except the propensity of the AIPW read-out:
population effects use the AIPW score of the heads, since on the ACIC-style design the
balanced representation biased the plug-in average of the heads (|ATE error| 0.43 against
0.12 with AIPW); CFR has no propensity head, so the score uses the overlap check's
cross-fitted propensity, clipped to [0.05, 0.95] (``propensity_clip``; chosen by
``benchmarks/study_cfr_readout.py`` on generated tuning data: with [0.01, 0.99], 5 of IHDP's
139 treated units, whose estimated propensities are below 0.05, carried 28% of the treated
arm's inverse weights; mean |ATE error| on IHDP-B 0.184 against 0.096).
``population_estimate="plugin"`` is Shalit et al.'s estimator (its interval needs
``uncertainty="bootstrap"``).
"""

from __future__ import annotations

from numbers import Integral, Real

from ..._parameters import Interval, StrOptions
from ..._progress import Verbose
from ..._torch import torch
from ._ipm import IPMS
from .tarnet import TARNet

__all__ = ["CFR"]


class CFR(TARNet):
    """TARNet with an integral-probability-metric balance penalty on the representation.

    Parameters (in addition to :class:`TARNet`'s)
    ----------
    alpha : weight of the balance penalty (``alpha=0`` is TARNet).
    ipm : ``"wasserstein"``, ``"mmd_rbf"`` or ``"mmd_linear"``.
    bandwidth : RBF kernel bandwidth for ``"mmd_rbf"`` (``None``: median heuristic).
    sinkhorn_epsilon, sinkhorn_iter : entropic regularisation (relative to the mean cost) and
        iterations of the Sinkhorn solver for ``"wasserstein"``.
    normalize_representation : scale each representation vector to unit length, so the penalty
        cannot be met by shrinking the representation.
    propensity_clip : bounds of the AIPW score's propensity, default 0.05 (TARNet: 0.01).

    Examples
    --------
    >>> import numpy as np
    >>> from deepcause.estimate.neural import CFR
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3)); t = rng.binomial(1, 0.5, 300)
    >>> y = X[:, 0] + 2.0 * t + rng.normal(scale=0.1, size=300)
    >>> est = CFR(alpha=1.0, representation_hidden_sizes=(32, 32), head_hidden_sizes=(16,),
    ...           n_members=2, max_epochs=60, random_state=0).fit_arrays(X=X, t=t, y=y)
    >>> abs(est.effect(treatment=1, control=0).value - 2.0) < 0.3
    True
    """

    method_name = "CFR"
    _parameter_constraints = {
        **TARNet._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "ipm": [StrOptions(set(IPMS))],
        "bandwidth": [Interval(Real, 0, None, closed="neither"), None],
        "sinkhorn_epsilon": [Interval(Real, 0, None, closed="neither")],
        "sinkhorn_iter": [Interval(Integral, 1, None, closed="left")],
        "normalize_representation": ["boolean"],
    }

    def __init__(
        self,
        alpha: float = 1.0,
        ipm: str = "wasserstein",
        bandwidth: float | None = None,
        sinkhorn_epsilon: float = 0.05,
        sinkhorn_iter: int = 30,
        normalize_representation: bool = False,
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
        propensity_clip: float = 0.05,
        allow_no_overlap: bool = False,
        device: str = "auto",
        random_state: int | None = None,
        verbose: Verbose = "auto",
    ) -> None:
        super().__init__(
            representation_hidden_sizes=representation_hidden_sizes,
            head_hidden_sizes=head_hidden_sizes,
            activation=activation,
            dropout=dropout,
            reweight=reweight,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            batch_size=batch_size,
            max_epochs=max_epochs,
            patience=patience,
            validation_fraction=validation_fraction,
            n_members=n_members,
            uncertainty=uncertainty,
            population_estimate=population_estimate,
            propensity=propensity,
            propensity_clip=propensity_clip,
            allow_no_overlap=allow_no_overlap,
            device=device,
            random_state=random_state,
            verbose=verbose,
        )
        self.alpha = alpha
        self.ipm = ipm
        self.bandwidth = bandwidth
        self.sinkhorn_epsilon = sinkhorn_epsilon
        self.sinkhorn_iter = sinkhorn_iter
        self.normalize_representation = normalize_representation

    def _normalized(self) -> bool:
        return bool(self.normalize_representation)

    def _penalty(self, r: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        treated, control = r[t > 0.5], r[t <= 0.5]
        if (
            not torch.is_grad_enabled()
            or float(self.alpha) == 0
            or len(treated) == 0
            or len(control) == 0
        ):
            return r.new_zeros(())
        if self.ipm == "wasserstein":
            distance = IPMS["wasserstein"](
                treated, control, float(self.sinkhorn_epsilon), int(self.sinkhorn_iter)
            )
        elif self.ipm == "mmd_rbf":
            distance = IPMS["mmd_rbf"](treated, control, self.bandwidth)
        else:
            distance = IPMS["mmd_linear"](treated, control)
        return float(self.alpha) * distance

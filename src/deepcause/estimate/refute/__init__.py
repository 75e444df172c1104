"""Refutation and sensitivity analysis of effect estimates.

Refuters (:mod:`.refuters`, :mod:`.negative`) refit an estimator on modified data whose
answer is known and return a :class:`RefutationResult`; sensitivity analyses ask how strong
unmeasured confounding would have to be to change the conclusion: the E-value, Cinelli &
Hazlett's omitted-variable bias for linear regression and Rosenbaum bounds for matched pairs.

>>> from deepcause.estimate import IPW
>>> from deepcause.simulate import make_confounded_binary
>>> df = make_confounded_binary(600, n_covariates=2, random_state=0, population_truth=False).data
>>> res = refute(IPW(), df, method="random_common_cause", treatment="t", outcome="y",
...              covariates=["x1", "x2"], n_simulations=3, random_state=0)
>>> res.refuter, res.passed
('random common cause', True)
"""

from .front import REFUTERS, SENSITIVITY, refute, sensitivity
from .negative import dummy_outcome, negative_control_exposure, negative_control_outcome
from .refuters import (
    bootstrap_refuter,
    data_subsets,
    fit_effect,
    placebo_treatment,
    random_common_cause,
)
from .results import RefutationResult

__all__ = [
    "REFUTERS",
    "SENSITIVITY",
    "refute",
    "sensitivity",
    "RefutationResult",
    "placebo_treatment",
    "random_common_cause",
    "data_subsets",
    "bootstrap_refuter",
    "dummy_outcome",
    "negative_control_outcome",
    "negative_control_exposure",
    "fit_effect",
]

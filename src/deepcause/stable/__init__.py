"""Stable learning: prediction that stays accurate when covariate correlations shift.

Sample weights that remove the dependence between covariates (DWR, GBR, DGBR, SRDO and our
nonlinear decorrelation with weight control), usable with any scikit-learn estimator that
accepts ``sample_weight``; stable variable selection (the Markov blanket of ``y``) followed by
an unweighted refit; plus the selection-bias simulation of this line of work.
"""

from .regressor import StableRegressor, StableVariableSelector
from .srdo import StableLearningWarning
from .weights import (
    DeepGlobalBalancingWeights,
    DWRWeights,
    GlobalBalancingWeights,
    NonlinearDecorrelationWeights,
    SRDOWeights,
    effective_sample_size,
)

__all__ = [
    "StableRegressor",
    "StableVariableSelector",
    "DWRWeights",
    "GlobalBalancingWeights",
    "DeepGlobalBalancingWeights",
    "SRDOWeights",
    "StableLearningWarning",
    "NonlinearDecorrelationWeights",
    "effective_sample_size",
]

"""deepcause: causal inference from a graph to answers.

Graph -> identification -> estimand -> estimator or sampler -> result object.
"""

from __future__ import annotations

from .exceptions import (
    DataValidationError,
    EstimandNotSupportedError,
    GraphError,
    NotIdentifiableError,
    PositivityWarning,
)
from .graph.causal_graph import CausalGraph
from .graph.criteria import (
    Instrument,
    backdoor_sets,
    explain_instrument,
    find_adjustment_set,
    frontdoor_sets,
    instruments,
    is_valid_adjustment_set,
)
from .identification.algorithm import identify
from .identification.bounds import Bounds, bounds
from .identification.counterfactual import CounterfactualEstimand, cf, identify_counterfactual
from .identification.estimand import Estimand, Expression, Fraction, P, Product, Sum
from .identification.mediation import MediationEstimand, identify_mediation
from .results import EffectEstimate

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "CausalGraph",
    "Instrument",
    "backdoor_sets",
    "explain_instrument",
    "find_adjustment_set",
    "frontdoor_sets",
    "instruments",
    "is_valid_adjustment_set",
    "DataValidationError",
    "EffectEstimate",
    "EstimandNotSupportedError",
    "GraphError",
    "NotIdentifiableError",
    "PositivityWarning",
    "identify",
    "identify_mediation",
    "MediationEstimand",
    "bounds",
    "Bounds",
    "identify_counterfactual",
    "cf",
    "CounterfactualEstimand",
    "Estimand",
    "Expression",
    "P",
    "Sum",
    "Product",
    "Fraction",
]

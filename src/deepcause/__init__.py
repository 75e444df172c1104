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
from .graph import CausalGraph
from .results import EffectEstimate

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "CausalGraph",
    "DataValidationError",
    "EffectEstimate",
    "EstimandNotSupportedError",
    "GraphError",
    "NotIdentifiableError",
    "PositivityWarning",
]

"""deepcause: causal inference from a graph to answers.

Graph -> identification -> estimand -> estimator or sampler -> result object.
"""

from __future__ import annotations

from . import graph, identification
from .exceptions import (
    DataValidationError,
    EstimandNotSupportedError,
    GraphError,
    NotIdentifiableError,
    PositivityWarning,
)
from .graph import *  # noqa: F403 (the names of graph.__all__, re-exported below)
from .identification import *  # noqa: F403 (the names of identification.__all__)
from .results import EffectEstimate

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "DataValidationError",
    "EffectEstimate",
    "EstimandNotSupportedError",
    "GraphError",
    "NotIdentifiableError",
    "PositivityWarning",
    *graph.__all__,
    *identification.__all__,
]

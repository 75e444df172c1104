"""deepcause: causal inference from a graph to answers.

Graph -> identification -> estimand -> estimator or sampler -> result object.
"""

from __future__ import annotations

import functools

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
from .identification.bounds import api as _bounds_api
from .results import EffectEstimate


@functools.wraps(_bounds_api.bounds)
def bounds(graph, data, **kwargs):  # noqa: D103 (the docstring of identification's bounds)
    if kwargs.get("ncm") is None:  # the neural solver; torch is imported only when it runs
        kwargs["ncm"] = _ncm
    return _bounds_api.bounds(graph, data, **kwargs)


def _ncm(*args):
    from .generative.ncm_bounds import NCMBounds

    return NCMBounds()(*args)


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

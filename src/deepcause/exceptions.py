"""Exception and warning types shared by every part of deepcause.

Every error raised for bad user input is a subclass of :class:`DeepCauseError` *and* of the
built-in type a user would expect (``ValueError``/``TypeError``), so ``except ValueError`` keeps
working. Messages name the offending thing and say how to fix it.
"""

from __future__ import annotations

__all__ = [
    "DeepCauseError",
    "GraphError",
    "CycleError",
    "UnknownNodeError",
    "QueryError",
    "NotIdentifiableError",
    "DataValidationError",
    "EstimandNotSupportedError",
    "NotFittedError",
    "InvalidParameterError",
    "ModelFileError",
    "PositivityWarning",
    "WeakInstrumentWarning",
    "DeepCauseWarning",
]


class DeepCauseError(Exception):
    """Base class of all deepcause errors."""


class GraphError(DeepCauseError, ValueError):
    """A causal graph is malformed (cycle, self loop, contradictory edge, bad syntax...)."""


class CycleError(GraphError):
    """The directed part of a graph has a cycle; ``cycle`` holds the nodes in order."""

    def __init__(self, message: str, cycle: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.cycle = tuple(cycle)


class UnknownNodeError(GraphError):
    """A query or operation names a node that is not in the graph."""


class QueryError(DeepCauseError, ValueError):
    """A causal query is malformed (empty sets, treatment overlapping outcome, ...)."""


class NotIdentifiableError(DeepCauseError, ValueError):
    """A causal query cannot be computed from the observational distribution.

    The identification engine sets ``hedge`` (a pair of node sets ``(F, F_prime)``), ``query``
    (readable text of the query) and may add more structured detail.
    """

    def __init__(
        self,
        message: str,
        *,
        query: str = "",
        hedge: tuple[frozenset[str], frozenset[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.query = query
        self.hedge = hedge


class DataValidationError(DeepCauseError, ValueError):
    """Input data cannot be used as given (missing column, NaN, wrong type, ...)."""


class EstimandNotSupportedError(DeepCauseError, ValueError):
    """An estimator was given an estimand it cannot compute; the message names one that can."""


class NotFittedError(DeepCauseError, AttributeError):
    """A method that needs a fitted model was called before ``fit``."""


class InvalidParameterError(DeepCauseError, ValueError):
    """A hyper-parameter given to ``__init__`` is outside its declared constraints (checked in ``fit``)."""


class ModelFileError(DeepCauseError, ValueError):
    """A saved model file is missing, corrupt, tampered with or from an unknown format version."""


class DeepCauseWarning(UserWarning):
    """Base class of deepcause warnings."""


class PositivityWarning(DeepCauseWarning):
    """Treatment groups overlap poorly: some units have propensity scores near 0 or 1."""


class WeakInstrumentWarning(DeepCauseWarning):
    """An instrument is weak (first-stage F statistic below 10)."""

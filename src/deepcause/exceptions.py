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
    "OverlapError",
    "EstimandNotSupportedError",
    "NotFittedError",
    "InvalidParameterError",
    "ModelFileError",
    "PositivityWarning",
    "WeakInstrumentWarning",
    "DeepCauseWarning",
]


class DeepCauseError(Exception):
    """Base class of all deepcause errors.

    Examples
    --------
    >>> from deepcause import CausalGraph
    >>> try:
    ...     CausalGraph("X -> Y -> X")
    ... except ValueError as err:  # every DeepCauseError is also a built-in error type
    ...     print(type(err).__name__, "DeepCauseError" in [c.__name__ for c in type(err).__mro__])
    CycleError True
    """


class GraphError(DeepCauseError, ValueError):
    """A causal graph is malformed (cycle, self loop, contradictory edge, bad syntax...).

    Examples
    --------
    >>> from deepcause import CausalGraph
    >>> CausalGraph("X -> X")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.GraphError: ...
    """


class CycleError(GraphError):
    """The directed part of a graph has a cycle; ``cycle`` holds the nodes in order.

    Examples
    --------
    >>> from deepcause import CausalGraph
    >>> try:
    ...     CausalGraph("A -> B; B -> C; C -> A")
    ... except ValueError as err:
    ...     print(type(err).__name__, err.cycle)
    CycleError ('A', 'B', 'C', 'A')
    """

    def __init__(self, message: str, cycle: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.cycle = tuple(cycle)


class UnknownNodeError(GraphError):
    """A query or operation names a node that is not in the graph.

    Examples
    --------
    >>> from deepcause import CausalGraph
    >>> CausalGraph("X -> Y").parents("Z")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.UnknownNodeError: ...
    """


class QueryError(DeepCauseError, ValueError):
    """A causal query is malformed (empty sets, treatment overlapping outcome, ...).

    Examples
    --------
    >>> from deepcause import identify
    >>> identify("X -> Y", "X", "X")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.QueryError: ...
    """


class NotIdentifiableError(DeepCauseError, ValueError):
    """A causal query cannot be computed from the observational distribution.

    The identification engine sets ``hedge`` (a pair of node sets ``(F, F_prime)``), ``query``
    (readable text of the query) and may add more structured detail.

    Examples
    --------
    >>> from deepcause import identify
    >>> try:
    ...     identify("X -> Y; X <-> Y", "X", "Y")
    ... except ValueError as err:
    ...     print(type(err).__name__, sorted(err.hedge[0]))
    NotIdentifiableError ['X', 'Y']
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
    """Input data cannot be used as given (missing column, NaN, wrong type, ...).

    Examples
    --------
    >>> import pandas as pd
    >>> from deepcause.estimate import IPW
    >>> IPW().fit(pd.DataFrame({"t": [0, 1], "y": [1.0, 2.0]}), treatment="t", outcome="z")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: ...
    """


class OverlapError(DataValidationError):
    """No overlap: a covariate region where one treatment arm has no units (the effect there
    would be extrapolated); the message names the region and the fixes.

    Examples
    --------
    >>> import numpy as np
    >>> from deepcause.estimate import AIPW
    >>> x = np.linspace(-2, 2, 200)
    >>> AIPW().fit_arrays(X=x[:, None], t=(x > 0).astype(int), y=x)
    Traceback (most recent call last):
    ...
    deepcause.exceptions.OverlapError: AIPW: no overlap for the ATE, ATT and ATC — x0 separates ...
    """


class EstimandNotSupportedError(DeepCauseError, ValueError):
    """An estimator was given an estimand it cannot compute; the message names one that can.

    Examples
    --------
    >>> from deepcause import identify
    >>> from deepcause.estimate import IPW
    >>> from deepcause.simulate import make_frontdoor
    >>> ds = make_frontdoor(200, random_state=0)
    >>> IPW().fit(ds.data, identify(ds.graph, "X", "Y"))
    Traceback (most recent call last):
    ...
    deepcause.exceptions.EstimandNotSupportedError: ...
    """


class NotFittedError(DeepCauseError, AttributeError):
    """A method that needs a fitted model was called before ``fit``.

    Examples
    --------
    >>> from deepcause.estimate import IPW
    >>> IPW().ate()
    Traceback (most recent call last):
    ...
    deepcause.exceptions.NotFittedError: IPW is not fitted yet; call fit() first
    """


class InvalidParameterError(DeepCauseError, ValueError):
    """A hyper-parameter given to ``__init__`` is outside its declared constraints.

    Raised by ``fit``, which validates the declared ``_parameter_constraints`` first.

    Examples
    --------
    >>> issubclass(InvalidParameterError, ValueError)
    True
    """


class ModelFileError(DeepCauseError, ValueError):
    """A saved model file is missing, corrupt, tampered with or from an unknown format version.

    Examples
    --------
    >>> issubclass(ModelFileError, DeepCauseError) and issubclass(ModelFileError, ValueError)
    True
    """


class DeepCauseWarning(UserWarning):
    """Base class of deepcause warnings.

    Examples
    --------
    >>> issubclass(PositivityWarning, DeepCauseWarning)
    True
    """


class PositivityWarning(DeepCauseWarning):
    """Treatment groups overlap poorly: some units have propensity scores near 0 or 1.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("limited overlap", PositivityWarning)
    >>> caught[0].category.__name__
    'PositivityWarning'
    """


class WeakInstrumentWarning(DeepCauseWarning):
    """An instrument is weak (first-stage F statistic below 10).

    Examples
    --------
    >>> issubclass(WeakInstrumentWarning, DeepCauseWarning)
    True
    """

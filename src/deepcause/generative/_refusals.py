"""Refusals shared by the generative models' entry points (one line naming the problem and
the fix): a target given to ``fit`` beside the data, training rows that cannot be fitted, a
number of samples that is not one, and a ``sample(do=...)`` whose law is not identifiable.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_finite
from ..exceptions import DataValidationError, NotIdentifiableError
from ..graph.causal_graph import CausalGraph

__all__ = [
    "check_n",
    "check_training_rows",
    "hidden_confounders",
    "refuse_target",
    "sampling_refusal",
]


def refuse_target(model: Any, y: Any) -> None:
    """Refuse a target given to ``fit`` beside the data (scikit-learn's ``fit(X, y)``): the graph
    names every node, the outcome too, so its values are a column of the data. ``y=None`` is
    accepted, as scikit-learn's unsupervised estimators accept it (a ``Pipeline`` passes it).

    >>> from deepcause.generative import CausalGenerativeModel
    >>> refuse_target(CausalGenerativeModel("X -> Y"), np.zeros(3))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: CausalGenerativeModel.fit takes the data only: ...
    """
    if y is None:
        return
    name = getattr(y, "name", None)
    name = name if isinstance(name, str) and name.isidentifier() else "<outcome>"
    raise DataValidationError(
        f"{type(model).__name__}.fit takes the data only: the graph names the outcome, so give "
        "its values as a column of the data (fit(df) with every node's column, e.g. "
        f"df.assign({name}=y)), not as a second argument y"
    )


def check_training_rows(df: pd.DataFrame, columns: list[str]) -> None:
    """Refuse training data with missing or infinite values in ``columns`` or under 2 rows.

    >>> check_training_rows(pd.DataFrame({"x": [1.0]}), ["x"])
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: need at least 2 rows to fit, got 1
    """
    check_finite(df, columns)
    if len(df) < 2:
        raise DataValidationError(f"need at least 2 rows to fit, got {len(df)}")


def sampling_refusal(
    exc: NotIdentifiableError, graph: CausalGraph, treatment: Iterable[str], also: str = ""
) -> NotIdentifiableError:
    """``exc`` (from :func:`~deepcause.identification.identify`) for a refused
    ``sample(do=...)``: a self-contained first line naming the query, the hidden confounders
    behind it and what to do, then the identification engine's explanation.

    >>> from deepcause.graph.causal_graph import as_graph
    >>> from deepcause.identification import identify
    >>> graph = as_graph("Z -> X -> Y; X <-> Y")
    >>> try:
    ...     identify(graph, ["X"], ["Y"])
    ... except NotIdentifiableError as exc:
    ...     print(str(sampling_refusal(exc, graph, ["X"])).splitlines()[0])  # doctest: +ELLIPSIS
    sample(do={X}) refused: P(Y | do(X)) is not identifiable from observational data ...
    """
    first = (
        f"sample(do={{{', '.join(treatment)}}}) refused: {exc.query or 'the query'} is not "
        f"identifiable from observational data on this graph{hidden_confounders(exc, graph)}; "
        "intervene on other "
        "nodes, measure a mediator or the confounders (add them to the graph and data), or "
        f"bound the effect with deepcause.bounds{'; ' + also if also else ''} (details below)"
    )
    return NotIdentifiableError(f"{first}\n{exc}", query=exc.query, hedge=exc.hedge)


def hidden_confounders(exc: NotIdentifiableError, graph: CausalGraph) -> str:
    """`` (hidden confounders A <-> B, ...)`` inside the refused query's hedge, or ``""``."""
    hedge = exc.hedge[0] if exc.hedge else frozenset(graph.nodes)
    edges = [f"{a} <-> {b}" for a, b in graph.bidirected_edges if a in hedge and b in hedge]
    return f" (hidden confounders {', '.join(edges)})" if edges else ""


def check_n(n: Any) -> int:
    """``n`` as an ``int`` number of samples, refused unless a positive integer."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise DataValidationError(f"n must be a positive integer number of samples, got {n!r}")
    return int(n)

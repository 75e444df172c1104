"""``estimate_effect``: graph + data -> identified estimand -> a sensible estimator -> estimate.

Default method: AIPW for a back-door estimand with one binary treatment and one outcome,
FrontDoor for a front-door estimand, PlugIn for any other (discrete) identified estimand.

Graph and data must agree: a graph node that is not a data column is an error (every node of
the graph is an observed variable; unobserved confounding is written as ``A <-> B``). Data
columns that are not in the graph are ignored (listed in ``diagnostics["ignored_columns"]``),
or rejected with ``extra_columns="error"``.

>>> from deepcause.simulate import make_confounded_binary
>>> ds = make_confounded_binary(1000, n_covariates=2, random_state=0, population_truth=False)
>>> res = estimate_effect(ds.data, "x1 -> t; x2 -> t; x1 -> y; x2 -> y; t -> y", "t", "y")
>>> res.method, bool(abs(res.value - ds.truth["ATE"]) < 4 * res.std_error)
('AIPW', True)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pandas as pd

from .._validation import _close, require_dataframe
from ..exceptions import DataValidationError, EstimandNotSupportedError
from ..results import Diagnostics, EffectEstimate
from ._base import BaseEffectEstimator
from .iv.api import estimate_iv_effect, is_iv_method
from .registry import get_estimator_class

__all__ = ["estimate_effect", "default_method"]


def _is_binary(series: pd.Series) -> bool:
    values = set(pd.unique(series.dropna()).tolist())
    return len(values) <= 2 and values <= {0, 1}


def default_method(estimand: Any, data: pd.DataFrame) -> str:
    """The registry name of the default estimator for ``estimand`` on ``data``."""
    if estimand.kind == "frontdoor" and len(estimand.treatment) == 1:
        return "frontdoor"
    if (
        estimand.kind == "backdoor"
        and len(estimand.treatment) == 1
        and len(estimand.outcome) == 1
        and _is_binary(data[estimand.treatment[0]])
    ):
        return "aipw"
    return "plugin"


def _check_graph_columns(graph: Any, data: pd.DataFrame, extra_columns: str) -> list[str]:
    missing = [v for v in graph.nodes if v not in data.columns]
    if missing:
        parts = [f"{v!r}{_close(v, data.columns)}" for v in missing]
        raise DataValidationError(
            f"graph node(s) {', '.join(parts)} are not columns of the data; rename the columns "
            "or, if a variable is unobserved, replace it by a bidirected edge A <-> B between "
            "its children"
        )
    extra = [str(c) for c in data.columns if c not in set(graph.nodes)]
    if extra and extra_columns == "error":
        raise DataValidationError(
            f"data column(s) {extra} are not in the graph; add them to the graph or drop them "
            "(extra_columns='ignore' ignores them)"
        )
    if extra_columns not in ("ignore", "error"):
        raise ValueError(f"extra_columns must be 'ignore' or 'error', got {extra_columns!r}")
    return extra


def estimate_effect(
    data: pd.DataFrame,
    graph: Any,
    treatment: str,
    outcome: str,
    method: str | None = None,
    quantity: str = "ATE",
    *,
    params: Mapping[str, Any] | None = None,
    bootstrap: int = 0,
    random_state: Any = 0,
    extra_columns: str = "ignore",
) -> EffectEstimate:
    """Identify the effect of ``treatment`` on ``outcome`` in ``graph`` and estimate it.

    Parameters
    ----------
    data : one column per graph node (extra columns: see ``extra_columns``).
    graph : a :class:`~deepcause.graph.CausalGraph` or its text, e.g. ``"Z -> T -> Y; Z -> Y"``.
    method : registry name (see :func:`deepcause.estimate.registry.available_methods`);
        default chosen by :func:`default_method`.
    quantity : ``"ATE"``, ``"ATT"``, ``"ATC"`` (back-door estimators) — ``"ATO"`` for IPW.
    params : keyword arguments for the estimator.
    bootstrap : number of bootstrap resamples for percentile intervals (0: analytic intervals).
    """
    from ..graph.causal_graph import CausalGraph
    from ..identification.algorithm import identify

    data = require_dataframe(data)
    g = graph if isinstance(graph, CausalGraph) else CausalGraph(graph)
    ignored = _check_graph_columns(g, data, extra_columns)
    if is_iv_method(method) and quantity == "ATE":  # IV needs no back-door identification
        return estimate_iv_effect(
            data,
            g,
            treatment,
            outcome,
            method,
            params=params,
            bootstrap=bootstrap,
            random_state=random_state,
        )
    estimand = identify(g, treatment, outcome)
    name = method or default_method(estimand, data)
    cls = get_estimator_class(name)
    kwargs = dict(params or {})
    defaults = cls().get_params()
    if "random_state" in defaults and "random_state" not in kwargs:
        kwargs["random_state"] = random_state
    # estimators that read roles off the graph (Heckman: the selection equation)
    roles = {"graph": g} if "graph" in getattr(cls, "_roles", ()) else {}
    est = cls(**kwargs).fit(data, estimand, **roles)
    if isinstance(est, BaseEffectEstimator):
        if bootstrap and hasattr(est, "bootstrap"):
            result = est.bootstrap(quantity, n_boot=bootstrap, random_state=random_state)
        else:
            result = est.effect(quantity)
    elif quantity == "ATE":
        result = est.ate()
    else:
        raise EstimandNotSupportedError(
            f"{type(est).__name__} estimates the ATE only, not {quantity!r}; for ATT/ATC with a "
            "back-door estimand use method='aipw', 'ipw' or 'matching'"
        )
    diagnostics = Diagnostics.from_mapping(result.diagnostics)
    diagnostics = dataclasses.replace(
        diagnostics, extra={**diagnostics.extra, "ignored_columns": ignored}
    )
    return dataclasses.replace(result, estimand=estimand, diagnostics=diagnostics)

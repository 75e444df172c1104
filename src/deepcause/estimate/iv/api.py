"""``estimate_iv_effect``: graph + data + (optional) instruments -> IV estimate in one call.

The entry point for front-ends such as ``deepcause estimate --method 2sls --instrument Z``:
IV needs no back-door identification, so instead of ``identify`` the instruments are checked
against the graph (or found in it when not given).

>>> from deepcause.simulate.iv import make_linear_iv
>>> ds = make_linear_iv(2000, n_controls=0, random_state=0)
>>> res = estimate_iv_effect(ds.data, "z1 -> d -> y; z2 -> d; d <-> y", "d", "y", method="2sls")
>>> res.method, bool(abs(res.value - 2.0) < 4 * res.std_error)
('2SLS', True)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ...exceptions import DataValidationError
from ...results import EffectEstimate
from ._base import BaseIVEstimator

__all__ = ["estimate_iv_effect", "is_iv_method"]


def is_iv_method(method: str | None) -> bool:
    """Whether the registry name ``method`` is an instrumental-variable estimator."""
    if not method:
        return False
    from ..registry import get_estimator_class

    try:
        cls = get_estimator_class(method)
    except DataValidationError:
        return False
    return isinstance(cls, type) and issubclass(cls, BaseIVEstimator)


def estimate_iv_effect(
    data: pd.DataFrame,
    graph: Any,
    treatment: str,
    outcome: str,
    method: str = "2sls",
    *,
    instruments: Sequence[str] | None = None,
    controls: Sequence[str] | None = None,
    t0: float = 0.0,
    t1: float = 1.0,
    params: Mapping[str, Any] | None = None,
    bootstrap: int = 0,
    random_state: Any = 0,
) -> EffectEstimate:
    """Fit the IV estimator ``method`` and return the effect of moving ``treatment`` t0 -> t1.

    ``graph`` (a :class:`~deepcause.graph.CausalGraph`, its text, or ``None``) validates the
    instruments, or supplies them (with the controls they need) when ``instruments`` is None.
    ``bootstrap > 0`` gives percentile intervals from that many refits.
    """
    from ...graph.causal_graph import CausalGraph
    from ..registry import get_estimator_class

    cls = get_estimator_class(method)
    if not (isinstance(cls, type) and issubclass(cls, BaseIVEstimator)):
        raise DataValidationError(
            f"{method!r} is not an instrumental-variable method; use one of 2sls, wald, "
            "poly2sls, kerneliv"
        )
    g = graph if graph is None or isinstance(graph, CausalGraph) else CausalGraph(graph)
    if g is None and not instruments:
        raise DataValidationError(
            "an IV estimate needs instruments (e.g. --instrument Z) or a graph to find them in"
        )
    kwargs = dict(params or {})
    if "random_state" in cls().get_params() and "random_state" not in kwargs:
        kwargs["random_state"] = random_state
    est = cls(**kwargs).fit(
        data,
        graph=g,
        treatment=treatment,
        outcome=outcome,
        instruments=list(instruments) if instruments else None,
        controls=list(controls) if controls is not None else None,
    )
    if bootstrap:
        result = est.bootstrap(t0, t1, n_boot=bootstrap, random_state=random_state)
    else:
        result = est.effect(t0, t1)
    diagnostics = dict(result.diagnostics)
    diagnostics["estimator"] = est
    diagnostics["instruments"] = list(est.data_.instrument_names)
    diagnostics["controls"] = list(est.data_.control_names)
    return dataclasses.replace(result, diagnostics=diagnostics)

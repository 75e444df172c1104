"""``estimate_iv_effect``: graph + data + (optional) instruments -> IV estimate in one call.

The entry point for front-ends such as ``deepcause estimate --method 2sls --instrument Z``
(and :func:`deepcause.estimate.api.estimate_effect` with an IV method): IV needs no back-door
identification, so instead of ``identify`` the instruments are checked against the graph (or
found in it when not given).

>>> from deepcause.simulate.iv import make_linear_iv
>>> ds = make_linear_iv(2000, n_controls=0, random_state=0)
>>> res = estimate_iv_effect(ds.data, "z1 -> d -> y; z2 -> d; d <-> y", "d", "y", method="2sls")
>>> res.method, bool(abs(res.value - 2.0) < 4 * res.std_error), res.diagnostics.extra["instruments"]
('2SLS', True, ['z1', 'z2'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ...exceptions import DataValidationError
from ...results import EffectEstimate
from ..registry import get_estimator_class
from ._base import BaseIVEstimator

__all__ = ["estimate_iv_effect", "is_iv_method"]


def is_iv_method(method: str | None) -> bool:
    """Whether the registry name ``method`` is an instrumental-variable estimator.

    Examples
    --------
    >>> is_iv_method("2sls"), is_iv_method("aipw"), is_iv_method(None)
    (True, False, False)
    """
    if not method:
        return False
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
    covariates: Sequence[str] | None = None,
    treatment_value: float = 1.0,
    control_value: float = 0.0,
    params: Mapping[str, Any] | None = None,
    bootstrap: int = 0,
    random_state: Any = None,
) -> EffectEstimate:
    """Fit the IV estimator ``method`` and return ``effect(treatment=..., control=...)``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit.
    graph : CausalGraph, str or None
        Validates the instruments, or supplies them (with the covariates they need) when
        ``instruments`` is None.
    treatment, outcome : str
        Column names.
    method : str, default "2sls"
        Registry name of an IV estimator (``2sls``, ``wald``, ``poly2sls``, ``kerneliv``,
        ``dfiv``, ``deepiv``, ``cbiv``).
    instruments, covariates : sequence of str, optional
        The roles of :meth:`BaseIVEstimator.fit`.
    treatment_value, control_value : float
        The effect of moving the treatment from ``control_value`` to ``treatment_value``.
    params : mapping, optional
        Keyword arguments of the estimator.
    bootstrap : int, default 0
        Number of bootstrap refits for a percentile interval (0: analytic interval).
    random_state : int, Generator or None
        Seed of the estimator (when it takes one) and of the bootstrap.

    Returns
    -------
    EffectEstimate
        With the instruments and covariates used in ``diagnostics.extra``.

    Examples
    --------
    >>> from deepcause.simulate.iv import make_linear_iv
    >>> ds = make_linear_iv(2000, effect=2.0, random_state=0)
    >>> res = estimate_iv_effect(ds.data, None, "d", "y", instruments=["z1", "z2"],
    ...                          covariates=["x1", "x2"], treatment_value=2.0)
    >>> round(res.value, 1), res.query
    (4.0, 'E[y | do(d=2)] − E[y | do(d=0)]')
    """
    cls = get_estimator_class(method)
    if not (isinstance(cls, type) and issubclass(cls, BaseIVEstimator)):
        raise DataValidationError(
            f"{method!r} is not an instrumental-variable method; use one of 2sls, wald, "
            "poly2sls, kerneliv, dfiv, deepiv, cbiv"
        )
    if graph is None and not instruments:
        raise DataValidationError(
            "an IV estimate needs instruments (e.g. --instrument Z) or a graph to find them in"
        )
    kwargs = dict(params or {})
    if "random_state" in cls().get_params() and "random_state" not in kwargs:
        kwargs["random_state"] = random_state
    est = cls(**kwargs).fit(
        data,
        treatment=treatment,
        outcome=outcome,
        instruments=list(instruments) if instruments else None,
        covariates=list(covariates) if covariates is not None else None,
        graph=graph,
    )
    ask = dict(treatment=treatment_value, control=control_value)
    if bootstrap:
        return est.bootstrap(n_boot=bootstrap, random_state=random_state, **ask)
    return est.effect(**ask)

"""The front doors: ``refute(estimator, data, method=...)`` and ``sensitivity(method, ...)``.

Results do not hold the estimator and the data they came from, so checking an estimate goes
through these two functions (and ``deepcause refute`` on the command line).

>>> sorted(REFUTERS)[:3]
['bootstrap', 'data_subsets', 'dummy_outcome']
>>> round(sensitivity("evalue", 3.9, lower=1.8, upper=8.7).point, 2)
7.26
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from ...exceptions import DataValidationError
from .negative import dummy_outcome, negative_control_exposure, negative_control_outcome
from .ovb import ovb_sensitivity
from .refuters import (
    bootstrap_refuter,
    data_subsets,
    placebo_treatment,
    random_common_cause,
)
from .results import RefutationResult
from .sensitivity import evalue, rosenbaum_bounds

__all__ = ["REFUTERS", "SENSITIVITY", "refute", "sensitivity"]

#: method name -> refuter function
REFUTERS: dict[str, Callable[..., RefutationResult]] = {
    "placebo_treatment": placebo_treatment,
    "random_common_cause": random_common_cause,
    "data_subsets": data_subsets,
    "bootstrap": bootstrap_refuter,
    "dummy_outcome": dummy_outcome,
    "negative_control_outcome": negative_control_outcome,
    "negative_control_exposure": negative_control_exposure,
}
#: method name -> sensitivity analysis
SENSITIVITY: dict[str, Callable[..., Any]] = {
    "evalue": evalue,
    "ovb": ovb_sensitivity,
    "rosenbaum": rosenbaum_bounds,
}


def _lookup(table: dict[str, Callable[..., Any]], method: str, what: str) -> Callable[..., Any]:
    key = str(method).lower().replace("-", "_").replace(" ", "_")
    if key not in table:
        raise DataValidationError(f"unknown {what} {method!r}; available: {sorted(table)}")
    return table[key]


def refute(
    estimator: Any,
    data: pd.DataFrame,
    method: str | Sequence[str] = "placebo_treatment",
    **kwargs: Any,
) -> RefutationResult | list[RefutationResult]:
    """Run one refuter (``method`` a name) or several (a list of names) on ``estimator``.

    Parameters
    ----------
    estimator : effect estimator
        Fitted or not; clones are refitted.
    data : DataFrame
        The data the estimate came from.
    method : str or list of str
        A name in :data:`REFUTERS`: ``placebo_treatment``, ``random_common_cause``,
        ``data_subsets``, ``bootstrap``, ``dummy_outcome``, ``negative_control_outcome``,
        ``negative_control_exposure``.
    **kwargs
        Roles (``treatment=``, ``outcome=``, ``covariates=``, ...) and the refuter's options
        (``n_simulations=``, ``random_state=``, ``negative_control=``, ...); with a list of
        methods each refuter receives the options it takes.

    Returns
    -------
    RefutationResult, or a list of them for a list of methods

    Examples
    --------
    >>> from deepcause.estimate import IPW
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(600, n_covariates=2, random_state=0,
    ...                             population_truth=False).data
    >>> out = refute(IPW(), df, ["placebo_treatment", "data_subsets"], treatment="t",
    ...              outcome="y", covariates=["x1", "x2"], n_simulations=3, random_state=0)
    >>> [r.passed for r in out]
    [True, True]
    """
    if isinstance(method, str):
        return _lookup(REFUTERS, method, "refuter")(estimator, data, **kwargs)
    out = []
    for name in method:
        fn = _lookup(REFUTERS, name, "refuter")
        params = inspect.signature(fn).parameters
        options = {
            k: v
            for k, v in kwargs.items()
            if k in params or k in ("instruments", "mediators", "selection", "graph")
        }
        out.append(fn(estimator, data, **options))
    return out


def sensitivity(method: str, *args: Any, **kwargs: Any) -> Any:
    """Run a sensitivity analysis by name: ``"evalue"``, ``"ovb"`` or ``"rosenbaum"``.

    ``sensitivity("evalue", estimate, ...)`` is :func:`~.sensitivity.evalue`,
    ``sensitivity("ovb", data, treatment=, outcome=, covariates=, ...)`` is
    :func:`~.ovb.ovb_sensitivity` and ``sensitivity("rosenbaum", treated, control, ...)`` is
    :func:`~.sensitivity.rosenbaum_bounds`.

    Returns
    -------
    EValueResult, OVBResult or RosenbaumResult

    Examples
    --------
    >>> r = sensitivity("rosenbaum", [1.0] * 9 + [-1.0], test="sign", gammas=[1, 2])
    >>> r.table["p_upper"].round(4).tolist()
    [0.0107, 0.104]
    """
    return _lookup(SENSITIVITY, method, "sensitivity method")(*args, **kwargs)

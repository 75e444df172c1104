"""``estimate_effect``: graph + data -> identified estimand -> a sensible estimator -> estimate.

Default method: AIPW for a back-door estimand with one binary treatment and one outcome,
FrontDoor for a front-door estimand, PlugIn for any other (discrete) identified estimand. The
default AIPW (:class:`~deepcause.estimate.doubly_robust.AIPW`) cross-fits super-learner
nuisances and uses the population's own efficient score (``population="treated"``: the ATT
score with odds weights); its defaults were chosen on generated data only
(``benchmarks/results/study_defaults.md``).

Graph and data must agree: a graph node that is not a data column is an error (every node of
the graph is an observed variable; unobserved confounding is written as ``A <-> B``). Data
columns that are not in the graph are ignored (listed in ``diagnostics.extra["ignored_columns"]``
and in a note of the summary), or rejected with ``extra_columns="error"``.

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
from ..graph.causal_graph import CausalGraph
from ..identification import identify
from ..results import EffectEstimate
from .iv.api import estimate_iv_effect, is_iv_method
from .registry import get_estimator_class

__all__ = ["estimate_effect", "default_method"]


def _is_binary(series: pd.Series) -> bool:
    if hasattr(series, "compute"):  # a Dask column: its distinct values, reduced
        series = series.map_partitions(pd.Series.drop_duplicates).compute()
    values = set(pd.unique(series.dropna()).tolist())
    return len(values) <= 2 and values <= {0, 1}


def default_method(estimand: Any, data: pd.DataFrame) -> str:
    """The registry name of the default estimator for ``estimand`` on ``data``.

    >>> import pandas as pd
    >>> from deepcause.identification import identify
    >>> df = pd.DataFrame({"Z": [0, 1], "T": [0, 1], "Y": [0.5, 1.5]})
    >>> default_method(identify("Z -> T -> Y; Z -> Y", "T", "Y"), df)
    'aipw'
    """
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
    population: str = "all",
    *,
    treatment_value: Any = 1,
    control_value: Any = 0,
    params: Mapping[str, Any] | None = None,
    bootstrap: int = 0,
    random_state: Any = 0,
    extra_columns: str = "ignore",
    scheduler: Any = None,
) -> EffectEstimate:
    """Identify the effect of ``treatment`` on ``outcome`` in ``graph`` and estimate it.

    Parameters
    ----------
    data : DataFrame
        One column per graph node (extra columns: see ``extra_columns``).
    graph : CausalGraph or str
        The causal graph or its text, e.g. ``"Z -> T -> Y; Z -> Y"``.
    treatment, outcome : str
        Column names.
    method : str, optional
        Registry name (see :func:`deepcause.estimate.registry.available_methods`); default
        chosen by :func:`default_method`.
    population : {"all", "treated", "controls", "overlap"}, default "all"
        Whose effect (``"overlap"`` for IPW only).
    treatment_value, control_value : default 1 and 0
        The contrast ``E[Y | do(T=treatment_value)] − E[Y | do(T=control_value)]``.
    params : mapping, optional
        Keyword arguments for the estimator.
    bootstrap : int, default 0
        Bootstrap resamples for percentile intervals (0: the estimator's own interval).
    random_state : int, Generator or None, default 0
        Seed of the estimator (when it has one) and of the bootstrap.
    extra_columns : {"ignore", "error"}, default "ignore"
        What to do with data columns that are not graph nodes.
    scheduler : str or distributed.Client, optional
        For a ``dask.dataframe.DataFrame`` (the out-of-core engine,
        :mod:`deepcause.estimate.distributed`): the address of a ``dask.distributed``
        scheduler (``"tcp://host:8786"``) or a client; default the current client, or Dask's
        local scheduler.

    Returns
    -------
    EffectEstimate
        With the identified estimand attached; the fitted estimator is not kept (fit one
        yourself with :func:`deepcause.estimate.registry.make_estimator` to reuse it).

    Examples
    --------
    >>> from deepcause.datasets import load_kidney_stones
    >>> df = load_kidney_stones().data
    >>> res = estimate_effect(df, "stone_size -> treatment -> success; stone_size -> success",
    ...                       "treatment", "success", treatment_value="A", control_value="B")
    >>> res.method, round(res.value, 4)
    ('PlugIn', 0.0537)
    """
    options = dict(
        treatment_value=treatment_value,
        control_value=control_value,
        params=params,
        bootstrap=bootstrap,
        random_state=random_state,
        extra_columns=extra_columns,
    )
    if type(data).__module__.startswith("dask"):  # out of core, on the given scheduler
        from .distributed import dask_scheduler

        with dask_scheduler(scheduler):
            return _estimate(data, graph, treatment, outcome, method, population, options)
    data = require_dataframe(data)
    return _estimate(data, graph, treatment, outcome, method, population, options)


def _estimate(
    data: Any, graph: Any, treatment: str, outcome: str, method: Any, population: str, options: dict
) -> EffectEstimate:
    """The body of :func:`estimate_effect` (``options``: its keyword arguments)."""
    treatment_value, control_value = options["treatment_value"], options["control_value"]
    params, bootstrap = options["params"], options["bootstrap"]
    random_state, extra_columns = options["random_state"], options["extra_columns"]
    g = graph if isinstance(graph, CausalGraph) else CausalGraph(graph)
    ignored = _check_graph_columns(g, data, extra_columns)
    if is_iv_method(method):  # IV needs no back-door identification
        if population != "all":
            raise EstimandNotSupportedError(
                f"instrumental-variable methods estimate the effect over everyone "
                f"(population='all'), not population={population!r}"
            )
        return estimate_iv_effect(
            data,
            g,
            treatment,
            outcome,
            method,
            treatment_value=treatment_value,
            control_value=control_value,
            params=params,
            bootstrap=bootstrap,
            random_state=random_state,
        )
    estimand = identify(g, treatment, outcome)
    cls = get_estimator_class(method or default_method(estimand, data))
    kwargs = dict(params or {})
    defaults = cls().get_params()
    if "random_state" in defaults and "random_state" not in kwargs:
        kwargs["random_state"] = random_state
    if "graph" in defaults and "graph" not in kwargs:  # estimators that read roles off the graph
        kwargs["graph"] = g
    roles = {"graph": g} if "graph" in getattr(cls, "_roles", ()) else {}
    est = cls(**kwargs).fit(data, estimand, **roles)
    ask = dict(treatment=treatment_value, control=control_value, population=population)
    if bootstrap:
        result = est.bootstrap(bootstrap, random_state=random_state, **ask)
    else:
        result = est.effect(**ask)
    diag = result.diagnostics
    note = (f"columns not in the graph (ignored): {ignored}",) if ignored else ()
    diag = dataclasses.replace(
        diag, notes=(*diag.notes, *note), extra={**diag.extra, "ignored_columns": ignored}
    )
    return dataclasses.replace(result, estimand=estimand, diagnostics=diag)

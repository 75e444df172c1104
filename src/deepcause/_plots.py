"""Plots of a fit's :class:`~deepcause.results.Diagnostics`: propensity overlap and covariate balance.

They sit next to the result objects (below the estimators) so that
:meth:`deepcause.results.EffectEstimate.report` can draw them; ``deepcause.estimate`` re-exports
both. matplotlib is imported only when a plot is drawn.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import numpy as np
>>> from deepcause.results import Diagnostics
>>> d = Diagnostics(propensity=np.array([0.2, 0.4, 0.6, 0.8]), treatment=np.array([0, 0, 1, 1]))
>>> plot_overlap(d).get_title()
'Propensity overlap'
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_overlap", "plot_balance"]


# duck-typed, so that results.py (which draws these in EffectEstimate.report) needs no cycle
_FIELDS = ("propensity", "treatment", "balance", "overlap")


def _is_diagnostics(obj: Any) -> bool:
    return all(hasattr(obj, name) for name in _FIELDS) and not isinstance(obj, type)


def _diagnostics_of(obj: Any) -> Any:
    if _is_diagnostics(obj):
        return obj
    diag = getattr(obj, "diagnostics", None)
    if not _is_diagnostics(diag):
        raise TypeError(
            f"expected an EffectEstimate or its Diagnostics, got {type(obj).__name__}; plot the "
            "result of est.effect(...)"
        )
    return diag


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plotting needs matplotlib: pip install 'deepcause[plot]' (or pip install matplotlib)"
        ) from exc
    return plt


def plot_overlap(obj: Any, ax: Any = None, bins: int = 30) -> Any:
    """Histogram of propensity scores by treatment arm; returns the matplotlib Axes.

    ``obj`` is an :class:`~deepcause.results.EffectEstimate` (or its ``Diagnostics``) whose
    estimator reported propensity scores.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from deepcause.estimate import IPW
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(300, random_state=0, population_truth=False).data
    >>> res = IPW().fit(df, treatment="t", outcome="y").effect()
    >>> plot_overlap(res).get_xlabel()
    'propensity score'
    """
    diag = _diagnostics_of(obj)
    if diag.propensity is None or diag.treatment is None:
        raise ValueError("these diagnostics have no propensity scores to plot")
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    e, t = diag.propensity, diag.treatment
    edges = np.linspace(0, 1, bins + 1)
    ax.hist(e[t == 1], bins=edges, alpha=0.6, density=True, label="treated")
    ax.hist(e[t == 0], bins=edges, alpha=0.6, density=True, label="control")
    ax.set_xlabel("propensity score")
    ax.set_ylabel("density")
    ax.set_title("Propensity overlap")
    ax.legend()
    return ax


def plot_balance(obj: Any, ax: Any = None, threshold: float = 0.1) -> Any:
    """Love plot: |SMD| of each covariate before and after weighting; returns the Axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from deepcause.estimate import EntropyBalancing
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(300, random_state=0, population_truth=False).data
    >>> res = EntropyBalancing().fit(df, treatment="t", outcome="y").att()
    >>> len(plot_balance(res).get_yticklabels())
    5
    """
    table = _diagnostics_of(obj).balance
    if table is None or len(table) == 0:
        raise ValueError("these diagnostics have no covariate balance table to plot")
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.3 * len(table) + 1.5))
    pos = np.arange(len(table))
    ax.scatter(np.abs(table["smd_before"]), pos, label="before", marker="o")
    if table["smd_after"].notna().any():
        ax.scatter(np.abs(table["smd_after"]), pos, label="after", marker="x")
    ax.axvline(threshold, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(pos, list(map(str, table.index)))
    ax.set_xlabel("|standardized mean difference|")
    ax.set_title("Covariate balance")
    ax.legend()
    return ax

"""Figures of a report: the causal graph and the refutations (matplotlib, imported lazily).

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from deepcause.graph import CausalGraph
>>> ax = plot_graph(CausalGraph("z -> t -> y; z -> y; t <-> y"), treatment="t", outcome="y")
>>> sorted(t.get_text() for t in ax.texts)
['t', 'y', 'z']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np

from .._plots import _pyplot
from ..graph.causal_graph import as_graph

__all__ = ["plot_graph", "plot_refutations", "graph_layout", "graph_figsize"]

_ROLE_COLORS = {
    "treatment": "#8fb3e8",
    "outcome": "#f2b36f",
    "adjustment": "#a9d8a5",
    "instrument": "#d5b8ea",
    "other": "#e4e7ec",
}
_NODE_SIZE = 1500


def _axes(ax: Any, size: tuple[float, float]) -> Any:
    return ax if ax is not None else _pyplot().subplots(figsize=size)[1]


def graph_layout(graph: Any) -> dict[str, np.ndarray]:
    """Node positions in grid units: causes to the left, one column per topological generation
    of the directed part, the nodes of a column one unit apart and centred on 0.

    Examples
    --------
    >>> pos = graph_layout("a -> b -> c; a -> d")
    >>> pos["a"].tolist(), pos["b"].tolist(), pos["d"].tolist()
    ([0.0, 0.0], [1.6, 0.5], [1.6, -0.5])
    """
    g = as_graph(graph)
    dag = nx.DiGraph()
    dag.add_nodes_from(g.nodes)
    dag.add_edges_from(g.directed_edges)
    order = {v: i for i, v in enumerate(g.nodes)}
    pos = {}
    for layer, nodes in enumerate(nx.topological_generations(dag)):
        ranked = sorted(nodes, key=order.__getitem__)
        for i, node in enumerate(ranked):
            pos[node] = np.array([1.6 * layer, (len(ranked) - 1) / 2 - i])
    return pos


def graph_figsize(graph: Any) -> tuple[float, float]:
    """The figure size (inches) at which :func:`plot_graph`'s nodes do not overlap.

    >>> graph_figsize("a -> b")
    (4.4, 2.6)
    """
    pos = graph_layout(graph)
    xs = {float(p[0]) for p in pos.values()}
    rows = max(np.unique([float(p[0]) for p in pos.values()], return_counts=True)[1])
    return (round(1.6 * len(xs) + 1.2, 2), round(0.8 * int(rows) + 1.8, 2))


def _roles(g: Any, treatment: Any, outcome: Any, adjustment: Any, instruments: Any) -> list[str]:
    named = {
        **{v: "instrument" for v in instruments or ()},
        **{v: "adjustment" for v in adjustment or ()},
        **{v: "outcome" for v in ([outcome] if outcome else [])},
        **{v: "treatment" for v in ([treatment] if treatment else [])},
    }
    return [named.get(v, "other") for v in g.nodes]


def plot_graph(
    graph: Any,
    ax: Any = None,
    *,
    treatment: str | None = None,
    outcome: str | None = None,
    adjustment: Sequence[str] = (),
    instruments: Sequence[str] = (),
) -> Any:
    """Draw a causal graph: directed edges solid, bidirected edges dashed with two heads.

    Parameters
    ----------
    graph : CausalGraph or str
        The graph (or its text).
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).
    treatment, outcome : str, optional
        Coloured as such.
    adjustment, instruments : sequence of str
        Coloured as the adjustment set and as instruments.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_graph("z -> t -> y; z -> y", treatment="t", outcome="y", adjustment=["z"])
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['treatment', 'outcome', 'adjustment set', 'directed edge']
    """
    g = as_graph(graph)
    pos = graph_layout(g)
    ax = _axes(ax, graph_figsize(g))
    roles = _roles(g, treatment, outcome, adjustment, instruments)
    dag = nx.DiGraph()
    dag.add_nodes_from(g.nodes)
    nx.draw_networkx_nodes(
        dag,
        pos,
        ax=ax,
        node_color=[_ROLE_COLORS[r] for r in roles],
        node_size=_NODE_SIZE,
        edgecolors="#1d2330",
    )
    nx.draw_networkx_labels(dag, pos, ax=ax, font_size=8)
    # edges that skip a layer bend, so they do not run through the nodes in between
    near = [(u, v) for u, v in g.directed_edges if _span(pos, u, v) <= 1]
    far = [e for e in g.directed_edges if e not in set(near)]
    common = dict(ax=ax, arrows=True, arrowsize=15, node_size=_NODE_SIZE, width=1.3)
    nx.draw_networkx_edges(dag, pos, edgelist=near, arrowstyle="-|>", **common)
    for sign in (-1, 1):  # bend away from the middle row
        side = [(u, v) for u, v in far if (pos[u][1] + pos[v][1] >= 0) == (sign < 0)]
        nx.draw_networkx_edges(
            dag, pos, edgelist=side, arrowstyle="-|>", connectionstyle=f"arc3,rad={0.3 * sign}",
            **common,
        )  # fmt: skip
    nx.draw_networkx_edges(
        dag,
        pos,
        edgelist=list(g.bidirected_edges),
        arrowstyle="<|-|>",
        style="dashed",
        edge_color="#b3261e",
        connectionstyle="arc3,rad=0.4",
        **common,
    )
    _legend(ax, roles, bool(g.directed_edges), bool(g.bidirected_edges))
    ax.set_axis_off()
    ax.margins(x=0.12, y=0.15)
    return ax


def _span(pos: dict[str, np.ndarray], u: str, v: str) -> int:
    xs = sorted({round(float(p[0]), 6) for p in pos.values()})
    return abs(xs.index(round(float(pos[v][0]), 6)) - xs.index(round(float(pos[u][0]), 6)))


def _legend(ax: Any, roles: list[str], directed: bool, bidirected: bool) -> None:
    from matplotlib.lines import Line2D  # matplotlib is optional: guarded by _axes

    names = {"adjustment": "adjustment set"}
    handles = [
        Line2D([], [], marker="o", linestyle="", markersize=10, markeredgecolor="#1d2330",
               markerfacecolor=_ROLE_COLORS[r], label=names.get(r, r))
        for r in ("treatment", "outcome", "adjustment", "instrument")
        if r in roles
    ]  # fmt: skip
    if directed:
        handles.append(Line2D([], [], color="black", label="directed edge"))
    if bidirected:
        handles.append(
            Line2D([], [], color="#b3261e", linestyle="--", label="bidirected (latent confounder)")
        )
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3,
              frameon=False, fontsize=8)  # fmt: skip


def plot_refutations(results: Sequence[Any], ax: Any = None) -> Any:
    """One row per refuter: its new estimates (dots), the value they should match (bar).

    Green dots: the estimate passed that refuter; red: it failed. The dashed line is the
    original estimate.

    Parameters
    ----------
    results : sequence of RefutationResult
        From :func:`deepcause.estimate.refute.refute`.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from deepcause.estimate import IPW
    >>> from deepcause.estimate.refute import refute
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(500, n_covariates=2, random_state=0,
    ...                             population_truth=False).data
    >>> res = refute(IPW(), df, ["placebo_treatment", "data_subsets"], treatment="t",
    ...              outcome="y", covariates=["x1", "x2"], n_simulations=3, random_state=0)
    >>> [t.get_text() for t in plot_refutations(res).get_yticklabels()]
    ['placebo treatment', 'data subsets']
    """
    if not results:
        raise ValueError("no refutation results to plot")
    ax = _axes(ax, (6.5, 0.55 * len(results) + 1.4))
    rows = np.arange(len(results))[::-1]
    for row, res in zip(rows, results):
        est = np.asarray(res.estimates, dtype=float)
        color = "#1f7a3a" if res.passed else "#b3261e"
        ax.scatter(est, np.full(est.size, row), s=18, color=color, alpha=0.7, zorder=3)
        ax.plot([res.reference] * 2, [row - 0.3, row + 0.3], color="black", linewidth=2)
    ax.axvline(results[0].original.value, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(rows, [r.refuter for r in results])
    ax.set_ylim(-0.7, len(results) - 0.3)
    ax.set_xlabel("estimate (dots: refits; bar: the value each should match; dashed: original)")
    ax.set_title("Refutations")
    return ax

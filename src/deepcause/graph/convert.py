"""Conversions of causal graphs to and from networkx and Graphviz DOT.

The functions work on edge lists, so :class:`~deepcause.graph.causal_graph.CausalGraph` uses them
for :meth:`~deepcause.graph.causal_graph.CausalGraph.from_networkx`,
:meth:`~deepcause.graph.causal_graph.CausalGraph.to_networkx` and
:meth:`~deepcause.graph.causal_graph.CausalGraph.to_dot` without this module depending on it.

>>> g = to_networkx(["X", "Y"], [("X", "Y")], [("X", "Y")])
>>> sorted(g.edges(data=True))
[('X', 'Y', {'directed': True, 'bidirected': True}), ('Y', 'X', {'bidirected': True, 'directed': False})]
>>> networkx_edges(g)
(['X', 'Y'], [('X', 'Y')], [('X', 'Y'), ('Y', 'X')])
>>> print(dot_text(["X", "Y"], [("X", "Y")], []))
digraph {
  "X";
  "Y";
  "X" -> "Y";
}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import networkx as nx

from ..exceptions import GraphError

__all__ = ["networkx_edges", "to_networkx", "dot_text"]

Edges = Iterable[tuple[str, str]]


def networkx_edges(graph: Any) -> tuple[list[str], list[tuple[str, str]], list[tuple[str, str]]]:
    """``(nodes, directed, bidirected)`` of a networkx ``DiGraph``.

    An edge ``(u, v)`` is directed unless it has ``bidirected=True`` (then it is directed too
    only if it also has ``directed=True``, as :func:`to_networkx` writes bow arcs).

    >>> networkx_edges(nx.DiGraph([("A", "B")]))
    (['A', 'B'], [('A', 'B')], [])
    """
    if not isinstance(graph, nx.DiGraph) or graph.is_multigraph():
        raise GraphError(f"from_networkx expects a networkx.DiGraph, got {type(graph).__name__}")
    directed, bidirected = [], []
    for u, v, data in graph.edges(data=True):
        if data.get("bidirected", False):
            bidirected.append((u, v))
            if data.get("directed", False):
                directed.append((u, v))
        else:
            directed.append((u, v))
    return list(graph.nodes), directed, bidirected


def to_networkx(nodes: Sequence[str], directed: Edges, bidirected: Edges) -> nx.DiGraph:
    """A networkx ``DiGraph``; bidirected edges become pairs ``(u, v), (v, u)`` with
    ``bidirected=True`` (a directed edge in the same place also gets ``directed=True``).

    >>> sorted(to_networkx(["A", "B"], [("A", "B")], []).edges)
    [('A', 'B')]
    """
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    for u, v in directed:
        g.add_edge(u, v, directed=True)
    for u, v in bidirected:
        for a, b in ((u, v), (v, u)):
            g.add_edge(a, b, bidirected=True, directed=g.has_edge(a, b))
    return g


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\") + '"'


def dot_text(nodes: Sequence[str], directed: Edges, bidirected: Edges) -> str:
    """Graphviz DOT text; bidirected edges are dashed with arrowheads at both ends.

    >>> dot_text(["A", "B"], [], [("A", "B")]).splitlines()[3]
    '  "A" -> "B" [dir=both, style=dashed, constraint=false];'
    """
    lines = ["digraph {"]
    lines += [f"  {_quote(n)};" for n in nodes]
    lines += [f"  {_quote(u)} -> {_quote(v)};" for u, v in directed]
    lines += [
        f"  {_quote(u)} -> {_quote(v)} [dir=both, style=dashed, constraint=false];"
        for u, v in bidirected
    ]
    lines.append("}")
    return "\n".join(lines)

"""Hypothesis strategies for random causal graphs (imports ``hypothesis``)."""

from __future__ import annotations

from hypothesis import strategies as st

from ..graph import CausalGraph
from .random_graphs import node_names, random_admg

__all__ = ["admgs", "random_admg"]


@st.composite
def admgs(
    draw: st.DrawFn,
    min_nodes: int = 2,
    max_nodes: int = 8,
    p_directed: float = 0.4,
    p_bidirected: float = 0.2,
) -> CausalGraph:
    """Random acyclic ADMGs over nodes ``A``, ``B``, ... (shrinking towards fewer edges).

    Directed edges only go from earlier to later nodes of a random order, so every drawn graph
    is acyclic; each node pair gets a directed edge with probability ``p_directed`` and,
    independently, a bidirected edge with probability ``p_bidirected``.
    """
    n = draw(st.integers(min_nodes, max_nodes))
    names = node_names(n)
    order = draw(st.permutations(names))
    directed, bidirected = [], []
    # a draw of 0 (the shrink target) means "no edge"
    thr_d, thr_b = 1000 - round(1000 * p_directed), 1000 - round(1000 * p_bidirected)
    for i in range(n):
        for j in range(i + 1, n):
            if draw(st.integers(0, 999)) >= thr_d:
                directed.append((order[i], order[j]))
            if draw(st.integers(0, 999)) >= thr_b:
                bidirected.append((order[i], order[j]))
    return CausalGraph(nodes=names, directed=directed, bidirected=bidirected)

"""Hypothesis strategies for random causal graphs (imports ``hypothesis``)."""

from __future__ import annotations

from hypothesis import strategies as st

from ..graph.causal_graph import CausalGraph
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
    independently, a bidirected edge with probability ``p_bidirected`` (to 1/256).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, deadline=None)
    ... @given(admgs(max_nodes=5))
    ... def check(g):
    ...     assert 2 <= len(g.nodes) <= 5 and g.topological_order()
    >>> check()
    """
    n = draw(st.integers(min_nodes, max_nodes))
    names = node_names(n)
    order = draw(st.permutations(names))
    pairs = [(order[i], order[j]) for i in range(n) for j in range(i + 1, n)]
    # one byte per decision: hypothesis draws bytes uniformly (its integers favour small
    # values, which would make graphs sparser than asked), and shrinks them towards 0 = no edge
    coins = draw(st.binary(min_size=2 * len(pairs), max_size=2 * len(pairs)))
    thr_d, thr_b = round((1 - p_directed) * 256), round((1 - p_bidirected) * 256)
    directed = [e for e, c in zip(pairs, coins[::2]) if c >= thr_d]
    bidirected = [e for e, c in zip(pairs, coins[1::2]) if c >= thr_b]
    return CausalGraph(nodes=names, directed=directed, bidirected=bidirected)

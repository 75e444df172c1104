"""Hypothesis strategies for random causal graphs (imports ``hypothesis``)."""

from __future__ import annotations

from hypothesis import strategies as st

from ..graph import CausalGraph
from .random_graphs import node_names, random_admg

__all__ = ["admgs", "random_admg"]


_BITS = 6


def _coin(p: float) -> st.SearchStrategy[bool]:
    """True with probability ``p`` (to 1/64), shrinking to False.

    Built from fair booleans because hypothesis draws integers with a bias towards small
    values, which would make graphs much sparser than asked.
    """
    threshold = round((1 - p) * 2**_BITS)
    bits = st.tuples(*[st.booleans()] * _BITS)
    return bits.map(lambda b: sum(int(v) << (_BITS - 1 - k) for k, v in enumerate(b)) >= threshold)


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
    for i in range(n):
        for j in range(i + 1, n):
            if draw(_coin(p_directed)):
                directed.append((order[i], order[j]))
            if draw(_coin(p_bidirected)):
                bidirected.append((order[i], order[j]))
    return CausalGraph(nodes=names, directed=directed, bidirected=bidirected)

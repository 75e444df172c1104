"""Random acyclic directed mixed graphs for benchmarks and tests (numpy only)."""

from __future__ import annotations

import numpy as np

from ..graph.causal_graph import CausalGraph

__all__ = ["node_names", "random_admg"]


def node_names(n: int) -> list[str]:
    """``n`` short node names: ``A`` ... ``Z`` for up to 26 nodes, else ``V0``, ``V1``, ...

    >>> node_names(3), node_names(30)[:2]
    (['A', 'B', 'C'], ['V0', 'V1'])
    """
    if n <= 26:
        return [chr(ord("A") + i) for i in range(n)]
    return [f"V{i}" for i in range(n)]


def random_admg(
    n_nodes: int,
    avg_degree: float = 3.0,
    frac_bidirected: float = 0.2,
    random_state: int | np.random.Generator | None = None,
) -> CausalGraph:
    """A random ADMG with about ``n_nodes * avg_degree / 2`` edges.

    Node pairs are drawn uniformly; a fraction ``frac_bidirected`` of them become bidirected
    edges, the others are directed from the earlier to the later node of a random order, so
    the graph is acyclic.

    >>> g = random_admg(50, avg_degree=3, frac_bidirected=0.2, random_state=0)
    >>> len(g), len(g.directed_edges) + len(g.bidirected_edges)
    (50, 75)
    >>> g == random_admg(50, avg_degree=3, frac_bidirected=0.2, random_state=0)
    True
    """
    if n_nodes < 1:
        raise ValueError(f"n_nodes must be at least 1, got {n_nodes}")
    if avg_degree < 0 or not 0 <= frac_bidirected <= 1:
        raise ValueError(
            f"need avg_degree >= 0 and 0 <= frac_bidirected <= 1, got {avg_degree}, "
            f"{frac_bidirected}"
        )
    rng = np.random.default_rng(random_state)
    names = node_names(n_nodes)
    n_pairs = n_nodes * (n_nodes - 1) // 2
    n_edges = min(n_pairs, int(round(n_nodes * avg_degree / 2)))
    order = rng.permutation(n_nodes)
    iu, ju = np.triu_indices(n_nodes, k=1)
    chosen = rng.choice(n_pairs, size=n_edges, replace=False)
    bidir = rng.random(n_edges) < frac_bidirected
    # pair (i, j) with i < j in the random order: directed order[i] -> order[j]
    src, dst = order[iu[chosen]], order[ju[chosen]]
    directed = [(names[a], names[b]) for a, b, bi in zip(src, dst, bidir) if not bi]
    bidirected = [(names[a], names[b]) for a, b, bi in zip(src, dst, bidir) if bi]
    return CausalGraph(nodes=names, directed=directed, bidirected=bidirected)

"""Internal: checked construction of a graph's adjacency from text and edge lists.

:class:`~deepcause.graph.causal_graph.CausalGraph` calls :func:`adjacency`; acyclicity is
checked by :func:`topological`.

>>> order, pa, ch, sp = adjacency("Z -> X -> Y", ["W"], [("Z", "Y")], [("X", "Y")])
>>> order, sorted(pa["Y"]), sorted(sp["Y"])
(('Z', 'X', 'Y', 'W'), ['X', 'Z'], ['X'])
"""

from __future__ import annotations

import difflib
import heapq
from collections.abc import Collection, Iterable, Mapping, Sequence

from ..exceptions import CycleError, GraphError, UnknownNodeError
from .algorithms import find_cycle
from .parser import parse_graph_text, syntax_error

__all__: list[str] = []

Positions = dict[tuple[str, str], int | None]
Adj = dict[str, frozenset[str]]


def check_name(name: object) -> str:
    """``name`` if it is a valid node name, else a :class:`GraphError` saying why."""
    if not isinstance(name, str):
        raise GraphError(
            f"node names must be strings, got {name!r} ({type(name).__name__}); "
            "convert them with str()"
        )
    if not name or '"' in name or "\n" in name:
        raise GraphError(
            f"invalid node name {name!r}: use a non-empty name without '\"' or newlines"
        )
    return name


def as_edge(edge: object, kind: str) -> tuple[str, str]:
    """``edge`` as a pair of checked node names."""
    if isinstance(edge, str) or not isinstance(edge, Iterable):
        raise GraphError(
            f"each {kind} edge must be a pair (u, v), got {edge!r}; pass a list of pairs "
            f"such as [('X', 'Y')]"
        )
    pair = tuple(edge)
    if len(pair) != 2:
        raise GraphError(f"each {kind} edge must be a pair (u, v), got {edge!r}")
    return check_name(pair[0]), check_name(pair[1])


def check_pair(u: str, v: str, arrow: str, text: str | None = None, pos: int = 0) -> None:
    """Refuse a self loop (pointing into ``text`` when the edge came from text)."""
    if u == v:
        msg = f"self loop {u} {arrow} {u} is not allowed in a causal graph; remove it"
        raise syntax_error(text, pos, msg) if text is not None else GraphError(msg)


def _text_edges(
    text: object, names: dict[str, None], dir_pos: Positions, bi_pos: Positions
) -> None:
    """Add the nodes and edges of graph ``text``; duplicate edges are syntax errors."""
    if not isinstance(text, str):
        raise GraphError(
            f"CausalGraph expects graph text such as 'X -> Y', got "
            f"{type(text).__name__}; use CausalGraph.from_edges or from_networkx"
        )
    tnodes, tdir, tbi = parse_graph_text(text)
    names.update(dict.fromkeys(tnodes))
    for u, v, pos in tdir:
        check_pair(u, v, "->", text, pos)
        if (u, v) in dir_pos:
            raise syntax_error(text, pos, f"duplicate edge {u} -> {v}; remove one of them")
        dir_pos[(u, v)] = pos
    for u, v, pos in tbi:
        check_pair(u, v, "<->", text, pos)
        key = (u, v) if u <= v else (v, u)
        if key in bi_pos:
            raise syntax_error(
                text, pos, f"duplicate edge {key[0]} <-> {key[1]}; remove one of them"
            )
        bi_pos[key] = pos


def adjacency(
    text: str | None,
    nodes: Iterable[str],
    directed: Iterable[tuple[str, str]],
    bidirected: Iterable[tuple[str, str]],
) -> tuple[tuple[str, ...], dict[str, frozenset[str]], ...]:
    """(node order, parents, children, spouses) from text plus edge lists, all checked."""
    names: dict[str, None] = {}
    dir_pos: Positions = {}
    bi_pos: Positions = {}
    if text is not None:
        _text_edges(text, names, dir_pos, bi_pos)
    for name in nodes:
        names.setdefault(check_name(name), None)
    for edge in directed:
        u, v = as_edge(edge, "directed")
        check_pair(u, v, "->")
        dir_pos.setdefault((u, v), None)
        names.setdefault(u, None)
        names.setdefault(v, None)
    for edge in bidirected:
        u, v = as_edge(edge, "bidirected")
        check_pair(u, v, "<->")
        bi_pos.setdefault((u, v) if u <= v else (v, u), None)
        names.setdefault(u, None)
        names.setdefault(v, None)
    for u, v in dir_pos:
        if (v, u) in dir_pos:
            pos = dir_pos[(v, u)]
            msg = (
                f"contradictory edges {u} -> {v} and {v} -> {u} form a directed cycle; keep "
                f"one direction (write {u} <-> {v} for an unobserved common cause)"
            )
            if text is not None and pos is not None:
                raise CycleError(str(syntax_error(text, pos, msg)), (u, v, u))
            raise CycleError(msg, (u, v, u))
    order = tuple(names)
    pa: dict[str, set[str]] = {n: set() for n in order}
    ch: dict[str, set[str]] = {n: set() for n in order}
    sp: dict[str, set[str]] = {n: set() for n in order}
    for u, v in dir_pos:
        pa[v].add(u)
        ch[u].add(v)
    for u, v in bi_pos:
        sp[u].add(v)
        sp[v].add(u)
    return (
        order,
        {n: frozenset(s) for n, s in pa.items()},
        {n: frozenset(s) for n, s in ch.items()},
        {n: frozenset(s) for n, s in sp.items()},
    )


def kahn_order(
    nodes: Sequence[str],
    pa: Mapping[str, Collection[str]],
    ch: Mapping[str, Iterable[str]],
    index: Mapping[str, int],
) -> list[str]:
    """Kahn's algorithm, the ready node with the smallest ``index`` first (``nodes[index[n]] == n``).

    The order is shorter than ``nodes`` when the graph has a directed cycle: the nodes left out
    are those on or below a cycle.
    """
    indeg = {n: len(p) for n, p in pa.items()}
    heap = [index[n] for n, d in indeg.items() if d == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        n = nodes[heapq.heappop(heap)]
        order.append(n)
        for c in ch[n]:
            indeg[c] -= 1
            if indeg[c] == 0:
                heapq.heappush(heap, index[c])
    return order


def topological(nodes: tuple[str, ...], pa: Adj, ch: Adj, index: dict[str, int]) -> tuple[str, ...]:
    """Nodes with parents first, ties by ``index``; a :class:`CycleError` naming a cycle."""
    order = kahn_order(nodes, pa, ch, index)
    if len(order) < len(nodes):
        cycle = find_cycle(set(nodes).difference(order), pa, index)
        text = " -> ".join(cycle)
        raise CycleError(
            f"the graph has a directed cycle {text}; a causal graph must be acyclic. "
            f"Remove or reverse one of these edges (use <-> for an unobserved common cause)",
            cycle,
        )
    return tuple(order)


def unknown_node(name: object, role: str, nodes: Sequence[str]) -> UnknownNodeError:
    """The error for a ``role`` name that is not among ``nodes``, with close matches."""
    if not isinstance(name, str):
        return UnknownNodeError(
            f"{role} {name!r} is not a node name (got {type(name).__name__}); "
            "node names are strings"
        )
    close = difflib.get_close_matches(name, nodes, n=3, cutoff=0.5)
    hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
    shown = list(nodes[:20])
    more = "" if len(nodes) <= 20 else f" ... ({len(nodes)} in all)"
    return UnknownNodeError(
        f"{role} {name!r} is not a node of the graph{hint}; nodes: {shown}{more}"
    )

"""Minimal m-separators in ADMGs via the augmented (moral) graph (van der Zander et al. 2019).

For an ancestral node set ``A`` the m-separation of ``X`` and ``Y`` by ``Z ⊆ A`` equals
ordinary separation in the augmented graph of ``G[A]``, where each district ``D`` of ``G[A]``
makes ``D ∪ pa(D)`` a clique. Nodes that may not be part of a separator are eliminated
(their neighbourhoods become cliques), the sides of ``X`` and ``Y`` are contracted to two
terminals ``s`` and ``t``, and minimal s-t separators are listed with the closure algorithm of
Kloks & Kratsch (1998) / Berry et al. (1999).
"""

from __future__ import annotations

from collections.abc import Iterator

from .algorithms import reach
from .causal_graph import CausalGraph

__all__ = ["SeparatorSearch"]

_S, _T = ("side", "s"), ("side", "t")


class SeparatorSearch:
    """Minimal m-separators of ``xs`` and ``ys`` in ``g`` using only ``allowed`` nodes.

    The engine behind :func:`~deepcause.graph.backdoor_sets` and
    :func:`~deepcause.graph.find_adjustment_set`; it does not check its input (node names must
    be nodes of ``g``, the three sets disjoint). ``allowed`` nodes outside ``An(xs ∪ ys)`` are
    never needed by a minimal separator and are ignored.

    Parameters
    ----------
    g : CausalGraph
        The graph.
    xs, ys : frozenset of str
        The two sets to separate.
    allowed : frozenset of str
        Nodes a separator may use.

    Attributes
    ----------
    separable : bool
        False when no subset of ``allowed`` m-separates ``xs`` and ``ys``.

    Examples
    --------
    >>> g = CausalGraph("X <- A -> B -> Y; X <- C -> Y; X <-> D -> Y")
    >>> search = SeparatorSearch(g, frozenset("X"), frozenset("Y"), frozenset("ABCD"))
    >>> [sorted(s) for s in search.minimal(10)]
    [['A', 'C', 'D'], ['B', 'C', 'D']]
    >>> SeparatorSearch(g, frozenset("X"), frozenset("Y"), frozenset("ABC")).separable  # D needed
    False
    """

    def __init__(
        self, g: CausalGraph, xs: frozenset[str], ys: frozenset[str], allowed: frozenset[str]
    ) -> None:
        self.g = g
        anc = g.ancestors(xs | ys)
        self.allowed = allowed & anc - xs - ys
        self._rank = g._index
        self.adj = self._build(g, anc, xs, ys)
        self.separable = self.adj is not None and _T not in self.adj[_S]

    def _build(
        self, g: CausalGraph, anc: frozenset[str], xs: frozenset[str], ys: frozenset[str]
    ) -> dict[object, set[object]] | None:
        pa, sp = g._pa, g._sp
        allowed = self.allowed
        # augmented graph with one hub per district of G[anc]
        aug: dict[object, list[object]] = {n: [] for n in anc}
        done: set[str] = set()
        for n in g._nodes:
            if n not in anc or n in done:
                continue
            district = reach((n,), sp, within=anc)
            done |= district
            members = set(district)
            for d in district:
                members |= pa[d]  # parents of ancestors are ancestors
            if len(members) < 2:
                continue
            hub = ("hub", n)
            aug[hub] = list(members)
            for m in members:
                aug[m].append(hub)
        # components of the uncuttable nodes (hubs, X, Y, forbidden); boundaries become cliques
        adj: dict[object, set[object]] = {a: set() for a in allowed}
        adj[_S], adj[_T] = set(), set()
        label: dict[object, object] = {}
        for start in aug:
            if start in allowed or start in label:
                continue
            comp, boundary = [start], set()
            label[start] = start
            side = None
            stack = [start]
            while stack:
                v = stack.pop()
                if v in xs:
                    side = _S if side in (None, _S) else "both"
                elif v in ys:
                    side = _T if side in (None, _T) else "both"
                for w in aug[v]:
                    if w in allowed:
                        boundary.add(w)
                    elif w not in label:
                        label[w] = start
                        comp.append(w)
                        stack.append(w)
            if side == "both":
                return None
            if side is not None:
                adj[side] |= boundary
                for b in boundary:
                    adj[b].add(side)
            else:
                for b in boundary:
                    adj[b] |= boundary
                    adj[b].discard(b)
        # X and Y may lie in separate uncuttable components; both map to the same terminal
        for a in allowed:
            for w in aug[a]:
                if w in allowed:
                    adj[a].add(w)
        return adj

    # ----------------------------------------------------------------- s-t separator closure
    def _component(self, start: object, blocked: frozenset[object]) -> set[object]:
        adj = self.adj
        seen = {start}
        stack = [start]
        while stack:
            for w in adj[stack.pop()]:
                if w not in seen and w not in blocked:
                    seen.add(w)
                    stack.append(w)
        return seen

    def _neighbours(self, part: set[object]) -> frozenset[object]:
        adj = self.adj
        out: set[object] = set()
        for v in part:
            out |= adj[v]
        return frozenset(out - part)

    def _close(self, part: set[object], towards: object) -> frozenset[object]:
        """Minimal separator between connected ``part`` and ``towards`` closest to ``part``."""
        other = self._component(towards, self._neighbours(part))
        return self._neighbours(other)

    def minimal(self, max_sets: int) -> Iterator[frozenset[str]]:
        """Yield the minimal separators, at most ``max_sets`` of them (none if not separable).

        Parameters
        ----------
        max_sets : int
            How many to list at most (the listing has polynomial delay per separator).

        Yields
        ------
        frozenset of str

        Examples
        --------
        >>> g = CausalGraph("X <- A -> M -> Y; X -> Y")
        >>> [sorted(s) for s in SeparatorSearch(g, frozenset("A"), frozenset("Y"),
        ...                                     frozenset("XM")).minimal(5)]
        [['M', 'X']]
        """
        if not self.separable:
            return
        first = self._close({_S}, _T)
        seen = {first}
        queue = [first]
        rank = self._rank
        count = 0
        while queue and count < max_sets:
            sep = queue.pop(0)
            yield frozenset(sep)  # type: ignore[arg-type]
            count += 1
            side = self._component(_S, sep)
            for x in sorted(sep, key=rank.__getitem__):  # type: ignore[arg-type]
                if _T in self.adj[x]:
                    continue
                nxt = self._close(side | {x}, _T)
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)

    def minimum(self) -> frozenset[str] | None:
        """A separator of minimum size (a vertex min-cut), or None.

        The cut is the one closest to ``X``: the allowed nodes whose split copy is entered but
        not left by the residual graph of a maximum flow. That set is the same for every
        maximum flow, so the answer does not depend on how the flow was found.

        >>> g = CausalGraph("X <- A -> B -> Y; A -> C -> Y; X <- D -> Y")
        >>> sorted(SeparatorSearch(g, frozenset("X"), frozenset("Y"), frozenset("ABCD")).minimum())
        ['A', 'D']
        """
        if not self.separable:
            return None
        order = sorted(self.allowed, key=self._rank.__getitem__)
        net = _UnitVertexNetwork(self.adj, order)
        reached = net.max_flow_reach()
        return frozenset(
            a for i, a in enumerate(order) if reached[2 + 2 * i] and not reached[3 + 2 * i]
        )

    def nearest_to(self, terminal: str) -> frozenset[str] | None:
        """The minimal separator closest to the ``"x"`` or the ``"y"`` side, or None.

        >>> g = CausalGraph("X <- A -> B -> Y")
        >>> s = SeparatorSearch(g, frozenset("X"), frozenset("Y"), frozenset("AB"))
        >>> sorted(s.nearest_to("x")), sorted(s.nearest_to("y"))
        (['A'], ['B'])
        """
        if not self.separable:
            return None
        near, far = (_S, _T) if terminal == "x" else (_T, _S)
        return frozenset(self._close({near}, far))  # type: ignore[arg-type]


class _UnitVertexNetwork:
    """Flow network of an undirected graph whose non-terminal nodes have capacity 1.

    Node ``i`` of ``order`` is split into ``2 + 2i`` (in) and ``3 + 2i`` (out) joined by an arc
    of capacity 1; each edge ``u - v`` becomes arcs out(u) -> in(v) and out(v) -> in(u) of
    unbounded capacity; the terminals ``s`` (0) and ``t`` (1) are not split. Maximum flow by
    Dinic's algorithm: O(E sqrt(V)) on such unit networks, where augmenting one path per
    breadth-first search (Edmonds-Karp) costs O(V E) when thousands of nodes are cut.
    """

    def __init__(self, adj: dict[object, set[object]], order: list[object]) -> None:
        ids: dict[object, int] = {_S: 0, _T: 1}
        for i, a in enumerate(order):
            ids[a] = 2 + 2 * i
        n = 2 + 2 * len(order)
        self.n = n
        self.head: list[int] = []
        self.cap: list[int] = []
        self.out: list[list[int]] = [[] for _ in range(n)]
        for i in range(len(order)):
            self._arc(2 + 2 * i, 3 + 2 * i, 1)
        big = n + 1
        for u, nbrs in adj.items():
            if u == _T:
                continue
            iu = ids[u]
            src = iu if iu < 2 else iu + 1
            for v in nbrs:
                if v != _S:
                    self._arc(src, ids[v], big)

    def _arc(self, u: int, v: int, c: int) -> None:
        self.out[u].append(len(self.head))
        self.head.append(v)
        self.cap.append(c)
        self.out[v].append(len(self.head))
        self.head.append(u)
        self.cap.append(0)

    def _levels(self) -> list[int]:
        """Breadth-first distances from ``s`` in the residual graph (-1: unreachable)."""
        head, cap, out = self.head, self.cap, self.out
        level = [-1] * self.n
        level[0] = 0
        queue = [0]
        for u in queue:
            nxt = level[u] + 1
            for e in out[u]:
                v = head[e]
                if level[v] < 0 and cap[e] > 0:
                    level[v] = nxt
                    queue.append(v)
        return level

    def _blocking_flow(self, level: list[int]) -> None:
        """Saturate shortest augmenting paths (every path carries one unit: it crosses a
        split node, since ``s`` and ``t`` are not adjacent)."""
        head, cap, out = self.head, self.cap, self.out
        pointer = [0] * self.n
        path: list[int] = []  # arcs from s to the current node
        u = 0
        while True:
            if u == 1:
                for e in path:
                    cap[e] -= 1
                    cap[e ^ 1] += 1
                path.clear()
                u = 0
                continue
            arcs = out[u]
            i = pointer[u]
            while i < len(arcs):
                e = arcs[i]
                if cap[e] > 0 and level[head[e]] == level[u] + 1:
                    break
                i += 1
            pointer[u] = i
            if i < len(arcs):
                path.append(arcs[i])
                u = head[arcs[i]]
                continue
            if u == 0:
                return
            level[u] = -1  # dead end for this phase
            u = head[path.pop() ^ 1]

    def max_flow_reach(self) -> list[bool]:
        """Run the maximum flow; return which nodes the final residual graph reaches from s."""
        while True:
            level = self._levels()
            if level[1] < 0:
                return [d >= 0 for d in level]
            self._blocking_flow(level)

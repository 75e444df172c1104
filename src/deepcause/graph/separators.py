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
            district = {n}
            stack = [n]
            while stack:
                for w in sp[stack.pop()]:
                    if w in anc and w not in district:
                        district.add(w)
                        stack.append(w)
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
        """A separator of minimum size (a vertex min-cut by augmenting paths), or None.

        >>> g = CausalGraph("X <- A -> B -> Y; A -> C -> Y; X <- D -> Y")
        >>> sorted(SeparatorSearch(g, frozenset("X"), frozenset("Y"), frozenset("ABCD")).minimum())
        ['A', 'D']
        """
        if not self.separable:
            return None
        adj = self.adj

        # split every allowed node a into ("i", a) -> ("o", a) with capacity 1
        def out(v: object) -> object:
            return v if v in (_S, _T) else ("o", v)

        def inn(v: object) -> object:
            return v if v in (_S, _T) else ("i", v)

        cap: dict[tuple[object, object], int] = {}
        arcs: dict[object, list[object]] = {}

        def arc(u: object, v: object, c: int) -> None:
            if (u, v) not in cap:
                arcs.setdefault(u, []).append(v)
                arcs.setdefault(v, []).append(u)
                cap.setdefault((v, u), 0)
            cap[(u, v)] = max(cap.get((u, v), 0), c)

        big = len(adj) + 1
        for a in self.allowed:
            arc(("i", a), ("o", a), 1)
        for u, nbrs in adj.items():
            if u == _T:
                continue
            for v in nbrs:
                if v != _S:
                    arc(out(u), inn(v), big)
        while True:  # Edmonds-Karp; the flow is at most the number of allowed nodes
            back: dict[object, object] = {_S: _S}
            queue = [_S]
            for u in queue:
                for v in arcs.get(u, ()):
                    if v not in back and cap[(u, v)] > 0:
                        back[v] = u
                        queue.append(v)
                if _T in back:
                    break
            if _T not in back:
                break
            v = _T
            while v != _S:
                u = back[v]
                cap[(u, v)] -= 1
                cap[(v, u)] += 1
                v = u
        reached = set(back)
        return frozenset(a for a in self.allowed if ("i", a) in reached and ("o", a) not in reached)

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

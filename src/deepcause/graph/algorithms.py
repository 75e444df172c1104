"""Internal graph algorithms on adjacency dicts (``node -> frozenset`` of neighbours).

Nothing here is public API: the functions take the raw parent / child / spouse maps of a
:class:`~deepcause.graph.causal_graph.CausalGraph` and skip all input checks. Use the graph's
methods instead (``ancestors``, ``is_d_separated``, ``connecting_path``,
``latent_projection``), which validate their arguments.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Container, Iterable

from .parser import format_name

__all__: list[str] = []  # internal helpers of deepcause.graph; see the module docstring

Adj = dict[str, frozenset[str]]
_EMPTY: frozenset[str] = frozenset()


def reach(start: Iterable[str], adj: Adj, within: Container[str] | None = None) -> frozenset[str]:
    """All nodes reachable from ``start`` (inclusive) following ``adj``, stepping only onto
    nodes of ``within`` when it is given (e.g. the district of a node inside a node set)."""
    seen = set(start)
    stack = list(seen)
    while stack:
        for w in adj[stack.pop()]:
            if w not in seen and (within is None or w in within):
                seen.add(w)
                stack.append(w)
    return frozenset(seen)


def proper_causal_nodes(ch: Adj, pa: Adj, xs: frozenset[str], ys: frozenset[str]) -> frozenset[str]:
    """Nodes outside ``xs`` on proper causal paths from ``xs`` to ``ys`` (empty: no such path)."""
    down: set[str] = set()
    stack = list(xs)
    while stack:  # descendants in G with edges into X removed
        for c in ch[stack.pop()]:
            if c not in xs and c not in down:
                down.add(c)
                stack.append(c)
    return reach(ys & down, pa, within=down)  # ancestors of Y through down only (avoid X)


def intercepts(ch: Adj, xs: Iterable[str], ys: Container[str], z: Container[str]) -> bool:
    """Whether ``z`` blocks every directed path from ``xs`` to ``ys`` (``ch``: the children)."""
    seen = set(xs)
    stack = list(seen)
    while stack:
        for c in ch[stack.pop()]:
            if c in ys:
                return False
            if c not in seen and c not in z:
                seen.add(c)
                stack.append(c)
    return True


def find_cycle(remaining: set[str], pa: Adj, index: dict[str, int]) -> tuple[str, ...]:
    """A directed cycle among ``remaining`` nodes (each has a parent among them)."""
    # every remaining node has a parent among the remaining ones: walk parents until repeat
    start = min(remaining, key=index.__getitem__)
    path, pos = [start], {start: 0}
    while True:
        nxt = min((p for p in pa[path[-1]] if p in remaining), key=index.__getitem__)
        if nxt in pos:
            cyc = path[pos[nxt] :]
            cyc.reverse()  # parents walk goes backwards along the edges
            k = min(range(len(cyc)), key=lambda i: index[cyc[i]])
            cyc = cyc[k:] + cyc[:k]
            return (*cyc, cyc[0])
        pos[nxt] = len(path)
        path.append(nxt)


def m_separated(
    pa: Adj, ch: Adj, sp: Adj, x: frozenset[str], y: frozenset[str], z: frozenset[str]
) -> bool:
    """m-separation of disjoint non-empty ``x`` and ``y`` given ``z`` (disjoint from both)."""
    return not ball_reach(pa, ch, sp, x, (), z, y, bool)


def ball_reach(
    pa: Adj,
    ch: Adj,
    sp: Adj,
    tails: Iterable[str],
    heads: Iterable[str],
    z: Container[str],
    targets: frozenset[str],
    stop: Callable[[set[str]], bool],
) -> set[str]:
    """The nodes of ``targets`` that m-connecting walks given ``z`` reach from a start.

    The walks start at ``tails`` (entered through a tail: the walk came up from a child) and
    at ``heads`` (entered through an arrowhead). The search ends early once ``stop(hits)``.
    """
    # Bayes-ball (Shachter 1998) on the ADMG: nodes reached through a tail at them / an
    # arrowhead at them. A collider passes only if conditioned on; a conditioned descendant
    # of a collider opens it through the walk bouncing back up from that descendant.
    tail_seen, head_seen = set(tails), set(heads)
    tails, heads = list(tail_seen), list(head_seen)
    hits = (tail_seen | head_seen) & targets
    if hits and stop(hits):
        return hits
    while tails or heads:
        if tails:
            v = tails.pop()
            if v in z:
                continue
            up, down = pa[v] - tail_seen, (ch[v] | sp[v]) - head_seen
        else:
            v = heads.pop()
            if v in z:  # open collider: bounce to parents and spouses
                up, down = pa[v] - tail_seen, sp[v] - head_seen
            else:
                up, down = _EMPTY, ch[v] - head_seen
        for new, seen, todo in ((up, tail_seen, tails), (down, head_seen, heads)):
            if new:
                if not targets.isdisjoint(new):
                    hits |= new & targets
                    if stop(hits):
                        return hits
                seen |= new
                todo.extend(new)
    return hits


def connecting_walk(
    pa: Adj,
    ch: Adj,
    sp: Adj,
    x: frozenset[str],
    y: frozenset[str],
    z: frozenset[str],
    rank: dict[str, int],
) -> str | None:
    """Text of a shortest walk m-connecting ``x`` and ``y`` given ``z`` (disjoint sets), or
    None; ties are broken by ``rank`` so the answer does not depend on set order."""
    an_z = reach(z, pa) if z else _EMPTY
    key = rank.__getitem__
    # state (node, arrived_with_arrowhead); start as if arrived by a tail (never a collider)
    start = [(n, False) for n in sorted(x, key=key)]
    seen = set(start)
    back: dict[tuple[str, bool], tuple[tuple[str, bool], str]] = {}
    queue = deque(start)
    while queue:
        state = queue.popleft()
        v, head = state
        moves: list[tuple[str, bool, str]] = []
        # leaving through a tail at v (v -> child): v is a non-collider
        if v not in z:
            moves.extend((c, True, "->") for c in ch[v])
            if not head:  # arrived by tail: leaving by an arrowhead at v is non-collider
                moves.extend((p, False, "<-") for p in pa[v])
                moves.extend((s, True, "<->") for s in sp[v])
        if head and v in an_z:  # collider at v, open because v is an ancestor of given
            moves.extend((p, False, "<-") for p in pa[v])
            moves.extend((s, True, "<->") for s in sp[v])
        moves.sort(key=lambda m: key(m[0]))
        for w, h, arrow in moves:
            nxt = (w, h)
            if nxt in seen:
                continue
            seen.add(nxt)
            back[nxt] = (state, arrow)
            if w in y:
                parts = [format_name(w)]
                cur = nxt
                while cur in back:
                    prev, arr = back[cur]
                    parts.append(arr)
                    parts.append(format_name(prev[0]))
                    cur = prev
                return " ".join(reversed(parts))
            queue.append(nxt)
    return None


def project(
    nodes: tuple[str, ...], pa: Adj, sp: Adj, lat: frozenset[str]
) -> tuple[tuple[str, ...], Adj, Adj, Adj]:
    """Latent projection: (kept nodes, parents, children, spouses) without ``lat``."""
    keep = tuple(n for n in nodes if n not in lat)
    # src[v]: v plus latents with a directed path to v through latents only
    src = {v: reach((v,), pa, within=lat) for v in keep}
    new_pa: dict[str, frozenset[str]] = {}
    for v in keep:
        new_pa[v] = frozenset(p for s in src[v] for p in pa[s] if p not in lat)
    new_ch: dict[str, set[str]] = {v: set() for v in keep}
    for v, ps in new_pa.items():
        for p in ps:
            new_ch[p].add(v)
    reach_sp = {v: frozenset(s2 for s in src[v] for s2 in sp[s]) for v in keep}
    new_sp: dict[str, set[str]] = {v: set() for v in keep}
    for i, a in enumerate(keep):
        la = src[a] - {a}
        for b in keep[i + 1 :]:
            if (la and not la.isdisjoint(src[b])) or not reach_sp[a].isdisjoint(src[b]):
                new_sp[a].add(b)
                new_sp[b].add(a)
    return (
        keep,
        new_pa,
        {v: frozenset(c) for v, c in new_ch.items()},
        {v: frozenset(s) for v, s in new_sp.items()},
    )

"""Graphical criteria: adjustment (back-door) sets, front-door sets and instruments.

Adjustment sets follow the generalized adjustment criterion for ADMGs (Shpitser et al. 2010;
Perković et al. 2018): ``Z`` is valid for the effect of ``X`` on ``Y`` iff it contains no
descendant of a node on a proper causal path and m-separates ``X`` and ``Y`` once the first
edge of every proper causal path is removed. Minimal sets are constructed with the
polynomial-delay algorithms of van der Zander, Liśkiewicz & Textor (2019), never by trying
subsets.

>>> from deepcause.graph import CausalGraph
>>> g = CausalGraph("Z1 -> X -> Y; Z1 -> Z2 -> Y; W -> X")
>>> sorted(map(sorted, backdoor_sets(g, "X", "Y")))
[['Z1'], ['Z2']]
>>> sorted(find_adjustment_set(g, "X", "Y", kind="optimal"))
['Z2']
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..exceptions import QueryError
from .algorithms import ball_reach, intercepts, proper_causal_nodes
from .algorithms import reach as _reach
from .causal_graph import CausalGraph
from .separators import SeparatorSearch

__all__ = [
    "Instrument",
    "backdoor_sets",
    "explain_instrument",
    "find_adjustment_set",
    "frontdoor_sets",
    "instruments",
    "is_valid_adjustment_set",
]

Nodes = str | Iterable[str]


def _query(g: CausalGraph, treatment: Nodes, outcome: Nodes) -> tuple[frozenset, frozenset]:
    if not isinstance(g, CausalGraph):
        raise QueryError(
            f"expected a CausalGraph, got {type(g).__name__}; build one with CausalGraph('X -> Y')"
        )
    xs = frozenset(g.check_nodes(treatment, "treatment"))
    ys = frozenset(g.check_nodes(outcome, "outcome"))
    both = xs & ys
    if both:
        raise QueryError(f"node(s) {sorted(both)} are both treatment and outcome; keep them apart")
    return xs, ys


def _causal_nodes(g: CausalGraph, xs: frozenset[str], ys: frozenset[str]) -> frozenset[str]:
    """Nodes outside ``xs`` on proper causal paths from ``xs`` to ``ys``."""
    return proper_causal_nodes(g._ch, g._pa, xs, ys)


class _Adjustment:
    """Shared pieces of the adjustment criterion for one (X, Y) query."""

    def __init__(self, g: CausalGraph, xs: frozenset[str], ys: frozenset[str]) -> None:
        self.g, self.xs, self.ys = g, xs, ys
        self.cn = _causal_nodes(g, xs, ys)
        self.forbidden = _reach(self.cn, g._ch) | xs
        first = [(x, w) for x in xs for w in g._ch[x] & self.cn]
        self.pbd = g.remove_edges(directed=first) if first else g
        self.allowed = g.node_set - self.forbidden - xs - ys

    def valid(self, z: frozenset[str]) -> bool:
        return z <= self.allowed and self.pbd.is_d_separated(self.xs, self.ys, z)

    def any_set(self, include: frozenset[str], allowed: frozenset[str]) -> frozenset[str] | None:
        """A valid set ``include ⊆ Z ⊆ allowed`` if one exists (FINDSEP)."""
        z = self.pbd.ancestors(self.xs | self.ys | include) & allowed
        return z if self.pbd.is_d_separated(self.xs, self.ys, z) else None


def _sort_sets(g: CausalGraph, sets: Iterable[frozenset[str]]) -> tuple[frozenset[str], ...]:
    rank = g._index
    return tuple(sorted(sets, key=lambda s: (len(s), sorted(rank[n] for n in s))))


def backdoor_sets(
    g: CausalGraph, treatment: Nodes, outcome: Nodes, *, minimal: bool = True, max_sets: int = 256
) -> tuple[frozenset[str], ...]:
    """Valid adjustment sets for the effect of ``treatment`` on ``outcome``.

    With ``minimal=True`` the inclusion-minimal sets (polynomial delay per set); otherwise all
    valid sets, smallest first. At most ``max_sets`` are returned; an empty tuple means no
    adjustment set exists (try :func:`frontdoor_sets`, :func:`instruments` or ``identify``).

    >>> g = CausalGraph("A -> X -> Y; A -> B -> Y")
    >>> [sorted(s) for s in backdoor_sets(g, "X", "Y", minimal=False)]
    [['A'], ['B'], ['A', 'B']]
    """
    xs, ys = _query(g, treatment, outcome)
    if max_sets < 1:
        raise QueryError(f"max_sets must be at least 1, got {max_sets}")
    adj = _Adjustment(g, xs, ys)
    if minimal:
        search = SeparatorSearch(adj.pbd, xs, ys, adj.allowed)
        return _sort_sets(g, search.minimal(max_sets))
    return _sort_sets(g, _list_all(adj, [n for n in g.nodes if n in adj.allowed], max_sets))


class _Given:
    """The set ``Z \\ {v}``, ``Z = anc ∩ allowed`` minus ``out``, for membership tests only."""

    __slots__ = ("anc", "allowed", "out", "v")

    def __init__(self, anc: set[str], allowed: frozenset[str], out: set[str], v: str) -> None:
        self.anc, self.allowed, self.out, self.v = anc, allowed, out, v

    def __contains__(self, u: object) -> bool:
        return u in self.anc and u in self.allowed and u not in self.out and u != self.v


def _without_keeps_valid(adj: _Adjustment, anc: set[str], out: set[str], v: str) -> bool:
    """Whether the valid set ``Z = anc ∩ R`` stays valid without its member ``v``.

    Dropping ``v`` only closes colliders and opens ``v`` itself, so ``Z \\ {v}`` fails exactly
    when an m-connecting walk passes through ``v`` as a non-collider: two walks out of ``v``,
    one reaching X and one reaching Y, not both leaving through an arrowhead at ``v``. Both
    are searched from ``v``, which costs the neighbourhood of ``v``, not the whole graph.
    """
    g, xs, ys = adj.pbd, adj.xs, adj.ys
    pa, ch, sp = g._pa, g._ch, g._sp
    given = _Given(anc, adj.allowed, out, v)
    ends = xs | ys

    def sides(hits: set[str]) -> tuple[bool, bool]:
        return not xs.isdisjoint(hits), not ys.isdisjoint(hits)

    tx, ty = sides(ball_reach(pa, ch, sp, (), ch[v], given, ends, lambda h: all(sides(h))))
    if tx and ty:
        return False

    def done(h: set[str]) -> bool:
        hx, hy = sides(h)
        return (tx and hy) or (ty and hx)

    return not done(ball_reach(pa, ch, sp, pa[v], sp[v], given, ends, done))


def _list_all(adj: _Adjustment, order: list[str], max_sets: int) -> list[frozenset[str]]:
    """LISTSEP (van der Zander et al. 2019): all valid sets, at most ``max_sets``.

    Branch on each allowed node in ``order`` (leave out first, then take in), pruning branches
    without a valid set; every leaf is a valid set. A branch is feasible iff ``Z = An(X ∪ Y ∪
    include) ∩ R`` is valid (``R``: nodes not left out). Decisions live in shared sets that
    are undone on backtracking, and a child's ``Z`` equals its parent's unless it takes in a
    non-ancestor or leaves out a member of ``Z``; the latter is decided locally.
    """
    g = adj.pbd
    anc = set(g.ancestors(adj.xs | adj.ys))
    inc: list[str] = []
    out: set[str] = set()

    def z_now() -> frozenset[str]:
        return frozenset(u for u in anc if u in adj.allowed and u not in out)

    found: list[frozenset[str]] = []
    if not g.is_d_separated(adj.xs, adj.ys, z_now()):
        return found
    # actions: (0, pos) valid node at depth pos; (1, pos) leave order[pos] out; (2, pos) take it
    # in; (3, pos, added) undo the decision on order[pos] and the ancestors it added
    stack: list[tuple] = [(0, 0)]
    while stack and len(found) < max_sets:
        act, pos, *rest = stack.pop()
        if act == 0:
            if pos == len(order):
                found.append(frozenset(inc))
            else:
                stack += [(2, pos), (1, pos)]
            continue
        if act == 3:
            v = order[pos]
            out.discard(v)
            if inc and inc[-1] == v:
                inc.pop()
            anc.difference_update(rest[0])
            continue
        v = order[pos]
        added: list[str] = []
        if act == 1:
            ok = v not in anc or _without_keeps_valid(adj, anc, out, v)
            out.add(v)
        else:
            inc.append(v)
            ok = True
            if v not in anc:
                added = [u for u in g.ancestors(v) if u not in anc]
                anc.update(added)
                ok = g.is_d_separated(adj.xs, adj.ys, z_now())
        stack.append((3, pos, added))
        if ok:
            stack.append((0, pos + 1))
    return found


def is_valid_adjustment_set(g: CausalGraph, treatment: Nodes, outcome: Nodes, z: Nodes) -> bool:
    """Whether ``z`` satisfies the generalized adjustment criterion.

    >>> g = CausalGraph("Z -> X -> M -> Y; Z -> Y")
    >>> is_valid_adjustment_set(g, "X", "Y", ["Z"]), is_valid_adjustment_set(g, "X", "Y", ["Z", "M"])
    (True, False)
    """
    xs, ys = _query(g, treatment, outcome)
    zs = frozenset(g.check_nodes(z, "adjustment", allow_empty=True))
    clash = zs & (xs | ys)
    if clash:
        raise QueryError(
            f"adjustment set contains {sorted(clash)}, which is the treatment or outcome; "
            "remove it from the set"
        )
    return _Adjustment(g, xs, ys).valid(zs)


def find_adjustment_set(
    g: CausalGraph, treatment: Nodes, outcome: Nodes, kind: str = "minimal"
) -> frozenset[str] | None:
    """One valid adjustment set, or ``None`` if none exists (or for ``"parents"``, if the
    parents of the treatment are not valid).

    ``kind="minimal"``: a minimal set of minimum size (a vertex min-cut in the augmented
    graph, van der Zander et al. 2019); ``"optimal"``: the O-set of Henckel,
    Perković & Maathuis (2022) (smallest asymptotic variance among adjustment sets in DAGs;
    with bidirected edges it is extended along collider paths as in Runge (2021); whenever
    the result is not valid (possible with bidirected edges, or when some outcome is not
    caused by the treatment) the ``"minimal"`` set is returned instead); ``"parents"``: the
    treatment's parents.

    >>> g = CausalGraph("A -> X -> Y; A -> B -> Y; C -> Y")
    >>> [sorted(find_adjustment_set(g, "X", "Y", kind=k)) for k in ("minimal", "optimal")]
    [['A'], ['B', 'C']]
    """
    xs, ys = _query(g, treatment, outcome)
    adj = _Adjustment(g, xs, ys)
    if kind == "minimal":
        return SeparatorSearch(adj.pbd, xs, ys, adj.allowed).minimum()
    if kind == "parents":
        z = g.parents(xs) - xs
        return z if adj.valid(z) else None
    if kind == "optimal":
        if adj.any_set(frozenset(), adj.allowed) is None:
            return None
        o = _optimal_set(g, adj)
        if adj.valid(o):
            return o
        return find_adjustment_set(g, xs, ys, kind="minimal")
    raise QueryError(f"unknown kind {kind!r}; use 'minimal', 'optimal' or 'parents'")


def _optimal_set(g: CausalGraph, adj: _Adjustment) -> frozenset[str]:
    bad = adj.forbidden | adj.xs | adj.ys
    o = set(g.parents(adj.cn) - bad)
    if g.bidirected_edges:
        ok = g.ancestors(adj.xs | adj.ys) - bad
        frontier = set(adj.cn | o)
        seen = set(frontier)
        while frontier:  # nodes collider-connected to the causal nodes, plus their parents
            nxt: set[str] = set()
            for v in frontier:
                for s in g._sp[v]:
                    if s in ok and s not in seen:
                        seen.add(s)
                        o.add(s)
                        nxt.add(s)
                        new_pa = (g._pa[s] - bad) - o
                        o |= new_pa
                        nxt |= new_pa
                        seen |= new_pa
            frontier = nxt
    return frozenset(o)


# ---------------------------------------------------------------------------------- front door
def _intercepts(g: CausalGraph, xs: frozenset[str], ys: frozenset[str], z: frozenset[str]) -> bool:
    """Whether ``z`` blocks every directed path from ``xs`` to ``ys``."""
    return intercepts(g._ch, xs, ys, z)


def _frontdoor_backdoor_ok(g: CausalGraph, z: frozenset[str], xs, ys) -> bool:
    """Front-door condition (iii): back-door paths from ``z`` to ``ys`` are blocked by ``xs``."""
    return g.remove_outgoing(z).is_d_separated(z, ys, xs)


def frontdoor_sets(
    g: CausalGraph, treatment: Nodes, outcome: Nodes, *, max_sets: int = 16, budget: int = 5000
) -> tuple[frozenset[str], ...]:
    """Sets satisfying Pearl's front-door criterion, inclusion-minimal ones first.

    Candidates are nodes on proper causal paths with no open back-door path from the
    treatment; subsets are tried by size (at most ``budget`` of them), and the full candidate
    set is the fallback for large graphs.

    >>> g = CausalGraph("X -> M -> Y; X <-> Y")
    >>> frontdoor_sets(g, "X", "Y")
    (frozenset({'M'}),)
    """
    xs, ys = _query(g, treatment, outcome)
    cn = _causal_nodes(g, xs, ys)
    if not (cn & ys) or any(g._ch[x] & ys for x in xs):
        return ()  # no causal path, or a direct edge no mediator can intercept
    g_ux = g.remove_outgoing(xs)
    cand = frozenset(m for m in cn - ys if g_ux.is_d_separated(xs, m))
    while cand:  # condition (iii) only gets harder for a subset: prune to a fixed point
        g_uc = g.remove_outgoing(cand)
        keep = frozenset(m for m in cand if g_uc.is_d_separated(m, ys, xs))
        if keep == cand:
            break
        cand = keep
    if not cand or not _intercepts(g, xs, ys, cand):
        return ()
    rank = g._index
    ordered = sorted(cand, key=rank.__getitem__)
    found: list[frozenset[str]] = []
    tried = 0
    for size in range(1, len(ordered) + 1):
        for combo in itertools.combinations(ordered, size):
            tried += 1
            if tried > budget or len(found) >= max_sets:
                break
            z = frozenset(combo)
            if any(f <= z for f in found):
                continue
            if _intercepts(g, xs, ys, z) and _frontdoor_backdoor_ok(g, z, xs, ys):
                found.append(z)
        else:
            continue
        break
    if not found and _frontdoor_backdoor_ok(g, cand, xs, ys):
        found.append(cand)
    return _sort_sets(g, found)


# ---------------------------------------------------------------------------------- instruments
@dataclass(frozen=True)
class Instrument:
    """An instrumental variable for an effect, valid given a conditioning set.

    Returned by :func:`instruments`; ``str()`` gives ``"Z | W"`` (``"Z"`` when unconditional).

    Parameters
    ----------
    instrument : str
        The instrument node ``Z``.
    conditioning : frozenset of str, default frozenset()
        The set ``W`` the instrument is valid given.

    Examples
    --------
    >>> g = CausalGraph("Z -> X -> Y; X <-> Y; W -> Z; W -> Y")
    >>> [str(iv) for iv in instruments(g, "X", "Y")]
    ['Z | W']
    >>> Instrument("Z", frozenset({"W"})) in instruments(g, "X", "Y")
    True
    """

    instrument: str
    conditioning: frozenset[str] = frozenset()

    def __str__(self) -> str:
        given = f" | {', '.join(sorted(self.conditioning))}" if self.conditioning else ""
        return f"{self.instrument}{given}"


def _single(g: CausalGraph, treatment: Nodes, outcome: Nodes) -> tuple[str, str]:
    xs, ys = _query(g, treatment, outcome)
    if len(xs) != 1 or len(ys) != 1:
        raise QueryError(
            f"instruments need one treatment and one outcome, got {sorted(xs)} and {sorted(ys)}"
        )
    return next(iter(xs)), next(iter(ys))


def _is_instrument(g, g_ux, x: str, y: str, z: str, w: frozenset[str]) -> bool:
    return g_ux.is_d_separated(z, y, w) and not g.is_d_separated(z, x, w)


def instruments(g: CausalGraph, treatment: Nodes, outcome: Nodes) -> tuple[Instrument, ...]:
    """Instruments for the effect of ``treatment`` on ``outcome``, with conditioning sets.

    ``Z`` is an instrument given ``W`` (van der Zander, Textor & Liśkiewicz 2015) if ``W``
    holds no descendant of the treatment, ``Z`` is not a descendant of it either, ``Z`` and
    the treatment are m-connected given ``W``, and ``Z`` and the outcome are m-separated given
    ``W`` once the treatment's outgoing edges are removed. For each node the empty set is
    tried first, then the separator of ``Z`` and the outcome nearest to the outcome. Like the
    ancestral instruments of that paper, conditioning sets are searched among ancestors of
    the treatment, outcome and instrument: an instrument that only works when conditioning on
    some other collider is not reported (tests compare with brute force over these sets).

    >>> g = CausalGraph("Z -> X -> Y; X <-> Y; C -> Z2 -> X; C -> Y")
    >>> [str(i) for i in instruments(g, "X", "Y")]
    ['Z', 'Z2 | C']
    """
    x, y = _single(g, treatment, outcome)
    de_x = g.descendants(x)
    g_ux = g.remove_outgoing(x)
    out = []
    for z in g.nodes:
        if z in de_x or z == y:
            continue
        w = _conditioning_for(g, g_ux, x, y, z, de_x)
        if w is not None:
            out.append(Instrument(z, w))
    return tuple(out)


def _conditioning_for(
    g: CausalGraph, g_ux: CausalGraph, x: str, y: str, z: str, de_x: frozenset[str]
) -> frozenset[str] | None:
    """A set making ``z`` an instrument (empty if none is needed), or None."""
    if _is_instrument(g, g_ux, x, y, z, frozenset()):
        return frozenset()
    allowed = g.node_set - de_x - {y, z}
    w = SeparatorSearch(g_ux, frozenset((z,)), frozenset((y,)), allowed).nearest_to("y")
    return w if w is not None and _is_instrument(g, g_ux, x, y, z, w) else None


def _directed_path(g: CausalGraph, src: str, dst: str) -> str:
    back: dict[str, str] = {src: src}
    queue = [src]
    for v in queue:  # breadth first: a shortest path
        for c in sorted(g._ch[v], key=g._index.__getitem__):
            if c not in back:
                back[c] = v
                queue.append(c)
    path = [dst]
    while path[-1] != src:
        path.append(back[path[-1]])
    return " -> ".join(reversed(path))


def explain_instrument(
    g: CausalGraph, treatment: Nodes, outcome: Nodes, z: str, conditioning: Nodes = ()
) -> str | None:
    """Why ``z`` (given ``conditioning``) is not an instrument, or ``None`` if it is one.

    >>> g = CausalGraph("Z -> X -> Y; Z -> Y; X <-> Y; V -> X; V <-> Y")
    >>> explain_instrument(g, "X", "Y", "Z")
    'Z has a path to Y not through X: Z -> Y'
    >>> explain_instrument(g, "X", "Y", "V")
    'V is confounded with Y: V <-> Y'
    """
    x, y = _single(g, treatment, outcome)
    (z,) = g.check_nodes(z, "instrument")
    w = frozenset(g.check_nodes(conditioning, "conditioning", allow_empty=True))
    if z == x:
        return f"{z} is the treatment itself"
    if z == y:
        return f"{z} is the outcome itself"
    if z in w:
        return f"{z} is in the conditioning set; an instrument cannot be conditioned on"
    if {x, y} & w:
        return f"the conditioning set contains the treatment or outcome: {sorted({x, y} & w)}"
    de_x = g.descendants(x)
    if z in de_x:
        return f"{z} is affected by the treatment ({_directed_path(g, x, z)}); it must not be"
    for v in sorted(w & de_x, key=g._index.__getitem__):
        return (
            f"the conditioning set contains {v}, which is affected by the treatment "
            f"({_directed_path(g, x, v)}); condition only on variables not caused by {x}"
        )
    given = f" given {', '.join(sorted(w))}" if w else ""
    g_ux = g.remove_outgoing(x)
    path = g_ux.connecting_path(z, y, w)
    if path is not None:
        arrows = re.findall(r" (<->|->|<-) ", path)
        if all(a == "->" for a in arrows):
            reason = f"{z} has a path to {y} not through {x}{given}: {path}"
        elif any(a.endswith(">") and b.startswith("<") for a, b in itertools.pairwise(arrows)):
            reason = (
                f"{z} is connected to {y} through a collider opened by conditioning on "
                f"{', '.join(sorted(w))}: {path}"
            )
        else:
            reason = f"{z} is confounded with {y}{given}: {path}"
    elif g.is_d_separated(z, x, w):
        reason = f"{z} is independent of {x}{given}: no open path links them"
    else:
        return None
    fix = _conditioning_for(g, g_ux, x, y, z, de_x)
    if fix is not None:
        reason += (
            f" (it is an instrument given {', '.join(sorted(fix))})"
            if fix
            else " (it is an instrument without conditioning)"
        )
    return reason

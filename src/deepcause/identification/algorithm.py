"""Identification of causal queries: the ID and IDC algorithms of Shpitser & Pearl (2006).

:func:`identify` turns ``P(Y | do(X), W)`` on a :class:`~deepcause.graph.CausalGraph` into an
:class:`~deepcause.identification.estimand.Estimand` over the observational distribution, or raises
:class:`~deepcause.exceptions.NotIdentifiableError` with a hedge (the witness of
non-identifiability). Both algorithms are sound and complete.

>>> print(identify("Z -> X -> Y; Z -> Y", "X", "Y"))
P(Y | do(X)) = Σ_{Z} P(Y | X, Z) P(Z)
>>> print(identify("X -> M -> Y; X <-> Y", "X", "Y"))
P(Y | do(X)) = Σ_{M} P(M | X) Σ_{X'} P(Y | M, X') P(X')
>>> identify("X -> Y; X <-> Y", "X", "Y")
Traceback (most recent call last):
...
deepcause.exceptions.NotIdentifiableError: P(Y | do(X)) is not identifiable...

The recursion works on node sets of one precomputed structure (parents, spouses, topological
positions) instead of building subgraphs, so a query costs well under a millisecond.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..exceptions import NotIdentifiableError, QueryError
from ..graph.algorithms import intercepts, proper_causal_nodes, reach
from ..graph.causal_graph import CausalGraph
from ..graph.criteria import find_adjustment_set, frontdoor_sets
from ._names import _sorted
from .estimand import Estimand, _query_text
from .expressions import ONE, Expression, Fraction, P, Product, Sum
from .expressions import simplify as _simplify

__all__ = ["identify"]

_EMPTY: frozenset[str] = frozenset()


# ----------------------------------------------------------------------------- graph structure


class _Struct:
    """Adjacency of one graph as dicts of frozensets, plus topological positions."""

    __slots__ = ("graph", "pa", "ch", "sp", "pos", "nodes")

    def __init__(self, g: CausalGraph) -> None:
        self.graph = g
        self.pa = {n: g.parents(n) for n in g.nodes}
        self.ch = {n: g.children(n) for n in g.nodes}
        self.sp = {n: g.spouses(n) for n in g.nodes}
        self.pos = {n: i for i, n in enumerate(g.topological_order())}
        self.nodes = frozenset(g.nodes)


_STRUCTS: dict[int, _Struct] = {}


def _struct(g: CausalGraph) -> _Struct:
    s = _STRUCTS.get(id(g))
    if s is None or s.graph is not g:
        if len(_STRUCTS) >= 64:
            _STRUCTS.pop(next(iter(_STRUCTS)))
        s = _STRUCTS[id(g)] = _Struct(g)
    return s


def _ancestors(pa: dict, start: Iterable[str], within: frozenset[str], cut=_EMPTY) -> frozenset:
    """Ancestors of ``start`` inside ``within``; nodes in ``cut`` have no incoming edges."""
    seen = set(start)
    stack = list(seen)
    while stack:
        n = stack.pop()
        if n in cut:
            continue
        for p in pa[n]:
            if p not in seen and p in within:
                seen.add(p)
                stack.append(p)
    return frozenset(seen)


def _component(sp: dict, node: str, within: frozenset[str]) -> frozenset[str]:
    """The district of ``node`` in the subgraph induced by ``within``."""
    return reach((node,), sp, within)


def _districts(s: _Struct, within: frozenset[str]) -> list[frozenset[str]]:
    out: list[frozenset[str]] = []
    done: set[str] = set()
    for n in sorted(within, key=s.pos.__getitem__):
        if n not in done:
            d = _component(s.sp, n, within)
            done.update(d)
            out.append(d)
    return out


def _m_connected(
    s: _Struct,
    src: frozenset[str],
    targets: frozenset[str] | None,
    cond: frozenset[str],
    no_in: frozenset[str],
    no_out: frozenset[str],
) -> bool | set[str]:
    """m-connection of ``src`` and ``targets`` given ``cond`` in G with edges into ``no_in``
    and directed edges out of ``no_out`` removed (``G_{\\bar X, \\underline Z}``).

    With ``targets=None`` it returns every node m-connected to ``src`` instead."""
    pa, ch, sp = s.pa, s.ch, s.sp
    an = _ancestors(pa, cond, s.nodes - no_out, cut=no_in)  # in G with those edges removed
    seen: set[tuple[str, bool]] = set()
    reached: set[str] = set()
    todo = [(n, False) for n in src]
    while todo:
        state = todo.pop()
        if state in seen:
            continue
        seen.add(state)
        n, head = state
        if targets is not None and n in targets:
            return True
        reached.add(n)
        open_tail = n not in cond
        if open_tail and n not in no_out:
            todo.extend((c, True) for c in ch[n] if c not in no_in)
        if (n in an if head else open_tail) and n not in no_in:
            todo.extend((p, False) for p in pa[n] if p not in no_out)
            todo.extend((t, True) for t in sp[n] if t not in no_in)
    return False if targets is not None else reached


# ----------------------------------------------------------------------------- distributions


@dataclass(frozen=True, slots=True)
class _Prod:
    """``Π_v factors[v]`` over ``nodes``: the distribution passed down by line 7 of ID."""

    nodes: frozenset[str]
    order: tuple[str, ...]  # nodes in topological order
    factors: dict[str, Expression]


def _marginal(dist: _Prod | None, keep: frozenset[str]) -> Expression:
    """The marginal of ``dist`` (observational when ``None``) over ``keep``."""
    if not keep:
        return ONE
    if dist is None:
        return P._make(keep, _EMPTY)
    kept: list[Expression] = []
    needed = set(keep)
    heads = set()
    for v in reversed(dist.order):  # sum out barren nodes from the end: Σ_v P(v | ...) = 1
        if v in needed:
            f = dist.factors[v]
            kept.append(f)
            heads.add(v)
            needed.update(f._free)  # type: ignore[attr-defined]
    kept.reverse()
    summed = frozenset(heads) - keep
    body = kept[0] if len(kept) == 1 else Product._make(tuple(kept))
    return Sum._make(summed, body) if summed else body


def _conditional(s: _Struct, dist: _Prod | None, v: str, nodes: frozenset[str]) -> Expression:
    """``P(v | nodes before v)`` under ``dist`` restricted to ``nodes``."""
    pos = s.pos
    pv = pos[v]
    if dist is None:
        # the observational marginal over an ancestral set is Markov to its induced graph, so
        # v depends on its predecessors only through its district T and Pa(T) (Tian & Pearl)
        sp = s.sp
        district = {v}
        stack = [v]
        while stack:
            for t in sp[stack.pop()]:
                if t not in district and t in nodes and pos[t] < pv:
                    district.add(t)
                    stack.append(t)
        blanket = district.union(*(s.pa[t] for t in district))
        blanket.discard(v)
        return P._make(frozenset((v,)), frozenset(blanket))
    if nodes == dist.nodes:
        return dist.factors[v]
    prefix = frozenset(u for u in nodes if pos[u] < pv)
    num = _marginal(dist, prefix | {v})
    den = _marginal(dist, prefix)
    return num if den is ONE else Fraction(num, den)


# ----------------------------------------------------------------------------- ID and IDC


class _Hedge(Exception):
    def __init__(self, f: frozenset[str], f_prime: frozenset[str]) -> None:
        super().__init__()
        self.f, self.f_prime = f, f_prime
        self.query: tuple[frozenset[str], frozenset[str]] = (_EMPTY, _EMPTY)


def _id(
    s: _Struct, y: frozenset[str], x: frozenset[str], nodes: frozenset[str], dist: _Prod | None
) -> Expression:
    """ID(y, x, P, G) of Shpitser & Pearl (2006), G the subgraph induced by ``nodes``."""
    while True:
        if not x:  # line 1
            return _marginal(dist, y)
        anc = _ancestors(s.pa, y, nodes)
        if anc != nodes:  # line 2: only the ancestors of Y matter
            nodes, x = anc, x & anc
            continue
        # line 3: intervene also on nodes with no effect on Y once X is fixed
        w = nodes - x - _ancestors(s.pa, y, nodes, cut=x)
        if w:
            x = x | w
            continue
        break
    pos = s.pos.__getitem__
    comps = _districts(s, nodes - x)
    if len(comps) > 1:  # line 4: factorise over the districts of G \ X
        factors = [_district_factor(s, c, nodes, dist) for c in comps]
        summed = nodes - (y | x)
        body = Product._make(tuple(factors))
        return Sum._make(summed, body) if summed else body
    (comp,) = comps
    big = _component(s.sp, next(iter(comp)), nodes)
    if big == nodes:  # line 5: G is one district: hedge (G, G ∩ S)
        raise _Hedge(nodes, comp)
    if big == comp:  # line 6
        factors = [_conditional(s, dist, v, nodes) for v in sorted(comp, key=pos)]
        body = factors[0] if len(factors) == 1 else Product._make(tuple(factors))
        summed = comp - y
        return Sum._make(summed, body) if summed else body
    # line 7: S lies inside a bigger district S'; recurse on G[S'] with the distribution of S'
    order = tuple(sorted(big, key=pos))
    new = {v: _conditional(s, dist, v, nodes) for v in order}
    sub = _Prod(big, order, new)
    return _id(s, y, x & big, big, sub)


def _district_factor(
    s: _Struct, c: frozenset[str], nodes: frozenset[str], dist: _Prod | None
) -> Expression:
    """ID(c, nodes \\ c) for a district ``c`` of G \\ X (line 4's sub-problems).

    When ``c`` is also a district of G the answer is Q[c] = Π_{v ∈ c} P(v | predecessors)
    (Tian & Pearl 2002), which is what the recursive call would reach through lines 2, 3 and 6;
    computing it directly saves the recursion (most districts in large graphs are like this).
    """
    if len(c) == 1:
        (v,) = c
        if s.sp[v].isdisjoint(nodes):
            return _conditional(s, dist, v, nodes)
    elif _component(s.sp, next(iter(c)), nodes) == c:
        factors = [_conditional(s, dist, v, nodes) for v in sorted(c, key=s.pos.__getitem__)]
        return Product._make(tuple(factors))
    return _id(s, c, nodes - c, nodes, dist)


def _idc(
    s: _Struct, y: frozenset[str], x: frozenset[str], w: frozenset[str]
) -> tuple[Expression, frozenset[str]]:
    """IDC (Shpitser & Pearl 2006, UAI); returns the expression and the given nodes left."""
    moved = True
    while moved:  # rule 2 of do-calculus: a given node that acts like an action becomes one
        moved = False
        for z in sorted(w, key=s.pos.__getitem__):
            rest = w - {z}
            if not _m_connected(s, frozenset((z,)), y, x | rest, x, frozenset((z,))):
                x, w, moved = x | {z}, rest, True
                break
    try:
        joint = _id(s, y | w, x, s.nodes, None)
    except _Hedge as hedge:
        hedge.query = (x, y | w)
        raise
    if not w:
        return joint, w
    return Fraction(joint, Sum(y, joint)), w


# ----------------------------------------------------------------------------- shortcuts


def _ancestral(s: _Struct, x: frozenset[str], y: frozenset[str]) -> CausalGraph:
    """G[An(X ∪ Y)]: adjustment and front-door sets, and the m-separations that decide them,
    live inside the ancestors of treatment and outcome, so the criteria see a smaller graph."""
    anc = _ancestors(s.pa, x | y, s.nodes)
    return s.graph if len(anc) == len(s.nodes) else s.graph.subgraph(anc)


def _backdoor_set(g: CausalGraph, x: frozenset[str], y: frozenset[str]) -> frozenset[str] | None:
    return find_adjustment_set(g, x, y, kind="minimal")


def _frontdoor_possible(s: _Struct, x: frozenset[str], y: frozenset[str]) -> bool:
    """A quick necessary condition for a front-door set: the mediators on causal paths that
    no back-door path reaches from X (front-door condition ii) intercept every directed path
    from X to Y (condition i). Rejects most queries before the full criterion runs."""
    ch = s.ch
    causal = proper_causal_nodes(ch, s.pa, x, y)
    if not causal:  # no directed path from X to Y
        return False
    confounded = _m_connected(s, x, None, _EMPTY, _EMPTY, x)  # reachable in G_{underline X}
    free = causal - y - confounded  # type: ignore[operator]
    return intercepts(ch, x, y, free)  # does every directed path X -> Y pass through free?


def _frontdoor_set(g: CausalGraph, x: frozenset[str], y: frozenset[str]) -> frozenset[str] | None:
    sets = frontdoor_sets(g, x, y)
    return min(sets, key=lambda m: (len(m), _sorted(m))) if sets else None


def _backdoor_formula(x: frozenset[str], y: frozenset[str], z: frozenset[str]) -> Expression:
    if not z:
        return P._make(y, x)
    return Sum._make(z, Product._make((P._make(y, x | z), P._make(z, _EMPTY))))


def _frontdoor_formula(x: frozenset[str], y: frozenset[str], m: frozenset[str]) -> Expression:
    inner = Sum._make(x, Product._make((P._make(y, x | m), P._make(x, _EMPTY))))
    return Sum._make(m, Product._make((P._make(m, x), inner)))


# ----------------------------------------------------------------------------- public API


def _braces(names: Iterable[str]) -> str:
    return "{" + ", ".join(_sorted(names)) + "}"


def _hedge_message(
    s: _Struct, query: str, x: frozenset[str], y: frozenset[str], hedge: _Hedge
) -> str:
    f, fp = hedge.f, hedge.f_prime
    fx = f & x
    links = sorted(f"{a} <-> {b}" for a in _sorted(fx) for b in _sorted(s.sp[a] & f) if b not in x)
    edges = ", ".join(links[:4]) + (" ..." if len(links) > 4 else "")
    confounding = (
        f"measuring the unobserved common causes behind {edges}" if links else
        f"measuring the unobserved common causes that tie {_braces(fx)} to the rest of F"
    )  # fmt: skip
    return (
        f"{query} is not identifiable: the observed distribution does not determine it.\n"
        f"Hedge: F = {_braces(f)} and F' = {_braces(fp)}. Within each set the nodes are tied "
        f"together by bidirected edges (unobserved common causes) and reach the outcome "
        f"{_braces(y)} through directed edges; F contains the treatment {_braces(fx)}, while "
        f"F' (a part of F) contains no treatment. Two causal models that differ only inside F "
        f"agree on every observed probability but give different {query}.\n"
        f"What would help: measuring a mediator that carries the whole effect of {_braces(fx)} "
        f"on {_braces(y)} and shares no unobserved cause with the treatment (front door); "
        f"{confounding}; or an instrument for the treatment (a variable that moves it and "
        f"affects the outcome only through it) with an instrumental-variable estimator.\n"
        f"Bounds instead of a number: deepcause.bounds(graph, data, treatment={{...}}, "
        f"outcome={{...}}) gives sharp bounds for discrete data (`deepcause bounds` on the "
        f"command line)."
    )


def _node_set(g: CausalGraph, names: object, role: str) -> tuple[str, ...]:
    if not isinstance(names, str | Iterable):
        raise QueryError(f"{role} must be a node name or an iterable of names, got {names!r}")
    if isinstance(names, str) and "," in names and names not in g:
        names = [n.strip() for n in names.split(",") if n.strip()]
    return g.check_nodes(names, role)  # type: ignore[arg-type]


def identify(
    graph: CausalGraph | str,
    treatment: str | Iterable[str],
    outcome: str | Iterable[str],
    given: str | Iterable[str] | None = None,
    *,
    simplify: bool = True,
) -> Estimand:
    """Identify ``P(outcome | do(treatment), given)`` from the observational distribution.

    Runs ID (Shpitser & Pearl 2006, AAAI) or, with ``given``, IDC (Shpitser & Pearl 2006, UAI).
    When a valid back-door adjustment set exists the estimand is the adjustment formula with a
    minimal set (``kind="backdoor"``); otherwise when a front-door set exists it is the
    front-door formula (``kind="frontdoor"``); otherwise the ID output (``"general"``, or
    ``"conditional"`` with ``given``), simplified unless ``simplify=False``.

    Parameters
    ----------
    graph : a :class:`~deepcause.graph.CausalGraph` or its text (``"Z -> X -> Y; Z -> Y"``).
    treatment, outcome, given : a node name, comma-separated names, or an iterable of names.

    Raises
    ------
    UnknownNodeError : a name is not a node (close names are suggested).
    QueryError : an empty set, or treatment/outcome/given overlapping.
    NotIdentifiableError : no formula exists; ``.hedge`` holds ``(F, F')`` and the message
        explains it; ``.hedge_query`` is the ``(treatment, outcome)`` pair of the ID call the
        hedge refutes (for ``given`` queries IDC may have moved given nodes into either).

    The ID output may mention nodes outside the query (``R`` in the napkin below) although its
    value does not depend on them; :meth:`~deepcause.identification.estimand.Estimand.evaluate` handles that.

    >>> est = identify("W -> R -> X -> Y; W <-> X; W <-> Y", "X", "Y")   # the napkin
    >>> print(est)
    P(Y | do(X)) = (Σ_{W} P(X, Y | R, W) P(W)) / (Σ_{W} P(X | R, W) P(W))
    >>> est.kind
    'general'
    """
    g = graph if isinstance(graph, CausalGraph) else CausalGraph(graph)
    xs = _node_set(g, treatment, "treatment")
    ys = _node_set(g, outcome, "outcome")
    if given is not None and not isinstance(given, str):
        given = list(given)  # an empty iterable means no conditioning
    ws = _node_set(g, given, "given") if given else ()
    x, y, w = frozenset(xs), frozenset(ys), frozenset(ws)
    for a, b, name_a, name_b in ((x, y, "treatment", "outcome"), (w, x, "given", "treatment"),
                                 (w, y, "given", "outcome")):  # fmt: skip
        if a & b:
            raise QueryError(
                f"{_sorted(a & b)} appear in both the {name_a} and the {name_b}; a node can "
                f"have only one role in a query"
            )
    s = _struct(g)
    if not w:  # a back-door set, else a front-door set, answers the query at once
        small = _ancestral(s, x, y)
        z = _backdoor_set(small, x, y)
        if z is not None:
            expr = _backdoor_formula(x, y, z)
            adjustment = tuple(_sorted(z))
            return Estimand(expr, xs, ys, ws, "backdoor", adjustment_set=adjustment)
        m = _frontdoor_set(small, x, y) if _frontdoor_possible(s, x, y) else None
        if m is not None:
            expr = _frontdoor_formula(x, y, m)
            return Estimand(expr, xs, ys, ws, "frontdoor", mediators=tuple(_sorted(m)))
    try:
        if w:
            expr, _ = _idc(s, y, x, w)
        else:
            expr = _id(s, y, x, s.nodes, None)
    except _Hedge as hedge:
        query = _query_text(xs, ys, ws)
        hx, hy = hedge.query if w else (x, y)
        exc = NotIdentifiableError(
            _hedge_message(s, query, hx, hy, hedge), query=query, hedge=(hedge.f, hedge.f_prime)
        )
        exc.hedge_query = (hx, hy)  # the ID query the hedge is for: (treatment, outcome)
        raise exc from None
    if simplify:
        expr = _simplify(expr)
    return Estimand(expr, xs, ys, ws, "conditional" if w else "general")

"""Counterfactual events and the counterfactual graph (make-cg of Shpitser & Pearl 2007).

A counterfactual event ``Y_{X=1} = 1`` says "Y would have been 1 had X been set to 1"; an event
with no intervention (``X = 0``) is a factual observation. A query is a conjunction of events
over several *worlds* (one world per distinct intervention). The worlds share the unobserved
causes: every variable has its own noise, shared by its copies in all worlds, and a bidirected
edge ``A <-> B`` is a latent shared by every copy of A and of B.

:func:`make_cg` builds the parallel worlds graph of a conjunction and merges copies that are
provably the same random variable (same mechanism, same noise, parents equal as nodes or by
value), which gives the counterfactual graph that ID* factorises.

>>> ev = cf("Y", do={"X": 1}) == 1
>>> print(ev)
Y_{X=1}=1
>>> ev.do, ev.value
({'X': 1}, 1)
>>> print(CounterfactualEvent("X", {}, 0))
X=0
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from ...exceptions import QueryError
from .._names import _natkey, _sorted

# make_cg (the parallel-worlds step of ID*) is internal: its inputs are ID*'s working structures
__all__ = ["CounterfactualEvent", "CounterfactualVariable", "Symbol", "cf"]

_UIDS = count()


@dataclass(frozen=True)
class Symbol:
    """A value of ``variable`` bound by a sum in an estimand (a summation index).

    >>> Symbol("Z").variable
    'Z'
    """

    variable: str
    uid: int = field(default_factory=lambda: next(_UIDS))


def value_text(value: Any) -> str:
    """How a value prints in an event: a constant as itself, a summation index as the
    lower-case variable name (``W=w``: some value of W)."""
    return value.variable.lower() if isinstance(value, Symbol) else str(value)


def do_text(do: Iterable[tuple[str, Any]]) -> str:
    return ", ".join(f"{k}={value_text(v)}" for k, v in do)


@dataclass(frozen=True, init=False)
class CounterfactualEvent:
    """The event ``variable_{do} = value``: ``variable`` takes ``value`` had ``do`` been set.

    ``do`` is a mapping of intervened variables to values; an empty ``do`` is a factual event.

    >>> e = CounterfactualEvent("Y", {"X": 0}, 1)
    >>> print(e), e.intervention
    Y_{X=0}=1
    (None, (('X', 0),))
    """

    variable: str
    intervention: tuple[tuple[str, Any], ...]
    value: Any

    def __init__(self, variable: str, do: Mapping[str, Any] | None, value: Any) -> None:
        if not isinstance(variable, str) or not variable:
            raise QueryError(f"a counterfactual variable must be a node name, got {variable!r}")
        do = {} if do is None else do
        if not isinstance(do, Mapping):
            raise QueryError(f"the intervention of {variable} must be a mapping such as {{'X': 1}}")
        for v in (value, *do.values()):
            if v is None or not isinstance(v, Hashable):
                raise QueryError(f"values in the event on {variable} must be hashable, got {v!r}")
        items = tuple((k, do[k]) for k in _sorted(do))
        object.__setattr__(self, "variable", variable)
        object.__setattr__(self, "intervention", items)
        object.__setattr__(self, "value", value)

    @property
    def do(self) -> dict[str, Any]:
        """The intervention as a dict."""
        return dict(self.intervention)

    def __str__(self) -> str:
        sub = f"_{{{do_text(self.intervention)}}}" if self.intervention else ""
        return f"{self.variable}{sub}={value_text(self.value)}"


@dataclass(frozen=True)
class CounterfactualVariable:
    """``cf("Y", do={"X": 1})``: the potential outcome Y_{X=1}; ``== value`` makes an event.

    >>> print(cf("Y", do={"X": 1}) == 0)
    Y_{X=1}=0
    """

    variable: str
    do: tuple[tuple[str, Any], ...] = ()

    def __eq__(self, value: object) -> CounterfactualEvent:  # type: ignore[override]
        return CounterfactualEvent(self.variable, dict(self.do), value)

    def __hash__(self) -> int:
        return hash((self.variable, self.do))

    def __str__(self) -> str:
        return self.variable + (f"_{{{do_text(self.do)}}}" if self.do else "")


def cf(variable: str, do: Mapping[str, Any] | None = None) -> CounterfactualVariable:
    """The counterfactual variable ``variable_{do}``; compare with ``==`` to get an event.

    >>> print(cf("X") == 0, cf("Y", {"X": 1}) == 1)
    X=0 Y_{X=1}=1
    """
    if do is not None and not isinstance(do, Mapping):
        raise QueryError(f"do must be a mapping such as {{'X': 1}}, got {do!r}")
    return CounterfactualVariable(variable, tuple((k, (do or {})[k]) for k in _sorted(do or {})))


# ----------------------------------------------------------------------------- internal events

Ev = tuple[str, frozenset, Any]  # (variable, intervention as frozenset of (name, value), value)


def same(a: Any, b: Any) -> bool:
    """Whether two values are known to be equal (a summation index only equals itself)."""
    if isinstance(a, Symbol) or isinstance(b, Symbol):
        return a == b
    return bool(a == b)


def relevant(pa: Mapping[str, frozenset[str]], var: str, sub: frozenset) -> frozenset:
    """Drop interventions with no directed path to ``var`` avoiding the other intervened
    nodes (``Y_{x, z} = Y_x`` when Z is not an ancestor of Y in G with edges into X cut)."""
    fixed = {k for k, _ in sub}
    seen, stack = {var}, [var]
    while stack:
        n = stack.pop()
        if n in fixed and n != var:
            continue
        for p in pa[n]:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return frozenset((k, v) for k, v in sub if k in seen)


@dataclass
class CfNode:
    """One node of the counterfactual graph: ``var`` in world ``world``, its observed
    ``value`` (``None`` when unobserved) and parents (node ids or ``("c", value)`` constants)."""

    var: str
    world: frozenset
    value: Any
    parents: dict[str, Any]


class Inconsistent(Exception):
    """Two copies found to be one variable carry different observed values (ID* line 5)."""


class Substitute(Exception):  # noqa: N818 - control flow, not an error
    """Merging needs a summation index to equal a value: the caller substitutes it."""

    def __init__(self, symbol: Symbol, value: Any) -> None:
        super().__init__()
        self.symbol, self.value = symbol, value


@dataclass
class CfGraph:
    """The counterfactual graph: nodes by id, and the node of each input event."""

    nodes: dict[int, CfNode]
    of_event: list[int]

    def spouses(self, sp: Mapping[str, frozenset[str]]) -> dict[int, set[int]]:
        """Bidirected adjacency: copies of one variable share its noise; ``A <-> B`` in G
        links every copy of A with every copy of B."""
        out: dict[int, set[int]] = {i: set() for i in self.nodes}
        items = list(self.nodes.items())
        for i, a in items:
            for j, b in items:
                if i < j and (a.var == b.var or b.var in sp[a.var]):
                    out[i].add(j)
                    out[j].add(i)
        return out

    def districts(self, sp: Mapping[str, frozenset[str]]) -> list[list[int]]:
        adj = self.spouses(sp)
        done: set[int] = set()
        comps = []
        for i in self.nodes:
            if i in done:
                continue
            comp, stack = {i}, [i]
            while stack:
                for j in adj[stack.pop()]:
                    if j not in comp:
                        comp.add(j)
                        stack.append(j)
            done |= comp
            comps.append(sorted(comp))
        return comps

    def parent_value(self, node: CfNode, p: str) -> Any:
        ref = node.parents[p]
        return ref[1] if isinstance(ref, tuple) else self.nodes[ref].value


def _known(nodes: dict[int, CfNode], ref: Any) -> Any:
    """The value of a parent reference when it is known (constant or observed), else None."""
    return ref[1] if isinstance(ref, tuple) else nodes[ref].value


def _agree(nodes: dict[int, CfNode], a: Any, b: Any) -> bool:
    if not isinstance(a, tuple) and not isinstance(b, tuple) and a == b:
        return True
    va, vb = _known(nodes, a), _known(nodes, b)
    return va is not None and vb is not None and same(va, vb)


def _observe(node: CfNode, value: Any) -> None:
    if value is None:
        return
    if node.value is None:
        node.value = value
    elif not same(node.value, value):
        for a, b in ((node.value, value), (value, node.value)):
            if isinstance(a, Symbol):
                raise Substitute(a, b)
        raise Inconsistent


def make_cg(
    pa: Mapping[str, frozenset[str]], order: Mapping[str, int], events: list[Ev]
) -> CfGraph:
    """make-cg: the parallel worlds graph of ``events`` restricted to the ancestors of the
    events, with copies that are provably one variable merged (Lemma 24 of Shpitser & Pearl
    2008). Raises :class:`Inconsistent` when a merged node gets two values, and
    :class:`Substitute` when that depends on the value of a summation index."""
    need: dict[frozenset, set[str]] = {}
    evidence: dict[tuple[str, frozenset], Any] = {}
    for var, sub, value in events:
        fixed = {k for k, _ in sub}
        seen, stack = {var}, [var]
        while stack:
            for p in pa[stack.pop()]:
                if p not in seen and p not in fixed:
                    seen.add(p)
                    stack.append(p)
        need.setdefault(sub, set()).update(seen)
        key = (var, sub)
        if key in evidence and not same(evidence[key], value):
            for a, b in ((evidence[key], value), (value, evidence[key])):
                if isinstance(a, Symbol):
                    raise Substitute(a, b)
            raise Inconsistent
        evidence[key] = value
    worlds = sorted(need, key=lambda w: (len(w), sorted(map(repr, w))))
    nodes: dict[int, CfNode] = {}
    where: dict[tuple[str, frozenset], int] = {}
    for var in sorted({v for vs in need.values() for v in vs}, key=order.__getitem__):
        groups: list[int] = []
        for w in worlds:
            if var not in need[w]:
                continue
            fixed = dict(w)
            refs = {p: ("c", fixed[p]) if p in fixed else where[(p, w)] for p in pa[var]}
            target = next(
                (
                    g
                    for g in groups
                    if all(_agree(nodes, nodes[g].parents[p], refs[p]) for p in refs)
                ),
                None,
            )
            if target is None:
                target = len(nodes)
                nodes[target] = CfNode(var, w, None, refs)
                groups.append(target)
            else:  # keep a random parent over a constant: the edge then stays in the graph
                node = nodes[target]
                for p, ref in refs.items():
                    if isinstance(node.parents[p], tuple) and not isinstance(ref, tuple):
                        node.parents[p] = ref
            where[(var, w)] = target
            _observe(nodes[target], evidence.get((var, w)))
    return CfGraph(nodes, [where[(var, sub)] for var, sub, _ in events])


def node_text(g: CfGraph, i: int) -> str:
    """``Y_{X=1}`` for a node of the counterfactual graph (its representative world)."""
    n = g.nodes[i]
    world = sorted(n.world, key=lambda kv: _natkey(kv[0]))
    return n.var + (f"_{{{do_text(world)}}}" if world else "")

"""``CausalGraph``: an immutable acyclic directed mixed graph (ADMG).

Directed edges ``A -> B`` are direct causes; bidirected edges ``A <-> B`` stand for an
unobserved common cause. Build one from text, edge lists or networkx:

>>> g = CausalGraph("Z -> X -> Y; Z -> Y; X <-> Y")
>>> g.parents("Y") == {"X", "Z"}, g.spouses("X") == {"Y"}
(True, True)
>>> g.is_d_separated("Z", "Y", given=["X"])
False
>>> print(g)
Z -> X; Z -> Y; X -> Y; X <-> Y

Duplicate edges are an error in text (``X -> Y`` written twice is almost always a typo) but
are tolerated in edge lists, where they are dropped. ``X -> Y`` together with ``Y -> X`` is a
directed cycle and always an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import networkx as nx

from ..exceptions import GraphError, QueryError
from ._build import Adj, adjacency, topological, unknown_node
from .algorithms import connecting_walk, m_separated, project
from .algorithms import reach as _reach
from .convert import dot_text, networkx_edges, to_networkx
from .parser import edge_statements, format_name

__all__ = ["CausalGraph", "as_graph"]

Nodes = str | Iterable[str]
_EMPTY: frozenset[str] = frozenset()


def _cut(xs: frozenset[str], near: Adj, far: Adj) -> None:
    """Drop, in place, every edge between ``xs`` and the nodes listed in ``near[x]``: empty
    ``near[x]`` and take ``xs`` out of each such neighbour's ``far`` set (``near is far`` for the
    symmetric bidirected map)."""
    for n in xs:
        for m in near[n]:
            far[m] = far[m] - xs
        near[n] = _EMPTY


class CausalGraph:
    """Immutable ADMG with observed nodes, directed and bidirected edges.

    Parameters
    ----------
    text : str or CausalGraph, optional
        Graph in the text language: chains ``A -> B <- C``, ``A <-> B``, statements separated by
        ``;`` or new lines, ``#`` comments, a bare name for an isolated node, ``"quoted names"``
        for names with other characters. A ``CausalGraph`` is copied.
    nodes, directed, bidirected : iterables
        Extra nodes and edge lists ``[(u, v), ...]``, combined with ``text``.

    Raises
    ------
    GraphError
        On a syntax error, a self loop, a duplicate edge in the text or a bad node name.
    CycleError
        If the directed edges form a cycle (the message names it).

    Examples
    --------
    >>> g = CausalGraph("X -> M -> Y; X <-> Y", nodes=["W"])
    >>> g.nodes, g.district("X") == {"X", "Y"}
    (('X', 'M', 'Y', 'W'), True)
    >>> g.is_d_separated("X", "Y", given="M")  # the confounder X <-> Y keeps them connected
    False
    >>> CausalGraph("X -> Y -> X")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.CycleError: ...contradictory edges X -> Y and Y -> X form a directed cycle...
    """

    __slots__ = ("_nodes", "_index", "_pa", "_ch", "_sp", "_cache")

    _nodes: tuple[str, ...]
    _index: dict[str, int]
    _pa: dict[str, frozenset[str]]
    _ch: dict[str, frozenset[str]]
    _sp: dict[str, frozenset[str]]
    _cache: dict[Any, Any]

    def __init__(
        self,
        text: str | CausalGraph | None = None,
        *,
        nodes: Iterable[str] = (),
        directed: Iterable[tuple[str, str]] = (),
        bidirected: Iterable[tuple[str, str]] = (),
    ) -> None:
        if isinstance(nodes, str):
            nodes = (nodes,)
        if isinstance(text, CausalGraph):
            directed = list(text.directed_edges) + list(directed)
            bidirected = list(text.bidirected_edges) + list(bidirected)
            nodes = list(text.nodes) + list(nodes)
            text = None
        self._set(*adjacency(text, nodes, directed, bidirected))
        self._check_acyclic()

    # ------------------------------------------------------------------ construction helpers
    def _set(self, nodes: tuple[str, ...], pa: Adj, ch: Adj, sp: Adj) -> None:
        setter = object.__setattr__
        setter(self, "_nodes", nodes)
        setter(self, "_index", {n: i for i, n in enumerate(nodes)})
        setter(self, "_pa", pa)
        setter(self, "_ch", ch)
        setter(self, "_sp", sp)
        setter(self, "_cache", {})

    @classmethod
    def _derived(cls, nodes: tuple[str, ...], pa: Adj, ch: Adj, sp: Adj) -> CausalGraph:
        """Build a graph from already-valid adjacency (no re-validation)."""
        g = object.__new__(cls)
        g._set(nodes, pa, ch, sp)
        return g

    def _check_acyclic(self) -> None:
        self._cache["topo"] = topological(self._nodes, self._pa, self._ch, self._index)

    @classmethod
    def from_edges(
        cls,
        directed: Iterable[tuple[str, str]],
        bidirected: Iterable[tuple[str, str]] = (),
        nodes: Iterable[str] = (),
    ) -> CausalGraph:
        """Build a graph from edge lists; ``nodes`` adds isolated nodes and fixes the order.

        >>> CausalGraph.from_edges([("A", "B")], bidirected=[("A", "B")], nodes=["C"]).nodes
        ('C', 'A', 'B')
        """
        return cls(nodes=nodes, directed=directed, bidirected=bidirected)

    @classmethod
    def from_networkx(cls, graph: Any) -> CausalGraph:
        """Build from a networkx ``DiGraph``; edges with ``bidirected=True`` are bidirected.

        See :func:`deepcause.graph.convert.networkx_edges` for how edges are read.

        >>> import networkx as nx
        >>> print(CausalGraph.from_networkx(nx.DiGraph([("X", "Y")])))
        X -> Y
        """
        nodes, directed, bidirected = networkx_edges(graph)
        return cls(nodes=nodes, directed=directed, bidirected=bidirected)

    # ------------------------------------------------------------------ basic accessors
    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("CausalGraph is immutable; build a new graph instead")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("CausalGraph is immutable; build a new graph instead")

    def __getstate__(self) -> tuple[Any, ...]:
        return (self._nodes, self._pa, self._ch, self._sp)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self._set(*state)

    @property
    def nodes(self) -> tuple[str, ...]:
        """Node names in first-appearance order.

        >>> CausalGraph("Z -> X; W -> X").nodes
        ('Z', 'X', 'W')
        """
        return self._nodes

    @property
    def node_set(self) -> frozenset[str]:
        """Node names as a frozenset.

        >>> CausalGraph("X -> Y").node_set == {"X", "Y"}
        True
        """
        got = self._cache.get("nodeset")
        if got is None:
            got = self._cache["nodeset"] = frozenset(self._nodes)
        return got

    @property
    def directed_edges(self) -> tuple[tuple[str, str], ...]:
        """Directed edges ``(parent, child)``, sorted.

        >>> CausalGraph("Z -> X -> Y; Z -> Y").directed_edges
        (('X', 'Y'), ('Z', 'X'), ('Z', 'Y'))
        """
        got = self._cache.get("dir")
        if got is None:
            got = tuple(sorted((u, v) for v, ps in self._pa.items() for u in ps))
            self._cache["dir"] = got
        return got

    @property
    def bidirected_edges(self) -> tuple[tuple[str, str], ...]:
        """Bidirected edges, each pair sorted, the list sorted.

        >>> CausalGraph("Y <-> X -> Y").bidirected_edges
        (('X', 'Y'),)
        """
        got = self._cache.get("bi")
        if got is None:
            got = tuple(sorted((u, v) for u, ss in self._sp.items() for v in ss if u < v))
            self._cache["bi"] = got
        return got

    def has_edge(self, u: str, v: str, kind: str = "->") -> bool:
        """Whether the edge ``u -> v`` (``kind="->"``) or ``u <-> v`` (``kind="<->"``) exists.

        Unknown node names give False rather than an error.

        >>> g = CausalGraph("X -> Y; X <-> Y")
        >>> g.has_edge("X", "Y"), g.has_edge("Y", "X"), g.has_edge("Y", "X", kind="<->")
        (True, False, True)
        """
        adj = self._ch if kind == "->" else self._sp
        return u in adj and v in adj[u]

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, node: object) -> bool:
        return node in self._pa

    def __iter__(self) -> Iterator[str]:
        return iter(self._nodes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CausalGraph):
            return NotImplemented
        return self._pa == other._pa and self._sp == other._sp

    def __hash__(self) -> int:
        got = self._cache.get("hash")
        if got is None:
            got = hash((self.node_set, self.directed_edges, self.bidirected_edges))
            self._cache["hash"] = got
        return got

    # ------------------------------------------------------------------ node checks
    def check_nodes(
        self, names: Nodes, role: str = "node", *, allow_empty: bool = False
    ) -> tuple[str, ...]:
        """Return ``names`` as a tuple of known node names (deduplicated, order kept).

        Parameters
        ----------
        names : str or iterable of str
            One node name or several; a set is put in the graph's node order.
        role : str, default "node"
            What the names are, for the error message (e.g. ``"treatment"``).
        allow_empty : bool, default False
            Accept an empty collection.

        Returns
        -------
        tuple of str

        Raises
        ------
        UnknownNodeError
            Naming an unknown node, with close-match suggestions.
        QueryError
            For an empty collection unless ``allow_empty``.

        Examples
        --------
        >>> CausalGraph("age -> X -> Y").check_nodes({"Y", "age"})
        ('age', 'Y')
        >>> CausalGraph("age -> X -> Y").check_nodes(["X", "ag"], role="treatment")
        Traceback (most recent call last):
        ...
        deepcause.exceptions.UnknownNodeError: treatment 'ag' is not a node of the graph (did you mean 'age'?); nodes: ['age', 'X', 'Y']
        """
        if isinstance(names, str):
            items: tuple[str, ...] = (names,)
        elif isinstance(names, (set, frozenset)):  # unordered: use the graph's node order
            index = self._index
            items = tuple(sorted(names, key=lambda n: (index.get(n, len(index)), str(n))))
        else:
            items = tuple(dict.fromkeys(names))
        if not items and not allow_empty:
            raise QueryError(f"the {role} set is empty; name at least one node of the graph")
        pa = self._pa
        for name in items:
            if name not in pa:
                raise unknown_node(name, role, self._nodes)
        return items

    def _set_of(self, x: Nodes, role: str = "node") -> frozenset[str]:
        if isinstance(x, str):
            if x not in self._pa:
                self.check_nodes(x, role)
            return frozenset((x,))
        xs = x if isinstance(x, frozenset) else frozenset(x)
        if not xs <= self._pa.keys():
            self.check_nodes(xs, role, allow_empty=True)
        return xs

    # ------------------------------------------------------------------ neighbourhoods
    def _union(self, x: Nodes, adj: dict[str, frozenset[str]]) -> frozenset[str]:
        if isinstance(x, str) and x in adj:
            return adj[x]
        xs = self._set_of(x)
        if len(xs) == 1:
            return adj[next(iter(xs))]
        return frozenset().union(*(adj[n] for n in xs))

    def parents(self, x: Nodes) -> frozenset[str]:
        """Parents of ``x`` (the union over the nodes if ``x`` is several nodes).

        Parameters
        ----------
        x : str or iterable of str
            One node name or several.

        Returns
        -------
        frozenset of str
            Empty for a root node; an unknown name raises ``UnknownNodeError``.

        Examples
        --------
        >>> sorted(CausalGraph("A -> X; B -> Y; X -> Y").parents(["X", "Y"]))
        ['A', 'B', 'X']
        """
        return self._union(x, self._pa)

    def children(self, x: Nodes) -> frozenset[str]:
        """Children of ``x`` (a node name, or the union over several); see :meth:`parents`.

        >>> sorted(CausalGraph("X -> Y; X -> M").children("X"))
        ['M', 'Y']
        """
        return self._union(x, self._ch)

    def spouses(self, x: Nodes) -> frozenset[str]:
        """Nodes sharing a bidirected edge with ``x`` (or with any of several nodes).

        >>> sorted(CausalGraph("X <-> Y; X <-> Z; X -> W").spouses("X"))
        ['Y', 'Z']
        """
        return self._union(x, self._sp)

    def ancestors(self, x: Nodes) -> frozenset[str]:
        """Ancestors of ``x`` (a node name or several), including ``x`` itself.

        Bidirected edges do not make ancestors.

        >>> sorted(CausalGraph("A -> X -> Y; B <-> X").ancestors("Y"))
        ['A', 'X', 'Y']
        """
        return self._closure(x, self._pa, "an")

    def descendants(self, x: Nodes) -> frozenset[str]:
        """Descendants of ``x`` (a node name or several), including ``x`` itself.

        >>> sorted(CausalGraph("A -> X -> Y; A -> Z").descendants("X"))
        ['X', 'Y']
        """
        return self._closure(x, self._ch, "de")

    def _closure(self, x: Nodes, adj: dict[str, frozenset[str]], tag: str) -> frozenset[str]:
        """Nodes reachable from ``x`` along ``adj``; cached per single node under ``tag``."""
        xs = self._set_of(x)
        if len(xs) != 1:
            return _reach(xs, adj)
        key = (tag, next(iter(xs)))
        got = self._cache.get(key)
        if got is None:
            got = self._cache[key] = _reach(xs, adj)
        return got

    def topological_order(self) -> tuple[str, ...]:
        """Nodes with parents before children; ties broken by node order (deterministic).

        >>> CausalGraph("Y <- X <- Z; W").topological_order()
        ('Z', 'X', 'Y', 'W')
        """
        got = self._cache.get("topo")
        if got is None:
            self._check_acyclic()
            got = self._cache["topo"]
        return got

    # ------------------------------------------------------------------ derived graphs
    def subgraph(self, nodes: Nodes) -> CausalGraph:
        """The induced subgraph (a new ``CausalGraph``) on ``nodes``, node order kept.

        >>> print(CausalGraph("Z -> X -> Y; Z <-> Y").subgraph(["X", "Y"]))
        X -> Y
        """
        keep = self._set_of(nodes)
        if len(keep) == len(self._nodes):
            return self
        order = tuple(n for n in self._nodes if n in keep)
        pa, ch, sp = self._pa, self._ch, self._sp
        return self._derived(
            order,
            {n: pa[n] & keep if pa[n] else _EMPTY for n in order},
            {n: ch[n] & keep if ch[n] else _EMPTY for n in order},
            {n: sp[n] & keep if sp[n] else _EMPTY for n in order},
        )

    def remove_incoming(self, x: Nodes) -> CausalGraph:
        """``G_{bar X}``: drop directed edges into ``x`` and bidirected edges touching ``x``.

        This is the graph after the intervention ``do(x)``.

        >>> print(CausalGraph("Z -> X -> Y; X <-> Y").remove_incoming("X"))
        X -> Y; Z
        """
        xs = self._set_of(x)
        pa, ch, sp = dict(self._pa), dict(self._ch), dict(self._sp)
        _cut(xs, pa, ch)
        _cut(xs, sp, sp)
        return self._derived(self._nodes, pa, ch, sp)

    def remove_outgoing(self, x: Nodes) -> CausalGraph:
        """``G_{underline X}``: drop directed edges out of ``x`` (as in the back-door criterion).

        >>> CausalGraph("Z -> X -> Y; Z -> Y").remove_outgoing("X").is_d_separated("X", "Y", "Z")
        True
        """
        xs = self._set_of(x)
        pa, ch = dict(self._pa), dict(self._ch)
        _cut(xs, ch, pa)
        return self._derived(self._nodes, pa, ch, self._sp)

    def remove_edges(
        self, directed: Iterable[tuple[str, str]] = (), bidirected: Iterable[tuple[str, str]] = ()
    ) -> CausalGraph:
        """A new graph without the ``directed`` and ``bidirected`` edges (pairs ``(u, v)``).

        Edges that do not exist are ignored; a bidirected edge may be given either way round.

        >>> print(CausalGraph("X -> Y; X <-> Y").remove_edges(bidirected=[("Y", "X")]))
        X -> Y
        """
        pa, ch, sp = dict(self._pa), dict(self._ch), dict(self._sp)
        for u, v in directed:
            if u in ch and v in ch[u]:
                ch[u] = ch[u] - {v}
                pa[v] = pa[v] - {u}
        for u, v in bidirected:
            if u in sp and v in sp[u]:
                sp[u] = sp[u] - {v}
                sp[v] = sp[v] - {u}
        return self._derived(self._nodes, pa, ch, sp)

    def districts(self) -> tuple[frozenset[str], ...]:
        """C-components (connected components of the bidirected part), in node order.

        >>> [sorted(d) for d in CausalGraph("A <-> B; B -> C; C <-> D; E").districts()]
        [['A', 'B'], ['C', 'D'], ['E']]
        """
        got = self._cache.get("districts")
        if got is None:
            of: dict[str, frozenset[str]] = {}
            out = []
            sp = self._sp
            for n in self._nodes:
                if n in of:
                    continue
                d = _reach((n,), sp) if sp[n] else frozenset((n,))
                out.append(d)
                for m in d:
                    of[m] = d
            got = self._cache["districts"] = tuple(out)
            self._cache["district_of"] = of
        return got

    def district(self, node: str) -> frozenset[str]:
        """The district (c-component) containing ``node``; see :meth:`districts`.

        >>> sorted(CausalGraph("X <-> M; M -> Y; Y <-> X").district("M"))
        ['M', 'X', 'Y']
        """
        self._set_of(node)
        self.districts()
        return self._cache["district_of"][node]

    # ------------------------------------------------------------------ separation
    def _query_sets(self, xs: Nodes, ys: Nodes, given: Nodes) -> tuple[frozenset[str], ...]:
        z = self._set_of(given, "conditioning node")
        return self._set_of(xs) - z, self._set_of(ys) - z, z

    def is_d_separated(self, xs: Nodes, ys: Nodes, given: Nodes = ()) -> bool:
        """m-separation (d-separation for ADMGs) of ``xs`` and ``ys`` given ``given``.

        Nodes of ``xs``/``ys`` that are also in ``given`` are dropped (a conditioned variable
        is independent of everything); overlapping ``xs`` and ``ys`` are never separated.

        >>> CausalGraph("X -> M -> Y").is_d_separated("X", "Y", given="M")
        True
        """
        x, y, z = self._query_sets(xs, ys, given)
        if not x or not y:
            return True
        if not x.isdisjoint(y):
            return False
        return m_separated(self._pa, self._ch, self._sp, x, y, z)

    def connecting_path(self, xs: Nodes, ys: Nodes, given: Nodes = ()) -> str | None:
        """A walk that m-connects ``xs`` and ``ys`` given ``given`` as text, or ``None``.

        >>> CausalGraph("X <- U -> Y").connecting_path("X", "Y")
        'X <- U -> Y'
        """
        x, y, z = self._query_sets(xs, ys, given)
        if not x or not y:
            return None
        common = x & y
        if common:
            return format_name(min(common, key=self._index.__getitem__))
        return connecting_walk(self._pa, self._ch, self._sp, x, y, z, self._index)

    # ------------------------------------------------------------------ projection
    def latent_projection(self, latent: Nodes) -> CausalGraph:
        """Project out ``latent`` nodes, keeping m-separation among the other nodes.

        >>> print(CausalGraph("X <- U -> Y; X -> M -> Y").latent_projection(["U", "M"]))
        X -> Y; X <-> Y
        """
        lat = self._set_of(latent, "latent node")
        if not lat:
            return self
        return self._derived(*project(self._nodes, self._pa, self._sp, lat))

    # ------------------------------------------------------------------ export
    def to_networkx(self) -> Any:
        """``networkx.DiGraph``; bidirected edges are pairs ``(u, v), (v, u)`` with
        ``bidirected=True`` (a directed edge in the same place also gets ``directed=True``).

        >>> sorted(CausalGraph("X -> Y").to_networkx().edges)
        [('X', 'Y')]
        """
        return to_networkx(self._nodes, self.directed_edges, self.bidirected_edges)

    def _edge_statements(self) -> list[str]:
        return edge_statements(self._nodes, self.directed_edges, self.bidirected_edges)

    def __str__(self) -> str:
        return "; ".join(self._edge_statements())

    def __repr__(self) -> str:
        parts = self._edge_statements()
        if len(parts) > 30:
            return (
                f"<CausalGraph: {len(self)} nodes, {len(self.directed_edges)} directed and "
                f"{len(self.bidirected_edges)} bidirected edges>"
            )
        return f"CausalGraph({'; '.join(parts)!r})"

    def to_dot(self) -> str:
        """Graphviz DOT text; bidirected edges are dashed with arrowheads at both ends.

        >>> print(CausalGraph("X <-> Y").to_dot().splitlines()[-2])
          "X" -> "Y" [dir=both, style=dashed, constraint=false];
        """
        return dot_text(self._nodes, self.directed_edges, self.bidirected_edges)


def as_graph(graph: Any, role: str = "graph") -> CausalGraph:
    """``graph`` itself if it is a :class:`CausalGraph`, parsed if it is graph text, converted
    if it is a networkx ``DiGraph`` (:meth:`CausalGraph.from_networkx`).

    >>> import networkx as nx
    >>> as_graph("X -> Y").nodes, as_graph(nx.DiGraph([("X", "Y")])).nodes
    (('X', 'Y'), ('X', 'Y'))
    """
    if isinstance(graph, CausalGraph):
        return graph
    if isinstance(graph, str):
        return CausalGraph(graph)
    if isinstance(graph, nx.Graph):  # undirected and multi-graphs are refused by from_networkx
        return CausalGraph.from_networkx(graph)
    hint = (
        " (a list of edges: CausalGraph.from_edges(edges))"
        if isinstance(graph, list | tuple)
        else ""
    )
    raise GraphError(
        f"{role} must be a CausalGraph, its text form like 'Z -> X; X -> Y' or a networkx "
        f"DiGraph, got {type(graph).__name__}{hint}"
    )

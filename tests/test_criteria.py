"""Tests of deepcause.graph.criteria against hand-checked textbook answers and brute force."""

from __future__ import annotations

import itertools

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepcause import (
    CausalGraph,
    Instrument,
    backdoor_sets,
    explain_instrument,
    find_adjustment_set,
    frontdoor_sets,
    instruments,
    is_valid_adjustment_set,
)
from deepcause.exceptions import QueryError, UnknownNodeError
from deepcause.testing.strategies import admgs

PROPS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sets(*groups: str) -> set[frozenset[str]]:
    return {frozenset(g.split()) for g in groups}


def subsets(nodes):
    nodes = list(nodes)
    for k in range(len(nodes) + 1):
        for combo in itertools.combinations(nodes, k):
            yield frozenset(combo)


# ------------------------------------------------------------------- brute-force references
def explicit_dag(g: CausalGraph) -> nx.DiGraph:
    dag = nx.DiGraph()
    dag.add_nodes_from(g.nodes)
    dag.add_edges_from(g.directed_edges)
    for u, v in g.bidirected_edges:
        dag.add_edges_from([(f"_U_{u}_{v}", u), (f"_U_{u}_{v}", v)])
    return dag


class PathReference:
    """Shpitser et al. (2010) adjustment criterion by enumerating every path explicitly."""

    def __init__(self, g: CausalGraph, xs: frozenset[str], ys: frozenset[str]) -> None:
        self.dag = dag = explicit_dag(g)
        self.xs, self.ys = xs, ys
        pcp_nodes: set[str] = set()
        for x, y in itertools.product(xs, ys):
            for path in nx.all_simple_paths(dag, x, y):
                if not set(path[1:]) & xs:
                    pcp_nodes |= set(path[1:])
        cut = dag.copy()  # G with edges into X removed
        cut.remove_edges_from([(u, v) for u, v in dag.edges if v in xs])
        self.forbidden = set()
        for w in pcp_nodes:
            self.forbidden |= nx.descendants(cut, w) | {w}
        self.paths = []  # proper non-causal paths as lists of nodes
        skeleton = dag.to_undirected()
        for x, y in itertools.product(xs, ys):
            for path in nx.all_simple_paths(skeleton, x, y):
                if set(path[1:]) & xs:
                    continue
                if all(dag.has_edge(a, b) for a, b in itertools.pairwise(path)):
                    continue
                self.paths.append(path)
        self.desc = {v: nx.descendants(dag, v) | {v} for v in dag.nodes}

    def open(self, path, z) -> bool:
        for a, v, b in zip(path, path[1:], path[2:]):
            collider = self.dag.has_edge(a, v) and self.dag.has_edge(b, v)
            if collider and not self.desc[v] & z:
                return False
            if not collider and v in z:
                return False
        return True

    def valid(self, z: frozenset[str]) -> bool:
        if z & self.forbidden or z & (self.xs | self.ys):
            return False
        return not any(self.open(p, z) for p in self.paths)


def draw_query(data, g, max_x=2, max_y=2):
    nodes = list(g.nodes)
    xs = data.draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=max_x, unique=True))
    rest = [n for n in nodes if n not in xs]
    if not rest:
        return None
    ys = data.draw(st.lists(st.sampled_from(rest), min_size=1, max_size=max_y, unique=True))
    return frozenset(xs), frozenset(ys)


def _causal(g, xs, ys) -> bool:
    """Henckel et al.'s setting for the O-set formula: every outcome is caused by X."""
    return ys <= g.descendants(xs)


def minimal_only(valid: list[frozenset[str]]) -> set[frozenset[str]]:
    return {z for z in valid if not any(o < z for o in valid)}


# ------------------------------------------------------------------- textbook graphs
PEARL = CausalGraph("Z1 -> Z3 <- Z2; Z1 -> X; Z2 -> Y; Z3 -> X; Z3 -> Y; X -> W -> Y")
MBIAS = CausalGraph("X <- U1 -> M <- U2 -> Y; X -> Y")
FRONTDOOR = CausalGraph("X -> M -> Y; X <-> Y")
NAPKIN = CausalGraph("W1 -> W2 -> X -> Y; W1 <-> X; W1 <-> Y")


class TestAdjustment:
    def test_pearl_figure(self):
        assert set(backdoor_sets(PEARL, "X", "Y")) == sets("Z1 Z3", "Z2 Z3")
        assert is_valid_adjustment_set(PEARL, "X", "Y", ["Z1", "Z2", "Z3"])
        assert not is_valid_adjustment_set(PEARL, "X", "Y", ["Z3"])
        assert not is_valid_adjustment_set(PEARL, "X", "Y", ["Z1", "Z3", "W"])
        assert find_adjustment_set(PEARL, "X", "Y", kind="optimal") == {"Z2", "Z3"}
        assert find_adjustment_set(PEARL, "X", "Y", kind="parents") == {"Z1", "Z3"}
        assert len(find_adjustment_set(PEARL, "X", "Y")) == 2
        every = backdoor_sets(PEARL, "X", "Y", minimal=False)
        assert set(every) == sets("Z1 Z3", "Z2 Z3", "Z1 Z2 Z3")
        assert [len(s) for s in every] == [2, 2, 3]  # smallest first

    def test_m_bias_and_descendants(self):
        assert backdoor_sets(MBIAS, "X", "Y") == (frozenset(),)
        assert not is_valid_adjustment_set(MBIAS, "X", "Y", ["M"])
        assert is_valid_adjustment_set(MBIAS, "X", "Y", ["M", "U1"])
        assert find_adjustment_set(MBIAS, "X", "Y", kind="optimal") == {"U2"}
        assert find_adjustment_set(MBIAS, "X", "Y", kind="parents") == {"U1"}

    def test_no_adjustment_set(self):
        for g in (FRONTDOOR, NAPKIN):
            assert backdoor_sets(g, "X", "Y") == ()
            assert backdoor_sets(g, "X", "Y", minimal=False) == ()
            for kind in ("minimal", "optimal", "parents"):
                assert find_adjustment_set(g, "X", "Y", kind=kind) is None

    def test_generalized_criterion_beyond_backdoor(self):
        # a non-descendant of X that is a child of a mediator's ... cause: Z -> Y only
        g = CausalGraph("X -> Y; Z -> Y; X -> M; M -> Y")
        assert backdoor_sets(g, "X", "Y") == (frozenset(),)
        assert find_adjustment_set(g, "X", "Y", kind="optimal") == {"Z"}
        # multiple treatments and outcomes
        g = CausalGraph("C -> X1 -> Y1; C -> X2 -> Y2; C -> Y1; X1 -> X2")
        assert set(backdoor_sets(g, ["X1", "X2"], ["Y1", "Y2"])) == sets("C")

    def test_bidirected_optimal_fallback(self):
        g = CausalGraph("A -> X -> Y; B -> Y; B <-> C; C -> Y; A -> Y")
        o = find_adjustment_set(g, "X", "Y", kind="optimal")
        assert o is not None and is_valid_adjustment_set(g, "X", "Y", o)

    def test_errors(self):
        with pytest.raises(UnknownNodeError, match="did you mean 'Z3', 'Z2', 'Z1'"):
            backdoor_sets(PEARL, "X", "Z")
        with pytest.raises(QueryError, match="both treatment and outcome"):
            backdoor_sets(PEARL, "X", ["X", "Y"])
        with pytest.raises(QueryError, match="treatment set is empty"):
            backdoor_sets(PEARL, [], "Y")
        with pytest.raises(QueryError, match="treatment or outcome"):
            is_valid_adjustment_set(PEARL, "X", "Y", ["X"])
        with pytest.raises(QueryError, match="unknown kind 'best'"):
            find_adjustment_set(PEARL, "X", "Y", kind="best")
        with pytest.raises(QueryError, match="max_sets"):
            backdoor_sets(PEARL, "X", "Y", max_sets=0)
        with pytest.raises(QueryError, match="CausalGraph"):
            backdoor_sets("X -> Y", "X", "Y")  # type: ignore[arg-type]

    def test_max_sets_caps_enumeration(self):
        g = CausalGraph("; ".join(f"C{i} -> X; C{i} -> Y; P{i}" for i in range(6)) + "; X -> Y")
        assert len(backdoor_sets(g, "X", "Y", minimal=False, max_sets=10)) == 10
        assert backdoor_sets(g, "X", "Y") == (frozenset(f"C{i}" for i in range(6)),)


@PROPS
@given(g=admgs(max_nodes=6, p_bidirected=0.15), data=st.data())
def test_adjustment_matches_path_enumeration(g, data):
    q = draw_query(data, g)
    if q is None:
        return
    xs, ys = q
    ref = PathReference(g, xs, ys)
    candidates = [n for n in g.nodes if n not in xs | ys]
    valid = []
    for z in subsets(candidates):
        ok = ref.valid(z)
        assert is_valid_adjustment_set(g, xs, ys, z) == ok, z
        if ok:
            valid.append(z)
    got_min = backdoor_sets(g, xs, ys)
    assert len(got_min) == len(set(got_min))
    assert set(got_min) == minimal_only(valid)
    assert set(backdoor_sets(g, xs, ys, minimal=False, max_sets=10_000)) == set(valid)
    best = find_adjustment_set(g, xs, ys)
    optimal = find_adjustment_set(g, xs, ys, kind="optimal")
    parents = find_adjustment_set(g, xs, ys, kind="parents")
    if not valid:
        assert best is None and optimal is None and parents is None
        return
    assert best in got_min and len(best) == min(map(len, valid))
    assert optimal in valid  # O-set (DAG) or its ADMG extension / fallback is always valid
    if not g.bidirected_edges and _causal(
        g, xs, ys
    ):  # Henckel et al.: the O-set is pa(cn) minus forbidden nodes
        cn_parents = set()
        for x, y in itertools.product(xs, ys):
            for path in nx.all_simple_paths(ref.dag, x, y):
                if not set(path[1:]) & xs:
                    for v in path[1:]:
                        cn_parents |= set(ref.dag.predecessors(v))
        assert optimal == frozenset(cn_parents - ref.forbidden - xs - ys)
    assert parents is None or parents in valid


# ------------------------------------------------------------------- front door
def frontdoor_reference(g, x, y, z) -> bool:
    dag = explicit_dag(g)
    if any(not set(p[1:-1]) & z for p in nx.all_simple_paths(dag, x, y)):
        return False  # (i) a directed path avoids z
    no_x = dag.copy()
    no_x.remove_edges_from(list(dag.out_edges(x)))
    if not nx.is_d_separator(no_x, {x}, set(z), set()):
        return False  # (ii) back-door path from x to z
    no_z = dag.copy()
    no_z.remove_edges_from([e for n in z for e in dag.out_edges(n)])
    return nx.is_d_separator(no_z, set(z), {y}, {x})  # (iii)


class TestFrontdoor:
    def test_textbook(self):
        assert frontdoor_sets(FRONTDOOR, "X", "Y") == (frozenset({"M"}),)
        g = CausalGraph("X -> M1 -> Y; X -> M2 -> Y; X <-> Y")
        assert frontdoor_sets(g, "X", "Y") == (frozenset({"M1", "M2"}),)
        g = CausalGraph("X -> M1 -> M2 -> Y; X <-> Y")
        assert set(frontdoor_sets(g, "X", "Y")) == sets("M1", "M2")

    def test_violations(self):
        assert frontdoor_sets(CausalGraph("X -> M -> Y; X -> Y"), "X", "Y") == ()
        assert frontdoor_sets(CausalGraph("X -> M -> Y; X <-> M"), "X", "Y") == ()  # (ii)
        assert frontdoor_sets(CausalGraph("X -> M -> Y; M <-> Y; X <-> Y"), "X", "Y") == ()
        assert frontdoor_sets(CausalGraph("X; Y"), "X", "Y") == ()


@PROPS
@given(g=admgs(min_nodes=3, max_nodes=6), data=st.data())
def test_frontdoor_matches_brute_force(g, data):
    x, y = data.draw(st.lists(st.sampled_from(g.nodes), min_size=2, max_size=2, unique=True))
    de, an = g.descendants(x), g.ancestors(y)
    mediators = [n for n in g.nodes if n in de and n in an and n not in (x, y)]
    if y not in de:
        return
    valid = [z for z in subsets(mediators) if z and frontdoor_reference(g, x, y, z)]
    assert set(frontdoor_sets(g, x, y)) == minimal_only(valid)


# ------------------------------------------------------------------- instruments
def is_instrument_reference(g, x, y, z, w) -> bool:
    dag = explicit_dag(g)
    if w & (nx.descendants(dag, x) | {x, y, z}) or z in nx.descendants(dag, x):
        return False
    no_x = dag.copy()
    no_x.remove_edges_from(list(dag.out_edges(x)))
    return nx.is_d_separator(no_x, {z}, {y}, set(w)) and not nx.is_d_separator(
        dag, {z}, {x}, set(w)
    )


class TestInstruments:
    def test_classic_and_conditional(self):
        g = CausalGraph("Z -> X -> Y; X <-> Y")
        assert instruments(g, "X", "Y") == (Instrument("Z"),)
        g = CausalGraph("C -> Z -> X -> Y; C -> Y; X <-> Y")
        assert instruments(g, "X", "Y") == (Instrument("Z", frozenset({"C"})),)
        assert str(instruments(g, "X", "Y")[0]) == "Z | C"
        assert instruments(FRONTDOOR, "X", "Y") == ()

    def test_explanations(self):
        g = CausalGraph("Z -> X -> Y; Z -> Y; X <-> Y; V -> X; V <-> Y; I; C -> Q -> X; C -> Y")
        assert explain_instrument(g, "X", "Y", "Z") == "Z has a path to Y not through X: Z -> Y"
        assert explain_instrument(g, "X", "Y", "V") == "V is confounded with Y: V <-> Y"
        assert explain_instrument(g, "X", "Y", "I") == (
            "I is independent of X: no open path links them"
        )
        assert explain_instrument(g, "X", "Y", "Q") == (
            "Q is confounded with Y: Q <- C -> Y (it is an instrument given C)"
        )
        assert explain_instrument(g, "X", "Y", "Q", ["C"]) is None
        assert "is the treatment" in explain_instrument(g, "X", "Y", "X")
        assert "is the outcome" in explain_instrument(g, "X", "Y", "Y")
        assert "in the conditioning set" in explain_instrument(g, "X", "Y", "Q", ["Q"])
        c = CausalGraph("Z -> X -> Y; Z -> K <- U -> Y; X <-> Y")
        assert explain_instrument(c, "X", "Y", "Z") is None
        assert explain_instrument(c, "X", "Y", "Z", ["K"]) == (
            "Z is connected to Y through a collider opened by conditioning on K: Z -> K <- U -> Y"
            " (it is an instrument without conditioning)"
        )
        assert instruments(c, "X", "Y") == (Instrument("Z"), Instrument("K", frozenset({"U"})))
        h = CausalGraph("Z -> X -> M -> Y; X -> K")
        assert explain_instrument(h, "X", "Y", "K") == (
            "K is affected by the treatment (X -> K); it must not be"
        )
        assert "contains M, which is affected by the treatment (X -> M)" in explain_instrument(
            h, "X", "Y", "Z", ["M"]
        )

    def test_errors(self):
        with pytest.raises(QueryError, match="one treatment and one outcome"):
            instruments(PEARL, ["X", "W"], "Y")
        with pytest.raises(UnknownNodeError):
            explain_instrument(PEARL, "X", "Y", "Q")


@PROPS
@given(g=admgs(min_nodes=3, max_nodes=6), data=st.data())
def test_instruments_match_brute_force(g, data):
    x, y = data.draw(st.lists(st.sampled_from(g.nodes), min_size=2, max_size=2, unique=True))
    found = {i.instrument: i.conditioning for i in instruments(g, x, y)}
    allowed = [n for n in g.nodes if n not in g.descendants(x) and n != y]
    assert x not in found and y not in found
    for z in (n for n in g.nodes if n not in (x, y)):
        # conditioning sets among ancestors of treatment, outcome and instrument (documented)
        anc = g.ancestors({x, y, z})
        pool = [n for n in allowed if n != z and n in anc]
        ok_sets = [w for w in subsets(pool) if is_instrument_reference(g, x, y, z, w)]
        assert (z in found) == bool(ok_sets), (z, ok_sets)
        if z in found:
            assert is_instrument_reference(g, x, y, z, found[z])
            assert explain_instrument(g, x, y, z, found[z]) is None
        assert (explain_instrument(g, x, y, z) is None) == (frozenset() in ok_sets)


@pytest.mark.parametrize("seed", range(6))
def test_minimal_sets_on_larger_random_graphs(seed):
    from deepcause.testing import random_admg

    g = random_admg(25, avg_degree=3.5, frac_bidirected=0.15, random_state=seed)
    topo = g.topological_order()
    checked = 0
    for x in topo[5:15]:
        for y in sorted(g.descendants(x) - {x})[:3]:
            found = backdoor_sets(g, x, y, max_sets=50)
            smallest = find_adjustment_set(g, x, y)
            assert (smallest is None) == (not found)
            for z in found:
                assert is_valid_adjustment_set(g, x, y, z)
                assert all(not is_valid_adjustment_set(g, x, y, z - {v}) for v in z)
                assert len(smallest) <= len(z)
                checked += 1
            if smallest is not None:
                assert is_valid_adjustment_set(g, x, y, smallest)
            optimal = find_adjustment_set(g, x, y, kind="optimal")
            assert (optimal is None) == (not found)
            assert optimal is None or is_valid_adjustment_set(g, x, y, optimal)
    assert checked > 0

"""Tests of deepcause.graph.CausalGraph: parsing, errors, operations, properties."""

from __future__ import annotations

import copy
import pickle

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepcause import CausalGraph
from deepcause.exceptions import CycleError, GraphError, QueryError, UnknownNodeError
from deepcause.graph.causal_graph import as_graph
from deepcause.testing import random_admg
from deepcause.testing.strategies import admgs

PROPS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def explicit_dag(g: CausalGraph) -> nx.DiGraph:
    """The ADMG with every bidirected edge replaced by an explicit latent common parent."""
    dag = nx.DiGraph()
    dag.add_nodes_from(g.nodes)
    dag.add_edges_from(g.directed_edges)
    for u, v in g.bidirected_edges:
        dag.add_edges_from([(f"_U_{u}_{v}", u), (f"_U_{u}_{v}", v)])
    return dag


def disjoint_sets(data, nodes, k=3):
    """Draw ``k`` disjoint node sets, the first two non-empty."""
    pool = list(nodes)
    out = []
    for i in range(k):
        if not pool:
            return None
        picked = data.draw(
            st.lists(st.sampled_from(pool), min_size=1 if i < 2 else 0, max_size=3, unique=True)
        )
        out.append(frozenset(picked))
        pool = [n for n in pool if n not in picked]
    return out


# ------------------------------------------------------------------------------- parsing
class TestParsing:
    def test_chain_and_all_arrows(self):
        g = CausalGraph("Z -> X -> Y; Z -> Y; X <-> Y")
        assert g.nodes == ("Z", "X", "Y")
        assert g.directed_edges == (("X", "Y"), ("Z", "X"), ("Z", "Y"))
        assert g.bidirected_edges == (("X", "Y"),)
        assert CausalGraph("Y <- X <- Z") == CausalGraph("Z -> X -> Y")
        assert CausalGraph("A -> B <- C <-> D").bidirected_edges == (("C", "D"),)

    def test_newlines_comments_isolated_and_quotes(self):
        text = """
        # the classic confounded graph
        Z -> X   # treatment
        X -> Y; Z -> Y

        W        # isolated node
        "age group" -> Y
        x_1 -> y2; ζ -> Y
        """
        g = CausalGraph(text)
        assert g.nodes == ("Z", "X", "Y", "W", "age group", "x_1", "y2", "ζ")
        assert g.parents("Y") == {"X", "Z", "age group", "ζ"}
        assert not g.parents("W") and not g.children("W")
        assert CausalGraph(str(g)) == g
        assert '"age group" -> Y' in str(g)

    def test_empty_and_blank_statements(self):
        assert len(CausalGraph("")) == 0
        assert len(CausalGraph(";;\n# only a comment\n")) == 0
        assert CausalGraph("A;;B").nodes == ("A", "B")

    @pytest.mark.parametrize(
        ("text", "where", "what"),
        [
            ("X -> ; Y", "line 1, column 3", "needs a node name on its right"),
            ("X ->", "line 1, column 3", "needs a node name on its right"),
            ("-> Y", "line 1, column 1", "needs a node name on its left"),
            ("A -> B\nX => Y", "line 2, column 3", "unknown arrow '=>'"),
            ("X - Y", "line 1, column 3", "unknown arrow '-'"),
            ("X Y", "line 1, column 3", "expected an arrow"),
            ("A -> B\n  X, Y", "line 2, column 4", "unexpected character ','"),
            ('a -> "b', "line 1, column 6", "unterminated"),
            ('a -> ""', "line 1, column 6", "empty quoted"),
            ("X -> Y; X -> Y", "line 1, column 11", "duplicate edge X -> Y"),
            ("X <-> Y\nY <-> X", "line 2, column 3", "duplicate edge X <-> Y"),
            ("X -> X", "line 1, column 3", "self loop X -> X"),
            ("A <-> A", "line 1, column 3", "self loop A <-> A"),
        ],
    )
    def test_syntax_errors_show_position(self, text, where, what):
        with pytest.raises(GraphError) as err:
            CausalGraph(text)
        msg = str(err.value)
        assert where in msg and what in msg
        assert "^" in msg  # caret under the offending character

    def test_cycle_error_prints_cycle(self):
        with pytest.raises(CycleError) as err:
            CausalGraph("A -> X; X -> Y -> Z -> X")
        assert "X -> Y -> Z -> X" in str(err.value)
        assert err.value.cycle == ("X", "Y", "Z", "X")

    def test_contradictory_edges(self):
        with pytest.raises(CycleError, match="contradictory edges X -> Y and Y -> X"):
            CausalGraph("X -> Y; Y -> X")
        with pytest.raises(CycleError, match="contradictory"):
            CausalGraph.from_edges([("X", "Y"), ("Y", "X")])

    def test_edge_list_duplicates_tolerated(self):
        g = CausalGraph.from_edges([("A", "B"), ("A", "B")], bidirected=[("A", "B"), ("B", "A")])
        assert g.directed_edges == (("A", "B"),) and g.bidirected_edges == (("A", "B"),)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"directed": [(1, "A")]}, "node names must be strings"),
            ({"directed": [("A", "B", "C")]}, "must be a pair"),
            ({"directed": ["AB"]}, "must be a pair"),
            ({"nodes": [""]}, "invalid node name"),
            ({"directed": [("A", "A")]}, "self loop"),
        ],
    )
    def test_bad_edge_lists(self, kwargs, match):
        with pytest.raises(GraphError, match=match):
            CausalGraph(**kwargs)

    def test_not_text(self):
        with pytest.raises(GraphError, match="from_edges"):
            CausalGraph(42)  # type: ignore[arg-type]

    def test_never_evaluates_text(self):
        with pytest.raises(GraphError):
            CausalGraph("__import__('os').system('echo hi')")


# ------------------------------------------------------------------------------- operations
FRONTDOOR = CausalGraph("X -> M -> Y; X <-> Y")
NAPKIN = CausalGraph("W1 -> W2 -> X -> Y; W1 <-> X; W1 <-> Y")
MBIAS = CausalGraph("U1 -> X -> Y; U1 -> M; U2 -> M; U2 -> Y")
BIG = CausalGraph("A -> B -> C -> D; A -> C; E -> D; B <-> E; E <-> F; G")


class TestOperations:
    def test_neighbourhoods(self):
        assert BIG.parents("C") == {"A", "B"}
        assert BIG.parents(["C", "D"]) == {"A", "B", "C", "E"}
        assert BIG.children("A") == {"B", "C"}
        assert BIG.spouses("E") == {"B", "F"}
        assert BIG.spouses({"B", "F"}) == {"E"}
        assert BIG.parents("G") == frozenset()

    def test_ancestors_descendants_inclusive(self):
        assert BIG.ancestors("D") == {"A", "B", "C", "D", "E"}
        assert BIG.ancestors(["B", "E"]) == {"A", "B", "E"}
        assert BIG.descendants("B") == {"B", "C", "D"}
        assert BIG.descendants("G") == {"G"}

    def test_topological_order_deterministic(self):
        assert BIG.topological_order() == ("A", "B", "C", "E", "D", "F", "G")
        assert NAPKIN.topological_order() == ("W1", "W2", "X", "Y")

    def test_districts(self):
        assert BIG.districts() == (
            frozenset("A"),
            frozenset("BEF"),
            frozenset("C"),
            frozenset("D"),
            frozenset("G"),
        )
        assert BIG.district("F") == {"B", "E", "F"}
        assert NAPKIN.districts() == (frozenset({"W1", "X", "Y"}), frozenset({"W2"}))

    def test_subgraph_and_mutilations(self):
        sub = BIG.subgraph(["A", "C", "E", "F"])
        assert sub.nodes == ("A", "C", "E", "F")
        assert sub.directed_edges == (("A", "C"),)
        assert sub.bidirected_edges == (("E", "F"),)
        g = NAPKIN.remove_incoming("X")
        assert g.directed_edges == (("W1", "W2"), ("X", "Y"))
        assert g.bidirected_edges == (("W1", "Y"),)
        g = NAPKIN.remove_outgoing(["X", "W1"])
        assert g.directed_edges == (("W2", "X"),)
        assert g.bidirected_edges == NAPKIN.bidirected_edges
        assert NAPKIN.remove_edges(directed=[("X", "Y"), ("Y", "X")]).parents("Y") == set()

    def test_m_separation_textbook(self):
        # M-bias: X and Y are separated marginally; conditioning on M opens U1 -> M <- U2
        assert MBIAS.is_d_separated("U1", "U2")
        assert not MBIAS.is_d_separated("U1", "U2", given="M")
        assert MBIAS.remove_outgoing("X").is_d_separated("X", "Y")
        assert not MBIAS.remove_outgoing("X").is_d_separated("X", "Y", given=["M"])
        assert MBIAS.remove_outgoing("X").is_d_separated("X", "Y", given=["M", "U1"])
        # front door: X and Y confounded; M separated from Y given X in G_{underline M}
        assert not FRONTDOOR.is_d_separated("X", "Y", given="M")
        assert FRONTDOOR.remove_outgoing("M").is_d_separated("M", "Y", given="X")
        # collider through a bidirected edge: W2 -> X <-> Y
        assert NAPKIN.remove_outgoing("X").is_d_separated("W2", "Y", given="W1")
        assert not NAPKIN.remove_outgoing("X").is_d_separated("W2", "Y", given=["W1", "X"])
        # descendant of a collider opens it
        g = CausalGraph("A -> C <- B; C -> D")
        assert g.is_d_separated("A", "B") and not g.is_d_separated("A", "B", given="D")

    def test_separation_conventions(self):
        assert not BIG.is_d_separated(["A", "B"], ["B"])  # overlapping sets are connected
        assert BIG.is_d_separated("A", "D", given=["A"])  # conditioned nodes drop out
        assert CausalGraph("X -> Y").connecting_path("X", "Y") == "X -> Y"
        assert FRONTDOOR.connecting_path("X", "Y", given="M") == "X <-> Y"
        assert MBIAS.connecting_path("U1", "U2") is None

    def test_latent_projection(self):
        g = CausalGraph("X <- U -> Y; X -> M -> Y; L1 -> L2 -> A; L1 -> B")
        p = g.latent_projection(["U", "M", "L1", "L2"])
        assert p.nodes == ("X", "Y", "A", "B")
        assert p.directed_edges == (("X", "Y"),)
        assert p.bidirected_edges == (("A", "B"), ("X", "Y"))
        # a collider at a latent is not projected into an edge
        assert not CausalGraph("A -> L <- B").latent_projection("L").bidirected_edges
        assert CausalGraph("A <-> L -> B").latent_projection("L").bidirected_edges == (("A", "B"),)
        assert BIG.latent_projection([]) is BIG

    def test_check_nodes_and_errors(self):
        g = CausalGraph("age -> treat -> re78")
        assert g.check_nodes("treat") == ("treat",)
        assert g.check_nodes(["age", "treat", "age"]) == ("age", "treat")
        assert g.check_nodes(["re78", "age"]) == ("re78", "age")  # sequences keep their order
        assert g.check_nodes({"re78", "treat", "age"}) == ("age", "treat", "re78")  # sets: graph
        with pytest.raises(UnknownNodeError, match=r"outcome 're75'.*did you mean 're78'"):
            g.check_nodes(["re75"], role="outcome")
        with pytest.raises(QueryError, match="treatment set is empty"):
            g.check_nodes([], role="treatment")
        assert g.check_nodes([], allow_empty=True) == ()
        with pytest.raises(UnknownNodeError, match="not a node name"):
            g.check_nodes([3])
        with pytest.raises(UnknownNodeError, match="'tret'"):
            g.parents("tret")
        with pytest.raises(UnknownNodeError):
            g.is_d_separated("age", "re78", given=["nope"])
        with pytest.raises(UnknownNodeError):
            g.subgraph(["age", "X"])

    def test_value_semantics(self):
        g = CausalGraph("Z -> X -> Y; X <-> Y")
        h = CausalGraph.from_edges([("X", "Y"), ("Z", "X")], bidirected=[("Y", "X")])
        assert g == h and hash(g) == hash(h) and len({g, h}) == 1
        assert g != CausalGraph("Z -> X -> Y")
        assert "X" in g and "Q" not in g and len(g) == 3 and list(g) == ["Z", "X", "Y"]
        with pytest.raises(AttributeError, match="immutable"):
            g._nodes = ()
        with pytest.raises(AttributeError, match="immutable"):
            g.anything = 1
        assert pickle.loads(pickle.dumps(g)) == g
        assert copy.deepcopy(g) == g and CausalGraph(g) == g
        assert g.__eq__(3) is NotImplemented
        assert repr(g) == "CausalGraph('Z -> X; X -> Y; X <-> Y')"
        assert repr(random_admg(100, 3, 0.2, random_state=0)).startswith("<CausalGraph: 100 nodes")

    def test_networkx_and_dot(self):
        g = CausalGraph("X -> Y; X <-> Y; Z")
        nxg = g.to_networkx()
        assert nxg.edges["X", "Y"] == {"directed": True, "bidirected": True}
        assert nxg.edges["Y", "X"] == {"directed": False, "bidirected": True}
        assert set(nxg.nodes) == {"X", "Y", "Z"}
        assert CausalGraph.from_networkx(nxg) == g
        plain = nx.DiGraph([("A", "B")])
        assert CausalGraph.from_networkx(plain) == CausalGraph("A -> B")
        with pytest.raises(GraphError, match="DiGraph"):
            CausalGraph.from_networkx(nx.Graph([("A", "B")]))
        dot = g.to_dot()
        assert '"X" -> "Y";' in dot and "dir=both" in dot and '"Z";' in dot

    def test_as_graph_takes_a_networkx_digraph(self):
        """Every API that takes a graph (through as_graph) takes a networkx DiGraph as it is;
        other objects are refused in one line naming the accepted forms (session 14)."""
        g = CausalGraph("X -> Y; X <-> Y; Z")
        assert as_graph(g.to_networkx()) == g
        assert as_graph(nx.DiGraph([("A", "B")])) == CausalGraph("A -> B")
        with pytest.raises(GraphError, match="DiGraph"):
            as_graph(nx.Graph([("A", "B")]))  # undirected: refused by from_networkx
        with pytest.raises(GraphError, match=r"networkx DiGraph.*CausalGraph\.from_edges"):
            as_graph([("A", "B")])


# ------------------------------------------------------------------------------- properties
@PROPS
@given(g=admgs(max_nodes=7), data=st.data())
def test_m_separation_matches_networkx_on_explicit_latents(g, data):
    sets = disjoint_sets(data, g.nodes)
    if sets is None:
        return
    x, y, z = sets
    expected = nx.is_d_separator(explicit_dag(g), set(x), set(y), set(z))
    assert g.is_d_separated(x, y, z) == expected
    assert (g.connecting_path(x, y, z) is None) == expected


@PROPS
@given(g=admgs(max_nodes=8))
def test_structure_invariants(g):
    dag = explicit_dag(g)
    order = g.topological_order()
    pos = {n: i for i, n in enumerate(order)}
    assert sorted(order) == sorted(g.nodes)
    assert all(pos[u] < pos[v] for u, v in g.directed_edges)
    districts = g.districts()
    assert sorted(n for d in districts for n in d) == sorted(g.nodes)
    for d in districts:
        for n in d:
            assert g.district(n) == d
            assert g.spouses(n) <= d
    for n in g.nodes:
        assert g.ancestors(n) == (nx.ancestors(dag, n) & set(g.nodes)) | {n}
        assert g.descendants(n) == nx.descendants(dag, n) | {n}
        assert all(n in g.children(p) for p in g.parents(n))
        assert all(n in g.spouses(s) for s in g.spouses(n))


@PROPS
@given(g=admgs(max_nodes=8), data=st.data())
def test_round_trips_and_subgraphs(g, data):
    assert CausalGraph(str(g)) == g
    assert CausalGraph.from_networkx(g.to_networkx()) == g
    assert CausalGraph.from_edges(g.directed_edges, g.bidirected_edges, g.nodes) == g
    keep = set(data.draw(st.lists(st.sampled_from(g.nodes), unique=True)))
    sub = g.subgraph(keep)
    assert set(sub.nodes) == keep
    assert set(sub.directed_edges) == {e for e in g.directed_edges if set(e) <= keep}
    assert set(sub.bidirected_edges) == {e for e in g.bidirected_edges if set(e) <= keep}
    assert CausalGraph(str(sub)) == sub  # derived graphs are valid graphs
    cut = g.remove_incoming(keep)
    assert not any(v in keep for _, v in cut.directed_edges)
    assert not any(set(e) & keep for e in cut.bidirected_edges)
    assert set(g.directed_edges) - set(cut.directed_edges) == {
        e for e in g.directed_edges if e[1] in keep
    }
    out = g.remove_outgoing(keep)
    assert set(out.directed_edges) == {e for e in g.directed_edges if e[0] not in keep}


@PROPS
@given(g=admgs(min_nodes=3, max_nodes=8), data=st.data())
def test_latent_projection_preserves_m_separation(g, data):
    latent = data.draw(st.lists(st.sampled_from(g.nodes), max_size=len(g) - 2, unique=True))
    p = g.latent_projection(latent)
    assert set(p.nodes) == set(g.nodes) - set(latent)
    assert CausalGraph(str(p)) == p  # acyclic, no self loops
    sets = disjoint_sets(data, p.nodes)
    if sets is None:
        return
    x, y, z = sets
    assert p.is_d_separated(x, y, z) == g.is_d_separated(x, y, z)
    # ancestral relations among observed nodes are kept too
    for n in p.nodes:
        assert p.ancestors(n) == g.ancestors(n) - set(latent)


def test_random_admg_is_deterministic_and_sized():
    g = random_admg(200, avg_degree=4, frac_bidirected=0.25, random_state=1)
    assert len(g) == 200
    assert len(g.directed_edges) + len(g.bidirected_edges) == 400
    assert g == random_admg(200, avg_degree=4, frac_bidirected=0.25, random_state=1)
    with pytest.raises(ValueError, match="n_nodes"):
        random_admg(0)

"""Adjustment-set search and ``identify`` at scale (issue 12, item 7), and the fast paths
(max-flow minimum separator, incremental LISTSEP, Bayes-ball from a node) against an
independent networkx reference on random graphs larger than the brute-force tests'."""

from __future__ import annotations

import itertools
import random
import time

import networkx as nx
import pytest

from deepcause import CausalGraph
from deepcause.graph.criteria import backdoor_sets, find_adjustment_set, is_valid_adjustment_set
from deepcause.identification.algorithm import identify
from deepcause.testing import random_admg

K = 10_000  # confounders
GUARD = 10.0  # seconds; the measured times are below 0.2 s (1 s for the napkin's ID run)


def _confounded(extra_directed=(), bidirected=()) -> CausalGraph:
    directed = [(f"C{i}", "X") for i in range(K)] + [(f"C{i}", "Y") for i in range(K)]
    return CausalGraph(directed=directed + list(extra_directed), bidirected=bidirected)


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    assert time.perf_counter() - t0 < GUARD
    return out


@pytest.fixture(scope="module")
def star() -> CausalGraph:
    return _confounded([("X", "Y")])


@pytest.fixture(scope="module")
def mediated() -> CausalGraph:
    """A mediator and a few bidirected edges among confounders, treatment and outcome."""
    return _confounded(
        [("X", "M"), ("M", "Y"), ("X", "Y")], [("C0", "C1"), ("C2", "Y"), ("C3", "X")]
    )


EVERY = frozenset(f"C{i}" for i in range(K))


def test_adjustment_search_with_10k_confounders(star):
    assert _timed(lambda: find_adjustment_set(star, "X", "Y")) == EVERY
    assert _timed(lambda: backdoor_sets(star, "X", "Y", minimal=False, max_sets=8)) == (EVERY,)
    est = _timed(lambda: identify(star, "X", "Y"))
    assert est.kind == "backdoor" and len(est.adjustment_set) == K


def test_adjustment_search_with_mediator_and_bidirected_edges(mediated):
    assert _timed(lambda: find_adjustment_set(mediated, "X", "Y", kind="optimal")) == EVERY
    assert _timed(lambda: backdoor_sets(mediated, "X", "Y")) == (EVERY,)
    assert _timed(lambda: is_valid_adjustment_set(mediated, "X", "Y", EVERY))
    assert not _timed(lambda: is_valid_adjustment_set(mediated, "X", "Y", EVERY - {"C7"}))
    assert _timed(lambda: identify(mediated, "X", "Y")).kind == "backdoor"


def test_identify_without_backdoor_with_10k_confounders():
    front = _confounded([("X", "M"), ("M", "Y")], [("X", "Y")])
    assert _timed(lambda: identify(front, "X", "Y")).kind == "frontdoor"
    napkin = _confounded([("W", "R"), ("R", "X"), ("X", "Y")], [("W", "X"), ("W", "Y")])
    assert _timed(lambda: identify(napkin, "X", "Y")).kind == "general"


# ------------------------------------------------------------------- networkx reference
class Reference:
    """The generalized adjustment criterion computed with networkx on the explicit DAG
    (one latent parent per bidirected edge): forbidden nodes, then d-separation in the proper
    back-door graph."""

    def __init__(self, g: CausalGraph, xs: frozenset[str], ys: frozenset[str]) -> None:
        dag = nx.DiGraph()
        dag.add_nodes_from(g.nodes)
        dag.add_edges_from(g.directed_edges)
        cut = dag.copy()
        cut.remove_edges_from([(u, v) for u, v in dag.edges if v in xs])
        down = set().union(*(nx.descendants(cut, x) for x in xs)) - xs
        up = set(ys).union(*(nx.ancestors(cut, y) for y in ys))
        causal = down & up
        self.forbidden = set(xs).union(*(nx.descendants(dag, w) | {w} for w in causal))
        pbd = dag.copy()
        pbd.remove_edges_from([(x, w) for x in xs for w in dag.successors(x) if w in causal])
        for u, v in g.bidirected_edges:
            pbd.add_edges_from([(f"_U_{u}_{v}", u), (f"_U_{u}_{v}", v)])
        self.pbd, self.xs, self.ys = pbd, xs, ys

    def valid(self, z: frozenset[str]) -> bool:
        if z & self.forbidden:
            return False
        return nx.is_d_separator(self.pbd, set(self.xs), set(self.ys), set(z))


def _queries(n_graphs: int, n_nodes: int, seed: int):
    rng = random.Random(seed)
    for gi in range(n_graphs):
        g = random_admg(
            n_nodes, avg_degree=rng.choice([2.5, 3.5]), frac_bidirected=0.2, random_state=seed + gi
        )
        ys = frozenset(rng.sample(g.nodes, rng.choice([1, 2])))
        anc = sorted(g.ancestors(ys) - ys)
        if anc:
            yield g, frozenset(rng.sample(anc, min(len(anc), rng.choice([1, 2])))), ys


@pytest.mark.parametrize("seed", [0, 100, 200])
def test_fast_paths_match_networkx_reference(seed):
    for g, xs, ys in _queries(8, 10, seed):
        ref = Reference(g, xs, ys)
        cand = [n for n in g.nodes if n not in xs | ys]
        subsets = (
            frozenset(c) for k in range(len(cand) + 1) for c in itertools.combinations(cand, k)
        )
        valid = {z for z in subsets if ref.valid(z)}
        assert set(backdoor_sets(g, xs, ys, minimal=False, max_sets=10_000)) == valid
        first = backdoor_sets(g, xs, ys, minimal=False, max_sets=3)
        assert len(first) == min(3, len(valid)) and set(first) <= valid
        minimal = {z for z in valid if not any(o < z for o in valid)}
        assert set(backdoor_sets(g, xs, ys)) == minimal
        best = find_adjustment_set(g, xs, ys)
        if not valid:
            assert best is None
        else:
            assert best in minimal and len(best) == min(map(len, valid))
        for z in itertools.islice(valid, 20):
            assert is_valid_adjustment_set(g, xs, ys, z)


def test_minimum_separator_is_the_one_closest_to_the_treatment():
    # two minimum cuts {A} and {B}; the max-flow residual picks the one nearest to X
    g = CausalGraph("A -> X; A -> B -> Y; X -> Y")
    assert find_adjustment_set(g, "X", "Y") == {"A"}
    g = CausalGraph("B -> A -> X; B -> Y; X -> Y")
    assert find_adjustment_set(g, "X", "Y") == {"A"}

"""ID* / IDC* against truth from random discrete SCMs with explicit latent variables.

The simulator below knows nothing of the library: every observed node has a random response
table over its observed parents, the latents it touches and its own noise; every bidirected edge
is an explicit latent. The true probability of a counterfactual conjunction is computed by
enumerating every value of the exogenous variables and evaluating each world with the same
exogenous values (shared noise across worlds); the observed joint P(V) comes from the factual
world. The identified estimand is evaluated on that exact joint table.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

import deepcause
from deepcause import CausalGraph
from deepcause.exceptions import NotIdentifiableError, QueryError, UnknownNodeError
from deepcause.identification import identify_counterfactual
from deepcause.identification.counterfactual import CounterfactualEvent, cf


class SCM:
    """A random discrete SCM: observed nodes with response tables, latents per bidirected edge."""

    def __init__(self, text: str, seed: int, card: int = 2, k_noise: int = 3) -> None:
        g = CausalGraph(text)
        rng = np.random.default_rng(seed)
        self.order = list(g.topological_order())
        self.card = {v: card for v in self.order}
        self.parents = {v: sorted(g.parents(v)) for v in self.order}
        latents = [tuple(e) for e in g.bidirected_edges]
        self.touch = {v: [i for i, e in enumerate(latents) if v in e] for v in self.order}
        # exogenous grid: one column per latent, then one noise column per node
        sizes = [k_noise] * (len(latents) + len(self.order))
        grid = np.array(list(itertools.product(*[range(k) for k in sizes])))
        probs = [rng.dirichlet(np.ones(k)) for k in sizes]
        self.weight = np.prod([p[grid[:, j]] for j, p in enumerate(probs)], axis=0)
        self.latent = grid[:, : len(latents)]
        self.noise = {v: grid[:, len(latents) + i] for i, v in enumerate(self.order)}
        self.table = {}
        for v in self.order:
            shape = [self.card[p] for p in self.parents[v]] + [k_noise] * (len(self.touch[v]) + 1)
            table = rng.integers(0, self.card[v], size=shape)
            # positivity: the first card[v] noise values map to a random permutation of the values
            c = self.card[v]
            table[..., :c] = np.argsort(rng.random((*shape[:-1], c)), axis=-1)
            self.table[v] = table

    def world(self, do: dict) -> dict[str, np.ndarray]:
        """Every node's value per exogenous configuration under ``do`` (values, or arrays)."""
        vals: dict[str, np.ndarray] = {}
        n = len(self.weight)
        for v in self.order:
            if v in do:
                vals[v] = np.broadcast_to(np.asarray(do[v]), (n,))
                continue
            idx = [vals[p] for p in self.parents[v]] + [self.latent[:, i] for i in self.touch[v]]
            vals[v] = self.table[v][(*idx, self.noise[v])]
        return vals

    def _value(self, var: str, do: dict) -> np.ndarray:
        resolved = {
            k: self._value(v.variable, dict(v.do)) if hasattr(v, "variable") else v
            for k, v in do.items()
        }
        return self.world(resolved)[var]

    def prob(self, events) -> float:
        mask = np.ones(len(self.weight), dtype=bool)
        for e in events:
            mask &= self._value(e.variable, e.do) == e.value
        return float(self.weight[mask].sum())

    def truth(self, query, given=()) -> float:
        q, g = _events(query), _events(given)
        return self.prob(q + g) / self.prob(g) if g else self.prob(q)

    def joint(self) -> pd.DataFrame:
        vals = self.world({})
        combos = list(itertools.product(*[range(self.card[v]) for v in self.order]))
        table = pd.DataFrame(combos, columns=self.order)
        codes = np.ravel_multi_index(
            tuple(vals[v] for v in self.order), [self.card[v] for v in self.order]
        )
        table["probability"] = np.bincount(codes, weights=self.weight, minlength=len(combos))
        return table


def _events(items) -> list[CounterfactualEvent]:
    return [e if isinstance(e, CounterfactualEvent) else CounterfactualEvent(*e) for e in items]


def _check(text: str, query, given=None, seeds=(0, 1, 2), card=2) -> float:
    est = identify_counterfactual(text, query, given=given)
    for seed in seeds:
        scm = SCM(text, seed, card=card)
        truth = scm.truth(query, given or ())
        assert est.evaluate(scm.joint()) == pytest.approx(truth, abs=1e-9), (seed, str(est))
    return truth


BACKDOOR = "Z -> X -> Y; Z -> Y"
FRONTDOOR = "X -> M -> Y; X <-> Y"
NAPKIN = "W -> R -> X -> Y; W <-> X; W <-> Y"
ETT = ([cf("Y", {"X": 1}) == 1], [cf("X") == 0])


def test_ett_on_the_backdoor_graph_is_the_adjustment_on_the_untreated() -> None:
    est = identify_counterfactual(BACKDOOR, *ETT)
    assert str(est) == "P(Y_{X=1}=1 | X=0) = (Σ_{Z} P(X=0, Z) P(Y=1 | X=1, Z)) / P(X=0)"
    for seed in range(4):
        scm = SCM(BACKDOOR, seed, card=3)
        t = scm.joint()
        pz = t.groupby(["X", "Z"]).probability.sum()
        pyxz = t[t.Y == 1].groupby(["X", "Z"]).probability.sum() / pz
        formula = sum(pyxz[(1, z)] * pz[(0, z)] / pz.loc[0].sum() for z in range(3))
        truth = scm.truth(*ETT)
        assert est.evaluate(t) == pytest.approx(truth, abs=1e-9)
        assert formula == pytest.approx(truth, abs=1e-9)


@pytest.mark.parametrize(
    ("text", "query", "given"),
    [
        (FRONTDOOR, *ETT),  # ETT is identified on the front-door graph
        ("X -> Z -> Y", [cf("Y", {"Z": 1}) == 1, cf("X") == 0], None),  # chain, two worlds
        ("X -> Z -> Y", [cf("Y", {"X": 1}) == 0], [cf("X") == 0]),
        ("Z -> X -> Y", [cf("Y", {"X": 1}) == 0], [cf("Z") == 0]),  # IDC* line 4 moves Z
        (NAPKIN, [cf("Y", {"X": 1}) == 1], None),  # interventional via ID*
        ("X -> M -> Y; X -> Y", [cf("Y", {"X": 1, "M": cf("M", {"X": 0})}) == 1], None),
        ("X -> M -> Y; X -> Y", [cf("Y", {"X": 0, "M": cf("M", {"X": 1})}) == 1], [cf("X") == 1]),
        (BACKDOOR, [cf("Y", {"X": 1}) == 1], [cf("Z") == 0, cf("X") == 0]),
        ("X -> Y; X <-> Y", [cf("Y", {"X": 1}) == 1, cf("X") == 1], None),  # consistency
        ("Z -> X -> Y; Z <-> Y", [cf("Y", {"X": 0}) == 1], [cf("X") == 1]),
        ("X -> W -> Y; X -> Y", [cf("W", {"X": 0}) == 1], [cf("Y", {"X": 0}) == 0]),
        # IDC* line 4 moves an observation that is no ancestor of the outcome's copy
        (
            "A -> B -> D; A -> C -> D",
            [cf("D", {"B": 0}) == 1],
            [cf("C", {"A": 1}) == 1, cf("C") == 1],
        ),
        # ... and relabels the other observations it causes (D = D_{B=0} when B = 0)
        ("A -> D; B -> C; B -> D; A <-> C", [cf("C", {"B": 0}) == 1], [cf("D") == 1, cf("B") == 0]),
        # a nested counterfactual inside IDC*
        (
            "A -> B -> D; A <-> C; B <-> D",
            [cf("D", {"A": 0, "C": cf("C", {"A": 0})}) == 1],
            [cf("C") == 0],
        ),
    ],
)
def test_identified_queries_equal_the_enumerated_truth(text, query, given) -> None:
    _check(text, query, given)


def test_idc_line_4_does_not_intervene_on_a_non_ancestor() -> None:
    # C_{A=0} is moved out of the conditioning, but D_{B=0} depends on the factual C (= 0),
    # not on C_{A=0} (= 1): setting C=1 in D's subscript would be wrong (seeds with P(δ) > 0)
    query, given = [cf("D", {"B": 0}) == 1], [cf("C", {"A": 0}) == 1, cf("C") == 0]
    _check("A -> B -> D; A -> C -> D", query, given, seeds=(1, 2))


def test_three_valued_variables() -> None:
    query = [cf("Y", {"X": 2}) == 1]
    _check(BACKDOOR, query, [cf("X") == 0], card=3)
    _check(FRONTDOOR, query, [cf("X") == 1], card=3)


def test_consistency_reduces_to_the_observed_joint() -> None:
    est = identify_counterfactual("X -> Y; X <-> Y", [("Y", {"X": 1}, 1), ("X", {}, 1)])
    assert str(est) == "P(Y_{X=1}=1, X=1) = P(X=1, Y=1)"
    scm = SCM("X -> Y; X <-> Y", 3)
    t = scm.joint()
    assert est.evaluate(t) == pytest.approx(t[(t.X == 1) & (t.Y == 1)].probability.sum())


@pytest.mark.parametrize(
    "query",
    [
        [cf("Y", {"X": 1}) == 1, cf("Y", {"X": 1}) == 0],
        [cf("X", {"X": 1}) == 0],
        [cf("Y", {"X": 1}) == 1, cf("X") == 1, cf("Y") == 0],  # Y_{X=1} is Y when X = 1
    ],
)
def test_inconsistent_events_have_probability_zero(query) -> None:
    est = identify_counterfactual("X -> Y; X <-> Y", query)
    assert est.kind == "zero" and str(est).endswith("= 0")
    assert SCM("X -> Y; X <-> Y", 0).truth(query) == 0.0


def test_sure_event_and_line_3_tautology() -> None:
    est = identify_counterfactual("X -> Y", [cf("X", {"X": 1}) == 1, cf("Y", {"X": 0}) == 1])
    assert str(est) == "P(X_{X=1}=1, Y_{X=0}=1) = P(Y=1 | X=0)"


@pytest.mark.parametrize(
    ("text", "query", "given", "words"),
    [
        ("X -> Y; X <-> Y", [cf("Y", {"X": 1}) == 1], None, "P(Y=1 | do(X=1))"),  # the bow
        ("W -> X -> Y; X <-> Y", *ETT, "X takes conflicting values"),
        ("X -> Y", [cf("Y", {"X": 0}) == 0], [cf("X") == 1, cf("Y") == 1], "Y_{X=0}"),  # PN
        (BACKDOOR, [cf("Y", {"X": 0}) == 0], [cf("X") == 1, cf("Y") == 1], "Y_{X=0}"),
        ("X -> Y", [cf("Y", {"X": 1}) == 1, cf("Y", {"X": 0}) == 0], None, "Y_{X=1}"),  # PNS
        ("X -> Z -> Y", [cf("Y", {"X": 1}) == 1, cf("Z") == 0], None, "Z_{X=1}"),  # cross-world Z
        (BACKDOOR, [cf("Y", {"X": 1}) == 1, cf("Y", {"X": 0}) == 1], [cf("X") == 0], "Y_{X=0"),
    ],
)
def test_not_identifiable_queries_are_refused_with_the_structure(text, query, given, words) -> None:
    with pytest.raises(NotIdentifiableError, match="not identifiable") as info:
        identify_counterfactual(text, query, given=given)
    message = str(info.value)
    assert words in message and "deepcause.bounds" in message


def test_random_graphs_every_identified_answer_is_exact() -> None:
    rng = np.random.default_rng(7)
    names = ["A", "B", "C", "D"]
    identified = refused = 0
    for trial in range(60):
        edges = [
            f"{u} -> {v}" for i, u in enumerate(names) for v in names[i + 1 :] if rng.random() < 0.5
        ]
        edges += [
            f"{u} <-> {v}"
            for i, u in enumerate(names)
            for v in names[i + 1 :]
            if rng.random() < 0.2
        ]
        text = "; ".join(edges + names)
        outcome, treat = names[3], names[int(rng.integers(0, 3))]
        query = [cf(outcome, {treat: int(rng.integers(0, 2))}) == int(rng.integers(0, 2))]
        given = (
            [cf(names[int(rng.integers(0, 3))]) == int(rng.integers(0, 2))] if trial % 2 else None
        )
        if trial % 3 == 0:
            query.append(cf(names[int(rng.integers(1, 3))]) == int(rng.integers(0, 2)))
        try:
            est = identify_counterfactual(text, query, given=given)
        except NotIdentifiableError:
            refused += 1
            continue
        identified += 1
        scm = SCM(text, trial)
        assert est.evaluate(scm.joint()) == pytest.approx(
            scm.truth(query, given or ()), abs=1e-9
        ), (text, query, given, str(est))
    assert identified >= 20 and refused >= 5


def test_printing_latex_and_dict() -> None:
    est = identify_counterfactual(BACKDOOR, *ETT)
    assert est.to_latex().startswith("P(Y_{X{=}1}{=}1 \\mid X{=}0) = \\frac{\\sum_{Z}")
    assert "sum_{Z}" in est.to_text(ascii=True)
    d = est.to_dict()
    assert d["kind"] == "counterfactual" and d["given"] == [
        {"variable": "X", "do": "", "value": "0"}
    ]


def test_top_level_exports_and_tuple_queries() -> None:
    assert deepcause.identify_counterfactual is identify_counterfactual
    a = identify_counterfactual(BACKDOOR, [("Y", {"X": 1}, 1)], given=[("X", {}, 0)])
    assert str(a) == str(identify_counterfactual(BACKDOOR, *ETT))


def test_bad_queries_are_refused() -> None:
    with pytest.raises(UnknownNodeError, match="'Q' is not a node"):
        identify_counterfactual(BACKDOOR, [cf("Q") == 1])
    with pytest.raises(QueryError, match="query is empty"):
        identify_counterfactual(BACKDOOR, [])
    with pytest.raises(QueryError, match="list of events"):
        identify_counterfactual(BACKDOOR, "Y")
    with pytest.raises(QueryError, match="contradict"):
        identify_counterfactual(BACKDOOR, [cf("Y") == 1], given=[cf("X") == 1, cf("X") == 0])
    with pytest.raises(QueryError, match="nested"):
        identify_counterfactual(
            "X -> M -> Y", [cf("Y") == 1], given=[cf("Y", {"M": cf("M", {"X": 0})}) == 1]
        )

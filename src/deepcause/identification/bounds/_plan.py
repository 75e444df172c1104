"""How each method turns data into bounds: a :class:`Plan` per (graph, query, method).

A plan holds the data (a :class:`~._data.Joint` and optional experimental table) and a pure
function ``compute(joint, experimental) -> (lower, upper, misfit)``; the bootstrap calls the
same function on resampled data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...exceptions import DataValidationError, NotIdentifiableError, QueryError
from ...graph.causal_graph import CausalGraph
from ..algorithm import identify
from ._data import Interventional, Joint
from .causation import (
    CausationInputs,
    causation_bounds,
    monotone_value,
    monotonicity_violation,
)
from .closed_form import balke_pearl_ate, natural_bounds
from .counterfactual import causation_objective, check_causal_paths
from .lp import ResponseModel, Term, check_positivity, lp_bounds

__all__ = [
    "Plan",
    "lp_plan",
    "lp_causation_plan",
    "natural_plan",
    "balke_pearl_plan",
    "causation_plan",
]

Compute = Callable[[Joint | None, Interventional | None], tuple[float, float, float]]
TOL = 1e-9


@dataclass
class Plan:
    compute: Compute
    method: str
    sharp: bool
    notes: list[str] = field(default_factory=list)


def is_bow(graph: CausalGraph, x: str, y: str) -> bool:
    """The graph is exactly ``x -> y, x <-> y``."""
    return (set(graph.nodes) == {x, y} and graph.directed_edges == ((x, y),)
            and len(graph.bidirected_edges) == 1)  # fmt: skip


def _ordered(lo: float, hi: float, joint: Joint | None, what: str) -> tuple[float, float]:
    if lo <= hi + TOL:
        return lo, max(lo, hi)
    if joint is not None and joint.n is None:
        raise DataValidationError(
            f"the probabilities are incompatible with {what} (lower bound {lo:.4g} > upper "
            f"{hi:.4g}); check the graph and the tables"
        )
    mid = (lo + hi) / 2  # sampling noise pushed the data just outside the model
    return mid, mid


def lp_plan(graph: CausalGraph, joint: Joint, terms: list[Term]) -> Plan:
    model = ResponseModel.build(graph, joint.names, joint.cards)

    def compute(j: Joint | None, exp: Interventional | None) -> tuple[float, float, float]:
        assert j is not None
        for _, do, _ in terms:
            check_positivity(model, graph, j, do)
        return lp_bounds(model, j, terms, exp)

    notes = [f"linear program over {model.n_types} joint response types of the confounded "
             f"district {{{', '.join(model.district)}}}" if model.district else
             "no confounding: the linear program has a single point"]  # fmt: skip
    if model.district and not model.clique:
        notes.append("the confounded district is not a bidirected clique: one latent over it "
                     "is a larger model, so the bounds are valid but may not be sharp")  # fmt: skip
    return Plan(compute, "lp", model.clique or not model.district, notes)


def lp_causation_plan(
    graph: CausalGraph, joint: Joint, quantity: str, query: tuple[str, str, int, int, int]
) -> Plan:
    """PNS/PN/PS by the linear program (:mod:`.counterfactual`); ``query`` = (x, y, t, c, y)."""
    model = ResponseModel.build(graph, joint.names, joint.cards)
    check_causal_paths(model, graph, query[0], query[1])

    def compute(j: Joint | None, exp: Interventional | None) -> tuple[float, float, float]:
        assert j is not None
        return lp_bounds(model, j, causation_objective(model, graph, j, quantity, query), exp)

    notes = [f"linear program over {model.n_types} joint response types of the confounded "
             f"district {{{', '.join(model.district)}}}"]  # fmt: skip
    return Plan(compute, "lp", model.clique, notes)


def natural_plan(graph: CausalGraph, terms: list[Term], x: list[str], y: list[str]) -> Plan:
    def compute(j: Joint | None, exp: Interventional | None) -> tuple[float, float, float]:
        assert j is not None
        return (*natural_bounds(j, terms), 0.0)

    sharp = len(x) == 1 and len(y) == 1 and is_bow(graph, x[0], y[0])
    notes = [] if sharp else ["natural bounds use only P(treatment, outcome) and ignore the rest "
                              "of the graph; method='lp' may be narrower"]  # fmt: skip
    return Plan(compute, "natural", sharp, notes)


def _iv_roles(graph: CausalGraph, x: str, y: str) -> str:
    z = [v for v in graph.nodes if v not in (x, y)]
    ok = (len(z) == 1 and set(graph.directed_edges) == {(z[0], x), (x, y)}
          and len(graph.bidirected_edges) == 1 and graph.has_edge(x, y, "<->"))  # fmt: skip
    if not ok:
        raise QueryError(
            "method='balke-pearl' needs the instrumental-variable graph Z -> X -> Y; X <-> Y "
            "(after dropping nodes irrelevant to the query); use method='lp' for this graph"
        )
    return z[0]


def balke_pearl_plan(graph: CausalGraph, x: str, y: str, t: int, c: int, ev: int) -> Plan:
    z = _iv_roles(graph, x, y)

    def compute(j: Joint | None, exp: Interventional | None) -> tuple[float, float, float]:
        assert j is not None
        return (*_ordered(*balke_pearl_ate(j, (z, x, y), t, c, ev), j, "the IV graph"), 0.0)

    return Plan(compute, "balke-pearl", True)


def _interventional(exp: Interventional, x: str, y: str, yi: int) -> tuple[float, ...]:
    if exp.treated != (x,) or y not in exp.others:
        raise QueryError(
            f"the experimental table must give P({y} | do({x})): columns {x!r} (the only "
            f"treatment) and {y!r}, plus 'probability' for a table"
        )
    axis = exp.others.index(y)
    sums = exp.prob.sum(axis=tuple(1 + i for i in range(len(exp.others)) if i != axis))
    if np.any(sums.sum(axis=1) == 0):
        raise DataValidationError(
            f"the experimental data lack one of the two values of {x}; P({y} | do({x})) is "
            f"needed at both the treatment and the control value"
        )
    return tuple(float(v) for v in np.take(sums, yi, axis=1))


def _identified(graph: CausalGraph, x: str, y: str):
    try:
        return identify(graph, x, y)
    except NotIdentifiableError:
        return None


def causation_plan(
    graph: CausalGraph, joint: Joint | None, query: tuple[str, str, int, int, int],
    quantity: str, monotonic: bool, has_exp: bool,
) -> Plan:  # fmt: skip
    """Tian–Pearl bounds (or monotone point values); ``query`` is ``(x, y, t, c, event)``."""
    x, y, t, c, yi = query
    est = None if has_exp or joint is None else _identified(graph, x, y)

    def compute(j: Joint | None, exp: Interventional | None) -> tuple[float, float, float]:
        cells: list[float | None] = [None] * 4
        if j is not None:
            p = j.prob.sum(axis=tuple(i for i, v in enumerate(j.names) if v not in (x, y)))
            p = p if j.names.index(x) < j.names.index(y) else p.T
            cells = [p[t, yi], p[t].sum() - p[t, yi], p[c, yi], p[c].sum() - p[c, yi]]
        pyx: tuple[float | None, ...] = (None, None)
        if exp is not None:
            pyx = _interventional(exp, x, y, yi)
            pyx = (pyx[t], pyx[c])
        elif est is not None and j is not None:
            pyx = tuple(_evaluate(est, j, x, y, level, yi) for level in (t, c))
        d = CausationInputs(*cells, *pyx)
        if monotonic:
            _check_monotone(d, j, exp)
            v = monotone_value(quantity, d)
            return v, v, 0.0
        return (*_ordered(*causation_bounds(quantity, d), j, "each other"), 0.0)

    notes = []
    if est is not None:
        notes.append(f"P({y} | do({x})) is identified from the graph ({est.kind}) and used as "
                     f"the experimental distribution")  # fmt: skip
    sharp = monotonic or set(graph.nodes) <= {x, y}
    return Plan(compute, "monotonicity" if monotonic else "tian-pearl", sharp, notes)


def _evaluate(est, joint: Joint, x: str, y: str, t: int, yi: int) -> float:
    grid = pd.MultiIndex.from_product(joint.levels, names=joint.names)
    series = pd.Series(joint.prob.ravel(), index=grid, name="probability")
    values = est.evaluate(series, {x: joint.levels[joint.axis(x)][t]})
    return float(values.loc[joint.levels[joint.axis(y)][yi]])


def _check_monotone(d: CausationInputs, j: Joint | None, exp: Interventional | None) -> None:
    gap = monotonicity_violation(d) if d.experimental else 0.0
    n = [s.n for s in (j, exp) if s is not None and s.n is not None]
    tol = TOL if not n else 2.0 / np.sqrt(min(n))
    if gap > tol:
        raise DataValidationError(
            f"the data contradict monotonicity (treatment never prevents the outcome): it "
            f"implies P(y_x) >= P(y) >= P(y_x'), violated by {gap:.3g}; drop monotonic=True"
        )

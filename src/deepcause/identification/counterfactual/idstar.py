"""Counterfactual identification: ID* and IDC* (Shpitser & Pearl 2007, "What counterfactuals can
be tested"; Shpitser & Pearl 2008, JMLR, Figures 11 and 12). Comments ``# line k`` refer to the
lines of the algorithms as printed there.

ID* turns ``P(γ)``, γ a conjunction of counterfactual events, into a product of interventional
terms ``P_x(s)`` over the districts of the counterfactual graph; each term is then identified
from the observational distribution by ID (:func:`~deepcause.identification.identify`). IDC*
handles ``P(γ | δ)``: it turns observations in δ that are d-separated from γ into actions
(the counterfactual form of rule 2 of the do-calculus), then divides ``P(γ ∧ δ)`` by ``P(δ)``.

>>> print(identify_counterfactual("X -> Y", [cf("Y", {"X": 1}) == 1, cf("Y", {"X": 0}) == 0]))
Traceback (most recent call last):
...
deepcause.exceptions.NotIdentifiableError: P(Y_{X=1}=1, Y_{X=0}=0) is not identifiable...
>>> print(identify_counterfactual("X -> Y", [cf("Y", {"X": 1}) == 1, cf("Y", {"X": 1}) == 0]))
P(Y_{X=1}=1, Y_{X=1}=0) = 0
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ...exceptions import NotIdentifiableError, QueryError
from ...graph.algorithms import m_separated
from ...graph.causal_graph import CausalGraph
from ..algorithm import _Struct, _struct, identify
from ..expressions import P
from .estimand import CounterfactualEstimand, query_text
from .expression import ONE, ZERO, Indicator, Node, Term, bind, prod, ratio, simplify, total
from .worlds import (
    CfGraph,
    CounterfactualEvent,
    CounterfactualVariable,
    Ev,
    Inconsistent,
    Substitute,
    Symbol,
    cf,
    do_text,
    make_cg,
    node_text,
    relevant,
    same,
)

__all__ = ["identify_counterfactual", "cf"]

_BOUNDS_HINT = (
    "For discrete variables, deepcause.bounds(...) gives sharp bounds on such quantities "
    "(probabilities of causation) instead of a point value."
)


class _Fail(Exception):
    """ID* line 8 (a conflict in one district) or an interventional term ID cannot identify."""


def _is_symbol(v: Any) -> bool:
    return isinstance(v, Symbol)


def _tautologies(s: _Struct, events: Iterable[Ev]) -> tuple[list[Node], list[Ev]] | None:
    """Lines 2 and 3: an event ``x_{x'}`` is impossible (``None``) and ``x_x`` always holds.
    Also drops interventions that cannot affect the event's variable, and duplicate events."""
    factors: list[Node] = []
    kept: list[Ev] = []
    for var, sub, value in events:
        fixed = dict(sub)
        if var in fixed:
            own = fixed[var]
            if same(own, value):  # line 3
                continue
            if not (_is_symbol(own) or _is_symbol(value)):  # line 2
                return None
            sym, other = (own, value) if _is_symbol(own) else (value, own)
            factors.append(Indicator(sym, other))
            continue
        ev = (var, relevant(s.pa, var, sub), value)
        if ev not in kept:
            kept.append(ev)
    return factors, kept


def _counterfactual_graph(
    s: _Struct, events: list[Ev]
) -> tuple[CfGraph | None, list[Node], list[Ev]]:
    """Lines 4 and 5: make-cg; ``None`` when the events are inconsistent. A merge that needs a
    summation index to equal a value substitutes it and records the indicator."""
    indicators: list[Node] = []
    while True:
        try:
            return make_cg(s.pa, s.pos, events), indicators, events
        except Inconsistent:
            return None, indicators, events
        except Substitute as req:
            indicators.append(Indicator(req.symbol, req.value))

            def put(v: Any, req: Substitute = req) -> Any:
                return req.value if v == req.symbol else v

            events = [
                (var, frozenset((k, put(x)) for k, x in sub), put(val)) for var, sub, val in events
            ]


def _id_star(s: _Struct, events: list[Ev]) -> Node:
    """ID*(γ, G): an expression for P(γ) or :class:`_Fail`."""
    if not events:  # line 1
        return ONE
    checked = _tautologies(s, events)  # lines 2-3
    if checked is None:
        return ZERO
    factors, events = checked
    if not events:
        return prod(factors)
    g, indicators, events = _counterfactual_graph(s, events)  # line 4
    if g is None:  # line 5
        return ZERO
    comps = g.districts(s.sp)
    if len(comps) > 1:  # line 6: one sub-problem per district, its parents fixed
        values = {i: Symbol(n.var) if n.value is None else n.value for i, n in g.nodes.items()}
        fresh = [values[i] for i, n in g.nodes.items() if n.value is None]
        terms = []
        for comp in comps:
            sub_events = []
            for i in comp:
                n = g.nodes[i]
                pa = {
                    p: ref[1] if isinstance(ref, tuple) else values[ref]
                    for p, ref in n.parents.items()
                }
                sub_events.append((n.var, frozenset(pa.items()), values[i]))
            terms.append(_id_star(s, sub_events))
        body = total(fresh, prod(terms))
    else:  # line 7: one district
        body = _single_district(s, g, comps[0])
    return prod([*factors, *indicators, body])


def _single_district(s: _Struct, g: CfGraph, comp: list[int]) -> Node:
    """Lines 8 and 9: fail on a conflict, else P_x(var(S)) with x the union of subscripts."""
    seen: dict[str, list[tuple[Any, str]]] = {}
    for i in comp:
        n = g.nodes[i]
        for k, v in n.world:
            seen.setdefault(k, []).append((v, f"set to {_show(v)} in {node_text(g, i)}"))
        v = Symbol(n.var) if n.value is None else n.value
        how = "left free" if n.value is None else f"observed as {_show(v)}"
        seen.setdefault(n.var, []).append((v, f"{how} in {node_text(g, i)}"))
    for var, entries in seen.items():  # line 8
        if any(not same(entries[0][0], v) for v, _ in entries[1:]):
            names = ", ".join(node_text(g, i) for i in comp)
            uses = "; ".join(dict.fromkeys(how for _, how in entries))
            raise _Fail(
                f"in the counterfactual graph the nodes {{{names}}} form one district (they share "
                f"unobserved causes across the worlds), and {var} takes conflicting values there "
                f"({uses}); no single experiment reveals their joint distribution"
            )
    members = {g.nodes[i].var for i in comp}
    action = {k: v for k, es in seen.items() if k not in members for v, _ in es[:1]}
    outcome = {g.nodes[i].var: g.nodes[i].value for i in comp if g.nodes[i].value is not None}
    return _interventional(s, action, outcome)


def _show(v: Any) -> str:
    return "a summed value" if _is_symbol(v) else str(v)


def _interventional(s: _Struct, action: Mapping[str, Any], outcome: Mapping[str, Any]) -> Node:
    """Line 9's P_x(y) identified by ID, with the values bound."""
    if not action:
        return bind(P._make(frozenset(outcome), frozenset()), outcome)
    try:
        est = identify(s.graph, sorted(action), sorted(outcome))
    except NotIdentifiableError as err:
        ev = ", ".join(f"{k}={_show(v)}" for k, v in outcome.items())
        raise _Fail(
            f"the district needs P({ev} | do({do_text(action.items())})), which the observed "
            f"distribution does not determine: {str(err).splitlines()[1]}"
        ) from None
    values = {**action, **outcome}
    expr = est.expression
    extra = sorted(expr.free_variables - set(values))
    if not extra:
        return bind(expr, values)
    # ID may mention variables the answer does not depend on: average them out with P(extra)
    syms = {v: Symbol(v) for v in extra}
    weight = Term(tuple(syms.items()))
    return total(syms.values(), prod([bind(expr, {**values, **syms}), weight]))


# ----------------------------------------------------------------------------- IDC*


def _separated(s: _Struct, g: CfGraph, d: int, ys: set[int], zs: set[int]) -> bool:
    """(Y_x ⊥ ys | zs) in the counterfactual graph with the edges out of ``d`` removed."""
    pa = {
        i: frozenset(r for r in n.parents.values() if not isinstance(r, tuple) and r != d)
        for i, n in g.nodes.items()
    }
    ch: dict[int, set[int]] = {i: set() for i in g.nodes}
    for i, ps in pa.items():
        for p in ps:
            ch[p].add(i)
    sp = {i: frozenset(v) for i, v in g.spouses(s.sp).items()}
    fch = {i: frozenset(v) for i, v in ch.items()}
    return m_separated(pa, fch, sp, frozenset((d,)), frozenset(ys), frozenset(zs))  # type: ignore[arg-type]


def _g_ancestors(g: CfGraph, i: int) -> set[int]:
    seen, stack = {i}, [i]
    while stack:
        for ref in g.nodes[stack.pop()].parents.values():
            if not isinstance(ref, tuple) and ref not in seen:
                seen.add(ref)
                stack.append(ref)
    return seen


def _move(s: _Struct, g: CfGraph, n_gamma: int) -> tuple[list[Ev], list[Ev]] | None:
    """Line 4: an observation d with no back-door path to γ' becomes an action: it leaves δ'
    and its value enters the subscripts of its descendants in the counterfactual graph (in γ'
    and in the rest of δ': on the event d = y a descendant n equals n_y)."""
    ids = g.of_event
    g_nodes, d_nodes = list(dict.fromkeys(ids[:n_gamma])), list(dict.fromkeys(ids[n_gamma:]))
    for d in d_nodes:
        others = set(d_nodes) - {d}
        ys = set(g_nodes) - others
        if d in g_nodes or not ys or not _separated(s, g, d, ys, others):
            continue
        y = g.nodes[d]
        relabeled = []
        for i in [*g_nodes, *others]:  # on the event d = y, a descendant n of d is n_y
            n = g.nodes[i]
            world = n.world
            if d in _g_ancestors(g, i):
                if any(k == y.var for k, _ in world):
                    break
                world = relevant(s.pa, n.var, world | {(y.var, y.value)})
            relabeled.append((n.var, world, n.value))
        else:
            return relabeled[: len(g_nodes)], relabeled[len(g_nodes) :]
    return None


def _idc_star(s: _Struct, gamma: list[Ev], delta: list[Ev]) -> Node:
    """IDC*(γ, δ, G): an expression for P(γ | δ) or :class:`_Fail`."""
    try:  # line 1: P(δ) = 0 leaves the query undefined
        impossible = _id_star(s, delta) == ZERO
    except _Fail:
        impossible = False
    if impossible:
        raise QueryError(
            "the conditioning events contradict each other (probability 0); P(γ | δ) is undefined"
        )
    checked, given = _tautologies(s, gamma), _tautologies(s, delta)
    if checked is None or given is None:
        return ZERO
    try:
        g = make_cg(s.pa, s.pos, checked[1] + given[1])  # line 2
    except Inconsistent:  # line 3
        return ZERO
    except Substitute:  # depends on a nested index: skip line 4 (sound; lines 5-6 decide)
        g = None
    moved = None if g is None else _move(s, g, len(checked[1]))
    if moved is not None:
        return _idc_star(s, *moved)
    num = _id_star(s, gamma + delta)  # line 5
    return ratio(num, _id_star(s, delta))  # line 6


# ----------------------------------------------------------------------------- public API


def _events(g: CausalGraph, query: object, role: str) -> tuple[CounterfactualEvent, ...]:
    """Events from ``CounterfactualEvent`` objects or ``(variable, do, value)`` tuples."""
    items = [query] if isinstance(query, CounterfactualEvent | tuple) else query
    if not isinstance(items, Iterable) or isinstance(items, str | Mapping):
        raise QueryError(
            f"the {role} must be a list of events such as [cf('Y', do={{'X': 1}}) == 1] or "
            f"[('Y', {{'X': 1}}, 1)], got {query!r}"
        )
    out = []
    for item in items:
        if isinstance(item, tuple) and len(item) == 3:
            item = CounterfactualEvent(*item)
        if not isinstance(item, CounterfactualEvent):
            raise QueryError(
                f"each {role} event must be cf(variable, do) == value or a tuple "
                f"(variable, do, value), got {item!r}"
            )
        g.check_nodes([item.variable, *item.do], role)
        if role == "given" and any(isinstance(v, CounterfactualVariable) for v in item.do.values()):
            raise QueryError(
                f"nested counterfactuals are supported in the query only, not in given ({item}); "
                "unnest it into the query as a sum over the nested variable's values"
            )
        out.append(item)
    if not out and role == "query":
        raise QueryError("the query is empty; give at least one event such as cf('Y') == 1")
    return tuple(out)


def _internal(events: Iterable[CounterfactualEvent], nested: list[Symbol]) -> list[Ev]:
    """Internal events; a nested subscript ``Y_{M=M_{X=0}}`` is unnested with a summation
    index m: ``Σ_m P(Y_{M=m} ∧ M_{X=0}=m ∧ ...)`` (the indices are appended to ``nested``)."""
    out: list[Ev] = []
    todo = [(e.variable, e.intervention, e.value) for e in events]
    while todo:
        var, do, value = todo.pop(0)
        sub = []
        for k, v in do:
            if isinstance(v, CounterfactualVariable):
                if v.variable != k:
                    raise QueryError(
                        f"a nested subscript must set a variable to its own counterfactual, as "
                        f"in M=cf('M', ...); got {k}={v}"
                    )
                sym = Symbol(k)
                nested.append(sym)
                todo.append((v.variable, v.do, sym))
                v = sym
            sub.append((k, v))
        out.append((var, frozenset(sub), value))
    return out


def identify_counterfactual(
    graph: CausalGraph | str,
    query: object,
    given: object = None,
) -> CounterfactualEstimand:
    """Identify the probability of a conjunction of counterfactual events, maybe conditional.

    Runs ID* (or IDC* with ``given``) of Shpitser & Pearl (2007/2008), which are sound and
    complete: the result is an estimand over the observational distribution, the constant 0
    when the events contradict each other, or :class:`~deepcause.exceptions.NotIdentifiableError`.

    Parameters
    ----------
    graph : a :class:`~deepcause.graph.CausalGraph` or its text (``"Z -> X -> Y; X <-> Y"``).
    query : the events, each ``cf(variable, do={...}) == value`` or a tuple
        ``(variable, do, value)``; ``("X", {}, 0)`` is the factual observation ``X = 0``.
    given : events to condition on (the same forms), e.g. the factual treatment for the
        effect of treatment on the treated ``P(Y_{X=1}=1 | X=0)``.

    Returns
    -------
    CounterfactualEstimand
        Prints as text (and LaTeX with ``to_latex``); ``evaluate(data)`` gives the number on
        discrete samples or a joint probability table.

    Raises
    ------
    NotIdentifiableError : names the district of the counterfactual graph whose worlds conflict
        (line 8 of ID*), or the interventional term that ID cannot identify (with its hedge).
    QueryError : malformed events, or ``given`` events that contradict each other.
    UnknownNodeError : a name that is not a node.

    Examples
    --------
    The effect of treatment on the treated on the back-door graph:

    >>> est = identify_counterfactual("Z -> X -> Y; Z -> Y", [("Y", {"X": 1}, 1)],
    ...                               given=[("X", {}, 0)])
    >>> print(est)
    P(Y_{X=1}=1 | X=0) = (Σ_{Z} P(X=0, Z) P(Y=1 | X=1, Z)) / P(X=0)

    The probability of necessity is not identifiable without more assumptions:

    >>> identify_counterfactual("X -> Y", [cf("Y", {"X": 0}) == 0],
    ...                         given=[cf("X") == 1, cf("Y") == 1])
    Traceback (most recent call last):
    ...
    deepcause.exceptions.NotIdentifiableError: P(Y_{X=0}=0 | X=1, Y=1) is not identifiable...
    """
    g = graph if isinstance(graph, CausalGraph) else CausalGraph(graph)
    events = _events(g, query, "query")
    conds = _events(g, given, "given") if given is not None else ()
    s = _struct(g)
    text = query_text(events, conds)
    nested: list[Symbol] = []
    internal = _internal(events, nested)
    try:
        node = _idc_star(s, internal, _internal(conds, [])) if conds else _id_star(s, internal)
    except _Fail as fail:
        raise NotIdentifiableError(
            f"{text} is not identifiable: the observed distribution does not determine it: "
            f"{fail}. {_BOUNDS_HINT}",
            query=text,
        ) from None
    node = simplify(total(nested, node))
    kind = "zero" if node == ZERO else "one" if node == ONE else "counterfactual"
    return CounterfactualEstimand(events, conds, node, kind)

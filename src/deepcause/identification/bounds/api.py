"""``deepcause.bounds``: bounds on a causal quantity the graph does not point-identify."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Any

import numpy as np
import pandas as pd

from ...exceptions import DataValidationError, QueryError
from ...graph.causal_graph import CausalGraph
from ._data import (
    PROB,
    Interventional,
    Joint,
    _levels,
    continuous_columns,
    interventional_from_data,
    joint_from_data,
    positions,
)
from ._plan import (
    Plan,
    balke_pearl_plan,
    causation_plan,
    lp_causation_plan,
    lp_plan,
    natural_plan,
)
from .lp import UnsupportedGraphError
from .result import Bounds

__all__ = ["bounds"]

QUANTITIES = ("probability", "ate", "pns", "pn", "ps")
METHODS = ("lp", "natural", "balke-pearl", "tian-pearl", "ncm")
_CAUSATION = ("pns", "pn", "ps")
_NCM = ("probability", "ate")  # quantities the neural causal models bound
# (graph, data, [(sign, do, outcome)], random_state) -> (lower, upper, misfit, notes)
NCMSolver = Callable[[CausalGraph, pd.DataFrame, list, Any], tuple[float, float, float, list]]
_LP = ("lp", "balke-pearl")  # methods that use every node of the pruned graph


def _prune(graph: CausalGraph, keep: set[str]) -> CausalGraph:
    """Drop unconfounded childless nodes outside ``keep``, repeatedly: their conditionals
    sum out of every constraint and of the query, so the bounds do not change."""
    nodes = set(graph.nodes)
    while True:
        drop = {v for v in nodes - keep if not (graph.children(v) | graph.spouses(v)) & nodes}
        if not drop:
            return graph.subgraph(nodes)
        nodes -= drop


def _relevant(g: CausalGraph, treatment: object, outcome: object) -> tuple[str, ...]:
    """The nodes the bounds depend on (all of them when the query is malformed: the checks
    that refuse it come later)."""
    if not (isinstance(treatment, Mapping) and isinstance(outcome, Mapping)):
        return g.nodes
    keep = {*treatment, *outcome}
    return _prune(g, keep).nodes if keep <= set(g.nodes) else g.nodes


def _check_options(
    quantity: str, method: str | None, alpha: float, n_boot: int, monotonic: bool, data: object
) -> tuple[str, bool]:
    """The method to use, and whether it was chosen automatically (may fall back)."""
    if quantity not in QUANTITIES:
        raise QueryError(f"quantity must be one of {list(QUANTITIES)}, got {quantity!r}")
    if method is not None and method not in METHODS:
        raise QueryError(f"method must be None or one of {list(METHODS)}, got {method!r}")
    if not 0 < alpha < 1:
        raise QueryError(f"alpha must be in (0, 1), got {alpha!r}")
    if not isinstance(n_boot, int | np.integer) or n_boot < 0:
        raise QueryError(f"n_boot must be a non-negative integer, got {n_boot!r}")
    if monotonic and quantity not in _CAUSATION:
        raise QueryError("monotonic=True applies to quantity='pns', 'pn' or 'ps'")
    causal = quantity in _CAUSATION
    if method is None:
        if causal and (monotonic or data is None):
            return "tian-pearl", False
        return "lp", True
    allowed = ("lp", "tian-pearl") if causal else ("lp", "natural", "balke-pearl", "ncm")
    if method not in allowed or (monotonic and method != "tian-pearl"):
        raise QueryError(
            f"quantity={quantity!r}{' with monotonic=True' if monotonic else ''} is bounded by "
            f"method {' or '.join(repr(m) for m in allowed)}; got method={method!r}"
        )
    return method, False


def _check_sources(data: object, experimental: object, quantity: str, method: str) -> None:
    if data is None and not (quantity == "pns" and experimental is not None):
        raise DataValidationError("data is required (None is allowed only for PNS from "
                                  "experimental data alone)")  # fmt: skip
    if experimental is not None and method in ("natural", "balke-pearl", "ncm"):
        raise QueryError(f"method={method!r} cannot use experimental data; use method='lp'")


def _names(graph: CausalGraph, assignment: object, role: str) -> list[str]:
    if not isinstance(assignment, Mapping) or not assignment:
        raise QueryError(
            f"{role} must be a non-empty value assignment such as {{'X': 1}}, got {assignment!r}"
        )
    return list(graph.check_nodes(list(assignment), role))


def _default_control(joint: Joint, t: dict[str, int]) -> dict[str, int]:
    (name, idx), *rest = t.items()
    if rest or joint.cards[joint.axis(name)] != 2:
        raise QueryError(
            "this quantity compares two treatment values: pass control={...} (it defaults to "
            "the other value only for a single binary treatment)"
        )
    return {name: 1 - idx}


def _query_text(joint: Joint, quantity: str, t: dict, c: dict | None, o: dict) -> str:
    def fmt(a: dict) -> str:
        return ", ".join(f"{v}={joint.levels[joint.axis(v)][i]}" for v, i in a.items())

    p_t = f"P({fmt(o)} | do({fmt(t)}))"
    if quantity == "probability":
        return p_t
    if quantity == "ate":
        return f"{p_t} - P({fmt(o)} | do({fmt(c)}))"
    y, yi = next(iter(o.items()))
    yv, ct = joint.levels[joint.axis(y)][yi], fmt(c)
    return {"pns": f"PNS = P({y}_[{fmt(t)}]={yv}, {y}_[{ct}]!={yv})",
            "pn": f"PN = P({y}_[{ct}]!={yv} | {fmt(t)}, {y}={yv})",
            "ps": f"PS = P({y}_[{fmt(t)}]={yv} | {ct}, {y}!={yv})"}[quantity]  # fmt: skip


def _levels_only(experimental: object, names: list[str]) -> Joint:
    if not isinstance(experimental, pd.DataFrame):
        raise DataValidationError(
            "data=None needs experimental=... as a DataFrame; pass observational data or an "
            "experimental table"
        )
    levels = tuple(_levels(experimental[v], v) for v in names if v in experimental.columns)
    if len(levels) != len(names):
        raise DataValidationError(f"the experimental data needs the columns {names}")
    return Joint(tuple(names), levels, np.zeros(tuple(len(lv) for lv in levels)), None)


def _causation_checks(joint: Joint, t: dict, o: dict, quantity: str) -> None:
    if len(t) != 1 or len(o) != 1 or joint.cards[joint.axis(next(iter(t)))] != 2:
        raise QueryError(
            f"{quantity.upper()} is defined for one binary treatment and one outcome event; "
            f"pass e.g. treatment={{'X': 1}}, outcome={{'Y': 1}}"
        )


def _bootstrap(
    plan: Plan, joint: Joint | None, exp: Interventional | None, n_boot: int, random_state: Any
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Endpoints on ``n_boot`` resamples of the rows (of samples; tables are kept fixed)."""
    if n_boot == 0 or not any(s is not None and s.n is not None for s in (joint, exp)):
        return None, None
    rng = np.random.default_rng(random_state)
    out = np.full((n_boot, 2), np.nan)
    for b in range(n_boot):
        j = joint.resample(rng) if joint is not None and joint.n is not None else joint
        e = exp.resample(rng) if exp is not None else None
        with suppress(DataValidationError):  # e.g. a parent configuration missing
            out[b] = plan.compute(j, e)[:2]
    failed = int(np.isnan(out[:, 0]).sum())
    if failed:
        plan.notes.append(f"{failed} of {n_boot} bootstrap resamples could not be bounded "
                          f"(e.g. a needed configuration was missing) and were dropped")  # fmt: skip
    return out[:, 0], out[:, 1]


def bounds(
    graph: CausalGraph | str,
    data: pd.DataFrame | None,
    *,
    treatment: Mapping[str, Any],
    outcome: Mapping[str, Any],
    control: Mapping[str, Any] | None = None,
    quantity: str = "probability",
    experimental: pd.DataFrame | None = None,
    method: str | None = None,
    monotonic: bool = False,
    alpha: float = 0.05,
    n_boot: int = 200,
    random_state: Any = None,
    ncm: NCMSolver | None = None,
) -> Bounds:
    """Bounds on a causal quantity from data and a causal graph.

    Parameters
    ----------
    graph : an ADMG (``"Z -> X -> Y; X <-> Y"``); ``A <-> B`` is an unobserved common cause.
    data : samples (one column per node), or a joint probability table (the nodes plus a
        ``probability`` column summing to 1). ``None`` only for PNS from ``experimental`` alone.
    treatment, outcome : value assignments, e.g. ``{"X": 1}`` and ``{"Y": 1}`` (every named
        variable takes its value); ``{"Y": "mean"}`` asks for E[Y | do(...)] (NCM only).
    control : the comparison treatment (default: the other value of a binary treatment).
    quantity : ``"probability"`` = P(outcome | do(treatment)); ``"ate"`` = that minus P(outcome
        | do(control)); ``"pns"``, ``"pn"``, ``"ps"``: probabilities of causation (Tian & Pearl).
    experimental : optional P(outcome | do(treatment)), experimental samples or a table
        (``probability`` summing to 1 within each treatment value): extra constraints.
    method : ``"lp"`` (default): sharp, linear programming over response functions, for
        graphs whose confounded nodes form one district (pns/pn/ps fall back to
        ``"tian-pearl"`` with a note when a causal path leaves it); ``"natural"`` (Manski,
        any graph); ``"balke-pearl"`` (binary IV, ``"ate"``); ``"tian-pearl"`` (closed-form
        pns/pn/ps; default with ``monotonic=True`` or ``data=None``); ``"ncm"``: neural causal
        models (Xia et al. 2021; an inner approximation, ``sharp=False``, see
        :class:`deepcause.generative.ncm_bounds.NCMBounds`), for ``"probability"``/``"ate"``
        on any graph, continuous variables too, and the default where the LP does not apply.
    monotonic : for pns/pn/ps, assume treatment never prevents the outcome (checked against
        the data): point values.
    alpha, n_boot, random_state : level and bootstrap resamples of the rows for the endpoints'
        intervals (none for NCM bounds); ``random_state`` also seeds the neural causal models.
    ncm : the neural-causal-model solver ``ncm(graph, data, terms, random_state) -> (lower,
        upper, misfit, notes)``; :func:`deepcause.bounds` passes ``NCMBounds()`` (pass your
        own ``NCMBounds(max_steps=...)`` to configure it); without one ``"ncm"`` is refused.

    Returns
    -------
    Bounds

    Examples
    --------
    >>> import pandas as pd, deepcause
    >>> table = pd.DataFrame({"X": [0, 0, 1, 1], "Y": [0, 1, 0, 1],
    ...                       "probability": [0.3, 0.2, 0.1, 0.4]})
    >>> b = deepcause.bounds("X -> Y; X <-> Y", table, treatment={"X": 1}, outcome={"Y": 1})
    >>> b.lower, b.upper, b.method, b.sharp
    (0.4, 0.9, 'lp', True)
    """
    g = graph if isinstance(graph, CausalGraph) else CausalGraph(graph)
    method, auto = _check_options(quantity, method, alpha, n_boot, monotonic, data)
    _check_sources(data, experimental, quantity, method)
    query = (treatment, outcome, control, quantity)
    neural = auto and quantity in _NCM and experimental is None and ncm is not None
    wide = continuous_columns(data, _relevant(g, treatment, outcome)) if neural else []
    if method == "ncm" or wide:
        why = f"the column(s) {wide} are continuous or many-valued" if wide else None
        return _ncm_bounds(g, data, query, ncm, random_state, why)
    try:
        small, joint, exp, (t, c, o) = _prepare(g, data, treatment, outcome, control, quantity,
                                                experimental, method)  # fmt: skip
        plan = _make_plan(small, joint if data is not None else None, (t, c, o), quantity,
                          (method, auto), monotonic, exp is not None)  # fmt: skip
    except UnsupportedGraphError as exc:
        if not neural or quantity in _CAUSATION:
            raise
        return _ncm_bounds(g, data, query, ncm, random_state, str(exc).split(";")[0])
    obs = joint if data is not None else None
    return _solve(plan, obs, exp, _query_text(joint, quantity, t, c, o), quantity, alpha, n_boot,
                  random_state)  # fmt: skip


def _solve(plan: Any, obs: Any, exp: Any, query: str, quantity: str, alpha: float, n_boot: int,
           random_state: Any) -> Bounds:  # fmt: skip
    """Solve the plan on the data, bootstrap its endpoints and wrap the :class:`Bounds`."""
    lo, hi, misfit = plan.compute(obs, exp)
    lb, ub = _bootstrap(plan, obs, exp, n_boot, random_state)
    if misfit > 1e-8:
        plan.notes.append(f"the data are outside the graph's model (L1 distance {misfit:.3g}); "
                          f"the bounds are for the nearest compatible distributions")  # fmt: skip
    n = [s.n for s in (obs, exp) if s is not None and s.n is not None]
    return Bounds(lo, hi, quantity=quantity, query=query, method=plan.method, sharp=plan.sharp,
                  lower_boot=lb, upper_boot=ub, alpha=alpha, n=min(n) if n else None,
                  misfit=misfit, notes=tuple(plan.notes))  # fmt: skip


def _prepare(g: CausalGraph, data: Any, treatment: Any, outcome: Any, control: Any,
             quantity: str, experimental: Any, method: str) -> tuple:  # fmt: skip
    """The graph the method needs, the data over its nodes, and the query as level indices."""
    xs, ys = _names(g, treatment, "treatment"), _names(g, outcome, "outcome")
    if set(xs) & set(ys):
        raise QueryError(f"{sorted(set(xs) & set(ys))} is both treatment and outcome")
    if control is not None and sorted(_names(g, control, "control")) != sorted(xs):
        raise QueryError("control must assign the same variables as treatment")
    keep = set(xs) | set(ys)
    if isinstance(experimental, pd.DataFrame):
        keep |= {v for v in experimental.columns if v in g}
    small = _prune(g, keep)  # the graph that matters; closed forms need only keep's columns
    every = method in _LP or (method == "tian-pearl" and experimental is None)
    names = [v for v in g.topological_order() if v in small and (every or v in keep)]
    joint = (
        joint_from_data(data, names, g.nodes)
        if data is not None
        else _levels_only(experimental, names)
    )
    t, o = positions(joint, treatment, "treatment"), positions(joint, outcome, "outcome")
    c = None
    if quantity in _CAUSATION:
        _causation_checks(joint, t, o, quantity)
    if quantity != "probability":
        c = positions(joint, control, "control") if control else _default_control(joint, t)
    exp = None if experimental is None else interventional_from_data(experimental, joint, xs)
    return small, joint, exp, (t, c, o)


def _make_plan(small: CausalGraph, obs: Joint | None, query: tuple, quantity: str,
               method: tuple[str, bool], monotonic: bool, has_exp: bool) -> Plan:  # fmt: skip
    t, c, o = query
    (x, ti), (y, yi) = next(iter(t.items())), next(iter(o.items()))
    terms = [(1.0, t, o)] + ([(-1.0, c, o)] if quantity == "ate" else [])
    name, auto = method
    if name == "lp" and quantity in _CAUSATION:
        assert obs is not None
        try:
            return lp_causation_plan(small, obs, quantity, (x, y, ti, c[x], yi))
        except UnsupportedGraphError as exc:
            if not auto:
                raise
            plan = causation_plan(small, obs, (x, y, ti, c[x], yi), quantity, monotonic, has_exp)
            plan.notes.append(f"Tian-Pearl bounds, because the linear program does not apply: "
                              f"{exc}")  # fmt: skip
            return plan
    if name == "lp":
        assert obs is not None
        return lp_plan(small, obs, terms)
    if name == "natural":
        return natural_plan(small, terms, list(t), list(o))
    if name == "balke-pearl":
        if quantity != "ate" or len(t) != 1 or len(o) != 1:
            raise QueryError("method='balke-pearl' bounds quantity='ate' for one treatment and "
                             "one outcome; use method='lp'")  # fmt: skip
        return balke_pearl_plan(small, x, y, ti, c[x], yi)
    return causation_plan(small, obs, (x, y, ti, c[x], yi), quantity, monotonic, has_exp)


def _ncm_bounds(g: CausalGraph, data: Any, query: tuple, ncm: NCMSolver | None,
                random_state: Any, why: str | None) -> Bounds:  # fmt: skip
    """Neural-causal-model bounds (``why``: the reason the linear program was not used)."""
    treatment, outcome, control, quantity = query
    if ncm is None:
        raise QueryError("method='ncm' needs the neural solver: call deepcause.bounds(...), or "
                         "pass ncm=deepcause.generative.ncm_bounds.NCMBounds()")  # fmt: skip
    if quantity not in _NCM:
        raise QueryError(f"method='ncm' bounds quantity 'probability' or 'ate', not "
                         f"{quantity!r}; use method='lp' or 'tian-pearl'")  # fmt: skip
    if not isinstance(data, pd.DataFrame):
        raise DataValidationError("method='ncm' needs data as a DataFrame of samples or a "
                                  "probability table")  # fmt: skip
    xs, ys = _names(g, treatment, "treatment"), _names(g, outcome, "outcome")
    if set(xs) & set(ys):
        raise QueryError(f"{sorted(set(xs) & set(ys))} is both treatment and outcome")
    small = _prune(g, set(xs) | set(ys))
    if quantity == "ate" and control is None:
        levels = pd.unique(data[xs[0]]) if len(xs) == 1 and xs[0] in data.columns else []
        if len(levels) != 2:
            raise QueryError("quantity='ate' compares two treatment values: pass control={...}")
        other = [v for v in levels if str(v) != str(treatment[xs[0]])]
        control = {xs[0]: other[0] if len(other) == 1 else levels[0]}
    if control is not None and sorted(_names(g, control, "control")) != sorted(xs):
        raise QueryError("control must assign the same variables as treatment")
    terms = [(1.0, dict(treatment), dict(outcome))]
    terms += [(-1.0, dict(control), dict(outcome))] if quantity == "ate" else []
    lo, hi, misfit, notes = ncm(small, data, terms, random_state)
    if why:
        notes = [f"neural causal model bounds because the linear program does not apply: "
                 f"{why}", *notes]  # fmt: skip
    text = " - ".join(_ncm_text(do, outcome) for _, do, _ in terms)
    n = None if PROB in data.columns else len(data)
    return Bounds(lo, hi, quantity=quantity, query=text, method="ncm", sharp=False, n=n,
                  misfit=misfit, notes=tuple(notes))  # fmt: skip


def _ncm_text(do: Mapping[str, Any], outcome: Mapping[str, Any]) -> str:
    fmt = ", ".join(f"{v}={x}" for v, x in do.items())
    (y, target), *_ = outcome.items()
    if isinstance(target, str) and target == "mean":
        return f"E[{y} | do({fmt})]"
    return f"P({', '.join(f'{v}={x}' for v, x in outcome.items())} | do({fmt}))"

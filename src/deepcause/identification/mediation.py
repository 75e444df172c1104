"""Identification of natural direct and indirect effects by the mediation formula (Pearl 2001).

For a treatment ``X`` with values ``x1`` (treatment) and ``x0`` (control), mediators ``M`` and an
outcome ``Y``, the nested counterfactual mean ``E[Y(x, M(x'))]`` (the outcome when ``X`` is set
to ``x`` and the mediators to the values they would take under ``x'``) gives

* the natural direct effect  ``NDE = E[Y(x1, M(x0))] − E[Y(x0, M(x0))]``,
* the natural indirect effect ``NIE = E[Y(x1, M(x1))] − E[Y(x1, M(x0))]``,

so that ``NDE + NIE`` is the total effect (this NIE is the *total* indirect effect, at the
treated level; Pearl's *pure* NIE at the control level is ``E[Y(x0, M(x1))] − E[Y(x0, M(x0))]``
and is available through :meth:`MediationEstimand.mean`). When a set ``W`` of observed
covariates makes the mediation formula valid,

``E[Y(x, M(x'))] = Σ_{m,w} E(Y | x, m, w) P(m | x', w) P(w)``.

:func:`identify_mediation` searches the graph for such a ``W``. It checks, for a candidate
``W`` of observed non-descendants of ``X``:

1. no open treatment–mediator confounding: ``(M ⊥ X | W)`` in ``G`` without the edges out of
   ``X`` (``P(m | do(x'), w) = P(m | x', w)``, do-calculus rule 2);
2. no open treatment–outcome or mediator–outcome confounding: ``(Y ⊥ {X, M} | W)`` in ``G``
   without the edges out of ``X`` and ``M`` (``E[Y | do(x, m), w] = E(Y | x, m, w)``);
3. the cross-world independence ``Y(x, m) ⊥ M(x') | W``: m-separation in the twin network of
   the worlds ``do(X=x, M=m)`` and ``do(X=x')`` (Balke & Pearl 1994), whose copies of a node
   share its error term and its bidirected edges. It fails in particular when a mediator–outcome
   confounder is itself affected by the treatment (a *recanting witness*, Avin, Shpitser &
   Pearl 2005), which :func:`identify_mediation` names before searching.

The three conditions are sufficient, not necessary: a refusal means the mediation formula
does not apply with any observed ``W``, and the natural effects are then in general not
identified (a recanting witness or an unobserved mediator–outcome confounder makes them
non-identifiable).

>>> est = identify_mediation("W -> X; W -> M; W -> Y; X -> M -> Y; X -> Y", "X", "M", "Y")
>>> print(est.formula("NDE"))
NDE = Σ_{M, W} [E(Y | X=x1, M, W) − E(Y | X=x0, M, W)] P(M | X=x0, W) P(W)
>>> identify_mediation("X -> M -> Y; X -> Y; M <-> Y", "X", "M", "Y")
Traceback (most recent call last):
...
deepcause.exceptions.NotIdentifiableError: the natural direct and indirect effects of X on Y through {M} are not identified by the mediation formula: mediator–outcome confounding stays open: M <-> Y ...
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataValidationError, NotIdentifiableError, QueryError
from ..graph.causal_graph import CausalGraph, as_graph
from ..graph.criteria import _directed_path
from ._names import _latex_name
from .evaluate import Prepared, prepare, py_value

__all__ = ["MediationEstimand", "identify_mediation"]

#: most candidate covariate sets tried by the search (smallest first)
MAX_CANDIDATE_SETS = 4096
_KINDS = ("NDE", "NIE", "TE")


# ----------------------------------------------------------------------------- the estimand


@dataclass(frozen=True)
class MediationEstimand:
    """The mediation formula for the natural direct and indirect effects, with its covariates.

    Returned by :func:`identify_mediation`. ``covariates`` is the set ``W`` found in the graph
    (possibly empty); ``kind`` is ``"mediation"``.

    Parameters
    ----------
    treatment, outcome : str
        The treatment ``X`` and the outcome ``Y``.
    mediators : tuple of str
        The mediators ``M`` (jointly).
    covariates : tuple of str
        The covariates ``W`` of the formula.

    Examples
    --------
    >>> est = MediationEstimand("X", ("M",), "Y", ())
    >>> print(est)
    NDE = Σ_{M} [E(Y | X=x1, M) − E(Y | X=x0, M)] P(M | X=x0)
    NIE = Σ_{M} E(Y | X=x1, M) [P(M | X=x1) − P(M | X=x0)]
    >>> t = pd.DataFrame({"X": [0, 0, 0, 0, 1, 1, 1, 1], "M": [0, 0, 1, 1] * 2,
    ...                   "Y": [0, 1] * 4, "probability": [.2, .1, .1, .1, .05, .1, .05, .3]})
    >>> est.evaluate(t, treatment=1, control=0).round(4).to_dict()
    {'NDE': 0.3429, 'NIE': 0.0571, 'TE': 0.4}
    """

    treatment: str
    mediators: tuple[str, ...]
    outcome: str
    covariates: tuple[str, ...] = ()

    kind = "mediation"

    @property
    def adjustment_set(self) -> tuple[str, ...]:
        """The covariates ``W`` (the name other estimands use for their adjustment set).

        >>> MediationEstimand("X", ("M",), "Y", ("W",)).adjustment_set
        ('W',)
        """
        return self.covariates

    @property
    def query(self) -> str:
        """The nested counterfactual means the effects contrast, in words.

        >>> MediationEstimand("X", ("M",), "Y").query
        'NDE, NIE: E[Y(x1, M(x0))], E[Y(x0, M(x0))], E[Y(x1, M(x1))]'
        """
        return "NDE, NIE: " + ", ".join(
            nested_label(self.outcome, self.treatment, self.mediators, a, b)
            for a, b in (("x1", "x0"), ("x0", "x0"), ("x1", "x1"))
        )

    def formula(self, kind: str = "NDE", *, ascii: bool = False, latex: bool = False) -> str:
        """``kind = formula`` for ``kind`` in ``"NDE"``, ``"NIE"``, ``"TE"``.

        >>> print(MediationEstimand("X", ("M",), "Y", ("W",)).formula("NIE", ascii=True))
        NIE = sum_{M, W} E(Y | X=x1, M, W) [P(M | X=x1, W) - P(M | X=x0, W)] P(W)
        """
        if kind not in _KINDS:
            raise QueryError(f"kind must be one of {list(_KINDS)}, got {kind!r}")
        return _render(self, kind, "latex" if latex else "ascii" if ascii else "unicode")

    def __str__(self) -> str:
        return "\n".join(self.formula(k) for k in ("NDE", "NIE"))

    def to_text(self, ascii: bool = False) -> str:
        """``str()`` with an optional ASCII-only spelling (``sum_{M}`` for ``Σ_{M}``).

        >>> print(MediationEstimand("X", ("M",), "Y").to_text(ascii=True).splitlines()[0])
        NDE = sum_{M} [E(Y | X=x1, M) - E(Y | X=x0, M)] P(M | X=x0)
        """
        return "\n".join(self.formula(k, ascii=ascii) for k in ("NDE", "NIE"))

    def to_latex(self) -> str:
        """LaTeX source of the NDE and NIE formulas (an ``aligned`` block).

        >>> print(MediationEstimand("X", ("M",), "Y").to_latex().splitlines()[1])
        \\mathrm{NDE} &= \\sum_{M} \\left[E(Y \\mid X = x_1, M) - E(Y \\mid X = x_0, M)\\right] P(M \\mid X = x_0) \\\\
        """
        lines = [self.formula(k, latex=True).replace(" = ", " &= ", 1) for k in ("NDE", "NIE")]
        return "\\begin{aligned}\n" + " \\\\\n".join(lines) + " \\\\\n\\end{aligned}"

    def _repr_latex_(self) -> str:
        return f"$${self.to_latex()}$$"

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (for JSON output).

        >>> MediationEstimand("X", ("M",), "Y").to_dict()["covariates"]
        []
        """
        return {
            "kind": self.kind,
            "treatment": self.treatment,
            "mediators": list(self.mediators),
            "outcome": self.outcome,
            "covariates": list(self.covariates),
            **{k: self.formula(k) for k in _KINDS},
            "latex": {k: self.formula(k, latex=True) for k in _KINDS},
        }

    # ------------------------------------------------------------------ evaluation
    def mean(
        self,
        data: pd.DataFrame | pd.Series,
        treatment: Any = 1,
        mediator_treatment: Any = 0,
        *,
        weights: str | None = None,
    ) -> float:
        """``E[Y(x, M(x'))] = Σ_{m,w} E(Y | x, m, w) P(m | x', w) P(w)`` on discrete data.

        Parameters
        ----------
        data : DataFrame or Series
            Discrete samples (the empirical distribution is plugged in) or a joint probability
            table (a ``probability`` column, or a Series with a MultiIndex over the variables);
            the outcome must be numeric.
        treatment : the value ``x`` the outcome sees.
        mediator_treatment : the value ``x'`` the mediators see.
        weights : str, optional
            A column of probabilities, counts or sampling weights to use instead.

        Returns
        -------
        float

        Examples
        --------
        >>> t = pd.DataFrame({"X": [0, 0, 1, 1], "M": [0, 1, 0, 1], "Y": [0.0, 1.0, 1.0, 2.0],
        ...                   "probability": [0.3, 0.2, 0.1, 0.4]})
        >>> MediationEstimand("X", ("M",), "Y").mean(t, treatment=1, mediator_treatment=0)
        1.4
        """
        return self._cells(data, weights).mean(treatment, mediator_treatment)

    def evaluate(
        self,
        data: pd.DataFrame | pd.Series,
        treatment: Any = 1,
        control: Any = 0,
        *,
        weights: str | None = None,
    ) -> pd.Series:
        """NDE, NIE and TE (= NDE + NIE) of ``treatment`` against ``control`` on discrete data.

        See :meth:`mean` for ``data`` and ``weights``. Returns a Series indexed by
        ``"NDE"``, ``"NIE"``, ``"TE"``.

        >>> t = pd.DataFrame({"X": [0, 0, 1, 1], "M": [0, 1, 0, 1], "Y": [0.0, 1.0, 1.0, 2.0],
        ...                   "probability": [0.3, 0.2, 0.1, 0.4]})
        >>> MediationEstimand("X", ("M",), "Y").evaluate(t).round(6).tolist()
        [1.0, 0.4, 1.4]
        """
        cells = self._cells(data, weights)
        y11, y10, y00 = (cells.mean(a, b) for a, b in ((treatment, treatment),
                         (treatment, control), (control, control)))  # fmt: skip
        return pd.Series(
            {"NDE": y10 - y00, "NIE": y11 - y10, "TE": y11 - y00},
            name=f"{self.outcome}: {self.treatment}={treatment} vs {control}",
        )

    def _cells(self, data: pd.DataFrame | pd.Series, weights: str | None) -> _Cells:
        variables = {self.treatment, self.outcome, *self.mediators, *self.covariates}
        return _Cells(prepare(data, variables, weights), self)


def nested_label(outcome: str, treatment: str, mediators: Iterable[str], x: Any, xm: Any) -> str:
    """The nested counterfactual mean in words, e.g. ``E[Y(1, M(0))]``.

    >>> nested_label("Y", "X", ["M1", "M2"], 1, 0)
    'E[Y(1, {M1, M2}(0))]'
    """
    ms = list(mediators)
    m = ms[0] if len(ms) == 1 else "{" + ", ".join(ms) + "}"
    return f"E[{outcome}({x}, {m}({xm}))]"


class _Cells:
    """Dense cell arrays of one evaluation: E(Y | x, m, w), P(m | x, w) and P(w)."""

    def __init__(self, data: Prepared, est: MediationEstimand) -> None:
        self.data, self.est = data, est
        y = est.outcome
        if not np.issubdtype(data.domains[y].dtype, np.number):
            raise DataValidationError(
                f"outcome {y!r} must be numeric for the mediation formula (an expectation); "
                f"encode it, e.g. df[{y!r}] == value"
            )
        names = (y, est.treatment, *est.mediators, *est.covariates)
        joint = data.marginal(names)
        self.k = len(est.mediators)
        self.p_xmw = joint.sum(axis=0)  # axes: X, M..., W...
        self.sum_y = np.tensordot(data.domains[y].astype(float), joint, axes=(0, 0))
        self.p_xw = self.p_xmw.sum(axis=tuple(range(1, 1 + self.k)))
        self.p_w = self.p_xw.sum(axis=0)

    def _level(self, value: Any) -> int:
        return self.data.position(self.est.treatment, value, "treatment value")

    def mean(self, x: Any, xm: Any) -> float:
        i, j = self._level(x), self._level(xm)
        k = self.k
        with np.errstate(invalid="ignore", divide="ignore"):
            mu = self.sum_y[i] / self.p_xmw[i]  # E(Y | x, m, w), NaN off the support
            p_m = self.p_xmw[j] / self.p_xw[j].reshape((1,) * k + self.p_xw[j].shape)
        weight = np.where(self.p_w > 0, p_m, 0.0) * self.p_w  # P(m | x', w) P(w)
        bad_w = (self.p_w > 0) & (self.p_xw[j] == 0)
        bad_m = (weight > 0) & ~(self.p_xmw[i] > 0)
        if bad_w.any() or bad_m.any():
            raise DataValidationError(self._positivity(x, xm, bad_w, bad_m))
        return float(np.sum(np.where(weight > 0, mu, 0.0) * weight))

    def _positivity(self, x: Any, xm: Any, bad_w: np.ndarray, bad_m: np.ndarray) -> str:
        est = self.est
        t = est.treatment
        if bad_w.any():
            names, cell, need = est.covariates, np.argwhere(bad_w)[0], f"{t}={xm!r}"
        else:
            names, cell = (*est.mediators, *est.covariates), np.argwhere(bad_m)[0]
            need = f"{t}={x!r}"
        where = ", ".join(
            f"{n}={py_value(self.data.domains[n][c])!r}" for n, c in zip(names, cell, strict=True)
        )
        return (
            f"positivity violation: the mediation formula needs units with {need} at "
            f"{where or 'every covariate value'}, but there are none; collect such data, merge "
            "sparse categories or use fewer covariates"
        )


# ----------------------------------------------------------------------------- rendering

_PLAIN = {"bar": " | ", "eq": "=", "open": "[", "close": "]"}
_STYLE = {
    "unicode": {**_PLAIN, "sum": "Σ_{{{}}}", "minus": "−"},
    "ascii": {**_PLAIN, "sum": "sum_{{{}}}", "minus": "-"},
    "latex": {"sum": "\\sum_{{{}}}", "minus": "-", "bar": " \\mid ", "eq": " = ",
              "open": "\\left[", "close": "\\right]"},
}  # fmt: skip


def _render(est: MediationEstimand, kind: str, style: str) -> str:
    s = _STYLE[style]
    latex = style == "latex"

    def names(ns: Iterable[str]) -> str:
        return ", ".join(_latex_name(n) if latex else n for n in ns)

    x, y = names([est.treatment]), names([est.outcome])
    m, w = names(est.mediators), names(est.covariates)
    tail = f", {w}" if w else ""

    def level(v: str) -> str:
        return f"{x}{s['eq']}{v[0]}_{v[1]}" if latex else f"{x}{s['eq']}{v}"

    def ey(v: str, over_m: bool = True) -> str:
        return f"E({y}{s['bar']}{level(v)}{', ' + m if over_m else ''}{tail})"

    def pm(v: str) -> str:
        return f"P({m}{s['bar']}{level(v)}{tail})"

    pw = f" P({w})" if w else ""
    over = s["sum"].format(f"{m}, {w}" if w else m)
    if kind == "NDE":
        body = f"{over} {s['open']}{ey('x1')} {s['minus']} {ey('x0')}{s['close']} {pm('x0')}{pw}"
    elif kind == "NIE":
        body = f"{over} {ey('x1')} {s['open']}{pm('x1')} {s['minus']} {pm('x0')}{s['close']}{pw}"
    else:
        lead = f"{s['sum'].format(w)} " if w else ""
        body = f"{lead}{s['open']}{ey('x1', False)} {s['minus']} {ey('x0', False)}{s['close']}{pw}"
    label = f"\\mathrm{{{kind}}}" if latex else kind
    return f"{label} = {body}"


# ----------------------------------------------------------------------------- identification


@dataclass(frozen=True)
class _Query:
    g: CausalGraph
    x: str
    ms: frozenset[str]
    y: str

    @property
    def text(self) -> str:
        return (
            f"the natural direct and indirect effects of {self.x} on {self.y} through "
            f"{{{', '.join(self._ordered(self.ms))}}}"
        )

    def _ordered(self, names: Iterable[str]) -> list[str]:
        order = {n: i for i, n in enumerate(self.g.nodes)}
        return sorted(names, key=order.__getitem__)


def _twin(q: _Query) -> CausalGraph:
    """Twin network of the worlds a = do(X=x, M=m) and b = do(X=x'), merged where they agree.

    A non-descendant of ``X`` is one node shared by both worlds (and the factual one); a
    descendant ``V`` has copies ``V[a]`` (not for mediators, fixed in a) and ``V[b]`` that share
    its error term (``V[a] <-> V[b]``) and its bidirected edges. Fixed nodes are constants and
    are left out.
    """
    g, x, ms = q.g, q.x, q.ms
    de = g.descendants(x) - {x}

    def copies(v: str, world: str | None = None) -> list[str]:
        if v == x:
            return []
        if v not in de:
            return [v]
        a = [] if v in ms else [f"{v}[a]"]
        return {"a": a, "b": [f"{v}[b]"], None: a + [f"{v}[b]"]}[world]

    directed = [(p, v) for p, v in g.directed_edges if v not in de]
    for world in ("a", "b"):
        directed += [(s, t) for p, v in g.directed_edges if v in de
                     for s in copies(p, world) for t in copies(v, world)]  # fmt: skip
    bidirected = [(s, t) for u, v in g.bidirected_edges for s in copies(u) for t in copies(v)]
    bidirected += [(f"{v}[a]", f"{v}[b]") for v in de - ms]
    nodes = [c for v in g.nodes for c in copies(v)]
    return CausalGraph.from_edges(directed, bidirected, nodes=nodes)


def _failure(q: _Query, w: frozenset[str]) -> tuple[str, str] | None:
    """The first violated condition for covariates ``w`` (which confounding, an open path)."""
    g_ux = q.g.remove_outgoing(q.x)
    g_uxm = q.g.remove_outgoing({q.x} | q.ms)
    checks = (
        ("treatment-mediator", lambda: g_ux.connecting_path(q.x, q.ms, w)),
        ("treatment-outcome", lambda: g_uxm.connecting_path(q.x, q.y, w)),
        ("mediator-outcome", lambda: g_uxm.connecting_path(q.ms, q.y, w)),
        ("cross-world", lambda: _twin(q).connecting_path(f"{q.y}[a]", _b(q.ms), w)),
    )
    for name, check in checks:
        path = check()
        if path is not None:
            return name, path
    return None


def _b(ms: Iterable[str]) -> list[str]:
    return [f"{m}[b]" for m in ms]


def _recanting_witness(q: _Query) -> tuple[str, str] | None:
    """A descendant of X, not a mediator, with directed paths to M and (avoiding M) to Y."""
    g = q.g
    without_m = g.subgraph(g.node_set - q.ms)
    for z in q._ordered(g.descendants(q.x) - q.ms - {q.x, q.y}):
        to_m = [m for m in q._ordered(q.ms) if z in g.ancestors(m)]
        if to_m and z in without_m.ancestors(q.y):
            path = (
                f"{_directed_path(g, q.x, z)}; {_directed_path(g, z, to_m[0])}; "
                f"{_directed_path(without_m, z, q.y)}"
            )
            return z, path
    return None


def _candidate_sets(q: _Query) -> Iterable[frozenset[str]]:
    """Observed non-descendants of X among the ancestors of the query, smallest sets first."""
    g = q.g
    pool = q._ordered(g.ancestors({q.x, q.y} | q.ms) - g.descendants(q.x) - {q.y})
    tried = 0
    for size in range(len(pool) + 1):
        for combo in combinations(pool, size):
            yield frozenset(combo)
            tried += 1
            if tried >= MAX_CANDIDATE_SETS:
                yield frozenset(pool)
                return


def _refusal(
    q: _Query, w: frozenset[str], kind: str, path: str, extra: str = "", fix: str = ""
) -> Exception:
    given = f" given W = {{{', '.join(q._ordered(w))}}}" if w else ""
    text = kind.replace("-", "–")
    what = {
        "treatment-mediator": f"an unobserved cause shared by {q.x} and the mediators",
        "treatment-outcome": f"an unobserved cause shared by {q.x} and {q.y}",
        "mediator-outcome": f"a common cause of the mediators and {q.y} that no observed "
        f"non-descendant of {q.x} blocks",
        "cross-world": f"the mediators under one treatment value and {q.y} under another share "
        "an unobserved cause",
    }[kind]
    err = NotIdentifiableError(
        f"{q.text} are not identified by the mediation formula: {text} confounding stays open: "
        f"{path}{given} ({what}){extra}. "
        f"{fix or 'Measuring the common cause (a covariate W) would identify them'}; otherwise "
        f"deepcause.bounds(graph, data, "
        f"treatment={{{q.x!r}: 1}}, control={{{q.x!r}: 0}}, outcome={{{q.y!r}: 1}}, "
        f"quantity='ate') bounds the total effect without this assumption (bounds on the "
        f"natural effects themselves are not available yet)",
        query=q.text,
    )
    err.confounding = (kind, path)  # type: ignore[attr-defined]
    return err


def _check_query(
    graph: CausalGraph | str, treatment: str, mediators: str | Iterable[str], outcome: str
) -> _Query:
    g = as_graph(graph)
    for value, role in ((treatment, "treatment"), (outcome, "outcome")):
        if not isinstance(value, str):
            raise QueryError(f"{role} must be one node name, got {value!r}")
    (x,) = g.check_nodes(treatment, "treatment")
    (y,) = g.check_nodes(outcome, "outcome")
    ms = frozenset(g.check_nodes(mediators, "mediator"))
    if x == y or x in ms or y in ms:
        raise QueryError(
            f"treatment {x!r}, mediators {sorted(ms)} and outcome {y!r} must be distinct nodes"
        )
    for m in ms:
        if m not in g.descendants(x) or m not in g.ancestors(y):
            raise QueryError(
                f"{m!r} is not a mediator of {x} -> {y}: a mediator lies on a directed path from "
                f"{x} to {y} (the graph has no path {x} -> ... -> {m} -> ... -> {y})"
            )
    return _Query(g, x, ms, y)


def _witness_refusal(q: _Query, z: str, paths: str) -> Exception:
    others = q.g.ancestors({q.x, q.y} | q.ms) - q.g.descendants(q.x)
    path = q.g.remove_outgoing({q.x} | q.ms).connecting_path(q.ms, q.y, others)
    return _refusal(
        q,
        others,
        "mediator-outcome",
        path or paths,
        extra=f"; {z} is a recanting witness: it is affected by {q.x} and affects both "
        f"the mediators and {q.y} ({paths}), so adjusting for it would block a part of the "
        f"effect, and the natural effects are not identified",
        fix=f"Counting {z} as a mediator too (mediators=[..., {z!r}]) identifies the natural "
        f"effects through both",
    )


def _given(q: _Query, covariates: Iterable[str]) -> frozenset[str]:
    w = frozenset(q.g.check_nodes(list(covariates), "covariate", allow_empty=True))
    bad = sorted(w & (q.g.descendants(q.x) | {q.y}))
    if bad:
        raise QueryError(
            f"covariates {bad} are the outcome or descendants of the treatment {q.x!r}; the "
            "mediation formula needs covariates that the treatment does not affect"
        )
    return w


def identify_mediation(
    graph: CausalGraph | str,
    treatment: str,
    mediators: str | Iterable[str],
    outcome: str,
    *,
    covariates: Iterable[str] | None = None,
) -> MediationEstimand:
    """Identify the natural direct and indirect effects by the mediation formula.

    Searches the graph for covariates ``W`` (observed non-descendants of the treatment,
    smallest sets first) that remove treatment–mediator, treatment–outcome and
    mediator–outcome confounding and make the cross-world independence hold (see the module
    docstring for the conditions).

    Parameters
    ----------
    graph : CausalGraph or str
        The causal graph (``<->`` marks an unobserved common cause).
    treatment, outcome : str
        One treatment node and one outcome node.
    mediators : str or iterable of str
        The mediators, jointly; each must lie on a directed path from treatment to outcome.
    covariates : iterable of str, optional
        Check this ``W`` only instead of searching.

    Returns
    -------
    MediationEstimand
        Prints the mediation formula (text and LaTeX) and evaluates on discrete data.

    Raises
    ------
    NotIdentifiableError
        When no ``W`` works (or the given one does not): the message names the confounding
        (which pair, an open path; ``err.confounding`` holds both) or the recanting witness,
        and points to ``deepcause.bounds``.
    QueryError, UnknownNodeError
        For a malformed query.

    Examples
    --------
    >>> est = identify_mediation("C -> X; C -> Y; X -> M -> Y; X -> Y", "X", "M", "Y")
    >>> est.covariates
    ('C',)
    >>> print(est.formula("NDE", ascii=True))
    NDE = sum_{M, C} [E(Y | X=x1, M, C) - E(Y | X=x0, M, C)] P(M | X=x0, C) P(C)
    >>> identify_mediation("X -> Z -> M -> Y; Z -> Y; X -> M; X -> Y", "X", "M", "Y")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.NotIdentifiableError: the natural direct and indirect effects of X on Y through {M} are not identified by the mediation formula: mediator–outcome confounding stays open: M <- Z -> Y (...); Z is a recanting witness: ...
    """
    q = _check_query(graph, treatment, mediators, outcome)
    witness = _recanting_witness(q)
    if witness is not None:
        raise _witness_refusal(q, *witness)
    candidates = _candidate_sets(q) if covariates is None else (_given(q, covariates),)
    last = frozenset()
    for w in candidates:
        last = w
        if _failure(q, w) is None:
            return MediationEstimand(q.x, tuple(q._ordered(q.ms)), q.y, tuple(q._ordered(w)))
    kind, path = _failure(q, last)  # type: ignore[misc]
    raise _refusal(q, last, kind, path)

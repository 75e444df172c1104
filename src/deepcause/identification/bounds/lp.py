"""Sharp bounds by linear programming over response functions, generated from the graph.

The model class (Balke & Pearl 1997; Sachs et al. 2022 for the general single-district case):
the graph is a discrete ADMG whose confounded nodes form ONE district ``D``; every other node is
unconfounded. One latent ``U`` confounds all of ``D`` (for a bidirected clique this loses
nothing, as in the latent projection: any set of latents over a clique is one latent), so each
``d`` in ``D`` is a deterministic *response function* of its parents, ``d = r_d(pa_d)``, with
``r_d`` ranging over all ``k_d ** (number of parent configurations)`` maps. The LP variable is
the joint distribution ``q`` over the product of the response types of ``D``.

Each unconfounded node ``o`` has its own independent noise, so it enters only through its
conditional ``P(o | pa_o)``, which the data identify (Tian & Pearl's c-component factorisation:
``P(v) = Q[D] * prod_o P(o | pa_o)``). These conditionals are fixed at their observed values and
used both in the constraints and under intervention; the compatible models are then exactly
``{q : P_q(v) = P(v) for all v}`` -- a polytope -- and the bounds are sharp for a clique district.
(For a district that is not a clique, one latent over the whole district is a larger model:
the bounds stay valid but need not be sharp.)

Constraints: ``sum_r q(r) prod_d 1[r_d(pa_d(v)) = v_d] * prod_o P(o | pa_o(v)) = P(v)`` for
every cell ``v``, plus ``P(y | do(t)) = ...`` for experimental data. Objective: the query under
intervention, computed the same way with the treated nodes fixed (their response functions and
conditionals replaced by the indicator of the treated value). Solved with HiGHS.

On a finite sample the empirical distribution can fall outside the model (e.g. break the
instrumental inequality); then the LP first finds the smallest L1 distance ``misfit`` from the
data to a compatible distribution and bounds the query over the compatible distributions at
that distance (the projection of the data onto the model). A probability table outside the
model is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product

import numpy as np
from scipy.optimize import linprog

from ...exceptions import DataValidationError, DeepCauseError
from ...graph.causal_graph import CausalGraph
from ._data import Interventional, Joint

__all__ = ["UnsupportedGraphError", "ResponseModel", "lp_bounds", "Term"]

TABLE_TOL = 1e-6  # L1 misfit of a probability table attributed to rounding, not to the graph
MAX_ENTRIES = 30_000_000  # response types x cells of the design matrix
_OPTS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}

# (sign, do: {node: level index}, event: {node: level index})
Term = tuple[float, dict[str, int], dict[str, int]]


class UnsupportedGraphError(DeepCauseError, ValueError):
    """The graph is outside the class where the compatible models form a polytope.

    A :class:`~deepcause.exceptions.DeepCauseError` and ``ValueError``; the message names the
    offending districts or nodes and the method to use instead.

    Examples
    --------
    >>> confounded_district(CausalGraph("A <-> B; C <-> D"))
    Traceback (most recent call last):
    ...
    deepcause.identification.bounds.lp.UnsupportedGraphError: linear-programming bounds need every confounded node in one district, ...
    """


def confounded_district(graph: CausalGraph) -> tuple[str, ...]:
    """The one district with a bidirected edge (empty when there is none), or refuse."""
    big = [d for d in graph.districts() if len(d) > 1]
    if len(big) > 1:
        shown = " and ".join("{" + ", ".join(sorted(d)) + "}" for d in big)
        raise UnsupportedGraphError(
            f"linear-programming bounds need every confounded node in one district, but the "
            f"graph has the confounded districts {shown}; use method='natural' (valid for any "
            f"graph), or add bidirected edges joining the districts (wider but valid bounds)"
        )
    order = graph.topological_order()
    return tuple(v for v in order if big and v in big[0])


@dataclass(frozen=True, eq=False)
class ResponseModel:
    """The response-function parametrisation of a graph over discrete variables.

    >>> g = CausalGraph("Z -> X -> Y; X <-> Y")
    >>> m = ResponseModel.build(g, ("Z", "X", "Y"), (2, 2, 2))
    >>> m.district, m.n_types, m.clique
    (('X', 'Y'), 16, True)
    """

    names: tuple[str, ...]
    cards: tuple[int, ...]
    parents: dict[str, tuple[str, ...]]
    district: tuple[str, ...]
    clique: bool
    indicators: dict[str, np.ndarray]  # d -> (types of d, cells): 1[r_d(pa_d(v)) = v_d]
    tables: dict[str, np.ndarray]  # d -> (types of d, parent configurations): r_d(pa)
    coords: np.ndarray  # (variables, cells): level index of each variable in each cell

    @classmethod
    def build(cls, graph: CausalGraph, names: Sequence[str], cards: Sequence[int]) -> ResponseModel:
        names, cards = tuple(names), tuple(int(k) for k in cards)
        district = confounded_district(graph)
        pos = {v: i for i, v in enumerate(names)}
        parents = {v: tuple(p for p in names if p in graph.parents(v)) for v in names}
        n_types = 1
        for d in district:
            n_types *= cards[pos[d]] ** int(np.prod([cards[pos[p]] for p in parents[d]]))
        n_cells = int(np.prod(cards))
        if n_types * n_cells > MAX_ENTRIES:
            raise UnsupportedGraphError(
                f"the linear program would have {n_types} response types x {n_cells} cells, "
                f"too large to solve; use method='natural', or coarsen variables with many "
                f"levels / drop parents of the confounded nodes {list(district)}"
            )
        coords = np.indices(cards).reshape(len(cards), -1)
        indicators, tables = {}, {}
        for d in district:
            pa = [pos[p] for p in parents[d]]
            pa_cards = [cards[i] for i in pa]
            conf = np.ravel_multi_index(coords[pa], pa_cards) if pa else np.zeros(n_cells, int)
            table = np.array(list(product(range(cards[pos[d]]), repeat=int(np.prod(pa_cards)))))
            indicators[d] = table[:, conf] == coords[pos[d]][None, :]
            tables[d] = table
        clique = all(graph.has_edge(a, b, "<->") for a in district for b in district if a < b)
        return cls(names, cards, parents, district, clique, indicators, tables, coords)

    @property
    def n_types(self) -> int:
        return int(np.prod([self.indicators[d].shape[0] for d in self.district]))

    def type_matrix(self, skip: Sequence[str] = ()) -> np.ndarray:
        """``(types, cells)``: product of the district's indicators, omitting ``skip``."""
        out = np.ones((1, self.coords.shape[1]))
        for d in self.district:
            ind = self.indicators[d]
            factor = np.ones(ind.shape) if d in skip else ind
            out = (out[:, None, :] * factor[None, :, :]).reshape(-1, out.shape[1])
        return out

    def _conditional(self, joint: Joint, node: str) -> np.ndarray:
        """``P(node | parents)`` broadcast to the full grid (uniform where undefined)."""
        m = joint.marginal((node, *self.parents[node]))
        denom = m.sum(axis=joint.axis(node), keepdims=True)
        k = self.cards[joint.axis(node)]
        cond = np.divide(m, denom, out=np.full(m.shape, 1.0 / k), where=denom > 0)
        return np.broadcast_to(cond, joint.prob.shape)

    def type_indices(self) -> dict[str, np.ndarray]:
        """For each district node, its own type index in every joint type ``(types,)``."""
        shape = [self.tables[d].shape[0] for d in self.district]
        return dict(zip(self.district, np.unravel_index(np.arange(self.n_types), shape),
                        strict=True))  # fmt: skip

    def cell_weights(self, joint: Joint, do: dict[str, int]) -> np.ndarray:
        """``prod_o P(o | pa_o)`` over unconfounded, untreated nodes times ``1[treated = do]``."""
        w = np.ones(joint.prob.shape)
        for v in self.names:
            if v in do:
                w = w * (self.coords[joint.axis(v)] == do[v]).reshape(w.shape)
            elif v not in self.district:
                w = w * self._conditional(joint, v)
        return w.ravel()

    def event(self, event: dict[str, int]) -> np.ndarray:
        hit = np.ones(self.coords.shape[1], bool)
        for v, i in event.items():
            hit &= self.coords[self.names.index(v)] == i
        return hit


def check_positivity(model: ResponseModel, graph: CausalGraph, joint: Joint, do: dict) -> None:
    """Refuse when the intervention reaches a parent configuration never observed."""
    below = graph.descendants(list(do)) - set(do) - set(model.district)
    for o in below:
        pa = model.parents[o]
        m = joint.marginal(pa) if pa else joint.prob.sum(keepdims=True)
        for v in pa:
            if v in do:
                m = np.take(m, [do[v]], axis=joint.axis(v))
        if (m == 0).any():
            raise DataValidationError(
                f"the intervention reaches values of {o}'s parents {list(pa)} that never occur "
                f"in the data, so P({o} | {', '.join(pa)}) there is unknown; collect data with "
                f"those values or coarsen the variables"
            )


def objective(model: ResponseModel, joint: Joint, terms: Sequence[Term]) -> np.ndarray:
    """Coefficients on ``q`` of ``sum sign * P(event | do)``."""
    c = np.zeros(model.n_types)
    for sign, do, event in terms:
        w = model.cell_weights(joint, do) * model.event(event)
        c += sign * (model.type_matrix(skip=list(do)) @ w)
    return c


def _experimental_rows(
    model: ResponseModel, joint: Joint, exp: Interventional
) -> tuple[np.ndarray, np.ndarray]:
    rows, rhs = [], []
    other_ax = [model.names.index(v) for v in exp.others]
    other_conf = np.ravel_multi_index(model.coords[other_ax], exp.prob.shape[len(exp.treated) :])
    onehot = np.eye(int(np.prod(exp.prob.shape[len(exp.treated) :])))[other_conf]
    for t in np.ndindex(*exp.prob.shape[: len(exp.treated)]):
        if exp.prob[t].sum() == 0:
            continue  # this treatment value was not run
        do = dict(zip(exp.treated, (int(i) for i in t), strict=True))
        mat = model.type_matrix(skip=exp.treated) * model.cell_weights(joint, do)[None, :]
        rows.append((mat @ onehot).T)
        rhs.append(exp.prob[t].ravel())
    return np.vstack(rows), np.concatenate(rhs)


def _solve(c: np.ndarray, a: np.ndarray, b: np.ndarray, a_ub=None, b_ub=None):
    return linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a, b_eq=b, bounds=(0, None), method="highs",
                   options=_OPTS)  # fmt: skip


def _with_slack(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[a | I | -I]`` (no slack on row 0, ``sum q = 1``) and the L1 cost of the slacks."""
    n, m = a.shape[1], a.shape[0] - 1
    slack = np.vstack([np.zeros((1, 2 * m)), np.hstack([np.eye(m), -np.eye(m)])])
    return np.hstack([a, slack]), np.r_[np.zeros(n), np.ones(2 * m)]


def _misfit(a: np.ndarray, b: np.ndarray) -> float:
    """Smallest L1 distance ``||a q - b||_1`` over distributions ``q`` (row 0 is sum q = 1)."""
    big, l1 = _with_slack(a)
    return float(_solve(l1, big, b).fun)


def lp_bounds(
    model: ResponseModel,
    joint: Joint,
    terms: Sequence[Term] | np.ndarray,
    experimental: Interventional | None = None,
) -> tuple[float, float, float]:
    """``(lower, upper, misfit)`` of the query over the models compatible with the data.

    Parameters
    ----------
    model : ResponseModel
        The response-function parametrisation of the graph.
    joint : Joint
        The observed distribution (samples or an exact table).
    terms : list of (sign, do, event) or ndarray
        The query as a signed sum of interventional probabilities (level indices), or directly
        its coefficients on the joint response types ``q``.
    experimental : Interventional, optional
        Known ``P(y | do(t))`` added as constraints.

    Returns
    -------
    (float, float, float)
        The bounds, and the L1 distance from the data to the nearest distribution the graph
        allows (0 when compatible; a probability table incompatible with the graph raises
        ``DataValidationError``).

    Examples
    --------
    The average effect in the binary instrumental-variable graph (Balke & Pearl's bounds):

    >>> import pandas as pd
    >>> from ._data import joint_from_data
    >>> iv = pd.DataFrame({"Z": [0, 0, 0, 1, 1, 1], "X": [0, 0, 1, 1, 1, 0],
    ...                    "Y": [0, 1, 1, 1, 0, 0], "probability": [.25, .1, .15, .3, .1, .1]})
    >>> m = ResponseModel.build(CausalGraph("Z -> X -> Y; X <-> Y"), ("Z", "X", "Y"), (2, 2, 2))
    >>> ate = [(1.0, {"X": 1}, {"Y": 1}), (-1.0, {"X": 0}, {"Y": 1})]
    >>> [round(v, 3) for v in lp_bounds(m, joint_from_data(iv, ["Z", "X", "Y"]), ate)]
    [0.1, 0.6, 0.0]
    """
    w = model.cell_weights(joint, {})
    keep = w > 0
    a = (model.type_matrix()[:, keep] * w[keep][None, :]).T
    b = joint.prob.ravel()[keep]
    if experimental is not None:
        ea, eb = _experimental_rows(model, joint, experimental)
        a, b = np.vstack([a, ea]), np.r_[b, eb]
    a, b = np.vstack([np.ones((1, a.shape[1])), a]), np.r_[1.0, b]
    c = terms if isinstance(terms, np.ndarray) else objective(model, joint, terms)
    lo, hi = _solve(c, a, b), _solve(-c, a, b)
    if lo.status == 0 and hi.status == 0:
        return float(lo.fun), float(-hi.fun), 0.0
    misfit = _misfit(a, b)
    exact = joint.n is None and (experimental is None or experimental.n is None)
    if exact and misfit > TABLE_TOL:
        raise DataValidationError(
            f"the probabilities are incompatible with the graph: the nearest distribution the "
            f"graph allows is at L1 distance {misfit:.3g} (e.g. the instrumental inequality "
            f"fails); check the graph and the table"
        )
    big, l1 = _with_slack(a)
    ub, bub = l1[None, :], [misfit * (1 + 1e-6) + 1e-9]
    cc = np.r_[c, np.zeros(len(l1) - len(c))]
    lo, hi = _solve(cc, big, b, ub, bub), _solve(-cc, big, b, ub, bub)
    if lo.status != 0 or hi.status != 0:  # pragma: no cover - numerical failure of HiGHS
        raise DataValidationError(f"the linear program failed ({lo.message}); rescale or "
                                  f"coarsen the data, or use method='natural'")  # fmt: skip
    return float(lo.fun), float(-hi.fun), misfit

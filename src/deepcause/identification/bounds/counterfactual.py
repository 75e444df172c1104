"""Probabilities of causation as linear objectives over response types (sharp, graph-aware).

PNS, PN and PS are cross-world quantities: the same unit under ``do(x)`` and ``do(x')``. In
the response-function model each joint type ``r`` of the confounded district, together with
the factual values ``v`` of all nodes, fixes the outcome in both worlds *provided every node on
a causal path from the treatment to the outcome is in the district* (an unconfounded node there
has its own noise, whose coupling across worlds the data do not fix; then use
``method="tian-pearl"``). Nodes that are not descendants of the treatment keep their factual
values in every world. So, with ``P(r, v) = q(r) * prod_d 1[r_d(pa_d(v)) = v_d] * prod_o
P(o | pa_o(v))``:

- PNS = sum P(r, v) 1[Y_x(r, v) = y] 1[Y_x'(r, v) != y];
- PN  = sum P(r, v) 1[v_X = x, v_Y = y] 1[Y_x'(r, v) != y] / P(x, y);
- PS  = sum P(r, v) 1[v_X = x', v_Y != y] 1[Y_x(r, v) = y] / P(x', y');

all linear in ``q``, and optimised under the same constraints as :mod:`.lp`. On the bow graph
with observational and experimental data this reproduces Tian & Pearl's sharp bounds.
"""

from __future__ import annotations

import numpy as np

from ...exceptions import DataValidationError
from ...graph.causal_graph import CausalGraph
from ._data import Joint
from .lp import ResponseModel, UnsupportedGraphError

__all__ = ["check_causal_paths", "causation_objective"]


def check_causal_paths(model: ResponseModel, graph: CausalGraph, x: str, y: str) -> list[str]:
    """The nodes strictly after ``x`` on causal paths to ``y`` (all in the district), in order.

    Parameters
    ----------
    model : ResponseModel
        The response-function model of ``graph``.
    graph : CausalGraph
        The graph.
    x, y : str
        Treatment and outcome.

    Returns
    -------
    list of str
        The path nodes in the model's order; a path node outside the confounded district
        raises :class:`~.lp.UnsupportedGraphError`.

    Examples
    --------
    >>> g = CausalGraph("X -> Y; X <-> Y")
    >>> check_causal_paths(ResponseModel.build(g, ("X", "Y"), (2, 2)), g, "X", "Y")
    ['Y']
    """
    between = (graph.descendants(x) & graph.ancestors(y)) - {x}
    outside = sorted(between - set(model.district))
    if outside:
        raise UnsupportedGraphError(
            f"{outside[0]} lies on a causal path from {x} to {y} but is not in the confounded "
            f"district, so its cross-world behaviour is not fixed by the linear program; use "
            f"method='tian-pearl'"
        )
    return [v for v in model.names if v in between]


def _world(model: ResponseModel, path: list[str], x: str, value: int) -> dict[str, np.ndarray]:
    """Values ``(types, cells)`` of the path nodes under ``do(x = value)``."""
    n_types, n_cells = model.n_types, model.coords.shape[1]
    kind = model.type_indices()
    vals: dict[str, np.ndarray] = {x: np.full((n_types, n_cells), value)}
    for d in path:
        pa = model.parents[d]
        parts = [vals[p] if p in vals else np.broadcast_to(model.coords[model.names.index(p)],
                 (n_types, n_cells)) for p in pa]  # fmt: skip
        cards = [model.cards[model.names.index(p)] for p in pa]
        conf = np.ravel_multi_index(parts, cards) if pa else np.zeros((n_types, n_cells), int)
        vals[d] = model.tables[d][kind[d][:, None], conf]
    return vals


def causation_objective(
    model: ResponseModel, graph: CausalGraph, joint: Joint, quantity: str,
    query: tuple[str, str, int, int, int],
) -> np.ndarray:  # fmt: skip
    """Coefficients on ``q`` of PNS, PN or PS; ``query`` is ``(x, y, treat, control, event)``.

    Parameters
    ----------
    model, graph, joint : ResponseModel, CausalGraph, Joint
        The response-function model, its graph and the observed distribution.
    quantity : {"pns", "pn", "ps"}
        The probability of causation.
    query : tuple
        Treatment and outcome names, then the level indices of the treated and control values
        and of the outcome event.

    Returns
    -------
    ndarray
        One coefficient per joint response type, the objective for :func:`~.lp.lp_bounds`.

    Examples
    --------
    PNS on the bow graph from observational data alone: Tian & Pearl's ``[0, P(x, y) +
    P(x', y')]``.

    >>> import pandas as pd
    >>> from ._data import joint_from_data
    >>> from .lp import lp_bounds
    >>> g = CausalGraph("X -> Y; X <-> Y")
    >>> m = ResponseModel.build(g, ("X", "Y"), (2, 2))
    >>> t = pd.DataFrame({"X": [0, 0, 1, 1], "Y": [0, 1, 0, 1], "probability": [.4, .1, .2, .3]})
    >>> j = joint_from_data(t, ["X", "Y"])
    >>> lo, hi, misfit = lp_bounds(m, j, causation_objective(m, g, j, "pns", ("X", "Y", 1, 0, 1)))
    >>> round(lo, 3), round(hi, 3)
    (0.0, 0.7)
    """
    x, y, t, c, yi = query
    path = check_causal_paths(model, graph, x, y)
    p_rv = model.type_matrix() * model.cell_weights(joint, {})[None, :]
    fx, fy = model.coords[model.names.index(x)], model.coords[model.names.index(y)]
    y_t = _world(model, path, x, t)[y] == yi if y in path else (fy == yi)[None, :]
    y_c = _world(model, path, x, c)[y] == yi if y in path else (fy == yi)[None, :]
    if quantity == "pns":
        return (p_rv * (y_t & ~y_c)).sum(axis=1)
    factual = (fx == t) & (fy == yi) if quantity == "pn" else (fx == c) & (fy != yi)
    den = float(joint.prob.ravel()[factual].sum())
    if den <= 0:
        raise DataValidationError(
            f"the conditioning event of {quantity.upper()} has probability 0 in the data; it is "
            f"undefined here (choose other values or collect more data)"
        )
    hit = ~y_c if quantity == "pn" else y_t
    return (p_rv * (factual[None, :] & hit)).sum(axis=1) / den

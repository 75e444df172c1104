"""Closed-form bounds: natural (Manski) bounds for any graph, Balke–Pearl for the binary IV.

Natural bounds (Manski 1990; Robins 1989) use only ``P(x, y)`` and ``P(x)``: the untreated
units' outcome under treatment is unknown, so ``P(x, y) <= P(y | do(x)) <= P(x, y) + 1 - P(x)``.
They hold in every graph (with arbitrary confounding) and are sharp without further structure.

Balke & Pearl (1997, JASA, "Bounds on treatment effects from studies with imperfect
compliance") give the sharp bounds on ``P(y_1) - P(y_0)`` for binary ``Z -> X -> Y`` with
``X <-> Y`` as the max / min of eight expressions in ``p_{yx.z} = P(Y=y, X=x | Z=z)``; they are
used here as an independent check of the linear program.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...exceptions import QueryError
from ._data import Joint
from .lp import Term

__all__ = ["natural_bounds", "balke_pearl_ate"]


def _event_prob(joint: Joint, event: dict[str, int]) -> float:
    idx = tuple(event.get(v, slice(None)) for v in joint.names)
    return float(joint.prob[idx].sum())


def natural_bounds(joint: Joint, terms: Sequence[Term]) -> tuple[float, float]:
    """Natural bounds of ``sum sign * P(event | do)`` (terms bounded separately, then added).

    >>> import pandas as pd
    >>> from ._data import joint_from_data
    >>> j = joint_from_data(pd.DataFrame({"X": [0, 1, 1, 1], "Y": [0, 0, 1, 1]}), ["X", "Y"])
    >>> natural_bounds(j, [(1.0, {"X": 1}, {"Y": 1})])
    (0.5, 0.75)
    """
    lower = upper = 0.0
    for sign, do, event in terms:
        clash = any(v in do and do[v] != i for v, i in event.items())
        p_xy = 0.0 if clash else _event_prob(joint, {**event, **do})
        lo, hi = p_xy, p_xy + 1.0 - _event_prob(joint, do)
        if all(v in do for v in event):  # the event is fixed by the intervention itself
            lo = hi = 0.0 if clash else 1.0
        lower += sign * (lo if sign > 0 else hi)
        upper += sign * (hi if sign > 0 else lo)
    return lower, upper


def _p(joint: Joint, z: int, x: int, y: int, zxy: Sequence[str]) -> float:
    """``P(Y=y, X=x | Z=z)`` with the binary levels given as indices."""
    pz = _event_prob(joint, {zxy[0]: z})
    return _event_prob(joint, dict(zip(zxy, (z, x, y), strict=True))) / pz


def balke_pearl_ate(
    joint: Joint, zxy: Sequence[str], treat: int, control: int, y: int
) -> tuple[float, float]:
    """Balke–Pearl bounds on ``P(Y=y | do(X=treat)) - P(Y=y | do(X=control))``.

    Parameters
    ----------
    joint : Joint
        The observed distribution (from ``joint_from_data``).
    zxy : sequence of three str
        The instrument, treatment and outcome; all three must be binary and every instrument
        value observed (else ``QueryError``).
    treat, control, y : int
        Level indices of the treatment values compared and of the outcome event.

    Returns
    -------
    (float, float)
        The sharp lower and upper bounds.

    Examples
    --------
    >>> import pandas as pd
    >>> from ._data import joint_from_data
    >>> iv = pd.DataFrame({"Z": [0, 0, 0, 1, 1, 1], "X": [0, 0, 1, 1, 1, 0],
    ...                    "Y": [0, 1, 1, 1, 0, 0], "probability": [.25, .1, .15, .3, .1, .1]})
    >>> j = joint_from_data(iv, ["Z", "X", "Y"])
    >>> [round(v, 3) for v in balke_pearl_ate(j, ("Z", "X", "Y"), 1, 0, 1)]
    [0.1, 0.6]
    """
    if any(joint.cards[joint.axis(v)] != 2 for v in zxy):
        raise QueryError("the Balke–Pearl bounds need a binary instrument, treatment and outcome; "
                         "use method='lp' for other cardinalities")  # fmt: skip
    if np.any(joint.marginal(zxy[:1]) == 0):
        raise QueryError("the Balke–Pearl bounds need both instrument values in the data")

    def p(yy: int, xx: int, zz: int) -> float:  # p_{yx.z} with 1 = the query's y / treat
        return _p(joint, zz, treat if xx else control, y if yy else 1 - y, zxy)

    p00_0, p01_0, p10_0, p11_0 = p(0, 0, 0), p(0, 1, 0), p(1, 0, 0), p(1, 1, 0)
    p00_1, p01_1, p10_1, p11_1 = p(0, 0, 1), p(0, 1, 1), p(1, 0, 1), p(1, 1, 1)
    lower = max(
        p11_1 + p00_0 - 1,
        p11_0 + p00_1 - 1,
        p11_0 - p11_1 - p10_1 - p01_0 - p10_0,
        p11_1 - p11_0 - p10_0 - p01_1 - p10_1,
        -p01_1 - p10_1,
        -p01_0 - p10_0,
        p00_1 - p01_1 - p10_1 - p01_0 - p00_0,
        p00_0 - p01_0 - p10_0 - p01_1 - p00_1,
    )
    upper = min(
        1 - p01_1 - p10_0,
        1 - p01_0 - p10_1,
        -p01_0 + p01_1 + p00_1 + p11_0 + p00_0,
        -p01_1 + p11_1 + p00_1 + p01_0 + p00_0,
        p11_1 + p00_1,
        p11_0 + p00_0,
        -p10_1 + p11_1 + p00_1 + p11_0 + p10_0,
        -p10_0 + p11_0 + p00_0 + p11_1 + p10_1,
    )
    return lower, upper

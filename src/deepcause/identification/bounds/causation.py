"""Probabilities of causation (Tian & Pearl 2000, "Probabilities of causation: bounds and
identification", Annals of Mathematics and Artificial Intelligence 28).

For a binary treatment (``x`` versus ``x'``) and an outcome event ``y`` (``y'`` = not ``y``):

- PNS = P(y_x, y'_{x'}): the treatment is necessary and sufficient for the outcome;
- PN  = P(y'_{x'} | x, y): among the treated with the outcome, it would not have occurred
  without treatment (the "but-for" probability);
- PS  = P(y_x | x', y'): among the untreated without the outcome, treatment would produce it.

Bounds use the observational ``P(x, y)`` and, when known, the interventional ``P(y_x)``,
``P(y_{x'})`` (Tian & Pearl's Theorems for "experimental and non-experimental data"; with
observational data alone PNS <= P(x, y) + P(x', y') and PN, PS are unbounded in [0, 1]).
Under monotonicity (``y_{x'}`` implies ``y_x``: treatment never prevents the outcome) they are
point-identified: PNS = P(y_x) - P(y_{x'}), PN = (P(y) - P(y_{x'})) / P(x, y),
PS = (P(y_x) - P(y)) / P(x', y'). Monotonicity implies ``P(y_x) >= P(y) >= P(y_{x'})``, which is
checked against the data.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...exceptions import DataValidationError, QueryError

__all__ = ["CausationInputs", "causation_bounds", "monotone_value", "monotonicity_violation"]


@dataclass(frozen=True)
class CausationInputs:
    """Observational cells and (optionally) interventional outcome probabilities.

    Parameters
    ----------
    p_xy, p_xny, p_nxy, p_nxny : float or None
        P(X=x, Y=y), P(X=x, Y≠y), P(X=x', Y=y) and P(X=x', Y≠y); None without observational
        data.
    p_yx, p_ynx : float, optional
        P(Y=y | do(x)) and P(Y=y | do(x')), when experimental data or an identified effect
        give them.

    Examples
    --------
    >>> d = CausationInputs(0.3, 0.2, 0.1, 0.4, p_yx=0.6, p_ynx=0.2)
    >>> d.observational, d.experimental, round(d.p_y, 2)
    (True, True, 0.4)
    """

    p_xy: float | None
    p_xny: float | None
    p_nxy: float | None
    p_nxny: float | None
    p_yx: float | None = None
    p_ynx: float | None = None

    @property
    def observational(self) -> bool:
        """Whether the observational cells are known."""
        return self.p_xy is not None

    @property
    def experimental(self) -> bool:
        """Whether the interventional probabilities are known."""
        return self.p_yx is not None

    @property
    def p_y(self) -> float:
        """P(Y=y) from the observational cells."""
        return self.p_xy + self.p_nxy


def _denominator(value: float | None, what: str) -> float:
    if value is None or value <= 0:
        raise DataValidationError(
            f"{what} has probability 0 in the data, and the query conditions on it; it is "
            f"undefined here (choose other treatment/outcome values or collect more data)"
        )
    return value


def _pns(d: CausationInputs) -> tuple[float, float]:
    if not d.experimental:
        return 0.0, d.p_xy + d.p_nxny
    lo = [0.0, d.p_yx - d.p_ynx]
    hi = [d.p_yx, 1.0 - d.p_ynx]
    if d.observational:
        lo += [d.p_y - d.p_ynx, d.p_yx - d.p_y]
        hi += [d.p_xy + d.p_nxny, d.p_yx - d.p_ynx + d.p_xny + d.p_nxy]
    return max(lo), min(hi)


def _pn(d: CausationInputs) -> tuple[float, float]:
    den = _denominator(d.p_xy, "the conditioning event (X=x, Y=y) of PN")
    if not d.experimental:
        return 0.0, 1.0
    lo = max(0.0, (d.p_y - d.p_ynx) / den)
    return lo, min(1.0, (1.0 - d.p_ynx - d.p_nxny) / den)


def _ps(d: CausationInputs) -> tuple[float, float]:
    den = _denominator(d.p_nxny, "the conditioning event (X=x', Y=y') of PS")
    if not d.experimental:
        return 0.0, 1.0
    lo = max(0.0, (d.p_yx - d.p_y) / den)
    return lo, min(1.0, (d.p_yx - d.p_xy) / den)


_BOUNDS = {"pns": _pns, "pn": _pn, "ps": _ps}


def causation_bounds(quantity: str, d: CausationInputs) -> tuple[float, float]:
    """Tian–Pearl bounds on ``"pns"``, ``"pn"`` or ``"ps"``.

    >>> d = CausationInputs(0.3, 0.2, 0.1, 0.4, p_yx=0.6, p_ynx=0.2)
    >>> [tuple(round(v, 4) for v in causation_bounds(q, d)) for q in ("pns", "pn", "ps")]
    [(0.4, 0.6), (0.6667, 1.0), (0.5, 0.75)]
    """
    if not d.observational and quantity != "pns":
        raise QueryError(
            f"{quantity.upper()} conditions on observed treatment and outcome, so it needs "
            f"observational data; pass data=... (experimental data alone bounds only PNS)"
        )
    return _BOUNDS[quantity](d)


def monotonicity_violation(d: CausationInputs) -> float:
    """How far the data contradict monotonicity (0 when compatible).

    Monotonicity implies ``P(y_x) >= P(y_{x'})`` and, with observational data,
    ``P(y_x) >= P(y) >= P(y_{x'})``.

    Parameters
    ----------
    d : CausationInputs
        Needs the interventional probabilities.

    Returns
    -------
    float
        The largest violated gap, 0 when the data are compatible with monotonicity.

    Examples
    --------
    >>> monotonicity_violation(CausationInputs(0.3, 0.2, 0.1, 0.4, p_yx=0.6, p_ynx=0.2))
    0.0
    >>> round(monotonicity_violation(CausationInputs(None, None, None, None, 0.3, 0.5)), 2)
    0.2
    """
    gaps = [d.p_ynx - d.p_yx]
    if d.observational:
        gaps += [d.p_y - d.p_yx, d.p_ynx - d.p_y]
    return max(0.0, *gaps)


def monotone_value(quantity: str, d: CausationInputs) -> float:
    """Point value of PNS, PN or PS under monotonicity (needs interventional probabilities).

    Parameters
    ----------
    quantity : {"pns", "pn", "ps"}
        The probability of causation.
    d : CausationInputs
        PNS needs ``p_yx`` and ``p_ynx``; PN and PS also the observational cells (a missing
        input raises ``QueryError``).

    Returns
    -------
    float
        PNS = P(y_x) - P(y_{x'}), PN = (P(y) - P(y_{x'})) / P(x, y) or
        PS = (P(y_x) - P(y)) / P(x', y').

    Examples
    --------
    >>> d = CausationInputs(0.3, 0.2, 0.1, 0.4, p_yx=0.6, p_ynx=0.2)
    >>> [round(monotone_value(q, d), 4) for q in ("pns", "pn", "ps")]
    [0.4, 0.6667, 0.5]
    """
    if not d.experimental:
        raise QueryError(
            f"under monotonicity {quantity.upper()} still needs P(y | do(x)); pass "
            f"experimental=... or a graph in which the effect is identifiable"
        )
    if quantity == "pns":
        return d.p_yx - d.p_ynx
    if not d.observational:
        raise QueryError(f"{quantity.upper()} needs observational data; pass data=...")
    if quantity == "pn":
        return (d.p_y - d.p_ynx) / _denominator(d.p_xy, "the event (X=x, Y=y) of PN")
    return (d.p_yx - d.p_y) / _denominator(d.p_nxny, "the event (X=x', Y=y') of PS")

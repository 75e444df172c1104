"""The result of counterfactual identification: a query over several worlds and its estimand.

>>> from deepcause.identification.counterfactual import identify_counterfactual, cf
>>> est = identify_counterfactual("Z -> X -> Y; Z -> Y", [cf("Y", {"X": 1}) == 1], given=[cf("X") == 0])
>>> print(est)
P(Y_{X=1}=1 | X=0) = (Σ_{Z} P(X=0, Z) P(Y=1 | X=1, Z)) / P(X=0)
>>> est.to_latex()
'P(Y_{X{=}1}{=}1 \\\\mid X{=}0) = \\\\frac{\\\\sum_{Z} P(X{=}0, Z) P(Y{=}1 \\\\mid X{=}1, Z)}{P(X{=}0)}'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .._names import _latex_name
from .expression import Node, evaluate, render
from .worlds import CounterfactualEvent, do_text

__all__ = ["CounterfactualEstimand"]


def _event_latex(e: CounterfactualEvent) -> str:
    sub = ", ".join(f"{_latex_name(k)}{{=}}{v}" for k, v in e.intervention)
    return _latex_name(e.variable) + (f"_{{{sub}}}" if sub else "") + f"{{=}}{e.value}"


def query_text(
    events: Sequence[CounterfactualEvent], given: Sequence[CounterfactualEvent], latex: bool = False
) -> str:
    """``P(Y_{X=1}=1 | X=0)``: the probability of a conjunction of events, maybe conditional."""
    show = _event_latex if latex else str
    text = ", ".join(show(e) for e in events)
    if given:
        text += (" \\mid " if latex else " | ") + ", ".join(show(e) for e in given)
    return f"P({text})"


@dataclass(frozen=True)
class CounterfactualEstimand:
    """An identified counterfactual probability ``P(events | given)`` and its estimand.

    Returned by :func:`~deepcause.identification.counterfactual.identify_counterfactual`.
    ``expression`` is a tree of probability terms with fixed values (the query's values are
    part of the query, unlike :class:`~deepcause.identification.Estimand`), so
    :meth:`evaluate` returns one number. ``kind`` is ``"zero"`` when the events contradict each
    other (the probability is 0 in every model), ``"one"`` for a sure event, else
    ``"counterfactual"``.

    >>> from deepcause.identification.counterfactual import identify_counterfactual, cf
    >>> est = identify_counterfactual("X -> Y", [cf("Y", {"X": 1}) == 1, cf("X") == 1])
    >>> print(est)
    P(Y_{X=1}=1, X=1) = P(X=1, Y=1)
    >>> t = pd.DataFrame({"X": [0, 0, 1, 1], "Y": [0, 1, 0, 1], "probability": [.2, .3, .1, .4]})
    >>> est.evaluate(t)
    0.4
    """

    events: tuple[CounterfactualEvent, ...]
    given: tuple[CounterfactualEvent, ...]
    expression: Node
    kind: str = "counterfactual"

    @property
    def query(self) -> str:
        """The query in words, e.g. ``P(Y_{X=1}=1 | X=0)``."""
        return query_text(self.events, self.given)

    def __str__(self) -> str:
        return self.to_text()

    def to_text(self, ascii: bool = False) -> str:
        """``query = estimand``; ``ascii=True`` writes ``sum_{Z}`` instead of ``Σ_{Z}``."""
        return f"{self.query} = {render(self.expression, 'ascii' if ascii else 'unicode')}"

    def to_latex(self) -> str:
        """LaTeX source of ``query = estimand``."""
        return f"{query_text(self.events, self.given, latex=True)} = {render(self.expression, 'latex')}"

    def _repr_latex_(self) -> str:
        return f"${self.to_latex()}$"

    def evaluate(self, data: pd.DataFrame | pd.Series, *, weights: str | None = None) -> float:
        """The probability on discrete samples or a joint probability table.

        ``data`` is as for :meth:`Estimand.evaluate
        <deepcause.identification.estimand.Estimand.evaluate>`: one row per unit, or one row
        per value combination with a ``probability`` column (or ``weights`` naming a column of
        probabilities or counts). Raises :class:`~deepcause.exceptions.DataValidationError`
        when a value of the estimand never occurs or a conditioning event has probability 0.
        """
        return evaluate(self.expression, data, weights)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (for JSON output)."""

        def event(e: CounterfactualEvent) -> dict[str, Any]:
            return {"variable": e.variable, "do": do_text(e.intervention), "value": str(e.value)}

        return {
            "query": self.query,
            "estimand": render(self.expression),
            "estimand_ascii": render(self.expression, "ascii"),
            "latex": render(self.expression, "latex"),
            "kind": self.kind,
            "events": [event(e) for e in self.events],
            "given": [event(e) for e in self.given],
        }

"""Counterfactual identification: ID* and IDC* over several worlds (Shpitser & Pearl 2007).

>>> from deepcause.identification.counterfactual import identify_counterfactual, cf
>>> print(identify_counterfactual("X -> Y", [cf("Y", {"X": 1}) == 1]))
P(Y_{X=1}=1) = P(Y=1 | X=1)
"""

from __future__ import annotations

from .estimand import CounterfactualEstimand
from .idstar import identify_counterfactual
from .worlds import CounterfactualEvent, CounterfactualVariable, cf

__all__ = [
    "identify_counterfactual",
    "cf",
    "CounterfactualEvent",
    "CounterfactualVariable",
    "CounterfactualEstimand",
]

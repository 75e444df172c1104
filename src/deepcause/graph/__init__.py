"""Causal graphs (ADMGs): the text parser, m-separation, districts and graphical criteria.

>>> from deepcause.graph import CausalGraph, find_adjustment_set
>>> g = CausalGraph("Z -> X -> Y; Z -> Y")
>>> sorted(find_adjustment_set(g, "X", "Y"))
['Z']
"""

from __future__ import annotations

from .causal_graph import CausalGraph
from .criteria import (
    Instrument,
    backdoor_sets,
    explain_instrument,
    find_adjustment_set,
    frontdoor_sets,
    instruments,
    is_valid_adjustment_set,
)

__all__ = [
    "CausalGraph",
    "Instrument",
    "backdoor_sets",
    "explain_instrument",
    "find_adjustment_set",
    "frontdoor_sets",
    "instruments",
    "is_valid_adjustment_set",
]

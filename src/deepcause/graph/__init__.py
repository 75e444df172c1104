"""Causal graphs (ADMGs): the text parser, m-separation, districts and graphical criteria.

>>> from deepcause.graph import CausalGraph, find_adjustment_set
>>> g = CausalGraph("Z -> X -> Y; Z -> Y")
>>> sorted(find_adjustment_set(g, "X", "Y"))
['Z']
"""

from __future__ import annotations

from . import criteria
from .causal_graph import CausalGraph
from .criteria import *  # noqa: F403 (re-exports criteria.__all__)

__all__ = ["CausalGraph", *criteria.__all__]

"""Testing helpers: random causal graphs (``random_admg``) and, in
:mod:`deepcause.testing.strategies`, hypothesis strategies (needs ``hypothesis``)."""

from __future__ import annotations

from .random_graphs import node_names, random_admg

__all__ = ["node_names", "random_admg"]

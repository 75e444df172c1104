"""Testing helpers: random causal graphs (``random_admg``) and, in
:mod:`deepcause.testing.strategies`, hypothesis strategies (needs ``hypothesis``)."""

from __future__ import annotations

from .random_graphs import node_names, random_admg

__all__ = ["node_names", "random_admg", "check_mechanism", "check_estimator"]


def __getattr__(name: str):  # noqa: ANN202 - check_mechanism needs torch: import on first use
    if name == "check_mechanism":
        from .mechanisms import check_mechanism

        return check_mechanism
    if name == "check_estimator":
        from .estimators import check_estimator

        return check_estimator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Testing helpers: random causal graphs (``random_admg``), the estimator conformance checks
(``estimator_checks``, ``check_estimator``) on small simulated cases with known truth
(:mod:`deepcause.testing.cases`), and, in :mod:`deepcause.testing.strategies`, hypothesis
strategies (needs ``hypothesis``).

>>> from deepcause.testing import estimator_checks
>>> from deepcause.estimate import IPW
>>> len(estimator_checks(IPW())) > 5
True
"""

from __future__ import annotations

from .cases import CheckCase, registered_cases
from .estimators import check_estimator, estimator_checks
from .random_graphs import node_names, random_admg

__all__ = [
    "node_names",
    "random_admg",
    "check_mechanism",
    "check_estimator",
    "estimator_checks",
    "CheckCase",
    "registered_cases",
]


def __getattr__(name: str):  # noqa: ANN202 - check_mechanism needs torch: import on first use
    if name == "check_mechanism":
        from .mechanisms import check_mechanism

        return check_mechanism
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Testing helpers: random causal graphs (``random_admg``), the estimator conformance checks
(``estimator_checks``, ``check_estimator``) on small simulated cases with known truth
(:mod:`deepcause.testing.cases`), in :mod:`deepcause.testing.mechanisms` the generative
mechanism checks (``check_mechanism``, needs torch), and, in :mod:`deepcause.testing.strategies`,
hypothesis strategies (needs ``hypothesis``).

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
    "check_estimator",
    "estimator_checks",
    "CheckCase",
    "registered_cases",
]

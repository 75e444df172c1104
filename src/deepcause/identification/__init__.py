"""Identification: the ID/IDC algorithms, the expression DSL and the :class:`Estimand`.

>>> from deepcause.identification import identify
>>> print(identify("Z -> X -> Y; Z -> Y", "X", "Y"))
P(Y | do(X)) = Σ_{Z} P(Y | X, Z) P(Z)
"""

from __future__ import annotations

from . import estimand
from .algorithm import identify
from .bounds import Bounds, bounds
from .counterfactual import CounterfactualEstimand, cf, identify_counterfactual
from .estimand import *  # noqa: F403 (re-exports estimand.__all__)
from .mediation import MediationEstimand, identify_mediation

__all__ = [
    "identify",
    "identify_mediation",
    "MediationEstimand",
    "bounds",
    "Bounds",
    "identify_counterfactual",
    "cf",
    "CounterfactualEstimand",
    *estimand.__all__,
]

"""Estimators for outcomes observed only for a selected subset of units.

Three regimes, side by side:

* :class:`SelectionIPW` — selection ignorable given covariates (missing at random): weight
  the selected units by the inverse probability of being selected.
* :class:`HeckmanSelection` — selection on unobservables correlated with the outcome (a
  bivariate-normal selection model with an exclusion restriction).
* :class:`ShadowVariableEstimator` — selection depending on the outcome itself (missing not at
  random), identified by a shadow variable (Miao & Tchetgen Tchetgen 2016).

Data convention (all three): one row per unit; ``selection`` is 0/1 (1 = outcome observed);
outcome values of unselected rows are ignored; a selected row without outcome is an error.
"""

from ._common import ExclusionRestrictionWarning
from .heckman import HeckmanEffect, HeckmanSelection, selection_graph
from .ipsw import SelectionIPW
from .shadow import ShadowVariableEstimator

__all__ = [
    "ExclusionRestrictionWarning",
    "HeckmanEffect",
    "HeckmanSelection",
    "SelectionIPW",
    "ShadowVariableEstimator",
    "selection_graph",
]

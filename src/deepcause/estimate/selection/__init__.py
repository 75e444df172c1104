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
Roles by keyword: ``outcome=``, ``selection=``, ``covariates=``, ``treatment=`` and
``instruments=`` (Heckman's excluded selection variables; the shadow variable).

>>> from deepcause.simulate import make_selection
>>> df = make_selection(3000, "mar", random_state=0).data
>>> m = SelectionIPW().fit(df, outcome="y", selection="s", covariates=["x", "z", "t"]).mean()
>>> m.query, bool(abs(m.value - 2.0) < 4 * m.std_error)
('E[y]', True)
"""

from ._common import ExclusionRestrictionWarning, SelectionEstimator
from .heckman import HeckmanSelection, selection_graph
from .ipsw import SelectionIPW
from .shadow import ShadowVariableEstimator

__all__ = [
    "ExclusionRestrictionWarning",
    "HeckmanSelection",
    "SelectionEstimator",
    "SelectionIPW",
    "ShadowVariableEstimator",
    "selection_graph",
]

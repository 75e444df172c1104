"""Effect estimators on tables (see :mod:`deepcause.estimate._base` for the contract)."""

from ._base import BackdoorData, BaseEffectEstimator
from .api import estimate_effect
from .balancing import ApproximateResidualBalancing, EntropyBalancing
from .d2vd import D2VD, DataDrivenVariableDecomposition
from .dcb import DCB, DifferentiatedConfounderBalancing
from .diagnostics import plot_balance, plot_overlap
from .doubly_robust import AIPW
from .frontdoor import FrontDoor
from .matching import Matching
from .metalearners import DRLearner, OutcomeRegression, SLearner, TLearner, XLearner
from .plugin import PlugIn
from .weighting import IPW

__all__ = [
    "BackdoorData",
    "BaseEffectEstimator",
    "AIPW",
    "IPW",
    "Matching",
    "estimate_effect",
    "plot_balance",
    "plot_overlap",
    "ApproximateResidualBalancing",
    "EntropyBalancing",
    "D2VD",
    "DataDrivenVariableDecomposition",
    "DCB",
    "DifferentiatedConfounderBalancing",
    "FrontDoor",
    "DRLearner",
    "OutcomeRegression",
    "SLearner",
    "TLearner",
    "XLearner",
    "PlugIn",
]

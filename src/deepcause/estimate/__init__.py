"""Effect estimators on tables (see :mod:`deepcause.estimate._base` for the contract)."""

from ._base import BackdoorData, BaseEffectEstimator
from .balancing import ApproximateResidualBalancing, EntropyBalancing
from .d2vd import D2VD, DataDrivenVariableDecomposition
from .dcb import DCB, DifferentiatedConfounderBalancing
from .frontdoor import FrontDoor
from .metalearners import DRLearner, SLearner, TLearner, XLearner
from .plugin import PlugIn

__all__ = [
    "BackdoorData",
    "BaseEffectEstimator",
    "ApproximateResidualBalancing",
    "EntropyBalancing",
    "D2VD",
    "DataDrivenVariableDecomposition",
    "DCB",
    "DifferentiatedConfounderBalancing",
    "FrontDoor",
    "DRLearner",
    "SLearner",
    "TLearner",
    "XLearner",
    "PlugIn",
]

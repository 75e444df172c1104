"""Effect estimators on tables, all on one contract (:mod:`deepcause.estimate._contract`).

>>> from deepcause.estimate import AIPW
>>> from deepcause.simulate import make_confounded_binary
>>> ds = make_confounded_binary(1000, random_state=0, population_truth=False)
>>> est = AIPW(random_state=0).fit(ds.data, treatment="t", outcome="y")
>>> print(est.effect(treatment=1, control=0).summary().as_text().splitlines()[0])
AIPW
"""

from ._base import BackdoorData, BaseEffectEstimator
from ._contract import EffectEstimator
from .api import estimate_effect
from .balancing import ApproximateResidualBalancing, EntropyBalancing
from .d2vd import D2VD
from .dcb import DCB
from .diagnostics import plot_balance, plot_overlap
from .doubly_robust import AIPW
from .frontdoor import FrontDoor
from .matching import Matching
from .mediation import MediationAnalysis
from .metalearners import DRLearner, SLearner, TLearner, XLearner
from .plugin import PlugIn
from .weighting import IPW

__all__ = [
    "EffectEstimator",
    "BackdoorData",
    "BaseEffectEstimator",
    "AIPW",
    "IPW",
    "Matching",
    "MediationAnalysis",
    "estimate_effect",
    "plot_balance",
    "plot_overlap",
    "ApproximateResidualBalancing",
    "EntropyBalancing",
    "D2VD",
    "DCB",
    "FrontDoor",
    "DRLearner",
    "SLearner",
    "TLearner",
    "XLearner",
    "PlugIn",
]

"""Method name -> ``"module:Class"`` table used by ``estimate_effect`` and the CLI.

Classes are imported only when asked for, so a missing optional dependency (e.g. torch for
the neural estimators) only matters for the methods that need it.

>>> get_estimator_class("aipw").__name__
'AIPW'
>>> "ipw" in available_methods()
True
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from ..exceptions import DataValidationError

__all__ = ["ESTIMATORS", "available_methods", "get_estimator_class", "make_estimator"]

# lower-case method name -> "module:Class"; other parts of the library add their own lines
ESTIMATORS: dict[str, str] = {
    "aipw": "deepcause.estimate.doubly_robust:AIPW",
    "ipw": "deepcause.estimate.weighting:IPW",
    "matching": "deepcause.estimate.matching:Matching",
    "slearner": "deepcause.estimate.metalearners:SLearner",
    "tlearner": "deepcause.estimate.metalearners:TLearner",
    "xlearner": "deepcause.estimate.metalearners:XLearner",
    "drlearner": "deepcause.estimate.metalearners:DRLearner",
    "entropy_balancing": "deepcause.estimate.balancing:EntropyBalancing",
    "residual_balancing": "deepcause.estimate.balancing:ApproximateResidualBalancing",
    "dcb": "deepcause.estimate.dcb:DCB",
    "d2vd": "deepcause.estimate.d2vd:D2VD",
    "plugin": "deepcause.estimate.plugin:PlugIn",
    "frontdoor": "deepcause.estimate.frontdoor:FrontDoor",
    "tarnet": "deepcause.estimate.neural:TARNet",
    "cfr": "deepcause.estimate.neural:CFR",
    "dragonnet": "deepcause.estimate.neural:DragonNet",
    "cevae": "deepcause.estimate.neural:CEVAE",
    "2sls": "deepcause.estimate.iv:TwoStageLeastSquares",
    "wald": "deepcause.estimate.iv:WaldEstimator",
    "poly2sls": "deepcause.estimate.iv:PolynomialTwoStageLeastSquares",
    "kerneliv": "deepcause.estimate.iv:KernelIV",
    "dfiv": "deepcause.estimate.iv.dfiv:DFIV",
    "deepiv": "deepcause.estimate.iv.deepiv:DeepIV",
    "cbiv": "deepcause.estimate.iv.cbiv:CBIV",
    "heckman": "deepcause.estimate.selection:HeckmanSelection",
    "selection_ipw": "deepcause.estimate.selection:SelectionIPW",
    "shadow": "deepcause.estimate.selection:ShadowVariableEstimator",
    "mediation": "deepcause.estimate.mediation:MediationAnalysis",
}


def available_methods() -> list[str]:
    """Registered method names, sorted.

    >>> available_methods()[:3]
    ['2sls', 'aipw', 'cbiv']
    """
    return sorted(ESTIMATORS)


def get_estimator_class(method: str) -> type:
    """The estimator class registered under ``method`` (case-insensitive, '-' = '_').

    >>> get_estimator_class("Entropy-Balancing").__name__
    'EntropyBalancing'
    """
    key = str(method).lower().replace("-", "_")
    if key not in ESTIMATORS:
        close = difflib.get_close_matches(key, ESTIMATORS, n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise DataValidationError(
            f"unknown estimation method {method!r}{hint}; available: {available_methods()}"
        )
    module_name, _, cls_name = ESTIMATORS[key].partition(":")
    return getattr(importlib.import_module(module_name), cls_name)


def make_estimator(method: str, **params: Any) -> Any:
    """An instance of the estimator registered under ``method`` with ``params``.

    >>> make_estimator("ipw", n_folds=2).n_folds
    2
    """
    return get_estimator_class(method)(**params)

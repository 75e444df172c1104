"""Instrumental-variable estimators of a structural function (see :mod:`._base`)."""

from ._base import BaseIVEstimator, InvalidInstrumentError, IVData, resolve_iv_data
from .api import estimate_iv_effect, is_iv_method
from .kerneliv import KernelIV
from .tsls import PolynomialTwoStageLeastSquares, TwoStageLeastSquares, WaldEstimator

__all__ = [
    "BaseIVEstimator",
    "InvalidInstrumentError",
    "IVData",
    "resolve_iv_data",
    "TwoStageLeastSquares",
    "WaldEstimator",
    "PolynomialTwoStageLeastSquares",
    "KernelIV",
    "estimate_iv_effect",
    "is_iv_method",
]

"""Instrumental-variable estimators of a structural function (see :mod:`._base`)."""

from ._base import BaseIVEstimator, InvalidInstrumentError, IVData, resolve_iv_data
from .tsls import PolynomialTwoStageLeastSquares, TwoStageLeastSquares, WaldEstimator

__all__ = [
    "BaseIVEstimator",
    "InvalidInstrumentError",
    "IVData",
    "resolve_iv_data",
    "TwoStageLeastSquares",
    "WaldEstimator",
    "PolynomialTwoStageLeastSquares",
]

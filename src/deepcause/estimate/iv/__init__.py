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
    "DFIV",
    "DeepIV",
    "CBIV",
]

# neural IV estimators need torch (the ``deep`` extra): import them only when asked for
_LAZY = {"DFIV": ".dfiv", "DeepIV": ".deepiv", "CBIV": ".cbiv"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

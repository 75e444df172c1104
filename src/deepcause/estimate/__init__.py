"""Effect estimators on tables (see :mod:`deepcause.estimate._base` for the contract)."""

from ._base import BackdoorData, BaseEffectEstimator

__all__ = ["BackdoorData", "BaseEffectEstimator"]

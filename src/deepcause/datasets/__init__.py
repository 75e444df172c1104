"""Bundled benchmark data (offline, no downloads), each a :class:`CausalDataset` with roles and truth.

>>> from deepcause.datasets import load_kidney_stones
>>> ds = load_kidney_stones()
>>> ds.data.shape, ds.treatment, ds.outcome, ds.covariates
((700, 3), 'treatment', 'success', ('stone_size',))
"""

from __future__ import annotations

from . import loaders
from .dataset import ROLES, CausalDataset
from .loaders import *  # noqa: F403 (re-exports loaders.__all__)

__all__ = ["CausalDataset", "ROLES", *loaders.__all__]

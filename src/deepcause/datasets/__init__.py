"""Bundled benchmark data (offline, no downloads), each a :class:`CausalDataset` with roles and truth.

>>> from deepcause.datasets import load_kidney_stones
>>> ds = load_kidney_stones()
>>> ds.data.shape, ds.treatment, ds.outcome, ds.covariates
((700, 3), 'treatment', 'success', ('stone_size',))
"""

from __future__ import annotations

from .dataset import ROLES, CausalDataset
from .loaders import (
    load_acic2016,
    load_card,
    load_ihdp,
    load_jobs,
    load_kidney_stones,
    load_lalonde,
    load_mroz,
    load_nhefs,
    load_sachs,
)

__all__ = [
    "CausalDataset",
    "ROLES",
    "load_ihdp",
    "load_lalonde",
    "load_jobs",
    "load_acic2016",
    "load_nhefs",
    "load_kidney_stones",
    "load_sachs",
    "load_card",
    "load_mroz",
]

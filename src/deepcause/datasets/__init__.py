"""Bundled benchmark data (offline, no downloads), each as a dataset with roles and truth.

>>> from deepcause.datasets import load_kidney_stones
>>> load_kidney_stones().data.shape
(700, 3)
"""

from __future__ import annotations

from .loaders import (
    CausalDataset,
    EconDataset,
    SachsDataset,
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
    "EconDataset",
    "SachsDataset",
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

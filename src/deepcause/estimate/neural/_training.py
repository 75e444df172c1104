"""Resampling for the neural ensembles: stratified validation splits and bootstrap draws.

Devices, seeding, scaling, the MLP builder and the Adam loop live in :mod:`deepcause._torch`.

>>> t = np.array([0, 0, 0, 0, 1, 1, 1, 1])
>>> train, val = stratified_split(t, 0.25, np.random.default_rng(0))
>>> len(train), len(val), sorted(t[val].tolist())
(6, 2, [0, 1])
"""

from __future__ import annotations

import numpy as np

from ..._torch import torch

__all__ = ["Batch", "stratified_bootstrap", "stratified_split"]

Batch = tuple[torch.Tensor, ...]


def stratified_split(
    t: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Random (train, validation) indices with ``fraction`` of each arm held out (>= 1 each)."""
    train, val = [], []
    for arm in (0, 1):
        idx = rng.permutation(np.flatnonzero(t == arm))
        k = min(max(1, int(round(fraction * idx.size))), idx.size - 1)
        val.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def stratified_bootstrap(t: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(resample, out-of-bag) indices of a bootstrap resample drawn within each arm."""
    boot, oob = [], []
    for arm in (0, 1):
        idx = np.flatnonzero(t == arm)
        draw = rng.choice(idx, idx.size, replace=True)
        boot.append(draw)
        oob.append(np.setdiff1d(idx, draw))
    return np.sort(np.concatenate(boot)), np.sort(np.concatenate(oob))

"""The one cross-fitting fold rule, shared by the in-memory and the Dask (out-of-core) paths.

A unit's fold is a deterministic function of its treatment arm, its rank among the units of
that arm in row order, and an integer seed: the rows of each arm are cut, in row order, into
consecutive blocks of ``n_folds`` units, and each block is dealt to the folds by its own
pseudo-random permutation (a SplitMix64 hash of seed, arm, block and position). The folds are
therefore stratified by arm (fold sizes within an arm differ by at most one) and randomized by
the seed, and a partition of a large table computes its rows' folds from nothing but the number
of units of each arm in the partitions before it.

>>> import numpy as np
>>> t = np.array([0, 1] * 10)
>>> folds = assign_folds(t, 5, seed=0)
>>> np.bincount(folds[t == 1]).tolist(), np.bincount(folds[t == 0]).tolist()
([2, 2, 2, 2, 2], [2, 2, 2, 2, 2])
>>> head = assign_folds(t[:7], 5, 0, totals=(10, 10))
>>> tail = assign_folds(t[7:], 5, 0, start=(4, 3), totals=(10, 10))
>>> bool((np.concatenate([head, tail]) == folds).all())
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["assign_folds", "fold_seed"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finalizer of a uint64 array (wrapping arithmetic)."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def fold_seed(random_state: Any) -> int:
    """An integer seed for :func:`assign_folds` from ``random_state`` (int, Generator or None).

    ``None`` draws a fresh seed (folds then differ between runs, as any unseeded randomness).

    >>> fold_seed(7), fold_seed(np.random.default_rng(0)) == fold_seed(np.random.default_rng(0))
    (7, True)
    """
    if isinstance(random_state, int | np.integer) and not isinstance(random_state, bool):
        return int(random_state) % 2**63
    return int(np.random.default_rng(random_state).integers(2**63))


def _block_folds(seed: int, arm: int, block: np.ndarray, pos: np.ndarray, n_folds: int):
    """Fold of position ``pos`` of ``block`` of ``arm``: its rank among the block's hashes."""
    k = np.arange(n_folds, dtype=np.uint64)
    block = np.asarray(block, dtype=np.uint64)
    key = _splitmix64(np.uint64(seed) ^ _splitmix64(block * np.uint64(2) + np.uint64(arm)))
    hashes = _splitmix64(key[:, None] + k[None, :])  # one row of n_folds keys per unit
    own = np.take_along_axis(hashes, np.asarray(pos, dtype=np.int64)[:, None], axis=1)
    return (hashes < own).sum(axis=1)


def _last_treated_block(seed: int, totals: tuple[int, int], n_folds: int) -> np.ndarray:
    """Folds of the treated units of the last, incomplete block: first those the incomplete
    control block left empty (so that the fold sizes differ by at most one overall)."""
    n0, n1 = int(totals[0]), int(totals[1])
    r0 = n0 % n_folds
    taken = np.zeros(n_folds, dtype=bool)
    taken[_block_folds(seed, 0, np.full(r0, n0 // n_folds), np.arange(r0), n_folds)] = True
    shuffle = _block_folds(seed, 1, np.full(n_folds, n1 // n_folds), np.arange(n_folds), n_folds)
    return np.lexsort((shuffle, taken))  # untaken folds first, each group in hash order


def assign_folds(
    t: np.ndarray,
    n_folds: int,
    seed: int,
    start: tuple[int, int] = (0, 0),
    totals: tuple[int, int] | None = None,
) -> np.ndarray:
    """Fold id (0..n_folds-1) of each unit of ``t`` (0/1), stratified by arm.

    ``start`` holds the numbers of control and treated units that come before ``t`` in the
    whole table and ``totals`` those of the whole table (both taken from ``t`` itself for a
    table held in memory; counted in a first pass over the partitions otherwise).
    """
    t = np.asarray(t)
    folds = np.zeros(len(t), dtype=np.int32)
    if n_folds == 1:
        return folds
    if totals is None:
        totals = (int(np.sum(t == 0)), int(np.sum(t == 1)))
    for arm in (0, 1):
        idx = np.flatnonzero(t == arm)
        rank = np.arange(idx.size) + int(start[arm])
        block, pos = rank // n_folds, rank % n_folds
        folds[idx] = _block_folds(seed, arm, block, pos, n_folds)
        if arm == 1 and totals[1] % n_folds:
            last = block == totals[1] // n_folds
            folds[idx[last]] = _last_treated_block(seed, totals, n_folds)[pos[last]]
    return folds

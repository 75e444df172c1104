"""Variable-name ordering shared by the expression tree and its evaluator (``X2`` before ``X10``).

>>> _sorted(["X10", "Y", "X2"])
['X2', 'X10', 'Y']
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

__all__ = ["_natkey", "_sorted"]


@lru_cache(maxsize=4096)
def _natkey(name: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key putting X2 before X10."""
    return tuple(
        (0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", name) if t
    )


def _sorted(names: Iterable[str]) -> list[str]:
    return sorted(names, key=_natkey)

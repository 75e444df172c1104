"""Variable-name ordering shared by the expression tree and its evaluator (``X2`` before ``X10``).

>>> _sorted(["X10", "Y", "X2"])
['X2', 'X10', 'Y']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

__all__ = ["_natkey", "_sorted", "_latex_name", "_names_text", "_SYMBOLS"]


@lru_cache(maxsize=4096)
def _natkey(name: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key putting X2 before X10."""
    return tuple(
        (0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", name) if t
    )


def _sorted(names: Iterable[str]) -> list[str]:
    return sorted(names, key=_natkey)


# ----------------------------------------------------------------------------- printing

_SYMBOLS = {
    "unicode": {"sum": "Σ", "mid": " | ", "one": "1"},
    "ascii": {"sum": "sum", "mid": " | ", "one": "1"},
    "latex": {"sum": "\\sum", "mid": " \\mid ", "one": "1"},
}


def _latex_name(name: str) -> str:
    base, primes = name.rstrip("'"), "'" * (len(name) - len(name.rstrip("'")))
    if re.fullmatch(r"[A-Za-z]", base):
        out = base
    elif m := re.fullmatch(r"([A-Za-z])_?(\d+)", base):
        out = f"{m.group(1)}_{{{m.group(2)}}}"
    else:
        out = "\\mathrm{" + base.replace("\\", "").replace("_", "\\_") + "}"
    return out + primes


def _names_text(names: Iterable[str], style: str, rename: Mapping[str, str]) -> str:
    shown = [rename.get(n, n) for n in _sorted(names)]
    if style == "latex":
        shown = [_latex_name(s) for s in shown]
    return ", ".join(shown)

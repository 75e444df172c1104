"""Progress bars that stay quiet unless someone is watching.

``progress(iterable, verbose="auto")`` shows a tqdm bar only when ``verbose`` is true, or when it
is ``"auto"`` and stderr is an interactive terminal (so test runs and CI stay quiet). If tqdm is
not installed the iterable is returned unchanged.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import Literal, TypeVar

T = TypeVar("T")
Verbose = bool | Literal["auto"]


def show_progress(verbose: Verbose = "auto") -> bool:
    """Decide whether to draw a progress bar.

    >>> show_progress(False)
    False
    """
    if verbose == "auto":
        if os.environ.get("DEEPCAUSE_PROGRESS", "") == "0":
            return False
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(verbose)


def progress(
    iterable: Iterable[T], *, verbose: Verbose = "auto", desc: str = "", total: int | None = None
) -> Iterator[T] | Iterable[T]:
    """Wrap ``iterable`` in a tqdm bar when :func:`show_progress` says so.

    >>> list(progress(range(3), verbose=False))
    [0, 1, 2]
    """
    if not show_progress(verbose):
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is optional
        return iterable
    return tqdm(iterable, desc=desc, total=total, leave=False)

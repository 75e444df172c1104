"""Connected groups of items that share keys (union-find), used to split a sum into independent sums.

>>> connected_groups(["f", "g", "h", "k"], [{"a", "b"}, {"c"}, {"b", "d"}, {"e"}])
[['f', 'h'], ['g'], ['k']]
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

__all__ = ["connected_groups"]

T = TypeVar("T")


def connected_groups(items: Sequence[T], keys: Sequence[Iterable[Hashable]]) -> list[list[T]]:
    """Partition ``items`` into groups linked, directly or through others, by a shared key.

    ``keys[i]`` (non-empty) are the keys of ``items[i]``. Groups come in the order of their
    first item and keep the items' order: ``Σ_{a,b} f(a) g(b) = Σ_a f(a) Σ_b g(b)`` is the use.

    >>> connected_groups([1, 2, 3], [{"x"}, {"y"}, {"x", "y"}])
    [[1, 2, 3]]
    """
    root: dict[Hashable, Hashable] = {}

    def find(v: Hashable) -> Hashable:
        while root.get(v, v) != v:
            v = root[v]
        return v

    firsts = []
    for ks in keys:
        ks = list(ks)
        r0 = find(ks[0])
        for v in ks[1:]:
            r = find(v)
            if r != r0:
                root[r] = r0
        firsts.append(ks[0])
    grouped: dict[Hashable, list[T]] = {}
    for item, k in zip(items, firsts, strict=True):
        grouped.setdefault(find(k), []).append(item)
    return list(grouped.values())

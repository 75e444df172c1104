"""Training rows for an ID-GEN fraction's generator by reweighting the data, not generating it.

A fraction ``N / D`` of the estimand is sampled by a conditional generator trained on draws of
its numerator ``N`` (the napkin's ``Σ_{W1} P(X, Y | W1, W2) P(W1)``). Drawing ``N`` pushes the
data through the chained generators of its factors, and with image nodes every chained image
generator loses part of the images' weak associations (measured on the coloured-digits napkin:
``Y`` copies ``X``'s colour in 42% of the data, 31% of the numerator's generated pairs, 18%
after the fraction's generator, chance 17%).

When the numerator's joint differs from the data's only in the distribution of tabular
variables, whole data rows can stand in for the generated ones. Precisely: the numerator
(sums dropped: a sum only marginalises) is a product of factors ``P(A_i | B_i)`` of which
exactly one, ``P(A* | B*)``, holds the image nodes, and ``B*`` is every other variable of the
product and its inputs (``T``, all tabular). Then the numerator's joint is ``q(T) P(A* | T)``
with ``q(T) = p(inputs) Π_{i != *} P(A_i | B_i)``, the data's is ``p(T) P(A* | T)``, and data
rows resampled with weights ``q(T) / p(T)`` are draws of the numerator. The fraction's generator
(:class:`TwoStageFraction`) draws the tabular variables it needs from the numerator's law (the
data's law given the fraction's inputs, reweighted by ``q / p`` by resampling) and then the
images from the data's own factor ``P(A* | T)`` (fitted on the data rows): no image is
generated to train another generator, so the images keep their associations. (Training the image generator on the resampled rows directly was
tried: their repeats, 584 distinct rows of 2,000 on the napkin, let it drift to other digits.)
The tabular variables must be discrete (the probabilities are read off counts); otherwise
:func:`reweighted_rows` returns ``None`` and the caller falls back to generated draws. Cells of
``T`` the data never shows cannot be resampled: when the numerator's law puts more than
:data:`MAX_MISSING_MASS` of its mass on such cells (a positivity gap: e.g. ``W2`` a copy of
``W1`` in the data while the numerator needs them independent), :func:`reweighted_rows` also
returns ``None`` (the generated draws then fill the gap by extrapolation, as before).

>>> rng = np.random.default_rng(0)
>>> w1 = rng.integers(0, 3, 3000)
>>> w2 = np.where(rng.uniform(size=3000) < 0.8, w1, rng.integers(0, 3, 3000))
>>> data = {"W1": w1, "W2": w2, "X": np.zeros((3000, 1, 2, 2))}
>>> num = Sum(frozenset({"W1"}), Product((P(frozenset({"X"}), frozenset({"W1", "W2"})),
...                                       P(frozenset({"W1"}), frozenset()))))
>>> rows = reweighted_rows(num, data, rng).rows
>>> bool(abs(np.corrcoef(w1[rows], w2[rows])[0, 1]) < 0.05)   # W1 independent of W2 now
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from ..identification.expressions import Expression, P, Product, Sum

__all__ = ["CellWeights", "Reweighting", "TwoStageFraction", "reweighted_rows"]

MAX_LEVELS = 30
"""A tabular variable with more distinct values than this is not treated as discrete."""
CANDIDATES = 8
"""Draws of the data's law of the tabular variables per unit, of which one is kept."""
MAX_MISSING_MASS = 0.05
"""The largest share of the numerator's law allowed on cells of ``T`` absent from the data."""


def _product_factors(e: Expression) -> list[P] | None:
    """The factors of a numerator that is a (summed) product of ``P`` terms, else ``None``."""
    while isinstance(e, Sum):
        e = e.expression
    if isinstance(e, P):
        return [e]
    if isinstance(e, Product) and all(isinstance(f, P) for f in e.factors):
        return list(e.factors)  # type: ignore[arg-type]
    return None


def _cells(data: Mapping[str, np.ndarray], names: list[str]) -> np.ndarray:
    """Per row, the index of its cell of the joint values of ``names`` (0 for no names)."""
    n = len(next(iter(data.values())))
    if not names:
        return np.zeros(n, dtype=int)
    return np.unique(np.column_stack([data[k] for k in names]), axis=0, return_inverse=True)[
        1
    ].ravel()


def _share(data: Mapping[str, np.ndarray], names: list[str]) -> np.ndarray:
    """Per row, the empirical probability of its cell of ``names``."""
    cells = _cells(data, names)
    return np.bincount(cells)[cells] / len(cells)


def _target_factors(
    factors: list[P], inputs: frozenset[str], data: Mapping[str, np.ndarray]
) -> tuple[list[str], list[P]] | None:
    """``(T, the other factors)`` when the numerator qualifies (see the module doc)."""
    image = [f for f in factors if any(data[v].ndim > 1 for v in f.variables)]
    if len(image) != 1:
        return None
    (star,) = image
    everything = inputs.union(*[f.variables for f in factors])
    tabular = sorted(everything - star.variables)
    if set(star.given) != set(tabular):
        return None
    for k in tabular:
        col = data[k]
        if col.ndim != 1 or len(np.unique(col)) > MAX_LEVELS or not np.all(col == np.round(col)):
            return None
    return tabular, [f for f in factors if f is not star]


class CellWeights:
    """The ratio ``w(T) = q(T) / p(T)`` of the numerator's law to the data's on the cells of the
    tabular variables ``names`` the data shows (0 on the others).

    Examples
    --------
    >>> w = CellWeights(["A"], np.array([[0.0], [1.0]]), np.array([0.5, 2.0]))
    >>> w({"A": np.array([1, 0, 1, 7])}).tolist()
    [2.0, 0.5, 2.0, 0.0]
    """

    def __init__(self, names: list[str], cells: np.ndarray, weights: np.ndarray) -> None:
        self.names, self.cells, self.weights = names, cells, weights

    def __call__(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """``w`` at each unit's values of ``names``."""
        query = np.column_stack([np.asarray(values[k], dtype=float) for k in self.names])
        both = np.concatenate([self.cells, query])
        code = np.unique(both, axis=0, return_inverse=True)[1].ravel()
        lookup = np.zeros(code.max() + 1)
        lookup[code[: len(self.cells)]] = self.weights
        return lookup[code[len(self.cells) :]]


class Reweighting(NamedTuple):
    """What :func:`reweighted_rows` found: the resampled ``rows``, the ``tabular`` variables
    ``T``, the image factor ``P(A* | T)`` (``image``) and the weights ``w(T)`` (``weights``)."""

    rows: np.ndarray
    tabular: list[str]
    image: P
    weights: CellWeights


def reweighted_rows(
    numerator: Expression, data: Mapping[str, np.ndarray], rng: np.random.Generator
) -> Reweighting | None:
    """Data rows (as many as the data has) distributed like draws of ``numerator`` with its
    inputs drawn as whole data rows, or ``None`` when the numerator does not qualify (see the
    module doc)."""
    factors = _product_factors(numerator)
    if factors is None:
        return None
    outs = frozenset().union(*[f.variables for f in factors])
    inputs = frozenset().union(*[f.given for f in factors]) - outs
    found = _target_factors(factors, inputs, data)
    if found is None:
        return None
    tabular, others = found
    q = _share(data, sorted(inputs))
    for f in others:
        q = q * _share(data, sorted(f.variables | f.given)) / _share(data, sorted(f.given))
    cells = _cells(data, tabular)
    _, first = np.unique(cells, return_index=True)
    if q[first].sum() < 1.0 - MAX_MISSING_MASS:  # q's mass on the cells the data holds
        return None
    w = q / _share(data, tabular)
    n = len(w)
    (image,) = (f for f in factors if f not in others)
    table = np.column_stack([data[k] for k in tabular]).astype(float)[first]
    weights = CellWeights(tabular, table, w[first])
    return Reweighting(rng.choice(n, size=n, p=w / w.sum()), tabular, image, weights)


def _resample(
    w: np.ndarray, do: Mapping[str, Any], n: int, k: int, rng: np.random.Generator
) -> np.ndarray:
    """Per unit, the index of one of the ``n * k`` candidates (unit ``i``'s are ``i * k`` to
    ``i * k + k - 1``), drawn with probability proportional to ``w`` among the candidates of
    every unit with the same inputs ``do`` as ``i`` (uniformly when they all weigh 0)."""
    flat = [np.asarray(v, dtype=float).reshape(n, -1) for v in do.values()]
    group = np.unique(np.column_stack(flat), axis=0, return_inverse=True)[1].ravel()
    order = np.argsort(np.repeat(group, k), kind="stable")  # candidates, group by group
    ws = w[order]
    size = np.bincount(group, minlength=group.max() + 1) * k
    total = np.add.reduceat(ws, np.cumsum(size) - size)
    empty = np.repeat(total == 0, size)
    ws[empty] = 1.0  # no candidate on the data's cells: any of them
    total = np.add.reduceat(ws, np.cumsum(size) - size)
    cum, end = np.cumsum(ws), np.cumsum(size) - 1
    start = cum[end] - total
    u = start[group] + rng.uniform(size=n) * total[group]
    return order[np.minimum(np.searchsorted(cum, u, side="right"), end[group])]


class TwoStageFraction:
    """A fraction's generator from reweighted rows without generating images from them.

    ``tabular``: the generator of the tabular variables ``T`` not given (``drawn``) given the
    fraction's inputs and conditioning variables, fitted on the data rows, and ``weights`` the
    ratio ``w(T) = q(T) / p(T)`` of the numerator's law to the data's; ``image``: the
    generator of the image factor's outputs not given (``images``) given the conditioning
    images and ``T`` (``given``), fitted on the data rows too (the factor ``P(A* | T)`` is the
    data's). Sampling chains them: ``T`` from the numerator's law given the inputs, then the
    images as in the data given ``T``. The numerator's law of ``T`` given the inputs ``B`` is
    ``q(T | B) ∝ w(T) p(T | B)`` (the rest of the joint is the data's), so ``T`` is drawn by
    sampling-importance-resampling: ``candidates`` draws of the data's ``p(T | B)`` per unit,
    one kept with probability proportional to ``w`` among the candidates of every unit with the
    same inputs (under ``do(X = x)`` with one image, a pool of ``candidates * n``; a unit with
    inputs of its own resamples its 8 candidates, biased towards ``p`` by O(1 / candidates):
    0.07 at most on a 3-cell law with weights 0.5-3, tested). (Fitting the tabular generator on the
    resampled rows instead, 584 distinct of 2,000 on the napkin with an image input, drew
    ``W1`` given ``X`` 0.33-0.80 in TV from an estimate of its law: the head memorised the
    repeats.)

    Examples
    --------
    Built by :class:`~deepcause.generative.idgen.IDGenSampler` (the napkin's fraction:
    ``W1, W2`` from the numerator's law given ``X``, then ``Y`` given them as in the data):

    >>> from deepcause.generative.idgen import IDGenSampler
    >>> from deepcause.simulate.images import make_colored_digits_napkin
    >>> ds = make_colored_digits_napkin(1500, truth_n=10, random_state=0)
    >>> s = IDGenSampler(ds.graph, "X", "Y", max_epochs=1, random_state=0, verbose=False)
    >>> (f,) = s.fit(ds.data).fractions_.values()
    >>> type(f).__name__, f.drawn, f.given, f.images
    ('TwoStageFraction', ['W1', 'W2'], ['W1', 'W2', 'X'], ['Y'])
    >>> f.sample(3, {"X": ds.data["X"][:3]}, random_state=0)["Y"].shape
    (3, 3, 16, 16)
    """

    def __init__(
        self,
        tabular: Any,
        drawn: list[str],
        image: Any,
        images: list[str],
        given: list[str],
        weights: CellWeights | None = None,
        candidates: int = CANDIDATES,
    ) -> None:
        self.tabular, self.drawn, self.weights = tabular, drawn, weights
        self.image, self.images, self.given = image, images, given
        self.candidates = candidates

    def _draw_tabular(self, n: int, do: Mapping[str, Any], rng: np.random.Generator) -> dict:
        """``n`` draws of the tabular variables from the numerator's law given ``do``: units
        with the same inputs share one pool of candidates (``do(X = x)`` with one image:
        ``candidates * n`` draws of ``p(T | x)`` to resample from)."""
        k = self.candidates if self.weights is not None else 1
        rep = {key: np.repeat(np.asarray(v), k, axis=0) for key, v in do.items()}
        t = self.tabular.sample(n * k, do=rep, random_state=int(rng.integers(2**31)))
        t = {key: np.asarray(t[key]) for key in t if key not in do}
        if k == 1:
            return t
        return {
            key: v[_resample(self.weights({**rep, **t}), do, n, k, rng)] for key, v in t.items()
        }

    def sample(self, n: int, do: Mapping[str, Any], random_state: Any = None) -> dict:
        """``n`` draws of the drawn variables and the images at the inputs ``do``: a mapping."""
        rng = np.random.default_rng(random_state)
        values = dict(do)
        if self.drawn:
            values.update(self._draw_tabular(n, do, rng))
        out = self.image.sample(
            n, do={k: values[k] for k in self.given}, random_state=int(rng.integers(2**31))
        )
        return {**values, **{k: np.asarray(out[k]) for k in self.images}}

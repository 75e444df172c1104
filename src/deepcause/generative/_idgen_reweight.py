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
(:class:`TwoStageFraction`) draws the tabular variables it needs from the numerator's law (a
tabular generator fitted on those rows) and then the images from the data's own factor ``P(A* |
T)`` (fitted on the data rows): no image is generated to train another generator, so the images
keep their associations. (Training the image generator on the resampled rows directly was
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

__all__ = ["Reweighting", "TwoStageFraction", "reweighted_rows"]

MAX_LEVELS = 30
"""A tabular variable with more distinct values than this is not treated as discrete."""
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


class Reweighting(NamedTuple):
    """What :func:`reweighted_rows` found: the resampled ``rows``, the ``tabular`` variables
    ``T`` and the image factor ``P(A* | T)`` (``image``)."""

    rows: np.ndarray
    tabular: list[str]
    image: P


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
    return Reweighting(rng.choice(n, size=n, p=w / w.sum()), tabular, image)


class TwoStageFraction:
    """A fraction's generator from reweighted rows without generating images from them.

    ``tabular``: the generator of the tabular variables ``T`` not given (``drawn``) given the
    fraction's inputs and conditioning variables, fitted on the reweighted rows (a tabular
    model is little hurt by their repeats); ``image``: the generator of the image factor's
    outputs not given (``images``) given the conditioning images and ``T`` (``given``), fitted on the data
    rows themselves (the factor ``P(A* | T)`` is the data's). Sampling chains them: ``T`` from
    the numerator's law given the inputs, then the images as in the data given ``T``.

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
        self, tabular: Any, drawn: list[str], image: Any, images: list[str], given: list[str]
    ) -> None:
        self.tabular, self.drawn = tabular, drawn
        self.image, self.images, self.given = image, images, given

    def sample(self, n: int, do: Mapping[str, Any], random_state: Any = None) -> dict:
        """``n`` draws of the drawn variables and the images at the inputs ``do``: a mapping."""
        rng = np.random.default_rng(random_state)
        values = dict(do)
        if self.drawn:
            t = self.tabular.sample(n, do=do, random_state=int(rng.integers(2**31)))
            values.update({k: np.asarray(t[k]) for k in self.drawn})
        out = self.image.sample(
            n, do={k: values[k] for k in self.given}, random_state=int(rng.integers(2**31))
        )
        return {**values, **{k: np.asarray(out[k]) for k in self.images}}

"""ID-GEN's factor generators: one :class:`MechanismModel` per factor ``P(A | B)``.

:func:`fit_factor` trains a generator of the outputs ``A`` given the inputs ``B`` (inputs ->
every output, outputs chained in the given order). The inputs are always set by ``do=`` when
the factor is sampled, so no mechanism is fitted for them (an image input costs no VAE).

Tabular outputs with image *and* tabular inputs (the front door's ``P(Y | M, X)`` with an image
mediator ``M``, the back door's ``P(Y | C, X)`` with an image treatment ``X``) are fitted in two
stages, :class:`ImageFeatureFactor`: a conv reader of the outputs given the image inputs alone,
then the outputs given the reader's image features and the tabular inputs. Trained in one
stage, the conv encoder learns next to nothing from the images when a tabular input already
predicts the outputs (measured on the image front door, 2,000 units: ``P(Y = 1 | M, X)``
changed by 0.02-0.07 with the mediator's digit against 0.38 in truth; the two-stage factor
reads it). The features are those that predict the outputs from the images alone, so an aspect
of an image that matters only jointly with a tabular input can be lost: an approximation,
checked against the simulators' truth in the tests.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> a, x = rng.uniform(0, 1, 400), rng.integers(0, 2, 400)
>>> img = (a[:, None, None, None] * np.ones((400, 1, 8, 8))).astype(np.float32)
>>> data = {"X": x, "I": img, "Y": 2 * a + x + 0.1 * rng.normal(size=400)}
>>> f = fit_factor(data, ["Y"], ["I", "X"], seed=0, max_epochs=2, verbose=False)
>>> type(f).__name__, f.sample(5, {"I": img[:5], "X": x[:5]}, random_state=0)["Y"].shape
('ImageFeatureFactor', (5,))
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..exceptions import PositivityWarning
from ..graph.causal_graph import CausalGraph
from ._core import MechanismModel
from .mechanisms import ImageParentMechanism

__all__ = ["ImageFeatureFactor", "fit_factor", "reader_mechanisms"]

Values = Mapping[str, np.ndarray]
FEATURES = "__image_features__"
"""Name of the vector node that carries the image features in the second stage."""


def _model(
    data: Any,
    outputs: list[str],
    inputs: list[str],
    seed: int,
    node_columns: Mapping[str, list[str]] | None = None,
    **kw: Any,
) -> MechanismModel:
    """A fitted chained generator of ``outputs`` given ``inputs`` (inputs not modelled)."""
    edges = [(b, a) for b in inputs for a in outputs]
    edges += [(a, c) for i, a in enumerate(outputs) for c in outputs[i + 1 :]]
    g = CausalGraph.from_edges(edges, nodes=[*inputs, *outputs])
    mech = kw.pop("mechanisms", "auto")
    if isinstance(mech, Mapping):
        mech = {k: v for k, v in mech.items() if k in outputs}  # inputs are not modelled
    model = MechanismModel(g, mechanisms=mech, node_columns=node_columns, random_state=seed, **kw)
    model._given = frozenset(inputs)
    return model.fit(data)


class ImageFeatureFactor:
    """``P(outputs | image inputs, tabular inputs)`` in two stages (see the module doc).

    ``reader``: the fitted generator of the outputs given the image inputs alone, whose first
    output's conv encoder gives the features; ``head``: the fitted generator of the outputs
    given the vector node ``FEATURES`` and the tabular inputs.

    Examples
    --------
    Built by :func:`fit_factor`; ``sample`` takes the inputs' values like a factor model:

    >>> rng = np.random.default_rng(1)
    >>> a, x = rng.integers(0, 2, 300), rng.integers(0, 2, 300)
    >>> img = np.repeat(a[:, None, None, None], 64, axis=3).reshape(300, 1, 8, 8) * 1.0
    >>> f = fit_factor({"X": x, "I": img, "Y": a + x}, ["Y"], ["I", "X"], seed=0, max_epochs=1,
    ...                verbose=False)
    >>> sorted(f.sample(3, {"I": img[:3], "X": x[:3]}, random_state=0))
    ['X', 'Y']
    """

    def __init__(self, reader: MechanismModel, images: list[str], head: MechanismModel) -> None:
        self.reader = reader
        self.images = images
        self.head = head

    @property
    def mechanisms_(self) -> dict[str, Any]:
        """The fitted mechanisms: the reader's for the outputs (conv encoders in front)."""
        return dict(self.reader.mechanisms_)

    @torch.no_grad()
    def features(self, values: Values) -> np.ndarray:
        """The reader's conv features of the image inputs, one row per unit."""
        r = self.reader
        first = next(v for v in r.order_ if v in r.mechanisms_)
        encoded = r.encode({k: values[k] for k in self.images}, nodes=self.images)
        ctx = r.context(first, encoded)
        enc = r.mechanisms_[first].encoder
        return torch.cat([enc(c) for c in ctx.split(512)]).double().cpu().numpy()

    def sample(self, n: int, do: Values, random_state: Any = None) -> dict[str, np.ndarray]:
        """``n`` draws of the outputs at the inputs' values ``do`` (arrays of ``n`` values)."""
        imgs = {k: np.broadcast_to(do[k], (n, *np.shape(do[k])[-3:])) for k in self.images}
        rest = {k: v for k, v in do.items() if k not in self.images}
        with warnings.catch_warnings():  # features of new images beyond the training range
            warnings.simplefilter("ignore", PositivityWarning)
            out = self.head.sample(
                n, do={FEATURES: self.features(imgs), **rest}, random_state=random_state
            )
        return {k: out[k].to_numpy() for k in out if not k.startswith(FEATURES)}


def fit_factor(
    data: Values,
    outputs: list[str],
    inputs: Iterable[str],
    seed: int,
    **kw: Any,
) -> MechanismModel | ImageFeatureFactor:
    """A generator of ``outputs`` given ``inputs`` fitted on ``data`` (see the module doc).

    ``kw``: ``mechanisms``, ``max_epochs``, ``verbose`` of the factor models.
    """
    inputs = sorted(inputs)
    images = [k for k in inputs if data[k].ndim > 1]
    tabular = [k for k in inputs if data[k].ndim == 1]
    two_stage = images and tabular
    if not two_stage or any(data[k].ndim > 1 for k in outputs):
        cols = {k: data[k] for k in [*inputs, *outputs]}
        frame = pd.DataFrame(cols) if all(v.ndim == 1 for v in cols.values()) else cols
        return _model(frame, outputs, inputs, seed, **kw)
    rng = np.random.default_rng(seed)
    cols = {k: data[k] for k in [*images, *outputs]}
    reader = _model(cols, outputs, images, int(rng.integers(2**31)), **kw)
    factor = ImageFeatureFactor(reader, images, reader)
    feats = factor.features(data)
    names = [f"{FEATURES}{i}" for i in range(feats.shape[1])]
    frame = pd.DataFrame({**dict(zip(names, feats.T)), **{k: data[k] for k in tabular + outputs}})
    factor.head = _model(frame, outputs, [FEATURES, *tabular], int(rng.integers(2**31)),
                         node_columns={FEATURES: names}, **kw)  # fmt: skip
    return factor


def reader_mechanisms(
    mechanisms: str | Mapping[str, Any],
    outputs: Iterable[str],
    inputs: Iterable[str],
    data: Values,
    max_epochs: int | None = None,
) -> str | Mapping[str, Any]:
    """``mechanisms`` with the outputs the user left to ``"auto"`` read by a conv encoder
    *and* the image inputs' colour statistics (``ImageParentMechanism(head="categorical",
    parent_stats=True)``), for a generator of discrete tabular outputs given image inputs
    only (ID-GEN's tabular stage, :class:`~deepcause.generative._idgen_reweight.
    TwoStageFraction`); ``mechanisms`` unchanged when an input is tabular. ``max_epochs``
    caps their training as it caps the mechanisms chosen by name.

    Measured on the coloured-digits napkin (3,000 units, data seed 0,
    ``tests/test_idgen_tabular_stage.py``): ``W1`` drawn given each reference image against the
    numerator's law (0.38 on the image's colour) had mean TV 0.295 with the conv encoder alone,
    0.220 with the statistics (the conv encoder learns the colour's weak effect on ``W1``
    poorly). The napkin's ``P(Y | do(X = x))`` hardly moved (``bench_images.md``, run 9): its
    error is the image factor's.

    >>> data = {"W1": np.array([0, 1]), "X": np.zeros((2, 3, 4, 4)), "Z": np.array([0, 1])}
    >>> reader_mechanisms("auto", ["W1"], ["X"], data)["W1"].parent_stats
    True
    >>> reader_mechanisms({"W1": "categorical"}, ["W1"], ["X"], data)
    {'W1': 'categorical'}
    >>> reader_mechanisms("auto", ["W1"], ["X", "Z"], data)
    'auto'
    """
    dims = [data[k].ndim for k in inputs]
    if (isinstance(mechanisms, str) and mechanisms != "auto") or not dims or 1 in dims:
        return mechanisms
    chosen = {} if isinstance(mechanisms, str) else dict(mechanisms)
    budget = {} if max_epochs is None else {"max_epochs": int(max_epochs)}
    for v in outputs:
        if v not in chosen and data[v].ndim == 1:
            chosen[v] = ImageParentMechanism(head="categorical", parent_stats=True, **budget)
    return chosen

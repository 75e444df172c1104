"""Two image SCMs that are not in the library, drawn with plain numpy (held-out checks).

Written for ``bench_images_fresh.py`` before the image defaults were scored on them (session 8,
branch ``s8-imgauto``), so nothing in the library was chosen on them. Every image is a
deterministic function of its parents and its own noise, so interventional samples and every
unit's counterfactual image are exact.

* :func:`disc_label_scm` (28x28 grey): ``Z`` an observed confounder, ``R`` a disc radius caused
  by ``Z``, ``I`` the disc (radius ``R``; centre and brightness from its own noise), ``L`` a
  label read off the image (its total brightness) plus ``Z``: ``Z -> R -> I -> L <- Z``.
* :func:`square_ring_scm` (16x16 RGB): ``S`` the half side of a square, ``X`` the square (centre
  and one of three colours from its noise), ``Y`` a ring whose radius is read off ``X``'s area
  and whose colour is the next palette colour after ``X``'s (an image with an image parent;
  centre and stroke width from its noise), ``T`` a tabular child of ``Y`` (its total
  brightness): ``S -> X -> Y -> T``.

:class:`ShapeReader` reads the attributes (radius, half side, centre, brightness, stroke
width, colour class) of such renders; :func:`train_reader` fits one on renders whose
attributes are drawn independently over their ranges.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from deepcause.simulate.scm import SCM, Node, gaussian, uniform

PALETTE = np.array([[1.0, 0.25, 0.2], [0.2, 0.9, 0.25], [0.3, 0.4, 1.0]], dtype=np.float32)
DISC_RADIUS = (2.5, 6.0)
SQUARE_HALF = (2.0, 4.5)


def _expit(s: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-s))


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    return yy[None], xx[None]


def draw_disc(cx: Any, cy: Any, r: Any, bright: Any, size: int) -> np.ndarray:
    """Anti-aliased grey discs ``(n, 1, size, size)``."""
    yy, xx = _grid(size)
    col = lambda v: np.asarray(v, np.float32)[:, None, None]  # noqa: E731
    d = np.sqrt((xx - col(cx)) ** 2 + (yy - col(cy)) ** 2)
    return (col(bright) * np.clip(col(r) + 0.5 - d, 0.0, 1.0))[:, None]


def _paint(mask: np.ndarray, colour: np.ndarray) -> np.ndarray:
    return (mask[:, None] * colour[:, :, None, None]).astype(np.float32)


def draw_square(cx: Any, cy: Any, half: Any, k: Any, size: int) -> np.ndarray:
    """Anti-aliased squares of palette colour ``k``, ``(n, 3, size, size)``."""
    yy, xx = _grid(size)
    col = lambda v: np.asarray(v, np.float32)[:, None, None]  # noqa: E731
    edge = col(half) + 0.5
    mask = np.clip(edge - np.abs(xx - col(cx)), 0, 1) * np.clip(edge - np.abs(yy - col(cy)), 0, 1)
    return _paint(mask, PALETTE[np.asarray(k, np.int64)])


def draw_ring(cx: Any, cy: Any, r: Any, width: Any, k: Any, size: int) -> np.ndarray:
    """Anti-aliased rings (radius ``r``, stroke ``width``) of palette colour ``k``."""
    yy, xx = _grid(size)
    col = lambda v: np.asarray(v, np.float32)[:, None, None]  # noqa: E731
    d = np.sqrt((xx - col(cx)) ** 2 + (yy - col(cy)) ** 2)
    mask = np.clip(col(width) / 2 + 0.5 - np.abs(d - col(r)), 0.0, 1.0)
    return _paint(mask, PALETTE[np.asarray(k, np.int64)])


def read_colour(images: np.ndarray) -> np.ndarray:
    """Palette index nearest to each image's mean colour direction (exact on renders)."""
    mean = images.sum(axis=(2, 3))
    mean = mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-9)
    pal = PALETTE / np.linalg.norm(PALETTE, axis=1, keepdims=True)
    return np.argmax(mean @ pal.T, axis=1)


def square_half_of(images: np.ndarray) -> np.ndarray:
    """The half side read off a square's area (exact up to anti-aliasing)."""
    mask = images.max(axis=1) / PALETTE.max(axis=1).min()
    return np.sqrt(np.clip(mask, 0, 1).sum(axis=(1, 2))) / 2


# ----------------------------------------------------------------------------- the SCMs
def disc_label_scm(size: int = 28) -> SCM:
    """``Z -> R -> I -> L <- Z``: a disc whose radius a confounder causes, a label read off it.

    ``I``'s noise is (centre x, centre y, brightness) in ``U(0, 1)^3``; the truth of its
    attributes is :func:`disc_attributes`.
    """
    lo, hi = DISC_RADIUS
    pad = hi + 1.0

    def image(pa: dict, u: np.ndarray) -> np.ndarray:
        cx, cy, b = _disc_noise(u, size, pad)
        return draw_disc(cx, cy, pa["R"], b, size)

    return SCM(
        [
            Node("Z", noise=gaussian(1.0)),
            Node("R", ("Z",), lambda pa, u: lo + (hi - lo) * _expit(1.2 * pa["Z"] + 0.8 * u)),
            Node("I", ("R",), image, uniform(0, 1, dim=3), shape=(1, size, size)),
            Node(
                "L",
                ("I", "Z"),
                lambda pa, u: 0.05 * pa["I"].sum(axis=(1, 2, 3)) + 0.5 * pa["Z"] + 0.3 * u,
            ),
        ]
    )


def _disc_noise(u: np.ndarray, size: int, pad: float) -> tuple[np.ndarray, ...]:
    span = size - 2 * pad
    return pad + span * u[:, 0], pad + span * u[:, 1], 0.5 + 0.5 * u[:, 2]


def disc_attributes(values: dict, noise: dict, size: int = 28) -> dict[str, dict]:
    """True attributes of ``I`` for units with ``noise`` and node ``values``."""
    cx, cy, b = _disc_noise(noise["I"], size, DISC_RADIUS[1] + 1.0)
    return {"I": {"radius": values["R"], "cx": cx, "cy": cy, "brightness": b}}


def square_ring_scm(size: int = 16) -> SCM:
    """``S -> X -> Y -> T``: a square, a ring read off it (an image parent), a tabular child.

    ``X``'s noise: centre (2 values) and colour; ``Y``'s: centre (2 values) and stroke width.
    The ring's radius is ``1 + 0.8 h`` with ``h`` the half side read off ``X``'s pixels, its
    colour the palette colour after ``X``'s (read off ``X``'s pixels too).
    """

    def square(pa: dict, u: np.ndarray) -> np.ndarray:
        cx, cy, k = _square_noise(u, size)
        return draw_square(cx, cy, pa["S"], k, size)

    def ring(pa: dict, u: np.ndarray) -> np.ndarray:
        x = pa["X"]
        cx, cy, w = _ring_noise(u, size)
        return draw_ring(cx, cy, _ring_radius(x), w, (read_colour(x) + 1) % 3, size)

    return SCM(
        [
            Node("S", noise=uniform(*SQUARE_HALF)),
            Node("X", ("S",), square, uniform(0, 1, dim=3), shape=(3, size, size)),
            Node("Y", ("X",), ring, uniform(0, 1, dim=3), shape=(3, size, size)),
            Node(
                "T",
                ("Y",),
                lambda pa, u: 0.02 * pa["Y"].sum(axis=(1, 2, 3)) + 0.1 * u,
            ),
        ]
    )


def _ring_radius(x: np.ndarray) -> np.ndarray:
    return 1.0 + 0.8 * square_half_of(x)


def _square_noise(u: np.ndarray, size: int) -> tuple[np.ndarray, ...]:
    pad = SQUARE_HALF[1] + 1.0
    span = size - 2 * pad
    return pad + span * u[:, 0], pad + span * u[:, 1], np.floor(3 * u[:, 2]).astype(np.int64)


def _ring_noise(u: np.ndarray, size: int) -> tuple[np.ndarray, ...]:
    c = size / 2
    return c - 1.5 + 3 * u[:, 0], c - 1.5 + 3 * u[:, 1], 1.0 + u[:, 2]


def square_ring_attributes(values: dict, noise: dict, size: int = 16) -> dict[str, dict]:
    """True attributes of ``X`` and ``Y`` for units with ``noise`` and node ``values``."""
    cx, cy, k = _square_noise(noise["X"], size)
    rx, ry, w = _ring_noise(noise["Y"], size)
    x = values["X"]
    y_attrs = {"radius": _ring_radius(x), "cx": rx, "cy": ry, "width": w}
    y_attrs["colour"] = (read_colour(x) + 1) % 3
    return {"X": {"half": values["S"], "cx": cx, "cy": cy, "colour": k}, "Y": y_attrs}


# ----------------------------------------------------------------------------- readers
def shape_features(images: np.ndarray) -> np.ndarray:
    """Moment features of shape renders: mass, peak, centroid, radial moments, colour."""
    x = np.asarray(images, np.float32)
    g = x.max(axis=1)
    n, size = len(g), g.shape[-1]
    yy, xx = _grid(size)
    mass = g.sum(axis=(1, 2)) + 1e-6
    peak = g.reshape(n, -1).max(1) + 1e-6
    cx, cy = (g * xx).sum((1, 2)) / mass, (g * yy).sum((1, 2)) / mass
    d = np.sqrt((xx - cx[:, None, None]) ** 2 + (yy - cy[:, None, None]) ** 2)
    md = (g * d).sum((1, 2)) / mass
    sd = np.sqrt(np.clip((g * d**2).sum((1, 2)) / mass - md**2, 0, None))
    colour = x.sum(axis=(2, 3)) / mass[:, None]
    return np.column_stack(
        [mass, peak, np.sqrt(mass / peak), np.sqrt(mass), cx, cy, md, sd, colour]
    )


@dataclass
class ShapeReader:
    """Readers of one image node's attributes (``predict(images) -> {attribute: values}``)."""

    models: dict[str, Any]
    kinds: dict[str, str]
    scores: dict[str, float]

    def predict(self, images: Any) -> dict[str, np.ndarray]:
        f = shape_features(images)
        return {a: m.predict(f) for a, m in self.models.items()}

    def __call__(self, images: Any) -> dict[str, np.ndarray]:
        return self.predict(images)


def train_reader(
    render: Callable[[np.random.Generator, int], tuple[np.ndarray, dict]],
    kinds: dict[str, str],
    n: int = 4000,
    seed: int = 0,
) -> ShapeReader:
    """Fit a reader on ``render(rng, n)`` (images, true attributes drawn independently);
    ``scores``: MAE / accuracy on 1,000 fresh renders."""
    rng = np.random.default_rng(seed)
    images, truth = render(rng, n)
    f = shape_features(images)
    models: dict[str, Any] = {}
    for a, kind in kinds.items():
        if kind == "class":
            models[a] = make_pipeline(StandardScaler(), LogisticRegression(C=10.0, max_iter=500))
        else:
            models[a] = make_pipeline(PolynomialFeatures(2), StandardScaler(), Ridge(1e-3))
        models[a].fit(f, truth[a])
    reader = ShapeReader(models, kinds, {})
    test, test_truth = render(rng, 1000)
    pred = reader.predict(test)
    for a, kind in kinds.items():
        err = pred[a] == test_truth[a] if kind == "class" else np.abs(pred[a] - test_truth[a])
        reader.scores[a] = float(np.mean(err))
    return reader


def disc_renders(size: int = 28) -> Callable[[np.random.Generator, int], tuple]:
    """Disc renders with radius, centre and brightness independent over their ranges."""

    def render(rng: np.random.Generator, n: int) -> tuple[np.ndarray, dict]:
        r = rng.uniform(*DISC_RADIUS, n)
        cx, cy, b = _disc_noise(rng.uniform(size=(n, 3)), size, DISC_RADIUS[1] + 1.0)
        truth = {"radius": r, "cx": cx, "cy": cy, "brightness": b}
        return draw_disc(cx, cy, r, b, size), truth

    return render


def square_renders(size: int = 16) -> Callable[[np.random.Generator, int], tuple]:
    def render(rng: np.random.Generator, n: int) -> tuple[np.ndarray, dict]:
        h = rng.uniform(*SQUARE_HALF, n)
        cx, cy, k = _square_noise(rng.uniform(size=(n, 3)), size)
        return draw_square(cx, cy, h, k, size), {"half": h, "cx": cx, "cy": cy, "colour": k}

    return render


def ring_renders(size: int = 16) -> Callable[[np.random.Generator, int], tuple]:
    def render(rng: np.random.Generator, n: int) -> tuple[np.ndarray, dict]:
        r = 1.0 + 0.8 * rng.uniform(*SQUARE_HALF, n)
        cx, cy, w = _ring_noise(rng.uniform(size=(n, 3)), size)
        k = rng.integers(0, 3, n)
        truth = {"radius": r, "cx": cx, "cy": cy, "width": w, "colour": k}
        return draw_ring(cx, cy, r, w, k, size), truth

    return render

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

Three SCMs with a hidden confounder ``U`` (a latent node: the models see a bidirected edge),
written in session 10 (branch ``s10-fresh``) before any model was run on them:

* :func:`frontdoor_bar_scm` (20x20 grey): ``T -> M -> Y``, ``T <-> Y``; ``M`` a bar whose
  length grows with ``T``, ``Y`` read off the bar's length plus ``U`` (front door);
* :func:`bowfree_rect_scm` (3x16x24 RGB, not square): ``Z -> X -> I <- W``, ``X <-> W``; ``I``
  a rectangle whose width follows ``X`` and whose colour follows ``W`` (``P(I | do(X))`` by
  the back door through ``W``; the colour is confounded in ``P(I | X)``);
* :func:`image_treatment_scm` (18x18 grey): ``P -> M -> Y``, ``P <-> Y``; the treatment ``P``
  a disc whose radius follows ``U``, ``M`` its radius read off the pixels (front door with an
  image treatment; without ``M`` the effect is not identifiable).

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


def _grid(size: int, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:size, 0 : width or size].astype(np.float32) + 0.5
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
    n = len(g)
    yy, xx = _grid(*g.shape[-2:])
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


# ----------------------------------------------------------------------------- hidden confounders
# Written in session 10 (branch ``s10-fresh``) before any model was run on them. ``U`` is a
# latent node in each: the graphs the models see (``scm.graph``) carry it as a bidirected edge.
BAR_LENGTH = (3.0, 15.0)
BAR_HALF_THICK = 1.5
RECT_HALF_W = (2.0, 9.5)
RECT_RED, RECT_BLUE = np.array([1.0, 0.3, 0.2]), np.array([0.2, 0.35, 1.0])
TREAT_RADIUS = (2.0, 6.0)


def draw_hbar(cx: Any, cy: Any, length: Any, bright: Any, size: int) -> np.ndarray:
    """Anti-aliased horizontal grey bars (3 px thick) ``(n, 1, size, size)``."""
    yy, xx = _grid(size)
    col = lambda v: np.asarray(v, np.float32)[:, None, None]  # noqa: E731
    along = np.clip(col(length) / 2 + 0.5 - np.abs(xx - col(cx)), 0.0, 1.0)
    across = np.clip(BAR_HALF_THICK + 0.5 - np.abs(yy - col(cy)), 0.0, 1.0)
    return (col(bright) * along * across)[:, None].astype(np.float32)


def bar_length_of(images: np.ndarray) -> np.ndarray:
    """A bar's length read off its pixels: mass over (peak x thickness)."""
    g = np.asarray(images, np.float32).max(axis=1)
    peak = np.maximum(g.reshape(len(g), -1).max(1), 1e-6)
    return g.sum(axis=(1, 2)) / (peak * 2 * BAR_HALF_THICK)


def _bar_noise(u: np.ndarray, size: int) -> tuple[np.ndarray, ...]:
    """(centre x, centre y, brightness) of a bar from ``u[:, 1:4]`` in ``U(0, 1)``."""
    c = size / 2
    return c - 1 + 2 * u[:, 1], c - 4 + 8 * u[:, 2], 0.55 + 0.45 * u[:, 3]


def _bar_length(t: np.ndarray, u: np.ndarray) -> np.ndarray:
    lo, hi = BAR_LENGTH
    return lo + (hi - lo) * _expit(1.2 * t + 1.5 * (u[:, 0] - 0.5))


def frontdoor_bar_scm(size: int = 20) -> SCM:
    """Front door with an image mediator: ``T -> M -> Y``, ``T <- U -> Y`` (``U`` hidden).

    ``M`` is a horizontal bar (``size`` x ``size`` grey) whose length grows with ``T`` (plus its
    own noise); centre and brightness are its noise (``U(0, 1)^4``). ``Y`` reads the bar's
    length off the pixels: ``Y = 0.35 length(M) + U + 0.4 e``. ``P(Y | do(T))`` is identified
    by the front door only (no back door can be blocked: ``U`` is hidden).
    """

    def bar(pa: dict, u: np.ndarray) -> np.ndarray:
        cx, cy, b = _bar_noise(u, size)
        return draw_hbar(cx, cy, _bar_length(pa["T"], u), b, size)

    return SCM(
        [
            Node("U", noise=gaussian(1.0), latent=True),
            Node("T", ("U",), lambda pa, u: pa["U"] + 0.6 * u),
            Node("M", ("T",), bar, uniform(0, 1, dim=4), shape=(1, size, size)),
            Node(
                "Y",
                ("M", "U"),
                lambda pa, u: 0.35 * bar_length_of(pa["M"]) + pa["U"] + 0.4 * u,
            ),
        ]
    )


def frontdoor_bar_attributes(values: dict, noise: dict, size: int = 20) -> dict[str, dict]:
    """True attributes of ``M`` for units with ``noise`` and node ``values``."""
    cx, cy, b = _bar_noise(noise["M"], size)
    length = _bar_length(values["T"], noise["M"])
    return {"M": {"length": length, "cx": cx, "cy": cy, "brightness": b}}


def _shape_renders(
    draw: Callable, noise: Callable, name: str, span: tuple[float, float], size: int
) -> Callable[[np.random.Generator, int], tuple]:
    """Renders of a shape whose ``name`` attribute (uniform on ``span``), centre and brightness
    (``noise`` of four uniforms) are independent over their ranges."""

    def render(rng: np.random.Generator, n: int) -> tuple[np.ndarray, dict]:
        value = rng.uniform(*span, n)
        cx, cy, b = noise(rng.uniform(size=(n, 4)), size)
        truth = {name: value, "cx": cx, "cy": cy, "brightness": b}
        return draw(cx, cy, value, b, size), truth

    return render


def bar_renders(size: int = 20) -> Callable[[np.random.Generator, int], tuple]:
    """Bar renders with length, centre and brightness independent over their ranges."""
    return _shape_renders(draw_hbar, _bar_noise, "length", BAR_LENGTH, size)


def draw_rect(cx: Any, cy: Any, half_w: Any, blue: Any, height: int, width: int) -> np.ndarray:
    """Anti-aliased rectangles (half height 3) coloured ``(1 - blue) red + blue blue``,
    ``(n, 3, height, width)``."""
    yy, xx = _grid(height, width)
    col = lambda v: np.asarray(v, np.float32)[:, None, None]  # noqa: E731
    mask = np.clip(col(half_w) + 0.5 - np.abs(xx - col(cx)), 0, 1) * np.clip(
        3.5 - np.abs(yy - col(cy)), 0, 1
    )
    b = np.asarray(blue, np.float32)[:, None]
    colour = ((1 - b) * RECT_RED + b * RECT_BLUE).astype(np.float32)
    return _paint(mask, colour)


def _rect_noise(u: np.ndarray, height: int, width: int) -> tuple[np.ndarray, ...]:
    """(centre x, centre y) of a rectangle from ``u[:, 1:3]``."""
    return width / 2 - 1 + 2 * u[:, 1], height / 2 - 2 + 4 * u[:, 2]


def _rect_half_w(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    lo, hi = RECT_HALF_W
    return lo + (hi - lo) * _expit(1.2 * x + 1.0 * (u[:, 0] - 0.5))


def bowfree_rect_scm(height: int = 16, width: int = 24) -> SCM:
    """An image outcome with a confounded cause: ``Z -> X -> I <- W``, ``X <- U -> W``.

    ``I`` (``3 x height x width`` RGB) is a rectangle whose width grows with ``X`` and whose
    colour is a red-blue blend with blue share ``expit(1.5 W)``; its noise (``U(0, 1)^3``) sets
    the width's own noise and the centre. ``P(I | do(X))`` is identified (back door through
    ``W``) and differs from ``P(I | X)``: the colour follows ``X`` in the data through ``U``,
    not under ``do(X)``. ``Z`` is an instrument of ``X``.
    """

    def rect(pa: dict, u: np.ndarray) -> np.ndarray:
        cx, cy = _rect_noise(u, height, width)
        hw = _rect_half_w(pa["X"], u)
        return draw_rect(cx, cy, hw, _expit(1.5 * pa["W"]), height, width)

    return SCM(
        [
            Node("Z", noise=uniform(-1.5, 1.5)),
            Node("U", noise=gaussian(1.0), latent=True),
            Node("X", ("Z", "U"), lambda pa, u: 0.8 * pa["Z"] + 0.9 * pa["U"] + 0.4 * u),
            Node("W", ("U",), lambda pa, u: pa["U"] + 0.5 * u),
            Node("I", ("X", "W"), rect, uniform(0, 1, dim=3), shape=(3, height, width)),
        ]
    )


def bowfree_rect_attributes(
    values: dict, noise: dict, height: int = 16, width: int = 24
) -> dict[str, dict]:
    """True attributes of ``I`` for units with ``noise`` and node ``values``."""
    cx, cy = _rect_noise(noise["I"], height, width)
    hw = _rect_half_w(values["X"], noise["I"])
    return {"I": {"half_w": hw, "blue": _expit(1.5 * values["W"]), "cx": cx, "cy": cy}}


def rect_renders(height: int = 16, width: int = 24) -> Callable[[np.random.Generator, int], tuple]:
    """Rectangle renders with half width, blue share and centre independent."""

    def render(rng: np.random.Generator, n: int) -> tuple[np.ndarray, dict]:
        hw, blue = rng.uniform(*RECT_HALF_W, n), rng.uniform(0, 1, n)
        cx, cy = _rect_noise(rng.uniform(size=(n, 3)), height, width)
        truth = {"half_w": hw, "blue": blue, "cx": cx, "cy": cy}
        return draw_rect(cx, cy, hw, blue, height, width), truth

    return render


def disc_radius_of(images: np.ndarray) -> np.ndarray:
    """A disc's radius read off its pixels: ``sqrt(mass / (peak pi))``."""
    g = np.asarray(images, np.float32).max(axis=1)
    peak = np.maximum(g.reshape(len(g), -1).max(1), 1e-6)
    return np.sqrt(g.sum(axis=(1, 2)) / (peak * np.pi))


def _treat_noise(u: np.ndarray, size: int) -> tuple[np.ndarray, ...]:
    """(centre x, centre y, brightness) of the treatment disc from ``u[:, 1:4]``."""
    c = size / 2
    return c - 1.5 + 3 * u[:, 1], c - 1.5 + 3 * u[:, 2], 0.6 + 0.4 * u[:, 3]


def image_treatment_scm(size: int = 18) -> SCM:
    """An image treatment with a hidden confounder and a mediator: ``P -> M -> Y``,
    ``P <- U -> Y`` (``U`` hidden; front door with the treatment an image).

    ``P`` (``size`` x ``size`` grey) is a disc whose radius grows with ``U`` (plus its own
    noise; centre and brightness are its noise, ``U(0, 1)^4``); ``M = radius(P) + 0.25 e``
    reads the radius off the pixels; ``Y = 0.8 M + U + 0.3 e``. ``P(M, Y | do(P = p))`` is
    identified through ``M``; with ``M`` dropped (``P -> Y``, ``P <-> Y``) it is not.
    """
    lo, hi = TREAT_RADIUS

    def disc(pa: dict, u: np.ndarray) -> np.ndarray:
        cx, cy, b = _treat_noise(u, size)
        r = lo + (hi - lo) * _expit(1.4 * pa["U"] + 1.2 * (u[:, 0] - 0.5))
        return draw_disc(cx, cy, r, b, size)

    return SCM(
        [
            Node("U", noise=gaussian(1.0), latent=True),
            Node("P", ("U",), disc, uniform(0, 1, dim=4), shape=(1, size, size)),
            Node("M", ("P",), lambda pa, u: disc_radius_of(pa["P"]) + 0.25 * u),
            Node("Y", ("M", "U"), lambda pa, u: 0.8 * pa["M"] + pa["U"] + 0.3 * u),
        ]
    )


def treat_disc_renders(size: int = 18) -> Callable[[np.random.Generator, int], tuple]:
    """Treatment-disc renders with radius, centre and brightness independent."""
    return _shape_renders(draw_disc, _treat_noise, "radius", TREAT_RADIUS, size)

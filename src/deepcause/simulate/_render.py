"""Deterministic, vectorised rendering of digit images from scikit-learn's bundled glyphs.

The 1,797 8x8 glyphs of :func:`sklearn.datasets.load_digits` are upsampled (cubic spline,
deterministic) into the central part of a ``size x size`` frame; each glyph's *core* (the
pixels at least 45% of its maximum) gives a distance map (Euclidean distance of every pixel to
the core). A stroke of continuous ``thickness`` ``t`` is the soft dilation
``clip(t / 2 + 1 - distance, 0, 1)`` of the core: a morphological operation that is exact,
monotone and continuous in ``t``. The image is ``intensity * color * stroke``, shifted by whole
pixels. Everything is a pure function of its arguments, so re-rendering with a unit's own
style noise reproduces its image bit for bit.

>>> img = render_digits(np.array([3, 7]), size=16, color=np.array([0, 2]))
>>> img.shape, img.dtype, float(img.max())
((2, 3, 16, 16), dtype('float32'), 1.0)
>>> read_digit(img).tolist(), read_color(img).tolist()
([3, 7], [0, 2])
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import ndimage
from sklearn.datasets import load_digits

from ..exceptions import DataValidationError

__all__ = ["PALETTE", "COLOR_NAMES", "render_digits", "read_digit", "read_color", "glyph_bank"]

#: The colour palette of the coloured designs (RGB in [0, 1]); index i is colour i.
PALETTE = np.array(
    [
        [1.0, 0.1, 0.1],  # red
        [0.1, 1.0, 0.1],  # green
        [0.2, 0.35, 1.0],  # blue
        [1.0, 0.9, 0.1],  # yellow
        [1.0, 0.1, 1.0],  # magenta
        [0.1, 1.0, 1.0],  # cyan
    ],
    dtype=np.float32,
)
COLOR_NAMES = ("red", "green", "blue", "yellow", "magenta", "cyan")
SIZES = (16, 28)
_CORE_LEVEL = 0.45


@dataclass(frozen=True)
class GlyphBank:
    """Distance maps of every glyph at one size, sorted by digit class."""

    distance: np.ndarray  # (G, S, S) float32: distance of each pixel to the glyph's core
    labels: np.ndarray  # (G,) digit of each glyph (sorted)
    starts: np.ndarray  # (10,) first glyph of each digit
    counts: np.ndarray  # (10,) number of glyphs of each digit
    strokes: np.ndarray  # (G, S * S) unit-norm thickness-1 strokes (the digit reader's bank)


@lru_cache(maxsize=len(SIZES))
def glyph_bank(size: int) -> GlyphBank:
    """The glyph bank at ``size`` (16 or 28), built once per process (about 0.1 s).

    >>> bank = glyph_bank(16)
    >>> bank.distance.shape, int(bank.counts.sum())
    ((1797, 16, 16), 1797)
    """
    if size not in SIZES:
        raise DataValidationError(f"image size must be one of {SIZES}; got {size!r}")
    digits = load_digits()
    order = np.argsort(digits.target, kind="stable")
    glyphs = digits.images[order] / 16.0
    labels = digits.target[order].astype(np.int64)
    inner = 12 if size == 16 else 20
    zoom = (1, inner / 8, inner / 8)
    up = np.clip(ndimage.zoom(glyphs, zoom, order=3, grid_mode=True, mode="grid-constant"), 0, 1)
    pad = (size - inner) // 2
    field = np.pad(up, ((0, 0), (pad, pad), (pad, pad)))
    core = field >= _CORE_LEVEL * field.max(axis=(1, 2), keepdims=True)
    # a huge spacing along the glyph axis keeps every distance inside its own glyph
    distance = ndimage.distance_transform_edt(~core, sampling=(1e6, 1.0, 1.0)).astype(np.float32)
    counts = np.bincount(labels, minlength=10)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    stroke = _stroke(distance, np.ones(len(distance))).reshape(len(distance), -1)
    strokes = (stroke / np.linalg.norm(stroke, axis=1, keepdims=True)).astype(np.float32)
    for arr in (distance, labels, starts, counts, strokes):
        arr.flags.writeable = False
    return GlyphBank(distance, labels, starts, counts, strokes)


def _stroke(distance: np.ndarray, thickness: np.ndarray) -> np.ndarray:
    return np.clip(thickness[:, None, None] / 2.0 + 1.0 - distance, 0.0, 1.0)


def _vector(value: Any, n: int, name: str, dtype: Any = float) -> np.ndarray:
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim == 0:
        return np.full(n, arr, dtype=dtype)
    if arr.shape != (n,):
        raise DataValidationError(f"{name} must be a scalar or have shape ({n},); got {arr.shape}")
    return arr


def render_digits(
    digit: Any,
    *,
    size: int = 16,
    style: Any = 0.0,
    thickness: Any = 1.0,
    intensity: Any = 1.0,
    color: Any = None,
    shift: Any = None,
) -> np.ndarray:
    """Render ``n`` digits as ``(n, C, size, size)`` float32 images in ``[0, 1]``.

    Parameters
    ----------
    digit : array of int, shape (n,)
        Digit classes 0-9.
    size : {16, 28}
        Image side.
    style : float or array in [0, 1)
        Picks the glyph among the digit's handwritten glyphs (``floor(style * count)``).
    thickness : float or array, >= 0
        Extra stroke width in pixels (the dilation of the glyph's core).
    intensity : float or array in [0, 1]
        Brightness of the stroke.
    color : None or array of int
        Palette indices (:data:`PALETTE`) for RGB images; None renders one grey channel.
    shift : None or int array (n, 2)
        Whole-pixel shift (rows, columns) of every image.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> thin = render_digits(np.array([1]), size=28, thickness=0.5)
    >>> thick = render_digits(np.array([1]), size=28, thickness=3.0)
    >>> bool(thick.sum() > thin.sum()), thin.shape
    (True, (1, 1, 28, 28))
    """
    d = np.asarray(digit)
    if d.ndim != 1 or not np.all((d >= 0) & (d <= 9) & (d == np.round(d))):
        raise DataValidationError("digit must be a 1-D array of integers 0-9")
    n, d = len(d), d.astype(np.int64)
    bank = glyph_bank(size)
    u = np.clip(_vector(style, n, "style"), 0.0, 1.0 - 1e-9)
    index = bank.starts[d] + np.floor(u * bank.counts[d]).astype(np.int64)
    t = np.maximum(_vector(thickness, n, "thickness"), 0.0)
    stroke = _stroke(bank.distance[index], t)
    if shift is not None:
        stroke = _shifted(stroke, np.asarray(shift, dtype=np.int64).reshape(n, 2))
    level = np.clip(_vector(intensity, n, "intensity"), 0.0, 1.0)
    if color is None:
        rgb = np.ones((n, 1), dtype=np.float32)
    else:
        rgb = PALETTE[_vector(color, n, "color", np.int64)]
    out = (level[:, None] * rgb)[:, :, None, None] * stroke[:, None]
    return out.astype(np.float32)


def _shifted(stroke: np.ndarray, shift: np.ndarray) -> np.ndarray:
    n, s, _ = stroke.shape
    m = int(np.abs(shift).max(initial=0))
    padded = np.pad(stroke, ((0, 0), (m, m), (m, m)))
    grid = np.arange(s)
    rows = (m + grid[None, :] - shift[:, :1])[:, :, None]
    cols = (m + grid[None, :] - shift[:, 1:])[:, None, :]
    return padded[np.arange(n)[:, None, None], rows, cols]


def _gray(images: Any) -> np.ndarray:
    x = np.asarray(images, dtype=np.float32)
    if x.ndim != 4:
        raise DataValidationError(f"images must have shape (n, C, H, W); got {x.shape}")
    return x.max(axis=1)


def read_digit(images: Any) -> np.ndarray:
    """The digit of each image: the class of its nearest glyph (cosine), a fixed function.

    Used inside the designs' mechanisms (a label caused by an image reads the image). Every
    glyph the renderer draws is read as its own digit, so "the digit read off ``X``" is the
    digit ``X`` was drawn as. (A class-mean template reader misread 15% of the glyphs, which
    made a design's truth under ``do(X = x)`` hinge on that reader's error on the one image
    ``x``: the coloured-digits napkin's reference "1" was read as a 2.) Images the renderer
    did not draw (generated ones) get the digit of the glyph they are closest to.

    >>> d = np.repeat(np.arange(10), 50)
    >>> style = np.tile(np.linspace(0.0, 0.99, 50), 10)
    >>> bool(np.all(read_digit(render_digits(d, size=28, style=style)) == d))
    True
    >>> thick = render_digits(d, size=16, style=style, thickness=2.0)
    >>> bool((read_digit(thick) == d).mean() > 0.9)
    True
    """
    g = _gray(images)
    bank = glyph_bank(_side(g))
    flat = g.reshape(len(g), -1)
    nearest = np.concatenate(  # in blocks: (block, G) similarities, not (n, G) at once
        [np.argmax(b @ bank.strokes.T, axis=1) for b in np.array_split(flat, len(flat) // 4096 + 1)]
    )
    return bank.labels[nearest].astype(np.int64)


def read_color(images: Any) -> np.ndarray:
    """The palette colour of each RGB image: nearest palette direction of its mean colour.

    >>> read_color(render_digits(np.array([0, 0]), color=np.array([4, 5]))).tolist()
    [4, 5]
    """
    x = np.asarray(images, dtype=np.float32)
    if x.ndim != 4 or x.shape[1] != 3:
        raise DataValidationError(f"read_color needs RGB images (n, 3, H, W); got {x.shape}")
    mean = x.sum(axis=(2, 3))
    mean /= np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
    pal = PALETTE / np.linalg.norm(PALETTE, axis=1, keepdims=True)
    return np.argmax(mean @ pal.T, axis=1).astype(np.int64)


def _side(gray: np.ndarray) -> int:
    h, w = gray.shape[1:]
    if h != w or h not in SIZES:
        raise DataValidationError(f"images must be square with side in {SIZES}; got {h}x{w}")
    return int(h)

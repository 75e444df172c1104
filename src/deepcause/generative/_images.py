"""The image-node contract at the data boundary: layout checks and pixel dtypes.

An image node is an array ``(n, C, H, W)`` of real numbers or booleans (channels first, at
least 4x4 pixels). The model scales its pixels to ``[-1, 1]`` by the range seen in ``fit``
(:func:`~deepcause.generative._encoding.image_spec`) and generated images come back on that
range and in the training images' dtype: float images in their float dtype, integer images
(``uint8`` in ``[0, 255]``) rounded to whole numbers, boolean masks as booleans
(:func:`restore_pixels`). A channels-last array, images too small for the conv stacks, or
images on another scale than the training images are refused in one line that names the fix.

One pixel range scales all channels of a node together (per-channel ranges would change every
saved model's encoding): a channel that varies over a small part of it (one channel in
``[0, 255]``, the others in ``[0, 1]``) loses its detail, and ``fit`` warns
(:func:`warn_channel_scales`); a constant channel (a colour image whose blue channel is always
0) comes back exactly as given in generated images (the children's mechanisms read the model's
own draw of it, which stays close: s.d. 0.03 of a ``[0, 1]`` range around a constant 0.25 after
20 epochs in a probe).

>>> restore_pixels(np.array([12.4, 260.0, -3.0]), "uint8", 0.0, 255.0)
array([ 12, 255,   0], dtype=uint8)
>>> layout_hint((4, 8, 8, 1), (1, 8, 8))
'; it looks channels-last (n, H, W, C): give np.moveaxis(images, -1, 1)'
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._validation import user_stacklevel
from ..exceptions import DataValidationError, DeepCauseWarning

__all__ = [
    "MIN_SIDE",
    "check_image_layout",
    "layout_hint",
    "restore_pixels",
    "scale_problem",
    "CHANNEL_SCALE_WARNING",
    "warn_channel_scales",
]

MIN_SIDE = 4  # the conv encoders and decoders need at least 4x4 pixels
CHANNEL_COUNTS = (1, 3, 4)  # grey, RGB, RGBA: what a channels-last last axis usually holds
CHANNEL_SCALE_RATIO = 50  # a channel varying over less than 1/50 of the node's range: warned
CHANNEL_SCALE_WARNING = r".*: channel\(s\) [0-9, ]+ vary over"  # its text, to filter it once


def _channels_last(shape: tuple[int, ...]) -> bool:
    """Whether ``(n, a, b, c)`` reads as channels-last ``(n, H, W, C)``: a last axis of 1, 3 or
    4 channels and more than 4 "channels" in front (a grey, RGB or RGBA image of >= 5 rows), or
    a last axis of at most 4 that makes the channels-first reading too small while the
    channels-last one is not (``(n, 4, 4, 3)``, ``(n, 8, 8, 2)``). Shapes that read as images
    both ways (``(n, 4, 16, 4)``) are taken as channels-first: nothing tells them apart.

    >>> [_channels_last(s) for s in [(9, 4, 4, 3), (9, 8, 8, 2), (9, 4, 16, 4), (9, 3, 3, 3)]]
    [True, True, False, False]
    """
    if len(shape) != 4:
        return False
    _, a, b, c = shape
    if c in CHANNEL_COUNTS and a > max(CHANNEL_COUNTS):
        return True
    return c <= max(CHANNEL_COUNTS) and min(b, c) < MIN_SIDE <= min(a, b)


def check_image_layout(role: str, shape: tuple[int, ...]) -> None:
    """Refuse images that are empty, channels-last or smaller than 4x4 pixels (in ``fit``, on
    both routes, and in a counterfactual's factual units).

    >>> check_image_layout("data['I']", (10, 16, 16, 3))
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: data['I'] has shape (10, 16, 16, 3); images are (n, C, H, W) arrays and it looks channels-last (n, H, W, C): give np.moveaxis(images, -1, 1)
    """
    _, c, h, w = shape
    if min(c, h, w) == 0:
        raise DataValidationError(f"{role} has shape {shape}: images without pixels; drop the node")
    if _channels_last(shape):
        raise DataValidationError(
            f"{role} has shape {shape}; images are (n, C, H, W) arrays and it looks "
            "channels-last (n, H, W, C): give np.moveaxis(images, -1, 1)"
        )
    if min(h, w) < MIN_SIDE:
        raise DataValidationError(
            f"{role} has images of {h}x{w} pixels; the image mechanisms need at least "
            f"{MIN_SIDE}x{MIN_SIDE}: upsample them (e.g. images.repeat(2, axis=2).repeat(2, "
            "axis=3)) or give the pixels as tabular nodes"
        )


def layout_hint(shape: tuple[int, ...], expected: tuple[int, ...]) -> str:
    """``"; it looks channels-last ..."`` when moving the last axis of ``shape`` to the front of
    its image axes gives ``expected`` ``(C, H, W)``; ``"; add the channel axis ..."`` for a
    grey image without one; else ``""``.

    >>> layout_hint((5, 4, 16, 4), (4, 4, 16))  # RGBA 4x16 given channels-last: C = H
    '; it looks channels-last (n, H, W, C): give np.moveaxis(images, -1, 1)'
    """
    # images of the expected shape (a wrong number of them) are not channels-last, but C = H
    # is no reason to stay silent: (4, 16, 4) given for (4, 4, 16)
    moved = (shape[-1], *shape[-3:-1]) if len(shape) >= 3 else ()
    if moved == tuple(expected) and tuple(shape[-3:]) != tuple(expected):
        return "; it looks channels-last (n, H, W, C): give np.moveaxis(images, -1, 1)"
    if expected[0] == 1 and tuple(shape[-2:]) == tuple(expected[1:]) and len(shape) in (2, 3):
        return "; add the channel axis of grey images (images[:, None], or image[None])"
    return ""


def scale_problem(got: tuple[float, float], trained: tuple[float, float], whole: bool) -> str:
    """Why images with pixels in ``got`` cannot be given to a model trained on pixels in
    ``trained`` (``""`` if they can): more than the training range's width beyond it (8-bit
    images for a model of ``[0, 1]`` images), or fractions inside ``[0, 1]`` for a model trained
    on whole-number pixels over a range at least 2 wide (``[0, 1]`` images for a model of 8-bit
    images; ``whole``: the given pixels are whole numbers, or the model's training pixels were
    not, so that a dim image of a model of float pixels in ``[0, 10]`` is accepted).

    >>> scale_problem((0.0, 0.8), (0.0, 255.0), whole=False)  # doctest: +ELLIPSIS
    '...pixels in [0, 0.8] but the model was trained on pixels in [0, 255]; ...by 255)'
    >>> scale_problem((0.0, 1.0), (0.0, 255.0), whole=True)  # black and white: fine
    ''
    """
    (got_lo, got_hi), (lo, hi) = got, trained
    width = hi - lo
    seen = f"pixels in [{got_lo:.4g}, {got_hi:.4g}] but the model was trained on pixels in "
    seen += f"[{lo:.4g}, {hi:.4g}]"
    if got_lo < lo - width or got_hi > hi + width:
        return f"{seen}; give images on the training scale (e.g. divide 8-bit images by 255)"
    if width >= 2 and got_lo >= 0 and got_hi <= 1 and not whole:
        return (
            f"{seen}; they look scaled to [0, 1]: give images on the training scale (e.g. "
            "multiply 8-bit images scaled to [0, 1] by 255)"
        )
    return ""


def warn_channel_scales(role: str, images: np.ndarray) -> None:
    """Warn when some channels of ``images`` ``(n, C, H, W)`` vary over less than
    ``1 / CHANNEL_SCALE_RATIO`` of the pixel range of all channels together (an RGB image with
    one channel in ``[0, 255]`` and the others in ``[0, 1]``): one range scales every channel of
    a node (:func:`~deepcause.generative._encoding.image_spec`), so such a channel's detail is
    lost in the generated images. Constant channels are fine (they come back as given).

    >>> x = np.random.default_rng(0).random((5, 3, 4, 4))
    >>> x[:, 0] *= 255
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_channel_scales("data['I']", x)
    >>> print(caught[0].message)  # doctest: +ELLIPSIS
    data['I']: channel(s) 1, 2 vary over [0.01599, 0.9972] at most, 1/255 of the pixel range ...
    """
    lo, hi = float(images.min()), float(images.max())
    low = images.min(axis=(0, 2, 3)).astype(float)
    high = images.max(axis=(0, 2, 3)).astype(float)
    width = high - low
    narrow = [c for c in range(images.shape[1]) if 0 < width[c] * CHANNEL_SCALE_RATIO < hi - lo]
    if not narrow:
        return
    worst = max(narrow, key=lambda c: width[c])
    warnings.warn(
        f"{role}: channel(s) {', '.join(map(str, narrow))} vary over [{low[worst]:.4g}, "
        f"{high[worst]:.4g}] at most, 1/{(hi - lo) / width[worst]:.0f} of the pixel range "
        f"[{lo:.4g}, {hi:.4g}] of all channels, which scales every channel of the node: their "
        "detail is lost in generated images; put the channels on one scale (e.g. divide the "
        "8-bit channels by 255)",
        DeepCauseWarning,
        stacklevel=user_stacklevel(),
    )


def restore_pixels(
    values: Any, dtype: str | None, lo: float | None = None, hi: float | None = None
) -> np.ndarray:
    """Pixels in the training images' dtype: integer and boolean dtypes rounded and kept
    within the dtype's limits; clipped to ``[lo, hi]`` (the training range: generated images)
    when given (images the user gave keep their values). Always a new array.

    >>> restore_pixels(np.array([0.2, 0.7]), "bool")
    array([False,  True])
    """
    kind = np.dtype(dtype or "float32")
    if kind.kind in "iub":
        limits = (0, 1) if kind.kind == "b" else (np.iinfo(kind).min, np.iinfo(kind).max)
        low = limits[0] if lo is None else max(lo, limits[0])
        high = limits[1] if hi is None else min(hi, limits[1])
        return np.clip(np.rint(np.asarray(values, dtype=np.float64)), low, high).astype(kind)
    a = np.array(values, dtype=kind)  # a copy: outputs never share memory with the inputs
    return a if lo is None or hi is None else np.clip(a, kind.type(lo), kind.type(hi))

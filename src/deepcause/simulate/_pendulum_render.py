"""Deterministic, vectorised rendering of the pendulum-and-light scene (CausalVAE's data set).

The scene (after Yang et al. 2021, drawn here by code instead of matplotlib) is a square of
22 x 22 scene units: a pendulum hangs from a pivot at ``(7, 10.5)`` (a rod of length 8 and a
red ball of radius 1.5 at its end, so the ball's far edge is 9.5 from the pivot), an orange
light source sits on the line through the pivot in the light's direction (at height 18) and
the shadow is a dark bar on the ground (``y = -0.5``). The light's direction ``light`` (in
degrees from the horizontal, light coming from the upper left) and the pendulum's ``angle``
(degrees from the vertical) are the causes; the shadow's endpoints are the projections of the
pivot and of the ball's far edge onto the ground along the light's direction
(:func:`shadow_geometry`): its length (at least 3) and its midpoint are deterministic
functions of ``angle`` and ``light``. Shapes are drawn with anti-aliased edges (coverage
``clip(0.5 + (radius - distance) / pixel, 0, 1)``), so the image is a continuous function of
the four concepts and of the style noise (background brightness, ball colour).

>>> length, position = shadow_geometry(np.array([0.0, -30.0]), np.array([120.0, 120.0]))
>>> np.round(length, 2).tolist(), np.round(position, 2).tolist()
([5.48, 9.5], [10.61, 8.6])
>>> render_pendulum([0.0, -30.0], 120.0, length, position, size=28).shape
(2, 3, 28, 28)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import DataValidationError

__all__ = ["PENDULUM_SIZES", "shadow_geometry", "render_pendulum"]

PENDULUM_SIZES = (16, 28, 32)
PIVOT = (7.0, 10.5)
ROD, BALL_RADIUS = 8.0, 1.5
REACH = ROD + BALL_RADIUS  # the ball's far edge, whose projection ends the shadow
GROUND, LIGHT_HEIGHT, LIGHT_RADIUS = -0.5, 18.0, 1.8
MIN_SHADOW = 3.0
_X_RANGE, _Y_RANGE = (-1.0, 21.0), (-1.5, 20.5)
_ROD_WIDTH, _SHADOW_WIDTH = 0.35, 0.5
_SUN = np.array([1.0, 0.62, 0.0], dtype=np.float32)
_DARK = np.array([0.12, 0.12, 0.12], dtype=np.float32)
_SHADE = np.array([0.28, 0.28, 0.28], dtype=np.float32)


def _cot(light_deg: np.ndarray) -> np.ndarray:
    rad = np.deg2rad(light_deg)
    return np.cos(rad) / np.sin(rad)


def shadow_geometry(angle: Any, light: Any) -> tuple[np.ndarray, np.ndarray]:
    """Shadow length and position (midpoint) of the pendulum for ``angle`` and ``light``.

    The shadow spans the ground projections (along the light's direction) of the pivot and of
    the ball's far edge; its length is at least 3 scene units, as in the paper's data.

    >>> length, position = shadow_geometry(0.0, 90.0)   # light from straight above
    >>> float(length), float(position)
    (3.0, 7.0)
    """
    angle = np.asarray(angle, dtype=float)
    cot = _cot(np.asarray(light, dtype=float))
    theta = np.deg2rad(angle)
    start = PIVOT[0] + (GROUND - PIVOT[1]) * cot
    tip_x = PIVOT[0] + REACH * np.sin(theta)
    tip_y = PIVOT[1] - REACH * np.cos(theta)
    end = tip_x + (GROUND - tip_y) * cot
    return np.maximum(MIN_SHADOW, np.abs(end - start)), 0.5 * (start + end)


def _grid(size: int) -> tuple[np.ndarray, np.ndarray, float]:
    pix = (_X_RANGE[1] - _X_RANGE[0]) / size
    xs = _X_RANGE[0] + (np.arange(size) + 0.5) * pix
    ys = _Y_RANGE[1] - (np.arange(size) + 0.5) * pix
    gx, gy = np.meshgrid(xs, ys)
    return gx[None].astype(np.float32), gy[None].astype(np.float32), float(pix)


def _coverage(distance: np.ndarray, radius: float, pix: float) -> np.ndarray:
    return np.clip(0.5 + (radius - distance) / pix, 0.0, 1.0)


def _paint(img: np.ndarray, cover: np.ndarray, color: np.ndarray) -> np.ndarray:
    """Composite ``color`` (3,) or (n, 3) over ``img`` (n, 3, S, S) with coverage (n, S, S)."""
    col = np.asarray(color, dtype=np.float32).reshape(-1, 3)[:, :, None, None]
    return img * (1.0 - cover[:, None]) + col * cover[:, None]


def _segment_distance(gx, gy, x0, y0, x1, y1) -> np.ndarray:
    """Distance of every pixel to the segments ``(x0, y0) -> (x1, y1)`` (arrays of n)."""
    dx, dy = (x1 - x0)[:, None, None], (y1 - y0)[:, None, None]
    px, py = gx - x0[:, None, None], gy - y0[:, None, None]
    t = np.clip((px * dx + py * dy) / np.maximum(dx * dx + dy * dy, 1e-12), 0.0, 1.0)
    return np.hypot(px - t * dx, py - t * dy)


def _vector(name: str, value: Any, n: int | None = None) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if arr.ndim != 1 or (n is not None and len(arr) not in (1, n)):
        raise DataValidationError(
            f"{name} must be a number or one value per image; got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise DataValidationError(f"{name} contains NaN or infinite values")
    return arr if n is None else np.broadcast_to(arr, (n,)).astype(float)


def render_pendulum(
    angle: Any,
    light: Any,
    shadow_length: Any,
    shadow_position: Any,
    size: int = 32,
    style: Any = None,
) -> np.ndarray:
    """Render pendulum scenes: images ``(n, 3, size, size)`` float32 in ``[0, 1]``.

    Parameters
    ----------
    angle, light : float or array of n
        Pendulum angle from the vertical and light direction from the horizontal (degrees).
    shadow_length, shadow_position : float or array of n
        The shadow bar's length and midpoint (scene units; any values, so the shadow can be
        drawn inconsistently with the light, as under ``do(shadow_length)``).
    size : {16, 28, 32}
        Image side.
    style : array (n, 2) in [0, 1], optional
        Style noise: background brightness (0.8 to 1) and the ball's red level (0.7 to 0.95);
        default 0.5 for both.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> img = render_pendulum([10.0, -20.0], 110.0, [4.0, 8.0], [9.0, 11.0], size=16)
    >>> img.shape, img.dtype, bool(img.min() >= 0.0 and img.max() <= 1.0)
    ((2, 3, 16, 16), dtype('float32'), True)
    """
    if size not in PENDULUM_SIZES:
        raise DataValidationError(f"size must be one of {PENDULUM_SIZES}; got {size!r}")
    n = max(
        len(_vector(k, v))
        for k, v in (
            ("angle", angle),
            ("light", light),
            ("shadow_length", shadow_length),
            ("shadow_position", shadow_position),
        )
    )
    theta = np.deg2rad(_vector("angle", angle, n))
    cot = _cot(_vector("light", light, n))
    length = _vector("shadow_length", shadow_length, n)
    mid = _vector("shadow_position", shadow_position, n)
    u = np.full((n, 2), 0.5) if style is None else np.asarray(style, dtype=float).reshape(n, -1)
    gx, gy, pix = _grid(int(size))
    img = np.broadcast_to(
        (0.8 + 0.2 * u[:, 0]).astype(np.float32)[:, None, None, None], (n, 3, size, size)
    ).copy()
    bar = np.maximum(np.abs(gx - mid[:, None, None]) - 0.5 * length[:, None, None], 0.0)
    img = _paint(img, _coverage(np.hypot(bar, gy - GROUND), _SHADOW_WIDTH, pix), _SHADE)
    bx, by = PIVOT[0] + ROD * np.sin(theta), PIVOT[1] - ROD * np.cos(theta)
    px, py = np.full(n, PIVOT[0]), np.full(n, PIVOT[1])
    img = _paint(img, _coverage(_segment_distance(gx, gy, px, py, bx, by), _ROD_WIDTH, pix), _DARK)
    ball = np.column_stack([0.7 + 0.25 * u[:, 1], np.full(n, 0.15), np.full(n, 0.15)])
    dist = np.hypot(gx - bx[:, None, None], gy - by[:, None, None])
    img = _paint(img, _coverage(dist, BALL_RADIUS, pix), ball)
    sx = PIVOT[0] + (LIGHT_HEIGHT - PIVOT[1]) * cot
    dist = np.hypot(gx - sx[:, None, None], gy - LIGHT_HEIGHT)
    img = _paint(img, _coverage(dist, LIGHT_RADIUS, pix), _SUN)
    return np.clip(img, 0.0, 1.0).astype(np.float32)

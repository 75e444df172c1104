"""Exogenous noise distributions for :class:`~deepcause.simulate.scm.Node`: each factory returns
``noise(rng, n)``, a function drawing ``n`` values from a numpy ``Generator``.

>>> import numpy as np
>>> gaussian(0.5)(np.random.default_rng(0), 3).shape
(3,)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["NoiseFn", "gaussian", "uniform", "laplace", "gumbel", "student_t", "no_noise"]

NoiseFn = Callable[[np.random.Generator, int], np.ndarray]


def gaussian(scale: float = 1.0, dim: int = 1) -> NoiseFn:
    """Gaussian noise with standard deviation ``scale``.

    Parameters
    ----------
    scale : float, default 1.0
        Standard deviation.
    dim : int, default 1
        Dimension of the node.

    Returns
    -------
    callable
        ``noise(rng, n)``: ``n`` draws, shape ``(n,)`` (``(n, dim)`` when ``dim > 1``).

    Examples
    --------
    >>> import numpy as np
    >>> round(float(gaussian(2.0)(np.random.default_rng(0), 100_000).std()), 2)
    2.0
    """
    return lambda rng, n: scale * _squeeze(rng.standard_normal((n, dim)))


def uniform(low: float = -1.0, high: float = 1.0, dim: int = 1) -> NoiseFn:
    """Uniform noise on ``[low, high)``.

    Parameters
    ----------
    low, high : float, default -1.0 and 1.0
        The interval.
    dim : int, default 1
        Dimension of the node.

    Returns
    -------
    callable
        ``noise(rng, n)``: ``n`` draws, shape ``(n,)`` (``(n, dim)`` when ``dim > 1``).

    Examples
    --------
    >>> import numpy as np
    >>> uniform(0.0, 1.0, dim=2)(np.random.default_rng(0), 3).shape
    (3, 2)
    """
    return lambda rng, n: _squeeze(rng.uniform(low, high, size=(n, dim)))


def laplace(scale: float = 1.0, dim: int = 1) -> NoiseFn:
    """Laplace noise with scale ``scale`` (std ``sqrt(2) * scale``).

    Parameters
    ----------
    scale : float, default 1.0
        Scale (the mean absolute deviation).
    dim : int, default 1
        Dimension of the node.

    Returns
    -------
    callable
        ``noise(rng, n)``: ``n`` draws, shape ``(n,)`` (``(n, dim)`` when ``dim > 1``).

    Examples
    --------
    >>> import numpy as np
    >>> round(float(laplace(1.0)(np.random.default_rng(0), 100_000).std()), 2)
    1.41
    """
    return lambda rng, n: _squeeze(rng.laplace(0.0, scale, size=(n, dim)))


def gumbel(scale: float = 1.0, dim: int = 1) -> NoiseFn:
    """Gumbel noise (skewed to the right, mean ``0.577 * scale``) with scale ``scale``.

    Parameters
    ----------
    scale : float, default 1.0
        Scale.
    dim : int, default 1
        Dimension of the node.

    Returns
    -------
    callable
        ``noise(rng, n)``: ``n`` draws, shape ``(n,)`` (``(n, dim)`` when ``dim > 1``).

    Examples
    --------
    >>> import numpy as np
    >>> round(float(gumbel()(np.random.default_rng(0), 100_000).mean()), 2)
    0.58
    """
    return lambda rng, n: _squeeze(rng.gumbel(0.0, scale, size=(n, dim)))


def student_t(df: float = 3.0, scale: float = 1.0, dim: int = 1) -> NoiseFn:
    """Heavy-tailed Student-t noise, ``scale`` times a t variable with ``df`` degrees of freedom.

    Parameters
    ----------
    df : float, default 3.0
        Degrees of freedom (the variance is finite for ``df > 2``: ``df / (df - 2)``).
    scale : float, default 1.0
        Multiplier.
    dim : int, default 1
        Dimension of the node.

    Returns
    -------
    callable
        ``noise(rng, n)``: ``n`` draws, shape ``(n,)`` (``(n, dim)`` when ``dim > 1``).

    Examples
    --------
    >>> import numpy as np
    >>> student_t(5.0)(np.random.default_rng(0), 4).shape
    (4,)
    """
    return lambda rng, n: scale * _squeeze(rng.standard_t(df, size=(n, dim)))


def no_noise(dim: int = 1) -> NoiseFn:
    """No exogenous noise: a deterministic node (its noise is zero and draws no random numbers).

    >>> import numpy as np
    >>> no_noise()(np.random.default_rng(0), 3)
    array([0., 0., 0.])
    """
    return lambda rng, n: _squeeze(np.zeros((n, dim)))


def _squeeze(a: np.ndarray) -> np.ndarray:
    return a[:, 0] if a.ndim == 2 and a.shape[1] == 1 else a

"""Error metrics for effect estimates, counterfactuals, generated distributions and images.

Image metrics (attribute TV, feature MMD, and the counterfactual-image axioms of Monteiro et
al. 2023: effectiveness, composition, reversibility, realism, exact pixel error) take images
``(n, C, H, W)`` and an attribute reader; see :mod:`deepcause._image_metrics`.

>>> ate_error(4.2, 4.0)
0.2
>>> round(pehe([1.0, 2.0, 3.0], [1.0, 2.0, 5.0]), 4)
1.1547
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from ._image_metrics import *  # noqa: F403 (re-exports _IMAGE_METRICS)
from ._image_metrics import __all__ as _IMAGE_METRICS
from ._image_metrics import features_of
from .exceptions import DataValidationError

__all__ = [
    "ate_error",
    "pehe",
    "policy_risk",
    "replication_summary",
    "mmd_rbf",
    "wasserstein_1d",
    "interventional_mean_error",
    "counterfactual_rmse",
    "feature_mmd",
    *_IMAGE_METRICS,
]


def _value(x: Any) -> float:
    """A float from a number or anything with a ``value`` attribute (EffectEstimate)."""
    return float(getattr(x, "value", x))


def _vector(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float).ravel()
    if arr.size == 0:
        raise DataValidationError(f"{name} is empty")
    if not np.all(np.isfinite(arr)):
        raise DataValidationError(f"{name} contains NaN or infinite values")
    return arr


def _same_length(a: np.ndarray, b: np.ndarray, names: str) -> None:
    if a.shape != b.shape:
        raise DataValidationError(f"{names} must have the same length; got {a.size} and {b.size}")


def ate_error(estimate: Any, truth: float) -> float:
    """Absolute error ``|estimate - truth|`` (``estimate`` may be an EffectEstimate).

    >>> from deepcause.results import EffectEstimate
    >>> ate_error(EffectEstimate(value=1.5), 2.0)
    0.5
    """
    return abs(_value(estimate) - float(truth))


def pehe(tau_hat: Any, tau_true: Any = None, *, mu0: Any = None, mu1: Any = None) -> float:
    """Root PEHE: ``sqrt(mean((tau_hat - tau)^2))`` with ``tau = tau_true`` or ``mu1 - mu0``.

    >>> pehe([2.0, 2.0], mu0=[0.0, 0.0], mu1=[1.0, 3.0])
    1.0
    """
    est = _vector(tau_hat, "tau_hat")
    if tau_true is None:
        if mu0 is None or mu1 is None:
            raise DataValidationError("pehe needs tau_true or both mu0 and mu1")
        tau = _vector(mu1, "mu1") - _vector(mu0, "mu0")
    else:
        tau = _vector(tau_true, "tau_true")
    _same_length(est, tau, "tau_hat and the true effects")
    return float(np.sqrt(np.mean((est - tau) ** 2)))


def policy_risk(tau_hat: Any, t: Any, y: Any, e: Any = None, threshold: float = 0.0) -> float:
    """Policy risk of Shalit, Johansson & Sontag (2017), as used on Jobs.

    The policy treats units with ``tau_hat > threshold``. On randomized units (``e == 1``,
    all units when ``e`` is None) its value is estimated as
    ``P(pi=1) E[Y | T=1, pi=1] + P(pi=0) E[Y | T=0, pi=0]`` and the risk is ``1 - value``
    (outcomes are taken to be in [0, 1], e.g. employment). A group with no unit where policy
    and treatment agree contributes 0.

    >>> policy_risk([1, 1, -1, -1], t=[1, 0, 1, 0], y=[1, 0, 0, 1])
    0.0
    >>> policy_risk([-1, -1, 1, 1], t=[1, 0, 1, 0], y=[1, 0, 0, 1])
    1.0
    """
    tau = _vector(tau_hat, "tau_hat")
    tt = _vector(t, "t")
    yy = _vector(y, "y")
    _same_length(tau, tt, "tau_hat and t")
    _same_length(tau, yy, "tau_hat and y")
    if e is not None:
        keep = _vector(e, "e") == 1
        _same_length(tau, keep, "tau_hat and e")
        if not keep.any():
            raise DataValidationError("policy_risk: no unit has e == 1 (randomized units)")
        tau, tt, yy = tau[keep], tt[keep], yy[keep]
    policy = tau > threshold
    treat = policy & (tt == 1)
    control = ~policy & (tt == 0)
    value_t = yy[treat].mean() if treat.any() else 0.0
    value_c = yy[control].mean() if control.any() else 0.0
    share = policy.mean()
    return float(1.0 - (share * value_t + (1.0 - share) * value_c))


def replication_summary(
    estimates: Sequence[Any], truths: Any, alpha: float = 0.05
) -> dict[str, float]:
    """Summary of an estimator over replications (one estimate and one truth each).

    ``truths`` is a sequence or one number for all. Returns ``n``, ``bias`` (mean error),
    ``sd`` (std of the estimates, ddof=1), ``mae``, ``rmse``, ``median_abs_error``,
    ``se_mae`` (s.e. of the MAE), ``mean_estimate``, ``se_mean`` (s.e. of the mean estimate),
    ``median_estimate``, ``max_abs_error``; when the estimates are EffectEstimates with
    standard errors also ``coverage`` of their ``1 - alpha`` intervals.

    >>> s = replication_summary([1.0, 2.0, 3.0], 2.0)
    >>> s["bias"], round(s["mae"], 4), round(s["rmse"], 4), s["sd"]
    (0.0, 0.6667, 0.8165, 1.0)
    """
    values = _vector([_value(e) for e in estimates], "estimates")
    truth = np.broadcast_to(np.asarray(truths, dtype=float), values.shape).astype(float)
    if not np.all(np.isfinite(truth)):
        raise DataValidationError("truths contains NaN or infinite values")
    err = values - truth
    abs_err = np.abs(err)
    n = values.size
    ddof = 1 if n > 1 else 0
    out = {
        "n": float(n),
        "bias": float(err.mean()),
        "sd": float(values.std(ddof=ddof)),
        "mae": float(abs_err.mean()),
        "se_mae": float(abs_err.std(ddof=ddof) / np.sqrt(n)),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "median_abs_error": float(np.median(abs_err)),
        "max_abs_error": float(abs_err.max()),
        "mean_estimate": float(values.mean()),
        "se_mean": float(values.std(ddof=ddof) / np.sqrt(n)),
        "median_estimate": float(np.median(values)),
    }
    if all(hasattr(e, "conf_int") for e in estimates):
        bounds = np.array([e.conf_int(alpha) for e in estimates], dtype=float)
        if np.all(np.isfinite(bounds)):
            out["coverage"] = float(np.mean((bounds[:, 0] <= truth) & (truth <= bounds[:, 1])))
    return out


def _as_2d(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or len(arr) < 2:
        raise DataValidationError(
            f"{name} must be a (n, d) array with n >= 2; got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise DataValidationError(f"{name} contains NaN or infinite values")
    return arr


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def mmd_rbf(
    x: Any,
    y: Any,
    bandwidth: float | None = None,
    unbiased: bool = True,
    max_samples: int = 2000,
    random_state: int | None = 0,
) -> float:
    """Squared maximum mean discrepancy with a Gaussian kernel (Gretton et al. 2012).

    ``k(a, b) = exp(-||a - b||^2 / (2 h^2))``; ``h`` defaults to the median heuristic (median
    pairwise distance of the pooled sample, on at most 1000 points). ``unbiased=True`` returns
    the U-statistic MMD^2_u (can be slightly negative when the distributions are equal);
    ``False`` the biased V-statistic (always >= 0). Samples larger than ``max_samples`` are
    subsampled (seeded by ``random_state``). ``x``, ``y``: arrays ``(n, d)`` or ``(n,)``.

    >>> rng = np.random.default_rng(0)
    >>> same = mmd_rbf(rng.normal(size=(300, 2)), rng.normal(size=(300, 2)))
    >>> shifted = mmd_rbf(rng.normal(size=(300, 2)), rng.normal(1.0, 1.0, size=(300, 2)))
    >>> bool(abs(same) < 0.01 < shifted)
    True
    """
    a, b = _as_2d(x, "x"), _as_2d(y, "y")
    if a.shape[1] != b.shape[1]:
        raise DataValidationError(
            f"x and y must have the same number of columns; got {a.shape[1]} and {b.shape[1]}"
        )
    rng = np.random.default_rng(random_state)
    if len(a) > max_samples:
        a = a[rng.choice(len(a), max_samples, replace=False)]
    if len(b) > max_samples:
        b = b[rng.choice(len(b), max_samples, replace=False)]
    if bandwidth is None:
        pooled = np.vstack([a, b])
        if len(pooled) > 1000:
            pooled = pooled[rng.choice(len(pooled), 1000, replace=False)]
        d = np.sqrt(_sq_dists(pooled, pooled))
        h = float(np.median(d[np.triu_indices(len(pooled), 1)]))
        h = h if h > 0 else 1.0
    else:
        h = float(bandwidth)
        if not h > 0:
            raise DataValidationError(f"bandwidth must be positive; got {bandwidth!r}")
    gamma = 1.0 / (2.0 * h * h)
    kxx = np.exp(-gamma * _sq_dists(a, a))
    kyy = np.exp(-gamma * _sq_dists(b, b))
    kxy = np.exp(-gamma * _sq_dists(a, b))
    m, n = len(a), len(b)
    if unbiased:
        sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    else:
        sxx, syy = kxx.mean(), kyy.mean()
    return float(sxx + syy - 2.0 * kxy.mean())


def feature_mmd(x: Any, y: Any, reader: Any = None, **kwargs: Any) -> float:
    """Squared MMD (:func:`mmd_rbf`) between the reader features of two image samples.

    ``x``, ``y``: images ``(n, C, H, W)`` with a ``reader`` (an object with
    ``features(images)``, e.g. from :func:`deepcause.simulate.train_attribute_readers`), or
    ``(n, k)`` features without; ``kwargs`` go to :func:`mmd_rbf`. The metrics of image
    samples and counterfactual images (:func:`attribute_tv`, :func:`realism`,
    :func:`effectiveness`, :func:`composition`, :func:`reversibility`,
    :func:`counterfactual_pixel_error`) are described in :mod:`deepcause._image_metrics`.

    >>> rng = np.random.default_rng(0)
    >>> f, g = rng.normal(size=(200, 3)), rng.normal(size=(200, 3))
    >>> bool(feature_mmd(f, g) == feature_mmd(g, f))
    True
    """
    return mmd_rbf(features_of(reader, x, "x"), features_of(reader, y, "y"), **kwargs)


def wasserstein_1d(u: Any, v: Any) -> float:
    """1-Wasserstein (earth mover's) distance between two one-dimensional samples.

    >>> wasserstein_1d([0.0, 1.0], [1.0, 2.0])
    1.0
    """
    return float(stats.wasserstein_distance(_vector(u, "u"), _vector(v, "v")))


def interventional_mean_error(samples: Any, truth: Any, scale: float | None = None) -> float:
    """``|mean(samples) - E_true| / scale``: error of an E[Y | do(x)] in units of ``scale``.

    ``truth`` is either the true mean (a number; ``scale`` is then required, usually the
    standard deviation of the observed Y) or samples from the true interventional
    distribution (their mean is used; ``scale`` defaults to their standard deviation).

    >>> interventional_mean_error([1.0, 2.0, 3.0], 1.5, scale=2.0)
    0.25
    >>> interventional_mean_error([0.0, 2.0], [1.0, 2.0, 3.0])
    1.0
    """
    est = _vector(samples, "samples").mean()
    t = np.asarray(truth, dtype=float)
    if t.ndim == 0:
        if scale is None:
            raise DataValidationError(
                "scale is required when truth is a number (pass e.g. the std of observed Y)"
            )
        true_mean = float(t)
    else:
        t = _vector(t, "truth samples")
        true_mean = float(t.mean())
        if scale is None:
            scale = float(t.std(ddof=1)) if t.size > 1 else 1.0
    if not scale > 0:
        raise DataValidationError(f"scale must be positive; got {scale!r}")
    return float(abs(est - true_mean) / scale)


def counterfactual_rmse(pred: Any, truth: Any, scale: float | None = None) -> float:
    """Root mean squared error of counterfactual predictions, divided by ``scale`` if given.

    >>> counterfactual_rmse([1.0, 3.0], [1.0, 1.0])
    1.4142135623730951
    >>> counterfactual_rmse([1.0, 3.0], [1.0, 1.0], scale=np.sqrt(2))
    1.0
    """
    p = np.asarray(pred, dtype=float)
    t = np.asarray(truth, dtype=float)
    if p.shape != t.shape:
        raise DataValidationError(
            f"pred and truth must have the same shape; got {p.shape} and {t.shape}"
        )
    if p.size == 0 or not (np.all(np.isfinite(p)) and np.all(np.isfinite(t))):
        raise DataValidationError("pred and truth must be non-empty and finite")
    rmse = float(np.sqrt(np.mean((p - t) ** 2)))
    if scale is None:
        return rmse
    if not scale > 0:
        raise DataValidationError(f"scale must be positive; got {scale!r}")
    return rmse / float(scale)

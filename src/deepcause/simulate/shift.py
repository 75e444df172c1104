"""The selection-bias simulation of the stable-learning literature (Kuang et al. 2018, 2020;
Shen et al. 2020), written from its description.

``X = [S, V]``: ``p_s = p/2`` stable variables ``S_j = 0.8 Z_j + 0.2 Z_{j+1}`` (``Z`` standard
normal) and ``p_v = p/2`` unstable ones ``V ~ N(0, I)``, independent of ``S``. Outcome
``Y = f(S) + N(0, 0.3)`` with ``f(S) = S beta_S`` plus ``S1 S2 S3`` (``kind="poly"``),
``exp(S1 S2 S3)`` (``"exp"``) or nothing (``"linear"``); ``beta_S`` repeats
``[1/3, -2/3, 1, -1/3, 2/3, -1]`` and ``beta_V = 0``. Selection bias on the last
``p_b = p/10`` columns of ``V`` (``V_b``): a candidate unit is kept with probability
``prod_b |r|^(-5 |f(S) - sign(r) V_b|)``, so for ``r > 1`` the spurious ``V_b`` tracks
``f(S)`` and for ``r < -1`` it tracks ``-f(S)``; ``|r|`` sets the strength.

>>> X, y, info = make_covariate_shift(500, p=10, r=2.5, random_state=0)
>>> X.shape, info["beta_s"][:3].round(3).tolist(), info["stable"][:5].tolist()
((500, 10), [0.333, -0.667, 1.0], [True, True, True, True, True])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import DataValidationError

__all__ = ["make_covariate_shift", "TEST_RATES", "beta_stable"]

TEST_RATES = (-3.0, -2.0, -1.7, -1.5, -1.3, 1.3, 1.5, 1.7, 2.0, 3.0)
_NOISE_VAR = 0.3


def beta_stable(p_s: int) -> np.ndarray:
    """``[1/3, -2/3, 1, -1/3, 2/3, -1]`` repeated to length ``p_s``."""
    base = np.array([1 / 3, -2 / 3, 1.0, -1 / 3, 2 / 3, -1.0])
    return np.resize(base, p_s)


def _candidates(
    rng: np.random.Generator, m: int, p: int, kind: str, beta: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p_s = p - p // 2
    Z = rng.standard_normal((m, p_s + 1))
    S = 0.8 * Z[:, :p_s] + 0.2 * Z[:, 1:]
    V = rng.standard_normal((m, p // 2))
    f = S @ beta
    if kind != "linear":
        triple = S[:, 0] * S[:, 1] * S[:, 2]
        f = f + (triple if kind == "poly" else np.exp(triple))
    return S, V, f


def make_covariate_shift(
    n: int,
    p: int = 10,
    r: float = 2.5,
    kind: str = "poly",
    random_state: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Draw ``n`` selected units; returns ``X`` (n, p), ``y`` (n,) and an info dict.

    ``info``: ``beta_s`` (true stable coefficients), ``stable`` (mask of the S columns),
    ``biased`` (mask of V_b), ``f`` (noiseless f(S)), ``p_s``, ``r``, ``kind``.
    Candidates are drawn in vectorized batches until ``n`` are accepted.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise DataValidationError(f"n must be a positive integer; got {n!r}")
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 10 or p % 10:
        raise DataValidationError(f"p must be a multiple of 10 (10, 20, ...); got {p!r}")
    if kind not in ("poly", "linear", "exp"):
        raise DataValidationError(f"kind must be 'poly', 'linear' or 'exp'; got {kind!r}")
    r = float(r)
    if not abs(r) > 1:
        raise DataValidationError(f"r must satisfy |r| > 1 (bias rate); got {r!r}")
    rng = np.random.default_rng(random_state)
    p_s, p_b = p - p // 2, p // 10
    beta = beta_stable(p_s)
    parts_s, parts_v, parts_f, total = [], [], [], 0
    while total < n:
        S, V, f = _candidates(rng, max(4 * n, 1000), p, kind, beta)
        dist = np.abs(f[:, None] - np.sign(r) * V[:, -p_b:]).sum(1)
        keep = rng.random(len(f)) < np.power(abs(r), -5.0 * dist)
        parts_s.append(S[keep])
        parts_v.append(V[keep])
        parts_f.append(f[keep])
        total += int(keep.sum())
    S = np.concatenate(parts_s)[:n]
    V = np.concatenate(parts_v)[:n]
    f = np.concatenate(parts_f)[:n]
    y = f + np.sqrt(_NOISE_VAR) * rng.standard_normal(n)
    stable = np.zeros(p, dtype=bool)
    stable[:p_s] = True
    biased = np.zeros(p, dtype=bool)
    biased[p - p_b :] = True
    info = {
        "beta_s": beta,
        "stable": stable,
        "biased": biased,
        "f": f,
        "p_s": p_s,
        "r": r,
        "kind": kind,
    }
    return np.column_stack([S, V]), y, info

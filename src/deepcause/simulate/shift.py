"""The covariate-shift design of the stable-learning literature (Kuang et al. 2018, 2020;
Shen et al. 2020), written from its description as an :class:`SCM` with a selection node.

``X = [S, V]``: ``p_s = p/2`` stable variables ``S_j = 0.8 Z_j + 0.2 Z_{j+1}`` (``Z`` standard
normal) and ``p_v = p/2`` unstable ones ``V ~ N(0, I)``, independent of ``S``. Outcome
``Y = f(S) + N(0, 0.3)`` with ``f(S) = S beta_S`` plus ``S1 S2 S3`` (``kind="poly"``),
``exp(S1 S2 S3)`` (``"exp"``) or nothing (``"linear"``); ``beta_S`` repeats
``[1/3, -2/3, 1, -1/3, 2/3, -1]`` and ``beta_V = 0``. Selection bias on the last
``p_b = p/10`` columns of ``V`` (``V_b``): a unit is kept (latent node ``keep`` equal to 1)
with probability ``prod_b |r|^(-5 |f(S) - sign(r) V_b|)``, so for ``r > 1`` the spurious
``V_b`` tracks ``f(S)`` and for ``r < -1`` it tracks ``-f(S)``; ``|r|`` sets the strength.

>>> ds = make_covariate_shift(500, p=10, r=2.5, random_state=0)
>>> X, y = ds.data[list(ds.covariates)].to_numpy(), ds.data[ds.outcome].to_numpy()
>>> X.shape, ds.truth["beta_s"][:3].round(3).tolist(), ds.truth["stable"][:5].tolist()
((500, 10), [0.333, -0.667, 1.0], [True, True, True, True, True])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..datasets.dataset import CausalDataset
from ..exceptions import DataValidationError
from ._common import check_choice, check_int, noiseless, zero_noise
from .scm import SCM, Node, gaussian, uniform

__all__ = ["make_covariate_shift", "covariate_shift_scm", "TEST_RATES", "beta_stable"]

TEST_RATES = (-3.0, -2.0, -1.7, -1.5, -1.3, 1.3, 1.5, 1.7, 2.0, 3.0)
_NOISE_VAR = 0.3


def beta_stable(p_s: int) -> np.ndarray:
    """``[1/3, -2/3, 1, -1/3, 2/3, -1]`` repeated to length ``p_s``.

    Examples
    --------
    >>> beta_stable(7).round(2).tolist()
    [0.33, -0.67, 1.0, -0.33, 0.67, -1.0, 0.33]
    """
    base = np.array([1 / 3, -2 / 3, 1.0, -1 / 3, 2 / 3, -1.0])
    return np.resize(base, p_s)


def _check(p: int, r: float, kind: str) -> tuple[int, float, str]:
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 10 or p % 10:
        raise DataValidationError(f"p must be a multiple of 10 (10, 20, ...); got {p!r}")
    check_choice("kind", kind, ("poly", "linear", "exp"))
    r = float(r)
    if not abs(r) > 1:
        raise DataValidationError(f"r must satisfy |r| > 1 (bias rate); got {r!r}")
    return int(p), r, kind


def covariate_shift_scm(p: int = 10, r: float = 2.5, kind: str = "poly") -> SCM:
    """The SCM of :func:`make_covariate_shift` (arguments as there).

    Nodes ``S`` (``p/2`` columns ``S1..``), ``V`` (``V1..``), ``y`` and the latent selection
    indicator ``keep``; the data of the design are the units with ``keep == 1``.

    Examples
    --------
    >>> scm = covariate_shift_scm(10)
    >>> scm.columns[:2], scm.columns[-1], str(scm.graph)
    (['S1', 'S2'], 'y', 'S -> y; V')
    """
    p, r, kind = _check(p, r, kind)
    p_s, p_v, p_b = p - p // 2, p // 2, p // 10
    beta = beta_stable(p_s)

    def mixed(rng: np.random.Generator, n: int) -> np.ndarray:
        Z = rng.standard_normal((n, p_s + 1))
        return 0.8 * Z[:, :p_s] + 0.2 * Z[:, 1:]

    def f(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
        S = pa["S"]
        out = S @ beta
        if kind != "linear":
            triple = S[:, 0] * S[:, 1] * S[:, 2]
            out = out + (triple if kind == "poly" else np.exp(triple))
        return out + u

    def keep(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
        dist = np.abs(f(pa, 0.0)[:, None] - np.sign(r) * pa["V"].reshape(len(u), -1)[:, -p_b:])
        return u < np.power(abs(r), -5.0 * dist.sum(1))

    return SCM(
        [
            Node("S", (), lambda pa, u: u, mixed, p_s, column_names=_names("S", p_s)),
            Node("V", noise=gaussian(1.0, p_v), dim=p_v, column_names=_names("V", p_v)),
            Node("keep", ("S", "V"), keep, uniform(0.0, 1.0), latent=True, discrete=True),
            Node("y", ("S",), f, gaussian(np.sqrt(_NOISE_VAR))),
        ]
    )


def _names(prefix: str, k: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, k + 1))


def make_covariate_shift(
    n: int,
    p: int = 10,
    r: float = 2.5,
    kind: str = "poly",
    random_state: int | np.random.Generator | None = None,
) -> CausalDataset:
    """Draw ``n`` selected units of the covariate-shift design.

    Candidates are drawn from the SCM in vectorized batches until ``n`` have ``keep == 1``
    (the outcome noise, independent of the selection, is drawn for the kept units only).

    Parameters
    ----------
    n : int
        Number of selected units.
    p : int, default 10
        Number of covariates, a multiple of 10.
    r : float, default 2.5
        Bias rate, ``|r| > 1``; its sign says whether ``V_b`` tracks ``f(S)`` or ``-f(S)``.
    kind : {"poly", "linear", "exp"}
        The nonlinear part of ``f``.
    random_state : int, Generator or None
        Seed of the draw.

    Returns
    -------
    CausalDataset
        Columns ``S1.., V1.., y``; roles outcome ``y`` and covariates (all ``p`` columns, the
        ``X`` of the stable learners). Truth by intervention on ``ds.scm``: ``beta_s`` (slopes
        of the noiseless ``y`` under ``do(S = +-e_j)``), ``f`` (each unit's noiseless outcome),
        ``stable`` (mask of the covariates that cause ``y`` in the graph) and ``biased`` (mask
        of the ``V_b`` the selection acts on). ``extras``: ``p_s``, ``r``, ``kind``.

    Examples
    --------
    >>> ds = make_covariate_shift(300, p=10, r=-2.0, random_state=1)
    >>> ds.data.shape, int(ds.truth["biased"].sum()), ds.extras["p_s"]
    ((300, 11), 1, 5)
    """
    n = check_int("n", n)
    scm = covariate_shift_scm(p, r, kind)
    rng = np.random.default_rng(random_state)
    upstream = [name for name in scm.order if name != "y"]
    kept: list[dict[str, np.ndarray]] = []
    total, m = 0, max(4 * n, 1000)
    while total < n:
        noise = {name: scm.nodes[name].draw_noise(rng, m) for name in upstream}
        mask = scm.propagate({**noise, "y": np.zeros(m)})["keep"] == 1
        kept.append({k: v[mask] for k, v in noise.items()})
        total += int(mask.sum())
    units = {k: np.concatenate([b[k] for b in kept])[:n] for k in upstream}
    # y's noise is independent of selection, so it is drawn for the kept units only
    units["y"] = scm.nodes["y"].draw_noise(rng, n)
    data = scm.to_frame(scm.propagate(units))
    covs = [c for c in data.columns if c != "y"]
    return CausalDataset(
        pd.DataFrame(data[[*covs, "y"]]),
        {"outcome": "y", "covariates": covs},
        _shift_truth(scm, units, covs, p // 10),
        scm=scm,
        extras={"p_s": p - p // 2, "r": float(r), "kind": kind},
        description=(
            f"simulated covariate shift (stable learning): {p} covariates, r={float(r):g}, "
            f"{kind} outcome; selection keeps units whose last {p // 10} V track f(S)"
        ),
    )


def _shift_truth(
    scm: SCM, units: dict[str, np.ndarray], covs: list[str], p_b: int
) -> dict[str, np.ndarray]:
    p_s = scm.nodes["S"].dim
    at = np.vstack([np.eye(p_s), -np.eye(p_s)])  # do(S = e_j) and do(S = -e_j)
    y_at = noiseless(scm, zero_noise(scm, 2 * p_s), tuple(units), {"S": at})["y"]
    stable = np.isin(covs, sorted(scm.column_graph.parents("y")))
    biased = np.zeros(len(covs), dtype=bool)
    biased[len(covs) - p_b :] = True
    return {
        "beta_s": (y_at[:p_s] - y_at[p_s:]) / 2.0,
        "f": noiseless(scm, units, ("y",))["y"],
        "stable": stable,
        "biased": biased,
    }

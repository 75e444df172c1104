"""Structural causal models with known effects, for testing estimators against the truth.

Each simulator is written once as a function ``_draw(rng, n, do=...)`` of its structural
equations; the ground truth is obtained by *intervening on that same function*: the sample truth
from the units' own noiseless potential outcomes ``mu0``/``mu1`` (``do(T=0)``/``do(T=1)`` with
the units' covariates), the population truth from a large fresh draw under ``do`` (keys ending
in ``_pop``), so no truth is derived by hand from a formula that could disagree with the code.

>>> ds = make_confounded_binary(2000, random_state=0)
>>> ds.data.shape, ds.truth["ATE"]
((2000, 7), 2.0)
>>> naive = ds.data.groupby("t")["y"].mean().diff().iloc[-1]
>>> bool(naive > ds.truth["ATE"] + 0.5)   # confounding biases the naive contrast upwards
True
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from ..datasets.loaders import CausalDataset
from ..exceptions import DataValidationError

__all__ = [
    "make_confounded_binary",
    "make_nonlinear_confounded",
    "make_limited_overlap",
    "make_frontdoor",
    "make_selection",
]

_POP_N = 200_000


def _rng(random_state: Any) -> np.random.Generator:
    return np.random.default_rng(random_state)


def _check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise DataValidationError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _check_positive(name: str, value: Any) -> float:
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise DataValidationError(f"{name} must be a positive number; got {value!r}")
    return value


# --------------------------------------------------------------------------- binary treatment
def _surfaces(
    X: np.ndarray, outcome: str, effect: str, strength: float
) -> tuple[np.ndarray, np.ndarray]:
    """Noiseless potential outcomes (mu0, mu1) of the covariates ``X`` (the do(T) equations)."""
    p = X.shape[1]
    s = _score(X)
    w = 1.0 / np.arange(1, p + 1)
    if outcome == "linear":
        mu0 = X @ w + 2.0 * strength * s
    else:
        mu0 = (
            np.sin(2.0 * X[:, 0])
            + 0.5 * X[:, 1 % p] ** 2
            + strength * (2.0 * s + np.exp(0.5 * s) - np.exp(0.125))
        )
    if effect == "constant":
        tau = np.full(len(X), 2.0)
    else:
        tau = 2.0 + X[:, 0] + 0.5 * (X[:, 1 % p] ** 2 - 1.0)
    return mu0, mu0 + tau


def _score(X: np.ndarray) -> np.ndarray:
    """The confounding direction s(x) = x @ a with ||a|| = 1, so s ~ N(0, 1)."""
    a = np.linspace(1.0, 0.2, X.shape[1])
    return X @ (a / np.linalg.norm(a))


def _draw_binary(
    rng: np.random.Generator,
    n: int,
    p: int,
    outcome: str,
    effect: str,
    strength: float,
    overlap: float,
    noise: float,
    do: int | None = None,
) -> dict[str, np.ndarray]:
    X = rng.standard_normal((n, p))
    e = expit(strength * _score(X) / overlap)
    t = (rng.random(n) < e).astype(np.int64) if do is None else np.full(n, do, dtype=np.int64)
    mu0, mu1 = _surfaces(X, outcome, effect, strength)
    y = np.where(t == 1, mu1, mu0) + noise * rng.standard_normal(n)
    return {"X": X, "e": e, "t": t, "mu0": mu0, "mu1": mu1, "y": y}


def _population_truth(draw: Callable[..., dict[str, np.ndarray]], seed: int) -> dict[str, float]:
    """ATE/ATT/ATC of the population by intervening on a large fresh draw of the simulator."""
    pop = draw(np.random.default_rng(seed), _POP_N)
    y1 = draw(np.random.default_rng(seed), _POP_N, do=1)["y"]
    y0 = draw(np.random.default_rng(seed), _POP_N, do=0)["y"]
    # the same seed gives the same units and noise draws, so y1 - y0 is the unit-level effect
    diff, t = y1 - y0, pop["t"]
    return {
        "ATE_pop": float(diff.mean()),
        "ATT_pop": float(diff[t == 1].mean()),
        "ATC_pop": float(diff[t == 0].mean()),
    }


def make_confounded_binary(
    n: int,
    n_covariates: int = 5,
    effect: str = "constant",
    confounding_strength: float = 1.0,
    overlap: float = 1.0,
    outcome: str = "linear",
    noise: float = 1.0,
    population_truth: bool = True,
    random_state: int | np.random.Generator | None = None,
) -> CausalDataset:
    """Binary treatment confounded by Gaussian covariates ``x1..xp``, with known effects.

    SCM: ``X ~ N(0, I_p)``; ``s = X @ a`` (unit-norm ``a``, so ``s ~ N(0, 1)``);
    ``T ~ Bernoulli(expit(confounding_strength * s / overlap))``;
    ``Y = mu_T(X) + noise * eps``. ``mu0`` is linear (``X @ w + 2 * strength * s``) or, with
    ``outcome="nonlinear"``, ``sin(2 x1) + x2^2 / 2 + strength * (2 s + exp(s/2) - exp(1/8))``;
    the effect ``mu1 - mu0`` is 2 (``effect="constant"``) or
    ``2 + x1 + (x2^2 - 1) / 2`` (``"heterogeneous"``, population ATE 2).
    Smaller ``overlap`` pushes propensities towards 0 and 1 (``overlap=1``: most in
    [0.2, 0.8]; ``overlap=0.2``: many below 0.02 or above 0.98).

    ``truth`` has the sample ``ATE``/``ATT``/``ATC`` (means of ``mu1 - mu0``) and, when
    ``population_truth``, ``ATE_pop``/``ATT_pop``/``ATC_pop`` from 200,000 fresh units under
    ``do(T=1)`` and ``do(T=0)``. ``extras["propensity"]`` holds the true propensity scores.

    >>> ds = make_confounded_binary(500, effect="heterogeneous", random_state=1)
    >>> round(ds.truth["ATE_pop"], 1), bool(ds.truth["ATT_pop"] > ds.truth["ATC_pop"])
    (2.0, True)
    """
    n = _check_positive_int("n", n, 2)
    p = _check_positive_int("n_covariates", n_covariates, 2)
    if effect not in ("constant", "heterogeneous"):
        raise DataValidationError(f"effect must be 'constant' or 'heterogeneous'; got {effect!r}")
    if outcome not in ("linear", "nonlinear"):
        raise DataValidationError(f"outcome must be 'linear' or 'nonlinear'; got {outcome!r}")
    strength = float(confounding_strength)
    if not np.isfinite(strength) or strength < 0:
        raise DataValidationError(
            f"confounding_strength must be a number >= 0; got {confounding_strength!r}"
        )
    overlap = _check_positive("overlap", overlap)
    noise = float(noise)
    if not np.isfinite(noise) or noise < 0:
        raise DataValidationError(f"noise must be a number >= 0; got {noise!r}")
    rng = _rng(random_state)

    def draw(g: np.random.Generator, size: int, do: int | None = None) -> dict[str, np.ndarray]:
        return _draw_binary(g, size, p, outcome, effect, strength, overlap, noise, do)

    sim = draw(rng, n)
    t = sim["t"]
    tau = sim["mu1"] - sim["mu0"]
    truth = {
        "ATE": float(tau.mean()),
        "ATT": float(tau[t == 1].mean()) if t.any() else float("nan"),
        "ATC": float(tau[t == 0].mean()) if (t == 0).any() else float("nan"),
    }
    if population_truth:
        truth.update(_population_truth(draw, int(rng.integers(2**31))))
    covs = tuple(f"x{i}" for i in range(1, p + 1))
    data = pd.DataFrame(sim["X"], columns=list(covs))
    data.insert(0, "y", sim["y"])
    data.insert(0, "t", t)
    return CausalDataset(
        data=data,
        treatment="t",
        outcome="y",
        covariates=covs,
        truth=truth,
        mu0=sim["mu0"],
        mu1=sim["mu1"],
        description=(
            f"simulated: {p} Gaussian confounders, {outcome} outcome, {effect} effect, "
            f"confounding_strength={strength:g}, overlap={overlap:g}, noise sd {noise:g}"
        ),
        extras={"propensity": sim["e"]},
    )


def make_nonlinear_confounded(
    n: int, n_covariates: int = 5, effect: str = "heterogeneous", **kwargs: Any
) -> CausalDataset:
    """:func:`make_confounded_binary` with the nonlinear outcome surface.

    >>> ds = make_nonlinear_confounded(300, random_state=0, population_truth=False)
    >>> sorted(ds.truth)
    ['ATC', 'ATE', 'ATT']
    """
    return make_confounded_binary(n, n_covariates, effect=effect, outcome="nonlinear", **kwargs)


def make_limited_overlap(
    n: int, n_covariates: int = 5, overlap: float = 0.25, **kwargs: Any
) -> CausalDataset:
    """:func:`make_confounded_binary` with poor overlap (propensities near 0 and 1).

    >>> ds = make_limited_overlap(2000, random_state=0, population_truth=False)
    >>> e = ds.extras["propensity"]
    >>> bool(((e < 0.02) | (e > 0.98)).mean() > 0.2)
    True
    """
    return make_confounded_binary(n, n_covariates, overlap=overlap, **kwargs)


# --------------------------------------------------------------------------- front door
def _draw_frontdoor(
    rng: np.random.Generator, n: int, binary: bool, do: float | None = None
) -> pd.DataFrame:
    u = rng.standard_normal(n)
    if binary:
        x = (rng.random(n) < expit(1.5 * u)).astype(np.int64)
        if do is not None:
            x = np.full(n, int(do), dtype=np.int64)
        m = (rng.random(n) < expit(-1.0 + 2.0 * x)).astype(np.int64)
        y = (rng.random(n) < expit(-0.5 + 1.5 * m + 1.5 * u)).astype(np.int64)
    else:
        x = u + rng.standard_normal(n)
        if do is not None:
            x = np.full(n, float(do))
        m = 0.8 * x + rng.standard_normal(n)
        y = 1.5 * m + 2.0 * u + rng.standard_normal(n)
    return pd.DataFrame({"X": x, "M": m, "Y": y})


def make_frontdoor(
    n: int,
    binary: bool = False,
    random_state: int | np.random.Generator | None = None,
) -> CausalDataset:
    """Front-door design ``X -> M -> Y`` with an unobserved confounder ``U`` of X and Y.

    Continuous (default): ``U ~ N(0,1)``, ``X = U + e``, ``M = 0.8 X + e``,
    ``Y = 1.5 M + 2 U + e`` (the naive regression slope of Y on X is about 2.2). Binary:
    ``X ~ Bern(expit(1.5 U))``, ``M ~ Bern(expit(-1 + 2X))``,
    ``Y ~ Bern(expit(-0.5 + 1.5 M + 1.5 U))``. Truth ``E[Y|do(X=1)]``, ``E[Y|do(X=0)]`` and
    ``ATE`` from 200,000 draws of the simulator under ``do(X)`` with common random numbers
    (exact 1.2 for the linear model; Monte Carlo s.e. < 0.002 for the binary one).
    Data columns ``X, M, Y``; ``graph_spec`` is ``"X -> M -> Y; X <-> Y"``.

    >>> ds = make_frontdoor(1000, random_state=0)
    >>> round(ds.truth["ATE"], 6), ds.graph_spec
    (1.2, 'X -> M -> Y; X <-> Y')
    """
    n = _check_positive_int("n", n, 2)
    rng = _rng(random_state)
    data = _draw_frontdoor(rng, n, binary)
    seed = int(rng.integers(2**31))
    # common random numbers: the same units and noise under do(X=1) and do(X=0)
    do1 = float(_draw_frontdoor(np.random.default_rng(seed), _POP_N, binary, 1)["Y"].mean())
    do0 = float(_draw_frontdoor(np.random.default_rng(seed), _POP_N, binary, 0)["Y"].mean())
    truth = {"E[Y|do(X=1)]": do1, "E[Y|do(X=0)]": do0, "ATE": do1 - do0}
    return CausalDataset(
        data=data,
        treatment="X",
        outcome="Y",
        covariates=(),
        truth=truth,
        description=(
            f"simulated front-door design ({'binary' if binary else 'linear Gaussian'}): "
            "X -> M -> Y, X and Y confounded by an unobserved U"
        ),
        graph_spec="X -> M -> Y; X <-> Y",
        extras={"mediator": "M"},
    )


# --------------------------------------------------------------------------- sample selection
_SELECTION_GRAPHS = {
    "mar": "x -> t; x -> y; t -> y; x -> s; z -> s; t -> s; y -> w",
    "unobservables": "x -> t; x -> y; t -> y; x -> s; z -> s; t -> s; y -> w; s <-> y",
    "outcome": "x -> t; x -> y; t -> y; x -> s; y -> s; y -> w",
}


def _draw_selection(
    rng: np.random.Generator,
    n: int,
    mechanism: str,
    rho: float,
    gamma: float,
    do_t: int | None = None,
) -> dict[str, np.ndarray]:
    x = rng.standard_normal(n)
    z = rng.standard_normal(n)
    t = (rng.random(n) < expit(0.5 * x)).astype(np.int64)
    if do_t is not None:
        t = np.full(n, do_t, dtype=np.int64)
    e = rng.standard_normal(n)
    v = rng.standard_normal(n)
    y = 1.0 + 2.0 * t + x + e
    w = y + rng.standard_normal(n)
    if mechanism == "outcome":
        s = rng.random(n) < expit(-1.5 + 0.5 * x + gamma * y)
    elif mechanism == "mar":
        s = rng.random(n) < expit(0.2 + x + z + 0.5 * t)
    else:  # selection on unobservables correlated with the outcome error
        u = rho * e + np.sqrt(1.0 - rho * rho) * v
        s = 0.2 + x + z + 0.5 * t + u > 0
    return {"x": x, "z": z, "t": t, "y": y, "w": w, "s": s.astype(np.int64)}


@functools.lru_cache(maxsize=32)
def _selection_truth(mechanism: str, rho: float, gamma: float) -> dict[str, float]:
    """Population truth by intervention on 200,000 fresh units (fixed seed, cached)."""
    seed = 20_240_601
    pop = _draw_selection(np.random.default_rng(seed), _POP_N, mechanism, rho, gamma)
    y1 = _draw_selection(np.random.default_rng(seed), _POP_N, mechanism, rho, gamma, 1)["y"]
    y0 = _draw_selection(np.random.default_rng(seed), _POP_N, mechanism, rho, gamma, 0)["y"]
    return {
        "E[Y]": float(pop["y"].mean()),
        "ATE": float(np.mean(y1 - y0)),
        "selected_share": float(pop["s"].mean()),
    }


def make_selection(
    n: int,
    mechanism: str = "unobservables",
    rho: float = 0.7,
    gamma: float = 1.0,
    random_state: int | np.random.Generator | None = None,
) -> CausalDataset:
    """Outcome observed only for selected units, under three selection mechanisms.

    SCM: ``x, z ~ N(0,1)``; ``t ~ Bern(expit(x/2))``; ``y = 1 + 2t + x + e``;
    shadow ``w = y + N(0,1)``; selection indicator ``s``:

    * ``"mar"``: ``s ~ Bern(expit(0.2 + x + z + t/2))`` (ignorable given ``x, z, t``:
      inverse probability of selection weighting is valid);
    * ``"unobservables"``: ``s = 1[0.2 + x + z + t/2 + u > 0]`` with standard normal ``u``,
      ``corr(u, e) = rho`` (Heckman model; ``z`` is the excluded variable);
    * ``"outcome"``: ``s ~ Bern(expit(-1.5 + x/2 + gamma y))`` (missing not at random; ``w``
      is a shadow variable).

    ``y`` is NaN where ``s == 0``. Truth from the simulator: ``E[Y]`` (mean of the latent
    outcome of 200,000 fresh units, i.e. under ``do(S=1)``), ``ATE`` (``do(t=1)`` vs
    ``do(t=0)`` with common random numbers: 2), and the outcome-equation coefficients
    ``coef_const``, ``coef_t``, ``coef_x``. ``extras["y_latent"]`` holds the unmasked outcome.

    >>> ds = make_selection(2000, "outcome", random_state=0)
    >>> round(ds.truth["ATE"], 6), bool(ds.data["y"].isna().any())
    (2.0, True)
    """
    n = _check_positive_int("n", n, 2)
    if mechanism not in _SELECTION_GRAPHS:
        raise DataValidationError(
            f"mechanism must be one of {sorted(_SELECTION_GRAPHS)}; got {mechanism!r}"
        )
    if not -1.0 < float(rho) < 1.0:
        raise DataValidationError(f"rho must be in (-1, 1); got {rho!r}")
    rng = _rng(random_state)
    sim = _draw_selection(rng, n, mechanism, float(rho), float(gamma))
    truth = {
        **_selection_truth(mechanism, float(rho), float(gamma)),
        "coef_const": 1.0,
        "coef_t": 2.0,
        "coef_x": 1.0,
    }
    data = pd.DataFrame({k: sim[k] for k in ("x", "z", "t", "w", "s")})
    data.insert(3, "y", np.where(sim["s"] == 1, sim["y"], np.nan))
    return CausalDataset(
        data=data,
        treatment="t",
        outcome="y",
        covariates=("x",),
        truth=truth,
        description=(
            f"simulated selection ({mechanism}): y observed for {int(sim['s'].sum())} of {n} "
            "units (s == 1); z affects selection only, w is a shadow variable of y"
        ),
        graph_spec=_SELECTION_GRAPHS[mechanism],
        extras={"y_latent": sim["y"], "selection": "s", "shadow": "w", "excluded": "z"},
    )

"""Back-door designs: a binary treatment confounded by observed Gaussian covariates.

Each design is an :class:`~deepcause.simulate.SCM` ``x -> t, x -> y, t -> y`` and its truth
comes from intervening on it: the sample truth from the units' own noiseless potential
outcomes ``mu0``/``mu1`` (``do(t=0)``/``do(t=1)`` with the outcome noise at zero), the population
truth (keys ending in ``_pop``) from ``do(t=1)`` vs ``do(t=0)`` on 200,000 fresh units with
common random numbers.

>>> ds = make_confounded_binary(2000, random_state=0)
>>> ds.data.shape, ds.truth["ATE"]
((2000, 7), 2.0)
>>> naive = ds.data.groupby("t")["y"].mean().diff().iloc[-1]
>>> bool(naive > ds.truth["ATE"] + 0.5)   # confounding biases the naive contrast upwards
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit

from ..datasets.dataset import CausalDataset
from ._common import (
    POP_N,
    average_effects,
    check_choice,
    check_int,
    check_number,
    effects_by_intervention,
    noiseless,
)
from .scm import SCM, Node, gaussian, uniform

__all__ = ["make_confounded_binary", "make_nonlinear_confounded", "make_limited_overlap"]


def _score(X: np.ndarray) -> np.ndarray:
    """The confounding direction s(x) = x @ a with ||a|| = 1, so s ~ N(0, 1)."""
    a = np.linspace(1.0, 0.2, X.shape[1])
    return X @ (a / np.linalg.norm(a))


def _outcome_fn(outcome: str, effect: str, strength: float):
    """The outcome equation ``y = mu0(x) + t * tau(x) + u``."""

    def fn(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
        X, t = pa["x"], pa["t"]
        p, s = X.shape[1], _score(X)
        if outcome == "linear":
            mu0 = X @ (1.0 / np.arange(1, p + 1)) + 2.0 * strength * s
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
        return np.where(t == 1, mu0 + tau, mu0) + u

    return fn


def backdoor_scm(
    n_covariates: int = 5,
    effect: str = "constant",
    confounding_strength: float = 1.0,
    overlap: float = 1.0,
    outcome: str = "linear",
    noise: float = 1.0,
) -> SCM:
    """The SCM of :func:`make_confounded_binary` (arguments as there).

    Examples
    --------
    >>> scm = backdoor_scm(3)
    >>> scm.columns
    ['x1', 'x2', 'x3', 't', 'y']
    >>> round(float(scm.sample(50_000, do={"t": 1}, random_state=0)["y"].mean()), 1)
    2.0
    """
    p = check_int("n_covariates", n_covariates, 2)
    check_choice("effect", effect, ("constant", "heterogeneous"))
    check_choice("outcome", outcome, ("linear", "nonlinear"))
    strength = check_number("confounding_strength", confounding_strength)
    overlap = check_number("overlap", overlap, strict=True)
    noise = check_number("noise", noise)
    cols = tuple(f"x{i}" for i in range(1, p + 1))
    return SCM(
        [
            Node("x", noise=gaussian(1.0, p), dim=p, column_names=cols),
            Node(
                "t",
                ("x",),
                lambda pa, u: u < expit(strength * _score(pa["x"]) / overlap),
                uniform(0.0, 1.0),
                discrete=True,
            ),
            Node("y", ("x", "t"), _outcome_fn(outcome, effect, strength), gaussian(noise)),
        ]
    )


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

    Parameters
    ----------
    n : int
        Number of units (at least 2).
    n_covariates, effect, confounding_strength, overlap, outcome, noise
        The design, as above.
    population_truth : bool, default True
        Also compute ``ATE_pop``/``ATT_pop``/``ATC_pop`` on 200,000 fresh units.
    random_state : int, Generator or None
        Seed of the draw.

    Returns
    -------
    CausalDataset
        Columns ``t, y, x1..xp``; roles treatment ``t``, outcome ``y``, covariates
        ``x1..xp``; ``truth`` the sample ``ATE``/``ATT``/``ATC`` (means of ``mu1 - mu0``, the
        noiseless outcomes under ``do(t=1)`` and ``do(t=0)``) and the population truths;
        ``extras`` ``mu0``, ``mu1`` and the true ``propensity``; ``scm`` the design's SCM.

    Examples
    --------
    >>> ds = make_confounded_binary(500, effect="heterogeneous", random_state=1)
    >>> round(ds.truth["ATE_pop"], 1), bool(ds.truth["ATT_pop"] > ds.truth["ATC_pop"])
    (2.0, True)
    """
    n = check_int("n", n, 2)
    scm = backdoor_scm(n_covariates, effect, confounding_strength, overlap, outcome, noise)
    rng = np.random.default_rng(random_state)
    units = scm.sample_noise(n, rng)
    values = scm.propagate(units)
    mu0 = noiseless(scm, units, ("y",), {"t": 0})["y"]
    mu1 = noiseless(scm, units, ("y",), {"t": 1})["y"]
    truth = average_effects(mu1 - mu0, values["t"])
    if population_truth:
        pop = scm.sample_noise(POP_N, int(rng.integers(2**31)))
        truth |= {f"{k}_pop": v for k, v in effects_by_intervention(scm, "t", "y", pop).items()}
    frame = scm.to_frame(values)
    covs = list(scm.nodes["x"].columns)
    strength, overlap = float(confounding_strength), float(overlap)
    return CausalDataset(
        frame[["t", "y", *covs]],
        {"treatment": "t", "outcome": "y", "covariates": covs},
        truth,
        scm=scm,
        extras={
            "mu0": mu0,
            "mu1": mu1,
            "propensity": expit(strength * _score(values["x"]) / overlap),
        },
        description=(
            f"simulated: {len(covs)} Gaussian confounders, {outcome} outcome, {effect} effect, "
            f"confounding_strength={strength:g}, overlap={overlap:g}, noise sd {float(noise):g}"
        ),
    )


def make_nonlinear_confounded(
    n: int, n_covariates: int = 5, effect: str = "heterogeneous", **kwargs: Any
) -> CausalDataset:
    """:func:`make_confounded_binary` with the nonlinear outcome surface.

    Parameters
    ----------
    n, n_covariates, effect, **kwargs
        As in :func:`make_confounded_binary` (``outcome`` is ``"nonlinear"``).

    Returns
    -------
    CausalDataset

    Examples
    --------
    >>> ds = make_nonlinear_confounded(300, random_state=0, population_truth=False)
    >>> sorted(ds.truth)
    ['ATC', 'ATE', 'ATT']
    """
    return make_confounded_binary(n, n_covariates, effect=effect, outcome="nonlinear", **kwargs)


def make_limited_overlap(
    n: int, n_covariates: int = 5, overlap: float = 0.25, **kwargs: Any
) -> CausalDataset:
    """:func:`make_confounded_binary` with poor overlap (propensities near 0 and 1).

    Parameters
    ----------
    n, n_covariates, overlap, **kwargs
        As in :func:`make_confounded_binary`.

    Returns
    -------
    CausalDataset

    Examples
    --------
    >>> ds = make_limited_overlap(2000, random_state=0, population_truth=False)
    >>> e = ds.extras["propensity"]
    >>> bool(((e < 0.02) | (e > 0.98)).mean() > 0.2)
    True
    """
    return make_confounded_binary(n, n_covariates, overlap=overlap, **kwargs)

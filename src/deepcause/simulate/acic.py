"""An ACIC-2016-style design with knobs, as an SCM over generated covariates.

Dorie, Hill, Shalit, Scott and Cervone (2019), "Automated versus do-it-yourself methods for
causal inference: lessons learned from a data analysis competition", Statistical Science 34(1),
varied a few knobs of a simulation over fixed real covariates: the form of the treatment model,
the share treated, the overlap, the form of the response surface and the heterogeneity of the
effect. This design keeps those knobs but draws its covariates, so it is an SCM whose truth
comes from intervening on it (see :mod:`deepcause.simulate._truth`):

* covariates: ``x1..x3`` correlated Gaussians (AR(1), rho 0.5), ``x4``, ``x5`` Gaussian,
  ``x6`` skewed (Gumbel), ``x7 ~ Bern(expit(x1))``, ``x8 ~ Bern(0.5)``, ``x9 ~ Bern(0.3)``,
  ``x10 ~ Bern(expit(x2 - x3))``;
* treatment: ``e = expit(a + kappa s(x))``, ``s`` linear or with a square, a step and an
  interaction (``treatment``); ``kappa = 1`` (``overlap="full"``) or 2 (``"limited"``: about a fifth of the
  propensities beyond 0.02 / 0.98); ``a`` is set so that a share ``treated_share`` is treated;
* outcome: ``y = mu0(x) + t tau(x) + N(0, 1)`` with ``mu0`` linear or nonlinear (exponential,
  interaction, sine, step; ``response``) and ``tau(x) = 2 + h g(x)``, ``h`` = 0, 0.5, 1.5 for
  ``heterogeneity`` = ``"none"``, ``"low"``, ``"high"``; ``g`` shares ``x1`` with the treatment
  model, so the ATT differs from the ATE when the effect is heterogeneous.

>>> ds = make_acic(1000, random_state=0, pop_n=20_000)
>>> ds.data.shape, round(float(ds.data["t"].mean()), 1)
((1000, 12), 0.3)
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import expit

from ..datasets import CausalDataset
from ._common import POP_N, check_choice, check_int
from ._truth import check_share, intercept_for_share, scm_dataset
from .scm import SCM, Node, gumbel, uniform

__all__ = ["make_acic", "acic_scm"]

_COVARIATES = tuple(f"x{i}" for i in range(1, 11))
_HETEROGENEITY = {"none": 0.0, "low": 0.5, "high": 1.5}
_KAPPA = {"full": 1.0, "limited": 2.0}
_R = np.sqrt(0.75)


def _bern(prob: object) -> object:
    """``fn`` of a binary node: 1[u < prob(parents)] with ``u ~ U(0, 1)``."""
    return lambda p, u: (u < prob(p)).astype(float)


def _covariate_nodes() -> list[Node]:
    u01 = uniform(0, 1)
    return [
        Node("x1"),
        Node("x2", ("x1",), lambda p, u: 0.5 * p["x1"] + _R * u),
        Node("x3", ("x2",), lambda p, u: 0.5 * p["x2"] + _R * u),
        Node("x4"),
        Node("x5"),
        Node("x6", fn=lambda p, u: u - 0.5772, noise=gumbel()),
        Node("x7", ("x1",), _bern(lambda p: expit(p["x1"])), u01, discrete=True),
        Node("x8", (), _bern(lambda p: 0.5), u01, discrete=True),
        Node("x9", (), _bern(lambda p: 0.3), u01, discrete=True),
        Node("x10", ("x2", "x3"), _bern(lambda p: expit(p["x2"] - p["x3"])), u01, discrete=True),
    ]


def _score(p: dict[str, np.ndarray], treatment: str) -> np.ndarray:
    s = 0.8 * p["x1"] - 0.5 * p["x2"] + 0.5 * p["x3"] + 0.6 * p["x7"] - 0.4 * p["x9"]
    s = s - 0.3 * p["x6"]
    if treatment == "nonlinear":
        s = s + 0.6 * (p["x1"] ** 2 - 1.0) - 0.8 * (p["x4"] > 0.5) + 0.5 * p["x2"] * p["x7"]
    return s


def _mu0(p: dict[str, np.ndarray], response: str) -> np.ndarray:
    base = 1.0 + 0.5 * p["x8"] - 0.3 * p["x10"] + 0.4 * p["x6"] + 0.8 * p["x7"]
    if response == "linear":
        return base + p["x1"] + 0.5 * p["x2"] - 0.5 * p["x3"] + 0.3 * p["x4"] + 0.5 * p["x5"]
    return (
        base
        + 2.0 * (np.exp(0.5 * p["x1"]) - np.exp(0.125))
        + 0.5 * p["x2"] * p["x3"]
        + np.sin(2.0 * p["x4"])
        + 0.8 * (p["x5"] > 0) * p["x7"]
    )


def _tau(p: dict[str, np.ndarray], response: str, h: float) -> np.ndarray:
    if response == "linear":
        g = p["x1"] + 0.5 * p["x3"] + (p["x8"] - 0.5)
    else:
        g = (p["x1"] > 0) - 0.5 + p["x3"] * p["x7"] + 0.5 * (p["x2"] ** 2 - 1.0)
    return 2.0 + h * g


@functools.lru_cache(maxsize=16)
def _intercept(treatment: str, kappa: float, share: float) -> float:
    """Intercept ``a`` with mean ``expit(a + kappa s)`` = ``share`` over 200,000 draws."""
    cov = SCM(_covariate_nodes())
    s = kappa * _score(cov.propagate(cov.sample_noise(POP_N, 20_160_101)), treatment)
    return intercept_for_share(s, share)


def acic_scm(
    response: str = "nonlinear",
    heterogeneity: str = "high",
    overlap: str = "full",
    treatment: str = "nonlinear",
    treated_share: float = 0.35,
) -> SCM:
    """The SCM of :func:`make_acic` (latent nodes ``e``, ``mu0``, ``tau``).

    Examples
    --------
    >>> scm = acic_scm(heterogeneity="none")
    >>> df = scm.sample(50_000, do={"t": 1}, random_state=0)
    >>> d0 = scm.sample(50_000, do={"t": 0}, random_state=0)
    >>> round(float((df["y"] - d0["y"]).mean()), 6)
    2.0
    """
    check_choice("response", response, ("linear", "nonlinear"))
    check_choice("heterogeneity", heterogeneity, tuple(_HETEROGENEITY))
    check_choice("overlap", overlap, tuple(_KAPPA))
    check_choice("treatment", treatment, ("linear", "nonlinear"))
    share = check_share("treated_share", treated_share)
    kappa, h = _KAPPA[overlap], _HETEROGENEITY[heterogeneity]
    a = _intercept(treatment, kappa, share)
    u01 = uniform(0, 1)
    return SCM(
        [
            *_covariate_nodes(),
            Node(
                "e", _COVARIATES, lambda p, u: expit(a + kappa * _score(p, treatment)), latent=True
            ),
            Node("t", ("e",), _bern(lambda p: p["e"]), u01, discrete=True),
            Node("mu0", _COVARIATES, lambda p, u: _mu0(p, response), latent=True),
            Node("tau", _COVARIATES, lambda p, u: _tau(p, response, h), latent=True),
            Node("y", ("mu0", "tau", "t"), lambda p, u: p["mu0"] + p["t"] * p["tau"] + u),
        ]
    )


def make_acic(
    n: int = 1000,
    response: str = "nonlinear",
    heterogeneity: str = "high",
    overlap: str = "full",
    treatment: str = "nonlinear",
    treated_share: float = 0.35,
    random_state: int | np.random.Generator | None = None,
    pop_n: int = POP_N,
) -> CausalDataset:
    """Draw ``n`` units of the ACIC-2016-style design (knobs in the module docstring).

    Parameters
    ----------
    n : number of units.
    response : ``"linear"`` or ``"nonlinear"`` control surface ``mu0``.
    heterogeneity : ``"none"``, ``"low"`` or ``"high"`` effect heterogeneity.
    overlap : ``"full"`` or ``"limited"``.
    treatment : ``"linear"`` or ``"nonlinear"`` treatment model.
    treated_share : expected share of treated units, in (0, 1).
    random_state : seed or generator.
    pop_n : size of the fresh draw for the population truth.

    Returns
    -------
    CausalDataset
        Columns ``t, y, x1..x10``. Truth from intervening on the SCM: sample
        ``ATE``/``ATT``/``ATC`` from the units' noiseless potential outcomes ``mu0``/``mu1``,
        population ``ATE_pop``/``ATT_pop``/``ATC_pop`` from ``pop_n`` fresh units under
        ``do(t=1)`` and ``do(t=0)``. ``ds.scm`` is the SCM; ``extras``: ``mu0``, ``mu1`` and
        ``latent`` (the propensity ``e``, ``mu0``, ``tau`` nodes of the drawn units).

    Examples
    --------
    >>> ds = make_acic(2000, overlap="limited", random_state=0, pop_n=20_000)
    >>> e = ds.extras["latent"]["e"]
    >>> bool(((e < 0.02) | (e > 0.98)).mean() > 0.1)
    True
    >>> make_acic(100, overlap="none")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: overlap must be 'full' or 'limited'; got 'none'
    """
    n = check_int("n", n, 2)
    pop_n = check_int("pop_n", pop_n, 2)
    scm = acic_scm(response, heterogeneity, overlap, treatment, treated_share)
    return scm_dataset(
        scm,
        n,
        random_state,
        covariates=_COVARIATES,
        pop_n=pop_n,
        description=(
            f"ACIC-2016-style design: {n} units, {response} response, {heterogeneity} "
            f"heterogeneity, {overlap} overlap, {treatment} treatment model, "
            f"{treated_share:g} treated"
        ),
    )

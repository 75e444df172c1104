"""A LaLonde-style ATT design: few treated, a comparison group that differs strongly.

LaLonde (1986) and Dehejia & Wahba (1999) compare 185 NSW trainees with a large observational
comparison group (PSID-1, 2,490 people) that is older, more often married and earns far more.
This SCM mimics that situation with generated people so the truth is known exactly: covariates
``age, education, black, hispanic, married, nodegree, re74, re75`` (earnings zero-inflated and
log-normal), a treatment taken by about 7% (``treated_share``), mostly by young, unmarried,
low-earning people without a degree, and earnings ``re78`` whose effect is heterogeneous: larger
for people without a degree and with no 1975 earnings, smaller with age. The target is the ATT;
its truth comes from intervening on the SCM (sample ATT from the units' noiseless potential
outcomes, ``ATT_pop`` from a fresh draw under ``do(treat=1)``/``do(treat=0)``).

>>> ds = make_lalonde_style(2675, random_state=0, pop_n=20_000)
>>> ds.data.shape, 100 < int(ds.data["treat"].sum()) < 280
((2675, 10), True)
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import expit

from ..datasets import CausalDataset
from ._common import POP_N, check_int, check_number
from ._truth import check_share, intercept_for_share, scm_dataset
from .scm import SCM, Node, uniform

__all__ = ["make_lalonde_style", "lalonde_style_scm"]

_COVARIATES = ("age", "education", "black", "hispanic", "married", "nodegree", "re74", "re75")


def _earnings(p: dict[str, np.ndarray], u: np.ndarray, lag: np.ndarray | None) -> np.ndarray:
    """Zero-inflated log-normal earnings; ``u`` holds (uniform, normal) noise columns."""
    zero = expit(-1.8 + 1.2 * p["nodegree"] + 0.6 * p["black"] - 0.04 * (p["age"] - 30))
    level = 9.3 + 0.05 * (p["education"] - 12) + 0.015 * (p["age"] - 30) + 0.6 * u[:, 1]
    earn = np.exp(level) * (u[:, 0] > zero)
    return earn if lag is None else 0.6 * lag + 0.4 * earn


def _two_noises(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.column_stack([rng.random(n), rng.standard_normal(n)])


def _covariate_nodes() -> list[Node]:
    u01 = uniform(0, 1)
    return [
        Node("age", fn=lambda p, u: 17.0 + 38.0 * u, noise=lambda g, n: g.beta(1.6, 2.4, n)),
        Node("education", fn=lambda p, u: np.clip(np.round(11.5 + 2.5 * u), 3, 18)),
        Node("black", fn=lambda p, u: (u < 0.3).astype(float), noise=u01, discrete=True),
        Node("hispanic", ("black",), lambda p, u: (u < 0.1 * (1 - p["black"])).astype(float), u01,
             discrete=True),
        Node("married", ("age",), lambda p, u: (u < expit(-1.0 + 0.08 * (p["age"] - 25))).astype(
            float), u01, discrete=True),
        Node("nodegree", ("education",), lambda p, u: (p["education"] < 12).astype(float),
             discrete=True),
        Node("re74", ("age", "education", "black", "nodegree"),
             lambda p, u: _earnings(p, u, None), _two_noises),
        Node("re75", ("age", "education", "black", "nodegree", "re74"),
             lambda p, u: _earnings(p, u, p["re74"]), _two_noises),
    ]  # fmt: skip


def _score(p: dict[str, np.ndarray]) -> np.ndarray:
    return (
        -0.12 * (p["age"] - 25)
        + 1.5 * p["black"]
        + 0.8 * p["hispanic"]
        - 1.2 * p["married"]
        + 0.9 * p["nodegree"]
        - 2.0e-4 * p["re75"]
        - 0.8e-4 * p["re74"]
    )


def _mu0(p: dict[str, np.ndarray]) -> np.ndarray:
    return (
        1500.0
        + 0.35 * p["re74"]
        + 0.45 * p["re75"]
        + 350.0 * (p["education"] - 12)
        + 120.0 * (p["age"] - 30)
        - 3.0 * (p["age"] - 30) ** 2
        - 800.0 * p["black"]
        + 700.0 * p["married"]
    )


def _tau(p: dict[str, np.ndarray]) -> np.ndarray:
    return 900.0 + 900.0 * p["nodegree"] + 1000.0 * (p["re75"] == 0) - 60.0 * (p["age"] - 25)


@functools.lru_cache(maxsize=8)
def _intercept(share: float) -> float:
    cov = SCM(_covariate_nodes())
    return intercept_for_share(_score(cov.propagate(cov.sample_noise(POP_N, 19_860_901))), share)


def lalonde_style_scm(treated_share: float = 0.07, noise_sd: float = 5000.0) -> SCM:
    """The SCM of :func:`make_lalonde_style` (latent nodes ``e``, ``mu0``, ``tau``).

    Examples
    --------
    >>> scm = lalonde_style_scm()
    >>> scm.observed[-2:]
    ('treat', 're78')
    """
    share = check_share("treated_share", treated_share)
    sd = check_number("noise_sd", noise_sd, 0.0)
    a = _intercept(share)
    return SCM(
        [
            *_covariate_nodes(),
            Node("e", _COVARIATES, lambda p, u: expit(a + _score(p)), latent=True),
            Node("treat", ("e",), lambda p, u: (u < p["e"]).astype(float), uniform(0, 1),
                 discrete=True),
            Node("mu0", _COVARIATES, lambda p, u: _mu0(p), latent=True),
            Node("tau", _COVARIATES, lambda p, u: _tau(p), latent=True),
            Node("re78", ("mu0", "tau", "treat"),
                 lambda p, u: p["mu0"] + p["treat"] * p["tau"] + sd * u),
        ]
    )  # fmt: skip


def make_lalonde_style(
    n: int = 2675,
    treated_share: float = 0.07,
    noise_sd: float = 5000.0,
    random_state: int | np.random.Generator | None = None,
    pop_n: int = POP_N,
) -> CausalDataset:
    """Draw ``n`` people of the LaLonde-style design (see the module docstring).

    Parameters
    ----------
    n : number of people (2,675 = 185 NSW treated + 2,490 PSID-1 in the real comparison).
    treated_share : expected share treated, in (0, 1).
    noise_sd : standard deviation of the earnings noise.
    random_state : seed or generator.
    pop_n : size of the fresh draw for the population truth.

    Returns
    -------
    CausalDataset
        Columns ``treat, re78`` and the eight LaLonde covariates; truth ``ATT`` (the target),
        ``ATE``, ``ATC`` and their ``_pop`` versions, by intervention on the SCM.

    Examples
    --------
    >>> ds = make_lalonde_style(3000, random_state=1, pop_n=50_000)
    >>> bool(ds.truth["ATT_pop"] > ds.truth["ATE_pop"] + 300)   # the treated gain more
    True
    >>> make_lalonde_style(100, treated_share=1.5)
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: treated_share must be in (0, 1); got 1.5
    """
    n = check_int("n", n, 2)
    pop_n = check_int("pop_n", pop_n, 2)
    scm = lalonde_style_scm(treated_share, noise_sd)
    return scm_dataset(
        scm,
        n,
        random_state,
        covariates=_COVARIATES,
        treatment="treat",
        outcome="re78",
        pop_n=pop_n,
        description=(
            f"LaLonde-style ATT design: {n} people, {treated_share:g} treated, strongly "
            "different comparison group, heterogeneous effect"
        ),
    )

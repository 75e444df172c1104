"""Front-door design ``X -> M -> Y`` with an unobserved confounder ``U`` of ``X`` and ``Y``.

The truth ``E[Y | do(X = x)]`` comes from intervening on the design's SCM (200,000 fresh units,
the same units and noise under ``do(X=1)`` and ``do(X=0)``).

>>> ds = make_frontdoor(1000, random_state=0)
>>> round(ds.truth["ATE"], 6), str(ds.graph)
(1.2, 'X -> M; M -> Y; X <-> Y')
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ..datasets.dataset import CausalDataset
from ._common import POP_N, check_int
from .scm import SCM, Node, gaussian, uniform

__all__ = ["make_frontdoor", "frontdoor_scm"]


def frontdoor_scm(binary: bool = False) -> SCM:
    """The SCM of :func:`make_frontdoor` (latent ``U``; observed ``X, M, Y``).

    Parameters
    ----------
    binary : bool, default False
        Binary (logistic) equations instead of the linear-Gaussian ones.

    Returns
    -------
    SCM

    Examples
    --------
    >>> scm = frontdoor_scm()
    >>> scm.observed, str(scm.graph)
    (('X', 'M', 'Y'), 'X -> M; M -> Y; X <-> Y')
    """
    if binary:
        coin = uniform(0.0, 1.0)
        nodes = [
            Node("X", ("U",), lambda pa, u: u < expit(1.5 * pa["U"]), coin, discrete=True),
            Node("M", ("X",), lambda pa, u: u < expit(-1.0 + 2.0 * pa["X"]), coin, discrete=True),
            Node(
                "Y",
                ("M", "U"),
                lambda pa, u: u < expit(-0.5 + 1.5 * pa["M"] + 1.5 * pa["U"]),
                coin,
                discrete=True,
            ),
        ]
    else:
        nodes = [
            Node("X", ("U",), lambda pa, u: pa["U"] + u, gaussian(1.0)),
            Node("M", ("X",), lambda pa, u: 0.8 * pa["X"] + u, gaussian(1.0)),
            Node("Y", ("M", "U"), lambda pa, u: 1.5 * pa["M"] + 2.0 * pa["U"] + u, gaussian(1.0)),
        ]
    return SCM([Node("U", noise=gaussian(1.0), latent=True), *nodes])


def make_frontdoor(
    n: int,
    binary: bool = False,
    random_state: int | np.random.Generator | None = None,
) -> CausalDataset:
    """Front-door design ``X -> M -> Y`` with an unobserved confounder ``U`` of X and Y.

    Continuous (default): ``U ~ N(0,1)``, ``X = U + e``, ``M = 0.8 X + e``,
    ``Y = 1.5 M + 2 U + e`` (the naive regression slope of Y on X is about 2.2). Binary:
    ``X ~ Bern(expit(1.5 U))``, ``M ~ Bern(expit(-1 + 2X))``,
    ``Y ~ Bern(expit(-0.5 + 1.5 M + 1.5 U))``.

    Parameters
    ----------
    n : int
        Number of units (at least 2).
    binary : bool, default False
        Binary instead of linear-Gaussian equations.
    random_state : int, Generator or None
        Seed of the draw.

    Returns
    -------
    CausalDataset
        Columns ``X, M, Y``; roles treatment ``X``, outcome ``Y``, mediators ``(M,)``; graph
        ``X -> M -> Y; X <-> Y``; truth ``E[Y|do(X=1)]``, ``E[Y|do(X=0)]`` and ``ATE`` from
        200,000 units of the SCM under ``do(X)`` with common random numbers (1.2 for the
        linear model up to rounding; Monte Carlo s.e. < 0.002 for the binary one).

    Examples
    --------
    >>> ds = make_frontdoor(20_000, binary=True, random_state=0)
    >>> ds.mediators, round(ds.truth["ATE"], 2)
    (('M',), 0.12)
    """
    n = check_int("n", n, 2)
    scm = frontdoor_scm(bool(binary))
    rng = np.random.default_rng(random_state)
    data = scm.sample(n, random_state=rng)
    pop = scm.sample_noise(POP_N, int(rng.integers(2**31)))
    do1 = float(scm.propagate(pop, {"X": 1})["Y"].mean())
    do0 = float(scm.propagate(pop, {"X": 0})["Y"].mean())
    return CausalDataset(
        data,
        {"treatment": "X", "outcome": "Y", "mediators": "M"},
        {"E[Y|do(X=1)]": do1, "E[Y|do(X=0)]": do0, "ATE": do1 - do0},
        scm=scm,
        description=(
            f"simulated front-door design ({'binary' if binary else 'linear Gaussian'}): "
            "X -> M -> Y, X and Y confounded by an unobserved U"
        ),
    )

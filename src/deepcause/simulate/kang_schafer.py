"""Kang & Schafer (2007): the doubly-robust stress test, as an SCM.

Kang, J. D. Y. and Schafer, J. L. (2007), "Demystifying Double Robustness", Statistical
Science 22(4), 523-539. Four latent standard normals ``z1..z4`` drive both the treatment
(originally: response) indicator and the outcome::

    e = expit(-z1 + 0.5 z2 - 0.25 z3 - 0.1 z4),     t ~ Bernoulli(e)
    y = 210 + effect * t + 27.4 z1 + 13.7 (z2 + z3 + z4) + eps,   eps ~ N(0, 1)

and the analyst sees only the transformed covariates

    x1 = exp(z1 / 2),  x2 = z2 / (1 + exp(z1)) + 10,  x3 = (z1 z3 / 25 + 0.6)^3,
    x4 = (z2 + z4 + 20)^2

(``covariates="x"``, the misspecified case where logistic/linear models in ``x`` are both
wrong) or the ``z`` themselves (``covariates="z"``, both models correct). The transformation is
invertible, so adjusting for ``x`` is valid. With ``effect = 0`` (the original design, used as a
causal benchmark by Tan 2010, Imai & Ratkovic 2014 and others) ``E[Y(1)] = 210`` while the
treated mean is about 200 and the control mean about 220: the naive contrast is about -20.

>>> ds = make_kang_schafer(1000, random_state=0)
>>> ds.data.columns.tolist(), round(ds.truth["ATE_pop"], 6)
(['t', 'y', 'x1', 'x2', 'x3', 'x4'], 0.0)
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ..datasets import CausalDataset
from ._common import POP_N, check_choice, check_int
from ._truth import check_real, scm_dataset
from .scm import SCM, Node, uniform

__all__ = ["make_kang_schafer", "kang_schafer_scm"]

_OUTCOME = np.array([27.4, 13.7, 13.7, 13.7])
_PROPENSITY = np.array([-1.0, 0.5, -0.25, -0.1])


def _z(p: dict[str, np.ndarray]) -> np.ndarray:
    return np.column_stack([p["z1"], p["z2"], p["z3"], p["z4"]])


def _x_nodes(latent: bool) -> list[Node]:
    """The observed transformations x1..x4 of the latent z's (deterministic)."""
    fns = {
        "x1": (("z1",), lambda p, u: np.exp(p["z1"] / 2.0)),
        "x2": (("z1", "z2"), lambda p, u: p["z2"] / (1.0 + np.exp(p["z1"])) + 10.0),
        "x3": (("z1", "z3"), lambda p, u: (p["z1"] * p["z3"] / 25.0 + 0.6) ** 3),
        "x4": (("z2", "z4"), lambda p, u: (p["z2"] + p["z4"] + 20.0) ** 2),
    }
    return [Node(name, pa, fn, latent=latent) for name, (pa, fn) in fns.items()]


def kang_schafer_scm(effect: float = 0.0, covariates: str = "x") -> SCM:
    """The Kang-Schafer SCM; ``covariates`` says which of ``z``/``x`` are observed.

    The propensity ``e`` is a latent node; ``t`` is ``1[u < e]`` with ``u ~ U(0, 1)``.

    Examples
    --------
    >>> scm = kang_schafer_scm()
    >>> scm.observed
    ('x1', 'x2', 'x3', 'x4', 't', 'y')
    >>> df = scm.sample(100_000, do={"t": 1}, random_state=0)
    >>> abs(float(df["y"].mean()) - 210) < 0.5
    True
    """
    effect = check_real("effect", effect)
    check_choice("covariates", covariates, ("x", "z"))
    zs = [Node(f"z{i}", latent=covariates == "x") for i in range(1, 5)]
    z_names = tuple(f"z{i}" for i in range(1, 5))
    return SCM(
        [
            *zs,
            *_x_nodes(latent=covariates == "z"),
            Node("e", z_names, lambda p, u: expit(_z(p) @ _PROPENSITY), latent=True),
            Node(
                "t", ("e",), lambda p, u: (u < p["e"]).astype(float), uniform(0, 1), discrete=True
            ),
            Node(
                "y",
                (*z_names, "t"),
                lambda p, u: 210.0 + effect * p["t"] + _z(p) @ _OUTCOME + u,
            ),
        ]
    )


def make_kang_schafer(
    n: int = 1000,
    effect: float = 0.0,
    covariates: str = "x",
    random_state: int | np.random.Generator | None = None,
    pop_n: int = POP_N,
) -> CausalDataset:
    """Draw ``n`` units of the Kang & Schafer (2007) design (see the module docstring).

    Parameters
    ----------
    n : number of units (Kang & Schafer used 200 and 1000).
    effect : constant treatment effect added to ``Y(1)`` (0 in the original design, where the
        target is ``E[Y(1)] = 210``).
    covariates : ``"x"`` (observed transformed covariates, the misspecified case) or ``"z"``.
    random_state : seed or generator.
    pop_n : size of the fresh draw for the population truth.

    Returns
    -------
    CausalDataset
        Columns ``t, y`` and ``x1..x4`` (or ``z1..z4``). Truth from intervening on the SCM:
        sample ``ATE``/``ATT``/``ATC`` from the units' noiseless potential outcomes, population
        ``ATE_pop``... and ``E[Y(1)]_pop`` (about ``210 + effect``), ``E[Y(0)]_pop`` (about
        210) from ``pop_n`` fresh units under ``do(t=1)``/``do(t=0)``. ``ds.scm`` is the SCM;
        ``extras``: ``mu0``, ``mu1`` and ``latent`` (the ``z``'s and the propensity ``e``).

    Examples
    --------
    >>> ds = make_kang_schafer(500, effect=10.0, random_state=1, pop_n=20_000)
    >>> round(ds.truth["ATE"], 6), round(ds.truth["ATT_pop"], 6)
    (10.0, 10.0)
    >>> y, t = ds.data["y"], ds.data["t"]
    >>> bool(y[t == 1].mean() - y[t == 0].mean() < 0)   # confounding flips the sign
    True
    """
    n = check_int("n", n, 2)
    pop_n = check_int("pop_n", pop_n, 2)
    scm = kang_schafer_scm(effect, covariates)
    names = tuple(f"{covariates}{i}" for i in range(1, 5))
    return scm_dataset(
        scm,
        n,
        random_state,
        covariates=names,
        pop_n=pop_n,
        description=(
            f"Kang & Schafer (2007): {n} units, effect {effect:g}, covariates {covariates} "
            f"({'transformed, models misspecified' if covariates == 'x' else 'latent z, correct'})"
        ),
    )

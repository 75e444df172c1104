"""IHDP replications generated afresh: Hill (2011)'s response surfaces A and B.

Hill, J. L. (2011), "Bayesian Nonparametric Modeling for Causal Inference", JCGS 20(1),
Section 4. The covariates and treatment are the real ones of the Infant Health and Development
Program, made observational by removing a non-random subset of the treated (children of
non-white mothers): 747 units, 139 treated, 608 controls. The outcomes are simulated:

* **setting A** (linear, constant effect): ``beta_A`` (26 values: intercept and one per
  covariate) drawn from ``{0, 1, 2, 3, 4}`` with probabilities ``(.5, .2, .15, .1, .05)``;
  ``Y(0) ~ N([1, X] beta_A, 1)``, ``Y(1) ~ N([1, X] beta_A + 4, 1)``;
* **setting B** (exponential control surface, heterogeneous effect): ``beta_B`` drawn from
  ``{0, .1, .2, .3, .4}`` with probabilities ``(.6, .1, .1, .1, .1)``, offset ``W = 0.5``;
  ``Y(0) ~ N(exp([1, X + W] beta_B), 1)``, ``Y(1) ~ N([1, X + W] beta_B - omega, 1)`` with
  ``omega`` chosen so that the conditional ATT (mean of ``mu1 - mu0`` over the treated) is 4.

``X`` holds the 25 covariates of the benchmark: the six continuous ones standardized over the
747 units (sample s.d.), then 19 binary ones (``first`` coded 1/2 as in the ``npci`` data that
produced the CEVAE/CFR/DragonNet files, so the columns equal ``x1..x25`` of ``load_ihdp``).
This is the replication generator the library's defaults are studied on; the bundled
replications 1-10 are for examples, not for choosing anything.

>>> ds = make_ihdp("B", random_state=0)
>>> ds.data.shape, int(ds.data["t"].sum()), round(ds.truth["ATT"], 10)
((747, 27), 139, 4.0)
"""

from __future__ import annotations

import functools
import io
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from ..datasets import CausalDataset
from ._common import average_effects, check_choice, check_number
from ._truth import check_real

__all__ = ["make_ihdp", "ihdp_covariates", "IHDP_CONTINUOUS", "IHDP_BINARY"]

IHDP_CONTINUOUS = ("bw", "b.head", "preterm", "birth.o", "nnhealth", "momage")
IHDP_BINARY = (
    "sex",
    "twin",
    "b.marr",
    "mom.lths",
    "mom.hs",
    "mom.scoll",
    "cig",
    "first",
    "booze",
    "drugs",
    "work.dur",
    "prenatal",
    *(f"site{i}" for i in range(1, 8)),
)
_COVARIATES = tuple(f"x{i}" for i in range(1, 26))


@functools.lru_cache(maxsize=1)
def _hill_sample() -> tuple[np.ndarray, np.ndarray]:
    """(treatment, X) of Hill's 747 units, read from the bundled untransformed covariates."""
    raw = resources.files("deepcause.datasets.data").joinpath("ihdp", "hill_ihdp_covariates.csv")
    df = pd.read_csv(io.BytesIO(raw.read_bytes()))
    keep = ~((df["treat"] == 1) & (df["momwhite"] == 0))
    df = df.loc[keep].reset_index(drop=True)
    X = df[[*IHDP_CONTINUOUS, *IHDP_BINARY]].to_numpy(dtype=float)
    cont = X[:, : len(IHDP_CONTINUOUS)]
    X[:, : len(IHDP_CONTINUOUS)] = (cont - cont.mean(axis=0)) / cont.std(axis=0, ddof=1)
    X[:, len(IHDP_CONTINUOUS) + IHDP_BINARY.index("first")] += 1.0  # npci codes `first` 1/2
    t = df["treat"].to_numpy(dtype=np.int64)
    t.setflags(write=False)
    X.setflags(write=False)
    return t, X


def ihdp_covariates() -> pd.DataFrame:
    """Hill's 747 IHDP units: ``t`` and the covariates ``x1..x25`` as used by both settings.

    Examples
    --------
    >>> df = ihdp_covariates()
    >>> df.shape, int(df["t"].sum()), sorted(df["x14"].unique().tolist())
    ((747, 26), 139, [1.0, 2.0])
    """
    t, X = _hill_sample()
    df = pd.DataFrame(X.copy(), columns=list(_COVARIATES))
    df.insert(0, "t", t)
    return df


def _surface(
    setting: str, X: np.ndarray, t: np.ndarray, rng: np.random.Generator, effect: float
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Noiseless (mu0, mu1) of one draw of Hill's response surface, and its coefficients."""
    design = np.column_stack([np.ones(len(X)), X])
    if setting == "A":
        beta = rng.choice(5, size=design.shape[1], p=[0.5, 0.2, 0.15, 0.1, 0.05]).astype(float)
        mu0 = design @ beta
        return mu0, mu0 + effect, {"beta": beta}
    beta = rng.choice([0.0, 0.1, 0.2, 0.3, 0.4], size=design.shape[1], p=[0.6, 0.1, 0.1, 0.1, 0.1])
    shifted = design.copy()
    shifted[:, 1:] += 0.5  # the offset matrix W (every entry 0.5; not added to the intercept)
    lin = shifted @ beta
    mu0 = np.exp(lin)
    omega = float(np.mean(lin[t == 1] - mu0[t == 1]) - effect)
    return mu0, lin - omega, {"beta": beta, "omega": omega}


def make_ihdp(
    setting: str = "B",
    random_state: int | np.random.Generator | None = None,
    sigma: float = 1.0,
    effect: float = 4.0,
) -> CausalDataset:
    """One replication of Hill (2011)'s IHDP simulation, response surface A or B.

    Parameters
    ----------
    setting : ``"A"`` (linear, constant effect ``effect``) or ``"B"`` (exponential control
        surface, heterogeneous effect whose mean over the treated is ``effect``).
    random_state : seed or generator; it draws the coefficients and then the outcome noise.
    sigma : standard deviation of the outcome noise (Hill: 1).
    effect : the constant effect of A, the conditional ATT of B (Hill: 4).

    Returns
    -------
    CausalDataset
        Columns ``t, y, x1..x25`` (747 rows, 139 treated; the real IHDP covariates and
        treatment, see the module docstring). ``mu0``/``mu1`` are the noiseless potential
        outcomes of the draw. The covariates are fixed, so the truth comes from these
        potential outcomes (not from intervening on an SCM): ``ATE``/``ATT``/``ATC`` are means of
        ``mu1 - mu0`` (the conditional effects the IHDP literature scores against); the 747 units
        are the whole population, so ``ATE_pop``/``ATT_pop``/``ATC_pop`` equal them;
        ``ATE_noisy``/``ATT_noisy`` use the noisy potential outcomes (Hill's sample effects).
        ``extras``: ``mu0``, ``mu1``, ``y_cfactual`` (the noisy other potential outcome),
        ``beta`` and, for B, ``omega``. No SCM (``ds.scm`` is None): the covariates are real.

    Examples
    --------
    >>> a = make_ihdp("A", random_state=3)
    >>> round(a.truth["ATE"], 10), round(a.truth["ATT"], 10)
    (4.0, 4.0)
    >>> b = make_ihdp("B", random_state=3)
    >>> bool(np.allclose(b.mu1 - b.mu0, b.tau)), round(b.truth["ATT"], 10)
    (True, 4.0)
    >>> make_ihdp("C")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: setting must be 'A' or 'B'; got 'C'
    """
    check_choice("setting", setting, ("A", "B"))
    sigma = check_number("sigma", sigma, 0.0)
    effect = check_real("effect", effect)
    rng = np.random.default_rng(random_state)
    t, X = _hill_sample()
    mu0, mu1, coefs = _surface(setting, X, t, rng, effect)
    y0 = mu0 + sigma * rng.standard_normal(len(t))
    y1 = mu1 + sigma * rng.standard_normal(len(t))
    truth = average_effects(mu1 - mu0, t)
    truth.update({f"{k}_pop": truth[k] for k in ("ATE", "ATT", "ATC")})
    noisy = average_effects(y1 - y0, t)
    truth.update({f"{k}_noisy": noisy[k] for k in ("ATE", "ATT")})
    data = pd.DataFrame(X.copy(), columns=list(_COVARIATES))
    data.insert(0, "y", np.where(t == 1, y1, y0))
    data.insert(0, "t", t)
    roles = {"treatment": "t", "outcome": "y", "covariates": list(_COVARIATES)}
    return CausalDataset(
        data,
        roles,
        truth,
        extras={"mu0": mu0, "mu1": mu1, "y_cfactual": np.where(t == 1, y0, y1), **coefs},
        description=(
            f"generated IHDP replication, Hill (2011) response surface {setting} (747 units, "
            "139 treated; real covariates and treatment); truth = mean(mu1 - mu0)"
        ),
    )

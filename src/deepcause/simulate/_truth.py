"""Truth of the published benchmark designs by intervention on their SCM (built on ``_common``).

* sample truth (``ATE``, ``ATT``, ``ATC``): the units' own noiseless potential outcomes
  ``mu0``/``mu1`` (:func:`~deepcause.simulate._common.noiseless` under ``do(t=0)``/``do(t=1)``:
  the SCM propagated from the units' noise with the outcome's additive noise set to zero);
* population truth (``ATE_pop``, ``ATT_pop``, ``ATC_pop``, ``E[Y(1)]_pop``, ``E[Y(0)]_pop``):
  a fresh draw of ``pop_n`` units under ``do(t=1)`` and ``do(t=0)`` with common random numbers.

>>> from deepcause.simulate.scm import SCM, Node, uniform
>>> scm = SCM([Node("x"), Node("t", ("x",), lambda p, u: (u < 0.5).astype(float), uniform(0, 1)),
...            Node("y", ("x", "t"), lambda p, u: p["x"] + 2 * p["t"] + u)])
>>> ds = scm_dataset(scm, 200, 0, covariates=("x",), description="toy", pop_n=1000)
>>> round(ds.truth["ATE"], 6), round(ds.truth["ATE_pop"], 6), list(ds.data.columns)
(2.0, 2.0, ['t', 'y', 'x'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit

from ..datasets import CausalDataset
from ..exceptions import DataValidationError
from ._common import POP_N, average_effects, noiseless
from .scm import SCM

__all__ = ["check_real", "check_share", "intercept_for_share", "scm_dataset"]


def check_real(name: str, value: Any) -> float:
    """``value`` as a finite float of either sign (bools and strings refused).

    Examples
    --------
    >>> check_real("effect", -2)
    -2.0
    """
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise DataValidationError(f"{name} must be a finite number; got {value!r}")
    if not np.isfinite(float(value)):
        raise DataValidationError(f"{name} must be a finite number; got {value!r}")
    return float(value)


def check_share(name: str, value: Any) -> float:
    """``value`` as a float strictly between 0 and 1.

    Examples
    --------
    >>> check_share("treated_share", 0.35)
    0.35
    """
    share = check_real(name, value)
    if not 0.0 < share < 1.0:
        raise DataValidationError(f"{name} must be in (0, 1); got {value!r}")
    return share


def intercept_for_share(score: np.ndarray, share: float) -> float:
    """Intercept ``a`` such that the mean of ``expit(a + score)`` equals ``share``.

    Examples
    --------
    >>> round(intercept_for_share(np.zeros(10), 0.5), 6)
    0.0
    """
    return float(brentq(lambda a: float(expit(a + score).mean()) - share, -60.0, 60.0))


def _potential(
    scm: SCM, noise: dict[str, np.ndarray], treatment: str, outcome: str, silent: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Outcome under ``do(t=0)`` and ``do(t=1)`` for the same noise (``silent`` noise at 0)."""
    y0 = noiseless(scm, noise, silent, {treatment: 0})[outcome]
    y1 = noiseless(scm, noise, silent, {treatment: 1})[outcome]
    return y0, y1


def scm_dataset(
    scm: SCM,
    n: int,
    random_state: Any,
    *,
    covariates: Sequence[str],
    description: str,
    treatment: str = "t",
    outcome: str = "y",
    pop_n: int = POP_N,
) -> CausalDataset:
    """Draw ``n`` units from ``scm`` and return them with truth obtained by intervening on it.

    The outcome node must add its own mean-zero noise to its mean: ``mu0``/``mu1`` are the
    outcome under ``do(treatment=0/1)`` with that noise set to zero. The data set carries the
    SCM (``ds.scm``); ``extras`` holds ``mu0``, ``mu1`` and the latent nodes' values of the
    drawn units (``extras["latent"]``).

    Examples
    --------
    >>> from deepcause.simulate.scm import SCM, Node
    >>> scm = SCM([Node("x"), Node("t", ("x",), lambda p, u: (u > p["x"]).astype(float)),
    ...            Node("y", ("x", "t"), lambda p, u: p["x"] * (1 + p["t"]) + u)])
    >>> ds = scm_dataset(scm, 500, 1, covariates=("x",), description="toy", pop_n=200_000)
    >>> round(ds.truth["ATE_pop"], 1), bool(ds.truth["ATT"] < 0 < ds.truth["ATC"])
    (0.0, True)
    """
    rng = np.random.default_rng(random_state)
    noise = scm.sample_noise(n, rng)
    mu0, mu1 = _potential(scm, noise, treatment, outcome, (outcome,))
    values = scm.propagate(noise)
    t = values[treatment].astype(np.int64)
    data = scm.to_frame(values)[[treatment, outcome, *covariates]].astype({treatment: np.int64})
    truth = average_effects(mu1 - mu0, t)
    pop_noise = scm.sample_noise(pop_n, rng)
    y0, y1 = _potential(scm, pop_noise, treatment, outcome, ())
    pop = average_effects(y1 - y0, scm.propagate(pop_noise)[treatment])
    truth.update({f"{k}_pop": v for k, v in pop.items()})
    truth["E[Y(1)]_pop"] = float(y1.mean())
    truth["E[Y(0)]_pop"] = float(y0.mean())
    latent = {k: values[k] for k in scm.order if scm.nodes[k].latent}
    roles = {"treatment": treatment, "outcome": outcome, "covariates": list(covariates)}
    return CausalDataset(
        data,
        roles,
        truth,
        scm=scm,
        extras={"mu0": mu0, "mu1": mu1, "latent": latent},
        description=description,
    )

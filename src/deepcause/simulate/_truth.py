"""Shared pieces of the published benchmark designs: argument checks and truth from an SCM.

The truth of an SCM-based design is obtained by intervening on the SCM itself:

* sample truth (``ATE``, ``ATT``, ``ATC``): the units' own noiseless potential outcomes
  ``mu0``/``mu1``, i.e. the SCM propagated from the units' noise under ``do(t=0)`` and
  ``do(t=1)`` with the outcome's (additive, mean-zero) noise set to zero;
* population truth (``ATE_pop``, ``ATT_pop``, ``ATC_pop``, ``E[Y(1)]_pop``, ``E[Y(0)]_pop``):
  a large fresh draw propagated under ``do(t=1)`` and ``do(t=0)`` with common random numbers.

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

from ..datasets.loaders import CausalDataset
from ..exceptions import DataValidationError
from .scm import SCM

__all__ = [
    "check_choice",
    "check_int",
    "check_number",
    "effects",
    "intercept_for_share",
    "scm_dataset",
    "POP_N",
]

POP_N = 200_000


def check_choice(name: str, value: Any, allowed: Sequence[Any]) -> Any:
    """Refuse ``value`` unless it is one of ``allowed`` (the message lists them).

    Examples
    --------
    >>> check_choice("setting", "A", ("A", "B"))
    'A'
    """
    if not isinstance(value, str | int | float) or value not in allowed:
        shown = ", ".join(repr(a) for a in allowed)
        raise DataValidationError(f"{name} must be one of {shown}; got {value!r}")
    return value


def check_int(name: str, value: Any, minimum: int) -> int:
    """Refuse anything but an integer ``>= minimum`` (booleans included).

    Examples
    --------
    >>> check_int("n", 10, 2)
    10
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise DataValidationError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def check_number(
    name: str, value: Any, minimum: float | None = None, strict: bool = False
) -> float:
    """Refuse a non-finite number, or one below ``minimum`` (at or below it when ``strict``).

    Examples
    --------
    >>> check_number("sigma", 1, minimum=0.0)
    1.0
    """
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise DataValidationError(f"{name} must be a number; got {value!r}")
    v = float(value)
    bad = not np.isfinite(v) or (minimum is not None and (v <= minimum if strict else v < minimum))
    if bad:
        bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"
        raise DataValidationError(f"{name} must be a finite number{bound}; got {value!r}")
    return v


def effects(mu0: np.ndarray, mu1: np.ndarray, t: np.ndarray, suffix: str = "") -> dict[str, float]:
    """``ATE``/``ATT``/``ATC`` (with ``suffix``) as means of ``mu1 - mu0`` over the groups.

    Examples
    --------
    >>> effects(np.zeros(4), np.array([1.0, 1, 3, 3]), np.array([0, 0, 1, 1]))
    {'ATE': 2.0, 'ATT': 3.0, 'ATC': 1.0}
    """
    tau = np.asarray(mu1, float) - np.asarray(mu0, float)
    t = np.asarray(t)
    nan = float("nan")
    return {
        f"ATE{suffix}": float(tau.mean()),
        f"ATT{suffix}": float(tau[t == 1].mean()) if (t == 1).any() else nan,
        f"ATC{suffix}": float(tau[t == 0].mean()) if (t == 0).any() else nan,
    }


def intercept_for_share(score: np.ndarray, share: float) -> float:
    """Intercept ``a`` such that the mean of ``expit(a + score)`` equals ``share``.

    Examples
    --------
    >>> round(intercept_for_share(np.zeros(10), 0.5), 6)
    0.0
    """
    return float(brentq(lambda a: float(expit(a + score).mean()) - share, -60.0, 60.0))


def _potential(
    scm: SCM, noise: dict[str, np.ndarray], treatment: str, outcome: str
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(y under do(t=0), y under do(t=1), natural values) for the same noise."""
    natural = scm.propagate(noise)
    y0 = scm.propagate(noise, do={treatment: 0})[outcome]
    y1 = scm.propagate(noise, do={treatment: 1})[outcome]
    return y0, y1, natural


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
    extras: dict[str, Any] | None = None,
) -> CausalDataset:
    """Draw ``n`` units from ``scm`` and return them with truth obtained by intervening on it.

    The outcome node must add its own noise (mean zero) to its mean: ``mu0``/``mu1`` are the
    outcome under ``do(treatment=0/1)`` with that noise set to zero. ``extras`` gets the SCM
    (``"scm"``), the latent nodes' values of the drawn units (``"latent"``) and ``extras``.
    """
    rng = np.random.default_rng(random_state)
    noise = scm.sample_noise(n, rng)
    quiet = {**noise, outcome: np.zeros_like(noise[outcome])}
    mu0, mu1, _ = _potential(scm, quiet, treatment, outcome)
    values = scm.propagate(noise)
    t = values[treatment].astype(np.int64)
    frame = scm.to_frame(values)
    data = frame[[treatment, outcome, *covariates]].astype({treatment: np.int64})
    truth = effects(mu0, mu1, t)
    pop_noise = scm.sample_noise(pop_n, rng)
    y0, y1, natural = _potential(scm, pop_noise, treatment, outcome)
    truth.update(effects(y0, y1, natural[treatment], suffix="_pop"))
    truth["E[Y(1)]_pop"] = float(y1.mean())
    truth["E[Y(0)]_pop"] = float(y0.mean())
    latent = {k: values[k] for k in scm.order if scm.nodes[k].latent}
    return CausalDataset(
        data=data,
        treatment=treatment,
        outcome=outcome,
        covariates=tuple(covariates),
        truth=truth,
        mu0=mu0,
        mu1=mu1,
        description=description,
        extras={"scm": scm, "latent": latent, **(extras or {})},
    )

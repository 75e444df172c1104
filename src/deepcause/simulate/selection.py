"""Sample selection: the outcome is observed only for selected units (three mechanisms).

The truth comes from intervening on the design's SCM: ``E[Y]`` and ``ATE`` on 200,000 fresh
units (``do(t=1)`` vs ``do(t=0)`` with common random numbers), the outcome-equation
coefficients from the noiseless outcome under ``do(t, x)`` at unit points.

>>> ds = make_selection(2000, "outcome", random_state=0)
>>> round(ds.truth["ATE"], 6), bool(ds.data["y"].isna().any()), ds.selection
(2.0, True, 's')
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy.special import expit

from ..datasets.dataset import CausalDataset
from ..exceptions import DataValidationError
from ._common import POP_N, check_choice, check_int, noiseless, zero_noise
from .scm import SCM, Node, gaussian, no_noise, uniform

__all__ = ["make_selection", "selection_scm"]

MECHANISMS = ("mar", "unobservables", "outcome")
_TRUTH_SEED = 20_240_601


def _errors(rho: float):
    """Outcome error ``e`` and a selection error ``u`` with ``corr(e, u) = rho``."""

    def draw(rng: np.random.Generator, n: int) -> np.ndarray:
        e = rng.standard_normal(n)
        v = rng.standard_normal(n)
        return np.column_stack([e, rho * e + np.sqrt(1.0 - rho * rho) * v])

    return draw


def _selection_node(mechanism: str, gamma: float) -> Node:
    if mechanism == "outcome":
        return Node(
            "s",
            ("x", "y"),
            lambda pa, u: u < expit(-1.5 + 0.5 * pa["x"] + gamma * pa["y"]),
            uniform(0.0, 1.0),
            discrete=True,
        )
    if mechanism == "mar":
        return Node(
            "s",
            ("x", "z", "t"),
            lambda pa, u: u < expit(0.2 + pa["x"] + pa["z"] + 0.5 * pa["t"]),
            uniform(0.0, 1.0),
            discrete=True,
        )
    return Node(
        "s",
        ("x", "z", "t", "err"),
        lambda pa, u: 0.2 + pa["x"] + pa["z"] + 0.5 * pa["t"] + pa["err"][:, 1] > 0,
        no_noise(),
        discrete=True,
    )


def selection_scm(mechanism: str = "unobservables", rho: float = 0.7, gamma: float = 1.0) -> SCM:
    """The SCM of :func:`make_selection` (arguments as there).

    The latent node ``err`` holds the outcome error and the selection error (correlation
    ``rho``); only the ``"unobservables"`` mechanism lets the selection error act.

    Examples
    --------
    >>> str(selection_scm("unobservables").graph)
    'x -> t; x -> y; x -> s; z -> s; t -> y; t -> s; y -> w; y <-> s'
    """
    check_choice("mechanism", mechanism, MECHANISMS)
    if not -1.0 < float(rho) < 1.0:
        raise DataValidationError(f"rho must be in (-1, 1); got {rho!r}")
    return SCM(
        [
            Node("x", noise=gaussian(1.0)),
            Node("z", noise=gaussian(1.0)),
            Node(
                "t",
                ("x",),
                lambda pa, u: u < expit(0.5 * pa["x"]),
                uniform(0.0, 1.0),
                discrete=True,
            ),
            Node("err", noise=_errors(float(rho)), dim=2, latent=True),
            Node(
                "y",
                ("t", "x", "err"),
                lambda pa, u: 1.0 + 2.0 * pa["t"] + pa["x"] + pa["err"][:, 0],
                no_noise(),
            ),
            Node("w", ("y",), lambda pa, u: pa["y"] + u, gaussian(1.0)),
            _selection_node(mechanism, float(gamma)),
        ]
    )


@functools.lru_cache(maxsize=32)
def _selection_truth(mechanism: str, rho: float, gamma: float) -> dict[str, float]:
    """Truth by intervention on the SCM (200,000 fresh units, fixed seed, cached)."""
    scm = selection_scm(mechanism, rho, gamma)
    pop = scm.sample_noise(POP_N, _TRUTH_SEED)
    natural = scm.propagate(pop)
    ate = scm.propagate(pop, {"t": 1})["y"] - scm.propagate(pop, {"t": 0})["y"]
    at = zero_noise(scm, 3)  # noiseless outcome at (t, x) = (0, 0), (1, 0), (0, 1)
    y = noiseless(scm, at, tuple(at), {"t": np.array([0, 1, 0]), "x": np.array([0, 0, 1])})["y"]
    return {
        "E[Y]": float(natural["y"].mean()),
        "ATE": float(ate.mean()),
        "selected_share": float(natural["s"].mean()),
        "coef_const": float(y[0]),
        "coef_t": float(y[1] - y[0]),
        "coef_x": float(y[2] - y[0]),
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

    Parameters
    ----------
    n : int
        Number of units (at least 2).
    mechanism : {"unobservables", "mar", "outcome"}
        The selection mechanism.
    rho : float in (-1, 1), default 0.7
        Correlation of the outcome and selection errors (``"unobservables"``).
    gamma : float, default 1.0
        Effect of ``y`` on selection (``"outcome"``).
    random_state : int, Generator or None
        Seed of the draw.

    Returns
    -------
    CausalDataset
        Columns ``x, z, t, y, w, s`` with ``y`` NaN where ``s == 0``; roles treatment ``t``,
        outcome ``y``, covariates ``(x,)``, selection ``s``, selection covariates (the observed
        parents of ``s`` other than ``y``), shadows ``(w,)``. Truth from the SCM: ``E[Y]``
        (mean latent outcome, i.e. under ``do(s=1)``), ``ATE`` (2), ``selected_share`` and the
        outcome-equation coefficients ``coef_const``, ``coef_t``, ``coef_x``.
        ``extras["y_latent"]`` holds the unmasked outcome.

    Examples
    --------
    >>> ds = make_selection(3000, "mar", random_state=0)
    >>> ds.selection_covariates, round(ds.truth["coef_t"], 6)
    (('x', 'z', 't'), 2.0)
    """
    n = check_int("n", n, 2)
    scm = selection_scm(mechanism, rho, gamma)
    data = scm.sample(n, random_state=random_state)
    y = data["y"].to_numpy()
    data["y"] = np.where(data["s"] == 1, y, np.nan)
    parents = [p for p in scm.nodes["s"].parents if p in data.columns and p != "y"]
    return CausalDataset(
        pd.DataFrame(data),
        {
            "treatment": "t",
            "outcome": "y",
            "covariates": "x",
            "selection": "s",
            "selection_covariates": parents,
            "shadows": "w",
        },
        _selection_truth(mechanism, float(rho), float(gamma)),
        scm=scm,
        extras={"y_latent": y},
        description=(
            f"simulated selection ({mechanism}): y observed for {int(data['s'].sum())} of {n} "
            "units (s == 1); z affects selection only, w is a shadow variable of y"
        ),
    )

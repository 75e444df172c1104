"""Instrumental-variable designs with a known structural function, each an :class:`SCM`.

* :func:`make_demand` — the airline-demand design of Hartford, Lewis, Leyton-Brown & Taddy
  (2017, *Deep IV*): price ``p`` is confounded with sales ``y`` through ``v``; the fuel-cost
  shifter ``c`` is the instrument; time of year ``t`` and customer type ``s`` are exogenous.
* :func:`make_linear_iv` — a linear model with several instruments, exogenous controls and an
  optional heteroskedastic error, with known coefficients.

The truth is the structural function ``E[Y | do(treatment, controls)]``, obtained by intervening
on the design's SCM with every noise at its mean zero (``ds.structural(frame)``).

>>> ds = make_demand(1000, rho=0.5, random_state=0)
>>> list(ds.data.columns), ds.treatment, ds.instruments, ds.covariates
(['c', 't', 's', 'p', 'y'], 'p', ('c',), ('t', 's'))
>>> bool(abs(float((ds.data["y"] - ds.structural(ds.data)).mean())) < 15)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..datasets.dataset import CausalDataset
from ..exceptions import DataValidationError
from ._common import check_int, check_number, structural_function
from .scm import SCM, Node, gaussian, no_noise

__all__ = [
    "make_demand",
    "demand_scm",
    "demand_psi",
    "demand_structural",
    "demand_test_points",
    "demand_grid",
    "make_linear_iv",
    "linear_iv_scm",
]


def demand_psi(t: Any) -> np.ndarray:
    """The seasonal demand shape ``psi(t) = 2((t-5)^4/600 + exp(-4(t-5)^2) + t/10 - 2)``.

    Examples
    --------
    >>> demand_psi([5.0]).round(3).tolist()
    [-1.0]
    """
    t = np.asarray(t, dtype=float)
    return 2.0 * ((t - 5.0) ** 4 / 600.0 + np.exp(-4.0 * (t - 5.0) ** 2) + t / 10.0 - 2.0)


def demand_structural(p: Any, t: Any, s: Any) -> np.ndarray:
    """The demand equation's mean part ``h(p, t, s) = 100 + (10 + p) s psi(t) - 2 p``.

    This is the equation the SCM of :func:`demand_scm` uses for ``y``; the truth of the design
    is computed by intervening on that SCM (:attr:`CausalDataset.structural`).

    Examples
    --------
    >>> float(demand_structural(20.0, 5.0, 1.0))
    30.0
    """
    p, s = np.asarray(p, dtype=float), np.asarray(s, dtype=float)
    return 100.0 + (10.0 + p) * s * demand_psi(t) - 2.0 * p


def demand_scm(rho: float = 0.5, noise_scale: float = 158.0) -> SCM:
    """The SCM of :func:`make_demand` (latent confounder ``v``).

    Examples
    --------
    >>> scm = demand_scm()
    >>> scm.observed, str(scm.graph)
    (('s', 't', 'c', 'p', 'y'), 's -> y; t -> p; t -> y; c -> p; p -> y; p <-> y')
    """
    rho = float(rho)
    if not 0.0 <= rho < 1.0:
        raise DataValidationError(f"rho must be in [0, 1); got {rho!r}")
    scale = check_number("noise_scale", noise_scale)
    return SCM(
        [
            Node("s", noise=lambda rng, n: rng.integers(1, 8, size=n).astype(float)),
            Node("t", noise=lambda rng, n: rng.uniform(0.0, 10.0, size=n)),
            Node("c", noise=gaussian(1.0)),
            Node("v", noise=gaussian(1.0), latent=True),
            Node(
                "p",
                ("c", "t", "v"),
                lambda pa, u: 25.0 + (pa["c"] + 3.0) * demand_psi(pa["t"]) + pa["v"],
                no_noise(),
            ),
            Node(
                "y",
                ("p", "t", "s", "v"),
                lambda pa, u: (
                    demand_structural(pa["p"], pa["t"], pa["s"]) + scale * (rho * pa["v"] + u)
                ),
                gaussian(np.sqrt(1.0 - rho**2)),
            ),
        ]
    )


def make_demand(
    n: int = 5000,
    rho: float = 0.5,
    noise_scale: float = 158.0,
    random_state: int | np.random.Generator | None = None,
) -> CausalDataset:
    """Draw ``n`` rows of the Hartford et al. (2017) demand design.

    ``y = h(p, t, s) + noise_scale * e`` with ``e = rho v + N(0, 1 - rho^2)``; ``v`` also
    moves the price ``p = 25 + (c + 3) psi(t) + v``, so ``rho`` sets the strength of
    confounding. ``noise_scale=158`` is the outcome noise of the authors' own code.

    Parameters
    ----------
    n : int, default 5000
        Number of rows.
    rho : float in [0, 1), default 0.5
        Confounding strength.
    noise_scale : float, default 158.0
        Outcome noise scale.
    random_state : int, Generator or None
        Seed of the draw.

    Returns
    -------
    CausalDataset
        Columns ``c, t, s, p, y``; roles treatment ``p``, outcome ``y``, instruments
        ``(c,)``, controls ``(t, s)``; ``truth["structural"]`` (also ``ds.structural``) maps a
        frame with ``p, t, s`` to ``E[y | do(p, t, s)]`` by intervention on ``ds.scm``.

    Examples
    --------
    >>> ds = make_demand(200, random_state=0)
    >>> grid = pd.DataFrame({"p": [20.0], "t": [5.0], "s": [1.0]})
    >>> ds.structural(grid).round(6).tolist()
    [30.0]
    """
    n = check_int("n", n)
    scm = demand_scm(rho, noise_scale)
    data = scm.sample(n, random_state=random_state)[["c", "t", "s", "p", "y"]]
    return CausalDataset(
        data,
        {"treatment": "p", "outcome": "y", "instruments": "c", "covariates": ("t", "s")},
        {"structural": _structural(scm, "y", ("p", "t", "s"))},
        scm=scm,
        extras={"rho": float(rho), "noise_scale": float(noise_scale)},
        description="Hartford et al. (2017) demand design; instrument c, controls t, s.",
    )


def _structural(scm: SCM, outcome: str, nodes: tuple[str, ...]):
    def structural(frame: pd.DataFrame) -> np.ndarray:
        return structural_function(scm, outcome, frame, nodes)

    return structural


def demand_test_points(
    n: int = 2800, random_state: int | np.random.Generator | None = None
) -> pd.DataFrame:
    """``n`` draws of ``(p, t, s)`` from the design with the true ``h`` in column ``h``.

    Examples
    --------
    >>> demand_test_points(3, random_state=0).columns.tolist()
    ['p', 't', 's', 'h']
    """
    scm = demand_scm(0.0)
    df = scm.sample(n, random_state=random_state)[["p", "t", "s"]]
    return df.assign(h=structural_function(scm, "y", df, ("p", "t", "s")))


def demand_grid(n_p: int = 20, n_t: int = 20) -> pd.DataFrame:
    """The ``n_p x n_t x 7`` grid p in [10, 25], t in [0, 10], s in 1..7 with the true ``h``.

    Examples
    --------
    >>> demand_grid(2, 2).shape
    (28, 4)
    """
    p, t, s = np.meshgrid(
        np.linspace(10.0, 25.0, n_p),
        np.linspace(0.0, 10.0, n_t),
        np.arange(1.0, 8.0),
        indexing="ij",
    )
    df = pd.DataFrame({"p": p.ravel(), "t": t.ravel(), "s": s.ravel()})
    return df.assign(h=structural_function(demand_scm(0.0), "y", df, ("p", "t", "s")))


def linear_iv_scm(
    effect: float = 2.0,
    n_instruments: int = 2,
    n_controls: int = 2,
    strength: float = 1.0,
    confounding: float = 1.0,
    heteroskedastic: bool = False,
) -> SCM:
    """The SCM of :func:`make_linear_iv` (arguments as there; latent confounder ``w``).

    Examples
    --------
    >>> linear_iv_scm(n_instruments=1, n_controls=1).columns
    ['x1', 'z1', 'd', 'y']
    """
    k = check_int("n_instruments", n_instruments)
    m = check_int("n_controls", n_controls, 0)
    pi = np.linspace(1.0, 0.5, k)
    gamma = np.linspace(1.0, -1.0, m) if m else np.empty(0)
    xs = ("x",) if m else ()

    def x_of(pa: dict[str, np.ndarray], n: int) -> np.ndarray:
        return pa["x"].reshape(n, m) if m else np.zeros((n, 0))

    def d_fn(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
        z = pa["z"].reshape(len(u), k)
        return strength * z @ pi + x_of(pa, len(u)) @ np.full(m, 0.5) + confounding * pa["w"] + u

    def y_fn(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
        scale = np.abs(pa["z"].reshape(len(u), k)[:, 0]) + 0.5 if heteroskedastic else 1.0
        return effect * pa["d"] + x_of(pa, len(u)) @ gamma + (confounding * pa["w"] + scale * u)

    def z_fn(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
        return u.reshape(len(u), k) + 0.5 * x_of(pa, len(u))[:, :1] if m else u

    nodes = [Node("x", dim=m, column_names=tuple(f"x{i + 1}" for i in range(m)))] if m else []
    nodes += [
        Node(
            "z",
            xs,
            z_fn,
            gaussian(1.0, k),
            dim=k,
            column_names=tuple(f"z{i + 1}" for i in range(k)),
        ),
        Node("w", noise=gaussian(1.0), latent=True),
        Node("d", ("z", *xs, "w"), d_fn, gaussian(1.0)),
        Node("y", ("d", *xs, "w", *(("z",) if heteroskedastic else ())), y_fn, gaussian(1.0)),
    ]
    return SCM(nodes)


def make_linear_iv(
    n: int = 2000,
    *,
    effect: float = 2.0,
    n_instruments: int = 2,
    n_controls: int = 2,
    strength: float = 1.0,
    confounding: float = 1.0,
    heteroskedastic: bool = False,
    random_state: int | np.random.Generator | None = None,
) -> CausalDataset:
    """Linear IV model ``y = effect * d + controls @ gamma + u`` with ``d`` endogenous.

    ``d = strength * z @ pi + controls @ delta + confounding * w + noise`` and
    ``u = confounding * w + noise``, where ``w`` is an unobserved confounder, so ordinary
    least squares is biased and 2SLS is consistent. Controls also shift ``z``. With
    ``heteroskedastic=True`` the outcome noise scales with ``|z_1| + 0.5``.

    Parameters
    ----------
    n : int, default 2000
        Number of rows.
    effect, n_instruments, n_controls, strength, confounding, heteroskedastic
        The design, as above.
    random_state : int, Generator or None
        Seed of the draw.

    Returns
    -------
    CausalDataset
        Columns ``x1.., z1.., d, y``; roles treatment ``d``, outcome ``y``, instruments
        ``z1..``, controls ``x1..``. Truth by intervention on ``ds.scm`` with every noise at
        zero: ``structural`` (frame with ``d`` and the controls -> ``E[y | do(d, x)]``),
        ``effect`` (its slope in ``d``) and ``gamma`` (its slopes in the controls).

    Examples
    --------
    >>> ds = make_linear_iv(500, effect=1.5, random_state=1)
    >>> ds.truth["effect"], ds.instruments, ds.covariates
    (1.5, ('z1', 'z2'), ('x1', 'x2'))
    """
    n = check_int("n", n)
    scm = linear_iv_scm(effect, n_instruments, n_controls, strength, confounding, heteroskedastic)
    nodes = ("d", "x") if n_controls else ("d",)
    structural = _structural(scm, "y", nodes)
    controls = list(scm.nodes["x"].columns) if n_controls else []
    instruments = list(scm.nodes["z"].columns)
    unit = pd.DataFrame(np.vstack([np.zeros(1 + n_controls), np.eye(1 + n_controls)]))
    unit.columns = ["d", *controls]
    h = structural(unit)
    data = scm.sample(n, random_state=random_state)
    return CausalDataset(
        data[[*instruments, *controls, "d", "y"]],
        {"treatment": "d", "outcome": "y", "instruments": instruments, "covariates": controls},
        {"structural": structural, "effect": float(h[1] - h[0]), "gamma": h[2:] - h[0]},
        scm=scm,
        description="linear IV model with an unobserved confounder w",
    )

"""Simulators for instrumental-variable problems with a known structural function.

* :func:`make_demand` — the airline-demand design of Hartford, Lewis, Leyton-Brown & Taddy
  (2017, *Deep IV*): price ``p`` is confounded with sales ``y`` through ``v``; the fuel-cost
  shifter ``c`` is the instrument; time of year ``t`` and customer type ``s`` are exogenous.
* :func:`make_linear_iv` — a linear model with several instruments, exogenous controls and an
  optional heteroskedastic error, with known coefficients.

The truth is the structural function itself (``h`` of the design), i.e. ``E[Y | do(P=p), t, s]``,
computed from the simulator's equations, never estimated.

>>> ds = make_demand(1000, rho=0.5, random_state=0)
>>> list(ds.data.columns)
['c', 't', 's', 'p', 'y']
>>> truth = demand_structural(ds.data["p"], ds.data["t"], ds.data["s"])
>>> bool(abs(float((ds.data["y"] - truth).mean())) < 15)
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "IVDataset",
    "make_demand",
    "demand_psi",
    "demand_structural",
    "demand_test_points",
    "demand_grid",
    "make_linear_iv",
]


@dataclass(frozen=True)
class IVDataset:
    """A simulated IV problem: data, column roles and the true structural function.

    ``structural(df)`` returns the noiseless ``h(treatment, controls)`` for the rows of ``df``
    (any DataFrame holding the treatment and control columns).
    """

    data: pd.DataFrame
    treatment: tuple[str, ...]
    outcome: str
    instruments: tuple[str, ...]
    controls: tuple[str, ...]
    structural: Callable[[pd.DataFrame], np.ndarray]
    truth: dict[str, Any] = field(default_factory=dict)
    description: str = ""


def demand_psi(t: Any) -> np.ndarray:
    """The seasonal demand shape psi(t) = 2((t-5)^4/600 + exp(-4(t-5)^2) + t/10 - 2)."""
    t = np.asarray(t, dtype=float)
    return 2.0 * ((t - 5.0) ** 4 / 600.0 + np.exp(-4.0 * (t - 5.0) ** 2) + t / 10.0 - 2.0)


def demand_structural(p: Any, t: Any, s: Any) -> np.ndarray:
    """True structural demand h(p, t, s) = 100 + (10 + p) s psi(t) - 2 p."""
    p, s = np.asarray(p, dtype=float), np.asarray(s, dtype=float)
    return 100.0 + (10.0 + p) * s * demand_psi(t) - 2.0 * p


def _demand_frame(n: int, rho: float, rng: np.random.Generator) -> pd.DataFrame:
    s = rng.integers(1, 8, size=n)
    t = rng.uniform(0.0, 10.0, size=n)
    c = rng.normal(size=n)
    v = rng.normal(size=n)
    e = rho * v + rng.normal(scale=np.sqrt(1.0 - rho**2), size=n)
    p = 25.0 + (c + 3.0) * demand_psi(t) + v
    return pd.DataFrame({"c": c, "t": t, "s": s.astype(float), "p": p, "_e": e})


def make_demand(
    n: int = 5000,
    rho: float = 0.5,
    noise_scale: float = 158.0,
    random_state: int | np.random.Generator | None = None,
) -> IVDataset:
    """Draw ``n`` rows of the Hartford et al. (2017) demand design.

    ``y = h(p, t, s) + noise_scale * e`` with ``e = rho v + N(0, 1 - rho^2)``; ``v`` also
    moves the price, so ``rho`` sets the strength of confounding. ``noise_scale=158`` is the
    outcome noise of the authors' own code.
    """
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"rho must be in [0, 1), got {rho}")
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    rng = np.random.default_rng(random_state)
    df = _demand_frame(n, rho, rng)
    df["y"] = demand_structural(df["p"], df["t"], df["s"]) + noise_scale * df.pop("_e")
    return IVDataset(
        data=df[["c", "t", "s", "p", "y"]],
        treatment=("p",),
        outcome="y",
        instruments=("c",),
        controls=("t", "s"),
        structural=lambda d: demand_structural(d["p"], d["t"], d["s"]),
        truth={"rho": rho, "noise_scale": noise_scale},
        description="Hartford et al. (2017) demand design; instrument c, controls t, s.",
    )


def demand_test_points(
    n: int = 2800, random_state: int | np.random.Generator | None = None
) -> pd.DataFrame:
    """``n`` i.i.d. draws of (p, t, s) from the design with the true ``h`` in column ``h``."""
    rng = np.random.default_rng(random_state)
    df = _demand_frame(n, 0.0, rng)[["p", "t", "s"]]
    return df.assign(h=demand_structural(df["p"], df["t"], df["s"]))


def demand_grid(n_p: int = 20, n_t: int = 20) -> pd.DataFrame:
    """The ``n_p x n_t x 7`` grid p in [10, 25], t in [0, 10], s in 1..7 with the true ``h``."""
    p, t, s = np.meshgrid(
        np.linspace(10.0, 25.0, n_p),
        np.linspace(0.0, 10.0, n_t),
        np.arange(1.0, 8.0),
        indexing="ij",
    )
    df = pd.DataFrame({"p": p.ravel(), "t": t.ravel(), "s": s.ravel()})
    return df.assign(h=demand_structural(df["p"], df["t"], df["s"]))


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
) -> IVDataset:
    """Linear IV model ``y = effect * d + controls @ gamma + u`` with ``d`` endogenous.

    ``d = strength * z @ pi + controls @ delta + confounding * w + noise`` and
    ``u = confounding * w + noise``, where ``w`` is an unobserved confounder, so ordinary
    least squares is biased and 2SLS is consistent. Controls also shift ``z``. With
    ``heteroskedastic=True`` the outcome noise scales with ``|z_1| + 0.5``.

    >>> ds = make_linear_iv(500, effect=1.5, random_state=1)
    >>> ds.truth["effect"], ds.instruments, ds.controls
    (1.5, ('z1', 'z2'), ('x1', 'x2'))
    """
    rng = np.random.default_rng(random_state)
    x = rng.normal(size=(n, n_controls))
    z = (
        rng.normal(size=(n, n_instruments)) + 0.5 * x[:, :1]
        if n_controls
        else rng.normal(size=(n, n_instruments))
    )
    w = rng.normal(size=n)
    pi = np.linspace(1.0, 0.5, n_instruments)
    delta = np.full(n_controls, 0.5)
    gamma = np.linspace(1.0, -1.0, n_controls) if n_controls else np.empty(0)
    d = strength * z @ pi + x @ delta + confounding * w + rng.normal(size=n)
    scale = (np.abs(z[:, 0]) + 0.5) if heteroskedastic else 1.0
    u = confounding * w + scale * rng.normal(size=n)
    y = effect * d + x @ gamma + u
    cols = {f"z{i + 1}": z[:, i] for i in range(n_instruments)}
    cols |= {f"x{i + 1}": x[:, i] for i in range(n_controls)}
    df = pd.DataFrame(cols).assign(d=d, y=y)
    controls = tuple(f"x{i + 1}" for i in range(n_controls))
    return IVDataset(
        data=df,
        treatment=("d",),
        outcome="y",
        instruments=tuple(f"z{i + 1}" for i in range(n_instruments)),
        controls=controls,
        structural=lambda f: (
            effect * np.asarray(f["d"], dtype=float)
            + (np.asarray(f[list(controls)], dtype=float) @ gamma if controls else 0.0)
        ),
        truth={"effect": effect, "gamma": gamma.tolist()},
        description="linear IV model with an unobserved confounder w",
    )

"""Shared pieces of the designs: argument checks and truth by intervention on an :class:`SCM`.

Every truth of a design is computed here from the design's own SCM, never from a formula:

* :func:`noiseless` — the SCM's values when the named nodes' exogenous noise is set to zero
  (the noiseless potential outcomes ``E[Y | do(...), parents]`` of additive-noise equations);
* :func:`effects_by_intervention` — unit-level effects ``Y(do(T=1)) - Y(do(T=0))`` for the same
  noise (common random numbers), averaged over everyone, the treated and the controls;
* :func:`structural_function` — ``E[Y | do(columns = values)]`` row by row, with every noise at
  its mean zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataValidationError
from .scm import SCM

POP_N = 200_000  # size of the fresh population on which population truths are computed


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int, refusing bools, floats and values below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise DataValidationError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def check_number(name: str, value: Any, low: float = 0.0, strict: bool = False) -> float:
    """``value`` as a finite float ``>= low`` (``> low`` when ``strict``)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = float("nan")
    if not np.isfinite(out) or out < low or (strict and out == low):
        sign = ">" if strict else ">="
        raise DataValidationError(f"{name} must be a number {sign} {low:g}; got {value!r}")
    return out


def check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``."""
    if value not in allowed:
        shown = " or ".join(repr(a) for a in allowed)
        raise DataValidationError(f"{name} must be {shown}; got {value!r}")
    return value


def noiseless(
    scm: SCM,
    noise: Mapping[str, np.ndarray],
    silent: tuple[str, ...],
    do: Mapping[str, Any] | None = None,
) -> dict[str, np.ndarray]:
    """Propagate ``noise`` under ``do`` with the noise of the ``silent`` nodes set to zero."""
    quiet = {k: (np.zeros_like(v) if k in silent else v) for k, v in noise.items()}
    return scm.propagate(quiet, do)


def effects_by_intervention(
    scm: SCM, treatment: str, outcome: str, noise: Mapping[str, np.ndarray]
) -> dict[str, float]:
    """Mean of ``Y(do(T=1)) - Y(do(T=0))`` over all units, the treated and the controls.

    The same noise is used under both interventions and for the factual treatment, so the
    differences are unit-level effects.
    """
    t = scm.propagate(noise)[treatment]
    y1 = scm.propagate(noise, {treatment: 1})[outcome]
    return average_effects(y1 - scm.propagate(noise, {treatment: 0})[outcome], t)


def average_effects(diff: np.ndarray, t: np.ndarray) -> dict[str, float]:
    """ATE, ATT and ATC of unit-level effects ``diff`` (NaN for an empty arm)."""
    nan = float("nan")
    return {
        "ATE": float(diff.mean()),
        "ATT": float(diff[t == 1].mean()) if (t == 1).any() else nan,
        "ATC": float(diff[t == 0].mean()) if (t == 0).any() else nan,
    }


def zero_noise(scm: SCM, n: int) -> dict[str, np.ndarray]:
    """Noise of every node set to zero for ``n`` units (shapes as the nodes draw them)."""
    noise = scm.sample_noise(1, random_state=0)
    return {k: np.zeros((n, *np.shape(v)[1:])) for k, v in noise.items()}


def structural_function(
    scm: SCM, outcome: str, frame: pd.DataFrame, nodes: tuple[str, ...]
) -> np.ndarray:
    """``outcome`` under ``do(node = the frame's values of its columns)`` per row, noise at zero.

    For equations with additive zero-mean noise this is ``E[Y | do(nodes = values)]``.
    """
    frame = pd.DataFrame(frame)
    cols = {node: list(scm.nodes[node].columns) for node in nodes}
    missing = [c for cs in cols.values() for c in cs if c not in frame.columns]
    if missing:
        need = [c for cs in cols.values() for c in cs]
        raise DataValidationError(
            f"the structural function needs columns {need}; the frame lacks {missing}"
        )
    do = {
        node: frame[cs].to_numpy(dtype=float).reshape(len(frame), -1).squeeze(axis=1)
        if len(cs) == 1
        else frame[cs].to_numpy(dtype=float)
        for node, cs in cols.items()
    }
    return scm.propagate(zero_noise(scm, len(frame)), do)[outcome]

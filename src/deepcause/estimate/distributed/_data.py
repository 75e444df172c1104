"""A back-door problem on a Dask DataFrame: roles, validation and moments in one first pass.

The first pass counts the units of each arm in every partition (the fold rule needs the counts
of the partitions before each one), checks that the treatment is 0/1 and that every value is
finite, and reduces per-arm means and centred sums of squares of the covariates (Chan et al.'s
pairwise update), from which the covariates are standardized exactly as the in-memory path
standardizes them (mean 0, population standard deviation 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...exceptions import DataValidationError
from .._base import _backdoor_roles
from ._engine import partitions_of, run_pass

__all__ = ["DaskBackdoorData", "prepare_backdoor", "merge_moments", "check_frame_columns"]


@dataclass(frozen=True)
class DaskBackdoorData:
    """A validated back-door problem whose rows stay in a Dask DataFrame.

    ``parts`` are the delayed partitions (treatment, outcome, covariates, in that column
    order); ``counts`` the (controls, treated) counts of each partition; ``arm_moments`` the
    per-arm ``(n, mean, centred sum of squares)`` of the covariates; ``mean`` and ``scale``
    standardize them.
    """

    parts: tuple[Any, ...]
    counts: np.ndarray
    covariate_names: tuple[str, ...]
    treatment: str
    outcome: str
    estimand: Any
    mean: np.ndarray
    scale: np.ndarray
    arm_moments: tuple[tuple[float, np.ndarray, np.ndarray], ...]
    columns: tuple[str, ...] | None = None

    @property
    def n(self) -> int:
        """Number of units."""
        return int(self.counts.sum())

    @property
    def names(self) -> tuple[str, ...]:
        """The covariate columns."""
        return self.covariate_names

    @property
    def starts(self) -> np.ndarray:
        """(controls, treated) counts before each partition (for the fold rule)."""
        return np.vstack([np.zeros((1, 2), dtype=np.int64), np.cumsum(self.counts, axis=0)[:-1]])


def check_frame_columns(frame: Any, columns: Sequence[str], role: str) -> None:
    """Every column exists and is numeric (or boolean); categorical columns are refused."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{role} column(s) {missing} are not columns of the Dask DataFrame "
            f"(columns: {list(frame.columns)})"
        )
    bad = [c for c in columns if not pd.api.types.is_numeric_dtype(frame.dtypes[c])]
    if bad:
        raise DataValidationError(
            f"column(s) {bad} are not numeric; the Dask engine needs numeric columns: encode "
            "categories as 0/1 columns first (e.g. dd.get_dummies after categorize())"
        )


def merge_moments(a: tuple, b: tuple) -> tuple:
    """Combine ``(n, mean, M2)`` of two groups (Chan, Golub & LeVeque's pairwise update).

    >>> x = np.arange(10.0)
    >>> m = merge_moments((4, x[:4].mean(), ((x[:4] - x[:4].mean()) ** 2).sum()),
    ...                   (6, x[4:].mean(), ((x[4:] - x[4:].mean()) ** 2).sum()))
    >>> m[0], float(m[1]), float(m[2] / m[0]) == float(x.var())
    (10, 4.5, True)
    """
    na, ma, sa = a
    nb, mb, sb = b
    n = na + nb
    if nb == 0:
        return a
    if na == 0:
        return b
    delta = mb - ma
    return n, ma + delta * nb / n, sa + sb + delta**2 * na * nb / n


def _moments_pass(part: pd.DataFrame, index: int, p: int) -> dict[str, Any]:
    values = part.to_numpy(dtype=float)
    t, X = values[:, 0], values[:, 2:]
    out: dict[str, Any] = {
        "nonfinite": int((~np.isfinite(values)).sum()),
        "bad_t": int(((t != 0) & (t != 1)).sum()),
    }
    for arm in (0, 1):
        Xa = X[t == arm]
        mean = Xa.mean(axis=0) if len(Xa) else np.zeros(p)
        out[f"arm{arm}"] = (len(Xa), mean, ((Xa - mean) ** 2).sum(axis=0))
    return out


def _roles(
    frame: Any,
    estimand: Any,
    roles: dict[str, Any],
    estimator: str,
    supported_kinds: Sequence[str],
) -> tuple[str, str, list[str]]:
    given = (roles.get("treatment"), roles.get("outcome"), roles.get("covariates"))
    names = _backdoor_roles(frame.columns, estimand, given, estimator, supported_kinds)
    if estimand is not None:
        return names
    treatment, outcome, covariates = names
    return str(treatment), str(outcome), [str(c) for c in covariates]


def prepare_backdoor(
    frame: Any,
    estimand: Any,
    roles: dict[str, Any],
    estimator: str,
    supported_kinds: Sequence[str] = ("backdoor",),
) -> DaskBackdoorData:
    """Validate a Dask DataFrame into :class:`DaskBackdoorData` (one pass over the data)."""
    treatment, outcome, covariates = _roles(frame, estimand, roles, estimator, supported_kinds)
    check_frame_columns(frame, [treatment], "treatment")
    check_frame_columns(frame, [outcome], "outcome")
    check_frame_columns(frame, covariates, "covariate")
    if len(set(covariates)) != len(covariates):
        raise DataValidationError(f"covariates {covariates} name a column twice; drop duplicates")
    parts = partitions_of(frame, [treatment, outcome, *covariates])
    results = run_pass(parts, _moments_pass, len(covariates), desc="moments", reduce=False)
    if sum(r["nonfinite"] for r in results):
        raise DataValidationError(
            f"the data have {sum(r['nonfinite'] for r in results)} missing or infinite values "
            "in the treatment, outcome or covariates; drop or impute them (e.g. dropna())"
        )
    if sum(r["bad_t"] for r in results):
        raise DataValidationError(
            f"treatment {treatment!r} must be binary 0/1; {sum(r['bad_t'] for r in results)} "
            "rows have other values"
        )
    arms = []
    for arm in (0, 1):
        moments = (0, np.zeros(len(covariates)), np.zeros(len(covariates)))
        for r in results:
            moments = merge_moments(moments, r[f"arm{arm}"])
        if moments[0] < 2:
            raise DataValidationError(
                f"treatment {treatment!r} group {arm} has {moments[0]} unit(s); at least 2 are "
                "needed in each group"
            )
        arms.append(moments)
    n, mean, m2 = merge_moments(arms[0], arms[1])
    scale = np.sqrt(m2 / n)
    constant = [c for c, s in zip(covariates, scale) if s == 0]
    if constant:
        raise DataValidationError(
            f"covariate column(s) {constant} are constant and carry no information; drop them."
        )
    counts = np.array([[r["arm0"][0], r["arm1"][0]] for r in results], dtype=np.int64)
    return DaskBackdoorData(
        tuple(parts),
        counts,
        tuple(covariates),
        treatment,
        outcome,
        estimand,
        mean,
        scale,
        tuple(arms),
    )

"""Cross-fitted nuisances of a back-door problem, fitted out of core.

Every fold's models are fitted together: one pass reduces, for every fold ``k``, the Gram
matrices of ``[1, Z, y]`` of each (fold, arm) cell (the training Gram of fold ``k`` is the sum
over the other folds) and the score and information of every fold's logistic regression at
its current coefficients; Newton's method then needs one pass per iteration for all folds.
``Z`` are the covariates standardized with the first pass's moments, exactly as the
in-memory AIPW and IPW standardize them, and the folds follow the shared rule of
:mod:`deepcause.estimate._folds`. Gradient-boosted (XGBoost) nuisances are trained fold by
fold on the same standardized covariates by :mod:`._boosted`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ...exceptions import DataValidationError
from .._folds import assign_folds
from ._boosted import BoostedSpec, fit_fold_models, predict_folds, require_client
from ._data import DaskBackdoorData
from ._engine import run_pass
from ._linear import LinearSpec, newton_step, sigmoid, solve_gram

__all__ = ["FoldPlan", "Nuisances", "design", "fit_frame", "fit_nuisances", "MAX_NEWTON"]

MAX_NEWTON = 100
NEWTON_TOL = 1e-10  # largest coefficient change of the last Newton step


@dataclass(frozen=True)
class FoldPlan:
    """What a partition needs to standardize its covariates and find its rows' folds."""

    mean: np.ndarray
    scale: np.ndarray
    starts: np.ndarray
    totals: tuple[int, int]
    n_folds: int
    seed: int
    standardize: bool = True


@dataclass(frozen=True)
class Nuisances:
    """Fitted nuisances of every fold and the Newton iterations used.

    ``propensity``: coefficients on ``[1, Z]`` (folds, p+1), or one XGBoost booster per fold,
    or None; ``outcome``: coefficients (folds, 2 arms, p+1), or per arm a tuple of one booster
    per fold, or None.
    """

    plan: FoldPlan
    propensity: Any
    outcome: Any
    iterations: int

    def scores(self, Z1: np.ndarray, folds: np.ndarray) -> np.ndarray:
        """Each row's propensity score from its fold's model."""
        if isinstance(self.propensity, np.ndarray):
            return sigmoid(np.einsum("ij,ij->i", Z1, self.propensity[folds]))
        return predict_folds(self.propensity, Z1[:, 1:], folds)

    def means(self, Z1: np.ndarray, folds: np.ndarray) -> np.ndarray:
        """(n, 2 arms) outcome means of each row from its fold's models."""
        if isinstance(self.outcome, np.ndarray):
            return np.einsum("ij,iaj->ia", Z1, self.outcome[folds])
        return np.column_stack([predict_folds(arm, Z1[:, 1:], folds) for arm in self.outcome])


def design(part: Any, index: int, plan: FoldPlan):
    """``(Z1 = [1, Z], t, y, X, folds)`` of one partition (columns: t, y, covariates)."""
    values = part.to_numpy(dtype=float)
    t, y, X = values[:, 0].astype(np.int64), values[:, 1], values[:, 2:]
    Z = (X - plan.mean) / plan.scale if plan.standardize else X
    Z1 = np.column_stack([np.ones(len(t)), Z])
    start = tuple(int(s) for s in plan.starts[index])
    folds = assign_folds(t, plan.n_folds, plan.seed, start=start, totals=plan.totals)
    return Z1, t, y, X, folds


def _train_masks(folds: np.ndarray, n_folds: int) -> np.ndarray:
    """(n, folds) training indicator: every row trains every fold but its own."""
    if n_folds == 1:
        return np.ones((len(folds), 1))
    return (folds[:, None] != np.arange(n_folds)[None, :]).astype(float)


def _fit_pass(part: Any, index: int, plan: FoldPlan, beta: Any, grams: bool) -> dict[str, Any]:
    Z1, t, y, _, folds = design(part, index, plan)
    K, out = plan.n_folds, {}
    if grams:
        A = np.column_stack([Z1, y])
        G = np.zeros((K, 2, A.shape[1], A.shape[1]))
        for j in range(K):
            for arm in (0, 1):
                rows = A[(folds == j) & (t == arm)]
                G[j, arm] = rows.T @ rows
        out["grams"] = G
    if beta is not None:
        train = _train_masks(folds, K)
        p = sigmoid(Z1 @ beta.T)  # (n, K): every fold's model on every row
        out["score"] = ((t[:, None] - p) * train).T @ Z1
        w = p * (1.0 - p) * train
        out["info"] = np.stack([(Z1 * w[:, [k]]).T @ Z1 for k in range(K)])
    return out


def _solve_outcomes(grams: np.ndarray, spec: LinearSpec) -> np.ndarray:
    K = grams.shape[0]
    coef = np.empty((K, 2, grams.shape[-1] - 1))
    for k in range(K):
        train = grams.sum(axis=0) - (grams[k] if K > 1 else 0.0)
        for arm in (0, 1):
            coef[k, arm] = solve_gram(train[arm], spec)
    return coef


def fit_nuisances(
    data: DaskBackdoorData,
    propensity: LinearSpec | BoostedSpec | None,
    outcome: LinearSpec | BoostedSpec | None,
    n_folds: int,
    seed: int,
) -> Nuisances:
    """Fit the propensity (logistic by Newton, or boosted) and per-arm outcome models of every
    fold (linear from Gram matrices, or boosted)."""
    totals = tuple(int(c) for c in data.counts.sum(axis=0))
    if n_folds > 1 and min(totals) < n_folds:
        raise DataValidationError(
            f"a treatment group has {min(totals)} units, fewer than n_folds={n_folds}; "
            "lower n_folds"
        )
    plan = FoldPlan(data.mean, data.scale, data.starts, totals, n_folds, seed)
    boosted = {
        name: spec
        for name, spec in (("propensity", propensity), ("outcome", outcome))
        if isinstance(spec, BoostedSpec)
    }
    client = require_client() if boosted else None  # refuse before any pass
    linear = _fit_linear(
        data,
        plan,
        None if "propensity" in boosted else propensity,
        None if "outcome" in boosted else outcome,
    )
    return replace(linear, **_fit_boosted(data, plan, boosted, client)) if boosted else linear


def _fold_part(part: Any, index: int, plan: FoldPlan) -> pd.DataFrame:
    """One partition as standardized covariates ``z1..zp`` with ``t``, ``y`` and ``fold``."""
    Z1, t, y, _, folds = design(part, index, plan)
    frame = pd.DataFrame(Z1[:, 1:], columns=[f"z{j}" for j in range(1, Z1.shape[1])])
    return frame.assign(t=t, y=y, fold=folds.astype(np.int64))


def fit_frame(data: DaskBackdoorData, plan: FoldPlan) -> tuple[Any, list[str]]:
    """A Dask DataFrame of the (standardized when ``plan`` says so) covariates ``z1..zp``,
    ``t``, ``y`` and ``fold``, one partition per partition of ``data``; and the ``z`` names."""
    import dask
    import dask.dataframe as dd

    meta = _fold_part(pd.DataFrame(np.zeros((0, len(data.mean) + 2))), 0, plan)
    parts = [dask.delayed(_fold_part)(part, i, plan) for i, part in enumerate(data.parts)]
    frame = dd.from_delayed(parts, meta=meta, verify_meta=False)
    return frame, [c for c in meta.columns if c.startswith("z")]


def _fit_boosted(
    data: DaskBackdoorData, plan: FoldPlan, specs: dict[str, BoostedSpec], client: Any
) -> dict[str, Any]:
    """Boosters of every fold (and arm, for outcomes) trained on the other folds' rows."""
    frame, features = fit_frame(data, plan)
    out: dict[str, Any] = {}
    if "propensity" in specs:
        out["propensity"] = fit_fold_models(
            frame, features, "t", specs["propensity"], plan.n_folds, client
        )
    if "outcome" in specs:
        out["outcome"] = tuple(
            fit_fold_models(
                frame[frame["t"] == arm], features, "y", specs["outcome"], plan.n_folds, client
            )
            for arm in (0, 1)
        )
    return out


def _fit_linear(
    data: DaskBackdoorData,
    plan: FoldPlan,
    propensity: LinearSpec | None,
    outcome: LinearSpec | None,
) -> Nuisances:
    """Logistic propensity (Newton, one pass per step) and linear outcomes (one Gram pass)."""
    n_folds = plan.n_folds
    size = len(data.mean) + 1
    beta = np.zeros((n_folds, size)) if propensity is not None else None
    outcome_coef, iterations = None, 0
    if outcome is not None:
        res = run_pass(data.parts, _fit_pass, plan, beta, True, desc="outcome Gram + Newton 1")
        outcome_coef = _solve_outcomes(res["grams"], outcome)
    while beta is not None:
        if iterations > 0 or outcome is None:
            res = run_pass(
                data.parts, _fit_pass, plan, beta, False, desc=f"Newton {iterations + 1}"
            )
        step = np.stack(
            [
                newton_step(beta[k], res["score"][k], res["info"][k], propensity)
                for k in range(n_folds)
            ]
        )
        beta = beta + step
        iterations += 1
        if np.abs(step).max() < NEWTON_TOL:
            break
        if iterations >= MAX_NEWTON:
            raise DataValidationError(
                f"the logistic propensity model did not converge in {MAX_NEWTON} Newton steps "
                "(the treatment is (nearly) separable by the covariates); use a smaller C"
            )
    return Nuisances(plan, beta, outcome_coef, iterations)

"""Regression adjustment (T-learner) with linear outcome models, from one Gram pass, or with
XGBoost outcome models.

Each arm's linear outcome model is fitted on the raw covariates from the Gram matrix of
``[1, X, y]`` of that arm; every population quantity is linear in the covariate means of the
population, and the spread of the CATE follows from the population's covariance, so one pass
gives everything. XGBoost models (:mod:`._boosted`) are trained on each arm's rows by XGBoost's
Dask interface; one pass then sums both arms' predictions over each arm's units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone

from ...results import Diagnostics, EffectEstimate
from ._boosted import BoostedSpec, fit_fold_models, predict_folds, require_client
from ._data import DaskBackdoorData
from ._engine import run_pass
from ._linear import LinearSpec, solve_gram
from ._nuisance import FoldPlan, _fit_pass, design, fit_frame

__all__ = ["TLearnerEngine", "BoostedTLearnerEngine", "fit_tlearner", "as_sklearn"]

_POINT_NOTE = "point estimate; call bootstrap() for a standard error and interval"


def as_sklearn(model: Any, coef: np.ndarray) -> Any:
    """An unfitted clone of a linear ``model`` carrying fitted coefficients ``[b, w]``.

    >>> from sklearn.linear_model import LinearRegression
    >>> as_sklearn(LinearRegression(), np.array([1.0, 2.0])).predict(np.array([[3.0]])).tolist()
    [7.0]
    """
    fitted = clone(model)
    fitted.intercept_, fitted.coef_ = float(coef[0]), np.asarray(coef[1:], dtype=float)
    fitted.n_features_in_ = len(coef) - 1
    return fitted


@dataclass
class TLearnerEngine:
    """Population means and effects of per-arm linear outcome models."""

    data: DaskBackdoorData
    grams: np.ndarray  # (2 arms, p+2, p+2) Gram of [1, X, y]
    coef: np.ndarray  # (2 arms, p+1)

    def contrast(self, c: np.ndarray, quantity: str) -> EffectEstimate:
        """``c[0] m_0 + c[1] m_1`` over ``quantity``'s population (the back-door hook)."""
        arms = {"ATT": (1,), "ATC": (0,)}.get(quantity, (0, 1))
        G = sum(self.grams[a] for a in arms)[:-1, :-1]
        n_p = G[0, 0]
        center = G[0] / n_p  # population means of [1, X]
        d = self.coef[1] - self.coef[0]
        spread = float(np.sqrt(max(d @ (G / n_p - np.outer(center, center)) @ d, 0.0)))
        if c[0] == -c[1]:
            value = c[1] * float(center @ d)
        else:
            value = sum(c[a] * float(center @ self.coef[a]) for a in (0, 1) if c[a])
        return _point_estimate(self.data, value, spread, quantity)


def _point_estimate(data: DaskBackdoorData, value: float, spread: float, quantity: str) -> Any:
    return EffectEstimate(
        value=value,
        std_error=None,
        quantity=quantity,
        method="T-learner",
        n=data.n,
        estimand=data.estimand,
        diagnostics=Diagnostics(notes=(_POINT_NOTE,), extra={"cate_std": spread, "engine": "dask"}),
    )


def _raw_plan(data: DaskBackdoorData) -> FoldPlan:
    """Raw covariates, one fold (the T-learner fits each arm on all of its units)."""
    p = len(data.mean)
    return FoldPlan(np.zeros(p), np.ones(p), data.starts, (0, 0), 1, 0, standardize=False)


@dataclass
class BoostedTLearnerEngine:
    """Population means and effects of per-arm XGBoost outcome models (boosters)."""

    data: DaskBackdoorData
    boosters: tuple[Any, Any]
    sums: dict[str, Any] = field(default_factory=dict)

    def _pass(self, part: Any, index: int, plan: FoldPlan) -> dict[str, Any]:
        _, t, _, X, folds = design(part, index, plan)
        mu = np.column_stack([predict_folds((b,), X, folds) for b in self.boosters])
        tau = mu[:, 1] - mu[:, 0]
        stats = np.column_stack([np.ones(len(t)), mu, tau, tau**2])
        return {f"arm{a}": stats[t == a].sum(axis=0) for a in (0, 1)}

    def contrast(self, c: np.ndarray, quantity: str) -> EffectEstimate:
        """``c[0] m_0 + c[1] m_1`` over ``quantity``'s population (the back-door hook)."""
        if not self.sums:
            plan = _raw_plan(self.data)
            self.sums.update(run_pass(self.data.parts, self._pass, plan, desc="predictions"))
        arms = {"ATT": (1,), "ATC": (0,)}.get(quantity, (0, 1))
        total = sum(self.sums[f"arm{a}"] for a in arms)
        m = total[1:] / total[0]  # means of mu0, mu1, tau, tau^2
        value = c[1] * m[2] if c[0] == -c[1] else sum(c[a] * m[a] for a in (0, 1) if c[a])
        spread = float(np.sqrt(max(m[3] - m[2] ** 2, 0.0)))
        return _point_estimate(self.data, float(value), spread, quantity)


def fit_boosted_tlearner(
    data: DaskBackdoorData, specs: tuple[BoostedSpec, BoostedSpec]
) -> BoostedTLearnerEngine:
    """Train the control (``specs[0]``) and treated (``specs[1]``) XGBoost models."""
    client = require_client()
    frame, features = fit_frame(data, _raw_plan(data))
    boosters = tuple(
        fit_fold_models(frame[frame["t"] == a], features, "y", specs[a], 1, client)[0]
        for a in (0, 1)
    )
    return BoostedTLearnerEngine(data, boosters)


def fit_tlearner(data: DaskBackdoorData, specs: tuple[LinearSpec, LinearSpec]) -> TLearnerEngine:
    """Fit the control (``specs[0]``) and treated (``specs[1]``) outcome models in one pass."""
    plan = _raw_plan(data)
    grams = run_pass(data.parts, _fit_pass, plan, None, True, desc="outcome Gram")["grams"][0]
    coef = np.stack([solve_gram(grams[a], specs[a]) for a in (0, 1)])
    return TLearnerEngine(data, grams, coef)

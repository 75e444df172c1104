"""Regression adjustment (T-learner) with linear outcome models, from one Gram pass.

Each arm's outcome model is fitted on the raw covariates from the Gram matrix of ``[1, X, y]``
of that arm; every population quantity is linear in the covariate means of the population, and
the spread of the CATE follows from the population's covariance, so one pass gives everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone

from ...results import Diagnostics, EffectEstimate
from ._data import DaskBackdoorData
from ._engine import run_pass
from ._linear import LinearSpec, solve_gram
from ._nuisance import FoldPlan, _fit_pass

__all__ = ["TLearnerEngine", "fit_tlearner", "as_sklearn"]

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
        return EffectEstimate(
            value=value,
            std_error=None,
            quantity=quantity,
            method="T-learner",
            n=self.data.n,
            estimand=self.data.estimand,
            diagnostics=Diagnostics(
                notes=(_POINT_NOTE,), extra={"cate_std": spread, "engine": "dask"}
            ),
        )


def fit_tlearner(data: DaskBackdoorData, specs: tuple[LinearSpec, LinearSpec]) -> TLearnerEngine:
    """Fit the control (``specs[0]``) and treated (``specs[1]``) outcome models in one pass."""
    p = len(data.mean)
    plan = FoldPlan(np.zeros(p), np.ones(p), data.starts, (0, 0), 1, 0, standardize=False)
    grams = run_pass(data.parts, _fit_pass, plan, None, True, desc="outcome Gram")["grams"][0]
    coef = np.stack([solve_gram(grams[a], specs[a]) for a in (0, 1)])
    return TLearnerEngine(data, grams, coef)

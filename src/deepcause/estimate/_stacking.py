"""Cross-fitted super learners for the back-door nuisances (van der Laan, Polley & Hubbard 2007).

A nuisance given as a *list* of scikit-learn estimators is a super learner: every candidate is
cross-fitted on the estimator's folds (:func:`~deepcause.estimate._nuisance.crossfit_outcomes`,
:func:`~deepcause.estimate._nuisance.crossfit_propensity`), and the nuisance is the convex
combination of the candidates' out-of-fold predictions that fits best:

* outcomes, per treatment arm: non-negative least squares on the arm's out-of-fold predictions,
  normalized to sum to one;
* propensity: the convex weights that minimize the out-of-fold log-loss.

The weights are chosen on the same out-of-fold predictions the estimator then uses (a handful of
convex weights, so the extra fitting is negligible); no candidate is refitted, so a stack costs
the sum of its candidates. The chosen weights are reported in the diagnostics.

>>> import numpy as np
>>> P = np.column_stack([np.arange(10.0), np.zeros(10)])
>>> outcome_stack_weights(P, np.arange(10.0)).round(6).tolist()
[1.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize, nnls

from ..exceptions import DataValidationError
from ._nuisance import crossfit_outcomes, crossfit_propensity

__all__ = [
    "is_stack",
    "check_candidates",
    "outcome_stack_weights",
    "propensity_stack_weights",
    "fit_outcome_nuisance",
    "fit_propensity_nuisance",
]

_EPS = 1e-6


def is_stack(model: Any) -> bool:
    """Whether ``model`` is a list/tuple of candidate estimators (a super learner).

    >>> from sklearn.linear_model import Ridge
    >>> is_stack([Ridge(), Ridge(alpha=10)]), is_stack(Ridge())
    (True, False)
    """
    return isinstance(model, list | tuple)


def outcome_stack_weights(P: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Convex weights of the columns of ``P`` (candidate predictions) for ``y``: NNLS, normalized.

    Equal weights when every NNLS weight is zero.

    >>> P = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> outcome_stack_weights(P, np.array([1.0, 1.0, 2.0])).tolist()
    [0.5, 0.5]
    """
    w, _ = nnls(np.asarray(P, dtype=float), np.asarray(y, dtype=float))
    total = w.sum()
    return w / total if total > 0 else np.full(P.shape[1], 1.0 / P.shape[1])


def propensity_stack_weights(P: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Convex weights of the columns of ``P`` (candidate scores) minimizing the log-loss for ``t``.

    >>> t = np.array([0, 0, 1, 1])
    >>> P = np.column_stack([[0.1, 0.2, 0.8, 0.9], np.full(4, 0.5)])
    >>> bool(propensity_stack_weights(P, t)[0] > 0.99)
    True
    """
    P = np.clip(np.asarray(P, dtype=float), _EPS, 1 - _EPS)
    k = P.shape[1]
    if k == 1:
        return np.ones(1)
    t = np.asarray(t, dtype=float)

    def loss(w: np.ndarray) -> float:
        e = np.clip(P @ w, _EPS, 1 - _EPS)
        return float(-np.mean(t * np.log(e) + (1 - t) * np.log1p(-e)))

    def grad(w: np.ndarray) -> np.ndarray:
        e = np.clip(P @ w, _EPS, 1 - _EPS)
        return -((t / e - (1 - t) / (1 - e)) @ P) / len(t)

    w = minimize(
        loss,
        np.full(k, 1.0 / k),
        jac=grad,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * k,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0}],
    ).x
    w = np.clip(w, 0.0, None)
    w[w < 1e-3] = 0.0  # numerically absent candidates
    return w / w.sum()


def check_candidates(model: Any, role: str) -> Any:
    """``model`` unchanged if it is an estimator or a non-empty list of estimators for ``role``.

    ``role`` is ``"outcome"`` (needs ``fit``/``predict``) or ``"propensity"`` (``predict_proba``).

    >>> check_candidates([], "outcome")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: outcome_model is an empty list; pass a regressor or a non-empty list of regressors (a super learner), or None for the default
    """
    kind, method = (
        ("regressor", "predict") if role == "outcome" else ("classifier", "predict_proba")
    )
    candidates = _candidates(model)
    bad = [type(m).__name__ for m in candidates if not hasattr(m, "fit") or not hasattr(m, method)]
    if not candidates or bad:
        what = "is an empty list" if not candidates else f"has no fit/{method}: {bad}"
        raise DataValidationError(
            f"{role}_model {what}; pass a {kind} or a non-empty list of {kind}s (a super "
            "learner), or None for the default"
        )
    return model


def _candidates(model: Any) -> Sequence[Any]:
    return list(model) if is_stack(model) else [model]


def fit_outcome_nuisance(
    model: Any,
    X: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    n_folds: int,
    random_state: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Out-of-fold ``(mu0, mu1, weights)`` of a regressor or a stack of regressors.

    ``weights`` has shape ``(2, k)`` (one convex combination per arm) for a stack of ``k``
    candidates, None for a single regressor.

    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.dummy import DummyRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); t = np.tile([0, 1], 100); y = X[:, 0] + t
    >>> folds = np.arange(200) % 4
    >>> mu0, mu1, w = fit_outcome_nuisance([LinearRegression(), DummyRegressor()], X, t, y,
    ...                                    folds, 4)
    >>> w.round(3).tolist(), bool(np.allclose(mu1 - mu0, 1.0))
    ([[1.0, 0.0], [1.0, 0.0]], True)
    """
    preds = [
        crossfit_outcomes(m, X, t, y, folds, n_folds, random_state) for m in _candidates(model)
    ]
    if not is_stack(model):
        return preds[0][0], preds[0][1], None
    mus, weights = [], np.empty((2, len(preds)))
    for arm in (0, 1):
        P = np.column_stack([p[arm] for p in preds])
        weights[arm] = outcome_stack_weights(P[t == arm], y[t == arm])
        mus.append(P @ weights[arm])
    return mus[0], mus[1], weights


def fit_propensity_nuisance(
    model: Any,
    X: np.ndarray,
    t: np.ndarray,
    folds: np.ndarray,
    n_folds: int,
    random_state: Any = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Out-of-fold ``(e, weights)`` of a classifier or a stack of classifiers.

    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.dummy import DummyClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 1)); t = (rng.random(400) < 1 / (1 + np.exp(-2 * X[:, 0])))
    >>> e, w = fit_propensity_nuisance([LogisticRegression(), DummyClassifier()], X,
    ...                                t.astype(int), np.arange(400) % 4, 4)
    >>> bool(w[0] > 0.9), e.shape
    (True, (400,))
    """
    preds = [crossfit_propensity(m, X, t, folds, n_folds, random_state) for m in _candidates(model)]
    if not is_stack(model):
        return preds[0], None
    P = np.column_stack(preds)
    weights = propensity_stack_weights(P, t)
    return P @ weights, weights

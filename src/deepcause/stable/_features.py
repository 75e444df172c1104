"""Polynomial features with a bounded number of columns, for the stable-learning regressions.

The full degree-3 expansion of ``p`` columns has ``C(p + 3, 3) - 1`` monomials: 1,770 for
``p = 20`` but 176,850 for ``p = 100``, whose Gram matrix alone needs 250 GB. Above
``max_features`` the expansion drops the highest-order cross terms first: all monomials of
degree at most 2 plus the pure powers ``x_k^d`` (``d <= degree``), and when even that is too
large, only the pure powers (an additive polynomial in each column). Below the bound it is
exactly scikit-learn's ``PolynomialFeatures(degree, include_bias=False)``.
"""

from __future__ import annotations

from math import comb
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import PolynomialFeatures

from ..exceptions import DataValidationError, NotFittedError

__all__ = ["BoundedPolynomialFeatures", "check_fitted_X"]


def check_fitted_X(estimator: Any, X: Any, fitted_attribute: str) -> np.ndarray:
    """``X`` as a float array, after checking that ``estimator`` is fitted (it has
    ``fitted_attribute``) and that ``X`` has the ``n_features_in_`` columns it was fitted on.

    >>> bpf = BoundedPolynomialFeatures(2).fit(np.ones((3, 2)))
    >>> check_fitted_X(bpf, [[1, 2, 3]], "powers_")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: X must have 2 columns like the training data; got shape (1, 3)
    """
    if not hasattr(estimator, fitted_attribute):
        name = type(estimator).__name__
        raise NotFittedError(f"{name} is not fitted yet; call fit() first")
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != estimator.n_features_in_:
        raise DataValidationError(
            f"X must have {estimator.n_features_in_} columns like the training data; got shape "
            f"{X.shape}"
        )
    return X


def _reduced_powers(p: int, degree: int, max_features: int) -> np.ndarray:
    """Exponent rows: degree <= 2 monomials plus pure powers if they fit, else pure powers."""
    eye = np.eye(p, dtype=np.int64)
    pure = [eye * d for d in range(1, degree + 1)]
    iu, ju = np.triu_indices(p, k=1)
    cross = eye[iu] + eye[ju]
    if degree >= 2 and p * degree + len(iu) <= max_features:
        return np.vstack([*pure, cross])
    return np.vstack(pure)


class BoundedPolynomialFeatures(TransformerMixin, BaseEstimator):
    """Polynomial features of ``degree`` with at most ``max_features`` columns (see module).

    Fitted: ``powers_`` (one row of exponents per output column, like scikit-learn's) and
    ``n_features_in_``. When even the pure powers exceed ``max_features`` they are kept
    (``p * degree`` columns), since dropping a column's powers would hide it altogether.

    >>> X = np.arange(12.0).reshape(4, 3)
    >>> BoundedPolynomialFeatures(3).fit_transform(X).shape       # all 19 monomials
    (4, 19)
    >>> BoundedPolynomialFeatures(3, max_features=12).fit(X).powers_.sum(1).tolist()
    [1, 1, 1, 2, 2, 2, 3, 3, 3, 2, 2, 2]
    >>> BoundedPolynomialFeatures(3, max_features=5).fit_transform(X).shape   # additive
    (4, 9)
    """

    def __init__(self, degree: int = 3, max_features: int = 2000) -> None:
        self.degree = degree
        self.max_features = max_features

    def fit(self, X: Any, y: Any = None) -> BoundedPolynomialFeatures:
        X = np.asarray(X, dtype=float)
        degree = int(self.degree)
        if X.ndim != 2 or degree < 1 or int(self.max_features) < 1:
            raise DataValidationError(
                f"need a 2-d X, degree >= 1 and max_features >= 1; got shape {X.shape}, "
                f"degree={self.degree!r}, max_features={self.max_features!r}"
            )
        p = X.shape[1]
        self.n_features_in_ = p
        if comb(p + degree, degree) - 1 <= int(self.max_features):
            self._full = PolynomialFeatures(degree, include_bias=False).fit(X)
            self.powers_ = self._full.powers_
        else:
            self._full = None
            self.powers_ = _reduced_powers(p, degree, int(self.max_features))
        return self

    def transform(self, X: Any) -> np.ndarray:
        X = check_fitted_X(self, X, "powers_")
        if self._full is not None:
            return self._full.transform(X)
        out = np.ones((X.shape[0], len(self.powers_)))
        for k, row in enumerate(self.powers_):  # at most max_features (or p * degree) columns
            for j in np.flatnonzero(row):
                out[:, k] *= X[:, j] ** row[j]
        return out
